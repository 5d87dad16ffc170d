//! `start`: let a created container's init run; then the `poststart`
//! hooks run.

use super::{call_done, sandbox_for, state_dir};
use crate::cli::start::Start;
use crate::cli::GlobalOpts;
use crate::container::hooks::{self, Stage};
use crate::container::{ContainerStatus, Operation, State};
use sentry::control::protocol::Request;

pub fn start(global: &GlobalOpts, args: Start) -> anyhow::Result<()> {
    let (mut state, mut client) = sandbox_for(global, &args.container_id, Operation::Start)?;
    call_done(&mut client, "start", &Request::Start)?;
    started(global, &mut state)
}

/// Records that `state`'s container runs, and runs its poststart hooks.
pub(super) fn started(global: &GlobalOpts, state: &mut State) -> anyhow::Result<()> {
    state.status = ContainerStatus::Running;
    state_dir(global).save(state)?;
    if let Some(list) = state.hooks.as_ref().and_then(|h| h.poststart().as_ref()) {
        hooks::run_warn(Stage::Poststart, list, &state.oci_state());
    }
    tracing::debug!(id = %state.id, "started");
    Ok(())
}
