//! `exec`: run another process inside a running container.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Exec {
    /// Unix socket to which the master end of the console is sent
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,

    /// Unix socket to which a pidfd of the new process is sent
    #[arg(long, value_name = "PATH")]
    pub pidfd_socket: Option<PathBuf>,

    /// Working directory of the process, inside the container
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Set an environment variable (repeatable)
    #[arg(short, long, value_name = "NAME=VALUE")]
    pub env: Vec<String>,

    /// Give the process a terminal
    #[arg(short, long)]
    pub tty: bool,

    /// User to run as, inside the container
    #[arg(short, long, value_name = "UID[:GID]")]
    pub user: Option<String>,

    /// Supplementary group of the process (repeatable)
    #[arg(short = 'g', long, value_name = "GID")]
    pub additional_gids: Vec<u32>,

    /// JSON file describing the process (an OCI process object); replaces
    /// the command and the other process options
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,

    /// Return once the process has started instead of waiting for it
    #[arg(short, long)]
    pub detach: bool,

    /// File to write the process's PID to
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// Accepted for compatibility with runc; SELinux labels do not apply
    /// inside the sandbox
    #[arg(long, value_name = "LABEL")]
    pub process_label: Option<String>,

    /// Accepted for compatibility with runc; AppArmor profiles do not apply
    /// inside the sandbox
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,

    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,

    /// Add a capability to the process's bounding set (repeatable)
    #[arg(short, long, value_name = "CAP")]
    pub cap: Vec<String>,

    /// Pass this many more file descriptors (3 and up) to the process
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// Accepted for compatibility with runc; the process joins the
    /// container's cgroup
    #[arg(long, value_name = "PATH")]
    pub cgroup: Vec<String>,

    /// Run the process even if the container is paused
    #[arg(long)]
    pub ignore_paused: bool,

    /// The container's ID
    pub container_id: String,

    /// The program and its arguments (unless --process is given)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}
