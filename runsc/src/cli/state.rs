//! `state`: print a container's OCI state as JSON.

use clap::Args;

#[derive(Args, Debug)]
pub struct State {
    /// The container's ID
    pub container_id: String,
}
