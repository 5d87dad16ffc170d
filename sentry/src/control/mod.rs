//! The control socket, sandbox side: how `runsc start`, `kill`, `exec`,
//! `ps`, `pause` and the other commands reach a running sandbox.
//!
//! `runsc create` makes a listening unix socket (`<root>/<id>/sandbox.sock`,
//! mode 0600 in a 0700 directory) and hands it to the sandbox process,
//! which serves it from the kernel's loop ([`Server`] is the loop's
//! [`Controller`]). Each connection carries requests and replies as framed
//! JSON ([`wire`], [`protocol`]); a request is answered at once, except
//! `Wait`, whose reply comes when the process exits. The server never
//! blocks: a client that stops reading only delays its own replies.
//!
//! `Checkpoint` is served in the loop too: the tasks are stopped where
//! they can be saved and the image is written into the file the request
//! brings. A checkpoint that stops the container is two-phase: the sandbox
//! stays paused for the client that asked until it says `FinishCheckpoint`
//! (the image is in place: every process ends; or it is not: the container
//! goes on), and goes on by itself if that client disappears first.

mod ops;
pub mod protocol;
pub mod wire;

use crate::kernel::run::Controller;
use crate::kernel::{Kernel, Tid};
use protocol::{Reply, Request, SandboxState, Status};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use wire::FrameReader;

/// How long [`Controller::finish`] tries to deliver the last replies.
const FINAL_FLUSH: std::time::Duration = std::time::Duration::from_secs(2);

/// Most connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 256;

/// The control socket's server.
pub struct Server {
    listener: OwnedFd,
    conns: Vec<Conn>,
    /// Init was allowed to run (`Start`).
    started: bool,
    /// The container's interfaces are still to come (`Network`); `true`
    /// if the tasks are held paused until then (a restored sandbox).
    network: Option<bool>,
}

/// One client connection.
struct Conn {
    sock: OwnedFd,
    reader: FrameReader,
    /// Replies not yet written.
    out: Vec<u8>,
    /// Processes this client waits for (`None`: init).
    waits: Vec<Option<Tid>>,
    /// The client is gone, or broke the protocol: dropped once `out` is
    /// written (or at once if it cannot be).
    closing: bool,
    dead: bool,
    /// This client checkpointed the sandbox without `leave_running` and
    /// has not said yet whether it stops.
    checkpoint_hold: Option<Hold>,
}

/// A checkpoint that may still stop the container.
struct Hold {
    /// The sandbox was paused before the checkpoint.
    was_paused: bool,
    /// The memory given back to the host as it was saved, to read back
    /// if the container goes on.
    released: Option<ops::ReleasedMemory>,
}

impl Hold {
    /// The container goes on after all: its memory back, then its tasks
    /// as they were.
    fn go_on(self, k: &mut Kernel) -> Result<(), String> {
        if let Some(r) = self.released {
            r.restore(k)?;
        }
        if !self.was_paused {
            k.resume_all();
        }
        Ok(())
    }
}

impl Server {
    /// Serves `listener`, a listening unix stream socket. `started` is
    /// false for a sandbox whose init waits for `Start`.
    pub fn new(listener: OwnedFd, started: bool) -> std::io::Result<Server> {
        set_nonblocking(listener.as_raw_fd())?;
        Ok(Server {
            listener,
            conns: Vec::new(),
            started,
            network: None,
        })
    }

    /// The container's interfaces come over the control socket
    /// (`Request::Network`); with `hold`, the kernel's tasks were paused
    /// until they come, and run then.
    pub fn expect_network(&mut self, hold: bool) {
        self.network = Some(hold);
    }

    fn status(&self, k: &Kernel) -> Status {
        if k.init_status.is_some() {
            Status::Stopped
        } else if !self.started {
            Status::Created
        } else if k.paused {
            Status::Paused
        } else {
            Status::Running
        }
    }

    fn accept(&mut self) {
        while self.conns.len() < MAX_CONNECTIONS {
            // SAFETY: accept4 on our listening socket; no address wanted.
            let fd = unsafe {
                libc::accept4(
                    self.listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                if err.kind() != std::io::ErrorKind::WouldBlock {
                    tracing::warn!("control socket: accept failed: {err}");
                }
                return;
            }
            self.conns.push(Conn {
                // SAFETY: a fresh descriptor from accept4, ours alone.
                sock: unsafe { OwnedFd::from_raw_fd(fd) },
                reader: FrameReader::default(),
                out: Vec::new(),
                waits: Vec::new(),
                closing: false,
                dead: false,
                checkpoint_hold: None,
            });
        }
    }

    /// Reads and answers every complete request of connection `i`.
    fn read_requests(&mut self, i: usize, k: &mut Kernel) {
        let c = &mut self.conns[i];
        if c.closing {
            return;
        }
        match c.reader.fill(c.sock.as_raw_fd()) {
            Ok(true) => {}
            Ok(false) => c.closing = true,
            Err(e) => {
                tracing::debug!("control connection: {e}");
                c.closing = true;
            }
        }
        loop {
            let frame = match self.conns[i].reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(e) => {
                    self.reply(
                        i,
                        &Reply::Error {
                            message: e.to_string(),
                        },
                    );
                    self.conns[i].closing = true;
                    return;
                }
            };
            let (body, fds) = frame;
            let reply = match serde_json::from_slice::<Request>(&body) {
                Ok(req) => self.handle(i, k, req, fds),
                Err(e) => Some(Reply::Error {
                    message: format!("a control request is not valid: {e}"),
                }),
            };
            if let Some(r) = reply {
                self.reply(i, &r);
            }
        }
    }

    /// Carries out one request. `None` when the reply comes later (`Wait`).
    fn handle(
        &mut self,
        i: usize,
        k: &mut Kernel,
        req: Request,
        fds: Vec<OwnedFd>,
    ) -> Option<Reply> {
        tracing::debug!(?req, descriptors = fds.len(), "control request");
        if !fds.is_empty()
            && !matches!(
                req,
                Request::Exec(_) | Request::Checkpoint { .. } | Request::Network { .. }
            )
        {
            return Some(error(
                "only exec, checkpoint and network requests carry descriptors",
            ));
        }
        let result = match req {
            Request::State => {
                return Some(Reply::State(SandboxState {
                    status: self.status(k),
                    init: k.init,
                    exit: k.init_status,
                }))
            }
            Request::Start => match self.status(k) {
                Status::Created => {
                    self.started = true;
                    k.resume_all();
                    Ok(Reply::Done)
                }
                s => Err(format!(
                    "the container cannot start: it is {}",
                    status_name(s)
                )),
            },
            Request::Pause => match self.status(k) {
                Status::Running => {
                    k.pause_all();
                    Ok(Reply::Done)
                }
                s => Err(format!(
                    "the container cannot be paused: it is {}",
                    status_name(s)
                )),
            },
            Request::Resume if self.network == Some(true) => {
                Err("the restored container waits for its network interfaces".into())
            }
            Request::Resume => match self.status(k) {
                Status::Paused => {
                    k.resume_all();
                    Ok(Reply::Done)
                }
                s => Err(format!(
                    "the container cannot be resumed: it is {}",
                    status_name(s)
                )),
            },
            Request::Signal { signal, target } => {
                let started = self.started;
                ops::signal(k, signal, target, started).map(|()| Reply::Done)
            }
            Request::Wait { pid } => {
                let check = match pid {
                    None => Ok(()),
                    Some(p) => ops::exit_of(k, p).map(|_| ()),
                };
                match check {
                    Ok(()) => {
                        self.conns[i].waits.push(pid);
                        return None;
                    }
                    Err(e) => Err(e),
                }
            }
            Request::Processes => Ok(Reply::Processes {
                processes: ops::processes(k),
            }),
            Request::Stats => Ok(Reply::Stats(ops::stats(k))),
            Request::Exec(spec) => ops::exec(k, spec, fds).map(|pid| Reply::Started { pid }),
            Request::Checkpoint {
                id,
                image,
                leave_running,
            } => self.checkpoint(i, k, &id, &image, leave_running, fds),
            Request::Network { interfaces } => self.network(k, interfaces, fds),
            Request::FinishCheckpoint { stop } => match self.conns[i].checkpoint_hold.take() {
                Some(_) if stop => {
                    ops::end_all(k);
                    Ok(Reply::Done)
                }
                Some(hold) => hold.go_on(k).map(|()| Reply::Done),
                None => Err("no checkpoint of this connection waits to be finished".into()),
            },
        };
        Some(result.unwrap_or_else(|message| Reply::Error { message }))
    }

    /// Checkpoints the sandbox into `fds[0]`; without `leave_running` the
    /// sandbox stays paused for connection `i` to finish the checkpoint.
    fn checkpoint(
        &mut self,
        i: usize,
        k: &mut Kernel,
        id: &str,
        image: &std::path::Path,
        leave_running: bool,
        fds: Vec<OwnedFd>,
    ) -> Result<Reply, String> {
        let status = self.status(k);
        if !matches!(status, Status::Running | Status::Paused) {
            return Err(format!(
                "the container cannot be checkpointed: it is {}",
                status_name(status)
            ));
        }
        if self.conns.iter().any(|c| c.checkpoint_hold.is_some()) {
            return Err("another checkpoint of the container is being finished".into());
        }
        let Ok([file]) = <[OwnedFd; 1]>::try_from(fds) else {
            return Err(
                "a checkpoint request needs exactly one descriptor (the image file)".into(),
            );
        };
        let was_paused = k.paused;
        let (done, released) =
            ops::checkpoint(k, id, image, std::fs::File::from(file), !leave_running)?;
        if !leave_running {
            k.pause_all();
            self.conns[i].checkpoint_hold = Some(Hold {
                was_paused,
                released,
            });
        }
        Ok(Reply::Checkpointed(Box::new(done)))
    }

    /// Gives the kernel the container's interfaces, one packet socket in
    /// `fds` for each of `interfaces`.
    fn network(
        &mut self,
        k: &mut Kernel,
        interfaces: Vec<protocol::NetInterface>,
        fds: Vec<OwnedFd>,
    ) -> Result<Reply, String> {
        let Some(hold) = self.network else {
            return Err("the sandbox takes no interfaces: it has them already, \
                        or its container has no network namespace of its own"
                .into());
        };
        if fds.len() != interfaces.len() {
            return Err(format!(
                "a network request needs one descriptor per interface: {} interfaces, {} descriptors",
                interfaces.len(),
                fds.len()
            ));
        }
        self.network = None;
        let found = interfaces
            .into_iter()
            .zip(fds)
            .map(|(i, fd)| crate::net::host_if::Found {
                conf: i.conf,
                has_addr: i.has_addr,
                fd,
            })
            .collect();
        crate::net::ext::attach(k, found);
        if hold {
            k.resume_all();
        }
        Ok(Reply::Done)
    }

    /// A client that checkpointed without `leave_running` and went away
    /// before finishing: the container goes on as before.
    fn release_abandoned(&mut self, k: &mut Kernel) {
        for c in &mut self.conns {
            if c.closing || c.dead {
                if let Some(hold) = c.checkpoint_hold.take() {
                    tracing::warn!("a checkpoint was abandoned: the container goes on");
                    if let Err(e) = hold.go_on(k) {
                        tracing::error!("{e}");
                    }
                }
            }
        }
    }

    fn reply(&mut self, i: usize, r: &Reply) {
        match wire::encode(r) {
            Ok(bytes) => self.conns[i].out.extend_from_slice(&bytes),
            Err(e) => {
                tracing::warn!("control reply cannot be encoded: {e}");
                self.conns[i].dead = true;
            }
        }
    }

    /// Answers every `Wait` whose process has exited.
    fn answer_waits(&mut self, k: &mut Kernel) {
        for i in 0..self.conns.len() {
            let waits = std::mem::take(&mut self.conns[i].waits);
            let mut still = Vec::new();
            for w in waits {
                let done = match w {
                    None => k.init_status.map(|s| (k.init, s)),
                    Some(p) => match ops::exit_of(k, p) {
                        Ok(Some(s)) => Some((p, s)),
                        Ok(None) => None,
                        Err(message) => {
                            self.reply(i, &Reply::Error { message });
                            continue;
                        }
                    },
                };
                match done {
                    Some((pid, status)) => self.reply(i, &Reply::Exited { pid, status }),
                    None => still.push(w),
                }
            }
            self.conns[i].waits = still;
        }
        ops::trim_exits(k);
    }

    /// Writes what each connection has pending, without blocking.
    fn flush(&mut self) {
        for c in &mut self.conns {
            if c.out.is_empty() || c.dead {
                continue;
            }
            match wire::send_bytes(c.sock.as_raw_fd(), &c.out, &[]) {
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) => {
                    tracing::debug!("control connection: {e}");
                    c.dead = true;
                }
            }
        }
        // A connection holding a checkpoint stays until `serve` releases it.
        self.conns
            .retain(|c| c.checkpoint_hold.is_some() || !(c.dead || c.closing && c.out.is_empty()));
    }
}

impl Controller for Server {
    fn fds(&self, out: &mut Vec<(i32, i16)>) {
        out.push((self.listener.as_raw_fd(), libc::POLLIN));
        for c in &self.conns {
            let mut events = 0;
            if !c.closing {
                events |= libc::POLLIN;
            }
            if !c.out.is_empty() {
                events |= libc::POLLOUT;
            }
            if events != 0 {
                out.push((c.sock.as_raw_fd(), events));
            }
        }
    }

    fn serve(&mut self, k: &mut Kernel) {
        self.accept();
        for i in 0..self.conns.len() {
            self.read_requests(i, k);
        }
        self.release_abandoned(k);
        self.answer_waits(k);
        self.flush();
    }

    fn finish(&mut self, k: &mut Kernel) {
        self.serve(k);
        let deadline = std::time::Instant::now() + FINAL_FLUSH;
        while self.conns.iter().any(|c| !c.out.is_empty()) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            let mut pfds: Vec<libc::pollfd> = self
                .conns
                .iter()
                .filter(|c| !c.out.is_empty())
                .map(|c| libc::pollfd {
                    fd: c.sock.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                })
                .collect();
            // SAFETY: poll over a live array of pollfds.
            unsafe {
                libc::poll(
                    pfds.as_mut_ptr(),
                    pfds.len() as libc::nfds_t,
                    left.as_millis().min(100) as i32,
                )
            };
            self.flush();
        }
    }
}

fn error(message: &str) -> Reply {
    Reply::Error {
        message: message.into(),
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Created => "created (not started)",
        Status::Running => "running",
        Status::Paused => "paused",
        Status::Stopped => "stopped",
    }
}

fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller holds.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
