//! epoll: an interest list of (descriptor, open file) pairs. Readiness is
//! computed from the files whenever the list is scanned; a waiter sleeps on
//! the wait queues of every file of interest.
//!
//! Edge-triggered items report when the file's state changed since the
//! last report (its generation counter, or its event mask for files without
//! one); one-shot items are disabled after a report until `EPOLL_CTL_MOD`.
//! Items whose open file is gone are dropped (Linux removes them when the
//! file is released).

use super::file::FileKind;
use super::poll::{self, Ready};
use super::FileId;
use crate::errno::Errno;
use crate::kernel::wait::WaitQueueId;
use crate::kernel::Kernel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const EPOLLET: u32 = libc::EPOLLET as u32;
pub const EPOLLONESHOT: u32 = libc::EPOLLONESHOT as u32;
pub const EPOLLEXCLUSIVE: u32 = libc::EPOLLEXCLUSIVE as u32;
pub const EPOLLWAKEUP: u32 = libc::EPOLLWAKEUP as u32;

/// One registered file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpItem {
    pub events: u32,
    pub data: u64,
    /// Generation and mask at the last report (edge-triggered).
    pub last_gen: Option<u64>,
    pub last_mask: u32,
    /// A one-shot item that fired.
    pub disabled: bool,
}

/// An epoll instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Epoll {
    pub items: BTreeMap<(i32, FileId), EpItem>,
    pub queue: WaitQueueId,
    /// Where the next scan starts, so that a small `maxevents` does not
    /// starve later items.
    pub cursor: Option<(i32, FileId)>,
}

impl Epoll {
    pub fn new(queue: WaitQueueId) -> Epoll {
        Epoll {
            items: BTreeMap::new(),
            queue,
            cursor: None,
        }
    }
}

/// The result of a scan.
#[derive(Default)]
pub struct Scan {
    /// (events, data) to report.
    pub events: Vec<(u32, u64)>,
    /// What to wait on when nothing is ready.
    pub wait: Ready,
}

fn epoll_of(k: &Kernel, f: FileId) -> Option<&Epoll> {
    match &k.vfs.files.get(&f)?.kind {
        FileKind::Epoll(e) => Some(e),
        _ => None,
    }
}

fn epoll_mut(k: &mut Kernel, f: FileId) -> Option<&mut Epoll> {
    match &mut k.vfs.files.get_mut(&f)?.kind {
        FileKind::Epoll(e) => Some(e),
        _ => None,
    }
}

/// Scans the interest list of epoll file `ep`. With `consume`, reported
/// events count as delivered (edge-triggered and one-shot bookkeeping), and
/// at most `max` are taken.
pub fn scan_max(
    k: &mut Kernel,
    tid: crate::kernel::Tid,
    ep: FileId,
    depth: u32,
    consume: bool,
    max: usize,
) -> Scan {
    let mut out = Scan::default();
    let Some(e) = epoll_of(k, ep) else {
        return out;
    };
    out.wait.queues.push(e.queue);
    let mut keys: Vec<(i32, FileId)> = e.items.keys().copied().collect();
    if let Some(c) = e.cursor {
        let split = keys.partition_point(|&x| x <= c);
        keys.rotate_left(split);
    }
    let mut gen = 0u64;
    let mut dead = Vec::new();
    let mut last_taken = None;
    for key in keys {
        if !k.vfs.files.contains_key(&key.1) {
            dead.push(key);
            continue;
        }
        let Some(item) = epoll_of(k, ep).and_then(|e| e.items.get(&key)).cloned() else {
            continue;
        };
        if item.disabled {
            continue;
        }
        let r = poll::ready(k, tid, key.1, item.events, depth);
        gen = gen
            .wrapping_mul(31)
            .wrapping_add(r.gen)
            .wrapping_add(r.mask as u64);
        let mask = r.mask & (item.events | poll::ERR | poll::HUP);
        let report = mask != 0
            && (item.events & EPOLLET == 0
                || if r.gen != 0 {
                    item.last_gen != Some(r.gen)
                } else {
                    item.last_mask != mask
                });
        if item.events & EPOLLET != 0 && r.gen == 0 && mask == 0 && consume {
            // Not ready: the next readiness is an edge.
            if let Some(it) = epoll_mut(k, ep).and_then(|e| e.items.get_mut(&key)) {
                it.last_mask = 0;
            }
        }
        if report && out.events.len() < max {
            out.events.push((mask, item.data));
            if consume {
                last_taken = Some(key);
                if let Some(it) = epoll_mut(k, ep).and_then(|e| e.items.get_mut(&key)) {
                    it.last_gen = Some(r.gen);
                    it.last_mask = mask;
                    if it.events & EPOLLONESHOT != 0 {
                        it.disabled = true;
                    }
                }
            }
        } else if !report || out.events.len() >= max {
            out.wait.merge_wait(&r);
        }
    }
    out.wait.gen = gen;
    if let Some(e) = epoll_mut(k, ep) {
        for d in dead {
            e.items.remove(&d);
        }
        if consume && last_taken.is_some() {
            e.cursor = last_taken;
        }
    }
    out
}

/// Scans without a limit.
pub fn scan(
    k: &mut Kernel,
    tid: crate::kernel::Tid,
    ep: FileId,
    depth: u32,
    consume: bool,
) -> Scan {
    scan_max(k, tid, ep, depth, consume, usize::MAX)
}

/// True if epoll `inner` is `outer` or watches it, directly or not (adding
/// `inner` to `outer` would make a loop), or nests too deep.
fn creates_loop(k: &Kernel, outer: FileId, inner: FileId, depth: u32) -> bool {
    if inner == outer {
        return true;
    }
    if depth > poll::MAX_NESTING {
        return true;
    }
    let Some(e) = epoll_of(k, inner) else {
        return false;
    };
    e.items
        .keys()
        .any(|&(_, f)| epoll_of(k, f).is_some() && creates_loop(k, outer, f, depth + 1))
}

/// `epoll_ctl`.
pub fn ctl(
    k: &mut Kernel,
    ep: FileId,
    op: i32,
    fd: i32,
    target: FileId,
    events: u32,
    data: u64,
) -> Result<(), Errno> {
    if epoll_of(k, ep).is_none() {
        return Err(Errno::EINVAL);
    }
    if target == ep {
        return Err(Errno::EINVAL);
    }
    let tkind_ok = match k.vfs.files.get(&target).map(|o| &o.kind) {
        Some(FileKind::Regular) | Some(FileKind::Dir { .. }) => false,
        Some(FileKind::Stdio(s)) => k.vfs.stdio.kind(*s) != super::stdio::HostKind::File,
        Some(_) => true,
        None => return Err(Errno::EBADF),
    };
    if !tkind_ok {
        return Err(Errno::EPERM);
    }
    let key = (fd, target);
    let events = events & !EPOLLWAKEUP;
    match op {
        libc::EPOLL_CTL_ADD => {
            if epoll_of(k, ep).is_some_and(|e| e.items.contains_key(&key)) {
                return Err(Errno::EEXIST);
            }
            if epoll_of(k, target).is_some() {
                if events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                if creates_loop(k, ep, target, 1) {
                    return Err(Errno::ELOOP);
                }
            }
            if events & EPOLLEXCLUSIVE != 0 && events & (EPOLLONESHOT) != 0 {
                return Err(Errno::EINVAL);
            }
            let e = epoll_mut(k, ep).ok_or(Errno::EINVAL)?;
            e.items.insert(
                key,
                EpItem {
                    events,
                    data,
                    last_gen: None,
                    last_mask: 0,
                    disabled: false,
                },
            );
        }
        libc::EPOLL_CTL_MOD => {
            if events & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            let e = epoll_mut(k, ep).ok_or(Errno::EINVAL)?;
            let it = e.items.get_mut(&key).ok_or(Errno::ENOENT)?;
            if it.events & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            it.events = events;
            it.data = data;
            it.disabled = false;
            it.last_gen = None;
            it.last_mask = 0;
        }
        libc::EPOLL_CTL_DEL => {
            let e = epoll_mut(k, ep).ok_or(Errno::EINVAL)?;
            e.items.remove(&key).ok_or(Errno::ENOENT)?;
        }
        _ => return Err(Errno::EINVAL),
    }
    if let Some(q) = epoll_of(k, ep).map(|e| e.queue) {
        k.notify(q);
    }
    Ok(())
}
