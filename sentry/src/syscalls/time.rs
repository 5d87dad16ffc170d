//! Clocks and sleeping.

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::time::{from_timespec, to_timespec};
use crate::kernel::wait::{Block, Restart};
use crate::kernel::{Kernel, Tid};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(
        SYS_clock_gettime,
        sys_clock_gettime,
        Support::Partial("CPU-time clocks count time running application code"),
    );
    t.add(SYS_clock_getres, sys_clock_getres, Support::Full);
    t.add(SYS_gettimeofday, sys_gettimeofday, Support::Full);
    t.add(SYS_time, sys_time, Support::Full);
    t.add(SYS_nanosleep, sys_nanosleep, Support::Full);
    t.add(SYS_clock_nanosleep, sys_clock_nanosleep, Support::Full);
    t.add(
        SYS_times,
        sys_times,
        Support::Partial("times are estimates"),
    );
    t.add(
        SYS_timer_create,
        sys_timer_create,
        Support::Partial("CPU-time clocks tick in real time"),
    );
    t.add(SYS_timer_settime, sys_timer_settime, Support::Full);
    t.add(SYS_timer_gettime, sys_timer_gettime, Support::Full);
    t.add(SYS_timer_getoverrun, sys_timer_getoverrun, Support::Full);
    t.add(SYS_timer_delete, sys_timer_delete, Support::Full);
    t.add(
        SYS_clock_settime,
        sys_clock_settime,
        Support::Partial("the sandbox may not set the time: EPERM"),
    );
}

/// Reads clock `id` as seen by `tid` (CPU-time clocks are per task).
fn read_clock(k: &Kernel, tid: Tid, id: i32) -> Result<u64, Errno> {
    match id {
        libc::CLOCK_PROCESS_CPUTIME_ID => Ok(k.cpu_time(tid, true)),
        libc::CLOCK_THREAD_CPUTIME_ID => Ok(k.cpu_time(tid, false)),
        id if id < 0 => cpu_clock(k, tid, id),
        _ => k.clock.read(id).ok_or(Errno::EINVAL),
    }
}

/// The CPU-time clock of another thread or process, as
/// `pthread_getcpuclockid` and `clock_getcpuclockid` make its ID: `~pid <<
/// 3`, then 4 for a thread, then 0 (profiling), 1 (virtual) or 2
/// (scheduler) time; pid 0 is the caller. All three read the time spent in
/// application code. A thread's clock is readable from its own process
/// only; a process's is named by its leader, as on Linux.
fn cpu_clock(k: &Kernel, tid: Tid, id: i32) -> Result<u64, Errno> {
    if id & 3 == 3 {
        return Err(Errno::EINVAL);
    }
    let pid = !(id >> 3);
    let thread = id & 4 != 0;
    if pid == 0 {
        return Ok(k.cpu_time(tid, !thread));
    }
    let t = k.tasks.get(&pid).ok_or(Errno::EINVAL)?;
    let ok = if thread {
        t.tgid == k.tasks[&tid].tgid
    } else {
        t.tgid == pid
    };
    if !ok {
        return Err(Errno::EINVAL);
    }
    Ok(k.cpu_time(pid, !thread))
}

fn sys_clock_settime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let ts: libc::timespec = k.read_val(tid, a.ptr(1))?;
    from_timespec(&ts).ok_or(Errno::EINVAL)?;
    match a.i32(0) {
        // The sandbox may not change the host's time.
        libc::CLOCK_REALTIME => Err(Errno::EPERM.into()),
        _ => Err(Errno::EINVAL.into()),
    }
}

fn sys_clock_gettime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let ns = read_clock(k, tid, a.i32(0))?;
    k.write_val(tid, a.ptr(1), &to_timespec(ns))?;
    Ok(0)
}

fn sys_clock_getres(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let id = a.i32(0);
    read_clock(k, tid, id)?;
    if a.ptr(1) != 0 {
        let res = match id {
            libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => 4_000_000,
            _ => 1,
        };
        k.write_val(tid, a.ptr(1), &to_timespec(res))?;
    }
    Ok(0)
}

fn sys_gettimeofday(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.ptr(0) != 0 {
        let ns = k.clock.realtime();
        let tv = libc::timeval {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
        };
        k.write_val(tid, a.ptr(0), &tv)?;
    }
    if a.ptr(1) != 0 {
        k.write_val(tid, a.ptr(1), &[0i32; 2])?;
    }
    Ok(0)
}

fn sys_time(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let s = (k.clock.realtime() / 1_000_000_000) as i64;
    if a.ptr(0) != 0 {
        k.write_val(tid, a.ptr(0), &s)?;
    }
    Ok(s as u64)
}

/// Sleeps until `deadline` (sandbox monotonic ns); on interruption writes
/// the time left to `rem`.
fn sleep(k: &mut Kernel, tid: Tid, deadline: u64, rem: u64) -> SysResult {
    let now = k.clock.monotonic();
    if now >= deadline {
        return Ok(0);
    }
    if rem != 0 {
        k.task_mut(tid).syscall_scratch = vec![rem];
    }
    Err(SysErr::Block(
        Block::until(deadline).with_restart(Restart::Never),
    ))
}

fn sys_nanosleep(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let ts: libc::timespec = k.read_val(tid, a.ptr(0))?;
    let ns = from_timespec(&ts).ok_or(Errno::EINVAL)?;
    let d = k.syscall_deadline(tid, ns);
    sleep(k, tid, d, a.ptr(1))
}

fn sys_clock_nanosleep(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (id, flags) = (a.i32(0), a.i32(1));
    match id {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {}
        libc::CLOCK_PROCESS_CPUTIME_ID => {}
        libc::CLOCK_THREAD_CPUTIME_ID => return Err(Errno::EINVAL.into()),
        _ => return Err(Errno::EINVAL.into()),
    }
    let ts: libc::timespec = k.read_val(tid, a.ptr(2))?;
    let ns = from_timespec(&ts).ok_or(Errno::EINVAL)?;
    let d = if flags & libc::TIMER_ABSTIME != 0 {
        let now = k.clock.read(id).ok_or(Errno::EINVAL)?;
        k.syscall_deadline(tid, ns.saturating_sub(now))
    } else {
        k.syscall_deadline(tid, ns)
    };
    let rem = if flags & libc::TIMER_ABSTIME != 0 {
        0
    } else {
        a.ptr(3)
    };
    sleep(k, tid, d, rem)
}

fn sys_times(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let t = k.task(tid);
    let ticks = |ns: u64| (ns / 10_000_000) as i64;
    let (cu, cs) = k.tg(tid).children_times;
    let v = libc::tms {
        tms_utime: ticks(t.utime),
        tms_stime: ticks(t.stime),
        tms_cutime: ticks(cu),
        tms_cstime: ticks(cs),
    };
    if a.ptr(0) != 0 {
        k.write_val(tid, a.ptr(0), &v)?;
    }
    Ok(k.clock.uptime() / 10_000_000)
}

/// `struct sigevent` as the x86-64 ABI lays it out (64 bytes).
#[derive(Clone, Copy)]
#[repr(C)]
struct SigEvent {
    value: u64,
    signo: i32,
    notify: i32,
    tid: i32,
    pad: [i32; 11],
}
// SAFETY: integers only.
unsafe impl crate::mm::Pod for SigEvent {}

const SIGEV_THREAD_ID: i32 = 4;

fn sys_timer_create(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let clock = a.i32(0);
    if !matches!(
        clock,
        libc::CLOCK_REALTIME
            | libc::CLOCK_MONOTONIC
            | libc::CLOCK_BOOTTIME
            | libc::CLOCK_PROCESS_CPUTIME_ID
    ) {
        return Err(Errno::EINVAL.into());
    }
    let ev = if a.ptr(1) != 0 {
        let e: SigEvent = k.read_val(tid, a.ptr(1))?;
        match e.notify {
            libc::SIGEV_NONE => {}
            libc::SIGEV_SIGNAL if (1..=64).contains(&e.signo) => {}
            SIGEV_THREAD_ID | 6 if (1..=64).contains(&e.signo) => {
                if k.tasks.get(&e.tid).is_none_or(|t| t.tgid != k.tgid(tid)) {
                    return Err(Errno::EINVAL.into());
                }
            }
            _ => return Err(Errno::EINVAL.into()),
        }
        e
    } else {
        SigEvent {
            value: 0,
            signo: libc::SIGALRM,
            notify: libc::SIGEV_SIGNAL,
            tid: 0,
            pad: [0; 11],
        }
    };
    let tg = k.tg_mut(tid);
    let id = (0..).find(|i| !tg.timers.contains_key(i)).unwrap_or(0);
    if tg.timers.len() >= 4096 {
        return Err(Errno::EAGAIN.into());
    }
    let value = if a.ptr(1) == 0 { id as u64 } else { ev.value };
    tg.timers.insert(
        id,
        crate::kernel::task::PosixTimer {
            clock,
            deadline: None,
            interval: 0,
            notify: ev.notify,
            signo: ev.signo,
            value,
            target: ev.tid,
            overrun: 0,
        },
    );
    if let Err(e) = k.write_val(tid, a.ptr(2), &id) {
        k.tg_mut(tid).timers.remove(&id);
        return Err(e.into());
    }
    Ok(0)
}

fn timer_value(k: &Kernel, tid: Tid, id: i32) -> Result<libc::itimerspec, Errno> {
    let t = k.tg(tid).timers.get(&id).ok_or(Errno::EINVAL)?;
    let left = t
        .deadline
        .map_or(0, |d| d.saturating_sub(k.clock.monotonic()).max(1));
    Ok(libc::itimerspec {
        it_interval: to_timespec(t.interval),
        it_value: to_timespec(left),
    })
}

fn sys_timer_settime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (id, flags) = (a.i32(0), a.i32(1));
    let old = timer_value(k, tid, id)?;
    let new: libc::itimerspec = k.read_val(tid, a.ptr(2))?;
    let val = from_timespec(&new.it_value).ok_or(Errno::EINVAL)?;
    let iv = from_timespec(&new.it_interval).ok_or(Errno::EINVAL)?;
    let now = k.clock.monotonic();
    let clock = k.tg(tid).timers[&id].clock;
    let deadline = if val == 0 {
        None
    } else if flags & libc::TIMER_ABSTIME != 0 {
        let cnow = k.clock.read(clock).unwrap_or(now);
        Some(now.saturating_add(val.saturating_sub(cnow)))
    } else {
        Some(now.saturating_add(val))
    };
    let t = k.tg_mut(tid).timers.get_mut(&id).expect("checked");
    t.deadline = deadline;
    t.interval = iv;
    t.overrun = 0;
    if a.ptr(3) != 0 {
        k.write_val(tid, a.ptr(3), &old)?;
    }
    Ok(0)
}

fn sys_timer_gettime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let v = timer_value(k, tid, a.i32(0))?;
    k.write_val(tid, a.ptr(1), &v)?;
    Ok(0)
}

fn sys_timer_getoverrun(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let t = k.tg(tid).timers.get(&a.i32(0)).ok_or(Errno::EINVAL)?;
    Ok(t.overrun.max(0) as u64)
}

fn sys_timer_delete(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.tg_mut(tid)
        .timers
        .remove(&a.i32(0))
        .ok_or(Errno::EINVAL)?;
    Ok(0)
}
