//! The `runsc` command line: engines call it as they call runc; people call
//! it by hand (`runsc do CMD`).
//!
//! The command line is normalized (`cli::argv`), parsed (`cli`), logging is
//! set up as the global flags ask (`logging`), and the command runs
//! (`commands`). Any error is logged, printed on standard error unless the
//! log already goes there, and ends the process with status 1.

pub mod cli;
pub mod commands;
pub mod container;
pub mod logging;
pub mod sandbox;
pub mod timefmt;

#[cfg(test)]
mod testutil;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use cli::{Cli, GlobalsOnly};
use std::ffi::OsString;

/// Runs the command line `args` (program name first) and returns the
/// status to exit with.
pub fn runsc(args: Vec<OsString>) -> i32 {
    let normalized = cli::argv::normalize(&cli::argv::built_command(), args);
    let cli = match Cli::try_parse_from(&normalized.args) {
        Ok(cli) => cli,
        Err(err) => return usage_error(err, &normalized),
    };
    if cli.global.version {
        print_version();
        return 0;
    }
    let Some(command) = cli.command else {
        // As runc does when called with no command.
        let _ = Cli::command().print_help();
        return 0;
    };

    let global = cli.global;
    let options = logging::LogOptions {
        file: global.log.as_deref(),
        format: global.log_format,
        debug: global.debug,
        debug_log: global.debug_log.as_deref(),
        debug_log_format: global.debug_log_format,
        command: command.name(),
        file_fd: global.log_fd,
        debug_fd: global.debug_log_fd,
    };
    let logging = match logging::init(&options) {
        Ok(logging) => logging,
        Err(err) => {
            eprintln!("runsc: {:#}", anyhow::Error::new(err));
            return 1;
        }
    };
    for flag in &normalized.ignored {
        tracing::warn!("ignoring unknown global flag {flag}");
    }
    tracing::debug!(
        command = command.name(),
        "runsc {}",
        env!("CARGO_PKG_VERSION")
    );

    // The sandbox process's stderr is the container's: it reports its
    // errors to `create` and the log, never there.
    let quiet = matches!(command, cli::Command::Boot(_));
    match commands::run(&global, command) {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            if !logging.to_stderr && !quiet {
                eprintln!("runsc: {err:#}");
            }
            1
        }
    }
}

/// A command line clap refused (or help that it printed). The refusal also
/// goes to `--log` when the global flags could be read, since engines look
/// there for why a call failed.
fn usage_error(err: clap::Error, normalized: &cli::argv::Normalized) -> i32 {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return 0;
    }
    let globals_end = normalized.command_at.unwrap_or(normalized.args.len());
    let globals = GlobalsOnly::try_parse_from(&normalized.args[..globals_end]);
    if let Ok(GlobalsOnly { global }) = globals {
        if global.log.is_some() {
            let options = logging::LogOptions {
                file: global.log.as_deref(),
                format: global.log_format,
                debug: global.debug,
                debug_log: None,
                debug_log_format: global.debug_log_format,
                command: "runsc",
                file_fd: None,
                debug_fd: None,
            };
            if logging::init(&options).is_ok() {
                tracing::error!("{}", first_line(&err));
            }
        }
    }
    let _ = err.print();
    1
}

/// clap's message without its `error: ` prefix, usage and tips.
fn first_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

fn print_version() {
    let text = format!(
        "runsc-rs version {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        specutils::OCI_VERSION
    );
    let _ = commands::print(&text);
}
