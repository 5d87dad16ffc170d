//! The host system calls the sentry may make once it is confined: one
//! reviewed table, one line per call, each with the reason it is allowed.
//!
//! Adding a call: add one `allow(...)` line in the group where it belongs,
//! say in `why` what in the sentry makes it, and restrict its arguments when
//! a few values cover every use (see `ioctl`, `fcntl`, `socket`). A call
//! missing here kills the whole sandbox with `SIGSYS` the first time the
//! sentry makes it. The kernel logs the call's number as an audit record
//! (`dmesg`: `audit: type=1326 ... sig=31 arch=c000003e syscall=N`); where
//! that log is not at hand, `strace -f` on the sandbox shows the last call.
//! `boot/tests/sentry_platform.rs` runs the sentry's platform under this
//! filter: extend it when the sentry starts using a new host facility.
//!
//! What the table cannot express:
//! - `openat2`: its `RESOLVE_*` flags are in a structure in memory, which a
//!   seccomp filter cannot read. The sentry is trusted to pass
//!   `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`; the empty root is what keeps
//!   an absolute path or `AT_FDCWD` from reaching host files.
//! - `clone3`: its flags are in memory too, so it fails with `ENOSYS`
//!   ([`FAIL_WITH_ERRNO`]) and glibc falls back to `clone`, whose flags
//!   the filter checks.
//! - Path arguments (`mkdirat`, `unlinkat`, ...) are pointers; they reach
//!   only what is beneath the donated descriptors because the root is empty.

/// How a call's arguments are restricted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    /// Any arguments.
    Any,
    /// Argument `arg` (0-based), compared as 32 bits because the kernel
    /// takes it as an `int`/`unsigned int`, is one of `values`.
    OneOf { arg: u8, values: &'static [u64] },
    /// Argument `arg`, compared as 64 bits, is one of `values`.
    OneOf64 { arg: u8, values: &'static [u64] },
    /// Argument `arg` has every bit of `bits` set.
    HasBits { arg: u8, bits: u64 },
}

/// One allowed host system call.
#[derive(Clone, Copy, Debug)]
pub struct Allowed {
    pub nr: i64,
    pub name: &'static str,
    pub args: Args,
    pub why: &'static str,
}

/// A host system call that fails with an errno instead of killing.
#[derive(Clone, Copy, Debug)]
pub struct FailWith {
    pub nr: i64,
    pub name: &'static str,
    pub errno: i32,
    pub why: &'static str,
}

const fn allow(nr: i64, name: &'static str, args: Args, why: &'static str) -> Allowed {
    Allowed {
        nr,
        name,
        args,
        why,
    }
}

use Args::{Any, HasBits, OneOf, OneOf64};

/// Terminal and descriptor `ioctl` requests the sentry passes to the host.
// The request constants are `c_ulong` with glibc and `c_int` elsewhere.
#[allow(clippy::unnecessary_cast)]
const IOCTL_REQUESTS: &[u64] = &[
    libc::TCGETS as u64,     // read the console's termios for the application
    libc::TCSETS as u64,     // set the console's termios
    libc::TCSETSW as u64,    // set termios after output drains
    libc::TCSETSF as u64,    // set termios after flushing input
    libc::TIOCGWINSZ as u64, // console window size
    libc::TIOCSWINSZ as u64, // resize the console
    libc::TIOCGPGRP as u64,  // console foreground process group
    libc::TIOCSPGRP as u64,  // set the console foreground process group
    libc::TIOCSCTTY as u64,  // make the console the controlling terminal
    libc::FIONREAD as u64,   // bytes readable on a pipe, socket or tty
    libc::FIONBIO as u64,    // non-blocking mode (Rust's set_nonblocking)
    libc::FIOCLEX as u64,    // close-on-exec on (Rust's set_cloexec)
    libc::FIONCLEX as u64,   // close-on-exec off
];

/// `fcntl` commands the sentry uses on host descriptors.
const FCNTL_COMMANDS: &[u64] = &[
    libc::F_DUPFD as u64,         // duplicate a descriptor above a number
    libc::F_DUPFD_CLOEXEC as u64, // the same, close-on-exec
    libc::F_GETFD as u64,         // descriptor flags
    libc::F_SETFD as u64,         // set close-on-exec
    libc::F_GETFL as u64,         // status flags (O_NONBLOCK, access mode)
    libc::F_SETFL as u64,         // set O_NONBLOCK
    libc::F_ADD_SEALS as u64,     // seal the memory file's size
    libc::F_GET_SEALS as u64,     // read memfd seals
];

/// `prctl` options the sentry uses.
const PRCTL_OPTIONS: &[u64] = &[
    libc::PR_SET_PDEATHSIG as u64, // helper threads and stubs die with their parent
    libc::PR_SET_NAME as u64,      // thread names (Rust's thread::Builder::name)
    libc::PR_GET_NAME as u64,      // read a thread's name
];

/// `ptrace` requests of the platform. Attaching (`PTRACE_ATTACH`,
/// `PTRACE_SEIZE`) and peeking or poking memory are not among them: stubs
/// come in through `PTRACE_TRACEME` and auto-attach, and application memory
/// is the memory file.
#[rustfmt::skip]
const PTRACE_REQUESTS: &[u64] = &[
    libc::PTRACE_CONT as u64,                // resume a stub after an injected call
    libc::PTRACE_SYSEMU as u64,              // run application code, stop at each system call
    libc::PTRACE_SYSEMU_SINGLESTEP as u64,   // the same, one instruction at a time
    libc::PTRACE_SINGLESTEP as u64,          // single-step (debug traps)
    libc::PTRACE_GETREGS as u64,             // read general registers
    libc::PTRACE_SETREGS as u64,             // write general registers
    libc::PTRACE_GETFPREGS as u64,           // read legacy FP state
    libc::PTRACE_SETFPREGS as u64,           // write legacy FP state
    libc::PTRACE_GETREGSET as u64,           // read XSAVE state
    libc::PTRACE_SETREGSET as u64,           // write XSAVE state
    libc::PTRACE_GETSIGINFO as u64,          // fault details of a stop
    libc::PTRACE_SETSIGINFO as u64,          // deliver a signal with its info
    libc::PTRACE_SETOPTIONS as u64,          // options of a new stub
    libc::PTRACE_GETEVENTMSG as u64,         // TID of a cloned or forked stub
    libc::PTRACE_INTERRUPT as u64,           // stop a running stub thread
    libc::PTRACE_KILL as u64,                // kill a stub thread
    libc::PTRACE_DETACH as u64,              // let go of a stub before killing it
    libc::PTRACE_PEEKUSER as u64,            // debug registers
    libc::PTRACE_POKEUSER as u64,            // set debug registers
];

const AF_UNIX: &[u64] = &[libc::AF_UNIX as u64];
const AF_UNIX_INET: &[u64] = &[
    libc::AF_UNIX as u64,
    libc::AF_INET as u64,
    libc::AF_INET6 as u64,
];

/// With `--network=host` the application's inet sockets are host sockets
/// of the sentry: this rule replaces the `socket` rule of
/// [`SENTRY_SYSCALLS`]. The other calls on them (bind, listen, accept4,
/// connect, shutdown, sendto, recvmsg, get/setsockopt, get*name, the
/// FIONREAD ioctl, poll) are allowed there already.
pub const HOST_NETWORK_SOCKET: Allowed = allow(
    libc::SYS_socket,
    "socket",
    OneOf {
        arg: 0,
        values: AF_UNIX_INET,
    },
    "AF_UNIX, and AF_INET/AF_INET6 for application sockets with --network=host",
);

/// Every host system call the confined sentry may make.
#[rustfmt::skip]
pub const SENTRY_SYSCALLS: &[Allowed] = &[
    // Driving stubs (ptrace; systrap needs only wait4, waitid, kill and tkill
    // here: its stubs are children of the sentry and report through futexes).
    allow(libc::SYS_ptrace, "ptrace", OneOf64 { arg: 0, values: PTRACE_REQUESTS }, "run and inspect stub threads"),
    allow(libc::SYS_wait4, "wait4", Any, "wait for stub stops and exits (waitpid; systrap: stub process exits)"),
    allow(libc::SYS_waitid, "waitid", Any, "wait for stub exits without reaping (systrap: is a silent stub alive?)"),
    allow(libc::SYS_kill, "kill", Any, "signal or kill a stub process (PID namespace keeps it to our own)"),
    allow(libc::SYS_tgkill, "tgkill", Any, "interrupt one stub or sentry thread"),
    allow(libc::SYS_tkill, "tkill", Any, "interrupt a thread by TID (the kernel kicks stub threads with SIGURG)"),

    // Threads of the sentry itself; no fork: the master stub exists already.
    allow(libc::SYS_clone, "clone", HasBits { arg: 0, bits: libc::CLONE_THREAD as u64 }, "new sentry threads only (CLONE_THREAD set): lazy restore's page loaders, checkpoint's image writer"),
    allow(libc::SYS_set_robust_list, "set_robust_list", Any, "glibc registers it in every new thread"),
    allow(libc::SYS_rseq, "rseq", Any, "glibc registers restartable sequences in every new thread"),
    allow(libc::SYS_sched_getaffinity, "sched_getaffinity", Any, "glibc's pthread_getattr_np at the start of every Rust thread"),
    allow(libc::SYS_exit, "exit", Any, "a sentry thread ends"),
    allow(libc::SYS_exit_group, "exit_group", Any, "the sandbox ends"),
    allow(libc::SYS_getpid, "getpid", Any, "own PID for tgkill and logs"),
    allow(libc::SYS_gettid, "gettid", Any, "own TID for tgkill and logs"),
    allow(libc::SYS_sched_yield, "sched_yield", Any, "spin loops and lock back-off"),
    allow(libc::SYS_prctl, "prctl", OneOf { arg: 0, values: PRCTL_OPTIONS }, "thread names and parent-death signals"),
    allow(libc::SYS_futex, "futex", Any, "locks, condition variables, thread join; systrap: FUTEX_WAIT/WAKE on the state words shared with stub threads"),
    allow(libc::SYS_restart_syscall, "restart_syscall", Any, "a sleep interrupted by a stop resumes"),

    // Memory: the sentry's own heap and the memory file's mappings.
    allow(libc::SYS_mmap, "mmap", Any, "heap, thread stacks, mapping the memory file"),
    allow(libc::SYS_munmap, "munmap", Any, "free mappings"),
    allow(libc::SYS_mprotect, "mprotect", Any, "guard pages, allocator"),
    allow(libc::SYS_madvise, "madvise", Any, "return freed heap to the host; lazy restore: MADV_POPULATE_WRITE allocates an extent's pages in the memory file in one call"),
    allow(libc::SYS_mremap, "mremap", Any, "growing large allocations (realloc)"),
    allow(libc::SYS_brk, "brk", Any, "malloc's main arena"),
    allow(libc::SYS_mincore, "mincore", Any, "check whether the stub page is mapped"),
    allow(libc::SYS_memfd_create, "memfd_create", Any, "memory file and memory-backed files"),
    allow(libc::SYS_fallocate, "fallocate", Any, "punch holes in the memory file and in freed systrap slots; allocate host files; checkpoint: reserve the image's pages section on disk"),
    allow(libc::SYS_ftruncate, "ftruncate", Any, "size the memory file; truncate host files"),

    // I/O on descriptors the sandbox holds.
    allow(libc::SYS_read, "read", Any, "host files, pipes, signalfd, the control socket, the systrap wake-up eventfd"),
    allow(libc::SYS_write, "write", Any, "host files, stdio, the console, logs"),
    allow(libc::SYS_pread64, "pread64", Any, "host file reads at an offset; lazy restore: page loader threads read extents of the checkpoint image"),
    allow(libc::SYS_pwrite64, "pwrite64", Any, "host file writes at an offset; lazy restore: loaded extents go into the memory file; checkpoint: the image writer thread"),
    allow(libc::SYS_readv, "readv", Any, "vectored reads"),
    allow(libc::SYS_writev, "writev", Any, "vectored writes"),
    allow(libc::SYS_preadv, "preadv", Any, "vectored reads at an offset"),
    allow(libc::SYS_pwritev, "pwritev", Any, "vectored writes at an offset"),
    allow(libc::SYS_lseek, "lseek", Any, "file offsets; SEEK_DATA/SEEK_HOLE on the memory file"),
    allow(libc::SYS_sendfile, "sendfile", Any, "copy between host files without a buffer"),
    allow(libc::SYS_copy_file_range, "copy_file_range", Any, "copy-up of overlay files"),
    allow(libc::SYS_splice, "splice", Any, "move data between host pipes and files"),
    allow(libc::SYS_fsync, "fsync", Any, "application fsync on host files"),
    allow(libc::SYS_fdatasync, "fdatasync", Any, "application fdatasync on host files"),

    // Descriptors.
    allow(libc::SYS_close, "close", Any, "close descriptors"),
    allow(libc::SYS_close_range, "close_range", Any, "close many descriptors at once"),
    allow(libc::SYS_dup, "dup", Any, "duplicate descriptors"),
    allow(libc::SYS_dup2, "dup2", Any, "libc's dup2() on x86-64"),
    allow(libc::SYS_dup3, "dup3", Any, "duplicate onto a number, close-on-exec"),
    allow(libc::SYS_fcntl, "fcntl", OneOf { arg: 1, values: FCNTL_COMMANDS }, "descriptor flags and memfd seals"),
    allow(libc::SYS_ioctl, "ioctl", OneOf { arg: 1, values: IOCTL_REQUESTS }, "terminal control and non-blocking mode"),

    // Host files, always relative to a donated directory descriptor.
    allow(libc::SYS_openat, "openat", Any, "open beneath a donated directory"),
    allow(libc::SYS_openat2, "openat2", Any, "open with RESOLVE_BENEATH (flags unreadable by seccomp)"),
    allow(libc::SYS_fstat, "fstat", Any, "attributes of an open file"),
    allow(libc::SYS_newfstatat, "newfstatat", Any, "attributes by name beneath a directory"),
    allow(libc::SYS_statx, "statx", Any, "attributes with birth time and mount ID"),
    allow(libc::SYS_fstatfs, "fstatfs", Any, "statfs of host mounts"),
    allow(libc::SYS_getdents64, "getdents64", Any, "list host directories"),
    allow(libc::SYS_readlinkat, "readlinkat", Any, "read host symlinks"),
    allow(libc::SYS_faccessat2, "faccessat2", Any, "access checks on host files"),
    allow(libc::SYS_mkdirat, "mkdirat", Any, "mkdir in writable host mounts"),
    allow(libc::SYS_unlinkat, "unlinkat", Any, "unlink and rmdir in writable host mounts"),
    allow(libc::SYS_renameat2, "renameat2", Any, "rename in writable host mounts"),
    allow(libc::SYS_linkat, "linkat", Any, "hard links in writable host mounts"),
    allow(libc::SYS_symlinkat, "symlinkat", Any, "symlinks in writable host mounts"),
    allow(libc::SYS_fchmod, "fchmod", Any, "chmod of an open host file"),
    allow(libc::SYS_fchmodat, "fchmodat", Any, "chmod by name beneath a directory"),
    allow(libc::SYS_fchown, "fchown", Any, "chown of an open host file"),
    allow(libc::SYS_fchownat, "fchownat", Any, "chown by name beneath a directory"),
    allow(libc::SYS_utimensat, "utimensat", Any, "set host file times"),
    allow(libc::SYS_fgetxattr, "fgetxattr", Any, "read extended attributes of host files"),
    allow(libc::SYS_flistxattr, "flistxattr", Any, "list extended attributes of host files"),

    // Waiting for events.
    allow(libc::SYS_poll, "poll", Any, "wait on a few descriptors (the run loop: host fds with the platform's SIGCHLD pipe or systrap eventfd, and the external interface's packet socket)"),
    allow(libc::SYS_ppoll, "ppoll", Any, "wait with a signal mask"),
    allow(libc::SYS_epoll_create1, "epoll_create1", Any, "the sentry's event loop"),
    allow(libc::SYS_epoll_ctl, "epoll_ctl", Any, "register host descriptors"),
    allow(libc::SYS_epoll_wait, "epoll_wait", Any, "wait for host events"),
    allow(libc::SYS_epoll_pwait, "epoll_pwait", Any, "wait for host events with a signal mask"),
    allow(libc::SYS_signalfd4, "signalfd4", Any, "SIGCHLD of stubs as a descriptor"),
    allow(libc::SYS_eventfd2, "eventfd2", Any, "wake the event loop"),

    // Signals of the sentry itself.
    allow(libc::SYS_rt_sigprocmask, "rt_sigprocmask", Any, "block SIGCHLD for the signalfd"),
    allow(libc::SYS_rt_sigaction, "rt_sigaction", Any, "install handlers"),
    allow(libc::SYS_rt_sigreturn, "rt_sigreturn", Any, "return from a handler"),
    allow(libc::SYS_sigaltstack, "sigaltstack", Any, "Rust's stack-overflow handler in new threads"),

    // Time and randomness.
    allow(libc::SYS_clock_gettime, "clock_gettime", Any, "clocks when the vDSO falls back"),
    allow(libc::SYS_clock_nanosleep, "clock_nanosleep", Any, "timed sleeps"),
    allow(libc::SYS_nanosleep, "nanosleep", Any, "timed sleeps (older libc paths)"),
    allow(libc::SYS_getrandom, "getrandom", Any, "application getrandom, hash seeds, ASLR of the application"),
    allow(libc::SYS_sysinfo, "sysinfo", Any, "the host's memory and load figures that the application's sysinfo reports"),

    // Unix sockets: the control socket and descriptor passing.
    allow(libc::SYS_socket, "socket", OneOf { arg: 0, values: AF_UNIX }, "AF_UNIX sockets only"),
    allow(libc::SYS_socketpair, "socketpair", OneOf { arg: 0, values: AF_UNIX }, "AF_UNIX pairs only"),
    allow(libc::SYS_bind, "bind", Any, "bind the control socket"),
    allow(libc::SYS_listen, "listen", Any, "listen on the control socket"),
    allow(libc::SYS_accept4, "accept4", Any, "accept control connections"),
    allow(libc::SYS_connect, "connect", Any, "connect to host unix sockets"),
    allow(libc::SYS_shutdown, "shutdown", Any, "half-close a control connection"),
    allow(libc::SYS_sendmsg, "sendmsg", Any, "replies with SCM_RIGHTS descriptors"),
    allow(libc::SYS_recvmsg, "recvmsg", Any, "control requests with SCM_RIGHTS descriptors (stdio of exec, the checkpoint image, the container's packet sockets)"),
    allow(libc::SYS_sendto, "sendto", Any, "libc send() on connected sockets; frames out of the external interface's AF_PACKET socket (sandbox network)"),
    allow(libc::SYS_recvfrom, "recvfrom", Any, "libc recv() on connected sockets; frames from the external interface's AF_PACKET socket, with their sockaddr_ll (sandbox network)"),
    allow(libc::SYS_setsockopt, "setsockopt", Any, "socket buffer sizes, SO_PASSCRED"),
    allow(libc::SYS_getsockopt, "getsockopt", Any, "SO_PEERCRED of control clients"),
    allow(libc::SYS_getsockname, "getsockname", Any, "address of a bound socket"),
    allow(libc::SYS_getpeername, "getpeername", Any, "address of a connected peer"),
];

/// Calls that return an errno instead of killing the sandbox.
pub const FAIL_WITH_ERRNO: &[FailWith] = &[FailWith {
    nr: libc::SYS_clone3,
    name: "clone3",
    errno: libc::ENOSYS,
    why: "flags are in memory; glibc falls back to clone, which the filter checks",
}];
