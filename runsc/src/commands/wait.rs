//! `wait`: wait for a container or one of its processes to exit.

use super::{load, NotImplemented};
use crate::cli::wait::Wait;
use crate::cli::GlobalOpts;

pub fn wait(global: &GlobalOpts, args: Wait) -> anyhow::Result<i32> {
    load(global, &args.container_id)?;
    Err(NotImplemented("wait").into())
}
