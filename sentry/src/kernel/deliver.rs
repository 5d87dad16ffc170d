//! Sending signals to tasks and delivering them: default actions, job
//! control stops, and handler frames on the application's stack.

use super::signal::*;
use super::task::{ExitStatus, Pending};
use super::wait::Restart;
use super::{Kernel, TaskState, Tid};
use crate::mm::bytes_of;

/// What `deliver_signals` left the task doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Return to application code with the (possibly new) registers.
    Run,
    /// Stopped by job control.
    Stopped,
    /// Exited.
    Gone,
}

impl Kernel {
    /// The action of the signal `tid` would take next, if it runs a handler.
    pub fn next_signal_action(&self, tid: Tid) -> Option<SigAction> {
        let t = &self.tasks[&tid];
        let tg = &self.thread_groups[&t.tgid];
        let avail = (t.pending.set.0 | tg.pending.set.0) & !t.sigmask.blockable().0;
        if avail == 0 {
            return None;
        }
        let sig = avail.trailing_zeros() as i32 + 1;
        let a = self.sighands[&t.sighand].get(sig);
        (a.handler != SIG_DFL && a.handler != SIG_IGN).then_some(a)
    }

    /// True if a pending signal would be acted on now.
    pub fn has_deliverable_signal(&self, tid: Tid) -> bool {
        let t = &self.tasks[&tid];
        let tg = &self.thread_groups[&t.tgid];
        (t.pending.set.0 | tg.pending.set.0) & !t.sigmask.blockable().0 != 0
    }

    /// True if `sig` would be discarded on arrival at `tgid`.
    /// `target` is the thread the signal goes to (for a process, its first
    /// thread): a signal it blocks is queued even if ignored, since the
    /// handler may change before it is unblocked.
    fn signal_ignored(&self, tgid: Tid, target: Option<Tid>, info: &SigInfo) -> bool {
        let sig = info.signo();
        let Some(tg) = self.thread_groups.get(&tgid) else {
            return true;
        };
        let Some(&leader) = tg.threads.first() else {
            return true;
        };
        let t = &self.tasks[&target.unwrap_or(leader)];
        let blocked = t.sigmask.has(sig) || t.saved_mask.is_some_and(|m| m.has(sig));
        let a = self.sighands[&t.sighand].get(sig);
        if blocked && sig != SIGKILL && sig != SIGSTOP {
            return false;
        }
        if self.init_protected(tgid, info, &a) {
            return true;
        }
        if sig == SIGKILL || sig == SIGSTOP {
            return false;
        }
        a.handler == SIG_IGN
            || (a.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
    }

    /// The sandbox's init ignores signals from other processes of the
    /// sandbox for which it has no handler, `SIGKILL` included (Linux's
    /// PID-namespace init). Signals from outside (the runtime) and faults
    /// are not subject to this.
    fn init_protected(&self, tgid: Tid, info: &SigInfo, a: &SigAction) -> bool {
        tgid == self.init && a.handler == SIG_DFL && info.code() <= 0 && info.0[2] as u32 != 0
    }

    /// Sends a signal to one thread (`tgkill`, faults).
    pub fn send_to_thread(&mut self, tid: Tid, info: SigInfo) {
        let Some(t) = self.tasks.get(&tid) else {
            return;
        };
        let tgid = t.tgid;
        if !self.prepare_signal(tgid, Some(tid), &info) {
            return;
        }
        self.task_mut(tid).pending.push(info);
        self.notify(crate::vfs::signalfd::queue(tgid));
        self.signal_wake(tid, info.signo());
    }

    /// Sends a signal to a process (`kill`): any thread may take it.
    pub fn send_to_group(&mut self, tgid: Tid, info: SigInfo) {
        if !self.thread_groups.contains_key(&tgid) || self.thread_groups[&tgid].zombie.is_some() {
            return;
        }
        let sig = info.signo();
        if !self.prepare_signal(tgid, None, &info) {
            return;
        }
        if sig == SIGKILL {
            self.kill_group(tgid, ExitStatus::Signaled { sig, core: false });
            return;
        }
        self.thread_groups
            .get_mut(&tgid)
            .expect("checked")
            .pending
            .push(info);
        self.notify(crate::vfs::signalfd::queue(tgid));
        // Wake a thread that does not block it, preferring the leader.
        let threads = self.thread_groups[&tgid].threads.clone();
        let target = threads
            .iter()
            .copied()
            .find(|t| !self.tasks[t].sigmask.blockable().has(sig))
            .or_else(|| threads.first().copied());
        if let Some(t) = target {
            self.signal_wake(t, sig);
        }
    }

    /// Job control effects of a signal at generation time; false if the
    /// signal is to be dropped.
    fn prepare_signal(&mut self, tgid: Tid, target: Option<Tid>, info: &SigInfo) -> bool {
        let sig = info.signo();
        if sig == SIGCONT {
            self.continue_group(tgid);
        } else if matches!(sig, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU) {
            let tg = self.thread_groups.get_mut(&tgid).expect("live");
            tg.pending.discard(SIGCONT);
            let threads = tg.threads.clone();
            for t in threads {
                self.task_mut(t).pending.discard(SIGCONT);
            }
        }
        !self.signal_ignored(tgid, target, info)
    }

    /// Lets a thread notice a new signal: wakes it from a blocking call,
    /// or stops it running application code.
    fn signal_wake(&mut self, tid: Tid, sig: i32) {
        let t = &self.tasks[&tid];
        if t.sigmask.blockable().has(sig) {
            return;
        }
        match &t.state {
            TaskState::Blocked(b) if b.interruptible => {
                let r = b.restart;
                self.wake(tid, Pending::Interrupted(r));
            }
            TaskState::Running => self.kick(tid),
            TaskState::Stopped if sig == SIGKILL => {
                self.task_mut(tid).state = TaskState::Ready(Pending::User);
                self.ready.push_back(tid);
            }
            _ => {}
        }
    }

    /// Interrupts a thread running application code so that it comes back
    /// to the sentry (as a host signal the platform reports and drops).
    pub fn kick(&mut self, tid: Tid) {
        let host = self.tasks[&tid].host;
        if host <= 0 {
            return;
        }
        // The stub process's PID is its address space ID; tgkill by TID
        // alone is enough for the host.
        // SAFETY: tgkill on a host thread of ours.
        unsafe { libc::syscall(libc::SYS_tkill, host, libc::SIGURG) };
    }

    /// A signal caused by the task itself (a fault): it cannot be blocked
    /// or ignored; a blocked or ignored one kills the process.
    pub fn force_signal(&mut self, tid: Tid, info: SigInfo) {
        let sig = info.signo();
        let sh = self.tasks[&tid].sighand;
        let blocked = self.tasks[&tid].sigmask.has(sig);
        let a = self.sighands[&sh].get(sig);
        if blocked || a.handler == SIG_IGN {
            let act = &mut self.sighands.get_mut(&sh).expect("live").actions[(sig - 1) as usize];
            act.handler = SIG_DFL;
            self.task_mut(tid).sigmask.remove(sig);
        }
        self.task_mut(tid).pending.push(info);
    }

    /// Resumes a stopped thread group (`SIGCONT`).
    fn continue_group(&mut self, tgid: Tid) {
        let tg = self.thread_groups.get_mut(&tgid).expect("live");
        for s in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
            tg.pending.discard(s);
        }
        let was_stopped = tg.stopped;
        tg.stopped = false;
        let threads = tg.threads.clone();
        for t in &threads {
            let task = self.task_mut(*t);
            for s in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
                task.pending.discard(s);
            }
            if matches!(task.state, TaskState::Stopped) {
                task.state = TaskState::Ready(Pending::User);
                self.ready.push_back(*t);
            }
        }
        if was_stopped {
            let tg = self.thread_groups.get_mut(&tgid).expect("live");
            tg.continued = true;
            tg.stop_reported = false;
            self.notify_parent_stop(tgid, CLD_CONTINUED, SIGCONT);
        }
    }

    /// Tells the parent that a child stopped or continued.
    fn notify_parent_stop(&mut self, tgid: Tid, code: i32, sig: i32) {
        let parent = self.thread_groups[&tgid].parent;
        if !self.thread_groups.contains_key(&parent) {
            return;
        }
        let leader = self.thread_groups[&parent].threads.first().copied();
        let no_cld_stop = leader
            .map(|l| self.sighands[&self.tasks[&l].sighand].get(SIGCHLD).flags & SA_NOCLDSTOP != 0)
            .unwrap_or(true);
        self.notify(super::exit::child_wait_queue(parent));
        if !no_cld_stop {
            let info = SigInfo::new(SIGCHLD, code)
                .with_sender(tgid, 0)
                .with_child(sig, 0, 0);
            self.send_to_group(parent, info);
        }
    }

    /// Takes the next signal to act on and acts: default action, or a
    /// handler frame.
    pub fn deliver_signals(&mut self, tid: Tid) -> Delivery {
        loop {
            let tgid = self.tasks[&tid].tgid;
            if self.thread_groups[&tgid].stopped {
                self.task_mut(tid).state = TaskState::Stopped;
                return Delivery::Stopped;
            }
            let mask = self.tasks[&tid].sigmask;
            let info = match self.task_mut(tid).pending.pop(mask) {
                Some(i) => i,
                None => match self
                    .thread_groups
                    .get_mut(&tgid)
                    .expect("live")
                    .pending
                    .pop(mask)
                {
                    Some(i) => i,
                    None => break,
                },
            };
            let sig = info.signo();
            let sh = self.tasks[&tid].sighand;
            let act = self.sighands[&sh].get(sig);
            if act.handler == SIG_IGN && sig != SIGKILL && sig != SIGSTOP {
                continue;
            }
            if self.init_protected(tgid, &info, &act) {
                continue;
            }
            if act.handler == SIG_DFL || sig == SIGKILL || sig == SIGSTOP {
                match default_action(sig) {
                    DefaultAction::Ignore | DefaultAction::Continue => continue,
                    DefaultAction::Stop => {
                        let tg = self.thread_groups.get_mut(&tgid).expect("live");
                        tg.stopped = true;
                        tg.stop_signal = sig;
                        tg.stop_reported = false;
                        let others: Vec<Tid> =
                            tg.threads.iter().copied().filter(|&t| t != tid).collect();
                        for o in others {
                            if matches!(self.tasks[&o].state, TaskState::Running) {
                                self.kick(o);
                            }
                        }
                        self.notify_parent_stop(tgid, CLD_STOPPED, sig);
                        continue;
                    }
                    DefaultAction::Terminate => {
                        self.kill_group_now(tid, ExitStatus::Signaled { sig, core: false });
                        return Delivery::Gone;
                    }
                    DefaultAction::CoreDump => {
                        self.kill_group_now(tid, ExitStatus::Signaled { sig, core: true });
                        return Delivery::Gone;
                    }
                }
            }
            if self.setup_frame(tid, &info, &act).is_err() {
                // No room for the frame: Linux kills with SIGSEGV.
                self.kill_group_now(
                    tid,
                    ExitStatus::Signaled {
                        sig: SIGSEGV,
                        core: true,
                    },
                );
                return Delivery::Gone;
            }
            if act.flags & SA_RESETHAND != 0 {
                self.sighands.get_mut(&sh).expect("live").actions[(sig - 1) as usize].handler =
                    SIG_DFL;
            }
            return Delivery::Run;
        }
        // No signal to act on: restore a mask saved by sigsuspend & co.
        if let Some(m) = self.task_mut(tid).saved_mask.take() {
            self.task_mut(tid).sigmask = m;
        }
        Delivery::Run
    }

    /// Builds an `rt_sigframe` and points the registers at the handler.
    fn setup_frame(
        &mut self,
        tid: Tid,
        info: &SigInfo,
        act: &SigAction,
    ) -> Result<(), crate::errno::Errno> {
        let host = self.tasks[&tid].host;
        let fp = match self.host().platform.get_fpstate(host) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("task {tid}: reading FPU state: {e}");
                return Err(crate::errno::Errno::EFAULT);
            }
        };
        let t = &self.tasks[&tid];
        let regs = t.regs;
        let (ss_sp, ss_flags, ss_size) = t.altstack;
        let on_alt = ss_size > 0 && regs.rsp > ss_sp && regs.rsp <= ss_sp + ss_size;
        let mut sp = if act.flags & SA_ONSTACK != 0
            && ss_size > 0
            && ss_flags & libc::SS_DISABLE == 0
            && !on_alt
        {
            ss_sp + ss_size
        } else {
            regs.rsp - 128
        };
        // The FPU area, 64-byte aligned, with the XSAVE magic after it.
        let fp_len = fp.0.len() as u64;
        sp = (sp - fp_len - 4) & !63;
        let fp_addr = sp;
        let mut fpbuf = fp.0.clone();
        if fpbuf.len() > crate::arch::FXSAVE_SIZE {
            // sw_reserved: magic1, extended size, xfeatures, xstate size.
            let xfeatures = u64::from_le_bytes(fpbuf[512..520].try_into().expect("8 bytes"));
            let sw = &mut fpbuf[464..512];
            sw[0..4].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
            sw[4..8].copy_from_slice(&((fp_len + 4) as u32).to_le_bytes());
            sw[8..16].copy_from_slice(&xfeatures.max(3).to_le_bytes());
            sw[16..20].copy_from_slice(&(fp_len as u32).to_le_bytes());
            fpbuf.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
        }
        sp -= RT_SIGFRAME_SIZE;
        sp = (sp & !15) - 8;
        let frame = sp;
        let mut buf = vec![0u8; RT_SIGFRAME_SIZE as usize];
        buf[0..8].copy_from_slice(&act.restorer.to_le_bytes());
        // uc_flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS.
        let uc_flags: u64 = if fpbuf.len() > crate::arch::FXSAVE_SIZE {
            0x7
        } else {
            0x6
        };
        buf[8..16].copy_from_slice(&uc_flags.to_le_bytes());
        let st = UC_STACK_OFFSET as usize;
        buf[st..st + 8].copy_from_slice(&ss_sp.to_le_bytes());
        let flags = if ss_size == 0 {
            libc::SS_DISABLE
        } else if on_alt {
            libc::SS_ONSTACK
        } else {
            0
        };
        buf[st + 8..st + 12].copy_from_slice(&flags.to_le_bytes());
        buf[st + 16..st + 24].copy_from_slice(&ss_size.to_le_bytes());
        let (trapno, cr2) = match info.signo() {
            SIGSEGV => (14, info.0[2]),
            _ => (0, 0),
        };
        let sc = sigcontext_of(&regs, fp_addr, t.sigmask.0, trapno, 0, cr2);
        let mc = UC_MCONTEXT_OFFSET as usize;
        for (i, w) in sc.iter().enumerate() {
            buf[mc + i * 8..mc + i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        let sm = UC_SIGMASK_OFFSET as usize;
        buf[sm..sm + 8].copy_from_slice(&t.saved_mask.unwrap_or(t.sigmask).0.to_le_bytes());
        let si = SIGINFO_OFFSET as usize;
        buf[si..si + 128].copy_from_slice(&info.to_bytes());
        self.copy_out(tid, fp_addr, &fpbuf)?;
        self.copy_out(tid, frame, &buf)?;
        let sig = info.signo();
        let t = self.task_mut(tid);
        t.regs.rsp = frame;
        t.regs.rip = act.handler;
        t.regs.rdi = sig as u64;
        t.regs.rsi = frame + SIGINFO_OFFSET;
        t.regs.rdx = frame + UC_OFFSET;
        t.regs.rax = 0;
        t.regs.eflags &= !(0x100 | 0x400); // TF, DF
        t.saved_mask = None;
        let mut m = SigSet(t.sigmask.0 | act.mask);
        if act.flags & SA_NODEFER == 0 {
            m.add(sig);
        }
        t.sigmask = m.blockable();
        let _ = bytes_of(&0u8);
        Ok(())
    }

    /// `rt_sigreturn`: restores registers, mask and FPU state from the frame
    /// at the stack pointer.
    pub fn sigreturn(&mut self, tid: Tid) -> Result<(), crate::errno::Errno> {
        let frame = self.tasks[&tid].regs.rsp - 8;
        let buf = self.read_bytes(tid, frame, RT_SIGFRAME_SIZE as usize)?;
        let mut sc = [0u64; 32];
        let mc = UC_MCONTEXT_OFFSET as usize;
        for (i, w) in sc.iter_mut().enumerate() {
            *w = u64::from_le_bytes(buf[mc + i * 8..mc + i * 8 + 8].try_into().expect("8 bytes"));
        }
        let sm = UC_SIGMASK_OFFSET as usize;
        let mask = u64::from_le_bytes(buf[sm..sm + 8].try_into().expect("8 bytes"));
        let st = UC_STACK_OFFSET as usize;
        let _ = &buf[st..st + 24];
        let fp_addr = sc[23];
        let host = self.tasks[&tid].host;
        if fp_addr != 0 {
            let cur = self
                .host()
                .platform
                .get_fpstate(host)
                .map_err(|_| crate::errno::Errno::EFAULT)?;
            let len = cur.0.len();
            let mut fp = self.read_bytes(tid, fp_addr, len)?;
            if len > crate::arch::FXSAVE_SIZE {
                // Keep the host's own software-reserved bytes.
                fp[464..512].copy_from_slice(&cur.0[464..512]);
            }
            let fp = crate::arch::FpState(fp);
            if self.host().platform.set_fpstate(host, &fp).is_err() {
                return Err(crate::errno::Errno::EFAULT);
            }
        }
        let t = self.task_mut(tid);
        t.regs = regs_from_sigcontext(&sc, &t.regs);
        t.sigmask = SigSet(mask).blockable();
        Ok(())
    }

    /// The restart policy a blocked task would use, for callers that wake.
    pub fn block_restart(&self, tid: Tid) -> Restart {
        match &self.tasks[&tid].state {
            TaskState::Blocked(b) => b.restart,
            _ => Restart::Sys,
        }
    }
}
