//! The mounts a sandbox's configuration asks for ([`Config::mounts`]),
//! then its masked and read-only paths, on top of the standard ones
//! (procfs at `/proc`, devtmpfs at `/dev` with `/dev/pts` and `/dev/shm`,
//! tmpfs at `/tmp`).
//!
//! Two steps, because the host is out of reach once the sandbox is
//! confined: [`open_sources`] opens every bind mount's source (at
//! [`Vfs::new`], before confinement), and [`apply`] (with the kernel, once
//! it exists) makes the mountpoints and mounts everything in order.
//!
//! What each kind becomes:
//! - `bind`: the host directory or file, written through ([`super::bind`]).
//!   A bind onto `/dev/shm` gives an in-sandbox tmpfs instead (engines bind
//!   their own shm directory there; shared memory must be sandbox memory).
//! - `tmpfs`: an empty in-memory filesystem with the `mode=`; `size=` is
//!   reported by `statfs` and `/proc/mounts`, not enforced. A tmpfs on
//!   `/dev` keeps the sentry's devtmpfs (with its devices) instead.
//! - `proc`: procfs (the one already at `/proc` is kept).
//! - `sysfs`: a read-only in-memory tree with the directories programs
//!   look for (`/sys/fs/cgroup`, `/sys/devices/system/cpu`...), all empty.
//! - `devpts` at `/dev/pts`: the sentry's pseudo-terminals, already there.
//! - `mqueue`: an empty in-memory directory (there is no `mq_open`).
//! - `cgroup`/`cgroup2`: an empty read-only directory.
//!
//! Mountpoints missing in the root are made in its memory layer (a
//! directory, or an empty file for a file bind); a symlink on the way is
//! followed inside the sandbox, as runc resolves destinations within the
//! rootfs. A read-only root (`root.readonly`) is made read-only after the
//! mountpoints exist.
//!
//! Masked paths that exist get `/dev/null` mounted over a file or an empty
//! read-only tmpfs over a directory; read-only paths get a read-only bind
//! of themselves. Paths that do not exist are skipped, as runc does.

use super::bind::{BindId, Source};
use super::mount::{self, FsKind, Mount};
use super::node::{Loc, Node};
use super::ops::{self, NewNode};
use super::path::{self, Ctx};
use super::{Vfs, VfsError};
use crate::config::{Config, MountConfig, MountKind};
use crate::errno::Errno;
use crate::kernel::task::Creds;
use crate::kernel::Kernel;
use std::collections::BTreeMap;

/// Opens the source of every bind mount of `cfg` (index in `cfg.mounts`
/// -> root node). Runs before the sandbox is confined.
pub fn open_sources(v: &mut Vfs, cfg: &Config) -> Result<BTreeMap<usize, BindId>, VfsError> {
    let mut out = BTreeMap::new();
    for (i, m) in cfg.mounts.iter().enumerate() {
        let MountKind::Bind { source } = &m.kind else {
            continue;
        };
        if m.destination == "/dev/shm" {
            continue;
        }
        let fail = |err| VfsError::BindSource {
            path: source.display().to_string(),
            destination: m.destination.clone(),
            err,
        };
        let meta = std::fs::metadata(source).map_err(|e| {
            fail(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)).unwrap_or(Errno::EIO))
        })?;
        let fs = v.mounts.new_fs(FsKind::Bind);
        let src = Source::open(source.clone(), !meta.is_dir(), fs).map_err(fail)?;
        let root = v.binds.add_source(src).map_err(fail)?;
        out.insert(i, root);
    }
    Ok(out)
}

/// A root context for making mountpoints.
fn root_ctx(k: &Kernel) -> Ctx {
    let root = k.vfs.root_loc();
    Ctx {
        tid: 0,
        creds: Creds::new(0, 0, Vec::new()),
        root,
        cwd: root,
        umask: 0,
        resolve: 0,
    }
}

/// Resolves `dest` from the root, making what is missing when `make` is
/// given (directories on the way, and a directory or a file at the end).
/// A symlink whose target is missing (an image's `/etc/resolv.conf`
/// pointing into `/run`) has its target made.
fn mountpoint(k: &mut Kernel, dest: &str, make: Option<bool>) -> Result<Loc, Errno> {
    mountpoint_in(k, dest.as_bytes(), make, 0)
}

fn mountpoint_in(
    k: &mut Kernel,
    dest: &[u8],
    make: Option<bool>,
    mut links: u32,
) -> Result<Loc, Errno> {
    let c = root_ctx(k);
    let comps: Vec<&[u8]> = dest
        .split(|&b| b == b'/')
        .filter(|s| !s.is_empty() && *s != b".")
        .collect();
    let mut cur = c.root;
    for (i, name) in comps.iter().enumerate() {
        if *name == b".." {
            cur = path::parent_loc(k, c.root, cur);
            continue;
        }
        let last = i + 1 == comps.len();
        cur = match path::lookup_child(k, &c, cur, name) {
            Ok(l) if path::file_type(k, l.node) == libc::S_IFLNK => {
                match path::follow_link(k, &c, cur, l, &mut links) {
                    Ok(f) => f.loc,
                    Err(Errno::ENOENT) if make.is_some() => {
                        let path::Link::Path(t) = path::readlink(k, &c, l)? else {
                            return Err(Errno::ENOENT);
                        };
                        let mut p = if t.starts_with(b"/") {
                            t
                        } else {
                            let mut p = path::path_of(k, c.root, cur);
                            p.push(b'/');
                            p.extend_from_slice(&t);
                            p
                        };
                        for rest in &comps[i + 1..] {
                            p.push(b'/');
                            p.extend_from_slice(rest);
                        }
                        if links > path::MAX_SYMLINKS {
                            return Err(Errno::ELOOP);
                        }
                        return mountpoint_in(k, &p, make, links + 1);
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(l) => l,
            Err(Errno::ENOENT) => {
                let Some(dir_at_end) = make else {
                    return Err(Errno::ENOENT);
                };
                let what = if last && !dir_at_end {
                    NewNode::File
                } else {
                    NewNode::Dir
                };
                let perm = if matches!(what, NewNode::Dir) {
                    0o755
                } else {
                    0o644
                };
                let l = ops::create(k, &c, cur, name, perm, what)?;
                path::follow_mounts(&k.vfs, l)
            }
            Err(e) => return Err(e),
        };
    }
    Ok(cur)
}

fn flags_of(m: &MountConfig) -> u64 {
    let mut f = 0;
    for (on, bit) in [
        (m.readonly, mount::MS_RDONLY),
        (m.nosuid, mount::MS_NOSUID),
        (m.nodev, mount::MS_NODEV),
        (m.noexec, mount::MS_NOEXEC),
    ] {
        if on {
            f |= bit;
        }
    }
    f
}

/// Attaches `root` (already held once for the mount) at `at`.
fn attach(k: &mut Kernel, at: Loc, fs: u64, root: Node, flags: u64, source: &str, options: String) {
    k.vfs.node_hold(at.node);
    k.vfs.mounts.add(Mount {
        fs,
        root,
        mountpoint: Some(at),
        flags,
        source: source.into(),
        options,
    });
}

/// Mounts everything `cfg` asks for; `binds` are the roots
/// [`open_sources`] opened. An error names the mount that failed.
pub fn apply(
    k: &mut Kernel,
    cfg: &Config,
    binds: &BTreeMap<usize, BindId>,
) -> Result<(), VfsError> {
    let root_mount = k.vfs.mounts.root;
    let root_flags = k.vfs.mounts.flags(root_mount);
    set_flags(k, root_mount, root_flags & !mount::MS_RDONLY);
    // Read-only memory filesystems are filled first and then closed.
    let mut close = Vec::new();
    let mut result = Ok(());
    for (i, m) in cfg.mounts.iter().enumerate() {
        if let Err(err) = mount_one(k, m, binds.get(&i).copied(), &mut close) {
            result = Err(VfsError::Mount {
                destination: m.destination.clone(),
                err,
            });
            break;
        }
    }
    if result.is_ok() {
        result = mask_and_protect(k, cfg);
    }
    for id in close {
        let f = k.vfs.mounts.flags(id);
        set_flags(k, id, f | mount::MS_RDONLY);
    }
    set_flags(k, root_mount, root_flags);
    result
}

fn set_flags(k: &mut Kernel, id: u64, flags: u64) {
    if let Some(m) = k.vfs.mounts.mounts.get_mut(&id) {
        m.flags = flags;
    }
}

fn mount_one(
    k: &mut Kernel,
    m: &MountConfig,
    bind: Option<BindId>,
    close: &mut Vec<u64>,
) -> Result<(), Errno> {
    if !m.destination.starts_with('/') {
        return Err(Errno::EINVAL);
    }
    let flags = flags_of(m);
    let dest = m.destination.trim_end_matches('/');
    match &m.kind {
        MountKind::Bind { source } => {
            let Some(root) = bind else {
                // /dev/shm: sandbox memory instead of the host's directory.
                return mount_tmpfs(k, close, m, flags);
            };
            let is_dir = path::is_dir(k, Node::Bind(root));
            let at = mountpoint(k, &m.destination, Some(is_dir))?;
            if path::is_dir(k, at.node) != is_dir {
                return Err(if is_dir {
                    Errno::ENOTDIR
                } else {
                    Errno::EISDIR
                });
            }
            let fs = k.vfs.binds.fs_of(root);
            let source = source.display().to_string();
            attach(k, at, fs, Node::Bind(root), flags, &source, String::new());
        }
        MountKind::Tmpfs if dest == "/dev" => {
            // The devtmpfs already there holds the devices.
            tracing::debug!("tmpfs on /dev: the sandbox's devtmpfs serves it");
        }
        MountKind::Tmpfs => mount_tmpfs(k, close, m, flags)?,
        MountKind::Proc => {
            let at = mountpoint(k, &m.destination, Some(true))?;
            if matches!(at.node, Node::Proc(_)) {
                return Ok(());
            }
            let fs = k.vfs.mounts.new_fs(FsKind::Proc);
            let root = Node::Proc(super::proc::ProcNode::Root);
            attach(k, at, fs, root, flags, "proc", String::new());
        }
        MountKind::Devpts => {
            if dest != "/dev/pts" {
                tracing::warn!(
                    "devpts is served at /dev/pts only; nothing mounted at {}",
                    m.destination
                );
            }
        }
        MountKind::Sysfs => {
            let (id, root) = mount_memfs(k, close, m, FsKind::Sysfs, 0o555, flags, "sysfs")?;
            for dir in [
                &b"fs/cgroup"[..],
                b"devices/system/cpu",
                b"kernel",
                b"class/net",
                b"block",
                b"bus",
                b"dev/char",
                b"dev/block",
            ] {
                make_dirs(k, id, root, dir);
            }
            if flags & mount::MS_RDONLY == 0 {
                close.push(id);
            }
        }
        MountKind::Mqueue => {
            mount_memfs(k, close, m, FsKind::Mqueue, 0o1777, flags, "mqueue")?;
        }
        MountKind::Cgroup => {
            let (id, _) = mount_memfs(k, close, m, FsKind::Cgroup2, 0o555, flags, "cgroup2")?;
            if flags & mount::MS_RDONLY == 0 {
                close.push(id);
            }
        }
    }
    Ok(())
}

fn mount_tmpfs(
    k: &mut Kernel,
    close: &mut Vec<u64>,
    m: &MountConfig,
    flags: u64,
) -> Result<(), Errno> {
    let mode = m.mode.unwrap_or(0o1777);
    mount_memfs(k, close, m, FsKind::Tmpfs, mode, flags, "tmpfs").map(drop)
}

/// Mounts an empty in-memory filesystem of `kind`; returns the mount and
/// its root inode.
fn mount_memfs(
    k: &mut Kernel,
    close: &mut Vec<u64>,
    m: &MountConfig,
    kind: FsKind,
    mode: u32,
    flags: u64,
    source: &str,
) -> Result<(u64, u64), Errno> {
    let at = mountpoint(k, &m.destination, Some(true))?;
    if !path::is_dir(k, at.node) {
        return Err(Errno::ENOTDIR);
    }
    let (fs, root) = k.vfs.new_memfs(kind, mode & 0o7777);
    let mut options = format!("mode={:o}", mode & 0o7777);
    if let Some(size) = m.size {
        if let Some(f) = k.vfs.mounts.fss.get_mut(&fs) {
            f.size = Some(size);
        }
        options = format!("size={}k,{options}", size / 1024);
    }
    // Read-only filesystems are filled before they are closed.
    attach(
        k,
        at,
        fs,
        Node::Mem(root),
        flags & !mount::MS_RDONLY,
        source,
        options,
    );
    let id = k.vfs.mounts.mounted_at(at).ok_or(Errno::EIO)?;
    if flags & mount::MS_RDONLY != 0 {
        close.push(id);
    }
    Ok((id, root))
}

/// Makes the directories of `rel` (slash-separated) under `root`, a
/// directory of mount `id`.
fn make_dirs(k: &mut Kernel, id: u64, root: u64, rel: &[u8]) {
    let c = root_ctx(k);
    let mut cur = Loc {
        mount: id,
        node: Node::Mem(root),
    };
    for name in rel.split(|&b| b == b'/') {
        cur = match path::lookup_child(k, &c, cur, name) {
            Ok(l) => l,
            Err(_) => match ops::create(k, &c, cur, name, 0o755, NewNode::Dir) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!("cannot make {} in sysfs: {e}", String::from_utf8_lossy(rel));
                    return;
                }
            },
        };
    }
}

/// `linux.maskedPaths` and `linux.readonlyPaths`.
fn mask_and_protect(k: &mut Kernel, cfg: &Config) -> Result<(), VfsError> {
    let null = mountpoint(k, "/dev/null", None).ok();
    for p in &cfg.masked_paths {
        let at = match mountpoint(k, p, None) {
            Ok(at) => at,
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => continue,
            Err(err) => {
                return Err(VfsError::Mount {
                    destination: p.clone(),
                    err,
                })
            }
        };
        if path::is_dir(k, at.node) {
            let (fs, root) = k.vfs.new_memfs(FsKind::Tmpfs, 0o555);
            attach(
                k,
                at,
                fs,
                Node::Mem(root),
                mount::MS_RDONLY,
                "tmpfs",
                "mode=555".into(),
            );
        } else if let Some(null) = null {
            let fs = k.vfs.mounts.get(null.mount).map_or(0, |m| m.fs);
            k.vfs.node_hold(null.node);
            attach(k, at, fs, null.node, 0, "devtmpfs", String::new());
        }
    }
    for p in &cfg.readonly_paths {
        let at = match mountpoint(k, p, None) {
            Ok(at) => at,
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => continue,
            Err(err) => {
                return Err(VfsError::Mount {
                    destination: p.clone(),
                    err,
                })
            }
        };
        let Some(under) = k.vfs.mounts.get(at.mount) else {
            continue;
        };
        let (fs, flags, source, options) = (
            under.fs,
            under.flags | mount::MS_RDONLY,
            under.source.clone(),
            under.options.clone(),
        );
        k.vfs.node_hold(at.node);
        attach(k, at, fs, at.node, flags, &source, options);
    }
    Ok(())
}
