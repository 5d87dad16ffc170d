//! `do`: run a command in a sandbox on the host's own root filesystem.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Do {
    /// Working directory of the command [default: the current directory]
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Set an environment variable on top of the caller's (repeatable)
    #[arg(long, value_name = "NAME=VALUE")]
    pub env: Vec<String>,

    /// Log every system call of the command with its arguments and result
    #[arg(long)]
    pub strace: bool,

    /// The program and its arguments, passed on as they are
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}
