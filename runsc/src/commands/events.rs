//! `events`: report a container's events and resource usage.

use super::{load, NotImplemented};
use crate::cli::events::Events;
use crate::cli::GlobalOpts;

pub fn events(global: &GlobalOpts, args: Events) -> anyhow::Result<()> {
    load(global, &args.container_id)?;
    Err(NotImplemented("events").into())
}
