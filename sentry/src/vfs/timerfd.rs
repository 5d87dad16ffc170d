//! timerfd: a timer read as a count of expirations. Expirations are worked
//! out from the clock whenever the timer is looked at, so no kernel timer
//! is needed; a blocked reader or poller sleeps until the next expiry.

use super::file::FileKind;
use super::FileId;
use crate::errno::Errno;
use crate::kernel::wait::{Block, WaitQueueId};
use crate::kernel::Kernel;
use crate::syscalls::SysErr;
use serde::{Deserialize, Serialize};

/// A timerfd's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimerFd {
    pub clock: i32,
    /// Next expiry, in the timer's clock (ns); `None` when disarmed.
    pub next: Option<u64>,
    pub interval: u64,
    /// Expirations not yet read.
    pub pending: u64,
    pub queue: WaitQueueId,
    pub gen: u64,
}

impl TimerFd {
    pub fn new(clock: i32, queue: WaitQueueId) -> TimerFd {
        TimerFd {
            clock,
            next: None,
            interval: 0,
            pending: 0,
            queue,
            gen: 0,
        }
    }

    /// Accounts for expirations up to `now`.
    pub fn update(&mut self, now: u64) {
        let Some(next) = self.next else {
            return;
        };
        if now < next {
            return;
        }
        match (now - next).checked_div(self.interval) {
            None => {
                self.pending = self.pending.saturating_add(1);
                self.next = None;
            }
            Some(q) => {
                let n = 1 + q;
                self.pending = self.pending.saturating_add(n);
                self.next = Some(next.saturating_add(n.saturating_mul(self.interval)));
            }
        }
        self.gen += 1;
    }

    /// The sandbox monotonic time of the next expiry.
    pub fn mono_deadline(&self, k: &Kernel) -> Option<u64> {
        let next = self.next?;
        let now = k.clock.read(self.clock).unwrap_or(0);
        Some(k.clock.monotonic().saturating_add(next.saturating_sub(now)))
    }
}

/// The clock used for a timerfd's clock ID (alarm clocks as their base).
pub fn base_clock(id: i32) -> Option<i32> {
    match id {
        libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_ALARM => Some(libc::CLOCK_REALTIME),
        libc::CLOCK_MONOTONIC => Some(libc::CLOCK_MONOTONIC),
        libc::CLOCK_BOOTTIME | libc::CLOCK_BOOTTIME_ALARM => Some(libc::CLOCK_BOOTTIME),
        _ => None,
    }
}

fn timer(k: &mut Kernel, f: FileId) -> Result<(&mut TimerFd, bool), Errno> {
    let of = k.vfs.files.get_mut(&f).ok_or(Errno::EBADF)?;
    let nb = of.nonblocking();
    match &mut of.kind {
        FileKind::TimerFd(t) => Ok((t, nb)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn read(k: &mut Kernel, f: FileId, len: usize) -> Result<Vec<u8>, SysErr> {
    if len < 8 {
        return Err(Errno::EINVAL.into());
    }
    let clock = timer(k, f)?.0.clock;
    let now = k.clock.read(clock).unwrap_or(0);
    let (t, nb) = timer(k, f)?;
    t.update(now);
    if t.pending > 0 {
        let n = t.pending;
        t.pending = 0;
        return Ok(n.to_le_bytes().to_vec());
    }
    if nb {
        return Err(Errno::EAGAIN.into());
    }
    let q = t.queue;
    let t = timer(k, f)?.0.clone();
    let d = t.mono_deadline(k);
    Err(SysErr::Block(Block::on(vec![q]).with_deadline(d)))
}

/// Arms or disarms; returns the old (remaining, interval).
pub fn settime(
    k: &mut Kernel,
    f: FileId,
    abs: bool,
    value: u64,
    interval: u64,
) -> Result<(u64, u64), Errno> {
    let clock = timer(k, f)?.0.clock;
    let now = k.clock.read(clock).unwrap_or(0);
    let (t, _) = timer(k, f)?;
    t.update(now);
    let old = (
        t.next.map_or(0, |n| n.saturating_sub(now).max(1)),
        t.interval,
    );
    t.pending = 0;
    t.interval = interval;
    t.next = if value == 0 {
        None
    } else if abs {
        Some(value)
    } else {
        Some(now.saturating_add(value))
    };
    t.gen += 1;
    let q = t.queue;
    k.notify(q);
    Ok(old)
}

/// (remaining, interval).
pub fn gettime(k: &mut Kernel, f: FileId) -> Result<(u64, u64), Errno> {
    let clock = timer(k, f)?.0.clock;
    let now = k.clock.read(clock).unwrap_or(0);
    let (t, _) = timer(k, f)?;
    t.update(now);
    Ok((
        t.next.map_or(0, |n| n.saturating_sub(now).max(1)),
        t.interval,
    ))
}
