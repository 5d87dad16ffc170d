//! Starting the sandbox process, `create`'s side: the control socket, the
//! host namespaces, the cgroup, then `runsc boot` (a re-exec of this
//! binary) in them; `create` returns once the sandbox says it is ready,
//! or with the error it reported.
//!
//! The sandbox process reports over a pipe (descriptor [`SYNC_FD`] in it):
//! one JSON [`BootReport`] line. It is `create`'s child, and PID 1 of its
//! own PID namespace.

use super::boot::BootReport;
use crate::cli::GlobalOpts;
use anyhow::Context;
use boot::cgroups::{CgroupPath, Cgroups};
use boot::namespaces::{self, IdMappings, NamespacePlan, Spawned};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use specutils::Bundle;
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Descriptor of the listening control socket in the sandbox process.
pub const CONTROL_FD: RawFd = 3;
/// Descriptor of the report pipe in the sandbox process.
pub const SYNC_FD: RawFd = 4;
/// Descriptor of the sandbox's log in the sandbox process.
pub const LOG_FD: RawFd = 5;
/// Descriptor of the sandbox's debug log (with `--debug-log`).
pub const DEBUG_LOG_FD: RawFd = 6;
/// Descriptor of the file where the sandbox leaves init's exit status.
pub const EXIT_FD: RawFd = 7;
/// Descriptor of the checkpoint image a restoring sandbox loads.
pub const RESTORE_FD: RawFd = 8;
/// Name of the control socket in the container's directory.
pub const CONTROL_SOCKET: &str = "sandbox.sock";
/// The sandbox's log when the caller gives none (its stderr is the
/// container's).
pub const SANDBOX_LOG: &str = "sandbox.log";

/// What the sandbox process's stdio is.
pub enum Stdio {
    /// The caller's own descriptors 0, 1, 2.
    Inherit,
    /// A terminal (the slave end of a pty, or the caller's own terminal):
    /// stdio of the sandbox and the container's console.
    Console(Option<OwnedFd>),
}

/// What `create` asks for.
pub struct Launch<'a> {
    pub global: &'a GlobalOpts,
    pub id: &'a str,
    pub bundle: &'a Bundle,
    /// The container's state directory, `<root>/<id>`.
    pub dir: &'a Path,
    pub stdio: Stdio,
    /// Restore this image instead of starting the container's init.
    pub restore: Option<&'a RestoreImage>,
}

/// A checkpoint image, open, for a sandbox to restore.
pub struct RestoreImage {
    pub file: std::fs::File,
    /// The image file, named in messages.
    pub path: PathBuf,
    /// Load every page before the container runs, not lazily.
    pub eager: bool,
}

/// A sandbox that booted and waits for `start`.
#[derive(Debug)]
pub struct Launched {
    pub pid: Pid,
    /// Field 22 of its `/proc/<pid>/stat`.
    pub start: Option<u64>,
    pub control_socket: PathBuf,
    pub cgroup: Option<CgroupPath>,
}

/// Starts the sandbox process and waits until it has booted.
pub fn launch(l: Launch<'_>) -> anyhow::Result<Launched> {
    let spec = &l.bundle.spec;
    let linux = spec.linux().as_ref();
    let namespaces = linux
        .and_then(|x| x.namespaces().clone())
        .unwrap_or_default();
    let plan = NamespacePlan::for_sandbox(&namespaces)
        .with_context(|| format!("linux.namespaces in {}", l.bundle.config_path().display()))?;
    let ids = plan.creates(LinuxNamespaceType::User).then(|| {
        IdMappings::new(
            linux
                .and_then(|x| x.uid_mappings().clone())
                .unwrap_or_default(),
            linux
                .and_then(|x| x.gid_mappings().clone())
                .unwrap_or_default(),
        )
    });

    let socket_path = l.dir.join(CONTROL_SOCKET);
    let listener = super::socket::listen(&socket_path)
        .with_context(|| format!("cannot make the control socket {}", socket_path.display()))?;
    let (sync_read, sync_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .context("cannot make a pipe for the sandbox's report")?;

    // Everything the child needs exists before the fork: it makes raw
    // system calls only.
    // The logs are opened here: the sandbox may run as a user (in a user
    // namespace) that cannot open them.
    let log_path = match &l.global.log {
        Some(log) => log.clone(),
        None => l.dir.join(SANDBOX_LOG),
    };
    let log = crate::logging::open_log_file(&log_path)?;
    let debug_log = match &l.global.debug_log {
        Some(path) => Some(crate::logging::open_debug_log(path, "boot")?),
        None => None,
    };
    let exec = Exec::prepare(
        l.global,
        l.id,
        l.bundle,
        debug_log.is_some(),
        matches!(l.stdio, Stdio::Console(_)),
        l.restore.map(|r| (r.path.as_path(), r.eager)),
    )?;
    let restore_child = match l.restore {
        Some(r) => Some(high_copy(r.file.as_raw_fd())?),
        None => None,
    };
    let exit_file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(l.dir.join(super::boot::EXIT_FILE))
        .with_context(|| {
            format!(
                "cannot make {}",
                l.dir.join(super::boot::EXIT_FILE).display()
            )
        })?;
    let exit_child = high_copy(exit_file.as_raw_fd())?;
    drop(exit_file);
    let log_child = high_copy(log.as_raw_fd())?;
    drop(log);
    let debug_child = match debug_log {
        Some(f) => Some(high_copy(f.as_raw_fd())?),
        None => None,
    };
    let listener_child = high_copy(listener.as_raw_fd())?;
    drop(listener);
    let sync_child = high_copy(sync_write.as_raw_fd())?;
    drop(sync_write);
    let console = match &l.stdio {
        Stdio::Console(Some(fd)) => Some(high_copy(fd.as_raw_fd())?),
        _ => None,
    };
    let mut moves = vec![
        (listener_child.as_raw_fd(), CONTROL_FD),
        (sync_child.as_raw_fd(), SYNC_FD),
    ];
    moves.push((log_child.as_raw_fd(), LOG_FD));
    moves.push((exit_child.as_raw_fd(), EXIT_FD));
    if let Some(d) = &debug_child {
        moves.push((d.as_raw_fd(), DEBUG_LOG_FD));
    }
    if let Some(c) = &console {
        moves.extend([0, 1, 2].map(|n| (c.as_raw_fd(), n)));
    }
    if let Some(r) = &restore_child {
        moves.push((r.as_raw_fd(), RESTORE_FD));
    }

    // SAFETY: the child only moves descriptors and execs (see
    // `Exec::run`), which is all `spawn` allows it.
    let spawned = unsafe { namespaces::spawn(&plan, ids.as_ref()) }
        .context("cannot start the sandbox process in its namespaces")?;
    let child = match spawned {
        Spawned::Child => exec.run(&moves),
        Spawned::Parent(child) => child,
    };
    drop((
        listener_child,
        sync_child,
        console,
        log_child,
        debug_child,
        exit_child,
        restore_child,
    ));
    let pid = child.pid();
    tracing::debug!(%pid, "sandbox process forked");

    // On an error, dropping `child` ends it.
    let cgroup = join_cgroup(&l, pid)?;
    let kill_and_clean = |err: anyhow::Error| {
        end(pid);
        if let Some(path) = &cgroup {
            remove_cgroup(path);
        }
        err
    };
    child.release().map_err(|e| {
        kill_and_clean(anyhow::Error::new(e).context("cannot start the sandbox process"))
    })?;

    match read_report(sync_read) {
        Ok(BootReport::Ready) => {}
        Ok(BootReport::Failed { message }) => {
            return Err(kill_and_clean(anyhow::anyhow!("{message}")));
        }
        Err(err) => {
            let status = end(pid);
            if let Some(path) = &cgroup {
                remove_cgroup(path);
            }
            return Err(err.context(format!(
                "the sandbox process {pid} ended before it was ready ({})",
                describe_status(status)
            )));
        }
    }
    let start = crate::container::proc_stat(pid.as_raw())
        .ok()
        .map(|s| s.start);
    Ok(Launched {
        pid,
        start,
        control_socket: socket_path,
        cgroup,
    })
}

/// Puts the sandbox into its cgroup with the spec's limits. Without a
/// usable cgroup filesystem this is only an error when the spec asks for
/// limits.
fn join_cgroup(l: &Launch<'_>, pid: Pid) -> anyhow::Result<Option<CgroupPath>> {
    let linux = l.bundle.spec.linux().as_ref();
    let resources = linux.and_then(|x| x.resources().as_ref());
    let cgroups_path = linux.and_then(|x| x.cgroups_path().as_deref());
    let path = CgroupPath::from_spec(cgroups_path, l.id, l.global.systemd_cgroup)
        .with_context(|| format!("linux.cgroupsPath in {}", l.bundle.config_path().display()))?;
    let cg = match Cgroups::detect() {
        Ok(cg) => cg,
        Err(e) if resources.is_none() => {
            tracing::warn!("the sandbox gets no cgroup of its own: {e}");
            return Ok(None);
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot apply linux.resources")),
    };
    match cg.apply(&path, resources, pid) {
        Ok(()) => Ok(Some(path)),
        Err(e) if resources.is_none() && !nix::unistd::geteuid().is_root() => {
            tracing::warn!("the sandbox gets no cgroup of its own: {e}");
            Ok(None)
        }
        Err(e) => {
            let _ = cg.remove(&path);
            Err(anyhow::Error::new(e).context(format!(
                "cannot put the sandbox into cgroup {}",
                path.as_path().display()
            )))
        }
    }
}

/// Removes a cgroup, logging what went wrong.
pub fn remove_cgroup(path: &CgroupPath) {
    if let Err(e) = boot::cgroups::remove(path) {
        tracing::warn!("{:#}", anyhow::Error::new(e));
    }
}

/// Kills our child `pid` and reaps it; returns its wait status.
fn end(pid: Pid) -> i32 {
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, 0) };
        if r >= 0 || nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return status;
        }
    }
}

/// A wait status in words.
pub fn describe_status(status: i32) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let name = nix::sys::signal::Signal::try_from(sig)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {sig}"));
        if sig == libc::SIGSYS {
            format!("killed by {name}: a host system call its seccomp filter does not allow")
        } else {
            format!("killed by {name}")
        }
    } else {
        format!("wait status {status:#x}")
    }
}

/// Reads the sandbox's report: the first line written to the pipe.
fn read_report(pipe: OwnedFd) -> anyhow::Result<BootReport> {
    let mut text = String::new();
    std::fs::File::from(pipe)
        .read_to_string(&mut text)
        .context("cannot read the sandbox's report")?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        anyhow::bail!("it reported nothing");
    }
    serde_json::from_str(line).with_context(|| format!("its report {line:?} is not understood"))
}

/// A copy of `fd` numbered 10 or above (close-on-exec), so that moving
/// descriptors into place in the child cannot overwrite one another.
fn high_copy(fd: RawFd) -> anyhow::Result<OwnedFd> {
    // SAFETY: fcntl on a descriptor we hold; the result is ours.
    let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
    if n < 0 {
        return Err(std::io::Error::last_os_error()).context("cannot duplicate a descriptor");
    }
    // SAFETY: a fresh descriptor from fcntl.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// The `runsc boot` command line, ready for `execve`.
struct Exec {
    path: CString,
    /// Owners of the strings the pointer arrays point into.
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

impl Exec {
    fn prepare(
        global: &GlobalOpts,
        id: &str,
        bundle: &Bundle,
        debug_log: bool,
        console: bool,
        restore: Option<(&Path, bool)>,
    ) -> anyhow::Result<Exec> {
        let mut args: Vec<std::ffi::OsString> = vec!["runsc".into()];
        let root = std::path::absolute(global.state_root()).context("cannot resolve --root")?;
        args.extend(["--root".into(), root.into_os_string()]);
        args.extend(["--log-fd".into(), LOG_FD.to_string().into()]);
        if global.log.is_some() && global.log_format.is_json() {
            args.extend(["--log-format".into(), "json".into()]);
        }
        if global.debug {
            args.push("--debug".into());
        }
        if debug_log {
            args.extend(["--debug-log-fd".into(), DEBUG_LOG_FD.to_string().into()]);
            if global.debug_log_format.is_json() {
                args.extend(["--debug-log-format".into(), "json".into()]);
            }
        }
        if global.strace {
            args.push("--strace".into());
        }
        args.extend(["--network".into(), global.network.name().into()]);
        args.extend(["--platform".into(), global.platform.name().into()]);
        args.extend([
            "boot".into(),
            "--bundle".into(),
            bundle.dir.clone().into_os_string(),
            "--control-fd".into(),
            CONTROL_FD.to_string().into(),
            "--sync-fd".into(),
            SYNC_FD.to_string().into(),
            "--exit-fd".into(),
            EXIT_FD.to_string().into(),
        ]);
        if console {
            args.push("--console".into());
        }
        if let Some((path, eager)) = restore {
            args.extend([
                "--restore-fd".into(),
                RESTORE_FD.to_string().into(),
                "--restore-path".into(),
                path.as_os_str().to_owned(),
            ]);
            if eager {
                args.push("--restore-eager".into());
            }
        }
        args.push("--".into());
        args.push(id.into());
        let cstr = |s: &[u8]| CString::new(s).context("an argument holds a NUL byte");
        let argv = args
            .iter()
            .map(|a| cstr(a.as_bytes()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let envp = std::env::vars_os()
            .map(|(k, v)| {
                let mut e = k.as_bytes().to_vec();
                e.push(b'=');
                e.extend_from_slice(v.as_bytes());
                cstr(&e)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let pointers = |list: &[CString]| -> Vec<*const libc::c_char> {
            list.iter()
                .map(|a| a.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        let (argv_ptrs, envp_ptrs) = (pointers(&argv), pointers(&envp));
        let mut strings = argv;
        strings.extend(envp);
        Ok(Exec {
            path: CString::new("/proc/self/exe").expect("no NUL"),
            _strings: strings,
            argv: argv_ptrs,
            envp: envp_ptrs,
        })
    }

    /// In the forked child: moves descriptors into place and execs. Never
    /// returns; exits 127 if the exec fails (the parent reports it).
    fn run(&self, moves: &[(RawFd, RawFd)]) -> ! {
        // SAFETY: raw system calls on descriptors and strings prepared
        // before the fork; dup2 leaves the copies without close-on-exec.
        unsafe {
            for &(from, to) in moves {
                if libc::dup2(from, to) < 0 {
                    libc::_exit(126);
                }
            }
            libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
            libc::_exit(127)
        }
    }
}
