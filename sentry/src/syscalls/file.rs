//! File system calls (first cut: host files read-only, stdio).

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_read, sys_read, Support::Full);
    t.add(SYS_write, sys_write, Support::Full);
    t.add(SYS_pread64, sys_pread64, Support::Full);
    t.add(SYS_readv, sys_readv, Support::Full);
    t.add(SYS_writev, sys_writev, Support::Full);
    t.add(SYS_open, sys_open, Support::Partial("read-only host files"));
    t.add(
        SYS_openat,
        sys_openat,
        Support::Partial("read-only host files"),
    );
    t.add(SYS_close, sys_close, Support::Full);
    t.add(SYS_fstat, sys_fstat, Support::Full);
    t.add(SYS_newfstatat, sys_newfstatat, Support::Full);
    t.add(SYS_stat, sys_stat, Support::Full);
    t.add(SYS_lseek, sys_lseek, Support::Full);
    t.add(SYS_ioctl, sys_ioctl, Support::Partial("terminals only"));
    t.add(SYS_getcwd, sys_getcwd, Support::Full);
    t.add(SYS_access, sys_access, Support::Full);
}

fn fd_file(k: &Kernel, tid: Tid, fd: i32) -> Result<u64, Errno> {
    k.vfs.get_fd(k.task(tid).fdtable, fd)
}

/// A stream (stdio, a donated descriptor) that is not ready blocks the
/// calling task on its host descriptor rather than the whole sentry.
fn wait_ready(k: &Kernel, f: u64, events: i16) -> Result<(), SysErr> {
    let Some(fd) = k.vfs.stream_fd(f) else {
        return Ok(());
    };
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: poll on one live pollfd, without waiting.
    if unsafe { libc::poll(&mut p, 1, 0) } == 0 {
        return Err(SysErr::Block(
            Block::on(Vec::new()).with_host_fd(fd, events),
        ));
    }
    Ok(())
}

fn sys_read(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    wait_ready(k, f, libc::POLLIN)?;
    let mut buf = vec![0u8; a.usize(2).min(1 << 20)];
    let n = k.vfs.read(f, &mut buf)?;
    k.copy_out(tid, a.ptr(1), &buf[..n])?;
    Ok(n as u64)
}

fn sys_pread64(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    let mut buf = vec![0u8; a.usize(2).min(1 << 20)];
    let n = k.vfs.read_at(f, a.u64(3), &mut buf)?;
    k.copy_out(tid, a.ptr(1), &buf[..n])?;
    Ok(n as u64)
}

fn sys_write(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    wait_ready(k, f, libc::POLLOUT)?;
    let data = k.read_bytes(tid, a.ptr(1), a.usize(2).min(1 << 20))?;
    Ok(k.vfs.write(f, &data)? as u64)
}

fn iovecs(k: &mut Kernel, tid: Tid, addr: u64, n: usize) -> Result<Vec<(u64, usize)>, Errno> {
    if n > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let iov: libc::iovec = k.read_val(tid, addr + i as u64 * 16)?;
        v.push((iov.iov_base as u64, iov.iov_len));
    }
    Ok(v)
}

fn sys_readv(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    wait_ready(k, f, libc::POLLIN)?;
    let mut total = 0;
    for (base, len) in iovecs(k, tid, a.ptr(1), a.usize(2))? {
        let mut buf = vec![0u8; len.min(1 << 20)];
        let n = k.vfs.read(f, &mut buf)?;
        k.copy_out(tid, base, &buf[..n])?;
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total as u64)
}

fn sys_writev(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    wait_ready(k, f, libc::POLLOUT)?;
    let mut data = Vec::new();
    for (base, len) in iovecs(k, tid, a.ptr(1), a.usize(2))? {
        data.extend(k.read_bytes(tid, base, len.min(1 << 20))?);
    }
    Ok(k.vfs.write(f, &data)? as u64)
}

fn do_open(k: &mut Kernel, tid: Tid, dirfd: i32, path: u64, flags: i32) -> SysResult {
    let p = k.read_path(tid, path)?;
    if dirfd != libc::AT_FDCWD && p[0] != b'/' {
        return Err(Errno::ENOSYS.into());
    }
    if flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_CREAT != 0 {
        return Err(Errno::EROFS.into());
    }
    let fs = k.task(tid).fs;
    let f = k.vfs.open_host(fs, &p, flags)?;
    let table = k.task(tid).fdtable;
    Ok(k.vfs.install_fd(table, f, flags & libc::O_CLOEXEC != 0) as u64)
}

fn sys_open(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_open(k, tid, libc::AT_FDCWD, a.ptr(0), a.i32(1))
}

fn sys_openat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    do_open(k, tid, a.fd(0), a.ptr(1), a.i32(2))
}

fn sys_close(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let table = k.task(tid).fdtable;
    k.vfs.close_fd(table, a.fd(0))?;
    Ok(0)
}

fn sys_fstat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    let st = k.vfs.fstat(f)?;
    k.write_val(tid, a.ptr(1), &st)?;
    Ok(0)
}

fn stat_path(k: &mut Kernel, tid: Tid, dirfd: i32, path: u64, out: u64, flags: i32) -> SysResult {
    let p = k.read_cstr(tid, path, libc::PATH_MAX as usize)?;
    if p.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
        let f = fd_file(k, tid, dirfd)?;
        let st = k.vfs.fstat(f)?;
        k.write_val(tid, out, &st)?;
        return Ok(0);
    }
    if p.is_empty() {
        return Err(Errno::ENOENT.into());
    }
    if dirfd != libc::AT_FDCWD && p[0] != b'/' {
        return Err(Errno::ENOSYS.into());
    }
    let fs = k.task(tid).fs;
    let o = if flags & libc::AT_SYMLINK_NOFOLLOW != 0 {
        libc::O_PATH | libc::O_NOFOLLOW
    } else {
        libc::O_PATH
    };
    let f = k.vfs.open_host(fs, &p, o)?;
    let st = k.vfs.fstat(f);
    k.vfs.file_release(f);
    k.write_val(tid, out, &st?)?;
    Ok(0)
}

fn sys_newfstatat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    stat_path(k, tid, a.fd(0), a.ptr(1), a.ptr(2), a.i32(3))
}

fn sys_stat(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    stat_path(k, tid, libc::AT_FDCWD, a.ptr(0), a.ptr(1), 0)
}

fn sys_lseek(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    Ok(k.vfs.lseek(f, a.i64(1), a.i32(2))?)
}

fn sys_ioctl(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let f = fd_file(k, tid, a.fd(0))?;
    let fd = k.vfs.stream_fd(f).ok_or(Errno::ENOTTY)?;
    Ok(k.tty_ioctl(tid, fd, a.u32(1), a.ptr(2))?)
}

fn sys_getcwd(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let fs = k.task(tid).fs;
    let mut cwd = k.vfs.fs_contexts[&fs].cwd.clone().into_bytes();
    cwd.push(0);
    if cwd.len() > a.usize(1) {
        return Err(Errno::ERANGE.into());
    }
    k.copy_out(tid, a.ptr(0), &cwd)?;
    Ok(cwd.len() as u64)
}

fn sys_access(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let p = k.read_path(tid, a.ptr(0))?;
    let fs = k.task(tid).fs;
    let f = k.vfs.open_host(fs, &p, libc::O_PATH)?;
    k.vfs.file_release(f);
    Ok(0)
}
