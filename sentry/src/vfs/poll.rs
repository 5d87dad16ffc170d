//! Readiness of open files for `poll`, `select` and epoll: which events
//! hold now, and what to sleep on until that may change (wait queues, host
//! descriptors, a deadline).

use super::file::FileKind;
use super::FileId;
use crate::kernel::wait::{Block, WaitQueueId};
use crate::kernel::Kernel;

pub const IN: u32 = libc::POLLIN as u32;
pub const PRI: u32 = libc::POLLPRI as u32;
pub const OUT: u32 = libc::POLLOUT as u32;
pub const ERR: u32 = libc::POLLERR as u32;
pub const HUP: u32 = libc::POLLHUP as u32;
pub const NVAL: u32 = libc::POLLNVAL as u32;
pub const RDNORM: u32 = libc::POLLRDNORM as u32;
pub const WRNORM: u32 = libc::POLLWRNORM as u32;
pub const RDHUP: u32 = libc::POLLRDHUP as u32;

/// Events every file reports when asked or not.
pub const ALWAYS: u32 = ERR | HUP | NVAL;

/// What a file's readiness is and what to wait on.
#[derive(Clone, Debug, Default)]
pub struct Ready {
    /// Every event that holds now.
    pub mask: u32,
    pub queues: Vec<WaitQueueId>,
    pub host_fds: Vec<(i32, i16)>,
    /// Monotonic time at which readiness changes by itself (timers).
    pub deadline: Option<u64>,
    /// Changes with every state change (for edge-triggered epoll); 0 when
    /// unknown.
    pub gen: u64,
}

impl Ready {
    pub fn merge_wait(&mut self, other: &Ready) {
        self.queues.extend_from_slice(&other.queues);
        self.host_fds.extend_from_slice(&other.host_fds);
        if let Some(d) = other.deadline {
            self.deadline = Some(self.deadline.map_or(d, |x| x.min(d)));
        }
    }

    /// The block that waits for any of this to change.
    pub fn block(&self) -> Block {
        let mut b = Block::on(self.queues.clone()).with_deadline(self.deadline);
        for &(fd, ev) in &self.host_fds {
            b = b.with_host_fd(fd, ev);
        }
        b
    }
}

/// Nesting depth of epoll inside epoll.
pub const MAX_NESTING: u32 = 5;

/// The readiness of open file `f` for `events` (host descriptors are asked
/// for those events only).
pub fn ready(k: &mut Kernel, tid: crate::kernel::Tid, f: FileId, events: u32, depth: u32) -> Ready {
    let mut r = Ready::default();
    let Some(of) = k.vfs.files.get(&f) else {
        r.mask = NVAL;
        return r;
    };
    let (readable, writable) = (of.readable(), of.writable());
    match &of.kind {
        FileKind::Regular
        | FileKind::Dir { .. }
        | FileKind::Path
        | FileKind::Device(_)
        | FileKind::Proc { .. } => {
            r.mask = IN | OUT | RDNORM | WRNORM;
        }
        FileKind::Pipe { pipe } => {
            let Some(p) = k.vfs.pipes.get(pipe) else {
                r.mask = ERR;
                return r;
            };
            if readable {
                if !p.is_empty() {
                    r.mask |= IN | RDNORM;
                }
                if p.writers == 0 && (!p.fifo || p.w_opens > 0) {
                    r.mask |= HUP;
                }
            }
            if writable {
                if p.space() >= super::pipe::PIPE_BUF.min(p.capacity) {
                    r.mask |= OUT | WRNORM;
                }
                if p.readers == 0 {
                    r.mask |= ERR;
                }
            }
            r.queues.push(p.queue);
            r.gen = p.gen;
        }
        FileKind::PtyMaster(i) | FileKind::PtySlave(i) => {
            let master = matches!(of.kind, FileKind::PtyMaster(_));
            let (m, q, gen) = super::pty::ready(&k.vfs, *i, master);
            r.mask = m;
            r.queues.push(q);
            r.gen = gen;
        }
        FileKind::Stdio(slot) => {
            let slot = *slot;
            let want = (events & (IN | OUT | PRI | RDNORM | WRNORM | RDHUP)) as i16;
            let got = super::stdio::poll(&k.vfs, slot, want);
            r.mask = got as u16 as u32;
            if r.mask & (events | ALWAYS) == 0 {
                let fd = k.vfs.stdio.fd(slot);
                if fd >= 0 && want != 0 {
                    r.host_fds.push((fd, want));
                }
            }
        }
        FileKind::EventFd(e) => {
            let (rd, wr) = super::eventfd::ready(e);
            if rd {
                r.mask |= IN | RDNORM;
            }
            if wr {
                r.mask |= OUT | WRNORM;
            }
            r.queues.push(e.queue);
            r.gen = e.gen;
        }
        FileKind::TimerFd(_) => {
            let clock = match &of.kind {
                FileKind::TimerFd(t) => t.clock,
                _ => 0,
            };
            let now = k.clock.read(clock).unwrap_or(0);
            if let Some(FileKind::TimerFd(t)) = k.vfs.files.get_mut(&f).map(|o| &mut o.kind) {
                t.update(now);
            }
            if let Some(FileKind::TimerFd(t)) = k.vfs.files.get(&f).map(|o| &o.kind) {
                let t = t.clone();
                if t.pending > 0 {
                    r.mask |= IN | RDNORM;
                }
                r.queues.push(t.queue);
                r.deadline = t.mono_deadline(k);
                r.gen = t.gen;
            }
        }
        FileKind::PidFd(p) => {
            if super::pidfd::exited(k, p.tgid) {
                r.mask |= IN | RDNORM;
            }
            r.queues.push(super::pidfd::queue(p.tgid));
        }
        FileKind::SignalFd(sfd) => {
            let mask = sfd.mask;
            if super::signalfd::pending(k, tid, mask) != 0 {
                r.mask |= IN | RDNORM;
            }
            if let Some(t) = k.tasks.get(&tid) {
                r.queues.push(super::signalfd::queue(t.tgid));
            }
        }
        FileKind::Socket(s) => {
            if let Some(fd) = crate::net::host::fd(k, *s) {
                match fd {
                    Ok(fd) => {
                        r.mask = crate::net::host::ready(fd, events);
                        if r.mask & (events | ALWAYS) == 0 {
                            let want = (events & (IN | OUT | PRI | RDHUP | RDNORM | WRNORM)) as i16;
                            r.host_fds.push((fd, want));
                        }
                    }
                    Err(_) => r.mask = HUP | IN | OUT,
                }
                return r;
            }
            let (m, q, gen) = crate::net::io::ready(k, *s);
            r.mask = m;
            r.queues = q;
            r.gen = gen;
        }
        FileKind::Epoll(_) => {
            if depth >= MAX_NESTING {
                return r;
            }
            let inner = super::epoll::scan(k, tid, f, depth + 1, false);
            if !inner.events.is_empty() {
                r.mask |= IN | RDNORM;
            }
            r.merge_wait(&inner.wait);
            r.gen = inner.wait.gen;
        }
    }
    r
}
