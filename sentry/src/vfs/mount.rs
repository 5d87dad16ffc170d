//! Filesystem instances and the mount table.

use super::node::{makedev, FsId, Loc, MountId, Node};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kinds of filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FsKind {
    /// The root: host directory below, memory above.
    Overlay,
    Tmpfs,
    Devtmpfs,
    Proc,
    /// Anonymous pipes.
    Pipefs,
    /// eventfd, epoll, timerfd...
    AnonInode,
    /// memfd files.
    Memfd,
    /// A bind mount of a host directory or file.
    Bind,
    Sysfs,
    Mqueue,
    Cgroup2,
    Devpts,
}

impl FsKind {
    /// The name `/proc/mounts` shows.
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Overlay => "overlay",
            FsKind::Tmpfs | FsKind::Memfd => "tmpfs",
            FsKind::Devtmpfs => "devtmpfs",
            FsKind::Proc => "proc",
            FsKind::Pipefs => "pipefs",
            FsKind::AnonInode => "anon_inodefs",
            FsKind::Bind => "bind",
            FsKind::Sysfs => "sysfs",
            FsKind::Mqueue => "mqueue",
            FsKind::Cgroup2 => "cgroup2",
            FsKind::Devpts => "devpts",
        }
    }

    /// `statfs` `f_type`.
    pub fn magic(self) -> i64 {
        match self {
            FsKind::Overlay => 0x794c_7630,
            FsKind::Tmpfs | FsKind::Memfd | FsKind::Devtmpfs => 0x0102_1994,
            FsKind::Proc => 0x9fa0,
            FsKind::Pipefs => 0x5049_5045,
            FsKind::AnonInode => 0x0904_1934,
            // The host's own type is reported by statfs for bind mounts.
            FsKind::Bind => 0x0102_1994,
            FsKind::Sysfs => 0x6265_6572,
            FsKind::Mqueue => 0x1980_0202,
            FsKind::Cgroup2 => 0x6367_7270,
            FsKind::Devpts => 0x1cd1,
        }
    }
}

/// A filesystem instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Filesystem {
    pub kind: FsKind,
    /// `st_dev` of its files.
    pub dev: u64,
    /// Next inode number for new files.
    pub next_ino: u64,
    /// The `size=` of a tmpfs, in bytes (reported, not enforced).
    #[serde(default)]
    pub size: Option<u64>,
}

/// `MS_*` flags of a mount that the VFS honours.
pub const MS_RDONLY: u64 = libc::MS_RDONLY;
pub const MS_NOSUID: u64 = libc::MS_NOSUID;
pub const MS_NODEV: u64 = libc::MS_NODEV;
pub const MS_NOEXEC: u64 = libc::MS_NOEXEC;

/// A mount: a filesystem's root attached at a place in the tree.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mount {
    pub fs: FsId,
    pub root: Node,
    /// Where it is attached; `None` for the root of everything and for
    /// internal mounts (pipes, anonymous inodes).
    pub mountpoint: Option<Loc>,
    pub flags: u64,
    /// Source and options as `/proc/mounts` shows them.
    pub source: String,
    pub options: String,
}

/// The mount table.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Mounts {
    pub fss: BTreeMap<FsId, Filesystem>,
    pub mounts: BTreeMap<MountId, Mount>,
    /// Mountpoint -> the mounts attached there, oldest first.
    pub at: BTreeMap<Loc, Vec<MountId>>,
    pub root: MountId,
    /// Mount of anonymous pipes.
    pub pipe: MountId,
    /// Mount of anonymous inodes (eventfd, epoll, ...).
    pub anon: MountId,
    next: u64,
}

impl Mounts {
    /// A new filesystem instance with its own device number.
    pub fn new_fs(&mut self, kind: FsKind) -> FsId {
        self.next += 1;
        let id = self.next;
        let first_ino = if kind == FsKind::Overlay { 1 << 40 } else { 2 };
        self.fss.insert(
            id,
            Filesystem {
                kind,
                dev: makedev(0, 40 + id as u32),
                next_ino: first_ino,
                size: None,
            },
        );
        id
    }

    /// The next inode number of filesystem `fs`.
    pub fn alloc_ino(&mut self, fs: FsId) -> u64 {
        match self.fss.get_mut(&fs) {
            Some(f) => {
                f.next_ino += 1;
                f.next_ino
            }
            None => 0,
        }
    }

    pub fn add(&mut self, m: Mount) -> MountId {
        self.next += 1;
        let id = self.next;
        if let Some(at) = m.mountpoint {
            self.at.entry(at).or_default().push(id);
        }
        self.mounts.insert(id, m);
        id
    }

    /// The mount on top at `loc`, if any.
    pub fn mounted_at(&self, loc: Loc) -> Option<MountId> {
        self.at.get(&loc).and_then(|v| v.last().copied())
    }

    pub fn get(&self, id: MountId) -> Option<&Mount> {
        self.mounts.get(&id)
    }

    pub fn fs_of(&self, id: MountId) -> Option<&Filesystem> {
        self.mounts.get(&id).and_then(|m| self.fss.get(&m.fs))
    }

    pub fn dev_of(&self, mount: MountId) -> u64 {
        self.fs_of(mount).map_or(0, |f| f.dev)
    }

    pub fn readonly(&self, mount: MountId) -> bool {
        self.mounts
            .get(&mount)
            .is_some_and(|m| m.flags & MS_RDONLY != 0)
    }

    pub fn flags(&self, mount: MountId) -> u64 {
        self.mounts.get(&mount).map_or(0, |m| m.flags)
    }
}
