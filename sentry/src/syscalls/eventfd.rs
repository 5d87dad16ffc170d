//! `eventfd`, `eventfd2`, the timerfd calls, and `signalfd`.

use super::{Args, Support, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};
use crate::vfs::eventfd::EventFd;
use crate::vfs::file::{self, FileKind, OpenFile};
use crate::vfs::node::{AnonNode, Loc, Node};
use crate::vfs::timerfd::{self, TimerFd};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_eventfd, sys_eventfd, Support::Full);
    t.add(SYS_eventfd2, sys_eventfd2, Support::Full);
    t.add(SYS_timerfd_create, sys_timerfd_create, Support::Full);
    t.add(
        SYS_timerfd_settime,
        sys_timerfd_settime,
        Support::Partial("TFD_TIMER_CANCEL_ON_SET is accepted and ignored"),
    );
    t.add(SYS_timerfd_gettime, sys_timerfd_gettime, Support::Full);
    t.add(SYS_signalfd, sys_signalfd, Support::Full);
    t.add(SYS_signalfd4, sys_signalfd4, Support::Full);
}

fn signalfd(k: &mut Kernel, tid: Tid, fd: i32, mask: u64, size: usize, flags: i32) -> SysResult {
    if flags & !(libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) != 0 || size != 8 {
        return Err(Errno::EINVAL.into());
    }
    let m: u64 = k.read_val(tid, mask)?;
    let set = crate::kernel::signal::SigSet(m).blockable();
    if fd != -1 {
        let f = file::get_io(k, tid, fd)?;
        return match k.vfs.files.get_mut(&f).map(|o| &mut o.kind) {
            Some(FileKind::SignalFd(s)) => {
                s.mask = set;
                let q = crate::vfs::signalfd::queue(k.tgid(tid));
                k.notify(q);
                Ok(fd as u64)
            }
            _ => Err(Errno::EINVAL.into()),
        };
    }
    anon_file(
        k,
        tid,
        FileKind::SignalFd(crate::vfs::signalfd::SignalFd { mask: set }),
        libc::O_RDWR | (flags & libc::O_NONBLOCK),
        "anon_inode:[signalfd]",
        flags & libc::SFD_CLOEXEC != 0,
    )
}

fn sys_signalfd(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    signalfd(k, tid, a.fd(0), a.ptr(1), a.usize(2), 0)
}

fn sys_signalfd4(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    signalfd(k, tid, a.fd(0), a.ptr(1), a.usize(2), a.i32(3))
}

/// Adds an anonymous file whose node is the file itself.
pub(super) fn anon_file(
    k: &mut Kernel,
    tid: Tid,
    kind: FileKind,
    flags: i32,
    name: &str,
    cloexec: bool,
) -> SysResult {
    let f = k.vfs.add_file(OpenFile::new(
        Loc {
            mount: k.vfs.mounts.anon,
            node: Node::Anon(AnonNode::File(0)),
        },
        kind,
        flags,
        name.as_bytes().to_vec(),
    ));
    if let Some(of) = k.vfs.files.get_mut(&f) {
        of.loc.node = Node::Anon(AnonNode::File(f));
    }
    Ok(file::install_fd(k, tid, f, cloexec, 0)? as u64)
}

const EFD_SEMAPHORE: i32 = 1;

fn eventfd(k: &mut Kernel, tid: Tid, init: u32, flags: i32) -> SysResult {
    if flags & !(EFD_SEMAPHORE | libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let q = k.new_id();
    let e = EventFd {
        count: init as u64,
        semaphore: flags & EFD_SEMAPHORE != 0,
        queue: q,
        gen: 0,
    };
    anon_file(
        k,
        tid,
        FileKind::EventFd(e),
        libc::O_RDWR | (flags & libc::O_NONBLOCK),
        "anon_inode:[eventfd]",
        flags & libc::O_CLOEXEC != 0,
    )
}

fn sys_eventfd(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    eventfd(k, tid, a.u32(0), 0)
}

fn sys_eventfd2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    eventfd(k, tid, a.u32(0), a.i32(1))
}

fn sys_timerfd_create(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (clock, flags) = (a.i32(0), a.i32(1));
    if flags & !(libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let base = timerfd::base_clock(clock).ok_or(Errno::EINVAL)?;
    let q = k.new_id();
    anon_file(
        k,
        tid,
        FileKind::TimerFd(TimerFd::new(base, q)),
        libc::O_RDWR | (flags & libc::O_NONBLOCK),
        "anon_inode:[timerfd]",
        flags & libc::TFD_CLOEXEC != 0,
    )
}

fn timer_file(k: &Kernel, tid: Tid, fd: i32) -> Result<u64, Errno> {
    let f = file::get_io(k, tid, fd)?;
    match k.vfs.files.get(&f).map(|o| &o.kind) {
        Some(FileKind::TimerFd(_)) => Ok(f),
        _ => Err(Errno::EINVAL),
    }
}

fn ts_ns(ts: &libc::timespec) -> Result<u64, Errno> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64))
}

fn write_itimerspec(
    k: &mut Kernel,
    tid: Tid,
    addr: u64,
    value: u64,
    interval: u64,
) -> Result<(), Errno> {
    let its = libc::itimerspec {
        it_interval: crate::kernel::time::to_timespec(interval),
        it_value: crate::kernel::time::to_timespec(value),
    };
    k.write_val(tid, addr, &its)
}

fn sys_timerfd_settime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(1);
    if flags & !(libc::TFD_TIMER_ABSTIME | 2) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let f = timer_file(k, tid, a.fd(0))?;
    let its: libc::itimerspec = k.read_val(tid, a.ptr(2))?;
    let value = ts_ns(&its.it_value)?;
    let interval = ts_ns(&its.it_interval)?;
    let (ov, oi) = timerfd::settime(k, f, flags & libc::TFD_TIMER_ABSTIME != 0, value, interval)?;
    if a.ptr(3) != 0 {
        write_itimerspec(k, tid, a.ptr(3), ov, oi)?;
    }
    Ok(0)
}

fn sys_timerfd_gettime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = timer_file(k, tid, a.fd(0))?;
    let (v, i) = timerfd::gettime(k, f)?;
    write_itimerspec(k, tid, a.ptr(1), v, i)?;
    Ok(0)
}
