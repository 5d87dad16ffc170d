//! epoll system calls.

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::wait::Restart;
use crate::kernel::{Kernel, Tid};
use crate::vfs::epoll::{self, Epoll};
use crate::vfs::file::{self, FileKind, OpenFile};
use crate::vfs::node::{AnonNode, Loc, Node};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_epoll_create, sys_epoll_create, Support::Full);
    t.add(SYS_epoll_create1, sys_epoll_create1, Support::Full);
    t.add(
        SYS_epoll_ctl,
        sys_epoll_ctl,
        Support::Partial("EPOLLEXCLUSIVE wakes every waiter"),
    );
    t.add(SYS_epoll_wait, sys_epoll_wait, Support::Full);
    t.add(SYS_epoll_pwait, sys_epoll_pwait, Support::Full);
    t.add(SYS_epoll_pwait2, sys_epoll_pwait2, Support::Full);
}

fn create(k: &mut Kernel, tid: Tid, cloexec: bool) -> SysResult {
    let q = k.new_id();
    let f = k.vfs.add_file(OpenFile::new(
        Loc {
            mount: k.vfs.mounts.anon,
            node: Node::Anon(AnonNode::File(0)),
        },
        FileKind::Epoll(Epoll::new(q)),
        libc::O_RDWR,
        b"anon_inode:[eventpoll]".to_vec(),
    ));
    if let Some(of) = k.vfs.files.get_mut(&f) {
        of.loc.node = Node::Anon(AnonNode::File(f));
    }
    Ok(file::install_fd(k, tid, f, cloexec, 0)? as u64)
}

fn sys_epoll_create(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.i32(0) <= 0 {
        return Err(Errno::EINVAL.into());
    }
    create(k, tid, false)
}

fn sys_epoll_create1(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(0);
    if flags & !libc::EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL.into());
    }
    create(k, tid, flags & libc::EPOLL_CLOEXEC != 0)
}

fn sys_epoll_ctl(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (epfd, op, fd, ev) = (a.fd(0), a.i32(1), a.fd(2), a.ptr(3));
    let ep = file::get_io(k, tid, epfd)?;
    let target = file::get_io(k, tid, fd)?;
    let (events, data) = if op == libc::EPOLL_CTL_DEL {
        (0, 0)
    } else {
        let b = k.read_bytes(tid, ev, 12)?;
        (
            u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")),
            u64::from_le_bytes(b[4..12].try_into().expect("8 bytes")),
        )
    };
    epoll::ctl(k, ep, op, fd, target, events, data)?;
    Ok(0)
}

fn wait(k: &mut Kernel, tid: Tid, a: &Args, timeout: Option<u64>) -> Result<u64, SysErr> {
    let (epfd, out, max) = (a.fd(0), a.ptr(1), a.i32(2));
    if max <= 0 || max as usize > (i32::MAX as usize) / 12 {
        return Err(Errno::EINVAL.into());
    }
    let ep = file::get_io(k, tid, epfd)?;
    if !k
        .vfs
        .files
        .get(&ep)
        .is_some_and(|o| matches!(o.kind, FileKind::Epoll(_)))
    {
        return Err(Errno::EINVAL.into());
    }
    let d = timeout.map(|ns| k.syscall_deadline(tid, ns));
    let s = epoll::scan_max(k, tid, ep, 1, true, max as usize);
    if !s.events.is_empty() || timeout == Some(0) || k.deadline_passed(tid) {
        let mut buf = Vec::with_capacity(s.events.len() * 12);
        for (ev, data) in &s.events {
            buf.extend_from_slice(&ev.to_le_bytes());
            buf.extend_from_slice(&data.to_le_bytes());
        }
        k.copy_out(tid, out, &buf)?;
        return Ok(s.events.len() as u64);
    }
    Err(SysErr::Block(
        s.wait.block().with_deadline(d).with_restart(Restart::Never),
    ))
}

fn ms_timeout(ms: i32) -> Option<u64> {
    (ms >= 0).then(|| ms as u64 * 1_000_000)
}

fn sys_epoll_wait(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    wait(k, tid, a, ms_timeout(a.i32(3)))
}

fn with_mask(k: &mut Kernel, tid: Tid, a: &Args, timeout: Option<u64>) -> SysResult {
    super::poll::swap_mask(k, tid, a.ptr(4), a.usize(5))?;
    match wait(k, tid, a, timeout) {
        Err(SysErr::Block(b)) => Err(SysErr::Block(b)),
        r => {
            super::poll::restore_mask(k, tid);
            r
        }
    }
}

fn sys_epoll_pwait(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    with_mask(k, tid, a, ms_timeout(a.i32(3)))
}

fn sys_epoll_pwait2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let timeout = if a.ptr(3) == 0 {
        None
    } else {
        let ts: libc::timespec = k.read_val(tid, a.ptr(3))?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL.into());
        }
        Some(
            (ts.tv_sec as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(ts.tv_nsec as u64),
        )
    };
    with_mask(k, tid, a, timeout)
}
