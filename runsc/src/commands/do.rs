//! `do`: run a command in a sandbox whose root is the host's own root,
//! seen through a copy-on-write overlay so that writes stay in the sandbox.
//! The command inherits the caller's environment, working directory,
//! identity and resource limits.

use crate::cli::r#do::Do;
use crate::cli::GlobalOpts;
use crate::sandbox;
use anyhow::Context;
use nix::sys::resource::{getrlimit, Resource};
use sentry::{Config, Rlimit};
use std::path::PathBuf;

pub fn run_do(global: &GlobalOpts, args: Do) -> anyhow::Result<i32> {
    let mut config = config_for(args, global.strace, Caller::current()?)?;
    config.network = global.network.sentry();
    config.platform = global.platform.kind()?;
    tracing::debug!(argv = ?config.argv, cwd = %config.cwd, "running in a sandbox");
    sandbox::run_do(config)
}

/// What the sandbox inherits from whoever runs `runsc do`.
struct Caller {
    env: Vec<String>,
    cwd: PathBuf,
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    rlimits: Vec<Rlimit>,
    hostname: String,
}

/// Every limit, as nix names it and as the spec does.
const LIMITS: [(Resource, &str); 16] = [
    (Resource::RLIMIT_CPU, "RLIMIT_CPU"),
    (Resource::RLIMIT_FSIZE, "RLIMIT_FSIZE"),
    (Resource::RLIMIT_DATA, "RLIMIT_DATA"),
    (Resource::RLIMIT_STACK, "RLIMIT_STACK"),
    (Resource::RLIMIT_CORE, "RLIMIT_CORE"),
    (Resource::RLIMIT_RSS, "RLIMIT_RSS"),
    (Resource::RLIMIT_NPROC, "RLIMIT_NPROC"),
    (Resource::RLIMIT_NOFILE, "RLIMIT_NOFILE"),
    (Resource::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
    (Resource::RLIMIT_AS, "RLIMIT_AS"),
    (Resource::RLIMIT_LOCKS, "RLIMIT_LOCKS"),
    (Resource::RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"),
    (Resource::RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"),
    (Resource::RLIMIT_NICE, "RLIMIT_NICE"),
    (Resource::RLIMIT_RTPRIO, "RLIMIT_RTPRIO"),
    (Resource::RLIMIT_RTTIME, "RLIMIT_RTTIME"),
];

impl Caller {
    fn current() -> anyhow::Result<Caller> {
        let mut env = Vec::new();
        for (name, value) in std::env::vars_os() {
            match (name.to_str(), value.to_str()) {
                (Some(name), Some(value)) => env.push(format!("{name}={value}")),
                _ => tracing::warn!(
                    name = %name.to_string_lossy(),
                    "leaving out an environment variable that is not UTF-8"
                ),
            }
        }
        let mut rlimits = Vec::new();
        for (resource, name) in LIMITS {
            let (soft, hard) =
                getrlimit(resource).with_context(|| format!("cannot read {name}"))?;
            let number =
                specutils::rlimit_number(name).with_context(|| format!("{name} has no number"))?;
            rlimits.push(Rlimit {
                resource: number,
                soft,
                hard,
            });
        }
        Ok(Caller {
            env,
            cwd: std::env::current_dir().context("cannot find the current directory")?,
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            groups: nix::unistd::getgroups()
                .context("cannot read the supplementary groups")?
                .into_iter()
                .map(|gid| gid.as_raw())
                .collect(),
            rlimits,
            hostname: nix::unistd::gethostname()
                .ok()
                .and_then(|name| name.into_string().ok())
                .unwrap_or_else(|| Config::default().hostname),
        })
    }
}

/// The sandbox configuration for `args`, run by `caller`.
fn config_for(args: Do, strace: bool, caller: Caller) -> anyhow::Result<Config> {
    let mut env = caller.env;
    for entry in &args.env {
        match entry.split_once('=') {
            Some((name, _)) if !name.is_empty() => set_env(&mut env, name, entry),
            _ => anyhow::bail!("--env {entry:?}: expected NAME=value"),
        }
    }
    let cwd = match args.cwd {
        Some(dir) => caller.cwd.join(dir),
        None => caller.cwd,
    };
    if !cwd.is_dir() {
        anyhow::bail!("working directory {} does not exist", cwd.display());
    }
    let cwd = cwd
        .into_os_string()
        .into_string()
        .map_err(|dir| anyhow::anyhow!("working directory {dir:?} is not UTF-8"))?;
    Ok(Config {
        argv: args.command,
        env,
        cwd,
        root: "/".into(),
        overlay: true,
        readonly_root: false,
        hostname: caller.hostname,
        uid: caller.uid,
        gid: caller.gid,
        additional_gids: caller.groups,
        rlimits: caller.rlimits,
        strace: strace || args.strace,
        tmp_tmpfs: false,
        ..Config::default()
    })
}

/// Sets `name` to the `name=value` in `entry`, in place if it is already
/// set, at the end otherwise.
fn set_env(env: &mut Vec<String>, name: &str, entry: &str) {
    let prefix = format!("{name}=");
    match env
        .iter_mut()
        .find(|existing| existing.starts_with(&prefix))
    {
        Some(existing) => *existing = entry.to_string(),
        None => env.push(entry.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            env: vec!["PATH=/bin".into(), "HOME=/root".into()],
            cwd: "/".into(),
            uid: 1000,
            gid: 100,
            groups: vec![100, 27],
            rlimits: vec![Rlimit {
                resource: 7,
                soft: 1024,
                hard: 4096,
            }],
            hostname: "host".into(),
        }
    }

    fn args(command: &[&str]) -> Do {
        Do {
            cwd: None,
            env: Vec::new(),
            strace: false,
            command: command.iter().map(|arg| arg.to_string()).collect(),
        }
    }

    #[test]
    fn inherits_the_caller() {
        let config = config_for(args(&["ls", "-la"]), false, caller()).unwrap();
        assert_eq!(config.argv, ["ls", "-la"]);
        assert_eq!(config.env, ["PATH=/bin", "HOME=/root"]);
        assert_eq!(config.cwd, "/");
        assert_eq!(config.root, PathBuf::from("/"));
        assert!(config.overlay && !config.readonly_root);
        assert_eq!((config.uid, config.gid), (1000, 100));
        assert_eq!(config.additional_gids, [100, 27]);
        assert_eq!(config.rlimits, caller().rlimits);
        assert_eq!(config.hostname, "host");
        assert!(!config.strace);
    }

    #[test]
    fn env_flags_override_in_place_or_append() {
        let mut a = args(&["env"]);
        a.env = vec!["HOME=/tmp".into(), "NEW=a=b".into(), "EMPTY=".into()];
        let config = config_for(a, false, caller()).unwrap();
        assert_eq!(config.env, ["PATH=/bin", "HOME=/tmp", "NEW=a=b", "EMPTY="]);

        for bad in ["NOVALUE", "=x"] {
            let mut a = args(&["env"]);
            a.env = vec![bad.into()];
            let err = config_for(a, false, caller()).unwrap_err().to_string();
            assert_eq!(err, format!("--env {bad:?}: expected NAME=value"));
        }
    }

    #[test]
    fn cwd_is_resolved_against_the_callers() {
        let mut a = args(&["pwd"]);
        a.cwd = Some("tmp".into());
        assert_eq!(config_for(a, false, caller()).unwrap().cwd, "/tmp");

        let mut a = args(&["pwd"]);
        a.cwd = Some("/nonexistent-dir".into());
        let err = config_for(a, false, caller()).unwrap_err().to_string();
        assert_eq!(err, "working directory /nonexistent-dir does not exist");
    }

    #[test]
    fn strace_from_either_flag() {
        assert!(config_for(args(&["true"]), true, caller()).unwrap().strace);
        let mut a = args(&["true"]);
        a.strace = true;
        assert!(config_for(a, false, caller()).unwrap().strace);
    }

    #[test]
    fn the_real_caller_can_be_read() {
        let caller = Caller::current().unwrap();
        assert_eq!(caller.rlimits.len(), 16);
        let nofile = caller.rlimits.iter().find(|r| r.resource == 7).unwrap();
        assert!(nofile.soft <= nofile.hard);
        assert!(caller.cwd.is_absolute());
    }
}
