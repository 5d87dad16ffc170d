//! `pause`: suspend every process of a running container.

use super::{load_for, NotImplemented};
use crate::cli::pause::Pause;
use crate::cli::GlobalOpts;
use crate::container::Operation;

pub fn pause(global: &GlobalOpts, args: Pause) -> anyhow::Result<()> {
    load_for(global, &args.container_id, Operation::Pause)?;
    Err(NotImplemented("pause").into())
}
