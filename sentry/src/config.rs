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
    /// How application code runs (see `crate::platform`).
    #[serde(default)]
    pub platform: PlatformKind,
}

/// The platforms a sandbox can run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlatformKind {
    /// `PTRACE_SYSEMU` (`crate::platform::ptrace`).
    Ptrace,
    /// seccomp `SECCOMP_RET_TRAP` and shared memory
    /// (`crate::platform::systrap`), the default: several times faster.
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
            platform: PlatformKind::default(),
        }
    }
}
