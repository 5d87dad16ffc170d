//! Exiting: threads, thread groups, zombies, reparenting, and `wait`.

use super::signal::*;
use super::task::{ExitStatus, Pending};
use super::wait::{Block, WaitQueueId};
use super::{Kernel, TaskState, Tid};

/// The wait queue a process's parent sleeps on in `wait4`/`waitid`.
pub fn child_wait_queue(tgid: Tid) -> WaitQueueId {
    (1u64 << 48) | tgid as u32 as u64
}

/// The wait queue of a `vfork` parent.
pub fn vfork_wait_queue(tid: Tid) -> WaitQueueId {
    (2u64 << 48) | tid as u32 as u64
}

/// Which children a `wait` call accepts.
#[derive(Clone, Copy, Debug)]
pub enum WaitTarget {
    Any,
    Pid(Tid),
    Pgid(Tid),
}

/// What a successful `wait` found.
#[derive(Clone, Copy, Debug)]
pub struct WaitResult {
    pub pid: Tid,
    /// `CLD_EXITED`, `CLD_KILLED`, `CLD_DUMPED`, `CLD_STOPPED`, `CLD_CONTINUED`.
    pub code: i32,
    /// Exit code or signal number.
    pub status: i32,
    /// The `wstatus` word of `wait4`.
    pub wstatus: i32,
    pub uid: u32,
    pub utime: u64,
    pub stime: u64,
}

impl Kernel {
    /// A task's thread group ends with `status` (exit_group, fatal signal):
    /// every thread exits; the caller `tid` is stopped in the sentry.
    pub fn kill_group_now(&mut self, tid: Tid, status: ExitStatus) {
        let tgid = self.tasks[&tid].tgid;
        self.kill_group(tgid, status);
    }

    /// Makes every thread of `tgid` exit with `status`. Threads stopped in
    /// the sentry exit now; threads running application code are
    /// interrupted and exit when they come back.
    pub fn kill_group(&mut self, tgid: Tid, status: ExitStatus) {
        let Some(tg) = self.thread_groups.get_mut(&tgid) else {
            return;
        };
        if tg.exiting.is_none() {
            tg.exiting = Some(status);
        }
        tg.stopped = false;
        let threads = tg.threads.clone();
        for t in threads {
            match self.tasks.get(&t).map(|x| &x.state) {
                Some(TaskState::Running) => self.kick(t),
                Some(TaskState::Dead) | None => {}
                Some(_) => self.exit_thread(t),
            }
        }
    }

    /// `exit`: only this thread ends, unless it is the last.
    pub fn exit_one(&mut self, tid: Tid, code: i32) {
        let tgid = self.tasks[&tid].tgid;
        let tg = self.thread_groups.get_mut(&tgid).expect("live");
        if tg.threads.len() == 1 && tg.exiting.is_none() {
            tg.exiting = Some(ExitStatus::Exited(code));
        }
        self.exit_thread(tid);
    }

    /// Tears down one stopped thread: clear-child-tid, robust futexes, its
    /// host thread and its share of the address space and files. The last
    /// thread of a group makes the group a zombie.
    pub fn exit_thread(&mut self, tid: Tid) {
        let Some(t) = self.tasks.get(&tid) else {
            return;
        };
        if matches!(t.state, TaskState::Dead) {
            return;
        }
        let (tgid, mm, host, ctid) = (t.tgid, t.mm, t.host, t.clear_child_tid);
        // Remove from any wait queue or futex.
        if let TaskState::Blocked(_) = t.state {
            self.wake(tid, Pending::User);
            self.ready.retain(|&x| x != tid);
        }
        self.futexes.remove(tid);
        self.task_mut(tid).state = TaskState::Dead;
        let users = self.mms.get(&mm).map_or(0, |m| m.users);
        if users > 1 && host > 0 {
            self.exit_robust_list(tid);
            if ctid != 0 {
                // CLONE_CHILD_CLEARTID: zero the word and wake one waiter.
                if self.write_val(tid, ctid, &0u32).is_ok() {
                    self.futex_wake_addr(tid, ctid, 1);
                }
            }
        }
        if let Some(v) = self.tasks[&tid].vfork_parent {
            self.task_mut(tid).vfork_parent = None;
            self.notify(vfork_wait_queue(v));
        }
        // The host thread and the address space.
        if host > 0 {
            self.host().threads.remove(&host);
            if users > 1 {
                self.host().platform.release_thread(host);
            }
        }
        self.drop_mm_user(mm);
        let (fdt, fs, sh) = (
            self.tasks[&tid].fdtable,
            self.tasks[&tid].fs,
            self.tasks[&tid].sighand,
        );
        self.vfs.release_fdtable(fdt);
        self.vfs.release_fs(fs);
        self.release_sighand(sh);
        let cpu = self.tasks[&tid].utime + self.tasks[&tid].stime;
        let tg = self.thread_groups.get_mut(&tgid).expect("live");
        tg.dead_cpu += cpu;
        tg.threads.retain(|&x| x != tid);
        let last = tg.threads.is_empty();
        if tid != tgid || last {
            self.tasks.remove(&tid);
        }
        if last {
            if tgid != tid {
                self.tasks.remove(&tgid);
            }
            self.group_exited(tgid);
        }
    }

    /// Drops one user of an address space; the last releases it.
    pub fn drop_mm_user(&mut self, mm: u64) {
        let Some(m) = self.mms.get_mut(&mm) else {
            return;
        };
        m.users = m.users.saturating_sub(1);
        if m.users > 0 {
            return;
        }
        let mut m = self.mms.remove(&mm).expect("present");
        let host = self.host.as_mut().expect("host attached");
        if let Some(a) = m.host {
            host.platform.release_address_space(a);
        }
        m.host = None;
        let mut h = crate::mm::MmHost {
            frames: &mut self.frames,
            mf: &host.mf,
            objects: &mut self.objects,
            platform: host.platform.as_mut(),
            files: &mut self.vfs,
            via: 0,
        };
        m.release_all(&mut h);
    }

    fn release_sighand(&mut self, sh: u64) {
        if let Some(s) = self.sighands.get_mut(&sh) {
            s.refs -= 1;
            if s.refs == 0 {
                self.sighands.remove(&sh);
            }
        }
    }

    /// Walks the robust futex list of an exiting thread (best effort).
    fn exit_robust_list(&mut self, tid: Tid) {
        let (head, len) = self.tasks[&tid].robust_list;
        if head == 0 || len != 24 {
            return;
        }
        let Ok(off) = self.read_val::<i64>(tid, head + 8) else {
            return;
        };
        let mut entry: u64 = match self.read_val(tid, head) {
            Ok(e) => e,
            Err(_) => return,
        };
        let pending: u64 = self.read_val(tid, head + 16).unwrap_or(0);
        let mut n = 0;
        let visit = |k: &mut Kernel, e: u64| {
            let addr = (e as i64 + off) as u64;
            if let Ok(v) = k.read_val::<u32>(tid, addr) {
                if v & 0x3fff_ffff == tid as u32 {
                    let nv = (v & 0x8000_0000) | 0x4000_0000; // FUTEX_OWNER_DIED
                    if k.write_val(tid, addr, &nv).is_ok() && v & 0x8000_0000 != 0 {
                        k.futex_wake_addr(tid, addr, 1);
                    }
                }
            }
        };
        while entry != head && entry != 0 && n < 2048 {
            let next: u64 = match self.read_val(tid, entry) {
                Ok(x) => x,
                Err(_) => break,
            };
            if entry != pending {
                visit(self, entry);
            }
            entry = next;
            n += 1;
        }
        if pending != 0 {
            visit(self, pending);
        }
    }

    /// The last thread of `tgid` is gone: it becomes a zombie, its children
    /// go to init, and the parent hears of it.
    fn group_exited(&mut self, tgid: Tid) {
        let status = self.thread_groups[&tgid]
            .exiting
            .unwrap_or(ExitStatus::Exited(0));
        if let Some(slot) = self.host_waited.get_mut(&tgid) {
            *slot = Some(status);
        }
        // Reparent children to init (or reap them if we are init).
        let children =
            std::mem::take(&mut self.thread_groups.get_mut(&tgid).expect("live").children);
        let init = self.init;
        for c in children {
            if tgid == init {
                // The sandbox's init is gone: everything else dies.
                self.kill_group(
                    c,
                    ExitStatus::Signaled {
                        sig: SIGKILL,
                        core: false,
                    },
                );
                if let Some(tg) = self.thread_groups.get_mut(&c) {
                    tg.parent = 0;
                }
                if self
                    .thread_groups
                    .get(&c)
                    .is_some_and(|g| g.zombie.is_some())
                {
                    self.thread_groups.remove(&c);
                }
            } else if let Some(tg) = self.thread_groups.get_mut(&c) {
                tg.parent = init;
                let is_zombie = tg.zombie.is_some();
                if let Some(i) = self.thread_groups.get_mut(&init) {
                    i.children.push(c);
                }
                if is_zombie {
                    self.notify(child_wait_queue(init));
                }
            }
        }
        self.notify(crate::vfs::pidfd::queue(tgid));
        let tg = self.thread_groups.get_mut(&tgid).expect("live");
        tg.zombie = Some(status);
        let parent = tg.parent;
        let exit_signal = tg.exit_signal;
        if tgid == init {
            self.init_status = Some(status);
            // Kill whatever is left (orphans reparented earlier).
            let rest: Vec<Tid> = self
                .thread_groups
                .keys()
                .copied()
                .filter(|&g| g != tgid)
                .collect();
            for g in rest {
                self.kill_group(
                    g,
                    ExitStatus::Signaled {
                        sig: SIGKILL,
                        core: false,
                    },
                );
            }
            self.thread_groups.remove(&tgid);
            return;
        }
        if !self.thread_groups.contains_key(&parent) {
            self.thread_groups.remove(&tgid);
            return;
        }
        // SIGCHLD (or the requested exit signal); auto-reap when the parent
        // ignores SIGCHLD or set SA_NOCLDWAIT.
        let pleader = self.thread_groups[&parent].threads.first().copied();
        let auto_reap = pleader.is_some_and(|l| {
            let a = self.sighands[&self.tasks[&l].sighand].get(SIGCHLD);
            a.handler == SIG_IGN || a.flags & SA_NOCLDWAIT != 0
        });
        if exit_signal > 0 {
            let (code, st) = match status {
                ExitStatus::Exited(c) => (CLD_EXITED, c),
                ExitStatus::Signaled { sig, core } => {
                    (if core { CLD_DUMPED } else { CLD_KILLED }, sig)
                }
            };
            let info = SigInfo::new(exit_signal, code)
                .with_sender(tgid, 0)
                .with_child(st, 0, 0);
            self.send_to_group(parent, info);
        }
        if auto_reap {
            self.reap(parent, tgid);
        }
        self.notify(child_wait_queue(parent));
    }

    /// Removes a zombie child for good.
    fn reap(&mut self, parent: Tid, child: Tid) {
        if let Some(p) = self.thread_groups.get_mut(&parent) {
            p.children.retain(|&c| c != child);
        }
        self.thread_groups.remove(&child);
    }

    /// One `wait4`/`waitid` attempt. `Ok(None)` means children exist but
    /// none is ready (the caller blocks unless `WNOHANG`).
    pub fn try_wait(
        &mut self,
        tid: Tid,
        target: WaitTarget,
        options: i32,
    ) -> Result<Option<WaitResult>, crate::errno::Errno> {
        let me = self.tasks[&tid].tgid;
        let want_exited = options & libc::WEXITED != 0;
        let want_stopped = options & libc::WUNTRACED != 0;
        let want_cont = options & libc::WCONTINUED != 0;
        let nowait = options & libc::WNOWAIT != 0;
        // Threads of the group may wait for each other's children (__WNOTHREAD aside).
        let children = self.thread_groups[&me].children.clone();
        let mut any = false;
        for c in children {
            let Some(tg) = self.thread_groups.get(&c) else {
                continue;
            };
            let matches = match target {
                WaitTarget::Any => true,
                WaitTarget::Pid(p) => p == c,
                WaitTarget::Pgid(g) => tg.pgid == g,
            };
            // __WCLONE/__WALL selection by exit signal.
            let clone_child = tg.exit_signal != SIGCHLD;
            let wall = options & libc::__WALL != 0;
            let wclone = options & libc::__WCLONE != 0;
            if !matches || (!wall && clone_child != wclone) {
                continue;
            }
            any = true;
            if let Some(st) = tg.zombie {
                if !want_exited {
                    continue;
                }
                let (code, status) = match st {
                    ExitStatus::Exited(x) => (CLD_EXITED, x),
                    ExitStatus::Signaled { sig, core } => {
                        (if core { CLD_DUMPED } else { CLD_KILLED }, sig)
                    }
                };
                let r = WaitResult {
                    pid: c,
                    code,
                    status,
                    wstatus: st.wstatus(),
                    uid: 0,
                    utime: 0,
                    stime: 0,
                };
                if !nowait {
                    self.reap(me, c);
                }
                return Ok(Some(r));
            }
            if want_stopped && tg.stopped && !tg.stop_reported {
                let sig = if tg.stop_signal > 0 {
                    tg.stop_signal
                } else {
                    SIGSTOP
                };
                if !nowait {
                    self.thread_groups.get_mut(&c).expect("live").stop_reported = true;
                }
                return Ok(Some(WaitResult {
                    pid: c,
                    code: CLD_STOPPED,
                    status: sig,
                    wstatus: 0x7f | (sig << 8),
                    uid: 0,
                    utime: 0,
                    stime: 0,
                }));
            }
            if want_cont && tg.continued {
                if !nowait {
                    self.thread_groups.get_mut(&c).expect("live").continued = false;
                }
                return Ok(Some(WaitResult {
                    pid: c,
                    code: CLD_CONTINUED,
                    status: SIGCONT,
                    wstatus: 0xffff,
                    uid: 0,
                    utime: 0,
                    stime: 0,
                }));
            }
        }
        if !any {
            return Err(crate::errno::Errno::ECHILD);
        }
        Ok(None)
    }

    /// What `wait` blocks on.
    pub fn wait_block(&self, tid: Tid) -> Block {
        Block::on(vec![child_wait_queue(self.tasks[&tid].tgid)])
    }
}
