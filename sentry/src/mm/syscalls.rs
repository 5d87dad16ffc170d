//! The memory system calls' work: `mmap`, `munmap`, `mprotect`, `brk`,
//! `mremap`, `madvise`, `mincore`, `msync`. Handlers in
//! `syscalls/mmap.rs` decode arguments and call these.

use super::{
    host_prot, platform_err, Backing, MemoryManager, MmHost, Pma, Vma, MMAP_MIN_ADDR, TASK_SIZE,
};
use crate::errno::Errno;
use crate::memory::{page_up, PAGE_SIZE};

/// A decoded `mmap` request.
#[derive(Clone, Debug)]
pub struct MmapOpts {
    pub addr: u64,
    pub len: u64,
    pub prot: i32,
    pub max_prot: i32,
    pub shared: bool,
    pub fixed: bool,
    pub noreplace: bool,
    pub grows_down: bool,
    pub backing: Backing,
    pub name: String,
    pub dev_ino: (u64, u64),
}

fn aligned(a: u64) -> bool {
    a.is_multiple_of(PAGE_SIZE)
}

impl MemoryManager {
    /// Creates a mapping and returns its address. The backing's reference
    /// (file or object) passes to the new VMA on success.
    pub fn mmap(&mut self, o: MmapOpts, h: &mut MmHost) -> Result<u64, Errno> {
        if o.len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(o.len).ok_or(Errno::ENOMEM)?;
        if len > TASK_SIZE {
            return Err(Errno::ENOMEM);
        }
        let start = if o.fixed || o.noreplace {
            if !aligned(o.addr) {
                return Err(Errno::EINVAL);
            }
            let end = o.addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if end > TASK_SIZE || o.addr < MMAP_MIN_ADDR {
                return Err(if o.addr < MMAP_MIN_ADDR {
                    Errno::EPERM
                } else {
                    Errno::ENOMEM
                });
            }
            if end > super::STUB_ADDR && o.addr < super::STUB_ADDR + super::STUB_LEN {
                return Err(Errno::ENOMEM);
            }
            if o.noreplace && !self.is_free(o.addr, end) {
                return Err(Errno::EEXIST);
            }
            o.addr
        } else {
            let hint = o.addr & !(PAGE_SIZE - 1);
            self.find_free(len, hint).ok_or(Errno::ENOMEM)?
        };
        let vma = Vma {
            end: start + len,
            prot: o.prot,
            max_prot: o.max_prot,
            shared: o.shared,
            grows_down: o.grows_down,
            backing: o.backing,
            name: o.name,
            dev_ino: o.dev_ino,
            dont_fork: false,
            locked: false,
        };
        self.insert_vma(start, vma, h)?;
        Ok(start)
    }

    /// `munmap`.
    pub fn munmap(&mut self, addr: u64, len: u64, h: &mut MmHost) -> Result<(), Errno> {
        if !aligned(addr) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end > TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        self.unmap_range(addr, end, h)
    }

    /// True if every byte of `[start, end)` lies in some VMA.
    pub fn fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut pos = start;
        while pos < end {
            match self.vma_at(pos) {
                Some((_, v)) => pos = v.end,
                None => return false,
            }
        }
        true
    }

    /// `mprotect`.
    pub fn mprotect(
        &mut self,
        addr: u64,
        len: u64,
        prot: i32,
        h: &mut MmHost,
    ) -> Result<(), Errno> {
        if !aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let known = libc::PROT_READ
            | libc::PROT_WRITE
            | libc::PROT_EXEC
            | libc::PROT_GROWSDOWN
            | libc::PROT_GROWSUP;
        if prot & !known != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = prot & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if !self.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        for (_, v) in self.vmas.range(..end) {
            if v.end > addr && v.shared && prot & !v.max_prot != 0 {
                return Err(Errno::EACCES);
            }
        }
        self.split_vma(addr, h.files, h.objects);
        self.split_vma(end, h.files, h.objects);
        for (_, v) in self.vmas.range_mut(addr..end) {
            v.prot = prot;
        }
        for (s, e, frame, cow) in self.pmas_in(addr, end) {
            let (_, v) = self.vma_at(s).expect("pma inside a vma");
            let p = host_prot(v, &Pma { end: e, frame, cow });
            if self.host.is_some() {
                self.host_protect(h, s, e - s, p, frame)
                    .map_err(platform_err)?;
            }
        }
        Ok(())
    }

    /// `brk`: returns the new break, or the old one when it cannot move.
    pub fn set_brk(&mut self, new: u64, h: &mut MmHost) -> u64 {
        if new < self.brk_start {
            return self.brk;
        }
        let Some(old_end) = page_up(self.brk) else {
            return self.brk;
        };
        let Some(new_end) = page_up(new) else {
            return self.brk;
        };
        if new_end > old_end {
            if new_end > TASK_SIZE || !self.is_free(old_end, new_end) {
                return self.brk;
            }
            // Extend the heap VMA, or create it.
            let heap = self
                .vmas
                .range(..old_end)
                .next_back()
                .filter(|(_, v)| v.end == old_end && v.name == "[heap]")
                .map(|(&s, _)| s);
            match heap {
                Some(s) => self.vmas.get_mut(&s).expect("present").end = new_end,
                None => {
                    let vma = Vma {
                        end: new_end,
                        prot: libc::PROT_READ | libc::PROT_WRITE,
                        max_prot: libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                        shared: false,
                        grows_down: false,
                        backing: Backing::Anon,
                        name: "[heap]".into(),
                        dev_ino: (0, 0),
                        dont_fork: false,
                        locked: false,
                    };
                    self.vmas.insert(old_end, vma);
                }
            }
        } else if new_end < old_end && self.unmap_range(new_end, old_end, h).is_err() {
            return self.brk;
        }
        self.brk = new;
        new
    }

    /// `mremap`.
    pub fn mremap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: i32,
        new_addr: u64,
        h: &mut MmHost,
    ) -> Result<u64, Errno> {
        let may_move = flags & libc::MREMAP_MAYMOVE != 0;
        let fixed = flags & libc::MREMAP_FIXED != 0;
        if flags & !(libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP) != 0
            || !aligned(old)
            || (fixed && !may_move)
            || new_len == 0
        {
            return Err(Errno::EINVAL);
        }
        if flags & libc::MREMAP_DONTUNMAP != 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::ENOMEM)?;
        if old_len == 0 {
            return self.mremap_duplicate(old, new_len, may_move, h);
        }
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        let (vstart, v) = self
            .vma_at(old)
            .map(|(s, v)| (s, v.clone()))
            .ok_or(Errno::EFAULT)?;
        if old_end > v.end {
            return Err(Errno::EFAULT);
        }
        if !fixed {
            if new_len <= old_len {
                if new_len < old_len {
                    self.unmap_range(old + new_len, old_end, h)?;
                }
                return Ok(old);
            }
            // Grow in place when the old range ends its VMA and room follows.
            if old_end == v.end
                && self.is_free(old_end, old + new_len)
                && old + new_len <= TASK_SIZE
            {
                self.vmas.get_mut(&vstart).expect("present").end = old + new_len;
                return Ok(old);
            }
            if !may_move {
                return Err(Errno::ENOMEM);
            }
        }
        let dest = if fixed {
            if !aligned(new_addr) {
                return Err(Errno::EINVAL);
            }
            let dend = new_addr.checked_add(new_len).ok_or(Errno::EINVAL)?;
            if dend > TASK_SIZE || (new_addr < old_end && dend > old) {
                return Err(Errno::EINVAL);
            }
            self.unmap_range(new_addr, dend, h)?;
            new_addr
        } else {
            self.find_free(new_len, 0).ok_or(Errno::ENOMEM)?
        };
        // The new VMA: same kind, backing shifted to the old start.
        let mut nv = v.clone();
        nv.end = dest + new_len;
        nv.backing = match v.backing {
            Backing::Anon => Backing::Anon,
            Backing::File { file, offset } => {
                h.files.hold_file(file, true);
                Backing::File {
                    file,
                    offset: offset + (old - vstart),
                }
            }
            Backing::Object { object, offset } => {
                h.objects.hold(object);
                Backing::Object {
                    object,
                    offset: offset + (old - vstart),
                }
            }
        };
        let moved_len = old_len.min(new_len);
        // Move the populated pages along with their frames.
        self.split_pma(old);
        self.split_pma(old + moved_len);
        let keys: Vec<u64> = self
            .pmas
            .range(old..old + moved_len)
            .map(|(&k, _)| k)
            .collect();
        self.vmas.insert(dest, nv);
        let mut moved = Vec::new();
        for k in keys {
            let p = self.pmas.remove(&k).expect("present");
            let nk = dest + (k - old);
            let np = Pma {
                end: dest + (p.end - old),
                frame: p.frame,
                cow: p.cow,
            };
            moved.push((nk, np.clone()));
            self.pmas.insert(nk, np);
        }
        let nv = self.vmas.get(&dest).expect("just inserted").clone();
        for (nk, np) in &moved {
            self.host_map(h, *nk, np.end - nk, host_prot(&nv, np), np.frame)
                .map_err(platform_err)?;
        }
        // Remove the old range. Its pmas are gone already, so unmapping it
        // would leave the host mapping of the moved frames in place (only
        // ranges with pmas are unmapped there): a mapping made there later
        // would then reach them without a fault. Unmapped here first.
        if self.host.is_some() {
            self.host_changed();
            h.platform
                .unmap(h.via, old, old_len)
                .map_err(platform_err)?;
        }
        self.unmap_range(old, old_end, h)?;
        Ok(dest)
    }

    /// `mremap` with an old size of 0: a second mapping of the same shared
    /// memory.
    fn mremap_duplicate(
        &mut self,
        old: u64,
        new_len: u64,
        may_move: bool,
        h: &mut MmHost,
    ) -> Result<u64, Errno> {
        let (vstart, v) = self
            .vma_at(old)
            .map(|(s, v)| (s, v.clone()))
            .ok_or(Errno::EFAULT)?;
        if !v.shared || !may_move {
            return Err(Errno::EINVAL);
        }
        let backing = match v.backing {
            Backing::Object { object, offset } => {
                h.objects.hold(object);
                Backing::Object {
                    object,
                    offset: offset + (old - vstart),
                }
            }
            Backing::File { file, offset } => {
                h.files.hold_file(file, true);
                Backing::File {
                    file,
                    offset: offset + (old - vstart),
                }
            }
            Backing::Anon => return Err(Errno::EINVAL),
        };
        let dest = self.find_free(new_len, 0).ok_or(Errno::ENOMEM)?;
        let mut nv = v;
        nv.end = dest + new_len;
        nv.backing = backing;
        self.vmas.insert(dest, nv);
        Ok(dest)
    }

    /// `madvise`.
    pub fn madvise(
        &mut self,
        addr: u64,
        len: u64,
        advice: i32,
        h: &mut MmHost,
    ) -> Result<(), Errno> {
        if !aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        match advice {
            libc::MADV_NORMAL
            | libc::MADV_RANDOM
            | libc::MADV_SEQUENTIAL
            | libc::MADV_WILLNEED
            | libc::MADV_HUGEPAGE
            | libc::MADV_NOHUGEPAGE
            | libc::MADV_MERGEABLE
            | libc::MADV_UNMERGEABLE
            | libc::MADV_DONTDUMP
            | libc::MADV_DODUMP
            | libc::MADV_COLD
            | libc::MADV_PAGEOUT => {
                if !self.fully_mapped(addr, end) {
                    return Err(Errno::ENOMEM);
                }
                Ok(())
            }
            libc::MADV_DONTNEED | libc::MADV_FREE | libc::MADV_REMOVE => {
                if !self.fully_mapped(addr, end) {
                    return Err(Errno::ENOMEM);
                }
                for (_, v) in self.vmas.range(..end) {
                    if v.end > addr && v.locked {
                        return Err(Errno::EINVAL);
                    }
                }
                self.drop_pmas(addr, end, h)
            }
            libc::MADV_DONTFORK | libc::MADV_DOFORK => {
                if !self.fully_mapped(addr, end) {
                    return Err(Errno::ENOMEM);
                }
                self.split_vma(addr, h.files, h.objects);
                self.split_vma(end, h.files, h.objects);
                for (_, v) in self.vmas.range_mut(addr..end) {
                    v.dont_fork = advice == libc::MADV_DONTFORK;
                }
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `mincore`: one byte per page, 1 when the page is resident.
    pub fn mincore(&self, addr: u64, len: u64, h: &MmHost) -> Result<Vec<u8>, Errno> {
        if !aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if !self.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        let mut out = vec![0u8; (len / PAGE_SIZE) as usize];
        for (s, e, frame, _) in self.pmas_in(addr, end) {
            let resident = h.mf.resident(frame, e - s);
            for (i, r) in resident.into_iter().enumerate() {
                out[((s - addr) / PAGE_SIZE) as usize + i] = r;
            }
        }
        Ok(out)
    }

    /// `msync`: memory-backed mappings need nothing written.
    pub fn msync(&self, addr: u64, len: u64, flags: i32) -> Result<(), Errno> {
        if !aligned(addr)
            || flags & !(libc::MS_ASYNC | libc::MS_SYNC | libc::MS_INVALIDATE) != 0
            || (flags & libc::MS_ASYNC != 0 && flags & libc::MS_SYNC != 0)
        {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if !self.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
}
