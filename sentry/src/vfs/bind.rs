//! Bind mounts of host directories and files: the host file system seen
//! through a descriptor opened before the sandbox is confined, with every
//! change written through to the host (a file written in the sandbox is on
//! the host at once, and the other way round).
//!
//! Each mount has a [`Source`]: the host path the spec names (kept, so a
//! restored sandbox can open it again before it is confined, see
//! [`Binds::reopen_sources`]) and an `O_PATH` descriptor of the source
//! directory, or of the directory holding a source file. Every name beneath
//! is reached one component at a time from that descriptor, with `openat2`
//! and `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: symlinks are read and
//! followed by the sentry's own path resolution, inside the sandbox, never
//! by the host.
//!
//! [`BindNode`]s are a cache of what has been looked up, as the overlay
//! keeps its nodes: each knows its parent and name (so its host path can be
//! rebuilt) and the mode, owner and group last seen. Every lookup asks the
//! host again, so changes made on the host show. Directory descriptors are
//! host state (`#[serde(skip)]`), reopened by path when absent.
//!
//! Permissions: the sentry checks the application's credentials against
//! the attributes as it does everywhere; the host then checks the sandbox
//! process's own credentials, so a change the host refuses fails with the
//! host's error. Read-only mounts (`ro`) fail writes with `EROFS` before
//! any host call.

use super::host;
use super::node::{DirEnt, FsId, Stat, Ts};
use crate::errno::Errno;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// A node of a bind mount.
pub type BindId = u64;

/// Cached nodes kept beyond those in use.
const CACHE_SOFT_LIMIT: usize = 1024;

/// What a bind mount shows.
#[derive(Debug, Serialize, Deserialize)]
pub struct Source {
    /// The host path of the directory or file, as the configuration gave it.
    pub path: PathBuf,
    /// For a file mount, its name in the directory that `dir` opens.
    pub file: Option<Vec<u8>>,
    /// The filesystem instance of the mount.
    pub fs: FsId,
    /// `O_PATH` descriptor of the source directory (or of the directory
    /// holding the source file).
    #[serde(skip)]
    dir: Option<OwnedFd>,
}

impl Source {
    /// Opens `path` (a directory, or a file when `is_file`) on the host.
    /// Call it before the sandbox is confined.
    pub fn open(path: PathBuf, is_file: bool, fs: FsId) -> Result<Source, Errno> {
        let mut s = Source {
            path,
            file: None,
            fs,
            dir: None,
        };
        if is_file {
            let name = s.path.file_name().ok_or(Errno::EINVAL)?;
            s.file = Some(name.as_encoded_bytes().to_vec());
        }
        s.reopen()?;
        Ok(s)
    }

    /// Opens the source's directory again (after a restore).
    pub fn reopen(&mut self) -> Result<(), Errno> {
        let dir = match &self.file {
            Some(_) => self.path.parent().ok_or(Errno::EINVAL)?.to_path_buf(),
            None => self.path.clone(),
        };
        let fd = host::open_source(&dir, true)?;
        if let Some(name) = &self.file {
            // The source must still be a file there.
            let st = host::stat_at(fd.as_raw_fd(), name)?;
            if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                return Err(Errno::EISDIR);
            }
        }
        self.dir = Some(fd);
        Ok(())
    }

    fn dir_fd(&mut self) -> Result<RawFd, Errno> {
        if self.dir.is_none() {
            self.reopen()?;
        }
        Ok(host::raw(&self.dir))
    }
}

/// A node of a bind mount.
#[derive(Debug, Serialize, Deserialize)]
pub struct BindNode {
    /// The mount's source (a key of [`Binds::sources`]).
    pub src: u64,
    /// The parent directory's node (a mount's root is its own).
    pub parent: BindId,
    pub name: Vec<u8>,
    /// Mode, owner and group as last seen on the host.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Open files, contexts, mounts, and cached children holding it.
    pub refs: u32,
    pub children: BTreeMap<Vec<u8>, BindId>,
    /// Removed from its directory; lives on while referenced.
    pub deleted: bool,
    /// `O_PATH` descriptor of a directory; reopened by path.
    #[serde(skip)]
    dirfd: Option<OwnedFd>,
}

/// Every bind mount's nodes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Binds {
    pub sources: BTreeMap<u64, Source>,
    pub nodes: BTreeMap<BindId, BindNode>,
    next: u64,
    #[serde(default)]
    sweep_at: usize,
}

fn ts(sec: i64, nsec: i64) -> Ts {
    Ts { sec, nsec }
}

/// A host directory descriptor and a name in it (`""`: the descriptor
/// itself).
pub struct At {
    pub dir: RawFd,
    pub name: Vec<u8>,
}

impl Binds {
    /// The host path of the source of the mount that node `id` is in.
    pub fn source_path(&self, id: BindId) -> Option<&std::path::Path> {
        let n = self.nodes.get(&id)?;
        self.sources.get(&n.src).map(|s| s.path.as_path())
    }

    /// Whether node `id` is still in its directory.
    pub fn present(&self, id: BindId) -> bool {
        self.nodes.get(&id).is_some_and(|n| !n.deleted)
    }

    /// Adds a mount of `src`; returns its root node.
    pub fn add_source(&mut self, src: Source) -> Result<BindId, Errno> {
        self.next += 1;
        let key = self.next;
        let name = src.file.clone().unwrap_or_default();
        self.sources.insert(key, src);
        self.next += 1;
        let id = self.next;
        self.nodes.insert(
            id,
            BindNode {
                src: key,
                parent: id,
                name,
                mode: 0,
                uid: 0,
                gid: 0,
                refs: 1,
                children: BTreeMap::new(),
                deleted: false,
                dirfd: None,
            },
        );
        self.refresh(id)?;
        Ok(id)
    }

    /// Opens every source again: a restored sandbox calls this before it
    /// is confined (afterwards no host path can be opened).
    pub fn reopen_sources(&mut self) -> Result<(), (PathBuf, Errno)> {
        for n in self.nodes.values_mut() {
            n.dirfd = None;
        }
        for s in self.sources.values_mut() {
            s.reopen().map_err(|e| (s.path.clone(), e))?;
        }
        Ok(())
    }

    pub fn get(&self, id: BindId) -> Option<&BindNode> {
        self.nodes.get(&id)
    }

    fn is_root(&self, id: BindId) -> bool {
        self.nodes.get(&id).is_some_and(|n| n.parent == id)
    }

    /// The filesystem instance a node belongs to.
    pub fn fs_of(&self, id: BindId) -> FsId {
        self.nodes
            .get(&id)
            .and_then(|n| self.sources.get(&n.src))
            .map_or(0, |s| s.fs)
    }

    /// Mode, owner and group as last seen.
    pub fn attrs(&self, id: BindId) -> Option<(u32, u32, u32)> {
        self.nodes.get(&id).map(|n| (n.mode, n.uid, n.gid))
    }

    /// The `O_PATH` descriptor of directory node `id`.
    fn dirfd(&mut self, id: BindId) -> Result<RawFd, Errno> {
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        if let Some(fd) = &n.dirfd {
            return Ok(fd.as_raw_fd());
        }
        if n.deleted {
            return Err(Errno::ENOENT);
        }
        let (src, parent, name) = (n.src, n.parent, n.name.clone());
        if parent == id {
            let s = self.sources.get_mut(&src).ok_or(Errno::EIO)?;
            if s.file.is_some() {
                return Err(Errno::ENOTDIR);
            }
            return s.dir_fd();
        }
        let pfd = self.dirfd(parent)?;
        let fd = host::open_child(pfd, &name, libc::O_PATH | libc::O_DIRECTORY)?;
        let raw = fd.as_raw_fd();
        self.nodes.get_mut(&id).expect("present").dirfd = Some(fd);
        Ok(raw)
    }

    /// The host directory and name of a node.
    pub fn at(&mut self, id: BindId) -> Result<At, Errno> {
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        let (src, parent, name) = (n.src, n.parent, n.name.clone());
        if parent == id {
            let s = self.sources.get_mut(&src).ok_or(Errno::EIO)?;
            let dir = s.dir_fd()?;
            return Ok(At {
                dir,
                name: s.file.clone().unwrap_or_default(),
            });
        }
        Ok(At {
            dir: self.dirfd(parent)?,
            name,
        })
    }

    /// Reads a node's attributes from the host into the cache.
    fn refresh(&mut self, id: BindId) -> Result<libc::stat, Errno> {
        let at = self.at(id)?;
        let st = host::stat_at(at.dir, &at.name)?;
        let n = self.nodes.get_mut(&id).ok_or(Errno::ENOENT)?;
        n.mode = st.st_mode;
        n.uid = st.st_uid;
        n.gid = st.st_gid;
        Ok(st)
    }

    /// Attributes of a node, from the host.
    pub fn stat(&mut self, id: BindId, dev: u64) -> Result<Stat, Errno> {
        let h = match self.refresh(id) {
            Ok(h) => h,
            Err(Errno::ENOENT) => {
                self.mark_gone(id);
                return Err(Errno::ENOENT);
            }
            Err(e) => return Err(e),
        };
        Ok(Stat {
            dev,
            ino: h.st_ino,
            mode: h.st_mode,
            nlink: h.st_nlink,
            uid: h.st_uid,
            gid: h.st_gid,
            rdev: h.st_rdev,
            size: h.st_size as u64,
            blksize: h.st_blksize as u32,
            blocks: h.st_blocks as u64,
            atime: ts(h.st_atime, h.st_atime_nsec),
            mtime: ts(h.st_mtime, h.st_mtime_nsec),
            ctime: ts(h.st_ctime, h.st_ctime_nsec),
            btime: None,
            mnt_id: 0,
        })
    }

    /// A name removed behind our back (on the host): out of the cache.
    fn mark_gone(&mut self, id: BindId) {
        if self.is_root(id) {
            return;
        }
        let Some(n) = self.nodes.get(&id) else {
            return;
        };
        let (parent, name) = (n.parent, n.name.clone());
        if self
            .nodes
            .get(&parent)
            .is_some_and(|p| p.children.get(&name) == Some(&id))
        {
            self.nodes
                .get_mut(&parent)
                .expect("present")
                .children
                .remove(&name);
        }
        self.detach(id);
    }

    /// Looks `name` up in directory `dir`, asking the host.
    pub fn lookup(&mut self, dir: BindId, name: &[u8]) -> Result<BindId, Errno> {
        let d = self.nodes.get(&dir).ok_or(Errno::ENOENT)?;
        if d.mode & libc::S_IFMT != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        if d.deleted {
            return Err(Errno::ENOENT);
        }
        let cached = d.children.get(name).copied();
        let fd = self.dirfd(dir)?;
        let st = match host::stat_at(fd, name) {
            Ok(st) => st,
            Err(e) => {
                if let Some(c) = cached {
                    self.mark_gone(c);
                }
                return Err(e);
            }
        };
        if let Some(c) = cached {
            let n = self.nodes.get_mut(&c).expect("cached");
            // The same name may now be another file (changed on the host).
            if n.mode & libc::S_IFMT == st.st_mode & libc::S_IFMT {
                n.mode = st.st_mode;
                n.uid = st.st_uid;
                n.gid = st.st_gid;
                return Ok(c);
            }
            self.mark_gone(c);
        }
        Ok(self.add_child(dir, name, &st))
    }

    fn add_child(&mut self, dir: BindId, name: &[u8], st: &libc::stat) -> BindId {
        let src = self.nodes.get(&dir).map_or(0, |d| d.src);
        self.next += 1;
        let id = self.next;
        self.nodes.insert(
            id,
            BindNode {
                src,
                parent: dir,
                name: name.to_vec(),
                mode: st.st_mode,
                uid: st.st_uid,
                gid: st.st_gid,
                refs: 0,
                children: BTreeMap::new(),
                deleted: false,
                dirfd: None,
            },
        );
        let d = self.nodes.get_mut(&dir).expect("present");
        d.children.insert(name.to_vec(), id);
        d.refs += 1;
        id
    }

    pub fn hold(&mut self, id: BindId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.refs += 1;
        }
    }

    /// Drops a reference; a deleted node without references goes away.
    pub fn release(&mut self, id: BindId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.refs = n.refs.saturating_sub(1);
            if n.refs == 0 && n.deleted {
                self.evict(id);
            }
        }
    }

    /// Marks a node taken out of its directory's map as deleted; it is
    /// freed once unreferenced.
    fn detach(&mut self, id: BindId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.deleted = true;
            n.dirfd = None;
            if n.refs == 0 {
                self.evict(id);
            }
        }
    }

    /// Removes an unreferenced node from the cache, then its parent if it
    /// is left unreferenced and deleted.
    fn evict(&mut self, mut id: BindId) {
        loop {
            let Some(n) = self.nodes.get(&id) else {
                return;
            };
            if n.refs > 0 || n.parent == id || !n.children.is_empty() {
                return;
            }
            let n = self.nodes.remove(&id).expect("present");
            let Some(p) = self.nodes.get_mut(&n.parent) else {
                return;
            };
            if p.children.get(&n.name) == Some(&id) {
                p.children.remove(&n.name);
            }
            p.refs = p.refs.saturating_sub(1);
            if p.refs == 0 && (p.deleted || self.nodes.len() > CACHE_SOFT_LIMIT) {
                id = n.parent;
                continue;
            }
            return;
        }
    }

    /// Drops unreferenced nodes when the cache has grown.
    pub fn sweep(&mut self) {
        if self.nodes.len() <= CACHE_SOFT_LIMIT.max(self.sweep_at) {
            return;
        }
        let idle: Vec<BindId> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.refs == 0)
            .map(|(&id, _)| id)
            .collect();
        for id in idle {
            self.evict(id);
        }
        self.sweep_at = self.nodes.len() * 2;
    }

    /// The parent and name of a node; `None` at a mount's root.
    pub fn parent(&self, id: BindId) -> Option<(BindId, Vec<u8>)> {
        let n = self.nodes.get(&id)?;
        (n.parent != id).then(|| (n.parent, n.name.clone()))
    }

    pub fn is_deleted(&self, id: BindId) -> bool {
        self.nodes.get(&id).is_none_or(|n| n.deleted)
    }

    /// True if `anc` is `id` or one of its ancestors.
    pub fn is_ancestor(&self, anc: BindId, mut id: BindId) -> bool {
        for _ in 0..4096 {
            if id == anc {
                return true;
            }
            match self.nodes.get(&id) {
                Some(n) if n.parent != id => id = n.parent,
                _ => return false,
            }
        }
        false
    }

    /// The target of a symlink.
    pub fn readlink(&mut self, id: BindId) -> Result<Vec<u8>, Errno> {
        let at = self.at(id)?;
        host::readlink_at(at.dir, &at.name)
    }

    /// Every name of a directory: (name, ino, type).
    pub fn read_dir(&mut self, id: BindId) -> Result<Vec<DirEnt>, Errno> {
        let fd = self.dirfd(id)?;
        let dir = host::open_dir_beneath(fd)?;
        Ok(host::read_dir(dir.as_raw_fd())?
            .into_iter()
            .map(|(name, ino, dtype)| DirEnt { name, ino, dtype })
            .collect())
    }

    /// Opens a node's file on the host with `flags` (an access mode and
    /// `O_TRUNC`, `O_DIRECTORY`...).
    pub fn open(&mut self, id: BindId, flags: i32) -> Result<OwnedFd, Errno> {
        let at = self.at(id)?;
        if at.name.is_empty() {
            return host::open_dir_beneath(at.dir);
        }
        host::open_child(at.dir, &at.name, flags | libc::O_NONBLOCK)
    }

    /// Makes `name` in directory `dir`; a regular file comes open with
    /// the access mode its `Make::File` gives.
    pub fn make(
        &mut self,
        dir: BindId,
        name: &[u8],
        what: Make,
    ) -> Result<(BindId, Option<OwnedFd>), Errno> {
        let fd = self.dirfd(dir)?;
        let mut file = None;
        match what {
            Make::File(mode, flags) => file = Some(host::create_file(fd, name, flags, mode)?),
            Make::Dir(mode) => host::mkdir_at(fd, name, mode)?,
            Make::Symlink(t) => host::symlink_at(&t, fd, name)?,
            Make::Node(mode, rdev) => host::mknod_at(fd, name, mode, rdev)?,
        }
        if let Some(old) = self.nodes.get(&dir).and_then(|d| d.children.get(name)) {
            let old = *old;
            self.mark_gone(old);
        }
        let st = host::stat_at(fd, name)?;
        Ok((self.add_child(dir, name, &st), file))
    }

    /// Sets the owner and group of a new node (the host made it with the
    /// sandbox process's own); a refusal is ignored, as on a file system
    /// that maps every owner to one.
    pub fn set_new_owner(&mut self, id: BindId, uid: u32, gid: u32) {
        let Ok(at) = self.at(id) else { return };
        if host::chown_at(at.dir, &at.name, uid, gid).is_ok() {
            let _ = self.refresh(id);
        }
    }

    /// Removes `name` (node `child`) from directory `dir`.
    pub fn remove(&mut self, dir: BindId, name: &[u8], child: BindId) -> Result<(), Errno> {
        let fd = self.dirfd(dir)?;
        let rmdir = self
            .nodes
            .get(&child)
            .is_some_and(|c| c.mode & libc::S_IFMT == libc::S_IFDIR);
        host::unlink_at(fd, name, rmdir)?;
        self.mark_gone(child);
        Ok(())
    }

    /// Renames (or with `flags` `RENAME_EXCHANGE`, swaps) `sname` in `sdir`
    /// to `dname` in `ddir`.
    #[allow(clippy::too_many_arguments)]
    pub fn rename(
        &mut self,
        sdir: BindId,
        sname: &[u8],
        src: BindId,
        ddir: BindId,
        dname: &[u8],
        target: Option<BindId>,
        flags: u32,
    ) -> Result<(), Errno> {
        let sfd = self.dirfd(sdir)?;
        let dfd = self.dirfd(ddir)?;
        host::rename_at(sfd, sname, dfd, dname, flags)?;
        let exchange = flags & super::ops::RENAME_EXCHANGE != 0;
        // Move the cached nodes; each holds a reference on its parent.
        self.unlink_cached(sdir, sname, src);
        if let Some(t) = target {
            self.unlink_cached(ddir, dname, t);
            if exchange {
                self.link_cached(sdir, sname, t);
            } else {
                self.detach(t);
            }
        }
        self.link_cached(ddir, dname, src);
        Ok(())
    }

    fn unlink_cached(&mut self, dir: BindId, name: &[u8], id: BindId) {
        if let Some(d) = self.nodes.get_mut(&dir) {
            if d.children.get(name) == Some(&id) {
                d.children.remove(name);
            }
            d.refs = d.refs.saturating_sub(1);
        }
    }

    fn link_cached(&mut self, dir: BindId, name: &[u8], id: BindId) {
        let old = self
            .nodes
            .get_mut(&dir)
            .and_then(|d| d.children.insert(name.to_vec(), id));
        if let Some(d) = self.nodes.get_mut(&dir) {
            d.refs += 1;
        }
        if let Some(n) = self.nodes.get_mut(&id) {
            n.parent = dir;
            n.name = name.to_vec();
            n.dirfd = None;
        }
        if let Some(old) = old.filter(|&o| o != id) {
            self.detach(old);
        }
    }

    /// A hard link to `old` as `name` in `dir`.
    pub fn link(&mut self, old: BindId, dir: BindId, name: &[u8]) -> Result<(), Errno> {
        let o = self.at(old)?;
        let fd = self.dirfd(dir)?;
        host::link_at(o.dir, &o.name, fd, name)
    }

    /// Changes attributes on the host.
    pub fn setattr(&mut self, id: BindId, a: &super::node::SetAttr) -> Result<(), Errno> {
        let at = self.at(id)?;
        if a.uid.is_some() || a.gid.is_some() {
            host::chown_at(
                at.dir,
                &at.name,
                a.uid.unwrap_or(u32::MAX),
                a.gid.unwrap_or(u32::MAX),
            )?;
        }
        if let Some(m) = a.mode {
            host::chmod_at(at.dir, &at.name, m)?;
        }
        if let Some(size) = a.size {
            let fd = self.open(id, libc::O_WRONLY)?;
            host::truncate_fd(fd.as_raw_fd(), size)?;
        }
        if a.atime.is_some() || a.mtime.is_some() {
            let at = self.at(id)?;
            host::utimes_at(
                at.dir,
                &at.name,
                a.atime.map(|t| (t.sec, t.nsec)),
                a.mtime.map(|t| (t.sec, t.nsec)),
            )?;
        }
        self.refresh(id).map(drop)
    }

    /// `statfs` of the host file system under a node.
    pub fn statfs(&mut self, id: BindId) -> Result<libc::statfs, Errno> {
        let at = self.at(id)?;
        host::statfs_fd(at.dir)
    }
}

/// A new node of a bind mount.
pub enum Make {
    /// Permission bits and the access mode to open it with.
    File(u32, i32),
    Dir(u32),
    Symlink(Vec<u8>),
    /// Mode (with type) and device number.
    Node(u32, u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bind-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_reach_the_host_and_host_changes_show() {
        let d = tmpdir("rw");
        std::fs::write(d.join("a"), "host").unwrap();
        let mut b = Binds::default();
        let root = b
            .add_source(Source::open(d.clone(), false, 7).unwrap())
            .unwrap();
        let a = b.lookup(root, b"a").unwrap();
        assert_eq!(b.stat(a, 0).unwrap().size, 4);
        let (n, fd) = b
            .make(root, b"new", Make::File(0o644, libc::O_WRONLY))
            .unwrap();
        let fd = fd.unwrap();
        host::pwrite(fd.as_raw_fd(), b"sandbox", 0).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("new")).unwrap(), "sandbox");
        std::fs::remove_file(d.join("a")).unwrap();
        assert_eq!(b.lookup(root, b"a"), Err(Errno::ENOENT));
        let (sub, _) = b.make(root, b"sub", Make::Dir(0o755)).unwrap();
        b.rename(root, b"new", n, sub, b"moved", None, 0).unwrap();
        assert!(d.join("sub/moved").exists());
        assert_eq!(b.lookup(sub, b"moved"), Ok(n));
        b.remove(sub, b"moved", n).unwrap();
        assert!(!d.join("sub/moved").exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn symlinks_are_never_followed_by_the_host() {
        let d = tmpdir("ln");
        std::os::unix::fs::symlink("/etc", d.join("l")).unwrap();
        let mut b = Binds::default();
        let root = b
            .add_source(Source::open(d.clone(), false, 7).unwrap())
            .unwrap();
        let l = b.lookup(root, b"l").unwrap();
        assert_eq!(b.readlink(l).unwrap(), b"/etc");
        assert!(b.lookup(l, b"passwd").is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_file_source_is_its_own_root() {
        let d = tmpdir("file");
        std::fs::write(d.join("hosts"), "127.0.0.1 x\n").unwrap();
        let mut b = Binds::default();
        let root = b
            .add_source(Source::open(d.join("hosts"), true, 7).unwrap())
            .unwrap();
        assert_eq!(b.stat(root, 0).unwrap().size, 12);
        assert_eq!(b.lookup(root, b"x"), Err(Errno::ENOTDIR));
        let state = serde_json::to_string(&b).unwrap();
        let mut back: Binds = serde_json::from_str(&state).unwrap();
        back.reopen_sources().unwrap();
        assert_eq!(back.stat(root, 0).unwrap().size, 12);
        let _ = std::fs::remove_dir_all(&d);
    }
}
