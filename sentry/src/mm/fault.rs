//! Page faults: populating pmas on first touch and breaking copy-on-write.

use super::{host_prot, platform_err, Backing, MemoryManager, MmHost, Pma, Vma, STACK_GUARD_GAP};
use crate::errno::Errno;
use crate::memory::{page_down, PAGE_SIZE};

/// Anonymous memory is populated this many bytes at a time around a fault
/// (the host allocates the pages only when touched, so this is cheap).
const ANON_WINDOW: u64 = 2 << 20;
/// File-backed memory is read this many bytes at a time around a fault.
const FILE_WINDOW: u64 = 128 << 10;

/// Why an access failed, as the signal Linux would send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultResult {
    /// No mapping there: `SIGSEGV` / `SEGV_MAPERR`.
    MapErr,
    /// Mapped without the needed permission: `SIGSEGV` / `SEGV_ACCERR`.
    AccErr,
    /// Past the end of a mapped file: `SIGBUS` / `BUS_ADRERR`.
    BusErr,
    /// The sandbox ran out of memory.
    Oom,
}

impl From<FaultResult> for Errno {
    fn from(f: FaultResult) -> Errno {
        match f {
            FaultResult::Oom => Errno::ENOMEM,
            _ => Errno::EFAULT,
        }
    }
}

/// The kind of access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

impl MemoryManager {
    /// Grows a stack VMA down to cover `addr`, if one lies just above it.
    fn grow_stack(&mut self, addr: u64, stack_limit: u64) -> bool {
        let Some((&s, v)) = self.vmas.range(addr..).next() else {
            return false;
        };
        if !v.grows_down {
            return false;
        }
        let new_start = page_down(addr);
        if v.end - new_start > stack_limit {
            return false;
        }
        // Keep the guard gap above whatever lies below.
        if let Some((_, below)) = self.vmas.range(..s).next_back() {
            if below.end + STACK_GUARD_GAP > new_start {
                return false;
            }
        }
        let v = self.vmas.remove(&s).expect("present");
        self.vmas.insert(new_start, v);
        true
    }

    /// Resolves an application fault at `addr`: populates the page or makes
    /// it writable, mirroring the change into the stub. `stack_limit` is the
    /// task's `RLIMIT_STACK`.
    pub fn handle_fault(
        &mut self,
        addr: u64,
        access: Access,
        stack_limit: u64,
        h: &mut MmHost,
    ) -> Result<(), FaultResult> {
        if self.vma_at(addr).is_none() && !self.grow_stack(addr, stack_limit) {
            return Err(FaultResult::MapErr);
        }
        let (_, v) = self.vma_at(addr).expect("just checked");
        let ok = match access {
            Access::Read => v.prot & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) != 0,
            Access::Write => v.prot & libc::PROT_WRITE != 0,
            Access::Exec => v.prot & libc::PROT_EXEC != 0,
        };
        if !ok {
            return Err(FaultResult::AccErr);
        }
        self.populate(addr, access == Access::Write, h)
    }

    /// Makes the page at `addr` present (and writable, if `write`), assuming
    /// the VMA allows it.
    pub(super) fn populate(
        &mut self,
        addr: u64,
        write: bool,
        h: &mut MmHost,
    ) -> Result<(), FaultResult> {
        let page = page_down(addr);
        if let Some((_, p)) = self.pma_at(page) {
            let (_, v) = self.vma_at(page).expect("pma inside a vma");
            if write && p.cow && !v.shared {
                return self.break_cow(page, h);
            }
            // Present already: the host lost sync (or a race with another
            // thread that populated it first). Map it again: the part of
            // it in this VMA (it may run on into others; see `pma_pieces`).
            let (s, p) = self.pma_at(page).expect("present");
            let (vs, _) = self.vma_at(page).expect("pma inside a vma");
            let prot = host_prot(v, p);
            let (lo, hi) = (s.max(vs), p.end.min(v.end));
            let (mut start, mut len, mut frame) = (lo, hi - lo, p.frame + (lo - s));
            if h.mf.has_pending() {
                // After a lazy restore the page may still be in the image:
                // load its extent, then map the loaded run around it.
                let at = frame + (page - s);
                h.mf.ensure_loaded(at, PAGE_SIZE);
                if let Some(&(run, n, _)) =
                    h.mf.pending_runs(frame, len)
                        .iter()
                        .find(|&&(run, n, _)| run <= at && at < run + n)
                {
                    start += run - frame;
                    (len, frame) = (n, run);
                }
            }
            return self.host_map(h, start, len, prot, frame).map_err(|e| {
                platform_err(e);
                FaultResult::Oom
            });
        }
        let (vstart, v) = self
            .vma_at(page)
            .map(|(s, v)| (s, v.clone()))
            .ok_or(FaultResult::MapErr)?;
        // The largest absent range around the page, inside the window.
        let window = match v.backing {
            Backing::Anon => ANON_WINDOW,
            _ => FILE_WINDOW,
        };
        let mut lo = (page & !(window - 1)).max(vstart);
        let mut hi = (page & !(window - 1)).saturating_add(window).min(v.end);
        if let Some((_, p)) = self.pmas.range(..page).next_back() {
            lo = lo.max(p.end);
        }
        if let Some((&s, _)) = self.pmas.range(page..).next() {
            hi = hi.min(s);
        }
        match v.backing.clone() {
            Backing::Anon => self.populate_private(lo, hi, &v, None, h),
            Backing::File { file, offset } => {
                let off = offset + (lo - vstart);
                // A file whose data is in sandbox memory: a shared mapping
                // maps its frames, a private one shares them copy-on-write.
                match h.files.file_memory(file) {
                    Some(obj) => {
                        let hi = clip_to_object(obj, page, lo, hi, off, h)?;
                        self.populate_object(lo, hi, &v, obj, off, !v.shared, h)
                    }
                    None => {
                        let key = h.files.mapping_info(file).1;
                        if key != (0, 0) && !v.shared && h.files.file_memory(file).is_none() {
                            self.populate_cached(lo, hi, &v, file, off, key, h)
                        } else {
                            self.populate_private(lo, hi, &v, Some((file, off)), h)
                        }
                    }
                }
            }
            Backing::Object { object, offset } => {
                let off = offset + (lo - vstart);
                let hi = clip_to_object(object, page, lo, hi, off, h)?;
                // A private mapping of an object (the vDSO) copies on write.
                self.populate_object(lo, hi, &v, object, off, !v.shared, h)
            }
        }
    }

    /// Fills `[lo, hi)` with fresh frames: zeros, or file data starting at
    /// the given file offset.
    fn populate_private(
        &mut self,
        lo: u64,
        hi: u64,
        v: &Vma,
        file: Option<(u64, u64)>,
        h: &mut MmHost,
    ) -> Result<(), FaultResult> {
        let len = hi - lo;
        let frame = h.frames.alloc(len).ok_or(FaultResult::Oom)?;
        if let Some((f, off)) = file {
            let mut buf = vec![0u8; len as usize];
            let mut got = 0usize;
            while got < buf.len() {
                match h.read_file(f, off + got as u64, &mut buf[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(_) => break,
                }
            }
            h.mf.write(frame, &buf[..got]);
        }
        let pma = Pma {
            end: hi,
            frame,
            cow: false,
        };
        let prot = host_prot(v, &pma);
        self.pmas.insert(lo, pma);
        self.host_map(h, lo, len, prot, frame).map_err(|e| {
            platform_err(e);
            FaultResult::Oom
        })
    }

    /// Maps `[lo, hi)` of a private file mapping to the file's cached pages,
    /// copy-on-write, reading absent pages from the file first.
    #[allow(clippy::too_many_arguments)]
    fn populate_cached(
        &mut self,
        lo: u64,
        hi: u64,
        v: &Vma,
        file: u64,
        off: u64,
        key: (u64, u64),
        h: &mut MmHost,
    ) -> Result<(), FaultResult> {
        let cache = h.objects.cache_for(key);
        let first = off / PAGE_SIZE;
        let n = (hi - lo) / PAGE_SIZE;
        // Read every absent page of the window into one contiguous run, so
        // that the mappings come out contiguous too.
        let absent: Vec<u64> = (first..first + n)
            .filter(|&i| h.objects.lookup(cache, i).is_none())
            .collect();
        if !absent.is_empty() {
            let run = h
                .frames
                .alloc(absent.len() as u64 * PAGE_SIZE)
                .ok_or(FaultResult::Oom)?;
            let mut buf = vec![0u8; PAGE_SIZE as usize];
            for (j, &idx) in absent.iter().enumerate() {
                buf.fill(0);
                let mut got = 0usize;
                while got < buf.len() {
                    match h
                        .files
                        .read_file(file, idx * PAGE_SIZE + got as u64, &mut buf[got..])
                    {
                        Ok(0) | Err(_) => break,
                        Ok(k) => got += k,
                    }
                }
                let frame = run + j as u64 * PAGE_SIZE;
                h.mf.write(frame, &buf[..got]);
                h.objects.insert_page(cache, idx, frame);
            }
        }
        let mut addr = lo;
        while addr < hi {
            let idx = first + (addr - lo) / PAGE_SIZE;
            let frame = h.objects.lookup(cache, idx).ok_or(FaultResult::Oom)?;
            h.frames.incref(frame, PAGE_SIZE);
            self.add_page(addr, frame, true);
            addr += PAGE_SIZE;
        }
        self.map_range(lo, hi, v, h)
    }

    /// Adds a pma for the page at `addr`, extending the previous pma when
    /// its frames continue contiguously with the same sharing.
    fn add_page(&mut self, addr: u64, frame: u64, cow: bool) {
        if let Some((&s, p)) = self.pmas.range_mut(..addr).next_back() {
            if p.end == addr && p.cow == cow && p.frame + (addr - s) == frame {
                p.end = addr + PAGE_SIZE;
                return;
            }
        }
        let end = addr + PAGE_SIZE;
        self.pmas.insert(addr, Pma { end, frame, cow });
    }

    /// Maps every pma in `[lo, hi)` into the stub.
    fn map_range(&self, lo: u64, hi: u64, v: &Vma, h: &mut MmHost) -> Result<(), FaultResult> {
        for (s, e, frame, cow) in self.pmas_in(lo, hi) {
            let prot = host_prot(v, &Pma { end: e, frame, cow });
            self.host_map(h, s, e - s, prot, frame).map_err(|e| {
                platform_err(e);
                FaultResult::Oom
            })?;
        }
        Ok(())
    }

    /// Maps `[lo, hi)` to the pages of a memory object, starting at byte
    /// offset `off` of it; with `cow`, for a private mapping.
    #[allow(clippy::too_many_arguments)]
    fn populate_object(
        &mut self,
        lo: u64,
        hi: u64,
        v: &Vma,
        obj: u64,
        off: u64,
        cow: bool,
        h: &mut MmHost,
    ) -> Result<(), FaultResult> {
        let mut addr = lo;
        while addr < hi {
            let idx = (off + (addr - lo)) / PAGE_SIZE;
            let frame = h
                .objects
                .frame(obj, idx, h.frames)
                .ok_or(FaultResult::Oom)?;
            h.frames.incref(frame, PAGE_SIZE);
            self.add_page(addr, frame, cow);
            addr += PAGE_SIZE;
        }
        self.map_range(lo, hi, v, h)
    }

    /// Maps the page at `addr` into the stub again as its pma and VMA say
    /// it should be, when it is present and accessible at all. For a fault
    /// that may be stale: returns the host mappings' generation after the
    /// remap, or None when it did not remap.
    pub fn remap_page(&mut self, addr: u64, h: &mut MmHost) -> Option<u64> {
        let page = page_down(addr);
        let accessible = self
            .vma_at(page)
            .is_some_and(|(_, v)| v.prot != libc::PROT_NONE);
        if !accessible || self.pma_at(page).is_none() {
            return None;
        }
        self.populate(page, false, h).ok()?;
        Some(self.host_gen.get())
    }

    /// Gives the page at `page` a frame of its own and makes it writable.
    ///
    /// A page whose frame has no other owner left (the other side of a
    /// fork exited, exec'd or copied it) needs no copy: it is made writable
    /// together with every neighbour of its pma and VMA whose frame has no
    /// other owner either, in one protection change. A parent whose child
    /// is gone then faults once per run, not once per page it writes, and
    /// its next fork write-protects runs, not pages.
    pub(super) fn break_cow(&mut self, page: u64, h: &mut MmHost) -> Result<(), FaultResult> {
        let (s, p) = self
            .pma_at(page)
            .map(|(s, p)| (s, p.clone()))
            .expect("a pma at the faulting page");
        if !h.frames.is_shared(p.frame + (page - s)) {
            return self.take_exclusive_run(page, s, &p, h);
        }
        self.split_pma(page);
        self.split_pma(page + PAGE_SIZE);
        let (_, v) = self
            .vma_at(page)
            .map(|(s, v)| (s, v.clone()))
            .expect("pma inside a vma");
        let p = self.pmas.get_mut(&page).expect("split above");
        let new = h.frames.alloc(PAGE_SIZE).ok_or(FaultResult::Oom)?;
        h.mf.copy_to_fresh(new, p.frame, PAGE_SIZE as usize);
        // Shared: another owner keeps the old frame.
        h.frames.decref(p.frame, PAGE_SIZE);
        p.frame = new;
        p.cow = false;
        let prot = host_prot(&v, p);
        self.host_changed();
        h.platform
            .map(h.via, page, PAGE_SIZE, prot, new)
            .map_err(|e| {
                platform_err(e);
                FaultResult::Oom
            })
    }

    /// [`Self::break_cow`] for a page of one owner, in pma `p` at `s`.
    fn take_exclusive_run(
        &mut self,
        page: u64,
        s: u64,
        p: &Pma,
        h: &mut MmHost,
    ) -> Result<(), FaultResult> {
        let (vs, v) = self
            .vma_at(page)
            .map(|(vs, v)| (vs, v.clone()))
            .expect("pma inside a vma");
        let frame_of = |a: u64| p.frame + (a - s);
        let (lo, hi) = (s.max(vs), p.end.min(v.end));
        let frame = frame_of(page);
        let (mut first, mut end) = h.frames.exclusive_run(frame, frame_of(lo), frame_of(hi));
        if h.mf.has_pending() {
            // After a lazy restore the run's pages may still be in the
            // image: keep what is loaded here at once small.
            first = first.max(frame.saturating_sub(LAZY_RUN / 2));
            end = end.min(frame + LAZY_RUN / 2);
        }
        let (a, b) = (s + (first - p.frame), s + (end - p.frame));
        self.split_pma(a);
        self.split_pma(b);
        let pma = self.pmas.get_mut(&a).expect("split above");
        pma.cow = false;
        let prot = host_prot(&v, pma);
        // With holes (a forked child, a lazy restore) pages of the run may
        // be unmapped, their frames still in the image: loaded here, mapped
        // by `host_protect`.
        if self.host_holes.get() {
            h.mf.ensure_loaded(first, end - first);
        }
        self.host_protect(h, a, b - a, prot, first).map_err(|e| {
            platform_err(e);
            FaultResult::Oom
        })
    }
}

/// The most of a run of one-owner pages made writable at once while pages
/// of a lazy restore are still in the image.
const LAZY_RUN: u64 = 1 << 20;

/// Pages of a memory object wholly past its size fault with `SIGBUS`:
/// fails if `page` is one; otherwise returns `hi` clipped to the last page
/// holding data. `lo` maps to byte offset `off` of the object.
fn clip_to_object(
    obj: u64,
    page: u64,
    lo: u64,
    hi: u64,
    off: u64,
    h: &MmHost,
) -> Result<u64, FaultResult> {
    let size = h.objects.get(obj).map_or(0, |o| o.size);
    let page_off = off + (page - lo);
    if page_off >= size {
        return Err(FaultResult::BusErr);
    }
    let end = lo.saturating_add(
        size.div_ceil(PAGE_SIZE)
            .saturating_mul(PAGE_SIZE)
            .saturating_sub(off),
    );
    Ok(hi.min(end))
}

impl MemoryManager {
    /// Resolves a fault the host reported with `si_code` `code`
    /// (`SEGV_MAPERR` = 1: nothing mapped on the host; `SEGV_ACCERR` = 2:
    /// mapped but the access was not allowed). The host mapping mirrors the
    /// pmas, so an access error on a copy-on-write page of a writable VMA is
    /// a write that must copy; any other access error is the application's.
    pub fn handle_host_fault(
        &mut self,
        addr: u64,
        code: i32,
        stack_limit: u64,
        h: &mut MmHost,
    ) -> Result<(), FaultResult> {
        let page = page_down(addr);
        let Some((_, p)) = self.pma_at(page) else {
            return self.handle_fault(addr, Access::Read, stack_limit, h);
        };
        let (_, v) = self.vma_at(page).expect("pma inside a vma");
        if p.cow && !v.shared && v.prot & libc::PROT_WRITE != 0 {
            return self.break_cow(page, h);
        }
        if code == 1 && v.prot != libc::PROT_NONE {
            return self.populate(page, false, h);
        }
        Err(FaultResult::AccErr)
    }
}
