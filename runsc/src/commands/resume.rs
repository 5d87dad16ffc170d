//! `resume`: let a paused container run again.

use super::{call_done, sandbox_for, state_dir};
use crate::cli::resume::Resume;
use crate::cli::GlobalOpts;
use crate::container::{ContainerStatus, Operation};
use sentry::control::protocol::Request;

pub fn resume(global: &GlobalOpts, args: Resume) -> anyhow::Result<()> {
    let (mut state, mut client) = sandbox_for(global, &args.container_id, Operation::Resume)?;
    call_done(&mut client, "resume", &Request::Resume)?;
    state.status = ContainerStatus::Running;
    state_dir(global).save(&state)?;
    Ok(())
}
