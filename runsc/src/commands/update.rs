//! `update`: change the resource limits of a container.

use super::{load, NotImplemented};
use crate::cli::update::Update;
use crate::cli::GlobalOpts;

pub fn update(global: &GlobalOpts, args: Update) -> anyhow::Result<()> {
    load(global, &args.container_id)?;
    Err(NotImplemented("update").into())
}
