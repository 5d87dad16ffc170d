//! Writing an image: under a temporary name, each page of the memory file
//! read once, the header last, then renamed into place (not synced: see
//! the format's documentation).
//!
//! The pages go from the memory file's mapping straight into the image
//! (one `pwrite` per run of non-zero pages, up to [`CHUNK`]), with no
//! buffer in between: each run is looked at once for zero pages and for
//! its checksum, and copied once, by the host, into the image while it is
//! still in the CPU's cache. Two threads share the work: the caller's
//! looks at the pages (zeros, checksums, extents; it decides where each
//! run goes in the image) and a writer thread copies the runs it is
//! handed into the file, so that looking and copying overlap.
//!
//! On a local disk the pages section is first reserved (`fallocate`): the
//! file system then allocates its blocks at once rather than reserving
//! them for each page as it is written, about a fifth of what writing a
//! page into the page cache otherwise costs the host.
//!
//! A checkpoint that stops the container frees its memory anyway, and
//! freeing a gigabyte costs the host about as much as writing it. So
//! there (`release`), a third thread gives each part of the memory file
//! back once the writer is past it. Freeing overlaps writing, the page
//! cache takes the pages just freed (still backed by the hypervisor, on a
//! virtual machine, where long-free memory may not be), and the stopped
//! sandbox has nothing left to free when it exits. The memory can still
//! be read back from the image ([`Released`]) if the container must go
//! on.

use super::{
    checksum_text, Header, ImageError, MemorySummary, Meta, Section, Sections, Span, FORMAT_MAJOR,
    FORMAT_MINOR, IMAGE_FILE, INVENTORY_FILE, MAP_ENTRY_LEN, MAX_EXTENT_PAGES, MAX_HEADER_LEN,
    PREAMBLE_LEN,
};
use crate::memory::{page_down, MemoryFile, MEMORY_FILE_SIZE, PAGE_SIZE};
use crate::state::crc::{combine, crc32c, Crc32c};
use crate::state::meta::ARCHITECTURE;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What writing an image did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageStats {
    /// The image file.
    pub path: PathBuf,
    /// Its length.
    pub bytes: u64,
    pub pages_saved: u64,
    pub zero_pages_skipped: u64,
    /// Pages that held data on the host and were looked at.
    pub pages_scanned: u64,
    pub extents: u64,
    pub elapsed: Duration,
}

/// Where the bytes of an image go: a file, or in tests one that fails.
/// Written from a second thread too.
pub(crate) trait Sink: Sync {
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()>;
    /// Reads back what was written: to put released pages back after a
    /// failure.
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()>;
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Sets aside room for `[off, off+len)`, inside the sink's length, if
    /// that makes writing there cheaper; the sink may decline. A failure
    /// is only worth a log: the writes themselves report a lack of space.
    fn reserve(&self, _off: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }
}

/// File systems on a local disk, where reserving a file's blocks
/// (`fallocate`) only marks them allocated (on tmpfs it would allocate
/// and clear memory, and on a network file system ask a server).
const LOCAL_DISK_FS: [i64; 4] = [
    0xEF53,      // ext2, ext3, ext4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0xF2F5_2010, // f2fs
];

impl Sink for File {
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.write_all_at(buf, off)
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        self.read_exact_at(buf, off)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    /// Allocates the range's blocks, as unwritten extents, on a local
    /// disk with room to spare: the range is as much as the pages could
    /// take, which the image may not need, and the rest of it (the
    /// header, the map) must still find room. A reservation that fails
    /// half way is given back.
    fn reserve(&self, off: u64, len: u64) -> io::Result<()> {
        use nix::fcntl::{fallocate, FallocateFlags};
        use std::os::fd::AsRawFd;
        let Ok(st) = nix::sys::statfs::fstatfs(self) else {
            return Ok(());
        };
        let free = st.blocks_available().saturating_mul(st.block_size() as u64);
        let local = LOCAL_DISK_FS.contains(&st.filesystem_type().0);
        if !local || len == 0 || free < len.saturating_add(RESERVE_SPARE) {
            return Ok(());
        }
        let (Ok(off), Ok(len)) = (i64::try_from(off), i64::try_from(len)) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let fd = self.as_raw_fd();
        fallocate(fd, FallocateFlags::FALLOC_FL_KEEP_SIZE, off, len).map_err(|e| {
            let back = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
            let _ = fallocate(fd, back, off, len);
            io::Error::from(e)
        })
    }
}

/// Free room a reservation leaves on the file system at least.
const RESERVE_SPARE: u64 = 64 << 20;

/// Rounds up to a page boundary; for lengths far below `u64::MAX`.
fn align_page(x: u64) -> u64 {
    x.div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// A new image being written in directory `dir` under a temporary name.
/// [`PendingImage::commit`] puts it in place as `checkpoint.img`; dropped
/// without that, the temporary file is removed.
#[derive(Debug)]
pub struct PendingImage {
    dir: PathBuf,
    temp: PathBuf,
    file: File,
    committed: bool,
}

impl PendingImage {
    /// Creates the temporary file, readable by its owner only: it will
    /// hold the application's memory.
    pub fn create(dir: &Path) -> Result<PendingImage, ImageError> {
        let temp = temp_name(dir, IMAGE_FILE);
        let file = new_file(&temp).map_err(|source| ImageError::Write {
            path: dir.join(IMAGE_FILE),
            source,
        })?;
        Ok(PendingImage {
            dir: dir.to_path_buf(),
            temp,
            file,
            committed: false,
        })
    }

    /// The file to write the image into.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the image will be once committed.
    pub fn path(&self) -> PathBuf {
        self.dir.join(IMAGE_FILE)
    }

    /// Renames the image to `checkpoint.img` (replacing an older one) and
    /// writes `inventory.img` for `meta`. Nothing is synced: a reader
    /// sees the whole new image or the old one, and one torn by a host
    /// crash fails its checksums.
    pub fn commit(mut self, meta: &Meta) -> Result<PathBuf, ImageError> {
        let path = self.path();
        let err = |source| ImageError::Write {
            path: path.clone(),
            source,
        };
        std::fs::rename(&self.temp, &path).map_err(err)?;
        self.committed = true;
        write_inventory(&self.dir, meta)?;
        Ok(path)
    }
}

impl Drop for PendingImage {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A name in `dir` that no other writer uses: hidden, and removed on
/// failure.
fn temp_name(dir: &Path, name: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

fn new_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// Writes `inventory.img`: podman restores only from a directory that holds
/// one (CRIU names its image index so). Ours is text saying what the
/// directory really holds.
fn write_inventory(dir: &Path, meta: &Meta) -> Result<(), ImageError> {
    let path = dir.join(INVENTORY_FILE);
    let text = format!(
        "{runtime} checkpoint\n\
         container {id}, written by {runtime} {version} on {created}.\n\
         This is not a CRIU image: the checkpoint is {IMAGE_FILE} (image format {format}).\n\
         Describe it with: runsc statefile {dir}\n",
        runtime = meta.runtime,
        id = meta.container_id,
        version = meta.runtime_version,
        created = meta.created,
        format = meta.format_version,
        dir = dir.display(),
    );
    let temp = temp_name(dir, INVENTORY_FILE);
    let result = new_file(&temp)
        .and_then(|f| f.write_all_at(text.as_bytes(), 0))
        .and_then(|()| std::fs::rename(&temp, &path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|source| ImageError::Write { path, source })
}

/// Writes an image of `state` and of the memory file's pages below `limit`
/// into directory `dir` as `checkpoint.img`, replacing any older image only
/// once the new one is complete, and writes `inventory.img`.
///
/// `meta` comes from [`Meta::new`]; the layout fields are filled here.
/// The memory file must not change meanwhile (the tasks are stopped).
pub fn write(
    dir: &Path,
    meta: &Meta,
    state: &[u8],
    mf: &MemoryFile,
    limit: u64,
) -> Result<ImageStats, ImageError> {
    write_through(dir, meta, state, mf, limit, false, |f| f).map(|(stats, _)| stats)
}

/// [`write()`], with the image's bytes passed through the sink `wrap` makes
/// of (a second descriptor of) the temporary file, and the pages released
/// as they are written if `release` is set (see [`write_to`]).
pub(crate) fn write_through<S: Sink>(
    dir: &Path,
    meta: &Meta,
    state: &[u8],
    mf: &MemoryFile,
    limit: u64,
    release: bool,
    wrap: impl FnOnce(File) -> S,
) -> Result<(ImageStats, Option<Released>), ImageError> {
    let start = Instant::now();
    let pending = PendingImage::create(dir)?;
    let path = pending.path();
    let file = pending
        .file()
        .try_clone()
        .map_err(|source| ImageError::Write {
            path: path.clone(),
            source,
        })?;
    let written = write_image(&wrap(file), &path, meta, state, mf, limit, release)?;
    let path = pending.commit(&written.meta)?;
    let stats = ImageStats {
        path,
        elapsed: start.elapsed(),
        ..written.stats
    };
    Ok((stats, written.released))
}

/// What [`write_to`] did.
#[derive(Debug)]
pub struct Written {
    pub stats: ImageStats,
    /// The metadata written.
    pub meta: Meta,
    /// The pages given back to the host, when they were to be.
    pub released: Option<Released>,
}

/// Writes a complete image into `file` from offset 0 (and sets its length),
/// without syncing or renaming: for a caller that opened the file itself,
/// such as a confined sandbox handed a descriptor. `path` names it in
/// errors.
///
/// With `release` (a checkpoint that stops the container), each part of
/// the memory file is given back to the host once it is in the image: the
/// host then takes the image's page-cache pages from the memory just
/// freed, which on a virtual machine costs a fraction of touching new
/// memory, and the container has nothing left to free when it stops. If
/// the container must go on after all, [`Released::restore`] reads the
/// pages back from the image; if writing fails, that is done here before
/// the error is returned, and an error of [`ImageError::MemoryLost`] says
/// it could not be (the tasks cannot run again).
pub fn write_to(
    file: &File,
    path: &Path,
    meta: &Meta,
    state: &[u8],
    mf: &MemoryFile,
    limit: u64,
    release: bool,
) -> Result<Written, ImageError> {
    write_image(file, path, meta, state, mf, limit, release)
}

/// Pages of the memory file given back to the host as they were written
/// into an image, and where they are in it: what it takes to put them back.
#[derive(Debug)]
pub struct Released {
    /// Offset of the pages section in the image.
    base: u64,
    /// The memory file holds nothing below this offset any more.
    below: u64,
    /// The extents written (frame, pages, checksum), dense from `base`.
    extents: Vec<(u64, u32, u32)>,
}

impl Released {
    /// Reads the released pages back from the image `file` into `mf`,
    /// checking each extent's checksum in the memory file afterwards.
    /// The tasks must still be stopped.
    pub fn restore(&self, file: &File, mf: &MemoryFile) -> io::Result<()> {
        self.restore_from(file, mf)
    }

    fn restore_from<S: Sink>(&self, sink: &S, mf: &MemoryFile) -> io::Result<()> {
        let mut buf = vec![0u8; CHUNK as usize];
        let mut at = self.base;
        for &(frame, pages, crc) in &self.extents {
            if frame >= self.below {
                break;
            }
            let len = u64::from(pages) * PAGE_SIZE;
            let back = (self.below - frame).min(len);
            let mut done = 0;
            while done < back {
                let n = (back - done).min(CHUNK) as usize;
                sink.read_at(&mut buf[..n], at + done)?;
                mf.write(frame + done, &buf[..n]);
                done += n as u64;
            }
            if crc32c(mf.frozen_bytes(frame, len as usize)) != crc {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the {pages} pages at {frame:#x} read back from the image do not match \
                         their checksum"
                    ),
                ));
            }
            at += len;
        }
        Ok(())
    }
}

/// The memory summary with every count at its largest, so the metadata
/// written with it is at least as long as the real one.
const LARGEST_SUMMARY: MemorySummary = MemorySummary {
    limit: u64::MAX,
    pages_scanned: u64::MAX,
    pages_saved: u64::MAX,
    zero_pages_skipped: u64::MAX,
    extents: u64::MAX,
};

/// Room for the preamble and `meta`'s JSON whatever the layout fields turn
/// out to be, rounded up to a page.
fn reserve_header(meta: &Meta, path: &Path) -> Result<u64, ImageError> {
    let widest = Section {
        offset: u64::MAX,
        size: u64::MAX,
        checksum: checksum_text(u32::MAX),
    };
    let mut largest = meta.clone();
    largest.sections = Sections {
        header: Span {
            offset: u64::MAX,
            size: u64::MAX,
        },
        state: widest.clone(),
        memory_pages: widest.clone(),
        memory_map: widest,
    };
    largest.memory = LARGEST_SUMMARY;
    let json = encode_meta(&largest, path)?;
    let header_len = align_page(PREAMBLE_LEN + json.len() as u64);
    if header_len > MAX_HEADER_LEN {
        return Err(ImageError::MetadataTooLarge {
            path: path.to_path_buf(),
            size: json.len() as u64,
            room: MAX_HEADER_LEN - PREAMBLE_LEN,
        });
    }
    Ok(header_len)
}

fn encode_meta(meta: &Meta, path: &Path) -> Result<Vec<u8>, ImageError> {
    serde_json::to_vec(meta).map_err(|source| ImageError::MetadataEncode {
        path: path.to_path_buf(),
        source,
    })
}

/// Bytes of the memory file looked at a time: the longest run of pages
/// written in one call, and what the freeing thread gives back at once.
/// Large enough that the file system sees few writes and takes them in
/// large pages, small enough that the pages the scan has just read (it is
/// at most [`QUEUED_RUNS`] runs ahead) are still in the CPU's cache when
/// the writer copies them, and that what is freed is taken again soon.
/// Measured: a gigabyte is written a third faster than in 4 MiB chunks.
const CHUNK: u64 = 1 << 20;

fn write_image<S: Sink>(
    sink: &S,
    path: &Path,
    meta: &Meta,
    state: &[u8],
    mf: &MemoryFile,
    limit: u64,
    release: bool,
) -> Result<Written, ImageError> {
    let start = Instant::now();
    let err = |source| ImageError::Write {
        path: path.to_path_buf(),
        source,
    };
    let limit = align_page(limit.min(MEMORY_FILE_SIZE));
    let mut meta = meta.clone();
    meta.format_version = format!("{FORMAT_MAJOR}.{FORMAT_MINOR}");
    meta.architecture = ARCHITECTURE.to_string();
    meta.compression = "none".to_string();
    meta.page_size = PAGE_SIZE;

    let header_len = reserve_header(&meta, path)?;
    sink.write_at(state, header_len).map_err(err)?;
    let state_end = header_len + state.len() as u64;
    let pages_offset = align_page(state_end);

    let ranges = mf.data_ranges(limit);
    // As long as the image can get (every page holding data saved, and a
    // map entry for each), so that the pages section can be reserved
    // before it is written; the true length is set at the end.
    let most_pages: u64 = ranges
        .iter()
        .map(|&(s, e)| align_page(e).min(limit) - page_down(s))
        .sum();
    let most_extents = most_pages / PAGE_SIZE;
    sink.set_len(pages_offset + most_pages + most_extents * MAP_ENTRY_LEN)
        .map_err(err)?;
    if let Err(e) = sink.reserve(pages_offset, most_pages) {
        tracing::debug!(path = %path.display(), error = %e, "could not reserve the image's pages section");
    }
    let mut pages = write_pages(sink, pages_offset, mf, &ranges, limit, release);
    // What was freed, to read back if the image is not finished.
    let released = release.then(|| Released {
        base: pages_offset,
        below: pages.released_below,
        extents: pages.extents.clone(),
    });
    let finished = match pages.failed.take() {
        Some(source) => Err(err(source)),
        None => finish(
            sink,
            path,
            meta,
            state,
            header_len,
            pages_offset,
            &pages,
            limit,
            start,
        ),
    };
    match finished {
        Ok((stats, meta)) => Ok(Written {
            stats,
            meta,
            released,
        }),
        Err(failure) => Err(match released.map(|r| r.restore_from(sink, mf)) {
            Some(Err(lost)) => ImageError::MemoryLost {
                failure: Box::new(failure),
                lost,
            },
            _ => failure,
        }),
    }
}

/// Writes the memory map after the pages and the header before the
/// state, once the pages are written, and sets the file's true length.
#[allow(clippy::too_many_arguments)]
fn finish<S: Sink>(
    sink: &S,
    path: &Path,
    mut meta: Meta,
    state: &[u8],
    header_len: u64,
    pages_offset: u64,
    pages: &PageWriter<'_>,
    limit: u64,
    start: Instant,
) -> Result<(ImageStats, Meta), ImageError> {
    let err = |source| ImageError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut map = Vec::with_capacity(pages.extents.len() * MAP_ENTRY_LEN as usize);
    for &(frame, count, crc) in &pages.extents {
        map.extend_from_slice(&frame.to_le_bytes());
        map.extend_from_slice(&count.to_le_bytes());
        map.extend_from_slice(&crc.to_le_bytes());
    }
    let map_offset = pages_offset + pages.written;
    sink.write_at(&map, map_offset).map_err(err)?;
    let total = map_offset + map.len() as u64;

    meta.sections = Sections {
        header: Span {
            offset: 0,
            size: header_len,
        },
        state: Section {
            offset: header_len,
            size: state.len() as u64,
            checksum: checksum_text(crc32c(state)),
        },
        memory_pages: Section {
            offset: pages_offset,
            size: pages.written,
            checksum: checksum_text(pages.crc),
        },
        memory_map: Section {
            offset: map_offset,
            size: map.len() as u64,
            checksum: checksum_text(crc32c(&map)),
        },
    };
    meta.memory = MemorySummary {
        limit,
        pages_scanned: pages.scanned,
        pages_saved: pages.written / PAGE_SIZE,
        zero_pages_skipped: pages.zero,
        extents: pages.extents.len() as u64,
    };
    let json = encode_meta(&meta, path)?;
    let room = header_len - PREAMBLE_LEN;
    if json.len() as u64 > room {
        return Err(ImageError::MetadataTooLarge {
            path: path.to_path_buf(),
            size: json.len() as u64,
            room,
        });
    }
    let mut header = Header {
        major: FORMAT_MAJOR,
        minor: FORMAT_MINOR,
        architecture: ARCHITECTURE.to_string(),
        header_len,
        meta_len: json.len() as u64,
        checksum: 0,
    };
    let mut region = vec![0u8; header_len as usize];
    region[..PREAMBLE_LEN as usize].copy_from_slice(&header.encode());
    region[PREAMBLE_LEN as usize..][..json.len()].copy_from_slice(&json);
    let mut crc = Crc32c::new();
    crc.update(&region[..28]);
    crc.update(&region[PREAMBLE_LEN as usize..]);
    header.checksum = crc.finish();
    region[..PREAMBLE_LEN as usize].copy_from_slice(&header.encode());
    sink.write_at(&region, 0).map_err(err)?;
    sink.set_len(total).map_err(err)?;

    let stats = ImageStats {
        path: path.to_path_buf(),
        bytes: total,
        pages_saved: meta.memory.pages_saved,
        zero_pages_skipped: meta.memory.zero_pages_skipped,
        pages_scanned: meta.memory.pages_scanned,
        extents: meta.memory.extents,
        elapsed: start.elapsed(),
    };
    Ok((stats, meta))
}

/// Runs of pages queued for the writer thread at most.
const QUEUED_RUNS: usize = 4;

/// What the scan hands the writer thread, in order.
enum Job<'m> {
    /// A run of pages and where it goes in the image.
    Write(&'m [u8], u64),
    /// Everything queued before is written: give the memory file's
    /// `[start, end)` back to the host.
    Release(u64, u64),
}

/// Writes the non-zero pages of `mf` in `ranges` (its ranges holding data,
/// below `limit`) into the pages section at `base`: this thread scans, a
/// writer thread copies (see the module documentation). With `release`,
/// a third thread frees each part of the memory file once it is in the
/// image. Returns the scan's results, with the first failure.
fn write_pages<'m, S: Sink>(
    sink: &S,
    base: u64,
    mf: &'m MemoryFile,
    ranges: &[(u64, u64)],
    limit: u64,
    release: bool,
) -> PageWriter<'m> {
    let releaser = mf.releaser();
    std::thread::scope(|scope| {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<Job<'m>>(QUEUED_RUNS);
        let (to_release, releases) = std::sync::mpsc::sync_channel::<(u64, u64)>(QUEUED_RUNS);
        let releaser = &releaser;
        let freer = scope.spawn(move || -> (io::Result<()>, u64) {
            let mut released_below = 0;
            for (start, end) in releases {
                if let Err(e) = releaser.release(start, end - start) {
                    let e = io::Error::new(
                        e.kind(),
                        format!("giving the saved memory back to the host failed: {e}"),
                    );
                    return (Err(e), released_below);
                }
                released_below = end;
            }
            (Ok(()), released_below)
        });
        let writer = scope.spawn(move || -> io::Result<()> {
            for job in jobs {
                match job {
                    Job::Write(run, at) => sink.write_at(run, at)?,
                    Job::Release(start, end) => to_release
                        .send((start, end))
                        .map_err(|_| io::Error::other("the thread freeing memory stopped"))?,
                }
            }
            Ok(())
        });
        let mut pages = PageWriter::new(queue, base);
        let scanned = (|| {
            let mut scanned_to = 0u64;
            for &(start, end) in ranges {
                let mut off = page_down(start).max(scanned_to);
                let end = align_page(end).min(limit);
                while off < end {
                    let n = (end - off).min(CHUNK) as usize;
                    pages.feed(off, mf.frozen_bytes(off, n))?;
                    if release {
                        // The slice of the chunk is not used after this.
                        pages.send(Job::Release(off, off + n as u64))?;
                    }
                    off += n as u64;
                }
                scanned_to = scanned_to.max(end);
            }
            Ok(())
        })();
        pages.close_extent();
        // Ends the writer's loop once it has written what is queued, and
        // with it the freeing thread's.
        pages.queue = None;
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the image writer thread panicked")));
        let (freed, released_below) = freer.join().unwrap_or_else(|_| {
            (
                Err(io::Error::other("the thread freeing memory panicked")),
                // Nothing is known of what it freed: all of it may be.
                limit,
            )
        });
        pages.released_below = released_below;
        // The freeing thread's error first, then the writer's: a thread
        // stopped by another's failure says less.
        pages.failed = freed.and(written).and(scanned).err();
        pages
    })
}

/// A page of zeros to compare pages with.
static ZERO_PAGE: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];

/// True if `page` (at most a page long) holds only zeros. Slice equality is
/// `memcmp`, which is vectorized whatever this crate's optimization level
/// and stops at the first difference, so a page that is not zero costs
/// next to nothing.
fn is_zero(page: &[u8]) -> bool {
    ZERO_PAGE.get(..page.len()) == Some(page)
}

/// An extent being built: consecutive non-zero pages.
struct OpenExtent {
    frame: u64,
    pages: u32,
    crc: Crc32c,
}

/// Lays out the non-zero pages of the memory file densely in the pages
/// section, queues them for the writer thread, and records the extents
/// they form.
struct PageWriter<'m> {
    /// To the writer thread.
    queue: Option<std::sync::mpsc::SyncSender<Job<'m>>>,
    /// File offset of the pages section.
    base: u64,
    /// Bytes of pages written so far.
    written: u64,
    /// Finished extents: frame, pages, checksum.
    extents: Vec<(u64, u32, u32)>,
    open: Option<OpenExtent>,
    /// Checksum of the section so far.
    crc: u32,
    scanned: u64,
    zero: u64,
    /// The memory file was given back to the host below this offset.
    released_below: u64,
    /// Why writing the pages stopped, if it did not end.
    failed: Option<io::Error>,
}

impl<'m> PageWriter<'m> {
    fn new(queue: std::sync::mpsc::SyncSender<Job<'m>>, base: u64) -> Self {
        PageWriter {
            queue: Some(queue),
            base,
            written: 0,
            extents: Vec::new(),
            open: None,
            crc: 0,
            scanned: 0,
            zero: 0,
            released_below: 0,
            failed: None,
        }
    }

    /// Takes the pages of `data`, which starts at memory file offset
    /// `frame`; zero pages are counted and left out.
    fn feed(&mut self, frame: u64, data: &'m [u8]) -> io::Result<()> {
        let page = PAGE_SIZE as usize;
        let mut run_start: Option<usize> = None;
        for (i, bytes) in data.chunks_exact(page).enumerate() {
            self.scanned += 1;
            if is_zero(bytes) {
                self.zero += 1;
                if let Some(s) = run_start.take() {
                    self.take_run(frame + (s * page) as u64, &data[s * page..i * page])?;
                }
                self.close_extent();
                continue;
            }
            run_start.get_or_insert(i);
        }
        if let Some(s) = run_start {
            self.take_run(frame + (s * page) as u64, &data[s * page..])?;
        }
        Ok(())
    }

    /// Hands `job` to the writer thread.
    fn send(&self, job: Job<'m>) -> io::Result<()> {
        let stopped = || io::Error::other("the image writer thread stopped");
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())
    }

    /// Takes a run of non-zero pages starting at memory file offset
    /// `frame`: adds them to the extents, checksummed in one go (long
    /// data is checksummed fastest), then queues them for the end of the
    /// section.
    fn take_run(&mut self, mut frame: u64, run: &'m [u8]) -> io::Result<()> {
        let mut rest = run;
        while !rest.is_empty() {
            let extends = self.open.as_ref().is_some_and(|o| {
                o.frame + u64::from(o.pages) * PAGE_SIZE == frame && o.pages < MAX_EXTENT_PAGES
            });
            if !extends {
                self.close_extent();
            }
            let open = self.open.get_or_insert(OpenExtent {
                frame,
                pages: 0,
                crc: Crc32c::new(),
            });
            let room = u64::from(MAX_EXTENT_PAGES - open.pages) * PAGE_SIZE;
            let (now, later) = rest.split_at(rest.len().min(room as usize));
            open.pages += (now.len() as u64 / PAGE_SIZE) as u32;
            open.crc.update(now);
            frame += now.len() as u64;
            rest = later;
        }
        self.send(Job::Write(run, self.base + self.written))?;
        self.written += run.len() as u64;
        Ok(())
    }

    fn close_extent(&mut self) {
        if let Some(o) = self.open.take() {
            let crc = o.crc.finish();
            self.crc = combine(self.crc, crc, u64::from(o.pages) * PAGE_SIZE);
            self.extents.push((o.frame, o.pages, crc));
        }
    }
}
