//! `syscalls`: list the system calls the sandbox serves.

use clap::Args;

#[derive(Args, Debug)]
pub struct Syscalls {
    /// Output format: table or json
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Show only this status: supported, partial or missing
    #[arg(long)]
    pub only: Option<String>,
}
