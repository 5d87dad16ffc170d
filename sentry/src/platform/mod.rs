//! How application code runs and how control comes back to the sentry.
//!
//! A platform provides address spaces (host processes that hold nothing but
//! mappings of the memory file) and threads inside them that run application
//! code until it makes a system call, faults, or is interrupted. The sentry
//! drives many threads at once from one host thread: `resume` lets a thread
//! run, `wait` reports the next events.
//!
//! Two platforms: [`systrap`] (the default: seccomp `SECCOMP_RET_TRAP`, a
//! signal handler in the stub and memory shared with the sentry, no ptrace)
//! and [`ptrace`] (`PTRACE_SYSEMU`). Both keep application memory in the
//! memory file and produce the same events, so a checkpoint taken on one
//! restores on the other.

pub mod ptrace;
pub mod systrap;

/// Where the systrap platform keeps its stub region (code, shared pages,
/// one slot per stub thread) in every stub.
pub const SYSTRAP_ADDR: u64 = 0x3f_e000_0000;
/// The range of application addresses no platform lets the application
/// map: it holds the stub pages of both platforms.
pub const RESERVED_ADDR: u64 = SYSTRAP_ADDR;
/// Length of the reserved range.
pub const RESERVED_LEN: u64 = ptrace::STUB_ADDR + ptrace::STUB_LEN - SYSTRAP_ADDR;
const _: () = assert!(SYSTRAP_ADDR + systrap::REGION_LEN <= ptrace::STUB_ADDR);

use crate::arch::{FpState, Regs};

/// Identifies a host thread that runs application code (its host TID).
pub type ThreadId = i32;
/// Identifies an address space (the host PID of its stub process).
pub type AddressSpaceId = i32;

/// Page protections, as `PROT_*` bits.
pub type Prot = i32;

/// Why a thread stopped running application code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The application made a system call; its registers say which.
    Syscall,
    /// The application took a fault or a trap that Linux would turn into
    /// this signal (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`).
    Fault(FaultInfo),
    /// The host thread is gone (killed from outside the sentry).
    Died,
    /// A host signal that the sentry did not cause (e.g. `SIGSTOP`, sent to
    /// the stub from outside); the thread is stopped and may be resumed.
    Interrupted,
}

/// The signal information of a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    pub signo: i32,
    pub code: i32,
    /// Faulting address for `SIGSEGV`/`SIGBUS`, instruction for the others.
    pub addr: u64,
}

/// Host-side failures of a platform. The application never sees these as an
/// errno: they end the sandbox or the task.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("creating a stub process failed: {0}")]
    StubCreate(nix::errno::Errno),
    #[error("ptrace {op} on thread {tid} failed: {err}")]
    Ptrace {
        op: &'static str,
        tid: ThreadId,
        err: nix::errno::Errno,
    },
    #[error("waiting for thread {tid} failed: {err}")]
    Wait {
        tid: ThreadId,
        err: nix::errno::Errno,
    },
    #[error("thread {0} exited while the sentry was using it")]
    ThreadGone(ThreadId),
    #[error("thread {tid} stopped unexpectedly with status {status:#x}")]
    UnexpectedStop { tid: ThreadId, status: i32 },
}

/// An application platform (gVisor's `Platform`, `AddressSpace` and `Context`
/// folded into one driver, since the sentry drives every thread itself).
pub trait Platform {
    /// A fresh, empty address space with one thread in it.
    fn new_address_space(&mut self) -> Result<(AddressSpaceId, ThreadId), PlatformError>;
    /// A new thread in the address space that `sibling` belongs to.
    fn new_thread(&mut self, sibling: ThreadId) -> Result<ThreadId, PlatformError>;
    /// Ends a thread; its address space lives while it has other threads.
    fn release_thread(&mut self, t: ThreadId);
    /// Ends an address space and all its threads.
    fn release_address_space(&mut self, a: AddressSpaceId);

    /// Maps `len` bytes of the memory file at `offset` to `addr`, replacing
    /// what was there. `via` is a stopped thread of the address space.
    fn map(
        &mut self,
        via: ThreadId,
        addr: u64,
        len: u64,
        prot: Prot,
        offset: u64,
    ) -> Result<(), PlatformError>;
    /// Removes mappings.
    fn unmap(&mut self, via: ThreadId, addr: u64, len: u64) -> Result<(), PlatformError>;
    /// Changes the protection of mapped pages.
    fn protect(
        &mut self,
        via: ThreadId,
        addr: u64,
        len: u64,
        prot: Prot,
    ) -> Result<(), PlatformError>;

    fn get_regs(&mut self, t: ThreadId) -> Result<Regs, PlatformError>;
    fn set_regs(&mut self, t: ThreadId, regs: &Regs) -> Result<(), PlatformError>;
    fn get_fpstate(&mut self, t: ThreadId) -> Result<FpState, PlatformError>;
    fn set_fpstate(&mut self, t: ThreadId, fp: &FpState) -> Result<(), PlatformError>;

    /// Where patched system call sites jump (see `systrap`'s "Patched
    /// system calls"), if this platform serves them without a trap.
    fn patch_entry(&self) -> Option<u64> {
        None
    }
    /// The last stop of `t` was a system call through the patch entry.
    fn stopped_fast(&self, _t: ThreadId) -> bool {
        false
    }
    /// How many system calls came through the patch entry.
    fn fast_calls(&self) -> u64 {
        0
    }

    /// Lets a stopped thread run application code.
    fn resume(&mut self, t: ThreadId) -> Result<(), PlatformError>;
    /// Waits until threads stop, at most `timeout` (None: forever; zero:
    /// poll) or until one of `fds` is ready (host descriptors, with poll
    /// events). Returns the stopped threads; may return none.
    fn wait(
        &mut self,
        timeout: Option<std::time::Duration>,
        fds: &[(i32, i16)],
    ) -> Result<Vec<(ThreadId, Event)>, PlatformError>;
}
