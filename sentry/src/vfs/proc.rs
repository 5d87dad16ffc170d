//! procfs: a view of the kernel's state. Nodes are values (a process and an
//! entry name, a fixed file of the table below); their content is made from
//! the kernel when the file is opened, like Linux's `seq_file`s, and read
//! from that snapshot.

use super::file::FileKind;
use super::node::{dtype_of, major, minor, DirEnt, Loc, Node, Stat, Ts};
use super::path::{self, Link};
use crate::errno::Errno;
use crate::kernel::signal::{SIG_DFL, SIG_IGN};
use crate::kernel::task::TaskState;
use crate::kernel::{Kernel, Tid};
use crate::mm::Backing;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A process (or, with `task`, a thread under `task/`) as procfs shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PidRef {
    pub tgid: Tid,
    pub tid: Tid,
    pub task: bool,
}

/// Entries of `/proc/[pid]` and `/proc/[pid]/task/[tid]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PidEntry {
    Auxv,
    Cgroup,
    Cmdline,
    Comm,
    Cwd,
    Environ,
    Exe,
    FdDir,
    FdInfoDir,
    GidMap,
    Io,
    Limits,
    Loginuid,
    Maps,
    MountInfo,
    Mounts,
    OomAdj,
    OomScore,
    OomScoreAdj,
    Personality,
    Root,
    Schedstat,
    Sessionid,
    Setgroups,
    Smaps,
    Stat,
    Statm,
    Status,
    TaskDir,
    UidMap,
    Wchan,
}

const PID_ENTRIES: &[(&str, PidEntry)] = &[
    ("auxv", PidEntry::Auxv),
    ("cgroup", PidEntry::Cgroup),
    ("cmdline", PidEntry::Cmdline),
    ("comm", PidEntry::Comm),
    ("cwd", PidEntry::Cwd),
    ("environ", PidEntry::Environ),
    ("exe", PidEntry::Exe),
    ("fd", PidEntry::FdDir),
    ("fdinfo", PidEntry::FdInfoDir),
    ("gid_map", PidEntry::GidMap),
    ("io", PidEntry::Io),
    ("limits", PidEntry::Limits),
    ("loginuid", PidEntry::Loginuid),
    ("maps", PidEntry::Maps),
    ("mountinfo", PidEntry::MountInfo),
    ("mounts", PidEntry::Mounts),
    ("oom_adj", PidEntry::OomAdj),
    ("oom_score", PidEntry::OomScore),
    ("oom_score_adj", PidEntry::OomScoreAdj),
    ("personality", PidEntry::Personality),
    ("root", PidEntry::Root),
    ("schedstat", PidEntry::Schedstat),
    ("sessionid", PidEntry::Sessionid),
    ("setgroups", PidEntry::Setgroups),
    ("smaps", PidEntry::Smaps),
    ("stat", PidEntry::Stat),
    ("statm", PidEntry::Statm),
    ("status", PidEntry::Status),
    ("task", PidEntry::TaskDir),
    ("uid_map", PidEntry::UidMap),
    ("wchan", PidEntry::Wchan),
];

/// A node of procfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProcNode {
    Root,
    SelfLink,
    ThreadSelf,
    /// An entry of [`STATIC`], by index.
    Static(u16),
    Pid(PidRef),
    Entry(PidRef, PidEntry),
    Fd(PidRef, i32),
    FdInfo(PidRef, i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gen {
    Cpuinfo,
    Meminfo,
    Stat,
    Uptime,
    Loadavg,
    Version,
    Filesystems,
    Hostname,
    Domainname,
    Osrelease,
    Uuid,
    BootId,
    Text(&'static str),
    Net(NetFile),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File(Gen),
    /// A file that accepts writes (and ignores or applies them).
    Tunable(Gen),
    Link(&'static str),
}

/// Fixed files and directories, by path below `/proc`.
const STATIC: &[(&str, Kind)] = &[
    ("cpuinfo", Kind::File(Gen::Cpuinfo)),
    ("filesystems", Kind::File(Gen::Filesystems)),
    ("loadavg", Kind::File(Gen::Loadavg)),
    ("meminfo", Kind::File(Gen::Meminfo)),
    ("mounts", Kind::Link("self/mounts")),
    ("stat", Kind::File(Gen::Stat)),
    ("sys", Kind::Dir),
    ("sys/fs", Kind::Dir),
    (
        "sys/fs/file-max",
        Kind::File(Gen::Text("9223372036854775807\n")),
    ),
    ("sys/fs/nr_open", Kind::File(Gen::Text("1048576\n"))),
    (
        "sys/fs/pipe-max-size",
        Kind::Tunable(Gen::Text("1048576\n")),
    ),
    ("sys/kernel", Kind::Dir),
    ("sys/kernel/cap_last_cap", Kind::File(Gen::Text("40\n"))),
    ("sys/kernel/domainname", Kind::Tunable(Gen::Domainname)),
    ("sys/kernel/hostname", Kind::Tunable(Gen::Hostname)),
    ("sys/kernel/ngroups_max", Kind::File(Gen::Text("65536\n"))),
    ("sys/kernel/osrelease", Kind::File(Gen::Osrelease)),
    ("sys/kernel/ostype", Kind::File(Gen::Text("Linux\n"))),
    ("sys/kernel/pid_max", Kind::Tunable(Gen::Text("4194304\n"))),
    ("sys/kernel/random", Kind::Dir),
    ("sys/kernel/random/boot_id", Kind::File(Gen::BootId)),
    (
        "sys/kernel/random/entropy_avail",
        Kind::File(Gen::Text("256\n")),
    ),
    ("sys/kernel/random/uuid", Kind::File(Gen::Uuid)),
    (
        "sys/kernel/shmall",
        Kind::Tunable(Gen::Text("18446744073692774399\n")),
    ),
    (
        "sys/kernel/shmmax",
        Kind::Tunable(Gen::Text("18446744073692774399\n")),
    ),
    ("sys/kernel/shmmni", Kind::Tunable(Gen::Text("4096\n"))),
    ("sys/kernel/threads-max", Kind::Tunable(Gen::Text("8192\n"))),
    ("sys/kernel/yama", Kind::Dir),
    (
        "sys/kernel/yama/ptrace_scope",
        Kind::Tunable(Gen::Text("1\n")),
    ),
    ("sys/net", Kind::Dir),
    ("sys/net/core", Kind::Dir),
    ("sys/net/core/somaxconn", Kind::Tunable(Gen::Text("4096\n"))),
    ("sys/vm", Kind::Dir),
    ("sys/vm/max_map_count", Kind::Tunable(Gen::Text("65530\n"))),
    ("sys/vm/mmap_min_addr", Kind::Tunable(Gen::Text("65536\n"))),
    ("sys/vm/overcommit_memory", Kind::Tunable(Gen::Text("0\n"))),
    ("uptime", Kind::File(Gen::Uptime)),
    ("version", Kind::File(Gen::Version)),
    // The sandbox's network (see `net`); appended so that the indices
    // above stay as they were.
    ("net", Kind::Dir),
    ("net/dev", Kind::File(Gen::Net(NetFile::Dev))),
    ("net/route", Kind::File(Gen::Net(NetFile::Route))),
    ("net/tcp", Kind::File(Gen::Net(NetFile::Tcp))),
    ("net/tcp6", Kind::File(Gen::Net(NetFile::Tcp6))),
    ("net/udp", Kind::File(Gen::Net(NetFile::Udp))),
    ("net/udp6", Kind::File(Gen::Net(NetFile::Udp6))),
    ("net/unix", Kind::File(Gen::Net(NetFile::Unix))),
    (
        "sys/net/core/rmem_default",
        Kind::Tunable(Gen::Text("212992\n")),
    ),
    (
        "sys/net/core/rmem_max",
        Kind::Tunable(Gen::Text("212992\n")),
    ),
    (
        "sys/net/core/wmem_default",
        Kind::Tunable(Gen::Text("212992\n")),
    ),
    (
        "sys/net/core/wmem_max",
        Kind::Tunable(Gen::Text("212992\n")),
    ),
    ("sys/net/ipv4", Kind::Dir),
    (
        "sys/net/ipv4/ip_local_port_range",
        Kind::Tunable(Gen::Text("32768\t60999\n")),
    ),
    (
        "sys/net/ipv4/tcp_fin_timeout",
        Kind::Tunable(Gen::Text("60\n")),
    ),
    ("sys/net/ipv6", Kind::Dir),
    ("sys/net/ipv6/bindv6only", Kind::Tunable(Gen::Text("0\n"))),
    ("sys/net/unix", Kind::Dir),
    (
        "sys/net/unix/max_dgram_qlen",
        Kind::Tunable(Gen::Text("10\n")),
    ),
];

/// The files of `/proc/net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NetFile {
    Dev,
    Route,
    Tcp,
    Tcp6,
    Udp,
    Udp6,
    Unix,
}

/// The release `uname` reports; procfs agrees with it.
pub const OSRELEASE: &str = "4.4.0";
const VERSION: &str = "#1 SMP Sun Jan 10 15:06:54 PST 2016";

/// State procfs keeps: what it read from the host at boot, and the values
/// written to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcState {
    pub boot_id: String,
    pub cpuinfo: Vec<u8>,
    pub mem_total_kb: u64,
    pub ncpus: usize,
    /// Process -> (value, start time of its leader): an entry of a process
    /// that is gone does not apply to a new one with the same ID.
    pub oom_score_adj: BTreeMap<Tid, (i32, u64)>,
}

fn random_uuid() -> String {
    let mut b = [0u8; 16];
    // SAFETY: getrandom into a local buffer.
    unsafe { libc::getrandom(b.as_mut_ptr() as *mut libc::c_void, 16, 0) };
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl ProcState {
    pub fn new() -> ProcState {
        let meminfo = super::host::read_small("/proc/meminfo").unwrap_or_default();
        let mem_total_kb = String::from_utf8_lossy(&meminfo)
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(4 << 20);
        ProcState {
            boot_id: random_uuid(),
            cpuinfo: super::host::read_small("/proc/cpuinfo").unwrap_or_default(),
            mem_total_kb,
            ncpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            oom_score_adj: BTreeMap::new(),
        }
    }
}

impl Default for ProcState {
    fn default() -> Self {
        ProcState::new()
    }
}

fn static_index(path: &str) -> Option<u16> {
    STATIC
        .iter()
        .position(|(p, _)| *p == path)
        .map(|i| i as u16)
}

fn static_kind(i: u16) -> Option<Kind> {
    STATIC.get(i as usize).map(|(_, k)| *k)
}

fn entry_name(e: PidEntry) -> &'static str {
    PID_ENTRIES
        .iter()
        .find(|(_, x)| *x == e)
        .map_or("", |(n, _)| n)
}

fn parse_num(name: &[u8]) -> Option<i32> {
    if name.is_empty() || name.len() > 10 || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if name.len() > 1 && name[0] == b'0' {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// True if the process (and thread) still exist.
fn alive(k: &Kernel, r: PidRef) -> bool {
    let Some(tg) = k.thread_groups.get(&r.tgid) else {
        return false;
    };
    r.tid == r.tgid || tg.threads.contains(&r.tid)
}

/// The task to take per-thread data from: the thread, or any live thread
/// of the process.
fn task_of(k: &Kernel, r: PidRef) -> Option<&crate::kernel::Task> {
    k.tasks.get(&r.tid).or_else(|| {
        k.thread_groups
            .get(&r.tgid)
            .and_then(|g| g.threads.first())
            .and_then(|t| k.tasks.get(t))
    })
}

fn entry_mode(e: PidEntry) -> u32 {
    use PidEntry::*;
    match e {
        Cwd | Exe | Root => libc::S_IFLNK | 0o777,
        FdDir | FdInfoDir => libc::S_IFDIR | 0o500,
        TaskDir => libc::S_IFDIR | 0o555,
        Comm | OomAdj | OomScoreAdj | Loginuid | Setgroups | UidMap | GidMap => {
            libc::S_IFREG | 0o644
        }
        Auxv | Environ | Personality => libc::S_IFREG | 0o400,
        _ => libc::S_IFREG | 0o444,
    }
}

/// Mode, owner and group of a node, or `None` if it is gone.
pub fn attrs(k: &Kernel, n: ProcNode) -> Option<(u32, u32, u32)> {
    match n {
        ProcNode::Root => Some((libc::S_IFDIR | 0o555, 0, 0)),
        ProcNode::SelfLink | ProcNode::ThreadSelf => Some((libc::S_IFLNK | 0o777, 0, 0)),
        ProcNode::Static(i) => Some(match static_kind(i)? {
            Kind::Dir => (libc::S_IFDIR | 0o555, 0, 0),
            Kind::File(_) => (libc::S_IFREG | 0o444, 0, 0),
            Kind::Tunable(_) => (libc::S_IFREG | 0o644, 0, 0),
            Kind::Link(_) => (libc::S_IFLNK | 0o777, 0, 0),
        }),
        ProcNode::Pid(r) | ProcNode::Entry(r, _) | ProcNode::Fd(r, _) | ProcNode::FdInfo(r, _) => {
            if !alive(k, r) {
                return None;
            }
            let (uid, gid) = task_of(k, r).map_or((0, 0), |t| (t.creds.euid, t.creds.egid));
            let mode = match n {
                ProcNode::Pid(_) => libc::S_IFDIR | 0o555,
                ProcNode::Entry(_, e) => entry_mode(e),
                ProcNode::Fd(_, fd) => {
                    let of = fd_file(k, r, fd)?;
                    let mut m = libc::S_IFLNK | 0o100;
                    if of.readable() {
                        m |= 0o400;
                    }
                    if of.writable() {
                        m |= 0o200;
                    }
                    m
                }
                _ => {
                    fd_file(
                        k,
                        r,
                        match n {
                            ProcNode::FdInfo(_, fd) => fd,
                            _ => -1,
                        },
                    )?;
                    libc::S_IFREG | 0o444
                }
            };
            Some((mode, uid, gid))
        }
    }
}

fn fd_file(k: &Kernel, r: PidRef, fd: i32) -> Option<&super::file::OpenFile> {
    let t = task_of(k, r)?;
    let f = k.vfs.get_fd(t.fdtable, fd).ok()?;
    k.vfs.files.get(&f)
}

fn node_ino(n: ProcNode) -> u64 {
    if n == ProcNode::Root {
        return 1;
    }
    // FNV-1a over the node's debug form: stable and cheap.
    let s = format!("{n:?}");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    (h & 0x7fff_ffff) | 0x1000
}

/// Attributes of a node.
pub fn stat(k: &Kernel, n: ProcNode, dev: u64) -> Result<Stat, Errno> {
    let (mode, uid, gid) = attrs(k, n).ok_or(Errno::ENOENT)?;
    let t = match n {
        ProcNode::Pid(r) | ProcNode::Entry(r, _) | ProcNode::Fd(r, _) | ProcNode::FdInfo(r, _) => {
            task_of(k, r).map_or(k.clock.boot, |t| t.start_time)
        }
        _ => k.clock.boot,
    };
    let since_boot = t.saturating_sub(k.clock.boot);
    let boot_real = k.clock.realtime().saturating_sub(k.clock.uptime());
    let ts = Ts::from_ns(boot_real + since_boot);
    Ok(Stat {
        dev,
        ino: node_ino(n),
        mode,
        nlink: if mode & libc::S_IFMT == libc::S_IFDIR {
            2
        } else {
            1
        },
        uid,
        gid,
        rdev: 0,
        size: 0,
        blksize: 1024,
        blocks: 0,
        atime: ts,
        mtime: ts,
        ctime: ts,
        btime: None,
        mnt_id: 0,
    })
}

/// Looks `name` up in directory `dir`; `tid` is the caller (for `self`).
pub fn lookup(k: &Kernel, _tid: Tid, dir: ProcNode, name: &[u8]) -> Result<ProcNode, Errno> {
    let name_s = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
    match dir {
        ProcNode::Root => {
            if name == b"self" {
                return Ok(ProcNode::SelfLink);
            }
            if name == b"thread-self" {
                return Ok(ProcNode::ThreadSelf);
            }
            if let Some(n) = parse_num(name) {
                let t = k.tasks.get(&n).ok_or(Errno::ENOENT)?;
                return Ok(ProcNode::Pid(PidRef {
                    tgid: t.tgid,
                    tid: n,
                    task: false,
                }));
            }
            static_index(name_s)
                .map(ProcNode::Static)
                .ok_or(Errno::ENOENT)
        }
        ProcNode::Static(i) => {
            if static_kind(i) != Some(Kind::Dir) {
                return Err(Errno::ENOTDIR);
            }
            let p = format!("{}/{}", STATIC[i as usize].0, name_s);
            static_index(&p).map(ProcNode::Static).ok_or(Errno::ENOENT)
        }
        ProcNode::Pid(r) => {
            if !alive(k, r) {
                return Err(Errno::ENOENT);
            }
            let e = PID_ENTRIES
                .iter()
                .find(|(n, _)| n.as_bytes() == name)
                .map(|(_, e)| *e)
                .ok_or(Errno::ENOENT)?;
            if r.task && e == PidEntry::TaskDir {
                return Err(Errno::ENOENT);
            }
            Ok(ProcNode::Entry(r, e))
        }
        ProcNode::Entry(r, PidEntry::FdDir) | ProcNode::Entry(r, PidEntry::FdInfoDir) => {
            let fd = parse_num(name).ok_or(Errno::ENOENT)?;
            fd_file(k, r, fd).ok_or(Errno::ENOENT)?;
            Ok(match dir {
                ProcNode::Entry(_, PidEntry::FdDir) => ProcNode::Fd(r, fd),
                _ => ProcNode::FdInfo(r, fd),
            })
        }
        ProcNode::Entry(r, PidEntry::TaskDir) => {
            let t = parse_num(name).ok_or(Errno::ENOENT)?;
            let tg = k.thread_groups.get(&r.tgid).ok_or(Errno::ENOENT)?;
            if !tg.threads.contains(&t) {
                return Err(Errno::ENOENT);
            }
            Ok(ProcNode::Pid(PidRef {
                tgid: r.tgid,
                tid: t,
                task: true,
            }))
        }
        _ => Err(Errno::ENOTDIR),
    }
}

/// A node's directory and name.
pub fn parent(n: ProcNode) -> Option<(ProcNode, Vec<u8>)> {
    match n {
        ProcNode::Root => None,
        ProcNode::SelfLink => Some((ProcNode::Root, b"self".to_vec())),
        ProcNode::ThreadSelf => Some((ProcNode::Root, b"thread-self".to_vec())),
        ProcNode::Static(i) => {
            let p = STATIC.get(i as usize)?.0;
            Some(match p.rfind('/') {
                Some(j) => (
                    ProcNode::Static(static_index(&p[..j])?),
                    p.as_bytes()[j + 1..].to_vec(),
                ),
                None => (ProcNode::Root, p.as_bytes().to_vec()),
            })
        }
        ProcNode::Pid(r) => {
            if r.task {
                let proc_ref = PidRef {
                    tgid: r.tgid,
                    tid: r.tgid,
                    task: false,
                };
                Some((
                    ProcNode::Entry(proc_ref, PidEntry::TaskDir),
                    r.tid.to_string().into_bytes(),
                ))
            } else {
                Some((ProcNode::Root, r.tid.to_string().into_bytes()))
            }
        }
        ProcNode::Entry(r, e) => Some((ProcNode::Pid(r), entry_name(e).as_bytes().to_vec())),
        ProcNode::Fd(r, fd) => Some((
            ProcNode::Entry(r, PidEntry::FdDir),
            fd.to_string().into_bytes(),
        )),
        ProcNode::FdInfo(r, fd) => Some((
            ProcNode::Entry(r, PidEntry::FdInfoDir),
            fd.to_string().into_bytes(),
        )),
    }
}

/// Where a procfs symlink leads.
pub fn readlink(k: &Kernel, tid: Tid, n: ProcNode) -> Result<Link, Errno> {
    match n {
        ProcNode::SelfLink => {
            let t = k.tasks.get(&tid).ok_or(Errno::ENOENT)?;
            Ok(Link::Path(t.tgid.to_string().into_bytes()))
        }
        ProcNode::ThreadSelf => {
            let t = k.tasks.get(&tid).ok_or(Errno::ENOENT)?;
            Ok(Link::Path(format!("{}/task/{}", t.tgid, tid).into_bytes()))
        }
        ProcNode::Static(i) => match static_kind(i) {
            Some(Kind::Link(t)) => Ok(Link::Path(t.as_bytes().to_vec())),
            _ => Err(Errno::EINVAL),
        },
        ProcNode::Entry(r, PidEntry::Exe) => {
            let t = task_of(k, r).ok_or(Errno::ENOENT)?;
            let exe = k.mms.get(&t.mm).map(|m| m.exe.clone()).unwrap_or_default();
            if exe.is_empty() {
                return Err(Errno::ENOENT);
            }
            Ok(Link::Path(exe.into_bytes()))
        }
        ProcNode::Entry(r, e @ (PidEntry::Cwd | PidEntry::Root)) => {
            let t = task_of(k, r).ok_or(Errno::ENOENT)?;
            let c = k.vfs.fs_contexts.get(&t.fs).ok_or(Errno::ENOENT)?;
            Ok(Link::Jump(
                if e == PidEntry::Cwd {
                    c.cwd_loc
                } else {
                    c.root_loc
                },
                None,
            ))
        }
        ProcNode::Fd(r, fd) => {
            let of = fd_file(k, r, fd).ok_or(Errno::ENOENT)?;
            Ok(Link::Jump(of.loc, Some(of.path.clone())))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The text `readlink(2)` returns for a procfs symlink, as seen by `tid`.
pub fn readlink_text(k: &Kernel, tid: Tid, n: ProcNode) -> Result<Vec<u8>, Errno> {
    let root = k
        .tasks
        .get(&tid)
        .and_then(|t| k.vfs.fs_contexts.get(&t.fs))
        .map_or(k.vfs.root_loc(), |c| c.root_loc);
    match n {
        ProcNode::Fd(r, fd) => {
            let of = fd_file(k, r, fd).ok_or(Errno::ENOENT)?;
            Ok(super::file::display_name(k, root, of))
        }
        _ => match readlink(k, tid, n)? {
            Link::Path(p) => Ok(p),
            Link::Jump(loc, _) => Ok(path::path_of(k, root, loc)),
        },
    }
}

/// Entries of a directory (without `.` and `..`).
pub fn read_dir(k: &Kernel, n: ProcNode) -> Result<Vec<DirEnt>, Errno> {
    let ent = |name: String, node: ProcNode| DirEnt {
        name: name.into_bytes(),
        ino: node_ino(node),
        dtype: attrs(k, node).map_or(libc::DT_UNKNOWN, |(m, _, _)| dtype_of(m)),
    };
    let mut out = Vec::new();
    match n {
        ProcNode::Root => {
            for (i, (p, _)) in STATIC.iter().enumerate() {
                if !p.contains('/') {
                    out.push(ent(p.to_string(), ProcNode::Static(i as u16)));
                }
            }
            out.push(ent("self".into(), ProcNode::SelfLink));
            out.push(ent("thread-self".into(), ProcNode::ThreadSelf));
            for &tgid in k.thread_groups.keys() {
                let node = ProcNode::Pid(PidRef {
                    tgid,
                    tid: tgid,
                    task: false,
                });
                out.push(ent(tgid.to_string(), node));
            }
        }
        ProcNode::Static(i) => {
            if static_kind(i) != Some(Kind::Dir) {
                return Err(Errno::ENOTDIR);
            }
            let prefix = format!("{}/", STATIC[i as usize].0);
            for (j, (p, _)) in STATIC.iter().enumerate() {
                if let Some(rest) = p.strip_prefix(&prefix) {
                    if !rest.contains('/') {
                        out.push(ent(rest.to_string(), ProcNode::Static(j as u16)));
                    }
                }
            }
        }
        ProcNode::Pid(r) => {
            if !alive(k, r) {
                return Err(Errno::ENOENT);
            }
            for (name, e) in PID_ENTRIES {
                if r.task && *e == PidEntry::TaskDir {
                    continue;
                }
                out.push(ent(name.to_string(), ProcNode::Entry(r, *e)));
            }
        }
        ProcNode::Entry(r, e @ (PidEntry::FdDir | PidEntry::FdInfoDir)) => {
            let t = task_of(k, r).ok_or(Errno::ENOENT)?;
            let fds: Vec<i32> = k
                .vfs
                .fdtables
                .get(&t.fdtable)
                .map(|t| t.fds.keys().copied().collect())
                .unwrap_or_default();
            for fd in fds {
                let node = if e == PidEntry::FdDir {
                    ProcNode::Fd(r, fd)
                } else {
                    ProcNode::FdInfo(r, fd)
                };
                out.push(ent(fd.to_string(), node));
            }
        }
        ProcNode::Entry(r, PidEntry::TaskDir) => {
            let tg = k.thread_groups.get(&r.tgid).ok_or(Errno::ENOENT)?;
            for &t in &tg.threads {
                let node = ProcNode::Pid(PidRef {
                    tgid: r.tgid,
                    tid: t,
                    task: true,
                });
                out.push(ent(t.to_string(), node));
            }
        }
        _ => return Err(Errno::ENOTDIR),
    }
    Ok(out)
}

/// The open file kind of a procfs node: a directory, or a file whose
/// content is made now.
pub fn open(k: &mut Kernel, n: ProcNode, flags: i32) -> Result<FileKind, Errno> {
    let (mode, _, _) = attrs(k, n).ok_or(Errno::ENOENT)?;
    if mode & libc::S_IFMT == libc::S_IFDIR {
        return Ok(FileKind::Dir { ents: None });
    }
    let writing = flags & libc::O_ACCMODE != libc::O_RDONLY;
    if writing && mode & 0o222 == 0 {
        return Err(Errno::EACCES);
    }
    let data = content(k, n)?;
    Ok(FileKind::Proc { node: n, data })
}

fn text(s: String) -> Result<Vec<u8>, Errno> {
    Ok(s.into_bytes())
}

fn content(k: &mut Kernel, n: ProcNode) -> Result<Vec<u8>, Errno> {
    match n {
        ProcNode::Static(i) => match static_kind(i) {
            Some(Kind::File(g)) | Some(Kind::Tunable(g)) => generate(k, g),
            _ => Err(Errno::EISDIR),
        },
        ProcNode::Entry(r, e) => pid_content(k, r, e),
        ProcNode::FdInfo(r, fd) => {
            let t = task_of(k, r).ok_or(Errno::ENOENT)?;
            let table = t.fdtable;
            let (fid, cloexec) = k
                .vfs
                .fdtables
                .get(&table)
                .and_then(|t| t.fds.get(&fd).copied())
                .ok_or(Errno::ENOENT)?;
            let of = k.vfs.files.get(&fid).ok_or(Errno::ENOENT)?;
            let (offset, mut flags, loc) = (of.offset, of.flags, of.loc);
            if cloexec {
                flags |= libc::O_CLOEXEC;
            }
            let ino = path::stat(k, loc).map_or(0, |s| s.ino);
            let mut s = format!(
                "pos:\t{offset}\nflags:\t0{flags:o}\nmnt_id:\t{}\nino:\t{ino}\n",
                loc.mount
            );
            if let Some(of) = k.vfs.files.get(&fid) {
                super::file::fdinfo_extra(of, &mut s);
            }
            text(s)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn generate(k: &Kernel, g: Gen) -> Result<Vec<u8>, Errno> {
    let ps = &k.vfs.proc;
    match g {
        Gen::Text(t) => text(t.to_string()),
        Gen::Cpuinfo => Ok(ps.cpuinfo.clone()),
        Gen::Meminfo => {
            let total = ps.mem_total_kb;
            let used = k.frames.used() / 1024;
            let free = total.saturating_sub(used);
            let mut s = String::new();
            for (name, v) in [
                ("MemTotal", total),
                ("MemFree", free),
                ("MemAvailable", free),
                ("Buffers", 0),
                ("Cached", 0),
                ("SwapCached", 0),
                ("Active", used),
                ("Inactive", 0),
                ("Active(anon)", used),
                ("Inactive(anon)", 0),
                ("Active(file)", 0),
                ("Inactive(file)", 0),
                ("Unevictable", 0),
                ("Mlocked", 0),
                ("SwapTotal", 0),
                ("SwapFree", 0),
                ("Dirty", 0),
                ("Writeback", 0),
                ("AnonPages", used),
                ("Mapped", 0),
                ("Shmem", 0),
                ("KReclaimable", 0),
                ("Slab", 0),
                ("SReclaimable", 0),
                ("SUnreclaim", 0),
                ("KernelStack", 0),
                ("PageTables", 0),
                ("CommitLimit", total),
                ("Committed_AS", used),
                ("VmallocTotal", 34_359_738_367),
                ("VmallocUsed", 0),
                ("VmallocChunk", 0),
                ("HugePages_Total", 0),
                ("HugePages_Free", 0),
                ("Hugepagesize", 2048),
            ] {
                if name.starts_with("HugePages_") {
                    let _ = writeln!(s, "{:<16}{:>8}", format!("{name}:"), v);
                } else {
                    let _ = writeln!(s, "{:<16}{:>8} kB", format!("{name}:"), v);
                }
            }
            text(s)
        }
        Gen::Stat => {
            let ticks = |ns: u64| ns / 10_000_000;
            let (mut user, mut sys) = (0u64, 0u64);
            for t in k.tasks.values() {
                user += t.utime;
                sys += t.stime;
            }
            let up = k.clock.uptime();
            let n = ps.ncpus as u64;
            let idle = ticks(up).saturating_mul(n).saturating_sub(ticks(user + sys));
            let mut s = format!(
                "cpu  {} 0 {} {} 0 0 0 0 0 0\n",
                ticks(user),
                ticks(sys),
                idle
            );
            for c in 0..n {
                let _ = writeln!(
                    s,
                    "cpu{c} {} 0 {} {} 0 0 0 0 0 0",
                    ticks(user) / n,
                    ticks(sys) / n,
                    idle / n
                );
            }
            let btime = (k.clock.realtime().saturating_sub(up)) / 1_000_000_000;
            let running = k
                .tasks
                .values()
                .filter(|t| matches!(t.state, TaskState::Running | TaskState::Ready(_)))
                .count();
            let _ = write!(
                s,
                "intr 0\nctxt 0\nbtime {btime}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
                k.tasks.len(),
                running.max(1)
            );
            text(s)
        }
        Gen::Uptime => {
            let up = k.clock.uptime();
            let idle = up.saturating_mul(ps.ncpus as u64);
            text(format!(
                "{}.{:02} {}.{:02}\n",
                up / 1_000_000_000,
                (up / 10_000_000) % 100,
                idle / 1_000_000_000,
                (idle / 10_000_000) % 100
            ))
        }
        Gen::Loadavg => {
            let running = k
                .tasks
                .values()
                .filter(|t| matches!(t.state, TaskState::Running | TaskState::Ready(_)))
                .count();
            let last = k.tasks.keys().max().copied().unwrap_or(1);
            text(format!(
                "0.00 0.00 0.00 {}/{} {last}\n",
                running.max(1),
                k.tasks.len()
            ))
        }
        Gen::Version => text(format!(
            "Linux version {OSRELEASE} (root@runsc) (gcc version 12.2.0) {VERSION}\n"
        )),
        Gen::Filesystems => text(
            "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tpipefs\nnodev\toverlay\nnodev\tdevpts\n"
                .into(),
        ),
        Gen::Hostname => text(format!("{}\n", k.hostname)),
        Gen::Domainname => text(format!("{}\n", k.domainname)),
        Gen::Osrelease => text(format!("{OSRELEASE}\n")),
        Gen::Uuid => text(format!("{}\n", random_uuid())),
        Gen::BootId => text(format!("{}\n", ps.boot_id)),
        Gen::Net(f) => {
            use crate::net::{proc_dev, proc_inet, proc_unix, Proto};
            let v = &k.vfs;
            text(match f {
                NetFile::Dev => proc_dev(v),
                NetFile::Route => crate::net::ext::proc_route(&v.net),
                NetFile::Tcp => proc_inet(v, Proto::Tcp, false),
                NetFile::Tcp6 => proc_inet(v, Proto::Tcp, true),
                NetFile::Udp => proc_inet(v, Proto::Udp, false),
                NetFile::Udp6 => proc_inet(v, Proto::Udp, true),
                NetFile::Unix => proc_unix(v),
            })
        }
    }
}

/// Bytes of an address space's populated memory, without populating
/// anything (the process may be running).
fn read_mm(k: &Kernel, mm: u64, start: u64, end: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let (Some(m), Some(host)) = (k.mms.get(&mm), k.host.as_ref()) else {
        return out;
    };
    let end = end.min(start.saturating_add(1 << 20));
    let mut pos = start;
    for (s, e, frame, _) in m.pmas_in(start, end) {
        if s != pos {
            break;
        }
        let mut buf = vec![0u8; (e - s) as usize];
        host.mf.read(frame, &mut buf);
        out.extend_from_slice(&buf);
        pos = e;
    }
    out
}

/// A CPU mask as Linux lists it: ranges and single CPUs, comma-separated
/// ("0-1", "0,2-3").
fn cpu_list(mask: u64) -> String {
    let mut out = Vec::new();
    let mut c = 0;
    while c < 64 {
        if mask & (1 << c) == 0 {
            c += 1;
            continue;
        }
        let start = c;
        while c < 64 && mask & (1 << c) != 0 {
            c += 1;
        }
        out.push(if c - 1 == start {
            format!("{start}")
        } else {
            format!("{start}-{}", c - 1)
        });
    }
    out.join(",")
}

fn state_letter(k: &Kernel, r: PidRef) -> &'static str {
    let tg = k.thread_groups.get(&r.tgid);
    if tg.is_some_and(|g| g.zombie.is_some()) {
        return "Z (zombie)";
    }
    if tg.is_some_and(|g| g.stopped) {
        return "T (stopped)";
    }
    match task_of(k, r).map(|t| &t.state) {
        Some(TaskState::Running) | Some(TaskState::Ready(_)) => "R (running)",
        Some(TaskState::Stopped) => "T (stopped)",
        Some(TaskState::Dead) | None => "Z (zombie)",
        Some(TaskState::Blocked(_)) => "S (sleeping)",
    }
}

fn hex_set(v: u64) -> String {
    format!("{v:016x}")
}

fn pid_content(k: &mut Kernel, r: PidRef, e: PidEntry) -> Result<Vec<u8>, Errno> {
    let t = task_of(k, r).ok_or(Errno::ENOENT)?.clone();
    let tg = k.thread_groups.get(&r.tgid).ok_or(Errno::ENOENT)?.clone();
    let mm = k.mms.get(&t.mm);
    let name = t.name.clone();
    match e {
        PidEntry::Comm => text(format!("{name}\n")),
        PidEntry::Cmdline => {
            let Some(m) = mm else { return Ok(Vec::new()) };
            let (s, e) = m.argv;
            Ok(read_mm(k, t.mm, s, e))
        }
        PidEntry::Environ => {
            let Some(m) = mm else { return Ok(Vec::new()) };
            let (s, e) = m.envp;
            Ok(read_mm(k, t.mm, s, e))
        }
        PidEntry::Auxv => {
            let mut out = Vec::new();
            if let Some(m) = mm {
                for &(a, b) in &m.auxv {
                    out.extend_from_slice(&a.to_le_bytes());
                    out.extend_from_slice(&b.to_le_bytes());
                }
                if m.auxv.last().is_none_or(|&(a, _)| a != 0) {
                    out.extend_from_slice(&[0u8; 16]);
                }
            }
            Ok(out)
        }
        PidEntry::Maps | PidEntry::Smaps => {
            let mut s = String::new();
            if let Some(m) = mm {
                for (&start, v) in &m.vmas {
                    let off = match v.backing {
                        Backing::Anon => 0,
                        Backing::File { offset, .. } | Backing::Object { offset, .. } => offset,
                    };
                    let mut line = format!(
                        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
                        start,
                        v.end,
                        if v.prot & libc::PROT_READ != 0 { 'r' } else { '-' },
                        if v.prot & libc::PROT_WRITE != 0 { 'w' } else { '-' },
                        if v.prot & libc::PROT_EXEC != 0 { 'x' } else { '-' },
                        if v.shared { 's' } else { 'p' },
                        off,
                        major(v.dev_ino.0),
                        minor(v.dev_ino.0),
                        v.dev_ino.1
                    );
                    if !v.name.is_empty() {
                        while line.len() < 73 {
                            line.push(' ');
                        }
                        line.push_str(&v.name);
                    }
                    line.push('\n');
                    s.push_str(&line);
                    if e == PidEntry::Smaps {
                        let size = (v.end - start) / 1024;
                        let rss: u64 = m
                            .pmas_in(start, v.end)
                            .iter()
                            .map(|(a, b, _, _)| b - a)
                            .sum::<u64>()
                            / 1024;
                        let _ = write!(
                            s,
                            "Size:           {size:>8} kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\nRss:            {rss:>8} kB\nPss:            {rss:>8} kB\nShared_Clean:          0 kB\nShared_Dirty:          0 kB\nPrivate_Clean:         0 kB\nPrivate_Dirty:  {rss:>8} kB\nReferenced:     {rss:>8} kB\nAnonymous:      {rss:>8} kB\nSwap:                  0 kB\nLocked:                0 kB\nVmFlags: rd wr mr mw me ac\n"
                        );
                    }
                }
            }
            text(s)
        }
        PidEntry::Status => {
            let threads = tg.threads.len();
            let sh = k.sighands.get(&t.sighand);
            let (mut ign, mut cgt) = (0u64, 0u64);
            if let Some(sh) = sh {
                for (i, a) in sh.actions.iter().enumerate() {
                    if a.handler == SIG_IGN {
                        ign |= 1 << i;
                    } else if a.handler != SIG_DFL {
                        cgt |= 1 << i;
                    }
                }
            }
            let fdsize = k
                .vfs
                .fdtables
                .get(&t.fdtable)
                .and_then(|x| x.fds.keys().max().copied())
                .map_or(64, |m| ((m as usize + 64) / 64) * 64);
            let (vsz, rss) = mm.map_or((0, 0), |m| (m.virtual_size() / 1024, m.resident() / 1024));
            let umask = k.vfs.fs_contexts.get(&t.fs).map_or(0o022, |c| c.umask);
            let c = &t.creds;
            let groups: Vec<String> = c.groups.iter().map(|g| g.to_string()).collect();
            let caps = c.caps.status_lines();
            let n = k.vfs.proc.ncpus;
            let mut s = String::new();
            let _ = write!(
                s,
                "Name:\t{name}\nUmask:\t{umask:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\n",
                state_letter(k, r),
                r.tgid,
                r.tid,
                tg.parent
            );
            let _ = write!(
                s,
                "Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t{fdsize}\nGroups:\t{} \nNStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}\n",
                c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid,
                groups.join(" "),
                r.tgid,
                r.tid,
                tg.pgid,
                tg.sid
            );
            if mm.is_some() {
                let _ = write!(
                    s,
                    "VmPeak:\t{vsz:>8} kB\nVmSize:\t{vsz:>8} kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t{rss:>8} kB\nVmRSS:\t{rss:>8} kB\nRssAnon:\t{rss:>8} kB\nRssFile:\t       0 kB\nRssShmem:\t       0 kB\nVmData:\t{vsz:>8} kB\nVmStk:\t     132 kB\nVmExe:\t       0 kB\nVmLib:\t       0 kB\nVmPTE:\t       0 kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\nCoreDumping:\t0\nTHP_enabled:\t1\n"
                );
            }
            let _ = write!(
                s,
                "Threads:\t{threads}\nSigQ:\t0/{}\nSigPnd:\t{}\nShdPnd:\t{}\nSigBlk:\t{}\nSigIgn:\t{}\nSigCgt:\t{}\n",
                k.rlimit(r.tgid, libc::RLIMIT_SIGPENDING as usize).0.min(1 << 31),
                hex_set(t.pending.set.0),
                hex_set(tg.pending.set.0),
                hex_set(t.sigmask.0),
                hex_set(ign),
                hex_set(cgt)
            );
            let mut cpus = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
            if let Some(m) = &t.affinity {
                let mut bits = [0u8; 8];
                for (b, v) in bits.iter_mut().zip(m) {
                    *b = *v;
                }
                cpus &= u64::from_le_bytes(bits);
            }
            let _ = write!(
                s,
                "{caps}NoNewPrivs:\t{}\nSeccomp:\t0\nSeccomp_filters:\t0\nSpeculation_Store_Bypass:\tthread vulnerable\nCpus_allowed:\t{cpus:x}\nCpus_allowed_list:\t{}\nMems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
                tg.no_new_privs as u8,
                cpu_list(cpus)
            );
            text(s)
        }
        PidEntry::Stat => {
            let ticks = |ns: u64| ns / 10_000_000;
            let st = state_letter(k, r).chars().next().unwrap_or('R');
            let (vsz, rss) = mm.map_or((0, 0), |m| (m.virtual_size(), m.resident() / 4096));
            let (brk_start, argv, envp) =
                mm.map_or((0, (0, 0), (0, 0)), |m| (m.brk_start, m.argv, m.envp));
            let (tty, tpgid) = match super::pty::of_session(&k.vfs, tg.sid) {
                Some(i) => (
                    super::node::makedev(super::pty::SLAVE_MAJOR, i),
                    k.vfs.ptys.get(&i).map_or(-1, |p| p.fg_pgrp),
                ),
                None => {
                    let tty = k.vfs.stdio.tty_nr(tg.sid);
                    (tty, if tty != 0 { k.vfs.stdio.fg_pgrp } else { -1 })
                }
            };
            let start = ticks(t.start_time.saturating_sub(k.clock.boot));
            let (ut, st_) = if r.task {
                (t.utime, t.stime)
            } else {
                tg.threads
                    .iter()
                    .filter_map(|x| k.tasks.get(x))
                    .fold((0, 0), |a, x| (a.0 + x.utime, a.1 + x.stime))
            };
            text(format!(
                "{} ({name}) {st} {} {} {} {tty} {tpgid} 4194560 0 0 0 0 {} {} {} {} {} {} {} 0 {start} {vsz} {rss} 18446744073709551615 0 0 {} 0 0 0 {} 0 0 0 0 0 {} 0 {} {} 0 0 0 0 0 {brk_start} {} {} {} {} 0\n",
                r.tid,
                tg.parent,
                tg.pgid,
                tg.sid,
                ticks(ut),
                ticks(st_),
                ticks(tg.children_times.0),
                ticks(tg.children_times.1),
                // Real-time threads show -1 - their priority, as on Linux.
                if t.sched.real_time() {
                    -1 - t.sched.priority
                } else {
                    20 + t.nice
                },
                t.nice,
                tg.threads.len(),
                argv.0,
                t.sigmask.0,
                tg.exit_signal,
                t.sched.priority,
                t.sched.policy,
                argv.0,
                argv.1,
                envp.0,
                envp.1
            ))
        }
        PidEntry::Statm => {
            let (vsz, rss) = mm.map_or((0, 0), |m| (m.virtual_size() / 4096, m.resident() / 4096));
            text(format!("{vsz} {rss} 0 0 0 {vsz} 0\n"))
        }
        PidEntry::Limits => {
            const NAMES: [(&str, &str); 16] = [
                ("Max cpu time", "seconds"),
                ("Max file size", "bytes"),
                ("Max data size", "bytes"),
                ("Max stack size", "bytes"),
                ("Max core file size", "bytes"),
                ("Max resident set", "bytes"),
                ("Max processes", "processes"),
                ("Max open files", "files"),
                ("Max locked memory", "bytes"),
                ("Max address space", "bytes"),
                ("Max file locks", "locks"),
                ("Max pending signals", "signals"),
                ("Max msgqueue size", "bytes"),
                ("Max nice priority", ""),
                ("Max realtime priority", ""),
                ("Max realtime timeout", "us"),
            ];
            let mut s = format!(
                "{:<26}{:<21}{:<21}{:<10}\n",
                "Limit", "Soft Limit", "Hard Limit", "Units"
            );
            let show = |v: u64| {
                if v == u64::MAX {
                    "unlimited".to_string()
                } else {
                    v.to_string()
                }
            };
            for (i, (n, u)) in NAMES.iter().enumerate() {
                let (soft, hard) = tg.rlimits.get(i).copied().unwrap_or((u64::MAX, u64::MAX));
                let _ = writeln!(s, "{:<26}{:<21}{:<21}{:<10}", n, show(soft), show(hard), u);
            }
            text(s)
        }
        PidEntry::Mounts | PidEntry::MountInfo => {
            let root = k
                .vfs
                .fs_contexts
                .get(&t.fs)
                .map_or(k.vfs.root_loc(), |c| c.root_loc);
            text(mounts_text(k, root, e == PidEntry::MountInfo))
        }
        PidEntry::OomScoreAdj => text(format!("{}\n", oom_score_adj(k, r.tgid))),
        PidEntry::OomAdj => text(format!("{}\n", oom_score_adj(k, r.tgid) * 17 / 1000)),
        PidEntry::OomScore => text("0\n".into()),
        PidEntry::Cgroup => text("0::/\n".into()),
        PidEntry::Io => text(
            "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"
                .into(),
        ),
        PidEntry::Loginuid => text("4294967295".into()),
        PidEntry::Sessionid => text("4294967295".into()),
        PidEntry::Personality => text("00000000\n".into()),
        PidEntry::Schedstat => text("0 0 0\n".into()),
        PidEntry::Setgroups => text("allow\n".into()),
        PidEntry::UidMap | PidEntry::GidMap => text(format!("{:>10} {:>10} {:>10}\n", 0, 0, 4294967295u64)),
        PidEntry::Wchan => text("0".into()),
        PidEntry::Cwd | PidEntry::Exe | PidEntry::Root => Err(Errno::ELOOP),
        PidEntry::FdDir | PidEntry::FdInfoDir | PidEntry::TaskDir => Err(Errno::EISDIR),
    }
}

/// A process's `oom_score_adj`: its own, or what it inherited from its
/// ancestors when it was made.
fn oom_score_adj(k: &Kernel, tgid: Tid) -> i32 {
    let mut g = tgid;
    for _ in 0..64 {
        let start = k.tasks.get(&g).map(|t| t.start_time);
        if let Some(&(v, s)) = k.vfs.proc.oom_score_adj.get(&g) {
            if Some(s) == start {
                return v;
            }
        }
        match k.thread_groups.get(&g) {
            Some(tg) if tg.parent != 0 && tg.parent != g => g = tg.parent,
            _ => break,
        }
    }
    0
}

/// `/proc/[pid]/mounts` or `mountinfo`, as seen from `root`.
fn mounts_text(k: &Kernel, root: Loc, info: bool) -> String {
    let mut s = String::new();
    let v = &k.vfs;
    for (&id, m) in &v.mounts.mounts {
        let at = match m.mountpoint {
            Some(mp) => path::path_of(k, root, mp),
            None if id == v.mounts.root => b"/".to_vec(),
            None => continue,
        };
        if at.starts_with(b"(unreachable)") {
            continue;
        }
        let at = String::from_utf8_lossy(&at).into_owned();
        let Some(fs) = v.mounts.fss.get(&m.fs) else {
            continue;
        };
        let mut opts = if m.flags & super::mount::MS_RDONLY != 0 {
            "ro".to_string()
        } else {
            "rw".to_string()
        };
        for (bit, name) in [
            (super::mount::MS_NOSUID, "nosuid"),
            (super::mount::MS_NODEV, "nodev"),
            (super::mount::MS_NOEXEC, "noexec"),
        ] {
            if m.flags & bit != 0 {
                opts.push(',');
                opts.push_str(name);
            }
        }
        opts.push_str(",relatime");
        let mut super_opts = if m.flags & super::mount::MS_RDONLY != 0 {
            "ro".to_string()
        } else {
            "rw".to_string()
        };
        if !m.options.is_empty() {
            super_opts.push(',');
            super_opts.push_str(&m.options);
        }
        if info {
            let parent = m.mountpoint.map_or(id, |mp| mp.mount);
            let _ = writeln!(
                s,
                "{id} {parent} {}:{} / {at} {opts} - {} {} {super_opts}",
                major(fs.dev),
                minor(fs.dev),
                fs.kind.name(),
                m.source
            );
        } else {
            let mut all = opts.clone();
            if !m.options.is_empty() {
                all.push(',');
                all.push_str(&m.options);
            }
            let _ = writeln!(s, "{} {at} {} {all} 0 0", m.source, fs.kind.name());
        }
    }
    s
}

/// A write to a procfs file that takes writes.
pub fn write(k: &mut Kernel, tid: Tid, n: ProcNode, data: &[u8]) -> Result<usize, Errno> {
    let s = String::from_utf8_lossy(data);
    let v = s.trim_end_matches('\n');
    match n {
        ProcNode::Entry(r, PidEntry::Comm) => {
            if let Some(t) = k.tasks.get_mut(&r.tid) {
                let b = v.as_bytes();
                t.name = String::from_utf8_lossy(&b[..b.len().min(15)]).into_owned();
            }
            Ok(data.len())
        }
        ProcNode::Entry(r, PidEntry::OomScoreAdj) | ProcNode::Entry(r, PidEntry::OomAdj) => {
            let x: i32 = v.trim().parse().map_err(|_| Errno::EINVAL)?;
            let x = if matches!(n, ProcNode::Entry(_, PidEntry::OomAdj)) {
                if !(-17..=15).contains(&x) {
                    return Err(Errno::EINVAL);
                }
                x * 1000 / 17
            } else {
                if !(-1000..=1000).contains(&x) {
                    return Err(Errno::EINVAL);
                }
                x
            };
            let old = oom_score_adj(k, r.tgid);
            let root = k
                .tasks
                .get(&tid)
                .is_some_and(|t| t.creds.capable(crate::kernel::caps::CAP_SYS_RESOURCE));
            if x < old && !root {
                return Err(Errno::EACCES);
            }
            let start = k.tasks.get(&r.tgid).map_or(0, |t| t.start_time);
            let live: std::collections::BTreeSet<Tid> = k.thread_groups.keys().copied().collect();
            k.vfs.proc.oom_score_adj.retain(|g, _| live.contains(g));
            k.vfs.proc.oom_score_adj.insert(r.tgid, (x, start));
            Ok(data.len())
        }
        ProcNode::Entry(
            _,
            PidEntry::Loginuid | PidEntry::Setgroups | PidEntry::UidMap | PidEntry::GidMap,
        ) => Err(Errno::EPERM),
        ProcNode::Static(i) => match static_kind(i) {
            Some(Kind::Tunable(Gen::Hostname)) => {
                if v.len() > 64 {
                    return Err(Errno::EINVAL);
                }
                k.hostname = v.to_string();
                Ok(data.len())
            }
            Some(Kind::Tunable(Gen::Domainname)) => {
                if v.len() > 64 {
                    return Err(Errno::EINVAL);
                }
                k.domainname = v.to_string();
                Ok(data.len())
            }
            Some(Kind::Tunable(_)) => Ok(data.len()),
            _ => Err(Errno::EIO),
        },
        _ => Err(Errno::EIO),
    }
}

/// The node `/proc/[pid]/fd/N` stands for, for [`Node`] comparisons.
pub fn loc_is_proc(l: Loc) -> bool {
    matches!(l.node, Node::Proc(_))
}
