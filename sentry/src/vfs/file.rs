//! Open file descriptions and their I/O: regular files (in-memory data or
//! the overlay's lower host file), directories (`getdents`), devices,
//! pipes, stdio, procfs snapshots, and anonymous files.
//!
//! I/O that cannot complete returns a [`Block`] and is run again; a write
//! that made progress before blocking keeps its count in the task's
//! `syscall_scratch` so the re-run continues where it stopped.

use super::dev::Device;
use super::mem::{self, MemData, Memory};
use super::node::{AnonNode, DirEnt, InodeId, Loc, Node, OvlId, Stat, Ts};
use super::path;
use super::{host, FileId, Vfs};
use crate::errno::Errno;
use crate::kernel::signal::{SigInfo, SIGPIPE, SIGXFSZ, SI_USER};
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};

/// Status flags `F_SETFL` may change.
pub const SETFL_MASK: i32 =
    libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME;

/// Largest transfer of one call (Linux `MAX_RW_COUNT`, bounded further to
/// keep the sentry's buffers reasonable).
pub const MAX_RW: usize = 1 << 24;

/// What an open file description is.
#[derive(Debug, Serialize, Deserialize)]
pub enum FileKind {
    /// A regular file of a filesystem: data in memory or on the host.
    Regular,
    /// A directory; `ents` is the listing taken at the first `getdents`
    /// after open or a rewind.
    Dir {
        ents: Option<Vec<DirEnt>>,
    },
    /// `O_PATH`: a location only.
    Path,
    Device(Device),
    /// One or both ends of a pipe (as the access mode says).
    Pipe {
        pipe: super::node::PipeId,
    },
    /// One of the caller's stdio descriptors.
    Stdio(u8),
    /// A procfs file: its content as made at open.
    Proc {
        node: super::proc::ProcNode,
        data: Vec<u8>,
    },
    EventFd(super::eventfd::EventFd),
    Epoll(super::epoll::Epoll),
    TimerFd(super::timerfd::TimerFd),
    SignalFd(super::signalfd::SignalFd),
    /// The master or a slave side of pseudo-terminal N.
    PtyMaster(u32),
    PtySlave(u32),
    /// A socket (see `net`).
    Socket(crate::net::SockId),
    /// A process file descriptor.
    PidFd(super::pidfd::PidFd),
}

/// An open file description.
#[derive(Debug, Serialize, Deserialize)]
pub struct OpenFile {
    pub loc: Loc,
    pub kind: FileKind,
    /// Access mode and status flags (`O_*`).
    pub flags: i32,
    pub offset: u64,
    pub refs: u32,
    /// The name shown in `/proc/[pid]/fd` and maps.
    pub path: Vec<u8>,
    /// The host file of an overlay lower file; reopened when absent.
    #[serde(skip)]
    pub host: Option<OwnedFd>,
    /// Owner for `F_SETOWN` (recorded only).
    #[serde(default)]
    pub owner: i32,
    /// Size of the host file behind this description (an overlay lower
    /// file or a bind mount file) when the sandbox was saved: a restore
    /// refuses to go on if the host file has changed size since.
    #[serde(default)]
    pub host_size: Option<u64>,
}

impl OpenFile {
    pub fn new(loc: Loc, kind: FileKind, flags: i32, path: Vec<u8>) -> OpenFile {
        OpenFile {
            loc,
            kind,
            flags,
            offset: 0,
            refs: 1,
            path,
            host: None,
            owner: 0,
            host_size: None,
        }
    }

    pub fn is_path(&self) -> bool {
        self.flags & libc::O_PATH != 0
    }

    pub fn readable(&self) -> bool {
        !self.is_path() && matches!(self.flags & libc::O_ACCMODE, libc::O_RDONLY | libc::O_RDWR)
    }

    pub fn writable(&self) -> bool {
        !self.is_path() && matches!(self.flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR)
    }

    pub fn nonblocking(&self) -> bool {
        self.flags & libc::O_NONBLOCK != 0
    }
}

/// Attributes of an anonymous node.
pub fn anon_stat(v: &Vfs, a: AnonNode, dev: u64) -> Stat {
    let now = Ts::now();
    let mut st = Stat {
        dev,
        ino: 0,
        mode: 0o600,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        size: 0,
        blksize: 4096,
        blocks: 0,
        atime: now,
        mtime: now,
        ctime: now,
        btime: None,
        mnt_id: 0,
    };
    match a {
        AnonNode::Pipe(p) => {
            st.mode = libc::S_IFIFO | 0o600;
            st.ino = v.pipes.get(&p).map_or(p, |x| x.ino);
        }
        AnonNode::Stdio(slot) if v.stdio.is_tty(slot) && v.stdio.tty_node.is_some() => {
            if let Some(Node::Mem(i)) = v.stdio.tty_node.map(|l| l.node) {
                if let Some(inode) = v.mem.get(i) {
                    let mount = v.stdio.tty_node.map_or(0, |l| l.mount);
                    st = inode.stat(v.mounts.dev_of(mount));
                    st.mnt_id = mount;
                }
            }
        }
        AnonNode::Stdio(slot) => {
            if let Some(h) = v.stdio.host_stat(slot) {
                st.dev = h.st_dev;
                st.ino = h.st_ino;
                st.mode = h.st_mode;
                st.nlink = h.st_nlink;
                st.uid = h.st_uid;
                st.gid = h.st_gid;
                st.rdev = h.st_rdev;
                st.size = h.st_size as u64;
                st.blksize = h.st_blksize as u32;
                st.blocks = h.st_blocks as u64;
            }
        }
        AnonNode::File(f) => match v.files.get(&f).map(|o| &o.kind) {
            Some(FileKind::Socket(s)) => {
                st.mode = libc::S_IFSOCK | 0o777;
                st.ino = v.net.get(*s).map_or(f, |x| x.ino);
            }
            _ => st.ino = f,
        },
    }
    st
}

/// The name of an open file in `/proc/[pid]/fd`.
pub fn display_name(k: &Kernel, root: Loc, of: &OpenFile) -> Vec<u8> {
    match of.loc.node {
        Node::Anon(_) => of.path.clone(),
        Node::Proc(_) | Node::Mem(_) | Node::Ovl(_) | Node::Bind(_) => {
            let mut p = if path::is_dir(k, of.loc.node) {
                path::path_of(k, root, of.loc)
            } else {
                of.path.clone()
            };
            if path::is_deleted(&k.vfs, of.loc.node) {
                p.extend_from_slice(b" (deleted)");
            }
            p
        }
    }
}

/// Extra `fdinfo` lines of special files.
pub fn fdinfo_extra(of: &OpenFile, s: &mut String) {
    use std::fmt::Write as _;
    match &of.kind {
        FileKind::EventFd(e) => {
            let _ = writeln!(s, "eventfd-count: {:16x}", e.count);
            let _ = writeln!(s, "eventfd-id: {}", of.loc.node_file_id());
        }
        FileKind::SignalFd(sfd) => {
            let _ = writeln!(s, "sigmask:\t{:016x}", sfd.mask.0);
        }
        FileKind::PidFd(p) => {
            let _ = writeln!(s, "Pid:\t{}", p.tgid);
            let _ = writeln!(s, "NSpid:\t{}", p.tgid);
        }
        FileKind::Epoll(e) => {
            for (&(fd, _), item) in &e.items {
                let _ = writeln!(
                    s,
                    "tfd: {fd:8} events: {:8x} data: {:16x} pos:0 ino:0 sdev:0",
                    item.events, item.data
                );
            }
        }
        _ => {}
    }
}

impl Loc {
    fn node_file_id(&self) -> u64 {
        match self.node {
            Node::Anon(AnonNode::File(f)) => f,
            _ => 0,
        }
    }
}

/// Where a regular file's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataSrc {
    Mem(InodeId),
    Lower(OvlId),
    /// A file of a bind mount: read and written on the host.
    Bind(super::bind::BindId),
}

pub fn data_src(v: &Vfs, node: Node) -> Result<DataSrc, Errno> {
    match node {
        Node::Mem(i) => Ok(DataSrc::Mem(i)),
        Node::Ovl(o) => match v.ovl.get(o).ok_or(Errno::EIO)?.upper {
            Some(u) => Ok(DataSrc::Mem(u)),
            None => Ok(DataSrc::Lower(o)),
        },
        Node::Bind(b) => Ok(DataSrc::Bind(b)),
        _ => Err(Errno::EINVAL),
    }
}

/// The host descriptor of an open lower file, opened on first use.
fn lower_fd(v: &mut Vfs, f: FileId, o: OvlId) -> Result<i32, Errno> {
    let of = v.files.get(&f).ok_or(Errno::EBADF)?;
    if let Some(h) = &of.host {
        return Ok(h.as_raw_fd());
    }
    let fd = v.ovl.open_lower(o, libc::O_RDONLY)?;
    let raw = fd.as_raw_fd();
    v.files.get_mut(&f).ok_or(Errno::EBADF)?.host = Some(fd);
    Ok(raw)
}

/// The host descriptor of an open bind-mount file, opened with the open
/// file's access mode on first use (after a restore).
pub fn bind_fd(v: &mut Vfs, f: FileId, b: super::bind::BindId) -> Result<i32, Errno> {
    let of = v.files.get(&f).ok_or(Errno::EBADF)?;
    if let Some(h) = &of.host {
        return Ok(h.as_raw_fd());
    }
    let acc = match of.flags & libc::O_ACCMODE {
        libc::O_ACCMODE => libc::O_RDWR,
        a => a,
    };
    let fd = v.binds.open(b, acc)?;
    let raw = fd.as_raw_fd();
    v.files.get_mut(&f).ok_or(Errno::EBADF)?.host = Some(fd);
    Ok(raw)
}

/// The host descriptor to read a host-backed file through.
fn host_read_fd(v: &mut Vfs, f: FileId, src: DataSrc) -> Result<i32, Errno> {
    match src {
        DataSrc::Lower(o) => lower_fd(v, f, o),
        DataSrc::Bind(b) => bind_fd(v, f, b),
        DataSrc::Mem(_) => Err(Errno::EIO),
    }
}

/// Reads a host-backed regular file at an offset (the loader and faults;
/// in-memory files are read through their memory object).
pub fn read_host_at(v: &mut Vfs, f: FileId, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let of = v.files.get(&f).ok_or(Errno::EBADF)?;
    if !matches!(of.kind, FileKind::Regular) {
        return Err(Errno::EINVAL);
    }
    let src = data_src(v, of.loc.node)?;
    let fd = host_read_fd(v, f, src)?;
    host::pread(fd, buf, off)
}

/// `mmap` checks: regular files only; the protection allowed by the access
/// mode; the name, device and inode for maps.
pub fn mmap_check(
    v: &mut Vfs,
    f: FileId,
    shared: bool,
    prot: i32,
) -> Result<(String, (u64, u64), i32), Errno> {
    let of = v.files.get(&f).ok_or(Errno::EBADF)?;
    if of.is_path() {
        return Err(Errno::EBADF);
    }
    if !matches!(of.kind, FileKind::Regular) {
        return Err(Errno::ENODEV);
    }
    let acc = of.flags & libc::O_ACCMODE;
    if acc == libc::O_WRONLY {
        return Err(Errno::EACCES);
    }
    let loc = of.loc;
    let name = String::from_utf8_lossy(&of.path).into_owned();
    let noexec = v.mounts.flags(loc.mount) & super::mount::MS_NOEXEC != 0;
    let mut max = libc::PROT_READ | libc::PROT_EXEC;
    if noexec {
        max &= !libc::PROT_EXEC;
    }
    if !shared || acc == libc::O_RDWR {
        max |= libc::PROT_WRITE;
    }
    if shared && prot & libc::PROT_WRITE != 0 {
        if acc != libc::O_RDWR {
            return Err(Errno::EACCES);
        }
        if let Ok(DataSrc::Bind(_)) = data_src(v, loc.node) {
            // Pages of the sandbox's memory cannot be the host file's.
            return Err(Errno::ENODEV);
        }
        if let Ok(DataSrc::Mem(i)) = data_src(v, loc.node) {
            if v.mem.get(i).and_then(|x| x.file()).is_some_and(|m| {
                m.seals & (libc::F_SEAL_WRITE | libc::F_SEAL_FUTURE_WRITE) as u32 != 0
            }) {
                return Err(Errno::EPERM);
            }
        }
    }
    if prot & !max != 0 {
        return Err(if noexec && prot & libc::PROT_EXEC != 0 {
            Errno::EPERM
        } else {
            Errno::EACCES
        });
    }
    let st = path::stat(v, loc)?;
    Ok((name, (st.dev, st.ino), max))
}

/// Installs `f` at the lowest free descriptor at or above `min`, within
/// `RLIMIT_NOFILE`; on failure the caller's reference on `f` is dropped.
pub fn install_fd(
    k: &mut Kernel,
    tid: Tid,
    f: FileId,
    cloexec: bool,
    min: i32,
) -> Result<i32, Errno> {
    let limit = k.rlimit(tid, libc::RLIMIT_NOFILE as usize).0.min(1 << 20) as i64;
    let table = k.task(tid).fdtable;
    let Some(t) = k.vfs.fdtables.get_mut(&table) else {
        k.vfs.file_release(f);
        return Err(Errno::EBADF);
    };
    let mut fd = min.max(0);
    for (&used, _) in t.fds.range(fd..) {
        if used != fd {
            break;
        }
        fd += 1;
    }
    if fd as i64 >= limit {
        k.vfs.file_release(f);
        return Err(Errno::EMFILE);
    }
    t.fds.insert(fd, (f, cloexec));
    Ok(fd)
}

/// The open file behind descriptor `fd` of `tid`.
pub fn get(k: &Kernel, tid: Tid, fd: i32) -> Result<FileId, Errno> {
    k.vfs.get_fd(k.task(tid).fdtable, fd)
}

/// Like [`get`], refusing `O_PATH` files.
pub fn get_io(k: &Kernel, tid: Tid, fd: i32) -> Result<FileId, Errno> {
    let f = get(k, tid, fd)?;
    if k.vfs.files.get(&f).is_none_or(|o| o.is_path()) {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

// ---- Progress of a blocking write ------------------------------------------

const PROGRESS_TAG: u64 = 0x7772_6974_655f_7067;

/// Bytes already written by the system call being re-run.
pub fn progress(k: &Kernel, tid: Tid) -> usize {
    match k.task(tid).syscall_scratch.as_slice() {
        [PROGRESS_TAG, n] => *n as usize,
        _ => 0,
    }
}

pub fn set_progress(k: &mut Kernel, tid: Tid, n: usize) {
    k.task_mut(tid).syscall_scratch = vec![PROGRESS_TAG, n as u64];
}

/// A block for a write that has made `done` bytes of progress. Once some
/// data went out, a signal must not restart the call (it would write the
/// data twice): a signal that interrupts the wait ends the call with the
/// bytes written so far, as Linux does (see `Kernel::interrupt_syscall`).
fn write_block(k: &mut Kernel, tid: Tid, done: usize, b: Block) -> SysErr {
    if done > 0 {
        set_progress(k, tid, done);
    }
    SysErr::Block(b)
}

// ---- Reading -----------------------------------------------------------------

/// Reads up to `len` bytes at the file offset (or at `pos`, for `pread`).
pub fn read(
    k: &mut Kernel,
    tid: Tid,
    f: FileId,
    len: usize,
    pos: Option<u64>,
) -> Result<Vec<u8>, SysErr> {
    let len = len.min(MAX_RW);
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    if !of.readable() {
        return Err(Errno::EBADF.into());
    }
    let nonblock = of.nonblocking();
    let loc = of.loc;
    match &of.kind {
        FileKind::Regular => {
            let off = pos.unwrap_or(of.offset);
            let data = read_regular(k, f, loc, off, len)?;
            if pos.is_none() {
                if let Some(of) = k.vfs.files.get_mut(&f) {
                    of.offset = off + data.len() as u64;
                }
            }
            Ok(data)
        }
        FileKind::Dir { .. } => Err(Errno::EISDIR.into()),
        FileKind::Path => Err(Errno::EBADF.into()),
        FileKind::Device(d) => {
            let d = *d;
            if pos.is_some_and(|p| (p as i64) < 0) {
                return Err(Errno::EINVAL.into());
            }
            Ok(d.read(len)?)
        }
        FileKind::Pipe { pipe } => {
            if pos.is_some() {
                return Err(Errno::ESPIPE.into());
            }
            let pipe = *pipe;
            Ok(pipe_read(k, pipe, len, nonblock, false)?.0)
        }
        FileKind::Stdio(slot) => {
            let slot = *slot;
            super::stdio::read(k, tid, slot, len, pos, nonblock)
        }
        FileKind::Proc { data, .. } => {
            let off = pos.unwrap_or(of.offset) as usize;
            let out = data.get(off.min(data.len())..).unwrap_or(&[]);
            let out = out[..out.len().min(len)].to_vec();
            if pos.is_none() {
                if let Some(of) = k.vfs.files.get_mut(&f) {
                    of.offset += out.len() as u64;
                }
            }
            Ok(out)
        }
        FileKind::EventFd(_) => super::eventfd::read(k, f, len),
        FileKind::TimerFd(_) => super::timerfd::read(k, f, len),
        FileKind::SignalFd(_) => super::signalfd::read(k, tid, f, len),
        FileKind::PtyMaster(i) => {
            let i = *i;
            super::pty::read(k, tid, i, true, len, nonblock)
        }
        FileKind::PtySlave(i) => {
            let i = *i;
            super::pty::read(k, tid, i, false, len, nonblock)
        }
        FileKind::Epoll(_) | FileKind::PidFd(_) => Err(Errno::EINVAL.into()),
        FileKind::Socket(s) => {
            if pos.is_some() {
                return Err(Errno::ESPIPE.into());
            }
            let s = *s;
            crate::net::io::read(k, tid, s, len, nonblock)
        }
    }
}

/// Reads below which [`read_direct`] is not worth its setup.
const DIRECT_MIN: usize = 64 << 10;

/// Reads up to `total` bytes (the length of the buffers `iov`) of
/// regular file `f` at its offset (or at `pos`) straight into those
/// buffers, where the host holds the file's data (a lower layer or a bind
/// mount) and the read is large: one copy, from the host's page cache into the application's
/// frames, where [`read`] and a copy out take two. `None`: not such a
/// read, nothing done; the caller takes the general path.
pub fn read_direct(
    k: &mut Kernel,
    tid: Tid,
    f: FileId,
    iov: &[(u64, usize)],
    total: usize,
    pos: Option<u64>,
) -> Option<Result<usize, Errno>> {
    if total < DIRECT_MIN {
        return None;
    }
    let of = k.vfs.files.get(&f)?;
    if !of.readable() || !matches!(of.kind, FileKind::Regular) {
        return None;
    }
    let (loc, off) = (of.loc, pos.unwrap_or(of.offset));
    if (off as i64) < 0 {
        return None;
    }
    let src = data_src(&k.vfs, loc.node).ok()?;
    if matches!(src, DataSrc::Mem(_)) {
        return None;
    }
    let fd = match host_read_fd(&mut k.vfs, f, src) {
        Ok(fd) => fd,
        Err(e) => return Some(Err(e)),
    };
    let size = match host::stat_fd(fd) {
        Ok(st) => st.st_size as u64,
        Err(e) => return Some(Err(e)),
    };
    if size == 0 {
        // A file that gives no size (as procfs does): the general path
        // reads what comes.
        return None;
    }
    Some((|| {
        // Only as many pages as the file can fill are made present.
        let len = total.min(MAX_RW).min(size.saturating_sub(off) as usize);
        if len == 0 {
            return Ok(0);
        }
        let runs = k.with_mm(tid, |m, h| m.frames_for_write(iov, len, h))?;
        let got = k
            .host
            .as_ref()
            .ok_or(Errno::EIO)?
            .mf
            .read_from_host(fd, &runs, off)?;
        if pos.is_none() {
            if let Some(of) = k.vfs.files.get_mut(&f) {
                of.offset = off + got as u64;
            }
        }
        Ok(got)
    })())
}

fn read_regular(
    k: &mut Kernel,
    f: FileId,
    loc: Loc,
    off: u64,
    len: usize,
) -> Result<Vec<u8>, Errno> {
    if (off as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    match data_src(&k.vfs, loc.node)? {
        DataSrc::Mem(i) => {
            let Kernel {
                vfs, objects, host, ..
            } = k;
            let host = host.as_ref().ok_or(Errno::EIO)?;
            let inode = vfs.mem.get(i).ok_or(Errno::EIO)?;
            let mf = inode.file().ok_or(Errno::EINVAL)?;
            let n = (mf.size.saturating_sub(off)).min(len as u64) as usize;
            let mut buf = vec![0u8; n];
            let got = mem::read_file(mf, objects, &host.mf, off, &mut buf);
            buf.truncate(got);
            Ok(buf)
        }
        src @ (DataSrc::Lower(_) | DataSrc::Bind(_)) => {
            let fd = host_read_fd(&mut k.vfs, f, src)?;
            let size = host::stat_fd(fd).map_or(len as u64, |s| s.st_size as u64);
            let n = size.saturating_sub(off).min(len as u64).max(if size == 0 {
                len.min(65536) as u64
            } else {
                0
            });
            let mut buf = vec![0u8; n as usize];
            let mut got = 0;
            while got < buf.len() {
                let r = host::pread(fd, &mut buf[got..], off + got as u64)?;
                if r == 0 {
                    break;
                }
                got += r;
            }
            buf.truncate(got);
            Ok(buf)
        }
    }
}

/// Reads from a pipe. With `peek`, nothing is taken: the caller takes
/// what it delivered with [`pipe_consume`] (so data survives a fault
/// copying it out).
pub fn pipe_read(
    k: &mut Kernel,
    pipe: u64,
    len: usize,
    nonblock: bool,
    peek: bool,
) -> Result<(Vec<u8>, usize), SysErr> {
    let p = k.vfs.pipes.get_mut(&pipe).ok_or(Errno::EBADF)?;
    if len == 0 {
        return Ok((Vec::new(), 0));
    }
    if !p.is_empty() {
        let (data, used) = p.view(len);
        if !peek {
            p.consume(used);
            let q = p.queue;
            k.notify(q);
        }
        return Ok((data, used));
    }
    if p.writers == 0 {
        return Ok((Vec::new(), 0));
    }
    if nonblock {
        return Err(Errno::EAGAIN.into());
    }
    Err(SysErr::Block(Block::on(vec![p.queue])))
}

/// Takes `used` bytes that a peeking [`pipe_read`] returned.
pub fn pipe_consume(k: &mut Kernel, pipe: u64, used: usize) {
    if let Some(p) = k.vfs.pipes.get_mut(&pipe) {
        p.consume(used);
        let q = p.queue;
        k.notify(q);
    }
}

// ---- Writing -----------------------------------------------------------------

/// Writes `data` at the file offset (or at `pos`, for `pwrite`).
pub fn write(
    k: &mut Kernel,
    tid: Tid,
    f: FileId,
    data: &[u8],
    pos: Option<u64>,
) -> Result<usize, SysErr> {
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    if !of.writable() {
        return Err(Errno::EBADF.into());
    }
    let data = &data[..data.len().min(MAX_RW)];
    let (nonblock, flags, loc) = (of.nonblocking(), of.flags, of.loc);
    match &of.kind {
        FileKind::Regular => {
            let append = flags & libc::O_APPEND != 0;
            let off = pos.unwrap_or(of.offset);
            let (n, end) = write_regular(k, tid, f, loc, off, data, append)?;
            if pos.is_none() {
                if let Some(of) = k.vfs.files.get_mut(&f) {
                    of.offset = end;
                }
            }
            Ok(n)
        }
        FileKind::Dir { .. } => Err(Errno::EISDIR.into()),
        FileKind::Path => Err(Errno::EBADF.into()),
        FileKind::Device(d) => Ok(d.write(data.len())?),
        FileKind::Pipe { pipe } => {
            if pos.is_some() {
                return Err(Errno::ESPIPE.into());
            }
            let pipe = *pipe;
            pipe_write(k, tid, pipe, data, nonblock, flags & libc::O_DIRECT != 0)
        }
        FileKind::Stdio(slot) => {
            let slot = *slot;
            super::stdio::write(k, tid, slot, data, pos, nonblock)
        }
        FileKind::Proc { node, .. } => {
            let node = *node;
            Ok(super::proc::write(k, tid, node, data)?)
        }
        FileKind::EventFd(_) => super::eventfd::write(k, f, data),
        FileKind::PtyMaster(i) => {
            let i = *i;
            super::pty::write(k, tid, i, true, data, nonblock)
        }
        FileKind::PtySlave(i) => {
            let i = *i;
            super::pty::write(k, tid, i, false, data, nonblock)
        }
        FileKind::TimerFd(_) | FileKind::Epoll(_) | FileKind::SignalFd(_) | FileKind::PidFd(_) => {
            Err(Errno::EINVAL.into())
        }
        FileKind::Socket(s) => {
            if pos.is_some() {
                return Err(Errno::ESPIPE.into());
            }
            let s = *s;
            let extra = crate::net::io::Extra::default();
            crate::net::io::send(k, tid, s, data, extra, 0, nonblock)
        }
    }
}

/// Writes regular file data; returns the count and the offset after it.
fn write_regular(
    k: &mut Kernel,
    tid: Tid,
    f: FileId,
    loc: Loc,
    off: u64,
    data: &[u8],
    append: bool,
) -> Result<(usize, u64), Errno> {
    if (off as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let limit = k.rlimit(tid, libc::RLIMIT_FSIZE as usize).0;
    let i = match data_src(&k.vfs, loc.node)? {
        DataSrc::Mem(i) => i,
        DataSrc::Bind(b) => return write_bind(k, tid, f, b, off, data, append, limit),
        DataSrc::Lower(_) => return Err(Errno::EBADF),
    };
    let Kernel {
        vfs,
        objects,
        frames,
        host,
        ..
    } = k;
    let host = host.as_ref().ok_or(Errno::EIO)?;
    let inode = vfs.mem.get_mut(i).ok_or(Errno::EIO)?;
    let MemData::File(mf) = &mut inode.data else {
        return Err(Errno::EINVAL);
    };
    let off = if append { mf.size } else { off };
    if mf.seals & (libc::F_SEAL_WRITE | libc::F_SEAL_FUTURE_WRITE) as u32 != 0 {
        return Err(Errno::EPERM);
    }
    let mut data = data;
    if mf.seals & libc::F_SEAL_GROW as u32 != 0 && off.saturating_add(data.len() as u64) > mf.size {
        return Err(Errno::EPERM);
    }
    if off.saturating_add(data.len() as u64) > limit && !data.is_empty() {
        if off >= limit {
            let _ = inode;
            k.send_to_thread(tid, SigInfo::new(SIGXFSZ, SI_USER));
            return Err(Errno::EFBIG);
        }
        data = &data[..(limit - off) as usize];
    }
    let mut m = Memory {
        objects,
        frames,
        mf: &host.mf,
    };
    let n = mem::write_file(mf, &mut m, off, data)?;
    if n > 0 {
        let now = Ts::now();
        inode.mtime = now;
        inode.ctime = now;
        // Writing clears set-user-ID, and set-group-ID with group execute.
        if inode.mode & (libc::S_ISUID | libc::S_ISGID) != 0 {
            inode.mode &= !libc::S_ISUID;
            if inode.mode & libc::S_IXGRP != 0 {
                inode.mode &= !libc::S_ISGID;
            }
        }
    }
    Ok((n, off + n as u64))
}

/// Writes to a bind-mount file on the host.
#[allow(clippy::too_many_arguments)]
fn write_bind(
    k: &mut Kernel,
    tid: Tid,
    f: FileId,
    b: super::bind::BindId,
    off: u64,
    data: &[u8],
    append: bool,
    limit: u64,
) -> Result<(usize, u64), Errno> {
    let fd = bind_fd(&mut k.vfs, f, b)?;
    let off = if append {
        host::stat_fd(fd)?.st_size as u64
    } else {
        off
    };
    let mut data = data;
    if off.saturating_add(data.len() as u64) > limit && !data.is_empty() {
        if off >= limit {
            k.send_to_thread(tid, SigInfo::new(SIGXFSZ, SI_USER));
            return Err(Errno::EFBIG);
        }
        data = &data[..(limit - off) as usize];
    }
    let n = host::pwrite(fd, data, off)?;
    Ok((n, off + n as u64))
}

fn pipe_write(
    k: &mut Kernel,
    tid: Tid,
    pipe: u64,
    data: &[u8],
    nonblock: bool,
    packet: bool,
) -> Result<usize, SysErr> {
    let mut done = progress(k, tid);
    loop {
        let p = k.vfs.pipes.get_mut(&pipe).ok_or(Errno::EBADF)?;
        if p.readers == 0 {
            let uid = k.task(tid).creds.uid;
            let tgid = k.tgid(tid);
            k.send_to_thread(tid, SigInfo::new(SIGPIPE, SI_USER).with_sender(tgid, uid));
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EPIPE.into())
            };
        }
        let rest = &data[done.min(data.len())..];
        if rest.is_empty() {
            return Ok(done);
        }
        let n = if data.len() <= super::pipe::PIPE_BUF {
            p.writable(data.len()).min(rest.len())
        } else {
            p.space().min(rest.len())
        };
        if n > 0 {
            p.push(&rest[..n], packet);
            let q = p.queue;
            k.notify(q);
            done += n;
            continue;
        }
        let q = p.queue;
        if nonblock {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EAGAIN.into())
            };
        }
        return Err(write_block(k, tid, done, Block::on(vec![q])));
    }
}

/// A blocked write to a host stream with `done` bytes out.
pub fn host_write_block(k: &mut Kernel, tid: Tid, done: usize, fd: i32) -> SysErr {
    write_block(
        k,
        tid,
        done,
        Block::on(vec![]).with_host_fd(fd, libc::POLLOUT),
    )
}

// ---- Offsets, sizes, directories -------------------------------------------

/// `lseek`.
pub fn lseek(k: &mut Kernel, f: FileId, off: i64, whence: i32) -> Result<u64, Errno> {
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    let cur = of.offset as i64;
    let loc = of.loc;
    let size: i64 = match &of.kind {
        FileKind::Regular => path::stat(k, loc)?.size as i64,
        FileKind::Proc { data, .. } => data.len() as i64,
        FileKind::Dir { .. } => {
            let n = match whence {
                libc::SEEK_SET => off,
                libc::SEEK_CUR => cur.checked_add(off).ok_or(Errno::EINVAL)?,
                _ => return Err(Errno::EINVAL),
            };
            if n < 0 {
                return Err(Errno::EINVAL);
            }
            let of = k.vfs.files.get_mut(&f).ok_or(Errno::EBADF)?;
            of.offset = n as u64;
            if n == 0 {
                of.kind = FileKind::Dir { ents: None };
            }
            return Ok(n as u64);
        }
        FileKind::Device(_) => return Ok(0),
        FileKind::Stdio(slot) => return super::stdio::lseek(&k.vfs, *slot, off, whence),
        FileKind::Path => return Err(Errno::EBADF),
        _ => return Err(Errno::ESPIPE),
    };
    let n = match whence {
        libc::SEEK_SET => off,
        libc::SEEK_CUR => cur.checked_add(off).ok_or(Errno::EOVERFLOW)?,
        libc::SEEK_END => size.checked_add(off).ok_or(Errno::EOVERFLOW)?,
        libc::SEEK_DATA => {
            if off < 0 || off >= size {
                return Err(Errno::ENXIO);
            }
            off
        }
        libc::SEEK_HOLE => {
            if off < 0 || off >= size {
                return Err(Errno::ENXIO);
            }
            size
        }
        _ => return Err(Errno::EINVAL),
    };
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    k.vfs.files.get_mut(&f).ok_or(Errno::EBADF)?.offset = n as u64;
    Ok(n as u64)
}

/// The listing of a directory, with `.` and `..`.
fn listing(k: &mut Kernel, loc: Loc) -> Result<Vec<DirEnt>, Errno> {
    if path::is_deleted(&k.vfs, loc.node) {
        return Err(Errno::ENOENT);
    }
    let me = path::stat(k, loc)?.ino;
    let root = k.vfs.root_loc();
    let parent = path::parent_loc(k, root, loc);
    let up = path::stat(k, parent).map_or(me, |s| s.ino);
    let mut out = vec![
        DirEnt {
            name: b".".to_vec(),
            ino: me,
            dtype: libc::DT_DIR,
        },
        DirEnt {
            name: b"..".to_vec(),
            ino: up,
            dtype: libc::DT_DIR,
        },
    ];
    match loc.node {
        Node::Mem(i) => {
            let d = k.vfs.mem.dir(i).ok_or(Errno::ENOTDIR)?;
            for (name, c) in &d.entries {
                if let Some(ci) = k.vfs.mem.get(*c) {
                    out.push(DirEnt {
                        name: name.clone(),
                        ino: ci.ino,
                        dtype: super::node::dtype_of(ci.mode),
                    });
                }
            }
        }
        Node::Ovl(o) => {
            let v = &mut k.vfs;
            out.extend(v.ovl.read_dir(&v.mem, o)?);
        }
        Node::Proc(p) => out.extend(super::proc::read_dir(k, p)?),
        Node::Bind(b) => out.extend(k.vfs.binds.read_dir(b)?),
        Node::Anon(_) => return Err(Errno::ENOTDIR),
    }
    Ok(out)
}

/// `getdents64` (or the old `getdents` with `legacy`): entries that fit in
/// `max` bytes, as the application's buffer holds them.
pub fn getdents(k: &mut Kernel, f: FileId, max: usize, legacy: bool) -> Result<Vec<u8>, Errno> {
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    if of.is_path() {
        return Err(Errno::EBADF);
    }
    let loc = of.loc;
    let need_list = match &of.kind {
        FileKind::Dir { ents } => ents.is_none() || of.offset == 0,
        _ => return Err(Errno::ENOTDIR),
    };
    if need_list {
        let l = listing(k, loc)?;
        if let Some(FileKind::Dir { ents }) = k.vfs.files.get_mut(&f).map(|o| &mut o.kind) {
            *ents = Some(l);
        }
    }
    let of = k.vfs.files.get_mut(&f).ok_or(Errno::EBADF)?;
    let FileKind::Dir { ents: Some(ents) } = &of.kind else {
        return Err(Errno::ENOTDIR);
    };
    let mut out = Vec::new();
    let mut idx = of.offset as usize;
    while let Some(e) = ents.get(idx) {
        let rec = if legacy {
            (8 + 8 + 2 + e.name.len() + 2).next_multiple_of(8)
        } else {
            (8 + 8 + 2 + 1 + e.name.len() + 1).next_multiple_of(8)
        };
        if out.len() + rec > max {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let start = out.len();
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&((idx + 1) as u64).to_le_bytes());
        out.extend_from_slice(&(rec as u16).to_le_bytes());
        if !legacy {
            out.push(e.dtype);
        }
        out.extend_from_slice(&e.name);
        out.resize(start + rec, 0);
        if legacy {
            out[start + rec - 1] = e.dtype;
        }
        idx += 1;
    }
    of.offset = idx as u64;
    Ok(out)
}

/// Sets a regular file's size (`truncate`, `ftruncate`); the node must
/// have its data in memory already (copied up).
pub fn set_size(k: &mut Kernel, tid: Tid, inode: InodeId, size: u64) -> Result<(), Errno> {
    if size > mem::MAX_FILE_SIZE {
        return Err(Errno::EINVAL);
    }
    let limit = k.rlimit(tid, libc::RLIMIT_FSIZE as usize).0;
    let Kernel {
        vfs,
        objects,
        frames,
        host,
        ..
    } = k;
    let host = host.as_ref().ok_or(Errno::EIO)?;
    let i = vfs.mem.get_mut(inode).ok_or(Errno::ENOENT)?;
    let MemData::File(mf) = &mut i.data else {
        return Err(Errno::EINVAL);
    };
    if size > limit && size > mf.size {
        k.send_to_thread(tid, SigInfo::new(SIGXFSZ, SI_USER));
        return Err(Errno::EFBIG);
    }
    if (size < mf.size && mf.seals & libc::F_SEAL_SHRINK as u32 != 0)
        || (size > mf.size && mf.seals & libc::F_SEAL_GROW as u32 != 0)
    {
        return Err(Errno::EPERM);
    }
    let mut m = Memory {
        objects,
        frames,
        mf: &host.mf,
    };
    if size != mf.size {
        mem::truncate_file(mf, &mut m, size);
    }
    let now = Ts::now();
    i.mtime = now;
    i.ctime = now;
    Ok(())
}

/// `fallocate`.
pub fn fallocate(
    k: &mut Kernel,
    tid: Tid,
    f: FileId,
    mode: i32,
    off: i64,
    len: i64,
) -> Result<(), Errno> {
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if !of.writable() {
        return Err(Errno::EBADF);
    }
    let loc = of.loc;
    match of.kind {
        FileKind::Regular => {}
        FileKind::Pipe { .. } => return Err(Errno::ESPIPE),
        FileKind::Dir { .. } => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    let end = (off as u64).checked_add(len as u64).ok_or(Errno::EFBIG)?;
    let i = match data_src(&k.vfs, loc.node)? {
        DataSrc::Mem(i) => i,
        DataSrc::Bind(b) => {
            let fd = bind_fd(&mut k.vfs, f, b)?;
            return host::fallocate(fd, mode, off as u64, len as u64);
        }
        DataSrc::Lower(_) => return Err(Errno::EBADF),
    };
    let size = k.vfs.mem.get(i).map_or(0, |x| x.size());
    const KEEP_SIZE: i32 = libc::FALLOC_FL_KEEP_SIZE;
    const PUNCH: i32 = libc::FALLOC_FL_PUNCH_HOLE;
    const ZERO: i32 = libc::FALLOC_FL_ZERO_RANGE;
    match mode {
        0 => {
            if end > size {
                set_size(k, tid, i, end)?;
            }
            Ok(())
        }
        KEEP_SIZE => Ok(()),
        m if m == PUNCH | KEEP_SIZE || m == ZERO || m == ZERO | KEEP_SIZE => {
            let zero_end = if m & KEEP_SIZE != 0 {
                end.min(size)
            } else {
                end
            };
            let mut pos = off as u64;
            let zeros = vec![0u8; 1 << 16];
            while pos < zero_end {
                let n = (zero_end - pos).min(zeros.len() as u64) as usize;
                write_regular(k, tid, f, loc, pos, &zeros[..n], false)?;
                pos += n as u64;
            }
            Ok(())
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}
