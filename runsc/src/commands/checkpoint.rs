//! `checkpoint`: save a container's whole state to an image.
//!
//! The image is written by the sandbox into a file this command creates
//! under a temporary name in the image directory and hands over as a
//! descriptor (the confined sandbox cannot reach the directory itself);
//! this command then syncs it and renames it to `checkpoint.img`, and
//! writes `inventory.img` beside it. Without `--leave-running` the
//! sandbox waits, paused, until the image is in place, then ends every
//! process: the container stops (as with runc, as if killed by `SIGKILL`).
//! If anything fails before that, the container goes on as it was (paused
//! if it was paused) and no image is left under the real name.

use super::{call_done, load_for, state_dir};
use crate::cli::checkpoint::Checkpoint;
use crate::cli::GlobalOpts;
use crate::container::{process_alive, ContainerStatus, Operation};
use crate::sandbox::client::unexpected;
use crate::sandbox::Client;
use anyhow::Context;
use sentry::control::protocol::{Checkpointed, Reply, Request};
use sentry::state::image::PendingImage;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a stopped container's sandbox may take to exit.
const EXIT_WAIT: Duration = Duration::from_secs(10);

pub fn checkpoint(global: &GlobalOpts, args: Checkpoint) -> anyhow::Result<()> {
    let id = &args.container_id;
    let mut state = load_for(global, id, Operation::Checkpoint)?;
    note_ignored(&args);
    let dir = match &args.image_path {
        Some(dir) => dir.clone(),
        None => default_image_dir()?,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot make the image directory {}", dir.display()))?;
    let dir = std::path::absolute(&dir)
        .with_context(|| format!("cannot resolve the image directory {}", dir.display()))?;
    // A pre-dump saves the memory and leaves the container running; ours
    // saves everything, which a later dump replaces.
    let leave_running = args.leave_running || args.pre_dump;

    let pending = PendingImage::create(&dir)?;
    let mut client = Client::connect(&state)?;
    let request = Request::Checkpoint {
        id: id.clone(),
        image: pending.path(),
        leave_running,
    };
    let done = match client
        .call(&request, &[pending.file().as_raw_fd()])
        .with_context(|| format!("cannot checkpoint container {id:?}"))?
    {
        Reply::Checkpointed(done) => done,
        r => return Err(unexpected("checkpoint", &r)),
    };
    let committed = pending.commit(&done.meta);
    if !leave_running {
        let stop = committed.is_ok();
        call_done(
            &mut client,
            "checkpoint",
            &Request::FinishCheckpoint { stop },
        )?;
        if stop {
            wait_exit(state.pid, state.pid_start);
            state.status = ContainerStatus::Stopped;
            state_dir(global).save(&state)?;
        }
    }
    let path = committed?;
    if let Some(work) = &args.work_path {
        // What podman reads for `checkpoint --print-stats` and exports.
        if let Err(e) = write_stats(work, &done) {
            tracing::warn!("cannot write {}: {e}", work.join(STATS_FILE).display());
        }
    }
    tracing::debug!(
        image = %path.display(),
        bytes = done.bytes,
        pages = done.pages_saved,
        zero_pages = done.zero_pages_skipped,
        quiesce_us = done.quiesce_us,
        write_us = done.write_us,
        "checkpointed"
    );
    Ok(())
}

/// The file in the work directory where CRIU leaves its statistics.
const STATS_FILE: &str = "stats-dump";

/// Writes the statistics of this checkpoint in the work directory as CRIU
/// does (`stats-dump`), which engines read: two magics, then one
/// length-prefixed protobuf `stats_entry` whose `dump` holds the times
/// (microseconds) and page counts.
fn write_stats(work: &std::path::Path, c: &Checkpointed) -> std::io::Result<()> {
    /// CRIU's magic of "service" images, then that of the statistics.
    const SERVICE_MAGIC: u32 = 0x5510_5940;
    const STATS_MAGIC: u32 = 0x5709_3306;
    let frozen = c.quiesce_us + c.write_us;
    let fields: [(u32, u64); 8] = [
        (1, c.quiesce_us),                         // freezing_time
        (2, frozen),                               // frozen_time
        (3, c.write_us),                           // memdump_time
        (4, c.write_us),                           // memwrite_time
        (5, c.pages_saved + c.zero_pages_skipped), // pages_scanned
        (6, 0),                                    // pages_skipped_parent
        (7, c.pages_saved),                        // pages_written
        (9, 0),                                    // pages_lazy
    ];
    let mut dump = Vec::new();
    for (field, value) in fields {
        varint(&mut dump, u64::from(field << 3));
        varint(&mut dump, value);
    }
    let mut entry = vec![(1 << 3) | 2];
    varint(&mut entry, dump.len() as u64);
    entry.extend_from_slice(&dump);
    let mut file = Vec::with_capacity(entry.len() + 12);
    file.extend_from_slice(&SERVICE_MAGIC.to_le_bytes());
    file.extend_from_slice(&STATS_MAGIC.to_le_bytes());
    file.extend_from_slice(&(entry.len() as u32).to_le_bytes());
    file.extend_from_slice(&entry);
    std::fs::create_dir_all(work)?;
    std::fs::write(work.join(STATS_FILE), file)
}

/// Appends `v` as a protobuf varint.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// runc's default: `checkpoint` in the current directory.
pub(super) fn default_image_dir() -> anyhow::Result<PathBuf> {
    Ok(std::env::current_dir()
        .context("cannot find the current directory for the default --image-path")?
        .join("checkpoint"))
}

/// Waits (a while) for the sandbox process to be gone.
fn wait_exit(pid: Option<i32>, start: Option<u64>) {
    let Some(pid) = pid else { return };
    let deadline = Instant::now() + EXIT_WAIT;
    while process_alive(pid, start) {
        if Instant::now() >= deadline {
            tracing::warn!("the sandbox process {pid} is still there after the checkpoint");
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Logs the runc flags that mean nothing to this runtime.
fn note_ignored(a: &Checkpoint) {
    let flags = [
        ("--parent-path", a.parent_path.is_some()),
        ("--tcp-established", a.tcp_established),
        ("--tcp-skip-in-flight", a.tcp_skip_in_flight),
        ("--link-remap", a.link_remap),
        ("--ext-unix-sk", a.ext_unix_sk),
        ("--shell-job", a.shell_job),
        ("--lazy-pages", a.lazy_pages),
        ("--page-server", a.page_server.is_some()),
        ("--file-locks", a.file_locks),
        ("--manage-cgroups-mode", a.manage_cgroups_mode.is_some()),
        ("--empty-ns", !a.empty_ns.is_empty()),
        ("--auto-dedup", a.auto_dedup),
        ("--lsm-profile", a.lsm_profile.is_some()),
        ("--lsm-mount-context", a.lsm_mount_context.is_some()),
    ];
    for (flag, given) in flags {
        if given {
            tracing::debug!(
                "checkpoint {flag}: a CRIU option; the sandbox's image holds the whole state \
                 (sockets, locks, the process tree) without it"
            );
        }
    }
    if a.status_fd >= 0 {
        tracing::debug!("checkpoint --status-fd {}: ignored", a.status_fd);
    }
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
        let c = Checkpointed {
            meta: sentry::state::Meta::new("x", Default::default()),
            bytes: 1,
            pages_saved: 300,
            zero_pages_skipped: 2,
            quiesce_us: 5,
            write_us: 1000,
        };
        write_stats(dir.path(), &c).unwrap();
        let b = std::fs::read(dir.path().join(STATS_FILE)).unwrap();
        assert_eq!(b[..8], [0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57]);
        let len = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
        assert_eq!(b.len(), 12 + len);
        // stats_entry.dump, then freezing_time = 5 first.
        assert_eq!(b[12], 0x0a);
        assert_eq!(b[13] as usize, len - 2);
        assert_eq!(b[14..16], [0x08, 5]);
    }
}
