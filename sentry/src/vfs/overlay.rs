//! The root filesystem: an overlay of a read-only host directory (the lower
//! layer) and an in-memory upper layer that takes every change.
//!
//! The upper layer is a tree of [`MemInode`]s mirroring the directories
//! that hold changes: a file written, renamed or whose attributes change is
//! first copied up whole; a name removed from a directory that the lower
//! layer also has is hidden by a whiteout in the upper directory; a
//! directory made where a lower one was deleted is opaque. A directory is
//! "merged" when both layers have it and the upper one is not opaque.
//! Renaming a directory that exists in the lower layer fails with `EXDEV`
//! (as Linux overlayfs without `redirect_dir`), which callers such as `mv`
//! handle by copying.
//!
//! [`OvlNode`]s are a cache over the two layers: everything they hold can be
//! found again from the upper tree and the host, so unreferenced ones are
//! dropped when the cache grows. Inode numbers are stable: lower files keep
//! the host's (those of other host devices are mapped once), copied-up files
//! keep their lower number, new files get numbers above 2^40.
//!
//! The host is reached only through descriptors beneath the root
//! (`openat2` with `RESOLVE_IN_ROOT`/`RESOLVE_BENEATH`), one component at a
//! time; host symlinks are never followed by the host, only read.

use super::host;
use super::mem::{MemData, MemDir, MemFile, MemFs, MemInode, Memory};
use super::node::{DirEnt, FsId, InodeId, OvlId, Stat, Ts};
use crate::errno::Errno;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// What the lower layer has at a node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Lower {
    /// Path beneath the host root, without a leading slash (`""` is the
    /// root itself).
    pub path: Vec<u8>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// The overlay inode number.
    pub ino: u64,
}

/// A node of the overlay.
#[derive(Debug, Serialize, Deserialize)]
pub struct OvlNode {
    /// The parent directory's node (the root's is itself).
    pub parent: OvlId,
    pub name: Vec<u8>,
    pub upper: Option<InodeId>,
    pub lower: Option<Lower>,
    /// Open files, contexts, mounts, and cached children holding it.
    pub refs: u32,
    pub children: BTreeMap<Vec<u8>, OvlId>,
    /// Removed from its directory; lives on while referenced.
    pub deleted: bool,
    /// `O_PATH` descriptor of the lower directory; reopened by path.
    #[serde(skip)]
    dirfd: Option<OwnedFd>,
}

/// Cached nodes kept beyond those in use.
const CACHE_SOFT_LIMIT: usize = 2048;

/// The overlay filesystem.
#[derive(Debug, Serialize, Deserialize)]
pub struct Overlay {
    pub fs: FsId,
    pub root: OvlId,
    pub nodes: BTreeMap<OvlId, OvlNode>,
    next: OvlId,
    /// Host (dev, ino) of files on other host devices -> overlay number.
    ino_map: BTreeMap<(u64, u64), u64>,
    next_ino: u64,
    /// The host device of the root directory; its inode numbers are used
    /// as they are.
    root_dev: u64,
    /// The host root, reopened on restore.
    pub root_path: std::path::PathBuf,
    /// Upper inodes whose overlay reference was dropped; the VFS releases
    /// them.
    #[serde(default)]
    pub unref: Vec<InodeId>,
    /// Cache size that triggers the next sweep.
    #[serde(default)]
    sweep_at: usize,
    #[serde(skip)]
    root_fd: Option<OwnedFd>,
}

/// A host directory descriptor, ours or borrowed from the cache.
enum DirFd {
    Borrowed(RawFd),
    Owned(OwnedFd),
}

impl DirFd {
    fn raw(&self) -> RawFd {
        match self {
            DirFd::Borrowed(fd) => *fd,
            DirFd::Owned(fd) => fd.as_raw_fd(),
        }
    }
}

fn file_type(mode: u32) -> u32 {
    mode & libc::S_IFMT
}

fn ts(sec: i64, nsec: i64) -> Ts {
    Ts { sec, nsec }
}

impl Overlay {
    /// An overlay of the host directory open as `root_fd`, with
    /// `upper_root` (an empty in-memory directory) as the upper root.
    pub fn new(
        fs: FsId,
        root_fd: OwnedFd,
        root_path: std::path::PathBuf,
        mem: &mut MemFs,
        upper_fs: FsId,
    ) -> Result<(Overlay, InodeId), Errno> {
        let st = host::stat_fd(root_fd.as_raw_fd())?;
        let mut upper = MemInode::new(
            upper_fs,
            st.st_ino,
            st.st_mode,
            st.st_uid,
            st.st_gid,
            MemData::Dir(MemDir::default()),
        );
        upper.atime = ts(st.st_atime, st.st_atime_nsec);
        upper.mtime = ts(st.st_mtime, st.st_mtime_nsec);
        upper.ctime = ts(st.st_ctime, st.st_ctime_nsec);
        let upper_root = mem.insert(upper);
        mem.make_root(upper_root);
        mem.get_mut(upper_root).expect("just made").refs += 1;
        let root = OvlNode {
            parent: 1,
            name: Vec::new(),
            upper: Some(upper_root),
            lower: Some(Lower {
                path: Vec::new(),
                mode: st.st_mode,
                uid: st.st_uid,
                gid: st.st_gid,
                ino: st.st_ino,
            }),
            refs: 1,
            children: BTreeMap::new(),
            deleted: false,
            dirfd: None,
        };
        let mut nodes = BTreeMap::new();
        nodes.insert(1, root);
        Ok((
            Overlay {
                fs,
                root: 1,
                nodes,
                next: 1,
                ino_map: BTreeMap::new(),
                next_ino: 1 << 40,
                root_dev: st.st_dev,
                root_path,
                unref: Vec::new(),
                sweep_at: 0,
                root_fd: Some(root_fd),
            },
            upper_root,
        ))
    }

    pub fn get(&self, id: OvlId) -> Option<&OvlNode> {
        self.nodes.get(&id)
    }

    /// A new inode number for a file made in the sandbox.
    pub fn alloc_ino(&mut self) -> u64 {
        self.next_ino += 1;
        self.next_ino
    }

    fn map_ino(&mut self, dev: u64, ino: u64) -> u64 {
        if dev == self.root_dev {
            return ino;
        }
        if let Some(&i) = self.ino_map.get(&(dev, ino)) {
            return i;
        }
        let i = self.alloc_ino();
        self.ino_map.insert((dev, ino), i);
        i
    }

    /// Takes `fd`, open on `path`, as the host root (after a restore).
    pub fn set_root(&mut self, path: std::path::PathBuf, fd: OwnedFd) {
        self.root_path = path;
        self.root_fd = Some(fd);
        for n in self.nodes.values_mut() {
            n.dirfd = None;
        }
    }

    fn root_fd(&mut self) -> Result<RawFd, Errno> {
        if self.root_fd.is_none() {
            let fd = host::open_root(&self.root_path).map_err(Errno::from_host)?;
            self.root_fd = Some(fd);
        }
        Ok(host::raw(&self.root_fd))
    }

    /// The host descriptor of a node's lower directory.
    fn lower_dirfd(&mut self, id: OvlId) -> Result<RawFd, Errno> {
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        if let Some(fd) = &n.dirfd {
            return Ok(fd.as_raw_fd());
        }
        let path = n.lower.as_ref().ok_or(Errno::ENOENT)?.path.clone();
        let root = self.root_fd()?;
        let fd = if path.is_empty() {
            host::open_in_root(root, b"", libc::O_PATH | libc::O_DIRECTORY)?
        } else {
            host::open_in_root(
                root,
                &path,
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            )?
        };
        let raw = fd.as_raw_fd();
        self.nodes.get_mut(&id).expect("present").dirfd = Some(fd);
        Ok(raw)
    }

    /// The lower directory's descriptor and name of a node's lower file.
    fn lower_parent(&mut self, id: OvlId) -> Result<(DirFd, Vec<u8>), Errno> {
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        if id == self.root {
            return Ok((DirFd::Borrowed(self.lower_dirfd(id)?), Vec::new()));
        }
        let (parent, name) = (n.parent, n.name.clone());
        let path = n.lower.as_ref().ok_or(Errno::ENOENT)?.path.clone();
        let parent_ok = !n.deleted && self.nodes.get(&parent).is_some_and(|p| p.lower.is_some());
        if parent_ok {
            return Ok((DirFd::Borrowed(self.lower_dirfd(parent)?), name));
        }
        // Removed or moved in the sandbox: the host still has it by path.
        let (dir, base) = match path.iter().rposition(|&c| c == b'/') {
            Some(i) => (path[..i].to_vec(), path[i + 1..].to_vec()),
            None => (Vec::new(), path),
        };
        let root = self.root_fd()?;
        let fd = host::open_in_root(root, &dir, libc::O_PATH | libc::O_DIRECTORY)?;
        Ok((DirFd::Owned(fd), base))
    }

    /// Host attributes of a node's lower file.
    pub fn lower_stat(&mut self, id: OvlId) -> Result<libc::stat, Errno> {
        let (dir, name) = self.lower_parent(id)?;
        host::stat_at(dir.raw(), &name)
    }

    /// Opens a node's lower file for reading.
    pub fn open_lower(&mut self, id: OvlId, flags: i32) -> Result<OwnedFd, Errno> {
        if id == self.root {
            let root = self.root_fd()?;
            return host::open_in_root(root, b"", flags);
        }
        let (dir, name) = self.lower_parent(id)?;
        host::open_child(dir.raw(), &name, flags)
    }

    /// Adds a reference.
    pub fn hold(&mut self, id: OvlId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.refs += 1;
        }
    }

    /// Drops a reference; a deleted node without references goes away.
    pub fn release(&mut self, id: OvlId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.refs = n.refs.saturating_sub(1);
            if n.refs == 0 && n.deleted {
                self.evict(id);
            }
        }
    }

    /// Removes an unreferenced node from the cache, and then its parent if
    /// that is left unreferenced and deleted.
    fn evict(&mut self, mut id: OvlId) {
        loop {
            let Some(n) = self.nodes.get(&id) else {
                return;
            };
            if n.refs > 0 || id == self.root || !n.children.is_empty() {
                return;
            }
            let n = self.nodes.remove(&id).expect("present");
            if let Some(u) = n.upper {
                self.unref.push(u);
            }
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

    /// Drops unreferenced nodes when the cache has grown: past the soft
    /// limit, and to twice what the last sweep left (so that many nodes in
    /// use do not make every call scan them).
    pub fn sweep(&mut self) {
        if self.nodes.len() <= CACHE_SOFT_LIMIT.max(self.sweep_at) {
            return;
        }
        let idle: Vec<OvlId> = self
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

    /// Mode (type and permissions), owner and group of a node.
    pub fn attrs(&self, mem: &MemFs, id: OvlId) -> Option<(u32, u32, u32)> {
        let n = self.nodes.get(&id)?;
        if let Some(u) = n.upper.and_then(|u| mem.get(u)) {
            return Some((u.mode, u.uid, u.gid));
        }
        n.lower.as_ref().map(|l| (l.mode, l.uid, l.gid))
    }

    pub fn file_type(&self, mem: &MemFs, id: OvlId) -> u32 {
        self.attrs(mem, id).map_or(0, |(m, _, _)| file_type(m))
    }

    /// True if both layers contribute to the directory.
    pub fn is_merged(&self, mem: &MemFs, id: OvlId) -> bool {
        let Some(n) = self.nodes.get(&id) else {
            return false;
        };
        let upper_opaque = n.upper.and_then(|u| mem.dir(u)).is_some_and(|d| d.opaque);
        n.upper.is_some() && n.lower.is_some() && !upper_opaque
    }

    /// Looks `name` up in directory `dir`.
    pub fn lookup(&mut self, mem: &mut MemFs, dir: OvlId, name: &[u8]) -> Result<OvlId, Errno> {
        let d = self.nodes.get(&dir).ok_or(Errno::ENOENT)?;
        if let Some(&c) = d.children.get(name) {
            return Ok(c);
        }
        let upper_dir = d.upper.and_then(|u| mem.dir(u));
        let upper_child = upper_dir.and_then(|ud| ud.entries.get(name).copied());
        let hidden = upper_dir.is_some_and(|ud| ud.opaque || ud.whiteouts.contains(name));
        let upper_is_dir = upper_child
            .and_then(|u| mem.get(u))
            .is_some_and(|i| i.is_dir());
        let want_lower = d.lower.is_some() && !hidden && (upper_child.is_none() || upper_is_dir);
        let mut lower = None;
        if want_lower {
            let parent_path = d.lower.as_ref().expect("checked").path.clone();
            let fd = self.lower_dirfd(dir)?;
            match host::stat_at(fd, name) {
                Ok(st) => {
                    let is_dir = file_type(st.st_mode) == libc::S_IFDIR;
                    if upper_child.is_none() || is_dir {
                        let mut path = parent_path;
                        if !path.is_empty() {
                            path.push(b'/');
                        }
                        path.extend_from_slice(name);
                        lower = Some(Lower {
                            path,
                            mode: st.st_mode,
                            uid: st.st_uid,
                            gid: st.st_gid,
                            ino: self.map_ino(st.st_dev, st.st_ino),
                        });
                    }
                }
                Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => {}
                Err(e) => return Err(e),
            }
        }
        if upper_child.is_none() && lower.is_none() {
            return Err(Errno::ENOENT);
        }
        if let Some(u) = upper_child {
            if let Some(i) = mem.get_mut(u) {
                i.refs += 1;
            }
        }
        Ok(self.add_child(dir, name, upper_child, lower))
    }

    fn add_child(
        &mut self,
        dir: OvlId,
        name: &[u8],
        upper: Option<InodeId>,
        lower: Option<Lower>,
    ) -> OvlId {
        self.next += 1;
        let id = self.next;
        self.nodes.insert(
            id,
            OvlNode {
                parent: dir,
                name: name.to_vec(),
                upper,
                lower,
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

    /// Attributes of a node.
    pub fn stat(&mut self, mem: &MemFs, id: OvlId, dev: u64) -> Result<Stat, Errno> {
        let merged = self.is_merged(mem, id);
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        if let Some(u) = n.upper.and_then(|u| mem.get(u)) {
            let mut st = u.stat(dev);
            if merged {
                st.nlink = 1;
            }
            return Ok(st);
        }
        let ino = n.lower.as_ref().ok_or(Errno::ENOENT)?.ino;
        let h = self.lower_stat(id)?;
        Ok(Stat {
            dev,
            ino,
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

    /// The target of a symlink node.
    pub fn readlink(&mut self, mem: &MemFs, id: OvlId) -> Result<Vec<u8>, Errno> {
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        if let Some(u) = n.upper {
            return match mem.get(u).map(|i| &i.data) {
                Some(MemData::Symlink(t)) => Ok(t.clone()),
                _ => Err(Errno::EINVAL),
            };
        }
        if n.lower.as_ref().map(|l| file_type(l.mode)) != Some(libc::S_IFLNK) {
            return Err(Errno::EINVAL);
        }
        let (dir, name) = self.lower_parent(id)?;
        host::readlink_at(dir.raw(), &name)
    }

    /// Makes sure a node has an upper inode, copying the lower file up
    /// (data, attributes, and the parent directories first).
    pub fn copy_up(
        &mut self,
        mem: &mut MemFs,
        m: &mut Memory,
        id: OvlId,
    ) -> Result<InodeId, Errno> {
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        if let Some(u) = n.upper {
            return Ok(u);
        }
        if n.deleted {
            return Err(Errno::ENOENT);
        }
        let (parent, name, ino) = (
            n.parent,
            n.name.clone(),
            n.lower.as_ref().ok_or(Errno::ENOENT)?.ino,
        );
        let parent_upper = self.copy_up(mem, m, parent)?;
        let st = self.lower_stat(id)?;
        let upper_fs = mem.get(parent_upper).map_or(0, |i| i.fs);
        let data = match file_type(st.st_mode) {
            libc::S_IFREG => {
                let obj = m.objects.create(0);
                let mut f = MemFile {
                    obj,
                    size: 0,
                    seals: 0,
                };
                if let Err(e) = self.copy_data(id, &mut f, m, st.st_size as u64) {
                    m.objects.release(obj, m.frames, m.mf);
                    return Err(e);
                }
                MemData::File(f)
            }
            libc::S_IFDIR => MemData::Dir(MemDir::default()),
            libc::S_IFLNK => {
                let (dir, lname) = self.lower_parent(id)?;
                MemData::Symlink(host::readlink_at(dir.raw(), &lname)?)
            }
            libc::S_IFIFO => MemData::Fifo(None),
            _ => MemData::Special,
        };
        let mut inode = MemInode::new(upper_fs, ino, st.st_mode, st.st_uid, st.st_gid, data);
        inode.rdev = st.st_rdev;
        inode.atime = ts(st.st_atime, st.st_atime_nsec);
        inode.mtime = ts(st.st_mtime, st.st_mtime_nsec);
        inode.ctime = ts(st.st_ctime, st.st_ctime_nsec);
        inode.refs = 1;
        let up = mem.insert(inode);
        // Copy-up is invisible: the parent's times stay.
        let (pm, pc) = mem
            .get(parent_upper)
            .map_or((Ts::default(), Ts::default()), |p| (p.mtime, p.ctime));
        mem.add_entry(parent_upper, &name, up);
        if let Some(p) = mem.get_mut(parent_upper) {
            p.mtime = pm;
            p.ctime = pc;
        }
        if let Some(i) = mem.get_mut(up) {
            i.ctime = ts(st.st_ctime, st.st_ctime_nsec);
        }
        self.nodes.get_mut(&id).expect("present").upper = Some(up);
        Ok(up)
    }

    fn copy_data(
        &mut self,
        id: OvlId,
        f: &mut MemFile,
        m: &mut Memory,
        size: u64,
    ) -> Result<(), Errno> {
        if size == 0 {
            return Ok(());
        }
        let fd = self.open_lower(id, libc::O_RDONLY)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0u64;
        loop {
            let n = host::pread(fd.as_raw_fd(), &mut buf, off)?;
            if n == 0 {
                break;
            }
            super::mem::write_file(f, m, off, &buf[..n])?;
            off += n as u64;
        }
        Ok(())
    }

    /// Enters the new upper inode `inode` as `name` in directory `dir`
    /// (copied up before by the caller). A directory made over a whiteout
    /// becomes opaque. Returns the new node.
    pub fn add_new(&mut self, mem: &mut MemFs, dir: OvlId, name: &[u8], inode: InodeId) -> OvlId {
        let d = self.nodes.get(&dir).expect("present");
        let dir_upper = d.upper.expect("copied up");
        let was_whiteout = mem
            .dir(dir_upper)
            .is_some_and(|ud| ud.whiteouts.contains(name));
        mem.add_entry(dir_upper, name, inode);
        if was_whiteout {
            if let Some(nd) = mem.dir_mut(inode) {
                nd.opaque = true;
            }
        }
        if let Some(i) = mem.get_mut(inode) {
            i.refs += 1;
        }
        if let Some(old) = self
            .nodes
            .get_mut(&dir)
            .and_then(|d| d.children.remove(name))
        {
            self.detach_removed(old);
        }
        self.add_child(dir, name, Some(inode), None)
    }

    /// A node taken out of its directory's map: marked deleted, freed once
    /// unreferenced. It keeps its reference on the parent until then.
    fn detach_removed(&mut self, id: OvlId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.deleted = true;
            if n.refs == 0 {
                self.evict(id);
            }
        }
    }

    /// Removes `name` (node `child`) from directory `dir`: its upper entry
    /// goes, and a whiteout hides the lower one. Returns the upper inode
    /// that lost a link.
    pub fn remove(
        &mut self,
        mem: &mut MemFs,
        dir: OvlId,
        name: &[u8],
        child: OvlId,
    ) -> Option<InodeId> {
        let dir_upper = self.nodes.get(&dir)?.upper?;
        let c = self.nodes.get(&child)?;
        let had_lower = c.lower.is_some();
        let mut unlinked = None;
        if c.upper.is_some() {
            unlinked = mem.remove_entry(dir_upper, name);
        }
        if had_lower {
            if let Some(d) = mem.dir_mut(dir_upper) {
                d.whiteouts.insert(name.to_vec());
            }
            if let Some(d) = mem.get_mut(dir_upper) {
                let now = Ts::now();
                d.mtime = now;
                d.ctime = now;
            }
        }
        if let Some(d) = self.nodes.get_mut(&dir) {
            if d.children.get(name) == Some(&child) {
                d.children.remove(name);
            }
        }
        self.detach_removed(child);
        unlinked
    }

    /// Moves node `src` (named `sname` in `sdir`, with an upper inode) to
    /// `dname` in `ddir`, replacing `target` if given. Both directories are
    /// copied up. Returns the upper inode that lost its name (a replaced
    /// target).
    #[allow(clippy::too_many_arguments)]
    pub fn rename(
        &mut self,
        mem: &mut MemFs,
        sdir: OvlId,
        sname: &[u8],
        src: OvlId,
        ddir: OvlId,
        dname: &[u8],
        target: Option<OvlId>,
    ) -> Option<InodeId> {
        let s_upper_dir = self.nodes.get(&sdir)?.upper?;
        let d_upper_dir = self.nodes.get(&ddir)?.upper?;
        let s_inode = self.nodes.get(&src)?.upper?;
        let s_had_lower = self.nodes.get(&src)?.lower.is_some();
        let mut replaced = None;
        let mut target_had_lower = false;
        if let Some(t) = target {
            target_had_lower = self.nodes.get(&t).is_some_and(|n| n.lower.is_some());
            if self.nodes.get(&t).is_some_and(|n| n.upper.is_some()) {
                replaced = mem.remove_entry(d_upper_dir, dname);
            }
            if let Some(d) = self.nodes.get_mut(&ddir) {
                if d.children.get(dname) == Some(&t) {
                    d.children.remove(dname);
                }
            }
            self.detach_removed(t);
        }
        mem.remove_entry(s_upper_dir, sname);
        if s_had_lower {
            if let Some(d) = mem.dir_mut(s_upper_dir) {
                d.whiteouts.insert(sname.to_vec());
            }
        }
        let was_whiteout = mem
            .dir(d_upper_dir)
            .is_some_and(|ud| ud.whiteouts.contains(dname));
        mem.add_entry(d_upper_dir, dname, s_inode);
        if (was_whiteout || target_had_lower) && mem.get(s_inode).is_some_and(|i| i.is_dir()) {
            if let Some(nd) = mem.dir_mut(s_inode) {
                nd.opaque = true;
            }
        }
        // Move the cached node; it holds a reference on its new parent.
        if let Some(d) = self.nodes.get_mut(&sdir) {
            if d.children.get(sname) == Some(&src) {
                d.children.remove(sname);
            }
        }
        if let Some(d) = self.nodes.get_mut(&ddir) {
            d.refs += 1;
        }
        if let Some(n) = self.nodes.get_mut(&src) {
            n.parent = ddir;
            n.name = dname.to_vec();
            n.lower = None;
            n.dirfd = None;
        }
        let old = self
            .nodes
            .get_mut(&ddir)
            .and_then(|d| d.children.insert(dname.to_vec(), src));
        if let Some(old) = old.filter(|&o| o != src) {
            self.detach_removed(old);
        }
        // Dropping the old parent's reference may evict it.
        if let Some(p) = self.nodes.get_mut(&sdir) {
            p.refs = p.refs.saturating_sub(1);
            if p.refs == 0 && p.deleted {
                self.evict(sdir);
            }
        }
        replaced
    }

    /// Swaps `aname` in `adir` (node `a`) with `bname` in `bdir` (node
    /// `b`); all four are copied up. Names keep an upper entry, so their
    /// lower files stay hidden; a directory moved over a name the lower
    /// layer has becomes opaque.
    #[allow(clippy::too_many_arguments)]
    pub fn exchange(
        &mut self,
        mem: &mut MemFs,
        adir: OvlId,
        aname: &[u8],
        a: OvlId,
        bdir: OvlId,
        bname: &[u8],
        b: OvlId,
    ) {
        let (Some(au), Some(bu)) = (
            self.nodes.get(&adir).and_then(|n| n.upper),
            self.nodes.get(&bdir).and_then(|n| n.upper),
        ) else {
            return;
        };
        let (Some(ai), Some(bi)) = (
            self.nodes.get(&a).and_then(|n| n.upper),
            self.nodes.get(&b).and_then(|n| n.upper),
        ) else {
            return;
        };
        let a_lower = self.nodes.get(&a).is_some_and(|n| n.lower.is_some());
        let b_lower = self.nodes.get(&b).is_some_and(|n| n.lower.is_some());
        mem.remove_entry(au, aname);
        mem.remove_entry(bu, bname);
        mem.add_entry(au, aname, bi);
        mem.add_entry(bu, bname, ai);
        if a_lower {
            if let Some(d) = mem.dir_mut(bi) {
                d.opaque = true;
            }
        }
        if b_lower {
            if let Some(d) = mem.dir_mut(ai) {
                d.opaque = true;
            }
        }
        for (node, dir, name) in [(a, bdir, bname), (b, adir, aname)] {
            if let Some(n) = self.nodes.get_mut(&node) {
                n.parent = dir;
                n.name = name.to_vec();
                n.lower = None;
                n.dirfd = None;
            }
        }
        if let Some(d) = self.nodes.get_mut(&adir) {
            d.children.insert(aname.to_vec(), b);
            d.refs += 1;
        }
        if let Some(d) = self.nodes.get_mut(&bdir) {
            d.children.insert(bname.to_vec(), a);
            d.refs += 1;
        }
        // Each node left its old parent.
        for p in [adir, bdir] {
            if let Some(d) = self.nodes.get_mut(&p) {
                d.refs = d.refs.saturating_sub(1);
            }
        }
    }

    /// Every name of a directory in the merged view: (name, ino, type).
    pub fn read_dir(&mut self, mem: &MemFs, id: OvlId) -> Result<Vec<DirEnt>, Errno> {
        let n = self.nodes.get(&id).ok_or(Errno::ENOENT)?;
        let mut ents: BTreeMap<Vec<u8>, (u64, u8)> = BTreeMap::new();
        let mut whiteouts = std::collections::BTreeSet::new();
        let mut opaque = false;
        if let Some(ud) = n.upper.and_then(|u| mem.dir(u)) {
            for (name, &c) in &ud.entries {
                if let Some(ci) = mem.get(c) {
                    ents.insert(name.clone(), (ci.ino, super::node::dtype_of(ci.mode)));
                }
            }
            whiteouts = ud.whiteouts.clone();
            opaque = ud.opaque;
        }
        if n.lower.is_some() && !opaque {
            let dirfd = self.lower_dirfd(id)?;
            let dev = host::stat_fd(dirfd)?.st_dev;
            let fd = host::open_dir_beneath(dirfd)?;
            for (name, ino, dt) in host::read_dir(fd.as_raw_fd())? {
                if ents.contains_key(&name) || whiteouts.contains(&name) {
                    continue;
                }
                let ino = self.map_ino(dev, ino);
                ents.insert(name, (ino, dt));
            }
        }
        Ok(ents
            .into_iter()
            .map(|(name, (ino, dtype))| DirEnt { name, ino, dtype })
            .collect())
    }

    /// True if the merged directory has no entries.
    pub fn is_empty_dir(&mut self, mem: &MemFs, id: OvlId) -> Result<bool, Errno> {
        Ok(self.read_dir(mem, id)?.is_empty())
    }

    /// True if `anc` is `id` or one of its ancestors.
    pub fn is_ancestor(&self, anc: OvlId, mut id: OvlId) -> bool {
        for _ in 0..4096 {
            if id == anc {
                return true;
            }
            match self.nodes.get(&id) {
                Some(n) if id != self.root => id = n.parent,
                _ => return false,
            }
        }
        false
    }
}
