//! File system calls on descriptors: open and close, I/O, offsets, `stat`,
//! directories, `fcntl`, `dup`, locks, and in-kernel copies (`sendfile`,
//! `splice`, `tee`, `copy_file_range`).

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};
use crate::vfs::file::{self, FileKind, SETFL_MASK};
use crate::vfs::lock::{self, Owner, RangeLock};
use crate::vfs::{ops, path, poll, FileId};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_read, sys_read, Support::Full);
    t.add(SYS_write, sys_write, Support::Full);
    t.add(SYS_pread64, sys_pread64, Support::Full);
    t.add(SYS_pwrite64, sys_pwrite64, Support::Full);
    t.add(SYS_readv, sys_readv, Support::Full);
    t.add(SYS_writev, sys_writev, Support::Full);
    t.add(SYS_preadv, sys_preadv, Support::Full);
    t.add(SYS_pwritev, sys_pwritev, Support::Full);
    t.add(
        SYS_preadv2,
        sys_preadv2,
        Support::Partial("RWF_* flags are hints only"),
    );
    t.add(
        SYS_pwritev2,
        sys_pwritev2,
        Support::Partial("RWF_* flags are hints only"),
    );
    t.add(SYS_open, sys_open, Support::Full);
    t.add(SYS_openat, sys_openat, Support::Full);
    t.add(SYS_creat, sys_creat, Support::Full);
    t.add(
        SYS_openat2,
        sys_openat2,
        Support::Partial("RESOLVE_NO_XDEV is not enforced"),
    );
    t.add(SYS_close, sys_close, Support::Full);
    t.add(SYS_close_range, sys_close_range, Support::Full);
    t.add(SYS_dup, sys_dup, Support::Full);
    t.add(SYS_dup2, sys_dup2, Support::Full);
    t.add(SYS_dup3, sys_dup3, Support::Full);
    t.add(
        SYS_fcntl,
        sys_fcntl,
        Support::Partial("no leases, no signal-driven I/O"),
    );
    t.add(SYS_lseek, sys_lseek, Support::Full);
    t.add(SYS_fstat, sys_fstat, Support::Full);
    t.add(SYS_stat, sys_stat, Support::Full);
    t.add(SYS_lstat, sys_lstat, Support::Full);
    t.add(SYS_newfstatat, sys_newfstatat, Support::Full);
    t.add(SYS_statx, sys_statx, Support::Full);
    t.add(SYS_getdents, sys_getdents, Support::Full);
    t.add(SYS_getdents64, sys_getdents64, Support::Full);
    t.add(SYS_fsync, sys_fsync, Support::Full);
    t.add(SYS_fdatasync, sys_fsync, Support::Full);
    t.add(SYS_sync, sys_sync, Support::Full);
    t.add(SYS_syncfs, sys_syncfs, Support::Full);
    t.add(SYS_sync_file_range, sys_sync_file_range, Support::Full);
    t.add(SYS_ftruncate, sys_ftruncate, Support::Full);
    t.add(
        SYS_fallocate,
        sys_fallocate,
        Support::Partial("modes 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE"),
    );
    t.add(SYS_flock, sys_flock, Support::Full);
    t.add(SYS_sendfile, sys_sendfile, Support::Full);
    t.add(SYS_copy_file_range, sys_copy_file_range, Support::Full);
    t.add(SYS_splice, sys_splice, Support::Full);
    t.add(SYS_tee, sys_tee, Support::Full);
    t.add(SYS_readahead, sys_readahead, Support::Full);
    t.add(SYS_fadvise64, sys_fadvise64, Support::Full);
    t.add(
        SYS_memfd_create,
        sys_memfd_create,
        Support::Partial("MFD_HUGETLB uses normal pages"),
    );
}

fn fdtable(k: &Kernel, tid: Tid) -> u64 {
    k.task(tid).fdtable
}

// ---- I/O ---------------------------------------------------------------------

/// Reads `[(base, len)]` iovecs (at most `IOV_MAX`).
pub fn iovecs(k: &mut Kernel, tid: Tid, addr: u64, n: usize) -> Result<Vec<(u64, usize)>, Errno> {
    if n > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(n);
    let mut total: usize = 0;
    for i in 0..n {
        let at = addr.checked_add(i as u64 * 16).ok_or(Errno::EFAULT)?;
        let iov: libc::iovec = k.read_val(tid, at)?;
        if (iov.iov_len as isize) < 0 {
            return Err(Errno::EINVAL);
        }
        total = total.checked_add(iov.iov_len).ok_or(Errno::EINVAL)?;
        if total > isize::MAX as usize {
            return Err(Errno::EINVAL);
        }
        v.push((iov.iov_base as u64, iov.iov_len));
    }
    Ok(v)
}

fn do_read(k: &mut Kernel, tid: Tid, fd: i32, iov: &[(u64, usize)], pos: Option<u64>) -> SysResult {
    let f = file::get(k, tid, fd)?;
    if pos.is_some_and(|p| (p as i64) < 0) {
        return Err(Errno::EINVAL.into());
    }
    let total: usize = iov.iter().map(|&(_, l)| l).sum();
    let before = k.vfs.files.get(&f).map(|o| o.offset);
    // A pipe's data is taken only once it reached the application.
    let pipe = match k.vfs.files.get(&f) {
        Some(o) if o.readable() && pos.is_none() => match o.kind {
            FileKind::Pipe { pipe } => Some((pipe, o.nonblocking())),
            _ => None,
        },
        _ => None,
    };
    if pipe.is_none() {
        if let Some(r) = file::read_direct(k, tid, f, iov, total, pos) {
            return Ok(r? as u64);
        }
    }
    let (data, used) = match pipe {
        Some((p, nb)) => file::pipe_read(k, p, total.min(file::MAX_RW), nb, true)?,
        None => (file::read(k, tid, f, total, pos)?, 0),
    };
    let mut done = 0;
    let mut fault = None;
    for &(base, len) in iov {
        if done >= data.len() {
            break;
        }
        let n = len.min(data.len() - done);
        let (copied, err) = k.copy_out_partial(tid, base, &data[done..done + n]);
        done += copied;
        if err.is_some() {
            fault = err;
            break;
        }
    }
    if done < data.len() {
        // A buffer that cannot be written stopped the copy: the read
        // returns what reached the application (as Linux does), and the
        // file offset moves only that far; with nothing, the fault.
        if let (Some(of), Some(b), None) = (k.vfs.files.get_mut(&f), before, pos) {
            if matches!(of.kind, FileKind::Regular | FileKind::Proc { .. }) {
                of.offset = b + done as u64;
            }
        }
        if done == 0 {
            if let Some(e) = fault {
                return Err(e.into());
            }
        }
    }
    if let Some((p, _)) = pipe {
        file::pipe_consume(k, p, if done == data.len() { used } else { done });
    }
    Ok(done as u64)
}

fn gather(k: &mut Kernel, tid: Tid, iov: &[(u64, usize)]) -> Result<Vec<u8>, Errno> {
    let mut data = Vec::new();
    for &(base, len) in iov {
        let len = len.min(file::MAX_RW - data.len());
        if len == 0 {
            continue;
        }
        data.extend(k.read_bytes(tid, base, len)?);
    }
    Ok(data)
}

fn do_write(
    k: &mut Kernel,
    tid: Tid,
    fd: i32,
    iov: &[(u64, usize)],
    pos: Option<u64>,
) -> SysResult {
    let f = file::get(k, tid, fd)?;
    if pos.is_some_and(|p| (p as i64) < 0) {
        return Err(Errno::EINVAL.into());
    }
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    if !of.writable() {
        return Err(Errno::EBADF.into());
    }
    // The memory devices never look at the data.
    if let FileKind::Device(d) = of.kind {
        let total = iov
            .iter()
            .map(|&(_, l)| l)
            .fold(0usize, usize::saturating_add);
        return Ok(d.write(total.min(file::MAX_RW))? as u64);
    }
    let data = gather(k, tid, iov)?;
    Ok(file::write(k, tid, f, &data, pos)? as u64)
}

fn sys_read(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_read(k, tid, a.fd(0), &[(a.ptr(1), a.usize(2))], None)
}

fn sys_write(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_write(k, tid, a.fd(0), &[(a.ptr(1), a.usize(2))], None)
}

fn sys_pread64(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_read(k, tid, a.fd(0), &[(a.ptr(1), a.usize(2))], Some(a.u64(3)))
}

fn sys_pwrite64(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_write(k, tid, a.fd(0), &[(a.ptr(1), a.usize(2))], Some(a.u64(3)))
}

fn sys_readv(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let iov = iovecs(k, tid, a.ptr(1), a.usize(2))?;
    do_read(k, tid, a.fd(0), &iov, None)
}

fn sys_writev(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let iov = iovecs(k, tid, a.ptr(1), a.usize(2))?;
    do_write(k, tid, a.fd(0), &iov, None)
}

fn sys_preadv(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let iov = iovecs(k, tid, a.ptr(1), a.usize(2))?;
    do_read(k, tid, a.fd(0), &iov, Some(a.u64(3)))
}

fn sys_pwritev(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let iov = iovecs(k, tid, a.ptr(1), a.usize(2))?;
    do_write(k, tid, a.fd(0), &iov, Some(a.u64(3)))
}

const RWF_ALL: u32 = 0x1f;

fn sys_preadv2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.u32(5) & !RWF_ALL != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let iov = iovecs(k, tid, a.ptr(1), a.usize(2))?;
    let pos = (a.i64(3) != -1).then_some(a.u64(3));
    do_read(k, tid, a.fd(0), &iov, pos)
}

fn sys_pwritev2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    if a.u32(5) & !RWF_ALL != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let iov = iovecs(k, tid, a.ptr(1), a.usize(2))?;
    let pos = (a.i64(3) != -1).then_some(a.u64(3));
    do_write(k, tid, a.fd(0), &iov, pos)
}

// ---- Open and close ----------------------------------------------------------------

fn do_open(
    k: &mut Kernel,
    tid: Tid,
    dirfd: i32,
    path: u64,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> SysResult {
    let p = k.read_cstr(tid, path, libc::PATH_MAX as usize - 1)?;
    let f = ops::open(k, tid, dirfd, &p, flags, mode, resolve)?;
    let fd = file::install_fd(k, tid, f, flags & libc::O_CLOEXEC != 0, 0)?;
    Ok(fd as u64)
}

fn sys_open(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_open(k, tid, libc::AT_FDCWD, a.ptr(0), a.i32(1), a.u32(2), 0)
}

fn sys_openat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_open(k, tid, a.fd(0), a.ptr(1), a.i32(2), a.u32(3), 0)
}

fn sys_creat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;
    do_open(k, tid, libc::AT_FDCWD, a.ptr(0), flags, a.u32(1), 0)
}

/// Every `O_*` flag `openat2` accepts.
const VALID_OPEN_FLAGS: u64 = (libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_SYNC
    | libc::O_TMPFILE) as u64;

fn sys_openat2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let size = a.usize(3);
    if size < 24 {
        return Err(Errno::EINVAL.into());
    }
    if size > 4096 {
        return Err(Errno::E2BIG.into());
    }
    let raw = k.read_bytes(tid, a.ptr(2), size)?;
    if raw[24..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG.into());
    }
    let word = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let (flags, mode, resolve) = (word(0), word(1), word(2));
    if flags & !VALID_OPEN_FLAGS != 0 || resolve & !0x3f != 0 {
        return Err(Errno::EINVAL.into());
    }
    let creating = flags & (libc::O_CREAT as u64) != 0
        || flags & (libc::O_TMPFILE as u64) == libc::O_TMPFILE as u64;
    if mode & !0o7777 != 0 || (mode != 0 && !creating) {
        return Err(Errno::EINVAL.into());
    }
    if resolve & path::RESOLVE_BENEATH != 0 && resolve & path::RESOLVE_IN_ROOT != 0 {
        return Err(Errno::EINVAL.into());
    }
    if resolve & path::RESOLVE_CACHED != 0 {
        return Err(Errno::EAGAIN.into());
    }
    do_open(
        k,
        tid,
        a.fd(0),
        a.ptr(1),
        flags as i32,
        mode as u32,
        resolve,
    )
}

/// Closes `fd` of `tid`; POSIX locks of its process on the file go.
pub fn close_fd(k: &mut Kernel, tid: Tid, fd: i32) -> Result<(), Errno> {
    let table = fdtable(k, tid);
    let (f, _) = k
        .vfs
        .fdtables
        .get_mut(&table)
        .and_then(|t| t.fds.remove(&fd))
        .ok_or(Errno::EBADF)?;
    if let Some(node) = k.vfs.files.get(&f).map(|o| o.loc.node) {
        let tgid = k.tgid(tid);
        if k.vfs.locks.release_process(node, tgid) {
            k.notify(lock::LOCK_QUEUE);
        }
    }
    k.vfs.file_release(f);
    Ok(())
}

fn sys_close(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    close_fd(k, tid, a.fd(0))?;
    Ok(0)
}

const CLOSE_RANGE_UNSHARE: u32 = 2;
const CLOSE_RANGE_CLOEXEC: u32 = 4;

fn sys_close_range(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (first, last, flags) = (a.u32(0), a.u32(1), a.u32(2));
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL.into());
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 {
        let t = fdtable(k, tid);
        let n = k.vfs.unshare_fdtable(t);
        k.task_mut(tid).fdtable = n;
    }
    let table = fdtable(k, tid);
    let fds: Vec<i32> = k
        .vfs
        .fdtables
        .get(&table)
        .map(|t| {
            t.fds
                .keys()
                .copied()
                .filter(|&fd| fd as u32 >= first && fd as u32 <= last)
                .collect()
        })
        .unwrap_or_default();
    for fd in fds {
        if flags & CLOSE_RANGE_CLOEXEC != 0 {
            if let Some(e) = k
                .vfs
                .fdtables
                .get_mut(&table)
                .and_then(|t| t.fds.get_mut(&fd))
            {
                e.1 = true;
            }
        } else {
            let _ = close_fd(k, tid, fd);
        }
    }
    Ok(0)
}

fn sys_dup(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get(k, tid, a.fd(0))?;
    k.vfs.file_hold(f);
    Ok(file::install_fd(k, tid, f, false, 0)? as u64)
}

fn dup_to(k: &mut Kernel, tid: Tid, old: i32, new: i32, cloexec: bool) -> SysResult {
    let f = file::get(k, tid, old)?;
    let limit = k.rlimit(tid, libc::RLIMIT_NOFILE as usize).0.min(1 << 20);
    if new < 0 || new as u64 >= limit {
        return Err(Errno::EBADF.into());
    }
    k.vfs.file_hold(f);
    if file::get(k, tid, new).is_ok() {
        let _ = close_fd(k, tid, new);
    }
    let table = fdtable(k, tid);
    if let Some(t) = k.vfs.fdtables.get_mut(&table) {
        t.fds.insert(new, (f, cloexec));
    }
    Ok(new as u64)
}

fn sys_dup2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (old, new) = (a.fd(0), a.fd(1));
    if old == new {
        file::get(k, tid, old)?;
        return Ok(new as u64);
    }
    dup_to(k, tid, old, new, false)
}

fn sys_dup3(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (old, new, flags) = (a.fd(0), a.fd(1), a.i32(2));
    if old == new || flags & !libc::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL.into());
    }
    dup_to(k, tid, old, new, flags & libc::O_CLOEXEC != 0)
}

// ---- fcntl ---------------------------------------------------------------------------

const F_SETSIG: i32 = 10;
const F_GETSIG: i32 = 11;
const F_SETOWN_EX: i32 = 15;
const F_GETOWN_EX: i32 = 16;

fn sys_fcntl(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (fd, cmd) = (a.fd(0), a.i32(1));
    let f = file::get(k, tid, fd)?;
    let table = fdtable(k, tid);
    let is_path = k.vfs.files.get(&f).is_some_and(|o| o.is_path());
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let min = a.i32(2);
            let limit = k.rlimit(tid, libc::RLIMIT_NOFILE as usize).0.min(1 << 20);
            if min < 0 || min as u64 >= limit {
                return Err(Errno::EINVAL.into());
            }
            k.vfs.file_hold(f);
            Ok(file::install_fd(k, tid, f, cmd == libc::F_DUPFD_CLOEXEC, min)? as u64)
        }
        libc::F_GETFD => {
            let c = k
                .vfs
                .fdtables
                .get(&table)
                .and_then(|t| t.fds.get(&fd))
                .is_some_and(|e| e.1);
            Ok(if c { libc::FD_CLOEXEC as u64 } else { 0 })
        }
        libc::F_SETFD => {
            if let Some(e) = k
                .vfs
                .fdtables
                .get_mut(&table)
                .and_then(|t| t.fds.get_mut(&fd))
            {
                e.1 = a.i32(2) & libc::FD_CLOEXEC != 0;
            }
            Ok(0)
        }
        libc::F_GETFL => Ok(k.vfs.files.get(&f).map_or(0, |o| o.flags) as u32 as u64),
        libc::F_SETFL => {
            if is_path {
                return Err(Errno::EBADF.into());
            }
            let v = a.i32(2);
            let of = k.vfs.files.get_mut(&f).ok_or(Errno::EBADF)?;
            if v & libc::O_DIRECT != 0 && matches!(of.kind, FileKind::Stdio(_)) {
                return Err(Errno::EINVAL.into());
            }
            of.flags = (of.flags & !SETFL_MASK) | (v & SETFL_MASK);
            Ok(0)
        }
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => {
            if is_path {
                return Err(Errno::EBADF.into());
            }
            record_lock(k, tid, f, cmd, a.ptr(2))
        }
        libc::F_GETPIPE_SZ => match k.vfs.files.get(&f).map(|o| &o.kind) {
            Some(FileKind::Pipe { pipe }) => {
                Ok(k.vfs.pipes.get(pipe).map_or(0, |p| p.capacity) as u64)
            }
            _ => Err(Errno::EBADF.into()),
        },
        libc::F_SETPIPE_SZ => {
            let Some(FileKind::Pipe { pipe }) = k.vfs.files.get(&f).map(|o| &o.kind) else {
                return Err(Errno::EBADF.into());
            };
            let pipe = *pipe;
            let size = crate::vfs::pipe::round_size(a.u64(2)).ok_or(Errno::EINVAL)?;
            let root = k
                .task(tid)
                .creds
                .capable(crate::kernel::caps::CAP_SYS_RESOURCE);
            if size > crate::vfs::pipe::ABSOLUTE_MAX_SIZE {
                return Err(Errno::EINVAL.into());
            }
            if size > crate::vfs::pipe::MAX_SIZE && !root {
                return Err(Errno::EPERM.into());
            }
            let p = k.vfs.pipes.get_mut(&pipe).ok_or(Errno::EBADF)?;
            if p.len() > size {
                return Err(Errno::EBUSY.into());
            }
            p.capacity = size;
            let q = p.queue;
            k.notify(q);
            Ok(size as u64)
        }
        libc::F_GETOWN => Ok(k.vfs.files.get(&f).map_or(0, |o| o.owner) as i64 as u64),
        libc::F_SETOWN => {
            if let Some(o) = k.vfs.files.get_mut(&f) {
                o.owner = a.i32(2);
            }
            Ok(0)
        }
        F_GETOWN_EX => {
            let owner = k.vfs.files.get(&f).map_or(0, |o| o.owner);
            let (typ, pid) = if owner < 0 {
                (2i32, -owner)
            } else {
                (1i32, owner)
            };
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&typ.to_le_bytes());
            b[4..].copy_from_slice(&pid.to_le_bytes());
            k.copy_out(tid, a.ptr(2), &b)?;
            Ok(0)
        }
        F_SETOWN_EX => {
            let b = k.read_bytes(tid, a.ptr(2), 8)?;
            let typ = i32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
            let pid = i32::from_le_bytes(b[4..].try_into().expect("4 bytes"));
            if !(0..=2).contains(&typ) {
                return Err(Errno::EINVAL.into());
            }
            if let Some(o) = k.vfs.files.get_mut(&f) {
                o.owner = if typ == 2 { -pid } else { pid };
            }
            Ok(0)
        }
        F_GETSIG => Ok(0),
        F_SETSIG => {
            if !(0..=64).contains(&a.i32(2)) {
                return Err(Errno::EINVAL.into());
            }
            Ok(0)
        }
        libc::F_GETLEASE => Ok(libc::F_UNLCK as u64),
        libc::F_SETLEASE => {
            if a.i32(2) == libc::F_UNLCK {
                Ok(0)
            } else {
                Err(Errno::EAGAIN.into())
            }
        }
        libc::F_NOTIFY => {
            if !k
                .vfs
                .files
                .get(&f)
                .is_some_and(|o| matches!(o.kind, FileKind::Dir { .. }))
            {
                return Err(Errno::ENOTDIR.into());
            }
            Ok(0)
        }
        libc::F_ADD_SEALS | libc::F_GET_SEALS => seals(k, f, cmd, a.u32(2)),
        _ => Err(Errno::EINVAL.into()),
    }
}

fn seals(k: &mut Kernel, f: FileId, cmd: i32, add: u32) -> SysResult {
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    let writable = of.writable();
    let inode = match (&of.kind, file::data_src(&k.vfs, of.loc.node)) {
        (FileKind::Regular, Ok(file::DataSrc::Mem(i))) => i,
        _ => return Err(Errno::EINVAL.into()),
    };
    let i = k.vfs.mem.get_mut(inode).ok_or(Errno::EINVAL)?;
    let crate::vfs::mem::MemData::File(mf) = &mut i.data else {
        return Err(Errno::EINVAL.into());
    };
    if cmd == libc::F_GET_SEALS {
        return Ok(mf.seals as u64);
    }
    let all = (libc::F_SEAL_SEAL
        | libc::F_SEAL_SHRINK
        | libc::F_SEAL_GROW
        | libc::F_SEAL_WRITE
        | libc::F_SEAL_FUTURE_WRITE) as u32;
    if add & !all != 0 {
        return Err(Errno::EINVAL.into());
    }
    if !writable {
        return Err(Errno::EPERM.into());
    }
    if mf.seals & libc::F_SEAL_SEAL as u32 != 0 {
        return Err(Errno::EPERM.into());
    }
    mf.seals |= add;
    Ok(0)
}

fn record_lock(k: &mut Kernel, tid: Tid, f: FileId, cmd: i32, addr: u64) -> SysResult {
    let fl: libc::flock = k.read_val(tid, addr)?;
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    let (node, readable, writable, offset, loc) =
        (of.loc.node, of.readable(), of.writable(), of.offset, of.loc);
    let ofd = matches!(
        cmd,
        libc::F_OFD_GETLK | libc::F_OFD_SETLK | libc::F_OFD_SETLKW
    );
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL.into());
    }
    let base: i64 = match fl.l_whence as i32 {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => offset as i64,
        libc::SEEK_END => path::stat(k, loc)?.size as i64,
        _ => return Err(Errno::EINVAL.into()),
    };
    let start = base.checked_add(fl.l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = if fl.l_len > 0 {
        (
            start,
            start.checked_add(fl.l_len).ok_or(Errno::EOVERFLOW)? as u64,
        )
    } else if fl.l_len < 0 {
        (
            start.checked_add(fl.l_len).ok_or(Errno::EINVAL)?,
            start as u64,
        )
    } else {
        (start, u64::MAX)
    };
    if start < 0 {
        return Err(Errno::EINVAL.into());
    }
    let tgid = k.tgid(tid);
    let owner = if ofd {
        Owner::Ofd(f)
    } else {
        Owner::Process(tgid)
    };
    let typ = fl.l_type as i32;
    let want = RangeLock {
        owner,
        start: start as u64,
        end,
        write: typ == libc::F_WRLCK,
        pid: if ofd { -1 } else { tgid },
    };
    if !matches!(typ, libc::F_RDLCK | libc::F_WRLCK | libc::F_UNLCK) {
        return Err(Errno::EINVAL.into());
    }
    let live: std::collections::BTreeSet<Tid> = k
        .thread_groups
        .values()
        .filter(|g| g.zombie.is_none())
        .map(|g| g.tgid)
        .collect();
    if k.vfs.locks.prune(|p| live.contains(&p)) {
        k.notify(lock::LOCK_QUEUE);
    }
    if matches!(cmd, libc::F_GETLK | libc::F_OFD_GETLK) {
        if typ == libc::F_UNLCK {
            return Err(Errno::EINVAL.into());
        }
        let mut out = fl;
        match k.vfs.locks.conflict(node, &want) {
            Some(c) => {
                out.l_type = if c.write {
                    libc::F_WRLCK
                } else {
                    libc::F_RDLCK
                } as i16;
                out.l_whence = libc::SEEK_SET as i16;
                out.l_start = c.start as i64;
                out.l_len = if c.end == u64::MAX {
                    0
                } else {
                    (c.end - c.start) as i64
                };
                out.l_pid = c.pid;
            }
            None => out.l_type = libc::F_UNLCK as i16,
        }
        k.write_val(tid, addr, &out)?;
        return Ok(0);
    }
    if (typ == libc::F_RDLCK && !readable) || (typ == libc::F_WRLCK && !writable) {
        return Err(Errno::EBADF.into());
    }
    if typ != libc::F_UNLCK && k.vfs.locks.conflict(node, &want).is_some() {
        if matches!(cmd, libc::F_SETLKW | libc::F_OFD_SETLKW) {
            return Err(SysErr::Block(Block::on(vec![lock::LOCK_QUEUE])));
        }
        return Err(Errno::EAGAIN.into());
    }
    k.vfs.locks.set(node, want, typ == libc::F_UNLCK);
    k.notify(lock::LOCK_QUEUE);
    Ok(0)
}

fn sys_flock(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get_io(k, tid, a.fd(0))?;
    let op = a.i32(1);
    let nb = op & libc::LOCK_NB != 0;
    let op = op & !libc::LOCK_NB;
    if !matches!(op, libc::LOCK_SH | libc::LOCK_EX | libc::LOCK_UN) {
        return Err(Errno::EINVAL.into());
    }
    let node = k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc.node;
    match k.vfs.locks.flock(node, f, op) {
        Ok(changed) => {
            if changed || op == libc::LOCK_UN {
                k.notify(lock::LOCK_QUEUE);
            }
            Ok(0)
        }
        Err(e @ (Errno::EAGAIN | Errno::EDEADLK)) => {
            if e == Errno::EDEADLK {
                k.notify(lock::LOCK_QUEUE);
            }
            if nb {
                Err(Errno::EAGAIN.into())
            } else {
                Err(SysErr::Block(Block::on(vec![lock::LOCK_QUEUE])))
            }
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Offsets and attributes ------------------------------------------------------------

fn sys_lseek(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get(k, tid, a.fd(0))?;
    Ok(file::lseek(k, f, a.i64(1), a.i32(2))?)
}

fn write_stat(k: &mut Kernel, tid: Tid, addr: u64, st: &crate::vfs::node::Stat) -> SysResult {
    k.write_val(tid, addr, &st.to_libc())?;
    Ok(0)
}

fn sys_fstat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get(k, tid, a.fd(0))?;
    let loc = k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc;
    let st = ops::stat(k, loc)?;
    write_stat(k, tid, a.ptr(1), &st)
}

fn stat_at(
    k: &mut Kernel,
    tid: Tid,
    dirfd: i32,
    p: u64,
    flags: i32,
) -> Result<crate::vfs::node::Stat, Errno> {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT | 0x6000)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let path = if p == 0 && flags & libc::AT_EMPTY_PATH != 0 {
        Vec::new()
    } else {
        k.read_cstr(tid, p, libc::PATH_MAX as usize - 1)?
    };
    let loc = ops::lookup_at(k, tid, dirfd, &path, flags)?;
    ops::stat(k, loc)
}

fn sys_stat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let st = stat_at(k, tid, libc::AT_FDCWD, a.ptr(0), 0)?;
    write_stat(k, tid, a.ptr(1), &st)
}

fn sys_lstat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let st = stat_at(k, tid, libc::AT_FDCWD, a.ptr(0), libc::AT_SYMLINK_NOFOLLOW)?;
    write_stat(k, tid, a.ptr(1), &st)
}

fn sys_newfstatat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let st = stat_at(k, tid, a.fd(0), a.ptr(1), a.i32(3))?;
    write_stat(k, tid, a.ptr(2), &st)
}

fn sys_statx(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (flags, mask) = (a.i32(2), a.u32(3));
    if mask & 0x8000_0000 != 0 || flags & 0x6000 == 0x6000 {
        return Err(Errno::EINVAL.into());
    }
    let st = stat_at(k, tid, a.fd(0), a.ptr(1), flags)?;
    k.write_val(tid, a.ptr(4), &st.to_statx(mask))?;
    Ok(0)
}

fn sys_getdents64(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    getdents(k, tid, a, false)
}

fn sys_getdents(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    getdents(k, tid, a, true)
}

fn getdents(k: &mut Kernel, tid: Tid, a: &Args, legacy: bool) -> SysResult {
    let f = file::get(k, tid, a.fd(0))?;
    let max = a.u32(2) as usize;
    let before = k.vfs.files.get(&f).map_or(0, |o| o.offset);
    let out = file::getdents(k, f, max.min(1 << 20), legacy)?;
    if let Err(e) = k.copy_out(tid, a.ptr(1), &out) {
        if let Some(of) = k.vfs.files.get_mut(&f) {
            of.offset = before;
        }
        return Err(e.into());
    }
    Ok(out.len() as u64)
}

fn sys_fsync(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get_io(k, tid, a.fd(0))?;
    match k.vfs.files.get(&f).map(|o| &o.kind) {
        Some(FileKind::Pipe { .. })
        | Some(FileKind::EventFd(_))
        | Some(FileKind::Epoll(_))
        | Some(FileKind::TimerFd(_)) => Err(Errno::EINVAL.into()),
        Some(FileKind::Regular) => {
            // Bind-mount files are the host's: sync them there.
            if let crate::vfs::node::Node::Bind(b) = k.vfs.files[&f].loc.node {
                let fd = file::bind_fd(&mut k.vfs, f, b)?;
                crate::vfs::host::sync_fd(fd, false)?;
            }
            Ok(0)
        }
        _ => Ok(0),
    }
}

fn sys_sync(_: &mut Kernel, _: Tid, _: &Args) -> SysResult {
    Ok(0)
}

fn sys_syncfs(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    file::get(k, tid, a.fd(0))?;
    Ok(0)
}

fn sys_sync_file_range(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get_io(k, tid, a.fd(0))?;
    if a.i64(1) < 0 || a.i64(2) < 0 || a.u32(3) & !7 != 0 {
        return Err(Errno::EINVAL.into());
    }
    match k.vfs.files.get(&f).map(|o| &o.kind) {
        Some(FileKind::Pipe { .. }) => Err(Errno::ESPIPE.into()),
        Some(FileKind::Regular) | Some(FileKind::Dir { .. }) => Ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

fn sys_ftruncate(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let len = a.i64(1);
    if len < 0 {
        return Err(Errno::EINVAL.into());
    }
    let f = file::get_io(k, tid, a.fd(0))?;
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    if !matches!(of.kind, FileKind::Regular) || !of.writable() {
        return Err(Errno::EINVAL.into());
    }
    let node = of.loc.node;
    if let crate::vfs::node::Node::Bind(b) = node {
        let limit = k.rlimit(tid, libc::RLIMIT_FSIZE as usize).0;
        if len as u64 > limit {
            k.send_to_thread(
                tid,
                crate::kernel::signal::SigInfo::new(
                    crate::kernel::signal::SIGXFSZ,
                    crate::kernel::signal::SI_USER,
                ),
            );
            return Err(Errno::EFBIG.into());
        }
        let fd = file::bind_fd(&mut k.vfs, f, b)?;
        crate::vfs::host::truncate_fd(fd, len as u64)?;
        return Ok(0);
    }
    let inode = ops::copy_up(k, node)?.ok_or(Errno::EINVAL)?;
    file::set_size(k, tid, inode, len as u64)?;
    Ok(0)
}

fn sys_fallocate(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get_io(k, tid, a.fd(0))?;
    file::fallocate(k, tid, f, a.i32(1), a.i64(2), a.i64(3))?;
    Ok(0)
}

fn sys_readahead(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get_io(k, tid, a.fd(0))?;
    match k.vfs.files.get(&f).map(|o| (&o.kind, o.readable())) {
        Some((FileKind::Regular, true)) => Ok(0),
        Some((_, false)) => Err(Errno::EBADF.into()),
        _ => Err(Errno::EINVAL.into()),
    }
}

fn sys_fadvise64(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get_io(k, tid, a.fd(0))?;
    if k.vfs
        .files
        .get(&f)
        .is_some_and(|o| matches!(o.kind, FileKind::Pipe { .. }))
    {
        return Err(Errno::ESPIPE.into());
    }
    if !(0..=5).contains(&a.i32(3)) || a.i64(2) < 0 {
        return Err(Errno::EINVAL.into());
    }
    Ok(0)
}

const MFD_CLOEXEC: u32 = 1;
const MFD_ALLOW_SEALING: u32 = 2;
const MFD_HUGETLB: u32 = 4;
const MFD_NOEXEC_SEAL: u32 = 8;
const MFD_EXEC: u32 = 0x10;

fn sys_memfd_create(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.u32(1);
    let known = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
    if flags & MFD_HUGETLB == 0 && flags & !known != 0 {
        return Err(Errno::EINVAL.into());
    }
    if flags & MFD_NOEXEC_SEAL != 0 && flags & MFD_EXEC != 0 {
        return Err(Errno::EINVAL.into());
    }
    let name = k.read_cstr(tid, a.ptr(0), 249).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    let sealing = flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL) != 0;
    let f = ops::memfd(k, tid, &name, sealing, flags & MFD_NOEXEC_SEAL == 0)?;
    if flags & MFD_NOEXEC_SEAL != 0 {
        if let Ok(file::DataSrc::Mem(i)) = file::data_src(&k.vfs, k.vfs.files[&f].loc.node) {
            if let Some(crate::vfs::mem::MemData::File(mf)) =
                k.vfs.mem.get_mut(i).map(|x| &mut x.data)
            {
                mf.seals |= 0x20; // F_SEAL_EXEC
            }
        }
    }
    Ok(file::install_fd(k, tid, f, flags & MFD_CLOEXEC != 0, 0)? as u64)
}

// ---- In-kernel copies --------------------------------------------------------------------

/// Takes up to `len` bytes from `src` without consuming them: from a pipe
/// (peek) or at an offset of a regular file. `None` for other files.
fn peek_source(
    k: &mut Kernel,
    tid: Tid,
    src: FileId,
    len: usize,
    pos: Option<u64>,
) -> Result<Option<Vec<u8>>, SysErr> {
    let of = k.vfs.files.get(&src).ok_or(Errno::EBADF)?;
    if !of.readable() {
        return Err(Errno::EBADF.into());
    }
    let nb = of.nonblocking();
    match &of.kind {
        FileKind::Pipe { pipe } => {
            let p = k.vfs.pipes.get(pipe).ok_or(Errno::EBADF)?;
            if p.is_empty() {
                if p.writers == 0 {
                    return Ok(Some(Vec::new()));
                }
                if nb {
                    return Err(Errno::EAGAIN.into());
                }
                return Err(SysErr::Block(Block::on(vec![p.queue])));
            }
            Ok(Some(p.peek(len)))
        }
        FileKind::Regular | FileKind::Proc { .. } => {
            let at = pos.unwrap_or(of.offset);
            Ok(Some(file::read(k, tid, src, len, Some(at))?))
        }
        _ => Ok(None),
    }
}

/// Consumes `n` bytes of `src` after they were written elsewhere.
fn consume_source(k: &mut Kernel, src: FileId, n: usize, pos: Option<u64>) {
    let Some(of) = k.vfs.files.get_mut(&src) else {
        return;
    };
    match &of.kind {
        FileKind::Pipe { pipe } => {
            let pipe = *pipe;
            if let Some(p) = k.vfs.pipes.get_mut(&pipe) {
                p.read(n);
                let q = p.queue;
                k.notify(q);
            }
        }
        _ => {
            if pos.is_none() {
                of.offset += n as u64;
            }
        }
    }
}

/// Writes `data` to `dst` without blocking; blocks (or fails) only if
/// nothing could be written.
fn write_some(
    k: &mut Kernel,
    tid: Tid,
    dst: FileId,
    data: &[u8],
    pos: Option<u64>,
) -> Result<usize, SysErr> {
    if data.is_empty() {
        return Ok(0);
    }
    let nb = k.vfs.files.get(&dst).is_some_and(|o| o.nonblocking());
    // How much the destination takes now.
    let room = match k.vfs.files.get(&dst).map(|o| &o.kind) {
        Some(FileKind::Pipe { pipe }) => {
            let p = k.vfs.pipes.get(pipe).ok_or(Errno::EBADF)?;
            if p.readers == 0 {
                usize::MAX
            } else {
                p.space()
            }
        }
        Some(FileKind::Stdio(_)) => {
            let r = poll::ready(k, tid, dst, poll::OUT, 0);
            if r.mask & (poll::OUT | poll::ERR | poll::HUP) != 0 {
                crate::vfs::pipe::PIPE_BUF
            } else {
                0
            }
        }
        _ => usize::MAX,
    };
    if room == 0 {
        if nb {
            return Err(Errno::EAGAIN.into());
        }
        let r = poll::ready(k, tid, dst, poll::OUT, 0);
        return Err(SysErr::Block(r.block()));
    }
    let chunk = &data[..data.len().min(room)];
    // One chunk within the room: a blocking write completes at once.
    file::write(k, tid, dst, chunk, pos)
}

fn sys_sendfile(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (out_fd, in_fd, offp, count) = (a.fd(0), a.fd(1), a.ptr(2), a.usize(3));
    let src = file::get_io(k, tid, in_fd)?;
    let dst = file::get_io(k, tid, out_fd)?;
    if !k.vfs.files.get(&dst).is_some_and(|o| o.writable()) {
        return Err(Errno::EBADF.into());
    }
    if k.vfs
        .files
        .get(&dst)
        .is_some_and(|o| o.flags & libc::O_APPEND != 0 && matches!(o.kind, FileKind::Regular))
    {
        return Err(Errno::EINVAL.into());
    }
    let pos = if offp != 0 {
        let off: i64 = k.read_val(tid, offp)?;
        if off < 0 {
            return Err(Errno::EINVAL.into());
        }
        if k.vfs
            .files
            .get(&src)
            .is_some_and(|o| matches!(o.kind, FileKind::Pipe { .. }))
        {
            return Err(Errno::ESPIPE.into());
        }
        Some(off as u64)
    } else {
        None
    };
    let count = count.min(file::MAX_RW);
    let n = copy_between(k, tid, src, pos, dst, None, count)?;
    if let Some(p) = pos {
        k.write_val(tid, offp, &((p + n as u64) as i64))?;
    }
    Ok(n as u64)
}

/// Moves up to `count` bytes from `src` to `dst`.
fn copy_between(
    k: &mut Kernel,
    tid: Tid,
    src: FileId,
    spos: Option<u64>,
    dst: FileId,
    dpos: Option<u64>,
    count: usize,
) -> Result<usize, SysErr> {
    if count == 0 {
        return Ok(0);
    }
    let data = match peek_source(k, tid, src, count.min(1 << 20), spos)? {
        Some(d) => d,
        None => {
            // A stream we cannot peek: read only what the destination
            // takes now.
            let r = poll::ready(k, tid, dst, poll::OUT, 0);
            if r.mask & poll::OUT == 0 {
                return Err(SysErr::Block(r.block()));
            }
            let d = file::read(k, tid, src, count.min(crate::vfs::pipe::PIPE_BUF), None)?;
            return file::write(k, tid, dst, &d, dpos);
        }
    };
    if data.is_empty() {
        return Ok(0);
    }
    let n = write_some(k, tid, dst, &data, dpos)?;
    consume_source(k, src, n, spos);
    Ok(n)
}

fn sys_copy_file_range(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (in_fd, offin, out_fd, offout, len, flags) =
        (a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.usize(4), a.u32(5));
    if flags != 0 {
        return Err(Errno::EINVAL.into());
    }
    let src = file::get_io(k, tid, in_fd)?;
    let dst = file::get_io(k, tid, out_fd)?;
    let (sk, dk) = (
        k.vfs.files.get(&src).ok_or(Errno::EBADF)?,
        k.vfs.files.get(&dst).ok_or(Errno::EBADF)?,
    );
    if !sk.readable() || !dk.writable() || dk.flags & libc::O_APPEND != 0 {
        return Err(Errno::EBADF.into());
    }
    if matches!(sk.kind, FileKind::Dir { .. }) || matches!(dk.kind, FileKind::Dir { .. }) {
        return Err(Errno::EISDIR.into());
    }
    if !matches!(sk.kind, FileKind::Regular) || !matches!(dk.kind, FileKind::Regular) {
        return Err(Errno::EINVAL.into());
    }
    let read_off = |k: &mut Kernel, p: u64| -> Result<Option<u64>, Errno> {
        if p == 0 {
            return Ok(None);
        }
        let v: i64 = k.read_val(tid, p)?;
        if v < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Some(v as u64))
    };
    let spos = read_off(k, offin)?;
    let dpos = read_off(k, offout)?;
    let s_at = spos.unwrap_or(k.vfs.files[&src].offset);
    let d_at = dpos.unwrap_or(k.vfs.files[&dst].offset);
    let same = k.vfs.files[&src].loc.node == k.vfs.files[&dst].loc.node;
    let len = len.min(file::MAX_RW);
    if same && s_at < d_at.saturating_add(len as u64) && d_at < s_at.saturating_add(len as u64) {
        return Err(Errno::EINVAL.into());
    }
    let data = file::read(k, tid, src, len, Some(s_at))?;
    let n = file::write(k, tid, dst, &data, Some(d_at))?;
    match spos {
        Some(_) => k.write_val(tid, offin, &((s_at + n as u64) as i64))?,
        None => {
            if let Some(o) = k.vfs.files.get_mut(&src) {
                o.offset = s_at + n as u64;
            }
        }
    }
    match dpos {
        Some(_) => k.write_val(tid, offout, &((d_at + n as u64) as i64))?,
        None => {
            if let Some(o) = k.vfs.files.get_mut(&dst) {
                o.offset = d_at + n as u64;
            }
        }
    }
    Ok(n as u64)
}

const SPLICE_F_NONBLOCK: u32 = 2;

fn is_pipe(k: &Kernel, f: FileId) -> bool {
    k.vfs
        .files
        .get(&f)
        .is_some_and(|o| matches!(o.kind, FileKind::Pipe { .. }))
}

fn sys_splice(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (in_fd, offin, out_fd, offout, len, flags) =
        (a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.usize(4), a.u32(5));
    let src = file::get_io(k, tid, in_fd)?;
    let dst = file::get_io(k, tid, out_fd)?;
    if !k.vfs.files[&src].readable() || !k.vfs.files[&dst].writable() {
        return Err(Errno::EBADF.into());
    }
    let (sp, dp) = (is_pipe(k, src), is_pipe(k, dst));
    if !sp && !dp {
        return Err(Errno::EINVAL.into());
    }
    if (sp && offin != 0) || (dp && offout != 0) {
        return Err(Errno::ESPIPE.into());
    }
    if sp && dp && k.vfs.files[&src].loc.node == k.vfs.files[&dst].loc.node {
        return Err(Errno::EINVAL.into());
    }
    if k.vfs.files[&dst].flags & libc::O_APPEND != 0 && !dp {
        return Err(Errno::EINVAL.into());
    }
    let read_off = |k: &mut Kernel, p: u64| -> Result<Option<u64>, Errno> {
        if p == 0 {
            return Ok(None);
        }
        let v: i64 = k.read_val(tid, p)?;
        if v < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Some(v as u64))
    };
    let spos = read_off(k, offin)?;
    let dpos = read_off(k, offout)?;
    let nb = flags & SPLICE_F_NONBLOCK != 0;
    let saved: Vec<(FileId, i32)> = if nb {
        [src, dst]
            .iter()
            .filter_map(|&f| k.vfs.files.get(&f).map(|o| (f, o.flags)))
            .collect()
    } else {
        Vec::new()
    };
    for &(f, fl) in &saved {
        if let Some(o) = k.vfs.files.get_mut(&f) {
            if matches!(o.kind, FileKind::Pipe { .. }) {
                o.flags = fl | libc::O_NONBLOCK;
            }
        }
    }
    let r = copy_between(k, tid, src, spos, dst, dpos, len.min(file::MAX_RW));
    for (f, fl) in saved {
        if let Some(o) = k.vfs.files.get_mut(&f) {
            o.flags = fl;
        }
    }
    let n = r?;
    if let Some(p) = spos {
        k.write_val(tid, offin, &((p + n as u64) as i64))?;
    }
    if let Some(p) = dpos {
        k.write_val(tid, offout, &((p + n as u64) as i64))?;
    }
    Ok(n as u64)
}

fn sys_tee(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (in_fd, out_fd, len, flags) = (a.fd(0), a.fd(1), a.usize(2), a.u32(3));
    let src = file::get_io(k, tid, in_fd)?;
    let dst = file::get_io(k, tid, out_fd)?;
    if !is_pipe(k, src)
        || !is_pipe(k, dst)
        || k.vfs.files[&src].loc.node == k.vfs.files[&dst].loc.node
    {
        return Err(Errno::EINVAL.into());
    }
    if !k.vfs.files[&src].readable() || !k.vfs.files[&dst].writable() {
        return Err(Errno::EBADF.into());
    }
    let nb = flags & SPLICE_F_NONBLOCK != 0;
    let (FileKind::Pipe { pipe: ip }, FileKind::Pipe { pipe: op }) =
        (&k.vfs.files[&src].kind, &k.vfs.files[&dst].kind)
    else {
        return Err(Errno::EINVAL.into());
    };
    let (ip, op) = (*ip, *op);
    let pin = k.vfs.pipes.get(&ip).ok_or(Errno::EBADF)?;
    if pin.is_empty() {
        if pin.writers == 0 {
            return Ok(0);
        }
        if nb {
            return Err(Errno::EAGAIN.into());
        }
        return Err(SysErr::Block(Block::on(vec![pin.queue])));
    }
    let data = pin.peek(len.min(file::MAX_RW));
    let pout = k.vfs.pipes.get_mut(&op).ok_or(Errno::EBADF)?;
    if pout.readers == 0 {
        return Err(Errno::EPIPE.into());
    }
    let n = pout.space().min(data.len());
    if n == 0 {
        if nb {
            return Err(Errno::EAGAIN.into());
        }
        return Err(SysErr::Block(Block::on(vec![pout.queue])));
    }
    pout.push(&data[..n], false);
    let q = pout.queue;
    k.notify(q);
    Ok(n as u64)
}
