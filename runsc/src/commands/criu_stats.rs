//! CRIU's statistics files, which engines read from the work directory
//! (`--work-path`) after a checkpoint (`stats-dump`) or a restore
//! (`stats-restore`): podman shows them (`--print-stats`) and puts them in
//! exported archives. Ours hold the figures of our own checkpoint and
//! restore, in CRIU's framing: two magics, the length of the entry, then
//! one protobuf `stats_entry` (`criu/images/stats.proto`) whose `dump` or
//! `restore` message holds times in microseconds and page counts.

use std::path::Path;

/// CRIU's magic of "service" images, then that of the statistics.
const SERVICE_MAGIC: u32 = 0x5510_5940;
const STATS_MAGIC: u32 = 0x5709_3306;

/// What one statistics file says.
pub enum Stats {
    Dump {
        /// Stopping the tasks.
        freezing_us: u64,
        /// The tasks stood still (stopping and saving).
        frozen_us: u64,
        /// Writing the memory.
        memdump_us: u64,
        pages_scanned: u64,
        pages_written: u64,
    },
    Restore {
        /// From the start of `restore` until the container runs.
        restore_us: u64,
        pages_restored: u64,
    },
}

impl Stats {
    fn file_name(&self) -> &'static str {
        match self {
            Stats::Dump { .. } => "stats-dump",
            Stats::Restore { .. } => "stats-restore",
        }
    }

    /// The bytes of the file.
    fn encode(&self) -> Vec<u8> {
        // (field number, value) of the inner message, all varints, and the
        // field of `stats_entry` it goes in.
        let (outer, fields): (u64, Vec<(u64, u64)>) = match *self {
            Stats::Dump {
                freezing_us,
                frozen_us,
                memdump_us,
                pages_scanned,
                pages_written,
            } => (
                1,
                vec![
                    (1, freezing_us),   // freezing_time
                    (2, frozen_us),     // frozen_time
                    (3, memdump_us),    // memdump_time
                    (4, memdump_us),    // memwrite_time: written as dumped
                    (5, pages_scanned), // pages_scanned
                    (6, 0),             // pages_skipped_parent
                    (7, pages_written), // pages_written
                    (9, 0),             // pages_lazy
                ],
            ),
            Stats::Restore {
                restore_us,
                pages_restored,
            } => (
                2,
                vec![
                    (1, 0),              // pages_compared
                    (2, 0),              // pages_skipped_cow
                    (3, 0),              // forking_time: nothing is forked
                    (4, restore_us),     // restore_time
                    (5, pages_restored), // pages_restored
                ],
            ),
        };
        let mut inner = Vec::new();
        for (field, value) in fields {
            varint(&mut inner, field << 3);
            varint(&mut inner, value);
        }
        let mut entry = Vec::new();
        varint(&mut entry, (outer << 3) | 2);
        varint(&mut entry, inner.len() as u64);
        entry.extend_from_slice(&inner);
        let mut file = Vec::with_capacity(entry.len() + 12);
        file.extend_from_slice(&SERVICE_MAGIC.to_le_bytes());
        file.extend_from_slice(&STATS_MAGIC.to_le_bytes());
        file.extend_from_slice(&(entry.len() as u32).to_le_bytes());
        file.extend_from_slice(&entry);
        file
    }
}

/// Writes `stats` into the work directory `work` (made if missing). A
/// failure is only logged: the checkpoint or restore itself succeeded.
pub fn write(work: &Path, stats: &Stats) {
    let path = work.join(stats.file_name());
    let written =
        std::fs::create_dir_all(work).and_then(|()| std::fs::write(&path, stats.encode()));
    if let Err(e) = written {
        tracing::warn!("cannot write {}: {e}", path.display());
    }
}

/// Appends `v` as a protobuf varint.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_as_protobuf_writes_them() {
        let mut out = Vec::new();
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX)] {
            varint(&mut out, v);
        }
        assert_eq!(
            out,
            [0, 1, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f]
        );
    }

    #[test]
    fn statistics_are_framed_as_criu_frames_them() {
        let dir = crate::testutil::TempDir::new();
        let dump = Stats::Dump {
            freezing_us: 5,
            frozen_us: 1005,
            memdump_us: 1000,
            pages_scanned: 302,
            pages_written: 300,
        };
        write(dir.path(), &dump);
        let b = std::fs::read(dir.path().join("stats-dump")).unwrap();
        assert_eq!(b[..8], [0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57]);
        let len = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
        assert_eq!(b.len(), 12 + len);
        // stats_entry.dump, then freezing_time = 5 first.
        assert_eq!(b[12], 0x0a);
        assert_eq!(b[13] as usize, len - 2);
        assert_eq!(b[14..16], [0x08, 5]);

        let restore = Stats::Restore {
            restore_us: 7,
            pages_restored: 1,
        };
        write(dir.path(), &restore);
        let b = std::fs::read(dir.path().join("stats-restore")).unwrap();
        // stats_entry.restore; restore_time = 7 is the fourth field.
        assert_eq!(b[12], 0x12);
        assert_eq!(b[14..22], [0x08, 0, 0x10, 0, 0x18, 0, 0x20, 7]);
    }
}
