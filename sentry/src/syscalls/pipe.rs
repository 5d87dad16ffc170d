//! `pipe` and `pipe2`.

use super::{Args, Support, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};
use crate::vfs::file::{self, FileKind, OpenFile};
use crate::vfs::node::{AnonNode, Loc, Node};
use crate::vfs::pipe::Pipe;

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(SYS_pipe, sys_pipe, Support::Full);
    t.add(
        SYS_pipe2,
        sys_pipe2,
        Support::Partial("no O_NOTIFICATION_PIPE"),
    );
}

fn sys_pipe(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    make_pipe(k, tid, a.ptr(0), 0)
}

fn sys_pipe2(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let flags = a.i32(1);
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_DIRECT) != 0 {
        return Err(Errno::EINVAL.into());
    }
    make_pipe(k, tid, a.ptr(0), flags)
}

fn make_pipe(k: &mut Kernel, tid: Tid, out: u64, flags: i32) -> SysResult {
    let q = k.new_id();
    let id = k.new_id();
    let mut p = Pipe::new(q, id, false);
    p.readers = 1;
    p.writers = 1;
    k.vfs.pipes.insert(id, p);
    let loc = Loc {
        mount: k.vfs.mounts.pipe,
        node: Node::Anon(AnonNode::Pipe(id)),
    };
    let name = format!("pipe:[{id}]").into_bytes();
    let status = (flags & (libc::O_NONBLOCK | libc::O_DIRECT)) | libc::O_LARGEFILE;
    let r = k.vfs.add_file(OpenFile::new(
        loc,
        FileKind::Pipe { pipe: id },
        libc::O_RDONLY | status,
        name.clone(),
    ));
    let w = k.vfs.add_file(OpenFile::new(
        loc,
        FileKind::Pipe { pipe: id },
        libc::O_WRONLY | status,
        name,
    ));
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let rfd = match file::install_fd(k, tid, r, cloexec, 0) {
        Ok(fd) => fd,
        Err(e) => {
            k.vfs.file_release(w);
            return Err(e.into());
        }
    };
    let wfd = match file::install_fd(k, tid, w, cloexec, 0) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = super::file::close_fd(k, tid, rfd);
            return Err(e.into());
        }
    };
    if let Err(e) = k.write_val(tid, out, &[rfd, wfd]) {
        let _ = super::file::close_fd(k, tid, rfd);
        let _ = super::file::close_fd(k, tid, wfd);
        return Err(e.into());
    }
    Ok(0)
}
