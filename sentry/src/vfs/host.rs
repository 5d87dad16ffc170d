//! The few host calls the VFS makes on descriptors beneath the sandbox's
//! root: `openat2` confined with `RESOLVE_IN_ROOT`/`RESOLVE_BENEATH` and
//! without magic links, `fstatat`, `readlinkat`, `getdents64`, `pread`, and
//! a zero-timeout `poll` for host streams (stdio); and the changes that bind
//! mounts write through to the host (`mkdirat`, `unlinkat`, `renameat2`,
//! `pwrite`...), each on a single name beneath a directory descriptor.

use crate::errno::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn cpath(p: &[u8]) -> Result<CString, Errno> {
    CString::new(if p.is_empty() { b"." as &[u8] } else { p }).map_err(|_| Errno::EINVAL)
}

fn retry<F: FnMut() -> i64>(mut f: F) -> Result<i64, Errno> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r);
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

fn openat2(dirfd: RawFd, path: &[u8], flags: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let c = cpath(path)?;
    let extra = if flags & libc::O_PATH != 0 {
        libc::O_CLOEXEC
    } else {
        libc::O_CLOEXEC | libc::O_NOCTTY
    };
    let how = OpenHow {
        flags: (flags | extra) as u64,
        mode: 0,
        resolve,
    };
    // SAFETY: openat2 with a NUL-terminated path and an open_how of the
    // size we pass; the result is checked.
    let fd = retry(|| unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })?;
    // SAFETY: a fresh descriptor that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Opens `path` (relative, `""` for the root itself) beneath `root`, with
/// `..` and absolute symlinks kept inside it.
pub fn open_in_root(root: RawFd, path: &[u8], flags: i32) -> Result<OwnedFd, Errno> {
    let p = trim_slashes(path);
    openat2(root, p, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
}

/// Opens the single component `name` of directory `dir`, following no
/// symlink at all.
pub fn open_child(dir: RawFd, name: &[u8], flags: i32) -> Result<OwnedFd, Errno> {
    if name.contains(&b'/') || name == b".." {
        return Err(Errno::EINVAL);
    }
    openat2(
        dir,
        name,
        flags | libc::O_NOFOLLOW,
        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
    )
}

/// Opens directory `dir` itself for reading its entries.
pub fn open_dir_beneath(dir: RawFd) -> Result<OwnedFd, Errno> {
    openat2(
        dir,
        b".",
        libc::O_RDONLY | libc::O_DIRECTORY,
        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
    )
}

fn trim_slashes(p: &[u8]) -> &[u8] {
    let mut p = p;
    while let [b'/', rest @ ..] = p {
        p = rest;
    }
    p
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; an empty name stats `dir`.
pub fn stat_at(dir: RawFd, name: &[u8]) -> Result<libc::stat, Errno> {
    if name.contains(&b'/') || name == b".." {
        return Err(Errno::EINVAL);
    }
    let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
    let flags = if name.is_empty() {
        libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW
    } else {
        libc::AT_SYMLINK_NOFOLLOW
    };
    let mut st: libc::stat = crate::mm::zeroed();
    // SAFETY: fstatat with a valid path and stat buffer.
    retry(|| unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, flags) as i64 })?;
    Ok(st)
}

/// `fstat`.
pub fn stat_fd(fd: RawFd) -> Result<libc::stat, Errno> {
    let mut st: libc::stat = crate::mm::zeroed();
    // SAFETY: fstat with a valid stat buffer.
    retry(|| unsafe { libc::fstat(fd, &mut st) as i64 })?;
    Ok(st)
}

/// The target of symlink `name` in `dir`.
pub fn readlink_at(dir: RawFd, name: &[u8]) -> Result<Vec<u8>, Errno> {
    let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat into a buffer of the length we pass.
    let n = retry(|| unsafe {
        libc::readlinkat(
            dir,
            c.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
        ) as i64
    })?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// Every entry of an open directory but `.` and `..`: (name, ino, type).
pub fn read_dir(fd: RawFd) -> Result<Vec<(Vec<u8>, u64, u8)>, Errno> {
    // SAFETY: lseek on our own descriptor.
    unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // SAFETY: getdents64 into a buffer of the length we pass.
        let n = retry(|| unsafe {
            libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len())
        })? as usize;
        if n == 0 {
            return Ok(out);
        }
        let mut off = 0;
        while off + 19 <= n {
            let ino = u64::from_ne_bytes(buf[off..off + 8].try_into().expect("8 bytes"));
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let dtype = buf[off + 18];
            if reclen == 0 || off + reclen > n {
                break;
            }
            let name = &buf[off + 19..off + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                out.push((name.to_vec(), ino, dtype));
            }
            off += reclen;
        }
    }
}

/// `pread`.
pub fn pread(fd: RawFd, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
    // SAFETY: pread into a live buffer of the length we pass.
    let n = retry(|| unsafe {
        libc::pread(
            fd,
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            off as i64,
        ) as i64
    })?;
    Ok(n as usize)
}

/// `read` on a descriptor that will not block (checked by the caller).
pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: read into a live buffer of the length we pass.
    let n = retry(|| unsafe {
        libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) as i64
    })?;
    Ok(n as usize)
}

/// `write` on a descriptor that will not block (checked by the caller).
pub fn write(fd: RawFd, data: &[u8]) -> Result<usize, Errno> {
    // SAFETY: write from a live buffer of the length we pass.
    let n = retry(|| unsafe {
        libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) as i64
    })?;
    Ok(n as usize)
}

/// The events of `fd` that are ready now (never waits).
pub fn poll_now(fd: RawFd, events: i16) -> i16 {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: poll on one pollfd with a zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    if r <= 0 {
        0
    } else {
        p.revents
    }
}

/// `ioctl` whose argument points to `buf`, which must be as large as
/// request `req` reads or writes (the request encodes no size we trust).
pub fn ioctl_buf(fd: RawFd, req: u64, buf: &mut [u8]) -> Result<i64, Errno> {
    // SAFETY: the callers pass a buffer of the size each request uses.
    retry(|| unsafe { libc::ioctl(fd, req as _, buf.as_mut_ptr() as *mut libc::c_void) as i64 })
}

/// Opens the host directory that becomes the sandbox's root.
pub fn open_root(path: &std::path::Path) -> Result<OwnedFd, nix::errno::Errno> {
    let c =
        CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
    // SAFETY: open with a valid NUL-terminated path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reopens one of our own descriptors as a new open file description (so
/// that its status flags are ours alone), with `flags`.
pub fn reopen(fd: RawFd, flags: i32) -> Option<OwnedFd> {
    let p = CString::new(format!("/proc/self/fd/{fd}")).ok()?;
    // SAFETY: open with a valid NUL-terminated path.
    let r = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOCTTY) };
    if r < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor we own.
    Some(unsafe { OwnedFd::from_raw_fd(r) })
}

/// A small file of the host read at boot (`/proc/cpuinfo`...).
pub fn read_small(path: &str) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// Raises our own soft descriptor limit to the hard one: the VFS keeps host
/// descriptors for open lower files and directories.
pub fn raise_nofile() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on our own process with a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max.min(1 << 20);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// The raw descriptor of an optional owned one, or -1.
pub fn raw(fd: &Option<OwnedFd>) -> RawFd {
    fd.as_ref().map_or(-1, |f| f.as_raw_fd())
}

// ---- Changes to host files (bind mounts write through) ---------------------
//
// Every call names its file as a single component `name` of a directory
// descriptor, never following a symlink in `name` (the callers resolved the
// path themselves, component by component); an empty name means the
// descriptor itself.

fn cname(name: &[u8]) -> Result<CString, Errno> {
    if name.contains(&b'/') || name == b".." || name == b"." {
        return Err(Errno::EINVAL);
    }
    CString::new(name).map_err(|_| Errno::EINVAL)
}

/// A name, or `""` for the directory descriptor itself.
fn cname_or_empty(name: &[u8]) -> Result<CString, Errno> {
    if name.is_empty() {
        return Ok(CString::default());
    }
    cname(name)
}

fn empty_flag(name: &[u8]) -> i32 {
    if name.is_empty() {
        libc::AT_EMPTY_PATH
    } else {
        0
    }
}

/// `openat2` of `name` in `dir` with `O_CREAT | O_EXCL`: a new regular file.
pub fn create_file(dir: RawFd, name: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    let c = cname(name)?;
    let how = OpenHow {
        flags: (flags | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64,
        mode: (mode & 0o7777) as u64,
        resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
    };
    // SAFETY: openat2 with a NUL-terminated path and an open_how of the
    // size we pass; the result is checked.
    let fd = retry(|| unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })?;
    // SAFETY: a fresh descriptor that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `mkdirat`.
pub fn mkdir_at(dir: RawFd, name: &[u8], mode: u32) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: mkdirat with a NUL-terminated name.
    retry(|| unsafe { libc::mkdirat(dir, c.as_ptr(), mode & 0o7777) as i64 }).map(drop)
}

/// `mknodat` (FIFOs, sockets, devices).
pub fn mknod_at(dir: RawFd, name: &[u8], mode: u32, rdev: u64) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: mknodat with a NUL-terminated name.
    retry(|| unsafe { libc::mknodat(dir, c.as_ptr(), mode, rdev) as i64 }).map(drop)
}

/// `symlinkat`.
pub fn symlink_at(target: &[u8], dir: RawFd, name: &[u8]) -> Result<(), Errno> {
    let c = cname(name)?;
    let t = CString::new(target).map_err(|_| Errno::EINVAL)?;
    // SAFETY: symlinkat with NUL-terminated strings.
    retry(|| unsafe { libc::symlinkat(t.as_ptr(), dir, c.as_ptr()) as i64 }).map(drop)
}

/// `unlinkat` (with `rmdir`, `AT_REMOVEDIR`).
pub fn unlink_at(dir: RawFd, name: &[u8], rmdir: bool) -> Result<(), Errno> {
    let c = cname(name)?;
    let flags = if rmdir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: unlinkat with a NUL-terminated name.
    retry(|| unsafe { libc::unlinkat(dir, c.as_ptr(), flags) as i64 }).map(drop)
}

/// `renameat2`.
pub fn rename_at(
    odir: RawFd,
    oname: &[u8],
    ndir: RawFd,
    nname: &[u8],
    flags: u32,
) -> Result<(), Errno> {
    let o = cname(oname)?;
    let n = cname(nname)?;
    // SAFETY: renameat2 with NUL-terminated names.
    retry(|| unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            odir,
            o.as_ptr(),
            ndir,
            n.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// `linkat` without following a symlink.
pub fn link_at(odir: RawFd, oname: &[u8], ndir: RawFd, nname: &[u8]) -> Result<(), Errno> {
    let o = cname(oname)?;
    let n = cname(nname)?;
    // SAFETY: linkat with NUL-terminated names.
    retry(|| unsafe { libc::linkat(odir, o.as_ptr(), ndir, n.as_ptr(), empty_flag(oname)) as i64 })
        .map(drop)
}

/// `fchownat` without following a symlink (`u32::MAX` keeps an ID).
pub fn chown_at(dir: RawFd, name: &[u8], uid: u32, gid: u32) -> Result<(), Errno> {
    let c = cname_or_empty(name)?;
    let flags = libc::AT_SYMLINK_NOFOLLOW | empty_flag(name);
    // SAFETY: fchownat with a NUL-terminated name.
    retry(|| unsafe { libc::fchownat(dir, c.as_ptr(), uid, gid, flags) as i64 }).map(drop)
}

/// `fchmodat2` without following a symlink.
pub fn chmod_at(dir: RawFd, name: &[u8], mode: u32) -> Result<(), Errno> {
    let c = cname_or_empty(name)?;
    let flags = libc::AT_SYMLINK_NOFOLLOW | empty_flag(name);
    // SAFETY: fchmodat2 with a NUL-terminated name.
    retry(|| unsafe { libc::syscall(libc::SYS_fchmodat2, dir, c.as_ptr(), mode & 0o7777, flags) })
        .map(drop)
}

/// `utimensat` without following a symlink; `None` leaves a time as it is.
pub fn utimes_at(
    dir: RawFd,
    name: &[u8],
    atime: Option<(i64, i64)>,
    mtime: Option<(i64, i64)>,
) -> Result<(), Errno> {
    let c = cname_or_empty(name)?;
    let ts = |t: Option<(i64, i64)>| match t {
        Some((sec, nsec)) => libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    };
    let times = [ts(atime), ts(mtime)];
    let flags = libc::AT_SYMLINK_NOFOLLOW | empty_flag(name);
    // SAFETY: utimensat with a NUL-terminated name and two timespecs.
    retry(|| unsafe { libc::utimensat(dir, c.as_ptr(), times.as_ptr(), flags) as i64 }).map(drop)
}

/// `pwrite`.
pub fn pwrite(fd: RawFd, data: &[u8], off: u64) -> Result<usize, Errno> {
    // SAFETY: pwrite from a live buffer of the length we pass.
    let n = retry(|| unsafe {
        libc::pwrite(
            fd,
            data.as_ptr() as *const libc::c_void,
            data.len(),
            off as i64,
        ) as i64
    })?;
    Ok(n as usize)
}

/// `ftruncate`.
pub fn truncate_fd(fd: RawFd, size: u64) -> Result<(), Errno> {
    // SAFETY: ftruncate on a descriptor we hold.
    retry(|| unsafe { libc::ftruncate(fd, size as i64) as i64 }).map(drop)
}

/// `fallocate`.
pub fn fallocate(fd: RawFd, mode: i32, off: u64, len: u64) -> Result<(), Errno> {
    // SAFETY: fallocate on a descriptor we hold.
    retry(|| unsafe { libc::fallocate(fd, mode, off as i64, len as i64) as i64 }).map(drop)
}

/// `fsync` (`fdatasync` with `data_only`).
pub fn sync_fd(fd: RawFd, data_only: bool) -> Result<(), Errno> {
    // SAFETY: fsync/fdatasync on a descriptor we hold.
    retry(|| unsafe {
        (if data_only {
            libc::fdatasync(fd)
        } else {
            libc::fsync(fd)
        }) as i64
    })
    .map(drop)
}

/// `fstatfs`.
pub fn statfs_fd(fd: RawFd) -> Result<libc::statfs, Errno> {
    let mut s: libc::statfs = crate::mm::zeroed();
    // SAFETY: fstatfs with a valid buffer.
    retry(|| unsafe { libc::fstatfs(fd, &mut s) as i64 })?;
    Ok(s)
}

/// Opens a host path given by the sandbox's configuration (a bind mount's
/// source) before the sandbox is confined: `O_PATH`, following symlinks
/// as the host sees them, as `mount --bind` does.
pub fn open_source(path: &std::path::Path, dir: bool) -> Result<OwnedFd, Errno> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if dir {
        flags |= libc::O_DIRECTORY;
    }
    // SAFETY: open with a valid NUL-terminated path.
    let fd = retry(|| unsafe { libc::open(c.as_ptr(), flags) as i64 })?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}
