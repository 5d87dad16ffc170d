//! `resume`: let the processes of a paused container run again.

use clap::Args;

#[derive(Args, Debug)]
pub struct Resume {
    /// The container's ID
    pub container_id: String,
}
