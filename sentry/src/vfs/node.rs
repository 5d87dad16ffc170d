//! The vocabulary of the file tree: nodes (what a name refers to, in each
//! filesystem), locations (a node seen through a mount), timestamps, and the
//! attributes `stat` reports.

use super::proc::ProcNode;
use super::FileId;
use serde::{Deserialize, Serialize};

/// An in-memory inode (tmpfs, devtmpfs, the overlay's upper layer, memfd).
pub type InodeId = u64;
/// A node of the overlay root filesystem.
pub type OvlId = u64;
/// A mount in the mount table.
pub type MountId = u64;
/// A filesystem instance (one device number).
pub type FsId = u64;
/// A pipe (anonymous or the buffer of a FIFO).
pub type PipeId = u64;

/// What a name refers to, by filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Node {
    Mem(InodeId),
    Ovl(OvlId),
    Proc(ProcNode),
    Anon(AnonNode),
    /// A file of a bind mount (the host's, written through).
    Bind(super::bind::BindId),
}

/// Objects that live in no directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AnonNode {
    Pipe(PipeId),
    /// One of the caller's stdio descriptors (slot 0, 1 or 2).
    Stdio(u8),
    /// An eventfd, epoll, timerfd...: the open file is the object.
    File(FileId),
}

/// A node as reached through a mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Loc {
    pub mount: MountId,
    pub node: Node,
}

/// A timestamp (`struct timespec`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ts {
    pub sec: i64,
    pub nsec: i64,
}

impl Ts {
    /// The current `CLOCK_REALTIME` time.
    pub fn now() -> Ts {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime with a valid timespec pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        Ts {
            sec: ts.tv_sec,
            nsec: ts.tv_nsec,
        }
    }

    pub fn from_ns(ns: u64) -> Ts {
        Ts {
            sec: (ns / 1_000_000_000) as i64,
            nsec: (ns % 1_000_000_000) as i64,
        }
    }
}

/// File attributes, as `stat` and `statx` report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u32,
    pub blocks: u64,
    pub atime: Ts,
    pub mtime: Ts,
    pub ctime: Ts,
    pub btime: Option<Ts>,
    pub mnt_id: u64,
}

impl Stat {
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }

    /// The `struct stat` of x86-64.
    pub fn to_libc(&self) -> libc::stat {
        let mut st: libc::stat = crate::mm::zeroed();
        st.st_dev = self.dev;
        st.st_ino = self.ino;
        st.st_mode = self.mode;
        st.st_nlink = self.nlink;
        st.st_uid = self.uid;
        st.st_gid = self.gid;
        st.st_rdev = self.rdev;
        st.st_size = self.size as i64;
        st.st_blksize = self.blksize as i64;
        st.st_blocks = self.blocks as i64;
        st.st_atime = self.atime.sec;
        st.st_atime_nsec = self.atime.nsec;
        st.st_mtime = self.mtime.sec;
        st.st_mtime_nsec = self.mtime.nsec;
        st.st_ctime = self.ctime.sec;
        st.st_ctime_nsec = self.ctime.nsec;
        st
    }

    /// The `struct statx`, with the fields `mask` asks for and those that
    /// cost nothing.
    pub fn to_statx(&self, _mask: u32) -> libc::statx {
        let mut sx: libc::statx = crate::mm::zeroed();
        let mut got = libc::STATX_BASIC_STATS | libc::STATX_MNT_ID;
        sx.stx_blksize = self.blksize;
        sx.stx_nlink = self.nlink as u32;
        sx.stx_uid = self.uid;
        sx.stx_gid = self.gid;
        sx.stx_mode = self.mode as u16;
        sx.stx_ino = self.ino;
        sx.stx_size = self.size;
        sx.stx_blocks = self.blocks;
        let ts = |t: Ts| {
            // SAFETY: a plain C struct of integers; all-zero is valid.
            let mut x: libc::statx_timestamp = unsafe { std::mem::zeroed() };
            x.tv_sec = t.sec;
            x.tv_nsec = t.nsec as u32;
            x
        };
        sx.stx_atime = ts(self.atime);
        sx.stx_mtime = ts(self.mtime);
        sx.stx_ctime = ts(self.ctime);
        if let Some(b) = self.btime {
            sx.stx_btime = ts(b);
            got |= libc::STATX_BTIME;
        }
        sx.stx_rdev_major = major(self.rdev);
        sx.stx_rdev_minor = minor(self.rdev);
        sx.stx_dev_major = major(self.dev);
        sx.stx_dev_minor = minor(self.dev);
        sx.stx_mnt_id = self.mnt_id;
        sx.stx_mask = got;
        sx
    }
}

/// `makedev` as glibc encodes it.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

pub const fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

pub const fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// One directory entry as `getdents64` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEnt {
    pub name: Vec<u8>,
    pub ino: u64,
    /// `DT_*`.
    pub dtype: u8,
}

/// The `DT_*` type of a mode.
pub fn dtype_of(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        _ => libc::DT_UNKNOWN,
    }
}

/// `struct statfs` of x86-64, with `f_flags` (which `libc` leaves out).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct StatFs {
    pub f_type: i64,
    pub f_bsize: i64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: [i32; 2],
    pub f_namelen: i64,
    pub f_frsize: i64,
    pub f_flags: i64,
    pub f_spare: [i64; 4],
}

// SAFETY: integers only, no padding, valid for any bit pattern.
unsafe impl crate::mm::Pod for StatFs {}

/// Attribute changes of `chmod`, `chown`, `utimensat`, `truncate`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Ts>,
    pub mtime: Option<Ts>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers_round_trip() {
        for (ma, mi) in [(0, 0), (1, 3), (136, 5), (259, 70000), (4095, 255)] {
            let d = makedev(ma, mi);
            assert_eq!((major(d), minor(d)), (ma, mi));
        }
        assert_eq!(makedev(1, 3), libc::makedev(1, 3));
        assert_eq!(makedev(259, 70000), libc::makedev(259, 70000));
    }
}
