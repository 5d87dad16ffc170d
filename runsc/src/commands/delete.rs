//! `delete`: remove containers: the sandbox process (with `--force`, or a
//! container that never started), its cgroup, the state; then the
//! `poststop` hooks run.

use super::state_dir;
use crate::cli::delete::Delete;
use crate::cli::GlobalOpts;
use crate::container::hooks::{self, Stage};
use crate::container::{process_alive, ContainerStatus, Operation, State, StateDir, StateError};
use crate::sandbox::launch;
use std::time::{Duration, Instant};

/// How long `delete` waits for a killed sandbox to go.
const KILL_WAIT: Duration = Duration::from_secs(10);

pub fn delete(global: &GlobalOpts, args: Delete) -> anyhow::Result<()> {
    let dir = state_dir(global);
    for id in &args.container_ids {
        delete_one(&dir, id, args.force)?;
    }
    Ok(())
}

fn delete_one(dir: &StateDir, id: &str, force: bool) -> anyhow::Result<()> {
    let mut state = match dir.load(id) {
        Ok(state) => state,
        // With --force, what is left of a container that never finished
        // being created, or whose state is unreadable, goes too.
        Err(StateError::NotFound { .. } | StateError::Corrupt { .. }) if force => {
            dir.remove(id)?;
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    };
    let status = state.observed_status();
    if !force {
        status
            .check(id, Operation::Delete)
            .map_err(|err| anyhow::anyhow!("{err} (use --force to delete it anyway)"))?;
    }
    if state.sandbox_alive() {
        if let Some(pid) = state.pid {
            if !kill_sandbox(pid, state.pid_start) {
                anyhow::bail!(
                    "the sandbox process {pid} of container {id:?} did not exit within {} s of SIGKILL",
                    KILL_WAIT.as_secs()
                );
            }
        }
    }
    remove_stopped(dir, &mut state)
}

/// Removes a container whose sandbox has exited: its cgroup, its
/// state; then its poststop hooks run.
pub(super) fn remove_stopped(dir: &StateDir, state: &mut State) -> anyhow::Result<()> {
    if let Some(path) = &state.cgroup {
        match boot::cgroups::CgroupPath::new(&path.to_string_lossy()) {
            Ok(p) => launch::remove_cgroup(&p),
            Err(e) => tracing::warn!("{e}"),
        }
    }
    state.status = ContainerStatus::Stopped;
    run_poststop(state);
    dir.remove(&state.id)?;
    tracing::debug!(id = %state.id, "deleted");
    Ok(())
}

fn run_poststop(state: &State) {
    if let Some(list) = state.hooks.as_ref().and_then(|h| h.poststop().as_ref()) {
        hooks::run_warn(Stage::Poststop, list, &state.oci_state());
    }
}

/// Kills the sandbox process `pid` (which started at `start`) and waits
/// for it to go. False if it is still there after [`KILL_WAIT`].
pub(super) fn kill_sandbox(pid: i32, start: Option<u64>) -> bool {
    use nix::sys::signal::{kill, Signal};
    let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    let deadline = Instant::now() + KILL_WAIT;
    while process_alive(pid, start) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn state(id: &str, status: ContainerStatus, pid: Option<i32>) -> State {
        State {
            oci_version: "1.1.0".into(),
            id: id.into(),
            status,
            pid,
            bundle: "/b".into(),
            rootfs: None,
            created: "2024-05-01T12:00:00.000000000Z".into(),
            annotations: Default::default(),
            owner: "root".into(),
            control_socket: None,
            ..Default::default()
        }
    }

    #[test]
    fn a_stopped_container_is_removed() {
        let tmp = TempDir::new();
        let dir = StateDir::new(tmp.path());
        dir.create(&state("gone", ContainerStatus::Running, Some(i32::MAX)))
            .unwrap();
        delete_one(&dir, "gone", false).unwrap();
        assert!(!tmp.path().join("gone").exists());
    }

    #[test]
    fn a_live_container_needs_force() {
        let tmp = TempDir::new();
        let dir = StateDir::new(tmp.path());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        dir.create(&state("live", ContainerStatus::Running, Some(pid)))
            .unwrap();
        let err = delete_one(&dir, "live", false).unwrap_err().to_string();
        assert_eq!(
            err,
            "cannot delete container \"live\": it is running (use --force to delete it anyway)"
        );
        assert!(tmp.path().join("live").exists());
        delete_one(&dir, "live", true).unwrap();
        assert!(!tmp.path().join("live").exists());
        // The process was killed.
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
    }

    #[test]
    fn force_succeeds_on_what_is_missing_or_broken() {
        let tmp = TempDir::new();
        let dir = StateDir::new(tmp.path());
        delete_one(&dir, "never", true).unwrap();
        let err = delete_one(&dir, "never", false).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");

        std::fs::create_dir(tmp.path().join("broken")).unwrap();
        std::fs::write(tmp.path().join("broken/state.json"), "{").unwrap();
        delete_one(&dir, "broken", true).unwrap();
        assert!(!tmp.path().join("broken").exists());

        dir.create(&state("crashed", ContainerStatus::Creating, None))
            .unwrap();
        assert!(delete_one(&dir, "crashed", false).is_err());
        delete_one(&dir, "crashed", true).unwrap();
        assert!(!tmp.path().join("crashed").exists());
    }
}
