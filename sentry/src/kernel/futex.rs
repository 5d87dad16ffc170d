//! Futexes: wait queues keyed by a user address.

use super::Tid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Identifies a futex word: private to an address space, or a page of the
/// memory file shared between address spaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FutexKey {
    Private { mm: u64, addr: u64 },
    Shared { frame: u64 },
}

/// Waiters per futex word, in arrival order, with their bitsets.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Futexes {
    waiters: BTreeMap<FutexKey, Vec<(Tid, u32)>>,
}

impl Futexes {
    pub fn enqueue(&mut self, key: FutexKey, tid: Tid, bitset: u32) {
        self.waiters.entry(key).or_default().push((tid, bitset));
    }

    /// True if `tid` waits on some futex.
    pub fn is_waiting(&self, tid: Tid) -> bool {
        self.waiters
            .values()
            .any(|v| v.iter().any(|&(t, _)| t == tid))
    }

    /// Removes `tid` from whatever futex it waits on.
    pub fn remove(&mut self, tid: Tid) {
        self.waiters.retain(|_, v| {
            v.retain(|&(t, _)| t != tid);
            !v.is_empty()
        });
    }

    /// Dequeues up to `n` waiters of `key` whose bitset meets `bitset`.
    pub fn wake(&mut self, key: FutexKey, n: usize, bitset: u32) -> Vec<Tid> {
        let mut out = Vec::new();
        if let Some(v) = self.waiters.get_mut(&key) {
            v.retain(|&(t, b)| {
                if out.len() < n && b & bitset != 0 {
                    out.push(t);
                    false
                } else {
                    true
                }
            });
            if v.is_empty() {
                self.waiters.remove(&key);
            }
        }
        out
    }

    /// Moves up to `n` waiters from `from` to `to`; returns how many moved.
    pub fn requeue(&mut self, from: FutexKey, to: FutexKey, n: usize) -> usize {
        let Some(mut v) = self.waiters.remove(&from) else {
            return 0;
        };
        let k = n.min(v.len());
        let moved: Vec<_> = v.drain(..k).collect();
        if !v.is_empty() {
            self.waiters.insert(from, v);
        }
        self.waiters.entry(to).or_default().extend(moved);
        k
    }

    /// Number of waiters on `key`.
    pub fn count(&self, key: FutexKey) -> usize {
        self.waiters.get(&key).map_or(0, |v| v.len())
    }
}

impl super::Kernel {
    /// The key of the futex word at `addr` in `tid`'s address space: by
    /// frame for shared mappings (unless `private`), else by address.
    pub fn futex_key(
        &mut self,
        tid: Tid,
        addr: u64,
        private: bool,
    ) -> Result<FutexKey, crate::errno::Errno> {
        if !addr.is_multiple_of(4) {
            return Err(crate::errno::Errno::EINVAL);
        }
        let mm = self.tasks[&tid].mm;
        if !private {
            let shared = self.mms[&mm].vma_at(addr).map(|(_, v)| v.shared);
            match shared {
                None => return Err(crate::errno::Errno::EFAULT),
                Some(true) => {
                    // Make the page present, then key by its frame.
                    let _: u32 = self.read_val(tid, addr)?;
                    let m = &self.mms[&mm];
                    let (s, p) = m.pma_at(addr).ok_or(crate::errno::Errno::EFAULT)?;
                    return Ok(FutexKey::Shared {
                        frame: p.frame + (addr - s),
                    });
                }
                Some(false) => {}
            }
        }
        Ok(FutexKey::Private { mm, addr })
    }

    /// Wakes up to `n` waiters of the futex at `addr` (both key kinds).
    /// Returns how many woke.
    pub fn futex_wake_addr(&mut self, tid: Tid, addr: u64, n: usize) -> usize {
        let mut woke = 0;
        for private in [true, false] {
            if let Ok(key) = self.futex_key(tid, addr, private) {
                woke += self.futex_wake(key, n - woke, u32::MAX);
            }
            if woke >= n {
                break;
            }
        }
        woke
    }

    /// Wakes waiters of `key`; each returns 0 from its `FUTEX_WAIT`.
    pub fn futex_wake(&mut self, key: FutexKey, n: usize, bitset: u32) -> usize {
        let tids = self.futexes.wake(key, n, bitset);
        let k = tids.len();
        for t in tids {
            self.wake(t, super::task::Pending::Complete(0));
        }
        k
    }
}
