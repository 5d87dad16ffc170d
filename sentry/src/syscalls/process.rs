//! Processes and threads: clone/fork/vfork/execve, exit, wait, IDs,
//! credentials, resource limits, `uname`, `prctl`, `arch_prctl`.

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::caps;
use crate::kernel::exit::WaitTarget;
use crate::kernel::fork::CloneArgs;
use crate::kernel::task::{ExitStatus, SchedPolicy, RLIM_NLIMITS};
use crate::kernel::{Kernel, Tid};
use crate::mm::{zeroed, Pod};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_exit, sys_exit, Support::Full);
    t.add(SYS_exit_group, sys_exit_group, Support::Full);
    t.add(SYS_getpid, sys_getpid, Support::Full);
    t.add(SYS_getppid, sys_getppid, Support::Full);
    t.add(SYS_gettid, sys_gettid, Support::Full);
    t.add(SYS_set_tid_address, sys_set_tid_address, Support::Full);
    t.add(
        SYS_clone,
        sys_clone,
        Support::Partial("namespace flags fail with EPERM"),
    );
    t.add(
        SYS_clone3,
        sys_clone3,
        Support::Partial("namespace flags, cgroup and set_tid fail"),
    );
    t.add(SYS_fork, sys_fork, Support::Full);
    t.add(SYS_vfork, sys_vfork, Support::Full);
    t.add(SYS_execve, sys_execve, Support::Full);
    t.add(
        SYS_execveat,
        sys_execveat,
        Support::Partial("AT_EMPTY_PATH with a descriptor is not supported"),
    );
    t.add(SYS_wait4, sys_wait4, Support::Full);
    t.add(
        SYS_waitid,
        sys_waitid,
        Support::Partial("P_PIDFD is not supported"),
    );
    t.add(
        SYS_arch_prctl,
        sys_arch_prctl,
        Support::Partial("ARCH_SET/GET_FS/GS and CPUID queries only"),
    );
    t.add(SYS_uname, sys_uname, Support::Full);
    t.add(SYS_sethostname, sys_sethostname, Support::Full);
    t.add(SYS_setdomainname, sys_setdomainname, Support::Full);
    t.add(SYS_getuid, sys_getuid, Support::Full);
    t.add(SYS_geteuid, sys_geteuid, Support::Full);
    t.add(SYS_getgid, sys_getgid, Support::Full);
    t.add(SYS_getegid, sys_getegid, Support::Full);
    t.add(SYS_getresuid, sys_getresuid, Support::Full);
    t.add(SYS_getresgid, sys_getresgid, Support::Full);
    t.add(SYS_getgroups, sys_getgroups, Support::Full);
    t.add(SYS_setgroups, sys_setgroups, Support::Full);
    t.add(SYS_setuid, sys_setuid, Support::Full);
    t.add(SYS_setgid, sys_setgid, Support::Full);
    t.add(SYS_setreuid, sys_setreuid, Support::Full);
    t.add(SYS_setregid, sys_setregid, Support::Full);
    t.add(SYS_setresuid, sys_setresuid, Support::Full);
    t.add(SYS_setresgid, sys_setresgid, Support::Full);
    t.add(SYS_setfsuid, sys_setfsuid, Support::Full);
    t.add(SYS_setfsgid, sys_setfsgid, Support::Full);
    t.add(SYS_getpgid, sys_getpgid, Support::Full);
    t.add(SYS_getpgrp, sys_getpgrp, Support::Full);
    t.add(SYS_setpgid, sys_setpgid, Support::Full);
    t.add(SYS_getsid, sys_getsid, Support::Full);
    t.add(SYS_setsid, sys_setsid, Support::Full);
    t.add(SYS_getrlimit, sys_getrlimit, Support::Full);
    t.add(SYS_setrlimit, sys_setrlimit, Support::Full);
    t.add(SYS_prlimit64, sys_prlimit64, Support::Full);
    t.add(
        SYS_getrusage,
        sys_getrusage,
        Support::Partial("times are estimates"),
    );
    t.add(
        SYS_prctl,
        sys_prctl,
        Support::Partial(
            "names, dumpable, no_new_privs, subreaper, pdeathsig, keepcaps; others EINVAL",
        ),
    );
    t.add(SYS_set_robust_list, sys_set_robust_list, Support::Full);
    t.add(SYS_get_robust_list, sys_get_robust_list, Support::Full);
    t.add(SYS_getrandom, sys_getrandom, Support::Full);
    t.add(SYS_sysinfo, sys_sysinfo, Support::Full);
    t.add(SYS_sched_yield, sys_sched_yield, Support::Full);
    t.add(SYS_sched_getaffinity, sys_sched_getaffinity, Support::Full);
    t.add(
        SYS_sched_setaffinity,
        sys_sched_setaffinity,
        Support::Partial("recorded and reported, not used for scheduling"),
    );
    t.add(
        SYS_sched_rr_get_interval,
        sys_sched_rr_get_interval,
        Support::Full,
    );
    t.add(SYS_sched_getparam, sys_sched_getparam, Support::Full);
    t.add(
        SYS_sched_setparam,
        sys_sched_setparam,
        Support::Partial("recorded and reported; every task is scheduled alike"),
    );
    t.add(
        SYS_sched_getscheduler,
        sys_sched_getscheduler,
        Support::Full,
    );
    t.add(
        SYS_sched_setscheduler,
        sys_sched_setscheduler,
        Support::Partial("recorded and reported; every task is scheduled alike"),
    );
    t.add(
        SYS_sched_get_priority_max,
        sys_sched_get_priority_max,
        Support::Full,
    );
    t.add(
        SYS_sched_get_priority_min,
        sys_sched_get_priority_min,
        Support::Full,
    );
    t.add(SYS_getpriority, sys_getpriority, Support::Full);
    t.add(
        SYS_setpriority,
        sys_setpriority,
        Support::Partial("recorded and reported, not used for scheduling"),
    );
    t.add(SYS_getcpu, sys_getcpu, Support::Full);
    t.add(
        SYS_capget,
        sys_capget,
        Support::Partial("reports the credentials' capability sets"),
    );
    t.add(
        SYS_capset,
        sys_capset,
        Support::Partial("drops are accepted and not enforced"),
    );
}

fn sys_exit(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.exit_one(tid, a.i32(0) & 0xff);
    Err(SysErr::Gone)
}

fn sys_exit_group(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.kill_group_now(tid, ExitStatus::Exited(a.i32(0) & 0xff));
    Err(SysErr::Gone)
}

fn sys_getpid(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(k.tgid(tid) as u64)
}

fn sys_getppid(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(k.tg(tid).parent as u64)
}

fn sys_gettid(_: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(tid as u64)
}

fn sys_set_tid_address(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.task_mut(tid).clear_child_tid = a.ptr(0);
    Ok(tid as u64)
}

fn sys_clone(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    // x86-64 order: flags, stack, parent_tid, child_tid, tls. With
    // CLONE_PIDFD, parent_tid is where the pidfd goes.
    let flags = a.u64(0);
    if flags & (libc::CLONE_PIDFD | libc::CLONE_PARENT_SETTID) as u64
        == (libc::CLONE_PIDFD | libc::CLONE_PARENT_SETTID) as u64
    {
        return Err(Errno::EINVAL.into());
    }
    clone_pidfd(
        k,
        tid,
        a.ptr(2),
        CloneArgs {
            flags: flags & !0xff,
            stack: a.ptr(1),
            parent_tid: a.ptr(2),
            child_tid: a.ptr(3),
            tls: a.u64(4),
            exit_signal: (flags & 0xff) as i32,
        },
    )
}

fn sys_clone3(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let size = a.usize(1);
    if !(64..=4096).contains(&size) {
        return Err(Errno::EINVAL.into());
    }
    let raw: [u64; 8] = k.read_val(tid, a.ptr(0))?;
    // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls
    let flags = raw[0];
    if raw[4] > 64 {
        return Err(Errno::EINVAL.into());
    }
    if size > 64 {
        let extra = k.read_bytes(tid, a.ptr(0) + 64, size - 64)?;
        if extra.iter().any(|&b| b != 0) {
            // set_tid, cgroup: not supported.
            return Err(Errno::EINVAL.into());
        }
    }
    let stack = if raw[5] != 0 { raw[5] + raw[6] } else { 0 };
    clone_pidfd(
        k,
        tid,
        raw[1],
        CloneArgs {
            flags,
            stack,
            parent_tid: raw[3],
            child_tid: raw[2],
            tls: raw[7],
            exit_signal: raw[4] as i32,
        },
    )
}

/// `clone_task`, and with `CLONE_PIDFD` a pidfd of the child written (as
/// an int) at `pidfd_at`. The descriptor is made before the child, so that
/// a full table fails the clone, and dropped if the clone fails.
fn clone_pidfd(k: &mut Kernel, tid: Tid, pidfd_at: u64, a: CloneArgs) -> SysResult {
    let f = a.flags;
    if f & libc::CLONE_PIDFD as u64 == 0 {
        return k.clone_task(tid, a);
    }
    if f & (libc::CLONE_THREAD | libc::CLONE_DETACHED) as u64 != 0 {
        return Err(Errno::EINVAL.into());
    }
    // A vfork parent re-running the call after its child let it go: the
    // pidfd was made the first time.
    if !k.task(tid).syscall_scratch.is_empty() {
        return k.clone_task(tid, a);
    }
    let fd = super::pidfd::install(k, tid, 0, 0)?;
    let r = k.clone_task(tid, a);
    let child = match &r {
        Ok(c) => Some(*c as Tid),
        Err(SysErr::Block(_)) => k.task(tid).syscall_scratch.first().map(|&c| c as Tid),
        Err(_) => None,
    };
    match child {
        Some(c) => {
            if let Ok(file) = crate::vfs::file::get(k, tid, fd) {
                if let Some(of) = k.vfs.files.get_mut(&file) {
                    of.kind =
                        crate::vfs::file::FileKind::PidFd(crate::vfs::pidfd::PidFd { tgid: c });
                }
            }
            let _ = k.write_val(tid, pidfd_at, &fd);
        }
        None => {
            let _ = super::file::close_fd(k, tid, fd);
        }
    }
    r
}

fn sys_fork(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    k.clone_task(
        tid,
        CloneArgs {
            exit_signal: libc::SIGCHLD,
            ..Default::default()
        },
    )
}

fn sys_vfork(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    k.clone_task(
        tid,
        CloneArgs {
            flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64,
            exit_signal: libc::SIGCHLD,
            ..Default::default()
        },
    )
}

fn sys_execve(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let path = k.read_path(tid, a.ptr(0))?;
    let argv = k.read_str_array(tid, a.ptr(1))?;
    let envp = k.read_str_array(tid, a.ptr(2))?;
    let new = k.execve(tid, path, argv, envp)?;
    exec_done(k, tid, new)
}

/// Continues a task after a successful `execve`, under its new TID.
fn exec_done(k: &mut Kernel, tid: Tid, new: Tid) -> SysResult {
    if new == tid {
        return Err(SysErr::Resume);
    }
    k.return_to_user(new);
    Err(SysErr::Gone)
}

fn sys_execveat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let dirfd = a.fd(0);
    let path = k.read_cstr(tid, a.ptr(1), libc::PATH_MAX as usize - 1)?;
    let path = crate::vfs::ops::execveat_path(k, tid, dirfd, &path, a.i32(4))?;
    let argv = k.read_str_array(tid, a.ptr(2))?;
    let envp = k.read_str_array(tid, a.ptr(3))?;
    let new = k.execve(tid, path, argv, envp)?;
    exec_done(k, tid, new)
}

fn wait_target(pid: i32, k: &Kernel, tid: Tid) -> WaitTarget {
    match pid {
        -1 => WaitTarget::Any,
        0 => WaitTarget::Pgid(k.tg(tid).pgid),
        p if p < -1 => WaitTarget::Pgid(-p),
        p => WaitTarget::Pid(p),
    }
}

fn sys_wait4(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let options = a.i32(2);
    let known = libc::WNOHANG
        | libc::WUNTRACED
        | libc::WCONTINUED
        | libc::__WALL
        | libc::__WCLONE
        | libc::__WNOTHREAD;
    if options & !known != 0 {
        return Err(Errno::EINVAL.into());
    }
    let target = wait_target(a.i32(0), k, tid);
    match k.try_wait(tid, target, options | libc::WEXITED)? {
        Some(r) => {
            if a.ptr(1) != 0 {
                k.write_val(tid, a.ptr(1), &r.wstatus)?;
            }
            if a.ptr(3) != 0 {
                let ru: libc::rusage = zeroed();
                k.write_val(tid, a.ptr(3), &ru)?;
            }
            Ok(r.pid as u64)
        }
        None if options & libc::WNOHANG != 0 => Ok(0),
        None => Err(SysErr::Block(k.wait_block(tid))),
    }
}

fn sys_waitid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (idtype, id, infop, options) = (a.i32(0), a.i32(1), a.ptr(2), a.i32(3));
    let target = match idtype as u32 {
        libc::P_ALL => WaitTarget::Any,
        libc::P_PID => WaitTarget::Pid(id),
        libc::P_PGID => WaitTarget::Pgid(if id == 0 { k.tg(tid).pgid } else { id }),
        libc::P_PIDFD => WaitTarget::Pid(super::pidfd::target(k, tid, id)?),
        _ => return Err(Errno::EINVAL.into()),
    };
    if options & (libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED) == 0 {
        return Err(Errno::EINVAL.into());
    }
    match k.try_wait(tid, target, options)? {
        Some(r) => {
            if infop != 0 {
                let info = crate::kernel::signal::SigInfo::new(libc::SIGCHLD, r.code)
                    .with_sender(r.pid, r.uid)
                    .with_child(r.status, r.utime, r.stime);
                k.copy_out(tid, infop, &info.to_bytes())?;
            }
            Ok(0)
        }
        None if options & libc::WNOHANG != 0 => {
            if infop != 0 {
                k.copy_out(tid, infop, &[0u8; 128])?;
            }
            Ok(0)
        }
        None => Err(SysErr::Block(k.wait_block(tid))),
    }
}

fn sys_arch_prctl(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    const ARCH_SET_GS: i32 = 0x1001;
    const ARCH_SET_FS: i32 = 0x1002;
    const ARCH_GET_FS: i32 = 0x1003;
    const ARCH_GET_GS: i32 = 0x1004;
    const ARCH_GET_CPUID: i32 = 0x1011;
    const ARCH_SET_CPUID: i32 = 0x1012;
    let addr = a.u64(1);
    match a.i32(0) {
        ARCH_SET_FS | ARCH_SET_GS if addr >= crate::mm::TASK_SIZE => Err(Errno::EPERM.into()),
        ARCH_SET_FS => {
            k.task_mut(tid).regs.fs_base = addr;
            Ok(0)
        }
        ARCH_SET_GS => {
            k.task_mut(tid).regs.gs_base = addr;
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = k.task(tid).regs.fs_base;
            k.write_val(tid, addr, &v)?;
            Ok(0)
        }
        ARCH_GET_GS => {
            let v = k.task(tid).regs.gs_base;
            k.write_val(tid, addr, &v)?;
            Ok(0)
        }
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV.into()),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// Copies `s` into a fixed-size, NUL-padded field.
fn fill(field: &mut [libc::c_char], s: &str) {
    for (i, b) in s.bytes().take(field.len() - 1).enumerate() {
        field[i] = b as libc::c_char;
    }
}

fn sys_uname(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let mut u: libc::utsname = zeroed();
    fill(&mut u.sysname, "Linux");
    fill(&mut u.nodename, &k.hostname);
    fill(&mut u.release, "4.4.0");
    fill(&mut u.version, "#1 SMP Sun Jan 10 15:06:54 PST 2016");
    fill(&mut u.machine, "x86_64");
    fill(&mut u.domainname, &k.domainname);
    k.write_val(tid, a.ptr(0), &u)?;
    Ok(0)
}

fn read_name(k: &mut Kernel, tid: Tid, a: &Args) -> Result<String, SysErr> {
    let len = a.usize(1);
    if len > 64 {
        return Err(Errno::EINVAL.into());
    }
    if !k.task(tid).creds.capable(caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM.into());
    }
    let b = k.read_bytes(tid, a.ptr(0), len)?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}

fn sys_sethostname(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.hostname = read_name(k, tid, a)?;
    Ok(0)
}

fn sys_setdomainname(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.domainname = read_name(k, tid, a)?;
    Ok(0)
}

fn sys_getuid(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(k.task(tid).creds.uid as u64)
}
fn sys_geteuid(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(k.task(tid).creds.euid as u64)
}
fn sys_getgid(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(k.task(tid).creds.gid as u64)
}
fn sys_getegid(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(k.task(tid).creds.egid as u64)
}

fn sys_getresuid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let c = k.task(tid).creds.clone();
    k.write_val(tid, a.ptr(0), &c.uid)?;
    k.write_val(tid, a.ptr(1), &c.euid)?;
    k.write_val(tid, a.ptr(2), &c.suid)?;
    Ok(0)
}

fn sys_getresgid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let c = k.task(tid).creds.clone();
    k.write_val(tid, a.ptr(0), &c.gid)?;
    k.write_val(tid, a.ptr(1), &c.egid)?;
    k.write_val(tid, a.ptr(2), &c.sgid)?;
    Ok(0)
}

fn sys_getgroups(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let size = a.i32(0);
    let groups = k.task(tid).creds.groups.clone();
    if size < 0 {
        return Err(Errno::EINVAL.into());
    }
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL.into());
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    k.copy_out(tid, a.ptr(1), &bytes)?;
    Ok(groups.len() as u64)
}

fn sys_setgroups(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let n = a.usize(0);
    if n > 65536 {
        return Err(Errno::EINVAL.into());
    }
    if !k.task(tid).creds.capable(caps::CAP_SETGID) {
        return Err(Errno::EPERM.into());
    }
    let b = k.read_bytes(tid, a.ptr(1), n * 4)?;
    let groups = b
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    k.task_mut(tid).creds.groups = groups;
    Ok(0)
}

/// Applies set*id rules: root may set anything; others only to one of
/// their current real, effective or saved IDs.
fn setids(k: &mut Kernel, tid: Tid, user: bool, r: i32, e: i32, s: i32) -> SysResult {
    let c = &k.task(tid).creds;
    let root = c.capable(if user {
        caps::CAP_SETUID
    } else {
        caps::CAP_SETGID
    });
    let (cr, ce, cs) = if user {
        (c.uid, c.euid, c.suid)
    } else {
        (c.gid, c.egid, c.sgid)
    };
    let ok = |v: i32| v == -1 || root || [cr, ce, cs].contains(&(v as u32));
    if !ok(r) || !ok(e) || !ok(s) {
        return Err(Errno::EPERM.into());
    }
    let c = &mut k.task_mut(tid).creds;
    if user {
        let old = (c.uid, c.euid, c.suid, c.fsuid);
        if r != -1 {
            c.uid = r as u32;
        }
        if e != -1 {
            c.euid = e as u32;
        }
        if s != -1 {
            c.suid = s as u32;
        }
        c.fsuid = c.euid;
        let new = (c.uid, c.euid, c.suid, c.fsuid);
        c.caps.after_setuid(old, new);
    } else {
        if r != -1 {
            c.gid = r as u32;
        }
        if e != -1 {
            c.egid = e as u32;
        }
        if s != -1 {
            c.sgid = s as u32;
        }
        c.fsgid = c.egid;
    }
    Ok(0)
}

fn sys_setuid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let u = a.i32(0);
    if k.task(tid).creds.capable(caps::CAP_SETUID) {
        setids(k, tid, true, u, u, u)
    } else {
        setids(k, tid, true, -1, u, -1)
    }
}
fn sys_setgid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let g = a.i32(0);
    if k.task(tid).creds.capable(caps::CAP_SETGID) {
        setids(k, tid, false, g, g, g)
    } else {
        setids(k, tid, false, -1, g, -1)
    }
}
fn sys_setreuid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    setids(k, tid, true, a.i32(0), a.i32(1), -1)
}
fn sys_setregid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    setids(k, tid, false, a.i32(0), a.i32(1), -1)
}
fn sys_setresuid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    setids(k, tid, true, a.i32(0), a.i32(1), a.i32(2))
}
fn sys_setresgid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    setids(k, tid, false, a.i32(0), a.i32(1), a.i32(2))
}
fn sys_setfsuid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let c = &k.task(tid).creds;
    let old = c.fsuid;
    let new = a.u32(0);
    if c.capable(caps::CAP_SETUID) || [c.uid, c.euid, c.suid, c.fsuid].contains(&new) {
        let c = &mut k.task_mut(tid).creds;
        c.fsuid = new;
        c.caps
            .after_setuid((c.uid, c.euid, c.suid, old), (c.uid, c.euid, c.suid, new));
    }
    Ok(old as u64)
}
fn sys_setfsgid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let c = &k.task(tid).creds;
    let old = c.fsgid;
    let new = a.u32(0);
    if c.capable(caps::CAP_SETGID) || [c.gid, c.egid, c.sgid, c.fsgid].contains(&new) {
        k.task_mut(tid).creds.fsgid = new;
    }
    Ok(old as u64)
}

/// The thread group of process `pid` (0: the caller's).
fn target_tg(k: &Kernel, tid: Tid, pid: i32) -> Result<Tid, Errno> {
    // A negative PID names no process (Linux looks it up and fails).
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    let pid = if pid == 0 { k.tgid(tid) } else { pid };
    match k.thread_groups.get(&pid) {
        Some(g) if g.zombie.is_none() || pid == k.tgid(tid) => Ok(pid),
        Some(_) => Ok(pid),
        None => Err(Errno::ESRCH),
    }
}

fn sys_getpgid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let g = target_tg(k, tid, a.i32(0))?;
    Ok(k.thread_groups[&g].pgid as u64)
}

fn sys_getpgrp(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    Ok(k.tg(tid).pgid as u64)
}

fn sys_setpgid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let me = k.tgid(tid);
    let target = target_tg(k, tid, a.i32(0))?;
    let pgid = a.i32(1);
    if pgid < 0 {
        return Err(Errno::EINVAL.into());
    }
    let pgid = if pgid == 0 { target } else { pgid };
    let t = &k.thread_groups[&target];
    if target != me && t.parent != me {
        return Err(Errno::ESRCH.into());
    }
    if t.sid == target {
        return Err(Errno::EPERM.into());
    }
    if t.sid != k.tg(tid).sid {
        return Err(Errno::EPERM.into());
    }
    if pgid != target {
        let sid = t.sid;
        if !k
            .thread_groups
            .values()
            .any(|g| g.pgid == pgid && g.sid == sid)
        {
            return Err(Errno::EPERM.into());
        }
    }
    k.thread_groups.get_mut(&target).expect("live").pgid = pgid;
    Ok(0)
}

fn sys_getsid(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let g = target_tg(k, tid, a.i32(0))?;
    Ok(k.thread_groups[&g].sid as u64)
}

fn sys_setsid(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    let me = k.tgid(tid);
    if k.thread_groups.values().any(|g| g.pgid == me) {
        return Err(Errno::EPERM.into());
    }
    let tg = k.tg_mut(tid);
    tg.sid = me;
    tg.pgid = me;
    k.vfs_session_created(me);
    Ok(me as u64)
}

fn rlimit_out(k: &mut Kernel, tid: Tid, addr: u64, v: (u64, u64)) -> Result<(), Errno> {
    k.write_val(
        tid,
        addr,
        &libc::rlimit {
            rlim_cur: v.0,
            rlim_max: v.1,
        },
    )
}

fn set_rlimit(
    k: &mut Kernel,
    tid: Tid,
    target: Tid,
    res: usize,
    new: libc::rlimit,
) -> Result<(), Errno> {
    if new.rlim_cur > new.rlim_max {
        return Err(Errno::EINVAL);
    }
    let old = k.thread_groups[&target].rlimits[res];
    if new.rlim_max > old.1 && !k.task(tid).creds.capable(caps::CAP_SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    if res == libc::RLIMIT_NOFILE as usize && new.rlim_max > 1 << 20 {
        return Err(Errno::EPERM);
    }
    k.thread_groups.get_mut(&target).expect("live").rlimits[res] = (new.rlim_cur, new.rlim_max);
    Ok(())
}

fn sys_getrlimit(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let res = a.usize(0);
    if res >= RLIM_NLIMITS {
        return Err(Errno::EINVAL.into());
    }
    let v = k.rlimit(tid, res);
    rlimit_out(k, tid, a.ptr(1), v)?;
    Ok(0)
}

fn sys_setrlimit(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let res = a.usize(0);
    if res >= RLIM_NLIMITS {
        return Err(Errno::EINVAL.into());
    }
    let new: libc::rlimit = k.read_val(tid, a.ptr(1))?;
    let me = k.tgid(tid);
    set_rlimit(k, tid, me, res, new)?;
    Ok(0)
}

fn sys_prlimit64(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let target = target_tg(k, tid, a.i32(0))?;
    let res = a.usize(1);
    if res >= RLIM_NLIMITS {
        return Err(Errno::EINVAL.into());
    }
    let old = k.thread_groups[&target].rlimits[res];
    if a.ptr(2) != 0 {
        let new: libc::rlimit = k.read_val(tid, a.ptr(2))?;
        set_rlimit(k, tid, target, res, new)?;
    }
    if a.ptr(3) != 0 {
        rlimit_out(k, tid, a.ptr(3), old)?;
    }
    Ok(0)
}

fn sys_getrusage(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let who = a.i32(0);
    if ![
        libc::RUSAGE_SELF,
        libc::RUSAGE_CHILDREN,
        libc::RUSAGE_THREAD,
    ]
    .contains(&who)
    {
        return Err(Errno::EINVAL.into());
    }
    let mut ru: libc::rusage = zeroed();
    let t = k.task(tid);
    let (u, s) = if who == libc::RUSAGE_CHILDREN {
        k.tg(tid).children_times
    } else {
        (t.utime, t.stime)
    };
    ru.ru_utime = libc::timeval {
        tv_sec: (u / 1_000_000_000) as i64,
        tv_usec: ((u % 1_000_000_000) / 1000) as i64,
    };
    ru.ru_stime = libc::timeval {
        tv_sec: (s / 1_000_000_000) as i64,
        tv_usec: ((s % 1_000_000_000) / 1000) as i64,
    };
    let mm = t.mm;
    ru.ru_maxrss = k.mms.get(&mm).map_or(0, |m| m.resident() / 1024) as i64;
    k.write_val(tid, a.ptr(1), &ru)?;
    Ok(0)
}

fn sys_prctl(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    match a.i32(0) {
        libc::PR_SET_NAME => {
            let b = k.read_bytes(tid, a.ptr(1), 16)?;
            let end = b.iter().position(|&c| c == 0).unwrap_or(15).min(15);
            k.task_mut(tid).name = String::from_utf8_lossy(&b[..end]).into_owned();
            Ok(0)
        }
        libc::PR_GET_NAME => {
            let mut b = [0u8; 16];
            let n = k.task(tid).name.as_bytes();
            b[..n.len().min(15)].copy_from_slice(&n[..n.len().min(15)]);
            k.copy_out(tid, a.ptr(1), &b)?;
            Ok(0)
        }
        libc::PR_SET_DUMPABLE => {
            if a.u64(1) > 1 {
                return Err(Errno::EINVAL.into());
            }
            k.tg_mut(tid).dumpable = a.u64(1) == 1;
            Ok(0)
        }
        libc::PR_GET_DUMPABLE => Ok(k.tg(tid).dumpable as u64),
        libc::PR_SET_NO_NEW_PRIVS => {
            if a.u64(1) != 1 {
                return Err(Errno::EINVAL.into());
            }
            k.tg_mut(tid).no_new_privs = true;
            Ok(0)
        }
        libc::PR_GET_NO_NEW_PRIVS => Ok(k.tg(tid).no_new_privs as u64),
        libc::PR_SET_CHILD_SUBREAPER => {
            k.tg_mut(tid).subreaper = a.u64(1) != 0;
            Ok(0)
        }
        libc::PR_GET_CHILD_SUBREAPER => {
            let v = k.tg(tid).subreaper as i32;
            k.write_val(tid, a.ptr(1), &v)?;
            Ok(0)
        }
        libc::PR_SET_PDEATHSIG => {
            if a.u64(1) > 64 {
                return Err(Errno::EINVAL.into());
            }
            Ok(0)
        }
        libc::PR_GET_PDEATHSIG => {
            k.write_val(tid, a.ptr(1), &0i32)?;
            Ok(0)
        }
        libc::PR_SET_KEEPCAPS | libc::PR_GET_KEEPCAPS => Ok(0),
        libc::PR_CAPBSET_READ => {
            let cap = a.u64(1);
            if cap > caps::CAP_LAST_CAP as u64 {
                return Err(Errno::EINVAL.into());
            }
            Ok((k.task(tid).creds.caps.bounding >> cap) & 1)
        }
        libc::PR_CAPBSET_DROP => {
            let cap = a.u64(1);
            if cap > caps::CAP_LAST_CAP as u64 {
                return Err(Errno::EINVAL.into());
            }
            if !k.task(tid).creds.capable(caps::CAP_SETPCAP) {
                return Err(Errno::EPERM.into());
            }
            k.task_mut(tid).creds.caps.bounding &= !(1 << cap);
            Ok(0)
        }
        libc::PR_CAP_AMBIENT => {
            let c = &k.task(tid).creds.caps;
            let (op, cap) = (a.u64(1), a.u64(2));
            if op == libc::PR_CAP_AMBIENT_CLEAR_ALL as u64 {
                k.task_mut(tid).creds.caps.ambient = 0;
                return Ok(0);
            }
            if cap > caps::CAP_LAST_CAP as u64 {
                return Err(Errno::EINVAL.into());
            }
            let bit = 1u64 << cap;
            match op as i32 {
                libc::PR_CAP_AMBIENT_IS_SET => Ok(u64::from(c.ambient & bit != 0)),
                libc::PR_CAP_AMBIENT_RAISE => {
                    if c.permitted & bit == 0 || c.inheritable & bit == 0 {
                        return Err(Errno::EPERM.into());
                    }
                    k.task_mut(tid).creds.caps.ambient |= bit;
                    Ok(0)
                }
                libc::PR_CAP_AMBIENT_LOWER => {
                    k.task_mut(tid).creds.caps.ambient &= !bit;
                    Ok(0)
                }
                _ => Err(Errno::EINVAL.into()),
            }
        }
        libc::PR_GET_SECCOMP => Ok(0),
        libc::PR_SET_MM | libc::PR_SET_SECCOMP => Err(Errno::EINVAL.into()),
        _ => Err(Errno::EINVAL.into()),
    }
}

fn sys_set_robust_list(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.u64(1) != 24 {
        return Err(Errno::EINVAL.into());
    }
    k.task_mut(tid).robust_list = (a.ptr(0), a.u64(1));
    Ok(0)
}

fn sys_get_robust_list(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let target = if a.i32(0) == 0 { tid } else { a.i32(0) };
    let (head, len) = k.tasks.get(&target).ok_or(Errno::ESRCH)?.robust_list;
    k.write_val(tid, a.ptr(1), &head)?;
    k.write_val(tid, a.ptr(2), &len)?;
    Ok(0)
}

fn sys_getrandom(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.u32(2);
    if flags & !(libc::GRND_NONBLOCK | libc::GRND_RANDOM | 4) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let len = a.usize(1).min(1 << 25);
    let mut buf = vec![0u8; len];
    let mut got = 0;
    while got < len {
        // SAFETY: getrandom into a live buffer.
        let n =
            unsafe { libc::getrandom(buf[got..].as_mut_ptr() as *mut libc::c_void, len - got, 0) };
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    k.copy_out(tid, a.ptr(0), &buf[..got])?;
    Ok(got as u64)
}

fn sys_sysinfo(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    // SAFETY: sysinfo into a local struct.
    let mut host: libc::sysinfo = zeroed();
    unsafe { libc::sysinfo(&mut host) };
    let mut si: libc::sysinfo = zeroed();
    si.uptime = (k.clock.uptime() / 1_000_000_000) as i64;
    si.totalram = host.totalram;
    si.freeram = host.freeram;
    si.mem_unit = host.mem_unit;
    si.procs = k.tasks.len() as u16;
    si.loads = host.loads;
    k.write_val(tid, a.ptr(0), &si)?;
    Ok(0)
}

fn sys_sched_yield(_: &mut Kernel, _: Tid, _: &Args) -> SysResult {
    Ok(0)
}

/// Number of CPUs the sandbox reports (the host's).
fn ncpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The thread a scheduling call names: 0 is the caller; negative is
/// EINVAL, unknown ESRCH.
fn sched_target(k: &Kernel, tid: Tid, pid: i32) -> Result<Tid, Errno> {
    match pid {
        0 => Ok(tid),
        p if p < 0 => Err(Errno::EINVAL),
        p if k.tasks.contains_key(&p) => Ok(p),
        _ => Err(Errno::ESRCH),
    }
}

/// The CPUs thread `t` may run on, as a mask of `ncpus()` bits in bytes:
/// every CPU unless sched_setaffinity narrowed it.
fn affinity(k: &Kernel, t: Tid) -> Vec<u8> {
    let n = ncpus();
    let mut all = vec![0u8; n.div_ceil(64) * 8];
    for c in 0..n {
        all[c / 8] |= 1 << (c % 8);
    }
    match &k.tasks[&t].affinity {
        Some(m) => all
            .iter()
            .zip(m.iter().chain(std::iter::repeat(&0)))
            .map(|(a, b)| a & b)
            .collect(),
        None => all,
    }
}

fn sys_sched_getaffinity(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let t = sched_target(k, tid, a.i32(0)).map_err(|e| {
        if e == Errno::EINVAL {
            Errno::ESRCH
        } else {
            e
        }
    })?;
    let size = a.usize(1);
    let mask = affinity(k, t);
    if size < mask.len() || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL.into());
    }
    k.copy_out(tid, a.ptr(2), &mask)?;
    Ok(mask.len() as u64)
}

/// Records the thread's CPU mask (the CPUs it names that exist; none is
/// EINVAL), as `sched_getaffinity` reports it. The
/// sentry runs its tasks on whatever CPUs the sandbox has.
fn sys_sched_setaffinity(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let t = sched_target(k, tid, a.i32(0)).map_err(|e| {
        if e == Errno::EINVAL {
            Errno::ESRCH
        } else {
            e
        }
    })?;
    let n = ncpus().div_ceil(64) * 8;
    let mut want = k.read_bytes(tid, a.ptr(2), a.usize(1).min(n))?;
    want.resize(n, 0);
    let c = &k.tasks[&tid].creds;
    let o = &k.tasks[&t].creds;
    if c.euid != o.uid && c.euid != o.euid && !c.capable(caps::CAP_SYS_NICE) {
        return Err(Errno::EPERM.into());
    }
    k.task_mut(t).affinity = Some(want);
    if affinity(k, t).iter().all(|&b| b == 0) {
        k.task_mut(t).affinity = None;
        return Err(Errno::EINVAL.into());
    }
    Ok(0)
}

/// `sched_rr_get_interval`: Linux's round-robin slice (100 ms) for
/// SCHED_RR, 0 for SCHED_FIFO; every task here is SCHED_OTHER, whose slice
/// on an otherwise idle CPU is the scheduler's base slice (3 ms).
fn sys_sched_rr_get_interval(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    sched_target(k, tid, a.i32(0))?;
    k.write_val(tid, a.ptr(1), &crate::kernel::time::to_timespec(3_000_000))?;
    Ok(0)
}

fn sys_sched_getparam(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.ptr(1) == 0 || a.i32(0) < 0 {
        return Err(Errno::EINVAL.into());
    }
    let target = sched_target(k, tid, a.i32(0))?;
    let priority = k.tasks[&target].sched.priority;
    k.write_val(tid, a.ptr(1), &priority)?;
    Ok(0)
}

fn sys_sched_setparam(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.ptr(1) == 0 || a.i32(0) < 0 {
        return Err(Errno::EINVAL.into());
    }
    let priority: i32 = k.read_val(tid, a.ptr(1))?;
    let target = sched_target(k, tid, a.i32(0))?;
    let mut sched = k.tasks[&target].sched;
    sched.priority = priority;
    set_sched(k, tid, target, sched)
}

fn sys_sched_getscheduler(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.i32(0) < 0 {
        return Err(Errno::EINVAL.into());
    }
    let target = sched_target(k, tid, a.i32(0))?;
    let s = k.tasks[&target].sched;
    let flag = if s.reset_on_fork {
        libc::SCHED_RESET_ON_FORK
    } else {
        0
    };
    Ok((s.policy | flag) as u64)
}

fn sys_sched_setscheduler(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (pid, policy) = (a.i32(0), a.i32(1));
    if a.ptr(2) == 0 || pid < 0 || policy < 0 {
        return Err(Errno::EINVAL.into());
    }
    let priority: i32 = k.read_val(tid, a.ptr(2))?;
    let target = sched_target(k, tid, pid)?;
    let sched = SchedPolicy {
        policy: policy & !libc::SCHED_RESET_ON_FORK,
        priority,
        reset_on_fork: policy & libc::SCHED_RESET_ON_FORK != 0,
    };
    set_sched(k, tid, target, sched)
}

/// Gives thread `target` the policy `new`, checked as Linux does for the
/// caller `tid`: a valid policy and priority, then, without
/// `CAP_SYS_NICE`, the same user, `RLIMIT_RTPRIO` for a real-time policy,
/// the nice limit to leave `SCHED_IDLE`, and `SCHED_RESET_ON_FORK` kept.
/// The sentry records the policy; it runs every task alike.
fn set_sched(k: &mut Kernel, tid: Tid, target: Tid, new: SchedPolicy) -> SysResult {
    let valid = match new.policy {
        libc::SCHED_OTHER | libc::SCHED_BATCH | libc::SCHED_IDLE => new.priority == 0,
        libc::SCHED_FIFO | libc::SCHED_RR => (1..=99).contains(&new.priority),
        _ => false,
    };
    if !valid {
        return Err(Errno::EINVAL.into());
    }
    let me = &k.tasks[&tid].creds;
    if !me.capable(crate::kernel::caps::CAP_SYS_NICE) {
        let t = &k.tasks[&target];
        if me.euid != t.creds.uid && me.euid != t.creds.euid {
            return Err(Errno::EPERM.into());
        }
        let old = t.sched;
        if new.real_time() {
            let rtprio = k.tg(target).rlimits[libc::RLIMIT_RTPRIO as usize].0;
            // The priority is 1..=99 here.
            let raising = new.priority > old.priority && new.priority as u64 > rtprio;
            if (new.policy != old.policy && rtprio == 0) || raising {
                return Err(Errno::EPERM.into());
            }
        }
        // Leaving SCHED_IDLE needs the right to the thread's nice value:
        // without CAP_SYS_NICE, RLIMIT_NICE (20 - nice) at least.
        if old.policy == libc::SCHED_IDLE && new.policy != libc::SCHED_IDLE {
            let limit = k.tg(target).rlimits[libc::RLIMIT_NICE as usize].0;
            if u64::try_from(20 - t.nice).unwrap_or(0) > limit {
                return Err(Errno::EPERM.into());
            }
        }
        if old.reset_on_fork && !new.reset_on_fork {
            return Err(Errno::EPERM.into());
        }
    }
    k.task_mut(target).sched = new;
    Ok(0)
}

fn sys_sched_get_priority_max(_: &mut Kernel, _: Tid, a: &Args) -> SysResult {
    match a.i32(0) {
        libc::SCHED_FIFO | libc::SCHED_RR => Ok(99),
        libc::SCHED_OTHER | libc::SCHED_BATCH | libc::SCHED_IDLE => Ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

fn sys_sched_get_priority_min(_: &mut Kernel, _: Tid, a: &Args) -> SysResult {
    match a.i32(0) {
        libc::SCHED_FIFO | libc::SCHED_RR => Ok(1),
        libc::SCHED_OTHER | libc::SCHED_BATCH | libc::SCHED_IDLE => Ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// The threads `which` (`PRIO_PROCESS`: a thread; `PRIO_PGRP`: a process
/// group's threads; `PRIO_USER`: the threads of a real user ID) and `who`
/// (0: the caller's) name, for getpriority and setpriority.
fn prio_targets(k: &Kernel, tid: Tid, which: i32, who: i32) -> Result<Vec<Tid>, Errno> {
    let me = &k.tasks[&tid];
    let out: Vec<Tid> = match which as u32 {
        libc::PRIO_PROCESS => {
            let t = if who == 0 { tid } else { who };
            k.tasks.get(&t).map(|_| t).into_iter().collect()
        }
        libc::PRIO_PGRP => {
            let pgid = if who == 0 { k.tg(tid).pgid } else { who };
            k.tasks
                .iter()
                .filter(|(_, t)| k.thread_groups.get(&t.tgid).is_some_and(|g| g.pgid == pgid))
                .map(|(&t, _)| t)
                .collect()
        }
        libc::PRIO_USER => {
            let uid = if who == 0 { me.creds.uid } else { who as u32 };
            k.tasks
                .iter()
                .filter(|(_, t)| t.creds.uid == uid)
                .map(|(&t, _)| t)
                .collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    let live: Vec<Tid> = out
        .into_iter()
        .filter(|t| !matches!(k.tasks[t].state, crate::kernel::TaskState::Dead))
        .collect();
    if live.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(live)
}

fn sys_getpriority(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let targets = prio_targets(k, tid, a.i32(0), a.i32(1))?;
    let nice = targets.iter().map(|t| k.tasks[t].nice).min().unwrap_or(0);
    // The system call returns 20 - nice (1..=40), never negative.
    Ok((20 - nice) as u64)
}

fn sys_setpriority(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let targets = prio_targets(k, tid, a.i32(0), a.i32(1))?;
    let nice = a.i32(2).clamp(-20, 19);
    let me = k.tasks[&tid].creds.clone();
    let privileged = me.capable(crate::kernel::caps::CAP_SYS_NICE);
    for t in &targets {
        let c = &k.tasks[t].creds;
        if !privileged && me.euid != c.uid && me.euid != c.euid {
            return Err(Errno::EPERM.into());
        }
        // A lower nice value (a higher priority) needs CAP_SYS_NICE
        // (RLIMIT_NICE is not consulted).
        if nice < k.tasks[t].nice && !privileged {
            return Err(Errno::EACCES.into());
        }
    }
    for t in targets {
        k.task_mut(t).nice = nice;
    }
    Ok(0)
}

fn sys_getcpu(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.ptr(0) != 0 {
        k.write_val(tid, a.ptr(0), &0u32)?;
    }
    if a.ptr(1) != 0 {
        k.write_val(tid, a.ptr(1), &0u32)?;
    }
    Ok(0)
}

#[derive(Clone, Copy)]
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}
// SAFETY: two integers.
unsafe impl Pod for CapHeader {}

fn sys_capget(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let mut h: CapHeader = k.read_val(tid, a.ptr(0))?;
    const V3: u32 = 0x2008_0522;
    if h.version != V3 && h.version != 0x2007_1026 && h.version != 0x1998_0330 {
        h.version = V3;
        k.write_val(tid, a.ptr(0), &h)?;
        return Err(Errno::EINVAL.into());
    }
    let target = match h.pid {
        0 => tid,
        p if k.tasks.contains_key(&(p as Tid)) => p as Tid,
        p if p > 0 => return Err(Errno::ESRCH.into()),
        _ => return Err(Errno::EINVAL.into()),
    };
    if a.ptr(1) != 0 {
        let c = k.task(target).creds.caps;
        let lo = |s: u64| s as u32;
        let hi = |s: u64| (s >> 32) as u32;
        // struct __user_cap_data_struct[2]: effective, permitted,
        // inheritable of the low words, then of the high words.
        let data: [u32; 6] = [
            lo(c.effective),
            lo(c.permitted),
            lo(c.inheritable),
            hi(c.effective),
            hi(c.permitted),
            hi(c.inheritable),
        ];
        let words = if h.version == 0x1998_0330 { 3 } else { 6 };
        let bytes: Vec<u8> = data[..words].iter().flat_map(|w| w.to_ne_bytes()).collect();
        k.copy_out(tid, a.ptr(1), &bytes)?;
    }
    Ok(0)
}

fn sys_capset(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let h: CapHeader = k.read_val(tid, a.ptr(0))?;
    if h.version != 0x2008_0522 && h.version != 0x2007_1026 {
        return Err(Errno::EINVAL.into());
    }
    if h.pid != 0 && h.pid as Tid != k.tgid(tid) && h.pid as Tid != tid {
        return Err(Errno::EPERM.into());
    }
    let d: [u32; 6] = k.read_val(tid, a.ptr(1))?;
    let join = |lo: u32, hi: u32| lo as u64 | (hi as u64) << 32;
    let (e, p, i) = (join(d[0], d[3]), join(d[1], d[4]), join(d[2], d[5]));
    if !k.task_mut(tid).creds.caps.set(e, p, i) {
        return Err(Errno::EPERM.into());
    }
    Ok(0)
}

impl Kernel {
    /// Hook for the terminal layer when a process starts a new session.
    pub fn vfs_session_created(&mut self, _sid: Tid) {}
}
