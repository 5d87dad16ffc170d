//! `pause`: stop every process of a running container until `resume`.

use super::{call_done, sandbox_for, state_dir};
use crate::cli::pause::Pause;
use crate::cli::GlobalOpts;
use crate::container::{ContainerStatus, Operation};
use sentry::control::protocol::Request;

pub fn pause(global: &GlobalOpts, args: Pause) -> anyhow::Result<()> {
    let (mut state, mut client) = sandbox_for(global, &args.container_id, Operation::Pause)?;
    call_done(&mut client, "pause", &Request::Pause)?;
    state.status = ContainerStatus::Paused;
    state_dir(global).save(&state)?;
    Ok(())
}
