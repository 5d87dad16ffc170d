//! `delete`: remove a container and everything it holds.

use clap::Args;

#[derive(Args, Debug)]
pub struct Delete {
    /// Delete the container even if it is still running, and succeed when
    /// it does not exist
    #[arg(short, long)]
    pub force: bool,

    /// The IDs of the containers to delete
    #[arg(required = true, value_name = "CONTAINER_ID")]
    pub container_ids: Vec<String>,
}
