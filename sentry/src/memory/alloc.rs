//! The frame allocator: which pages of the memory file are in use, and how
//! many owners each has. Pure bookkeeping; serialized with the kernel state.

use super::PAGE_SIZE;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Allocation state of the memory file. Frame addresses are byte offsets,
/// page-aligned. Every allocated page has one owner unless `extra_refs`
/// says more.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FrameAllocator {
    /// First offset never handed out.
    top: u64,
    /// Free ranges below `top`: start -> length in bytes, coalesced.
    free: BTreeMap<u64, u64>,
    /// Pages with more than one owner: page offset -> owners beyond the first.
    extra_refs: BTreeMap<u64, u32>,
    /// Bytes currently allocated.
    used: u64,
}

impl FrameAllocator {
    /// Allocates `len` contiguous bytes (a multiple of the page size), or
    /// `None` when the file is exhausted.
    pub fn alloc(&mut self, len: u64) -> Option<u64> {
        debug_assert!(len > 0 && len.is_multiple_of(PAGE_SIZE));
        let hit = self
            .free
            .iter()
            .find(|(_, &l)| l >= len)
            .map(|(&s, &l)| (s, l));
        let start = if let Some((s, l)) = hit {
            self.free.remove(&s);
            if l > len {
                self.free.insert(s + len, l - len);
            }
            s
        } else {
            let s = self.top;
            let end = s.checked_add(len)?;
            if end > super::MEMORY_FILE_SIZE {
                return None;
            }
            self.top = end;
            s
        };
        self.used += len;
        Some(start)
    }

    /// Adds an owner to every page of a range.
    pub fn incref(&mut self, start: u64, len: u64) {
        let mut p = start;
        while p < start + len {
            *self.extra_refs.entry(p).or_insert(0) += 1;
            p += PAGE_SIZE;
        }
    }

    /// True if the page has more than one owner.
    pub fn is_shared(&self, page: u64) -> bool {
        self.extra_refs.contains_key(&page)
    }

    /// The largest range of pages around `page` (which has one owner)
    /// inside `[lo, hi)` in which every page has one owner.
    pub fn exclusive_run(&self, page: u64, lo: u64, hi: u64) -> (u64, u64) {
        debug_assert!(!self.is_shared(page) && lo <= page && page < hi);
        let start = self
            .extra_refs
            .range(lo..page)
            .next_back()
            .map_or(lo, |(&p, _)| p + PAGE_SIZE);
        let end = self
            .extra_refs
            .range(page..hi)
            .next()
            .map_or(hi, |(&p, _)| p);
        (start, end)
    }

    /// Drops an owner from every page of a range. Returns the ranges that
    /// became free, for the caller to release on the host.
    pub fn decref(&mut self, start: u64, len: u64) -> Vec<(u64, u64)> {
        let mut freed: Vec<(u64, u64)> = Vec::new();
        let mut p = start;
        while p < start + len {
            match self.extra_refs.get_mut(&p) {
                Some(n) if *n > 1 => *n -= 1,
                Some(_) => {
                    self.extra_refs.remove(&p);
                }
                None => match freed.last_mut() {
                    Some((s, l)) if *s + *l == p => *l += PAGE_SIZE,
                    _ => freed.push((p, PAGE_SIZE)),
                },
            }
            p += PAGE_SIZE;
        }
        for &(s, l) in &freed {
            self.insert_free(s, l);
        }
        freed
    }

    fn insert_free(&mut self, mut start: u64, mut len: u64) {
        self.used -= len;
        if let Some((&ps, &pl)) = self.free.range(..start).next_back() {
            if ps + pl == start {
                self.free.remove(&ps);
                start = ps;
                len += pl;
            }
        }
        if let Some(&nl) = self.free.get(&(start + len)) {
            self.free.remove(&(start + len));
            len += nl;
        }
        if start + len == self.top {
            self.top = start;
        } else {
            self.free.insert(start, len);
        }
    }

    /// Bytes allocated.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The end of the highest range ever in use; nothing beyond holds data.
    pub fn top(&self) -> u64 {
        self.top
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const P: u64 = PAGE_SIZE;

    #[test]
    fn alloc_free_coalesce() {
        let mut a = FrameAllocator::default();
        let x = a.alloc(2 * P).unwrap();
        let y = a.alloc(P).unwrap();
        let z = a.alloc(P).unwrap();
        assert_eq!((x, y, z), (0, 2 * P, 3 * P));
        assert_eq!(a.decref(y, P), vec![(y, P)]);
        assert_eq!(a.decref(x, 2 * P), vec![(x, 2 * P)]);
        // The two free ranges merged; a 3-page request fits there.
        assert_eq!(a.alloc(3 * P), Some(0));
        a.decref(0, 3 * P);
        a.decref(z, P);
        assert_eq!(a.top(), 0);
        assert_eq!(a.used(), 0);
    }

    #[test]
    fn exclusive_runs_stop_at_shared_pages_and_the_bounds() {
        let mut a = FrameAllocator::default();
        let x = a.alloc(10 * P).unwrap();
        a.incref(x + 2 * P, P);
        a.incref(x + 7 * P, 2 * P);
        assert_eq!(
            a.exclusive_run(x + 4 * P, x, x + 10 * P),
            (x + 3 * P, x + 7 * P)
        );
        assert_eq!(
            a.exclusive_run(x + 3 * P, x, x + 10 * P),
            (x + 3 * P, x + 7 * P)
        );
        assert_eq!(a.exclusive_run(x, x, x + 10 * P), (x, x + 2 * P));
        assert_eq!(
            a.exclusive_run(x + 9 * P, x, x + 10 * P),
            (x + 9 * P, x + 10 * P)
        );
        // Inside narrower bounds.
        assert_eq!(
            a.exclusive_run(x + 4 * P, x + 4 * P, x + 6 * P),
            (x + 4 * P, x + 6 * P)
        );
        // A shared page outside the bounds does not count.
        assert_eq!(a.exclusive_run(x + P, x + P, x + 2 * P), (x + P, x + 2 * P));
        a.decref(x + 2 * P, P);
        assert_eq!(a.exclusive_run(x + 4 * P, x, x + 10 * P), (x, x + 7 * P));
    }

    #[test]
    fn shared_pages_survive_one_decref() {
        let mut a = FrameAllocator::default();
        let x = a.alloc(2 * P).unwrap();
        a.incref(x, 2 * P);
        assert!(a.is_shared(x));
        assert!(a.decref(x, 2 * P).is_empty());
        assert!(!a.is_shared(x));
        assert_eq!(a.decref(x, 2 * P), vec![(x, 2 * P)]);
    }
}
