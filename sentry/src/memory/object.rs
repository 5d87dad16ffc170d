//! Memory objects: page-indexed sets of frames shared by every mapping of
//! them. They back `MAP_SHARED|MAP_ANONYMOUS` memory, tmpfs and memfd file
//! data, and System V shared memory, so that all users see the same pages.

use super::{FrameAllocator, MemoryFile, PAGE_SIZE};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Identifies a memory object in [`MemObjects`].
pub type MemObjectId = u64;

/// One memory object: frames by page index, plus how many holders keep it
/// alive (mappings, inodes).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MemObject {
    pages: BTreeMap<u64, u64>,
    /// Size in bytes, for truncate and `SIGBUS` past the end.
    pub size: u64,
    holders: u32,
}

/// The table of memory objects.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MemObjects {
    next: MemObjectId,
    objects: BTreeMap<MemObjectId, MemObject>,
    /// Page caches of host files, by (device, inode): the pages private
    /// file mappings start from (shared copy-on-write), so that every
    /// process mapping the same library shares its frames.
    #[serde(default)]
    caches: BTreeMap<(u64, u64), MemObjectId>,
}

impl MemObjects {
    /// A new empty object with one holder.
    pub fn create(&mut self, size: u64) -> MemObjectId {
        self.next += 1;
        self.objects.insert(
            self.next,
            MemObject {
                size,
                holders: 1,
                ..Default::default()
            },
        );
        self.next
    }

    /// The page cache object of host file `key`, created on first use.
    pub fn cache_for(&mut self, key: (u64, u64)) -> MemObjectId {
        if let Some(&id) = self.caches.get(&key) {
            return id;
        }
        let id = self.create(u64::MAX);
        self.caches.insert(key, id);
        id
    }

    /// Installs an allocated frame (whose reference passes to the object)
    /// as page `idx`; the page must be absent.
    pub fn insert_page(&mut self, id: MemObjectId, idx: u64, frame: u64) {
        if let Some(o) = self.objects.get_mut(&id) {
            o.pages.insert(idx, frame);
        }
    }

    pub fn get(&self, id: MemObjectId) -> Option<&MemObject> {
        self.objects.get(&id)
    }

    pub fn hold(&mut self, id: MemObjectId) {
        if let Some(o) = self.objects.get_mut(&id) {
            o.holders += 1;
        }
    }

    /// Drops a holder; the last one frees the frames.
    pub fn release(&mut self, id: MemObjectId, frames: &mut FrameAllocator, mf: &MemoryFile) {
        let Some(o) = self.objects.get_mut(&id) else {
            return;
        };
        o.holders -= 1;
        if o.holders > 0 {
            return;
        }
        let o = self.objects.remove(&id).expect("present");
        for (_, f) in o.pages {
            for (s, l) in frames.decref(f, PAGE_SIZE) {
                mf.release(s, l);
            }
        }
    }

    /// The frame of page `idx`, allocated (zeroed) if absent. The caller
    /// gets no reference of its own; take one with `incref` if it keeps it.
    pub fn frame(&mut self, id: MemObjectId, idx: u64, frames: &mut FrameAllocator) -> Option<u64> {
        let o = self.objects.get_mut(&id)?;
        if let Some(&f) = o.pages.get(&idx) {
            return Some(f);
        }
        let f = frames.alloc(PAGE_SIZE)?;
        o.pages.insert(idx, f);
        Some(f)
    }

    /// The frame of page `idx` if it exists.
    pub fn lookup(&self, id: MemObjectId, idx: u64) -> Option<u64> {
        self.objects.get(&id)?.pages.get(&idx).copied()
    }

    /// Reads `buf.len()` bytes at byte offset `off`; holes read as zeros.
    pub fn read(&self, id: MemObjectId, off: u64, buf: &mut [u8], mf: &MemoryFile) {
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off + done as u64;
            let in_page = (pos % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - in_page).min(buf.len() - done);
            match self.lookup(id, pos / PAGE_SIZE) {
                Some(f) => mf.read(f + in_page as u64, &mut buf[done..done + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
    }

    /// Writes `data` at byte offset `off`, allocating pages as needed.
    /// Does not change the size. Fails with `None` when memory is exhausted.
    pub fn write(
        &mut self,
        id: MemObjectId,
        off: u64,
        data: &[u8],
        frames: &mut FrameAllocator,
        mf: &MemoryFile,
    ) -> Option<()> {
        let mut done = 0usize;
        while done < data.len() {
            let pos = off + done as u64;
            let in_page = (pos % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - in_page).min(data.len() - done);
            let f = self.frame(id, pos / PAGE_SIZE, frames)?;
            mf.write(f + in_page as u64, &data[done..done + n]);
            done += n;
        }
        Some(())
    }

    /// Sets the size; pages wholly past the new end are freed and the tail
    /// of a partial last page is zeroed.
    pub fn truncate(
        &mut self,
        id: MemObjectId,
        size: u64,
        frames: &mut FrameAllocator,
        mf: &MemoryFile,
    ) {
        let Some(o) = self.objects.get_mut(&id) else {
            return;
        };
        if size < o.size {
            let first_gone = size.div_ceil(PAGE_SIZE);
            let gone: Vec<u64> = o.pages.range(first_gone..).map(|(&k, _)| k).collect();
            for k in gone {
                let f = o.pages.remove(&k).expect("present");
                for (s, l) in frames.decref(f, PAGE_SIZE) {
                    mf.release(s, l);
                }
            }
            let tail = size % PAGE_SIZE;
            if tail != 0 {
                if let Some(&f) = o.pages.get(&(size / PAGE_SIZE)) {
                    mf.zero(f + tail, (PAGE_SIZE - tail) as usize);
                }
            }
        }
        o.size = size;
    }

    /// Every (object, page index, frame), for checkpoint accounting.
    pub fn all_frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.objects
            .values()
            .flat_map(|o| o.pages.values().copied())
    }
}
