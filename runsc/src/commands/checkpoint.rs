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

use super::{call_done, criu_stats, load_for, state_dir};
use crate::cli::checkpoint::Checkpoint;
use crate::cli::GlobalOpts;
use crate::container::{process_alive, ContainerStatus, Operation};
use crate::sandbox::client::unexpected;
use crate::sandbox::Client;
use anyhow::Context;
use sentry::control::protocol::{Reply, Request};
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
        let frozen = done.quiesce_us + done.write_us;
        criu_stats::write(
            work,
            &criu_stats::Stats::Dump {
                freezing_us: done.quiesce_us,
                frozen_us: frozen,
                memdump_us: done.write_us,
                pages_scanned: done.pages_saved + done.zero_pages_skipped,
                pages_written: done.pages_saved,
            },
        );
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
