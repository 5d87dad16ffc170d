//! `runsc boot`: the sandbox process. Started by `create` in the sandbox's
//! namespaces and cgroup, it opens what the sentry needs, confines itself
//! (the order is the `boot` crate's: empty root, no capabilities, the
//! platform's master stub, `no_new_privs`, seccomp), builds the kernel
//! with the container's init ready but not running, reports to `create`,
//! and serves the control socket until init has exited. Started by
//! `restore`, it loads a checkpoint image (handed over as a descriptor)
//! before it confines itself, instead of building a new kernel, and the
//! restored tasks run at once (or, in a network namespace of the
//! container's own, once `restore` has handed over the container's
//! interfaces: [`network_handover`]). It then exits with
//! init's status (128+N for a signal N), which is what engines waiting on
//! the sandbox's PID read.

use anyhow::Context;
use boot::confine::{self, DEFAULT_MOUNT_POINT};
use boot::rlimits::{self, SandboxNeeds};
use sentry::control::Server;
use sentry::kernel::task::ExitStatus;
use sentry::sandbox::LoadMode;
use serde::{Deserialize, Serialize};
use specutils::Bundle;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// What the sandbox process tells `create`, as one JSON line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootReport {
    /// Booted; init waits for `start`.
    Ready,
    /// Booting failed; `message` says why.
    Failed { message: String },
}

/// The file in the container's directory where the sandbox leaves init's
/// exit status before it exits.
pub const EXIT_FILE: &str = "exit.json";

/// What `runsc boot` is given.
pub struct BootArgs {
    pub id: String,
    pub bundle: PathBuf,
    /// The file for init's exit status ([`EXIT_FILE`]), open for writing.
    pub exit_fd: Option<RawFd>,
    pub control_fd: RawFd,
    pub sync_fd: Option<RawFd>,
    /// Stdio is a terminal: the container's console.
    pub console: bool,
    pub strace: bool,
    /// A checkpoint image to restore (its descriptor and its path).
    pub restore: Option<(RawFd, PathBuf)>,
    /// Load the image's pages before anything runs rather than lazily.
    pub restore_eager: bool,
    pub network: sentry::config::Network,
    pub platform: sentry::PlatformKind,
}

/// Runs the sandbox; returns the status to exit with.
pub fn boot(args: BootArgs) -> anyhow::Result<i32> {
    // SAFETY: `create` passes these descriptors to us alone.
    let sync = args
        .sync_fd
        .map(|fd| unsafe { std::fs::File::from_raw_fd(fd) });
    // SAFETY: as above.
    let control = unsafe { OwnedFd::from_raw_fd(args.control_fd) };
    let booted = start(&args, control);
    // SAFETY: as above.
    let exit = args
        .exit_fd
        .map(|fd| unsafe { std::fs::File::from_raw_fd(fd) });
    let (mut kernel, mut server) = match booted {
        Ok(b) => b,
        Err(err) => {
            if let Some(mut s) = sync {
                let report = BootReport::Failed {
                    message: format!("{err:#}"),
                };
                let _ = writeln!(s, "{}", serde_json::to_string(&report)?);
            }
            return Err(err);
        }
    };
    if let Some(mut s) = sync {
        writeln!(s, "{}", serde_json::to_string(&BootReport::Ready)?)
            .context("cannot report to create")?;
    }
    tracing::debug!(id = %args.id, "sandbox ready");
    let status = kernel.run_with(Some(&mut server))?;
    tracing::debug!(id = %args.id, ?status, "init exited");
    if let Some(mut file) = exit {
        let text = serde_json::to_vec(&status)?;
        if let Err(e) = file.write_all(&text) {
            tracing::warn!("cannot record the exit status in {EXIT_FILE}: {e}");
        }
    }
    Ok(status.shell_code())
}

/// Everything up to a booted kernel: returns it with the control server.
fn start(args: &BootArgs, control: OwnedFd) -> anyhow::Result<(sentry::kernel::Kernel, Server)> {
    let bundle = Bundle::load(&args.bundle)?;
    let mut cfg = specutils::sentry_config(&bundle);
    cfg.strace = args.strace;
    cfg.network = args.network;
    cfg.platform = args.platform;
    rlimits::prepare_host_limits(&SandboxNeeds::default())
        .context("cannot set the sandbox's own host limits")?;
    if args.console {
        take_console();
    }
    let filter = if cfg.network == sentry::config::Network::Host {
        confine::sentry_filter_host_network()
    } else {
        confine::sentry_filter()
    };
    let source = match &args.restore {
        Some((fd, path)) => {
            // SAFETY: `restore` passes this descriptor to us alone.
            let file = unsafe { std::fs::File::from_raw_fd(*fd) };
            let mode = if args.restore_eager {
                LoadMode::Eager
            } else {
                LoadMode::Lazy
            };
            let mut loaded = sentry::sandbox::load_image(file, path, mode)?;
            loaded.reattach_stdio();
            loaded.reattach_root(&cfg.root)?;
            Source::Image(Box::new(loaded))
        }
        None => Source::Boot(Box::new(sentry::sandbox::open_host_files(&cfg)?)),
    };
    // The container's interfaces come later, from the runtime, once the
    // engine's hooks have put them in the namespace (see
    // `sentry::net::host_if`).
    let network_later = network_handover(cfg.network, &bundle);
    let memory_fd = match &source {
        Source::Image(l) => l.memory_fd(),
        Source::Boot(f) => f.memory_fd(),
    };
    // Decided while /proc/cpuinfo is still reachable.
    sentry::vdso::tsc::tsc_usable();

    confine::enter_empty_root(std::path::Path::new(DEFAULT_MOUNT_POINT))
        .context("cannot confine the sandbox")?;
    confine::drop_capabilities().context("cannot confine the sandbox")?;
    let platform = sentry::sandbox::new_platform(cfg.platform, memory_fd)?;
    confine::set_no_new_privs().context("cannot confine the sandbox")?;
    confine::install(&filter).context("cannot confine the sandbox")?;

    let restored = matches!(source, Source::Image(_));
    let mut kernel = match source {
        Source::Boot(files) => {
            let mut kernel = sentry::sandbox::boot_on(&cfg, *files, platform)?;
            // Init waits for `start`.
            kernel.paused = true;
            kernel
        }
        Source::Image(loaded) => {
            let mut kernel = loaded.start(platform)?;
            kernel.strace = args.strace;
            kernel
        }
    };
    if cfg.network == sentry::config::Network::Sandbox && !network_later {
        // No interface comes: after a restore, what the stack served is
        // reset or waits for none (see `sentry::net::ext::attach`).
        sentry::net::ext::attach(&mut kernel, Vec::new());
    }
    if network_later && restored {
        // Restored tasks run once the interfaces are back: none of them
        // sees a network without the container's interface.
        kernel.pause_all();
    }
    if args.console {
        if kernel.vfs.stdio.tty_slot().is_some() {
            kernel.forward_to_console();
        } else {
            tracing::warn!("the container's stdio is not a terminal");
        }
    }
    let mut server = Server::new(control, restored).context("cannot serve the control socket")?;
    if network_later {
        server.expect_network(restored);
    }
    Ok((kernel, server))
}

/// True if the container's interfaces are handed to the sandbox over its
/// control socket (`Request::Network`) after it booted: with the sandbox's
/// own stack (`--network=sandbox`) and a network namespace of the
/// container's own in the spec (with `--network=host` the sandbox stays in
/// the caller's namespace and uses host sockets; with `none` there is no
/// interface).
pub fn network_handover(network: sentry::config::Network, bundle: &Bundle) -> bool {
    network == sentry::config::Network::Sandbox && has_netns(bundle)
}

/// True if the spec gives the container a network namespace (new or
/// joined).
fn has_netns(bundle: &Bundle) -> bool {
    use oci_spec::runtime::LinuxNamespaceType;
    bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network))
}

/// What the kernel is built from.
enum Source {
    Boot(Box<sentry::sandbox::HostFiles>),
    Image(Box<sentry::sandbox::Loaded>),
}

/// Makes stdin, a terminal, the sandbox process's controlling terminal, so
/// that what the terminal signals (Ctrl-C, a resize) reaches the sentry,
/// which passes it to the console's foreground process group. Fails
/// harmlessly when the terminal already belongs to another session (the
/// user's own terminal under `runsc run`): the runtime forwards those
/// signals then.
fn take_console() {
    // SAFETY: setsid and ioctl without pointers.
    unsafe {
        if libc::setsid() < 0 {
            tracing::debug!("setsid: {}", std::io::Error::last_os_error());
        }
        if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
            tracing::debug!(
                "the console stays without a host session: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Init's exit status as the sandbox left it in `dir`, if it did.
pub fn read_exit(dir: &std::path::Path) -> Option<ExitStatus> {
    let text = std::fs::read(dir.join(EXIT_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}
