//! Starting and confining the sandbox process (`runsc boot`).
//!
//! This crate holds the host-side steps that turn an ordinary process into
//! the sandbox: host namespaces, cgroups, host resource limits, and the
//! confinement (empty root, no capabilities, `no_new_privs`, seccomp) that
//! leaves the sentry with nothing but the descriptors it opened beforehand.
//!
//! # Order of operations
//!
//! The steps run in this order; each later step gives up something an
//! earlier one needs. Who runs the step, and the privilege it needs, is on
//! each line.
//!
//! | # | step | run by | needs |
//! |---|------|--------|-------|
//! | 1 | [`namespaces::spawn`]: join the namespaces given by path (`setns`), create the others (`unshare`), write the user namespace's ID maps, fork the sandbox process into them | `runsc create` (the caller) | `CAP_SYS_ADMIN` (or a new user namespace) to create namespaces; `CAP_SYS_ADMIN` over the owner of a namespace to join it; `CAP_SETUID`/`CAP_SETGID` in the parent user namespace for arbitrary ID maps |
//! | 2 | [`cgroups::Cgroups::apply`]: create the cgroup, write the limits, move the sandbox PID in | `runsc create`, before it releases the child | write access to cgroupfs (root, or a delegated subtree) |
//! | 3 | [`namespaces::SandboxProcess::release`]: the child goes on (it creates its cgroup namespace now, so that namespace is rooted at the new cgroup) and execs `runsc boot` | `runsc create` | none |
//! | 4 | [`rlimits::prepare_host_limits`]: soft limits of the sandbox process itself | `runsc boot` | none (only soft limits move; hard limits are never raised) |
//! | 5 | open descriptors: the rootfs directory, each mount source, stdio, the console, the control socket, the memory file | `runsc boot` | whatever opening those files takes (root) |
//! | 6 | [`confine::enter_empty_root`]: private mount namespace, `pivot_root` into an empty read-only tmpfs, old root detached | `runsc boot` | `CAP_SYS_ADMIN` in its user namespace |
//! | 7 | [`confine::drop_capabilities`]: bounding, ambient, effective, permitted, inheritable sets emptied | `runsc boot` | `CAP_SETPCAP` (for the bounding set) |
//! | 8 | the sentry's platform forks its master stub (see below) | the sentry | none |
//! | 9 | [`confine::set_no_new_privs`] | `runsc boot` | none |
//! | 10 | [`confine::install`] of [`confine::sentry_filter`] | `runsc boot` | none once `no_new_privs` is set |
//!
//! [`confine::confine`] runs 6, 7, 9 and 10 in one call for callers that
//! have nothing to do between them.
//!
//! ## Where the master stub is forked
//!
//! The ptrace platform forks one master stub, from which every later stub
//! is forked by the stub itself. The sentry's seccomp filter does not allow
//! `fork` (only `clone` of threads), so the master stub must exist before
//! step 10. Forking it after steps 6 and 7 (step 8) means every stub starts
//! with the empty root and no capabilities, and without the sentry's filter,
//! which a stub does not need because it installs its own.
//!
//! ## The sandbox is PID 1 of its own PID namespace
//!
//! [`namespaces::spawn`] always forks the sandbox after entering or creating
//! the PID namespace, so with [`namespaces::NamespacePlan::for_sandbox`] the
//! sandbox is PID 1 of a fresh PID namespace, and its host PID is what the
//! caller gets back (for `--pid-file`). That matters for confinement: the
//! sentry keeps host uid 0 without capabilities, and `kill` needs no
//! capability between processes of the same uid, so only a PID namespace of
//! its own keeps it from signalling the host's root processes. It also means
//! that when the sandbox dies, the kernel kills every stub in its namespace.
//! As PID 1 it receives from the host only the signals it has a handler for
//! (and `SIGKILL`/`SIGSTOP`); container signals go over the control socket.

//!
//! ## What the caller does, in short
//!
//! `runsc create`: [`namespaces::NamespacePlan::for_sandbox`] from
//! `linux.namespaces`, [`namespaces::IdMappings::new`] from the uid/gid
//! mappings when a user namespace is created, `unsafe`
//! [`namespaces::spawn`]; in [`namespaces::Spawned::Child`] exec `runsc
//! boot` at once (the child of a multi-threaded process may only make
//! async-signal-safe calls); in [`namespaces::Spawned::Parent`]
//! [`cgroups::CgroupPath::from_spec`] and [`cgroups::Cgroups::apply`] with
//! the child's PID, write the PID file, then `release()`. Dropping the
//! handle instead ends the child.
//!
//! `runsc boot`: steps 4 to 10 while it has one thread. After step 10 it
//! reaches host files only through its descriptors, makes no `execve`,
//! `fork`, `mount`, `setns` or non-unix `socket` call, and changes none of
//! its limits.
//!
//! `runsc delete`: [`cgroups::remove`] with the same [`cgroups::CgroupPath`]
//! once the sandbox is dead.

pub mod cgroups;
pub mod confine;
pub mod namespaces;
pub mod rlimits;
