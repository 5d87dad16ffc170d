//! `kill`: send a signal to a container's init, to one of its processes,
//! or to all of them. The signal is delivered by the sandbox's kernel.

use super::{call_done, load};
use crate::cli::kill::Kill;
use crate::cli::GlobalOpts;
use crate::container::{ContainerStatus, Operation};
use crate::sandbox::Client;
use sentry::control::protocol::{Request, SignalTarget};

pub fn kill(global: &GlobalOpts, args: Kill) -> anyhow::Result<()> {
    let signal = specutils::parse_signal(&args.signal)?;
    let id = &args.container_id;
    let state = load(global, id)?;
    match state.observed_status() {
        // Engines recognize this wording (containerd, podman).
        ContainerStatus::Stopped => {
            anyhow::bail!("cannot kill container {id:?}: container not running (it has stopped)")
        }
        status => status.check(id, Operation::Kill)?,
    }
    let target = match (args.all, args.pid) {
        (true, _) => SignalTarget::All,
        (false, Some(pid)) => SignalTarget::Process(pid),
        (false, None) => SignalTarget::Init,
    };
    tracing::debug!(id = %id, signal, ?target, "kill");
    let mut client = Client::connect(&state)?;
    call_done(&mut client, "kill", &Request::Signal { signal, target })
}
