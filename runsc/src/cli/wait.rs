//! `wait`: wait for a container, or one of its processes, to exit.

use clap::Args;

#[derive(Args, Debug)]
pub struct Wait {
    /// Wait for this process (a PID inside the container)
    #[arg(long, value_name = "PID", conflicts_with = "rootpid")]
    pub pid: Option<i32>,

    /// Wait for this process (a PID outside the container)
    #[arg(long, value_name = "PID")]
    pub rootpid: Option<i32>,

    /// Wait until this many checkpoints of the container have been taken
    #[arg(long, value_name = "N")]
    pub checkpoint: Option<u32>,

    /// The container's ID
    pub container_id: String,
}
