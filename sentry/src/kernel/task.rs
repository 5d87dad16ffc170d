//! Tasks (threads) and thread groups (processes).

use crate::arch::{FpState, Regs};
use crate::kernel::signal::{SigSet, SignalQueue};
use crate::kernel::wait::Block;
use crate::mm::MmId;
use crate::platform::ThreadId;
use serde::{Deserialize, Serialize};

/// A thread ID in the sandbox's PID namespace.
pub type Tid = i32;

/// What a task stopped in the sentry does next, once scheduled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pending {
    /// Run (or run again) the system call in its registers.
    Syscall,
    /// The system call finished with this value for `rax`.
    Complete(u64),
    /// A signal interrupted the blocked system call, which restarts or
    /// fails with `EINTR` as its policy says.
    Interrupted(crate::kernel::wait::Restart),
    /// Return to application code as the registers say.
    User,
}

/// Where a task is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum TaskState {
    /// Running application code on its host thread.
    Running,
    /// Stopped in the sentry, queued to run `Pending`.
    Ready(Pending),
    /// In a system call that waits for something.
    Blocked(Block),
    /// Stopped by a stop signal (`SIGSTOP`, `SIGTSTP`, ...).
    Stopped,
    /// Exited; its thread group may still wait to be reaped.
    Dead,
}

/// Credentials (real, effective, saved, filesystem).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
    /// Capability sets.
    pub caps: super::caps::Caps,
}

impl Creds {
    /// True if the effective set holds capability `cap`.
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.has(cap)
    }

    pub fn new(uid: u32, gid: u32, groups: Vec<u32>) -> Creds {
        Creds {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups,
            caps: super::caps::Caps::for_uid(uid),
        }
    }
}

/// A thread.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task {
    pub tid: Tid,
    /// Thread group (process) ID: the TID of its leader.
    pub tgid: Tid,
    pub state: TaskState,
    pub regs: Regs,
    /// Saved FPU state when the host thread does not hold it (checkpoint,
    /// a task not yet started).
    pub fp: Option<FpState>,
    pub mm: MmId,
    /// Descriptor table and filesystem context (cwd, root, umask) IDs in
    /// the VFS; shared between tasks created with `CLONE_FILES`/`CLONE_FS`.
    pub fdtable: u64,
    pub fs: u64,
    /// Signal handlers table, shared with `CLONE_SIGHAND`.
    pub sighand: u64,
    pub sigmask: SigSet,
    /// Signals sent to this thread only.
    pub pending: SignalQueue,
    /// Mask to restore after `rt_sigsuspend`/`ppoll`/`pselect` deliver.
    pub saved_mask: Option<SigSet>,
    /// `sigaltstack`: (sp, flags, size).
    pub altstack: (u64, i32, u64),
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    /// Thread name (`comm`), 15 bytes at most.
    pub name: String,
    pub creds: Creds,
    /// Absolute deadline (monotonic ns) of the system call in progress, so
    /// that re-running it after a wakeup keeps the original timeout.
    pub deadline: Option<u64>,
    /// Scratch of the system call in progress that must survive re-runs.
    pub syscall_scratch: Vec<u64>,
    /// Host thread running this task; rebuilt on restore.
    #[serde(skip)]
    pub host: ThreadId,
    /// The address of this task's last page fault when it was retried as
    /// stale (see `Kernel::on_event`), and the generation of the host
    /// mappings after the retry: a second fault there, with nothing changed
    /// since, is real.
    #[serde(skip)]
    pub stale_fault: Option<(u64, u64)>,
    /// CPU time used, in nanoseconds (user, system), estimated.
    pub utime: u64,
    pub stime: u64,
    /// Start time (monotonic ns).
    pub start_time: u64,
    /// `vfork` parent waiting for this task to exec or exit.
    pub vfork_parent: Option<Tid>,
    /// Nice value (-20..=19), per thread as on Linux; inherited by clone
    /// and fork. Recorded and reported: the sentry runs every task alike.
    #[serde(default)]
    pub nice: i32,
    /// CPU mask from `sched_setaffinity` (bytes, CPU 0 in bit 0); None
    /// for every CPU. Inherited like the nice value.
    #[serde(default)]
    pub affinity: Option<Vec<u8>>,
    /// Scheduling policy from `sched_setscheduler`, recorded and reported
    /// like the nice value.
    #[serde(default)]
    pub sched: SchedPolicy,
    /// When the task last started running application code (host
    /// monotonic ns), for CPU time accounting.
    #[serde(skip)]
    pub run_start: u64,
}

/// Exit status of a process, as `wait` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    Exited(i32),
    Signaled { sig: i32, core: bool },
}

impl ExitStatus {
    /// The `wstatus` word of `wait4`.
    pub fn wstatus(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => (c & 0xff) << 8,
            ExitStatus::Signaled { sig, core } => sig | if core { 0x80 } else { 0 },
        }
    }

    /// The shell's view: the code, or 128+N for signal N.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c & 0xff,
            ExitStatus::Signaled { sig, .. } => 128 + sig,
        }
    }
}

/// A process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThreadGroup {
    pub tgid: Tid,
    pub parent: Tid,
    pub pgid: Tid,
    pub sid: Tid,
    /// Live threads.
    pub threads: Vec<Tid>,
    pub children: Vec<Tid>,
    /// Signals sent to the process.
    pub pending: SignalQueue,
    /// Set when the whole group is exiting (`exit_group`, fatal signal).
    pub exiting: Option<ExitStatus>,
    /// Set once every thread has exited: a zombie until reaped.
    pub zombie: Option<ExitStatus>,
    /// Signal sent to the parent at exit (`SIGCHLD` usually).
    pub exit_signal: i32,
    /// Resource limits: RLIMIT_* -> (soft, hard).
    pub rlimits: Vec<(u64, u64)>,
    /// Stopped by job control, and whether the parent was told yet.
    pub stopped: bool,
    pub stop_reported: bool,
    pub continued: bool,
    /// `ITIMER_REAL` / `alarm`: absolute deadline (monotonic ns), interval.
    pub itimer_real: Option<(u64, u64)>,
    /// `ITIMER_VIRTUAL` and `ITIMER_PROF`: expiry in the group's CPU time
    /// (ns, as `Kernel::group_cpu` counts it), interval. Not inherited by
    /// fork, kept across execve.
    #[serde(default)]
    pub itimer_virtual: Option<(u64, u64)>,
    #[serde(default)]
    pub itimer_prof: Option<(u64, u64)>,
    /// Times of reaped children (user, system ns).
    pub children_times: (u64, u64),
    pub subreaper: bool,
    pub no_new_privs: bool,
    pub dumpable: bool,
    /// The signal that stopped the group, for `wait`.
    #[serde(default)]
    pub stop_signal: i32,
    /// CPU time of threads that have exited, in ns.
    #[serde(default)]
    pub dead_cpu: u64,
    /// POSIX timers (`timer_create`) by ID.
    #[serde(default)]
    pub timers: std::collections::BTreeMap<i32, PosixTimer>,
}

/// A POSIX interval timer (`timer_create`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PosixTimer {
    pub clock: i32,
    /// Next expiry (sandbox monotonic ns), when armed.
    pub deadline: Option<u64>,
    pub interval: u64,
    /// `SIGEV_SIGNAL`, `SIGEV_NONE` or `SIGEV_THREAD_ID`.
    pub notify: i32,
    pub signo: i32,
    pub value: u64,
    /// Thread to signal with `SIGEV_THREAD_ID`.
    pub target: Tid,
    /// Expirations missed while the signal was still pending.
    pub overrun: i32,
}

/// Number of resource limits (`RLIM_NLIMITS`).
pub const RLIM_NLIMITS: usize = 16;

/// A thread's scheduling policy as `sched_setscheduler` sets it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedPolicy {
    /// `SCHED_OTHER`, `SCHED_BATCH`, `SCHED_IDLE`, `SCHED_FIFO` or
    /// `SCHED_RR`.
    pub policy: i32,
    /// The real-time priority (1..=99 for `SCHED_FIFO`/`SCHED_RR`, else 0).
    pub priority: i32,
    /// `SCHED_RESET_ON_FORK`: children start with the normal policy.
    pub reset_on_fork: bool,
}

impl SchedPolicy {
    /// True for the real-time policies.
    pub fn real_time(&self) -> bool {
        matches!(self.policy, libc::SCHED_FIFO | libc::SCHED_RR)
    }

    /// What a child forked by a thread with this policy starts with, and
    /// the nice value it gets from `nice` (`SCHED_RESET_ON_FORK` takes a
    /// child out of a real-time policy and a negative nice value back to 0).
    pub fn for_child(&self, nice: i32) -> (SchedPolicy, i32) {
        if !self.reset_on_fork {
            return (*self, nice);
        }
        if self.real_time() {
            (SchedPolicy::default(), 0)
        } else {
            let policy = SchedPolicy {
                reset_on_fork: false,
                ..*self
            };
            (policy, nice.max(0))
        }
    }
}
