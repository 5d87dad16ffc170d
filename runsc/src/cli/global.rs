//! Flags given before the command, as runc and runsc accept them.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Where container state lives when `--root` is not given and the caller is
/// root (or has no `XDG_RUNTIME_DIR`).
pub const DEFAULT_ROOT: &str = "/var/run/runsc";

#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// Directory that holds the state of every container [default:
    /// /var/run/runsc, or $XDG_RUNTIME_DIR/runsc for an unprivileged user]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Write log messages to FILE instead of standard error
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Format of log messages: one line of text, or one JSON object
    /// (level, msg, time) per line
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log debug messages too
    #[arg(long)]
    pub debug: bool,

    /// Also write debug messages to this file, or into this directory when
    /// the path ends with '/'; %TIMESTAMP% and %COMMAND% are replaced
    #[arg(long, value_name = "PATH")]
    pub debug_log: Option<PathBuf>,

    /// Format of the messages written to --debug-log
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub debug_log_format: LogFormat,

    /// Accepted for compatibility with runc; cgroups are not managed through
    /// systemd
    #[arg(long)]
    pub systemd_cgroup: bool,

    /// How application code is run and its system calls trapped
    #[arg(long, value_enum, value_name = "NAME", default_value_t = Platform::Systrap)]
    pub platform: Platform,

    /// Network given to the sandbox
    #[arg(long, value_enum, value_name = "MODE", default_value_t = NetworkMode::Sandbox)]
    pub network: NetworkMode,

    /// Log every system call of the application with its arguments and
    /// result
    #[arg(long)]
    pub strace: bool,

    /// Run without root privileges; alone it means true
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub rootless: Option<Rootless>,

    /// Accepted for compatibility with runc; checkpoints do not use CRIU
    #[arg(long, value_name = "PATH")]
    pub criu: Option<PathBuf>,

    /// Descriptor to log to instead of --log (internal: how create hands
    /// the sandbox its log, which the sandbox may not be able to open)
    #[arg(long, value_name = "FD", hide = true)]
    pub log_fd: Option<i32>,

    /// Descriptor of the debug log instead of --debug-log (internal)
    #[arg(long, value_name = "FD", hide = true)]
    pub debug_log_fd: Option<i32>,

    /// Print the version and the OCI runtime spec version
    #[arg(short = 'v', long)]
    pub version: bool,
}

impl GlobalOpts {
    /// The directory that holds container state: `--root`, or where runc
    /// and runsc put it for this caller.
    pub fn state_root(&self) -> PathBuf {
        if let Some(root) = &self.root {
            return root.clone();
        }
        let unprivileged = !nix::unistd::geteuid().is_root();
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) if unprivileged && !dir.is_empty() => PathBuf::from(dir).join("runsc"),
            _ => PathBuf::from(DEFAULT_ROOT),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
    /// JSON as Kubernetes reads it; written the same as json
    #[value(name = "json-k8s")]
    JsonK8s,
}

impl LogFormat {
    pub fn is_json(self) -> bool {
        matches!(self, LogFormat::Json | LogFormat::JsonK8s)
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Each application thread is traced with PTRACE_SYSEMU
    Ptrace,
    /// System calls trap through seccomp into a shared-memory stub
    Systrap,
    /// Application code runs in a virtual machine through /dev/kvm
    Kvm,
}

impl Platform {
    /// The sentry's platform for this flag value, or an error naming the
    /// flag for one this runtime does not have.
    pub fn kind(self) -> anyhow::Result<sentry::PlatformKind> {
        match self {
            Platform::Ptrace => Ok(sentry::PlatformKind::Ptrace),
            Platform::Systrap => Ok(sentry::PlatformKind::Systrap),
            Platform::Kvm => {
                anyhow::bail!("--platform kvm is not supported yet; use ptrace or systrap")
            }
        }
    }

    /// The flag value, as `--platform` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Ptrace => "ptrace",
            Platform::Systrap => "systrap",
            Platform::Kvm => "kvm",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkMode {
    /// A network stack inside the sandbox
    Sandbox,
    /// The host's network, through the sandbox's sockets
    Host,
    /// Loopback only
    None,
}

impl NetworkMode {
    /// The sentry's name for the mode.
    pub fn sentry(self) -> sentry::config::Network {
        match self {
            NetworkMode::Sandbox => sentry::config::Network::Sandbox,
            NetworkMode::Host => sentry::config::Network::Host,
            NetworkMode::None => sentry::config::Network::None,
        }
    }

    /// The flag's value.
    pub fn name(self) -> &'static str {
        match self {
            NetworkMode::Sandbox => "sandbox",
            NetworkMode::Host => "host",
            NetworkMode::None => "none",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rootless {
    True,
    False,
    Auto,
}
