//! `delete`: remove containers. A container whose sandbox is gone is
//! removed here; stopping a live sandbox is not written yet.

use super::{state_dir, NotImplemented};
use crate::cli::delete::Delete;
use crate::cli::GlobalOpts;
use crate::container::{ContainerStatus, Operation, StateDir, StateError};

pub fn delete(global: &GlobalOpts, args: Delete) -> anyhow::Result<()> {
    let dir = state_dir(global);
    for id in &args.container_ids {
        delete_one(&dir, id, args.force)?;
    }
    Ok(())
}

fn delete_one(dir: &StateDir, id: &str, force: bool) -> anyhow::Result<()> {
    let state = match dir.load(id) {
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
    let sandbox_alive = status != ContainerStatus::Stopped && state.pid.is_some();
    if !force {
        status
            .check(id, Operation::Delete)
            .map_err(|err| anyhow::anyhow!("{err} (use --force to delete it anyway)"))?;
    }
    if sandbox_alive {
        return Err(NotImplemented("delete of a container whose sandbox is running").into());
    }
    dir.remove(id)?;
    tracing::debug!(id, "deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::State;
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
    fn a_live_container_needs_force_and_the_sandbox() {
        let tmp = TempDir::new();
        let dir = StateDir::new(tmp.path());
        let me = std::process::id() as i32;
        dir.create(&state("live", ContainerStatus::Running, Some(me)))
            .unwrap();
        let err = delete_one(&dir, "live", false).unwrap_err().to_string();
        assert_eq!(
            err,
            "cannot delete container \"live\": it is running (use --force to delete it anyway)"
        );
        let err = delete_one(&dir, "live", true).unwrap_err().to_string();
        assert!(err.starts_with("not implemented yet: delete"), "{err}");
        assert!(tmp.path().join("live").exists());
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
