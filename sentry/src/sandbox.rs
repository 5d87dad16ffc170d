//! Starting a sandbox: the memory file, the platform, the file system, and
//! the first process; then the kernel's loop until the first process exits.

use crate::config::{Config, PlatformKind};
use crate::kernel::spawn::{rlimits_with, NewProcess, SpawnError};
use crate::kernel::task::Creds;
use crate::kernel::{Host, Kernel};
use crate::memory::{MemoryError, MemoryFile};
use crate::platform::ptrace::PtracePlatform;
use crate::platform::systrap::SystrapPlatform;
use crate::platform::{Platform, PlatformError};
pub use crate::state::image::LoadMode;
use crate::vfs::{Vfs, VfsError};
use std::collections::{HashMap, HashSet};

/// Why a sandbox could not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Memory(#[from] MemoryError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Vfs(#[from] VfsError),
    #[error("no command to run")]
    NoCommand,
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error(transparent)]
    Run(#[from] crate::kernel::run::RunError),
    #[error(transparent)]
    Image(#[from] crate::state::image::ImageError),
    #[error("restoring the sandbox's tasks failed: {0}")]
    Restore(#[from] crate::kernel::checkpoint::CheckpointError),
}

/// Runs `cfg.argv` in a new sandbox and returns its exit status as a shell
/// reports it (the code, or 128+N for a signal N).
pub fn run(cfg: Config) -> Result<i32, SandboxError> {
    let mut k = boot(&cfg)?;
    let status = k.run()?;
    Ok(status.shell_code())
}

/// Creates the platform `kind` for the memory file `memfd`. Call on the
/// thread that will run the kernel's loop, before it starts other threads.
pub fn new_platform(
    kind: PlatformKind,
    memfd: std::os::fd::RawFd,
) -> Result<Box<dyn Platform>, PlatformError> {
    Ok(match kind {
        PlatformKind::Ptrace => Box::new(PtracePlatform::new(memfd)?),
        PlatformKind::Systrap => Box::new(SystrapPlatform::new(memfd)?),
    })
}

/// Brings back a kernel from a checkpoint image (`path`: the image
/// directory or file): a fresh memory file with the saved pages, a new
/// platform of kind `platform`, and every task ready to go on where it was. Its host files
/// are those it was saved with (its root directory by the saved path).
pub fn restore(path: &std::path::Path, platform: PlatformKind) -> Result<Kernel, SandboxError> {
    restore_with(path, platform, LoadMode::default())
}

/// [`restore`], loading the pages in `mode`.
pub fn restore_with(
    path: &std::path::Path,
    platform: PlatformKind,
    mode: LoadMode,
) -> Result<Kernel, SandboxError> {
    let path = crate::state::image::image_path(path);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(crate::state::ImageError::Missing { path }.into())
        }
        Err(source) => return Err(crate::state::ImageError::Open { path, source }.into()),
    };
    let mut loaded = load_image(file, &path, mode)?;
    loaded.reattach_stdio();
    let platform = new_platform(platform, loaded.memory_fd())?;
    loaded.start(platform)
}

/// A kernel read from an image with its memory file, before it has a
/// platform: what a confined sandbox prepares before it confines itself.
pub struct Loaded {
    pub meta: crate::state::Meta,
    kernel: Kernel,
    mf: MemoryFile,
}

/// Checks the image open as `file` (`path` names it) and loads it into a
/// fresh memory file, in `mode`: eagerly, every page is copied and checked
/// here; lazily, only the header, state and memory map are, and the pages
/// load once the kernel runs ([`crate::memory::lazy`]). Nothing runs yet.
pub fn load_image(
    file: std::fs::File,
    path: &std::path::Path,
    mode: LoadMode,
) -> Result<Loaded, SandboxError> {
    let mut mf = MemoryFile::new()?;
    let (meta, kernel) = crate::state::load_file(file, path, &mut mf, mode)?;
    Ok(Loaded { meta, kernel, mf })
}

impl Loaded {
    /// The memory file, which the platform's stubs map.
    pub fn memory_fd(&self) -> std::os::fd::RawFd {
        self.mf.raw_fd()
    }

    /// Takes the calling process's stdio as the sandbox's (see
    /// [`Vfs::reattach_host`]).
    pub fn reattach_stdio(&mut self) {
        self.kernel.vfs.reattach_host();
    }

    /// Makes host directory `root` the restored root filesystem's lower
    /// layer (see [`Vfs::reattach_root`]).
    pub fn reattach_root(&mut self, root: &std::path::Path) -> Result<(), SandboxError> {
        Ok(self.kernel.vfs.reattach_root(root)?)
    }

    /// Gives the kernel its host side on `platform` and readies every task:
    /// the kernel runs (unpaused) from here.
    /// Pages still in the image (lazy restore) start loading in the
    /// background here, once the stubs are rebuilt.
    pub fn start(self, platform: Box<dyn Platform>) -> Result<Kernel, SandboxError> {
        let Loaded { mut kernel, mf, .. } = self;
        kernel.host = Some(Host {
            mf,
            platform,
            threads: HashMap::new(),
            logged_enosys: HashSet::new(),
            forward: crate::kernel::run::forwarding_signalfd(),
            forward_to_foreground: false,
            held: Vec::new(),
            patch: Default::default(),
        });
        kernel.paused = false;
        kernel.rebuild_host()?;
        kernel
            .host()
            .mf
            .start_loaders(crate::memory::lazy::LOADER_THREADS);
        Ok(kernel)
    }
}

/// Tests that boot kernels hold this: a process drives one platform at a
/// time (concurrent ones steal each other's stub stops and exits).
#[cfg(test)]
pub(crate) static TEST_BOOT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds a kernel whose init process is ready to run `cfg.argv`.
pub fn boot(cfg: &Config) -> Result<Kernel, SandboxError> {
    let files = open_host_files(cfg)?;
    let platform = new_platform(cfg.platform, files.memory_fd())?;
    boot_on(cfg, files, platform)
}

/// What a sandbox opens on the host before it is confined: the memory
/// file and the root directory.
pub struct HostFiles {
    mf: MemoryFile,
    vfs: Vfs,
}

impl HostFiles {
    /// The memory file, which the platform's stubs map.
    pub fn memory_fd(&self) -> std::os::fd::RawFd {
        self.mf.raw_fd()
    }
}

/// Opens the host files of a sandbox for `cfg`. A confined sandbox calls
/// this before it gives up its view of the host.
pub fn open_host_files(cfg: &Config) -> Result<HostFiles, SandboxError> {
    if cfg.argv.is_empty() {
        return Err(SandboxError::NoCommand);
    }
    Ok(HostFiles {
        mf: MemoryFile::new()?,
        vfs: Vfs::new(cfg)?,
    })
}

/// Builds a kernel on `files` and `platform` whose init process (with the
/// caller's stdio) is ready to run `cfg.argv`.
pub fn boot_on(
    cfg: &Config,
    files: HostFiles,
    platform: Box<dyn Platform>,
) -> Result<Kernel, SandboxError> {
    let host = Host {
        mf: files.mf,
        platform,
        threads: HashMap::new(),
        logged_enosys: HashSet::new(),
        forward: crate::kernel::run::forwarding_signalfd(),
        forward_to_foreground: false,
        held: Vec::new(),
        patch: Default::default(),
    };
    let mut k = Kernel::new(cfg, host, files.vfs);
    let binds = std::mem::take(&mut k.vfs.boot_binds);
    crate::vfs::mounts::apply(&mut k, cfg, &binds)?;
    let fdtable = k.vfs.new_fdtable_with_stdio();
    let mut creds = Creds::new(cfg.uid, cfg.gid, cfg.additional_gids.clone());
    if let Some(caps) = cfg.capabilities {
        creds.caps = caps;
    }
    let init = k.spawn_process(NewProcess {
        argv: cfg.argv.clone(),
        env: cfg.env.clone(),
        cwd: cfg.cwd.clone(),
        creds,
        rlimits: rlimits_with(&cfg.rlimits),
        fdtable,
        no_new_privs: false,
    })?;
    k.init = init;
    Ok(k)
}
