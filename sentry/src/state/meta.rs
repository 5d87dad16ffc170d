//! The JSON metadata block of a checkpoint image: who wrote it, when, for
//! which container, where each section lies with its checksum, and a
//! summary of what the kernel held, so `runsc statefile` can describe an
//! image without decoding it.
//!
//! The caller of the image writer fills the descriptive part with
//! [`Meta::new`]; the writer fills the layout (`format_version`,
//! `sections`, `memory`, ...) itself.

use crate::kernel::Kernel;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// What produced an image, as the metadata names it.
pub const RUNTIME_NAME: &str = "runsc-rs";

/// The version of this runtime.
pub const RUNTIME_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The architecture this runtime runs on, as the metadata names it.
pub const ARCHITECTURE: &str = std::env::consts::ARCH;

/// The metadata of a checkpoint image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// `major.minor` of the image format; matches the binary header.
    pub format_version: String,
    /// The ID of the container that was checkpointed.
    pub container_id: String,
    /// When the image was written, RFC 3339 in UTC.
    pub created: String,
    /// The program that wrote the image.
    pub runtime: String,
    pub runtime_version: String,
    /// The architecture the image was written on; matches the header.
    pub architecture: String,
    /// Version of the kernel state encoding (see `state::STATE_VERSION`).
    pub state_version: u32,
    /// How the state section is compressed: always `"none"` for now.
    pub compression: String,
    /// Page size of the memory section.
    pub page_size: u64,
    pub sections: Sections,
    pub memory: MemorySummary,
    pub kernel: KernelSummary,
}

/// Where every part of the image lies, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sections {
    /// The binary header, this metadata and padding up to the first section.
    /// Its checksum is in the binary header.
    pub header: Span,
    /// The kernel state (bincode).
    pub state: Section,
    /// The saved pages, back to back, page-aligned in the file.
    pub memory_pages: Section,
    /// Where each run of saved pages belongs in the memory file, with its
    /// own checksum.
    pub memory_map: Section,
}

/// A byte range of the image file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub offset: u64,
    pub size: u64,
}

/// A byte range of the image file and the checksum of its bytes,
/// written `crc32c:` and eight hex digits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub offset: u64,
    pub size: u64,
    pub checksum: String,
}

impl Section {
    /// The span it covers.
    pub fn span(&self) -> Span {
        Span {
            offset: self.offset,
            size: self.size,
        }
    }
}

/// What the memory section holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySummary {
    /// The end of the memory file's used range at checkpoint time; no page
    /// at or beyond it is saved.
    pub limit: u64,
    /// Pages below `limit` that held data on the host (the rest were holes).
    pub pages_scanned: u64,
    /// Pages saved in the image.
    pub pages_saved: u64,
    /// Pages that held only zeros and were left out.
    pub zero_pages_skipped: u64,
    /// Runs of saved pages (entries of the memory map).
    pub extents: u64,
}

/// A summary of the kernel state, for people reading `runsc statefile`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelSummary {
    /// Threads.
    pub tasks: u64,
    /// Thread groups, zombies included.
    pub processes: u64,
    pub address_spaces: u64,
    /// Open file descriptions.
    pub open_files: u64,
    /// Bytes of the memory file allocated to the kernel.
    pub memory_bytes: u64,
}

impl KernelSummary {
    /// Counts what `k` holds.
    pub fn of(k: &Kernel) -> KernelSummary {
        KernelSummary {
            tasks: k.tasks.len() as u64,
            processes: k.thread_groups.len() as u64,
            address_spaces: k.mms.len() as u64,
            open_files: k.vfs.files.len() as u64,
            memory_bytes: k.frames.used(),
        }
    }
}

impl Meta {
    /// Metadata for an image of container `container_id` written now by
    /// this runtime. The layout fields are left for the writer.
    pub fn new(container_id: &str, kernel: KernelSummary) -> Meta {
        Meta {
            format_version: String::new(),
            container_id: container_id.to_string(),
            created: rfc3339(SystemTime::now()),
            runtime: RUNTIME_NAME.to_string(),
            runtime_version: RUNTIME_VERSION.to_string(),
            architecture: ARCHITECTURE.to_string(),
            state_version: super::STATE_VERSION,
            compression: "none".to_string(),
            page_size: crate::memory::PAGE_SIZE,
            sections: Sections::default(),
            memory: MemorySummary::default(),
            kernel,
        }
    }
}

/// `time` in RFC 3339, UTC, to the nanosecond. Times before 1970 are
/// written as the epoch.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = date_of_day(secs / 86_400);
    let in_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60,
        since.subsec_nanos()
    )
}

/// The Gregorian (year, month, day) of day `n` after 1970-01-01.
fn date_of_day(n: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01 so that leap days end each 4-, 100- and
    // 400-year cycle; 719_468 days separate that date from the epoch.
    let days = n + 719_468;
    let cycle = days / 146_097;
    let day_of_cycle = days % 146_097;
    let year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36_524 - day_of_cycle / 146_096) / 365;
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    // Months from March: 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28/29.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = cycle * 400 + year_of_cycle + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        let at = |s, ns| rfc3339(UNIX_EPOCH + Duration::new(s, ns));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(at(1_714_564_800, 0), "2024-05-01T12:00:00.000000000Z");
        assert_eq!(at(4_107_542_399, 0), "2100-02-28T23:59:59.000000000Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000000000Z");
    }

    #[test]
    fn metadata_round_trips_through_json() {
        let mut m = Meta::new("web-1", KernelSummary::default());
        m.sections.state = Section {
            offset: 4096,
            size: 10,
            checksum: "crc32c:00000000".into(),
        };
        let json = serde_json::to_string(&m).unwrap();
        let back: Meta = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.architecture, "x86_64");
    }
}
