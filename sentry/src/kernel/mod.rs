//! The kernel: tasks, thread groups, address spaces, signals, futexes,
//! clocks, and the loop that drives every application thread.
//!
//! All state lives in [`Kernel`], owned by the one sentry thread; objects
//! refer to each other by ID (task IDs, address space IDs, open file IDs,
//! wait queue IDs), so the whole of it serializes with serde. Host
//! resources (the platform, the memory file, host descriptors) sit in
//! [`Host`], which is not serialized and is rebuilt on restore.

pub mod caps;
pub mod checkpoint;
pub mod deliver;
pub mod exec;
pub mod exit;
pub mod fork;
pub mod futex;
pub mod run;
pub mod signal;
pub mod spawn;
pub mod task;
pub mod time;
pub mod wait;

use crate::config::Config;
use crate::errno::Errno;
use crate::memory::{FrameAllocator, MemObjects, MemoryFile};
use crate::mm::{MemoryManager, MmHost, MmId, Pod};
use crate::platform::{Platform, ThreadId};
use crate::vfs::Vfs;
use serde::{Deserialize, Serialize};
use signal::SigHand;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
pub use task::{Task, TaskState, ThreadGroup, Tid};
use wait::WaitQueueId;

/// Host resources of a running sandbox; never serialized.
pub struct Host {
    pub mf: MemoryFile,
    pub platform: Box<dyn Platform>,
    /// Host thread -> task.
    pub threads: HashMap<ThreadId, Tid>,
    /// Unimplemented system calls already logged.
    pub logged_enosys: HashSet<u64>,
    /// Host signals forwarded to the sandbox's init (a signalfd).
    pub forward: Option<std::os::fd::OwnedFd>,
    /// Forwarded host signals go to the foreground process group of the
    /// console instead of init (the sandbox has a terminal).
    pub forward_to_foreground: bool,
    /// Stops of application threads that arrived while the kernel was
    /// paused; handled on resume.
    pub held: Vec<(ThreadId, crate::platform::Event)>,
    /// System call patching (see `mm::patch`).
    pub patch: PatchStats,
}

/// What system call patching did in this sandbox.
#[derive(Clone, Copy, Debug, Default)]
pub struct PatchStats {
    /// Sites patched.
    pub sites: u64,
    /// The system call being served came through a patched site's fast
    /// path.
    pub last_fast: bool,
}

/// The whole kernel state.
#[derive(Serialize, Deserialize)]
pub struct Kernel {
    pub tasks: BTreeMap<Tid, Task>,
    pub thread_groups: BTreeMap<Tid, ThreadGroup>,
    pub sighands: BTreeMap<u64, SigHand>,
    pub mms: BTreeMap<MmId, MemoryManager>,
    pub frames: FrameAllocator,
    pub objects: MemObjects,
    pub vfs: Vfs,
    pub futexes: futex::Futexes,
    pub clock: time::Clock,
    pub hostname: String,
    pub domainname: String,
    /// Log every system call (`--strace`).
    pub strace: bool,
    /// The TID of the sandbox's init.
    pub init: Tid,
    /// Its exit status once it is gone.
    pub init_status: Option<task::ExitStatus>,
    /// No task runs while set: a created container before `start`, or a
    /// paused one. Threads that stop meanwhile are held (see [`Host`]).
    #[serde(default)]
    pub paused: bool,
    /// Processes started from outside the sandbox (`exec`) whose exit
    /// status the host waits for: TGID -> status once it exited. They have
    /// no parent inside the sandbox, so nobody else reaps them.
    #[serde(default)]
    pub host_waited: BTreeMap<Tid, Option<task::ExitStatus>>,
    next_id: u64,
    next_tid: Tid,
    /// Tasks to run in the sentry, in order.
    pub ready: VecDeque<Tid>,
    /// Wait queue -> tasks blocked on it (derived from the tasks' blocks).
    #[serde(skip)]
    pub waiters: HashMap<WaitQueueId, Vec<Tid>>,
    #[serde(skip)]
    pub host: Option<Host>,
}

impl Kernel {
    /// An empty kernel with host resources attached.
    pub fn new(cfg: &Config, host: Host, vfs: Vfs) -> Kernel {
        Kernel {
            tasks: BTreeMap::new(),
            thread_groups: BTreeMap::new(),
            sighands: BTreeMap::new(),
            mms: BTreeMap::new(),
            frames: FrameAllocator::default(),
            objects: MemObjects::default(),
            vfs,
            futexes: futex::Futexes::default(),
            clock: time::Clock::new(),
            hostname: cfg.hostname.clone(),
            domainname: "(none)".into(),
            strace: cfg.strace,
            init: 1,
            init_status: None,
            paused: false,
            host_waited: BTreeMap::new(),
            next_id: 1,
            next_tid: 1,
            ready: VecDeque::new(),
            waiters: HashMap::new(),
            host: Some(host),
        }
    }

    pub fn host(&mut self) -> &mut Host {
        self.host.as_mut().expect("host resources attached")
    }

    /// A fresh ID for kernel objects (address spaces, wait queues, ...).
    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The next free TID, or `None` when the PID space is exhausted.
    pub fn alloc_tid(&mut self) -> Option<Tid> {
        const PID_MAX: Tid = 4_194_304;
        for _ in 0..PID_MAX {
            let t = self.next_tid;
            self.next_tid = if t >= PID_MAX { 2 } else { t + 1 };
            if !self.tasks.contains_key(&t) && !self.thread_groups.contains_key(&t) {
                return Some(t);
            }
        }
        None
    }

    pub fn task(&self, tid: Tid) -> &Task {
        &self.tasks[&tid]
    }

    pub fn task_mut(&mut self, tid: Tid) -> &mut Task {
        self.tasks.get_mut(&tid).expect("live task")
    }

    pub fn tg(&self, tid: Tid) -> &ThreadGroup {
        &self.thread_groups[&self.tasks[&tid].tgid]
    }

    pub fn tg_mut(&mut self, tid: Tid) -> &mut ThreadGroup {
        let tgid = self.tasks[&tid].tgid;
        self.thread_groups
            .get_mut(&tgid)
            .expect("live thread group")
    }

    /// Runs `f` on the address space `mm`, with host access through thread
    /// `via` (a stopped thread of it).
    pub fn with_mm_id<R>(
        &mut self,
        mm: MmId,
        via: ThreadId,
        f: impl FnOnce(&mut MemoryManager, &mut MmHost) -> R,
    ) -> R {
        let host = self.host.as_mut().expect("host resources attached");
        let m = self.mms.get_mut(&mm).expect("live address space");
        let mut h = MmHost {
            frames: &mut self.frames,
            mf: &host.mf,
            objects: &mut self.objects,
            platform: host.platform.as_mut(),
            files: &mut self.vfs,
            via,
        };
        f(m, &mut h)
    }

    /// Runs `f` on the address space of task `tid`.
    pub fn with_mm<R>(
        &mut self,
        tid: Tid,
        f: impl FnOnce(&mut MemoryManager, &mut MmHost) -> R,
    ) -> R {
        let t = &self.tasks[&tid];
        let (mm, via) = (t.mm, t.host);
        self.with_mm_id(mm, via, f)
    }

    pub fn copy_in(&mut self, tid: Tid, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.with_mm(tid, |m, h| m.copy_in(addr, buf, h))
    }

    pub fn copy_out(&mut self, tid: Tid, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.with_mm(tid, |m, h| m.copy_out(addr, data, h))
    }

    /// See [`MemoryManager::copy_out_partial`].
    pub fn copy_out_partial(&mut self, tid: Tid, addr: u64, data: &[u8]) -> (usize, Option<Errno>) {
        self.with_mm(tid, |m, h| m.copy_out_partial(addr, data, h))
    }

    pub fn read_bytes(&mut self, tid: Tid, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        self.with_mm(tid, |m, h| m.read_bytes(addr, len, h))
    }

    pub fn read_val<T: Pod>(&mut self, tid: Tid, addr: u64) -> Result<T, Errno> {
        self.with_mm(tid, |m, h| m.read_val(addr, h))
    }

    pub fn write_val<T: Pod>(&mut self, tid: Tid, addr: u64, v: &T) -> Result<(), Errno> {
        self.with_mm(tid, |m, h| m.write_val(addr, v, h))
    }

    /// Reads a NUL-terminated string (at most `max` bytes).
    pub fn read_cstr(&mut self, tid: Tid, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        self.with_mm(tid, |m, h| m.read_cstr(addr, max, h))
    }

    /// Reads a path argument: `EFAULT` for a bad pointer, `ENOENT` for an
    /// empty path, `ENAMETOOLONG` past `PATH_MAX`.
    pub fn read_path(&mut self, tid: Tid, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.read_cstr(tid, addr, libc::PATH_MAX as usize - 1)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(p)
    }

    /// Reads a NULL-terminated array of string pointers (argv, envp).
    pub fn read_str_array(&mut self, tid: Tid, mut addr: u64) -> Result<Vec<Vec<u8>>, Errno> {
        let mut out = Vec::new();
        if addr == 0 {
            return Ok(out);
        }
        let mut total = 0usize;
        loop {
            let p: u64 = self.read_val(tid, addr)?;
            if p == 0 {
                return Ok(out);
            }
            let s = self.read_cstr(tid, p, 128 * 1024)?;
            total += s.len() + 1 + 8;
            if total > 2 * 1024 * 1024 {
                return Err(Errno::E2BIG);
            }
            out.push(s);
            addr += 8;
        }
    }

    /// Wakes every task blocked on `q`: each runs its system call again.
    pub fn notify(&mut self, q: WaitQueueId) {
        if let Some(tids) = self.waiters.remove(&q) {
            for t in tids {
                self.wake(t, task::Pending::Syscall);
            }
        }
    }

    /// Makes a blocked task ready with `p`, removing it from every queue.
    pub fn wake(&mut self, tid: Tid, p: task::Pending) {
        let Some(t) = self.tasks.get_mut(&tid) else {
            return;
        };
        let TaskState::Blocked(b) = &t.state else {
            return;
        };
        for q in b.queues.clone() {
            if let Some(v) = self.waiters.get_mut(&q) {
                v.retain(|&x| x != tid);
                if v.is_empty() {
                    self.waiters.remove(&q);
                }
            }
        }
        t.state = TaskState::Ready(p);
        self.ready.push_back(tid);
    }

    /// Thread-group leader of `tid`'s process.
    pub fn tgid(&self, tid: Tid) -> Tid {
        self.tasks[&tid].tgid
    }

    /// The resource limit `res` of `tid`'s process: (soft, hard).
    pub fn rlimit(&self, tid: Tid, res: usize) -> (u64, u64) {
        self.tg(tid)
            .rlimits
            .get(res)
            .copied()
            .unwrap_or((u64::MAX, u64::MAX))
    }
}
