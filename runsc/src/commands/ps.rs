//! `ps`: list the processes of a container.

use super::{load, NotImplemented};
use crate::cli::ps::Ps;
use crate::cli::GlobalOpts;

pub fn ps(global: &GlobalOpts, args: Ps) -> anyhow::Result<()> {
    load(global, &args.container_id)?;
    Err(NotImplemented("ps").into())
}
