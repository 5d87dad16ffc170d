//! eventfd: a 64-bit counter that `write` adds to and `read` takes (all of
//! it, or one in semaphore mode).

use super::file::FileKind;
use super::FileId;
use crate::errno::Errno;
use crate::kernel::wait::{Block, WaitQueueId};
use crate::kernel::Kernel;
use crate::syscalls::SysErr;
use serde::{Deserialize, Serialize};

/// An eventfd's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventFd {
    pub count: u64,
    pub semaphore: bool,
    pub queue: WaitQueueId,
    /// Bumped on every change (edge-triggered epoll).
    pub gen: u64,
}

/// Largest counter value.
const MAX: u64 = u64::MAX - 1;

fn state(k: &mut Kernel, f: FileId) -> Result<(&mut EventFd, bool), Errno> {
    let of = k.vfs.files.get_mut(&f).ok_or(Errno::EBADF)?;
    let nb = of.nonblocking();
    match &mut of.kind {
        FileKind::EventFd(e) => Ok((e, nb)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn read(k: &mut Kernel, f: FileId, len: usize) -> Result<Vec<u8>, SysErr> {
    if len < 8 {
        return Err(Errno::EINVAL.into());
    }
    let (e, nb) = state(k, f)?;
    if e.count == 0 {
        if nb {
            return Err(Errno::EAGAIN.into());
        }
        return Err(SysErr::Block(Block::on(vec![e.queue])));
    }
    let v = if e.semaphore { 1 } else { e.count };
    e.count -= v;
    e.gen += 1;
    let q = e.queue;
    k.notify(q);
    Ok(v.to_le_bytes().to_vec())
}

pub fn write(k: &mut Kernel, f: FileId, data: &[u8]) -> Result<usize, SysErr> {
    if data.len() < 8 {
        return Err(Errno::EINVAL.into());
    }
    let v = u64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
    if v == u64::MAX {
        return Err(Errno::EINVAL.into());
    }
    let (e, nb) = state(k, f)?;
    if MAX - e.count < v {
        if nb {
            return Err(Errno::EAGAIN.into());
        }
        return Err(SysErr::Block(Block::on(vec![e.queue])));
    }
    e.count += v;
    if v > 0 {
        e.gen += 1;
    }
    let q = e.queue;
    k.notify(q);
    Ok(8)
}

/// (readable, writable) now.
pub fn ready(e: &EventFd) -> (bool, bool) {
    (e.count > 0, e.count < MAX)
}
