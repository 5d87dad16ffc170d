//! Files: mounts and filesystems, open file descriptions, descriptor tables
//! and filesystem contexts.
//!
//! The mounts a configuration asks for (the OCI spec's `mounts`, masked
//! and read-only paths) are made by [`mounts`].
//!
//! Everything lives in [`Vfs`], inside the kernel, in tables keyed by ID:
//! open file descriptions by [`FileId`] with reference counts, in-memory
//! inodes ([`mem`]), the overlay root's node cache ([`overlay`]), mounts
//! ([`mount`]), pipes. Procfs nodes are values computed from the kernel
//! ([`proc`]). Host descriptors are never serialized: each is reopened from
//! what is saved (a lower file by its path beneath the root).
//!
//! Some releases happen where only the `Vfs` is at hand (a task exits, a
//! mapping drops its file): the memory objects to free and the wait queues
//! to notify are then queued in [`Pending`] and handled by [`reap`], which
//! the system call layer and the kernel loop call.
//!
//! Filesystems: the root overlay ([`overlay`]), bind mounts of host
//! directories and files written through to the host ([`bind`]), tmpfs
//! and devtmpfs ([`mem`], [`dev`]), procfs ([`proc`]), pipes ([`pipe`]),
//! pseudo-terminals ([`pty`]), the caller's stdio ([`stdio`]), and
//! anonymous files ([`eventfd`], [`epoll`], [`timerfd`], [`signalfd`]).
//! Operations that need the kernel (procfs content, memory, wait queues)
//! are free functions taking `&mut Kernel`: [`ops`] for names, [`file`] for
//! I/O, [`poll`] for readiness; [`path`] resolves names on the kernel or,
//! where only the VFS is at hand (boot, the loader), on the VFS alone.

pub mod bind;
pub mod dev;
pub mod epoll;
pub mod eventfd;
pub mod file;
pub mod host;
pub mod lock;
pub mod mem;
pub mod mount;
pub mod mounts;
pub mod node;
pub mod ops;
pub mod overlay;
pub mod path;
pub mod perm;
pub mod pidfd;
pub mod pipe;
pub mod poll;
pub mod proc;
pub mod pty;
pub mod signalfd;
pub mod stdio;
pub mod timerfd;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::errno::Errno;
use crate::kernel::task::Creds;
use crate::kernel::wait::WaitQueueId;
use crate::kernel::Kernel;
use crate::memory::MemObjectId;
use crate::mm::FileSource;
use file::{FileKind, OpenFile};
use mem::{MemData, MemDir, MemFs, MemInode};
use mount::{FsKind, Mount, Mounts};
use node::{AnonNode, FsId, InodeId, Loc, Node, OvlId, PipeId};
use overlay::Overlay;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use ops::{open_exec, read_head};

/// Identifies an open file description.
pub type FileId = u64;

/// A descriptor table.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FdTable {
    /// fd -> (file, close-on-exec).
    pub fds: BTreeMap<i32, (FileId, bool)>,
    pub refs: u32,
}

/// A filesystem context: working directory, root, umask.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FsContext {
    /// The working directory's path as of the last `chdir` (the location
    /// is what counts; see `cwd_loc`).
    pub cwd: String,
    /// The root's path as of the last `chroot`.
    pub root: String,
    pub cwd_loc: Loc,
    pub root_loc: Loc,
    pub umask: u32,
    pub refs: u32,
}

/// Whether an overlay node is a host file seen through the lower layer
/// (not copied up, not removed).
fn ovl_from_host(ovl: &Overlay, id: OvlId) -> bool {
    ovl.get(id)
        .is_some_and(|n| n.upper.is_none() && n.lower.is_some() && !n.deleted)
}

/// Failures setting up the file system of a sandbox.
#[derive(Debug, thiserror::Error)]
pub enum VfsError {
    #[error("cannot open the root directory {path}: {err}")]
    Root {
        path: String,
        err: nix::errno::Errno,
    },
    #[error("cannot set up the root filesystem from {path}: {err}")]
    Overlay { path: String, err: Errno },
    #[error("the host file {path} that a process had open is gone from {root}: {err}")]
    HostFileGone {
        path: String,
        root: String,
        err: Errno,
    },
    #[error(
        "the host file {path} that a process had open has changed size since the checkpoint \
         (it was {was} bytes, it is {now} bytes now)"
    )]
    HostFileChanged { path: String, was: u64, now: u64 },
    #[error("cannot open {path}, the source of the bind mount at {destination}: {err}")]
    BindSource {
        path: String,
        destination: String,
        err: Errno,
    },
    #[error("cannot mount at {destination}: {err}")]
    Mount { destination: String, err: Errno },
}

/// Work left for [`reap`]: memory objects to free, queues to notify.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Pending {
    pub objects: Vec<MemObjectId>,
    pub notify: Vec<WaitQueueId>,
    /// (process group, signal) to send.
    #[serde(default)]
    pub signals: Vec<(crate::kernel::Tid, i32)>,
}

/// All files of a sandbox.
#[derive(Debug, Serialize, Deserialize)]
pub struct Vfs {
    pub files: BTreeMap<FileId, OpenFile>,
    pub fdtables: BTreeMap<u64, FdTable>,
    pub fs_contexts: BTreeMap<u64, FsContext>,
    pub mem: MemFs,
    pub ovl: Overlay,
    /// Nodes of bind mounts of host directories and files.
    #[serde(default)]
    pub binds: bind::Binds,
    pub mounts: Mounts,
    pub pipes: BTreeMap<PipeId, pipe::Pipe>,
    /// Sockets.
    #[serde(default)]
    pub net: crate::net::Net,
    /// Pseudo-terminals by index, and the devtmpfs directory of their
    /// slaves (with its filesystem).
    #[serde(default)]
    pub ptys: BTreeMap<u32, pty::Pty>,
    #[serde(default)]
    pub pts_dir: Option<(InodeId, FsId)>,
    pub stdio: stdio::Stdio,
    pub locks: lock::Locks,
    pub proc: proc::ProcState,
    /// The filesystem of memfd files and its internal mount.
    pub memfd_mount: node::MountId,
    next: u64,
    pub pending: Pending,
    /// A bind-mount file just made by `open(O_CREAT)`, with the host
    /// descriptor that made it, for that open to take.
    #[serde(skip)]
    pub bind_created: Option<(bind::BindId, std::os::fd::OwnedFd)>,
    /// The bind mounts opened at boot (index in the configuration's
    /// mounts -> root node), for [`mounts::apply`].
    #[serde(skip)]
    pub boot_binds: BTreeMap<usize, bind::BindId>,
    /// Credentials of the `execve` in progress, for the interpreter lookup
    /// that the loader makes through [`FileSource`].
    #[serde(skip)]
    pub exec_creds: Option<Creds>,
}

impl Vfs {
    /// The file system of a new sandbox: the overlay root on `cfg.root`,
    /// procfs at `/proc`, devtmpfs at `/dev`, tmpfs at `/dev/shm`,
    /// and the caller's stdio.
    pub fn new(cfg: &Config) -> Result<Vfs, VfsError> {
        host::raise_nofile();
        let root_fd = host::open_root(&cfg.root).map_err(|err| VfsError::Root {
            path: cfg.root.display().to_string(),
            err,
        })?;
        let mut mounts = Mounts::default();
        let mut mem = MemFs::default();
        let ovl_fs = mounts.new_fs(FsKind::Overlay);
        let (ovl, _upper_root) = Overlay::new(ovl_fs, root_fd, cfg.root.clone(), &mut mem, ovl_fs)
            .map_err(|err| VfsError::Overlay {
                path: cfg.root.display().to_string(),
                err,
            })?;
        let root_node = Node::Ovl(ovl.root);
        let mut root_flags = 0;
        if cfg.readonly_root {
            root_flags |= mount::MS_RDONLY;
        }
        let root_mount = mounts.add(Mount {
            fs: ovl_fs,
            root: root_node,
            mountpoint: None,
            flags: root_flags,
            source: "overlay".into(),
            options: String::new(),
        });
        mounts.root = root_mount;
        let internal = |mounts: &mut Mounts, kind: FsKind| {
            let fs = mounts.new_fs(kind);
            mounts.add(Mount {
                fs,
                root: Node::Anon(AnonNode::Stdio(0)),
                mountpoint: None,
                flags: 0,
                source: kind.name().into(),
                options: String::new(),
            })
        };
        mounts.pipe = internal(&mut mounts, FsKind::Pipefs);
        mounts.anon = internal(&mut mounts, FsKind::AnonInode);
        let memfd_mount = internal(&mut mounts, FsKind::Memfd);
        let mut v = Vfs {
            files: BTreeMap::new(),
            fdtables: BTreeMap::new(),
            fs_contexts: BTreeMap::new(),
            mem,
            ovl,
            binds: bind::Binds::default(),
            mounts,
            pipes: BTreeMap::new(),
            net: crate::net::Net::default(),
            ptys: BTreeMap::new(),
            pts_dir: None,
            stdio: stdio::Stdio::attach(),
            locks: lock::Locks::default(),
            proc: proc::ProcState::new(),
            memfd_mount,
            next: 0,
            pending: Pending::default(),
            exec_creds: None,
            bind_created: None,
            boot_binds: BTreeMap::new(),
        };
        v.net.host_mode = cfg.network == crate::config::Network::Host;
        v.net.open_host_route();
        v.mount_standard(cfg.tmp_tmpfs);
        v.boot_binds = mounts::open_sources(&mut v, cfg)?;
        Ok(v)
    }

    /// Mounts procfs, devtmpfs, and the tmpfs instances.
    fn mount_standard(&mut self, tmp_tmpfs: bool) {
        if let Some(at) = self.mountpoint_in_root(b"proc") {
            let fs = self.mounts.new_fs(FsKind::Proc);
            self.mounts.add(Mount {
                fs,
                root: Node::Proc(proc::ProcNode::Root),
                mountpoint: Some(at),
                flags: mount::MS_NOSUID | mount::MS_NODEV | mount::MS_NOEXEC,
                source: "proc".into(),
                options: String::new(),
            });
        }
        if let Some(at) = self.mountpoint_in_root(b"dev") {
            let (fs, droot) = self.new_memfs(FsKind::Devtmpfs, 0o755);
            let dm = self.mounts.add(Mount {
                fs,
                root: Node::Mem(droot),
                mountpoint: Some(at),
                flags: mount::MS_NOSUID,
                source: "devtmpfs".into(),
                options: "mode=755".into(),
            });
            let shm = dev::populate(self, fs, droot);
            self.pts_dir = self.mem.lookup(droot, b"pts").map(|d| (d, fs));
            dev::add_tty_node(self, fs, droot, dm);
            let (sfs, sroot) = self.new_memfs(FsKind::Tmpfs, 0o1777);
            self.mem_hold(shm);
            self.mounts.add(Mount {
                fs: sfs,
                root: Node::Mem(sroot),
                mountpoint: Some(Loc {
                    mount: dm,
                    node: Node::Mem(shm),
                }),
                flags: mount::MS_NOSUID | mount::MS_NODEV,
                source: "tmpfs".into(),
                options: "mode=1777".into(),
            });
        }
        // A container gets an empty tmpfs on /tmp (as gVisor does); `runsc
        // do` keeps the host's /tmp visible through the overlay, whose
        // writes stay in memory anyway.
        if tmp_tmpfs {
            if let Some(at) = self.mountpoint_in_root(b"tmp") {
                let (fs, troot) = self.new_memfs(FsKind::Tmpfs, 0o1777);
                self.mounts.add(Mount {
                    fs,
                    root: Node::Mem(troot),
                    mountpoint: Some(at),
                    flags: mount::MS_NOSUID | mount::MS_NODEV,
                    source: "tmpfs".into(),
                    options: "mode=1777".into(),
                });
            }
        }
    }

    /// An empty in-memory filesystem: its ID and root directory (held).
    pub fn new_memfs(&mut self, kind: FsKind, perm: u32) -> (FsId, InodeId) {
        let fs = self.mounts.new_fs(kind);
        let ino = self.mounts.alloc_ino(fs);
        let root = self.mem.insert(MemInode::new(
            fs,
            ino,
            libc::S_IFDIR | perm,
            0,
            0,
            MemData::Dir(MemDir::default()),
        ));
        self.mem.make_root(root);
        self.mem_hold(root);
        (fs, root)
    }

    /// A directory of the root to mount on, made in the upper layer when
    /// the host has none. Held by the caller's mount.
    fn mountpoint_in_root(&mut self, name: &[u8]) -> Option<Loc> {
        let root = self.ovl.root;
        let id = match self.ovl.lookup(&mut self.mem, root, name) {
            Ok(id) => id,
            Err(Errno::ENOENT) => {
                let ino = self.ovl.alloc_ino();
                let d = self.mem.insert(MemInode::new(
                    self.ovl.fs,
                    ino,
                    libc::S_IFDIR | 0o755,
                    0,
                    0,
                    MemData::Dir(MemDir::default()),
                ));
                self.ovl.add_new(&mut self.mem, root, name, d)
            }
            Err(e) => {
                tracing::warn!("cannot mount on /{}: {e}", String::from_utf8_lossy(name));
                return None;
            }
        };
        if self.ovl.file_type(&self.mem, id) != libc::S_IFDIR {
            tracing::warn!(
                "/{} is not a directory; nothing mounted there",
                String::from_utf8_lossy(name)
            );
            return None;
        }
        self.ovl.hold(id);
        Some(Loc {
            mount: self.mounts.root,
            node: Node::Ovl(id),
        })
    }

    /// Takes the host resources of a restored VFS: the stdio of the process
    /// that restores it (what each descriptor is may differ from before).
    /// Lower files and directories reopen by path when first used.
    /// The stdio slots of processes started by `exec` stay, without their
    /// host descriptors: those belonged to the runtime processes that held
    /// them, which a restore cannot bring back (see
    /// [`stdio::Stdio::orphaned`]).
    ///
    /// Bind mount sources are opened again by their host paths (this must
    /// run before the restoring sandbox is confined); one that cannot be
    /// opened is logged, and its files fail with the error when used. So
    /// is the host's rtnetlink socket of `--network=host`.
    pub fn reattach_host(&mut self) {
        if let Err((path, e)) = self.binds.reopen_sources() {
            tracing::warn!(
                "cannot reopen the bind mount source {}: {e}",
                path.display()
            );
        }
        let old = std::mem::replace(&mut self.stdio, stdio::Stdio::attach());
        self.stdio.session = old.session;
        self.stdio.fg_pgrp = old.fg_pgrp;
        if self.stdio.tty_rdev == old.tty_rdev {
            self.stdio.tty_node = old.tty_node;
        }
        self.stdio.keep_orphaned_slots(old);
        self.net.open_host_route();
    }

    /// Makes the host directory `root` the lower layer of the restored root
    /// filesystem (the bundle of a restore may keep its root elsewhere than
    /// the checkpointed container did). Opens it now, so that a confined
    /// sandbox can call this before it loses its view of the host.
    pub fn reattach_root(&mut self, root: &std::path::Path) -> Result<(), VfsError> {
        let fd = host::open_root(root).map_err(|err| VfsError::Root {
            path: root.display().to_string(),
            err,
        })?;
        self.ovl.set_root(root.to_path_buf(), fd);
        self.check_host_files()
    }

    /// Records the size of every host file a process has open (a lower
    /// file of the overlay not copied up, or a file of a bind mount), for
    /// [`Vfs::check_host_files`] after a restore. Called with every task
    /// stopped, just before the kernel state is saved.
    pub fn note_host_sizes(&mut self) {
        let Vfs {
            files, ovl, binds, ..
        } = self;
        for f in files.values_mut() {
            f.host_size = match f.loc.node {
                Node::Ovl(id) if ovl_from_host(ovl, id) => ovl
                    .lower_stat(id)
                    .ok()
                    .filter(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG)
                    .map(|st| st.st_size as u64),
                Node::Bind(id) if binds.present(id) => binds
                    .stat(id, 0)
                    .ok()
                    .filter(|st| st.mode & libc::S_IFMT == libc::S_IFREG)
                    .map(|st| st.size),
                _ => None,
            };
        }
    }

    /// Checks that every host file a restored sandbox has open (a lower
    /// file of the overlay not copied up, or a file of a bind mount) is
    /// still there, with the size it had when it was saved.
    fn check_host_files(&mut self) -> Result<(), VfsError> {
        let open: Vec<(Node, Vec<u8>, Option<u64>)> = self
            .files
            .values()
            .filter(|f| matches!(f.loc.node, Node::Ovl(_) | Node::Bind(_)))
            .map(|f| (f.loc.node, f.path.clone(), f.host_size))
            .collect();
        for (node, path, was) in open {
            let now = match node {
                Node::Ovl(id) if ovl_from_host(&self.ovl, id) => match self.ovl.lower_stat(id) {
                    Ok(st) => st.st_size as u64,
                    Err(err) => {
                        return Err(VfsError::HostFileGone {
                            path: String::from_utf8_lossy(&path).into_owned(),
                            root: self.ovl.root_path.display().to_string(),
                            err,
                        })
                    }
                },
                Node::Bind(id) if self.binds.present(id) => match self.binds.stat(id, 0) {
                    Ok(st) => st.size,
                    Err(err) => {
                        let root = self
                            .binds
                            .source_path(id)
                            .map(|p| p.display().to_string())
                            .unwrap_or_default();
                        return Err(VfsError::HostFileGone {
                            path: String::from_utf8_lossy(&path).into_owned(),
                            root,
                            err,
                        });
                    }
                },
                _ => continue,
            };
            if let Some(was) = was {
                if was != now {
                    return Err(VfsError::HostFileChanged {
                        path: String::from_utf8_lossy(&path).into_owned(),
                        was,
                        now,
                    });
                }
            }
        }
        Ok(())
    }

    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// The root of everything.
    pub fn root_loc(&self) -> Loc {
        Loc {
            mount: self.mounts.root,
            node: Node::Ovl(self.ovl.root),
        }
    }

    /// Adds an open file description with one reference.
    pub fn add_file(&mut self, of: OpenFile) -> FileId {
        let id = self.id();
        self.files.insert(id, of);
        id
    }

    // ---- References on nodes -------------------------------------------

    pub fn mem_hold(&mut self, id: InodeId) {
        if let Some(i) = self.mem.get_mut(id) {
            i.refs += 1;
        }
    }

    /// Drops a reference on an in-memory inode, freeing it if unused.
    pub fn mem_release(&mut self, id: InodeId) {
        if let Some(i) = self.mem.get_mut(id) {
            i.refs = i.refs.saturating_sub(1);
        }
        self.mem_free_if_unused(id);
    }

    /// Frees an in-memory inode with no names and no references.
    pub fn mem_free_if_unused(&mut self, id: InodeId) {
        if let Some(i) = self.mem.take_if_unused(id) {
            match i.data {
                MemData::File(f) => self.pending.objects.push(f.obj),
                MemData::Fifo(Some(p)) => {
                    self.pipes.remove(&p);
                }
                _ => {}
            }
        }
    }

    pub fn node_hold(&mut self, n: Node) {
        match n {
            Node::Mem(i) => self.mem_hold(i),
            Node::Ovl(o) => self.ovl.hold(o),
            Node::Bind(b) => self.binds.hold(b),
            Node::Proc(_) | Node::Anon(_) => {}
        }
    }

    pub fn node_release(&mut self, n: Node) {
        match n {
            Node::Mem(i) => self.mem_release(i),
            Node::Ovl(o) => {
                self.ovl.release(o);
                self.drain_overlay();
            }
            Node::Bind(b) => self.binds.release(b),
            Node::Proc(_) | Node::Anon(_) => {}
        }
    }

    /// Releases the upper inodes that overlay nodes let go of.
    pub fn drain_overlay(&mut self) {
        for u in std::mem::take(&mut self.ovl.unref) {
            self.mem_release(u);
        }
    }

    // ---- Descriptor tables ---------------------------------------------

    /// A descriptor table holding the caller's stdio as 0, 1, 2.
    pub fn new_fdtable_with_stdio(&mut self) -> u64 {
        let mut t = FdTable {
            refs: 1,
            ..Default::default()
        };
        for slot in 0..3u8 {
            if !self.stdio.present(slot) {
                continue;
            }
            let f = self.open_stdio(slot, self.stdio.access(slot));
            t.fds.insert(slot as i32, (f, false));
        }
        let id = self.id();
        self.fdtables.insert(id, t);
        id
    }

    /// A descriptor table holding `stdio` (host descriptors handed over
    /// for a process started from outside, `exec`) as 0, 1, 2.
    pub fn new_fdtable_from_host(
        &mut self,
        stdio: [std::os::fd::OwnedFd; 3],
    ) -> Result<u64, Errno> {
        let mut t = FdTable {
            refs: 1,
            ..Default::default()
        };
        for (fd, host) in (0..).zip(stdio) {
            let slot = match self.stdio.donate(host) {
                Ok(slot) => slot,
                Err(e) => {
                    for (f, _) in t.fds.into_values() {
                        self.file_release(f);
                    }
                    return Err(e);
                }
            };
            let f = self.open_stdio(slot, self.stdio.access(slot));
            t.fds.insert(fd, (f, false));
        }
        let id = self.id();
        self.fdtables.insert(id, t);
        Ok(id)
    }

    /// A new open file description for stdio slot `slot`.
    pub fn open_stdio(&mut self, slot: u8, access: i32) -> FileId {
        let of = OpenFile::new(
            Loc {
                mount: self.mounts.anon,
                node: Node::Anon(AnonNode::Stdio(slot)),
            },
            FileKind::Stdio(slot),
            access,
            self.stdio.name(slot),
        );
        self.add_file(of)
    }

    /// A filesystem context whose working directory is `cwd` (the root if
    /// it cannot be found).
    pub fn new_fs(&mut self, cwd: &str) -> u64 {
        let root = self.root_loc();
        let creds = Creds::new(0, 0, Vec::new());
        let ctx = path::Ctx {
            tid: 0,
            creds,
            root,
            cwd: root,
            umask: 0o022,
            resolve: 0,
        };
        let cwd_loc = match path::resolve(self, &ctx, root, cwd.as_bytes(), true) {
            Ok(l) if path::is_dir(self, l.node) => l,
            _ => {
                tracing::warn!("working directory {cwd} not found in the sandbox; using /");
                root
            }
        };
        self.node_hold(cwd_loc.node);
        self.node_hold(root.node);
        let id = self.id();
        self.fs_contexts.insert(
            id,
            FsContext {
                cwd: cwd.to_string(),
                root: "/".into(),
                cwd_loc,
                root_loc: root,
                umask: 0o022,
                refs: 1,
            },
        );
        id
    }

    pub fn share_fdtable(&mut self, id: u64) -> u64 {
        if let Some(t) = self.fdtables.get_mut(&id) {
            t.refs += 1;
        }
        id
    }

    pub fn fork_fdtable(&mut self, id: u64) -> u64 {
        let mut t = self.fdtables.get(&id).cloned().unwrap_or_default();
        t.refs = 1;
        for (f, _) in t.fds.values() {
            self.file_hold(*f);
        }
        let nid = self.id();
        self.fdtables.insert(nid, t);
        nid
    }

    /// A table of one's own (for `execve` of a task sharing its table).
    pub fn unshare_fdtable(&mut self, id: u64) -> u64 {
        if self.fdtables.get(&id).is_none_or(|t| t.refs == 1) {
            return id;
        }
        let n = self.fork_fdtable(id);
        self.release_fdtable(id);
        n
    }

    pub fn release_fdtable(&mut self, id: u64) {
        let Some(t) = self.fdtables.get_mut(&id) else {
            return;
        };
        t.refs = t.refs.saturating_sub(1);
        if t.refs > 0 {
            return;
        }
        let t = self.fdtables.remove(&id).expect("present");
        for (f, _) in t.fds.values() {
            self.file_release(*f);
        }
    }

    /// Closes the close-on-exec descriptors.
    pub fn close_on_exec(&mut self, id: u64) {
        let Some(t) = self.fdtables.get_mut(&id) else {
            return;
        };
        let gone: Vec<i32> = t
            .fds
            .iter()
            .filter(|(_, (_, c))| *c)
            .map(|(&fd, _)| fd)
            .collect();
        let mut files = Vec::new();
        for fd in gone {
            if let Some((f, _)) = t.fds.remove(&fd) {
                files.push(f);
            }
        }
        for f in files {
            self.file_release(f);
        }
    }

    pub fn share_fs(&mut self, id: u64) -> u64 {
        if let Some(c) = self.fs_contexts.get_mut(&id) {
            c.refs += 1;
        }
        id
    }

    pub fn fork_fs(&mut self, id: u64) -> u64 {
        let Some(c) = self.fs_contexts.get(&id) else {
            return id;
        };
        let mut c = c.clone();
        c.refs = 1;
        self.node_hold(c.cwd_loc.node);
        self.node_hold(c.root_loc.node);
        let nid = self.id();
        self.fs_contexts.insert(nid, c);
        nid
    }

    pub fn release_fs(&mut self, id: u64) {
        let Some(c) = self.fs_contexts.get_mut(&id) else {
            return;
        };
        c.refs = c.refs.saturating_sub(1);
        if c.refs == 0 {
            let c = self.fs_contexts.remove(&id).expect("present");
            self.node_release(c.cwd_loc.node);
            self.node_release(c.root_loc.node);
        }
    }

    /// Opens a file to execute, as root (used before any task exists and
    /// by the loader for interpreters).
    pub fn open_exec(&mut self, fs: u64, path: &[u8]) -> Result<FileId, Errno> {
        let creds = self
            .exec_creds
            .clone()
            .unwrap_or_else(|| Creds::new(0, 0, Vec::new()));
        ops::open_exec_in(self, fs, &creds, path)
    }

    // ---- Open files ------------------------------------------------------

    pub fn file_hold(&mut self, f: FileId) {
        if let Some(o) = self.files.get_mut(&f) {
            o.refs += 1;
        }
    }

    /// Drops a reference on an open file description; the last one closes
    /// it.
    pub fn file_release(&mut self, f: FileId) {
        let Some(of) = self.files.get_mut(&f) else {
            return;
        };
        of.refs = of.refs.saturating_sub(1);
        if of.refs > 0 {
            return;
        }
        let of = self.files.remove(&f).expect("present");
        self.file_closed(f, of);
    }

    /// What closing the last reference of an open file does.
    fn file_closed(&mut self, id: FileId, of: OpenFile) {
        if let FileKind::Pipe { pipe } = of.kind {
            self.pipe_end_closed(pipe, of.readable(), of.writable());
        }
        match of.kind {
            FileKind::PtyMaster(i) => pty::closed(self, i, true),
            FileKind::PtySlave(i) => pty::closed(self, i, false),
            FileKind::Socket(s) => crate::net::closed(self, s),
            _ => {}
        }
        if let FileKind::Stdio(slot) = of.kind {
            let still_open = self
                .files
                .values()
                .any(|f| matches!(f.kind, FileKind::Stdio(s) if s == slot));
            if slot >= stdio::FIRST_DONATED && !still_open {
                self.stdio.release(slot);
            }
        }
        if self.locks.release_file(id) {
            self.pending.notify.push(lock::LOCK_QUEUE);
        }
        self.node_release(of.loc.node);
    }

    /// One end of a pipe closed.
    pub fn pipe_end_closed(&mut self, pipe: PipeId, reader: bool, writer: bool) {
        let Some(p) = self.pipes.get_mut(&pipe) else {
            return;
        };
        if reader {
            p.readers = p.readers.saturating_sub(1);
        }
        if writer {
            p.writers = p.writers.saturating_sub(1);
        }
        p.gen += 1;
        self.pending.notify.push(p.queue);
        if p.readers == 0 && p.writers == 0 {
            if p.fifo {
                p.clear();
            } else {
                self.pipes.remove(&pipe);
            }
        }
    }

    /// Reads at an offset (no effect on the file offset). Files whose data
    /// lives in sandbox memory are read by the caller through their memory
    /// object (see [`Vfs::file_memory_object`]).
    pub fn read_at(&mut self, f: FileId, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        file::read_host_at(self, f, off, buf)
    }

    /// The path shown for an open file (`/proc/[pid]/fd`, maps, `exe`).
    pub fn file_path(&self, f: FileId) -> String {
        self.files
            .get(&f)
            .map(|o| String::from_utf8_lossy(&o.path).into_owned())
            .unwrap_or_default()
    }

    /// Checks that `f` may be mapped; returns the maps name, device and
    /// inode, and the largest protection allowed.
    pub fn mmap_check(
        &mut self,
        f: FileId,
        shared: bool,
        prot: i32,
    ) -> Result<(String, (u64, u64), i32), Errno> {
        file::mmap_check(self, f, shared, prot)
    }

    /// The memory object holding a file's data, for files kept in sandbox
    /// memory.
    pub fn file_memory_object(&self, f: FileId) -> Option<MemObjectId> {
        let of = self.files.get(&f)?;
        if !matches!(of.kind, FileKind::Regular) {
            return None;
        }
        let inode = match of.loc.node {
            Node::Mem(i) => i,
            Node::Ovl(o) => self.ovl.get(o)?.upper?,
            _ => return None,
        };
        self.mem.get(inode)?.file().map(|m| m.obj)
    }

    /// True if mapping descriptor `fd` gives anonymous memory (`/dev/zero`
    /// open for reading).
    pub fn maps_as_anonymous(&self, table: u64, fd: i32) -> bool {
        let Some(of) = self.get_fd(table, fd).ok().and_then(|f| self.files.get(&f)) else {
            return false;
        };
        matches!(of.kind, FileKind::Device(dev::Device::Zero)) && of.readable()
    }

    /// Installs `f` at the lowest free descriptor (no limit check; see
    /// [`file::install_fd`]).
    pub fn install_fd(&mut self, table: u64, f: FileId, cloexec: bool) -> i32 {
        let Some(t) = self.fdtables.get_mut(&table) else {
            return -1;
        };
        let mut fd = 0;
        while t.fds.contains_key(&fd) {
            fd += 1;
        }
        t.fds.insert(fd, (f, cloexec));
        fd
    }

    pub fn get_fd(&self, table: u64, fd: i32) -> Result<FileId, Errno> {
        self.fdtables
            .get(&table)
            .and_then(|t| t.fds.get(&fd))
            .map(|&(f, _)| f)
            .ok_or(Errno::EBADF)
    }

    pub fn close_fd(&mut self, table: u64, fd: i32) -> Result<(), Errno> {
        let (f, _) = self
            .fdtables
            .get_mut(&table)
            .and_then(|t| t.fds.remove(&fd))
            .ok_or(Errno::EBADF)?;
        self.file_release(f);
        Ok(())
    }
}

/// Finishes releases queued where only the `Vfs` was at hand: frees memory
/// objects and wakes waiters. Returns true if it did anything.
pub fn reap(k: &mut Kernel) -> bool {
    k.vfs.drain_overlay();
    k.vfs.ovl.sweep();
    k.vfs.drain_overlay();
    k.vfs.binds.sweep();
    // Record locks of processes that are gone.
    if !k.vfs.locks.ranges.is_empty() {
        let tgs = &k.thread_groups;
        if k.vfs
            .locks
            .prune(|p| tgs.get(&p).is_some_and(|g| g.zombie.is_none()))
        {
            k.vfs.pending.notify.push(lock::LOCK_QUEUE);
        }
    }
    if k.vfs.pending.objects.is_empty()
        && k.vfs.pending.notify.is_empty()
        && k.vfs.pending.signals.is_empty()
    {
        return false;
    }
    let p = std::mem::take(&mut k.vfs.pending);
    if !p.objects.is_empty() {
        if let Some(host) = k.host.as_mut() {
            for o in p.objects {
                k.objects.release(o, &mut k.frames, &host.mf);
            }
        }
    }
    for q in p.notify {
        k.notify(q);
    }
    for (pgrp, sig) in p.signals {
        pty::signal_group(k, pgrp, sig);
    }
    true
}

impl FileSource for Vfs {
    fn read_file(&mut self, file: u64, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.read_at(file, offset, buf)
    }
    fn file_memory(&mut self, file: u64) -> Option<MemObjectId> {
        self.file_memory_object(file)
    }
    fn hold_file(&mut self, file: u64, hold: bool) {
        if hold {
            self.file_hold(file);
        } else {
            self.file_release(file);
        }
    }
    fn mapping_info(&mut self, file: u64) -> (String, (u64, u64)) {
        let Some(of) = self.files.get(&file) else {
            return Default::default();
        };
        let (name, loc) = (of.path.clone(), of.loc);
        let ino = path::stat(self, loc).map_or(0, |s| s.ino);
        (
            String::from_utf8_lossy(&name).into_owned(),
            (self.mounts.dev_of(loc.mount), ino),
        )
    }
    fn open_exec(&mut self, fs: u64, path: &[u8]) -> Result<u64, Errno> {
        Vfs::open_exec(self, fs, path)
    }
}
