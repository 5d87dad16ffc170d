//! `boot`: the sandbox process, started by `create`.

use super::NotImplemented;
use crate::cli::boot::Boot;
use crate::cli::GlobalOpts;

pub fn boot(_global: &GlobalOpts, args: Boot) -> anyhow::Result<i32> {
    tracing::debug!(id = %args.container_id, bundle = %args.bundle.display(), "boot");
    Err(NotImplemented("boot").into())
}
