//! The ptrace platform: application threads are host threads of stub
//! processes, run with `PTRACE_SYSEMU` so that no application system call
//! ever reaches the host.
//!
//! A stub process maps nothing but the stub page (`syscall; int3` at
//! [`STUB_ADDR`]) and ranges of the memory file. The sentry changes a stub's
//! mappings by injecting system calls: it points a stopped thread's `rip` at
//! the stub page, lets it run to the `int3`, and puts its registers back.
//! Every stub runs under a seccomp filter that kills it for any host system
//! call not made from the stub page, so an application that escaped
//! `PTRACE_SYSEMU` (the sentry died, say) still cannot use the host kernel.
//!
//! New address spaces are forked from a master stub that the sentry creates
//! once; new threads are cloned inside the stub of their address space.
//! All ptrace requests come from the one sentry thread that created the
//! master stub (ptrace requires the tracer thread to stay the same).

use super::{AddressSpaceId, Event, FaultInfo, Platform, PlatformError, Prot, ThreadId};
use crate::arch::{FpState, Regs};
use std::collections::HashMap;
use std::os::fd::RawFd;

/// Address of the stub page in every stub (and in the sentry, where it is
/// built before forking the master stub). It lies where neither the host
/// (PIE binaries near 0x55.., mappings and stacks near 0x7f..) nor Linux's
/// layout for the application puts anything; the application cannot map it.
pub const STUB_ADDR: u64 = 0x3f_ffff_0000;
/// Size of the stub page.
pub const STUB_LEN: u64 = 0x1000;
/// The end of the user half of the address space (Linux `TASK_SIZE`).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// The stub page code: `syscall; int3`.
const STUB_CODE: [u8; 3] = [0x0f, 0x05, 0xcc];

const NT_X86_XSTATE: libc::c_int = 0x202;
const XSTATE_MAX: usize = 16384;

fn perr(op: &'static str, tid: ThreadId) -> impl FnOnce(nix::errno::Errno) -> PlatformError {
    move |err| PlatformError::Ptrace { op, tid, err }
}

fn ptrace_raw(
    req: libc::c_uint,
    tid: ThreadId,
    addr: usize,
    data: usize,
) -> nix::Result<libc::c_long> {
    // SAFETY: raw ptrace request on a tracee of ours; pointer arguments (when
    // the request takes them) point to live buffers of the right size,
    // guaranteed by each caller.
    let r = unsafe { libc::ptrace(req, tid, addr, data) };
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(r)
    }
}

/// Waits for a state change of one tracee. Returns the raw status.
fn wait_tid(tid: ThreadId) -> Result<i32, PlatformError> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid with a valid status pointer.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r == tid {
            return Ok(status);
        }
        let err = nix::errno::Errno::last();
        if r < 0 && err == nix::errno::Errno::EINTR {
            continue;
        }
        return Err(PlatformError::Wait { tid, err });
    }
}

/// The ptrace platform's host state. Not serialized: restore builds a new one.
pub struct PtracePlatform {
    master: ThreadId,
    /// Thread -> its address space.
    threads: HashMap<ThreadId, AddressSpaceId>,
    /// Address space -> its live threads.
    spaces: HashMap<AddressSpaceId, Vec<ThreadId>>,
    /// Readable when a tracee changed state (SIGCHLD, blocked in the sentry).
    sigchld: RawFd,
}

impl PtracePlatform {
    /// Builds the stub page and the master stub. `memfd` is the memory file;
    /// stubs keep it open under the same descriptor number.
    ///
    /// Must be called from the thread that will drive every application
    /// thread, before that thread starts any other.
    pub fn new(memfd: RawFd) -> Result<PtracePlatform, PlatformError> {
        let sigchld = sigchld_pipe().map_err(PlatformError::StubCreate)?;
        map_stub_page().map_err(PlatformError::StubCreate)?;
        let filter = stub_seccomp_filter();
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        let parent = std::process::id() as i32;
        // SAFETY: the child runs only async-signal-safe raw system calls and
        // then stops forever; the parent gets the child's PID.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(PlatformError::StubCreate(nix::errno::Errno::last()));
        }
        if pid == 0 {
            // SAFETY: in the forked child, only raw system calls.
            unsafe { stub_child_setup(parent, memfd) };
        }
        let status = wait_tid(pid)?;
        if !libc::WIFSTOPPED(status) || libc::WSTOPSIG(status) != libc::SIGSTOP {
            return Err(PlatformError::UnexpectedStop { tid: pid, status });
        }
        let opts = libc::PTRACE_O_TRACESYSGOOD
            | libc::PTRACE_O_EXITKILL
            | libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_TRACEFORK;
        ptrace_raw(libc::PTRACE_SETOPTIONS, pid, 0, opts as usize)
            .map_err(perr("SETOPTIONS", pid))?;
        let mut p = PtracePlatform {
            master: pid,
            threads: HashMap::new(),
            spaces: HashMap::new(),
            sigchld,
        };
        // The filter program lives in the child's copy of our memory until
        // the unmapping below.
        let r = p.inject(
            pid,
            libc::SYS_seccomp as u64,
            [1, 0, &prog as *const _ as u64, 0, 0, 0],
        )?;
        if r != 0 {
            return Err(PlatformError::StubCreate(nix::errno::Errno::from_raw(
                -(r as i64) as i32,
            )));
        }
        drop(filter);
        p.inject_ok(
            pid,
            libc::SYS_munmap as u64,
            [0, STUB_ADDR, 0, 0, 0, 0],
            "munmap in stub",
        )?;
        let hi = STUB_ADDR + STUB_LEN;
        p.inject_ok(
            pid,
            libc::SYS_munmap as u64,
            [hi, TASK_SIZE - hi, 0, 0, 0, 0],
            "munmap in stub",
        )?;
        Ok(p)
    }

    /// Runs one host system call in a stopped stub thread and returns its
    /// raw result. The thread's registers are restored afterwards. If the
    /// call creates a traced child (clone/fork), the child's TID is stored
    /// in `child`.
    fn inject_full(
        &mut self,
        tid: ThreadId,
        nr: u64,
        args: [u64; 6],
        child: Option<&mut ThreadId>,
    ) -> Result<u64, PlatformError> {
        let saved = self.get_regs(tid)?;
        let mut r = saved;
        r.rax = nr;
        r.orig_rax = u64::MAX;
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        r.r9 = args[5];
        r.rip = STUB_ADDR;
        self.set_regs(tid, &r)?;
        let mut child = child;
        let mut sig = 0usize;
        loop {
            ptrace_raw(libc::PTRACE_CONT, tid, 0, sig).map_err(perr("CONT", tid))?;
            sig = 0;
            let status = wait_tid(tid)?;
            if !libc::WIFSTOPPED(status) {
                self.forget_thread(tid);
                return Err(PlatformError::ThreadGone(tid));
            }
            let stopsig = libc::WSTOPSIG(status);
            let event = status >> 16;
            if event == libc::PTRACE_EVENT_CLONE || event == libc::PTRACE_EVENT_FORK {
                let mut msg: libc::c_ulong = 0;
                ptrace_raw(
                    libc::PTRACE_GETEVENTMSG,
                    tid,
                    0,
                    &mut msg as *mut _ as usize,
                )
                .map_err(perr("GETEVENTMSG", tid))?;
                if let Some(c) = child.as_deref_mut() {
                    *c = msg as ThreadId;
                }
                continue;
            }
            match stopsig {
                libc::SIGTRAP => break,
                libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => {
                    return Err(PlatformError::UnexpectedStop { tid, status });
                }
                // Anything else (SIGCHLD to the master, a stop from outside):
                // swallow it and keep going.
                _ => {}
            }
        }
        let result = self.get_regs(tid)?.rax;
        self.set_regs(tid, &saved)?;
        Ok(result)
    }

    fn inject(&mut self, tid: ThreadId, nr: u64, args: [u64; 6]) -> Result<u64, PlatformError> {
        self.inject_full(tid, nr, args, None)
    }

    /// Injects a call that must succeed; a host errno is a platform failure.
    fn inject_ok(
        &mut self,
        tid: ThreadId,
        nr: u64,
        args: [u64; 6],
        op: &'static str,
    ) -> Result<u64, PlatformError> {
        let r = self.inject(tid, nr, args)?;
        if (r as i64) < 0 && (r as i64) > -4096 {
            return Err(PlatformError::Ptrace {
                op,
                tid,
                err: nix::errno::Errno::from_raw(-(r as i64) as i32),
            });
        }
        Ok(r)
    }

    /// Waits for the first stop of an auto-attached child.
    fn adopt(&mut self, tid: ThreadId) -> Result<(), PlatformError> {
        let status = wait_tid(tid)?;
        if !libc::WIFSTOPPED(status) {
            return Err(PlatformError::ThreadGone(tid));
        }
        Ok(())
    }

    fn forget_thread(&mut self, tid: ThreadId) {
        if let Some(a) = self.threads.remove(&tid) {
            if let Some(v) = self.spaces.get_mut(&a) {
                v.retain(|&t| t != tid);
            }
        }
    }

    fn decode_stop(&mut self, tid: ThreadId, status: i32) -> Option<Event> {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            if tid == self.master {
                tracing::error!("the master stub died (status {status:#x})");
                return None;
            }
            let known = self.threads.contains_key(&tid);
            self.forget_thread(tid);
            return known.then_some(Event::Died);
        }
        if !libc::WIFSTOPPED(status) {
            return None;
        }
        let sig = libc::WSTOPSIG(status);
        if sig == (libc::SIGTRAP | 0x80) {
            return Some(Event::Syscall);
        }
        if status >> 16 != 0 {
            return Some(Event::Interrupted);
        }
        match sig {
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP => {
                // SAFETY: siginfo_t is plain data; GETSIGINFO fills it.
                let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
                if ptrace_raw(libc::PTRACE_GETSIGINFO, tid, 0, &mut si as *mut _ as usize).is_err()
                {
                    return Some(Event::Interrupted);
                }
                if si.si_code <= 0 {
                    // Sent by a process (kill/tgkill), not a fault.
                    return Some(Event::Interrupted);
                }
                // SAFETY: for these signals the union holds the fault address.
                let addr = unsafe { si.si_addr() } as u64;
                Some(Event::Fault(FaultInfo {
                    signo: sig,
                    code: si.si_code,
                    addr,
                }))
            }
            _ => Some(Event::Interrupted),
        }
    }

    /// Threads of an address space, for tests and diagnostics.
    pub fn threads_of(&self, a: AddressSpaceId) -> &[ThreadId] {
        self.spaces.get(&a).map(|v| v.as_slice()).unwrap_or(&[])
    }
}

impl Platform for PtracePlatform {
    fn new_address_space(&mut self) -> Result<(AddressSpaceId, ThreadId), PlatformError> {
        let mut child: ThreadId = 0;
        let master = self.master;
        let r = self.inject_full(
            master,
            libc::SYS_clone as u64,
            [libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
            Some(&mut child),
        )?;
        if (r as i64) < 0 || child == 0 {
            return Err(PlatformError::StubCreate(nix::errno::Errno::from_raw(
                -(r as i64) as i32,
            )));
        }
        self.adopt(child)?;
        self.threads.insert(child, child);
        self.spaces.insert(child, vec![child]);
        Ok((child, child))
    }

    fn new_thread(&mut self, sibling: ThreadId) -> Result<ThreadId, PlatformError> {
        let a = *self
            .threads
            .get(&sibling)
            .ok_or(PlatformError::ThreadGone(sibling))?;
        let flags = libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM;
        let mut child: ThreadId = 0;
        let r = self.inject_full(
            sibling,
            libc::SYS_clone as u64,
            [flags as u64, 0, 0, 0, 0, 0],
            Some(&mut child),
        )?;
        if (r as i64) < 0 || child == 0 {
            return Err(PlatformError::StubCreate(nix::errno::Errno::from_raw(
                -(r as i64) as i32,
            )));
        }
        self.adopt(child)?;
        self.threads.insert(child, a);
        self.spaces.entry(a).or_default().push(child);
        Ok(child)
    }

    fn release_thread(&mut self, t: ThreadId) {
        let Some(&a) = self.threads.get(&t) else {
            return;
        };
        let last = self.spaces.get(&a).is_none_or(|v| v.len() <= 1);
        if last {
            self.release_address_space(a);
            return;
        }
        if t == a {
            // The stub's main thread cannot be reaped while other threads
            // live (Linux keeps a group leader until the group is empty):
            // leave it stopped, unused, until the address space goes.
            self.forget_thread(t);
            return;
        }
        // Only this host thread exits; the others keep the stub alive.
        if self.inject(t, libc::SYS_exit as u64, [0; 6]).is_ok() {
            tracing::warn!("stub thread {t} survived exit");
        }
        self.forget_thread(t);
    }

    fn release_address_space(&mut self, a: AddressSpaceId) {
        let threads = self.spaces.remove(&a).unwrap_or_default();
        // SAFETY: kill of our own stub process.
        unsafe { libc::kill(a, libc::SIGKILL) };
        for t in threads {
            self.threads.remove(&t);
            // Collect the exit so no zombie stays behind.
            let mut status = 0;
            // SAFETY: waitpid with a valid status pointer.
            unsafe { libc::waitpid(t, &mut status, libc::__WALL) };
        }
    }

    fn map(
        &mut self,
        via: ThreadId,
        addr: u64,
        len: u64,
        prot: Prot,
        offset: u64,
    ) -> Result<(), PlatformError> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let fd = STUB_MEMFD as u64;
        self.inject_ok(
            via,
            libc::SYS_mmap as u64,
            [addr, len, prot as u64, flags, fd, offset],
            "mmap in stub",
        )?;
        Ok(())
    }

    fn unmap(&mut self, via: ThreadId, addr: u64, len: u64) -> Result<(), PlatformError> {
        self.inject_ok(
            via,
            libc::SYS_munmap as u64,
            [addr, len, 0, 0, 0, 0],
            "munmap in stub",
        )?;
        Ok(())
    }

    fn protect(
        &mut self,
        via: ThreadId,
        addr: u64,
        len: u64,
        prot: Prot,
    ) -> Result<(), PlatformError> {
        self.inject_ok(
            via,
            libc::SYS_mprotect as u64,
            [addr, len, prot as u64, 0, 0, 0],
            "mprotect in stub",
        )?;
        Ok(())
    }

    fn get_regs(&mut self, t: ThreadId) -> Result<Regs, PlatformError> {
        let mut regs = Regs::default();
        ptrace_raw(libc::PTRACE_GETREGS, t, 0, &mut regs as *mut Regs as usize)
            .map_err(perr("GETREGS", t))?;
        Ok(regs)
    }

    fn set_regs(&mut self, t: ThreadId, regs: &Regs) -> Result<(), PlatformError> {
        ptrace_raw(libc::PTRACE_SETREGS, t, 0, regs as *const Regs as usize)
            .map_err(perr("SETREGS", t))?;
        Ok(())
    }

    fn get_fpstate(&mut self, t: ThreadId) -> Result<FpState, PlatformError> {
        let mut buf = vec![0u8; XSTATE_MAX];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        ptrace_raw(
            libc::PTRACE_GETREGSET,
            t,
            NT_X86_XSTATE as usize,
            &mut iov as *mut _ as usize,
        )
        .map_err(perr("GETREGSET", t))?;
        buf.truncate(iov.iov_len);
        Ok(FpState(buf))
    }

    fn set_fpstate(&mut self, t: ThreadId, fp: &FpState) -> Result<(), PlatformError> {
        if fp.0.len() <= crate::arch::FXSAVE_SIZE {
            let mut buf = fp.0.clone();
            buf.resize(crate::arch::FXSAVE_SIZE, 0);
            ptrace_raw(libc::PTRACE_SETFPREGS, t, 0, buf.as_ptr() as usize)
                .map_err(perr("SETFPREGS", t))?;
            return Ok(());
        }
        let mut buf = fp.0.clone();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        ptrace_raw(
            libc::PTRACE_SETREGSET,
            t,
            NT_X86_XSTATE as usize,
            &mut iov as *mut _ as usize,
        )
        .map_err(perr("SETREGSET", t))?;
        Ok(())
    }

    fn resume(&mut self, t: ThreadId) -> Result<(), PlatformError> {
        ptrace_raw(libc::PTRACE_SYSEMU, t, 0, 0).map_err(perr("SYSEMU", t))?;
        Ok(())
    }

    fn wait(
        &mut self,
        timeout: Option<std::time::Duration>,
        fds: &[(i32, i16)],
    ) -> Result<Vec<(ThreadId, Event)>, PlatformError> {
        let mut events = self.reap();
        if !events.is_empty() || timeout == Some(std::time::Duration::ZERO) {
            return Ok(events);
        }
        let mut pfds = Vec::with_capacity(fds.len() + 1);
        pfds.push(libc::pollfd {
            fd: self.sigchld,
            events: libc::POLLIN,
            revents: 0,
        });
        for &(fd, ev) in fds {
            pfds.push(libc::pollfd {
                fd,
                events: ev,
                revents: 0,
            });
        }
        // A SIGCHLD that raced with the reaping above has written to the
        // pipe; still, never sleep very long without reaping.
        let cap = std::time::Duration::from_millis(500);
        let t = timeout.map_or(cap, |d| d.min(cap));
        let ms = (t.as_millis() as i32).max(1);
        // SAFETY: poll over a live array of pollfds.
        unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if pfds[0].revents != 0 {
            drain_pipe(self.sigchld);
        }
        events = self.reap();
        Ok(events)
    }
}

impl Drop for PtracePlatform {
    /// Ends every stub (the kernel also does this when the tracer exits,
    /// through `PTRACE_O_EXITKILL`; this covers a platform dropped early).
    fn drop(&mut self) {
        let spaces: Vec<AddressSpaceId> = self.spaces.keys().copied().collect();
        for a in spaces {
            self.release_address_space(a);
        }
        // SAFETY: kill and reap our own master stub.
        unsafe {
            libc::kill(self.master, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.master, &mut status, libc::__WALL);
        }
    }
}

impl PtracePlatform {
    /// Collects every pending tracee state change without blocking.
    fn reap(&mut self) -> Vec<(ThreadId, Event)> {
        let mut out = Vec::new();
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid status pointer.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::WNOHANG) };
            if r <= 0 {
                break;
            }
            if let Some(ev) = self.decode_stop(r, status) {
                out.push((r, ev));
            }
        }
        out
    }
}

/// Descriptor number of the memory file inside every stub.
const STUB_MEMFD: i32 = 3;

/// Write end of the pipe that the SIGCHLD handler pokes (one per process;
/// a second platform in the same process shares it).
static SIGCHLD_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);
static SIGCHLD_READ: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Set by the SIGCHLD handler; lets a platform check for exits without a
/// host call.
pub(crate) static SIGCHLD_SEEN: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigchld(_: libc::c_int) {
    SIGCHLD_SEEN.store(true, std::sync::atomic::Ordering::SeqCst);
    let fd = SIGCHLD_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: async-signal-safe calls only; errno is preserved for the
    // interrupted code.
    unsafe {
        let saved = *libc::__errno_location();
        libc::write(fd, b"c".as_ptr() as *const libc::c_void, 1);
        *libc::__errno_location() = saved;
    }
}

/// Returns a descriptor that becomes readable when a tracee changes state:
/// the read end of a pipe that a SIGCHLD handler writes to. Unlike a
/// signalfd, this works whichever thread of the process takes the signal.
pub(crate) fn sigchld_pipe() -> nix::Result<RawFd> {
    use std::sync::atomic::Ordering;
    let have = SIGCHLD_READ.load(Ordering::Relaxed);
    if have >= 0 {
        return Ok(have);
    }
    let mut fds = [0; 2];
    // SAFETY: pipe2 into a local array; sigaction with a zeroed struct and
    // our handler, which only writes to that pipe.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) != 0 {
            return Err(nix::errno::Errno::last());
        }
        SIGCHLD_PIPE.store(fds[1], Ordering::Relaxed);
        SIGCHLD_READ.store(fds[0], Ordering::Relaxed);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigchld as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        if libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut()) != 0 {
            return Err(nix::errno::Errno::last());
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    Ok(fds[0])
}

pub(crate) fn drain_pipe(fd: RawFd) {
    let mut buf = [0u8; 128 * 8];
    // SAFETY: read into a local buffer; the descriptor is non-blocking.
    while unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) } > 0 {}
}

/// Maps the stub page at `STUB_ADDR` in the sentry, so that forked stubs
/// inherit it. Idempotent.
fn map_stub_page() -> nix::Result<()> {
    // SAFETY: a fixed, non-replacing anonymous mapping at an address the
    // sentry reserves; then a write of the code into it and an mprotect.
    unsafe {
        let p = libc::mmap(
            STUB_ADDR as *mut libc::c_void,
            STUB_LEN as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            let e = nix::errno::Errno::last();
            if e == nix::errno::Errno::EEXIST && stub_page_is_ours() {
                return Ok(());
            }
            return Err(e);
        }
        std::ptr::copy_nonoverlapping(STUB_CODE.as_ptr(), p as *mut u8, STUB_CODE.len());
        if libc::mprotect(p, STUB_LEN as usize, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            return Err(nix::errno::Errno::last());
        }
    }
    Ok(())
}

/// True if the page at `STUB_ADDR` already holds the stub code (a second
/// platform in the same process).
fn stub_page_is_ours() -> bool {
    let mut vec = [0u8; 1];
    // SAFETY: mincore only inspects the mapping; the read below happens only
    // when the page is mapped.
    unsafe {
        libc::mincore(
            STUB_ADDR as *mut libc::c_void,
            STUB_LEN as usize,
            vec.as_mut_ptr(),
        ) == 0
            && std::slice::from_raw_parts(STUB_ADDR as *const u8, STUB_CODE.len()) == STUB_CODE
    }
}

/// The stub's seccomp filter: allow a host system call only when it is made
/// by the `syscall` instruction of the stub page; kill the process otherwise.
fn stub_seccomp_filter() -> Vec<libc::sock_filter> {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let ip = STUB_ADDR + STUB_CODE.len() as u64 - 1; // after `syscall`
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code, k, jt, jf| libc::sock_filter { code, jt, jf, k };
    // seccomp_data: nr@0, arch@4, instruction_pointer@8, args@16.
    vec![
        stmt(LD_W_ABS, 4),
        jump(JEQ_K, 0xc000_003e, 0, 5), // AUDIT_ARCH_X86_64
        stmt(LD_W_ABS, 8),
        jump(JEQ_K, ip as u32, 0, 3),
        stmt(LD_W_ABS, 12),
        jump(JEQ_K, (ip >> 32) as u32, 0, 1),
        stmt(RET_K, libc::SECCOMP_RET_ALLOW),
        stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

extern "C" {
    /// Offset of glibc's rseq area from the thread pointer (glibc >= 2.35).
    static __rseq_offset: isize;
    /// Size of the registered area; 0 when glibc did not register one.
    static __rseq_size: u32;
}

/// Unregisters the calling thread's rseq area, if glibc registered one.
///
/// # Safety
/// Raw system call with the thread's own rseq area; async-signal-safe.
pub(crate) unsafe fn unregister_rseq() {
    const RSEQ_SIG: u32 = 0x5305_3053;
    const RSEQ_FLAG_UNREGISTER: i32 = 1;
    if __rseq_size == 0 {
        return;
    }
    let tp: u64;
    std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags));
    let area = (tp as i64 + __rseq_offset as i64) as u64;
    // glibc registers 32 bytes even when it advertises fewer.
    let len = __rseq_size.max(32);
    libc::syscall(libc::SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
}

/// The master stub's first steps after fork: die with the sentry, leave the
/// sentry's session, keep only the memory file (as `STUB_MEMFD`), ask to be
/// traced and stop. The sentry does the rest by injection.
///
/// # Safety
/// Must be called only in a freshly forked child; never returns.
unsafe fn stub_child_setup(parent: i32, memfd: RawFd) -> ! {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    if libc::getppid() != parent {
        libc::_exit(1);
    }
    libc::setsid();
    let mut sa: libc::sigaction = std::mem::zeroed();
    sa.sa_sigaction = libc::SIG_IGN;
    libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut());
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    if memfd != STUB_MEMFD && libc::dup2(memfd, STUB_MEMFD) < 0 {
        libc::_exit(1);
    }
    libc::syscall(libc::SYS_close_range, 0, STUB_MEMFD - 1, 0);
    libc::syscall(libc::SYS_close_range, STUB_MEMFD + 1, u32::MAX, 0);
    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    // glibc registered a restartable-sequence area in this thread's TLS; the
    // kernel would write to it after the sentry unmaps everything and kill
    // the stub with SIGSEGV. Fork children inherit the registration.
    unregister_rseq();
    libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
    libc::kill(libc::getpid(), libc::SIGSTOP);
    libc::_exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryFile;

    fn wait_one(p: &mut PtracePlatform, t: ThreadId) -> Event {
        for _ in 0..200 {
            for (tid, ev) in p
                .wait(Some(std::time::Duration::from_millis(50)), &[])
                .unwrap()
            {
                if tid == t {
                    return ev;
                }
            }
        }
        panic!("no event from thread {t}");
    }

    #[test]
    fn syscalls_are_caught_not_run() {
        let _one_platform = crate::sandbox::TEST_BOOT_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mf = MemoryFile::new().unwrap();
        // mov eax, 39 (getpid); syscall; int3
        mf.write(0, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xcc]);
        let mut p = PtracePlatform::new(mf.raw_fd()).unwrap();
        let (a, t) = p.new_address_space().unwrap();
        p.map(t, 0x400000, 0x1000, libc::PROT_READ | libc::PROT_EXEC, 0)
            .unwrap();
        let mut r = p.get_regs(t).unwrap();
        r.rip = 0x400000;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        assert_eq!(wait_one(&mut p, t), Event::Syscall);
        let mut r = p.get_regs(t).unwrap();
        assert_eq!(r.orig_rax, 39);
        r.rax = 1234;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        match wait_one(&mut p, t) {
            Event::Fault(f) => assert_eq!(f.signo, libc::SIGTRAP),
            e => panic!("unexpected {e:?}"),
        }
        assert_eq!(p.get_regs(t).unwrap().rax, 1234);
        // A second thread in the same address space sees the same memory.
        let t2 = p.new_thread(t).unwrap();
        assert_eq!(p.threads_of(a).len(), 2);
        let mut r = p.get_regs(t2).unwrap();
        r.rip = 0x400000;
        p.set_regs(t2, &r).unwrap();
        p.resume(t2).unwrap();
        assert_eq!(wait_one(&mut p, t2), Event::Syscall);
        p.release_thread(t2);
        assert_eq!(p.threads_of(a).len(), 1);
        // Touching unmapped memory is a fault reported to the sentry.
        mf.write(0x1000, &[0x8b, 0x04, 0x25, 0x00, 0x00, 0x50, 0x00]); // mov eax, [0x500000]
        p.map(
            t,
            0x401000,
            0x1000,
            libc::PROT_READ | libc::PROT_EXEC,
            0x1000,
        )
        .unwrap();
        let mut r = p.get_regs(t).unwrap();
        r.rip = 0x401000;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        match wait_one(&mut p, t) {
            Event::Fault(f) => {
                assert_eq!(f.signo, libc::SIGSEGV);
                assert_eq!(f.addr, 0x500000);
            }
            e => panic!("unexpected {e:?}"),
        }
        let (b, _) = p.new_address_space().unwrap();
        p.release_address_space(a);
        p.release_address_space(b);
    }
}
