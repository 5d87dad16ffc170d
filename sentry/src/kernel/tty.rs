//! Terminals: the host terminals that the sandbox's processes use as their
//! stdio (the container's console, an `exec`'s terminal), and what the
//! sentry keeps about them itself.
//!
//! The line discipline, the modes (`termios`) and the window size belong to
//! the host terminal: those requests are passed through to the host
//! descriptor. Sessions and process groups are the sandbox's, so which
//! session a terminal controls and which process group is in its
//! foreground are kept here (`TIOCSCTTY`, `TIOCGPGRP`, `TIOCSPGRP`,
//! `TIOCGSID`, `TIOCNOTTY`), keyed by the host terminal's device number.
//! Characters that make the host terminal signal its foreground group
//! (Ctrl-C, Ctrl-\, Ctrl-Z) reach the sandbox process, which is the host
//! terminal's session; the sentry passes them on to the foreground group
//! kept here (see `run::forward_host_signals`).

use super::signal::{SigInfo, SI_KERNEL};
use super::{Kernel, Tid};
use crate::errno::Errno;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::fd::RawFd;

/// What the sentry keeps about one terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terminal {
    /// The session it controls.
    pub sid: Tid,
    /// Its foreground process group.
    pub fg_pgrp: Tid,
}

/// Every terminal that controls a session, by host device number.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Terminals {
    by_dev: BTreeMap<u64, Terminal>,
    /// The container's console, if it has one.
    pub console: Option<u64>,
}

// The kernel's `struct termios` (not glibc's larger one) is 36 bytes.
const TERMIOS_SIZE: usize = 36;
const WINSIZE_SIZE: usize = 8;

/// Requests passed through to the host terminal: (request, bytes copied
/// in, bytes copied out).
const PASS_THROUGH: &[(u32, usize, usize)] = &[
    (libc::TCGETS as u32, 0, TERMIOS_SIZE),
    (libc::TCSETS as u32, TERMIOS_SIZE, 0),
    (libc::TCSETSW as u32, TERMIOS_SIZE, 0),
    (libc::TCSETSF as u32, TERMIOS_SIZE, 0),
    (libc::TIOCGWINSZ as u32, 0, WINSIZE_SIZE),
    (libc::TIOCSWINSZ as u32, WINSIZE_SIZE, 0),
    (libc::FIONREAD as u32, 0, 4),
];

/// Whether the host descriptor is a terminal.
pub fn is_terminal(fd: RawFd) -> bool {
    let mut buf = [0u8; TERMIOS_SIZE];
    // SAFETY: TCGETS writes a kernel termios (36 bytes) into the buffer.
    unsafe { libc::ioctl(fd, libc::TCGETS, buf.as_mut_ptr()) == 0 }
}

impl Terminals {
    /// The terminal controlling session `sid`, if any.
    pub fn of_session(&self, sid: Tid) -> Option<(u64, Terminal)> {
        self.by_dev
            .iter()
            .find(|(_, t)| t.sid == sid)
            .map(|(&d, &t)| (d, t))
    }
}

impl Kernel {
    /// The terminal `dev` with its session, if that session still exists.
    fn live_terminal(&mut self, dev: u64) -> Option<Terminal> {
        let t = *self.terminals.by_dev.get(&dev)?;
        if self.thread_groups.values().any(|g| g.sid == t.sid) {
            Some(t)
        } else {
            self.terminals.by_dev.remove(&dev);
            None
        }
    }

    /// Makes the host terminal `fd` the controlling terminal of the
    /// session of `tgid` (its leader), with `tgid`'s group in the
    /// foreground. `console` marks it as the container's console, whose
    /// host signals go to its foreground group.
    pub fn attach_terminal(&mut self, tgid: Tid, fd: RawFd, console: bool) -> Result<(), Errno> {
        if !is_terminal(fd) {
            return Err(Errno::ENOTTY);
        }
        let dev = host_rdev(fd)?;
        let tg = self.thread_groups.get(&tgid).ok_or(Errno::ESRCH)?;
        let t = Terminal {
            sid: tg.sid,
            fg_pgrp: tg.pgid,
        };
        self.terminals.by_dev.insert(dev, t);
        if console {
            self.terminals.console = Some(dev);
        }
        Ok(())
    }

    /// The foreground process group of the console, if it has a live one.
    pub fn console_foreground(&mut self) -> Option<Tid> {
        let dev = self.terminals.console?;
        let t = self.live_terminal(dev)?;
        self.thread_groups
            .values()
            .any(|g| g.pgid == t.fg_pgrp && g.zombie.is_none())
            .then_some(t.fg_pgrp)
    }

    /// Sends `sig` from the kernel to every live process of group `pgrp`.
    pub fn signal_process_group(&mut self, pgrp: Tid, sig: i32) -> usize {
        let members: Vec<Tid> = self
            .thread_groups
            .iter()
            .filter(|(_, g)| g.pgid == pgrp && g.zombie.is_none())
            .map(|(&t, _)| t)
            .collect();
        for &m in &members {
            self.send_to_group(m, SigInfo::new(sig, SI_KERNEL));
        }
        members.len()
    }

    /// `ioctl` on a host stream descriptor `fd` (stdio, a donated
    /// descriptor) on behalf of `tid`.
    pub fn tty_ioctl(&mut self, tid: Tid, fd: RawFd, req: u32, arg: u64) -> Result<u64, Errno> {
        if !is_terminal(fd) {
            return Err(Errno::ENOTTY);
        }
        if let Some(&(_, size_in, size_out)) = PASS_THROUGH.iter().find(|(r, ..)| *r == req) {
            let mut buf = [0u8; TERMIOS_SIZE];
            if size_in > 0 {
                self.copy_in(tid, arg, &mut buf[..size_in])?;
            }
            // SAFETY: the request reads or writes at most `size_in` or
            // `size_out` bytes, both within the buffer.
            let r = unsafe { libc::ioctl(fd, req as _, buf.as_mut_ptr()) };
            if r < 0 {
                return Err(Errno::last_host());
            }
            if size_out > 0 {
                self.copy_out(tid, arg, &buf[..size_out])?;
            }
            return Ok(r as u64);
        }
        let dev = host_rdev(fd)?;
        let tg = self.tg(tid);
        let (me, sid, pgid) = (tg.tgid, tg.sid, tg.pgid);
        let term = self.live_terminal(dev);
        let ours = term.filter(|t| t.sid == sid);
        match req {
            r if r == libc::TIOCGPGRP as u32 => {
                let t = ours.ok_or(Errno::ENOTTY)?;
                self.write_val(tid, arg, &t.fg_pgrp)?;
                Ok(0)
            }
            r if r == libc::TIOCGSID as u32 => {
                let t = ours.ok_or(Errno::ENOTTY)?;
                self.write_val(tid, arg, &t.sid)?;
                Ok(0)
            }
            r if r == libc::TIOCSPGRP as u32 => {
                let mut t = ours.ok_or(Errno::ENOTTY)?;
                let pgrp: i32 = self.read_val(tid, arg)?;
                if pgrp < 0 {
                    return Err(Errno::EINVAL);
                }
                let members: Vec<Tid> = self
                    .thread_groups
                    .values()
                    .filter(|g| g.pgid == pgrp)
                    .map(|g| g.sid)
                    .collect();
                if members.is_empty() {
                    return Err(Errno::ESRCH);
                }
                if members.iter().any(|&s| s != sid) {
                    return Err(Errno::EPERM);
                }
                t.fg_pgrp = pgrp;
                self.terminals.by_dev.insert(dev, t);
                Ok(0)
            }
            r if r == libc::TIOCSCTTY as u32 => {
                if sid != me {
                    return Err(Errno::EPERM);
                }
                if let Some((d, _)) = self.terminals.of_session(sid) {
                    return if d == dev { Ok(0) } else { Err(Errno::EPERM) };
                }
                // Stealing a terminal another session controls needs
                // CAP_SYS_ADMIN and arg 1; the sandbox's root has it.
                if term.is_some() && (arg != 1 || self.task(tid).creds.euid != 0) {
                    return Err(Errno::EPERM);
                }
                self.terminals
                    .by_dev
                    .insert(dev, Terminal { sid, fg_pgrp: pgid });
                Ok(0)
            }
            r if r == libc::TIOCNOTTY as u32 => {
                ours.ok_or(Errno::ENOTTY)?;
                if sid == me {
                    // The session leader gives it up: its foreground group
                    // hears of it as on Linux.
                    if let Some(t) = ours {
                        self.signal_process_group(t.fg_pgrp, libc::SIGHUP);
                        self.signal_process_group(t.fg_pgrp, libc::SIGCONT);
                    }
                    self.terminals.by_dev.remove(&dev);
                }
                Ok(0)
            }
            // Flushing and draining have no effect the sandbox could see.
            r if r == libc::TCFLSH as u32
                || r == libc::TCSBRK as u32
                || r == libc::TCXONC as u32 =>
            {
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }
}

/// The device number of the host terminal `fd`.
fn host_rdev(fd: RawFd) -> Result<u64, Errno> {
    // SAFETY: plain data struct filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on a descriptor the caller holds.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(Errno::last_host());
    }
    Ok(st.st_rdev)
}
