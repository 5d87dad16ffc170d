//! `run`: create a container from a bundle and start it.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Run {
    /// The bundle directory, holding config.json
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,

    /// Unix socket to which the master end of the console is sent
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,

    /// Unix socket to which a pidfd of the container's first process is sent
    #[arg(long, value_name = "PATH")]
    pub pidfd_socket: Option<PathBuf>,

    /// Return once the container has started instead of waiting for it
    #[arg(short, long)]
    pub detach: bool,

    /// Keep the container's state after it exits
    #[arg(long)]
    pub keep: bool,

    /// File to write the sandbox process's PID to
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// Do not become a subreaper for the sandbox's processes
    #[arg(long)]
    pub no_subreaper: bool,

    /// Accepted for compatibility with runc; the sandbox never pivots
    #[arg(long)]
    pub no_pivot: bool,

    /// Accepted for compatibility with runc; keyrings are the sandbox's own
    #[arg(long)]
    pub no_new_keyring: bool,

    /// Pass this many more file descriptors (3 and up) to the container
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// File where messages meant for the container's user are written
    #[arg(long, value_name = "FILE")]
    pub user_log: Option<PathBuf>,

    /// The container's ID
    pub container_id: String,
}
