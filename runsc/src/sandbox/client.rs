//! The control socket, runtime side: one connection to a container's
//! sandbox, one request and one reply at a time.

use crate::container::State;
use sentry::control::protocol::{Reply, Request};
use sentry::control::wire::{self, WireError};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// How long a request other than `Wait` may take to be answered.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("container {id:?} has no sandbox to talk to")]
    NoSocket { id: String },
    /// The sandbox exited (its socket went with it): the container stopped.
    #[error("container {id:?} has stopped: container not running")]
    Stopped { id: String },
    #[error("cannot reach the sandbox of container {id:?} at {}", path.display())]
    Connect {
        id: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("talking to the sandbox of container {id:?} failed")]
    Wire {
        id: String,
        #[source]
        source: WireError,
    },
    #[error(
        "the sandbox of container {id:?} did not answer within {seconds} s (at {})",
        path.display()
    )]
    NoAnswer {
        id: String,
        path: PathBuf,
        seconds: u64,
    },
    /// The sandbox refused or failed the request.
    #[error("{message}")]
    Refused { message: String },
}

/// A connection to one container's sandbox.
pub struct Client {
    id: String,
    path: PathBuf,
    sock: UnixStream,
    /// The sandbox process and its start time, to tell a sandbox that
    /// went away from a broken connection.
    sandbox: (Option<i32>, Option<u64>),
}

impl Client {
    /// Connects to the sandbox of the container `state` describes.
    pub fn connect(state: &State) -> Result<Client, ClientError> {
        let path = state
            .control_socket
            .clone()
            .ok_or_else(|| ClientError::NoSocket {
                id: state.id.clone(),
            })?;
        match Client::open(&state.id, path, (state.pid, state.pid_start)) {
            Err(ClientError::Connect { .. }) if sandbox_gone(state.pid, state.pid_start) => {
                Err(ClientError::Stopped {
                    id: state.id.clone(),
                })
            }
            r => r,
        }
    }

    /// A second connection to the same sandbox.
    pub fn connect_again(&self) -> Result<Client, ClientError> {
        Client::open(&self.id, self.path.clone(), self.sandbox)
    }

    fn open(
        id: &str,
        path: PathBuf,
        sandbox: (Option<i32>, Option<u64>),
    ) -> Result<Client, ClientError> {
        let sock = super::socket::connect(&path).map_err(|source| ClientError::Connect {
            id: id.to_string(),
            path: path.clone(),
            source,
        })?;
        Ok(Client {
            id: id.to_string(),
            path,
            sock,
            sandbox,
        })
    }

    /// Sends `req` (with `fds` attached) and returns the reply; a refusal
    /// is an error that carries the sandbox's message. Only a `Wait` may
    /// take longer than [`ANSWER_TIMEOUT`] to be answered.
    pub fn call(&mut self, req: &Request, fds: &[RawFd]) -> Result<Reply, ClientError> {
        wire::send(&self.sock, req, fds).map_err(|source| self.wire(source))?;
        if !matches!(req, Request::Wait { .. }) && !self.readable_within(ANSWER_TIMEOUT) {
            return Err(ClientError::NoAnswer {
                id: self.id.clone(),
                path: self.path.clone(),
                seconds: ANSWER_TIMEOUT.as_secs(),
            });
        }
        self.reply()
    }

    fn readable_within(&self, timeout: Duration) -> bool {
        let mut p = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            // SAFETY: poll on one live pollfd.
            let r = unsafe { libc::poll(&mut p, 1, left.as_millis() as i32) };
            if r > 0 {
                return true;
            }
            if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return false;
            }
        }
    }

    /// Waits for the next reply (the answer to a `Wait`, say).
    pub fn reply(&mut self) -> Result<Reply, ClientError> {
        let (reply, _fds): (Reply, Vec<OwnedFd>) =
            wire::recv(&self.sock).map_err(|source| self.wire(source))?;
        match reply {
            Reply::Error { message } => Err(ClientError::Refused { message }),
            r => Ok(r),
        }
    }

    fn wire(&self, source: WireError) -> ClientError {
        let broken = match &source {
            WireError::Closed => true,
            WireError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            _ => false,
        };
        if broken && sandbox_gone(self.sandbox.0, self.sandbox.1) {
            return ClientError::Stopped {
                id: self.id.clone(),
            };
        }
        ClientError::Wire {
            id: self.id.clone(),
            source,
        }
    }

    /// The connection's socket (to wait on it alongside other events).
    pub fn socket(&self) -> &UnixStream {
        &self.sock
    }
}

/// Whether the sandbox process `pid` is gone, or goes within a moment (a
/// sandbox that is exiting closes its socket first).
fn sandbox_gone(pid: Option<i32>, start: Option<u64>) -> bool {
    let Some(pid) = pid else {
        return true;
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while crate::container::process_alive(pid, start) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A reply of a kind the request does not expect.
pub fn unexpected(what: &str, reply: &Reply) -> anyhow::Error {
    anyhow::anyhow!("the sandbox answered {what} with an unexpected reply: {reply:?}")
}
