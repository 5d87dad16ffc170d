//! The sentry's seccomp filter: compiled from the table in
//! [`super::policy`] with seccompiler, installed on every thread.
//!
//! A call not in the table kills the whole process (`SECCOMP_RET_KILL_PROCESS`);
//! so does any call made through another architecture's ABI (the filter
//! checks `AUDIT_ARCH_X86_64` first, and x32 numbers match no rule).

use super::policy::{Allowed, Args, FailWith, FAIL_WITH_ERRNO, SENTRY_SYSCALLS};
use nix::errno::Errno;
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// The longest program the kernel accepts (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp rule for {name} (system call {nr}) is invalid: {source}")]
    Rule {
        name: &'static str,
        nr: i64,
        source: seccompiler::BackendError,
    },
    #[error("system call {name} ({nr}) is listed twice in the seccomp policy")]
    Duplicate { name: &'static str, nr: i64 },
    #[error("compiling the seccomp filter failed: {0}")]
    Compile(seccompiler::BackendError),
    #[error("seccomp filter has {0} instructions; the kernel takes at most {MAX_INSTRUCTIONS}")]
    TooLong(usize),
    #[error("seccomp filter is empty")]
    Empty,
    #[error(
        "installing the seccomp filter was refused: no_new_privs is not set and \
         the process lacks CAP_SYS_ADMIN"
    )]
    NeedsNoNewPrivs,
    #[error("installing the seccomp filter failed: {0}")]
    Install(Errno),
    #[error("thread {0} could not be synchronized to the seccomp filter (it has a different one)")]
    ThreadSync(i64),
}

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e; // EM_X86_64 | 64-bit | little-endian
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7; // EM_AARCH64 | 64-bit | little-endian

/// Offsets into `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// The sentry's filter, built from [`SENTRY_SYSCALLS`] and
/// [`FAIL_WITH_ERRNO`].
///
/// # Panics
/// Never for the shipped table (the unit tests compile it); an edit that
/// makes the table invalid panics here with the reason.
pub fn sentry_filter() -> BpfProgram {
    match build_filter(SENTRY_SYSCALLS, FAIL_WITH_ERRNO) {
        Ok(prog) => prog,
        Err(err) => panic!("the sentry seccomp policy table is invalid: {err}"),
    }
}

/// The filter of a sentry whose application sockets are host sockets
/// (`--network=host`): [`sentry_filter`] with inet `socket` calls allowed.
pub fn sentry_filter_host_network() -> BpfProgram {
    let table: Vec<Allowed> = SENTRY_SYSCALLS
        .iter()
        .map(|a| {
            if a.nr == libc::SYS_socket {
                super::policy::HOST_NETWORK_SOCKET
            } else {
                *a
            }
        })
        .collect();
    match build_filter(&table, FAIL_WITH_ERRNO) {
        Ok(prog) => prog,
        Err(err) => panic!("the sentry seccomp policy table is invalid: {err}"),
    }
}

/// Compiles an allow-list filter: the calls in `allowed` pass (with their
/// argument rules), the calls in `fail` return their errno, everything
/// else kills the process.
pub fn build_filter(allowed: &[Allowed], fail: &[FailWith]) -> Result<BpfProgram, SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for call in allowed {
        if rules.contains_key(&call.nr) || fail.iter().any(|f| f.nr == call.nr) {
            return Err(SeccompError::Duplicate {
                name: call.name,
                nr: call.nr,
            });
        }
        let chain = rule_chain(call).map_err(|source| SeccompError::Rule {
            name: call.name,
            nr: call.nr,
            source,
        })?;
        rules.insert(call.nr, chain);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        ARCH,
    )
    .map_err(SeccompError::Compile)?;
    let body: BpfProgram = filter.try_into().map_err(SeccompError::Compile)?;
    let mut prog = errno_prelude(fail);
    prog.extend(body);
    if prog.len() > MAX_INSTRUCTIONS {
        return Err(SeccompError::TooLong(prog.len()));
    }
    Ok(prog)
}

/// The seccompiler rules for one call: an empty chain matches any
/// arguments; several rules match when any one does.
fn rule_chain(call: &Allowed) -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    let one = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64| {
        SeccompCondition::new(arg, len, op, value).and_then(|c| SeccompRule::new(vec![c]))
    };
    match call.args {
        Args::Any => Ok(Vec::new()),
        Args::OneOf { arg, values } => values
            .iter()
            .map(|&v| one(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, v))
            .collect(),
        Args::OneOf64 { arg, values } => values
            .iter()
            .map(|&v| one(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, v))
            .collect(),
        Args::HasBits { arg, bits } => Ok(vec![one(
            arg,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(bits),
            bits,
        )?]),
    }
}

/// Instructions placed before seccompiler's program: for each call in
/// `fail` made through the native ABI, return its errno. Every other call
/// falls through to the first instruction of the allow-list, whose jumps
/// are relative and so unaffected.
fn errno_prelude(fail: &[FailWith]) -> BpfProgram {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    if fail.is_empty() {
        return Vec::new();
    }
    // Layout: load arch; skip all if foreign; load nr; then per call a
    // compare (fall to next pair on mismatch) and its return.
    let pairs = fail.len() * 2;
    let mut prog = vec![
        ins(LD_W_ABS, 0, 0, DATA_ARCH),
        // On a foreign arch skip the nr load and every pair.
        ins(JEQ_K, 0, (1 + pairs) as u8, AUDIT_ARCH),
        ins(LD_W_ABS, 0, 0, DATA_NR),
    ];
    for f in fail {
        prog.push(ins(JEQ_K, 0, 1, f.nr as u32));
        prog.push(ins(
            RET_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | (f.errno as u32 & libc::SECCOMP_RET_DATA),
        ));
    }
    prog
}

/// Installs `prog` on every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`),
/// so no helper thread is left unfiltered. The sentry is single-threaded
/// when it confines itself; TSYNC makes that an assurance rather than an
/// assumption. The filter is inherited by children forked afterwards.
///
/// Requires `no_new_privs` (see [`super::set_no_new_privs`]) unless the
/// process still has `CAP_SYS_ADMIN`. Makes no allocation, so it may run in
/// a child forked from a multi-threaded process.
pub fn install(prog: &BpfProgram) -> Result<(), SeccompError> {
    if prog.is_empty() {
        return Err(SeccompError::Empty);
    }
    if prog.len() > MAX_INSTRUCTIONS {
        return Err(SeccompError::TooLong(prog.len()));
    }
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        // seccompiler's sock_filter has the kernel's layout (u16, u8, u8, u32).
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: the kernel copies `fprog` and the instructions it points to
    // before returning; both outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            &fprog as *const libc::sock_fprog,
        )
    };
    match r {
        0 => Ok(()),
        r if r > 0 => Err(SeccompError::ThreadSync(r)),
        _ => match Errno::last() {
            Errno::EACCES => Err(SeccompError::NeedsNoNewPrivs),
            err => Err(SeccompError::Install(err)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sentry_filter_compiles_within_the_kernel_limit() {
        let prog = sentry_filter();
        assert!(!prog.is_empty());
        assert!(
            prog.len() <= MAX_INSTRUCTIONS,
            "{} instructions",
            prog.len()
        );
    }

    #[test]
    fn host_network_filter_compiles_within_the_kernel_limit() {
        let prog = sentry_filter_host_network();
        assert!(
            prog.len() <= MAX_INSTRUCTIONS,
            "{} instructions",
            prog.len()
        );
        assert!(prog.len() > sentry_filter().len());
    }

    #[test]
    fn every_entry_is_explained_and_unique() {
        let mut seen = HashSet::new();
        for call in SENTRY_SYSCALLS {
            assert!(seen.insert(call.nr), "{} listed twice", call.name);
            assert!(!call.why.trim().is_empty(), "{} has no reason", call.name);
            assert!(!call.name.is_empty());
        }
        for f in FAIL_WITH_ERRNO {
            assert!(seen.insert(f.nr), "{} both allowed and failed", f.name);
            assert!(!f.why.trim().is_empty());
        }
    }

    #[test]
    fn the_calls_the_brief_names_are_allowed() {
        let names: HashSet<_> = SENTRY_SYSCALLS.iter().map(|c| c.name).collect();
        for name in [
            "ptrace",
            "wait4",
            "waitid",
            "kill",
            "tgkill",
            "tkill",
            "mmap",
            "munmap",
            "mprotect",
            "madvise",
            "mremap",
            "brk",
            "read",
            "write",
            "pread64",
            "pwrite64",
            "readv",
            "writev",
            "preadv",
            "pwritev",
            "openat",
            "openat2",
            "close",
            "close_range",
            "fstat",
            "newfstatat",
            "statx",
            "fstatfs",
            "getdents64",
            "lseek",
            "fallocate",
            "ftruncate",
            "fsync",
            "fdatasync",
            "memfd_create",
            "fcntl",
            "dup",
            "dup3",
            "ioctl",
            "poll",
            "ppoll",
            "epoll_create1",
            "epoll_ctl",
            "epoll_wait",
            "epoll_pwait",
            "signalfd4",
            "eventfd2",
            "rt_sigprocmask",
            "rt_sigaction",
            "rt_sigreturn",
            "sigaltstack",
            "clock_gettime",
            "clock_nanosleep",
            "nanosleep",
            "getrandom",
            "futex",
            "exit",
            "exit_group",
            "getpid",
            "gettid",
            "sendmsg",
            "recvmsg",
            "socketpair",
            "accept4",
            "socket",
            "connect",
            "bind",
            "listen",
            "shutdown",
            "setsockopt",
            "getsockopt",
            "getsockname",
            "getpeername",
            "sched_yield",
            "clone",
            "prctl",
            "mincore",
            "readlinkat",
            "mkdirat",
            "unlinkat",
            "renameat2",
            "linkat",
            "symlinkat",
            "fchmod",
            "fchmodat",
            "fchown",
            "fchownat",
            "utimensat",
            "faccessat2",
            "fgetxattr",
            "flistxattr",
            "sendfile",
            "copy_file_range",
            "splice",
            "restart_syscall",
            "rseq",
        ] {
            assert!(names.contains(name), "{name} missing from the policy");
        }
        for forbidden in [
            "execve",
            "execveat",
            "mount",
            "pivot_root",
            "setns",
            "unshare",
            "fork",
            "vfork",
            "ptrace_attach",
            "init_module",
            "bpf",
            "perf_event_open",
            "process_vm_writev",
            "open",
            "chroot",
            "setuid",
            "capset",
            "seccomp",
        ] {
            assert!(
                !names.contains(forbidden),
                "{forbidden} must not be allowed"
            );
        }
    }

    #[test]
    fn a_duplicate_is_refused_with_its_name() {
        let table = [
            Allowed {
                nr: libc::SYS_read,
                name: "read",
                args: Args::Any,
                why: "x",
            },
            Allowed {
                nr: libc::SYS_read,
                name: "read",
                args: Args::Any,
                why: "y",
            },
        ];
        let err = build_filter(&table, &[]).unwrap_err();
        assert!(err.to_string().contains("read"), "{err}");
    }

    #[test]
    fn the_prelude_returns_enosys_for_clone3_only_on_the_native_arch() {
        let p = errno_prelude(FAIL_WITH_ERRNO);
        assert_eq!(p.len(), 3 + 2 * FAIL_WITH_ERRNO.len());
        // The foreign-arch jump lands exactly past the prelude.
        assert_eq!(1 + 1 + p[1].jf as usize, p.len());
        assert_eq!(p[3].k, libc::SYS_clone3 as u32);
        assert_eq!(p[4].k, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
    }
}
