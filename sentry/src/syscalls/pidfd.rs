//! `pidfd_open`, `pidfd_send_signal`, `pidfd_getfd`, and the pidfd that
//! `clone(CLONE_PIDFD)` returns (see `vfs::pidfd`).

use super::{Args, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::signal::{SigInfo, SI_USER};
use crate::kernel::{Kernel, TaskState, Tid};
use crate::vfs::file::{self, FileKind};
use crate::vfs::node::Node;
use crate::vfs::pidfd::PidFd;
use crate::vfs::proc::ProcNode;
use libc::{SYS_pidfd_getfd, SYS_pidfd_open, SYS_pidfd_send_signal};

pub fn register(t: &mut Table) {
    t.add(SYS_pidfd_open, sys_pidfd_open, super::Support::Full);
    t.add(
        SYS_pidfd_send_signal,
        sys_pidfd_send_signal,
        super::Support::Full,
    );
    t.add(SYS_pidfd_getfd, sys_pidfd_getfd, super::Support::Full);
}

/// Installs a new pidfd of `tgid` in `tid`'s table (close-on-exec, as
/// every pidfd is); `flags` may hold `O_NONBLOCK`.
pub fn install(k: &mut Kernel, tid: Tid, tgid: Tid, flags: i32) -> Result<i32, Errno> {
    let fd = super::eventfd::anon_file(
        k,
        tid,
        FileKind::PidFd(PidFd { tgid }),
        libc::O_RDWR | (flags & libc::O_NONBLOCK),
        "anon_inode:[pidfd]",
        true,
    )
    .map_err(|e| match e {
        super::SysErr::Errno(e) => e,
        _ => Errno::EINVAL,
    })?;
    Ok(fd as i32)
}

/// The process a pidfd names (also for `waitid(P_PIDFD)`).
pub(super) fn target(k: &Kernel, tid: Tid, fd: i32) -> Result<Tid, Errno> {
    let f = file::get_io(k, tid, fd)?;
    match k.vfs.files.get(&f).map(|o| &o.kind) {
        Some(FileKind::PidFd(p)) => Ok(p.tgid),
        _ => Err(Errno::EBADF),
    }
}

fn sys_pidfd_open(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (pid, flags) = (a.i32(0), a.i32(1));
    // PIDFD_NONBLOCK is O_NONBLOCK; PIDFD_THREAD (Linux 6.9) is not offered.
    if pid <= 0 || flags & !libc::O_NONBLOCK != 0 {
        return Err(Errno::EINVAL.into());
    }
    let t = k.tasks.get(&pid).ok_or(Errno::ESRCH)?;
    if matches!(t.state, TaskState::Dead) && !k.thread_groups.contains_key(&pid) {
        return Err(Errno::ESRCH.into());
    }
    if t.tgid != pid {
        // A thread that does not lead its group (EINVAL before Linux 6.9).
        return Err(Errno::ENOENT.into());
    }
    Ok(install(k, tid, pid, flags)? as u64)
}

/// `pidfd_send_signal` scopes (Linux 6.9): the thread the pidfd names,
/// its thread group (the default), or its process group.
const PIDFD_SIGNAL_THREAD: i32 = 1;
const PIDFD_SIGNAL_THREAD_GROUP: i32 = 2;
const PIDFD_SIGNAL_PROCESS_GROUP: i32 = 4;

/// The process `pidfd_send_signal` signals through `fd`: a pidfd's, or,
/// as Linux allows there alone, that of a `/proc/<pid>` directory opened
/// by the caller (not one of `/proc/<pid>/task/<tid>`); any other
/// descriptor is `EBADF`.
fn signal_target(k: &Kernel, tid: Tid, fd: i32) -> Result<Tid, Errno> {
    let f = file::get_io(k, tid, fd)?;
    let Some(of) = k.vfs.files.get(&f) else {
        return Err(Errno::EBADF);
    };
    match (&of.kind, of.loc.node) {
        (FileKind::PidFd(p), _) => Ok(p.tgid),
        (FileKind::Dir { .. }, Node::Proc(ProcNode::Pid(r))) if !r.task => Ok(r.tgid),
        _ => Err(Errno::EBADF),
    }
}

fn sys_pidfd_send_signal(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (sig, uinfo, flags) = (a.i32(1), a.ptr(2), a.i32(3));
    let scopes = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;
    if flags & !scopes != 0
        || flags.count_ones() > 1
        || !(0..=crate::kernel::signal::NSIG).contains(&sig)
    {
        return Err(Errno::EINVAL.into());
    }
    let tgid = signal_target(k, tid, a.fd(0))?;
    if crate::vfs::pidfd::exited(k, tgid) {
        return Err(Errno::ESRCH.into());
    }
    let me = k.tgid(tid);
    let info = if uinfo != 0 {
        let mut b = [0u8; 128];
        k.copy_in(tid, uinfo, &mut b)?;
        let mut info = SigInfo::from_bytes(&b);
        if info.signo() != sig {
            return Err(Errno::EINVAL.into());
        }
        // Only negative codes may be forged, except towards oneself.
        if info.code() >= 0 && tgid != me {
            return Err(Errno::EPERM.into());
        }
        info.0[0] = sig as u32 as u64 | (info.0[0] & !0xffff_ffff);
        info
    } else {
        SigInfo::new(sig, SI_USER).with_sender(me, k.task(tid).creds.uid)
    };
    if flags == PIDFD_SIGNAL_PROCESS_GROUP {
        let pgid = k.thread_groups[&tgid].pgid;
        let targets: Vec<Tid> = k
            .thread_groups
            .iter()
            .filter(|(_, g)| g.pgid == pgid && g.zombie.is_none())
            .map(|(&t, _)| t)
            .filter(|&t| super::signal::may_signal(k, tid, t))
            .collect();
        if targets.is_empty() {
            return Err(Errno::EPERM.into());
        }
        if sig != 0 {
            for t in targets {
                k.send_to_group(t, info);
            }
        }
        return Ok(0);
    }
    if !super::signal::may_signal(k, tid, tgid) {
        return Err(Errno::EPERM.into());
    }
    if sig != 0 {
        if flags == PIDFD_SIGNAL_THREAD && k.tasks.contains_key(&tgid) {
            k.send_to_thread(tgid, info);
        } else {
            k.send_to_group(tgid, info);
        }
    }
    Ok(0)
}

/// `pidfd_getfd`: a copy of descriptor `targetfd` of the process, for a
/// caller that may trace it (the same real user, or `CAP_SYS_PTRACE`).
fn sys_pidfd_getfd(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (targetfd, flags) = (a.i32(1), a.i32(2));
    if flags != 0 {
        return Err(Errno::EINVAL.into());
    }
    let tgid = target(k, tid, a.fd(0))?;
    if crate::vfs::pidfd::exited(k, tgid) {
        return Err(Errno::ESRCH.into());
    }
    let me = &k.task(tid).creds;
    let them = &k.task(tgid).creds;
    let same = me.uid == them.uid && me.uid == them.euid && me.uid == them.suid;
    if !same && !me.capable(crate::kernel::caps::CAP_SYS_PTRACE) {
        return Err(Errno::EPERM.into());
    }
    let f = file::get(k, tgid, targetfd)?;
    k.vfs.file_hold(f);
    Ok(file::install_fd(k, tid, f, true, 0)? as u64)
}
