//! `run`: `create` then `start`. In the foreground it waits for the
//! container, passes the signals it gets on to it, exits with its status
//! (128+N for a signal N) and deletes it (unless `--keep`).

use super::create::{create_container, tear_down, NewContainer};
use super::start::started;
use super::{call_done, state_dir};
use crate::cli::run::Run;
use crate::cli::GlobalOpts;
use crate::container::State;
use crate::sandbox::signals::Blocked;
use crate::sandbox::Client;
use sentry::control::protocol::{Request, SignalTarget};
use std::time::Duration;

pub fn run(global: &GlobalOpts, args: Run) -> anyhow::Result<i32> {
    // Blocked before the sandbox exists, so that no signal is lost.
    let signals = (!args.detach).then(Blocked::new);
    let mut state = create_container(
        global,
        &NewContainer {
            id: &args.container_id,
            bundle: &args.bundle,
            console_socket: args.console_socket.as_deref(),
            pid_file: args.pid_file.as_deref(),
            preserve_fds: args.preserve_fds,
            own_terminal: !args.detach,
            restore: None,
        },
    )?;
    let dir = state_dir(global);
    let mut client = match start(&state) {
        Ok(c) => c,
        Err(e) => {
            tear_down(&dir, &state);
            return Err(e);
        }
    };
    started(global, &mut state)?;
    let Some(signals) = signals else {
        return Ok(0);
    };
    let code = wait_foreground(&state, &mut client, &signals);
    drop(client);
    if !args.keep {
        super::delete::remove_stopped(&dir, &mut state)?;
    }
    Ok(code)
}

fn start(state: &State) -> anyhow::Result<Client> {
    let mut client = Client::connect(state)?;
    call_done(&mut client, "start", &Request::Start)?;
    Ok(client)
}

/// Waits for the sandbox process (our child) to exit, passing signals on.
/// Returns the status to exit with.
pub(super) fn wait_foreground(state: &State, client: &mut Client, signals: &Blocked) -> i32 {
    let Some(pid) = state.pid else {
        return 1;
    };
    let console = state_has_console(state);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            if libc::WIFEXITED(status) {
                return libc::WEXITSTATUS(status);
            }
            if libc::WIFSIGNALED(status) {
                return 128 + libc::WTERMSIG(status);
            }
        } else if r < 0 {
            tracing::warn!(
                "cannot wait for the sandbox process {pid}: {}",
                std::io::Error::last_os_error()
            );
            return 1;
        }
        let Some(got) = signals.next(Duration::from_millis(100)) else {
            continue;
        };
        if got.signal == libc::SIGCHLD {
            continue;
        }
        // Without a console, a terminal's signals reach the sandbox
        // process directly (it shares our process group); with one, the
        // container's foreground group gets them.
        let target = if console {
            match init_pid(client) {
                Some(p) => SignalTarget::ForegroundOf(p),
                None => SignalTarget::Init,
            }
        } else if got.from_terminal {
            continue;
        } else {
            SignalTarget::Init
        };
        let req = Request::Signal {
            signal: got.signal,
            target,
        };
        if let Err(e) = client.call(&req, &[]) {
            tracing::debug!("signal {} not forwarded: {e}", got.signal);
        }
    }
}

/// The PID of init inside the sandbox.
fn init_pid(client: &mut Client) -> Option<i32> {
    match client.call(&Request::State, &[]) {
        Ok(sentry::control::protocol::Reply::State(s)) => Some(s.init),
        _ => None,
    }
}

fn state_has_console(state: &State) -> bool {
    specutils::Bundle::load(&state.bundle)
        .ok()
        .and_then(|b| b.spec.process().as_ref().and_then(|p| p.terminal()))
        .unwrap_or(false)
}
