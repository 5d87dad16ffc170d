//! The sentry's main loop: run what is ready in the sentry, then wait for
//! application threads to stop (system calls, faults) or for timeouts and
//! host descriptors.

use super::deliver::Delivery;
use super::signal::{SigInfo, SA_RESTART, SIGBUS, SIGSEGV};
use super::task::{ExitStatus, Pending};
use super::wait::Restart;
use super::{Kernel, TaskState, Tid};
use crate::errno::Errno;
use crate::mm::patch::{PatchedSite, PatchedTrap};
use crate::mm::FaultResult;
use crate::platform::{Event, PlatformError};
use crate::syscalls::{self, SysErr};

/// Host host-side failures that end the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// Pages of a lazy restore could not be loaded: the application runs
    /// already and cannot go back, so the sandbox ends.
    #[error("{0}")]
    PagesLost(String),
}

/// How often the loop looks for a failed lazy restore while it sleeps.
const LAZY_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Host signals that `runsc` passes on to the sandbox's init, as gVisor
/// does: a user's Ctrl-C or `kill` of the runtime reaches the application.
const FORWARDED: [i32; 8] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGTERM,
    libc::SIGWINCH,
    libc::SIGCONT,
];

/// Job-control signals a terminal sends; forwarded too when the sandbox
/// has a console (see [`Kernel::forward_to_console`]).
const FORWARDED_JOB_CONTROL: [i32; 3] = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU];

/// Blocks the forwarded signals in the calling thread and returns a
/// signalfd that reports them.
pub fn forwarding_signalfd() -> Option<std::os::fd::OwnedFd> {
    signalfd_for(&FORWARDED)
}

fn signalfd_for(signals: &[i32]) -> Option<std::os::fd::OwnedFd> {
    // SAFETY: sigset manipulation on a local set; sigprocmask and signalfd
    // with valid pointers; the result is checked.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        (fd >= 0).then(|| <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd))
    }
}

/// Something outside the kernel that its loop serves: the control socket
/// through which the runtime starts, signals, pauses and inspects the
/// sandbox.
pub trait Controller {
    /// Host descriptors (with `poll` events) whose readiness should wake
    /// the loop.
    fn fds(&self, out: &mut Vec<(i32, i16)>);
    /// Does what its descriptors ask; may change the kernel.
    fn serve(&mut self, k: &mut Kernel);
    /// The loop ends (every task is gone): last replies go out.
    fn finish(&mut self, k: &mut Kernel);
}

/// Longest time a busy loop goes without serving its [`Controller`], in ns.
pub const CONTROL_INTERVAL: u64 = 5_000_000;

/// Longest time a busy loop (one that finds application threads stopped
/// every time it looks, without sleeping) goes without reading forwarded
/// host signals and re-running system calls blocked on host descriptors,
/// in ns. Between those checks an application system call costs the loop
/// no host call of its own.
pub const HOST_POLL_INTERVAL: u64 = 100_000;

impl Kernel {
    /// Reads forwarded host signals and sends them to init, or to the
    /// console's foreground process group.
    fn forward_host_signals(&mut self, fd: i32) {
        loop {
            // SAFETY: signalfd_siginfo is plain data; read fills it from a
            // non-blocking signalfd.
            let (si, n) = unsafe {
                let mut si: libc::signalfd_siginfo = std::mem::zeroed();
                let n = libc::read(
                    fd,
                    &mut si as *mut _ as *mut libc::c_void,
                    std::mem::size_of::<libc::signalfd_siginfo>(),
                );
                (si, n)
            };
            if n <= 0 {
                return;
            }
            let sig = si.ssi_signo as i32;
            let from_terminal = matches!(
                sig,
                libc::SIGINT
                    | libc::SIGQUIT
                    | libc::SIGTSTP
                    | libc::SIGTTIN
                    | libc::SIGTTOU
                    | libc::SIGWINCH
            );
            if from_terminal && self.host().forward_to_foreground {
                if let Some(pgrp) = self.console_foreground() {
                    tracing::debug!("forwarding host signal {sig} to process group {pgrp}");
                    self.signal_process_group(pgrp, sig);
                    continue;
                }
            }
            tracing::debug!("forwarding host signal {sig} to init");
            let init = self.init;
            self.send_to_group(init, SigInfo::new(sig, super::signal::SI_USER));
        }
    }

    /// Sends the host signals a terminal generates (and job-control stops)
    /// to the console's foreground process group instead of init. Call on
    /// the sentry's thread, when the sandbox process is the console's
    /// session on the host.
    pub fn forward_to_console(&mut self) {
        let mut all = FORWARDED.to_vec();
        all.extend_from_slice(&FORWARDED_JOB_CONTROL);
        let fd = signalfd_for(&all);
        let host = self.host();
        host.forward = fd;
        host.forward_to_foreground = true;
    }

    /// The foreground process group of the console (the sandbox's stdio
    /// terminal), if it has a live one.
    pub fn console_foreground(&self) -> Option<Tid> {
        self.vfs.stdio.tty_slot()?;
        let fg = self.vfs.stdio.fg_pgrp;
        self.thread_groups
            .values()
            .any(|g| g.pgid == fg && g.zombie.is_none())
            .then_some(fg)
    }

    /// Sends `sig` from the kernel to every live process of group `pgrp`.
    /// Returns how many there were.
    pub fn signal_process_group(&mut self, pgrp: Tid, sig: i32) -> usize {
        let members: Vec<Tid> = self
            .thread_groups
            .iter()
            .filter(|(_, g)| g.pgid == pgrp && g.zombie.is_none())
            .map(|(&t, _)| t)
            .collect();
        for &m in &members {
            self.send_to_group(m, SigInfo::new(sig, super::signal::SI_KERNEL));
        }
        members.len()
    }

    /// Stops running application code: no task is scheduled until
    /// [`Kernel::resume_all`], and threads running application code are
    /// interrupted (their stops are held).
    pub fn pause_all(&mut self) {
        if self.paused {
            return;
        }
        self.paused = true;
        let running: Vec<Tid> = self
            .tasks
            .iter()
            .filter(|(_, t)| matches!(t.state, TaskState::Running))
            .map(|(&tid, _)| tid)
            .collect();
        for tid in running {
            self.kick(tid);
        }
    }

    /// Lets tasks run again after [`Kernel::pause_all`] (or after boot,
    /// for a kernel created paused); stops held meanwhile are handled now.
    pub fn resume_all(&mut self) {
        if !self.paused {
            return;
        }
        self.paused = false;
        let held = std::mem::take(&mut self.host().held);
        for (thread, ev) in held {
            let Some(&tid) = self.host().threads.get(&thread) else {
                continue;
            };
            self.on_event(tid, ev);
        }
    }

    /// Runs until the sandbox's init has exited and no task is left.
    /// Returns init's exit status.
    pub fn run(&mut self) -> Result<ExitStatus, RunError> {
        self.run_with(None)
    }

    /// [`Kernel::run`], serving `ctl` between steps: its descriptors wake
    /// the loop, and it is called whenever the loop waited, or at least
    /// every [`CONTROL_INTERVAL`] while application threads keep it busy.
    pub fn run_with(&mut self, ctl: Option<&mut dyn Controller>) -> Result<ExitStatus, RunError> {
        let st = self.run_loop(ctl, None)?;
        Ok(st.expect("a run without a stop time ends only when init is gone"))
    }

    /// Runs until init has exited and no task is left (returning init's
    /// status), or until `stop` (host time) has passed (returning `None`,
    /// with tasks possibly running application code: see `quiesce`).
    pub fn run_until(
        &mut self,
        stop: Option<std::time::Instant>,
    ) -> Result<Option<ExitStatus>, RunError> {
        self.run_loop(None, stop)
    }

    /// Fails when pages of a lazy restore were lost (a bad checksum or a
    /// read error): no task may run on with them.
    fn check_pages(&mut self) -> Result<(), RunError> {
        let Some(lazy) = self.host.as_ref().and_then(|h| h.mf.lazy()) else {
            return Ok(());
        };
        match lazy.failure() {
            Some(e) => Err(RunError::PagesLost(e)),
            None => Ok(()),
        }
    }

    fn run_loop(
        &mut self,
        mut ctl: Option<&mut dyn Controller>,
        stop: Option<std::time::Instant>,
    ) -> Result<Option<ExitStatus>, RunError> {
        let mut last_served = self.clock.monotonic();
        let mut last_polled = last_served;
        loop {
            if stop.is_some_and(|s| std::time::Instant::now() >= s) {
                return Ok(None);
            }
            self.vdso_tick();
            self.check_pages()?;
            while !self.paused {
                let Some(tid) = self.ready.pop_front() else {
                    break;
                };
                self.check_pages()?;
                self.step(tid);
            }
            // Releases made where only the VFS was at hand may wake tasks.
            if crate::vfs::reap(self) {
                continue;
            }
            if self.tasks.is_empty() {
                let status = self.init_status.unwrap_or(ExitStatus::Exited(0));
                if let Some(c) = ctl.as_deref_mut() {
                    c.finish(self);
                }
                return Ok(Some(status));
            }
            let now = self.clock.monotonic();
            let mut deadline: Option<u64> = None;
            let mut fds = Vec::new();
            for t in self.tasks.values() {
                if let TaskState::Blocked(b) = &t.state {
                    if let Some(d) = b.deadline {
                        deadline = Some(deadline.map_or(d, |x: u64| x.min(d)));
                    }
                    fds.extend_from_slice(&b.host_fds);
                }
            }
            if let Some(d) = self.next_timer() {
                deadline = Some(deadline.map_or(d, |x: u64| x.min(d)));
            }
            // The external interface: its frames wake the loop, its
            // timers bound the sleep.
            if let Some(d) = crate::net::ext::deadline(self) {
                deadline = Some(deadline.map_or(d, |x: u64| x.min(d)));
            }
            if let Some(f) = crate::net::ext::fd(&self.vfs.net) {
                fds.push((f, libc::POLLIN));
            }
            let mut timeout =
                deadline.map(|d| std::time::Duration::from_nanos(d.saturating_sub(now)));
            if let Some(s) = stop {
                let left = s.saturating_duration_since(std::time::Instant::now());
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            // A lazy restore's loader may find a bad extent meanwhile.
            if self.host().mf.has_pending() {
                let cap = LAZY_CHECK_INTERVAL;
                timeout = Some(timeout.map_or(cap, |t| t.min(cap)));
            }
            // The vDSO's time data needs refreshing now and then.
            if let Some(cap) = self.clock.tsc.max_sleep() {
                timeout = Some(timeout.map_or(cap, |t| t.min(cap)));
            }
            let fwd = self
                .host()
                .forward
                .as_ref()
                .map(std::os::fd::AsRawFd::as_raw_fd);
            if let Some(f) = fwd {
                fds.push((f, libc::POLLIN));
            }
            if let Some(c) = ctl.as_deref() {
                c.fds(&mut fds);
            }
            let events = self.host().platform.wait(timeout, &fds)?;
            let waited = events.is_empty();
            let now = self.clock.monotonic();
            // Host descriptors and signals are looked at after a sleep (which
            // they may have ended), else now and then.
            let poll_host = waited || now.saturating_sub(last_polled) >= HOST_POLL_INTERVAL;
            if poll_host {
                last_polled = now;
                if let Some(f) = fwd {
                    self.forward_host_signals(f);
                }
                crate::net::ext::poll(self);
            }
            for (thread, ev) in events {
                if self.paused {
                    self.host().held.push((thread, ev));
                    continue;
                }
                let Some(&tid) = self.host().threads.get(&thread) else {
                    continue;
                };
                self.on_event(tid, ev);
            }
            if let Some(c) = ctl.as_deref_mut() {
                let now = self.clock.monotonic();
                if waited || now.saturating_sub(last_served) >= CONTROL_INTERVAL {
                    last_served = now;
                    c.serve(self);
                }
            }
            // Time passed, descriptors may be ready: re-run what waited.
            let now = self.clock.monotonic();
            self.fire_timers(now);
            let due: Vec<Tid> = self
                .tasks
                .iter()
                .filter(|(_, t)| match &t.state {
                    TaskState::Blocked(b) => {
                        b.deadline.is_some_and(|d| d <= now)
                            || (poll_host && !b.host_fds.is_empty())
                    }
                    _ => false,
                })
                .map(|(&tid, _)| tid)
                .collect();
            for tid in due {
                self.wake(tid, Pending::Syscall);
            }
        }
    }

    /// Runs what a ready task has pending.
    fn step(&mut self, tid: Tid) {
        let Some(t) = self.tasks.get_mut(&tid) else {
            return;
        };
        let TaskState::Ready(p) = t.state.clone() else {
            return;
        };
        match p {
            Pending::Syscall => self.do_syscall(tid),
            Pending::Complete(v) => self.finish_syscall(tid, v),
            Pending::Interrupted(r) => self.interrupt_syscall(tid, r),
            Pending::User => self.return_to_user(tid),
        }
    }

    /// Handles a stop of a running application thread.
    pub(crate) fn on_event(&mut self, tid: Tid, ev: Event) {
        let host = self.tasks[&tid].host;
        let start = std::mem::take(&mut self.task_mut(tid).run_start);
        if start != 0 {
            let now = super::time::host_monotonic();
            self.task_mut(tid).utime += now.saturating_sub(start);
        }
        if ev == Event::Died {
            tracing::warn!("host thread of task {tid} died");
            self.host().threads.remove(&host);
            self.task_mut(tid).host = 0;
            self.kill_group_now(
                tid,
                ExitStatus::Signaled {
                    sig: 9,
                    core: false,
                },
            );
            return;
        }
        match self.host().platform.get_regs(host) {
            Ok(r) => self.task_mut(tid).regs = r,
            Err(e) => {
                tracing::warn!("task {tid}: {e}");
                self.kill_group_now(
                    tid,
                    ExitStatus::Signaled {
                        sig: 9,
                        core: false,
                    },
                );
                return;
            }
        }
        if self.tg(tid).exiting.is_some() {
            self.exit_thread(tid);
            return;
        }
        if !matches!(ev, Event::Fault(_)) {
            self.task_mut(tid).stale_fault = None;
        }
        match ev {
            Event::Syscall => {
                self.task_mut(tid).state = TaskState::Ready(Pending::Syscall);
                let fast = self.host().platform.stopped_fast(host);
                self.host().patch.last_fast = fast;
                if !fast {
                    self.try_patch(tid);
                }
                self.do_syscall(tid);
            }
            Event::Fault(f) if f.signo == libc::SIGILL && self.patched_sigill(tid) => {}
            Event::Fault(f) => {
                self.task_mut(tid).state = TaskState::Ready(Pending::User);
                if f.signo == SIGSEGV && f.code == super::signal::SI_KERNEL {
                    // A general protection fault (hlt, a privileged
                    // instruction, a non-canonical address): no page fault.
                    self.force_signal(tid, SigInfo::new(SIGSEGV, super::signal::SI_KERNEL));
                } else if f.signo == SIGSEGV {
                    let limit = self.rlimit(tid, libc::RLIMIT_STACK as usize).0;
                    let mut r =
                        self.with_mm(tid, |m, h| m.handle_host_fault(f.addr, f.code, limit, h));
                    // The host may have raised the fault before another
                    // thread changed the page (broke its copy-on-write,
                    // say): the page is mapped again as it is now and the
                    // access retried. A fault there again with no host
                    // mapping changed since is real.
                    let last = std::mem::take(&mut self.task_mut(tid).stale_fault);
                    if r == Err(FaultResult::AccErr)
                        && last != Some((f.addr, self.with_mm(tid, |m, _| m.host_gen.get())))
                    {
                        if let Some(gen) = self.with_mm(tid, |m, h| m.remap_page(f.addr, h)) {
                            self.task_mut(tid).stale_fault = Some((f.addr, gen));
                            r = Ok(());
                        }
                    }
                    match r {
                        Ok(()) => {}
                        Err(FaultResult::BusErr) => {
                            self.force_signal(tid, SigInfo::new(SIGBUS, 2).with_addr(f.addr))
                        }
                        Err(FaultResult::Oom) => {
                            tracing::warn!("task {tid}: out of memory at {:#x}", f.addr);
                            self.force_signal(tid, SigInfo::new(SIGBUS, 2).with_addr(f.addr));
                        }
                        Err(e) => {
                            let code = if e == FaultResult::AccErr { 2 } else { 1 };
                            tracing::debug!(
                                "task {tid}: SIGSEGV ({e:?}) at {:#x}, rip {:#x}",
                                f.addr,
                                self.tasks[&tid].regs.rip
                            );
                            self.force_signal(tid, SigInfo::new(SIGSEGV, code).with_addr(f.addr));
                        }
                    }
                } else {
                    self.force_signal(tid, SigInfo::new(f.signo, f.code).with_addr(f.addr));
                }
                self.return_to_user(tid);
            }
            Event::Interrupted => {
                self.task_mut(tid).state = TaskState::Ready(Pending::User);
                self.return_to_user(tid);
            }
            Event::Died => unreachable!("handled above"),
        }
    }

    /// Patches the site of the system call the task stopped at, when the
    /// platform serves patched sites without a trap (see `mm::patch`).
    fn try_patch(&mut self, tid: Tid) {
        let Some(entry) = self.host().platform.patch_entry() else {
            return;
        };
        let r = self.tasks[&tid].regs;
        let Some(kind) = self.with_mm(tid, |m, h| m.patch_syscall(r.rip, r.orig_rax, entry, h))
        else {
            return;
        };
        self.host().patch.sites += 1;
        if self.strace {
            let what = match kind {
                PatchedSite::MovImm => "",
                PatchedSite::Syscall3 => " (a syscall(3) site)",
            };
            tracing::info!(
                target: "strace",
                "[{tid:>5}] patched {} at {:#x}{what}",
                syscalls::name(r.orig_rax),
                r.rip - 7
            );
        }
    }

    /// A `SIGILL` at a patched site (see `mm::patch`): the site runs
    /// again, or a restarted `restart_syscall` is made. False if the trap
    /// is not one of those.
    fn patched_sigill(&mut self, tid: Tid) -> bool {
        let rip = self.tasks[&tid].regs.rip;
        let PatchedTrap::Rerun(site) = self.with_mm(tid, |m, h| m.patched_sigill(rip, h)) else {
            return false;
        };
        let t = self.task_mut(tid);
        if t.regs.rax == libc::SYS_restart_syscall as u64 {
            t.regs.orig_rax = t.regs.rax;
            t.regs.rip = site + 7;
            t.state = TaskState::Ready(Pending::Syscall);
            self.do_syscall(tid);
        } else {
            t.regs.rip = site;
            t.state = TaskState::Ready(Pending::User);
            self.return_to_user(tid);
        }
        true
    }

    /// Runs the system call in the task's registers.
    fn do_syscall(&mut self, tid: Tid) {
        let regs = self.tasks[&tid].regs;
        let nr = regs.orig_rax;
        let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
        let res = syscalls::dispatch(self, tid, nr, &args);
        if !self.tasks.contains_key(&tid) {
            return;
        }
        if self.strace {
            syscalls::strace::log(self, tid, nr, &args, &res);
        }
        match res {
            Ok(v) => self.finish_syscall(tid, v),
            Err(SysErr::Errno(e)) => self.finish_syscall(tid, e.to_ret()),
            Err(SysErr::Block(b)) => {
                let restart = b.restart;
                let interruptible = b.interruptible;
                let queues = b.queues.clone();
                let expired = b.deadline.is_some_and(|d| d <= self.clock.monotonic());
                self.task_mut(tid).state = TaskState::Blocked(b);
                for q in queues {
                    self.waiters.entry(q).or_default().push(tid);
                }
                if interruptible && self.has_deliverable_signal(tid) {
                    self.wake(tid, Pending::Interrupted(restart));
                } else if expired {
                    self.wake(tid, Pending::Syscall);
                }
            }
            Err(SysErr::Resume) => self.return_to_user(tid),
            Err(SysErr::Gone) => {}
        }
    }

    fn finish_syscall(&mut self, tid: Tid, rax: u64) {
        let t = self.task_mut(tid);
        t.regs.rax = rax;
        t.deadline = None;
        t.syscall_scratch.clear();
        self.return_to_user(tid);
    }

    /// A signal arrived while the task was blocked in a system call.
    fn interrupt_syscall(&mut self, tid: Tid, restart: Restart) {
        if restart == Restart::Rerun {
            self.do_syscall(tid);
            return;
        }
        self.futexes.remove(tid);
        // A transfer that had moved data before it blocked (a long write to
        // a pipe or a stream socket, a MSG_WAITALL read) ends with the
        // count so far, whatever the handler: restarting would move that
        // data twice.
        let done = crate::vfs::file::progress(self, tid);
        if done > 0 {
            let t = self.task_mut(tid);
            t.deadline = None;
            t.syscall_scratch.clear();
            t.regs.rax = done as u64;
            self.return_to_user(tid);
            return;
        }
        let handler = self.next_signal_action(tid);
        let handler_runs = handler.is_some();
        let sa_restart = handler.is_some_and(|a| a.flags & SA_RESTART != 0);
        let again = match restart {
            Restart::Sys => !handler_runs || sa_restart,
            Restart::NoIntr => true,
            Restart::NoHand => !handler_runs,
            Restart::Never => false,
            Restart::Rerun => unreachable!("handled above"),
        };
        if !again {
            self.write_sleep_remainder(tid);
        }
        let t = self.task_mut(tid);
        if again {
            // Re-issued as is; without a handler in between it keeps its
            // deadline (a sleep continues for the time left).
            if handler_runs {
                t.deadline = None;
                t.syscall_scratch.clear();
            }
            t.regs.rax = t.regs.orig_rax;
            t.regs.rip -= 2;
        } else {
            t.deadline = None;
            t.syscall_scratch.clear();
            t.regs.rax = Errno::EINTR.to_ret();
        }
        self.return_to_user(tid);
    }

    /// A sleep cut short by a handler reports the time left (`nanosleep`'s
    /// `rem`, kept by the handler in the scratch words).
    fn write_sleep_remainder(&mut self, tid: Tid) {
        let t = &self.tasks[&tid];
        let nr = t.regs.orig_rax as i64;
        if nr != libc::SYS_nanosleep && nr != libc::SYS_clock_nanosleep {
            return;
        }
        let (Some(&rem), Some(d)) = (t.syscall_scratch.first(), t.deadline) else {
            return;
        };
        let left = d.saturating_sub(self.clock.monotonic());
        let _ = self.write_val(tid, rem, &super::time::to_timespec(left));
    }

    /// Delivers pending signals and lets the task run application code.
    pub fn return_to_user(&mut self, tid: Tid) {
        match self.deliver_signals(tid) {
            Delivery::Run => {}
            Delivery::Stopped | Delivery::Gone => return,
        }
        let t = &self.tasks[&tid];
        let (host, regs) = (t.host, t.regs);
        let r = {
            let p = &mut self.host().platform;
            p.set_regs(host, &regs).and_then(|_| p.resume(host))
        };
        match r {
            Ok(()) => {
                let t = self.task_mut(tid);
                t.state = TaskState::Running;
                t.run_start = super::time::host_monotonic();
            }
            Err(e) => {
                tracing::warn!("task {tid}: cannot resume: {e}");
                self.kill_group_now(
                    tid,
                    ExitStatus::Signaled {
                        sig: 9,
                        core: false,
                    },
                );
            }
        }
    }

    /// Sets a deadline for the running system call, `timeout` ns from the
    /// first time it runs, and returns it.
    pub fn syscall_deadline(&mut self, tid: Tid, timeout: u64) -> u64 {
        let now = self.clock.monotonic();
        let t = self.task_mut(tid);
        *t.deadline.get_or_insert(now.saturating_add(timeout))
    }

    /// True once the system call's deadline has passed.
    pub fn deadline_passed(&self, tid: Tid) -> bool {
        self.tasks[&tid]
            .deadline
            .is_some_and(|d| d <= self.clock.monotonic())
    }
}
