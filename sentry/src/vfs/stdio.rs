//! The caller's stdio: descriptors 0-2 of the sandbox's init are the host
//! descriptors the sentry was given. The sentry thread must never block on
//! them, so terminals, pipes and FIFOs are reopened as descriptions of our
//! own with `O_NONBLOCK` (the caller's stay as they are), sockets are used
//! with `MSG_DONTWAIT`, and regular files are used directly. A call that
//! cannot proceed blocks on the host descriptor.
//!
//! When stdin is a terminal it is the sandbox's controlling terminal
//! (`/dev/tty`), owned by init's session; its foreground process group is
//! kept in the sentry (`TIOCGPGRP`/`TIOCSPGRP`), while line settings and
//! the window size are the host terminal's.

use super::host;
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The first slot of descriptors donated for an `exec`'s stdio; 0, 1 and 2
/// are the sandbox's own.
pub const FIRST_DONATED: u8 = 3;

/// What a stdio descriptor is on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostKind {
    Absent,
    Tty,
    /// Pipe, FIFO, or a character device that is not a terminal.
    Stream,
    Socket,
    /// A regular file or block device: I/O never blocks.
    File,
}

/// One stdio descriptor.
#[derive(Debug, Serialize, Deserialize)]
pub struct Slot {
    pub kind: HostKind,
    /// `O_ACCMODE` of the host descriptor.
    pub access: i32,
    /// What `/proc/self/fd/N` showed on the host.
    pub name: Vec<u8>,
    /// Our nonblocking description of it.
    #[serde(skip)]
    own: Option<OwnedFd>,
    /// A descriptor handed over for an `exec`'s stdio (slots 3 and up),
    /// used as it is: its description is shared with the runtime, so it
    /// is never made nonblocking.
    #[serde(skip, default)]
    donated: Option<OwnedFd>,
}

/// The caller's stdio and the terminal state kept in the sentry.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stdio {
    pub slots: Vec<Slot>,
    /// Session that owns the terminal, and its foreground process group.
    pub session: Tid,
    pub fg_pgrp: Tid,
    /// Device number of the terminal (`tty_nr` in `/proc/[pid]/stat`).
    pub tty_rdev: u64,
    /// The terminal's node in devtmpfs (`/dev/pts/N` as on the host), so
    /// that `ttyname` finds it.
    #[serde(default)]
    pub tty_node: Option<super::node::Loc>,
}

impl Stdio {
    /// Takes the sentry's own descriptors 0, 1 and 2.
    pub fn attach() -> Stdio {
        let mut slots = Vec::new();
        let mut tty_rdev = 0;
        for fd in 0..3 {
            let Ok(st) = host::stat_fd(fd) else {
                slots.push(Slot {
                    kind: HostKind::Absent,
                    access: 0,
                    name: Vec::new(),
                    own: None,
                    donated: None,
                });
                continue;
            };
            // SAFETY: fcntl and isatty on a descriptor we hold.
            let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            // SAFETY: as above.
            let tty = unsafe { libc::isatty(fd) } == 1;
            let kind = match st.st_mode & libc::S_IFMT {
                _ if tty => HostKind::Tty,
                libc::S_IFREG | libc::S_IFBLK | libc::S_IFDIR => HostKind::File,
                libc::S_IFSOCK => HostKind::Socket,
                _ => HostKind::Stream,
            };
            if tty && tty_rdev == 0 {
                tty_rdev = st.st_rdev;
            }
            let access = if fl < 0 {
                libc::O_RDWR
            } else {
                fl & libc::O_ACCMODE
            };
            let own = match kind {
                HostKind::Tty | HostKind::Stream => host::reopen(fd, access | libc::O_NONBLOCK),
                _ => None,
            };
            let name = std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|p| p.into_os_string().into_encoded_bytes())
                .unwrap_or_else(|_| format!("/dev/stdio{fd}").into_bytes());
            slots.push(Slot {
                kind,
                access,
                name,
                own,
                donated: None,
            });
        }
        Stdio {
            slots,
            session: 1,
            fg_pgrp: 1,
            tty_rdev,
            tty_node: None,
        }
    }

    pub fn present(&self, slot: u8) -> bool {
        self.slots
            .get(slot as usize)
            .is_some_and(|s| s.kind != HostKind::Absent)
    }

    pub fn access(&self, slot: u8) -> i32 {
        self.slots.get(slot as usize).map_or(0, |s| s.access)
    }

    pub fn kind(&self, slot: u8) -> HostKind {
        self.slots
            .get(slot as usize)
            .map_or(HostKind::Absent, |s| s.kind)
    }

    pub fn name(&self, slot: u8) -> Vec<u8> {
        self.slots
            .get(slot as usize)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }

    /// The host descriptor to use for slot `slot`.
    pub fn fd(&self, slot: u8) -> RawFd {
        match self.slots.get(slot as usize) {
            Some(s) if slot >= FIRST_DONATED => s.donated.as_ref().map_or(-1, |o| o.as_raw_fd()),
            Some(s) => s.own.as_ref().map_or(slot as RawFd, |o| o.as_raw_fd()),
            None => -1,
        }
    }

    /// Takes `fd`, a descriptor handed over for the stdio of a process
    /// started from outside (`exec`), as a slot of its own. `EMFILE` when
    /// every slot is in use.
    pub fn donate(&mut self, fd: OwnedFd) -> Result<u8, Errno> {
        let st = host::stat_fd(fd.as_raw_fd())?;
        // SAFETY: fcntl and isatty on a descriptor we own.
        let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        // SAFETY: as above.
        let tty = unsafe { libc::isatty(fd.as_raw_fd()) } == 1;
        let (kind, name) = match st.st_mode & libc::S_IFMT {
            _ if tty => (HostKind::Tty, b"/dev/console".to_vec()),
            libc::S_IFREG | libc::S_IFBLK | libc::S_IFDIR => {
                (HostKind::File, b"/dev/stdio".to_vec())
            }
            libc::S_IFSOCK => (
                HostKind::Socket,
                format!("socket:[{}]", st.st_ino).into_bytes(),
            ),
            libc::S_IFIFO => (
                HostKind::Stream,
                format!("pipe:[{}]", st.st_ino).into_bytes(),
            ),
            _ => (HostKind::Stream, b"/dev/stdio".to_vec()),
        };
        let slot = Slot {
            kind,
            access: if fl < 0 {
                libc::O_RDWR
            } else {
                fl & libc::O_ACCMODE
            },
            name,
            own: None,
            donated: Some(fd),
        };
        let free = (FIRST_DONATED as usize..self.slots.len())
            .find(|&i| self.slots[i].kind == HostKind::Absent);
        match free {
            Some(i) => {
                self.slots[i] = slot;
                Ok(i as u8)
            }
            None if self.slots.len() <= u8::MAX as usize => {
                // Slots below the first donated one are the caller's.
                while self.slots.len() < FIRST_DONATED as usize {
                    self.slots.push(Slot {
                        kind: HostKind::Absent,
                        access: 0,
                        name: Vec::new(),
                        own: None,
                        donated: None,
                    });
                }
                self.slots.push(slot);
                Ok((self.slots.len() - 1) as u8)
            }
            None => Err(Errno::EMFILE),
        }
    }

    /// Keeps the slots of `old` (a restored sandbox's stdio) that processes
    /// started by `exec` used, without their host descriptors.
    pub fn keep_orphaned_slots(&mut self, old: Stdio) {
        for (i, mut slot) in old.slots.into_iter().enumerate() {
            if i < FIRST_DONATED as usize {
                continue;
            }
            slot.own = None;
            slot.donated = None;
            while self.slots.len() < i {
                self.slots.push(Slot {
                    kind: HostKind::Absent,
                    access: 0,
                    name: Vec::new(),
                    own: None,
                    donated: None,
                });
            }
            self.slots.push(slot);
        }
    }

    /// A donated slot whose host descriptor is gone: the runtime process
    /// that held the other end could not be restored with the sandbox.
    /// Reads see end of file and writes `EPIPE`, as when that process
    /// exits.
    pub fn orphaned(&self, slot: u8) -> bool {
        slot >= FIRST_DONATED
            && self
                .slots
                .get(slot as usize)
                .is_some_and(|s| s.kind != HostKind::Absent && s.donated.is_none())
    }

    /// Gives back a donated slot (its last open file closed).
    pub fn release(&mut self, slot: u8) {
        if slot < FIRST_DONATED {
            return;
        }
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.kind = HostKind::Absent;
            s.donated = None;
            s.name.clear();
        }
    }

    /// True if our descriptor for the slot is nonblocking.
    fn nonblocking(&self, slot: u8) -> bool {
        self.slots
            .get(slot as usize)
            .is_some_and(|s| s.own.is_some())
    }

    /// The slot holding the controlling terminal.
    pub fn tty_slot(&self) -> Option<u8> {
        (0..3u8).find(|&s| self.kind(s) == HostKind::Tty)
    }

    pub fn is_tty(&self, slot: u8) -> bool {
        self.kind(slot) == HostKind::Tty
    }

    /// `tty_nr` of a process in session `sid`.
    pub fn tty_nr(&self, sid: Tid) -> u64 {
        if self.tty_slot().is_some() && sid == self.session {
            self.tty_rdev
        } else {
            0
        }
    }

    pub fn host_stat(&self, slot: u8) -> Option<libc::stat> {
        if !self.present(slot) {
            return None;
        }
        host::stat_fd(self.fd(slot)).ok()
    }
}

/// Reads from a stdio descriptor.
pub fn read(
    k: &mut Kernel,
    tid: Tid,
    slot: u8,
    len: usize,
    pos: Option<u64>,
    nonblock: bool,
) -> Result<Vec<u8>, SysErr> {
    if slot < FIRST_DONATED && k.vfs.stdio.is_tty(slot) {
        let (session, fg) = (k.vfs.stdio.session, k.vfs.stdio.fg_pgrp);
        super::pty::job_control(k, tid, session, fg, crate::kernel::signal::SIGTTIN)?;
    }
    let s = &k.vfs.stdio;
    if s.orphaned(slot) {
        return Ok(Vec::new());
    }
    let fd = s.fd(slot);
    let kind = s.kind(slot);
    let mut buf = vec![0u8; len.min(1 << 20)];
    if let Some(p) = pos {
        if kind != HostKind::File {
            return Err(Errno::ESPIPE.into());
        }
        let n = host::pread(fd, &mut buf, p)?;
        buf.truncate(n);
        return Ok(buf);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    let r = match kind {
        HostKind::File => host::read(fd, &mut buf),
        HostKind::Socket => {
            // SAFETY: recv into a live buffer of the length we pass.
            let n = unsafe {
                libc::recv(
                    fd,
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                Err(Errno::last_host())
            } else {
                Ok(n as usize)
            }
        }
        HostKind::Absent => Err(Errno::EBADF),
        HostKind::Tty | HostKind::Stream => {
            if !s.nonblocking(slot) && host::poll_now(fd, libc::POLLIN) == 0 {
                Err(Errno::EAGAIN)
            } else {
                host::read(fd, &mut buf)
            }
        }
    };
    match r {
        Ok(n) => {
            buf.truncate(n);
            Ok(buf)
        }
        Err(Errno::EAGAIN) if nonblock => Err(Errno::EAGAIN.into()),
        Err(Errno::EAGAIN) => Err(SysErr::Block(
            crate::kernel::wait::Block::on(vec![]).with_host_fd(fd, libc::POLLIN),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Writes to a stdio descriptor; a blocking write waits until all of it
/// is out.
pub fn write(
    k: &mut Kernel,
    tid: Tid,
    slot: u8,
    data: &[u8],
    pos: Option<u64>,
    nonblock: bool,
) -> Result<usize, SysErr> {
    let s = &k.vfs.stdio;
    let fd = s.fd(slot);
    let kind = s.kind(slot);
    if let Some(p) = pos {
        if kind != HostKind::File {
            return Err(Errno::ESPIPE.into());
        }
        // SAFETY: pwrite from a live buffer of the length we pass.
        let n = unsafe {
            libc::pwrite(
                fd,
                data.as_ptr() as *const libc::c_void,
                data.len(),
                p as i64,
            )
        };
        return if n < 0 {
            Err(Errno::last_host().into())
        } else {
            Ok(n as usize)
        };
    }
    let own_nb = s.nonblocking(slot);
    let orphaned = s.orphaned(slot);
    let mut done = super::file::progress(k, tid);
    loop {
        let rest = &data[done.min(data.len())..];
        if rest.is_empty() {
            return Ok(done);
        }
        let r = match kind {
            _ if orphaned => Err(Errno::EPIPE),
            HostKind::File => host::write(fd, rest),
            HostKind::Socket => {
                // SAFETY: send from a live buffer of the length we pass.
                let n = unsafe {
                    libc::send(
                        fd,
                        rest.as_ptr() as *const libc::c_void,
                        rest.len(),
                        libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                    )
                };
                if n < 0 {
                    Err(Errno::last_host())
                } else {
                    Ok(n as usize)
                }
            }
            HostKind::Absent => Err(Errno::EBADF),
            HostKind::Tty | HostKind::Stream => {
                if own_nb {
                    host::write(fd, rest)
                } else if host::poll_now(fd, libc::POLLOUT) & libc::POLLOUT == 0 {
                    Err(Errno::EAGAIN)
                } else {
                    host::write(fd, &rest[..rest.len().min(super::pipe::PIPE_BUF)])
                }
            }
        };
        match r {
            Ok(0) => return Ok(done),
            Ok(n) => done += n,
            Err(Errno::EAGAIN) => {
                if nonblock {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EAGAIN.into())
                    };
                }
                return Err(super::file::host_write_block(k, tid, done, fd));
            }
            Err(Errno::EPIPE) => {
                let uid = k.task(tid).creds.uid;
                let tgid = k.tgid(tid);
                k.send_to_thread(
                    tid,
                    crate::kernel::signal::SigInfo::new(
                        crate::kernel::signal::SIGPIPE,
                        crate::kernel::signal::SI_USER,
                    )
                    .with_sender(tgid, uid),
                );
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EPIPE.into())
                };
            }
            Err(e) => return if done > 0 { Ok(done) } else { Err(e.into()) },
        }
    }
}

/// `lseek` on a stdio descriptor: only regular files seek.
pub fn lseek(v: &super::Vfs, slot: u8, off: i64, whence: i32) -> Result<u64, Errno> {
    if v.stdio.kind(slot) != HostKind::File {
        return Err(Errno::ESPIPE);
    }
    // SAFETY: lseek on a host descriptor we hold.
    let r = unsafe { libc::lseek(v.stdio.fd(slot), off, whence) };
    if r < 0 {
        Err(Errno::last_host())
    } else {
        Ok(r as u64)
    }
}

/// Readiness of a stdio descriptor for `events`, without waiting.
pub fn poll(v: &super::Vfs, slot: u8, events: i16) -> i16 {
    match v.stdio.kind(slot) {
        HostKind::Absent => libc::POLLNVAL,
        HostKind::File => {
            events & (libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM)
        }
        _ => host::poll_now(v.stdio.fd(slot), events),
    }
}
