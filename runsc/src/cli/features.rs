//! `features`: print, as JSON, what this runtime supports.

use clap::Args;

#[derive(Args, Debug)]
pub struct Features {}
