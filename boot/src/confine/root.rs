//! Replacing the sandbox's root with an empty, read-only tmpfs.
//!
//! After [`enter_empty_root`] no host path resolves to anything: the sentry
//! reaches host files only through the descriptors it opened before.

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::path::{Path, PathBuf};

/// Where the empty tmpfs is mounted before it becomes the root. Any
/// existing directory works: the mount is made in the sandbox's own
/// private mount namespace, so the host never sees it. `/proc` exists on
/// every host runsc runs on.
pub const DEFAULT_MOUNT_POINT: &str = "/proc";

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("creating a private mount namespace for the empty root failed: {0}")]
    Unshare(Errno),
    #[error("making every mount under / private failed: {0}")]
    MakePrivate(Errno),
    #[error("mounting the empty tmpfs on {path} failed: {errno}")]
    MountTmpfs { path: PathBuf, errno: Errno },
    #[error("changing directory to {path} failed: {errno}")]
    Chdir { path: PathBuf, errno: Errno },
    #[error("pivot_root into the empty tmpfs at {path} failed: {errno}")]
    PivotRoot { path: PathBuf, errno: Errno },
    #[error("detaching the old root failed: {0}")]
    DetachOldRoot(Errno),
    #[error("remounting the empty root read-only failed: {0}")]
    ReadOnly(Errno),
}

/// Moves the calling process into a new mount namespace whose root is an
/// empty read-only tmpfs, with the old root detached.
///
/// Steps: `unshare(CLONE_NEWNS)` (so nothing here can reach the host's
/// mount table or propagate to it); every mount made private; a tmpfs
/// mounted on `mount_point`; `pivot_root(".", ".")` from inside it, which
/// stacks the old root on the same place; the old root lazily unmounted;
/// the new root remounted read-only, `nosuid`, `nodev`, `noexec`.
///
/// Needs `CAP_SYS_ADMIN` in the process's user namespace. Call it while the
/// process has one thread: a mount namespace is per thread until
/// `execve`. Makes no allocation for paths shorter than 1 KiB.
pub fn enter_empty_root(mount_point: &Path) -> Result<(), RootError> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(RootError::Unshare)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(RootError::MakePrivate)?;
    let hardening = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("runsc-root"),
        mount_point,
        Some("tmpfs"),
        hardening,
        Some("mode=0555,size=4k,nr_inodes=2"),
    )
    .map_err(|errno| RootError::MountTmpfs {
        path: mount_point.to_owned(),
        errno,
    })?;
    nix::unistd::chdir(mount_point).map_err(|errno| RootError::Chdir {
        path: mount_point.to_owned(),
        errno,
    })?;
    nix::unistd::pivot_root(".", ".").map_err(|errno| RootError::PivotRoot {
        path: mount_point.to_owned(),
        errno,
    })?;
    // The old root now sits on top of the new one at "."; unmounting it
    // uncovers the tmpfs.
    umount2(".", MntFlags::MNT_DETACH).map_err(RootError::DetachOldRoot)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | hardening,
        None::<&str>,
    )
    .map_err(RootError::ReadOnly)?;
    nix::unistd::chdir("/").map_err(|errno| RootError::Chdir {
        path: "/".into(),
        errno,
    })?;
    Ok(())
}
