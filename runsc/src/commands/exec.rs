//! `exec`: run another process in a running container. The process runs
//! inside the sandbox's kernel; its stdio are this command's (or a new
//! terminal's) descriptors, passed over the control socket.
//!
//! In the foreground, `exec` passes signals on, and exits with the
//! process's status. With `--detach`, a small host process (a fork of this
//! one) holds the connection and waits: it lives exactly as long as the
//! process inside and exits with its status, and `--pid-file` names it, so
//! that engines (conmon, containerd's shim) can wait for it.

use super::create::write_pid_file;
use super::load;
use crate::cli::exec::Exec;
use crate::cli::GlobalOpts;
use crate::container::{ContainerStatus, Operation, State};
use crate::sandbox::client::unexpected;
use crate::sandbox::console::{self, Pty};
use crate::sandbox::signals::Blocked;
use crate::sandbox::{Client, ClientError};
use anyhow::Context;
use oci_spec::runtime::Process;
use sentry::control::protocol::{ExecSpec, Reply, Request, SignalTarget};
use sentry::kernel::task::ExitStatus;
use sentry::Rlimit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

/// The status a holder exits with when the sandbox went away under the
/// process (it was killed with it): 128 + SIGKILL.
const KILLED_WITH_SANDBOX: i32 = 137;

pub fn exec(global: &GlobalOpts, args: Exec) -> anyhow::Result<i32> {
    if args.process.is_none() && args.command.is_empty() {
        anyhow::bail!("exec needs a command to run, or --process with a process.json");
    }
    let id = &args.container_id;
    let state = load(global, id)?;
    let status = state.observed_status();
    if !(args.ignore_paused && status == ContainerStatus::Paused) {
        status.check(id, Operation::Exec)?;
    }
    let (spec, console_size) = exec_spec(&state, &args)?;
    if spec.terminal && args.detach && args.console_socket.is_none() {
        anyhow::bail!("exec --tty --detach needs --console-socket to send the terminal to");
    }
    if !spec.terminal && args.console_socket.is_some() {
        anyhow::bail!("exec --console-socket needs --tty (or process.terminal in --process)");
    }
    if args.preserve_fds > 0 {
        tracing::warn!(
            "--preserve-fds {}: extra descriptors are not passed into the sandbox",
            args.preserve_fds
        );
    }
    // Blocked before the process exists, so that no signal is lost.
    let signals = (!args.detach).then(Blocked::new);
    let pty = if spec.terminal {
        let pty = console::open_pty()?;
        if let Some((rows, cols)) = console_size {
            console::set_window_size(pty.master.as_raw_fd(), rows, cols);
        }
        if let Some(sock) = &args.console_socket {
            console::send_master(sock, &pty.master)?;
        }
        Some(pty)
    } else {
        None
    };
    let stdio: [RawFd; 3] = match &pty {
        Some(p) => [p.slave.as_raw_fd(); 3],
        None => [0, 1, 2],
    };
    let mut client = Client::connect(&state)?;
    let pid = match client.call(&Request::Exec(spec), &stdio)? {
        Reply::Started { pid } => pid,
        r => return Err(unexpected("exec", &r)),
    };
    tracing::debug!(id = %id, pid, "exec started");
    // The sandbox holds the terminal's slave end now.
    let master = pty.map(|Pty { master, slave }| {
        drop(slave);
        master
    });

    if args.detach {
        let holder = spawn_holder(client, pid)?;
        if let Some(path) = &args.pid_file {
            write_pid_file(path, holder)?;
        }
        return Ok(0);
    }
    if let Some(path) = &args.pid_file {
        write_pid_file(path, std::process::id() as i32)?;
    }
    let signals = signals.expect("blocked in the foreground");
    let proxy = match (&args.console_socket, master) {
        (None, Some(m)) => Some(TerminalProxy::new(m)?),
        _ => None,
    };
    Ok(wait_foreground(&mut client, pid, &signals, proxy))
}

/// The process to start: `--process` or the command line, over the
/// container's own process (env, cwd, user) as runc does.
fn exec_spec(state: &State, args: &Exec) -> anyhow::Result<(ExecSpec, Option<(u16, u16)>)> {
    let bundle = specutils::Bundle::load(&state.bundle)
        .with_context(|| format!("cannot read the spec of container {:?}", state.id))?;
    let base = bundle.spec.process().clone().unwrap_or_default();
    let process: Process = match &args.process {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --process {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| {
                format!("--process {} is not a valid OCI process", path.display())
            })?
        }
        None => base.clone(),
    };
    let argv = match &args.process {
        Some(path) => process
            .args()
            .clone()
            .filter(|a| !a.is_empty())
            .with_context(|| format!("--process {}: args is empty", path.display()))?,
        None => args.command.clone(),
    };
    let mut env = process.env().clone().unwrap_or_default();
    for entry in &args.env {
        match entry.split_once('=') {
            Some((name, _)) if !name.is_empty() => set_env(&mut env, name, entry),
            _ => anyhow::bail!("--env {entry:?}: expected NAME=value"),
        }
    }
    let cwd = match &args.cwd {
        Some(dir) if dir.is_absolute() => dir.to_string_lossy().into_owned(),
        Some(dir) => anyhow::bail!("--cwd {}: give an absolute path", dir.display()),
        None => process.cwd().to_string_lossy().into_owned(),
    };
    let user = process.user();
    let (mut uid, mut gid) = (user.uid(), user.gid());
    let mut additional_gids = user.additional_gids().clone().unwrap_or_default();
    if let Some(text) = &args.user {
        (uid, gid) = parse_user(text, &bundle.root)?;
    }
    if !args.additional_gids.is_empty() {
        additional_gids = args.additional_gids.clone();
    }
    let rlimits = process
        .rlimits()
        .iter()
        .flatten()
        .map(|r| Rlimit {
            resource: specutils::rlimit_type_number(r.typ()),
            soft: r.soft(),
            hard: r.hard(),
        })
        .collect();
    let terminal = args.tty || (args.process.is_some() && process.terminal().unwrap_or(false));
    let size = process
        .console_size()
        .map(|b| (b.height() as u16, b.width() as u16));
    Ok((
        ExecSpec {
            argv,
            env,
            cwd,
            uid,
            gid,
            additional_gids,
            rlimits,
            terminal,
            no_new_privs: args.no_new_privs || process.no_new_privileges().unwrap_or(false),
            capabilities: process
                .capabilities()
                .as_ref()
                .map(specutils::sandbox_config::caps_of),
        },
        size,
    ))
}

/// `UID[:GID]`, numbers or names from the container's `/etc/passwd` and
/// `/etc/group`.
fn parse_user(text: &str, rootfs: &Path) -> anyhow::Result<(u32, u32)> {
    let (user, group) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let (uid, primary) = match user.parse::<u32>() {
        Ok(uid) => {
            let primary = passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 3 && f[2] == user)
                .and_then(|f| f[3].parse().ok());
            (uid, primary)
        }
        Err(_) => {
            let fields = passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 3 && f[0] == user)
                .with_context(|| {
                    format!("--user {text}: no user {user:?} in the container's /etc/passwd")
                })?;
            let uid = fields[2]
                .parse()
                .with_context(|| format!("--user {text}: bad uid in /etc/passwd"))?;
            (uid, fields[3].parse().ok())
        }
    };
    let gid = match group {
        None => primary.unwrap_or(0),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let groups = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
                groups
                    .lines()
                    .map(|l| l.split(':').collect::<Vec<_>>())
                    .find(|f| f.len() > 2 && f[0] == g)
                    .and_then(|f| f[2].parse().ok())
                    .with_context(|| {
                        format!("--user {text}: no group {g:?} in the container's /etc/group")
                    })?
            }
        },
    };
    Ok((uid, gid))
}

/// Sets `name` to the `name=value` in `entry`, in place or at the end.
fn set_env(env: &mut Vec<String>, name: &str, entry: &str) {
    let prefix = format!("{name}=");
    match env.iter_mut().find(|e| e.starts_with(&prefix)) {
        Some(e) => *e = entry.to_string(),
        None => env.push(entry.to_string()),
    }
}

/// Forks the holder of a detached exec: it waits for process `pid` on
/// `client`'s connection and exits with its status. Returns its PID.
fn spawn_holder(client: Client, pid: i32) -> anyhow::Result<i32> {
    // SAFETY: this process has one thread; the child only talks on the
    // connection it inherited and exits.
    match unsafe { nix::unistd::fork() }.context("cannot fork the exec's holder process")? {
        nix::unistd::ForkResult::Parent { child } => Ok(child.as_raw()),
        nix::unistd::ForkResult::Child => {
            let code = hold(client, pid);
            // SAFETY: ends the forked process without running the
            // parent's exit handlers a second time.
            unsafe { libc::_exit(code) }
        }
    }
}

/// The holder: detached from the caller's stdio, it waits for the process.
fn hold(mut client: Client, pid: i32) -> i32 {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own stdio.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    match client.call(&Request::Wait { pid: Some(pid) }, &[]) {
        Ok(Reply::Exited { status, .. }) => status.shell_code(),
        Ok(_) => 1,
        Err(ClientError::Wire { .. } | ClientError::Stopped { .. }) => KILLED_WITH_SANDBOX,
        Err(_) => 1,
    }
}

/// Waits for `pid` to exit, passing signals on (and copying between this
/// process's stdio and the terminal, when there is a proxy). Returns the
/// status to exit with.
fn wait_foreground(
    client: &mut Client,
    pid: i32,
    signals: &Blocked,
    mut proxy: Option<TerminalProxy>,
) -> i32 {
    if let Err(e) =
        sentry::control::wire::send(client.socket(), &Request::Wait { pid: Some(pid) }, &[])
    {
        tracing::warn!("cannot wait for process {pid}: {e}");
        return 1;
    }
    // Signals go over a second connection: the first is busy with the
    // wait.
    let mut signaller: Option<Client> = None;
    let sock = client.socket().as_raw_fd();
    loop {
        let mut fds = vec![libc::pollfd {
            fd: sock,
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(p) = &proxy {
            p.poll_fds(&mut fds);
        }
        // SAFETY: poll over a live array.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) };
        if let Some(p) = &mut proxy {
            p.pump(&fds[1..]);
        }
        if fds[0].revents != 0 {
            let code = match client.reply() {
                Ok(Reply::Exited { status, .. }) => status_code(status),
                Ok(r) => {
                    tracing::warn!("{}", unexpected("wait", &r));
                    1
                }
                Err(ClientError::Wire { .. } | ClientError::Stopped { .. }) => KILLED_WITH_SANDBOX,
                Err(e) => {
                    tracing::warn!("{e}");
                    1
                }
            };
            if let Some(p) = &mut proxy {
                p.drain();
            }
            return code;
        }
        while let Some(got) = signals.next(Duration::ZERO) {
            if got.signal == libc::SIGCHLD {
                continue;
            }
            if got.signal == libc::SIGWINCH {
                if let Some(p) = &proxy {
                    p.copy_window_size();
                    continue;
                }
            }
            // A terminal's own signals reach the process through its
            // terminal when there is one of ours in between.
            let target = if proxy.is_some() {
                SignalTarget::ForegroundOf(pid)
            } else {
                SignalTarget::Process(pid)
            };
            if signaller.is_none() {
                signaller = Client::connect_again(client).ok();
            }
            if let Some(s) = &mut signaller {
                let req = Request::Signal {
                    signal: got.signal,
                    target,
                };
                if let Err(e) = s.call(&req, &[]) {
                    tracing::debug!("signal {} not forwarded: {e}", got.signal);
                }
            }
        }
    }
}

fn status_code(status: ExitStatus) -> i32 {
    status.shell_code()
}

/// Copies between this process's stdio and a terminal's master end, for
/// `exec --tty` without a console socket; this process's terminal (if it
/// is one) is put in raw mode meanwhile.
struct TerminalProxy {
    master: OwnedFd,
    saved: Option<nix::sys::termios::Termios>,
    stdin_open: bool,
}

impl TerminalProxy {
    fn new(master: OwnedFd) -> anyhow::Result<TerminalProxy> {
        use nix::sys::termios;
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, &raw)
                .context("cannot put the terminal in raw mode")?;
        }
        let p = TerminalProxy {
            master,
            saved,
            stdin_open: true,
        };
        p.copy_window_size();
        Ok(p)
    }

    fn copy_window_size(&self) {
        let mut ws: libc::winsize = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes a winsize into a valid pointer.
        if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0 {
            console::set_window_size(self.master.as_raw_fd(), ws.ws_row, ws.ws_col);
        }
    }

    fn poll_fds(&self, fds: &mut Vec<libc::pollfd>) {
        fds.push(libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        fds.push(libc::pollfd {
            fd: if self.stdin_open { 0 } else { -1 },
            events: libc::POLLIN,
            revents: 0,
        });
    }

    /// Moves what is ready: `ready` are the pollfds of [`poll_fds`].
    fn pump(&mut self, ready: &[libc::pollfd]) {
        let mut buf = [0u8; 16 * 1024];
        if ready[0].revents & libc::POLLIN != 0 {
            if let Ok(n) = nix::unistd::read(self.master.as_raw_fd(), &mut buf) {
                write_all(1, &buf[..n]);
            }
        }
        if ready[1].revents != 0 {
            match nix::unistd::read(0, &mut buf) {
                Ok(0) | Err(_) => self.stdin_open = false,
                Ok(n) => write_all(self.master.as_raw_fd(), &buf[..n]),
            }
        }
    }

    /// Copies the terminal output left after the process exited.
    fn drain(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let mut p = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one live pollfd.
            if unsafe { libc::poll(&mut p, 1, 0) } <= 0 || p.revents & libc::POLLIN == 0 {
                return;
            }
            match nix::unistd::read(self.master.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => write_all(1, &buf[..n]),
                _ => return,
            }
        }
    }
}

impl Drop for TerminalProxy {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: write from a live buffer to a descriptor we hold.
        let n = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
        if n <= 0 {
            return;
        }
        data = &data[n as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn users_by_number_and_by_name() {
        let root = TempDir::new();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:33:44:web:/var/www:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(root.path().join("etc/group"), "root:x:0:\nstaff:x:50:web\n").unwrap();
        let r = root.path();
        assert_eq!(parse_user("1000", r).unwrap(), (1000, 0));
        assert_eq!(parse_user("1000:7", r).unwrap(), (1000, 7));
        assert_eq!(parse_user("33", r).unwrap(), (33, 44));
        assert_eq!(parse_user("web", r).unwrap(), (33, 44));
        assert_eq!(parse_user("web:staff", r).unwrap(), (33, 50));
        let err = parse_user("nobody", r).unwrap_err().to_string();
        assert_eq!(
            err,
            "--user nobody: no user \"nobody\" in the container's /etc/passwd"
        );
        let err = parse_user("web:wheel", r).unwrap_err().to_string();
        assert!(err.contains("no group \"wheel\""), "{err}");
    }

    #[test]
    fn env_entries_replace_or_append() {
        let mut env = vec!["PATH=/bin".to_string(), "A=1".into()];
        set_env(&mut env, "A", "A=2");
        set_env(&mut env, "B", "B=3");
        assert_eq!(env, ["PATH=/bin", "A=2", "B=3"]);
    }
}
