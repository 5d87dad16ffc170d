//! System calls on paths: directories, links, renames, attributes, times,
//! extended attributes, `statfs`, the working directory, root and umask.

use super::{Args, Support, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};
use crate::vfs::file;
use crate::vfs::node::{Loc, Ts};
use crate::vfs::ops::{self, TimeSpec};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_access, sys_access, Support::Full);
    t.add(SYS_faccessat, sys_faccessat, Support::Full);
    t.add(SYS_faccessat2, sys_faccessat2, Support::Full);
    t.add(SYS_getcwd, sys_getcwd, Support::Full);
    t.add(SYS_chdir, sys_chdir, Support::Full);
    t.add(SYS_fchdir, sys_fchdir, Support::Full);
    t.add(SYS_chroot, sys_chroot, Support::Full);
    t.add(SYS_mkdir, sys_mkdir, Support::Full);
    t.add(SYS_mkdirat, sys_mkdirat, Support::Full);
    t.add(SYS_mknod, sys_mknod, Support::Full);
    t.add(SYS_mknodat, sys_mknodat, Support::Full);
    t.add(SYS_unlink, sys_unlink, Support::Full);
    t.add(SYS_unlinkat, sys_unlinkat, Support::Full);
    t.add(SYS_rmdir, sys_rmdir, Support::Full);
    t.add(SYS_rename, sys_rename, Support::Full);
    t.add(SYS_renameat, sys_renameat, Support::Full);
    t.add(
        SYS_renameat2,
        sys_renameat2,
        Support::Partial("no RENAME_WHITEOUT; overlay directories with lower files give EXDEV"),
    );
    t.add(SYS_link, sys_link, Support::Full);
    t.add(SYS_linkat, sys_linkat, Support::Full);
    t.add(SYS_symlink, sys_symlink, Support::Full);
    t.add(SYS_symlinkat, sys_symlinkat, Support::Full);
    t.add(SYS_readlink, sys_readlink, Support::Full);
    t.add(SYS_readlinkat, sys_readlinkat, Support::Full);
    t.add(SYS_truncate, sys_truncate, Support::Full);
    t.add(SYS_utimensat, sys_utimensat, Support::Full);
    t.add(SYS_utimes, sys_utimes, Support::Full);
    t.add(SYS_utime, sys_utime, Support::Full);
    t.add(SYS_futimesat, sys_futimesat, Support::Full);
    t.add(SYS_chmod, sys_chmod, Support::Full);
    t.add(SYS_fchmod, sys_fchmod, Support::Full);
    t.add(SYS_fchmodat, sys_fchmodat, Support::Full);
    t.add(SYS_fchmodat2, sys_fchmodat2, Support::Full);
    t.add(SYS_chown, sys_chown, Support::Full);
    t.add(SYS_fchown, sys_fchown, Support::Full);
    t.add(SYS_lchown, sys_lchown, Support::Full);
    t.add(SYS_fchownat, sys_fchownat, Support::Full);
    t.add(SYS_umask, sys_umask, Support::Full);
    t.add(SYS_statfs, sys_statfs, Support::Full);
    t.add(SYS_fstatfs, sys_fstatfs, Support::Full);
    t.add(SYS_getxattr, sys_getxattr, Support::Full);
    t.add(SYS_lgetxattr, sys_lgetxattr, Support::Full);
    t.add(SYS_fgetxattr, sys_fgetxattr, Support::Full);
    t.add(SYS_setxattr, sys_setxattr, Support::Full);
    t.add(SYS_lsetxattr, sys_lsetxattr, Support::Full);
    t.add(SYS_fsetxattr, sys_fsetxattr, Support::Full);
    t.add(SYS_listxattr, sys_listxattr, Support::Full);
    t.add(SYS_llistxattr, sys_llistxattr, Support::Full);
    t.add(SYS_flistxattr, sys_flistxattr, Support::Full);
    t.add(SYS_removexattr, sys_removexattr, Support::Full);
    t.add(SYS_lremovexattr, sys_lremovexattr, Support::Full);
    t.add(SYS_fremovexattr, sys_fremovexattr, Support::Full);
}

fn path(k: &mut Kernel, tid: Tid, addr: u64) -> Result<Vec<u8>, Errno> {
    k.read_path(tid, addr)
}

/// A path argument that may be empty (for `AT_EMPTY_PATH`).
fn path_maybe_empty(k: &mut Kernel, tid: Tid, addr: u64) -> Result<Vec<u8>, Errno> {
    k.read_cstr(tid, addr, libc::PATH_MAX as usize - 1)
}

fn at_loc(k: &mut Kernel, tid: Tid, dirfd: i32, p: u64, flags: i32) -> Result<Loc, Errno> {
    let p = path_maybe_empty(k, tid, p)?;
    ops::lookup_at(k, tid, dirfd, &p, flags)
}

fn fd_loc(k: &Kernel, tid: Tid, fd: i32) -> Result<Loc, Errno> {
    let f = file::get_io(k, tid, fd)?;
    Ok(k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc)
}

// ---- Access, directories ----------------------------------------------------------

fn sys_access(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    ops::access(k, tid, libc::AT_FDCWD, &p, a.i32(1), 0)?;
    Ok(0)
}

fn sys_faccessat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(1))?;
    ops::access(k, tid, a.fd(0), &p, a.i32(2), 0)?;
    Ok(0)
}

fn sys_faccessat2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(3);
    let p = if flags & libc::AT_EMPTY_PATH != 0 {
        path_maybe_empty(k, tid, a.ptr(1))?
    } else {
        path(k, tid, a.ptr(1))?
    };
    ops::access(k, tid, a.fd(0), &p, a.i32(2), flags)?;
    Ok(0)
}

fn sys_getcwd(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let mut cwd = ops::getcwd(k, tid)?;
    cwd.push(0);
    if cwd.len() > a.usize(1) {
        return Err(Errno::ERANGE.into());
    }
    k.copy_out(tid, a.ptr(0), &cwd)?;
    Ok(cwd.len() as u64)
}

fn sys_chdir(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    let loc = ops::lookup_at(k, tid, libc::AT_FDCWD, &p, 0)?;
    ops::set_dir(k, tid, loc, false)?;
    Ok(0)
}

fn sys_fchdir(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get(k, tid, a.fd(0))?;
    let loc = k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc;
    ops::set_dir(k, tid, loc, false)?;
    Ok(0)
}

fn sys_chroot(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    let loc = ops::lookup_at(k, tid, libc::AT_FDCWD, &p, 0)?;
    ops::set_dir(k, tid, loc, true)?;
    Ok(0)
}

fn sys_mkdir(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    ops::mkdir(k, tid, libc::AT_FDCWD, &p, a.u32(1))?;
    Ok(0)
}

fn sys_mkdirat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(1))?;
    ops::mkdir(k, tid, a.fd(0), &p, a.u32(2))?;
    Ok(0)
}

fn sys_mknod(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    ops::mknod(k, tid, libc::AT_FDCWD, &p, a.u32(1), a.u32(2) as u64)?;
    Ok(0)
}

fn sys_mknodat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(1))?;
    ops::mknod(k, tid, a.fd(0), &p, a.u32(2), a.u32(3) as u64)?;
    Ok(0)
}

fn sys_unlink(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    ops::unlink(k, tid, libc::AT_FDCWD, &p, false)?;
    Ok(0)
}

fn sys_unlinkat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(2);
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL.into());
    }
    let p = path(k, tid, a.ptr(1))?;
    ops::unlink(k, tid, a.fd(0), &p, flags & libc::AT_REMOVEDIR != 0)?;
    Ok(0)
}

fn sys_rmdir(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    ops::unlink(k, tid, libc::AT_FDCWD, &p, true)?;
    Ok(0)
}

fn rename(k: &mut Kernel, tid: Tid, od: i32, op: u64, nd: i32, np: u64, flags: u32) -> SysResult {
    let o = path(k, tid, op)?;
    let n = path(k, tid, np)?;
    ops::rename(k, tid, od, &o, nd, &n, flags)?;
    Ok(0)
}

fn sys_rename(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    rename(
        k,
        tid,
        libc::AT_FDCWD,
        a.ptr(0),
        libc::AT_FDCWD,
        a.ptr(1),
        0,
    )
}

fn sys_renameat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    rename(k, tid, a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), 0)
}

fn sys_renameat2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    rename(k, tid, a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.u32(4))
}

fn sys_link(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let o = path(k, tid, a.ptr(0))?;
    let n = path(k, tid, a.ptr(1))?;
    ops::link(k, tid, libc::AT_FDCWD, &o, libc::AT_FDCWD, &n, 0)?;
    Ok(0)
}

fn sys_linkat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(4);
    let o = if flags & libc::AT_EMPTY_PATH != 0 {
        path_maybe_empty(k, tid, a.ptr(1))?
    } else {
        path(k, tid, a.ptr(1))?
    };
    let n = path(k, tid, a.ptr(3))?;
    ops::link(k, tid, a.fd(0), &o, a.fd(2), &n, flags)?;
    Ok(0)
}

fn sys_symlink(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let t = path(k, tid, a.ptr(0))?;
    let n = path(k, tid, a.ptr(1))?;
    ops::symlink(k, tid, &t, libc::AT_FDCWD, &n)?;
    Ok(0)
}

fn sys_symlinkat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let t = path(k, tid, a.ptr(0))?;
    let n = path(k, tid, a.ptr(2))?;
    ops::symlink(k, tid, &t, a.fd(1), &n)?;
    Ok(0)
}

fn readlink(k: &mut Kernel, tid: Tid, dirfd: i32, p: u64, buf: u64, size: i32) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL.into());
    }
    let p = path_maybe_empty(k, tid, p)?;
    let t = ops::readlink(k, tid, dirfd, &p)?;
    let n = t.len().min(size as usize);
    k.copy_out(tid, buf, &t[..n])?;
    Ok(n as u64)
}

fn sys_readlink(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    let t = {
        if a.i32(2) <= 0 {
            return Err(Errno::EINVAL.into());
        }
        ops::readlink(k, tid, libc::AT_FDCWD, &p)?
    };
    let n = t.len().min(a.i32(2) as usize);
    k.copy_out(tid, a.ptr(1), &t[..n])?;
    Ok(n as u64)
}

fn sys_readlinkat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    readlink(k, tid, a.fd(0), a.ptr(1), a.ptr(2), a.i32(3))
}

fn sys_truncate(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(0))?;
    let loc = ops::lookup_at(k, tid, libc::AT_FDCWD, &p, 0)?;
    ops::truncate(k, tid, loc, a.i64(1))?;
    Ok(0)
}

// ---- Times ------------------------------------------------------------------------

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

fn timespec_arg(ts: &libc::timespec) -> Result<TimeSpec, Errno> {
    match ts.tv_nsec {
        UTIME_NOW => Ok(TimeSpec::Now),
        UTIME_OMIT => Ok(TimeSpec::Omit),
        n if (0..1_000_000_000).contains(&n) => Ok(TimeSpec::At(Ts {
            sec: ts.tv_sec,
            nsec: n,
        })),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_utimensat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (dirfd, p, times, flags) = (a.fd(0), a.ptr(1), a.ptr(2), a.i32(3));
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let (at, mt) = if times == 0 {
        (TimeSpec::Now, TimeSpec::Now)
    } else {
        let t: [libc::timespec; 2] = k.read_val(tid, times)?;
        (timespec_arg(&t[0])?, timespec_arg(&t[1])?)
    };
    let loc = if p == 0 {
        // futimens: the descriptor itself.
        if dirfd == libc::AT_FDCWD {
            return Err(Errno::EFAULT.into());
        }
        fd_loc(k, tid, dirfd)?
    } else {
        at_loc(k, tid, dirfd, p, flags)?
    };
    ops::utimes(k, tid, loc, at, mt)?;
    Ok(0)
}

fn timeval_arg(tv: &libc::timeval) -> Result<TimeSpec, Errno> {
    if !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok(TimeSpec::At(Ts {
        sec: tv.tv_sec,
        nsec: tv.tv_usec * 1000,
    }))
}

fn utimes_tv(k: &mut Kernel, tid: Tid, dirfd: i32, p: u64, times: u64) -> SysResult {
    let (at, mt) = if times == 0 {
        (TimeSpec::Now, TimeSpec::Now)
    } else {
        let t: [libc::timeval; 2] = k.read_val(tid, times)?;
        (timeval_arg(&t[0])?, timeval_arg(&t[1])?)
    };
    let loc = at_loc(k, tid, dirfd, p, 0)?;
    ops::utimes(k, tid, loc, at, mt)?;
    Ok(0)
}

fn sys_utimes(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    utimes_tv(k, tid, libc::AT_FDCWD, a.ptr(0), a.ptr(1))
}

fn sys_futimesat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    utimes_tv(k, tid, a.fd(0), a.ptr(1), a.ptr(2))
}

fn sys_utime(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (at, mt) = if a.ptr(1) == 0 {
        (TimeSpec::Now, TimeSpec::Now)
    } else {
        let t: [i64; 2] = k.read_val(tid, a.ptr(1))?;
        (
            TimeSpec::At(Ts { sec: t[0], nsec: 0 }),
            TimeSpec::At(Ts { sec: t[1], nsec: 0 }),
        )
    };
    let loc = at_loc(k, tid, libc::AT_FDCWD, a.ptr(0), 0)?;
    ops::utimes(k, tid, loc, at, mt)?;
    Ok(0)
}

// ---- Modes and owners ------------------------------------------------------------------

fn sys_chmod(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let loc = at_loc(k, tid, libc::AT_FDCWD, a.ptr(0), 0)?;
    ops::chmod(k, tid, loc, a.u32(1))?;
    Ok(0)
}

fn sys_fchmod(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let loc = fd_loc(k, tid, a.fd(0))?;
    ops::chmod(k, tid, loc, a.u32(1))?;
    Ok(0)
}

fn sys_fchmodat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = path(k, tid, a.ptr(1))?;
    let loc = ops::lookup_at(k, tid, a.fd(0), &p, 0)?;
    ops::chmod(k, tid, loc, a.u32(2))?;
    Ok(0)
}

fn sys_fchmodat2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(3);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let loc = at_loc(k, tid, a.fd(0), a.ptr(1), flags)?;
    if flags & libc::AT_SYMLINK_NOFOLLOW != 0
        && crate::vfs::path::file_type(k, loc.node) == libc::S_IFLNK
    {
        return Err(Errno::EOPNOTSUPP.into());
    }
    ops::chmod(k, tid, loc, a.u32(2))?;
    Ok(0)
}

fn sys_chown(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let loc = at_loc(k, tid, libc::AT_FDCWD, a.ptr(0), 0)?;
    ops::chown(k, tid, loc, a.u32(1), a.u32(2))?;
    Ok(0)
}

fn sys_lchown(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let loc = at_loc(k, tid, libc::AT_FDCWD, a.ptr(0), libc::AT_SYMLINK_NOFOLLOW)?;
    ops::chown(k, tid, loc, a.u32(1), a.u32(2))?;
    Ok(0)
}

fn sys_fchown(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let loc = fd_loc(k, tid, a.fd(0))?;
    ops::chown(k, tid, loc, a.u32(1), a.u32(2))?;
    Ok(0)
}

fn sys_fchownat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(4);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let loc = at_loc(k, tid, a.fd(0), a.ptr(1), flags)?;
    ops::chown(k, tid, loc, a.u32(2), a.u32(3))?;
    Ok(0)
}

fn sys_umask(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let fs = k.task(tid).fs;
    let c = k.vfs.fs_contexts.get_mut(&fs).ok_or(Errno::ESRCH)?;
    let old = c.umask;
    c.umask = a.u32(0) & 0o777;
    Ok(old as u64)
}

fn sys_statfs(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let loc = at_loc(k, tid, libc::AT_FDCWD, a.ptr(0), 0)?;
    let s = ops::statfs(k, loc);
    k.write_val(tid, a.ptr(1), &s)?;
    Ok(0)
}

fn sys_fstatfs(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = file::get(k, tid, a.fd(0))?;
    let loc = k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc;
    let s = ops::statfs(k, loc);
    k.write_val(tid, a.ptr(1), &s)?;
    Ok(0)
}

// ---- Extended attributes ------------------------------------------------------------

/// How an xattr call names its file.
enum Target {
    Path(u64, bool),
    Fd(i32),
}

fn target_loc(k: &mut Kernel, tid: Tid, t: Target) -> Result<Loc, Errno> {
    match t {
        Target::Path(p, follow) => {
            let p = path(k, tid, p)?;
            let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
            ops::lookup_at(k, tid, libc::AT_FDCWD, &p, flags)
        }
        Target::Fd(fd) => fd_loc(k, tid, fd),
    }
}

fn xattr_name(k: &mut Kernel, tid: Tid, addr: u64) -> Result<Vec<u8>, Errno> {
    k.read_cstr(tid, addr, 255).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })
}

fn getxattr(k: &mut Kernel, tid: Tid, t: Target, a: &Args) -> SysResult {
    let loc = target_loc(k, tid, t)?;
    let name = xattr_name(k, tid, a.ptr(1))?;
    let v = ops::getxattr(k, tid, loc, &name)?;
    let size = a.usize(3);
    if size == 0 {
        return Ok(v.len() as u64);
    }
    if v.len() > size {
        return Err(Errno::ERANGE.into());
    }
    k.copy_out(tid, a.ptr(2), &v)?;
    Ok(v.len() as u64)
}

fn sys_getxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    getxattr(k, tid, Target::Path(a.ptr(0), true), a)
}

fn sys_lgetxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    getxattr(k, tid, Target::Path(a.ptr(0), false), a)
}

fn sys_fgetxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    getxattr(k, tid, Target::Fd(a.fd(0)), a)
}

fn setxattr(k: &mut Kernel, tid: Tid, t: Target, a: &Args) -> SysResult {
    let loc = target_loc(k, tid, t)?;
    let name = xattr_name(k, tid, a.ptr(1))?;
    let size = a.usize(3);
    if size > 65536 {
        return Err(Errno::E2BIG.into());
    }
    let value = k.read_bytes(tid, a.ptr(2), size)?;
    ops::setxattr(k, tid, loc, &name, Some(&value), a.i32(4))?;
    Ok(0)
}

fn sys_setxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    setxattr(k, tid, Target::Path(a.ptr(0), true), a)
}

fn sys_lsetxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    setxattr(k, tid, Target::Path(a.ptr(0), false), a)
}

fn sys_fsetxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    setxattr(k, tid, Target::Fd(a.fd(0)), a)
}

fn listxattr(k: &mut Kernel, tid: Tid, t: Target, a: &Args) -> SysResult {
    let loc = target_loc(k, tid, t)?;
    let v = ops::listxattr(k, tid, loc)?;
    let size = a.usize(2);
    if size == 0 {
        return Ok(v.len() as u64);
    }
    if v.len() > size {
        return Err(Errno::ERANGE.into());
    }
    k.copy_out(tid, a.ptr(1), &v)?;
    Ok(v.len() as u64)
}

fn sys_listxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    listxattr(k, tid, Target::Path(a.ptr(0), true), a)
}

fn sys_llistxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    listxattr(k, tid, Target::Path(a.ptr(0), false), a)
}

fn sys_flistxattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    listxattr(k, tid, Target::Fd(a.fd(0)), a)
}

fn removexattr(k: &mut Kernel, tid: Tid, t: Target, a: &Args) -> SysResult {
    let loc = target_loc(k, tid, t)?;
    let name = xattr_name(k, tid, a.ptr(1))?;
    ops::setxattr(k, tid, loc, &name, None, 0)?;
    Ok(0)
}

fn sys_removexattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    removexattr(k, tid, Target::Path(a.ptr(0), true), a)
}

fn sys_lremovexattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    removexattr(k, tid, Target::Path(a.ptr(0), false), a)
}

fn sys_fremovexattr(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    removexattr(k, tid, Target::Fd(a.fd(0)), a)
}
