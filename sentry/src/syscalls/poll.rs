//! `poll`, `ppoll`, `select`, `pselect6`: readiness of many descriptors,
//! sleeping on all their wait queues (and host descriptors) until one
//! changes or the timeout passes. The `p*` variants swap in a signal mask
//! for the wait, as `rt_sigsuspend` does.

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::signal::SigSet;
use crate::kernel::wait::Restart;
use crate::kernel::{Kernel, Tid};
use crate::vfs::file;
use crate::vfs::poll::{self, Ready};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_poll, sys_poll, Support::Full);
    t.add(SYS_ppoll, sys_ppoll, Support::Full);
    t.add(SYS_select, sys_select, Support::Full);
    t.add(SYS_pselect6, sys_pselect6, Support::Full);
}

/// Installs the temporary signal mask of `ppoll`/`pselect` on the first
/// run of the call.
pub fn swap_mask(k: &mut Kernel, tid: Tid, addr: u64, size: usize) -> Result<(), Errno> {
    if addr == 0 {
        return Ok(());
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    if k.task(tid).saved_mask.is_none() {
        let m: u64 = k.read_val(tid, addr)?;
        let t = k.task_mut(tid);
        t.saved_mask = Some(t.sigmask);
        t.sigmask = SigSet(m).blockable();
    }
    Ok(())
}

/// Puts the original mask back when the call returns without a signal.
pub fn restore_mask(k: &mut Kernel, tid: Tid) {
    if let Some(m) = k.task_mut(tid).saved_mask.take() {
        k.task_mut(tid).sigmask = m;
    }
}

/// Checks each (descriptor, events); returns the events that hold, or
/// what to wait on if none does.
fn check(k: &mut Kernel, tid: Tid, items: &[(i32, u32)]) -> (Vec<u32>, Ready) {
    let mut out = Vec::with_capacity(items.len());
    let mut wait = Ready::default();
    for &(fd, events) in items {
        if fd < 0 {
            out.push(0);
            continue;
        }
        let Ok(f) = file::get(k, tid, fd) else {
            out.push(poll::NVAL);
            continue;
        };
        let r = poll::ready(k, tid, f, events, 0);
        let got = r.mask & (events | poll::ALWAYS);
        if got == 0 {
            wait.merge_wait(&r);
        }
        out.push(got);
    }
    (out, wait)
}

/// The absolute deadline of a relative timeout (ns), kept across re-runs.
fn deadline(k: &mut Kernel, tid: Tid, timeout: Option<u64>) -> Option<u64> {
    timeout.map(|ns| k.syscall_deadline(tid, ns))
}

fn remaining(k: &Kernel, d: Option<u64>) -> u64 {
    d.map_or(0, |d| d.saturating_sub(k.clock.monotonic()))
}

fn do_poll(
    k: &mut Kernel,
    tid: Tid,
    fds: u64,
    nfds: usize,
    timeout: Option<u64>,
    restart: Restart,
) -> Result<(u64, Option<u64>), SysErr> {
    let limit = k.rlimit(tid, libc::RLIMIT_NOFILE as usize).0;
    if nfds as u64 > limit.min(1 << 20) {
        return Err(Errno::EINVAL.into());
    }
    let raw = k.read_bytes(tid, fds, nfds * 8)?;
    let items: Vec<(i32, u32)> = raw
        .chunks_exact(8)
        .map(|c| {
            let fd = i32::from_le_bytes(c[0..4].try_into().expect("4 bytes"));
            let ev = u16::from_le_bytes(c[4..6].try_into().expect("2 bytes")) as u32;
            (fd, ev)
        })
        .collect();
    let d = deadline(k, tid, timeout);
    let (revents, wait) = check(k, tid, &items);
    let n = revents.iter().filter(|&&r| r != 0).count();
    if n > 0 || timeout == Some(0) || k.deadline_passed(tid) {
        let mut out = raw;
        for (i, r) in revents.iter().enumerate() {
            out[i * 8 + 6..i * 8 + 8].copy_from_slice(&(*r as u16).to_le_bytes());
        }
        k.copy_out(tid, fds, &out)?;
        return Ok((n as u64, d));
    }
    Err(SysErr::Block(
        wait.block().with_deadline(d).with_restart(restart),
    ))
}

fn sys_poll(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let ms = a.i32(2);
    let timeout = (ms >= 0).then(|| ms as u64 * 1_000_000);
    Ok(do_poll(k, tid, a.ptr(0), a.usize(1), timeout, Restart::NoHand)?.0)
}

fn read_timespec(k: &mut Kernel, tid: Tid, addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: libc::timespec = k.read_val(tid, addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64),
    ))
}

fn write_timespec(k: &mut Kernel, tid: Tid, addr: u64, ns: u64) {
    let ts = crate::kernel::time::to_timespec(ns);
    let _ = k.write_val(tid, addr, &ts);
}

fn sys_ppoll(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let timeout = read_timespec(k, tid, a.ptr(2))?;
    swap_mask(k, tid, a.ptr(3), a.usize(4))?;
    match do_poll(k, tid, a.ptr(0), a.usize(1), timeout, Restart::NoHand) {
        Ok((n, d)) => {
            restore_mask(k, tid);
            if a.ptr(2) != 0 {
                let left = remaining(k, d);
                write_timespec(k, tid, a.ptr(2), left);
            }
            Ok(n)
        }
        Err(SysErr::Errno(e)) => {
            restore_mask(k, tid);
            Err(e.into())
        }
        Err(e) => Err(e),
    }
}

/// The three fd sets of `select`, as bit vectors.
struct FdSets {
    nfds: usize,
    sets: [Option<Vec<u64>>; 3],
}

fn read_set(k: &mut Kernel, tid: Tid, addr: u64, nfds: usize) -> Result<Option<Vec<u64>>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let words = nfds.div_ceil(64);
    let raw = k.read_bytes(tid, addr, words * 8)?;
    let mut v: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    // Bits past nfds are not looked at (nor written back).
    if !nfds.is_multiple_of(64) {
        if let Some(last) = v.last_mut() {
            *last &= (1u64 << (nfds % 64)) - 1;
        }
    }
    Ok(Some(v))
}

const SEL_IN: u32 = poll::IN | poll::RDNORM | libc::POLLRDBAND as u32 | poll::HUP | poll::ERR;
const SEL_OUT: u32 = poll::OUT | poll::WRNORM | libc::POLLWRBAND as u32 | poll::ERR;
const SEL_EX: u32 = poll::PRI;

fn do_select(
    k: &mut Kernel,
    tid: Tid,
    a: &Args,
    timeout: Option<u64>,
) -> Result<(u64, Option<u64>), SysErr> {
    let nfds = a.i32(0);
    if nfds < 0 {
        return Err(Errno::EINVAL.into());
    }
    let limit = k.rlimit(tid, libc::RLIMIT_NOFILE as usize).0.min(1 << 20) as usize;
    let nfds = (nfds as usize).min(limit);
    let mut s = FdSets {
        nfds,
        sets: [None, None, None],
    };
    for i in 0..3 {
        s.sets[i] = read_set(k, tid, a.ptr(1 + i), nfds)?;
    }
    let mut items = Vec::new();
    for fd in 0..s.nfds {
        let (w, b) = (fd / 64, 1u64 << (fd % 64));
        let mut ev = 0;
        for (i, want) in [SEL_IN, SEL_OUT, SEL_EX].iter().enumerate() {
            if s.sets[i].as_ref().is_some_and(|v| v[w] & b != 0) {
                ev |= want;
            }
        }
        if ev != 0 {
            items.push((fd as i32, ev));
        }
    }
    for &(fd, _) in &items {
        file::get(k, tid, fd)?;
    }
    let d = deadline(k, tid, timeout);
    let (revents, wait) = check(k, tid, &items);
    let mut count = 0u64;
    let mut out: [Option<Vec<u64>>; 3] = [
        s.sets[0].as_ref().map(|v| vec![0; v.len()]),
        s.sets[1].as_ref().map(|v| vec![0; v.len()]),
        s.sets[2].as_ref().map(|v| vec![0; v.len()]),
    ];
    for (&(fd, ev), &r) in items.iter().zip(&revents) {
        let (w, b) = (fd as usize / 64, 1u64 << (fd as usize % 64));
        for (i, want) in [SEL_IN, SEL_OUT, SEL_EX].iter().enumerate() {
            if ev & want != 0 && r & want != 0 {
                if let Some(v) = out[i].as_mut() {
                    v[w] |= b;
                    count += 1;
                }
            }
        }
    }
    if count > 0 || timeout == Some(0) || k.deadline_passed(tid) {
        for (i, v) in out.iter().enumerate() {
            if let Some(v) = v {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                k.copy_out(tid, a.ptr(1 + i), &bytes)?;
            }
        }
        return Ok((count, d));
    }
    Err(SysErr::Block(
        wait.block().with_deadline(d).with_restart(Restart::NoHand),
    ))
}

fn sys_select(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let timeout = if a.ptr(4) == 0 {
        None
    } else {
        let tv: libc::timeval = k.read_val(tid, a.ptr(4))?;
        if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
            return Err(Errno::EINVAL.into());
        }
        Some(
            (tv.tv_sec as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(tv.tv_usec as u64 * 1000),
        )
    };
    let (n, d) = do_select(k, tid, a, timeout)?;
    if a.ptr(4) != 0 {
        let left = remaining(k, d);
        let tv = libc::timeval {
            tv_sec: (left / 1_000_000_000) as i64,
            tv_usec: ((left % 1_000_000_000) / 1000) as i64,
        };
        let _ = k.write_val(tid, a.ptr(4), &tv);
    }
    Ok(n)
}

fn sys_pselect6(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let timeout = read_timespec(k, tid, a.ptr(4))?;
    if a.ptr(5) != 0 {
        let sig: [u64; 2] = k.read_val(tid, a.ptr(5))?;
        swap_mask(k, tid, sig[0], sig[1] as usize)?;
    }
    match do_select(k, tid, a, timeout) {
        Ok((n, d)) => {
            restore_mask(k, tid);
            if a.ptr(4) != 0 {
                let left = remaining(k, d);
                write_timespec(k, tid, a.ptr(4), left);
            }
            Ok(n)
        }
        Err(SysErr::Errno(e)) => {
            restore_mask(k, tid);
            Err(e.into())
        }
        Err(e) => Err(e),
    }
}
