//! In-memory inodes: the files of tmpfs, devtmpfs, memfd and of the
//! overlay's upper layer. Regular file data lives in memory objects so that
//! a `MAP_SHARED` mapping and `read`/`write` see the same frames.
//!
//! An inode lives while it has a name (`nlink > 0`) or a reference (open
//! files, working directories, mounts). Directories know their parent and
//! name (a directory has exactly one), which gives `..` and paths.

use super::node::{FsId, InodeId, PipeId, Ts};
use crate::errno::Errno;
use crate::memory::{FrameAllocator, MemObjectId, MemObjects, MemoryFile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A directory's entries.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MemDir {
    pub entries: BTreeMap<Vec<u8>, InodeId>,
    /// Names deleted from the lower layer (overlay upper directories only).
    pub whiteouts: BTreeSet<Vec<u8>>,
    /// The lower layer's directory of the same name is hidden (overlay).
    pub opaque: bool,
    pub parent: InodeId,
    pub name: Vec<u8>,
}

/// A regular file's data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemFile {
    pub obj: MemObjectId,
    pub size: u64,
    /// `F_SEAL_*` (memfd).
    pub seals: u32,
}

/// What an in-memory inode holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum MemData {
    Dir(MemDir),
    File(MemFile),
    Symlink(Vec<u8>),
    /// A FIFO: its pipe, made at first open.
    Fifo(Option<PipeId>),
    /// A device node or a socket; `rdev` names the device.
    Special,
}

/// An in-memory inode.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemInode {
    pub fs: FsId,
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub rdev: u64,
    pub atime: Ts,
    pub mtime: Ts,
    pub ctime: Ts,
    pub btime: Ts,
    /// References from open files, filesystem contexts and mounts.
    pub refs: u32,
    pub data: MemData,
    pub xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemInode {
    pub fn new(fs: FsId, ino: u64, mode: u32, uid: u32, gid: u32, data: MemData) -> MemInode {
        let now = Ts::now();
        MemInode {
            fs,
            ino,
            mode,
            uid,
            gid,
            nlink: 0,
            rdev: 0,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            refs: 0,
            data,
            xattrs: BTreeMap::new(),
        }
    }

    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        matches!(self.data, MemData::Dir(_))
    }

    pub fn dir(&self) -> Option<&MemDir> {
        match &self.data {
            MemData::Dir(d) => Some(d),
            _ => None,
        }
    }

    pub fn dir_mut(&mut self) -> Option<&mut MemDir> {
        match &mut self.data {
            MemData::Dir(d) => Some(d),
            _ => None,
        }
    }

    pub fn file(&self) -> Option<&MemFile> {
        match &self.data {
            MemData::File(f) => Some(f),
            _ => None,
        }
    }

    /// The attributes `stat` reports, on device `dev`.
    pub fn stat(&self, dev: u64) -> super::node::Stat {
        let size = self.size();
        super::node::Stat {
            dev,
            ino: self.ino,
            mode: self.mode,
            nlink: self.nlink as u64,
            uid: self.uid,
            gid: self.gid,
            rdev: self.rdev,
            size,
            blksize: 4096,
            blocks: match &self.data {
                MemData::File(_) | MemData::Dir(_) => size.div_ceil(4096) * 8,
                _ => 0,
            },
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            btime: Some(self.btime),
            mnt_id: 0,
        }
    }

    pub fn size(&self) -> u64 {
        match &self.data {
            MemData::File(f) => f.size,
            MemData::Symlink(t) => t.len() as u64,
            MemData::Dir(d) => 4096.max(d.entries.len() as u64 * 32),
            _ => 0,
        }
    }
}

/// The table of in-memory inodes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MemFs {
    pub inodes: BTreeMap<InodeId, MemInode>,
    next: InodeId,
}

impl MemFs {
    /// Adds an inode (with no name yet) and returns its ID.
    pub fn insert(&mut self, inode: MemInode) -> InodeId {
        self.next += 1;
        self.inodes.insert(self.next, inode);
        self.next
    }

    pub fn get(&self, id: InodeId) -> Option<&MemInode> {
        self.inodes.get(&id)
    }

    pub fn get_mut(&mut self, id: InodeId) -> Option<&mut MemInode> {
        self.inodes.get_mut(&id)
    }

    pub fn dir(&self, id: InodeId) -> Option<&MemDir> {
        self.inodes.get(&id).and_then(|i| i.dir())
    }

    pub fn dir_mut(&mut self, id: InodeId) -> Option<&mut MemDir> {
        self.inodes.get_mut(&id).and_then(|i| i.dir_mut())
    }

    pub fn lookup(&self, dir: InodeId, name: &[u8]) -> Option<InodeId> {
        self.dir(dir)?.entries.get(name).copied()
    }

    /// Makes `child` a directory of its own, as the root of a filesystem.
    pub fn make_root(&mut self, child: InodeId) {
        if let Some(c) = self.inodes.get_mut(&child) {
            c.nlink = c.nlink.max(2);
            if let MemData::Dir(d) = &mut c.data {
                d.parent = child;
                d.name.clear();
            }
        }
    }

    /// Enters `child` in `dir` under `name` (which must be free), counting
    /// the link. A whiteout of the name is removed.
    pub fn add_entry(&mut self, dir: InodeId, name: &[u8], child: InodeId) {
        let now = Ts::now();
        let child_is_dir = self.inodes.get(&child).is_some_and(|c| c.is_dir());
        let subdirs = self.dir(child).map_or(0, |d| {
            d.entries
                .values()
                .filter(|e| self.inodes.get(e).is_some_and(|i| i.is_dir()))
                .count() as u32
        });
        if let Some(c) = self.inodes.get_mut(&child) {
            c.nlink = if child_is_dir {
                2 + subdirs
            } else {
                c.nlink + 1
            };
            c.ctime = now;
            if let MemData::Dir(d) = &mut c.data {
                d.parent = dir;
                d.name = name.to_vec();
            }
        }
        if let Some(p) = self.inodes.get_mut(&dir) {
            if child_is_dir {
                p.nlink += 1;
            }
            p.mtime = now;
            p.ctime = now;
            if let MemData::Dir(d) = &mut p.data {
                d.whiteouts.remove(name);
                d.entries.insert(name.to_vec(), child);
            }
        }
    }

    /// Removes `name` from `dir`, dropping the link; returns the inode.
    /// The caller frees it with [`MemFs::take_if_unused`] when appropriate.
    pub fn remove_entry(&mut self, dir: InodeId, name: &[u8]) -> Option<InodeId> {
        let now = Ts::now();
        let child = self.dir_mut(dir)?.entries.remove(name)?;
        let child_is_dir = self.inodes.get(&child).is_some_and(|c| c.is_dir());
        if let Some(p) = self.inodes.get_mut(&dir) {
            if child_is_dir {
                p.nlink = p.nlink.saturating_sub(1);
            }
            p.mtime = now;
            p.ctime = now;
        }
        if let Some(c) = self.inodes.get_mut(&child) {
            c.nlink = if child_is_dir {
                0
            } else {
                c.nlink.saturating_sub(1)
            };
            c.ctime = now;
        }
        Some(child)
    }

    /// Removes an inode that has neither names nor references, and returns
    /// it so the caller can free what it holds (memory object, pipe).
    pub fn take_if_unused(&mut self, id: InodeId) -> Option<MemInode> {
        let i = self.inodes.get(&id)?;
        if i.nlink > 0 || i.refs > 0 {
            return None;
        }
        self.inodes.remove(&id)
    }

    /// True if `anc` is `id` or one of its ancestors (directories only).
    pub fn is_ancestor(&self, anc: InodeId, mut id: InodeId) -> bool {
        for _ in 0..4096 {
            if id == anc {
                return true;
            }
            match self.dir(id) {
                Some(d) if d.parent != id => id = d.parent,
                _ => return false,
            }
        }
        false
    }
}

/// The memory a regular file's data lives in.
pub struct Memory<'a> {
    pub objects: &'a mut MemObjects,
    pub frames: &'a mut FrameAllocator,
    pub mf: &'a MemoryFile,
}

/// Reads file data at `off`; returns the count (short at end of file).
pub fn read_file(
    f: &MemFile,
    objects: &MemObjects,
    mf: &MemoryFile,
    off: u64,
    buf: &mut [u8],
) -> usize {
    if off >= f.size {
        return 0;
    }
    let n = (f.size - off).min(buf.len() as u64) as usize;
    objects.read(f.obj, off, &mut buf[..n], mf);
    n
}

/// Largest file size (`MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// Writes `data` at `off`, growing the file.
pub fn write_file(f: &mut MemFile, m: &mut Memory, off: u64, data: &[u8]) -> Result<usize, Errno> {
    let end = off
        .checked_add(data.len() as u64)
        .filter(|&e| e <= MAX_FILE_SIZE)
        .ok_or(Errno::EFBIG)?;
    if data.is_empty() {
        return Ok(0);
    }
    m.objects
        .write(f.obj, off, data, m.frames, m.mf)
        .ok_or(Errno::ENOSPC)?;
    if end > f.size {
        f.size = end;
        m.objects.truncate(f.obj, end, m.frames, m.mf);
    }
    Ok(data.len())
}

/// Sets the file size; data past it is freed, new space reads as zeros.
pub fn truncate_file(f: &mut MemFile, m: &mut Memory, size: u64) {
    f.size = size;
    m.objects.truncate(f.obj, size, m.frames, m.mf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(parent: InodeId) -> MemInode {
        MemInode::new(
            1,
            0,
            libc::S_IFDIR | 0o755,
            0,
            0,
            MemData::Dir(MemDir {
                parent,
                ..Default::default()
            }),
        )
    }

    #[test]
    fn links_and_nlink() {
        let mut fs = MemFs::default();
        let root = fs.insert(dir(0));
        fs.make_root(root);
        let sub = fs.insert(dir(0));
        fs.add_entry(root, b"sub", sub);
        assert_eq!(fs.get(root).unwrap().nlink, 3);
        assert_eq!(fs.get(sub).unwrap().nlink, 2);
        assert_eq!(fs.dir(sub).unwrap().parent, root);
        let f = fs.insert(MemInode::new(
            1,
            0,
            libc::S_IFREG,
            0,
            0,
            MemData::Symlink(vec![]),
        ));
        fs.add_entry(sub, b"a", f);
        fs.add_entry(root, b"b", f);
        assert_eq!(fs.get(f).unwrap().nlink, 2);
        assert!(fs.is_ancestor(root, sub));
        assert!(!fs.is_ancestor(sub, root));
        assert_eq!(fs.remove_entry(sub, b"a"), Some(f));
        assert!(fs.take_if_unused(f).is_none());
        fs.remove_entry(root, b"b");
        assert!(fs.take_if_unused(f).is_some());
        fs.remove_entry(root, b"sub");
        assert_eq!(fs.get(root).unwrap().nlink, 2);
        assert!(fs.take_if_unused(sub).is_some());
    }
}
