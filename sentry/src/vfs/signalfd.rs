//! signalfd: reading the caller's pending signals of a set as
//! `signalfd_siginfo` records. A thread group's signal arrivals notify a
//! wait queue of its own (see [`queue`]), which wakes readers and pollers
//! whose signals are blocked (as they must be for signalfd).

use super::file::FileKind;
use super::FileId;
use crate::errno::Errno;
use crate::kernel::signal::{
    SigInfo, SigSet, SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGSEGV, SIGTRAP, SI_TIMER,
};
use crate::kernel::wait::{Block, WaitQueueId};
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use serde::{Deserialize, Serialize};

/// A signalfd's state: the signals it reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignalFd {
    pub mask: SigSet,
}

/// The wait queue notified whenever a signal is queued for `tgid` or one
/// of its threads.
pub fn queue(tgid: Tid) -> WaitQueueId {
    (4u64 << 48) | tgid as u32 as u64
}

/// Signals of `mask` pending for `tid` (its own and its process's).
pub fn pending(k: &Kernel, tid: Tid, mask: SigSet) -> u64 {
    let (Some(t), Some(g)) = (
        k.tasks.get(&tid),
        k.tasks.get(&tid).and_then(|t| k.thread_groups.get(&t.tgid)),
    ) else {
        return 0;
    };
    (t.pending.set.0 | g.pending.set.0) & mask.0
}

/// The `signalfd_siginfo` record of a signal.
pub fn record(info: &SigInfo) -> [u8; 128] {
    let w = &info.0;
    let lo = |x: u64| x as u32;
    let hi = |x: u64| (x >> 32) as u32;
    let sig = info.signo();
    let mut b = [0u8; 128];
    let put32 =
        |b: &mut [u8; 128], off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    let put64 =
        |b: &mut [u8; 128], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put32(&mut b, 0, sig as u32);
    put32(&mut b, 4, hi(w[0]));
    put32(&mut b, 8, info.code() as u32);
    if matches!(sig, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP) && info.code() > 0 {
        put64(&mut b, 72, w[2]);
    } else if info.code() == SI_TIMER {
        put32(&mut b, 24, lo(w[2]));
        put32(&mut b, 32, hi(w[2]));
        put32(&mut b, 44, lo(w[3]));
        put64(&mut b, 48, w[3]);
    } else {
        put32(&mut b, 12, lo(w[2]));
        put32(&mut b, 16, hi(w[2]));
        put32(&mut b, 44, lo(w[3]));
        put64(&mut b, 48, w[3]);
        if sig == SIGCHLD {
            put32(&mut b, 40, lo(w[3]));
            put64(&mut b, 56, w[4]);
            put64(&mut b, 64, w[5]);
        }
    }
    b
}

/// Reads pending signals of the file's set, one record each.
pub fn read(k: &mut Kernel, tid: Tid, f: FileId, len: usize) -> Result<Vec<u8>, SysErr> {
    if len < 128 {
        return Err(Errno::EINVAL.into());
    }
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    let FileKind::SignalFd(s) = &of.kind else {
        return Err(Errno::EINVAL.into());
    };
    let (mask, nb) = (s.mask, of.nonblocking());
    let mut out = Vec::new();
    while out.len() + 128 <= len {
        let avail = pending(k, tid, mask);
        if avail == 0 {
            break;
        }
        let sig = avail.trailing_zeros() as i32 + 1;
        let info = match k.task_mut(tid).pending.take(sig) {
            Some(i) => i,
            None => match k.tg_mut(tid).pending.take(sig) {
                Some(i) => i,
                None => break,
            },
        };
        out.extend_from_slice(&record(&info));
    }
    if !out.is_empty() {
        return Ok(out);
    }
    if nb {
        return Err(Errno::EAGAIN.into());
    }
    let q = queue(k.tgid(tid));
    Err(SysErr::Block(Block::on(vec![q])))
}
