//! Address spaces: virtual memory areas (what the application asked for)
//! and the frames of the memory file that back them (what is populated).
//!
//! A `Vma` is a range with protections and a backing (anonymous, a file, or
//! a shared memory object). A `Pma` ("populated memory area", gVisor's
//! name) maps part of a VMA to a contiguous range of frames. The host stub's
//! mappings always equal the pmas: every change to a pma is mirrored into the
//! stub at once, through the platform.
//!
//! Private memory after `fork` is shared copy-on-write: both sides keep the
//! frames with one more reference and a `cow` mark, mapped read-only; the
//! first write to a page that still has another owner copies it.
//!
//! Lock order: none; the sentry is single-threaded. Every function that
//! takes an [`MmHost`] needs a *stopped* thread of this address space in it.

mod fault;
pub mod patch;
mod syscalls;
mod usercopy;

pub use fault::{Access, FaultResult};
pub use syscalls::MmapOpts;
pub use usercopy::{bytes_of, bytes_of_mut, zeroed, Pod};

use crate::errno::Errno;
use crate::memory::{FrameAllocator, MemObjectId, MemObjects, MemoryFile, PAGE_SIZE};
use crate::platform::{AddressSpaceId, Platform, PlatformError, ThreadId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::platform::ptrace::TASK_SIZE;
pub use crate::platform::{RESERVED_ADDR as STUB_ADDR, RESERVED_LEN as STUB_LEN};

/// Identifies an address space in the kernel's table.
pub type MmId = u64;

/// Lowest address `mmap` hands out (Linux `vm.mmap_min_addr`).
pub const MMAP_MIN_ADDR: u64 = 0x10000;
/// Gap kept below a stack that grows down (Linux `stack_guard_gap`).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

/// Where file data for a file-backed mapping comes from.
pub trait FileSource {
    /// Reads file data at `offset`; a short read means end of file.
    fn read_file(&mut self, file: u64, offset: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    /// The memory object holding the file's pages, for files whose data lives
    /// in sandbox memory (tmpfs, overlay upper): shared mappings map these
    /// frames directly.
    fn file_memory(&mut self, file: u64) -> Option<MemObjectId>;
    /// Takes or drops a reference on the open file, held by a mapping.
    fn hold_file(&mut self, file: u64, hold: bool);
    /// The name, device and inode that `/proc/[pid]/maps` shows.
    fn mapping_info(&mut self, file: u64) -> (String, (u64, u64));
    /// Opens an executable (a program interpreter) by path, as seen from
    /// filesystem context `fs`; the caller owns one reference.
    fn open_exec(&mut self, fs: u64, path: &[u8]) -> Result<u64, Errno>;
}

/// A `FileSource` for contexts that map no files.
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read_file(&mut self, _: u64, _: u64, _: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EIO)
    }
    fn file_memory(&mut self, _: u64) -> Option<MemObjectId> {
        None
    }
    fn hold_file(&mut self, _: u64, _: bool) {}
    fn mapping_info(&mut self, _: u64) -> (String, (u64, u64)) {
        (String::new(), (0, 0))
    }
    fn open_exec(&mut self, _: u64, _: &[u8]) -> Result<u64, Errno> {
        Err(Errno::ENOENT)
    }
}

/// The host side that an address space operation needs.
pub struct MmHost<'a> {
    pub frames: &'a mut FrameAllocator,
    pub mf: &'a MemoryFile,
    pub objects: &'a mut MemObjects,
    pub platform: &'a mut dyn Platform,
    pub files: &'a mut dyn FileSource,
    /// A stopped thread of this address space.
    pub via: ThreadId,
}

impl MmHost<'_> {
    /// Reads file data for a mapping: from the file's memory object when its
    /// data lives in sandbox memory, else through the file source.
    pub fn read_file(&mut self, file: u64, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if let Some(obj) = self.files.file_memory(file) {
            let size = self.objects.get(obj).map_or(0, |o| o.size);
            if offset >= size {
                return Ok(0);
            }
            let n = (size - offset).min(buf.len() as u64) as usize;
            self.objects.read(obj, offset, &mut buf[..n], self.mf);
            return Ok(n);
        }
        self.files.read_file(file, offset, buf)
    }
}

/// What backs a VMA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backing {
    /// Zero-filled memory.
    Anon,
    /// An open file, at this file offset for the VMA's start. The VMA holds a
    /// reference on the open file description.
    File { file: u64, offset: u64 },
    /// A shared memory object, at this byte offset for the VMA's start.
    Object { object: MemObjectId, offset: u64 },
}

/// A virtual memory area.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vma {
    pub end: u64,
    /// `PROT_*`.
    pub prot: i32,
    /// Largest protection allowed (a file opened read-only cannot become a
    /// writable shared mapping).
    pub max_prot: i32,
    pub shared: bool,
    pub grows_down: bool,
    pub backing: Backing,
    /// What `/proc/[pid]/maps` shows: a path, `[heap]`, `[stack]`, or empty.
    pub name: String,
    /// Device and inode numbers shown in maps for file mappings.
    pub dev_ino: (u64, u64),
    /// `MADV_DONTFORK`.
    pub dont_fork: bool,
    pub locked: bool,
}

/// A populated range: `[start, end)` maps to frames starting at `frame`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pma {
    pub end: u64,
    pub frame: u64,
    /// The frames may have other owners: writing must copy first.
    pub cow: bool,
}

/// An application address space.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MemoryManager {
    pub vmas: BTreeMap<u64, Vma>,
    pub pmas: BTreeMap<u64, Pma>,
    /// Start of the heap (end of the program's data), and current break.
    pub brk_start: u64,
    pub brk: u64,
    /// Top of the region that `mmap` allocates downwards from.
    pub mmap_base: u64,
    /// Ranges of argv and envp on the initial stack (for /proc cmdline).
    pub argv: (u64, u64),
    pub envp: (u64, u64),
    /// Auxiliary vector as given to the program (for /proc auxv).
    pub auxv: Vec<(u64, u64)>,
    /// Path of the executable (for /proc exe).
    pub exe: String,
    /// Tasks that use this address space.
    pub users: u32,
    /// Host address space; rebuilt on restore.
    #[serde(skip)]
    pub host: Option<AddressSpaceId>,
    /// Some pmas were left unmapped in the host address space because
    /// their frames were still in a checkpoint image (lazy restore): the
    /// host mappings are a subset of the pmas, so protection changes
    /// remap instead of `mprotect`, which fails on holes.
    #[serde(skip)]
    pub host_holes: std::cell::Cell<bool>,
    /// Counts changes to the host mappings (map, protect, unmap), so that
    /// a fault retried as stale can tell whether anything changed since.
    #[serde(skip)]
    pub host_gen: std::cell::Cell<u64>,
}

impl MemoryManager {
    /// Maps `len` bytes of frames from `frame` at `addr` into the stub,
    /// except frames still in a checkpoint image: those stay unmapped, so
    /// that the application faults on them and they are loaded first.
    pub(crate) fn host_map(
        &self,
        h: &mut MmHost,
        addr: u64,
        len: u64,
        prot: i32,
        frame: u64,
    ) -> Result<(), PlatformError> {
        self.host_changed();
        if !h.mf.has_pending() {
            return h.platform.map(h.via, addr, len, prot, frame);
        }
        for (start, n, pending) in h.mf.pending_runs(frame, len) {
            if pending {
                self.host_holes.set(true);
            } else {
                h.platform
                    .map(h.via, addr + (start - frame), n, prot, start)?;
            }
        }
        Ok(())
    }

    /// Changes the host protection of `[addr, addr+len)`, mapped from
    /// `frame`. Where the host mappings may have holes (see
    /// [`MemoryManager::host_map`]), the range is mapped again with the
    /// new protection instead.
    pub(crate) fn host_protect(
        &self,
        h: &mut MmHost,
        addr: u64,
        len: u64,
        prot: i32,
        frame: u64,
    ) -> Result<(), PlatformError> {
        self.host_changed();
        if !self.host_holes.get() {
            return h.platform.protect(h.via, addr, len, prot);
        }
        self.host_map(h, addr, len, prot, frame)
    }

    pub(crate) fn host_changed(&self) {
        self.host_gen.set(self.host_gen.get().wrapping_add(1));
    }
}

fn platform_err(e: PlatformError) -> Errno {
    tracing::error!("address space operation failed on the host: {e}");
    Errno::EFAULT
}

/// Effective host protection of a pma inside `vma`.
fn host_prot(vma: &Vma, pma: &Pma) -> i32 {
    let mut p = vma.prot;
    if pma.cow && !vma.shared {
        p &= !libc::PROT_WRITE;
    }
    p
}

impl MemoryManager {
    pub fn new(mmap_base: u64) -> MemoryManager {
        MemoryManager {
            mmap_base,
            ..Default::default()
        }
    }

    /// The VMA containing `addr`, as (start, vma).
    pub fn vma_at(&self, addr: u64) -> Option<(u64, &Vma)> {
        let (&s, v) = self.vmas.range(..=addr).next_back()?;
        (addr < v.end).then_some((s, v))
    }

    /// The pma containing `addr`, as (start, pma).
    pub fn pma_at(&self, addr: u64) -> Option<(u64, &Pma)> {
        let (&s, p) = self.pmas.range(..=addr).next_back()?;
        (addr < p.end).then_some((s, p))
    }

    /// Splits the VMA containing `at` so that one starts exactly at `at`.
    fn split_vma(&mut self, at: u64, files: &mut dyn FileSource, objects: &mut MemObjects) {
        let Some((s, v)) = self.vma_at(at) else {
            return;
        };
        if s == at {
            return;
        }
        let mut hi = v.clone();
        let delta = at - s;
        hi.backing = match hi.backing {
            Backing::Anon => Backing::Anon,
            Backing::File { file, offset } => {
                files.hold_file(file, true);
                Backing::File {
                    file,
                    offset: offset + delta,
                }
            }
            Backing::Object { object, offset } => {
                objects.hold(object);
                Backing::Object {
                    object,
                    offset: offset + delta,
                }
            }
        };
        self.vmas.get_mut(&s).expect("present").end = at;
        self.vmas.insert(at, hi);
    }

    /// Splits the pma containing `at` so that one starts exactly at `at`.
    fn split_pma(&mut self, at: u64) {
        let Some((s, p)) = self.pma_at(at) else {
            return;
        };
        if s == at {
            return;
        }
        let hi = Pma {
            end: p.end,
            frame: p.frame + (at - s),
            cow: p.cow,
        };
        self.pmas.get_mut(&s).expect("present").end = at;
        self.pmas.insert(at, hi);
    }

    /// Drops the frames of every pma in `[start, end)` and unmaps them on
    /// the host.
    fn drop_pmas(&mut self, start: u64, end: u64, h: &mut MmHost) -> Result<(), Errno> {
        self.split_pma(start);
        self.split_pma(end);
        let keys: Vec<u64> = self.pmas.range(start..end).map(|(&k, _)| k).collect();
        if keys.is_empty() {
            return Ok(());
        }
        for k in keys {
            let p = self.pmas.remove(&k).expect("present");
            for (s, l) in h.frames.decref(p.frame, p.end - k) {
                h.mf.release(s, l);
            }
        }
        if self.host.is_some() {
            self.host_changed();
            h.platform
                .unmap(h.via, start, end - start)
                .map_err(platform_err)?;
        }
        Ok(())
    }

    /// Removes every mapping in `[start, end)`.
    pub fn unmap_range(&mut self, start: u64, end: u64, h: &mut MmHost) -> Result<(), Errno> {
        self.split_vma(start, h.files, h.objects);
        self.split_vma(end, h.files, h.objects);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            let v = self.vmas.remove(&k).expect("present");
            self.release_backing(&v.backing, h);
        }
        self.drop_pmas(start, end, h)
    }

    fn release_backing(&mut self, b: &Backing, h: &mut MmHost) {
        match *b {
            Backing::Anon => {}
            Backing::File { file, .. } => h.files.hold_file(file, false),
            Backing::Object { object, .. } => h.objects.release(object, h.frames, h.mf),
        }
    }

    /// True if `[start, end)` overlaps no VMA.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        if let Some((_, v)) = self.vmas.range(..start).next_back() {
            if v.end > start {
                return false;
            }
        }
        self.vmas.range(start..end).next().is_none()
            && !(start < STUB_ADDR + STUB_LEN && end > STUB_ADDR)
    }

    /// Finds a free range of `len` bytes, top-down from `mmap_base`,
    /// keeping the guard gap below stacks. `hint` is tried first.
    pub fn find_free(&self, len: u64, hint: u64) -> Option<u64> {
        if hint >= MMAP_MIN_ADDR
            && hint.checked_add(len).is_some_and(|e| e <= TASK_SIZE)
            && self.fits(hint, len)
        {
            return Some(hint);
        }
        let mut top = self.mmap_base;
        for (&s, v) in self.vmas.range(..self.mmap_base).rev() {
            if v.end <= top && top - v.end >= len && self.fits(top - len, len) {
                return Some(top - len);
            }
            top = top.min(s);
        }
        if top >= MMAP_MIN_ADDR + len && self.fits(top - len, len) {
            return Some(top - len);
        }
        None
    }

    /// True if `[start, start+len)` is free and clear of stack guard gaps.
    fn fits(&self, start: u64, len: u64) -> bool {
        let end = start + len;
        if !self.is_free(start, end) {
            return false;
        }
        // A stack growing down needs its gap kept free below it.
        if let Some((&s, v)) = self.vmas.range(end..).next() {
            if v.grows_down && s - end < STACK_GUARD_GAP {
                return false;
            }
        }
        true
    }

    /// Inserts a VMA at `[start, end)`, replacing whatever is there.
    pub fn insert_vma(&mut self, start: u64, vma: Vma, h: &mut MmHost) -> Result<(), Errno> {
        self.unmap_range(start, vma.end, h)?;
        self.vmas.insert(start, vma);
        Ok(())
    }

    /// Every pma in `[start, end)`, each clipped, as (start, end, frame, cow).
    pub fn pmas_in(&self, start: u64, end: u64) -> Vec<(u64, u64, u64, bool)> {
        let mut out = Vec::new();
        let first = self.pma_at(start).map(|(s, _)| s).unwrap_or(start);
        for (&s, p) in self.pmas.range(first..end) {
            let a = s.max(start);
            let b = p.end.min(end);
            if a < b {
                out.push((a, b, p.frame + (a - s), p.cow));
            }
        }
        out
    }

    /// The pma at `s` cut where VMAs begin and end, each piece as (start,
    /// end, frame, host protection). A pma populated in one piece can span
    /// VMAs that mprotect split apart later, each with its own protection:
    /// the host gets each piece with its own.
    pub(super) fn pma_pieces(&self, s: u64, p: &Pma) -> Vec<(u64, u64, u64, i32)> {
        let mut out = Vec::new();
        let first = self.vma_at(s).map(|(vs, _)| vs).unwrap_or(s);
        for (&vs, v) in self.vmas.range(first..p.end) {
            let (a, b) = (vs.max(s), v.end.min(p.end));
            if a < b {
                out.push((a, b, p.frame + (a - s), host_prot(v, p)));
            }
        }
        out
    }

    /// Maps every pma into a fresh host address space (after fork or
    /// restore).
    pub fn map_all(&self, h: &mut MmHost) -> Result<(), Errno> {
        for (&s, p) in &self.pmas {
            for (a, b, frame, prot) in self.pma_pieces(s, p) {
                self.host_map(h, a, b - a, prot, frame)
                    .map_err(platform_err)?;
            }
        }
        Ok(())
    }

    /// A copy of this address space for a forked child. Private memory
    /// becomes copy-on-write on both sides; shared memory stays shared. The
    /// child has no host address space yet.
    pub fn fork(&mut self, h: &mut MmHost) -> Result<MemoryManager, Errno> {
        let mut child = MemoryManager {
            vmas: BTreeMap::new(),
            pmas: BTreeMap::new(),
            users: 0,
            host: None,
            host_holes: std::cell::Cell::new(false),
            host_gen: std::cell::Cell::new(0),
            ..self.clone()
        };
        for (&s, v) in &self.vmas {
            if v.dont_fork {
                continue;
            }
            match v.backing {
                Backing::File { file, .. } => h.files.hold_file(file, true),
                Backing::Object { object, .. } => h.objects.hold(object),
                Backing::Anon => {}
            }
            child.vmas.insert(s, v.clone());
        }
        let keys: Vec<u64> = self.pmas.keys().copied().collect();
        for s in keys {
            let v = self
                .vma_at(s)
                .map(|(_, v)| v.clone())
                .expect("pma inside a vma");
            if v.dont_fork {
                continue;
            }
            let p = self.pmas.get_mut(&s).expect("present");
            h.frames.incref(p.frame, p.end - s);
            if !v.shared {
                let was_cow = std::mem::replace(&mut p.cow, true);
                let p = p.clone();
                if !was_cow && self.host.is_some() {
                    // Each VMA the pma runs into keeps its own protection,
                    // less the write permission.
                    for (a, b, frame, prot) in self.pma_pieces(s, &p) {
                        if self
                            .vma_at(a)
                            .is_some_and(|(_, w)| w.prot & libc::PROT_WRITE != 0)
                        {
                            self.host_protect(h, a, b - a, prot, frame)
                                .map_err(platform_err)?;
                        }
                    }
                }
            }
            child.pmas.insert(s, self.pmas[&s].clone());
        }
        Ok(child)
    }

    /// Releases everything (the last user is gone).
    pub fn release_all(&mut self, h: &mut MmHost) {
        let vmas = std::mem::take(&mut self.vmas);
        for v in vmas.values() {
            self.release_backing(&v.backing, h);
        }
        for (s, p) in std::mem::take(&mut self.pmas) {
            for (fs, l) in h.frames.decref(p.frame, p.end - s) {
                h.mf.release(fs, l);
            }
        }
    }

    /// Bytes of populated memory (for /proc status `VmRSS`).
    pub fn resident(&self) -> u64 {
        self.pmas.iter().map(|(s, p)| p.end - s).sum()
    }

    /// Bytes of address space (`VmSize`).
    pub fn virtual_size(&self) -> u64 {
        self.vmas.iter().map(|(s, v)| v.end - s).sum()
    }
}
