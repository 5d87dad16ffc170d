//! `statefile`: describe what a checkpoint image holds, and check it.
//!
//! The header is checked first: a missing, foreign, newer, truncated or
//! damaged one is an error and nothing is shown. Then every section is
//! checked and listed with its place, size, checksum and OK or BAD; a BAD
//! section makes the command fail after the description. `--json` prints
//! the metadata as the image stores it, only for an image that checks out
//! whole.

use super::print;
use crate::cli::statefile::Statefile;
use sentry::state::image::{Image, ImageError, SectionName};
use std::fmt::Write;

pub fn statefile(args: Statefile) -> anyhow::Result<()> {
    let image = Image::open(&args.path)?;
    let checks = check(&image);
    let failure = checks.iter().find_map(|(_, status)| match status {
        Status::Bad(err) => Some(err),
        _ => None,
    });
    if args.json {
        if let Some(err) = failure {
            anyhow::bail!("{err}");
        }
        let json = serde_json::to_string_pretty(image.meta())?;
        return print(&format!("{json}\n"));
    }
    print(&describe(&image, &checks))?;
    match failure {
        Some(err) => anyhow::bail!("{err}"),
        None => Ok(()),
    }
}

/// How a section fared.
enum Status {
    Ok,
    Bad(ImageError),
    /// Not checked because what it depends on is bad.
    Unchecked,
}

impl Status {
    fn of(result: Result<(), ImageError>) -> Status {
        match result {
            Ok(()) => Status::Ok,
            Err(err) => Status::Bad(err),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Bad(_) => "BAD",
            Status::Unchecked => "not checked",
        }
    }
}

/// Checks every section after the header, which `Image::open` checked;
/// the pages only against a good map. In file order.
fn check(image: &Image) -> Vec<(SectionName, Status)> {
    let map = image.read_map();
    let pages = match &map {
        Ok(map) => Status::of(image.check_pages(map)),
        Err(_) => Status::Unchecked,
    };
    vec![
        (SectionName::Header, Status::Ok),
        (SectionName::State, Status::of(image.check_state())),
        (SectionName::MemoryPages, pages),
        (SectionName::MemoryMap, Status::of(map.map(drop))),
    ]
}

/// The description people read.
fn describe(image: &Image, checks: &[(SectionName, Status)]) -> String {
    let meta = image.meta();
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<15}{value}");
    };
    line("image", image.path().display().to_string());
    line("format", meta.format_version.clone());
    line("container", meta.container_id.clone());
    line("created", meta.created.clone());
    line(
        "runtime",
        format!("{} {}", meta.runtime, meta.runtime_version),
    );
    line("architecture", meta.architecture.clone());
    line("state version", meta.state_version.to_string());
    line("compression", meta.compression.clone());
    let m = &meta.memory;
    line(
        "memory",
        format!(
            "{} saved ({}) in {}, {} of zeros left out, {} of holes, up to {:#x}",
            count(m.pages_saved, "page"),
            bytes(m.pages_saved * meta.page_size),
            count(m.extents, "extent"),
            count(m.zero_pages_skipped, "page"),
            count(
                (m.limit / meta.page_size.max(1)).saturating_sub(m.pages_scanned),
                "page"
            ),
            m.limit,
        ),
    );
    let k = &meta.kernel;
    line(
        "kernel",
        format!(
            "{}, {}, {}, {}, {} of memory",
            count(k.tasks, "task"),
            count(k.processes, "process"),
            count(k.address_spaces, "address space"),
            count(k.open_files, "open file"),
            bytes(k.memory_bytes),
        ),
    );

    let header_checksum = format!("crc32c:{:08x}", image.header().checksum);
    let s = &meta.sections;
    let places = [
        (SectionName::Header, s.header, &header_checksum),
        (SectionName::State, s.state.span(), &s.state.checksum),
        (
            SectionName::MemoryPages,
            s.memory_pages.span(),
            &s.memory_pages.checksum,
        ),
        (
            SectionName::MemoryMap,
            s.memory_map.span(),
            &s.memory_map.checksum,
        ),
    ];
    let _ = writeln!(
        out,
        "\n{:<15}{:>12}  {:>14}  {:<17}check",
        "section", "offset", "bytes", "checksum"
    );
    for (name, span, checksum) in places {
        let status = checks
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("not checked", |(_, status)| status.word());
        let _ = writeln!(
            out,
            "{:<15}{:>12}  {:>14}  {:<17}{status}",
            name.to_string(),
            span.offset,
            span.size,
            checksum,
        );
    }
    out
}

/// `n` things, in the plural unless one.
fn count(n: u64, thing: &str) -> String {
    match (n, thing) {
        (1, _) => format!("1 {thing}"),
        (_, "process") => format!("{n} processes"),
        _ => format!("{n} {thing}s"),
    }
}

/// A byte count in binary units, to three significant digits or so.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_read_well() {
        assert_eq!(count(1, "process"), "1 process");
        assert_eq!(count(2, "process"), "2 processes");
        assert_eq!(count(0, "task"), "0 tasks");
        assert_eq!(count(3, "address space"), "3 address spaces");
        assert_eq!(bytes(0), "0 bytes");
        assert_eq!(bytes(1023), "1023 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(100 << 20), "100.0 MiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
