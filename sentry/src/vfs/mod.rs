//! Files: open file descriptions, descriptor tables, filesystem contexts.
//!
//! This first version serves files straight from the host root directory
//! (read-only) plus the caller's stdio; the overlay, tmpfs, procfs, devfs,
//! pipes and the rest build on the same tables.

use crate::config::Config;
use crate::errno::Errno;
use crate::memory::MemObjectId;
use crate::mm::FileSource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Identifies an open file description.
pub type FileId = u64;

/// What an open file description refers to.
#[derive(Debug, Serialize, Deserialize)]
pub enum FileKind {
    /// A file of the host root, by path. The descriptor is reopened on
    /// restore.
    Host {
        #[serde(skip)]
        fd: Option<OwnedFd>,
    },
    /// One of the caller's stdio descriptors (0, 1, 2).
    Stdio { host_fd: RawFd },
    /// A host descriptor handed to the sandbox for a process's stdio (an
    /// `exec`'s pipes or terminal); read and written as a stream. Not
    /// restorable: the process that gave it is gone after a restore.
    Donated {
        #[serde(skip)]
        fd: Option<OwnedFd>,
    },
}

/// An open file description.
#[derive(Debug, Serialize, Deserialize)]
pub struct OpenFile {
    pub path: String,
    pub kind: FileKind,
    /// `O_*` status flags.
    pub flags: i32,
    pub offset: u64,
    pub refs: u32,
    pub dev_ino: (u64, u64),
}

/// A descriptor table.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FdTable {
    /// fd -> (file, close-on-exec).
    pub fds: BTreeMap<i32, (FileId, bool)>,
    pub refs: u32,
}

/// A filesystem context: working directory, root, umask.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FsContext {
    pub cwd: String,
    pub root: String,
    pub umask: u32,
    pub refs: u32,
}

/// Failures setting up the file system of a sandbox.
#[derive(Debug, thiserror::Error)]
pub enum VfsError {
    #[error("cannot open the root directory {path}: {err}")]
    Root {
        path: String,
        err: nix::errno::Errno,
    },
}

/// All files of a sandbox.
#[derive(Debug, Serialize, Deserialize)]
pub struct Vfs {
    pub files: BTreeMap<FileId, OpenFile>,
    pub fdtables: BTreeMap<u64, FdTable>,
    pub fs_contexts: BTreeMap<u64, FsContext>,
    next: u64,
    #[serde(skip)]
    root_fd: Option<OwnedFd>,
}

fn host_open_beneath(root: RawFd, path: &str, flags: i32) -> Result<OwnedFd, Errno> {
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    const RESOLVE_IN_ROOT: u64 = 0x10;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    let c = std::ffi::CString::new(path.trim_start_matches('/')).map_err(|_| Errno::EINVAL)?;
    let rel = if c.as_bytes().is_empty() {
        c"."
    } else {
        c.as_c_str()
    };
    // SAFETY: openat2 with a valid NUL-terminated path and open_how struct.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root,
            rel.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(Errno::last_host());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Joins `path` to `cwd` and normalizes `.` and `..` lexically.
pub fn resolve_path(cwd: &str, path: &[u8]) -> String {
    let p = String::from_utf8_lossy(path);
    let full = if p.starts_with('/') {
        p.into_owned()
    } else {
        format!("{cwd}/{p}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    format!("/{}", parts.join("/"))
}

impl Vfs {
    pub fn new(cfg: &Config) -> Result<Vfs, VfsError> {
        let root =
            std::ffi::CString::new(cfg.root.as_os_str().as_encoded_bytes()).map_err(|_| {
                VfsError::Root {
                    path: cfg.root.display().to_string(),
                    err: nix::errno::Errno::EINVAL,
                }
            })?;
        // SAFETY: open with a valid path.
        let fd = unsafe {
            libc::open(
                root.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(VfsError::Root {
                path: cfg.root.display().to_string(),
                err: nix::errno::Errno::last(),
            });
        }
        Ok(Vfs {
            files: BTreeMap::new(),
            fdtables: BTreeMap::new(),
            fs_contexts: BTreeMap::new(),
            next: 0,
            // SAFETY: a fresh descriptor we own.
            root_fd: Some(unsafe { OwnedFd::from_raw_fd(fd) }),
        })
    }

    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A descriptor table holding the caller's stdio as 0, 1, 2.
    pub fn new_fdtable_with_stdio(&mut self) -> u64 {
        let mut t = FdTable {
            refs: 1,
            ..Default::default()
        };
        for fd in 0..3 {
            let id = self.id();
            let flags = if fd == 0 {
                libc::O_RDONLY
            } else {
                libc::O_WRONLY
            };
            self.files.insert(
                id,
                OpenFile {
                    path: format!("/dev/stdio{fd}"),
                    kind: FileKind::Stdio { host_fd: fd },
                    flags,
                    offset: 0,
                    refs: 1,
                    dev_ino: (0, 0),
                },
            );
            t.fds.insert(fd, (id, false));
        }
        let id = self.id();
        self.fdtables.insert(id, t);
        id
    }

    /// A descriptor table holding `stdio` (host descriptors) as 0, 1, 2.
    pub fn new_fdtable_from_host(&mut self, stdio: [OwnedFd; 3]) -> u64 {
        let mut t = FdTable {
            refs: 1,
            ..Default::default()
        };
        for (fd, host) in (0..).zip(stdio) {
            // SAFETY: F_GETFL on a descriptor we own.
            let flags = unsafe { libc::fcntl(host.as_raw_fd(), libc::F_GETFL) };
            let flags = if flags < 0 { libc::O_RDWR } else { flags };
            let id = self.id();
            self.files.insert(
                id,
                OpenFile {
                    path: format!("/dev/stdio{fd}"),
                    kind: FileKind::Donated { fd: Some(host) },
                    flags,
                    offset: 0,
                    refs: 1,
                    dev_ino: (0, 0),
                },
            );
            t.fds.insert(fd, (id, false));
        }
        let id = self.id();
        self.fdtables.insert(id, t);
        id
    }

    /// The host descriptor of a file read and written as a stream (stdio,
    /// donated descriptors), for readiness checks and terminal requests.
    pub fn stream_fd(&self, f: FileId) -> Option<RawFd> {
        match &self.files.get(&f)?.kind {
            FileKind::Stdio { host_fd } => Some(*host_fd),
            FileKind::Donated { fd } => fd.as_ref().map(|f| f.as_raw_fd()),
            FileKind::Host { .. } => None,
        }
    }

    pub fn new_fs(&mut self, cwd: &str) -> u64 {
        let id = self.id();
        self.fs_contexts.insert(
            id,
            FsContext {
                cwd: resolve_path("/", cwd.as_bytes()),
                root: "/".into(),
                umask: 0o022,
                refs: 1,
            },
        );
        id
    }

    pub fn share_fdtable(&mut self, id: u64) -> u64 {
        self.fdtables.get_mut(&id).expect("live").refs += 1;
        id
    }

    pub fn fork_fdtable(&mut self, id: u64) -> u64 {
        let mut t = self.fdtables[&id].clone();
        t.refs = 1;
        for (f, _) in t.fds.values() {
            self.files.get_mut(f).expect("live").refs += 1;
        }
        let nid = self.id();
        self.fdtables.insert(nid, t);
        nid
    }

    /// A table of one's own (for `execve` of a task sharing its table).
    pub fn unshare_fdtable(&mut self, id: u64) -> u64 {
        if self.fdtables[&id].refs == 1 {
            return id;
        }
        let n = self.fork_fdtable(id);
        self.release_fdtable(id);
        n
    }

    pub fn release_fdtable(&mut self, id: u64) {
        let Some(t) = self.fdtables.get_mut(&id) else {
            return;
        };
        t.refs -= 1;
        if t.refs > 0 {
            return;
        }
        let t = self.fdtables.remove(&id).expect("present");
        for (f, _) in t.fds.values() {
            self.file_release(*f);
        }
    }

    /// Closes the close-on-exec descriptors.
    pub fn close_on_exec(&mut self, id: u64) {
        let t = self.fdtables.get_mut(&id).expect("live");
        let gone: Vec<i32> = t
            .fds
            .iter()
            .filter(|(_, (_, c))| *c)
            .map(|(&fd, _)| fd)
            .collect();
        let mut files = Vec::new();
        for fd in gone {
            files.push(t.fds.remove(&fd).expect("present").0);
        }
        for f in files {
            self.file_release(f);
        }
    }

    pub fn share_fs(&mut self, id: u64) -> u64 {
        self.fs_contexts.get_mut(&id).expect("live").refs += 1;
        id
    }

    pub fn fork_fs(&mut self, id: u64) -> u64 {
        let mut c = self.fs_contexts[&id].clone();
        c.refs = 1;
        let nid = self.id();
        self.fs_contexts.insert(nid, c);
        nid
    }

    pub fn release_fs(&mut self, id: u64) {
        let Some(c) = self.fs_contexts.get_mut(&id) else {
            return;
        };
        c.refs -= 1;
        if c.refs == 0 {
            self.fs_contexts.remove(&id);
        }
    }

    /// Opens a host file by sandbox path, relative to `fs`'s cwd.
    pub fn open_host(&mut self, fs: u64, path: &[u8], flags: i32) -> Result<FileId, Errno> {
        let cwd = self.fs_contexts[&fs].cwd.clone();
        let p = resolve_path(&cwd, path);
        let root = self.root_fd.as_ref().expect("root attached").as_raw_fd();
        let fd = host_open_beneath(
            root,
            &p,
            flags & (libc::O_ACCMODE | libc::O_DIRECTORY | libc::O_NOFOLLOW),
        )?;
        // SAFETY: fstat into a local struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on our descriptor.
        unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
        let id = self.id();
        self.files.insert(
            id,
            OpenFile {
                path: p,
                kind: FileKind::Host { fd: Some(fd) },
                flags,
                offset: 0,
                refs: 1,
                dev_ino: (st.st_dev, st.st_ino),
            },
        );
        Ok(id)
    }

    /// Opens a file to execute: a regular file with an execute bit.
    pub fn open_exec(&mut self, fs: u64, path: &[u8]) -> Result<FileId, Errno> {
        let f = self.open_host(fs, path, libc::O_RDONLY)?;
        let st = self.fstat(f)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
            self.file_release(f);
            return Err(Errno::EACCES);
        }
        Ok(f)
    }

    pub fn fstat(&self, f: FileId) -> Result<libc::stat, Errno> {
        let of = self.files.get(&f).ok_or(Errno::EBADF)?;
        let fd = match &of.kind {
            FileKind::Host { fd } | FileKind::Donated { fd } => {
                fd.as_ref().map(|f| f.as_raw_fd()).ok_or(Errno::EIO)?
            }
            FileKind::Stdio { host_fd } => *host_fd,
        };
        // SAFETY: plain data struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on a live descriptor.
        if unsafe { libc::fstat(fd, &mut st) } < 0 {
            return Err(Errno::last_host());
        }
        Ok(st)
    }

    /// Reads at an offset (no effect on the file offset).
    pub fn read_at(&mut self, f: FileId, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let of = self.files.get(&f).ok_or(Errno::EBADF)?;
        let fd = match &of.kind {
            FileKind::Host { fd } => fd.as_ref().map(|f| f.as_raw_fd()).ok_or(Errno::EIO)?,
            FileKind::Stdio { .. } | FileKind::Donated { .. } => return Err(Errno::ESPIPE),
        };
        // SAFETY: pread into a live buffer.
        let n = unsafe {
            libc::pread(
                fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                off as i64,
            )
        };
        if n < 0 {
            return Err(Errno::last_host());
        }
        Ok(n as usize)
    }

    /// Reads at the file offset and advances it.
    pub fn read(&mut self, f: FileId, buf: &mut [u8]) -> Result<usize, Errno> {
        if let Some(host_fd) = self.stream_fd(f) {
            // SAFETY: read into a live buffer.
            let n =
                unsafe { libc::read(host_fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n < 0 {
                return Err(Errno::last_host());
            }
            return Ok(n as usize);
        }
        let off = self.files.get(&f).ok_or(Errno::EBADF)?.offset;
        let n = self.read_at(f, off, buf)?;
        self.files.get_mut(&f).expect("live").offset += n as u64;
        Ok(n)
    }

    /// Writes at the file offset.
    pub fn write(&mut self, f: FileId, data: &[u8]) -> Result<usize, Errno> {
        self.files.get(&f).ok_or(Errno::EBADF)?;
        let Some(host_fd) = self.stream_fd(f) else {
            return Err(Errno::EROFS);
        };
        // SAFETY: write from a live buffer.
        let n = unsafe { libc::write(host_fd, data.as_ptr() as *const libc::c_void, data.len()) };
        if n < 0 {
            return Err(Errno::last_host());
        }
        Ok(n as usize)
    }

    /// `lseek`.
    pub fn lseek(&mut self, f: FileId, off: i64, whence: i32) -> Result<u64, Errno> {
        let size = self.fstat(f)?.st_size;
        let of = self.files.get_mut(&f).ok_or(Errno::EBADF)?;
        if matches!(of.kind, FileKind::Stdio { .. } | FileKind::Donated { .. }) {
            return Err(Errno::ESPIPE);
        }
        let base = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => of.offset as i64,
            libc::SEEK_END => size,
            _ => return Err(Errno::EINVAL),
        };
        let n = base
            .checked_add(off)
            .filter(|&n| n >= 0)
            .ok_or(Errno::EINVAL)?;
        of.offset = n as u64;
        Ok(n as u64)
    }

    /// Checks that `f` may be mapped; returns the maps name, device and
    /// inode, and the largest protection allowed.
    pub fn mmap_check(
        &mut self,
        f: FileId,
        shared: bool,
        prot: i32,
    ) -> Result<(String, (u64, u64), i32), Errno> {
        let of = self.files.get(&f).ok_or(Errno::EBADF)?;
        let st = self.fstat(f)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(Errno::ENODEV);
        }
        let of_flags = of.flags & libc::O_ACCMODE;
        let mut max = libc::PROT_READ | libc::PROT_EXEC;
        if !shared || of_flags == libc::O_RDWR {
            max |= libc::PROT_WRITE;
        }
        if of_flags == libc::O_WRONLY {
            return Err(Errno::EACCES);
        }
        if prot & !max != 0 {
            return Err(Errno::EACCES);
        }
        Ok((of.path.clone(), of.dev_ino, max))
    }

    /// The memory object holding a file's data, for files kept in sandbox
    /// memory.
    pub fn file_memory_object(&self, _f: FileId) -> Option<MemObjectId> {
        None
    }

    pub fn file_hold(&mut self, f: FileId) {
        if let Some(o) = self.files.get_mut(&f) {
            o.refs += 1;
        }
    }

    pub fn file_release(&mut self, f: FileId) {
        let Some(of) = self.files.get_mut(&f) else {
            return;
        };
        of.refs -= 1;
        if of.refs == 0 {
            self.files.remove(&f);
        }
    }

    pub fn file_path(&self, f: FileId) -> String {
        self.files
            .get(&f)
            .map(|o| o.path.clone())
            .unwrap_or_default()
    }

    /// Installs `f` at the lowest free descriptor.
    pub fn install_fd(&mut self, table: u64, f: FileId, cloexec: bool) -> i32 {
        let t = self.fdtables.get_mut(&table).expect("live");
        let mut fd = 0;
        while t.fds.contains_key(&fd) {
            fd += 1;
        }
        t.fds.insert(fd, (f, cloexec));
        fd
    }

    pub fn get_fd(&self, table: u64, fd: i32) -> Result<FileId, Errno> {
        self.fdtables[&table]
            .fds
            .get(&fd)
            .map(|&(f, _)| f)
            .ok_or(Errno::EBADF)
    }

    pub fn close_fd(&mut self, table: u64, fd: i32) -> Result<(), Errno> {
        let (f, _) = self
            .fdtables
            .get_mut(&table)
            .expect("live")
            .fds
            .remove(&fd)
            .ok_or(Errno::EBADF)?;
        self.file_release(f);
        Ok(())
    }
}

impl FileSource for Vfs {
    fn read_file(&mut self, file: u64, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.read_at(file, offset, buf)
    }
    fn file_memory(&mut self, _file: u64) -> Option<MemObjectId> {
        None
    }
    fn hold_file(&mut self, file: u64, hold: bool) {
        if hold {
            if let Some(f) = self.files.get_mut(&file) {
                f.refs += 1;
            }
        } else {
            self.file_release(file);
        }
    }
    fn mapping_info(&mut self, file: u64) -> (String, (u64, u64)) {
        self.files
            .get(&file)
            .map(|f| (f.path.clone(), f.dev_ino))
            .unwrap_or_default()
    }
    fn open_exec(&mut self, fs: u64, path: &[u8]) -> Result<u64, Errno> {
        Vfs::open_exec(self, fs, path)
    }
}
