//! `start`: tell a created container's sandbox to run the user process.

use super::{load_for, NotImplemented};
use crate::cli::start::Start;
use crate::cli::GlobalOpts;
use crate::container::Operation;

pub fn start(global: &GlobalOpts, args: Start) -> anyhow::Result<()> {
    load_for(global, &args.container_id, Operation::Start)?;
    Err(NotImplemented("start").into())
}
