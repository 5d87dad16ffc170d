//! Process file descriptors (`pidfd_open`, `CLONE_PIDFD`): a file that
//! names a thread group. It polls readable once the process has exited
//! (its group is a zombie, or gone); `pidfd_send_signal`, `waitid(P_PIDFD)`
//! and `pidfd_getfd` act on the process it names. The group's exit
//! notifies [`queue`].

use crate::kernel::wait::WaitQueueId;
use crate::kernel::{Kernel, Tid};
use serde::{Deserialize, Serialize};

/// A pidfd's process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PidFd {
    pub tgid: Tid,
}

/// The wait queue notified when thread group `tgid` exits.
pub fn queue(tgid: Tid) -> WaitQueueId {
    (5u64 << 48) | tgid as u32 as u64
}

/// Whether the process has exited (a zombie, or reaped).
pub fn exited(k: &Kernel, tgid: Tid) -> bool {
    k.thread_groups
        .get(&tgid)
        .is_none_or(|g| g.zombie.is_some())
}
