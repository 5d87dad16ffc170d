//! Operations on names: open and create, make directories and nodes,
//! remove, rename, link, symlink; attributes (`stat`, `chmod`, `chown`,
//! times, size), extended attributes, `statfs`, and the working directory.
//! Each checks permissions with the caller's credentials and errors as
//! Linux does, then dispatches on the filesystem.

use super::dev::{self, Opened};
use super::file::{self, FileKind, OpenFile};
use super::mem::{MemData, MemDir, MemFile, MemInode, Memory};
use super::mount::{MS_NODEV, MS_NOEXEC};
use super::node::{AnonNode, Loc, Node, SetAttr, Stat, Ts};
use super::path::{self, Ctx, Found, Last, Parent};
use super::perm::{self, MAY_EXEC, MAY_READ, MAY_WRITE};
use super::pipe::Pipe;
use super::{FileId, Vfs};
use crate::errno::Errno;
use crate::kernel::caps;
use crate::kernel::task::{Creds, TaskState};
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;

/// The context of `tid`.
pub fn ctx(k: &Kernel, tid: Tid) -> Ctx {
    Ctx::of(k, tid)
}

/// Where a `*at` call starts: the working directory or `dirfd`'s
/// directory (unused for absolute paths).
pub fn start(k: &Kernel, tid: Tid, ctx: &Ctx, dirfd: i32, path: &[u8]) -> Result<Loc, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(ctx.root);
    }
    if dirfd == libc::AT_FDCWD {
        return Ok(ctx.cwd);
    }
    let f = file::get(k, tid, dirfd)?;
    let loc = k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc;
    if !path.is_empty() && !path::is_dir(k, loc.node) {
        return Err(Errno::ENOTDIR);
    }
    Ok(loc)
}

/// The location `dirfd` itself refers to (`AT_EMPTY_PATH`).
pub fn fd_loc(k: &Kernel, tid: Tid, dirfd: i32) -> Result<Loc, Errno> {
    if dirfd == libc::AT_FDCWD {
        return Ok(ctx(k, tid).cwd);
    }
    let f = file::get(k, tid, dirfd)?;
    Ok(k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc)
}

/// Resolves a `*at` path with `AT_SYMLINK_NOFOLLOW` and `AT_EMPTY_PATH`.
pub fn lookup_at(
    k: &mut Kernel,
    tid: Tid,
    dirfd: i32,
    path: &[u8],
    at_flags: i32,
) -> Result<Loc, Errno> {
    if path.is_empty() {
        if at_flags & libc::AT_EMPTY_PATH != 0 {
            return fd_loc(k, tid, dirfd);
        }
        return Err(Errno::ENOENT);
    }
    let c = ctx(k, tid);
    let s = start(k, tid, &c, dirfd, path)?;
    path::resolve(k, &c, s, path, at_flags & libc::AT_SYMLINK_NOFOLLOW == 0)
}

fn may(k: &Kernel, creds: &Creds, node: Node, want: u32) -> Result<(), Errno> {
    let (m, u, g) = path::attrs(k, node).ok_or(Errno::ENOENT)?;
    perm::check(creds, m, u, g, want)
}

fn ro_check(k: &Kernel, loc: Loc) -> Result<(), Errno> {
    if k.vfs.mounts.readonly(loc.mount) {
        Err(Errno::EROFS)
    } else {
        Ok(())
    }
}

/// Makes sure an overlay node's data is in the upper layer.
pub fn copy_up(k: &mut Kernel, node: Node) -> Result<Option<super::node::InodeId>, Errno> {
    match node {
        Node::Mem(i) => Ok(Some(i)),
        Node::Ovl(o) => {
            let Kernel {
                vfs,
                objects,
                frames,
                host,
                ..
            } = k;
            let host = host.as_ref().ok_or(Errno::EIO)?;
            let mut m = Memory {
                objects,
                frames,
                mf: &host.mf,
            };
            let Vfs { ovl, mem, .. } = vfs;
            Ok(Some(ovl.copy_up(mem, &mut m, o)?))
        }
        _ => Ok(None),
    }
}

// ---- Creating ------------------------------------------------------------------

/// What to make.
#[derive(Clone, Debug)]
pub enum NewNode {
    File,
    Dir,
    Symlink(Vec<u8>),
    Fifo,
    /// A device (`S_IFCHR` or `S_IFBLK`) with its number.
    Dev(u32, u64),
    Socket,
}

/// Makes `name` in directory `dir` with permission bits `perm` (umask
/// already applied). The name must not exist.
pub fn create(
    k: &mut Kernel,
    c: &Ctx,
    dir: Loc,
    name: &[u8],
    perm: u32,
    what: NewNode,
) -> Result<Loc, Errno> {
    let (dmode, _duid, dgid) = path::attrs(k, dir.node).ok_or(Errno::ENOENT)?;
    if dmode & libc::S_IFMT != libc::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    if path::is_deleted(&k.vfs, dir.node) {
        return Err(Errno::ENOENT);
    }
    if matches!(dir.node, Node::Proc(_)) {
        return Err(match what {
            NewNode::File => Errno::EACCES,
            _ => Errno::EPERM,
        });
    }
    if matches!(dir.node, Node::Anon(_)) {
        return Err(Errno::ENOTDIR);
    }
    ro_check(k, dir)?;
    perm::check(&c.creds, dmode, _duid, dgid, MAY_WRITE | MAY_EXEC)?;
    let uid = c.creds.fsuid;
    let (gid, mut perm) = if dmode & libc::S_ISGID != 0 {
        let p = if matches!(what, NewNode::Dir) {
            perm | libc::S_ISGID
        } else {
            perm
        };
        (dgid, p)
    } else {
        (c.creds.fsgid, perm)
    };
    if perm & libc::S_ISGID != 0
        && !matches!(what, NewNode::Dir)
        && !perm::in_group(&c.creds, gid)
        && !perm::capable(&c.creds, caps::CAP_FSETID)
    {
        perm &= !libc::S_ISGID;
    }
    if let Node::Bind(d) = dir.node {
        return create_bind(k, dir.mount, d, name, perm, (uid, gid), what);
    }
    let (ftype, data, rdev) = match what {
        NewNode::File => {
            let obj = k.objects.create(0);
            (
                libc::S_IFREG,
                MemData::File(MemFile {
                    obj,
                    size: 0,
                    seals: 0,
                }),
                0,
            )
        }
        NewNode::Dir => (libc::S_IFDIR, MemData::Dir(MemDir::default()), 0),
        NewNode::Symlink(t) => (libc::S_IFLNK, MemData::Symlink(t), 0),
        NewNode::Fifo => (libc::S_IFIFO, MemData::Fifo(None), 0),
        NewNode::Dev(t, rdev) => (t, MemData::Special, rdev),
        NewNode::Socket => (libc::S_IFSOCK, MemData::Special, 0),
    };
    let mode = ftype | (perm & 0o7777);
    match dir.node {
        Node::Mem(d) => {
            let fs = k.vfs.mem.get(d).map_or(0, |i| i.fs);
            let ino = k.vfs.mounts.alloc_ino(fs);
            let mut i = MemInode::new(fs, ino, mode, uid, gid, data);
            i.rdev = rdev;
            let id = k.vfs.mem.insert(i);
            k.vfs.mem.add_entry(d, name, id);
            Ok(Loc {
                mount: dir.mount,
                node: Node::Mem(id),
            })
        }
        Node::Ovl(o) => {
            if let Err(e) = copy_up(k, dir.node) {
                if let MemData::File(f) = data {
                    k.vfs.pending.objects.push(f.obj);
                }
                return Err(e);
            }
            let ino = k.vfs.ovl.alloc_ino();
            let fs = k.vfs.ovl.fs;
            let mut i = MemInode::new(fs, ino, mode, uid, gid, data);
            i.rdev = rdev;
            let id = k.vfs.mem.insert(i);
            let Vfs { ovl, mem, .. } = &mut k.vfs;
            let n = ovl.add_new(mem, o, name, id);
            Ok(Loc {
                mount: dir.mount,
                node: Node::Ovl(n),
            })
        }
        Node::Proc(_) | Node::Anon(_) | Node::Bind(_) => Err(Errno::EPERM),
    }
}

/// Makes a node in a bind mount's directory, on the host. A new regular
/// file stays open (read-write) for the `open` that made it.
fn create_bind(
    k: &mut Kernel,
    mount: super::node::MountId,
    dir: super::bind::BindId,
    name: &[u8],
    perm: u32,
    (uid, gid): (u32, u32),
    what: NewNode,
) -> Result<Loc, Errno> {
    use super::bind::Make;
    let make = match what {
        NewNode::File => Make::File(perm, libc::O_RDWR),
        NewNode::Dir => Make::Dir(perm),
        NewNode::Symlink(t) => Make::Symlink(t),
        NewNode::Fifo => Make::Node(libc::S_IFIFO | perm, 0),
        NewNode::Dev(t, rdev) => Make::Node(t | perm, rdev),
        NewNode::Socket => Make::Node(libc::S_IFSOCK | perm, 0),
    };
    let (id, fd) = k.vfs.binds.make(dir, name, make)?;
    if let Some((mode, huid, hgid)) = k.vfs.binds.attrs(id) {
        if (huid, hgid) != (uid, gid) {
            k.vfs.binds.set_new_owner(id, uid, gid);
        }
        // The host's umask may have taken bits the application asked for.
        if mode & 0o7777 != perm & 0o7777 && mode & libc::S_IFMT != libc::S_IFLNK {
            let _ = k.vfs.binds.setattr(
                id,
                &SetAttr {
                    mode: Some(perm),
                    ..Default::default()
                },
            );
        }
    }
    if let Some(fd) = fd {
        k.vfs.bind_created = Some((id, fd));
    }
    Ok(Loc {
        mount,
        node: Node::Bind(id),
    })
}

/// Walks to the parent of a name to create, and checks it is free:
/// returns the directory and name.
fn create_target(
    k: &mut Kernel,
    tid: Tid,
    c: &Ctx,
    dirfd: i32,
    path: &[u8],
    allow_trailing: bool,
) -> Result<(Loc, Vec<u8>), Errno> {
    let s = start(k, tid, c, dirfd, path)?;
    let mut links = 0;
    let p = path::walk_parent(k, c, s, path, &mut links)?;
    let Last::Norm(name) = p.last else {
        return Err(Errno::EEXIST);
    };
    match path::lookup_child_raw(k, c, p.dir, &name) {
        Ok(_) => Err(Errno::EEXIST),
        Err(Errno::ENOENT) => {
            if p.trailing && !allow_trailing {
                return Err(Errno::ENOENT);
            }
            Ok((p.dir, name))
        }
        Err(e) => Err(e),
    }
}

/// `mkdirat`.
pub fn mkdir(k: &mut Kernel, tid: Tid, dirfd: i32, path: &[u8], mode: u32) -> Result<(), Errno> {
    let c = ctx(k, tid);
    let (dir, name) = create_target(k, tid, &c, dirfd, path, true)?;
    create(k, &c, dir, &name, mode & 0o7777 & !c.umask, NewNode::Dir)?;
    Ok(())
}

/// `mknodat`.
pub fn mknod(
    k: &mut Kernel,
    tid: Tid,
    dirfd: i32,
    path: &[u8],
    mode: u32,
    rdev: u64,
) -> Result<(), Errno> {
    let c = ctx(k, tid);
    let what = match mode & libc::S_IFMT {
        0 | libc::S_IFREG => NewNode::File,
        libc::S_IFIFO => NewNode::Fifo,
        libc::S_IFSOCK => NewNode::Socket,
        t @ (libc::S_IFCHR | libc::S_IFBLK) => {
            if !perm::capable(&c.creds, caps::CAP_MKNOD) {
                return Err(Errno::EPERM);
            }
            NewNode::Dev(t, rdev)
        }
        libc::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let (dir, name) = create_target(k, tid, &c, dirfd, path, false)?;
    create(k, &c, dir, &name, mode & 0o7777 & !c.umask, what)?;
    Ok(())
}

/// `symlinkat`.
pub fn symlink(
    k: &mut Kernel,
    tid: Tid,
    target: &[u8],
    dirfd: i32,
    path: &[u8],
) -> Result<(), Errno> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let c = ctx(k, tid);
    let (dir, name) = create_target(k, tid, &c, dirfd, path, false)?;
    create(k, &c, dir, &name, 0o777, NewNode::Symlink(target.to_vec()))?;
    Ok(())
}

// ---- Opening -------------------------------------------------------------------

const FIFO_TAG: u64 = 0x6669_666f_5f6f_706e;

/// `openat`/`openat2`: returns a new open file description. A FIFO opened
/// for one direction waits (blocks) for the other end.
pub fn open(
    k: &mut Kernel,
    tid: Tid,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
    resolve: u64,
) -> Result<FileId, SysErr> {
    let mut flags = flags;
    if flags & libc::O_PATH != 0 {
        flags &= libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    }
    if flags & (libc::O_CREAT | libc::O_DIRECTORY) == libc::O_CREAT | libc::O_DIRECTORY
        && flags & libc::O_TMPFILE != libc::O_TMPFILE
        && flags & libc::O_PATH == 0
    {
        return Err(Errno::EINVAL.into());
    }
    let mut c = ctx(k, tid);
    c.resolve = resolve;
    if path.is_empty() {
        return Err(Errno::ENOENT.into());
    }
    let s = start(k, tid, &c, dirfd, path)?;
    if resolve & (path::RESOLVE_IN_ROOT | path::RESOLVE_BENEATH) != 0 {
        c.root = if path[0] == b'/' && resolve & path::RESOLVE_IN_ROOT != 0 {
            fd_loc(k, tid, dirfd)?
        } else {
            s
        };
    }
    let s = if path[0] == b'/' { c.root } else { s };
    if flags & libc::O_TMPFILE == libc::O_TMPFILE {
        return Ok(open_tmpfile(k, tid, &c, s, path, flags, mode)?);
    }
    let mut created = false;
    let found = if flags & libc::O_CREAT != 0 && flags & libc::O_PATH == 0 {
        let (f, made) = open_create(k, &c, s, path, flags, mode)?;
        created = made;
        f
    } else {
        let follow = flags & libc::O_NOFOLLOW == 0;
        path::resolve_found(k, &c, s, path, follow)?
    };
    open_found(k, tid, &c, found, flags, created)
}

/// The `O_CREAT` walk: follows a final symlink (creating at its target),
/// and creates the file if absent. Returns what was found and whether it
/// was made.
fn open_create(
    k: &mut Kernel,
    c: &Ctx,
    start: Loc,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<(Found, bool), Errno> {
    let mut links = 0u32;
    let mut start = start;
    let mut path = path.to_vec();
    loop {
        let p: Parent = path::walk_parent(k, c, start, &path, &mut links)?;
        let Last::Norm(name) = p.last.clone() else {
            return Err(Errno::EISDIR);
        };
        if p.trailing {
            return Err(Errno::EISDIR);
        }
        match path::lookup_child(k, c, p.dir, &name) {
            Ok(child) => {
                if flags & libc::O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                if path::file_type(k, child.node) == libc::S_IFLNK {
                    if flags & libc::O_NOFOLLOW != 0 {
                        return Err(Errno::ELOOP);
                    }
                    links += 1;
                    if links > path::MAX_SYMLINKS || c.resolve & path::RESOLVE_NO_SYMLINKS != 0 {
                        return Err(Errno::ELOOP);
                    }
                    match path::readlink(k, c, child)? {
                        path::Link::Jump(l, shown) => {
                            return Ok((
                                Found {
                                    loc: l,
                                    dir: None,
                                    name: Vec::new(),
                                    shown,
                                },
                                false,
                            ))
                        }
                        path::Link::Path(t) => {
                            if t.is_empty() {
                                return Err(Errno::ENOENT);
                            }
                            start = p.dir;
                            path = t;
                            continue;
                        }
                    }
                }
                return Ok((
                    Found {
                        loc: child,
                        dir: Some(p.dir),
                        name,
                        shown: None,
                    },
                    false,
                ));
            }
            Err(Errno::ENOENT) => {
                let loc = create(k, c, p.dir, &name, mode & 0o7777 & !c.umask, NewNode::File)?;
                return Ok((
                    Found {
                        loc,
                        dir: Some(p.dir),
                        name,
                        shown: None,
                    },
                    true,
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

/// `O_TMPFILE`: an unnamed regular file in directory `path`.
fn open_tmpfile(
    k: &mut Kernel,
    tid: Tid,
    c: &Ctx,
    s: Loc,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<FileId, Errno> {
    let acc = flags & libc::O_ACCMODE;
    if acc == libc::O_RDONLY {
        return Err(Errno::EINVAL);
    }
    let dir = path::resolve(k, c, s, path, true)?;
    if !path::is_dir(k, dir.node) {
        return Err(Errno::ENOTDIR);
    }
    let (dmode, duid, dgid) = path::attrs(k, dir.node).ok_or(Errno::ENOENT)?;
    ro_check(k, dir)?;
    perm::check(&c.creds, dmode, duid, dgid, MAY_WRITE | MAY_EXEC)?;
    let fs = match dir.node {
        Node::Mem(d) => k.vfs.mem.get(d).map_or(0, |i| i.fs),
        Node::Ovl(_) => k.vfs.ovl.fs,
        _ => return Err(Errno::EOPNOTSUPP),
    };
    let ino = match dir.node {
        Node::Ovl(_) => k.vfs.ovl.alloc_ino(),
        _ => k.vfs.mounts.alloc_ino(fs),
    };
    let obj = k.objects.create(0);
    let perm = mode & 0o7777 & !c.umask;
    let inode = MemInode::new(
        fs,
        ino,
        libc::S_IFREG | perm,
        c.creds.fsuid,
        c.creds.fsgid,
        MemData::File(MemFile {
            obj,
            size: 0,
            seals: 0,
        }),
    );
    let id = k.vfs.mem.insert(inode);
    // An overlay's unnamed file lives in its upper layer.
    let mount = match dir.node {
        Node::Mem(_) => dir.mount,
        _ => k.vfs.memfd_mount,
    };
    let loc = Loc {
        mount,
        node: Node::Mem(id),
    };
    k.vfs.mem_hold(id);
    let mut shown = path::path_of(k, k.vfs.root_loc(), dir);
    shown.extend_from_slice(format!("/#{ino}").as_bytes());
    let of = OpenFile::new(loc, FileKind::Regular, status_flags(flags), shown);
    let _ = tid;
    Ok(k.vfs.add_file(of))
}

/// The flags kept in an open file description.
fn status_flags(flags: i32) -> i32 {
    (flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC))
        | libc::O_LARGEFILE
}

/// Opens what a resolution found.
pub fn open_found(
    k: &mut Kernel,
    tid: Tid,
    c: &Ctx,
    found: Found,
    flags: i32,
    created: bool,
) -> Result<FileId, SysErr> {
    let loc = found.loc;
    let (mode, _, _) = path::attrs(k, loc.node).ok_or(Errno::ENOENT)?;
    let ftype = mode & libc::S_IFMT;
    let acc = flags & libc::O_ACCMODE;
    // Access mode 3 opens for ioctl only, with read and write permission.
    let writing = flags & libc::O_PATH == 0 && acc != libc::O_RDONLY;
    let trunc = flags & libc::O_TRUNC != 0 && flags & libc::O_PATH == 0;
    if flags & libc::O_DIRECTORY != 0 && ftype != libc::S_IFDIR {
        return Err(Errno::ENOTDIR.into());
    }
    if ftype == libc::S_IFDIR
        && (writing || (flags & libc::O_CREAT != 0 && flags & libc::O_PATH == 0))
    {
        return Err(Errno::EISDIR.into());
    }
    if ftype == libc::S_IFLNK && flags & libc::O_PATH == 0 {
        return Err(Errno::ELOOP.into());
    }
    let shown = path::shown_path(k, &found);
    if flags & libc::O_PATH != 0 {
        k.vfs.node_hold(loc.node);
        let of = OpenFile::new(loc, FileKind::Path, status_flags(flags), shown);
        return Ok(k.vfs.add_file(of));
    }
    if !created {
        let mut want = 0;
        if acc != libc::O_WRONLY {
            want |= MAY_READ;
        }
        if acc == libc::O_ACCMODE {
            want |= MAY_WRITE;
        }
        if writing || trunc {
            want |= MAY_WRITE;
        }
        may(k, &c.creds, loc.node, want)?;
        if (writing || trunc) && matches!(ftype, libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK) {
            ro_check(k, loc)?;
        }
    }
    let kind = match loc.node {
        Node::Anon(a) => return reopen_anon(k, tid, a, flags, shown),
        Node::Proc(p) => {
            if ftype == libc::S_IFDIR {
                FileKind::Dir { ents: None }
            } else {
                super::proc::open(k, p, flags)?
            }
        }
        Node::Bind(b) if ftype == libc::S_IFREG => {
            let made = match k.vfs.bind_created.take() {
                Some((id, fd)) if id == b && created => Some(fd),
                _ => None,
            };
            let fd = match made {
                Some(fd) => fd,
                None => {
                    let mut host_flags = match acc {
                        libc::O_ACCMODE => libc::O_RDWR,
                        a => a,
                    };
                    if trunc {
                        host_flags |= libc::O_TRUNC;
                    }
                    k.vfs.binds.open(b, host_flags)?
                }
            };
            k.vfs.node_hold(loc.node);
            let mut of = OpenFile::new(loc, FileKind::Regular, status_flags(flags), shown);
            of.host = Some(fd);
            return Ok(k.vfs.add_file(of));
        }
        _ => match ftype {
            libc::S_IFDIR => FileKind::Dir { ents: None },
            libc::S_IFREG => {
                if writing || trunc {
                    copy_up(k, loc.node)?;
                }
                if trunc && (writing || acc == libc::O_RDONLY) {
                    if let Some(i) = copy_up(k, loc.node)? {
                        if k.vfs.mem.get(i).is_some_and(|x| x.size() > 0) {
                            file::set_size(k, tid, i, 0)?;
                        }
                    }
                }
                FileKind::Regular
            }
            libc::S_IFCHR => {
                if k.vfs.mounts.flags(loc.mount) & MS_NODEV != 0 {
                    return Err(Errno::EACCES.into());
                }
                let st = path::stat(k, loc)?;
                let sid = k.tg(tid).sid;
                match dev::open_char(&k.vfs, st.rdev, sid)? {
                    Opened::Device(d) => FileKind::Device(d),
                    Opened::PtyMaster => return Ok(super::pty::open_master(k, tid, loc, flags)?),
                    Opened::PtySlave(i) => {
                        let at = k.vfs.ptys.get(&i).map(|p| p.node);
                        let loc = match at {
                            // /dev/tty reaches the slave through its node.
                            Some(n)
                                if st.rdev != super::node::makedev(super::pty::SLAVE_MAJOR, i) =>
                            {
                                Loc {
                                    mount: loc.mount,
                                    node: Node::Mem(n),
                                }
                            }
                            _ => loc,
                        };
                        return Ok(super::pty::open_slave(k, tid, i, loc, flags)?);
                    }
                    Opened::Tty(slot) => {
                        let f = k.vfs.open_stdio(slot, acc);
                        if let Some(of) = k.vfs.files.get_mut(&f) {
                            of.flags = status_flags(flags);
                            of.path = b"/dev/tty".to_vec();
                        }
                        return Ok(f);
                    }
                }
            }
            libc::S_IFIFO => return fifo_open(k, tid, loc, flags, shown),
            libc::S_IFBLK | libc::S_IFSOCK => return Err(Errno::ENXIO.into()),
            _ => return Err(Errno::EINVAL.into()),
        },
    };
    k.vfs.node_hold(loc.node);
    let of = OpenFile::new(loc, kind, status_flags(flags), shown);
    Ok(k.vfs.add_file(of))
}

/// Reopening an anonymous object through `/proc/[pid]/fd/N`.
fn reopen_anon(
    k: &mut Kernel,
    tid: Tid,
    a: AnonNode,
    flags: i32,
    shown: Vec<u8>,
) -> Result<FileId, SysErr> {
    match a {
        AnonNode::Stdio(slot) => {
            let f = k.vfs.open_stdio(slot, flags & libc::O_ACCMODE);
            if let Some(of) = k.vfs.files.get_mut(&f) {
                of.flags = status_flags(flags);
            }
            Ok(f)
        }
        AnonNode::Pipe(p) => {
            let loc = Loc {
                mount: k.vfs.mounts.pipe,
                node: Node::Anon(a),
            };
            fifo_attach(k, tid, p, loc, flags, shown, true)
        }
        AnonNode::File(_) => Err(Errno::ENXIO.into()),
    }
}

/// Opens a FIFO node: its pipe is made at first open.
fn fifo_open(
    k: &mut Kernel,
    tid: Tid,
    loc: Loc,
    flags: i32,
    shown: Vec<u8>,
) -> Result<FileId, SysErr> {
    let inode = copy_up(k, loc.node)?.ok_or(Errno::ENXIO)?;
    let existing = match k.vfs.mem.get(inode).map(|i| &i.data) {
        Some(MemData::Fifo(p)) => *p,
        _ => return Err(Errno::ENXIO.into()),
    };
    let pipe = match existing {
        Some(p) if k.vfs.pipes.contains_key(&p) => p,
        _ => {
            let q = k.new_id();
            let id = k.new_id();
            let ino = k.vfs.mem.get(inode).map_or(id, |i| i.ino);
            k.vfs.pipes.insert(id, Pipe::new(q, ino, true));
            if let Some(i) = k.vfs.mem.get_mut(inode) {
                i.data = MemData::Fifo(Some(id));
            }
            id
        }
    };
    fifo_attach(k, tid, pipe, loc, flags, shown, false)
}

/// True if some task waits in `open` for the other end of `pipe`.
fn fifo_waiter(k: &Kernel, pipe: u64, reader: bool) -> bool {
    k.tasks.values().any(|t| {
        matches!(t.state, TaskState::Blocked(_))
            && t.syscall_scratch.len() == 4
            && t.syscall_scratch[0] == FIFO_TAG
            && t.syscall_scratch[1] == pipe
            && t.syscall_scratch[2] == if reader { 0 } else { 1 }
    })
}

/// Joins one or both ends of a pipe, waiting for the other side as a FIFO
/// open does (an anonymous pipe reopened through procfs, `is_pipe`, never
/// waits).
fn fifo_attach(
    k: &mut Kernel,
    tid: Tid,
    pipe: u64,
    loc: Loc,
    flags: i32,
    shown: Vec<u8>,
    is_pipe: bool,
) -> Result<FileId, SysErr> {
    let acc = flags & libc::O_ACCMODE;
    let nonblock = flags & libc::O_NONBLOCK != 0;
    let p = k.vfs.pipes.get(&pipe).ok_or(Errno::ENXIO)?;
    let (readers, writers, r_opens, w_opens, q) =
        (p.readers, p.writers, p.r_opens, p.w_opens, p.queue);
    let scratch = k.task(tid).syscall_scratch.clone();
    let waited = scratch.len() == 4 && scratch[0] == FIFO_TAG && scratch[1] == pipe;
    match acc {
        libc::O_RDONLY => {
            let other_came = waited && w_opens != scratch[3];
            if !(is_pipe || writers > 0 || nonblock || other_came || fifo_waiter(k, pipe, false)) {
                if !waited {
                    k.task_mut(tid).syscall_scratch = vec![FIFO_TAG, pipe, 0, w_opens];
                    k.notify(q);
                }
                return Err(SysErr::Block(Block::on(vec![q])));
            }
        }
        libc::O_WRONLY => {
            let other_came = waited && r_opens != scratch[3];
            if !(is_pipe || readers > 0 || other_came || fifo_waiter(k, pipe, true)) {
                if nonblock {
                    return Err(Errno::ENXIO.into());
                }
                if !waited {
                    k.task_mut(tid).syscall_scratch = vec![FIFO_TAG, pipe, 1, r_opens];
                    k.notify(q);
                }
                return Err(SysErr::Block(Block::on(vec![q])));
            }
        }
        _ => {}
    }
    if waited {
        k.task_mut(tid).syscall_scratch.clear();
    }
    let p = k.vfs.pipes.get_mut(&pipe).ok_or(Errno::ENXIO)?;
    if acc != libc::O_WRONLY {
        p.readers += 1;
        p.r_opens += 1;
    }
    if acc != libc::O_RDONLY {
        p.writers += 1;
        p.w_opens += 1;
    }
    p.gen += 1;
    k.notify(q);
    k.vfs.node_hold(loc.node);
    let of = OpenFile::new(loc, FileKind::Pipe { pipe }, status_flags(flags), shown);
    Ok(k.vfs.add_file(of))
}

/// Opens a file to execute for `tid` (`execve`): a regular file with
/// execute permission on a mount that allows it.
pub fn open_exec(k: &mut Kernel, tid: Tid, path: &[u8]) -> Result<FileId, Errno> {
    let c = ctx(k, tid);
    k.vfs.exec_creds = Some(c.creds.clone());
    let found = path::resolve_found(k, &c, c.cwd, path, true)?;
    exec_checks(k, &c.creds, found.loc)?;
    let shown = path::shown_path(k, &found);
    k.vfs.node_hold(found.loc.node);
    let of = OpenFile::new(
        found.loc,
        FileKind::Regular,
        libc::O_RDONLY | libc::O_LARGEFILE,
        shown,
    );
    Ok(k.vfs.add_file(of))
}

fn exec_checks<N: path::Ns + ?Sized>(n: &N, creds: &Creds, loc: Loc) -> Result<(), Errno> {
    let (mode, uid, gid) = path::attrs(n, loc.node).ok_or(Errno::ENOENT)?;
    if mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Errno::EACCES);
    }
    if n.vfs_ref().mounts.flags(loc.mount) & MS_NOEXEC != 0 {
        return Err(Errno::EACCES);
    }
    perm::check(creds, mode, uid, gid, MAY_EXEC)
}

/// The path `execveat` executes: relative paths and `AT_EMPTY_PATH` name
/// the descriptor through `/dev/fd/N` (what Linux shows as the file name,
/// and what reaches an unnamed file such as a memfd).
pub fn execveat_path(
    k: &mut Kernel,
    tid: Tid,
    dirfd: i32,
    path: &[u8],
    flags: i32,
) -> Result<Vec<u8>, Errno> {
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    if path.is_empty() && flags & libc::AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    }
    if !path.is_empty() && flags & libc::AT_SYMLINK_NOFOLLOW != 0 {
        let loc = lookup_at(k, tid, dirfd, path, libc::AT_SYMLINK_NOFOLLOW)?;
        if path::file_type(k, loc.node) == libc::S_IFLNK {
            return Err(Errno::ELOOP);
        }
    }
    if path.first() == Some(&b'/') {
        return Ok(path.to_vec());
    }
    if dirfd == libc::AT_FDCWD {
        return Ok(if path.is_empty() {
            b".".to_vec()
        } else {
            path.to_vec()
        });
    }
    let f = file::get(k, tid, dirfd)?;
    let loc = k.vfs.files.get(&f).ok_or(Errno::EBADF)?.loc;
    let mut p = format!("/dev/fd/{dirfd}").into_bytes();
    if !path.is_empty() {
        if !path::is_dir(k, loc.node) {
            return Err(Errno::ENOTDIR);
        }
        p.push(b'/');
        p.extend_from_slice(path);
    }
    Ok(p)
}

/// [`open_exec`] with only the VFS at hand (boot, the loader's
/// interpreter), from filesystem context `fs`.
pub fn open_exec_in(v: &mut Vfs, fs: u64, creds: &Creds, path: &[u8]) -> Result<FileId, Errno> {
    let root = v.root_loc();
    let (r, cwd, umask) = v
        .fs_contexts
        .get(&fs)
        .map_or((root, root, 0o022), |c| (c.root_loc, c.cwd_loc, c.umask));
    let c = Ctx {
        tid: 0,
        creds: creds.clone(),
        root: r,
        cwd,
        umask,
        resolve: 0,
    };
    let found = path::resolve_found(v, &c, cwd, path, true)?;
    exec_checks(v, creds, found.loc)?;
    let shown = path::shown_path(v, &found);
    v.node_hold(found.loc.node);
    let of = OpenFile::new(
        found.loc,
        FileKind::Regular,
        libc::O_RDONLY | libc::O_LARGEFILE,
        shown,
    );
    Ok(v.add_file(of))
}

/// The first bytes of a file (to tell ELF from `#!`).
pub fn read_head(k: &mut Kernel, f: FileId) -> Result<Vec<u8>, Errno> {
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    let loc = of.loc;
    match file::data_src(&k.vfs, loc.node)? {
        file::DataSrc::Mem(i) => {
            let Kernel {
                vfs, objects, host, ..
            } = k;
            let host = host.as_ref().ok_or(Errno::EIO)?;
            let mf = vfs.mem.get(i).and_then(|x| x.file()).ok_or(Errno::EACCES)?;
            let mut b = vec![0u8; 256];
            let n = super::mem::read_file(mf, objects, &host.mf, 0, &mut b);
            b.truncate(n);
            Ok(b)
        }
        file::DataSrc::Lower(_) | file::DataSrc::Bind(_) => {
            let mut b = vec![0u8; 256];
            let mut got = 0;
            while got < b.len() {
                let n = k.vfs.read_at(f, got as u64, &mut b[got..])?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            b.truncate(got);
            Ok(b)
        }
    }
}

// ---- Removing --------------------------------------------------------------------

fn sticky_check(k: &Kernel, c: &Ctx, dir: Node, child: Node) -> Result<(), Errno> {
    let (dmode, duid, _) = path::attrs(k, dir).ok_or(Errno::ENOENT)?;
    let (_, cuid, _) = path::attrs(k, child).ok_or(Errno::ENOENT)?;
    if perm::sticky_ok(&c.creds, dmode, duid, cuid) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

fn is_mountpoint(k: &Kernel, loc: Loc) -> bool {
    k.vfs.mounts.mounted_at(loc).is_some()
        || k.vfs
            .mounts
            .mounts
            .values()
            .any(|m| m.root == loc.node && m.mountpoint.is_some())
}

/// True if a directory node has no entries.
fn dir_empty(k: &mut Kernel, node: Node) -> Result<bool, Errno> {
    match node {
        Node::Mem(i) => Ok(k.vfs.mem.dir(i).is_none_or(|d| d.entries.is_empty())),
        Node::Ovl(o) => {
            let v = &mut k.vfs;
            v.ovl.is_empty_dir(&v.mem, o)
        }
        Node::Bind(b) => Ok(k.vfs.binds.read_dir(b)?.is_empty()),
        _ => Ok(false),
    }
}

/// `unlinkat` (with `rmdir`: `AT_REMOVEDIR`).
pub fn unlink(k: &mut Kernel, tid: Tid, dirfd: i32, path: &[u8], rmdir: bool) -> Result<(), Errno> {
    let c = ctx(k, tid);
    let s = start(k, tid, &c, dirfd, path)?;
    let mut links = 0;
    let p = path::walk_parent(k, &c, s, path, &mut links)?;
    let name = match (p.last, rmdir) {
        (Last::Norm(n), _) => n,
        (Last::Dot, true) => return Err(Errno::EINVAL),
        (Last::DotDot, true) => return Err(Errno::ENOTEMPTY),
        (Last::Root, true) => return Err(Errno::EBUSY),
        (_, false) => return Err(Errno::EISDIR),
    };
    let child = path::lookup_child_raw(k, &c, p.dir, &name)?;
    let is_dir = path::is_dir(k, child.node);
    if !rmdir {
        if is_dir {
            return Err(Errno::EISDIR);
        }
        if p.trailing {
            return Err(Errno::ENOTDIR);
        }
    } else if !is_dir {
        return Err(Errno::ENOTDIR);
    }
    ro_check(k, p.dir)?;
    may(k, &c.creds, p.dir.node, MAY_WRITE | MAY_EXEC)?;
    sticky_check(k, &c, p.dir.node, child.node)?;
    if is_mountpoint(k, child) || child == c.root {
        return Err(Errno::EBUSY);
    }
    if rmdir && !dir_empty(k, child.node)? {
        return Err(Errno::ENOTEMPTY);
    }
    remove_entry(k, p.dir, &name, child)
}

fn remove_entry(k: &mut Kernel, dir: Loc, name: &[u8], child: Loc) -> Result<(), Errno> {
    match dir.node {
        Node::Mem(d) => {
            if let Some(i) = k.vfs.mem.remove_entry(d, name) {
                k.vfs.mem_free_if_unused(i);
            }
            Ok(())
        }
        Node::Ovl(o) => {
            copy_up(k, dir.node)?;
            let Node::Ovl(co) = child.node else {
                return Err(Errno::EIO);
            };
            let Vfs { ovl, mem, .. } = &mut k.vfs;
            if let Some(i) = ovl.remove(mem, o, name, co) {
                k.vfs.mem_free_if_unused(i);
            }
            k.vfs.drain_overlay();
            Ok(())
        }
        Node::Bind(d) => {
            let Node::Bind(c) = child.node else {
                return Err(Errno::EIO);
            };
            k.vfs.binds.remove(d, name, c)
        }
        Node::Proc(_) => Err(Errno::EPERM),
        Node::Anon(_) => Err(Errno::ENOTDIR),
    }
}

// ---- Renaming and linking -----------------------------------------------------------

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

fn is_ancestor(k: &Kernel, anc: Node, node: Node) -> bool {
    match (anc, node) {
        (Node::Mem(a), Node::Mem(b)) => k.vfs.mem.is_ancestor(a, b),
        (Node::Ovl(a), Node::Ovl(b)) => k.vfs.ovl.is_ancestor(a, b),
        (Node::Bind(a), Node::Bind(b)) => k.vfs.binds.is_ancestor(a, b),
        _ => false,
    }
}

/// `renameat2`.
#[allow(clippy::too_many_arguments)]
pub fn rename(
    k: &mut Kernel,
    tid: Tid,
    odirfd: i32,
    opath: &[u8],
    ndirfd: i32,
    npath: &[u8],
    flags: u32,
) -> Result<(), Errno> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (flags & RENAME_NOREPLACE != 0 && flags & RENAME_EXCHANGE != 0)
        || (flags & RENAME_WHITEOUT != 0 && flags & RENAME_EXCHANGE != 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_WHITEOUT != 0 {
        return Err(Errno::EINVAL);
    }
    let c = ctx(k, tid);
    let os = start(k, tid, &c, odirfd, opath)?;
    let ns = start(k, tid, &c, ndirfd, npath)?;
    let mut links = 0;
    let op = path::walk_parent(k, &c, os, opath, &mut links)?;
    let mut links = 0;
    let np = path::walk_parent(k, &c, ns, npath, &mut links)?;
    let Last::Norm(oname) = op.last else {
        return Err(Errno::EBUSY);
    };
    let Last::Norm(nname) = np.last else {
        return Err(Errno::EBUSY);
    };
    let src = path::lookup_child_raw(k, &c, op.dir, &oname)?;
    let src_dir = path::is_dir(k, src.node);
    if (op.trailing || np.trailing) && !src_dir {
        return Err(Errno::ENOTDIR);
    }
    if op.dir.mount != np.dir.mount {
        return Err(Errno::EXDEV);
    }
    let tgt = match path::lookup_child_raw(k, &c, np.dir, &nname) {
        Ok(t) => Some(t),
        Err(Errno::ENOENT) => None,
        Err(e) => return Err(e),
    };
    let exchange = flags & RENAME_EXCHANGE != 0;
    if exchange && tgt.is_none() {
        return Err(Errno::ENOENT);
    }
    if flags & RENAME_NOREPLACE != 0 && tgt.is_some() {
        return Err(Errno::EEXIST);
    }
    ro_check(k, op.dir)?;
    if tgt.is_some_and(|t| t.node == src.node) {
        return Ok(());
    }
    may(k, &c.creds, op.dir.node, MAY_WRITE | MAY_EXEC)?;
    may(k, &c.creds, np.dir.node, MAY_WRITE | MAY_EXEC)?;
    sticky_check(k, &c, op.dir.node, src.node)?;
    if let Some(t) = tgt {
        sticky_check(k, &c, np.dir.node, t.node)?;
    }
    let tgt_dir = tgt.is_some_and(|t| path::is_dir(k, t.node));
    if op.dir != np.dir {
        if src_dir {
            may(k, &c.creds, src.node, MAY_WRITE)?;
        }
        if exchange && tgt_dir {
            may(k, &c.creds, tgt.expect("exchange target").node, MAY_WRITE)?;
        }
    }
    if is_mountpoint(k, src) || tgt.is_some_and(|t| is_mountpoint(k, t)) || src == c.root {
        return Err(Errno::EBUSY);
    }
    if src_dir && is_ancestor(k, src.node, np.dir.node) {
        return Err(Errno::EINVAL);
    }
    if let Some(t) = tgt {
        if exchange {
            if tgt_dir && is_ancestor(k, t.node, op.dir.node) {
                return Err(Errno::EINVAL);
            }
        } else {
            if src_dir && !tgt_dir {
                return Err(Errno::ENOTDIR);
            }
            if !src_dir && tgt_dir {
                return Err(Errno::EISDIR);
            }
            if tgt_dir && (is_ancestor(k, t.node, op.dir.node) || !dir_empty(k, t.node)?) {
                return Err(Errno::ENOTEMPTY);
            }
        }
    }
    match (op.dir.node, np.dir.node) {
        (Node::Mem(od), Node::Mem(nd)) => {
            let Node::Mem(si) = src.node else {
                return Err(Errno::EIO);
            };
            let mem = &mut k.vfs.mem;
            if exchange {
                let Some(Node::Mem(ti)) = tgt.map(|t| t.node) else {
                    return Err(Errno::EIO);
                };
                mem.remove_entry(od, &oname);
                mem.remove_entry(nd, &nname);
                mem.add_entry(od, &oname, ti);
                mem.add_entry(nd, &nname, si);
            } else {
                let replaced = if tgt.is_some() {
                    mem.remove_entry(nd, &nname)
                } else {
                    None
                };
                mem.remove_entry(od, &oname);
                mem.add_entry(nd, &nname, si);
                if let Some(r) = replaced {
                    k.vfs.mem_free_if_unused(r);
                }
            }
            Ok(())
        }
        (Node::Ovl(od), Node::Ovl(nd)) => {
            let Node::Ovl(so) = src.node else {
                return Err(Errno::EIO);
            };
            let has_lower_dir = |k: &Kernel, o: u64| {
                k.vfs.ovl.get(o).is_some_and(|n| n.lower.is_some())
                    && k.vfs.ovl.file_type(&k.vfs.mem, o) == libc::S_IFDIR
            };
            if has_lower_dir(k, so) {
                return Err(Errno::EXDEV);
            }
            let to = match tgt.map(|t| t.node) {
                Some(Node::Ovl(t)) => Some(t),
                _ => None,
            };
            if exchange && to.is_some_and(|t| has_lower_dir(k, t)) {
                return Err(Errno::EXDEV);
            }
            copy_up(k, src.node)?;
            copy_up(k, op.dir.node)?;
            copy_up(k, np.dir.node)?;
            if exchange {
                let t = to.ok_or(Errno::EIO)?;
                copy_up(k, Node::Ovl(t))?;
                let Vfs { ovl, mem, .. } = &mut k.vfs;
                ovl.exchange(mem, od, &oname, so, nd, &nname, t);
            } else {
                let Vfs { ovl, mem, .. } = &mut k.vfs;
                if let Some(r) = ovl.rename(mem, od, &oname, so, nd, &nname, to) {
                    k.vfs.mem_free_if_unused(r);
                }
            }
            k.vfs.drain_overlay();
            Ok(())
        }
        (Node::Bind(od), Node::Bind(nd)) => {
            let Node::Bind(so) = src.node else {
                return Err(Errno::EIO);
            };
            let to = match tgt.map(|t| t.node) {
                Some(Node::Bind(t)) => Some(t),
                _ => None,
            };
            k.vfs.binds.rename(od, &oname, so, nd, &nname, to, flags)
        }
        (Node::Proc(_), _) | (_, Node::Proc(_)) => Err(Errno::EPERM),
        _ => Err(Errno::EXDEV),
    }
}

/// `linkat`.
#[allow(clippy::too_many_arguments)]
pub fn link(
    k: &mut Kernel,
    tid: Tid,
    odirfd: i32,
    opath: &[u8],
    ndirfd: i32,
    npath: &[u8],
    flags: i32,
) -> Result<(), Errno> {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let c = ctx(k, tid);
    if opath.is_empty()
        && flags & libc::AT_EMPTY_PATH != 0
        && !perm::capable(&c.creds, caps::CAP_DAC_READ_SEARCH)
    {
        return Err(Errno::ENOENT);
    }
    let follow = if flags & libc::AT_SYMLINK_FOLLOW != 0 {
        0
    } else {
        libc::AT_SYMLINK_NOFOLLOW
    };
    let old = lookup_at(
        k,
        tid,
        odirfd,
        opath,
        follow | (flags & libc::AT_EMPTY_PATH),
    )?;
    let (dir, name) = create_target(k, tid, &c, ndirfd, npath, false)?;
    let (mode, uid, _) = path::attrs(k, old.node).ok_or(Errno::ENOENT)?;
    if mode & libc::S_IFMT == libc::S_IFDIR {
        return Err(Errno::EPERM);
    }
    if old.mount != dir.mount {
        return Err(Errno::EXDEV);
    }
    ro_check(k, dir)?;
    may(k, &c.creds, dir.node, MAY_WRITE | MAY_EXEC)?;
    if path::is_deleted(&k.vfs, old.node) {
        return Err(Errno::ENOENT);
    }
    // fs.protected_hardlinks: only owners link files they cannot use.
    if !perm::owner_or_root(&c.creds, uid) {
        let safe = mode & libc::S_IFMT == libc::S_IFREG
            && mode & libc::S_ISUID == 0
            && (mode & (libc::S_ISGID | libc::S_IXGRP)) != (libc::S_ISGID | libc::S_IXGRP)
            && may(k, &c.creds, old.node, MAY_READ | MAY_WRITE).is_ok();
        if !safe {
            return Err(Errno::EPERM);
        }
    }
    match (old.node, dir.node) {
        (Node::Mem(i), Node::Mem(d)) => {
            k.vfs.mem.add_entry(d, &name, i);
            Ok(())
        }
        (Node::Ovl(_), Node::Ovl(d)) => {
            let up = copy_up(k, old.node)?.ok_or(Errno::EIO)?;
            copy_up(k, dir.node)?;
            let Vfs { ovl, mem, .. } = &mut k.vfs;
            ovl.add_new(mem, d, &name, up);
            Ok(())
        }
        (Node::Bind(o), Node::Bind(d)) => k.vfs.binds.link(o, d, &name),
        (Node::Proc(_), _) | (_, Node::Proc(_)) => Err(Errno::EPERM),
        _ => Err(Errno::EXDEV),
    }
}

// ---- Attributes ---------------------------------------------------------------------

/// `readlinkat`: the target text.
pub fn readlink(k: &mut Kernel, tid: Tid, dirfd: i32, p: &[u8]) -> Result<Vec<u8>, Errno> {
    let loc = if p.is_empty() {
        fd_loc(k, tid, dirfd)?
    } else {
        lookup_at(k, tid, dirfd, p, libc::AT_SYMLINK_NOFOLLOW)?
    };
    if path::file_type(k, loc.node) != libc::S_IFLNK {
        return Err(if p.is_empty() {
            Errno::ENOENT
        } else {
            Errno::EINVAL
        });
    }
    if let Node::Proc(pn) = loc.node {
        return super::proc::readlink_text(k, tid, pn);
    }
    let c = ctx(k, tid);
    match path::readlink(k, &c, loc)? {
        path::Link::Path(t) => Ok(t),
        path::Link::Jump(l, _) => Ok(path::path_of(k, c.root, l)),
    }
}

/// Attributes of a location.
pub fn stat(k: &mut Kernel, loc: Loc) -> Result<Stat, Errno> {
    path::stat(k, loc)
}

/// `faccessat2`: `mode` is `F_OK` or `R_OK|W_OK|X_OK`.
pub fn access(
    k: &mut Kernel,
    tid: Tid,
    dirfd: i32,
    p: &[u8],
    mode: i32,
    flags: i32,
) -> Result<(), Errno> {
    if mode & !7 != 0
        || flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0
    {
        return Err(Errno::EINVAL);
    }
    let loc = lookup_at(k, tid, dirfd, p, flags)?;
    if mode == 0 {
        return Ok(());
    }
    let mut creds = k.task(tid).creds.clone();
    if flags & libc::AT_EACCESS == 0 {
        creds.fsuid = creds.uid;
        creds.fsgid = creds.gid;
    }
    let (m, u, g) = path::attrs(k, loc.node).ok_or(Errno::ENOENT)?;
    if mode & libc::W_OK != 0
        && matches!(
            m & libc::S_IFMT,
            libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK
        )
    {
        ro_check(k, loc)?;
    }
    if mode & libc::X_OK != 0
        && m & libc::S_IFMT == libc::S_IFREG
        && k.vfs.mounts.flags(loc.mount) & MS_NOEXEC != 0
    {
        return Err(Errno::EACCES);
    }
    perm::check(&creds, m, u, g, mode as u32)
}

/// Applies attribute changes (the caller checked permissions).
pub fn setattr(k: &mut Kernel, tid: Tid, loc: Loc, a: SetAttr) -> Result<(), Errno> {
    match loc.node {
        Node::Anon(_) => return Ok(()),
        Node::Proc(_) => return Err(Errno::EPERM),
        _ => {}
    }
    ro_check(k, loc)?;
    if let Node::Bind(b) = loc.node {
        if a.size
            .is_some_and(|s| s > k.rlimit(tid, libc::RLIMIT_FSIZE as usize).0)
        {
            k.send_to_thread(
                tid,
                crate::kernel::signal::SigInfo::new(
                    crate::kernel::signal::SIGXFSZ,
                    crate::kernel::signal::SI_USER,
                ),
            );
            return Err(Errno::EFBIG);
        }
        return k.vfs.binds.setattr(b, &a);
    }
    let inode = copy_up(k, loc.node)?.ok_or(Errno::EPERM)?;
    if let Some(size) = a.size {
        file::set_size(k, tid, inode, size)?;
    }
    let i = k.vfs.mem.get_mut(inode).ok_or(Errno::ENOENT)?;
    let now = Ts::now();
    if let Some(m) = a.mode {
        i.mode = (i.mode & libc::S_IFMT) | (m & 0o7777);
    }
    if let Some(u) = a.uid {
        i.uid = u;
    }
    if let Some(g) = a.gid {
        i.gid = g;
    }
    if let Some(t) = a.atime {
        i.atime = t;
    }
    if let Some(t) = a.mtime {
        i.mtime = t;
    }
    i.ctime = now;
    Ok(())
}

/// `chmod`.
pub fn chmod(k: &mut Kernel, tid: Tid, loc: Loc, mode: u32) -> Result<(), Errno> {
    let creds = k.task(tid).creds.clone();
    let (m, uid, gid) = path::attrs(k, loc.node).ok_or(Errno::ENOENT)?;
    if !perm::owner_or_root(&creds, uid) {
        return Err(Errno::EPERM);
    }
    let mut mode = mode & 0o7777;
    if m & libc::S_IFMT != libc::S_IFDIR
        && !perm::capable(&creds, caps::CAP_FSETID)
        && !perm::in_group(&creds, gid)
    {
        mode &= !libc::S_ISGID;
    }
    setattr(
        k,
        tid,
        loc,
        SetAttr {
            mode: Some(mode),
            ..Default::default()
        },
    )
}

/// `chown` (`u32::MAX` leaves an ID as it is).
pub fn chown(k: &mut Kernel, tid: Tid, loc: Loc, uid: u32, gid: u32) -> Result<(), Errno> {
    let creds = k.task(tid).creds.clone();
    let (m, cur_uid, cur_gid) = path::attrs(k, loc.node).ok_or(Errno::ENOENT)?;
    let new_uid = (uid != u32::MAX).then_some(uid);
    let new_gid = (gid != u32::MAX).then_some(gid);
    if !perm::capable(&creds, caps::CAP_CHOWN) {
        if new_uid.is_some_and(|u| u != cur_uid) {
            return Err(Errno::EPERM);
        }
        if new_gid.is_some_and(|g| g != cur_gid)
            && (creds.fsuid != cur_uid || !perm::in_group(&creds, new_gid.unwrap_or(cur_gid)))
        {
            return Err(Errno::EPERM);
        }
        if (new_uid.is_some() || new_gid.is_some()) && creds.fsuid != cur_uid {
            return Err(Errno::EPERM);
        }
    }
    let mut a = SetAttr {
        uid: new_uid,
        gid: new_gid,
        ..Default::default()
    };
    // A change of owner clears set-user-ID and set-group-ID (with group
    // execute) on non-directories.
    if (new_uid.is_some() || new_gid.is_some()) && m & libc::S_IFMT != libc::S_IFDIR {
        let mut mode = m & 0o7777;
        if mode & (libc::S_ISUID | libc::S_ISGID) != 0 {
            mode &= !libc::S_ISUID;
            if mode & libc::S_IXGRP != 0 {
                mode &= !libc::S_ISGID;
            }
            a.mode = Some(mode);
        }
    }
    setattr(k, tid, loc, a)
}

/// `utimensat` times: `None` means now; `(None, None)` both now.
pub enum TimeSpec {
    Now,
    Omit,
    At(Ts),
}

/// `utimensat`.
pub fn utimes(
    k: &mut Kernel,
    tid: Tid,
    loc: Loc,
    atime: TimeSpec,
    mtime: TimeSpec,
) -> Result<(), Errno> {
    let creds = k.task(tid).creds.clone();
    if matches!((&atime, &mtime), (TimeSpec::Omit, TimeSpec::Omit)) {
        return Ok(());
    }
    let (_, uid, _) = path::attrs(k, loc.node).ok_or(Errno::ENOENT)?;
    let explicit = matches!(atime, TimeSpec::At(_)) || matches!(mtime, TimeSpec::At(_));
    if !perm::owner_or_root(&creds, uid) {
        if explicit {
            return Err(Errno::EPERM);
        }
        may(k, &creds, loc.node, MAY_WRITE).map_err(|_| Errno::EACCES)?;
    }
    let now = Ts::now();
    let pick = |t: TimeSpec| match t {
        TimeSpec::Now => Some(now),
        TimeSpec::Omit => None,
        TimeSpec::At(x) => Some(x),
    };
    setattr(
        k,
        tid,
        loc,
        SetAttr {
            atime: pick(atime),
            mtime: pick(mtime),
            ..Default::default()
        },
    )
}

/// `truncate` by path.
pub fn truncate(k: &mut Kernel, tid: Tid, loc: Loc, size: i64) -> Result<(), Errno> {
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let creds = k.task(tid).creds.clone();
    match path::file_type(k, loc.node) {
        libc::S_IFDIR => return Err(Errno::EISDIR),
        libc::S_IFREG => {}
        _ => return Err(Errno::EINVAL),
    }
    may(k, &creds, loc.node, MAY_WRITE)?;
    setattr(
        k,
        tid,
        loc,
        SetAttr {
            size: Some(size as u64),
            ..Default::default()
        },
    )
}

/// `statfs` of the filesystem holding `loc`.
pub fn statfs(k: &mut Kernel, loc: Loc) -> super::node::StatFs {
    let mut s = super::node::StatFs::default();
    let host = match loc.node {
        Node::Bind(b) => k.vfs.binds.statfs(b).ok(),
        _ => None,
    };
    let k = &*k;
    let fs = k.vfs.mounts.fs_of(loc.mount);
    let kind = fs.map_or(super::mount::FsKind::Tmpfs, |f| f.kind);
    let total = k.vfs.proc.mem_total_kb / 4;
    let used = k.frames.used() / 4096;
    s.f_type = kind.magic();
    s.f_bsize = 4096;
    s.f_frsize = 4096;
    s.f_namelen = 255;
    if !matches!(kind, super::mount::FsKind::Proc) {
        s.f_blocks = total;
        s.f_bfree = total.saturating_sub(used);
        s.f_bavail = s.f_bfree;
        s.f_files = total / 4;
        s.f_ffree = (total / 4).saturating_sub(k.vfs.mem.inodes.len() as u64);
    }
    if let Some(size) = k.vfs.mounts.fs_of(loc.mount).and_then(|f| f.size) {
        s.f_blocks = size / 4096;
        s.f_bfree = s.f_bfree.min(s.f_blocks);
        s.f_bavail = s.f_bfree;
    }
    if let Some(h) = host {
        s.f_type = h.f_type;
        s.f_bsize = h.f_bsize;
        s.f_frsize = h.f_frsize;
        s.f_blocks = h.f_blocks;
        s.f_bfree = h.f_bfree;
        s.f_bavail = h.f_bavail;
        s.f_files = h.f_files;
        s.f_ffree = h.f_ffree;
        s.f_namelen = h.f_namelen;
    }
    let dev = fs.map_or(0, |f| f.dev);
    s.f_fsid = [dev as u32 as i32, (dev >> 32) as i32];
    let flags = k.vfs.mounts.flags(loc.mount);
    let mut f = 0x1000; // ST_RELATIME
    if flags & super::mount::MS_RDONLY != 0 {
        f |= libc::ST_RDONLY;
    }
    if flags & super::mount::MS_NOSUID != 0 {
        f |= libc::ST_NOSUID;
    }
    if flags & MS_NODEV != 0 {
        f |= libc::ST_NODEV;
    }
    if flags & MS_NOEXEC != 0 {
        f |= libc::ST_NOEXEC;
    }
    s.f_flags = f as i64;
    s
}

// ---- Extended attributes ---------------------------------------------------------------

const XATTR_CREATE: i32 = 1;
const XATTR_REPLACE: i32 = 2;

fn xattr_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name.len() > 255 {
        return Err(Errno::ERANGE);
    }
    for p in [&b"user."[..], b"trusted.", b"security.", b"system."] {
        if name.starts_with(p) && name.len() > p.len() {
            return Ok(());
        }
    }
    Err(Errno::EOPNOTSUPP)
}

fn xattr_inode(k: &Kernel, node: Node) -> Result<Option<super::node::InodeId>, Errno> {
    match node {
        Node::Mem(i) => Ok(Some(i)),
        Node::Ovl(o) => Ok(k.vfs.ovl.get(o).ok_or(Errno::ENOENT)?.upper),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// `getxattr`.
pub fn getxattr(k: &mut Kernel, tid: Tid, loc: Loc, name: &[u8]) -> Result<Vec<u8>, Errno> {
    xattr_name(name)?;
    let inode = xattr_inode(k, loc.node)?;
    if name.starts_with(b"trusted.") && !perm::capable(&k.task(tid).creds, caps::CAP_SYS_ADMIN) {
        return Err(Errno::ENODATA);
    }
    if name.starts_with(b"user.") {
        let creds = k.task(tid).creds.clone();
        may(k, &creds, loc.node, MAY_READ)?;
    }
    inode
        .and_then(|i| k.vfs.mem.get(i))
        .and_then(|i| i.xattrs.get(name).cloned())
        .ok_or(Errno::ENODATA)
}

/// `listxattr`: NUL-separated names the caller may see.
pub fn listxattr(k: &mut Kernel, tid: Tid, loc: Loc) -> Result<Vec<u8>, Errno> {
    let inode = match xattr_inode(k, loc.node) {
        Ok(i) => i,
        Err(_) => return Ok(Vec::new()),
    };
    let root = perm::capable(&k.task(tid).creds, caps::CAP_SYS_ADMIN);
    let mut out = Vec::new();
    if let Some(i) = inode.and_then(|i| k.vfs.mem.get(i)) {
        for n in i.xattrs.keys() {
            if n.starts_with(b"trusted.") && !root {
                continue;
            }
            out.extend_from_slice(n);
            out.push(0);
        }
    }
    Ok(out)
}

/// `setxattr` (with `value` `None`: `removexattr`).
pub fn setxattr(
    k: &mut Kernel,
    tid: Tid,
    loc: Loc,
    name: &[u8],
    value: Option<&[u8]>,
    flags: i32,
) -> Result<(), Errno> {
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 || flags == XATTR_CREATE | XATTR_REPLACE {
        return Err(Errno::EINVAL);
    }
    xattr_name(name)?;
    if value.is_some_and(|v| v.len() > 65536) {
        return Err(Errno::E2BIG);
    }
    xattr_inode(k, loc.node)?;
    let creds = k.task(tid).creds.clone();
    let (mode, uid, _) = path::attrs(k, loc.node).ok_or(Errno::ENOENT)?;
    if name.starts_with(b"system.") {
        return Err(Errno::EOPNOTSUPP);
    }
    if name.starts_with(b"trusted.") && !perm::capable(&creds, caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if name.starts_with(b"user.") {
        let t = mode & libc::S_IFMT;
        if t != libc::S_IFREG && t != libc::S_IFDIR {
            return Err(Errno::EPERM);
        }
        if t == libc::S_IFDIR && mode & libc::S_ISVTX != 0 && !perm::owner_or_root(&creds, uid) {
            return Err(Errno::EPERM);
        }
        may(k, &creds, loc.node, MAY_WRITE)?;
    } else if !perm::owner_or_root(&creds, uid) && name.starts_with(b"security.") {
        return Err(Errno::EPERM);
    }
    ro_check(k, loc)?;
    let exists = xattr_inode(k, loc.node)?
        .and_then(|i| k.vfs.mem.get(i))
        .is_some_and(|i| i.xattrs.contains_key(name));
    if value.is_none() && !exists {
        return Err(Errno::ENODATA);
    }
    if flags & XATTR_CREATE != 0 && exists {
        return Err(Errno::EEXIST);
    }
    if flags & XATTR_REPLACE != 0 && !exists {
        return Err(Errno::ENODATA);
    }
    let inode = copy_up(k, loc.node)?.ok_or(Errno::EOPNOTSUPP)?;
    let i = k.vfs.mem.get_mut(inode).ok_or(Errno::ENOENT)?;
    match value {
        Some(v) => {
            i.xattrs.insert(name.to_vec(), v.to_vec());
        }
        None => {
            i.xattrs.remove(name);
        }
    }
    i.ctime = Ts::now();
    Ok(())
}

// ---- Working directory and root ---------------------------------------------------------

/// `getcwd`.
pub fn getcwd(k: &Kernel, tid: Tid) -> Result<Vec<u8>, Errno> {
    let c = ctx(k, tid);
    if path::is_deleted(&k.vfs, c.cwd.node) {
        return Err(Errno::ENOENT);
    }
    Ok(path::path_of(k, c.root, c.cwd))
}

/// Sets the working directory (or, with `root`, the root) of `tid`'s
/// filesystem context to `loc`, a directory it may search.
pub fn set_dir(k: &mut Kernel, tid: Tid, loc: Loc, root: bool) -> Result<(), Errno> {
    let creds = k.task(tid).creds.clone();
    if !path::is_dir(k, loc.node) {
        return Err(Errno::ENOTDIR);
    }
    may(k, &creds, loc.node, MAY_EXEC)?;
    if root && !perm::capable(&creds, caps::CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    let fs = k.task(tid).fs;
    let shown = {
        let c = ctx(k, tid);
        path::path_of(k, c.root, loc)
    };
    k.vfs.node_hold(loc.node);
    let Some(c) = k.vfs.fs_contexts.get_mut(&fs) else {
        k.vfs.node_release(loc.node);
        return Err(Errno::ESRCH);
    };
    let old = if root {
        c.root = String::from_utf8_lossy(&shown).into_owned();
        std::mem::replace(&mut c.root_loc, loc)
    } else {
        c.cwd = String::from_utf8_lossy(&shown).into_owned();
        std::mem::replace(&mut c.cwd_loc, loc)
    };
    k.vfs.node_release(old.node);
    Ok(())
}

/// `memfd_create`: an unnamed in-memory file.
pub fn memfd(
    k: &mut Kernel,
    tid: Tid,
    name: &[u8],
    sealing: bool,
    exec: bool,
) -> Result<FileId, Errno> {
    let c = ctx(k, tid);
    let mount = k.vfs.memfd_mount;
    let fs = k.vfs.mounts.get(mount).map_or(0, |m| m.fs);
    let ino = k.vfs.mounts.alloc_ino(fs);
    let obj = k.objects.create(0);
    let perm = if exec { 0o777 } else { 0o666 };
    let seals = if sealing { 0 } else { libc::F_SEAL_SEAL as u32 };
    let inode = MemInode::new(
        fs,
        ino,
        libc::S_IFREG | perm,
        c.creds.fsuid,
        c.creds.fsgid,
        MemData::File(MemFile {
            obj,
            size: 0,
            seals,
        }),
    );
    let id = k.vfs.mem.insert(inode);
    k.vfs.mem_hold(id);
    let mut shown = b"/memfd:".to_vec();
    shown.extend_from_slice(name);
    let of = OpenFile::new(
        Loc {
            mount,
            node: Node::Mem(id),
        },
        FileKind::Regular,
        libc::O_RDWR | libc::O_LARGEFILE,
        shown,
    );
    Ok(k.vfs.add_file(of))
}
