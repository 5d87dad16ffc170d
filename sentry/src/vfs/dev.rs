//! Devices and devtmpfs. A character device node anywhere (devtmpfs, the
//! overlay, tmpfs) opens the device its number names: the memory devices
//! (`null`, `zero`, `full`, `random`, `urandom`) and `tty` (the caller's
//! controlling terminal).

use super::mem::{MemData, MemDir, MemInode};
use super::node::{makedev, FsId, InodeId};
use super::Vfs;
use crate::errno::Errno;
use serde::{Deserialize, Serialize};

/// A device an open file refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Device {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
}

/// What opening a character device gives.
pub enum Opened {
    Device(Device),
    /// The host terminal: stdio slot.
    Tty(u8),
    /// A new pseudo-terminal pair (`/dev/ptmx`).
    PtyMaster,
    /// The slave of pseudo-terminal N.
    PtySlave(u32),
}

/// The device of character device number `rdev`, opened by a process of
/// session `sid` (`/dev/tty` is its controlling terminal).
pub fn open_char(v: &Vfs, rdev: u64, sid: crate::kernel::Tid) -> Result<Opened, Errno> {
    let d = match (super::node::major(rdev), super::node::minor(rdev)) {
        (1, 3) => Device::Null,
        (1, 5) => Device::Zero,
        (1, 7) => Device::Full,
        (1, 8) => Device::Random,
        (1, 9) => Device::Urandom,
        (5, 0) => {
            if let Some(i) = super::pty::of_session(v, sid) {
                return Ok(Opened::PtySlave(i));
            }
            return v.stdio.tty_slot().map(Opened::Tty).ok_or(Errno::ENXIO);
        }
        (5, 2) => return Ok(Opened::PtyMaster),
        _ if rdev == v.stdio.tty_rdev && rdev != 0 => {
            return v.stdio.tty_slot().map(Opened::Tty).ok_or(Errno::ENXIO)
        }
        (super::pty::SLAVE_MAJOR, n) => return Ok(Opened::PtySlave(n)),
        _ => return Err(Errno::ENXIO),
    };
    Ok(Opened::Device(d))
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let mut got = 0;
    while got < len {
        // SAFETY: getrandom into the unfilled part of a live buffer.
        let r =
            unsafe { libc::getrandom(v[got..].as_mut_ptr() as *mut libc::c_void, len - got, 0) };
        if r <= 0 {
            break;
        }
        got += r as usize;
    }
    v
}

impl Device {
    pub fn read(self, len: usize) -> Result<Vec<u8>, Errno> {
        match self {
            Device::Null => Ok(Vec::new()),
            Device::Zero | Device::Full => Ok(vec![0u8; len]),
            Device::Random | Device::Urandom => Ok(random(len)),
        }
    }

    pub fn write(self, len: usize) -> Result<usize, Errno> {
        match self {
            Device::Full => Err(Errno::ENOSPC),
            _ => Ok(len),
        }
    }
}

/// Makes the node of the caller's terminal in devtmpfs under the name the
/// host gives it (`/dev/pts/N`), so that the terminal's name resolves in
/// the sandbox (`ttyname`, `ps`).
pub fn add_tty_node(v: &mut Vfs, fs: FsId, root: InodeId, mount: super::node::MountId) {
    let Some(slot) = v.stdio.tty_slot() else {
        return;
    };
    let name = v.stdio.name(slot);
    let Some(rel) = name.strip_prefix(b"/dev/") else {
        return;
    };
    let parts: Vec<&[u8]> = rel
        .split(|&c| c == b'/')
        .filter(|p| !p.is_empty())
        .collect();
    let Some((&leaf, dirs)) = parts.split_last() else {
        return;
    };
    if dirs.len() > 1 || parts.iter().any(|p| *p == b"." || *p == b"..") {
        return;
    }
    let mut dir = root;
    for d in dirs {
        match v.mem.lookup(dir, d) {
            Some(i) if v.mem.dir(i).is_some() => dir = i,
            _ => return,
        }
    }
    if v.mem.lookup(dir, leaf).is_some() {
        return;
    }
    let st = v.stdio.host_stat(slot);
    let (uid, gid, perm) = st.map_or((0, 5, 0o620), |s| (s.st_uid, s.st_gid, s.st_mode & 0o7777));
    let ino = v.mounts.alloc_ino(fs);
    let mut i = MemInode::new(fs, ino, libc::S_IFCHR | perm, uid, gid, MemData::Special);
    i.rdev = v.stdio.tty_rdev;
    let id = v.mem.insert(i);
    v.mem.add_entry(dir, leaf, id);
    v.stdio.tty_node = Some(super::node::Loc {
        mount,
        node: super::node::Node::Mem(id),
    });
}

/// Fills a new devtmpfs; returns its `shm` directory (the tmpfs mount
/// point).
pub fn populate(v: &mut Vfs, fs: FsId, root: InodeId) -> InodeId {
    for (name, major, minor, perm) in [
        ("null", 1, 3, 0o666),
        ("zero", 1, 5, 0o666),
        ("full", 1, 7, 0o666),
        ("random", 1, 8, 0o666),
        ("urandom", 1, 9, 0o666),
        ("tty", 5, 0, 0o666),
        ("ptmx", 5, 2, 0o666),
    ] {
        let ino = v.mounts.alloc_ino(fs);
        let mut i = MemInode::new(fs, ino, libc::S_IFCHR | perm, 0, 0, MemData::Special);
        i.rdev = makedev(major, minor);
        let id = v.mem.insert(i);
        v.mem.add_entry(root, name.as_bytes(), id);
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let ino = v.mounts.alloc_ino(fs);
        let i = MemInode::new(
            fs,
            ino,
            libc::S_IFLNK | 0o777,
            0,
            0,
            MemData::Symlink(target.as_bytes().to_vec()),
        );
        let id = v.mem.insert(i);
        v.mem.add_entry(root, name.as_bytes(), id);
    }
    let mut shm = 0;
    for (name, perm) in [("shm", 0o1777), ("pts", 0o755), ("mqueue", 0o1777)] {
        let ino = v.mounts.alloc_ino(fs);
        let i = MemInode::new(
            fs,
            ino,
            libc::S_IFDIR | perm,
            0,
            0,
            MemData::Dir(MemDir::default()),
        );
        let id = v.mem.insert(i);
        v.mem.add_entry(root, name.as_bytes(), id);
        if name == "shm" {
            shm = id;
        }
    }
    shm
}
