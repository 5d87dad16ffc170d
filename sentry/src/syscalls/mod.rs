//! The x86-64 system call table: number to handler, one file per family.
//!
//! Handlers are named `sys_<linux name>`, decode and validate their
//! arguments, and call the subsystem that owns the meaning. They return
//! `Ok(value)` for `rax`, or a [`SysErr`]: an errno, a [`Block`] to sleep
//! and run again, or a note that the registers were already set.
//! A number with no handler returns `ENOSYS` and is logged once by name.

pub mod epoll;
pub mod eventfd;
pub mod file;
pub mod fs;
pub mod futex;
pub mod ioctl;
pub mod mmap;
pub mod names;
pub mod pidfd;
pub mod pipe;
pub mod poll;
pub mod process;
pub mod signal;
pub mod socket;
pub mod strace;
pub mod time;

use crate::errno::Errno;
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};
use std::sync::OnceLock;

/// Why a handler did not produce a return value.
#[derive(Debug)]
pub enum SysErr {
    /// Fail with this errno.
    Errno(Errno),
    /// Sleep until the block says, then run the handler again.
    Block(Block),
    /// The handler set the task's registers itself (`execve`,
    /// `rt_sigreturn`): return to the application as they are.
    Resume,
    /// The task is gone (`exit`).
    Gone,
}

impl From<Errno> for SysErr {
    fn from(e: Errno) -> SysErr {
        SysErr::Errno(e)
    }
}

pub type SysResult = Result<u64, SysErr>;

/// The six raw arguments, with typed accessors.
#[derive(Clone, Copy, Debug)]
pub struct Args(pub [u64; 6]);

impl Args {
    pub fn u64(&self, i: usize) -> u64 {
        self.0[i]
    }
    pub fn usize(&self, i: usize) -> usize {
        self.0[i] as usize
    }
    /// An `int` argument (the low 32 bits, sign-extended).
    pub fn i32(&self, i: usize) -> i32 {
        self.0[i] as u32 as i32
    }
    pub fn u32(&self, i: usize) -> u32 {
        self.0[i] as u32
    }
    /// A `long` / `off_t` argument.
    pub fn i64(&self, i: usize) -> i64 {
        self.0[i] as i64
    }
    /// A user pointer.
    pub fn ptr(&self, i: usize) -> u64 {
        self.0[i]
    }
    /// A descriptor argument.
    pub fn fd(&self, i: usize) -> i32 {
        self.i32(i)
    }
}

/// A system call handler.
pub type Handler = fn(&mut Kernel, Tid, &Args) -> SysResult;

/// How completely a system call is implemented (for `runsc syscalls`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Full,
    /// Implemented, with the noted gaps.
    Partial(&'static str),
}

/// The table.
pub struct Table {
    entries: Vec<Option<(Handler, Support)>>,
}

impl Table {
    fn new() -> Table {
        Table {
            entries: vec![None; names::NAMES.len()],
        }
    }

    /// Registers a handler for system call `nr`.
    pub fn add(&mut self, nr: i64, h: Handler, s: Support) {
        let i = nr as usize;
        assert!(
            self.entries[i].is_none(),
            "system call {} registered twice",
            names::NAMES[i]
        );
        self.entries[i] = Some((h, s));
    }

    /// Every system call with its support level (None: missing).
    pub fn listing(&self) -> Vec<(usize, &'static str, Option<Support>)> {
        names::NAMES
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.is_empty())
            .map(|(i, n)| (i, *n, self.entries[i].map(|(_, s)| s)))
            .collect()
    }
}

/// The table, built once from every family's `register`.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table::new();
        epoll::register(&mut t);
        eventfd::register(&mut t);
        file::register(&mut t);
        fs::register(&mut t);
        futex::register(&mut t);
        ioctl::register(&mut t);
        pidfd::register(&mut t);
        pipe::register(&mut t);
        poll::register(&mut t);
        mmap::register(&mut t);
        process::register(&mut t);
        signal::register(&mut t);
        socket::register(&mut t);
        time::register(&mut t);
        t
    })
}

/// The name of system call `nr`, or `"syscall_<nr>"`.
pub fn name(nr: u64) -> String {
    match names::NAMES.get(nr as usize) {
        Some(n) if !n.is_empty() => (*n).to_string(),
        _ => format!("syscall_{nr}"),
    }
}

/// Runs system call `nr` for `tid`.
pub fn dispatch(k: &mut Kernel, tid: Tid, nr: u64, args: &[u64; 6]) -> SysResult {
    let entry = table().entries.get(nr as usize).copied().flatten();
    match entry {
        Some((h, _)) => {
            let r = h(k, tid, &Args(*args));
            // Finish releases that file closes queued (memory, wakeups).
            crate::vfs::reap(k);
            r
        }
        None => {
            if k.host().logged_enosys.insert(nr) {
                tracing::info!("unsupported system call {} ({nr}): ENOSYS", name(nr));
            }
            Err(Errno::ENOSYS.into())
        }
    }
}
