//! `ps`: show the processes running in a container.

use super::list::ListFormat;
use clap::Args;

#[derive(Args, Debug)]
pub struct Ps {
    /// Output format
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// The container's ID
    pub container_id: String,

    /// Options for ps(1) in table format [default: -ef]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PS_ARGS"
    )]
    pub ps_args: Vec<String>,
}
