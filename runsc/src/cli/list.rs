//! `list`: show the containers under --root.

use clap::{Args, ValueEnum};

#[derive(Args, Debug)]
pub struct List {
    /// Output format
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// Print only the container IDs
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}
