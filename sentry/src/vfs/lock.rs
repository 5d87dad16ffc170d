//! File locks: `flock` (per open file description) and POSIX record locks
//! (`F_SETLK` & co., per process; `F_OFD_SETLK`, per open file
//! description). Every change notifies one wait queue that all blocked
//! lockers wait on. Locks of a process that is gone are dropped lazily.

use super::node::Node;
use super::FileId;
use crate::errno::Errno;
use crate::kernel::wait::WaitQueueId;
use crate::kernel::Tid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The wait queue of every lock change.
pub const LOCK_QUEUE: WaitQueueId = 3 << 48;

/// `flock` state of one file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Flock {
    pub shared: BTreeSet<FileId>,
    pub excl: Option<FileId>,
}

/// Who owns a record lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Owner {
    Process(Tid),
    Ofd(FileId),
}

/// A record lock on `[start, end)` (`end == u64::MAX`: to end of file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeLock {
    pub owner: Owner,
    pub start: u64,
    pub end: u64,
    pub write: bool,
    /// Reported by `F_GETLK` (-1 for OFD locks).
    pub pid: Tid,
}

/// All locks.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Locks {
    pub flocks: BTreeMap<Node, Flock>,
    pub ranges: BTreeMap<Node, Vec<RangeLock>>,
}

impl Locks {
    /// `flock`: `op` is `LOCK_SH`, `LOCK_EX` or `LOCK_UN`. `Err(EAGAIN)`
    /// means a conflict (the caller blocks or fails); `Err(EDEADLK)` a
    /// conflict after the caller's old lock was dropped (others must be
    /// woken).
    pub fn flock(&mut self, node: Node, f: FileId, op: i32) -> Result<bool, Errno> {
        let l = self.flocks.entry(node).or_default();
        match op {
            libc::LOCK_UN => {
                let changed = l.shared.remove(&f) | (l.excl == Some(f));
                if l.excl == Some(f) {
                    l.excl = None;
                }
                if l.shared.is_empty() && l.excl.is_none() {
                    self.flocks.remove(&node);
                }
                Ok(changed)
            }
            libc::LOCK_SH | libc::LOCK_EX => {
                // As Linux: a conversion drops the old lock first, so a
                // failed (or waiting) upgrade leaves none.
                let want_ex = op == libc::LOCK_EX;
                let holds = if want_ex {
                    l.excl == Some(f)
                } else {
                    l.shared.contains(&f)
                };
                if holds {
                    return Ok(false);
                }
                let mut changed = l.shared.remove(&f);
                if l.excl == Some(f) {
                    l.excl = None;
                    changed = true;
                }
                let conflict = l.excl.is_some() || (want_ex && !l.shared.is_empty());
                if conflict {
                    if changed {
                        return Err(Errno::EDEADLK);
                    }
                    return Err(Errno::EAGAIN);
                }
                if want_ex {
                    l.excl = Some(f);
                } else {
                    l.shared.insert(f);
                }
                Ok(changed)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Drops every lock held through open file `f`; true if any was.
    pub fn release_file(&mut self, f: FileId) -> bool {
        let mut changed = false;
        self.flocks.retain(|_, l| {
            changed |= l.shared.remove(&f);
            if l.excl == Some(f) {
                l.excl = None;
                changed = true;
            }
            !l.shared.is_empty() || l.excl.is_some()
        });
        self.ranges.retain(|_, v| {
            let before = v.len();
            v.retain(|r| r.owner != Owner::Ofd(f));
            changed |= v.len() != before;
            !v.is_empty()
        });
        changed
    }

    /// Drops a process's record locks on `node` (it closed a descriptor of
    /// the file); true if any was held.
    pub fn release_process(&mut self, node: Node, tgid: Tid) -> bool {
        let Some(v) = self.ranges.get_mut(&node) else {
            return false;
        };
        let before = v.len();
        v.retain(|r| r.owner != Owner::Process(tgid));
        let changed = v.len() != before;
        if v.is_empty() {
            self.ranges.remove(&node);
        }
        changed
    }

    /// Drops record locks of processes for which `alive` says false.
    pub fn prune(&mut self, alive: impl Fn(Tid) -> bool) -> bool {
        let mut changed = false;
        self.ranges.retain(|_, v| {
            let before = v.len();
            v.retain(|r| match r.owner {
                Owner::Process(p) => alive(p),
                Owner::Ofd(_) => true,
            });
            changed |= v.len() != before;
            !v.is_empty()
        });
        changed
    }

    /// The first lock that conflicts with `want`.
    pub fn conflict(&self, node: Node, want: &RangeLock) -> Option<RangeLock> {
        self.ranges.get(&node)?.iter().copied().find(|r| {
            r.owner != want.owner
                && r.start < want.end
                && want.start < r.end
                && (r.write || want.write)
        })
    }

    /// Sets (or with `unlock`, clears) `want`'s range for its owner,
    /// splitting and replacing the owner's overlapping locks. The caller
    /// checked for conflicts.
    pub fn set(&mut self, node: Node, want: RangeLock, unlock: bool) {
        let v = self.ranges.entry(node).or_default();
        let mut out = Vec::with_capacity(v.len() + 2);
        for r in v.drain(..) {
            if r.owner != want.owner || r.end <= want.start || want.end <= r.start {
                out.push(r);
                continue;
            }
            if r.start < want.start {
                out.push(RangeLock {
                    end: want.start,
                    ..r
                });
            }
            if want.end < r.end {
                out.push(RangeLock {
                    start: want.end,
                    ..r
                });
            }
        }
        if !unlock {
            out.push(want);
        }
        out.sort_by_key(|r| r.start);
        *v = out;
        if v.is_empty() {
            self.ranges.remove(&node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flock_rules() {
        let mut l = Locks::default();
        let n = Node::Mem(1);
        assert!(l.flock(n, 1, libc::LOCK_SH).is_ok());
        assert!(l.flock(n, 2, libc::LOCK_SH).is_ok());
        // A failed upgrade drops the shared lock it held.
        assert_eq!(l.flock(n, 1, libc::LOCK_EX), Err(Errno::EDEADLK));
        assert!(!l.flocks[&n].shared.contains(&1));
        l.flock(n, 2, libc::LOCK_UN).unwrap();
        assert!(l.flock(n, 1, libc::LOCK_EX).is_ok());
        assert_eq!(l.flock(n, 2, libc::LOCK_SH), Err(Errno::EAGAIN));
        assert!(l.release_file(1));
        assert!(l.flock(n, 2, libc::LOCK_EX).is_ok());
    }

    #[test]
    fn record_locks_split() {
        let mut l = Locks::default();
        let n = Node::Mem(1);
        let p1 = Owner::Process(1);
        let lk = |owner, start, end, write| RangeLock {
            owner,
            start,
            end,
            write,
            pid: 1,
        };
        l.set(n, lk(p1, 0, 100, true), false);
        l.set(n, lk(p1, 40, 60, false), true);
        let v = &l.ranges[&n];
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].start, v[0].end), (0, 40));
        assert_eq!((v[1].start, v[1].end), (60, 100));
        let want = lk(Owner::Process(2), 50, 55, true);
        assert!(l.conflict(n, &want).is_none());
        let want = lk(Owner::Process(2), 30, 45, false);
        assert_eq!(l.conflict(n, &want).map(|r| r.start), Some(0));
        assert!(l.prune(|p| p != 1));
        assert!(l.ranges.is_empty());
    }
}
