//! `kill`: send a signal to a container's processes.

use clap::Args;

#[derive(Args, Debug)]
pub struct Kill {
    /// Send the signal to every process of the container, not only the
    /// first one
    #[arg(short, long)]
    pub all: bool,

    /// Send the signal to this process (a PID inside the container)
    #[arg(long, value_name = "PID", conflicts_with = "all")]
    pub pid: Option<i32>,

    /// The container's ID
    pub container_id: String,

    /// A name (KILL, SIGKILL) or a number (9)
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}
