//! Path resolution: walking names from a starting directory through mounts
//! and symlinks, as Linux's `namei` does.
//!
//! - Each component needs search (execute) permission on its directory.
//! - Symlinks are followed inside the path always, and at the end unless
//!   the caller says not to; more than 40 in one resolution is `ELOOP`.
//! - `..` stays at the task's root, and at a mount's root goes to the
//!   parent of the mountpoint.
//! - A trailing slash requires a directory (and follows a final symlink).
//! - Procfs "magic" links (`/proc/[pid]/fd/N`, `cwd`, `root`) jump to the
//!   object itself rather than to a path.
//!
//! Resolution works on anything that implements [`Ns`]: the kernel (all
//! filesystems, procfs included) or the VFS alone (used at boot and by the
//! loader, where procfs is not reachable).

use super::node::{Loc, Node, Stat};
use super::perm::{self, MAY_EXEC};
use super::{proc, Vfs};
use crate::errno::Errno;
use crate::kernel::task::Creds;
use crate::kernel::{Kernel, Tid};

/// Most symlinks followed in one resolution (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;

/// What path resolution can look at.
pub trait Ns {
    fn vfs(&mut self) -> &mut Vfs;
    fn vfs_ref(&self) -> &Vfs;
    /// The kernel, for procfs; `None` when only the VFS is at hand.
    fn kernel(&self) -> Option<&Kernel>;
}

impl Ns for Kernel {
    fn vfs(&mut self) -> &mut Vfs {
        &mut self.vfs
    }
    fn vfs_ref(&self) -> &Vfs {
        &self.vfs
    }
    fn kernel(&self) -> Option<&Kernel> {
        Some(self)
    }
}

impl Ns for Vfs {
    fn vfs(&mut self) -> &mut Vfs {
        self
    }
    fn vfs_ref(&self) -> &Vfs {
        self
    }
    fn kernel(&self) -> Option<&Kernel> {
        None
    }
}

/// Who resolves, and from where.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub tid: Tid,
    pub creds: Creds,
    pub root: Loc,
    pub cwd: Loc,
    pub umask: u32,
    /// `RESOLVE_*` flags of `openat2`.
    pub resolve: u64,
}

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
pub const RESOLVE_CACHED: u64 = 0x20;

impl Ctx {
    /// The context of task `tid`.
    pub fn of(k: &Kernel, tid: Tid) -> Ctx {
        let t = k.task(tid);
        let fsc = k.vfs.fs_contexts.get(&t.fs);
        let root = k.vfs.root_loc();
        Ctx {
            tid,
            creds: t.creds.clone(),
            root: fsc.map_or(root, |c| c.root_loc),
            cwd: fsc.map_or(root, |c| c.cwd_loc),
            umask: fsc.map_or(0o022, |c| c.umask),
            resolve: 0,
        }
    }
}

/// The final component of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    Norm(Vec<u8>),
    Dot,
    DotDot,
    /// The path was only slashes.
    Root,
}

/// A path resolved up to its final component.
#[derive(Clone, Debug)]
pub struct Parent {
    pub dir: Loc,
    pub last: Last,
    /// The path ended with a slash.
    pub trailing: bool,
}

/// What a symlink leads to.
pub enum Link {
    Path(Vec<u8>),
    /// A procfs magic link: the object itself (and its name, when known).
    Jump(Loc, Option<Vec<u8>>),
}

/// A resolved path: the location, and the directory and name it was found
/// under (for the name shown for open files).
#[derive(Clone, Debug)]
pub struct Found {
    pub loc: Loc,
    pub dir: Option<Loc>,
    pub name: Vec<u8>,
    /// A display path given by a magic link.
    pub shown: Option<Vec<u8>>,
}

impl Found {
    fn at(loc: Loc) -> Found {
        Found {
            loc,
            dir: None,
            name: Vec::new(),
            shown: None,
        }
    }
}

// ---- Node dispatch --------------------------------------------------------

/// Mode, owner and group of a node.
pub fn attrs<N: Ns + ?Sized>(n: &N, node: Node) -> Option<(u32, u32, u32)> {
    let v = n.vfs_ref();
    match node {
        Node::Mem(i) => v.mem.get(i).map(|i| (i.mode, i.uid, i.gid)),
        Node::Ovl(o) => v.ovl.attrs(&v.mem, o),
        Node::Bind(b) => v.binds.attrs(b),
        Node::Proc(p) => n.kernel().and_then(|k| proc::attrs(k, p)),
        Node::Anon(_) => Some((0o600, 0, 0)),
    }
}

/// The `S_IFMT` type of a node (0 if it is gone).
pub fn file_type<N: Ns + ?Sized>(n: &N, node: Node) -> u32 {
    attrs(n, node).map_or(0, |(m, _, _)| m & libc::S_IFMT)
}

pub fn is_dir<N: Ns + ?Sized>(n: &N, node: Node) -> bool {
    file_type(n, node) == libc::S_IFDIR
}

/// Attributes of a node.
pub fn stat<N: Ns + ?Sized>(n: &mut N, loc: Loc) -> Result<Stat, Errno> {
    let dev = n.vfs_ref().mounts.dev_of(loc.mount);
    let mut st = match loc.node {
        Node::Mem(i) => n.vfs_ref().mem.get(i).ok_or(Errno::ENOENT)?.stat(dev),
        Node::Ovl(o) => {
            let v = n.vfs();
            v.ovl.stat(&v.mem, o, dev)?
        }
        Node::Bind(b) => n.vfs().binds.stat(b, dev)?,
        Node::Proc(p) => proc::stat(n.kernel().ok_or(Errno::ENOENT)?, p, dev)?,
        Node::Anon(a) => super::file::anon_stat(n.vfs_ref(), a, dev),
    };
    st.mnt_id = loc.mount;
    Ok(st)
}

/// Looks `name` up in directory `dir` (no permission check here), and
/// enters what is mounted there.
pub fn lookup_child<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    dir: Loc,
    name: &[u8],
) -> Result<Loc, Errno> {
    let l = lookup_child_raw(n, ctx, dir, name)?;
    Ok(follow_mounts(n.vfs_ref(), l))
}

/// Looks `name` up in directory `dir`, staying below any mount there.
pub fn lookup_child_raw<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    dir: Loc,
    name: &[u8],
) -> Result<Loc, Errno> {
    let node = match dir.node {
        Node::Mem(i) => Node::Mem(n.vfs_ref().mem.lookup(i, name).ok_or_else(|| {
            if n.vfs_ref().mem.dir(i).is_some() {
                Errno::ENOENT
            } else {
                Errno::ENOTDIR
            }
        })?),
        Node::Ovl(o) => {
            let v = n.vfs();
            Node::Ovl(v.ovl.lookup(&mut v.mem, o, name)?)
        }
        Node::Bind(b) => Node::Bind(n.vfs().binds.lookup(b, name)?),
        Node::Proc(p) => Node::Proc(proc::lookup(
            n.kernel().ok_or(Errno::ENOENT)?,
            ctx.tid,
            p,
            name,
        )?),
        Node::Anon(_) => return Err(Errno::ENOTDIR),
    };
    Ok(Loc {
        mount: dir.mount,
        node,
    })
}

/// The mount on top of `loc`, repeatedly.
pub fn follow_mounts(v: &Vfs, mut loc: Loc) -> Loc {
    for _ in 0..64 {
        match v.mounts.mounted_at(loc) {
            Some(m) => {
                let root = v.mounts.get(m).map(|x| x.root).unwrap_or(loc.node);
                loc = Loc {
                    mount: m,
                    node: root,
                };
            }
            None => break,
        }
    }
    loc
}

/// The parent of a node inside its filesystem; `None` at the root.
pub fn fs_parent<N: Ns + ?Sized>(n: &N, node: Node) -> Option<(Node, Vec<u8>)> {
    let v = n.vfs_ref();
    match node {
        Node::Mem(i) => {
            let d = v.mem.dir(i)?;
            (d.parent != i).then(|| (Node::Mem(d.parent), d.name.clone()))
        }
        Node::Ovl(o) => {
            let x = v.ovl.get(o)?;
            (o != v.ovl.root).then(|| (Node::Ovl(x.parent), x.name.clone()))
        }
        Node::Bind(b) => v.binds.parent(b).map(|(p, name)| (Node::Bind(p), name)),
        Node::Proc(p) => proc::parent(p).map(|(q, name)| (Node::Proc(q), name)),
        Node::Anon(_) => None,
    }
}

/// `..` of `loc`, as seen from a task whose root is `root`.
pub fn parent_loc<N: Ns + ?Sized>(n: &N, root: Loc, mut loc: Loc) -> Loc {
    for _ in 0..64 {
        if loc == root {
            return loc;
        }
        let v = n.vfs_ref();
        let Some(m) = v.mounts.get(loc.mount) else {
            return loc;
        };
        if loc.node == m.root {
            match m.mountpoint {
                Some(mp) => {
                    loc = mp;
                    continue;
                }
                None => return loc,
            }
        }
        return match fs_parent(n, loc.node) {
            Some((p, _)) => Loc {
                mount: loc.mount,
                node: p,
            },
            None => loc,
        };
    }
    loc
}

/// Where a symlink leads.
pub fn readlink<N: Ns + ?Sized>(n: &mut N, ctx: &Ctx, loc: Loc) -> Result<Link, Errno> {
    match loc.node {
        Node::Mem(i) => match n.vfs_ref().mem.get(i).map(|i| &i.data) {
            Some(super::mem::MemData::Symlink(t)) => Ok(Link::Path(t.clone())),
            Some(_) => Err(Errno::EINVAL),
            None => Err(Errno::ENOENT),
        },
        Node::Ovl(o) => {
            let v = n.vfs();
            Ok(Link::Path(v.ovl.readlink(&v.mem, o)?))
        }
        Node::Bind(b) => Ok(Link::Path(n.vfs().binds.readlink(b)?)),
        Node::Proc(p) => proc::readlink(n.kernel().ok_or(Errno::ENOENT)?, ctx.tid, p),
        Node::Anon(_) => Err(Errno::EINVAL),
    }
}

// ---- Walking ----------------------------------------------------------------

fn search_ok<N: Ns + ?Sized>(n: &N, ctx: &Ctx, dir: Loc) -> Result<(), Errno> {
    let (mode, uid, gid) = attrs(n, dir.node).ok_or(Errno::ENOENT)?;
    if mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&ctx.creds, mode, uid, gid, MAY_EXEC)
}

/// Splits a path into components, noting a trailing slash.
fn components(path: &[u8]) -> (Vec<&[u8]>, bool) {
    let comps: Vec<&[u8]> = path
        .split(|&c| c == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    let trailing = path.len() > 1 && path.ends_with(b"/") && !comps.is_empty();
    (comps, trailing)
}

/// Resolves every component but the last.
pub fn walk_parent<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    start: Loc,
    path: &[u8],
    links: &mut u32,
) -> Result<Parent, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path[0] == b'/' && ctx.resolve & RESOLVE_BENEATH != 0 {
        return Err(Errno::EXDEV);
    }
    let mut cur = if path[0] == b'/' { ctx.root } else { start };
    let (comps, trailing) = components(path);
    let Some((&last, init)) = comps.split_last() else {
        return Ok(Parent {
            dir: cur,
            last: Last::Root,
            trailing: false,
        });
    };
    for &c in init {
        search_ok(n, ctx, cur)?;
        match c {
            b"." => {}
            b".." => cur = dotdot(n, ctx, cur)?,
            name => {
                if name.len() > 255 {
                    return Err(Errno::ENAMETOOLONG);
                }
                let child = lookup_child(n, ctx, cur, name)?;
                cur = if file_type(n, child.node) == libc::S_IFLNK {
                    follow_link(n, ctx, cur, child, links)?.loc
                } else {
                    child
                };
            }
        }
    }
    search_ok(n, ctx, cur)?;
    let last = match last {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        name => {
            if name.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            Last::Norm(name.to_vec())
        }
    };
    Ok(Parent {
        dir: cur,
        last,
        trailing,
    })
}

/// `..`, which must not leave the root under `RESOLVE_BENEATH`.
fn dotdot<N: Ns + ?Sized>(n: &N, ctx: &Ctx, cur: Loc) -> Result<Loc, Errno> {
    if cur == ctx.root && ctx.resolve & RESOLVE_BENEATH != 0 {
        return Err(Errno::EXDEV);
    }
    Ok(parent_loc(n, ctx.root, cur))
}

/// Follows the symlink `link` found in `dir`, fully.
pub fn follow_link<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    dir: Loc,
    link: Loc,
    links: &mut u32,
) -> Result<Found, Errno> {
    *links += 1;
    if *links > MAX_SYMLINKS || ctx.resolve & RESOLVE_NO_SYMLINKS != 0 {
        return Err(Errno::ELOOP);
    }
    match readlink(n, ctx, link)? {
        Link::Jump(l, shown) => {
            if ctx.resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 {
                return Err(Errno::ELOOP);
            }
            let mut f = Found::at(l);
            f.shown = shown;
            Ok(f)
        }
        Link::Path(t) => {
            if t.is_empty() {
                return Err(Errno::ENOENT);
            }
            resolve_in(n, ctx, dir, &t, true, links)
        }
    }
}

fn resolve_in<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    start: Loc,
    path: &[u8],
    follow: bool,
    links: &mut u32,
) -> Result<Found, Errno> {
    let p = walk_parent(n, ctx, start, path, links)?;
    finish(n, ctx, p, follow, links)
}

/// Resolves the final component of a walked path.
pub fn finish<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    p: Parent,
    follow: bool,
    links: &mut u32,
) -> Result<Found, Errno> {
    let found = match p.last {
        Last::Root | Last::Dot => Found::at(p.dir),
        Last::DotDot => Found::at(dotdot(n, ctx, p.dir)?),
        Last::Norm(name) => {
            let child = lookup_child(n, ctx, p.dir, &name)?;
            if (follow || p.trailing) && file_type(n, child.node) == libc::S_IFLNK {
                follow_link(n, ctx, p.dir, child, links)?
            } else {
                Found {
                    loc: child,
                    dir: Some(p.dir),
                    name,
                    shown: None,
                }
            }
        }
    };
    if p.trailing && !is_dir(n, found.loc.node) {
        return Err(Errno::ENOTDIR);
    }
    Ok(found)
}

/// Resolves `path` from `start` (absolute paths from the context's root).
pub fn resolve<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    start: Loc,
    path: &[u8],
    follow: bool,
) -> Result<Loc, Errno> {
    resolve_found(n, ctx, start, path, follow).map(|f| f.loc)
}

/// Like [`resolve`], keeping where the final name was found.
pub fn resolve_found<N: Ns + ?Sized>(
    n: &mut N,
    ctx: &Ctx,
    start: Loc,
    path: &[u8],
    follow: bool,
) -> Result<Found, Errno> {
    let mut links = 0;
    resolve_in(n, ctx, start, path, follow, &mut links)
}

/// The path shown for what `f` found, from the root of everything.
pub fn shown_path<N: Ns + ?Sized>(n: &N, f: &Found) -> Vec<u8> {
    if let Some(s) = &f.shown {
        return s.clone();
    }
    let root = n.vfs_ref().root_loc();
    match f.dir {
        Some(d) if !is_dir(n, f.loc.node) => {
            let mut p = path_of(n, root, d);
            if p.last() != Some(&b'/') {
                p.push(b'/');
            }
            p.extend_from_slice(&f.name);
            p
        }
        _ => path_of(n, root, f.loc),
    }
}

/// The path of `loc` as seen from `root`, if it is reachable from there.
pub fn path_of<N: Ns + ?Sized>(n: &N, root: Loc, loc: Loc) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut cur = loc;
    let mut reachable = false;
    for _ in 0..4096 {
        if cur == root {
            reachable = true;
            break;
        }
        let v = n.vfs_ref();
        let Some(m) = v.mounts.get(cur.mount) else {
            break;
        };
        if cur.node == m.root {
            match m.mountpoint {
                Some(mp) => {
                    cur = mp;
                    continue;
                }
                None => {
                    reachable = cur.mount == v.mounts.root;
                    break;
                }
            }
        }
        match fs_parent(n, cur.node) {
            Some((p, name)) => {
                parts.push(name);
                cur = Loc {
                    mount: cur.mount,
                    node: p,
                };
            }
            None => break,
        }
    }
    let mut out = Vec::new();
    if !reachable {
        out.extend_from_slice(b"(unreachable)");
    }
    for p in parts.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() || (!reachable && parts.is_empty()) {
        out.push(b'/');
    }
    out
}

/// True if the node was removed from its directory.
pub fn is_deleted(v: &Vfs, node: Node) -> bool {
    match node {
        Node::Mem(i) => v.mem.get(i).is_none_or(|i| i.nlink == 0),
        Node::Ovl(o) => v.ovl.get(o).is_none_or(|x| x.deleted),
        Node::Bind(b) => v.binds.is_deleted(b),
        _ => false,
    }
}
