//! Containers as the runtime keeps track of them from one command to the
//! next: the ID, the lifecycle and the state file under `--root`.

pub mod hooks;
mod id;
mod state;
mod status;

pub use id::{validate_id, InvalidId};
pub use state::{
    owner_name, proc_stat, process_alive, OciState, ProcStat, State, StateDir, StateError,
    STATE_FILE,
};
pub use status::{ContainerStatus, NotPermitted, Operation};
