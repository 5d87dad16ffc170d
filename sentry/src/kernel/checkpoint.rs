//! Checkpoint and restore of a running kernel.
//!
//! `quiesce` brings every task into the sentry: tasks running application
//! code are interrupted, and each keeps its registers and FPU state in its
//! `Task`, so that the kernel state is complete and can be encoded. A task
//! blocked in a system call stays as it is; after restore it runs that call
//! again (Linux's `ERESTARTSYS`), with its deadline intact because
//! monotonic time continues across the restore.
//!
//! `rebuild_host` is the other half: for a kernel decoded from an image it
//! creates a stub per address space, maps the populated pages back, gives
//! every task a host thread with its saved registers, and queues the tasks.

use super::task::Pending;
use super::{Kernel, TaskState, Tid};
use crate::mm::MmId;
use crate::platform::{Event, PlatformError};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long `quiesce` waits for running tasks to stop before interrupting
/// them again.
const KICK_INTERVAL: Duration = Duration::from_millis(100);
/// How long it waits in all.
const QUIESCE_TIMEOUT: Duration = Duration::from_secs(10);

/// Failures to stop or rebuild a sandbox's tasks.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("tasks {0:?} did not stop within {QUIESCE_TIMEOUT:?}")]
    Timeout(Vec<Tid>),
}

impl Kernel {
    /// Stops every task in the sentry with its machine state saved in the
    /// kernel state. Afterwards the kernel can be encoded, and `run` goes on
    /// as before (`--leave-running`).
    pub fn quiesce(&mut self) -> Result<(), CheckpointError> {
        let mut left: BTreeSet<Tid> = self
            .tasks
            .iter()
            .filter(|(_, t)| matches!(t.state, TaskState::Running))
            .map(|(&tid, _)| tid)
            .collect();
        for &t in &left {
            self.kick(t);
        }
        let start = Instant::now();
        let mut last_kick = start;
        while !left.is_empty() {
            if start.elapsed() > QUIESCE_TIMEOUT {
                return Err(CheckpointError::Timeout(left.into_iter().collect()));
            }
            if last_kick.elapsed() > KICK_INTERVAL {
                for &t in &left {
                    self.kick(t);
                }
                last_kick = Instant::now();
            }
            // Stops that arrived while the sandbox was paused come first.
            let mut events = std::mem::take(&mut self.host().held);
            events.extend(
                self.host()
                    .platform
                    .wait(Some(Duration::from_millis(20)), &[])?,
            );
            for (thread, ev) in events {
                let Some(&tid) = self.host().threads.get(&thread) else {
                    continue;
                };
                match ev {
                    Event::Syscall | Event::Interrupted => {
                        let host = self.tasks[&tid].host;
                        let regs = self.host().platform.get_regs(host)?;
                        let pending = if ev == Event::Syscall {
                            Pending::Syscall
                        } else {
                            Pending::User
                        };
                        let t = self.task_mut(tid);
                        t.regs = regs;
                        t.state = TaskState::Ready(pending);
                        self.ready.push_back(tid);
                        left.remove(&tid);
                    }
                    // A fault is served as usual (the task runs again and is
                    // interrupted anew); a death ends the task.
                    Event::Fault(_) | Event::Died => {
                        self.on_event(tid, ev);
                        let still = self
                            .tasks
                            .get(&tid)
                            .is_some_and(|t| matches!(t.state, TaskState::Running));
                        if still {
                            self.kick(tid);
                        } else {
                            left.remove(&tid);
                        }
                    }
                }
            }
            // Tasks that exited meanwhile.
            left.retain(|t| self.tasks.contains_key(t));
        }
        for tid in self.tasks.keys().copied().collect::<Vec<_>>() {
            let host = self.tasks[&tid].host;
            if host > 0 && !matches!(self.tasks[&tid].state, TaskState::Dead) {
                let fp = self.host().platform.get_fpstate(host)?;
                self.task_mut(tid).fp = Some(fp);
            }
        }
        self.clock.saved_mono = self.clock.monotonic();
        Ok(())
    }

    /// Gives a kernel decoded from an image its host side: a stub per
    /// address space with its pages mapped, a host thread per task with
    /// its registers and FPU state, and every task queued to run. Blocked
    /// system calls run again.
    pub fn rebuild_host(&mut self) -> Result<(), CheckpointError> {
        self.clock.resume_from_saved();
        // The vDSO's time data is the old host's: replace it first.
        self.vdso_restore();
        let mms: Vec<MmId> = self.mms.keys().copied().collect();
        for id in mms {
            let users: Vec<Tid> = self
                .tasks
                .iter()
                .filter(|(_, t)| t.mm == id && !matches!(t.state, TaskState::Dead))
                .map(|(&tid, _)| tid)
                .collect();
            if users.is_empty() {
                continue;
            }
            let (asid, main) = self.host().platform.new_address_space()?;
            self.mms.get_mut(&id).expect("listed").host = Some(asid);
            self.with_mm_id(id, main, |m, h| m.map_all(h))
                .map_err(|e| {
                    tracing::error!("restoring the mappings of address space {id}: {e}");
                    PlatformError::StubCreate(nix::errno::Errno::EFAULT)
                })?;
            // Patched text jumps through the table: to this platform's
            // fast entry, if it has one.
            let entry = self.host().platform.patch_entry();
            self.with_mm_id(id, main, |m, h| m.patch_retarget(entry, h));
            for (i, &tid) in users.iter().enumerate() {
                let thread = if i == 0 {
                    main
                } else {
                    self.host().platform.new_thread(main)?
                };
                self.host().threads.insert(thread, tid);
                let regs = self.tasks[&tid].regs;
                self.host().platform.set_regs(thread, &regs)?;
                if let Some(fp) = self.task_mut(tid).fp.take() {
                    if let Err(e) = self.host().platform.set_fpstate(thread, &fp) {
                        tracing::warn!("task {tid}: restoring its FPU state: {e}");
                    }
                }
                self.task_mut(tid).host = thread;
            }
        }
        // Everything runs again from the sentry: blocked calls restart.
        self.waiters.clear();
        let tids: Vec<Tid> = self.tasks.keys().copied().collect();
        for tid in tids {
            if let TaskState::Blocked(_) = self.tasks[&tid].state {
                self.task_mut(tid).state = TaskState::Ready(Pending::Syscall);
                self.ready.push_back(tid);
            }
        }
        let mut seen = BTreeSet::new();
        self.ready.retain(|t| seen.insert(*t));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, PlatformKind};
    use crate::kernel::task::ExitStatus;
    use crate::sandbox::LoadMode;
    use std::time::{Duration, Instant};

    /// A shell that counts into a tmpfs file, with child processes and
    /// pipes, is stopped half way, saved, torn down, restored in a new
    /// platform and memory file, and finishes with the right count.
    #[test]
    fn running_shell_survives_checkpoint_and_restore() {
        shell_survives(PlatformKind::Ptrace, PlatformKind::Ptrace, LoadMode::Lazy);
    }

    #[test]
    fn running_shell_survives_checkpoint_and_restore_on_systrap() {
        shell_survives(PlatformKind::Systrap, PlatformKind::Systrap, LoadMode::Lazy);
    }

    /// Pages loaded before anything runs, rather than lazily.
    #[test]
    fn running_shell_survives_an_eager_restore() {
        shell_survives(
            PlatformKind::Systrap,
            PlatformKind::Systrap,
            LoadMode::Eager,
        );
        shell_survives(PlatformKind::Ptrace, PlatformKind::Ptrace, LoadMode::Eager);
    }

    /// An image saved on one platform restores on the other.
    #[test]
    fn checkpoint_moves_between_platforms() {
        shell_survives(PlatformKind::Ptrace, PlatformKind::Systrap, LoadMode::Lazy);
    }

    fn shell_survives(from: PlatformKind, to: PlatformKind, mode: LoadMode) {
        let _one_platform = crate::sandbox::TEST_BOOT_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let script = "n=0; while [ $n -lt 25 ]; do n=$((n+1)); echo $n >> /tmp/count; \
                      sleep 0.02; done; \
                      [ $(wc -l < /tmp/count) -eq 25 ] && [ \"$(tail -n 1 /tmp/count)\" = 25 ] && exit 7; exit 1";
        let cfg = Config {
            argv: vec!["/bin/bash".into(), "-c".into(), script.into()],
            env: vec!["PATH=/usr/bin:/bin".into()],
            platform: from,
            ..Config::default()
        };
        let mut k = crate::sandbox::boot(&cfg).expect("boot");
        let done = k
            .run_until(Some(Instant::now() + Duration::from_millis(250)))
            .expect("run");
        assert!(done.is_none(), "the script ended before the checkpoint");
        k.quiesce().expect("quiesce");
        let dir = std::env::temp_dir().join(format!(
            "runsc-ckpt-test-{}-{from:?}-{to:?}-{mode:?}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        crate::state::save(&k, "test", &dir).expect("save");
        drop(k);
        let mut k = crate::sandbox::restore_with(&dir, to, mode).expect("restore");
        let status = k.run().expect("run after restore");
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(status, ExitStatus::Exited(7));
    }
}
