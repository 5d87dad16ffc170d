//! Tests of the image format: round trips, and refusal of every kind of
//! damaged, foreign or newer image.

use super::read::{open_verified, read_with};
use super::write::{write_through, Sink};
use super::*;
use crate::memory::{MemoryFile, PAGE_SIZE};
use crate::state::crc::crc32c;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU32, Ordering};

const P: u64 = PAGE_SIZE;

/// A directory removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("runsc-image-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn image(&self) -> PathBuf {
        self.0.join(IMAGE_FILE)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The contents of test page `i`: no zero byte anywhere.
fn page(i: u64) -> Vec<u8> {
    (0..P).map(|j| (((i * 7 + j) % 251) as u8) | 1).collect()
}

/// What [`fill`] puts in a memory file, and what an image of it holds.
struct Layout {
    /// The `limit` to write with.
    limit: u64,
    /// Non-zero pages.
    pages: u64,
    /// Pages that hold data on the host but only zeros.
    zero_pages: u64,
    /// Extents the writer must form.
    extents: u64,
}

/// Fills `mf` with non-zero pages, zero pages that hold data on the host,
/// holes, a run longer than one extent, a page whose only non-zero byte is
/// its last, and a page past the limit.
fn fill(mf: &MemoryFile) -> Layout {
    let put = |i: u64| mf.write(i * P, &page(i));
    // Extent 1: pages 0..4.
    (0..4).for_each(put);
    // Page 4 was written, then zeroed: data on the host, all zeros.
    put(4);
    mf.zero(4 * P, P as usize);
    // Extent 2: pages 5..8. Then a hole of pages 8..20.
    (5..8).for_each(put);
    // Pages 20..320: 300 pages, two extents (256 + 44).
    (20..320).for_each(put);
    // Page 320 zero (but present), page 321 only its last byte set.
    mf.write(320 * P, &[0u8; 16]);
    mf.write(321 * P + P - 1, &[9]);
    // Page 400 lies past the limit and must not be saved.
    put(400);
    Layout {
        limit: 400 * P,
        pages: 4 + 3 + 300 + 1,
        zero_pages: 2,
        extents: 5,
    }
}

fn meta(id: &str) -> Meta {
    Meta::new(
        id,
        KernelSummary {
            tasks: 3,
            processes: 2,
            address_spaces: 2,
            open_files: 7,
            memory_bytes: 1 << 20,
        },
    )
}

fn state_bytes() -> Vec<u8> {
    b"kernel state, not really bincode. ".repeat(300)
}

/// Writes the standard test image into `dir`.
fn write_test_image(dir: &Path) -> (ImageStats, Layout, MemoryFile) {
    let mf = MemoryFile::new().unwrap();
    let layout = fill(&mf);
    let stats = write(dir, &meta("web-1"), &state_bytes(), &mf, layout.limit).unwrap();
    (stats, layout, mf)
}

/// Full verification with the state taken as it is (the test state is
/// not a kernel).
fn verify_format(path: &Path) -> Result<Meta, ImageError> {
    open_verified(path, |_, _| Ok(())).map(|v| v.image.meta().clone())
}

fn page_of(mf: &MemoryFile, i: u64) -> Vec<u8> {
    let mut b = vec![0u8; P as usize];
    mf.read(i * P, &mut b);
    b
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_restores_every_page_at_its_offset() {
    let dir = TempDir::new();
    let (stats, layout, mf) = write_test_image(dir.path());
    assert_eq!(stats.path, dir.image());
    assert_eq!(stats.pages_saved, layout.pages);
    assert_eq!(stats.zero_pages_skipped, layout.zero_pages);
    assert_eq!(stats.extents, layout.extents);

    // Zero pages and holes take no room: the file is the header, the
    // state padded to a page, the saved pages and the map, exactly.
    let (header, m) = read_header(dir.path()).unwrap();
    let state_len = state_bytes().len() as u64;
    let expected = header.header_len
        + state_len.div_ceil(P) * P
        + layout.pages * P
        + layout.extents * MAP_ENTRY_LEN;
    assert_eq!(std::fs::metadata(dir.image()).unwrap().len(), expected);
    assert_eq!(stats.bytes, expected);
    assert_eq!(m.container_id, "web-1");
    assert_eq!(m.format_version, "1.0");
    assert_eq!(m.memory.pages_saved, layout.pages);
    assert_eq!(m.memory.limit, layout.limit);
    assert_eq!(m.kernel.open_files, 7);
    assert_eq!(header.architecture, "x86_64");

    let fresh = MemoryFile::new().unwrap();
    let (m2, state) = read_with(dir.path(), &fresh, |_, _| Ok(())).unwrap();
    assert_eq!(m2, m);
    assert_eq!(state, state_bytes());
    // The zero pages stayed holes (checked first: reading a hole through
    // the mapping allocates it).
    let ranges = fresh.data_ranges(1 << 30);
    assert!(ranges.iter().all(|&(s, e)| e <= 4 * P || s >= 5 * P));
    assert!(ranges.iter().all(|&(s, e)| e <= 320 * P || s >= 321 * P));
    assert!(ranges.iter().all(|&(_, e)| e <= layout.limit));
    for i in 0..layout.limit / P {
        assert_eq!(page_of(&fresh, i), page_of(&mf, i), "page {i}");
    }
    // Nothing past the limit.
    assert_eq!(page_of(&fresh, 400), vec![0u8; P as usize]);

    // Only the image and the inventory remain, no temporary file.
    assert_eq!(files_in(dir.path()), vec![IMAGE_FILE, INVENTORY_FILE]);
    let inventory = std::fs::read_to_string(dir.path().join(INVENTORY_FILE)).unwrap();
    assert!(inventory.contains("runsc-rs"), "{inventory}");
    assert!(inventory.contains("web-1"), "{inventory}");
    assert!(inventory.contains("not a CRIU image"), "{inventory}");
}

/// The map's extents as (first page, pages).
fn runs(map: &PageMap) -> Vec<(u64, u32)> {
    map.extents()
        .iter()
        .map(|e| (e.frame / P, e.pages))
        .collect()
}

#[test]
fn the_map_places_extents_where_the_pages_were() {
    let dir = TempDir::new();
    write_test_image(dir.path());
    let image = Image::open(dir.path()).unwrap();
    let map = image.read_map().unwrap();
    assert_eq!(
        runs(&map),
        vec![(0, 4), (5, 3), (20, 256), (276, 44), (321, 1)]
    );
    assert_eq!(map.find(0), Some(0));
    assert_eq!(map.find(3 * P + 17), Some(0));
    assert_eq!(map.find(4 * P), None);
    assert_eq!(map.find(300 * P), Some(3));
    assert_eq!(map.find(321 * P), Some(4));
    assert_eq!(map.find(322 * P), None);
    // Loading one extent on its own brings exactly its pages.
    let mf = MemoryFile::new().unwrap();
    image.load_extent(&map, 1, &mf).unwrap();
    assert_eq!(page_of(&mf, 6), page(6));
    assert_eq!(page_of(&mf, 0), vec![0u8; P as usize]);
}

#[test]
fn extents_run_across_chunks_up_to_their_largest() {
    // Pages 100..700 with page 150 zero: chunks of the writer start at
    // page 100, 356 and 612, so the run after the zero page is cut by the
    // largest extent inside the second and third chunks.
    let mf = MemoryFile::new().unwrap();
    for i in 100..700 {
        if i == 150 {
            mf.write(i * P, &[0u8; 8]);
        } else {
            mf.write(i * P, &page(i));
        }
    }
    let dir = TempDir::new();
    write(dir.path(), &meta("web-1"), &state_bytes(), &mf, 700 * P).unwrap();
    let map = Image::open(dir.path()).unwrap().read_map().unwrap();
    assert_eq!(
        runs(&map),
        vec![(100, 50), (151, 256), (407, 256), (663, 37)]
    );
    let fresh = MemoryFile::new().unwrap();
    read_with(dir.path(), &fresh, |_, _| Ok(())).unwrap();
    for i in 0..700 {
        let expected = if (100..700).contains(&i) && i != 150 {
            page(i)
        } else {
            vec![0u8; P as usize]
        };
        assert!(page_of(&fresh, i) == expected, "page {i} differs");
    }
}

#[test]
fn an_image_without_memory_round_trips() {
    let dir = TempDir::new();
    let mf = MemoryFile::new().unwrap();
    let stats = write(dir.path(), &meta("empty"), b"s", &mf, 0).unwrap();
    assert_eq!((stats.pages_saved, stats.extents), (0, 0));
    let fresh = MemoryFile::new().unwrap();
    let (m, state) = read_with(dir.path(), &fresh, |_, _| Ok(())).unwrap();
    assert_eq!(state, b"s");
    assert_eq!(m.memory.pages_saved, 0);
}

#[test]
fn a_new_image_replaces_the_old_one() {
    let dir = TempDir::new();
    write_test_image(dir.path());
    let mf = MemoryFile::new().unwrap();
    write(dir.path(), &meta("second"), b"two", &mf, 0).unwrap();
    assert_eq!(verify_format(dir.path()).unwrap().container_id, "second");
    assert_eq!(files_in(dir.path()), vec![IMAGE_FILE, INVENTORY_FILE]);
}

/// Copies the first `len` bytes of the image in `from` into a new
/// directory's image.
fn cut(from: &Path, len: u64) -> TempDir {
    let bytes = std::fs::read(from.join(IMAGE_FILE)).unwrap();
    let dir = TempDir::new();
    std::fs::write(dir.image(), &bytes[..len as usize]).unwrap();
    dir
}

#[test]
fn truncated_images_are_refused() {
    let good = TempDir::new();
    let (stats, _, _) = write_test_image(good.path());
    let total = stats.bytes;
    let (header, m) = read_header(good.path()).unwrap();
    let s = &m.sections;
    let cuts = [
        (0, Some(PREAMBLE_LEN)),
        (5, Some(PREAMBLE_LEN)),
        (8, Some(PREAMBLE_LEN)),
        (31, Some(PREAMBLE_LEN)),
        (32, Some(header.header_len)),
        (100, Some(header.header_len)),
        (header.header_len - 1, Some(header.header_len)),
        (header.header_len, None),
        (s.state.offset + 10, None),
        (s.memory_pages.offset, None),
        (s.memory_pages.offset + 3 * P + 7, None),
        (s.memory_map.offset, None),
        (total - 1, None),
    ];
    for (len, at_least) in cuts {
        let dir = cut(good.path(), len);
        let err = Image::open(dir.path()).unwrap_err();
        let text = err.to_string();
        match at_least {
            Some(expected) => assert!(
                matches!(err, ImageError::Truncated { expected: e, found, at_least: true, .. }
                    if e == expected && found == len),
                "cut at {len}: {text}"
            ),
            None => assert!(
                matches!(err, ImageError::Truncated { expected, found, at_least: false, .. }
                    if expected == total && found == len),
                "cut at {len}: {text}"
            ),
        }
        assert!(text.contains("truncated: expected"), "{text}");
        assert!(text.contains(&dir.image().display().to_string()), "{text}");
        assert!(verify(dir.path()).is_err());
    }
    let text = Image::open(cut(good.path(), total - 1).path())
        .unwrap_err()
        .to_string();
    assert!(
        text.ends_with(&format!(
            "truncated: expected {total} bytes, found {}",
            total - 1
        )),
        "{text}"
    );
}

#[test]
fn data_after_the_image_is_refused() {
    let dir = TempDir::new();
    let (stats, _, _) = write_test_image(dir.path());
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.image())
        .unwrap();
    f.write_all_at(b"extra", stats.bytes).unwrap();
    let err = Image::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, ImageError::TrailingData { expected, found, .. }
            if expected == stats.bytes && found == stats.bytes + 5),
        "{err}"
    );
}

/// Flips the bits of the byte at `off` of the image in `dir`.
fn flip(dir: &Path, off: u64) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(IMAGE_FILE))
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, off).unwrap();
    b[0] ^= 0xff;
    f.write_all_at(&b, off).unwrap();
}

#[test]
fn a_flipped_byte_in_any_section_is_refused_naming_it() {
    let good = TempDir::new();
    write_test_image(good.path());
    let (header, m) = read_header(good.path()).unwrap();
    let s = &m.sections;
    let cases: Vec<(&str, u64, &str)> = vec![
        ("metadata", PREAMBLE_LEN + 20, "header section is corrupted"),
        ("checksum field", 29, "header section is corrupted"),
        ("metadata length", 24, "header section is corrupted"),
        ("header length", 21, "header section is corrupted"),
        (
            "header padding",
            header.header_len - 1,
            "header section is corrupted",
        ),
        ("state", s.state.offset + 5, "state section is corrupted"),
        (
            "state padding",
            s.memory_pages.offset - 1,
            "state section is corrupted",
        ),
        (
            "first page",
            s.memory_pages.offset,
            "memory pages section is corrupted",
        ),
        (
            "a page of the fourth extent",
            s.memory_pages.offset + (4 + 3 + 256 + 10) * P + 99,
            "memory pages section is corrupted",
        ),
        (
            "map frame",
            s.memory_map.offset + 16 + 1,
            "memory map section is corrupted",
        ),
        (
            "map checksum",
            s.memory_map.offset + 16 * 4 + 12,
            "memory map section is corrupted",
        ),
    ];
    for (what, off, message) in cases {
        let dir = cut(good.path(), std::fs::metadata(good.image()).unwrap().len());
        flip(dir.path(), off);
        let err = verify_format(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(message), "{what}: {text}");
        assert!(
            text.contains(&dir.image().display().to_string()),
            "{what}: {text}"
        );
        assert!(
            text.contains("checksum mismatch") || what == "state padding",
            "{what}: {text}"
        );
        // The real entry points refuse it too.
        assert!(verify(dir.path()).is_err(), "{what}");
        let mf = MemoryFile::new().unwrap();
        assert!(read(dir.path(), &mf).is_err(), "{what}");
    }
}

#[test]
fn a_bad_extent_is_reported_with_its_frame_and_nothing_unchecked_is_loaded() {
    let dir = TempDir::new();
    write_test_image(dir.path());
    let (_, m) = read_header(dir.path()).unwrap();
    // A byte in the second extent (pages 5..8).
    flip(dir.path(), m.sections.memory_pages.offset + 5 * P + 1);
    let err = verify_format(dir.path()).unwrap_err();
    assert!(
        matches!(err, ImageError::PagesCorrupted { frame, pages: 3, .. } if frame == 5 * P),
        "{err}"
    );
    assert!(err.to_string().contains("frame 0x5000"), "{err}");
    // Loading extent by extent stops at the bad one, before writing it.
    let image = Image::open(dir.path()).unwrap();
    let map = image.read_map().unwrap();
    let mf = MemoryFile::new().unwrap();
    assert!(image.load_pages(&map, &mf).is_err());
    assert_eq!(page_of(&mf, 0), page(0));
    assert_eq!(page_of(&mf, 5), vec![0u8; P as usize]);
    // `read` checks first: nothing at all is loaded.
    let mf = MemoryFile::new().unwrap();
    assert!(read_with(dir.path(), &mf, |_, _| Ok(())).is_err());
    assert!(mf.data_ranges(1 << 30).is_empty());
}

#[test]
fn other_files_are_not_images() {
    let dir = TempDir::new();
    std::fs::write(dir.image(), b"hello, this is not an image at all").unwrap();
    let err = Image::open(dir.path()).unwrap_err();
    assert!(matches!(err, ImageError::BadMagic { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{} is not a runsc checkpoint image", dir.image().display())
    );
    // A short file that is not a prefix of the magic is not an image
    // either; an empty one was cut short.
    std::fs::write(dir.image(), b"ELF").unwrap();
    assert!(matches!(
        Image::open(dir.path()),
        Err(ImageError::BadMagic { .. })
    ));
    std::fs::write(dir.image(), b"").unwrap();
    assert!(matches!(
        Image::open(dir.path()),
        Err(ImageError::Truncated { .. })
    ));
}

/// Overwrites bytes of the image in `dir` at `off`.
fn patch(dir: &Path, off: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(IMAGE_FILE))
        .unwrap();
    f.write_all_at(bytes, off).unwrap();
}

#[test]
fn newer_and_older_formats_are_refused() {
    let good = TempDir::new();
    write_test_image(good.path());
    let len = std::fs::metadata(good.image()).unwrap().len();
    for (major, minor) in [(2u16, 0u16), (1, 1), (0, 9), (65535, 65535)] {
        let dir = cut(good.path(), len);
        patch(dir.path(), 8, &major.to_le_bytes());
        patch(dir.path(), 10, &minor.to_le_bytes());
        let err = Image::open(dir.path()).unwrap_err();
        assert!(matches!(err, ImageError::Version { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: written by format {major}.{minor}, this runtime reads 1.0",
                dir.image().display()
            )
        );
    }
}

#[test]
fn foreign_architectures_are_refused() {
    let dir = TempDir::new();
    write_test_image(dir.path());
    patch(dir.path(), 12, b"aarch64\0");
    let err = read_header(dir.path()).unwrap_err();
    assert!(matches!(err, ImageError::Architecture { ref found, .. } if found == "aarch64"));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: written on aarch64, this runtime runs on x86_64",
            dir.image().display()
        )
    );
}

#[test]
fn a_missing_image_names_its_path() {
    let dir = TempDir::new();
    let err = read_header(dir.path()).unwrap_err();
    assert!(matches!(err, ImageError::Missing { .. }));
    assert_eq!(
        err.to_string(),
        format!("checkpoint image {} does not exist", dir.image().display())
    );
    let nowhere = dir.path().join("no/such/dir");
    let err = verify(&nowhere).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    let mf = MemoryFile::new().unwrap();
    assert!(matches!(
        read(&dir.image(), &mf),
        Err(ImageError::Missing { .. })
    ));
}

/// Rewrites the metadata of the image in `dir` with `edit` and seals the
/// header again with a correct checksum, as a buggy or hostile writer
/// would.
fn rewrite_meta(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(IMAGE_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let pre: [u8; 32] = bytes[..32].try_into().unwrap();
    let mut header = Header::decode(&pre);
    let meta_end = (PREAMBLE_LEN + header.meta_len) as usize;
    let mut json: serde_json::Value = serde_json::from_slice(&bytes[32..meta_end]).unwrap();
    edit(&mut json);
    let new = serde_json::to_vec(&json).unwrap();
    let region = 32..header.header_len as usize;
    bytes[region.clone()].fill(0);
    bytes[32..32 + new.len()].copy_from_slice(&new);
    header.meta_len = new.len() as u64;
    bytes[..32].copy_from_slice(&header.encode());
    let mut crc = crate::state::crc::Crc32c::new();
    crc.update(&bytes[..28]);
    crc.update(&bytes[region]);
    header.checksum = crc.finish();
    bytes[..32].copy_from_slice(&header.encode());
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn metadata_that_contradicts_the_format_is_refused() {
    let good = TempDir::new();
    write_test_image(good.path());
    let len = std::fs::metadata(good.image()).unwrap().len();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(Edit, &str); 7] = [
        (
            |j| j["compression"] = "zstd".into(),
            "the state is compressed with \"zstd\"",
        ),
        (
            |j| j["format_version"] = "1.1".into(),
            "the header says format 1.0",
        ),
        (
            |j| j["architecture"] = "riscv64".into(),
            "the header says architecture x86_64",
        ),
        (|j| j["page_size"] = 16384.into(), "page size 16384"),
        (
            |j| j["sections"]["state"]["offset"] = 0.into(),
            "the state section is at 0+10200, the format puts it at 4096+10200",
        ),
        (
            |j| j["sections"]["memory_map"]["checksum"] = "md5:00".into(),
            "is not crc32c",
        ),
        (
            |j| j["memory"]["pages_saved"] = 1.into(),
            "the memory counts do not add up",
        ),
    ];
    for (edit, message) in cases {
        let dir = cut(good.path(), len);
        rewrite_meta(dir.path(), edit);
        let text = Image::open(dir.path()).unwrap_err().to_string();
        assert!(text.contains(message), "{message}: {text}");
        assert!(text.contains(&dir.image().display().to_string()), "{text}");
    }
    // Metadata that is not JSON of the right shape.
    let dir = cut(good.path(), len);
    rewrite_meta(dir.path(), |j| j["memory"] = "lots".into());
    let err = Image::open(dir.path()).unwrap_err();
    assert!(matches!(err, ImageError::Metadata { .. }), "{err}");
}

#[test]
fn state_from_another_kernel_version_or_not_decodable_is_refused() {
    let good = TempDir::new();
    write_test_image(good.path());
    // The test state is not a kernel: the format is fine, decoding is not.
    assert!(verify_format(good.path()).is_ok());
    let err = verify(good.path()).unwrap_err();
    assert!(matches!(err, ImageError::State { .. }), "{err}");
    assert!(err.to_string().contains("cannot be decoded"), "{err}");

    rewrite_meta(good.path(), |j| {
        j["state_version"] = 999.into();
        j["runtime_version"] = "9.9.9".into();
    });
    let err = verify(good.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: holds kernel state version 999 (written by runsc-rs 9.9.9), this runtime reads version {}",
            good.image().display(),
            crate::state::STATE_VERSION
        )
    );
}

/// A sink that fails with "no space left" once `budget` bytes are written,
/// and fails every read with an I/O error if `reads_fail`.
struct FailAfter {
    file: File,
    budget: std::sync::atomic::AtomicU64,
    reads_fail: bool,
}

impl Sink for FailAfter {
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        let left = self.budget.load(Ordering::Relaxed);
        let n = (buf.len() as u64).min(left);
        self.file.write_all_at(&buf[..n as usize], off)?;
        self.budget.store(left - n, Ordering::Relaxed);
        if n < buf.len() as u64 {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        if self.reads_fail {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.file.read_exact_at(buf, off)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

/// Makes a [`FailAfter`] of the image file with room for `pages` pages.
fn fail_after(pages: u64, reads_fail: bool) -> impl Fn(File) -> FailAfter + Copy {
    move |file| FailAfter {
        file,
        budget: std::sync::atomic::AtomicU64::new(pages * P),
        reads_fail,
    }
}

/// Writes the image of container "web-1" with the test state and `mf`'s
/// pages below `limit`, released as written, through `sink`.
fn write_released<S: Sink>(
    dir: &Path,
    mf: &MemoryFile,
    limit: u64,
    sink: impl FnOnce(File) -> S,
) -> Result<(ImageStats, Option<Released>), ImageError> {
    write_through(dir, &meta("web-1"), &state_bytes(), mf, limit, true, sink)
}

#[test]
fn a_write_that_fails_halfway_leaves_no_image_and_keeps_the_old_one() {
    let mf = MemoryFile::new().unwrap();
    let layout = fill(&mf);
    let failing = fail_after(100, false);

    // In an empty directory: nothing at all is left behind.
    let dir = TempDir::new();
    let err = write_through(
        dir.path(),
        &meta("web-1"),
        &state_bytes(),
        &mf,
        layout.limit,
        false,
        failing,
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Write { .. }), "{err}");
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(err.to_string().contains(&dir.image().display().to_string()));
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    // Over an older image: it stays whole.
    write(dir.path(), &meta("old"), b"old state", &mf, 0).unwrap();
    let before = std::fs::read(dir.image()).unwrap();
    assert!(write_through(
        dir.path(),
        &meta("new"),
        &state_bytes(),
        &mf,
        layout.limit,
        false,
        failing
    )
    .is_err());
    assert_eq!(std::fs::read(dir.image()).unwrap(), before);
    assert_eq!(verify_format(dir.path()).unwrap().container_id, "old");
    assert_eq!(files_in(dir.path()), vec![IMAGE_FILE, INVENTORY_FILE]);
}

/// A sink over a file that records what it is asked to reserve (offset,
/// length, and the file's length then), and declines if `fails`.
struct Reserving {
    file: File,
    fails: bool,
    reserved: std::sync::Arc<std::sync::Mutex<Vec<(u64, u64, u64)>>>,
}

impl Sink for Reserving {
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.file.write_all_at(buf, off)
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, off)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn reserve(&self, off: u64, len: u64) -> io::Result<()> {
        let file_len = self.file.metadata()?.len();
        self.reserved.lock().unwrap().push((off, len, file_len));
        if self.fails {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        self.file.reserve(off, len)
    }
}

#[test]
fn the_pages_section_is_reserved_inside_the_file_and_a_refusal_only_costs_the_reservation() {
    let mf = MemoryFile::new().unwrap();
    let limit = fill_many(&mf);
    for fails in [false, true] {
        let dir = TempDir::new();
        let reserved = std::sync::Arc::default();
        let sink = |file| Reserving {
            file,
            fails,
            reserved: std::sync::Arc::clone(&reserved),
        };
        let stats = write_through(
            dir.path(),
            &meta("web-1"),
            &state_bytes(),
            &mf,
            limit,
            false,
            sink,
        )
        .unwrap()
        .0;
        // The image is whole and right, reserved or not.
        let m = verify_format(dir.path()).unwrap();
        let pages = m.sections.memory_pages;
        assert_eq!(
            stats.bytes,
            m.sections.memory_map.offset + m.sections.memory_map.size
        );
        assert_eq!(std::fs::metadata(dir.image()).unwrap().len(), stats.bytes);
        let reserved = reserved.lock().unwrap();
        assert_eq!(reserved.len(), 1, "{reserved:?}");
        let (off, len, file_len) = reserved[0];
        // The whole pages section (it can only be smaller than the room
        // reserved for every page holding data), inside the file as it
        // was sized.
        assert_eq!(off, pages.offset);
        assert!(len >= pages.size, "{len} < {}", pages.size);
        assert!(off + len <= file_len, "{off} {len} {file_len}");
        let fresh = MemoryFile::new().unwrap();
        read_with(dir.path(), &fresh, |_, _| Ok(())).unwrap();
        check_many(&fresh);
    }
}

/// Test pages in a memory file large enough for several chunks of the
/// writer: page `i` is [`page`]`(i)`, but every 97th page is present and
/// zero, and pages 1500..1510 are a hole. Returns the limit to write with.
const MANY: u64 = 3000;

fn fill_many(mf: &MemoryFile) -> u64 {
    for i in 0..MANY {
        if (1500..1510).contains(&i) {
            continue;
        }
        if i % 97 == 0 {
            mf.write(i * P, &[0u8; 8]);
        } else {
            mf.write(i * P, &page(i));
        }
    }
    MANY * P
}

fn check_many(mf: &MemoryFile) {
    for i in 0..MANY {
        let expected = if i % 97 == 0 || (1500..1510).contains(&i) {
            vec![0u8; P as usize]
        } else {
            page(i)
        };
        assert!(page_of(mf, i) == expected, "page {i} differs");
    }
}

#[test]
fn released_pages_leave_the_memory_file_and_read_back_whole() {
    let mf = MemoryFile::new().unwrap();
    let limit = fill_many(&mf);
    let dir = TempDir::new();
    let (stats, released) = write_released(dir.path(), &mf, limit, |f| f).unwrap();
    let released = released.expect("asked to release, nothing released");
    // Checked before any page is read: reading a hole allocates it.
    assert_eq!(mf.data_ranges(limit), vec![], "pages were kept");
    assert_eq!(stats.pages_saved, MANY - 10 - MANY.div_ceil(97));

    // The image is whole and holds the pages as they were.
    let fresh = MemoryFile::new().unwrap();
    read_with(dir.path(), &fresh, |_, _| Ok(())).unwrap();
    check_many(&fresh);

    // Read back (the container goes on after all).
    let file = File::open(dir.image()).unwrap();
    released.restore(&file, &mf).unwrap();
    check_many(&mf);

    // From an image whose pages changed meanwhile: the checksum tells.
    let pages = verify_format(dir.path()).unwrap().sections.memory_pages;
    let mf = MemoryFile::new().unwrap();
    let (_, released) = write_released(dir.path(), &mf, fill_many(&mf), |f| f).unwrap();
    flip(dir.path(), pages.offset + 5 * P + 17);
    let err = released
        .unwrap()
        .restore(&File::open(dir.image()).unwrap(), &mf)
        .unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn a_write_that_fails_after_releasing_pages_reads_them_back() {
    let mf = MemoryFile::new().unwrap();
    let limit = fill_many(&mf);
    let dir = TempDir::new();
    // The first chunk (1024 pages) is written and released, the second
    // fails halfway.
    let err = write_released(dir.path(), &mf, limit, fail_after(1500, false)).unwrap_err();
    assert!(matches!(err, ImageError::Write { .. }), "{err}");
    assert!(err.to_string().contains("No space left"), "{err}");
    check_many(&mf);
    assert!(files_in(dir.path()).is_empty());

    // When the pages cannot be read back, the error says they are lost.
    let mf = MemoryFile::new().unwrap();
    let limit = fill_many(&mf);
    let err = write_released(dir.path(), &mf, limit, fail_after(1500, true)).unwrap_err();
    assert!(matches!(err, ImageError::MemoryLost { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("No space left"), "{text}");
    assert!(text.contains("could not be read back"), "{text}");
    assert!(text.contains("Input/output error"), "{text}");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn writing_into_a_missing_directory_names_the_image() {
    let dir = TempDir::new();
    let mf = MemoryFile::new().unwrap();
    let gone = dir.path().join("gone");
    let err = write(&gone, &meta("x"), b"", &mf, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains(&gone.join(IMAGE_FILE).display().to_string()),
        "{err}"
    );
}

#[test]
fn the_header_records_what_the_metadata_checksums() {
    let dir = TempDir::new();
    write_test_image(dir.path());
    let (header, m) = read_header(dir.path()).unwrap();
    let bytes = std::fs::read(dir.image()).unwrap();
    let s = &m.sections.state;
    let state = &bytes[s.offset as usize..(s.offset + s.size) as usize];
    assert_eq!(s.checksum, format!("crc32c:{:08x}", crc32c(state)));
    let p = &m.sections.memory_pages;
    let pages = &bytes[p.offset as usize..(p.offset + p.size) as usize];
    assert_eq!(p.checksum, format!("crc32c:{:08x}", crc32c(pages)));
    assert_eq!(p.offset % P, 0);
    assert_eq!(header.header_len % P, 0);
    assert_eq!(&bytes[..8], b"RUNSCIMG");
}

/// Throughput of the data path on 1 GiB of non-zero memory (with a zero
/// page every 64): `cargo test --release -p sentry --lib throughput --
/// --ignored --nocapture`, with `RUNSC_IMAGE_BENCH_DIR` choosing where the
/// image goes (the temporary directory by default).
#[test]
#[ignore]
fn throughput() {
    let mb: u64 = std::env::var("RUNSC_IMAGE_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let dir = match std::env::var_os("RUNSC_IMAGE_BENCH_DIR") {
        Some(d) => {
            let p = PathBuf::from(d).join(format!("runsc-image-bench-{}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        None => TempDir::new(),
    };
    let mf = MemoryFile::new().unwrap();
    let pages = mb << 20 >> 12;
    let mut buf = vec![0u8; P as usize];
    for i in 0..pages {
        if i % 64 == 63 {
            mf.write(i * P, &[0]);
            continue;
        }
        let v = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for (j, w) in buf.chunks_exact_mut(8).enumerate() {
            w.copy_from_slice(&(v ^ j as u64).to_le_bytes());
        }
        mf.write(i * P, &buf);
    }
    let t = std::time::Instant::now();
    // RUNSC_IMAGE_BENCH_RELEASE=1: as a checkpoint that stops the
    // container (the pages are given back as they are written).
    let release = std::env::var_os("RUNSC_IMAGE_BENCH_RELEASE").is_some_and(|v| v == "1");
    let (stats, released) = write_through(
        dir.path(),
        &meta("bench"),
        &state_bytes(),
        &mf,
        pages * P,
        release,
        |f| f,
    )
    .unwrap();
    if let Some(r) = released {
        r.restore(&File::open(dir.image()).unwrap(), &mf).unwrap();
    }
    let total = t.elapsed();
    let rate = |d: std::time::Duration| mb as f64 / d.as_secs_f64();
    eprintln!(
        "write {mb} MiB: data path {:?} ({:.0} MB/s), with sync+rename {:?}, image {} bytes",
        stats.elapsed,
        rate(stats.elapsed),
        total,
        stats.bytes
    );
    let fresh = MemoryFile::new().unwrap();
    let t = std::time::Instant::now();
    let image = Image::open(dir.path()).unwrap();
    let map = image.read_map().unwrap();
    image.load_pages(&map, &fresh).unwrap();
    let took = t.elapsed();
    eprintln!("load {mb} MiB: {took:?} ({:.0} MB/s)", rate(took));
    for i in [0, 1, 63, 64, pages - 1] {
        assert_eq!(page_of(&fresh, i), page_of(&mf, i), "page {i}");
    }
}
