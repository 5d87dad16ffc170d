//! The checkpoint image: `<image-path>/checkpoint.img`, one file that holds
//! the kernel state and every saved page of the memory file.
//!
//! # Layout (format 1.0)
//!
//! All integers are little-endian. Offsets are from the start of the file.
//!
//! | part | where | what |
//! |---|---|---|
//! | preamble | `0..32` | see below |
//! | metadata | `32..32+meta_len` | JSON ([`Meta`]): container ID, time, runtime, architecture, compression, every section's offset, size and checksum, page counts, a summary of the kernel |
//! | padding | to `header_len` | zeros; `header_len` is a multiple of the page size |
//! | state | `header_len..` | the kernel state, bincode 2 ([`super::encode`]), uncompressed |
//! | padding | to the next page | zeros |
//! | memory pages | page-aligned | the saved pages, back to back, in the order of the map |
//! | memory map | right after the pages | one 16-byte entry per extent (run of saved pages) |
//!
//! The preamble:
//!
//! | bytes | field |
//! |---|---|
//! | `0..8` | magic `RUNSCIMG` |
//! | `8..10` | format major version (`u16`) |
//! | `10..12` | format minor version (`u16`) |
//! | `12..20` | architecture, ASCII, padded with NULs (`x86_64`) |
//! | `20..24` | `header_len` (`u32`): where the first section starts |
//! | `24..28` | `meta_len` (`u32`): bytes of JSON metadata |
//! | `28..32` | header checksum (`u32`): CRC32C of bytes `0..28` followed by bytes `32..header_len` |
//!
//! A memory map entry is the frame offset (`u64`) where the extent goes in
//! the memory file, its length in pages (`u32`, at most
//! [`MAX_EXTENT_PAGES`]) and the CRC32C of its bytes (`u32`). Entries are
//! sorted by frame offset and do not overlap; an extent's data lies in the
//! pages section right after the previous extent's. Pages of the memory
//! file that were holes or held only zeros are in no extent: restore leaves
//! them as holes of a fresh memory file, which read as zeros.
//!
//! Checksums are CRC32C ([`super::crc`]). The header's is in the preamble.
//! The state, memory pages and memory map sections each carry theirs in the
//! metadata (`crc32c:` and eight hex digits), so the header checksum covers
//! them; the memory pages checksum is that of the whole section, and each
//! extent's own checksum in the map lets restore verify a run of pages on
//! its own (for loading pages on demand). The zero padding after the state
//! is checked to be zero. Every byte of an image is thus covered.
//!
//! # Compatibility rule
//!
//! The magic and the two version fields keep their place in every format.
//! A reader of format `A.B` reads an image of format `X.Y` when `X == A` and
//! `Y <= B`, and refuses it otherwise, before reading anything else:
//!
//! - a minor version adds to the format (a metadata field, a section at
//!   the end, a new compression) without changing what is there; a reader
//!   reads every older minor of its major;
//! - a major version changes what is there; images of another major are
//!   refused (no conversion is written yet).
//!
//! The metadata's `compression` is `"none"` in format 1.0; a compressed
//! state section would come with a minor version, and a reader refuses a
//! compression it does not know.
//!
//! The kernel state inside is versioned on its own (`state_version` in the
//! metadata, [`super::STATE_VERSION`]): bincode is not self-describing, so
//! state from another version of the kernel's types is refused rather than
//! misread, whatever the format version. Images are also tied to the
//! architecture they were written on.
//!
//! # Writing and reading
//!
//! [`write()`] writes under a temporary name in the image directory and
//! renames it to `checkpoint.img`, so a failed checkpoint leaves no partial
//! image under the real name (a failed write removes its temporary file; a
//! writer killed outright leaves a hidden `.checkpoint.img.<pid>-<n>.tmp`,
//! never a `checkpoint.img`). It does not `fsync` (neither do runc with
//! CRIU nor gVisor): syncing a gigabyte costs more than writing it, and
//! what a host crash could leave behind, a file whose tail never reached
//! the disk, is no danger: every section has a checksum, so such an image
//! is refused as truncated or corrupted, never misread. Then it writes `inventory.img`, the small file
//! podman looks for before it restores, saying what produced the image.
//! The writer reads each page of the memory file once: pages go to the file
//! as they are found non-zero, and the map, whose size is known only then,
//! follows them; the header is written last, into room reserved from an
//! upper bound of the metadata's size.
//!
//! [`Image::open`] validates the header (magic, version, architecture,
//! checksum, metadata, layout, file length) and [`verify`] / [`read`]
//! validate every section, and that the state decodes, before they return
//! anything or touch a memory file. Every error names the image's path.

pub(crate) mod read;
mod write;

#[cfg(test)]
mod tests;

pub use super::meta::{KernelSummary, MemorySummary, Meta, Section, Sections, Span};
pub use read::{check_for_restore, read, read_header, verify, Extent, Image, LoadMode, PageMap};
pub use write::{write, write_to, ImageStats, PendingImage, Released, Written};

use super::meta::ARCHITECTURE;
use super::StateError;
use std::fmt;
use std::path::{Path, PathBuf};

/// The image file in an image directory.
pub const IMAGE_FILE: &str = "checkpoint.img";

/// The file podman checks for before it restores (a CRIU file name).
pub const INVENTORY_FILE: &str = "inventory.img";

/// The first eight bytes of every image.
pub const MAGIC: [u8; 8] = *b"RUNSCIMG";

/// The format this runtime writes, and the newest it reads.
pub const FORMAT_MAJOR: u16 = 1;
pub const FORMAT_MINOR: u16 = 0;

/// Bytes of the binary preamble before the metadata.
pub const PREAMBLE_LEN: u64 = 32;

/// Bytes of one memory map entry.
pub const MAP_ENTRY_LEN: u64 = 16;

/// The longest extent: 1 MiB, so that one fault can load and verify its
/// extent quickly.
pub const MAX_EXTENT_PAGES: u32 = 256;
/// The largest extent's length in bytes.
pub const MAX_EXTENT_BYTES: usize = MAX_EXTENT_PAGES as usize * crate::memory::PAGE_SIZE as usize;

/// The largest header a reader accepts, so a damaged length cannot make it
/// read a huge amount before the checksum fails.
pub const MAX_HEADER_LEN: u64 = 1 << 20;

/// The parts of an image, as errors and `runsc statefile` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionName {
    Header,
    State,
    MemoryPages,
    MemoryMap,
}

impl fmt::Display for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SectionName::Header => "header",
            SectionName::State => "state",
            SectionName::MemoryPages => "memory pages",
            SectionName::MemoryMap => "memory map",
        })
    }
}

/// The binary preamble of an image, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub major: u16,
    pub minor: u16,
    pub architecture: String,
    /// Where the first section starts.
    pub header_len: u64,
    /// Bytes of JSON metadata after the preamble.
    pub meta_len: u64,
    /// CRC32C of the header (see the module documentation).
    pub checksum: u32,
}

impl Header {
    /// The format version, `major.minor`.
    pub fn version(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// The preamble's bytes.
    fn encode(&self) -> [u8; PREAMBLE_LEN as usize] {
        let mut b = [0u8; PREAMBLE_LEN as usize];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&self.major.to_le_bytes());
        b[10..12].copy_from_slice(&self.minor.to_le_bytes());
        let arch = self.architecture.as_bytes();
        let n = arch.len().min(8);
        b[12..12 + n].copy_from_slice(&arch[..n]);
        b[20..24].copy_from_slice(&(self.header_len as u32).to_le_bytes());
        b[24..28].copy_from_slice(&(self.meta_len as u32).to_le_bytes());
        b[28..32].copy_from_slice(&self.checksum.to_le_bytes());
        b
    }

    /// Decodes a preamble whose magic was checked.
    fn decode(b: &[u8; PREAMBLE_LEN as usize]) -> Header {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let arch = &b[12..20];
        let end = arch.iter().position(|&c| c == 0).unwrap_or(arch.len());
        Header {
            major: u16_at(8),
            minor: u16_at(10),
            architecture: String::from_utf8_lossy(&arch[..end]).into_owned(),
            header_len: u64::from(u32_at(20)),
            meta_len: u64::from(u32_at(24)),
            checksum: u32_at(28),
        }
    }
}

/// Why an image cannot be written or read. Every error names the image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("checkpoint image {} does not exist", .path.display())]
    Missing { path: PathBuf },
    #[error("cannot open checkpoint image {}: {source}", .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading checkpoint image {} failed: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a runsc checkpoint image", .path.display())]
    BadMagic { path: PathBuf },
    #[error(
        "{}: written by format {major}.{minor}, this runtime reads {FORMAT_MAJOR}.{FORMAT_MINOR}",
        .path.display()
    )]
    Version {
        path: PathBuf,
        major: u16,
        minor: u16,
    },
    #[error("{}: written on {found}, this runtime runs on {ARCHITECTURE}", .path.display())]
    Architecture { path: PathBuf, found: String },
    #[error(
        "{}: truncated: expected {}{expected} bytes, found {found}",
        .path.display(),
        if *.at_least { "at least " } else { "" }
    )]
    Truncated {
        path: PathBuf,
        expected: u64,
        found: u64,
        /// Only the header was readable, so the full size is unknown.
        at_least: bool,
    },
    #[error(
        "{}: {found} bytes long, but its metadata describes {expected}: data was appended",
        .path.display()
    )]
    TrailingData {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("{}: {section} section is corrupted (checksum mismatch)", .path.display())]
    Corrupted { path: PathBuf, section: SectionName },
    #[error(
        "{}: memory pages section is corrupted (checksum mismatch in the {pages} pages saved for frame {frame:#x})",
        .path.display()
    )]
    PagesCorrupted {
        path: PathBuf,
        frame: u64,
        pages: u32,
    },
    #[error("{}: state section is corrupted (the padding after it is not zero)", .path.display())]
    StatePadding { path: PathBuf },
    #[error("{}: the metadata cannot be read: {source}", .path.display())]
    Metadata {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: inconsistent image: {problem}", .path.display())]
    Inconsistent {
        path: PathBuf,
        problem: Inconsistency,
    },
    #[error(
        "{}: the state is compressed with {found:?}, which this runtime cannot read",
        .path.display()
    )]
    Compression { path: PathBuf, found: String },
    #[error(
        "{}: holds kernel state version {found} (written by {runtime}), this runtime reads version {}",
        .path.display(),
        super::STATE_VERSION
    )]
    StateVersion {
        path: PathBuf,
        found: u32,
        runtime: String,
    },
    #[error("{}: the kernel state cannot be decoded: {source}", .path.display())]
    State { path: PathBuf, source: StateError },
    #[error("loading the pages of {} into the memory file failed: {source}", .path.display())]
    Load {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing checkpoint image {} failed: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot encode the metadata: {source}", .path.display())]
    MetadataEncode {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{}: {size} bytes of metadata do not fit the {room} bytes reserved for them",
        .path.display()
    )]
    MetadataTooLarge { path: PathBuf, size: u64, room: u64 },
    #[error(
        "{failure}; and the memory already given back to the host could not be read back \
         from the image: {lost}"
    )]
    MemoryLost {
        failure: Box<ImageError>,
        lost: std::io::Error,
    },
}

/// Ways an image whose checksums match can still contradict itself or the
/// format. A correct writer never produces one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Inconsistency {
    #[error("the header says format {header}, the metadata {meta:?}")]
    FormatVersion { header: String, meta: String },
    #[error("the header says architecture {header}, the metadata {meta:?}")]
    Architecture { header: String, meta: String },
    #[error("header length {header_len} or metadata length {meta_len} is impossible")]
    HeaderLength { header_len: u64, meta_len: u64 },
    #[error("page size {0}, the format uses 4096")]
    PageSize(u64),
    #[error("the {section} section is at {}+{}, the format puts it at {}+{}",
        .found.offset, .found.size, .expected.offset, .expected.size)]
    Placement {
        section: SectionName,
        found: Span,
        expected: Span,
    },
    #[error("the {section} section's checksum {text:?} is not crc32c:<8 hex digits>")]
    ChecksumText { section: SectionName, text: String },
    #[error("memory limit {0:#x} is not a page boundary inside the memory file")]
    Limit(u64),
    #[error("the memory counts do not add up ({0:?})")]
    MemoryCounts(MemorySummary),
    #[error("memory map entry {index} (frame {frame:#x}, {pages} pages): {problem}")]
    Extent {
        index: u64,
        frame: u64,
        pages: u32,
        problem: ExtentProblem,
    },
    #[error("the memory map holds {found} pages, the metadata says {expected}")]
    PageCount { found: u64, expected: u64 },
    #[error("the memory map's checksums do not make up the memory pages checksum")]
    PagesChecksum,
}

/// What is wrong with a memory map entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentProblem {
    Misaligned,
    Empty,
    TooLong,
    Overlaps,
    PastLimit,
}

impl fmt::Display for ExtentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExtentProblem::Misaligned => "frame is not page-aligned",
            ExtentProblem::Empty => "no pages",
            ExtentProblem::TooLong => "longer than an extent may be",
            ExtentProblem::Overlaps => "overlaps or precedes the entry before it",
            ExtentProblem::PastLimit => "reaches past the memory limit",
        })
    }
}

/// A checksum as the metadata writes it.
fn checksum_text(crc: u32) -> String {
    format!("crc32c:{crc:08x}")
}

/// Reads a checksum the metadata wrote.
fn parse_checksum(text: &str) -> Option<u32> {
    let hex = text.strip_prefix("crc32c:")?;
    if hex.len() != 8 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// `checkpoint.img` in `path` if it is a directory, else `path` itself.
pub fn image_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(IMAGE_FILE)
    } else {
        path.to_path_buf()
    }
}
