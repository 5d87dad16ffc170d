//! `pause`: stop every process of a container until `resume`.

use clap::Args;

#[derive(Args, Debug)]
pub struct Pause {
    /// The container's ID
    pub container_id: String,
}
