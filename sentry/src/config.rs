//! What a sandbox is asked to run: the first process and the world it sees.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A resource limit as `setrlimit(2)` takes it; `u64::MAX` means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    /// `RLIMIT_*` number.
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// What a mount shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountKind {
    /// A host directory or file, written through.
    Bind {
        source: PathBuf,
    },
    /// An empty in-memory filesystem.
    Tmpfs,
    Proc,
    /// A minimal read-only sysfs (empty directories).
    Sysfs,
    /// The pseudo-terminal slaves; served at `/dev/pts` only.
    Devpts,
    /// POSIX message queues: an empty tmpfs-like directory (the sentry
    /// has no `mq_open`).
    Mqueue,
    /// A cgroup hierarchy: an empty read-only directory.
    Cgroup,
}

/// A mount the container asks for (an entry of the OCI spec's `mounts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountConfig {
    /// Absolute path inside the sandbox.
    pub destination: String,
    pub kind: MountKind,
    pub readonly: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
    /// `mode=` of a tmpfs (permission bits).
    pub mode: Option<u32>,
    /// `size=` of a tmpfs, in bytes (reported by `statfs`, not enforced).
    pub size: Option<u64>,
}

/// Everything the sentry needs to start a sandbox's init process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    /// Program and arguments; `argv[0]` is resolved against `PATH` in `env`
    /// when it holds no slash.
    pub argv: Vec<String>,
    /// `NAME=value` strings.
    pub env: Vec<String>,
    /// Working directory of the first process, inside the sandbox.
    pub cwd: String,
    /// Host directory that becomes the sandbox's `/`.
    pub root: PathBuf,
    /// Writes to the root stay in sandbox memory (copy-on-write overlay)
    /// instead of reaching the host directory.
    pub overlay: bool,
    /// The root is mounted read-only.
    pub readonly_root: bool,
    pub hostname: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub rlimits: Vec<Rlimit>,
    /// Log every system call with its arguments and result.
    pub strace: bool,
    /// Mount an empty tmpfs on `/tmp` (containers); otherwise `/tmp` is the
    /// root's, seen through the overlay (`runsc do`).
    #[serde(default)]
    pub tmp_tmpfs: bool,
    /// Mounts on top of the root, in order.
    #[serde(default)]
    pub mounts: Vec<MountConfig>,
    /// Paths hidden from the application: files read as empty (`/dev/null`
    /// is mounted on them), directories as an empty read-only tmpfs.
    #[serde(default)]
    pub masked_paths: Vec<String>,
    /// Paths made read-only (a read-only bind of themselves).
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    /// The first process's capability sets (`process.capabilities`);
    /// `None`: all of them for UID 0, none for others.
    #[serde(default)]
    pub capabilities: Option<crate::kernel::caps::Caps>,
    /// The network the application's sockets reach.
    #[serde(default)]
    pub network: Network,
    /// How application code runs (see `crate::platform`).
    #[serde(default)]
    pub platform: PlatformKind,
}

/// What inet sockets of the application are (`--network`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Network {
    /// The sandbox's own stack: its loopback interface.
    #[default]
    Sandbox,
    /// Loopback only (the sandbox's stack with no other interface).
    None,
    /// Inet sockets are host sockets of the sandbox process, in its
    /// network namespace.
    Host,
}

/// The platforms a sandbox can run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlatformKind {
    /// `PTRACE_SYSEMU` (`crate::platform::ptrace`).
    Ptrace,
    /// seccomp `SECCOMP_RET_TRAP` and shared memory
    /// (`crate::platform::systrap`), the default: no ptrace stops, and
    /// faster forks, thread starts and file calls (see `bench/`).
    #[default]
    Systrap,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            argv: Vec::new(),
            env: Vec::new(),
            cwd: "/".into(),
            root: "/".into(),
            overlay: true,
            readonly_root: false,
            hostname: "runsc".into(),
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            rlimits: Vec::new(),
            strace: false,
            tmp_tmpfs: true,
            mounts: Vec::new(),
            masked_paths: Vec::new(),
            readonly_paths: Vec::new(),
            capabilities: None,
            network: Network::Sandbox,
            platform: PlatformKind::default(),
        }
    }
}
