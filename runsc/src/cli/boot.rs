//! `boot`: the sandbox process itself, started by `create` (internal).

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Boot {
    /// The bundle directory, holding config.json
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,

    /// Descriptor of the listening control socket the sandbox serves
    #[arg(long, value_name = "FD")]
    pub control_fd: i32,

    /// Descriptor on which the sandbox reports that it booted, or why not
    #[arg(long, value_name = "FD")]
    pub sync_fd: Option<i32>,

    /// Descriptor of the file where init's exit status is left
    #[arg(long, value_name = "FD")]
    pub exit_fd: Option<i32>,

    /// Accepted for compatibility; the spec is read from the bundle
    #[arg(long, value_name = "FD")]
    pub spec_fd: Option<i32>,

    /// Descriptor of a checkpoint image to restore instead of starting init
    #[arg(long, value_name = "FD", requires = "restore_path")]
    pub restore_fd: Option<i32>,

    /// Where that image is (named in messages)
    #[arg(long, value_name = "PATH")]
    pub restore_path: Option<PathBuf>,

    /// Load every page of that image before anything runs (not lazily)
    #[arg(long, requires = "restore_fd")]
    pub restore_eager: bool,

    /// Standard input is a terminal: the container's console
    #[arg(long)]
    pub console: bool,

    /// The container's ID
    pub container_id: String,
}
