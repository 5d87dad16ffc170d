//! The vDSO: `clock_gettime`, `gettimeofday`, `time` and `getcpu` served in
//! the application's address space without a system call, as Linux and
//! gVisor do.
//!
//! The image is a small position-independent shared object built from
//! `sentry/vdso/vdso.c` by `build.rs` and embedded here ([`IMAGE`]). Two
//! memory objects per kernel ([`VdsoObject`]) hold it and the time data
//! page, which every address space maps right below the image:
//!
//! ```text
//! [vvar]  one page: time data, written by the sentry
//! [vdso]  the image (AT_SYSINFO_EHDR points here)
//! ```
//!
//! Every new address space maps both ([`map`]), private and read-only
//! (each at offset 0 of its object, as `/proc/self/maps` shows on Linux),
//! so all of them share the same frames: one write through the memory file
//! reaches every process. `fork` copies the mappings like any other;
//! `execve` maps them afresh.
//!
//! The data page holds the [`tsc::Params`] of the sentry's own clock under
//! a sequence counter (see `tsc` for how they are kept). The main loop
//! calls [`Kernel::vdso_tick`], which refreshes them every so often. The
//! memory object is part of the checkpoint like any other; after a restore
//! [`Kernel::vdso_restore`] takes the old host's parameters away before any
//! task runs and derives new ones from this host's TSC.
//!
//! The page's layout (`struct vvar` in `vdso.c`, [`field`]) may change
//! only with `STATE_VERSION`, except `seq` and `mode`, which never move: a
//! restored image whose vDSO differs from this build's is told through
//! them to make system calls.

pub mod tsc;

pub use tsc::{Params, Timekeeper};

use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::memory::{FrameAllocator, MemObjectId, MemObjects, MemoryFile, PAGE_SIZE};
use crate::mm::{Access, Backing, MemoryManager, MmHost, MmapOpts};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{fence, Ordering};

/// The vDSO image, built from `sentry/vdso/vdso.c`.
pub static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// Pages of time data right below the image (`vvar_page` in `vdso.lds`).
pub const VVAR_PAGES: u64 = 1;

/// Pages the image takes.
pub fn image_pages() -> u64 {
    (IMAGE.len() as u64).div_ceil(PAGE_SIZE)
}

/// Byte offsets of the data page's fields (`struct vvar` in `vdso.c`).
pub mod field {
    /// Sequence counter, odd while the sentry writes. Never moves.
    pub const SEQ: u64 = 0;
    /// [`super::MODE_SYSCALL`] or [`super::MODE_TSC`]. Never moves.
    pub const MODE: u64 = 4;
    pub const TSC_BASE: u64 = 8;
    pub const MONO_BASE: u64 = 16;
    pub const WALL_OFFSET: u64 = 24;
    pub const MULT: u64 = 32;
    pub const SHIFT: u64 = 40;
}

/// The vDSO makes system calls.
pub const MODE_SYSCALL: u32 = 0;
/// The vDSO computes time from the TSC and the page's parameters.
pub const MODE_TSC: u32 = 1;

/// The kernel's vDSO memory objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VdsoObject {
    /// The time data page ([`VVAR_PAGES`] long).
    pub data: MemObjectId,
    /// The image.
    pub image: MemObjectId,
    /// The object holds this build's image, so the data page may be
    /// written in this build's layout (false until checked after restore).
    #[serde(skip)]
    pub current: bool,
}

/// The time data page, written through the memory file.
pub struct DataPage<'a> {
    mf: &'a MemoryFile,
    frame: u64,
}

impl DataPage<'_> {
    fn read_u32(&self, off: u64) -> u32 {
        let mut b = [0u8; 4];
        self.mf.read(self.frame + off, &mut b);
        u32::from_le_bytes(b)
    }

    fn write_u32(&self, off: u64, v: u32) {
        self.mf.write(self.frame + off, &v.to_le_bytes());
    }

    fn write_u64(&self, off: u64, v: u64) {
        self.mf.write(self.frame + off, &v.to_le_bytes());
    }

    /// Makes the counter odd: readers wait (or retry) until [`finish`].
    /// The counter continues from what the page holds, so that a reader
    /// caught in the middle across a restore still sees a change.
    ///
    /// [`finish`]: DataPage::finish
    pub fn begin(&self) -> u32 {
        let seq = self.read_u32(field::SEQ);
        let odd = seq.wrapping_add(if seq % 2 == 1 { 2 } else { 1 });
        self.write_u32(field::SEQ, odd);
        // The odd count is visible before anything after it (x86 keeps
        // stores in order; this also keeps the TSC read of an update after
        // it).
        fence(Ordering::SeqCst);
        odd
    }

    /// Writes `params` (`None`: make system calls) and makes the counter
    /// even again.
    pub fn finish(&self, seq: u32, params: Option<&Params>) {
        match params {
            Some(p) => {
                self.write_u64(field::TSC_BASE, p.tsc_base);
                self.write_u64(field::MONO_BASE, p.mono_base);
                self.write_u64(field::WALL_OFFSET, p.wall_offset);
                self.write_u64(field::MULT, p.mult);
                self.write_u32(field::SHIFT, tsc::SHIFT);
                self.write_u32(field::MODE, MODE_TSC);
            }
            None => self.write_u32(field::MODE, MODE_SYSCALL),
        }
        fence(Ordering::SeqCst);
        self.write_u32(field::SEQ, seq.wrapping_add(1));
    }
}

/// Creates the vDSO's memory objects: a zeroed data page (mode: system
/// calls) and the image. The caller owns one reference to each. `None` if
/// memory ran out.
pub fn create_objects(
    objects: &mut MemObjects,
    frames: &mut FrameAllocator,
    mf: &MemoryFile,
) -> Option<VdsoObject> {
    let data = objects.create(VVAR_PAGES * PAGE_SIZE);
    let image = objects.create(image_pages() * PAGE_SIZE);
    let ok = objects
        .write(image, 0, IMAGE, frames, mf)
        .and_then(|_| objects.frame(data, 0, frames))
        .is_some();
    if !ok {
        objects.release(data, frames, mf);
        objects.release(image, frames, mf);
        return None;
    }
    Some(VdsoObject {
        data,
        image,
        current: true,
    })
}

/// True if `object` holds this build's image.
fn holds_this_image(objects: &MemObjects, object: MemObjectId, mf: &MemoryFile) -> bool {
    if objects.get(object).map(|o| o.size) != Some(image_pages() * PAGE_SIZE) {
        return false;
    }
    let mut b = vec![0u8; IMAGE.len()];
    objects.read(object, 0, &mut b, mf);
    b == IMAGE
}

/// Maps the vDSO into `mm`, data page first and the image right above it,
/// anywhere free in the mmap area (as Linux does), and populates both.
/// Returns the image's address (`AT_SYSINFO_EHDR`).
pub fn map(mm: &mut MemoryManager, vdso: &VdsoObject, h: &mut MmHost) -> Result<u64, Errno> {
    let vvar_len = VVAR_PAGES * PAGE_SIZE;
    let image_len = image_pages() * PAGE_SIZE;
    let start = mm.find_free(vvar_len + image_len, 0).ok_or(Errno::ENOMEM)?;
    let opts = |addr, len, prot, max_prot, object, name: &str| MmapOpts {
        addr,
        len,
        prot,
        max_prot,
        shared: false,
        fixed: true,
        noreplace: false,
        grows_down: false,
        backing: Backing::Object { object, offset: 0 },
        name: name.to_string(),
        dev_ino: (0, 0),
    };
    let read = libc::PROT_READ;
    let rx = libc::PROT_READ | libc::PROT_EXEC;
    let rwx = rx | libc::PROT_WRITE;
    // Each mapping holds its object.
    h.objects.hold(vdso.data);
    if let Err(e) = mm.mmap(opts(start, vvar_len, read, read, vdso.data, "[vvar]"), h) {
        h.objects.release(vdso.data, h.frames, h.mf);
        return Err(e);
    }
    h.objects.hold(vdso.image);
    let image = start + vvar_len;
    if let Err(e) = mm.mmap(opts(image, image_len, rx, rwx, vdso.image, "[vdso]"), h) {
        h.objects.release(vdso.image, h.frames, h.mf);
        mm.unmap_range(start, start + vvar_len, h)?;
        return Err(e);
    }
    // Every process touches both at once (the dynamic loader reads the
    // image's headers, the first clock call the data page): populate them
    // now rather than at two faults.
    let mut page = start;
    while page < image + image_len {
        if let Err(e) = mm.handle_fault(page, Access::Read, u64::MAX, h) {
            tracing::debug!("vDSO: populating {page:#x}: {e:?}");
        }
        page += PAGE_SIZE;
    }
    Ok(image)
}

impl Kernel {
    /// The vDSO's memory objects, created on first use. `None` if memory
    /// ran out (programs then run without a vDSO).
    pub fn vdso_object(&mut self) -> Option<VdsoObject> {
        if let Some(v) = self.clock.vdso {
            if v.current {
                return Some(v);
            }
        }
        let mf = &self.host.as_ref()?.mf;
        let vdso = create_objects(&mut self.objects, &mut self.frames, mf)?;
        // A restored image's vDSO of another build stays with the
        // processes that map it (in system call mode); new programs get
        // this build's.
        if let Some(old) = self.clock.vdso.take() {
            self.objects.release(old.data, &mut self.frames, mf);
            self.objects.release(old.image, &mut self.frames, mf);
        }
        self.clock.vdso = Some(vdso);
        self.vdso_publish(false);
        Some(vdso)
    }

    /// Called by the main loop whenever it wakes: refreshes the time
    /// parameters when an update is due.
    pub fn vdso_tick(&mut self) {
        if self.clock.tsc.due() {
            self.vdso_publish(true);
        }
    }

    /// Rewrites the data page, after recomputing the parameters if
    /// `update`. The sample is taken while the counter is odd, so that no
    /// reader goes on with the old parameters past the new base: readers
    /// wait meanwhile (about a microsecond), or make the system call if it
    /// takes long (the host preempted the sentry), which is served after.
    fn vdso_publish(&mut self, update: bool) {
        let vdso = self.clock.vdso;
        let frame = vdso.and_then(|v| self.objects.lookup(v.data, 0));
        let page = match (self.host.as_ref(), frame) {
            (Some(host), Some(frame)) => Some(DataPage {
                mf: &host.mf,
                frame,
            }),
            _ => None,
        };
        let seq = page.as_ref().map(DataPage::begin);
        if update {
            self.clock.tsc.update(&mut self.clock.mono_offset);
        }
        if let (Some(page), Some(seq)) = (page, seq) {
            let current = vdso.is_some_and(|v| v.current);
            page.finish(seq, self.clock.tsc.params().filter(|_| current));
        }
    }

    /// After a restore, before any task runs: the data page holds the old
    /// host's TSC parameters, which mean nothing here. The vDSO makes
    /// system calls until the TSC is calibrated again, which this waits
    /// for (a few ms). `Clock::resume_from_saved` must have run.
    pub fn vdso_restore(&mut self) {
        if let (Some(v), Some(host)) = (self.clock.vdso.as_mut(), self.host.as_ref()) {
            v.current = holds_this_image(&self.objects, v.image, &host.mf);
            if !v.current {
                tracing::info!(
                    "vDSO: the restored image's vDSO is another build's; it makes system calls"
                );
            }
        }
        self.clock.tsc = Timekeeper::start();
        self.vdso_publish(false);
        let give_up = std::time::Instant::now() + std::time::Duration::from_millis(50);
        while self.clock.tsc.calibrating() && std::time::Instant::now() < give_up {
            if self.clock.tsc.due() {
                self.vdso_publish(true);
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests;
