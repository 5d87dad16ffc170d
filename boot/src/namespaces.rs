//! Host namespaces of the sandbox process: which to create and which to join
//! (from the spec's `linux.namespaces`), the user namespace's ID maps, and
//! [`spawn`], which forks the sandbox process into them.
//!
//! # How [`spawn`] works
//!
//! ```text
//! caller ──fork──> intermediate: setns (joins), unshare (creations)
//!   │                 │  "write my ID maps" ──> caller writes /proc/<pid>/{uid_map,setgroups,gid_map}
//!   │                 └─clone(CLONE_PARENT)──> sandbox: PID 1 of the new PID namespace,
//!   │  <── "sandbox is <host pid>" ─┘ exits        a child of the caller; waits
//!   ├── cgroups, pid file ...                                    │
//!   └── release() ──────────────────────────────────────────────>│ creates its cgroup namespace,
//!                                                                  returns Spawned::Child
//! ```
//!
//! A new PID (or time) namespace applies only to children of the process
//! that made it, so the sandbox is forked after the `unshare`; with
//! `CLONE_PARENT` it is the caller's own child, which the caller can wait
//! for. The cgroup namespace is made last, after the caller moved the
//! sandbox into its cgroup, so that cgroup is the namespace's root.

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespace, LinuxNamespaceType};
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// The most lines the kernel accepts in one `uid_map` or `gid_map`.
pub const MAX_MAP_LINES: usize = 340;

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("the {0} namespace is listed more than once in linux.namespaces")]
    Duplicate(NsName),
    #[error("the {typ} namespace path {path} is not absolute")]
    RelativePath { typ: NsName, path: PathBuf },
    #[error("opening the {typ} namespace {path} failed: {source}")]
    Open {
        typ: NsName,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("joining the {typ} namespace {path} failed: {errno}")]
    Join {
        typ: NsName,
        path: PathBuf,
        errno: Errno,
    },
    #[error("creating the {namespaces} namespace(s) failed: {errno}")]
    Create { namespaces: String, errno: Errno },
    #[error(
        "a new user namespace needs uid and gid mappings (linux.uidMappings, linux.gidMappings)"
    )]
    NoMappings,
    #[error("invalid {file} mapping: {reason}")]
    BadMapping { file: &'static str, reason: String },
    #[error("writing {path} failed: {source}")]
    WriteMap {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("becoming root in the new user namespace ({call}) failed: {errno}")]
    BecomeRoot { call: &'static str, errno: Errno },
    #[error("{what} for the sandbox process failed: {errno}")]
    Fork { what: &'static str, errno: Errno },
    #[error("talking to the starting sandbox process failed: {0}")]
    Channel(std::io::Error),
    #[error("the starting sandbox process {pid} ended early (wait status {status:#x})")]
    Died { pid: i32, status: i32 },
    #[error("the starting sandbox process sent a report this runtime does not know ({0:?})")]
    BadReport([u32; 4]),
}

/// A namespace type as the spec and `/proc/<pid>/ns/` name it (`mnt`,
/// `net`, `pid`, ...), for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsName(pub LinuxNamespaceType);

impl fmt::Display for NsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The `CLONE_NEW*` flag of a namespace type.
pub fn clone_flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // nix has no constant for it; CLONE_NEWTIME is 0x80.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(0x80),
    }
}

/// A namespace to join: its type and the file that names it
/// (`/proc/<pid>/ns/net`, `/run/netns/NAME`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    pub typ: LinuxNamespaceType,
    pub path: PathBuf,
}

/// Which host namespaces the sandbox process gets: the ones to create and
/// the ones to join. A type in neither list is shared with the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespacePlan {
    create: Vec<LinuxNamespaceType>,
    join: Vec<Join>,
}

impl NamespacePlan {
    /// Exactly what `linux.namespaces` says: an entry with a `path` is
    /// joined, one without is created. A type listed twice, or a relative
    /// path, is refused.
    pub fn from_spec(list: &[LinuxNamespace]) -> Result<NamespacePlan, NamespaceError> {
        let mut plan = NamespacePlan::default();
        for ns in list {
            let typ = ns.typ();
            if plan.mentions(typ) {
                return Err(NamespaceError::Duplicate(NsName(typ)));
            }
            match ns.path() {
                Some(path) if !path.as_os_str().is_empty() => {
                    if !path.is_absolute() {
                        return Err(NamespaceError::RelativePath {
                            typ: NsName(typ),
                            path: path.clone(),
                        });
                    }
                    plan.join.push(Join {
                        typ,
                        path: path.clone(),
                    });
                }
                _ => plan.create.push(typ),
            }
        }
        Ok(plan)
    }

    /// The host namespaces of a gVisor-style sandbox. The sentry implements
    /// the container's mount, PID, IPC and UTS namespaces itself, so on the
    /// host the sandbox always gets fresh ones of those four, whatever the
    /// spec says (a `path` for one of them is the sentry's business, not
    /// joined on the host). The network, user, cgroup and time namespaces
    /// follow the spec: created, joined by path, or, when not listed,
    /// shared with the caller (host networking).
    pub fn for_sandbox(list: &[LinuxNamespace]) -> Result<NamespacePlan, NamespaceError> {
        let spec = NamespacePlan::from_spec(list)?;
        let own = [
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
        ];
        let mut plan = NamespacePlan {
            create: own.to_vec(),
            join: Vec::new(),
        };
        for typ in spec.create {
            if !own.contains(&typ) {
                plan.create.push(typ);
            }
        }
        for j in spec.join {
            if !own.contains(&j.typ) {
                plan.join.push(j);
            }
        }
        Ok(plan)
    }

    fn mentions(&self, typ: LinuxNamespaceType) -> bool {
        self.create.contains(&typ) || self.join.iter().any(|j| j.typ == typ)
    }

    /// True if a namespace of this type is created.
    pub fn creates(&self, typ: LinuxNamespaceType) -> bool {
        self.create.contains(&typ)
    }

    /// The path joined for this type, if any.
    pub fn joins(&self, typ: LinuxNamespaceType) -> Option<&Path> {
        self.join
            .iter()
            .find(|j| j.typ == typ)
            .map(|j| j.path.as_path())
    }

    /// The namespaces created, in the order listed.
    pub fn created(&self) -> &[LinuxNamespaceType] {
        &self.create
    }

    /// The namespaces joined, in the order listed.
    pub fn joined(&self) -> &[Join] {
        &self.join
    }

    /// The `CLONE_NEW*` flags of every created namespace.
    pub fn create_flags(&self) -> CloneFlags {
        self.create
            .iter()
            .fold(CloneFlags::empty(), |acc, &t| acc | clone_flag(t))
    }
}

/// Whether processes in the new user namespace may call `setgroups(2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setgroups {
    Allow,
    /// Required before an unprivileged caller may write `gid_map`.
    Deny,
}

/// The ID maps of a new user namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdMappings {
    pub uids: Vec<LinuxIdMapping>,
    pub gids: Vec<LinuxIdMapping>,
    pub setgroups: Setgroups,
}

impl IdMappings {
    /// Maps from the spec's `linux.uidMappings` and `linux.gidMappings`.
    /// `setgroups` is allowed when the caller is root (it may write any
    /// map) and denied otherwise (the kernel requires it for an
    /// unprivileged `gid_map`).
    pub fn new(uids: Vec<LinuxIdMapping>, gids: Vec<LinuxIdMapping>) -> IdMappings {
        let setgroups = if nix::unistd::geteuid().is_root() {
            Setgroups::Allow
        } else {
            Setgroups::Deny
        };
        IdMappings {
            uids,
            gids,
            setgroups,
        }
    }

    /// True when both maps give the namespace a uid 0 and a gid 0.
    pub fn maps_root(&self) -> bool {
        let has_zero = |m: &[LinuxIdMapping]| m.iter().any(|l| l.container_id() == 0);
        has_zero(&self.uids) && has_zero(&self.gids)
    }

    /// Checks what the kernel would refuse, so the message can say why.
    pub fn validate(&self) -> Result<(), NamespaceError> {
        check_map("uid_map", &self.uids)?;
        check_map("gid_map", &self.gids)
    }
}

fn check_map(file: &'static str, map: &[LinuxIdMapping]) -> Result<(), NamespaceError> {
    let bad = |reason: String| NamespaceError::BadMapping { file, reason };
    if map.is_empty() {
        return Err(bad("no mapping lines".into()));
    }
    if map.len() > MAX_MAP_LINES {
        return Err(bad(format!(
            "{} lines; the kernel takes at most {MAX_MAP_LINES}",
            map.len()
        )));
    }
    let end = |start: u32, size: u32| u64::from(start) + u64::from(size);
    for (i, l) in map.iter().enumerate() {
        if l.size() == 0 {
            return Err(bad(format!("line {} has size 0", i + 1)));
        }
        if end(l.container_id(), l.size()) > 1 << 32 || end(l.host_id(), l.size()) > 1 << 32 {
            return Err(bad(format!("line {} runs past ID 4294967295", i + 1)));
        }
        for (j, m) in map.iter().enumerate().take(i) {
            let overlaps =
                |a: u32, b: u32| u64::from(a) < end(b, m.size()) && u64::from(b) < end(a, l.size());
            if overlaps(l.container_id(), m.container_id()) || overlaps(l.host_id(), m.host_id()) {
                return Err(bad(format!("lines {} and {} overlap", j + 1, i + 1)));
            }
        }
    }
    Ok(())
}

/// The text of a `uid_map`/`gid_map` file: `inside outside count` per line.
pub fn format_map(map: &[LinuxIdMapping]) -> String {
    map.iter()
        .map(|l| format!("{} {} {}\n", l.container_id(), l.host_id(), l.size()))
        .collect()
}

/// Writes the ID maps of the user namespace that `pid` is in: `uid_map`,
/// then `setgroups`, then `gid_map` (the kernel wants `setgroups` before
/// `gid_map`). Each file is written in one `write`, as the kernel requires.
pub fn write_id_maps(pid: Pid, maps: &IdMappings) -> Result<(), NamespaceError> {
    maps.validate()?;
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let setgroups = match maps.setgroups {
        Setgroups::Allow => "allow",
        Setgroups::Deny => "deny",
    };
    for (name, text) in [
        ("uid_map", format_map(&maps.uids)),
        ("setgroups", setgroups.to_string()),
        ("gid_map", format_map(&maps.gids)),
    ] {
        let path = dir.join(name);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().write(true).open(&path)?;
            let n = f.write(text.as_bytes())?;
            if n != text.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "short write",
                ));
            }
            Ok(())
        };
        write().map_err(|source| NamespaceError::WriteMap {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// What [`spawn`] returns in each process.
pub enum Spawned {
    /// In the caller: the sandbox process, waiting to be released.
    Parent(SandboxProcess),
    /// In the sandbox process, after the caller released it, inside every
    /// namespace of the plan.
    Child,
}

/// The sandbox process as the caller sees it between [`spawn`] and
/// [`SandboxProcess::release`]. It is the caller's child. Dropping it
/// without releasing makes the sandbox process exit (and reaps it).
#[derive(Debug)]
pub struct SandboxProcess {
    pid: Pid,
    channel: Option<UnixStream>,
}

impl SandboxProcess {
    /// The sandbox's PID as the caller sees it (the host PID when the caller
    /// is in the host PID namespace): the one for `--pid-file` and cgroups.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Lets the sandbox process go on: it creates its cgroup namespace if
    /// the plan asks for one and returns [`Spawned::Child`]. Returns once
    /// it has, or with its error.
    pub fn release(mut self) -> Result<Pid, NamespaceError> {
        let Some(mut channel) = self.channel.take() else {
            return Ok(self.pid);
        };
        if let Err(source) = channel.write_all(&[GO]) {
            return Err(self.reap_with(source));
        }
        match read_report(&mut channel) {
            Ok(None) => Ok(self.pid),
            Ok(Some(report)) => {
                let err = report_error(&report, &[], CloneFlags::empty());
                wait_status(self.pid);
                Err(err)
            }
            Err(source) => Err(self.reap_with(source)),
        }
    }

    fn reap_with(&self, source: std::io::Error) -> NamespaceError {
        match try_wait(self.pid) {
            Some(status) => NamespaceError::Died {
                pid: self.pid.as_raw(),
                status,
            },
            None => NamespaceError::Channel(source),
        }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        if let Some(channel) = self.channel.take() {
            // Closing the channel makes the waiting child exit.
            drop(channel);
            wait_status(self.pid);
        }
    }
}

/// Byte the caller sends: ID maps written / sandbox released.
const GO: u8 = 1;

/// Reports from the starting processes: `[kind, stage, value, index]`.
const KIND_NEED_MAPS: u32 = 1;
const KIND_CHILD: u32 = 2;
const KIND_FAILED: u32 = 3;

const STAGE_JOIN: u32 = 1;
const STAGE_UNSHARE: u32 = 2;
const STAGE_SETGROUPS: u32 = 3;
const STAGE_SETGID: u32 = 4;
const STAGE_SETUID: u32 = 5;
const STAGE_CLONE: u32 = 6;
const STAGE_CGROUP_NS: u32 = 7;

type Report = [u32; 4];

/// Everything the forked processes need, prepared before the fork so that
/// they allocate nothing.
struct Prepared {
    /// `(descriptor, CLONE_NEW* type, is the user namespace)`, one per join.
    joins: Vec<(OwnedFd, libc::c_int, bool)>,
    /// Flags for the intermediate's `unshare` (all creations but cgroup).
    unshare: libc::c_int,
    /// The sandbox creates its cgroup namespace after release.
    cgroup_ns: bool,
    /// The caller must write ID maps before the sandbox is forked.
    need_maps: bool,
    /// Switch to uid and gid 0 in the new user namespace.
    become_root: bool,
    /// Clear supplementary groups when becoming root.
    clear_groups: bool,
}

/// Forks the sandbox process into the namespaces of `plan`.
///
/// Joins come first (every non-user namespace, then the user namespace,
/// then any join that needed the user namespace's privileges), then one
/// `unshare` creates the rest. A new user namespace gets `ids` written by
/// the caller; if they map uid and gid 0, the sandbox becomes root in it
/// (so its capabilities survive `execve`), dropping supplementary groups
/// when `setgroups` is allowed. A new cgroup namespace is created by the
/// sandbox itself on [`SandboxProcess::release`].
///
/// Returns [`Spawned::Parent`] in the caller and [`Spawned::Child`] in the
/// sandbox process, which is the caller's child and PID 1 of its PID
/// namespace when the plan creates one.
///
/// # Safety
/// Like `fork`: if the caller has other threads, the child (which returns
/// [`Spawned::Child`]) may only call async-signal-safe functions until it
/// `exec`s. Besides, in the child glibc's cached thread ID is stale (it is
/// created with a raw `clone`), so it must not use `pthread_kill` or
/// `raise` on itself.
pub unsafe fn spawn(
    plan: &NamespacePlan,
    ids: Option<&IdMappings>,
) -> Result<Spawned, NamespaceError> {
    let creates_user = plan.creates(LinuxNamespaceType::User);
    let ids = match (creates_user, ids) {
        (true, None) => return Err(NamespaceError::NoMappings),
        (true, Some(ids)) => {
            ids.validate()?;
            Some(ids)
        }
        (false, _) => None,
    };
    let mut joins = Vec::with_capacity(plan.join.len());
    for j in &plan.join {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&j.path)
            .map_err(|source| NamespaceError::Open {
                typ: NsName(j.typ),
                path: j.path.clone(),
                source,
            })?;
        joins.push((
            OwnedFd::from(file),
            clone_flag(j.typ).bits(),
            j.typ == LinuxNamespaceType::User,
        ));
    }
    let unshare_flags = plan.create_flags() & !CloneFlags::CLONE_NEWCGROUP;
    let prepared = Prepared {
        joins,
        unshare: unshare_flags.bits(),
        cgroup_ns: plan.creates(LinuxNamespaceType::Cgroup),
        need_maps: creates_user,
        become_root: ids.is_some_and(IdMappings::maps_root),
        clear_groups: ids.is_some_and(|i| i.setgroups == Setgroups::Allow),
    };
    let (mut ours, theirs) = UnixStream::pair().map_err(NamespaceError::Channel)?;

    // SAFETY: the child runs only `intermediate`, which makes raw system
    // calls on data prepared above and never returns except as the
    // sandbox process (see the function's safety contract).
    let pid1 = unsafe { libc::fork() };
    if pid1 < 0 {
        return Err(NamespaceError::Fork {
            what: "fork",
            errno: Errno::last(),
        });
    }
    if pid1 == 0 {
        drop(ours);
        // SAFETY: freshly forked child, single-threaded.
        unsafe { intermediate(&prepared, theirs.as_raw_fd()) };
        // Only the sandbox process gets here; it closes its copies of the
        // namespace descriptors and the channel.
        drop(theirs);
        drop(prepared);
        return Ok(Spawned::Child);
    }
    drop(theirs);
    drop(prepared);
    let pid1 = Pid::from_raw(pid1);

    let fail = |err: NamespaceError| {
        let _ = nix::sys::signal::kill(pid1, nix::sys::signal::Signal::SIGKILL);
        wait_status(pid1);
        err
    };
    let child = loop {
        let report = match read_report(&mut ours) {
            Ok(Some(report)) => report,
            Ok(None) => {
                let status = wait_status(pid1);
                return Err(NamespaceError::Died {
                    pid: pid1.as_raw(),
                    status,
                });
            }
            Err(source) => return Err(fail(NamespaceError::Channel(source))),
        };
        match report[0] {
            KIND_NEED_MAPS => {
                let Some(ids) = ids else {
                    return Err(fail(NamespaceError::BadReport(report)));
                };
                write_id_maps(pid1, ids).map_err(fail)?;
                ours.write_all(&[GO])
                    .map_err(|e| fail(NamespaceError::Channel(e)))?;
            }
            KIND_CHILD => break Pid::from_raw(report[2] as i32),
            KIND_FAILED => return Err(fail(report_error(&report, &plan.join, unshare_flags))),
            _ => return Err(fail(NamespaceError::BadReport(report))),
        }
    };
    let status = wait_status(pid1);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        wait_status(child);
        return Err(NamespaceError::Died {
            pid: pid1.as_raw(),
            status,
        });
    }
    Ok(Spawned::Parent(SandboxProcess {
        pid: child,
        channel: Some(ours),
    }))
}

/// The intermediate process: join, create, wait for ID maps, fork the
/// sandbox process with `CLONE_PARENT` and exit. Returns only in the
/// sandbox process, after the caller released it.
///
/// # Safety
/// Must run in a freshly forked, single-threaded child. Makes raw system
/// calls only and allocates nothing.
unsafe fn intermediate(p: &Prepared, chan: RawFd) {
    let fail = |stage: u32, index: usize| -> ! {
        let errno = Errno::last_raw();
        send_report(chan, [KIND_FAILED, stage, errno as u32, index as u32]);
        // SAFETY: ends the forked process without running destructors.
        unsafe { libc::_exit(1) }
    };
    // Non-user joins first; one that needs the privileges of a user
    // namespace we are about to join fails with EPERM and waits for it.
    let mut deferred = [false; 16];
    for (i, (fd, nstype, is_user)) in p.joins.iter().enumerate() {
        if *is_user {
            continue;
        }
        // SAFETY: setns on an open namespace descriptor.
        if unsafe { libc::setns(fd.as_raw_fd(), *nstype) } != 0 {
            if Errno::last() == Errno::EPERM && i < deferred.len() {
                deferred[i] = true;
            } else {
                fail(STAGE_JOIN, i);
            }
        }
    }
    for (i, (fd, nstype, is_user)) in p.joins.iter().enumerate() {
        // SAFETY: setns on an open namespace descriptor.
        if *is_user && unsafe { libc::setns(fd.as_raw_fd(), *nstype) } != 0 {
            fail(STAGE_JOIN, i);
        }
    }
    for (i, (fd, nstype, _)) in p.joins.iter().enumerate() {
        // SAFETY: setns on an open namespace descriptor.
        if deferred.get(i) == Some(&true) && unsafe { libc::setns(fd.as_raw_fd(), *nstype) } != 0 {
            fail(STAGE_JOIN, i);
        }
    }
    // SAFETY: unshare with flags only.
    if p.unshare != 0 && unsafe { libc::unshare(p.unshare) } != 0 {
        fail(STAGE_UNSHARE, 0);
    }
    if p.need_maps {
        send_report(chan, [KIND_NEED_MAPS, 0, 0, 0]);
        if !wait_go(chan) {
            // SAFETY: the caller gave up; end the forked process.
            unsafe { libc::_exit(1) };
        }
    }
    if p.become_root {
        // SAFETY: identity changes with integer arguments only.
        unsafe {
            if p.clear_groups && libc::setgroups(0, std::ptr::null()) != 0 {
                fail(STAGE_SETGROUPS, 0);
            }
            if libc::setresgid(0, 0, 0) != 0 {
                fail(STAGE_SETGID, 0);
            }
            if libc::setresuid(0, 0, 0) != 0 {
                fail(STAGE_SETUID, 0);
            }
        }
    }
    // SAFETY: a fork-like clone (no CLONE_VM, no new stack): the child
    // continues here on its own copy of this stack.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        fail(STAGE_CLONE, 0);
    }
    if pid > 0 {
        send_report(chan, [KIND_CHILD, 0, pid as u32, 0]);
        // SAFETY: the intermediate's work is done.
        unsafe { libc::_exit(0) };
    }
    // The sandbox process.
    if !wait_go(chan) {
        // SAFETY: the caller dropped the sandbox without releasing it.
        unsafe { libc::_exit(1) };
    }
    // SAFETY: unshare with a flag only.
    if p.cgroup_ns && unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } != 0 {
        fail(STAGE_CGROUP_NS, 0);
    }
}

/// Sends one report; a failure means the caller is gone, which the next
/// read shows.
fn send_report(chan: RawFd, report: Report) {
    let mut bytes = [0u8; 16];
    for (chunk, v) in bytes.chunks_exact_mut(4).zip(report) {
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    // SAFETY: sends from a live local buffer; MSG_NOSIGNAL avoids SIGPIPE.
    unsafe {
        libc::send(
            chan,
            bytes.as_ptr() as *const libc::c_void,
            bytes.len(),
            libc::MSG_NOSIGNAL,
        )
    };
}

/// Waits for the caller's go-ahead byte; false if the caller closed the
/// channel instead.
fn wait_go(chan: RawFd) -> bool {
    let mut b = 0u8;
    loop {
        // SAFETY: reads one byte into a local.
        let n = unsafe { libc::read(chan, &mut b as *mut u8 as *mut libc::c_void, 1) };
        if n == 1 {
            return b == GO;
        }
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return false;
    }
}

/// Reads one report, or `None` at end of file.
fn read_report(chan: &mut UnixStream) -> std::io::Result<Option<Report>> {
    let mut bytes = [0u8; 16];
    let mut got = 0;
    while got < bytes.len() {
        match chan.read(&mut bytes[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut report = [0u32; 4];
    for (v, chunk) in report.iter_mut().zip(bytes.chunks_exact(4)) {
        *v = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    Ok(Some(report))
}

/// Turns a failure report into an error that names the namespace.
fn report_error(report: &Report, joins: &[Join], unshared: CloneFlags) -> NamespaceError {
    let [kind, stage, errno, index] = *report;
    if kind != KIND_FAILED {
        return NamespaceError::BadReport(*report);
    }
    let errno = Errno::from_raw(errno as i32);
    match stage {
        STAGE_JOIN => match joins.get(index as usize) {
            Some(j) => NamespaceError::Join {
                typ: NsName(j.typ),
                path: j.path.clone(),
                errno,
            },
            None => NamespaceError::BadReport(*report),
        },
        STAGE_UNSHARE => NamespaceError::Create {
            namespaces: flag_names(unshared),
            errno,
        },
        STAGE_CGROUP_NS => NamespaceError::Create {
            namespaces: "cgroup".into(),
            errno,
        },
        STAGE_SETGROUPS => NamespaceError::BecomeRoot {
            call: "setgroups",
            errno,
        },
        STAGE_SETGID => NamespaceError::BecomeRoot {
            call: "setresgid",
            errno,
        },
        STAGE_SETUID => NamespaceError::BecomeRoot {
            call: "setresuid",
            errno,
        },
        STAGE_CLONE => NamespaceError::Fork {
            what: "clone(CLONE_PARENT)",
            errno,
        },
        _ => NamespaceError::BadReport(*report),
    }
}

/// `mnt, pid, net` for a set of `CLONE_NEW*` flags.
fn flag_names(flags: CloneFlags) -> String {
    [
        LinuxNamespaceType::User,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Time,
    ]
    .into_iter()
    .filter(|&t| flags.contains(clone_flag(t)))
    .map(|t| t.to_string())
    .collect::<Vec<_>>()
    .join(", ")
}

/// Waits for a child and returns its raw wait status (-1 if it cannot).
fn wait_status(pid: Pid) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, 0) };
        if r == pid.as_raw() {
            return status;
        }
        if r < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return -1;
    }
}

/// Reaps a child if it has ended, giving it a moment to.
fn try_wait(pid: Pid) -> Option<i32> {
    for _ in 0..50 {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, libc::WNOHANG) };
        if r == pid.as_raw() {
            return Some(status);
        }
        if r < 0 {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// The namespace file of a process, for comparing namespaces by inode.
pub fn namespace_file(pid: Pid, typ: LinuxNamespaceType) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{typ}"))
}

/// Opens a namespace file, e.g. to hold a namespace open.
pub fn open_namespace(path: &Path, typ: LinuxNamespaceType) -> Result<File, NamespaceError> {
    File::open(path).map_err(|source| NamespaceError::Open {
        typ: NsName(typ),
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxIdMappingBuilder, LinuxNamespaceBuilder};

    fn ns(typ: LinuxNamespaceType, path: Option<&str>) -> LinuxNamespace {
        let mut b = LinuxNamespaceBuilder::default().typ(typ);
        if let Some(p) = path {
            b = b.path(p);
        }
        b.build().unwrap()
    }

    fn map(inside: u32, outside: u32, size: u32) -> LinuxIdMapping {
        LinuxIdMappingBuilder::default()
            .container_id(inside)
            .host_id(outside)
            .size(size)
            .build()
            .unwrap()
    }

    #[test]
    fn spec_entries_with_a_path_are_joined_the_others_created() {
        let plan = NamespacePlan::from_spec(&[
            ns(LinuxNamespaceType::Pid, None),
            ns(LinuxNamespaceType::Network, Some("/var/run/netns/cni-1")),
            ns(LinuxNamespaceType::Mount, None),
        ])
        .unwrap();
        assert!(plan.creates(LinuxNamespaceType::Pid));
        assert!(plan.creates(LinuxNamespaceType::Mount));
        assert!(!plan.creates(LinuxNamespaceType::Network));
        assert_eq!(
            plan.joins(LinuxNamespaceType::Network),
            Some(Path::new("/var/run/netns/cni-1"))
        );
        assert_eq!(
            plan.create_flags(),
            CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS
        );
    }

    #[test]
    fn a_namespace_listed_twice_is_refused_by_name() {
        let err = NamespacePlan::from_spec(&[
            ns(LinuxNamespaceType::Network, None),
            ns(LinuxNamespaceType::Network, Some("/proc/1/ns/net")),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the net namespace is listed more than once in linux.namespaces"
        );
    }

    #[test]
    fn a_relative_path_is_refused() {
        let err = NamespacePlan::from_spec(&[ns(LinuxNamespaceType::Network, Some("netns/x"))])
            .unwrap_err();
        assert!(err.to_string().contains("netns/x"), "{err}");
    }

    #[test]
    fn the_sandbox_always_gets_its_own_mount_pid_ipc_uts() {
        let plan = NamespacePlan::for_sandbox(&[
            ns(LinuxNamespaceType::Pid, Some("/proc/42/ns/pid")),
            ns(LinuxNamespaceType::Network, Some("/run/netns/x")),
            ns(LinuxNamespaceType::User, None),
        ])
        .unwrap();
        for t in [
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::User,
        ] {
            assert!(plan.creates(t), "{t} not created");
        }
        assert_eq!(plan.joins(LinuxNamespaceType::Pid), None);
        assert_eq!(
            plan.joins(LinuxNamespaceType::Network),
            Some(Path::new("/run/netns/x"))
        );
        // Not listed: host network stays.
        let host = NamespacePlan::for_sandbox(&[]).unwrap();
        assert!(!host.creates(LinuxNamespaceType::Network));
        assert!(host.joins(LinuxNamespaceType::Network).is_none());
    }

    #[test]
    fn maps_are_formatted_one_line_each() {
        assert_eq!(
            format_map(&[map(0, 100000, 65536), map(65536, 1000, 1)]),
            "0 100000 65536\n65536 1000 1\n"
        );
    }

    #[test]
    fn bad_maps_are_refused_with_the_reason() {
        let check = |m: Vec<LinuxIdMapping>| check_map("uid_map", &m).unwrap_err().to_string();
        assert!(check(vec![]).contains("no mapping lines"));
        assert!(check(vec![map(0, 0, 0)]).contains("size 0"));
        assert!(check(vec![map(0, u32::MAX, 2)]).contains("past ID"));
        assert!(check(vec![map(0, 1000, 10), map(5, 2000, 10)]).contains("lines 1 and 2 overlap"));
        assert!(check(vec![map(0, 1000, 10), map(100, 1005, 1)]).contains("overlap"));
        assert!(check((0..341).map(|i| map(i, i, 1)).collect()).contains("at most 340"));
        assert!(check_map("uid_map", &[map(0, 1000, 10), map(10, 2000, 10)]).is_ok());
    }

    #[test]
    fn root_is_mapped_only_when_both_maps_have_id_zero() {
        let mut ids = IdMappings::new(vec![map(0, 1000, 1)], vec![map(0, 1000, 1)]);
        assert!(ids.maps_root());
        ids.gids = vec![map(1, 1000, 1)];
        assert!(!ids.maps_root());
    }

    #[test]
    fn failure_reports_name_the_namespace() {
        let joins = vec![Join {
            typ: LinuxNamespaceType::Network,
            path: "/run/netns/gone".into(),
        }];
        let err = report_error(
            &[KIND_FAILED, STAGE_JOIN, Errno::EINVAL as u32, 0],
            &joins,
            CloneFlags::empty(),
        );
        assert_eq!(
            err.to_string(),
            "joining the net namespace /run/netns/gone failed: EINVAL: Invalid argument"
        );
        let err = report_error(
            &[KIND_FAILED, STAGE_UNSHARE, Errno::EPERM as u32, 0],
            &joins,
            CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWUSER,
        );
        assert!(err.to_string().contains("user, pid"), "{err}");
    }
}
