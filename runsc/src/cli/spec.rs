//! `spec`: write an example config.json to start a bundle from.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Spec {
    /// Directory to write config.json into [default: the current directory]
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// Write a spec for a container run by an unprivileged user
    #[arg(long)]
    pub rootless: bool,

    /// Working directory of the process, inside the container
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,

    /// The program and arguments to run instead of sh
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}
