//! `statefile`: describe what a checkpoint image holds.

use super::NotImplemented;
use crate::cli::statefile::Statefile;

pub fn statefile(args: Statefile) -> anyhow::Result<()> {
    if !args.path.exists() {
        anyhow::bail!("checkpoint image {} does not exist", args.path.display());
    }
    Err(NotImplemented("statefile").into())
}
