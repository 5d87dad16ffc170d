//! Starting a sandbox: the memory file, the platform, the file system, and
//! the first process; then the kernel's loop until the first process exits.

use crate::arch::Regs;
use crate::config::Config;
use crate::errno::Errno;
use crate::kernel::signal::{SigHand, SigSet, SignalQueue, SIGCHLD};
use crate::kernel::task::{Creds, Pending, Task, TaskState, ThreadGroup, RLIM_NLIMITS};
use crate::kernel::{Host, Kernel};
use crate::memory::{MemoryError, MemoryFile};
use crate::mm::MemoryManager;
use crate::platform::ptrace::PtracePlatform;
use crate::platform::PlatformError;
use crate::vfs::{Vfs, VfsError};
use std::collections::{HashMap, HashSet};

/// Why a sandbox could not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Memory(#[from] MemoryError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Vfs(#[from] VfsError),
    #[error("no command to run")]
    NoCommand,
    #[error("cannot execute {path}: {err} ({})", describe(*.err))]
    Exec { path: String, err: Errno },
    #[error(transparent)]
    Run(#[from] crate::kernel::run::RunError),
    #[error(transparent)]
    Image(#[from] crate::state::image::ImageError),
    #[error("restoring the sandbox's tasks failed: {0}")]
    Restore(#[from] crate::kernel::checkpoint::CheckpointError),
}

fn describe(e: Errno) -> &'static str {
    match e {
        Errno::ENOENT => "no such file or directory",
        Errno::EACCES => "permission denied",
        Errno::ENOEXEC => "not an executable format the sandbox runs",
        Errno::E2BIG => "argument list too long",
        Errno::ENOMEM => "out of memory",
        _ => "failed",
    }
}

/// Runs `cfg.argv` in a new sandbox and returns its exit status as a shell
/// reports it (the code, or 128+N for a signal N).
pub fn run(cfg: Config) -> Result<i32, SandboxError> {
    let mut k = boot(&cfg)?;
    let status = k.run()?;
    Ok(status.shell_code())
}

/// Brings back a kernel from a checkpoint image (`path`: the image
/// directory or file): a fresh memory file with the saved pages, a new
/// platform, and every task ready to go on where it was.
pub fn restore(path: &std::path::Path) -> Result<Kernel, SandboxError> {
    let mf = MemoryFile::new()?;
    let (_meta, mut k) = crate::state::load(path, &mf)?;
    let platform = PtracePlatform::new(mf.raw_fd())?;
    k.host = Some(Host {
        mf,
        platform: Box::new(platform),
        threads: HashMap::new(),
        logged_enosys: HashSet::new(),
        forward: crate::kernel::run::forwarding_signalfd(),
    });
    k.rebuild_host()?;
    Ok(k)
}

/// Tests that boot kernels hold this: a process drives one ptrace platform
/// at a time (concurrent ones steal each other's stub stops).
#[cfg(test)]
pub(crate) static TEST_BOOT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds a kernel whose init process is ready to run `cfg.argv`.
pub fn boot(cfg: &Config) -> Result<Kernel, SandboxError> {
    if cfg.argv.is_empty() {
        return Err(SandboxError::NoCommand);
    }
    let mf = MemoryFile::new()?;
    let mut platform = PtracePlatform::new(mf.raw_fd())?;
    let vfs = Vfs::new(cfg)?;
    let (asid, thread) = crate::platform::Platform::new_address_space(&mut platform)?;
    let host = Host {
        mf,
        platform: Box::new(platform),
        threads: HashMap::new(),
        logged_enosys: HashSet::new(),
        forward: crate::kernel::run::forwarding_signalfd(),
    };
    let mut k = Kernel::new(cfg, host, vfs);
    let tid = k.alloc_tid().expect("first TID");
    k.init = tid;
    let mm_id = k.new_id();
    let mut mm = MemoryManager::new(0);
    mm.host = Some(asid);
    mm.users = 1;
    k.mms.insert(mm_id, mm);
    k.host().threads.insert(thread, tid);
    let fdtable = k.vfs.new_fdtable_with_stdio();
    let fs = k.vfs.new_fs(&cfg.cwd);
    let sh = k.new_id();
    k.sighands.insert(sh, SigHand::default());
    let mut rlimits = vec![(u64::MAX, u64::MAX); RLIM_NLIMITS];
    rlimits[libc::RLIMIT_STACK as usize] = (8 << 20, u64::MAX);
    rlimits[libc::RLIMIT_NOFILE as usize] = (1024, 1 << 20);
    for r in &cfg.rlimits {
        if let Some(slot) = rlimits.get_mut(r.resource as usize) {
            *slot = (r.soft, r.hard);
        }
    }
    let now = k.clock.monotonic();
    k.tasks.insert(
        tid,
        Task {
            tid,
            tgid: tid,
            state: TaskState::Ready(Pending::User),
            regs: Regs::default(),
            fp: None,
            mm: mm_id,
            fdtable,
            fs,
            sighand: sh,
            sigmask: SigSet::default(),
            pending: SignalQueue::default(),
            saved_mask: None,
            altstack: (0, libc::SS_DISABLE, 0),
            clear_child_tid: 0,
            robust_list: (0, 0),
            name: String::new(),
            creds: Creds::new(cfg.uid, cfg.gid, cfg.additional_gids.clone()),
            deadline: None,
            syscall_scratch: Vec::new(),
            host: thread,
            utime: 0,
            stime: 0,
            start_time: now,
            vfork_parent: None,
            run_start: 0,
        },
    );
    k.thread_groups.insert(
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
            rlimits,
            stopped: false,
            stop_reported: false,
            continued: false,
            itimer_real: None,
            children_times: (0, 0),
            subreaper: false,
            no_new_privs: false,
            dumpable: true,
            timers: Default::default(),
            stop_signal: 0,
            dead_cpu: 0,
        },
    );
    let path = find_program(&mut k, fs, &cfg.argv[0], &cfg.env);
    let argv: Vec<Vec<u8>> = cfg.argv.iter().map(|s| s.clone().into_bytes()).collect();
    let envp: Vec<Vec<u8>> = cfg.env.iter().map(|s| s.clone().into_bytes()).collect();
    k.execve(tid, path.clone().into_bytes(), argv, envp)
        .map_err(|err| SandboxError::Exec { path, err })?;
    k.ready.push_back(tid);
    Ok(k)
}

/// Resolves a command name through `PATH` (from `env`) as a shell would.
fn find_program(k: &mut Kernel, fs: u64, name: &str, env: &[String]) -> String {
    if name.contains('/') {
        return name.to_string();
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = format!("{dir}/{name}");
        if let Ok(f) = k.vfs.open_exec(fs, cand.as_bytes()) {
            k.vfs.file_release(f);
            return cand;
        }
    }
    name.to_string()
}
