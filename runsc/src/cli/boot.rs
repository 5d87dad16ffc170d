//! `boot`: the sandbox process itself, started by `create` (internal).

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Boot {
    /// The bundle directory, holding config.json
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,

    /// Descriptor of the control socket the sandbox serves
    #[arg(long, value_name = "FD")]
    pub control_fd: Option<i32>,

    /// Descriptor from which the spec is read
    #[arg(long, value_name = "FD")]
    pub spec_fd: Option<i32>,

    /// The container's ID
    pub container_id: String,
}
