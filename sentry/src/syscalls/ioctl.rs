//! `ioctl`: the generic requests (`FIOCLEX`, `FIONBIO`, `FIONREAD`, ...)
//! and terminal requests on the host terminal. Line settings and window
//! size pass through to the host; the foreground process group and session
//! are the sentry's.

use super::{Args, Support, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};
use crate::vfs::file::{self, FileKind};
use crate::vfs::{host, path};

pub fn register(t: &mut Table) {
    t.add(
        libc::SYS_ioctl,
        sys_ioctl,
        Support::Partial("generic requests and the host terminal only"),
    );
}

const TCGETS: u64 = 0x5401;
const TCSETS: u64 = 0x5402;
const TCSETSW: u64 = 0x5403;
const TCSETSF: u64 = 0x5404;
const TCGETA: u64 = 0x5405;
const TCSETA: u64 = 0x5406;
const TCSETAW: u64 = 0x5407;
const TCSETAF: u64 = 0x5408;
const TCSBRK: u64 = 0x5409;
const TCXONC: u64 = 0x540a;
const TCFLSH: u64 = 0x540b;
const TIOCEXCL: u64 = 0x540c;
const TIOCNXCL: u64 = 0x540d;
const TIOCSCTTY: u64 = 0x540e;
const TIOCGPGRP: u64 = 0x540f;
const TIOCSPGRP: u64 = 0x5410;
const TIOCOUTQ: u64 = 0x5411;
const TIOCGWINSZ: u64 = 0x5413;
const TIOCSWINSZ: u64 = 0x5414;
const FIONREAD: u64 = 0x541b;
const SIOCOUTQ: u64 = 0x5411;
const TIOCNOTTY: u64 = 0x5422;
const TCSBRKP: u64 = 0x5425;
const TIOCGSID: u64 = 0x5429;
const TCGETS2: u64 = 0x802c_542a;
const TCSETS2: u64 = 0x402c_542b;
const TCSETSW2: u64 = 0x402c_542c;
const TCSETSF2: u64 = 0x402c_542d;
const TIOCGDEV: u64 = 0x8004_5432;
const TIOCPKT: u64 = 0x5420;
const TIOCGPTN: u64 = 0x8004_5430;
const TIOCSPTLCK: u64 = 0x4004_5431;
const TIOCGPTLCK: u64 = 0x8004_5439;
const TIOCGPTPEER: u64 = 0x5441;
const FIONBIO: u64 = 0x5421;
const FIONCLEX: u64 = 0x5450;
const FIOCLEX: u64 = 0x5451;
const FIOASYNC: u64 = 0x5452;
const FIGETBSZ: u64 = 2;

fn sys_ioctl(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (fd, req, arg) = (a.fd(0), a.u64(1) & 0xffff_ffff, a.ptr(2));
    let f = file::get_io(k, tid, fd)?;
    let table = k.task(tid).fdtable;
    match req {
        FIOCLEX | FIONCLEX => {
            if let Some(e) = k
                .vfs
                .fdtables
                .get_mut(&table)
                .and_then(|t| t.fds.get_mut(&fd))
            {
                e.1 = req == FIOCLEX;
            }
            return Ok(0);
        }
        FIONBIO | FIOASYNC => {
            let on: i32 = k.read_val(tid, arg)?;
            let bit = if req == FIONBIO {
                libc::O_NONBLOCK
            } else {
                libc::O_ASYNC
            };
            if let Some(of) = k.vfs.files.get_mut(&f) {
                if on != 0 {
                    of.flags |= bit;
                } else {
                    of.flags &= !bit;
                }
            }
            return Ok(0);
        }
        _ => {}
    }
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    match &of.kind {
        FileKind::Regular => match req {
            FIONREAD => {
                let (loc, off) = (of.loc, of.offset);
                let size = path::stat(k, loc)?.size;
                let n = size.saturating_sub(off).min(i32::MAX as u64) as i32;
                k.write_val(tid, arg, &n)?;
                Ok(0)
            }
            FIGETBSZ => {
                k.write_val(tid, arg, &4096i32)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY.into()),
        },
        FileKind::Pipe { pipe } => match req {
            FIONREAD => {
                let n = k.vfs.pipes.get(pipe).map_or(0, |p| p.len()) as i32;
                k.write_val(tid, arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY.into()),
        },
        FileKind::Socket(s) => {
            // The interface requests every socket answers.
            if crate::net::netlink::is_ifreq(req) {
                let r = k.read_bytes(tid, arg, 40)?;
                let links = crate::net::netlink::interfaces(&mut k.vfs.net)?;
                let out = crate::net::netlink::ifreq(&links, req, &r)?;
                k.copy_out(tid, arg, &out)?;
                return Ok(0);
            }
            if let Some(fd) = crate::net::host::fd(k, *s) {
                if req != FIONREAD {
                    return Err(Errno::ENOTTY.into());
                }
                let n = crate::net::host::readable(fd?)?;
                k.write_val(tid, arg, &n)?;
                return Ok(0);
            }
            let Some(x) = k.vfs.net.get(*s) else {
                return Err(Errno::EBADF.into());
            };
            if x.domain == crate::net::Domain::Netlink {
                // Netlink sockets have no ioctls of their own.
                return Err(Errno::ENOTTY.into());
            }
            // SIOCINQ is FIONREAD; SIOCOUTQ counts what the peer has not
            // read yet.
            let n = match req {
                FIONREAD => x.readable_bytes(),
                SIOCOUTQ => x
                    .peer()
                    .and_then(|p| k.vfs.net.get(p))
                    .map_or(0, |p| p.rx_len),
                _ => return Err(Errno::ENOTTY.into()),
            };
            if x.listening() && req == FIONREAD {
                return Err(Errno::EINVAL.into());
            }
            k.write_val(tid, arg, &(n.min(i32::MAX as usize) as i32))?;
            Ok(0)
        }
        FileKind::PtyMaster(i) | FileKind::PtySlave(i) => {
            let master = matches!(of.kind, FileKind::PtyMaster(_));
            let i = *i;
            pty_ioctl(k, tid, i, master, req, arg)
        }
        FileKind::Stdio(slot) => {
            let slot = *slot;
            if k.vfs.stdio.is_tty(slot) {
                tty_ioctl(k, tid, slot, req, arg)
            } else if req == FIONREAD {
                let mut n = [0u8; 4];
                host::ioctl_buf(k.vfs.stdio.fd(slot), FIONREAD, &mut n)?;
                k.copy_out(tid, arg, &n)?;
                Ok(0)
            } else {
                Err(Errno::ENOTTY.into())
            }
        }
        _ => Err(Errno::ENOTTY.into()),
    }
}

/// True if `tid`'s session owns the terminal.
fn owns_tty(k: &Kernel, tid: Tid) -> bool {
    k.tg(tid).sid == k.vfs.stdio.session
}

/// Passes a request with a `len`-byte buffer through to the host terminal.
fn pass(
    k: &mut Kernel,
    tid: Tid,
    slot: u8,
    req: u64,
    arg: u64,
    len: usize,
    out: bool,
) -> SysResult {
    let mut buf = if out {
        vec![0u8; len]
    } else {
        k.read_bytes(tid, arg, len)?
    };
    host::ioctl_buf(k.vfs.stdio.fd(slot), req, &mut buf)?;
    if out {
        k.copy_out(tid, arg, &buf)?;
    }
    Ok(0)
}

/// Sets host terminal settings without waiting for output to drain.
fn set_now(
    k: &mut Kernel,
    tid: Tid,
    slot: u8,
    flush: bool,
    req: u64,
    arg: u64,
    len: usize,
) -> SysResult {
    if flush {
        // SAFETY: an integer-argument request on our host terminal.
        unsafe {
            libc::ioctl(
                k.vfs.stdio.fd(slot),
                TCFLSH as _,
                libc::TCIFLUSH as libc::c_ulong,
            )
        };
    }
    pass(k, tid, slot, req, arg, len, false)
}

/// Requests that change a terminal (a background process gets `SIGTTOU`).
fn changes_settings(req: u64) -> bool {
    matches!(
        req,
        TCSETS
            | TCSETSW
            | TCSETSF
            | TCSETS2
            | TCSETSW2
            | TCSETSF2
            | TCSETA
            | TCSETAW
            | TCSETAF
            | TIOCSPGRP
            | TCFLSH
            | TIOCSWINSZ
    )
}

fn tty_ioctl(k: &mut Kernel, tid: Tid, slot: u8, req: u64, arg: u64) -> SysResult {
    if changes_settings(req) && slot < crate::vfs::stdio::FIRST_DONATED {
        let (session, fg) = (k.vfs.stdio.session, k.vfs.stdio.fg_pgrp);
        crate::vfs::pty::job_control(k, tid, session, fg, crate::kernel::signal::SIGTTOU)?;
    }
    match req {
        TCGETS => pass(k, tid, slot, req, arg, 36, true),
        // Waiting for output to drain would block the sentry: the settings
        // apply at once (input is still flushed for the *F forms).
        TCSETS | TCSETSW | TCSETSF => set_now(k, tid, slot, req == TCSETSF, TCSETS, arg, 36),
        TCGETS2 => pass(k, tid, slot, req, arg, 44, true),
        TCSETS2 | TCSETSW2 | TCSETSF2 => set_now(k, tid, slot, req == TCSETSF2, TCSETS2, arg, 44),
        TCGETA => pass(k, tid, slot, req, arg, 18, true),
        TCSETA | TCSETAW | TCSETAF => set_now(k, tid, slot, req == TCSETAF, TCSETA, arg, 18),
        TIOCGWINSZ => pass(k, tid, slot, req, arg, 8, true),
        TIOCSWINSZ => {
            pass(k, tid, slot, req, arg, 8, false)?;
            let fg = k.vfs.stdio.fg_pgrp;
            let groups: Vec<Tid> = k
                .thread_groups
                .values()
                .filter(|g| g.pgid == fg && g.zombie.is_none())
                .map(|g| g.tgid)
                .collect();
            for g in groups {
                k.send_to_group(
                    g,
                    crate::kernel::signal::SigInfo::new(
                        crate::kernel::signal::SIGWINCH,
                        crate::kernel::signal::SI_KERNEL,
                    ),
                );
            }
            Ok(0)
        }
        FIONREAD | TIOCOUTQ => pass(k, tid, slot, req, arg, 4, true),
        TCFLSH | TCXONC => {
            // SAFETY: an integer-argument request on our host terminal.
            let r = unsafe { libc::ioctl(k.vfs.stdio.fd(slot), req as _, arg as libc::c_ulong) };
            if r < 0 {
                return Err(Errno::last_host().into());
            }
            Ok(0)
        }
        TCSBRK | TCSBRKP | TIOCEXCL | TIOCNXCL => Ok(0),
        TIOCGPGRP => {
            if !owns_tty(k, tid) {
                return Err(Errno::ENOTTY.into());
            }
            let pg = k.vfs.stdio.fg_pgrp;
            k.write_val(tid, arg, &pg)?;
            Ok(0)
        }
        TIOCSPGRP => {
            if !owns_tty(k, tid) {
                return Err(Errno::ENOTTY.into());
            }
            let pg: i32 = k.read_val(tid, arg)?;
            if pg < 0 {
                return Err(Errno::EINVAL.into());
            }
            let sid = k.tg(tid).sid;
            let found = k
                .thread_groups
                .values()
                .filter(|g| g.pgid == pg)
                .collect::<Vec<_>>();
            if found.is_empty() {
                return Err(Errno::ESRCH.into());
            }
            if found.iter().any(|g| g.sid != sid) {
                return Err(Errno::EPERM.into());
            }
            k.vfs.stdio.fg_pgrp = pg;
            Ok(0)
        }
        TIOCGSID => {
            if !owns_tty(k, tid) {
                return Err(Errno::ENOTTY.into());
            }
            let s = k.vfs.stdio.session;
            k.write_val(tid, arg, &s)?;
            Ok(0)
        }
        TIOCSCTTY => {
            let tg = k.tg(tid);
            if tg.sid != tg.tgid {
                return Err(Errno::EPERM.into());
            }
            let (sid, pgid) = (tg.sid, tg.pgid);
            let session_alive = k
                .thread_groups
                .values()
                .any(|g| g.sid == k.vfs.stdio.session && g.zombie.is_none());
            if sid != k.vfs.stdio.session
                && session_alive
                && (arg != 1
                    || !k
                        .task(tid)
                        .creds
                        .capable(crate::kernel::caps::CAP_SYS_ADMIN))
            {
                return Err(Errno::EPERM.into());
            }
            k.vfs.stdio.session = sid;
            k.vfs.stdio.fg_pgrp = pgid;
            Ok(0)
        }
        TIOCNOTTY => {
            if !owns_tty(k, tid) {
                return Err(Errno::ENOTTY.into());
            }
            Ok(0)
        }
        TIOCGDEV => {
            let d = k.vfs.stdio.tty_rdev;
            let enc = (crate::vfs::node::major(d) << 8) | (crate::vfs::node::minor(d) & 0xff);
            k.write_val(tid, arg, &enc)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY.into()),
    }
}

/// Terminal requests on either side of a pseudo-terminal.
fn pty_ioctl(k: &mut Kernel, tid: Tid, index: u32, master: bool, req: u64, arg: u64) -> SysResult {
    use crate::vfs::pty::Termios;
    let p = k.vfs.ptys.get(&index).ok_or(Errno::EIO)?;
    let (session, fg, termios, winsize) = (p.session, p.fg_pgrp, p.termios, p.winsize);
    let sid = k.tg(tid).sid;
    // Job control requests on a slave need it to be the caller's terminal.
    let mine = master || session == sid;
    if !master && changes_settings(req) {
        crate::vfs::pty::job_control(k, tid, session, fg, crate::kernel::signal::SIGTTOU)?;
    }
    let set = |k: &mut Kernel, t: Termios| {
        if let Some(p) = k.vfs.ptys.get_mut(&index) {
            p.set_termios(t);
            let q = p.queue;
            k.notify(q);
        }
    };
    match req {
        TCGETS | TCGETS2 => {
            k.copy_out(tid, arg, &termios.to_bytes(req == TCGETS2))?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF | TCSETS2 | TCSETSW2 | TCSETSF2 => {
            let two = matches!(req, TCSETS2 | TCSETSW2 | TCSETSF2);
            let b = k.read_bytes(tid, arg, if two { 44 } else { 36 })?;
            if matches!(req, TCSETSF | TCSETSF2) {
                if let Some(p) = k.vfs.ptys.get_mut(&index) {
                    p.flush(0);
                }
            }
            set(k, Termios::from_bytes(&b, two));
            Ok(0)
        }
        TCGETA => {
            k.copy_out(tid, arg, &termios.to_termio())?;
            Ok(0)
        }
        TCSETA | TCSETAW | TCSETAF => {
            let b = k.read_bytes(tid, arg, 18)?;
            let mut t = termios;
            t.set_from_termio(&b);
            set(k, t);
            Ok(0)
        }
        TIOCGWINSZ => {
            let mut b = [0u8; 8];
            for (j, v) in winsize.iter().enumerate() {
                b[j * 2..j * 2 + 2].copy_from_slice(&v.to_le_bytes());
            }
            k.copy_out(tid, arg, &b)?;
            Ok(0)
        }
        TIOCSWINSZ => {
            let b = k.read_bytes(tid, arg, 8)?;
            let w = [0, 1, 2, 3].map(|j| u16::from_le_bytes([b[j * 2], b[j * 2 + 1]]));
            if let Some(p) = k.vfs.ptys.get_mut(&index) {
                if p.winsize != w {
                    p.winsize = w;
                    crate::vfs::pty::signal_group(k, fg, crate::kernel::signal::SIGWINCH);
                }
            }
            Ok(0)
        }
        FIONREAD | TIOCOUTQ => {
            let p = k.vfs.ptys.get(&index).ok_or(Errno::EIO)?;
            let n = match (master, req == FIONREAD) {
                (true, true) => p.output.len(),
                (false, true) => p.slave_pending(),
                (false, false) => p.output.len(),
                (true, false) => 0,
            };
            k.write_val(tid, arg, &(n.min(i32::MAX as usize) as i32))?;
            Ok(0)
        }
        TCFLSH => {
            let which = arg as i32;
            if !(0..=2).contains(&which) {
                return Err(Errno::EINVAL.into());
            }
            if let Some(p) = k.vfs.ptys.get_mut(&index) {
                // The master's "input" is the slave's output.
                let which = if master { 2 - which } else { which };
                p.flush(which);
                let q = p.queue;
                k.notify(q);
            }
            Ok(0)
        }
        TCXONC => {
            let p = k.vfs.ptys.get_mut(&index).ok_or(Errno::EIO)?;
            p.tcflow(master, arg)?;
            let q = p.queue;
            k.notify(q);
            Ok(0)
        }
        TCSBRK | TCSBRKP | TIOCEXCL | TIOCNXCL => Ok(0),
        TIOCGPGRP => {
            if !mine {
                return Err(Errno::ENOTTY.into());
            }
            k.write_val(tid, arg, &fg)?;
            Ok(0)
        }
        TIOCSPGRP => {
            if !mine || session == 0 {
                return Err(Errno::ENOTTY.into());
            }
            let pg: i32 = k.read_val(tid, arg)?;
            if pg < 0 {
                return Err(Errno::EINVAL.into());
            }
            let groups: Vec<_> = k.thread_groups.values().filter(|g| g.pgid == pg).collect();
            if groups.is_empty() {
                return Err(Errno::ESRCH.into());
            }
            if groups.iter().any(|g| g.sid != session) {
                return Err(Errno::EPERM.into());
            }
            if let Some(p) = k.vfs.ptys.get_mut(&index) {
                p.fg_pgrp = pg;
            }
            Ok(0)
        }
        TIOCGSID => {
            if !mine || session == 0 {
                return Err(Errno::ENOTTY.into());
            }
            k.write_val(tid, arg, &session)?;
            Ok(0)
        }
        TIOCSCTTY => {
            let g = k.tg(tid);
            let (tgid, pgid) = (g.tgid, g.pgid);
            if sid != tgid {
                return Err(Errno::EPERM.into());
            }
            if session == sid {
                return Ok(0);
            }
            let steal = arg == 1
                && k.task(tid)
                    .creds
                    .capable(crate::kernel::caps::CAP_SYS_ADMIN);
            if session != 0 && !steal {
                return Err(Errno::EPERM.into());
            }
            if crate::vfs::pty::of_session(&k.vfs, sid).is_some() {
                return Err(Errno::EPERM.into());
            }
            if let Some(p) = k.vfs.ptys.get_mut(&index) {
                p.session = sid;
                p.fg_pgrp = pgid;
            }
            Ok(0)
        }
        TIOCNOTTY => {
            if !mine || master {
                return Err(Errno::ENOTTY.into());
            }
            // The session leader gives the terminal up.
            if k.tg(tid).tgid == sid {
                crate::vfs::pty::signal_group(k, fg, crate::kernel::signal::SIGHUP);
                crate::vfs::pty::signal_group(k, fg, crate::kernel::signal::SIGCONT);
                if let Some(p) = k.vfs.ptys.get_mut(&index) {
                    p.session = 0;
                    p.fg_pgrp = 0;
                }
            }
            Ok(0)
        }
        TIOCGPTN if master => {
            k.write_val(tid, arg, &index)?;
            Ok(0)
        }
        TIOCSPTLCK if master => {
            let v: i32 = k.read_val(tid, arg)?;
            if let Some(p) = k.vfs.ptys.get_mut(&index) {
                p.locked = v != 0;
            }
            Ok(0)
        }
        TIOCGPTLCK if master => {
            let v = k.vfs.ptys.get(&index).is_some_and(|p| p.locked) as i32;
            k.write_val(tid, arg, &v)?;
            Ok(0)
        }
        TIOCPKT if master => {
            let v: i32 = k.read_val(tid, arg)?;
            if v != 0 {
                return Err(Errno::EINVAL.into());
            }
            Ok(0)
        }
        TIOCGPTPEER if master => {
            let flags = arg as i32;
            let node = k.vfs.ptys.get(&index).ok_or(Errno::EIO)?.node;
            let (_, fs) = k.vfs.pts_dir.ok_or(Errno::EIO)?;
            let mount = k
                .vfs
                .mounts
                .mounts
                .iter()
                .find(|(_, m)| m.fs == fs)
                .map(|(&id, _)| id)
                .ok_or(Errno::EIO)?;
            let loc = crate::vfs::node::Loc {
                mount,
                node: crate::vfs::node::Node::Mem(node),
            };
            let f = crate::vfs::pty::open_slave(k, tid, index, loc, flags | libc::O_NOCTTY)?;
            Ok(file::install_fd(k, tid, f, flags & libc::O_CLOEXEC != 0, 0)? as u64)
        }
        TIOCGDEV => {
            let enc =
                (crate::vfs::pty::SLAVE_MAJOR << 8) | (index & 0xff) | ((index & !0xff) << 12);
            k.write_val(tid, arg, &enc)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY.into()),
    }
}
