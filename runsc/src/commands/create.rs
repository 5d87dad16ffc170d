//! `create`: check the ID and the bundle, then start the sandbox.

use super::{check_new_id, NotImplemented};
use crate::cli::create::Create;
use crate::cli::GlobalOpts;
use specutils::Bundle;

pub fn create(global: &GlobalOpts, args: Create) -> anyhow::Result<()> {
    check_new_id(global, &args.container_id)?;
    let bundle = Bundle::load(&args.bundle)?;
    let config = specutils::sentry_config(&bundle);
    tracing::debug!(id = %args.container_id, argv = ?config.argv, root = %config.root.display(), "bundle loaded");
    Err(NotImplemented("create").into())
}
