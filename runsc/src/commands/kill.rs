//! `kill`: send a signal to a container's processes.

use super::{load_for, NotImplemented};
use crate::cli::kill::Kill;
use crate::cli::GlobalOpts;
use crate::container::Operation;

pub fn kill(global: &GlobalOpts, args: Kill) -> anyhow::Result<()> {
    let signal = specutils::parse_signal(&args.signal)?;
    load_for(global, &args.container_id, Operation::Kill)?;
    tracing::debug!(id = %args.container_id, signal, all = args.all, "kill");
    Err(NotImplemented("kill").into())
}
