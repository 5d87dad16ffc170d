//! `state`: print the OCI state of a container.

use super::{load, print};
use crate::cli::state::State;
use crate::cli::GlobalOpts;

pub fn state(global: &GlobalOpts, args: State) -> anyhow::Result<()> {
    let state = load(global, &args.container_id)?;
    let text = serde_json::to_string_pretty(&state.oci_state())?;
    print(&format!("{text}\n"))
}
