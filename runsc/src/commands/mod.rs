//! What each command does: one short function per command over its
//! argument struct from `crate::cli`. Commands that act on a live
//! container load its state, check that its status allows the operation,
//! and talk to its sandbox over the control socket (`crate::sandbox`).

pub mod boot;
pub mod checkpoint;
pub mod create;
mod criu_stats;
pub mod delete;
pub mod r#do;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod restore;
pub mod resume;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod statefile;
pub mod syscalls;
pub mod update;
pub mod wait;

use crate::cli::{Command, GlobalOpts};
use crate::container::{validate_id, ContainerStatus, Operation, State, StateDir, StateError};
use crate::sandbox::Client;
use anyhow::Context;
use sentry::control::protocol::{Reply, Request};
use std::io::{ErrorKind, Write};

/// A command that needs a part of the runtime that is not written yet.
#[derive(Debug, thiserror::Error)]
#[error("not implemented yet: {0}")]
pub struct NotImplemented(pub &'static str);

/// Runs `command`; the result is the status the process exits with.
pub fn run(global: &GlobalOpts, command: Command) -> anyhow::Result<i32> {
    let done = |result: anyhow::Result<()>| result.map(|()| 0);
    match command {
        Command::Create(args) => done(create::create(global, args)),
        Command::Start(args) => done(start::start(global, args)),
        Command::Run(args) => run::run(global, args),
        Command::State(args) => done(state::state(global, args)),
        Command::Kill(args) => done(kill::kill(global, args)),
        Command::Delete(args) => done(delete::delete(global, args)),
        Command::List(args) => done(list::list(global, args)),
        Command::Exec(args) => exec::exec(global, args),
        Command::Ps(args) => done(ps::ps(global, args)),
        Command::Events(args) => done(events::events(global, args)),
        Command::Pause(args) => done(pause::pause(global, args)),
        Command::Resume(args) => done(resume::resume(global, args)),
        Command::Wait(args) => wait::wait(global, args),
        Command::Update(args) => done(update::update(global, args)),
        Command::Spec(args) => done(spec::spec(args)),
        Command::Features(args) => done(features::features(args)),
        Command::Checkpoint(args) => done(checkpoint::checkpoint(global, args)),
        Command::Restore(args) => restore::restore(global, args),
        Command::Do(args) => r#do::run_do(global, args),
        Command::Boot(args) => boot::boot(global, args),
        Command::Statefile(args) => done(statefile::statefile(args)),
        Command::Syscalls(args) => done(syscalls::syscalls(args)),
    }
}

/// The container state directory chosen by the global flags.
/// An absolute path, since the sandbox's socket and later commands need
/// it from anywhere.
fn state_dir(global: &GlobalOpts) -> StateDir {
    let root = global.state_root();
    StateDir::new(std::path::absolute(&root).unwrap_or(root))
}

/// Loads container `id`, which must exist.
fn load(global: &GlobalOpts, id: &str) -> Result<State, StateError> {
    state_dir(global).load(id)
}

/// Loads container `id` and checks that its current status allows
/// `operation`.
fn load_for(global: &GlobalOpts, id: &str, operation: Operation) -> anyhow::Result<State> {
    let state = load(global, id)?;
    state.observed_status().check(id, operation)?;
    Ok(state)
}

/// Loads container `id`, checks that its status allows `operation`, and
/// connects to its sandbox.
fn sandbox_for(
    global: &GlobalOpts,
    id: &str,
    operation: Operation,
) -> anyhow::Result<(State, Client)> {
    let state = load_for(global, id, operation)?;
    let client = Client::connect(&state)?;
    Ok((state, client))
}

/// Loads container `id`, which must have a live sandbox (created,
/// running or paused), and connects to it. `what` names the command.
fn live_sandbox(global: &GlobalOpts, id: &str, what: &str) -> anyhow::Result<(State, Client)> {
    let state = load(global, id)?;
    match state.observed_status() {
        ContainerStatus::Stopped => {
            anyhow::bail!("cannot {what} container {id:?}: it is not running (it has stopped)")
        }
        ContainerStatus::Creating => {
            anyhow::bail!("cannot {what} container {id:?}: it is still being created")
        }
        _ => {}
    }
    let client = Client::connect(&state)?;
    Ok((state, client))
}

/// Sends `req` to the sandbox of `client`, which must answer `Done`.
fn call_done(client: &mut Client, what: &str, req: &Request) -> anyhow::Result<()> {
    match client.call(req, &[])? {
        Reply::Done => Ok(()),
        r => Err(crate::sandbox::client::unexpected(what, &r)),
    }
}

/// Checks that `id` is valid and that no container has it yet.
fn check_new_id(global: &GlobalOpts, id: &str) -> anyhow::Result<()> {
    validate_id(id)?;
    let dir = state_dir(global);
    if dir.container_dir(id)?.exists() {
        return Err(StateError::Exists {
            id: id.to_string(),
            root: dir.root().to_path_buf(),
        }
        .into());
    }
    Ok(())
}

/// Writes `text` to standard output. A reader that went away (`runsc list
/// | head`) is not an error.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == ErrorKind::BrokenPipe => Ok(()),
        result => result.context("cannot write to standard output"),
    }
}
