//! The memory file: one `memfd` that backs every page of application memory.
//!
//! The sentry maps the whole file into its own address space once, so it
//! reads and writes application memory directly; stubs map ranges of the same
//! file `MAP_SHARED`. Pages ("frames") are handed out by a serializable
//! allocator with per-page reference counts for copy-on-write sharing; a frame
//! whose last reference goes away has its host pages released by punching a
//! hole in the file.
//!
//! Concurrency: application threads write these pages while the sentry runs.
//! The sentry therefore never forms Rust references into the mapping; every
//! access is a raw copy (`read`, `write`, `copy`, `zero`).
//!
//! After a lazy restore ([`lazy`]) some ranges of the file are still in the
//! checkpoint image: every accessor here loads the range it touches first,
//! and `release` forgets what it frees, so callers need not know.

mod alloc;
pub mod lazy;
pub mod object;

pub use alloc::FrameAllocator;
pub use object::{MemObjectId, MemObjects};

use lazy::LazyPages;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// Size of a page.
pub const PAGE_SIZE: u64 = 4096;

/// Virtual size of the memory file: offsets into it are frame addresses.
/// Nothing is allocated on the host until a page is touched.
pub const MEMORY_FILE_SIZE: u64 = 1 << 40;

/// Rounds down to a page boundary.
pub const fn page_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary, or `None` on overflow.
pub const fn page_up(x: u64) -> Option<u64> {
    match x.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}

/// A buffer of `len` bytes that start on a page boundary, for copies
/// between the page cache or the memory file and the sentry: the host's
/// string copies run several times slower when the two sides are
/// misaligned against each other, as a plain `Vec`'s bytes are (a large
/// allocation starts 16 bytes into its pages).
pub struct PageBuf {
    bytes: Vec<u8>,
    start: usize,
    len: usize,
}

impl PageBuf {
    pub fn new(len: usize) -> PageBuf {
        let bytes = vec![0u8; len + PAGE_SIZE as usize];
        let start = bytes.as_ptr().align_offset(PAGE_SIZE as usize);
        PageBuf { bytes, start, len }
    }
}

impl std::ops::Deref for PageBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for PageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..self.start + self.len]
    }
}

/// Writes all of `data` into the file `fd` at `off` (`pwrite`, again
/// after a short write or an interruption).
pub fn write_all_at(fd: impl AsFd, data: &[u8], off: u64) -> std::io::Result<()> {
    let mut done = 0;
    while done < data.len() {
        let at = (off + done as u64) as libc::off_t;
        match nix::sys::uio::pwrite(fd.as_fd(), &data[done..], at) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Failures to set up or use the host side of the memory file.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("memfd_create for the memory file failed: {0}")]
    Create(nix::errno::Errno),
    #[error("sizing the memory file failed: {0}")]
    Size(nix::errno::Errno),
    #[error("mapping the memory file into the sentry failed: {0}")]
    Map(nix::errno::Errno),
}

/// Gives pages of the memory file back to the host, from any thread: see
/// [`MemoryFile::releaser`].
pub struct Releaser<'a> {
    fd: std::os::fd::BorrowedFd<'a>,
    lazy: Option<&'a LazyPages>,
}

impl Releaser<'_> {
    /// Frees the host pages of `[off, off+len)`, which reads as zeros
    /// afterwards. The caller holds no slice of the range.
    pub fn release(&self, off: u64, len: u64) -> std::io::Result<()> {
        if let Some(l) = self.lazy {
            l.forget(off, len);
        }
        // SAFETY: fallocate on our own descriptor; no memory is passed.
        let r = unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as i64,
                len as i64,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The host side of the memory file: the descriptor and the sentry's
/// mapping of it. Not serialized; the page contents are saved separately.
pub struct MemoryFile {
    fd: OwnedFd,
    base: *mut u8,
    /// Pages still in a checkpoint image, after a lazy restore.
    lazy: Option<Arc<LazyPages>>,
    loaders: Vec<std::thread::JoinHandle<()>>,
}

impl MemoryFile {
    /// Creates an empty memory file and maps it whole into the sentry.
    pub fn new() -> Result<MemoryFile, MemoryError> {
        // SAFETY: memfd_create with a static NUL-terminated name; the result
        // is checked before use.
        let raw = unsafe { libc::memfd_create(c"runsc-memory".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(MemoryError::Create(nix::errno::Errno::last()));
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        // SAFETY: ftruncate on our own descriptor.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), MEMORY_FILE_SIZE as i64) } < 0 {
            return Err(MemoryError::Size(nix::errno::Errno::last()));
        }
        // SAFETY: a fresh shared mapping of our own file, placed by the host.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                MEMORY_FILE_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(MemoryError::Map(nix::errno::Errno::last()));
        }
        Ok(MemoryFile {
            fd,
            base: base as *mut u8,
            lazy: None,
            loaders: Vec::new(),
        })
    }

    /// A second descriptor of the file (for page loaders).
    pub fn dup_fd(&self) -> std::io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// Makes the pending extents of `lazy` part of this file: they are
    /// loaded whenever something here touches them. No loader runs yet.
    pub fn attach_lazy(&mut self, lazy: Arc<LazyPages>) {
        self.lazy = Some(lazy);
    }

    /// Starts `n` threads that load the pending extents in the background.
    pub fn start_loaders(&mut self, n: usize) {
        if let Some(l) = &self.lazy {
            if l.active() {
                self.loaders = l.start_loaders(n);
            }
        }
    }

    /// The lazy restore's state, if this file came from one.
    pub fn lazy(&self) -> Option<&Arc<LazyPages>> {
        self.lazy.as_ref()
    }

    /// True while some pages are still in a checkpoint image.
    pub fn has_pending(&self) -> bool {
        self.lazy.as_ref().is_some_and(|l| l.active())
    }

    /// `[off, off+len)` split into runs (start, length, pending): what may
    /// be mapped into a stub (loaded) and what must fault first.
    pub fn pending_runs(&self, off: u64, len: u64) -> Vec<(u64, u64, bool)> {
        match &self.lazy {
            Some(l) => l.runs(off, len),
            None => vec![(off, len, false)],
        }
    }

    /// True once pages of a lazy restore could not be loaded.
    pub fn pages_lost(&self) -> bool {
        self.lazy.as_ref().is_some_and(|l| l.failed())
    }

    /// Loads whatever of `[off, off+len)` is still in the image.
    pub fn ensure_loaded(&self, off: u64, len: u64) {
        if let Some(l) = &self.lazy {
            l.ensure(off, len);
        }
    }

    /// Loads every pending page (before the file is read whole).
    pub fn load_all(&self) {
        if let Some(l) = &self.lazy {
            l.load_all();
        }
    }

    /// The host descriptor, for stubs to map from.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn check(&self, off: u64, len: usize) {
        assert!(
            off.checked_add(len as u64)
                .is_some_and(|end| end <= MEMORY_FILE_SIZE),
            "memory file access out of range: {off:#x}+{len:#x}"
        );
    }

    /// Copies bytes at file offset `off` into `dst`.
    pub fn read(&self, off: u64, dst: &mut [u8]) {
        self.check(off, dst.len());
        self.ensure_loaded(off, dst.len() as u64);
        // SAFETY: the range lies inside our live mapping (checked above); the
        // source may be written concurrently by the application, which a raw
        // byte copy tolerates.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(off as usize), dst.as_mut_ptr(), dst.len())
        }
    }

    /// The bytes at file offset `off`, borrowed straight from the mapping:
    /// for saving a checkpoint, which reads a gigabyte without copying it
    /// first. The caller must have stopped every task that could write
    /// these pages (the kernel is quiesced) for as long as it holds the
    /// slice; the sentry itself does not write through `&self` meanwhile.
    pub fn frozen_bytes(&self, off: u64, len: usize) -> &[u8] {
        self.check(off, len);
        self.ensure_loaded(off, len as u64);
        // SAFETY: the range lies inside our live mapping (checked above),
        // which lives as long as `self`; no task runs while the kernel is
        // quiesced, so nothing changes the bytes during the borrow.
        unsafe { std::slice::from_raw_parts(self.base.add(off as usize), len) }
    }

    /// Copies `src` to file offset `off`.
    pub fn write(&self, off: u64, src: &[u8]) {
        self.check(off, src.len());
        self.ensure_loaded(off, src.len() as u64);
        // SAFETY: as in `read`; the destination is inside our mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.base.add(off as usize), src.len())
        }
    }

    /// Copies `len` bytes between two file offsets (ranges may overlap).
    pub fn copy(&self, dst: u64, src: u64, len: usize) {
        self.check(dst, len);
        self.check(src, len);
        self.ensure_loaded(dst, len as u64);
        self.ensure_loaded(src, len as u64);
        // SAFETY: both ranges are inside our mapping.
        unsafe {
            std::ptr::copy(
                self.base.add(src as usize),
                self.base.add(dst as usize),
                len,
            )
        }
    }

    /// Copies `len` bytes from `src` into `dst`, frames fresh from the
    /// allocator that hold nothing yet (a hole each), as a copy-on-write
    /// break does. Written through the descriptor, so the host allocates
    /// the pages without clearing them first and without mapping them into
    /// the sentry, which costs a fault per page; where that write fails,
    /// copied through the mapping.
    pub fn copy_to_fresh(&self, dst: u64, src: u64, len: usize) {
        self.check(dst, len);
        self.check(src, len);
        self.ensure_loaded(src, len as u64);
        // SAFETY: the source range is inside our mapping and loaded; the
        // destination frames are fresh, so they cannot overlap it.
        let from = unsafe { std::slice::from_raw_parts(self.base.add(src as usize), len) };
        if write_all_at(&self.fd, from, dst).is_err() {
            self.copy(dst, src, len);
        }
    }

    /// Reads the host file `fd` from `off` into the frames `runs` (frame,
    /// length), in order, with `preadv` straight into the sentry's mapping
    /// of them: one copy where reading into a buffer first took two.
    /// Returns the bytes read, fewer at the file's end.
    pub fn read_from_host(
        &self,
        fd: RawFd,
        runs: &[(u64, usize)],
        off: u64,
    ) -> Result<usize, nix::errno::Errno> {
        const IOV_MAX: usize = 1024;
        let total: usize = runs.iter().map(|&(_, l)| l).sum();
        let mut got = 0usize;
        while got < total {
            // The runs from `got` on, the first cut where `got` is.
            let mut skip = got;
            let mut iov: Vec<libc::iovec> = Vec::new();
            for &(frame, len) in runs {
                if skip >= len {
                    skip -= len;
                    continue;
                }
                self.check(frame, len);
                self.ensure_loaded(frame, len as u64);
                iov.push(libc::iovec {
                    // SAFETY: inside our mapping (checked above).
                    iov_base: unsafe { self.base.add((frame as usize) + skip) }
                        as *mut libc::c_void,
                    iov_len: len - skip,
                });
                skip = 0;
                if iov.len() == IOV_MAX {
                    break;
                }
            }
            // SAFETY: every iovec points into our mapping, at frames the
            // caller made present and that nothing else uses during the
            // call; `fd` is a host descriptor of the caller's.
            let n = unsafe {
                libc::preadv(
                    fd,
                    iov.as_ptr(),
                    iov.len() as i32,
                    (off + got as u64) as libc::off_t,
                )
            };
            match n {
                n if n > 0 => got += n as usize,
                0 => break,
                _ => match nix::errno::Errno::last() {
                    nix::errno::Errno::EINTR => {}
                    e if got == 0 => return Err(e),
                    _ => break,
                },
            }
        }
        Ok(got)
    }

    /// Fills a range with zeros.
    pub fn zero(&self, off: u64, len: usize) {
        self.check(off, len);
        self.ensure_loaded(off, len as u64);
        // SAFETY: the range is inside our mapping.
        unsafe { std::ptr::write_bytes(self.base.add(off as usize), 0, len) }
    }

    /// Gives the host pages of a range back; it reads as zeros afterwards.
    pub fn release(&self, off: u64, len: u64) {
        self.check(off, len as usize);
        if let Err(e) = self.releaser().release(off, len) {
            tracing::warn!("punching a hole in the memory file failed: {e}");
        }
    }

    /// What gives pages back to the host from another thread (this type
    /// is not shared between threads: it holds the mapping's address).
    pub fn releaser(&self) -> Releaser<'_> {
        Releaser {
            fd: self.fd.as_fd(),
            lazy: self.lazy.as_deref(),
        }
    }

    /// For each page of `[off, off+len)`, 1 if the host holds it in memory.
    pub fn resident(&self, off: u64, len: u64) -> Vec<u8> {
        self.check(off, len as usize);
        let mut v = vec![0u8; len.div_ceil(PAGE_SIZE) as usize];
        // SAFETY: mincore over a page-aligned range of our own mapping.
        let r = unsafe {
            libc::mincore(
                self.base.add(off as usize) as *mut libc::c_void,
                len as usize,
                v.as_mut_ptr(),
            )
        };
        if r < 0 {
            v.fill(1);
        }
        v.iter_mut().for_each(|b| *b &= 1);
        v
    }

    /// Ranges of the file that hold data on the host (`SEEK_DATA`), clipped
    /// to `[0, limit)`. Pages still in a checkpoint image are loaded first:
    /// they hold data too.
    pub fn data_ranges(&self, limit: u64) -> Vec<(u64, u64)> {
        self.load_all();
        let mut out = Vec::new();
        let mut pos: i64 = 0;
        while (pos as u64) < limit {
            // SAFETY: lseek on our own descriptor.
            let start = unsafe { libc::lseek(self.fd.as_raw_fd(), pos, libc::SEEK_DATA) };
            if start < 0 || start as u64 >= limit {
                break;
            }
            // SAFETY: as above.
            let end = unsafe { libc::lseek(self.fd.as_raw_fd(), start, libc::SEEK_HOLE) };
            let end = if end < 0 {
                limit
            } else {
                (end as u64).min(limit)
            };
            out.push((start as u64, end));
            pos = end as i64;
        }
        out
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        if let Some(l) = &self.lazy {
            l.stop();
        }
        for t in self.loaders.drain(..) {
            let _ = t.join();
        }
        // SAFETY: unmapping exactly the mapping made in `new`.
        unsafe { libc::munmap(self.base as *mut libc::c_void, MEMORY_FILE_SIZE as usize) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_write_release() {
        let mf = MemoryFile::new().unwrap();
        mf.write(PAGE_SIZE * 3 + 10, b"hello");
        let mut b = [0u8; 5];
        mf.read(PAGE_SIZE * 3 + 10, &mut b);
        assert_eq!(&b, b"hello");
        mf.copy(PAGE_SIZE * 7, PAGE_SIZE * 3, PAGE_SIZE as usize);
        mf.read(PAGE_SIZE * 7 + 10, &mut b);
        assert_eq!(&b, b"hello");
        let ranges = mf.data_ranges(1 << 30);
        assert!(ranges
            .iter()
            .any(|&(s, e)| s <= PAGE_SIZE * 3 && e > PAGE_SIZE * 3));
        mf.release(PAGE_SIZE * 3, PAGE_SIZE);
        mf.read(PAGE_SIZE * 3 + 10, &mut b);
        assert_eq!(&b, &[0u8; 5]);
    }
}
