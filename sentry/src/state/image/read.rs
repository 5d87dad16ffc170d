//! Reading an image: every check before anything is returned, then the
//! pages into a memory file.

use super::{
    image_path, parse_checksum, ExtentProblem, Header, ImageError, Inconsistency, Meta,
    SectionName, Span, FORMAT_MAJOR, FORMAT_MINOR, MAP_ENTRY_LEN, MAX_EXTENT_BYTES,
    MAX_EXTENT_PAGES, MAX_HEADER_LEN, PREAMBLE_LEN,
};
use crate::kernel::Kernel;
use crate::memory::lazy::{LazyPages, PageSource, PendingExtent, PendingMap};
use crate::memory::{page_up, write_all_at, MemoryFile, PageBuf, MEMORY_FILE_SIZE, PAGE_SIZE};
use crate::state::crc::{combine, crc32c, Crc32c};
use crate::state::meta::ARCHITECTURE;
use std::fs::File;
use std::io::ErrorKind;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An image whose header, metadata, layout and length were checked; its
/// sections are read and checked on demand.
#[derive(Debug)]
pub struct Image {
    path: PathBuf,
    file: File,
    len: u64,
    header: Header,
    meta: Meta,
    state_crc: u32,
    pages_crc: u32,
    map_crc: u32,
}

/// One run of saved pages: where it goes in the memory file and where its
/// bytes are in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Offset in the memory file.
    pub frame: u64,
    pub pages: u32,
    /// CRC32C of its bytes.
    pub checksum: u32,
    /// Offset of its bytes in the image file.
    pub file_offset: u64,
}

impl Extent {
    /// Bytes it covers.
    pub fn len(&self) -> u64 {
        u64::from(self.pages) * PAGE_SIZE
    }

    /// Never true for a checked map; present for symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }

    /// The memory file offset just past it.
    pub fn end(&self) -> u64 {
        self.frame + self.len()
    }
}

/// The checked memory map of an image, sorted by frame offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageMap {
    extents: Vec<Extent>,
}

impl PageMap {
    pub fn extents(&self) -> &[Extent] {
        &self.extents
    }

    /// The index of the extent that holds memory file offset `frame`.
    pub fn find(&self, frame: u64) -> Option<usize> {
        let i = self.extents.partition_point(|e| e.end() <= frame);
        self.extents.get(i).filter(|e| e.frame <= frame).map(|_| i)
    }

    /// Pages saved.
    pub fn pages(&self) -> u64 {
        self.extents.iter().map(|e| u64::from(e.pages)).sum()
    }
}

/// Reads into `buf` from `off` until it is full or the file ends; returns
/// the bytes read.
fn read_up_to(file: &File, off: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], off + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl Image {
    /// Opens the image at `path` (an image directory or the image file) and
    /// checks its header.
    pub fn open(path: &Path) -> Result<Image, ImageError> {
        let path = image_path(path);
        match File::open(&path) {
            Ok(file) => Image::from_file(file, path),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(ImageError::Missing { path }),
            Err(source) => Err(ImageError::Open { path, source }),
        }
    }

    /// Checks the header of an image already open as `file` (for example a
    /// descriptor handed to a confined sandbox); `path` names it in errors.
    pub fn from_file(file: File, path: PathBuf) -> Result<Image, ImageError> {
        let read_err = |source| ImageError::Read {
            path: path.clone(),
            source,
        };
        let len = file.metadata().map_err(read_err)?.len();
        let mut pre = [0u8; PREAMBLE_LEN as usize];
        let got = read_up_to(&file, 0, &mut pre).map_err(read_err)?;
        let magic_len = got.min(super::MAGIC.len());
        if pre[..magic_len] != super::MAGIC[..magic_len] {
            return Err(ImageError::BadMagic { path });
        }
        if got < pre.len() {
            return Err(ImageError::Truncated {
                path,
                expected: PREAMBLE_LEN,
                found: len,
                at_least: true,
            });
        }
        let header = Header::decode(&pre);
        if header.major != FORMAT_MAJOR || header.minor > FORMAT_MINOR {
            return Err(ImageError::Version {
                path,
                major: header.major,
                minor: header.minor,
            });
        }
        if header.architecture != ARCHITECTURE {
            return Err(ImageError::Architecture {
                path,
                found: header.architecture.escape_debug().to_string(),
            });
        }
        // No writer makes these lengths: the preamble itself is damaged.
        if !header.header_len.is_multiple_of(PAGE_SIZE)
            || header.header_len == 0
            || header.header_len > MAX_HEADER_LEN
            || header.meta_len == 0
            || header.meta_len > header.header_len - PREAMBLE_LEN
        {
            return Err(ImageError::Corrupted {
                path,
                section: SectionName::Header,
            });
        }
        if len < header.header_len {
            return Err(ImageError::Truncated {
                path,
                expected: header.header_len,
                found: len,
                at_least: true,
            });
        }
        let mut rest = vec![0u8; (header.header_len - PREAMBLE_LEN) as usize];
        file.read_exact_at(&mut rest, PREAMBLE_LEN)
            .map_err(read_err)?;
        let mut crc = Crc32c::new();
        crc.update(&pre[..28]);
        crc.update(&rest);
        if crc.finish() != header.checksum {
            return Err(ImageError::Corrupted {
                path,
                section: SectionName::Header,
            });
        }
        let meta: Meta = match serde_json::from_slice(&rest[..header.meta_len as usize]) {
            Ok(meta) => meta,
            Err(source) => return Err(ImageError::Metadata { path, source }),
        };
        let (state_crc, pages_crc, map_crc) = match check_layout(&header, &meta) {
            Ok(crcs) => crcs,
            Err(Refusal::Inconsistent(problem)) => {
                return Err(ImageError::Inconsistent { path, problem })
            }
            Err(Refusal::Compression(found)) => {
                return Err(ImageError::Compression { path, found })
            }
        };
        let map = &meta.sections.memory_map;
        let expected = map.offset + map.size;
        if len < expected {
            return Err(ImageError::Truncated {
                path,
                expected,
                found: len,
                at_least: false,
            });
        }
        if len > expected {
            return Err(ImageError::TrailingData {
                path,
                expected,
                found: len,
            });
        }
        Ok(Image {
            path,
            file,
            len,
            header,
            meta,
            state_crc,
            pages_crc,
            map_crc,
        })
    }

    /// The image file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The image file's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Never true for a checked image; present for symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn read_exact(&self, off: u64, buf: &mut [u8]) -> Result<(), ImageError> {
        self.file
            .read_exact_at(buf, off)
            .map_err(|source| ImageError::Read {
                path: self.path.clone(),
                source,
            })
    }

    /// Reads a whole section. Its size fits in memory: it lies inside a
    /// file whose length was checked.
    fn read_section(&self, offset: u64, size: u64) -> Result<Vec<u8>, ImageError> {
        let mut buf = vec![0u8; size as usize];
        self.read_exact(offset, &mut buf)?;
        Ok(buf)
    }

    fn corrupted(&self, section: SectionName) -> ImageError {
        ImageError::Corrupted {
            path: self.path.clone(),
            section,
        }
    }

    fn inconsistent(&self, problem: Inconsistency) -> ImageError {
        ImageError::Inconsistent {
            path: self.path.clone(),
            problem,
        }
    }

    /// The state section, checked against its checksum, with the padding
    /// after it checked to be zero.
    pub fn read_state(&self) -> Result<Vec<u8>, ImageError> {
        let s = &self.meta.sections.state;
        let state = self.read_section(s.offset, s.size)?;
        if crc32c(&state) != self.state_crc {
            return Err(self.corrupted(SectionName::State));
        }
        let end = s.offset + s.size;
        let pad = self.read_section(end, self.meta.sections.memory_pages.offset - end)?;
        if pad.iter().any(|&b| b != 0) {
            return Err(ImageError::StatePadding {
                path: self.path.clone(),
            });
        }
        Ok(state)
    }

    /// Checks the state section: its checksum and padding, its version,
    /// and that it decodes as this kernel's state.
    pub fn check_state(&self) -> Result<(), ImageError> {
        let state = self.read_state()?;
        decode_kernel(self, &state).map(drop)
    }

    /// The memory map, checked against its checksum and the format.
    pub fn read_map(&self) -> Result<PageMap, ImageError> {
        let s = &self.meta.sections.memory_map;
        let bytes = self.read_section(s.offset, s.size)?;
        if crc32c(&bytes) != self.map_crc {
            return Err(self.corrupted(SectionName::MemoryMap));
        }
        let limit = self.meta.memory.limit;
        let mut extents = Vec::with_capacity(bytes.len() / MAP_ENTRY_LEN as usize);
        let mut file_offset = self.meta.sections.memory_pages.offset;
        let mut prev_end = 0u64;
        let mut pages_crc = 0u32;
        for (index, e) in bytes.chunks_exact(MAP_ENTRY_LEN as usize).enumerate() {
            let frame = u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
            let pages = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
            let checksum = u32::from_le_bytes([e[12], e[13], e[14], e[15]]);
            let problem = if !frame.is_multiple_of(PAGE_SIZE) {
                Some(ExtentProblem::Misaligned)
            } else if pages == 0 {
                Some(ExtentProblem::Empty)
            } else if pages > MAX_EXTENT_PAGES {
                Some(ExtentProblem::TooLong)
            } else if frame < prev_end {
                Some(ExtentProblem::Overlaps)
            } else if frame > limit || u64::from(pages) * PAGE_SIZE > limit - frame {
                Some(ExtentProblem::PastLimit)
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(self.inconsistent(Inconsistency::Extent {
                    index: index as u64,
                    frame,
                    pages,
                    problem,
                }));
            }
            let extent = Extent {
                frame,
                pages,
                checksum,
                file_offset,
            };
            prev_end = extent.end();
            file_offset += extent.len();
            pages_crc = combine(pages_crc, checksum, extent.len());
            extents.push(extent);
        }
        let map = PageMap { extents };
        let expected = self.meta.memory.pages_saved;
        if map.pages() != expected {
            return Err(self.inconsistent(Inconsistency::PageCount {
                found: map.pages(),
                expected,
            }));
        }
        if pages_crc != self.pages_crc {
            return Err(self.inconsistent(Inconsistency::PagesChecksum));
        }
        Ok(map)
    }

    /// Reads extent `i` of `map` into `buf` and checks it.
    fn read_extent(&self, map: &PageMap, i: usize, buf: &mut [u8]) -> Result<Extent, ImageError> {
        let e = map.extents[i];
        let data = &mut buf[..e.len() as usize];
        self.read_exact(e.file_offset, data)?;
        if crc32c(data) != e.checksum {
            return Err(ImageError::PagesCorrupted {
                path: self.path.clone(),
                frame: e.frame,
                pages: e.pages,
            });
        }
        Ok(e)
    }

    /// Reads every saved page and checks it, without keeping any.
    pub fn check_pages(&self, map: &PageMap) -> Result<(), ImageError> {
        let mut buf = extent_buffer();
        for i in 0..map.extents.len() {
            self.read_extent(map, i, &mut buf)?;
        }
        Ok(())
    }

    /// Writes `data` into `mf` at `frame`.
    fn fill(&self, mf: &MemoryFile, frame: u64, data: &[u8]) -> Result<(), ImageError> {
        fill(mf, frame, data).map_err(|source| ImageError::Load {
            path: self.path.clone(),
            source,
        })
    }

    /// Checks extent `i` of `map` and writes it into `mf` at its frame
    /// offset (for loading pages on demand). Nothing unchecked is written.
    pub fn load_extent(&self, map: &PageMap, i: usize, mf: &MemoryFile) -> Result<(), ImageError> {
        let mut buf = extent_buffer();
        let e = self.read_extent(map, i, &mut buf)?;
        self.fill(mf, e.frame, &buf[..e.len() as usize])
    }

    /// Checks every extent of `map` and writes it into `mf`, extent by
    /// extent: on an error, the extents before the bad one are in `mf`,
    /// and nothing of the bad one. Nothing may use `mf` meanwhile (no task
    /// runs yet).
    ///
    /// The host copies each extent from the image into the memory file
    /// (`sendfile`), so its bytes never pass through a buffer here; the
    /// checksum is then computed over the memory file's mapping, while the
    /// extent is still in cache, and a bad extent is wiped before the
    /// error is returned. Where the host cannot copy between the two
    /// files, the extent goes through a buffer and is checked first.
    pub fn load_pages(&self, map: &PageMap, mf: &MemoryFile) -> Result<(), ImageError> {
        let mut buf = None;
        for (i, e) in map.extents.iter().enumerate() {
            let len = e.len() as usize;
            let copied =
                host_copy(&self.file, e.file_offset, mf, e.frame, len).map_err(|source| {
                    ImageError::Load {
                        path: self.path.clone(),
                        source,
                    }
                })?;
            if !copied {
                let buf = buf.get_or_insert_with(extent_buffer);
                self.read_extent(map, i, buf)?;
                self.fill(mf, e.frame, &buf[..len])?;
                continue;
            }
            if crc32c(mf.frozen_bytes(e.frame, len)) != e.checksum {
                mf.zero(e.frame, len);
                mf.release(e.frame, e.len());
                return Err(ImageError::PagesCorrupted {
                    path: self.path.clone(),
                    frame: e.frame,
                    pages: e.pages,
                });
            }
        }
        Ok(())
    }

    /// Writes every extent of `map` into `mf` without checking it again;
    /// for after [`Image::check_pages`].
    fn copy_pages(&self, map: &PageMap, mf: &MemoryFile) -> Result<(), ImageError> {
        let mut buf = extent_buffer();
        for e in &map.extents {
            let data = &mut buf[..e.len() as usize];
            self.read_exact(e.file_offset, data)?;
            self.fill(mf, e.frame, data)?;
        }
        Ok(())
    }
}

/// Writes `data` into the memory file at `off` through its descriptor
/// rather than its mapping: the host allocates the pages in one call per
/// extent instead of one fault per page, about twice as fast. `off` and
/// the length were checked against the memory file's size.
fn fill(mf: &MemoryFile, off: u64, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: the descriptor is `mf`'s own, open for as long as `mf` lives,
    // which outlives this borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(mf.raw_fd()) };
    write_all_at(fd, data, off)
}

/// Copies `len` bytes of `image` at `from` into the memory file at `to`
/// inside the host, with `sendfile`, which writes at the memory file's
/// position (nothing else uses it; `to` and the length were checked
/// against the memory file's size). Returns false, having copied nothing,
/// where the host cannot splice from the image's file system; an image
/// shorter than its checked length is an error.
fn host_copy(
    image: &File,
    from: u64,
    mf: &MemoryFile,
    to: u64,
    len: usize,
) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let out = mf.raw_fd();
    let mut done = 0usize;
    while done < len {
        // SAFETY: lseek on the memory file's own descriptor, open while
        // `mf` lives.
        let at = unsafe { libc::lseek(out, (to + done as u64) as libc::off_t, libc::SEEK_SET) };
        if at < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut off = (from + done as u64) as libc::off_t;
        // SAFETY: both descriptors are open (the image's is `image`'s, the
        // memory file's `mf`'s) and `off` is a local the call updates.
        let n = unsafe { libc::sendfile(out, image.as_raw_fd(), &mut off, len - done) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) if done == 0 => {
                    return Ok(false)
                }
                _ => return Err(e),
            }
        }
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        done += n as usize;
    }
    Ok(true)
}

/// Room for the longest extent.
fn extent_buffer() -> PageBuf {
    PageBuf::new(MAX_EXTENT_BYTES)
}

/// Why `check_layout` refuses metadata.
enum Refusal {
    Inconsistent(Inconsistency),
    Compression(String),
}

impl From<Inconsistency> for Refusal {
    fn from(i: Inconsistency) -> Refusal {
        Refusal::Inconsistent(i)
    }
}

/// Checks that the metadata agrees with the header and places every
/// section where the format says; returns the state, memory pages and
/// memory map checksums.
fn check_layout(header: &Header, meta: &Meta) -> Result<(u32, u32, u32), Refusal> {
    if meta.format_version != header.version() {
        return Err(Inconsistency::FormatVersion {
            header: header.version(),
            meta: meta.format_version.clone(),
        }
        .into());
    }
    if meta.architecture != header.architecture {
        return Err(Inconsistency::Architecture {
            header: header.architecture.clone(),
            meta: meta.architecture.clone(),
        }
        .into());
    }
    if meta.compression != "none" {
        return Err(Refusal::Compression(meta.compression.clone()));
    }
    if meta.page_size != PAGE_SIZE {
        return Err(Inconsistency::PageSize(meta.page_size).into());
    }
    let m = &meta.memory;
    if !m.limit.is_multiple_of(PAGE_SIZE) || m.limit > MEMORY_FILE_SIZE {
        return Err(Inconsistency::Limit(m.limit).into());
    }
    let counts_ok = m.pages_saved.checked_add(m.zero_pages_skipped) == Some(m.pages_scanned)
        && m.pages_scanned <= m.limit / PAGE_SIZE
        && m.extents <= m.pages_saved
        && (m.extents == 0) == (m.pages_saved == 0);
    if !counts_ok {
        return Err(Inconsistency::MemoryCounts(*m).into());
    }
    let s = &meta.sections;
    let place = |section, found: Span, expected: Span| {
        if found == expected {
            Ok(())
        } else {
            Err(Inconsistency::Placement {
                section,
                found,
                expected,
            })
        }
    };
    place(
        SectionName::Header,
        s.header,
        Span {
            offset: 0,
            size: header.header_len,
        },
    )?;
    // The state's size is free, but it must fit before the largest
    // possible memory file's pages so that the sums below cannot overflow.
    let state_size = s.state.size.min(MEMORY_FILE_SIZE);
    place(
        SectionName::State,
        s.state.span(),
        Span {
            offset: header.header_len,
            size: state_size,
        },
    )?;
    // Bounded by MAX_HEADER_LEN + 2^40 + 2^40 + 2^32: no overflow.
    let pages_offset = page_up(header.header_len + state_size).unwrap_or(u64::MAX);
    let pages_size = m.pages_saved * PAGE_SIZE;
    place(
        SectionName::MemoryPages,
        s.memory_pages.span(),
        Span {
            offset: pages_offset,
            size: pages_size,
        },
    )?;
    place(
        SectionName::MemoryMap,
        s.memory_map.span(),
        Span {
            offset: pages_offset + pages_size,
            size: m.extents * MAP_ENTRY_LEN,
        },
    )?;
    let crc = |section, text: &str| {
        parse_checksum(text).ok_or(Inconsistency::ChecksumText {
            section,
            text: text.to_string(),
        })
    };
    Ok((
        crc(SectionName::State, &s.state.checksum)?,
        crc(SectionName::MemoryPages, &s.memory_pages.checksum)?,
        crc(SectionName::MemoryMap, &s.memory_map.checksum)?,
    ))
}

/// An image checked whole: header, state (checked by the caller's
/// function), map and every page.
pub(crate) struct Verified {
    pub image: Image,
    pub state: Vec<u8>,
    pub map: PageMap,
}

/// Checks the image at `path` completely; `check` checks the state bytes.
pub(crate) fn open_verified(
    path: &Path,
    check: impl FnOnce(&Image, &[u8]) -> Result<(), ImageError>,
) -> Result<Verified, ImageError> {
    let image = Image::open(path)?;
    let state = image.read_state()?;
    check(&image, &state)?;
    let map = image.read_map()?;
    image.check_pages(&map)?;
    Ok(Verified { image, state, map })
}

/// Checks that the state was written by this kernel's types and decodes.
pub(crate) fn decode_kernel(image: &Image, state: &[u8]) -> Result<Kernel, ImageError> {
    let meta = image.meta();
    if meta.state_version != crate::state::STATE_VERSION {
        return Err(ImageError::StateVersion {
            path: image.path().to_path_buf(),
            found: meta.state_version,
            runtime: format!("{} {}", meta.runtime, meta.runtime_version),
        });
    }
    crate::state::decode(state).map_err(|source| ImageError::State {
        path: image.path().to_path_buf(),
        source,
    })
}

/// The header and metadata of the image at `path` (a directory or the
/// file), checked, with the file's length against them; the sections are
/// not read. Cheap: for describing an image, and for refusing a foreign,
/// newer or truncated one early.
pub fn read_header(path: &Path) -> Result<(Header, Meta), ImageError> {
    let image = Image::open(path)?;
    Ok((image.header, image.meta))
}

/// Checks the image at `path` completely, without a memory file: header,
/// every checksum, the layout, and that the state decodes as this kernel's.
pub fn verify(path: &Path) -> Result<Meta, ImageError> {
    Ok(open_verified(path, |i, s| decode_kernel(i, s).map(drop))?
        .image
        .meta)
}

/// Checks everything of the image at `path` but the page data: the header,
/// the state (its checksum, and that it decodes as this kernel's), and the
/// memory map (its checksum and every entry). What a restore checks before
/// it makes anything; the pages are checked extent by extent as they are
/// loaded, before any task runs, so each byte is read once.
pub fn check_for_restore(path: &Path) -> Result<Meta, ImageError> {
    let image = Image::open(path)?;
    let state = image.read_state()?;
    decode_kernel(&image, &state)?;
    image.read_map()?;
    Ok(image.meta)
}

/// Checks the image at `path` completely, then writes its pages into `mf`
/// (a fresh memory file) at the offsets they were saved from, and returns
/// the metadata and the state bytes for [`crate::state::decode`].
pub fn read(path: &Path, mf: &MemoryFile) -> Result<(Meta, Vec<u8>), ImageError> {
    read_with(path, mf, |i, s| decode_kernel(i, s).map(drop))
}

/// [`read`] with the caller's check of the state bytes.
pub(crate) fn read_with(
    path: &Path,
    mf: &MemoryFile,
    check: impl FnOnce(&Image, &[u8]) -> Result<(), ImageError>,
) -> Result<(Meta, Vec<u8>), ImageError> {
    let v = open_verified(path, check)?;
    v.image.copy_pages(&v.map, mf)?;
    Ok((v.image.meta, v.state))
}

/// How a restore brings the saved pages into the memory file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadMode {
    /// Every extent is copied and checked before anything runs.
    Eager,
    /// Extents stay in the image and are loaded on first use or in the
    /// background ([`crate::memory::lazy`]); each is checked as it loads.
    #[default]
    Lazy,
}

impl Image {
    /// Registers every extent of `map` with `mf` as pending, to be read
    /// from this image on demand.
    pub fn attach_lazy(&self, map: &PageMap, mf: &mut MemoryFile) -> Result<(), ImageError> {
        let mut pending = PendingMap::default();
        for e in &map.extents {
            pending.insert(
                e.frame,
                PendingExtent {
                    pages: e.pages,
                    file_offset: e.file_offset,
                    checksum: e.checksum,
                },
            );
        }
        let load_err = |source| ImageError::Load {
            path: self.path.clone(),
            source,
        };
        let source = PageSource {
            image: self.file.try_clone().map_err(load_err)?,
            path: self.path.clone(),
            memory: mf.dup_fd().map_err(load_err)?,
        };
        mf.attach_lazy(LazyPages::new(pending, source).map_err(load_err)?);
        Ok(())
    }
}

/// Like [`read`], keeping the decoded kernel.
pub(crate) fn read_kernel(path: &Path, mf: &MemoryFile) -> Result<(Meta, Kernel), ImageError> {
    load_kernel(Image::open(path)?, mf)
}

/// Checks the state and map of `image` and decodes its kernel, then checks
/// and loads its pages into `mf` extent by extent, reading each once. `mf`
/// must be a fresh memory file that the caller drops on an error (it may
/// then hold the extents before a bad one): nothing else is touched.
pub(crate) fn load_kernel(image: Image, mf: &MemoryFile) -> Result<(Meta, Kernel), ImageError> {
    let state = image.read_state()?;
    let kernel = decode_kernel(&image, &state)?;
    drop(state);
    let map = image.read_map()?;
    image.load_pages(&map, mf)?;
    Ok((image.meta, kernel))
}

/// [`load_kernel`] in `mode`: lazily, the header, state and memory map are
/// checked as before, but the pages stay in the image, registered with
/// `mf` as pending, each checked when it is loaded.
pub(crate) fn load_kernel_with(
    image: Image,
    mf: &mut MemoryFile,
    mode: LoadMode,
) -> Result<(Meta, Kernel), ImageError> {
    if mode == LoadMode::Eager {
        return load_kernel(image, mf);
    }
    let state = image.read_state()?;
    let kernel = decode_kernel(&image, &state)?;
    drop(state);
    let map = image.read_map()?;
    image.attach_lazy(&map, mf)?;
    Ok((image.meta, kernel))
}
