//! Signals a foreground `run` or `exec` receives and passes on to the
//! container: they are blocked and taken synchronously, so the runtime
//! itself is never stopped or killed by them.

use std::time::Duration;

/// Signals passed on to the container.
pub const FORWARDED: [i32; 10] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGPIPE,
];

/// A signal taken from the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub signal: i32,
    /// Sent by the kernel (a terminal's Ctrl-C) rather than by a process.
    pub from_terminal: bool,
}

/// The forwarded signals (and `SIGCHLD`), blocked for as long as it lives.
pub struct Blocked {
    set: libc::sigset_t,
    old: libc::sigset_t,
}

impl Blocked {
    pub fn new() -> Blocked {
        // SAFETY: sigset manipulation on local sets and sigprocmask with
        // valid pointers.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in FORWARDED {
                libc::sigaddset(&mut set, s);
            }
            libc::sigaddset(&mut set, libc::SIGCHLD);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            Blocked { set, old }
        }
    }

    /// Waits at most `timeout` for a signal. `SIGCHLD` is returned too.
    pub fn next(&self, timeout: Duration) -> Option<Received> {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: siginfo_t is plain data filled by sigtimedwait.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigtimedwait with valid pointers.
        let sig = unsafe { libc::sigtimedwait(&self.set, &mut info, &ts) };
        (sig > 0).then_some(Received {
            signal: sig,
            from_terminal: info.si_code == libc::SI_KERNEL,
        })
    }
}

impl Default for Blocked {
    fn default() -> Self {
        Blocked::new()
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}
