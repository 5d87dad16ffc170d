//! `checkpoint`: save a container's whole state to an image.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Checkpoint {
    /// Directory the image (checkpoint.img) is written to
    #[arg(long, value_name = "DIR")]
    pub image_path: Option<PathBuf>,

    /// Directory for work files and logs
    #[arg(long, value_name = "DIR")]
    pub work_path: Option<PathBuf>,

    /// Directory of a previous image, for an incremental checkpoint
    #[arg(long, value_name = "DIR")]
    pub parent_path: Option<PathBuf>,

    /// Keep the container running after the checkpoint
    #[arg(long)]
    pub leave_running: bool,

    /// Save open TCP connections
    #[arg(long)]
    pub tcp_established: bool,

    /// Skip TCP connections in flight
    #[arg(long)]
    pub tcp_skip_in_flight: bool,

    /// Accepted for compatibility with runc (a CRIU option)
    #[arg(long)]
    pub link_remap: bool,

    /// Allow unix sockets connected outside the container
    #[arg(long)]
    pub ext_unix_sk: bool,

    /// Allow a container started from a shell job
    #[arg(long)]
    pub shell_job: bool,

    /// Accepted for compatibility with runc (a CRIU option)
    #[arg(long)]
    pub lazy_pages: bool,

    /// Accepted for compatibility with runc (a CRIU option)
    #[arg(long, value_name = "FD", default_value_t = -1, allow_negative_numbers = true)]
    pub status_fd: i32,

    /// Accepted for compatibility with runc (a CRIU option)
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub page_server: Option<String>,

    /// Save file locks
    #[arg(long)]
    pub file_locks: bool,

    /// Save only the memory and leave the container running
    #[arg(long)]
    pub pre_dump: bool,

    /// Accepted for compatibility with runc: soft, full, strict or ignore
    #[arg(long, value_name = "MODE")]
    pub manage_cgroups_mode: Option<String>,

    /// Accepted for compatibility with runc: a namespace to create but not
    /// restore (repeatable)
    #[arg(long, value_name = "NAMESPACE")]
    pub empty_ns: Vec<String>,

    /// Accepted for compatibility with runc (a CRIU option)
    #[arg(long)]
    pub auto_dedup: bool,

    /// Accepted for compatibility with runc (an LSM option)
    #[arg(long, value_name = "PROFILE")]
    pub lsm_profile: Option<String>,

    /// Accepted for compatibility with runc (an LSM option)
    #[arg(long, value_name = "CONTEXT")]
    pub lsm_mount_context: Option<String>,

    /// The container's ID
    pub container_id: String,
}
