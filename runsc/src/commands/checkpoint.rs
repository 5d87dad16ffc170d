//! `checkpoint`: save a container's state to an image.

use super::{load_for, NotImplemented};
use crate::cli::checkpoint::Checkpoint;
use crate::cli::GlobalOpts;
use crate::container::Operation;

pub fn checkpoint(global: &GlobalOpts, args: Checkpoint) -> anyhow::Result<()> {
    load_for(global, &args.container_id, Operation::Checkpoint)?;
    Err(NotImplemented("checkpoint").into())
}
