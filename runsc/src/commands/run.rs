//! `run`: `create` then `start`, waiting for the container unless detached.

use super::{check_new_id, NotImplemented};
use crate::cli::run::Run;
use crate::cli::GlobalOpts;
use specutils::Bundle;

pub fn run(global: &GlobalOpts, args: Run) -> anyhow::Result<i32> {
    check_new_id(global, &args.container_id)?;
    let bundle = Bundle::load(&args.bundle)?;
    let config = specutils::sentry_config(&bundle);
    tracing::debug!(id = %args.container_id, argv = ?config.argv, root = %config.root.display(), "bundle loaded");
    Err(NotImplemented("run").into())
}
