//! `restore`: bring a container back from a checkpoint image.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Restore {
    /// Unix socket to which the master end of the console is sent
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,

    /// Directory holding the image (checkpoint.img)
    #[arg(long, value_name = "DIR")]
    pub image_path: Option<PathBuf>,

    /// Directory for work files and logs
    #[arg(long, value_name = "DIR")]
    pub work_path: Option<PathBuf>,

    /// Restore open TCP connections
    #[arg(long)]
    pub tcp_established: bool,

    /// Allow unix sockets connected outside the container
    #[arg(long)]
    pub ext_unix_sk: bool,

    /// Allow a container started from a shell job
    #[arg(long)]
    pub shell_job: bool,

    /// Restore file locks
    #[arg(long)]
    pub file_locks: bool,

    /// Accepted for compatibility with runc: soft, full, strict or ignore
    #[arg(long, value_name = "MODE")]
    pub manage_cgroups_mode: Option<String>,

    /// The bundle directory, holding config.json
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,

    /// Return once the container is restored instead of waiting for it
    #[arg(short, long)]
    pub detach: bool,

    /// File to write the sandbox process's PID to
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// Do not become a subreaper for the sandbox's processes
    #[arg(long)]
    pub no_subreaper: bool,

    /// Accepted for compatibility with runc; the sandbox never pivots
    #[arg(long)]
    pub no_pivot: bool,

    /// Accepted for compatibility with runc: a namespace to create but not
    /// restore (repeatable)
    #[arg(long, value_name = "NAMESPACE")]
    pub empty_ns: Vec<String>,

    /// Accepted for compatibility with runc (a CRIU option)
    #[arg(long)]
    pub auto_dedup: bool,

    /// Accepted for compatibility with runc (a CRIU option); runsc loads
    /// pages lazily by default (see --eager-pages)
    #[arg(long)]
    pub lazy_pages: bool,

    /// Load and check every page of the image before the container runs,
    /// instead of loading pages on first use and in the background
    #[arg(long)]
    pub eager_pages: bool,

    /// Accepted for compatibility with runc (an LSM option)
    #[arg(long, value_name = "PROFILE")]
    pub lsm_profile: Option<String>,

    /// Accepted for compatibility with runc (an LSM option)
    #[arg(long, value_name = "CONTEXT")]
    pub lsm_mount_context: Option<String>,

    /// The container's ID
    pub container_id: String,
}
