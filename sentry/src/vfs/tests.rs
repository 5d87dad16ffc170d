//! Tests of the VFS on a booted kernel (its init never runs) whose root is
//! a host directory made for the test: path resolution, the overlay's
//! copy-up and whiteouts, and pipes.

use super::file::{self, FileKind};
use super::ops;
use super::path;
use crate::config::Config;
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use std::path::{Path, PathBuf};

/// A host directory removed when dropped.
struct HostDir(PathBuf);

impl HostDir {
    fn new(name: &str) -> HostDir {
        let p = std::env::temp_dir().join(format!("vfs-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        HostDir(p)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A kernel whose root is `root`, and the TID of its init (as root). The
/// guard keeps other tests from booting a kernel meanwhile.
fn kernel(root: &Path) -> (Kernel, Tid, std::sync::MutexGuard<'static, ()>) {
    let guard = crate::sandbox::TEST_BOOT_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let cfg = Config {
        argv: vec!["/bin/true".into()],
        ..Default::default()
    };
    let mut k = crate::sandbox::boot(&cfg).expect("boot /bin/true");
    let tid = k.init;
    let cfg = Config {
        root: root.to_path_buf(),
        ..cfg
    };
    k.vfs = super::Vfs::new(&cfg).expect("vfs on the test root");
    let fs = k.vfs.new_fs("/");
    let fdt = k.vfs.new_fdtable_with_stdio();
    let t = k.task_mut(tid);
    t.fs = fs;
    t.fdtable = fdt;
    (k, tid, guard)
}

fn open(k: &mut Kernel, tid: Tid, p: &str, flags: i32) -> Result<u64, Errno> {
    match ops::open(k, tid, libc::AT_FDCWD, p.as_bytes(), flags, 0o644, 0) {
        Ok(f) => Ok(f),
        Err(SysErr::Errno(e)) => Err(e),
        Err(e) => panic!("open {p}: {e:?}"),
    }
}

fn read_all(k: &mut Kernel, tid: Tid, p: &str) -> Result<Vec<u8>, Errno> {
    let f = open(k, tid, p, libc::O_RDONLY)?;
    let r = match file::read(k, tid, f, 1 << 20, None) {
        Ok(d) => Ok(d),
        Err(SysErr::Errno(e)) => Err(e),
        Err(e) => panic!("read {p}: {e:?}"),
    };
    k.vfs.file_release(f);
    r
}

fn write_file(k: &mut Kernel, tid: Tid, p: &str, data: &[u8], flags: i32) -> Result<(), Errno> {
    let f = open(k, tid, p, libc::O_WRONLY | flags)?;
    let r = file::write(k, tid, f, data, None);
    k.vfs.file_release(f);
    match r {
        Ok(_) => Ok(()),
        Err(SysErr::Errno(e)) => Err(e),
        Err(e) => panic!("write {p}: {e:?}"),
    }
}

fn stat(k: &mut Kernel, tid: Tid, p: &str, flags: i32) -> Result<super::node::Stat, Errno> {
    let loc = ops::lookup_at(k, tid, libc::AT_FDCWD, p.as_bytes(), flags)?;
    ops::stat(k, loc)
}

fn list(k: &mut Kernel, tid: Tid, p: &str) -> Vec<String> {
    let f = open(k, tid, p, libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
    let buf = file::getdents(k, f, 1 << 16, false).unwrap();
    k.vfs.file_release(f);
    let mut names = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        let name = &buf[off + 19..off + reclen];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        let n = String::from_utf8_lossy(name).into_owned();
        if n != "." && n != ".." {
            names.push(n);
        }
        off += reclen;
    }
    names.sort();
    names
}

fn lower_tree(name: &str) -> HostDir {
    let d = HostDir::new(name);
    std::fs::create_dir_all(d.path("etc/conf.d")).unwrap();
    std::fs::create_dir_all(d.path("usr/lib")).unwrap();
    std::fs::write(d.path("etc/hosts"), b"127.0.0.1 localhost\n").unwrap();
    std::fs::write(d.path("etc/conf.d/a"), b"a").unwrap();
    std::fs::write(d.path("etc/conf.d/b"), b"b").unwrap();
    std::fs::write(d.path("usr/lib/libx.so.1"), b"lib").unwrap();
    std::os::unix::fs::symlink("libx.so.1", d.path("usr/lib/libx.so")).unwrap();
    std::os::unix::fs::symlink("usr/lib", d.path("lib")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/../../etc", d.path("abs")).unwrap();
    std::os::unix::fs::symlink("loop2", d.path("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", d.path("loop2")).unwrap();
    d
}

#[test]
fn resolution_follows_links_and_dotdot() {
    let d = lower_tree("resolve");
    let (mut k, tid, _g) = kernel(&d.0);
    assert_eq!(read_all(&mut k, tid, "/lib/libx.so").unwrap(), b"lib");
    assert_eq!(
        read_all(&mut k, tid, "/abs/hosts").unwrap(),
        b"127.0.0.1 localhost\n"
    );
    assert_eq!(
        read_all(&mut k, tid, "/../../etc/./conf.d/../hosts")
            .unwrap()
            .len(),
        20
    );
    assert_eq!(read_all(&mut k, tid, "/loop1"), Err(Errno::ELOOP));
    assert_eq!(read_all(&mut k, tid, "/etc/hosts/"), Err(Errno::ENOTDIR));
    assert_eq!(read_all(&mut k, tid, "/etc/hosts/x"), Err(Errno::ENOTDIR));
    assert_eq!(read_all(&mut k, tid, "/etc/none"), Err(Errno::ENOENT));
    assert_eq!(read_all(&mut k, tid, ""), Err(Errno::ENOENT));
    // O_NOFOLLOW on a final symlink; O_PATH|O_NOFOLLOW opens the link.
    assert_eq!(
        open(&mut k, tid, "/lib", libc::O_RDONLY | libc::O_NOFOLLOW),
        Err(Errno::ELOOP)
    );
    assert!(open(&mut k, tid, "/lib", libc::O_PATH | libc::O_NOFOLLOW).is_ok());
    // A trailing slash follows a final symlink to a directory.
    assert!(open(
        &mut k,
        tid,
        "/lib/",
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_DIRECTORY
    )
    .is_ok());
    assert_eq!(
        open(
            &mut k,
            tid,
            "/etc/hosts",
            libc::O_RDONLY | libc::O_DIRECTORY
        ),
        Err(Errno::ENOTDIR)
    );
    // lstat sees the link, stat its target.
    let l = stat(&mut k, tid, "/lib", libc::AT_SYMLINK_NOFOLLOW).unwrap();
    assert_eq!(l.file_type(), libc::S_IFLNK);
    assert!(stat(&mut k, tid, "/lib", 0).unwrap().is_dir());
    // `..` of a mount's root is the mountpoint's parent.
    let root = stat(&mut k, tid, "/", 0).unwrap();
    let up = stat(&mut k, tid, "/tmp/..", 0).unwrap();
    assert_eq!((root.dev, root.ino), (up.dev, up.ino));
    assert_ne!(stat(&mut k, tid, "/tmp", 0).unwrap().dev, root.dev);
    // A name longer than NAME_MAX.
    let long = format!("/etc/{}", "x".repeat(256));
    assert_eq!(read_all(&mut k, tid, &long), Err(Errno::ENAMETOOLONG));
}

#[test]
fn permissions_follow_credentials() {
    let d = lower_tree("perm");
    std::fs::create_dir_all(d.path("secret")).unwrap();
    std::fs::write(d.path("secret/key"), b"k").unwrap();
    std::fs::write(d.path("etc/shadow"), b"s").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.path("secret"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(d.path("etc/shadow"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let (mut k, tid, _g) = kernel(&d.0);
    // Root reads through anything.
    assert!(read_all(&mut k, tid, "/secret/key").is_ok());
    k.task_mut(tid).creds = crate::kernel::task::Creds::new(1000, 1000, vec![]);
    assert_eq!(read_all(&mut k, tid, "/secret/key"), Err(Errno::EACCES));
    assert_eq!(read_all(&mut k, tid, "/etc/shadow"), Err(Errno::EACCES));
    assert!(read_all(&mut k, tid, "/etc/hosts").is_ok());
    assert_eq!(
        write_file(&mut k, tid, "/etc/hosts", b"x", 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        write_file(&mut k, tid, "/etc/new", b"x", libc::O_CREAT),
        Err(Errno::EACCES)
    );
    // /tmp is sticky and world-writable.
    assert!(write_file(&mut k, tid, "/tmp/mine", b"x", libc::O_CREAT).is_ok());
    let st = stat(&mut k, tid, "/tmp/mine", 0).unwrap();
    assert_eq!((st.uid, st.gid, st.mode & 0o777), (1000, 1000, 0o644));
}

#[test]
fn overlay_copy_up_keeps_host_unchanged() {
    let d = lower_tree("copyup");
    let (mut k, tid, _g) = kernel(&d.0);
    let before = stat(&mut k, tid, "/etc/hosts", 0).unwrap();
    write_file(&mut k, tid, "/etc/hosts", b"changed\n", libc::O_TRUNC).unwrap();
    assert_eq!(read_all(&mut k, tid, "/etc/hosts").unwrap(), b"changed\n");
    assert_eq!(
        std::fs::read(d.path("etc/hosts")).unwrap(),
        b"127.0.0.1 localhost\n"
    );
    let after = stat(&mut k, tid, "/etc/hosts", 0).unwrap();
    assert_eq!(before.ino, after.ino, "copy-up keeps the inode number");
    // Appending copies up the data first.
    write_file(&mut k, tid, "/usr/lib/libx.so.1", b"+", libc::O_APPEND).unwrap();
    assert_eq!(
        read_all(&mut k, tid, "/usr/lib/libx.so.1").unwrap(),
        b"lib+"
    );
    // New files and directories live in the sandbox only.
    ops::mkdir(&mut k, tid, libc::AT_FDCWD, b"/etc/new.d", 0o755).unwrap();
    write_file(&mut k, tid, "/etc/new.d/f", b"n", libc::O_CREAT).unwrap();
    assert!(!d.path("etc/new.d").exists());
    assert_eq!(list(&mut k, tid, "/etc"), ["conf.d", "hosts", "new.d"]);
    // Metadata changes copy up too.
    let loc = ops::lookup_at(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d/a", 0).unwrap();
    ops::chmod(&mut k, tid, loc, 0o600).unwrap();
    assert_eq!(
        stat(&mut k, tid, "/etc/conf.d/a", 0).unwrap().mode & 0o777,
        0o600
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(d.path("etc/conf.d/a"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
}

#[test]
fn overlay_whiteouts_and_opaque_directories() {
    let d = lower_tree("whiteout");
    let (mut k, tid, _g) = kernel(&d.0);
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d/a", false).unwrap();
    assert_eq!(read_all(&mut k, tid, "/etc/conf.d/a"), Err(Errno::ENOENT));
    assert_eq!(list(&mut k, tid, "/etc/conf.d"), ["b"]);
    assert!(d.path("etc/conf.d/a").exists());
    // A merged directory with lower entries left is not empty.
    assert_eq!(
        ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d", true),
        Err(Errno::ENOTEMPTY)
    );
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d/b", false).unwrap();
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d", true).unwrap();
    assert_eq!(list(&mut k, tid, "/etc"), ["hosts"]);
    // Made again, the directory is opaque: the lower entries stay hidden.
    ops::mkdir(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d", 0o755).unwrap();
    assert!(list(&mut k, tid, "/etc/conf.d").is_empty());
    assert_eq!(read_all(&mut k, tid, "/etc/conf.d/b"), Err(Errno::ENOENT));
    // A file made over a whiteout is a new file.
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/hosts", false).unwrap();
    write_file(
        &mut k,
        tid,
        "/etc/hosts",
        b"new",
        libc::O_CREAT | libc::O_EXCL,
    )
    .unwrap();
    assert_eq!(read_all(&mut k, tid, "/etc/hosts").unwrap(), b"new");
    assert!(d.path("etc/hosts").exists());
}

#[test]
fn overlay_renames_and_links() {
    let d = lower_tree("rename");
    let (mut k, tid, _g) = kernel(&d.0);
    // A lower file moves; its old name is whited out.
    ops::rename(
        &mut k,
        tid,
        libc::AT_FDCWD,
        b"/etc/hosts",
        libc::AT_FDCWD,
        b"/etc/hosts.old",
        0,
    )
    .unwrap();
    assert_eq!(read_all(&mut k, tid, "/etc/hosts"), Err(Errno::ENOENT));
    assert_eq!(read_all(&mut k, tid, "/etc/hosts.old").unwrap().len(), 20);
    assert!(d.path("etc/hosts").exists());
    // A directory with lower files cannot be renamed (mv copies instead).
    assert_eq!(
        ops::rename(
            &mut k,
            tid,
            libc::AT_FDCWD,
            b"/etc/conf.d",
            libc::AT_FDCWD,
            b"/etc/c2",
            0
        ),
        Err(Errno::EXDEV)
    );
    // A sandbox-only directory can.
    ops::mkdir(&mut k, tid, libc::AT_FDCWD, b"/etc/mine", 0o755).unwrap();
    write_file(&mut k, tid, "/etc/mine/f", b"1", libc::O_CREAT).unwrap();
    ops::rename(
        &mut k,
        tid,
        libc::AT_FDCWD,
        b"/etc/mine",
        libc::AT_FDCWD,
        b"/usr/mine",
        0,
    )
    .unwrap();
    assert_eq!(read_all(&mut k, tid, "/usr/mine/f").unwrap(), b"1");
    // Into its own subdirectory: EINVAL.
    ops::mkdir(&mut k, tid, libc::AT_FDCWD, b"/usr/mine/sub", 0o755).unwrap();
    assert_eq!(
        ops::rename(
            &mut k,
            tid,
            libc::AT_FDCWD,
            b"/usr/mine",
            libc::AT_FDCWD,
            b"/usr/mine/sub/x",
            0
        ),
        Err(Errno::EINVAL)
    );
    // NOREPLACE and EXCHANGE.
    write_file(&mut k, tid, "/tmp/a", b"A", libc::O_CREAT).unwrap();
    write_file(&mut k, tid, "/tmp/b", b"B", libc::O_CREAT).unwrap();
    assert_eq!(
        ops::rename(
            &mut k,
            tid,
            libc::AT_FDCWD,
            b"/tmp/a",
            libc::AT_FDCWD,
            b"/tmp/b",
            ops::RENAME_NOREPLACE
        ),
        Err(Errno::EEXIST)
    );
    ops::rename(
        &mut k,
        tid,
        libc::AT_FDCWD,
        b"/tmp/a",
        libc::AT_FDCWD,
        b"/tmp/b",
        ops::RENAME_EXCHANGE,
    )
    .unwrap();
    assert_eq!(read_all(&mut k, tid, "/tmp/a").unwrap(), b"B");
    // Across mounts: EXDEV.
    assert_eq!(
        ops::rename(
            &mut k,
            tid,
            libc::AT_FDCWD,
            b"/tmp/a",
            libc::AT_FDCWD,
            b"/etc/a",
            0
        ),
        Err(Errno::EXDEV)
    );
    // A hard link to a lower file shares the copied-up inode.
    ops::link(
        &mut k,
        tid,
        libc::AT_FDCWD,
        b"/etc/conf.d/a",
        libc::AT_FDCWD,
        b"/etc/a2",
        0,
    )
    .unwrap();
    write_file(&mut k, tid, "/etc/a2", b"A", libc::O_APPEND).unwrap();
    assert_eq!(read_all(&mut k, tid, "/etc/conf.d/a").unwrap(), b"aA");
    assert_eq!(stat(&mut k, tid, "/etc/a2", 0).unwrap().nlink, 2);
}

#[test]
fn open_file_survives_unlink_and_sees_copy_up() {
    let d = lower_tree("unlinked");
    let (mut k, tid, _g) = kernel(&d.0);
    let r = open(&mut k, tid, "/etc/conf.d/b", libc::O_RDONLY).unwrap();
    write_file(&mut k, tid, "/etc/conf.d/b", b"B2", libc::O_TRUNC).unwrap();
    // The earlier read-only description reads the new data.
    let got = file::read(&mut k, tid, r, 10, Some(0)).ok().unwrap();
    assert_eq!(got, b"B2");
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d/b", false).unwrap();
    let got = file::read(&mut k, tid, r, 10, Some(0)).ok().unwrap();
    assert_eq!(got, b"B2");
    k.vfs.file_release(r);
    // tmpfs: data lives until the last reference goes.
    let w = open(&mut k, tid, "/tmp/gone", libc::O_RDWR | libc::O_CREAT).unwrap();
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/tmp/gone", false).unwrap();
    assert!(file::write(&mut k, tid, w, b"still", None).is_ok());
    assert_eq!(
        file::read(&mut k, tid, w, 10, Some(0)).ok().unwrap(),
        b"still"
    );
    assert!(k.vfs.file_path(w).ends_with("/tmp/gone"));
    k.vfs.file_release(w);
    super::reap(&mut k);
}

#[test]
fn pipes_block_eof_and_epipe() {
    let d = lower_tree("pipes");
    let (mut k, tid, _g) = kernel(&d.0);
    let q = k.new_id();
    let id = k.new_id();
    let mut p = super::pipe::Pipe::new(q, id, false);
    p.readers = 1;
    p.writers = 1;
    k.vfs.pipes.insert(id, p);
    let loc = super::node::Loc {
        mount: k.vfs.mounts.pipe,
        node: super::node::Node::Anon(super::node::AnonNode::Pipe(id)),
    };
    let r = k.vfs.add_file(super::file::OpenFile::new(
        loc,
        FileKind::Pipe { pipe: id },
        libc::O_RDONLY,
        vec![],
    ));
    let w = k.vfs.add_file(super::file::OpenFile::new(
        loc,
        FileKind::Pipe { pipe: id },
        libc::O_WRONLY,
        vec![],
    ));
    // Empty: a reader blocks on the pipe's queue.
    match file::read(&mut k, tid, r, 10, None) {
        Err(SysErr::Block(b)) => assert_eq!(b.queues, vec![q]),
        other => panic!("expected a block, got {other:?}"),
    }
    assert_eq!(file::write(&mut k, tid, w, b"abc", None).ok(), Some(3));
    assert_eq!(file::read(&mut k, tid, r, 10, None).ok().unwrap(), b"abc");
    // Writer gone: end of file.
    k.vfs.file_release(w);
    assert_eq!(file::read(&mut k, tid, r, 10, None).ok().unwrap(), b"");
    // Reader gone: EPIPE (and SIGPIPE) for a new writer.
    let w2 = k.vfs.add_file(super::file::OpenFile::new(
        loc,
        FileKind::Pipe { pipe: id },
        libc::O_WRONLY,
        vec![],
    ));
    k.vfs.pipes.get_mut(&id).unwrap().writers += 1;
    k.vfs.file_release(r);
    // (The SIGPIPE that goes with it is ignored by init, as on Linux.)
    assert!(matches!(
        file::write(&mut k, tid, w2, b"x", None),
        Err(SysErr::Errno(Errno::EPIPE))
    ));
    k.vfs.file_release(w2);
    assert!(!k.vfs.pipes.contains_key(&id));
}

#[test]
fn paths_of_directories_follow_renames() {
    let d = lower_tree("cwd");
    let (mut k, tid, _g) = kernel(&d.0);
    ops::mkdir(&mut k, tid, libc::AT_FDCWD, b"/tmp/x", 0o755).unwrap();
    let loc = ops::lookup_at(&mut k, tid, libc::AT_FDCWD, b"/tmp/x", 0).unwrap();
    ops::set_dir(&mut k, tid, loc, false).unwrap();
    assert_eq!(ops::getcwd(&k, tid).unwrap(), b"/tmp/x");
    ops::rename(
        &mut k,
        tid,
        libc::AT_FDCWD,
        b"/tmp/x",
        libc::AT_FDCWD,
        b"/tmp/y",
        0,
    )
    .unwrap();
    assert_eq!(ops::getcwd(&k, tid).unwrap(), b"/tmp/y");
    // Relative paths resolve from the working directory.
    write_file(&mut k, tid, "f", b"1", libc::O_CREAT).unwrap();
    assert_eq!(read_all(&mut k, tid, "/tmp/y/f").unwrap(), b"1");
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"f", false).unwrap();
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/tmp/y", true).unwrap();
    assert_eq!(ops::getcwd(&k, tid), Err(Errno::ENOENT));
    let c = path::Ctx::of(&k, tid);
    assert!(path::is_deleted(&k.vfs, c.cwd.node));
}

#[test]
fn readonly_root_refuses_writes() {
    let d = lower_tree("ro");
    let (mut k, tid, _g) = kernel(&d.0);
    let cfg = Config {
        root: d.0.clone(),
        readonly_root: true,
        ..Default::default()
    };
    k.vfs = super::Vfs::new(&cfg).unwrap();
    let fs = k.vfs.new_fs("/");
    k.task_mut(tid).fs = fs;
    assert_eq!(
        write_file(&mut k, tid, "/etc/hosts", b"x", 0),
        Err(Errno::EROFS)
    );
    assert_eq!(
        ops::mkdir(&mut k, tid, libc::AT_FDCWD, b"/etc/d", 0o755),
        Err(Errno::EROFS)
    );
    assert_eq!(
        ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/hosts", false),
        Err(Errno::EROFS)
    );
    // tmpfs mounts stay writable.
    assert!(write_file(&mut k, tid, "/tmp/ok", b"x", libc::O_CREAT).is_ok());
}

#[test]
fn kernel_state_round_trips_with_files() {
    let d = lower_tree("state");
    let (mut k, tid, _g) = kernel(&d.0);
    write_file(&mut k, tid, "/etc/hosts", b"mine", libc::O_TRUNC).unwrap();
    ops::unlink(&mut k, tid, libc::AT_FDCWD, b"/etc/conf.d/a", false).unwrap();
    let img = crate::state::encode(&k).expect("encode");
    let back = crate::state::decode(&img).expect("decode");
    assert_eq!(back.vfs.mem.inodes.len(), k.vfs.mem.inodes.len());
    assert_eq!(back.vfs.ovl.nodes.len(), k.vfs.ovl.nodes.len());
    assert_eq!(back.vfs.files.len(), k.vfs.files.len());
}
