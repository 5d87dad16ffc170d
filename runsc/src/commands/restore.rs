//! `restore`: bring a container back from a checkpoint image, under the
//! ID given (the checkpointed one, or another for a copy).
//!
//! As engines call it, without a `create` first: the image is checked
//! (header, metadata, the state's checksum and that it decodes, the memory
//! map) before anything is made, then the container is created from the
//! bundle as `create` does (same namespaces, cgroup, confinement, state),
//! except that its sandbox loads the image instead of starting init. The
//! sandbox checks each run of pages against its checksum as it loads it,
//! before any task runs; a damaged one fails the restore, and the new
//! container is removed. It is `running` once this returns. Without `--detach` it then waits like `run`, exits with init's
//! status and deletes the container.
//!
//! Processes started by `exec` that were alive at the checkpoint are
//! restored too, with the same PIDs; the `runsc exec` processes that held
//! their stdio on the host are not, so their stdin reads end of file and
//! their output gets `EPIPE`. `runsc wait --pid` still reports their exit.

use super::create::{create_container, NewContainer};
use super::run::wait_foreground;
use super::start::started;
use super::{criu_stats, state_dir};
use crate::cli::restore::Restore;
use crate::cli::GlobalOpts;
use crate::sandbox::launch::RestoreImage;
use crate::sandbox::signals::Blocked;
use crate::sandbox::Client;
use sentry::state::image::{self, ImageError};

pub fn restore(global: &GlobalOpts, args: Restore) -> anyhow::Result<i32> {
    let begun = std::time::Instant::now();
    note_ignored(&args);
    let dir = match &args.image_path {
        Some(dir) => dir.clone(),
        None => super::checkpoint::default_image_dir()?,
    };
    let path = std::path::absolute(image::image_path(&dir)).unwrap_or(image::image_path(&dir));
    // Checked before anything is made or touched (the pages as they load).
    let meta = image::check_for_restore(&path)?;
    let file = std::fs::File::open(&path).map_err(|source| ImageError::Open {
        path: path.clone(),
        source,
    })?;
    tracing::debug!(
        image = %path.display(),
        from = %meta.container_id,
        created = %meta.created,
        "restoring"
    );
    let image = RestoreImage {
        file,
        path,
        eager: args.eager_pages,
    };

    // Blocked before the sandbox exists, so that no signal is lost.
    let signals = (!args.detach).then(Blocked::new);
    let mut state = create_container(
        global,
        &NewContainer {
            id: &args.container_id,
            bundle: &args.bundle,
            console_socket: args.console_socket.as_deref(),
            pid_file: args.pid_file.as_deref(),
            preserve_fds: 0,
            own_terminal: !args.detach,
            restore: Some(&image),
        },
    )?;
    drop(image);
    started(global, &mut state)?;
    if let Some(work) = &args.work_path {
        // What podman reads for `restore --print-stats` and exports.
        criu_stats::write(
            work,
            &criu_stats::Stats::Restore {
                restore_us: begun.elapsed().as_micros() as u64,
                pages_restored: meta.memory.pages_saved,
            },
        );
    }
    let Some(signals) = signals else {
        return Ok(0);
    };
    let mut client = Client::connect(&state)?;
    let code = wait_foreground(&state, &mut client, &signals);
    drop(client);
    super::delete::remove_stopped(&state_dir(global), &mut state)?;
    Ok(code)
}

/// Logs the runc flags that mean nothing to this runtime.
fn note_ignored(a: &Restore) {
    let flags = [
        ("--tcp-established", a.tcp_established),
        ("--ext-unix-sk", a.ext_unix_sk),
        ("--shell-job", a.shell_job),
        ("--file-locks", a.file_locks),
        ("--manage-cgroups-mode", a.manage_cgroups_mode.is_some()),
        ("--no-subreaper", a.no_subreaper),
        ("--no-pivot", a.no_pivot),
        ("--empty-ns", !a.empty_ns.is_empty()),
        ("--auto-dedup", a.auto_dedup),
        ("--lazy-pages", a.lazy_pages),
        ("--lsm-profile", a.lsm_profile.is_some()),
        ("--lsm-mount-context", a.lsm_mount_context.is_some()),
    ];
    for (flag, given) in flags {
        if given {
            tracing::debug!("restore {flag}: means nothing to this runtime; ignored");
        }
    }
}
