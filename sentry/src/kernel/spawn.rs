//! Starting a process from outside the sandbox: the container's init at
//! boot, and each `exec` later. The process leads a new session and
//! process group, has no parent inside the sandbox, and runs its program
//! through the same `execve` as an application would.

use super::signal::{SigHand, SigSet, SignalQueue, SIGCHLD};
use super::task::{Creds, Pending, Task, TaskState, ThreadGroup, RLIM_NLIMITS};
use super::{Kernel, Tid};
use crate::arch::Regs;
use crate::config::Rlimit;
use crate::errno::Errno;

/// What a new process runs and with what.
#[derive(Clone, Debug)]
pub struct NewProcess {
    /// Program and arguments; `argv[0]` is looked up in `PATH` (from `env`)
    /// when it holds no slash.
    pub argv: Vec<String>,
    /// `NAME=value` strings.
    pub env: Vec<String>,
    /// Working directory, inside the sandbox.
    pub cwd: String,
    pub creds: Creds,
    /// Every limit, `RLIMIT_*` -> (soft, hard); see [`rlimits_with`].
    pub rlimits: Vec<(u64, u64)>,
    /// Its descriptor table (a VFS table ID), which the process takes over.
    pub fdtable: u64,
    pub no_new_privs: bool,
}

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("no command to run")]
    NoCommand,
    #[error("the sandbox has no free process ID")]
    NoPid,
    #[error("cannot execute {path}: {err} ({})", describe(*.err))]
    Exec { path: String, err: Errno },
}

fn describe(e: Errno) -> &'static str {
    match e {
        Errno::ENOENT => "no such file or directory",
        Errno::EACCES => "permission denied",
        Errno::ENOEXEC => "not an executable format the sandbox runs",
        Errno::E2BIG => "argument list too long",
        Errno::ENOMEM => "out of memory",
        Errno::ELOOP => "too many levels of interpreters or links",
        Errno::ENOTDIR => "a component of the path is not a directory",
        _ => "failed",
    }
}

/// Linux's limits for a first process, with `given` applied over them.
pub fn rlimits_with(given: &[Rlimit]) -> Vec<(u64, u64)> {
    let mut rlimits = vec![(u64::MAX, u64::MAX); RLIM_NLIMITS];
    rlimits[libc::RLIMIT_STACK as usize] = (8 << 20, u64::MAX);
    rlimits[libc::RLIMIT_NOFILE as usize] = (1024, 1 << 20);
    rlimits[libc::RLIMIT_CORE as usize] = (0, u64::MAX);
    for r in given {
        if let Some(slot) = rlimits.get_mut(r.resource as usize) {
            *slot = (r.soft, r.hard);
        }
    }
    rlimits
}

impl Kernel {
    /// Starts `p` as a new process and queues it to run. Returns its PID.
    /// On failure nothing is left behind (the descriptor table included).
    pub fn spawn_process(&mut self, p: NewProcess) -> Result<Tid, SpawnError> {
        if p.argv.is_empty() {
            self.vfs.release_fdtable(p.fdtable);
            return Err(SpawnError::NoCommand);
        }
        let Some(tid) = self.alloc_tid() else {
            self.vfs.release_fdtable(p.fdtable);
            return Err(SpawnError::NoPid);
        };
        let fs = self.vfs.new_fs(&p.cwd);
        let sighand = self.new_id();
        self.sighands.insert(sighand, SigHand::default());
        let now = self.clock.monotonic();
        // No address space and no host thread yet: execve makes both.
        self.tasks.insert(
            tid,
            Task {
                tid,
                tgid: tid,
                state: TaskState::Ready(Pending::User),
                regs: Regs::default(),
                fp: None,
                mm: 0,
                fdtable: p.fdtable,
                fs,
                sighand,
                sigmask: SigSet::default(),
                pending: SignalQueue::default(),
                saved_mask: None,
                altstack: (0, libc::SS_DISABLE, 0),
                clear_child_tid: 0,
                robust_list: (0, 0),
                name: String::new(),
                creds: p.creds.clone(),
                deadline: None,
                syscall_scratch: Vec::new(),
                host: 0,
                utime: 0,
                stime: 0,
                start_time: now,
                vfork_parent: None,
                nice: 0,
                affinity: None,
                sched: Default::default(),
                run_start: 0,
                stale_fault: None,
            },
        );
        self.thread_groups.insert(
            tid,
            ThreadGroup {
                tgid: tid,
                parent: 0,
                pgid: tid,
                sid: tid,
                threads: vec![tid],
                children: Vec::new(),
                pending: SignalQueue::default(),
                exiting: None,
                zombie: None,
                exit_signal: SIGCHLD,
                rlimits: p.rlimits.clone(),
                stopped: false,
                stop_reported: false,
                continued: false,
                itimer_real: None,
                itimer_virtual: None,
                itimer_prof: None,
                children_times: (0, 0),
                subreaper: false,
                no_new_privs: p.no_new_privs,
                dumpable: true,
                stop_signal: 0,
                dead_cpu: 0,
                timers: Default::default(),
            },
        );
        let path = self.find_program(fs, &p.argv[0], &p.env);
        let argv: Vec<Vec<u8>> = p.argv.iter().map(|s| s.clone().into_bytes()).collect();
        let envp: Vec<Vec<u8>> = p.env.iter().map(|s| s.clone().into_bytes()).collect();
        if let Err(err) = self.execve(tid, path.clone().into_bytes(), argv, envp) {
            self.abandon_spawn(tid);
            return Err(SpawnError::Exec { path, err });
        }
        self.ready.push_back(tid);
        Ok(tid)
    }

    /// Removes a process whose program never started.
    fn abandon_spawn(&mut self, tid: Tid) {
        let Some(t) = self.tasks.remove(&tid) else {
            return;
        };
        self.thread_groups.remove(&tid);
        self.vfs.release_fdtable(t.fdtable);
        self.vfs.release_fs(t.fs);
        self.sighands.remove(&t.sighand);
    }

    /// Resolves a command name through `PATH` (from `env`) as a shell
    /// would; a name with a slash, or one found nowhere, is used as is.
    fn find_program(&mut self, fs: u64, name: &str, env: &[String]) -> String {
        if name.contains('/') {
            return name.to_string();
        }
        let path = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let cand = format!("{dir}/{name}");
            if let Ok(f) = self.vfs.open_exec(fs, cand.as_bytes()) {
                self.vfs.file_release(f);
                return cand;
            }
        }
        name.to_string()
    }
}
