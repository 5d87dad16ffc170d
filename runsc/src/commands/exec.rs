//! `exec`: run another process in a running container.

use super::{load, NotImplemented};
use crate::cli::exec::Exec;
use crate::cli::GlobalOpts;
use crate::container::{ContainerStatus, Operation};

pub fn exec(global: &GlobalOpts, args: Exec) -> anyhow::Result<i32> {
    if args.process.is_none() && args.command.is_empty() {
        anyhow::bail!("exec needs a command to run, or --process with a process.json");
    }
    let state = load(global, &args.container_id)?;
    let status = state.observed_status();
    if !(args.ignore_paused && status == ContainerStatus::Paused) {
        status.check(&args.container_id, Operation::Exec)?;
    }
    Err(NotImplemented("exec").into())
}
