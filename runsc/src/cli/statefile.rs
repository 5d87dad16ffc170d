//! `statefile`: describe what a checkpoint image holds.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Statefile {
    /// Print the description as JSON
    #[arg(long)]
    pub json: bool,

    /// The image directory (holding checkpoint.img) or the image file
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}
