//! Lazy restore: ranges of the memory file whose contents are still in a
//! checkpoint image ("pending extents"), loaded in the background while the
//! restored application runs.
//!
//! A restore registers every saved extent of the image here instead of
//! copying it: the application starts at once. Loader threads then stream
//! the extents in order, and whoever needs an extent before the loaders
//! reach it loads it on the spot: the memory file's own accessors (every
//! sentry read or write of application memory) and the address space code,
//! which maps a pending range into a stub only once it is loaded, so that
//! an application access to it faults into the sentry.
//!
//! An extent is loaded in one of two ways ([`Method`]):
//!
//! - **populate**: the host allocates its pages in the memory file in one
//!   call (`MADV_POPULATE_WRITE` on a mapping of the file that only loaders
//!   use), reads the image straight into them, and the extent's CRC32C is
//!   computed there while the bytes are still in cache. Nothing looks at
//!   the range meanwhile (it is `loading`, see below); a bad extent is
//!   wiped (its pages punched out) before its record goes.
//! - **write**: the image is read into a buffer of the loader's own, the
//!   CRC32C checked there, and the extent written into the memory file
//!   (`pwrite`). The host then allocates the pages without clearing them
//!   first and without mapping them anywhere, which costs less than
//!   populating; but it serializes the writers of one file.
//!
//! So the first loader thread writes and the second populates, and the
//! two run side by side (populating takes no lock that writing holds): on
//! a 2-core machine, 1 GB is loaded in 0.44-0.47 s this way, where two
//! populating threads took 0.65 s. A thread that needs an extent at once
//! populates it.
//!
//! Each extent is loaded once: its record is marked `loading` under the lock
//! by the thread that loads it, and others that need it wait on a condition
//! variable until it is gone from the map. Freeing frames drops the records
//! they cover whole (nothing needs their data any more) and loads those
//! they cover in part.
//!
//! A checksum mismatch cannot be undone (the application runs already):
//! the extent is left as zeros (a hole), its record dropped, and the failure kept
//! for the kernel's loop, which ends the sandbox with it
//! ([`LazyPages::failure`]).

use super::{write_all_at, PageBuf, PAGE_SIZE};
use crate::state::crc::crc32c;
use crate::state::image::MAX_EXTENT_BYTES;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Background loader threads of a lazy restore.
pub const LOADER_THREADS: usize = 2;

/// How a thread loads an extent (see the module's comment).
enum Method {
    /// Allocate through the loaders' mapping, read into it, check there.
    Populate,
    /// Read into this buffer (one largest extent long), check, `pwrite`.
    Write(PageBuf),
}

/// One extent still in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingExtent {
    /// Pages it covers, from its frame (the map's key).
    pub pages: u32,
    /// Where its bytes are in the image.
    pub file_offset: u64,
    /// CRC32C of its bytes.
    pub checksum: u32,
}

impl PendingExtent {
    fn len(&self) -> u64 {
        u64::from(self.pages) * PAGE_SIZE
    }
}

/// A record of the map: the extent and whether a thread is loading it.
#[derive(Clone, Copy, Debug)]
struct Record {
    extent: PendingExtent,
    loading: bool,
}

/// The pending extents by frame offset, sorted and disjoint. Pure
/// bookkeeping, separate from the threads and files so it can be tested
/// alone.
#[derive(Debug, Default)]
pub struct PendingMap {
    records: BTreeMap<u64, Record>,
    /// Bytes still pending.
    bytes: u64,
}

impl PendingMap {
    /// Adds an extent at `frame`; extents must not overlap.
    pub fn insert(&mut self, frame: u64, extent: PendingExtent) {
        debug_assert!(self.overlapping(frame, extent.len()).is_none());
        self.bytes += extent.len();
        self.records.insert(
            frame,
            Record {
                extent,
                loading: false,
            },
        );
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes still pending.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The first extent (lowest frame) overlapping `[off, off+len)`, as
    /// (frame, extent, loading).
    fn overlapping(&self, off: u64, len: u64) -> Option<(u64, PendingExtent, bool)> {
        let end = off.saturating_add(len);
        // The extent that starts below `off` may reach into the range.
        let below = self
            .records
            .range(..off)
            .next_back()
            .filter(|(&f, r)| f + r.extent.len() > off);
        below
            .or_else(|| self.records.range(off..end).next())
            .map(|(&f, r)| (f, r.extent, r.loading))
    }

    /// True if any byte of `[off, off+len)` is pending.
    pub fn any_pending(&self, off: u64, len: u64) -> bool {
        self.overlapping(off, len).is_some()
    }

    /// Splits `[off, off+len)` into runs, each (start, length, pending),
    /// in order.
    pub fn runs(&self, off: u64, len: u64) -> Vec<(u64, u64, bool)> {
        let end = off + len;
        let mut out: Vec<(u64, u64, bool)> = Vec::new();
        let mut push = |s: u64, e: u64, pending: bool| {
            if s >= e {
                return;
            }
            match out.last_mut() {
                Some((ls, ll, lp)) if *lp == pending && *ls + *ll == s => *ll += e - s,
                _ => out.push((s, e - s, pending)),
            }
        };
        let mut pos = off;
        let first = self
            .records
            .range(..off)
            .next_back()
            .map(|(&f, _)| f)
            .unwrap_or(off);
        for (&f, r) in self.records.range(first..end) {
            let (s, e) = (f.max(off), (f + r.extent.len()).min(end));
            if e <= pos {
                continue;
            }
            push(pos, s, false);
            push(s.max(pos), e, true);
            pos = e;
        }
        push(pos, end, false);
        out
    }

    /// The first extent at or after `from` that no thread loads yet.
    fn next_idle(&self, from: u64) -> Option<(u64, PendingExtent)> {
        self.records
            .range(from..)
            .chain(self.records.range(..from))
            .find(|(_, r)| !r.loading)
            .map(|(&f, r)| (f, r.extent))
    }

    fn set_loading(&mut self, frame: u64) {
        if let Some(r) = self.records.get_mut(&frame) {
            r.loading = true;
        }
    }

    /// Drops the record at `frame`.
    fn remove(&mut self, frame: u64) {
        if let Some(r) = self.records.remove(&frame) {
            self.bytes -= r.extent.len();
        }
    }
}

/// Where pending extents come from: the image, and the memory file they
/// go into (a descriptor of its own, so loaders need not borrow the
/// sentry's mapping).
#[derive(Debug)]
pub struct PageSource {
    pub image: File,
    /// The image's path, for errors.
    pub path: PathBuf,
    pub memory: OwnedFd,
}

/// Progress of a lazy restore, for logs and benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadProgress {
    /// Bytes the image held when the restore started.
    pub total: u64,
    /// Bytes loaded on demand (faults and sentry accesses) so far.
    pub on_demand: u64,
    /// When everything was loaded, measured from the start.
    pub done_after: Option<Duration>,
}

/// A mapping of the whole memory file that only loaders write through:
/// its own, so that it lives exactly as long as the lazy pages, whoever
/// holds them last.
#[derive(Debug)]
struct Window {
    base: *mut u8,
}

// SAFETY: the mapping is shared memory valid until `drop`; which thread
// may touch which bytes is decided by the pending map (an extent's bytes
// belong to the one thread that marked it `loading`).
unsafe impl Send for Window {}
// SAFETY: as for `Send`.
unsafe impl Sync for Window {}

impl Window {
    fn new(memory: &OwnedFd) -> std::io::Result<Window> {
        // SAFETY: a fresh shared mapping of a descriptor we hold, placed by
        // the host; the result is checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                super::MEMORY_FILE_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                memory.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Window {
            base: base as *mut u8,
        })
    }

    /// The bytes at memory file offset `off`, with their pages allocated
    /// (and mapped) in one call where the host can; where it cannot they
    /// fault in as they are written.
    ///
    /// # Safety
    ///
    /// `[off, off+len)` lies inside the memory file, and no one else reads
    /// or writes it for as long as the slice lives: it is a pending extent
    /// the caller marked `loading`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn extent(&self, off: u64, len: usize) -> &mut [u8] {
        // SAFETY: inside the mapping, per the caller.
        let at = unsafe { self.base.add(off as usize) };
        // SAFETY: a page-aligned range of our own mapping (frames and
        // extent lengths are whole pages); failure leaves it as it was.
        unsafe { libc::madvise(at as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) };
        // SAFETY: the range is mapped, and nothing else touches it while
        // the slice lives, per the caller.
        unsafe { std::slice::from_raw_parts_mut(at, len) }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `new`; no slice of
        // it outlives the lazy pages that own it.
        unsafe {
            libc::munmap(
                self.base as *mut libc::c_void,
                super::MEMORY_FILE_SIZE as usize,
            )
        };
    }
}

/// The shared state of a lazy restore.
#[derive(Debug)]
pub struct LazyPages {
    map: Mutex<State>,
    /// Signalled whenever a record leaves the map.
    changed: Condvar,
    /// False once nothing is pending: the memory file's fast path.
    active: AtomicBool,
    /// Set when the memory file goes away: loaders stop.
    stop: AtomicBool,
    /// Set with the first failure: the kernel's loop checks it each step.
    failed: AtomicBool,
    source: PageSource,
    /// Where loaders write the extents.
    window: Window,
    started: Instant,
}

#[derive(Debug, Default)]
struct State {
    pending: PendingMap,
    /// Where the loaders go on from.
    cursor: u64,
    failure: Option<String>,
    progress: LoadProgress,
}

impl LazyPages {
    /// Lazy pages for `pending`, read from `source`. Fails only if the
    /// loaders' mapping of the memory file cannot be made.
    pub fn new(pending: PendingMap, source: PageSource) -> std::io::Result<Arc<LazyPages>> {
        let window = Window::new(&source.memory)?;
        let active = !pending.is_empty();
        let progress = LoadProgress {
            total: pending.bytes(),
            ..LoadProgress::default()
        };
        Ok(Arc::new(LazyPages {
            map: Mutex::new(State {
                pending,
                progress,
                ..State::default()
            }),
            changed: Condvar::new(),
            active: AtomicBool::new(active),
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            source,
            window,
            started: Instant::now(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while any extent is pending.
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// True once an extent could not be loaded.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// The first checksum or read failure, if one happened.
    pub fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.lock().failure.clone()
    }

    pub fn progress(&self) -> LoadProgress {
        self.lock().progress
    }

    /// Runs of `[off, off+len)` as (start, length, pending).
    pub fn runs(&self, off: u64, len: u64) -> Vec<(u64, u64, bool)> {
        if !self.active() {
            return vec![(off, len, false)];
        }
        self.lock().pending.runs(off, len)
    }

    /// Makes every byte of `[off, off+len)` loaded (or failed), loading
    /// what is pending in the calling thread.
    pub fn ensure(&self, off: u64, len: u64) {
        self.settle(off, len, false);
    }

    /// Drops the records of `[off, off+len)`, whose frames are being
    /// freed: those covered whole are forgotten, the others loaded.
    pub fn forget(&self, off: u64, len: u64) {
        self.settle(off, len, true);
    }

    /// Leaves nothing of `[off, off+len)` pending: each extent there is
    /// loaded in the calling thread (counted as loaded on demand), or, with
    /// `freeing`, forgotten when the range covers it whole. Waits for the
    /// extents another thread is loading.
    fn settle(&self, off: u64, len: u64, freeing: bool) {
        if !self.active() {
            return;
        }
        let mut st = self.lock();
        while let Some((frame, extent, loading)) = st.pending.overlapping(off, len) {
            if loading {
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            if freeing && frame >= off && frame + extent.len() <= off + len {
                st.pending.remove(frame);
                self.after_remove(&mut st);
                continue;
            }
            st.pending.set_loading(frame);
            drop(st);
            let result = self.load(frame, &extent, &mut Method::Populate);
            st = self.lock();
            if !freeing {
                st.progress.on_demand += extent.len();
            }
            self.finish(&mut st, frame, result);
        }
    }

    /// Waits until nothing is pending (loading what is left in the calling
    /// thread too): before a checkpoint reads the memory file whole.
    pub fn load_all(&self) {
        self.ensure(0, super::MEMORY_FILE_SIZE);
    }

    /// Records the outcome of loading the extent at `frame`.
    fn finish(&self, st: &mut State, frame: u64, result: Result<(), String>) {
        if let Err(e) = result {
            tracing::error!("{e}");
            st.failure.get_or_insert(e);
            self.failed.store(true, Ordering::Release);
        }
        st.pending.remove(frame);
        self.after_remove(st);
    }

    fn after_remove(&self, st: &mut State) {
        if st.pending.is_empty() {
            self.active.store(false, Ordering::Release);
            if st.progress.done_after.is_none() {
                let took = self.started.elapsed();
                st.progress.done_after = Some(took);
                tracing::info!(
                    "lazy restore: {} MB loaded in {:?} ({} MB on demand)",
                    st.progress.total >> 20,
                    took,
                    st.progress.on_demand >> 20
                );
            }
        }
        self.changed.notify_all();
    }

    /// Reads the extent at `frame` from the image into the memory file
    /// and checks it, by `method`; a bad extent (or one read or written in
    /// part) is wiped before this returns. The caller marked it `loading`:
    /// nothing else looks at these bytes until its record goes.
    fn load(&self, frame: u64, extent: &PendingExtent, method: &mut Method) -> Result<(), String> {
        match method {
            Method::Populate => self.populate(frame, extent),
            Method::Write(buf) => {
                let len = extent.len() as usize;
                if buf.len() < len {
                    *buf = PageBuf::new(len);
                }
                self.write(frame, extent, buf)
            }
        }
    }

    fn read_failed(&self, extent: &PendingExtent, e: std::io::Error) -> String {
        format!(
            "lazy restore: reading the {} pages at offset {} of checkpoint image {} failed: {e}",
            extent.pages,
            extent.file_offset,
            self.source.path.display()
        )
    }

    fn corrupted(&self, frame: u64, extent: &PendingExtent) -> String {
        format!(
            "lazy restore: checkpoint image {} is corrupted: checksum mismatch in the {} pages at offset {} (frame {frame:#x}); the sandbox cannot go on",
            self.source.path.display(),
            extent.pages,
            extent.file_offset
        )
    }

    /// [`Method::Write`]: nothing reaches the memory file before the
    /// checksum matched, and a write that fails part way is punched out.
    fn write(&self, frame: u64, extent: &PendingExtent, buf: &mut [u8]) -> Result<(), String> {
        let data = &mut buf[..extent.len() as usize];
        if let Err(e) = self.source.image.read_exact_at(data, extent.file_offset) {
            return Err(self.read_failed(extent, e));
        }
        if crc32c(data) != extent.checksum {
            return Err(self.corrupted(frame, extent));
        }
        let Err(e) = write_all_at(&self.source.memory, data, frame) else {
            return Ok(());
        };
        if let Err(p) = punch(&self.source.memory, frame, extent.len()) {
            // Nothing else can be done: the pages hold part of the extent.
            tracing::error!("lazy restore: punching out a half-written extent failed: {p}");
        }
        Err(format!(
            "lazy restore: writing the {} pages at frame {frame:#x} into the memory file failed: {e}",
            extent.pages
        ))
    }

    /// [`Method::Populate`].
    fn populate(&self, frame: u64, extent: &PendingExtent) -> Result<(), String> {
        // SAFETY: the extent lies in the memory file (the map was checked
        // against its size) and is ours alone while `loading`.
        let data = unsafe { self.window.extent(frame, extent.len() as usize) };
        let outcome = match self.source.image.read_exact_at(data, extent.file_offset) {
            Err(e) => Err(self.read_failed(extent, e)),
            Ok(()) if crc32c(data) != extent.checksum => Err(self.corrupted(frame, extent)),
            Ok(()) => return Ok(()),
        };
        if let Err(e) = punch(&self.source.memory, frame, extent.len()) {
            tracing::warn!("lazy restore: punching out a bad extent failed ({e}); zeroing it");
            data.fill(0);
        }
        outcome
    }

    /// The loader threads' loop: the next idle extent after the cursor,
    /// until nothing is left, a failure happened, or the memory file goes.
    fn run_loader(self: Arc<Self>, mut method: Method) {
        loop {
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            let mut st = self.lock();
            if st.failure.is_some() {
                return;
            }
            let Some((frame, extent)) = st.pending.next_idle(st.cursor) else {
                return;
            };
            st.pending.set_loading(frame);
            st.cursor = frame + extent.len();
            drop(st);
            let result = self.load(frame, &extent, &mut method);
            let mut st = self.lock();
            self.finish(&mut st, frame, result);
        }
    }

    /// Starts `n` loader threads: the first writes, the others populate
    /// (see the module's comment).
    pub fn start_loaders(self: &Arc<Self>, n: usize) -> Vec<std::thread::JoinHandle<()>> {
        (0..n)
            .filter_map(|i| {
                let me = Arc::clone(self);
                std::thread::Builder::new()
                    .name(format!("page-loader-{i}"))
                    .spawn(move || {
                        let method = if i == 0 {
                            Method::Write(PageBuf::new(MAX_EXTENT_BYTES))
                        } else {
                            Method::Populate
                        };
                        me.run_loader(method)
                    })
                    .map_err(|e| tracing::warn!("cannot start a page loader thread: {e}"))
                    .ok()
            })
            .collect()
    }

    /// Tells the loaders to stop after the extent they are at.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Makes `[off, off+len)` of the memory file a hole again (reads as zeros).
fn punch(memory: &OwnedFd, off: u64, len: u64) -> std::io::Result<()> {
    // SAFETY: fallocate on a descriptor we hold; no memory is passed.
    let r = unsafe {
        libc::fallocate(
            memory.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            off as libc::off_t,
            len as libc::off_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    const P: u64 = PAGE_SIZE;

    fn ext(pages: u32) -> PendingExtent {
        PendingExtent {
            pages,
            file_offset: 0,
            checksum: 0,
        }
    }

    #[test]
    fn runs_split_loaded_and_pending() {
        let mut m = PendingMap::default();
        m.insert(2 * P, ext(2));
        m.insert(4 * P, ext(1));
        m.insert(8 * P, ext(3));
        assert_eq!(m.bytes(), 6 * P);
        assert_eq!(
            m.runs(0, 12 * P),
            vec![
                (0, 2 * P, false),
                (2 * P, 3 * P, true),
                (5 * P, 3 * P, false),
                (8 * P, 3 * P, true),
                (11 * P, P, false),
            ]
        );
        // Starting and ending inside extents.
        assert_eq!(
            m.runs(3 * P, 6 * P),
            vec![
                (3 * P, 2 * P, true),
                (5 * P, 3 * P, false),
                (8 * P, P, true)
            ]
        );
        assert_eq!(m.runs(5 * P, 2 * P), vec![(5 * P, 2 * P, false)]);
        assert!(m.any_pending(9 * P, 1));
        assert!(!m.any_pending(5 * P, 3 * P));
        assert!(m.any_pending(7 * P, P + 1));
    }

    #[test]
    fn overlapping_finds_the_extent_reaching_in_from_below() {
        let mut m = PendingMap::default();
        m.insert(0, ext(4));
        m.insert(10 * P, ext(1));
        assert_eq!(m.overlapping(3 * P, P).map(|o| o.0), Some(0));
        assert_eq!(m.overlapping(4 * P, 6 * P).map(|o| o.0), None);
        assert_eq!(m.overlapping(4 * P, 6 * P + 1).map(|o| o.0), Some(10 * P));
        m.remove(0);
        assert_eq!(m.bytes(), P);
        assert_eq!(m.overlapping(0, 10 * P), None);
    }

    #[test]
    fn next_idle_goes_round_from_the_cursor() {
        let mut m = PendingMap::default();
        m.insert(0, ext(1));
        m.insert(4 * P, ext(1));
        assert_eq!(m.next_idle(P).map(|n| n.0), Some(4 * P));
        m.set_loading(4 * P);
        assert_eq!(m.next_idle(P).map(|n| n.0), Some(0));
        m.set_loading(0);
        assert_eq!(m.next_idle(0), None);
    }

    /// An image file of three extents, one of them with a bad checksum.
    fn lazy_over_image() -> (Arc<LazyPages>, super::super::MemoryFile, tempdir::Dir) {
        let dir = tempdir::Dir::new();
        let data: Vec<u8> = (0..3 * P as usize).map(|i| (i % 251) as u8 + 1).collect();
        let path = dir.0.join("img");
        std::fs::write(&path, &data).unwrap();
        let mf = super::super::MemoryFile::new().unwrap();
        let mut m = PendingMap::default();
        let page = |i: usize| &data[i * P as usize..(i + 1) * P as usize];
        m.insert(
            10 * P,
            PendingExtent {
                pages: 2,
                file_offset: 0,
                checksum: crc32c(&data[..2 * P as usize]),
            },
        );
        m.insert(
            20 * P,
            PendingExtent {
                pages: 1,
                file_offset: 2 * P,
                checksum: crc32c(page(2)) ^ 1,
            },
        );
        let source = PageSource {
            image: File::open(&path).unwrap(),
            path,
            memory: mf.dup_fd().unwrap(),
        };
        (LazyPages::new(m, source).unwrap(), mf, dir)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "runsc-lazy-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn ensure_loads_on_demand_and_reports_a_bad_extent() {
        let (lazy, mf, _dir) = lazy_over_image();
        assert!(lazy.active());
        lazy.ensure(11 * P, 10);
        let mut b = [0u8; 4];
        mf.read(11 * P, &mut b);
        let byte = |i: u64| (i % 251) as u8 + 1;
        assert_eq!(b, [byte(P), byte(P + 1), byte(P + 2), byte(P + 3)]);
        assert_eq!(lazy.failure(), None);
        assert!(lazy.active());
        lazy.ensure(20 * P, P);
        let failure = lazy.failure().expect("the bad extent is reported");
        assert!(failure.contains("offset 8192"), "{failure}");
        assert!(failure.contains("img"), "{failure}");
        assert!(!lazy.active());
        // The bad extent was not written.
        mf.read(20 * P, &mut b);
        assert_eq!(b, [0; 4]);
    }

    #[test]
    fn forget_drops_whole_extents_and_loads_partial_ones() {
        let (lazy, mf, _dir) = lazy_over_image();
        lazy.forget(20 * P, P);
        assert_eq!(lazy.failure(), None, "a forgotten extent is never read");
        lazy.forget(10 * P, P);
        assert!(!lazy.active());
        let mut b = [0u8; 1];
        mf.read(11 * P, &mut b);
        assert_eq!(b[0], (P % 251) as u8 + 1);
    }

    #[test]
    fn loaders_load_everything_once() {
        let (lazy, mf, _dir) = lazy_over_image();
        lazy.forget(20 * P, P);
        for h in lazy.start_loaders(2) {
            h.join().unwrap();
        }
        assert!(!lazy.active());
        assert_eq!(lazy.progress().on_demand, 0);
        assert!(lazy.progress().done_after.is_some());
        let mut b = [0u8; 1];
        mf.read(10 * P, &mut b);
        assert_eq!(b[0], 1);
    }

    #[test]
    fn both_methods_load_a_good_extent_and_leave_a_bad_one_out() {
        for write in [false, true] {
            let (lazy, mf, _dir) = lazy_over_image();
            let mut method = if write {
                Method::Write(PageBuf::new(MAX_EXTENT_BYTES))
            } else {
                Method::Populate
            };
            let good = lazy.lock().pending.records[&(10 * P)].extent;
            assert_eq!(lazy.load(10 * P, &good, &mut method), Ok(()));
            let mut b = vec![0u8; 2 * P as usize];
            mf.read(10 * P, &mut b);
            assert!(
                b.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8 + 1),
                "write={write}"
            );
            let bad = lazy.lock().pending.records[&(20 * P)].extent;
            let e = lazy.load(20 * P, &bad, &mut method).unwrap_err();
            assert!(e.contains("checksum mismatch"), "{e}");
            let mut b = vec![1u8; P as usize];
            mf.read(20 * P, &mut b);
            assert!(
                b.iter().all(|&x| x == 0),
                "write={write}: the bad extent is out"
            );
        }
    }

    #[test]
    fn a_write_that_fails_is_reported_with_its_frame() {
        let (lazy, _mf, _dir) = lazy_over_image();
        // A memory file that may not grow: writing into it fails.
        let memory = nix::sys::memfd::memfd_create(
            c"sealed",
            nix::sys::memfd::MemFdCreateFlag::MFD_ALLOW_SEALING,
        )
        .unwrap();
        nix::fcntl::fcntl(
            memory.as_raw_fd(),
            nix::fcntl::FcntlArg::F_ADD_SEALS(nix::fcntl::SealFlag::F_SEAL_GROW),
        )
        .unwrap();
        let source = PageSource {
            image: lazy.source.image.try_clone().unwrap(),
            path: lazy.source.path.clone(),
            memory,
        };
        let pending = std::mem::take(&mut lazy.lock().pending);
        let ro = LazyPages::new(pending, source).unwrap();
        let good = ro.lock().pending.records[&(10 * P)].extent;
        let mut method = Method::Write(PageBuf::new(1));
        let e = ro.load(10 * P, &good, &mut method).unwrap_err();
        assert!(e.contains("frame 0xa000"), "{e}");
        assert!(e.contains("memory file"), "{e}");
    }

    #[test]
    fn page_buffers_start_on_a_page() {
        for len in [1, 4096, MAX_EXTENT_BYTES] {
            let b = PageBuf::new(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as u64 % PAGE_SIZE, 0);
        }
    }
}
