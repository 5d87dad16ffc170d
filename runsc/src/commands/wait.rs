//! `wait`: wait for a container's init, or a process started by `exec`,
//! to exit; prints `{"id": ID, "exitStatus": N}` as runsc does (N is the
//! exit code, or 128+S for a signal S).

use super::{load, print, state_dir};
use crate::cli::wait::Wait;
use crate::cli::GlobalOpts;
use crate::sandbox::boot::read_exit;
use crate::sandbox::client::unexpected;
use crate::sandbox::{Client, ClientError};
use sentry::control::protocol::{Reply, Request};
use sentry::kernel::task::ExitStatus;

pub fn wait(global: &GlobalOpts, args: Wait) -> anyhow::Result<i32> {
    let id = &args.container_id;
    let state = load(global, id)?;
    if args.checkpoint.is_some() {
        anyhow::bail!("wait --checkpoint: checkpoints are not implemented yet");
    }
    let pid = match (args.pid, args.rootpid) {
        (Some(p), _) => Some(p),
        // The sandbox's root PID namespace is the container's.
        (None, Some(p)) => Some(p),
        (None, None) => None,
    };
    let asked = if state.sandbox_alive() {
        match Client::connect(&state) {
            Ok(mut client) => match client.call(&Request::Wait { pid }, &[])? {
                Reply::Exited { status, .. } => Some(status),
                r => return Err(unexpected("wait", &r)),
            },
            // It exited meanwhile: its status is in the file.
            Err(ClientError::Stopped { .. }) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let status = if let Some(status) = asked {
        status
    } else {
        let dir = state_dir(global).container_dir(id)?;
        match (pid, read_exit(&dir)) {
            (None, Some(status)) => status,
            (None, None) => {
                anyhow::bail!("container {id:?} has stopped, and its sandbox left no exit status")
            }
            (Some(p), _) => anyhow::bail!(
                "container {id:?} has stopped: process {p} cannot be waited for any more"
            ),
        }
    };
    let code = exit_code(status);
    print(&format!(
        "{}\n",
        serde_json::json!({ "id": id, "exitStatus": code })
    ))?;
    Ok(0)
}

/// A status as a shell reports it.
pub(super) fn exit_code(status: ExitStatus) -> i32 {
    status.shell_code()
}
