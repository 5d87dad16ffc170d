//! `resume`: let a paused container run again.

use super::{load_for, NotImplemented};
use crate::cli::resume::Resume;
use crate::cli::GlobalOpts;
use crate::container::Operation;

pub fn resume(global: &GlobalOpts, args: Resume) -> anyhow::Result<()> {
    load_for(global, &args.container_id, Operation::Resume)?;
    Err(NotImplemented("resume").into())
}
