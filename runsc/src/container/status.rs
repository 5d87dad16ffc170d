//! The lifecycle of a container, and which operations each stage allows.
//!
//! ```text
//! creating ──> created ──start──> running <──resume── paused
//!                 │                  │ └────pause────> │
//!                 │                  v                 │
//!                 └──kill/exit──> stopped <──kill──────┘
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a container is in its life, with the names the OCI state uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    /// `create` is setting it up; nothing runs yet.
    #[default]
    Creating,
    /// The sandbox is up and waits for `start`.
    Created,
    /// The user process has been started and has not exited.
    Running,
    /// Every process is suspended.
    Paused,
    /// The user process has exited, or the sandbox is gone.
    Stopped,
}

impl ContainerStatus {
    pub fn can_start(self) -> bool {
        self == ContainerStatus::Created
    }

    /// A paused container can be sent a signal too; it is delivered on
    /// resume, or at once for SIGKILL.
    pub fn can_kill(self) -> bool {
        matches!(
            self,
            ContainerStatus::Created | ContainerStatus::Running | ContainerStatus::Paused
        )
    }

    pub fn can_pause(self) -> bool {
        self == ContainerStatus::Running
    }

    pub fn can_resume(self) -> bool {
        self == ContainerStatus::Paused
    }

    /// Without `--force`: a stopped container, or a created one whose
    /// process never ran (as runc allows).
    pub fn can_delete(self) -> bool {
        matches!(self, ContainerStatus::Created | ContainerStatus::Stopped)
    }

    pub fn can_exec(self) -> bool {
        self == ContainerStatus::Running
    }

    /// A paused container is already still, which is all a checkpoint needs.
    pub fn can_checkpoint(self) -> bool {
        matches!(self, ContainerStatus::Running | ContainerStatus::Paused)
    }

    /// Whether `operation` is allowed in this state.
    pub fn allows(self, operation: Operation) -> bool {
        match operation {
            Operation::Start => self.can_start(),
            Operation::Kill => self.can_kill(),
            Operation::Pause => self.can_pause(),
            Operation::Resume => self.can_resume(),
            Operation::Delete => self.can_delete(),
            Operation::Exec => self.can_exec(),
            Operation::Checkpoint => self.can_checkpoint(),
        }
    }

    /// `Ok` if `operation` is allowed, otherwise an error naming the
    /// container and its state.
    pub fn check(self, id: &str, operation: Operation) -> Result<(), NotPermitted> {
        if self.allows(operation) {
            Ok(())
        } else {
            Err(NotPermitted {
                id: id.to_string(),
                operation,
                status: self,
            })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Creating => "creating",
            ContainerStatus::Created => "created",
            ContainerStatus::Running => "running",
            ContainerStatus::Paused => "paused",
            ContainerStatus::Stopped => "stopped",
        }
    }
}

impl fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a command asks of a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Start,
    Kill,
    Pause,
    Resume,
    Delete,
    Exec,
    Checkpoint,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Start => "start",
            Operation::Kill => "kill",
            Operation::Pause => "pause",
            Operation::Resume => "resume",
            Operation::Delete => "delete",
            Operation::Exec => "exec in",
            Operation::Checkpoint => "checkpoint",
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} container {id:?}: it is {status}", operation.as_str())]
pub struct NotPermitted {
    pub id: String,
    pub operation: Operation,
    pub status: ContainerStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerStatus::*;

    const ALL: [ContainerStatus; 5] = [Creating, Created, Running, Paused, Stopped];

    /// For each operation, the states that allow it.
    fn expected(operation: Operation) -> &'static [ContainerStatus] {
        match operation {
            Operation::Start => &[Created],
            Operation::Kill => &[Created, Running, Paused],
            Operation::Pause => &[Running],
            Operation::Resume => &[Paused],
            Operation::Delete => &[Created, Stopped],
            Operation::Exec => &[Running],
            Operation::Checkpoint => &[Running, Paused],
        }
    }

    #[test]
    fn transition_table() {
        let operations = [
            Operation::Start,
            Operation::Kill,
            Operation::Pause,
            Operation::Resume,
            Operation::Delete,
            Operation::Exec,
            Operation::Checkpoint,
        ];
        for operation in operations {
            for status in ALL {
                assert_eq!(
                    status.allows(operation),
                    expected(operation).contains(&status),
                    "{operation:?} in {status}"
                );
            }
        }
    }

    #[test]
    fn nothing_is_allowed_while_creating() {
        assert!(!Creating.can_start());
        assert!(!Creating.can_kill());
        assert!(!Creating.can_delete());
        assert!(!Creating.can_exec());
    }

    #[test]
    fn refusal_names_container_and_state() {
        let err = Running.check("web", Operation::Start).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot start container \"web\": it is running"
        );
        let err = Stopped.check("web", Operation::Exec).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot exec in container \"web\": it is stopped"
        );
        assert_eq!(Created.check("web", Operation::Start), Ok(()));
    }

    #[test]
    fn serialized_names_are_the_oci_ones() {
        for status in ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
            assert_eq!(
                serde_json::from_str::<ContainerStatus>(&json).unwrap(),
                status
            );
        }
    }
}
