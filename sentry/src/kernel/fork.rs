//! `clone`, `fork` and `vfork`: new tasks, thread groups and address spaces.

use super::exit::vfork_wait_queue;
use super::signal::{SigHand, SignalQueue};
use super::task::{Pending, Task, TaskState, ThreadGroup};
use super::wait::{Block, Restart};
use super::{Kernel, Tid};
use crate::errno::Errno;
use crate::syscalls::SysErr;

/// Most tasks a sandbox may hold, whatever the rlimits say: each is a host
/// thread.
pub const MAX_TASKS: usize = 8192;

/// The decoded arguments of `clone`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
    pub exit_signal: i32,
}

const NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

impl Kernel {
    /// `clone`: returns the child's TID to the parent.
    pub fn clone_task(&mut self, tid: Tid, a: CloneArgs) -> Result<u64, SysErr> {
        // A vfork parent that already made its child waits here.
        if let Some(&child) = self.tasks[&tid].syscall_scratch.first() {
            let child = child as Tid;
            if self
                .tasks
                .get(&child)
                .is_some_and(|c| c.vfork_parent == Some(tid))
            {
                return Err(SysErr::Block(
                    Block::on(vec![vfork_wait_queue(tid)])
                        .with_restart(Restart::NoIntr)
                        .uninterruptible(),
                ));
            }
            return Ok(child as u64);
        }
        if !(0..=super::signal::NSIG).contains(&a.exit_signal) {
            return Err(Errno::EINVAL.into());
        }
        let f = a.flags;
        let has = |x: i32| f & x as u64 != 0;
        if has(libc::CLONE_THREAD) && !has(libc::CLONE_SIGHAND) {
            return Err(Errno::EINVAL.into());
        }
        if has(libc::CLONE_SIGHAND) && !has(libc::CLONE_VM) {
            return Err(Errno::EINVAL.into());
        }
        if f & NAMESPACES != 0 {
            return Err(Errno::EPERM.into());
        }
        if self.tasks.len() >= MAX_TASKS {
            return Err(Errno::EAGAIN.into());
        }
        let parent = self.tasks[&tid].clone();
        let nproc = self.rlimit(tid, libc::RLIMIT_NPROC as usize).0;
        if !has(libc::CLONE_THREAD) && parent.creds.uid != 0 {
            let mine = self
                .tasks
                .values()
                .filter(|t| t.creds.uid == parent.creds.uid && !matches!(t.state, TaskState::Dead))
                .count() as u64;
            if mine >= nproc {
                return Err(Errno::EAGAIN.into());
            }
        }
        let child = self.alloc_tid().ok_or(Errno::EAGAIN)?;

        // Address space and host thread.
        let (mm, host) = if has(libc::CLONE_VM) {
            let host = self.host().platform.new_thread(parent.host).map_err(|e| {
                tracing::warn!("clone: {e}");
                Errno::EAGAIN
            })?;
            self.mms.get_mut(&parent.mm).expect("live").users += 1;
            (parent.mm, host)
        } else {
            let (asid, host) = self.host().platform.new_address_space().map_err(|e| {
                tracing::warn!("fork: {e}");
                Errno::EAGAIN
            })?;
            let forked = self.with_mm(tid, |m, h| m.fork(h));
            let mut nm = match forked {
                Ok(m) => m,
                Err(e) => {
                    self.host().platform.release_address_space(asid);
                    return Err(e.into());
                }
            };
            nm.host = Some(asid);
            nm.users = 1;
            // The child's host address space starts empty: each page is
            // mapped when the child first faults on it (a pma present but
            // not mapped is mapped again, see `populate`), so a child that
            // execs or exits soon costs no round trip per pma, and its
            // protection changes remap where nothing is mapped yet.
            nm.host_holes.set(true);
            let id = self.new_id();
            self.mms.insert(id, nm);
            (id, host)
        };
        // The child starts with the parent's FPU state.
        if let Ok(fp) = self.host().platform.get_fpstate(parent.host) {
            let _ = self.host().platform.set_fpstate(host, &fp);
        }
        self.host().threads.insert(host, child);

        let fdtable = if has(libc::CLONE_FILES) {
            self.vfs.share_fdtable(parent.fdtable)
        } else {
            self.vfs.fork_fdtable(parent.fdtable)
        };
        let fs = if has(libc::CLONE_FS) {
            self.vfs.share_fs(parent.fs)
        } else {
            self.vfs.fork_fs(parent.fs)
        };
        let sighand = if has(libc::CLONE_SIGHAND) {
            self.sighands.get_mut(&parent.sighand).expect("live").refs += 1;
            parent.sighand
        } else {
            let mut sh: SigHand = self.sighands[&parent.sighand].clone();
            sh.refs = 1;
            let id = self.new_id();
            self.sighands.insert(id, sh);
            id
        };
        let mut regs = parent.regs;
        regs.rax = 0;
        if a.stack != 0 {
            regs.rsp = a.stack;
        }
        if has(libc::CLONE_SETTLS) {
            regs.fs_base = a.tls;
        }
        let tgid = if has(libc::CLONE_THREAD) {
            parent.tgid
        } else {
            child
        };
        let now = self.clock.monotonic();
        let child_sched = parent.sched.for_child(parent.nice);
        let task = Task {
            tid: child,
            tgid,
            state: TaskState::Ready(Pending::User),
            regs,
            fp: None,
            mm,
            fdtable,
            fs,
            sighand,
            sigmask: parent.sigmask,
            pending: SignalQueue::default(),
            saved_mask: None,
            altstack: if has(libc::CLONE_VM) && !has(libc::CLONE_VFORK) {
                (0, libc::SS_DISABLE, 0)
            } else {
                parent.altstack
            },
            clear_child_tid: if has(libc::CLONE_CHILD_CLEARTID) {
                a.child_tid
            } else {
                0
            },
            robust_list: (0, 0),
            name: parent.name.clone(),
            creds: parent.creds.clone(),
            deadline: None,
            syscall_scratch: Vec::new(),
            host,
            utime: 0,
            stime: 0,
            start_time: now,
            vfork_parent: has(libc::CLONE_VFORK).then_some(tid),
            nice: child_sched.1,
            affinity: parent.affinity.clone(),
            sched: child_sched.0,
            run_start: 0,
            stale_fault: None,
        };
        self.tasks.insert(child, task);
        if has(libc::CLONE_THREAD) {
            self.tg_mut(tid).threads.push(child);
        } else {
            let ptg = self.tg(tid).clone();
            let parent_tgid = if has(libc::CLONE_PARENT) {
                ptg.parent
            } else {
                ptg.tgid
            };
            let tg = ThreadGroup {
                tgid: child,
                parent: parent_tgid,
                pgid: ptg.pgid,
                sid: ptg.sid,
                threads: vec![child],
                children: Vec::new(),
                pending: SignalQueue::default(),
                exiting: None,
                zombie: None,
                exit_signal: a.exit_signal,
                rlimits: ptg.rlimits.clone(),
                stopped: false,
                stop_reported: false,
                continued: false,
                itimer_real: None,
                itimer_virtual: None,
                itimer_prof: None,
                children_times: (0, 0),
                subreaper: false,
                no_new_privs: ptg.no_new_privs,
                dumpable: ptg.dumpable,
                timers: Default::default(),
                stop_signal: 0,
                dead_cpu: 0,
            };
            self.thread_groups.insert(child, tg);
            if let Some(p) = self.thread_groups.get_mut(&parent_tgid) {
                p.children.push(child);
            }
        }
        if has(libc::CLONE_PARENT_SETTID) {
            let _ = self.write_val(tid, a.parent_tid, &(child as u32));
        }
        if has(libc::CLONE_CHILD_SETTID) {
            let _ = self.write_val(child, a.child_tid, &(child as u32));
        }
        self.ready.push_back(child);
        if has(libc::CLONE_VFORK) {
            self.task_mut(tid).syscall_scratch = vec![child as u64];
            return Err(SysErr::Block(
                Block::on(vec![vfork_wait_queue(tid)])
                    .with_restart(Restart::NoIntr)
                    .uninterruptible(),
            ));
        }
        Ok(child as u64)
    }
}
