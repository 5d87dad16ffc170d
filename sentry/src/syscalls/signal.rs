//! Signal system calls.

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::signal::*;
use crate::kernel::time::from_timespec;
use crate::kernel::wait::{Block, Restart};
use crate::kernel::{Kernel, TaskState, Tid};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_rt_sigaction, sys_rt_sigaction, Support::Full);
    t.add(SYS_rt_sigprocmask, sys_rt_sigprocmask, Support::Full);
    t.add(SYS_rt_sigreturn, sys_rt_sigreturn, Support::Full);
    t.add(SYS_rt_sigpending, sys_rt_sigpending, Support::Full);
    t.add(SYS_rt_sigsuspend, sys_rt_sigsuspend, Support::Full);
    t.add(SYS_rt_sigtimedwait, sys_rt_sigtimedwait, Support::Full);
    t.add(SYS_rt_sigqueueinfo, sys_rt_sigqueueinfo, Support::Full);
    t.add(SYS_rt_tgsigqueueinfo, sys_rt_tgsigqueueinfo, Support::Full);
    t.add(SYS_sigaltstack, sys_sigaltstack, Support::Full);
    t.add(SYS_kill, sys_kill, Support::Full);
    t.add(SYS_tkill, sys_tkill, Support::Full);
    t.add(SYS_tgkill, sys_tgkill, Support::Full);
    t.add(SYS_pause, sys_pause, Support::Full);
    t.add(SYS_alarm, sys_alarm, Support::Full);
    t.add(SYS_setitimer, sys_setitimer, Support::Full);
    t.add(SYS_getitimer, sys_getitimer, Support::Full);
}

/// `SS_AUTODISARM` (Linux 4.7).
const SS_AUTODISARM: i32 = 1 << 31;

fn valid_sig(sig: i32) -> Result<(), Errno> {
    if (1..=NSIG).contains(&sig) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

fn sys_rt_sigaction(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let sig = a.i32(0);
    valid_sig(sig)?;
    if a.usize(3) != 8 {
        return Err(Errno::EINVAL.into());
    }
    let sh = k.task(tid).sighand;
    let old = k.sighands[&sh].get(sig);
    if a.ptr(1) != 0 {
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL.into());
        }
        let mut new: SigAction = k.read_val(tid, a.ptr(1))?;
        new.mask = SigSet(new.mask).blockable().0;
        k.sighands.get_mut(&sh).expect("live").actions[(sig - 1) as usize] = new;
        // Setting SIG_IGN (or SIG_DFL for an ignore-by-default signal)
        // discards what is pending.
        if new.handler == SIG_IGN
            || (new.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
        {
            let tgid = k.tgid(tid);
            let threads = k.thread_groups[&tgid].threads.clone();
            k.thread_groups
                .get_mut(&tgid)
                .expect("live")
                .pending
                .discard(sig);
            for t in threads {
                k.task_mut(t).pending.discard(sig);
            }
        }
    }
    if a.ptr(2) != 0 {
        k.write_val(tid, a.ptr(2), &old)?;
    }
    Ok(0)
}

fn sys_rt_sigprocmask(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.usize(3) != 8 {
        return Err(Errno::EINVAL.into());
    }
    let old = k.task(tid).sigmask;
    if a.ptr(1) != 0 {
        let set: u64 = k.read_val(tid, a.ptr(1))?;
        let new = match a.i32(0) {
            libc::SIG_BLOCK => old.0 | set,
            libc::SIG_UNBLOCK => old.0 & !set,
            libc::SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL.into()),
        };
        k.task_mut(tid).sigmask = SigSet(new).blockable();
    }
    if a.ptr(2) != 0 {
        k.write_val(tid, a.ptr(2), &old.0)?;
    }
    Ok(0)
}

fn sys_rt_sigreturn(k: &mut Kernel, tid: Tid, _: &Args) -> SysResult {
    if k.sigreturn(tid).is_err() {
        k.force_signal(tid, SigInfo::new(SIGSEGV, SI_KERNEL));
    }
    Err(SysErr::Resume)
}

fn sys_rt_sigpending(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.usize(1) > 8 {
        return Err(Errno::EINVAL.into());
    }
    let t = k.task(tid);
    let set = (t.pending.set.0 | k.tg(tid).pending.set.0) & t.sigmask.0;
    k.write_val(tid, a.ptr(0), &set)?;
    Ok(0)
}

fn sys_rt_sigsuspend(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.usize(1) != 8 {
        return Err(Errno::EINVAL.into());
    }
    if k.task(tid).saved_mask.is_none() {
        let m: u64 = k.read_val(tid, a.ptr(0))?;
        let t = k.task_mut(tid);
        t.saved_mask = Some(t.sigmask);
        t.sigmask = SigSet(m).blockable();
    }
    // Woken only by a signal; returns EINTR after the handler runs.
    Err(SysErr::Block(
        Block::on(vec![]).with_restart(Restart::Never),
    ))
}

fn sys_pause(_: &mut Kernel, _: Tid, _: &Args) -> SysResult {
    Err(SysErr::Block(
        Block::on(vec![]).with_restart(Restart::Never),
    ))
}

fn sys_rt_sigtimedwait(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.usize(3) != 8 {
        return Err(Errno::EINVAL.into());
    }
    let set = SigSet(k.read_val::<u64>(tid, a.ptr(0))?).blockable();
    let deadline = if a.ptr(2) != 0 {
        let ts: libc::timespec = k.read_val(tid, a.ptr(2))?;
        let ns = from_timespec(&ts).ok_or(Errno::EINVAL)?;
        Some(k.syscall_deadline(tid, ns))
    } else {
        None
    };
    // Take a pending signal of the set, from the thread or the process.
    let found = (1..=NSIG)
        .find(|&s| set.has(s) && (k.task(tid).pending.set.has(s) || k.tg(tid).pending.set.has(s)));
    if let Some(sig) = found {
        let info = match k.task_mut(tid).pending.take(sig) {
            Some(i) => i,
            None => k.tg_mut(tid).pending.take(sig).expect("pending"),
        };
        if a.ptr(1) != 0 {
            k.copy_out(tid, a.ptr(1), &info.to_bytes())?;
        }
        // Restore the mask that was widened for waiting.
        if let Some(m) = k.task_mut(tid).saved_mask.take() {
            k.task_mut(tid).sigmask = m;
        }
        return Ok(sig as u64);
    }
    if deadline.is_some() && k.deadline_passed(tid) {
        if let Some(m) = k.task_mut(tid).saved_mask.take() {
            k.task_mut(tid).sigmask = m;
        }
        return Err(Errno::EAGAIN.into());
    }
    // Another signal, with a handler, cuts the wait short.
    if let Some(m) = k.task(tid).saved_mask {
        let t = k.task(tid);
        let pending = t.pending.set.0 | k.tg(tid).pending.set.0;
        if pending & !m.blockable().0 & !set.0 != 0 {
            k.task_mut(tid).sigmask = m;
            k.task_mut(tid).saved_mask = None;
            return Err(Errno::EINTR.into());
        }
    }
    // While waiting, the signals of the set are unblocked so that their
    // arrival wakes us; they are taken here, not delivered.
    let t = k.task_mut(tid);
    if t.saved_mask.is_none() {
        t.saved_mask = Some(t.sigmask);
    }
    let base = t.saved_mask.expect("set");
    t.sigmask = SigSet(base.0 & !set.0);
    Err(SysErr::Block(
        Block::on(vec![])
            .with_deadline(deadline)
            .with_restart(Restart::Rerun),
    ))
}

/// Permission to signal: same user, or root.
pub(super) fn may_signal(k: &Kernel, from: Tid, to_tgid: Tid) -> bool {
    let c = &k.task(from).creds;
    if c.capable(crate::kernel::caps::CAP_KILL) {
        return true;
    }
    let Some(tg) = k.thread_groups.get(&to_tgid) else {
        return false;
    };
    let Some(t) = tg.threads.first().and_then(|t| k.tasks.get(t)) else {
        return true;
    };
    c.uid == t.creds.uid || c.euid == t.creds.uid || c.uid == t.creds.suid || c.euid == t.creds.suid
}

fn sys_kill(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (pid, sig) = (a.i32(0), a.i32(1));
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL.into());
    }
    let me = k.tgid(tid);
    let uid = k.task(tid).creds.uid;
    let info = SigInfo::new(sig, SI_USER).with_sender(me, uid);
    let targets: Vec<Tid> = match pid {
        p if p > 0 => {
            if !k.thread_groups.contains_key(&p) {
                return Err(Errno::ESRCH.into());
            }
            vec![p]
        }
        0 => {
            let pg = k.tg(tid).pgid;
            k.thread_groups
                .iter()
                .filter(|(_, g)| g.pgid == pg && g.zombie.is_none())
                .map(|(&t, _)| t)
                .collect()
        }
        -1 => k
            .thread_groups
            .iter()
            .filter(|(&t, g)| t != k.init && t != me && g.zombie.is_none())
            .map(|(&t, _)| t)
            .chain(std::iter::once(me))
            .collect(),
        p => k
            .thread_groups
            .iter()
            .filter(|(_, g)| g.pgid == -p && g.zombie.is_none())
            .map(|(&t, _)| t)
            .collect(),
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH.into());
    }
    let mut sent = false;
    for t in targets {
        if !may_signal(k, tid, t) {
            continue;
        }
        sent = true;
        if sig != 0 {
            k.send_to_group(t, info);
        }
    }
    if !sent {
        return Err(Errno::EPERM.into());
    }
    // The caller may have signalled itself: it acts on it before returning.
    Ok(0)
}

fn thread_kill(k: &mut Kernel, tid: Tid, tgid: Option<Tid>, target: Tid, sig: i32) -> SysResult {
    if target <= 0 || tgid.is_some_and(|g| g <= 0) || !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL.into());
    }
    let t = k.tasks.get(&target).ok_or(Errno::ESRCH)?;
    if matches!(t.state, TaskState::Dead) || tgid.is_some_and(|g| g != t.tgid) {
        return Err(Errno::ESRCH.into());
    }
    let ttg = t.tgid;
    if !may_signal(k, tid, ttg) {
        return Err(Errno::EPERM.into());
    }
    if sig != 0 {
        let info = SigInfo::new(sig, SI_TKILL).with_sender(k.tgid(tid), k.task(tid).creds.uid);
        if sig == SIGKILL {
            k.send_to_group(ttg, info);
        } else {
            k.send_to_thread(target, info);
        }
    }
    Ok(0)
}

fn sys_tkill(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    thread_kill(k, tid, None, a.i32(0), a.i32(1))
}

fn sys_tgkill(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    thread_kill(k, tid, Some(a.i32(0)), a.i32(1), a.i32(2))
}

fn queueinfo(
    k: &mut Kernel,
    tid: Tid,
    tgid: Tid,
    thread: Option<Tid>,
    sig: i32,
    uinfo: u64,
) -> SysResult {
    valid_sig(sig)?;
    let mut b = [0u8; 128];
    k.copy_in(tid, uinfo, &mut b)?;
    let mut info = SigInfo::from_bytes(&b);
    // Only negative codes may be forged, except towards oneself.
    if (info.code() >= 0 || info.code() == SI_TKILL) && tgid != k.tgid(tid) {
        return Err(Errno::EPERM.into());
    }
    info.0[0] = sig as u32 as u64 | (info.0[0] & !0xffff_ffff);
    if !k.thread_groups.contains_key(&tgid) {
        return Err(Errno::ESRCH.into());
    }
    match thread {
        Some(t) => {
            if k.tasks.get(&t).is_none_or(|x| x.tgid != tgid) {
                return Err(Errno::ESRCH.into());
            }
            k.send_to_thread(t, info)
        }
        None => k.send_to_group(tgid, info),
    }
    Ok(0)
}

fn sys_rt_sigqueueinfo(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    queueinfo(k, tid, a.i32(0), None, a.i32(1), a.ptr(2))
}

fn sys_rt_tgsigqueueinfo(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    queueinfo(k, tid, a.i32(0), Some(a.i32(1)), a.i32(2), a.ptr(3))
}

fn sys_sigaltstack(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (sp, flags, size) = k.task(tid).altstack;
    let rsp = k.task(tid).regs.rsp;
    let on = size > 0 && rsp > sp && rsp <= sp + size;
    if a.ptr(0) != 0 {
        let ss: libc::stack_t = k.read_val(tid, a.ptr(0))?;
        if on {
            return Err(Errno::EPERM.into());
        }
        let f = ss.ss_flags & !SS_AUTODISARM;
        if f != 0 && f != libc::SS_DISABLE && f != libc::SS_ONSTACK {
            return Err(Errno::EINVAL.into());
        }
        if f == libc::SS_DISABLE {
            k.task_mut(tid).altstack = (0, libc::SS_DISABLE, 0);
        } else {
            if ss.ss_size < libc::MINSIGSTKSZ {
                return Err(Errno::ENOMEM.into());
            }
            k.task_mut(tid).altstack = (ss.ss_sp as u64, ss.ss_flags, ss.ss_size as u64);
        }
    }
    if a.ptr(1) != 0 {
        let oflags = if size == 0 {
            libc::SS_DISABLE
        } else if on {
            libc::SS_ONSTACK
        } else {
            flags & SS_AUTODISARM
        };
        let old = libc::stack_t {
            ss_sp: sp as *mut libc::c_void,
            ss_flags: oflags,
            ss_size: size as usize,
        };
        k.write_val(tid, a.ptr(1), &old)?;
    }
    Ok(0)
}

fn sys_alarm(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let now = k.clock.monotonic();
    let secs = a.u32(0) as u64;
    let tg = k.tg_mut(tid);
    let left = tg.itimer_real.map_or(0, |(d, _)| {
        d.saturating_sub(now).div_ceil(1_000_000_000).max(1)
    });
    tg.itimer_real = (secs > 0).then(|| (now + secs * 1_000_000_000, 0));
    Ok(left)
}

fn tv_ns(tv: &libc::timeval) -> Option<u64> {
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return None;
    }
    (tv.tv_sec as u64)
        .checked_mul(1_000_000_000)?
        .checked_add(tv.tv_usec as u64 * 1000)
}

fn ns_tv(ns: u64) -> libc::timeval {
    libc::timeval {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
    }
}

/// An interval timer: its expiry on its clock, and its interval (ns).
type Itimer = Option<(u64, u64)>;

/// An interval timer's value and interval, from its expiry and the clock
/// it runs on (`now`); an expired timer with time left shows at least 1 µs.
fn itimerval(timer: Itimer, now: u64) -> libc::itimerval {
    match timer {
        Some((d, iv)) => libc::itimerval {
            it_interval: ns_tv(iv),
            it_value: ns_tv(d.saturating_sub(now).max(1000)),
        },
        None => libc::itimerval {
            it_interval: ns_tv(0),
            it_value: ns_tv(0),
        },
    }
}

/// The timer `which` (`ITIMER_REAL`: monotonic time; `ITIMER_VIRTUAL`,
/// `ITIMER_PROF`: the group's CPU time), and its clock's current value.
/// The sentry's own time serving system calls is not counted in CPU time,
/// so both CPU timers run on the time spent in application code.
fn itimer(k: &mut Kernel, tid: Tid, which: i32) -> Result<(&mut Itimer, u64), Errno> {
    let now = match which {
        libc::ITIMER_REAL => k.clock.monotonic(),
        libc::ITIMER_VIRTUAL | libc::ITIMER_PROF => k.cpu_time(tid, true),
        _ => return Err(Errno::EINVAL),
    };
    let g = k.tg_mut(tid);
    let t = match which {
        libc::ITIMER_REAL => &mut g.itimer_real,
        libc::ITIMER_VIRTUAL => &mut g.itimer_virtual,
        _ => &mut g.itimer_prof,
    };
    Ok((t, now))
}

fn sys_setitimer(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if !(0..=2).contains(&a.i32(0)) {
        return Err(Errno::EINVAL.into());
    }
    let new = if a.ptr(1) != 0 {
        let v: libc::itimerval = k.read_val(tid, a.ptr(1))?;
        let val = tv_ns(&v.it_value).ok_or(Errno::EINVAL)?;
        let iv = tv_ns(&v.it_interval).ok_or(Errno::EINVAL)?;
        Some((val, iv))
    } else {
        None
    };
    let (t, now) = itimer(k, tid, a.i32(0))?;
    let old = itimerval(*t, now);
    if let Some((val, iv)) = new {
        *t = (val > 0).then(|| (now.saturating_add(val), iv));
    }
    if a.ptr(2) != 0 {
        k.write_val(tid, a.ptr(2), &old)?;
    }
    Ok(0)
}

fn sys_getitimer(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (t, now) = itimer(k, tid, a.i32(0))?;
    let v = itimerval(*t, now);
    k.write_val(tid, a.ptr(1), &v)?;
    Ok(0)
}
