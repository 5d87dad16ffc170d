//! `futex`.

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::time::from_timespec;
use crate::kernel::wait::{Block, Restart};
use crate::kernel::{Kernel, Tid};

pub fn register(t: &mut Table) {
    t.add(
        libc::SYS_futex,
        sys_futex,
        Support::Partial("PI futexes are not supported"),
    );
}

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_PRIVATE_FLAG: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

fn sys_futex(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (addr, op, val, tsp, addr2, val3) =
        (a.ptr(0), a.i32(1), a.u32(2), a.ptr(3), a.ptr(4), a.u32(5));
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL.into());
            }
            // Run again after a deadline: still queued means timed out.
            if k.futexes.is_waiting(tid) {
                if k.deadline_passed(tid) {
                    k.futexes.remove(tid);
                    return Err(Errno::ETIMEDOUT.into());
                }
                let d = k.task(tid).deadline;
                return Err(SysErr::Block(
                    Block::on(vec![])
                        .with_deadline(d)
                        .with_restart(Restart::Sys),
                ));
            }
            let deadline = if tsp != 0 {
                let ts: libc::timespec = k.read_val(tid, tsp)?;
                let ns = from_timespec(&ts).ok_or(Errno::EINVAL)?;
                if cmd == FUTEX_WAIT {
                    Some(k.syscall_deadline(tid, ns))
                } else {
                    // Absolute time on the chosen clock.
                    let now = if op & FUTEX_CLOCK_REALTIME != 0 {
                        k.clock.realtime()
                    } else {
                        k.clock.monotonic()
                    };
                    Some(k.syscall_deadline(tid, ns.saturating_sub(now)))
                }
            } else {
                None
            };
            if deadline.is_some() && k.deadline_passed(tid) {
                return Err(Errno::ETIMEDOUT.into());
            }
            let key = k.futex_key(tid, addr, private)?;
            let cur: u32 = k.read_val(tid, addr)?;
            if cur != val {
                return Err(Errno::EAGAIN.into());
            }
            k.futexes.enqueue(key, tid, bitset);
            Err(SysErr::Block(
                Block::on(vec![])
                    .with_deadline(deadline)
                    .with_restart(Restart::Sys),
            ))
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE { u32::MAX } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL.into());
            }
            let key = k.futex_key(tid, addr, private)?;
            Ok(k.futex_wake(key, val as usize, bitset) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let key = k.futex_key(tid, addr, private)?;
            let key2 = k.futex_key(tid, addr2, private)?;
            if cmd == FUTEX_CMP_REQUEUE {
                let cur: u32 = k.read_val(tid, addr)?;
                if cur != val3 {
                    return Err(Errno::EAGAIN.into());
                }
            }
            let woke = k.futex_wake(key, val as usize, u32::MAX);
            let nreq = (tsp as u32 as i32).max(0) as usize;
            let moved = k.futexes.requeue(key, key2, nreq);
            Ok((woke + if cmd == FUTEX_CMP_REQUEUE { moved } else { 0 }) as u64)
        }
        FUTEX_WAKE_OP => {
            let key = k.futex_key(tid, addr, private)?;
            let key2 = k.futex_key(tid, addr2, private)?;
            // Atomically (the sentry is single-threaded, and application
            // threads see the word change at once) apply the operation to
            // the second word, keeping its old value for the comparison.
            let old: u32 = k.read_val(tid, addr2)?;
            let (op, cmp) = ((val3 >> 28) & 0xf, (val3 >> 24) & 0xf);
            let mut oparg = (val3 >> 12) & 0xfff;
            let cmparg = val3 & 0xfff;
            if op & 8 != 0 {
                oparg = 1u32.checked_shl(oparg).unwrap_or(0);
            }
            let new = match op & 7 {
                0 => oparg,
                1 => old.wrapping_add(oparg),
                2 => old | oparg,
                3 => old & !oparg,
                4 => old ^ oparg,
                _ => return Err(Errno::ENOSYS.into()),
            };
            k.write_val(tid, addr2, &new)?;
            let hit = match cmp {
                0 => old == cmparg,
                1 => old != cmparg,
                2 => (old as i32) < cmparg as i32,
                3 => (old as i32) <= cmparg as i32,
                4 => (old as i32) > cmparg as i32,
                5 => (old as i32) >= cmparg as i32,
                _ => return Err(Errno::ENOSYS.into()),
            };
            let mut woke = k.futex_wake(key, val as usize, u32::MAX);
            if hit {
                let n2 = (tsp as u32 as i32).max(0) as usize;
                woke += k.futex_wake(key2, n2, u32::MAX);
            }
            Ok(woke as u64)
        }
        _ => Err(Errno::ENOSYS.into()),
    }
}
