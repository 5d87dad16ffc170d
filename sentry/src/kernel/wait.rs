//! Blocking: a system call that cannot finish yet returns a [`Block`]
//! saying what it waits for; the task sleeps until one of those happens and
//! then runs the system call again from the start (handlers are written to
//! be re-run: they re-check their condition and keep their deadline in the
//! task). This is also what makes checkpoint simple: a blocked task is just a
//! system call to run again after restore.

use serde::{Deserialize, Serialize};

/// Identifies a wait queue: something tasks can wait on (a pipe becoming
/// readable, a child exiting, ...). Objects allocate theirs from the kernel.
pub type WaitQueueId = u64;

/// How a blocked call behaves when a signal interrupts it (Linux's
/// `-ERESTART*` family).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Restart {
    /// `ERESTARTSYS`: restarted if the handler has `SA_RESTART` (or no
    /// handler ran), else `EINTR`.
    Sys,
    /// `ERESTARTNOINTR`: always restarted.
    NoIntr,
    /// `ERESTARTNOHAND`: restarted only if no handler ran.
    NoHand,
    /// Never restarted: `EINTR` whenever a signal arrives.
    Never,
    /// Run again when a signal arrives: the call takes signals itself
    /// (`rt_sigtimedwait`) and decides.
    Rerun,
}

/// What a blocked system call waits for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Block {
    pub queues: Vec<WaitQueueId>,
    /// Host descriptors with `poll` events; not restored as such (host
    /// descriptors are reopened), the call simply runs again.
    pub host_fds: Vec<(i32, i16)>,
    /// Absolute monotonic deadline in ns; the call runs again then.
    pub deadline: Option<u64>,
    pub restart: Restart,
    /// False for waits a signal must not cut short (a `vfork` parent);
    /// only `SIGKILL` ends them.
    pub interruptible: bool,
}

impl Block {
    pub fn on(queues: Vec<WaitQueueId>) -> Block {
        Block {
            queues,
            host_fds: Vec::new(),
            deadline: None,
            restart: Restart::Sys,
            interruptible: true,
        }
    }

    pub fn until(deadline: u64) -> Block {
        Block {
            queues: Vec::new(),
            host_fds: Vec::new(),
            deadline: Some(deadline),
            restart: Restart::Sys,
            interruptible: true,
        }
    }

    pub fn with_deadline(mut self, d: Option<u64>) -> Block {
        self.deadline = d;
        self
    }

    pub fn with_restart(mut self, r: Restart) -> Block {
        self.restart = r;
        self
    }

    pub fn uninterruptible(mut self) -> Block {
        self.interruptible = false;
        self
    }

    pub fn with_host_fd(mut self, fd: i32, events: i16) -> Block {
        self.host_fds.push((fd, events));
        self
    }
}
