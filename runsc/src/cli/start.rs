//! `start`: run the user process of a created container.

use clap::Args;

#[derive(Args, Debug)]
pub struct Start {
    /// The container's ID
    pub container_id: String,
}
