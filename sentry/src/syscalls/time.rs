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
        Support::Partial("CPU-time clocks report time since boot"),
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
}

fn sys_clock_gettime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let ns = k.clock.read(a.i32(0)).ok_or(Errno::EINVAL)?;
    k.write_val(tid, a.ptr(1), &to_timespec(ns))?;
    Ok(0)
}

fn sys_clock_getres(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let id = a.i32(0);
    k.clock.read(id).ok_or(Errno::EINVAL)?;
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
