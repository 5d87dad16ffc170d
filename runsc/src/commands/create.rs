//! `create`: check the ID and the bundle, start the sandbox, and return
//! once the container is `created` (its init waits for `start`).

use super::{check_new_id, state_dir};
use crate::cli::create::Create;
use crate::cli::GlobalOpts;
use crate::container::hooks::{self, Stage};
use crate::container::{owner_name, ContainerStatus, State, StateDir};
use crate::sandbox::console;
use crate::sandbox::launch::{self, Launch, RestoreImage, Stdio};
use crate::timefmt;
use anyhow::Context;
use specutils::Bundle;
use std::os::fd::AsRawFd;
use std::path::Path;

pub fn create(global: &GlobalOpts, args: Create) -> anyhow::Result<()> {
    create_container(
        global,
        &NewContainer {
            id: &args.container_id,
            bundle: &args.bundle,
            console_socket: args.console_socket.as_deref(),
            pid_file: args.pid_file.as_deref(),
            preserve_fds: args.preserve_fds,
            own_terminal: false,
            restore: None,
        },
    )?;
    Ok(())
}

/// What `create` and `run` ask for.
pub(super) struct NewContainer<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    pub preserve_fds: u32,
    /// A foreground `run`: with `process.terminal` and no console socket,
    /// the caller's own terminal is the container's.
    pub own_terminal: bool,
    /// The sandbox restores this image instead of starting init.
    pub restore: Option<&'a RestoreImage>,
}

/// Creates the container; returns its state (`created`). On failure
/// nothing is left behind: no sandbox, no cgroup, no state.
pub(super) fn create_container(global: &GlobalOpts, c: &NewContainer<'_>) -> anyhow::Result<State> {
    check_new_id(global, c.id)?;
    let bundle = Bundle::load(c.bundle)?;
    check_spec(&bundle)?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    match (terminal, c.console_socket) {
        (true, None) if !c.own_terminal => anyhow::bail!(
            "process.terminal is set in {} but no --console-socket was given to send the terminal to",
            bundle.config_path().display()
        ),
        (false, Some(sock)) => anyhow::bail!(
            "--console-socket {} was given but process.terminal is not set in {}",
            sock.display(),
            bundle.config_path().display()
        ),
        _ => {}
    }
    if c.preserve_fds > 0 {
        tracing::warn!(
            "--preserve-fds {}: extra descriptors are not passed into the sandbox",
            c.preserve_fds
        );
    }

    let dir = state_dir(global);
    let mut state = State {
        oci_version: bundle.spec.version().clone(),
        id: c.id.to_string(),
        status: ContainerStatus::Creating,
        bundle: bundle.dir.clone(),
        rootfs: Some(bundle.root.clone()),
        created: timefmt::rfc3339(std::time::SystemTime::now()),
        annotations: bundle
            .spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        owner: owner_name(nix::unistd::geteuid().as_raw()),
        hooks: bundle.spec.hooks().clone(),
        ..Default::default()
    };
    dir.create(&state)?;
    match set_up(global, c, &bundle, &dir, &mut state, terminal) {
        Ok(()) => Ok(state),
        Err(err) => {
            tear_down(&dir, &state);
            Err(err)
        }
    }
}

/// Everything after the state directory exists.
fn set_up(
    global: &GlobalOpts,
    c: &NewContainer<'_>,
    bundle: &Bundle,
    dir: &StateDir,
    state: &mut State,
    terminal: bool,
) -> anyhow::Result<()> {
    let container_dir = dir.container_dir(c.id)?;
    let stdio = match (terminal, c.console_socket) {
        (true, Some(sock)) => {
            let pty = console::open_pty()?;
            let size = bundle
                .spec
                .process()
                .as_ref()
                .and_then(|p| p.console_size());
            if let Some(b) = size {
                console::set_window_size(
                    pty.master.as_raw_fd(),
                    b.height() as u16,
                    b.width() as u16,
                );
            }
            console::send_master(sock, &pty.master)?;
            Stdio::Console(Some(pty.slave))
        }
        (true, None) => {
            if !nix::unistd::isatty(0).unwrap_or(false) {
                anyhow::bail!(
                    "process.terminal is set in {} but standard input is not a terminal \
                     (give --console-socket, or run from a terminal)",
                    bundle.config_path().display()
                );
            }
            Stdio::Console(None)
        }
        (false, _) => Stdio::Inherit,
    };
    let launched = launch::launch(Launch {
        global,
        id: c.id,
        bundle,
        dir: &container_dir,
        stdio,
        restore: c.restore,
    })?;
    state.pid = Some(launched.pid.as_raw());
    state.pid_start = launched.start;
    state.control_socket = Some(launched.control_socket);
    state.cgroup = launched.cgroup.as_ref().map(|p| p.as_path().to_path_buf());
    dir.save(state)?;

    if let Some(h) = &state.hooks {
        #[allow(deprecated)]
        let before = [
            (Stage::Prestart, h.prestart()),
            (Stage::CreateRuntime, h.create_runtime()),
            (Stage::CreateContainer, h.create_container()),
        ];
        for (stage, list) in before {
            if let Some(list) = list {
                hooks::run(stage, list, &state.oci_state())?;
            }
        }
    }
    // The hooks have prepared the container's network namespace (Docker
    // moves the veth in from a prestart hook): its interfaces go to the
    // sandbox now, before init may run.
    if crate::sandbox::boot::network_handover(global.network.sentry(), bundle) {
        crate::sandbox::network::hand_over(state)?;
    }

    state.status = ContainerStatus::Created;
    dir.save(state)?;
    if let Some(path) = c.pid_file {
        write_pid_file(path, launched.pid.as_raw())?;
    }
    tracing::debug!(id = c.id, pid = launched.pid.as_raw(), "created");
    Ok(())
}

/// Refuses what the spec asks for that this runtime cannot do, naming it;
/// warns of what it does not do yet.
fn check_spec(bundle: &Bundle) -> anyhow::Result<()> {
    let config = bundle.config_path();
    specutils::mount_configs(
        bundle.spec.mounts().as_deref().unwrap_or_default(),
        &bundle.dir,
    )
    .with_context(|| format!("mounts in {}", config.display()))?;
    if let Some(h) = bundle.spec.hooks() {
        if h.start_container().as_ref().is_some_and(|l| !l.is_empty()) {
            anyhow::bail!(
                "{}: hooks.startContainer is not supported: the container's processes run \
                 inside the sandbox's kernel, where no host program can run",
                config.display()
            );
        }
    }
    Ok(())
}

/// Undoes a failed create: the sandbox, its cgroup, the state.
pub(super) fn tear_down(dir: &StateDir, state: &State) {
    if state.sandbox_alive() {
        if let Some(pid) = state.pid {
            super::delete::kill_sandbox(pid, state.pid_start);
        }
    }
    if let Some(path) = &state.cgroup {
        if let Ok(p) = boot::cgroups::CgroupPath::new(&path.to_string_lossy()) {
            launch::remove_cgroup(&p);
        }
    }
    if let Err(e) = dir.remove(&state.id) {
        tracing::warn!("{:#}", anyhow::Error::new(e));
    }
}

/// Writes `pid` to `path` as runc does: the number alone, no newline,
/// replaced whole.
pub(super) fn write_pid_file(path: &Path, pid: i32) -> anyhow::Result<()> {
    let path = std::path::absolute(path)
        .with_context(|| format!("cannot resolve the pid file {}", path.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("the pid file {} names no file", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        std::fs::write(&tmp, pid.to_string())?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("cannot write the pid file {}", path.display()))
    })
}
