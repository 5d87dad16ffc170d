//! `runsc statefile` on images written through the sentry library: a good
//! one is described, damaged ones are refused with the reason.

use sentry::state::image::{read_header, IMAGE_FILE};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("runsc-statefile-{}-{name}", std::process::id()));
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

/// The bytes of an image of a booted kernel (`/bin/true`, ready to run),
/// made once.
fn image_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let cfg = sentry::Config {
            argv: vec!["/bin/true".into()],
            env: vec!["PATH=/bin".into()],
            ..sentry::Config::default()
        };
        let kernel = sentry::sandbox::boot(&cfg).expect("boot /bin/true");
        let dir = TempDir::new("source");
        sentry::state::save(&kernel, "statefile-test", dir.path()).expect("save the kernel");
        std::fs::read(dir.image()).unwrap()
    })
}

/// A directory holding a copy of the image.
fn image_dir(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(dir.image(), image_bytes()).unwrap();
    dir
}

fn statefile(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runsc"))
        .arg("statefile")
        .args(args)
        .output()
        .expect("run runsc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn flip(path: &Path, off: u64) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, off).unwrap();
    b[0] ^= 0x55;
    f.write_all_at(&b, off).unwrap();
}

#[test]
fn describes_a_good_image() {
    let dir = image_dir("good");
    let out = statefile(&[dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for expected in [
        "format         1.0",
        "container      statefile-test",
        "architecture   x86_64",
        "compression    none",
        "1 task, 1 process, 1 address space",
        "of zeros left out",
        &format!("runtime        runsc-rs {}", env!("CARGO_PKG_VERSION")),
        &format!("image          {}", dir.image().display()),
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from\n{stdout}"
        );
    }
    for section in ["header", "state", "memory pages", "memory map"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(section) && l.contains("crc32c:"))
            .unwrap_or_else(|| panic!("no {section} line in\n{stdout}"));
        assert!(line.ends_with("OK"), "{line}");
    }
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    // The image file itself works as well as its directory.
    let out = statefile(&[dir.image().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn prints_the_metadata_as_json() {
    let dir = image_dir("json");
    let out = statefile(&["--json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["container_id"], "statefile-test");
    assert_eq!(json["format_version"], "1.0");
    assert_eq!(json["kernel"]["tasks"], 1);
    assert!(json["memory"]["pages_saved"].as_u64().unwrap() > 0);
    let (_, meta) = read_header(dir.path()).unwrap();
    assert_eq!(json, serde_json::to_value(&meta).unwrap());
}

#[test]
fn refuses_a_corrupted_image_naming_the_section() {
    let dir = image_dir("corrupted");
    let (_, meta) = read_header(dir.path()).unwrap();
    flip(&dir.image(), meta.sections.memory_pages.offset + 100);
    let out = statefile(&[dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("memory pages section is corrupted (checksum mismatch"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&dir.image().display().to_string()),
        "{stderr}"
    );
    let pages = stdout.lines().find(|l| l.starts_with("memory pages"));
    assert!(pages.is_some_and(|l| l.ends_with("BAD")), "{stdout}");
    let state = stdout
        .lines()
        .find(|l| l.starts_with("state ") && l.contains("crc32c:"));
    assert!(state.is_some_and(|l| l.ends_with("OK")), "{stdout}");

    // --json prints nothing for an image that does not check out.
    let out = statefile(&["--json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("memory pages section is corrupted"));
}

#[test]
fn refuses_a_damaged_header_truncated_or_foreign_image() {
    let dir = image_dir("header");
    flip(&dir.image(), 40);
    let out = statefile(&[dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("header section is corrupted (checksum mismatch)"),
        "{}",
        text(&out.stderr)
    );

    let dir = TempDir::new("truncated");
    let bytes = image_bytes();
    std::fs::write(dir.image(), &bytes[..bytes.len() - 10]).unwrap();
    let out = statefile(&[dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "truncated: expected {} bytes, found {}",
            bytes.len(),
            bytes.len() - 10
        )),
        "{stderr}"
    );

    let dir = TempDir::new("foreign");
    std::fs::write(dir.image(), b"#!/bin/sh\necho not an image\n").unwrap();
    let out = statefile(&[dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a runsc checkpoint image"),
        "{}",
        text(&out.stderr)
    );

    let dir = TempDir::new("missing");
    let out = statefile(&[dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!(
            "checkpoint image {} does not exist",
            dir.image().display()
        )),
        "{}",
        text(&out.stderr)
    );
}
