//! Cgroups of the sandbox process: the spec's `linux.resources` written to
//! cgroupfs, for cgroup v1 and for v2, and removal on `delete`.
//!
//! The whole sandbox (sentry and stubs) shares one cgroup: the limits of the
//! container are limits of the sandbox process and its children on the
//! host. [`Cgroups::detect`] reads `/proc/self/mountinfo` once:
//!
//! - v2 when a `cgroup2` filesystem is mounted at `/sys/fs/cgroup` (or is
//!   the only cgroup filesystem);
//! - v1 otherwise, one hierarchy per controller mount. A hybrid host's
//!   `cgroup2` mount at `/sys/fs/cgroup/unified` holds no controllers and is
//!   left alone.
//!
//! What is applied: memory (limit, reservation, swap, and on v1
//! swappiness and the OOM killer switch), pids (limit), cpu (shares or
//! weight, quota and period, real-time runtime and period on v1, cpuset
//! CPUs and memory nodes), and on v2 the `unified` map of raw files. What
//! is not: devices (after confinement the sandbox opens no host device;
//! the sentry enforces the container's device rules itself), block I/O,
//! huge pages, network classes, RDMA, kernel memory, CPU idle and burst.

mod path;
mod resources;

pub use path::{CgroupPath, DEFAULT_SLICE, PARENT, SYSTEMD_PREFIX};

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use std::collections::BTreeMap;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where cgroup filesystems are listed.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";
/// Where systemd and most distributions mount cgroups.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The v1 controllers runsc knows; a mount's other options are not
/// controllers.
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "pids",
    "devices",
    "freezer",
    "blkio",
    "net_cls",
    "net_prio",
    "perf_event",
    "hugetlb",
    "rdma",
    "misc",
];

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("reading {MOUNTINFO} failed: {0}")]
    Mountinfo(std::io::Error),
    #[error("no cgroup filesystem is mounted (none listed in {MOUNTINFO})")]
    NoCgroupFs,
    #[error("invalid cgroup path {path:?}: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("creating cgroup {path} failed: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {value:?} to {path} failed: {source}")]
    Write {
        path: PathBuf,
        value: String,
        source: std::io::Error,
    },
    #[error("reading {path} failed: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("removing cgroup {path} failed: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {controller} controller is not available: it is not listed in {path}")]
    MissingController { controller: String, path: PathBuf },
    #[error("the {controller} controller is not mounted (cgroup v1); needed for {what}")]
    NotMounted {
        controller: &'static str,
        what: &'static str,
    },
    #[error("{what} is not supported with cgroup {version}")]
    Unsupported { what: String, version: u8 },
    #[error("invalid linux.resources: {0}")]
    BadResource(String),
}

/// The cgroup filesystems of the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cgroups {
    /// cgroup v1: each controller and the mount point of its hierarchy
    /// (co-mounted controllers share one).
    V1 {
        controllers: BTreeMap<String, PathBuf>,
    },
    /// cgroup v2, the unified hierarchy mounted at `root`.
    V2 { root: PathBuf },
}

/// One line of `/proc/self/mountinfo`, the fields cgroups need.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mount {
    mount_point: PathBuf,
    fstype: String,
    super_options: String,
}

/// Parses mountinfo lines; malformed lines are skipped.
fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            // id parent dev root mount-point options [optional...] - fstype source super-options
            let sep = fields.iter().position(|&f| f == "-")?;
            if sep < 6 || fields.len() < sep + 4 {
                return None;
            }
            Some(Mount {
                mount_point: PathBuf::from(unescape(fields[4])),
                fstype: fields[sep + 1].to_string(),
                super_options: fields[sep + 3].to_string(),
            })
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(v as u8);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Cgroups {
    /// Finds the host's cgroup filesystems in `/proc/self/mountinfo`.
    pub fn detect() -> Result<Cgroups, CgroupError> {
        let text = std::fs::read_to_string(MOUNTINFO).map_err(CgroupError::Mountinfo)?;
        Cgroups::from_mountinfo(&text)
    }

    /// [`Cgroups::detect`] on given mountinfo text.
    pub fn from_mountinfo(text: &str) -> Result<Cgroups, CgroupError> {
        let mounts = parse_mountinfo(text);
        let v2: Vec<&Mount> = mounts.iter().filter(|m| m.fstype == "cgroup2").collect();
        if let Some(m) = v2.iter().find(|m| m.mount_point == Path::new(CGROUP_ROOT)) {
            return Ok(Cgroups::V2 {
                root: m.mount_point.clone(),
            });
        }
        let mut controllers = BTreeMap::new();
        for m in mounts.iter().filter(|m| m.fstype == "cgroup") {
            for opt in m.super_options.split(',') {
                if V1_CONTROLLERS.contains(&opt) {
                    controllers
                        .entry(opt.to_string())
                        .or_insert_with(|| m.mount_point.clone());
                }
            }
        }
        if !controllers.is_empty() {
            return Ok(Cgroups::V1 { controllers });
        }
        match v2.first() {
            Some(m) => Ok(Cgroups::V2 {
                root: m.mount_point.clone(),
            }),
            None => Err(CgroupError::NoCgroupFs),
        }
    }

    /// 1 or 2.
    pub fn version(&self) -> u8 {
        match self {
            Cgroups::V1 { .. } => 1,
            Cgroups::V2 { .. } => 2,
        }
    }

    /// The directories of `path`: one per v1 hierarchy (co-mounted
    /// controllers share one), or the one v2 directory.
    pub fn directories(&self, path: &CgroupPath) -> Vec<PathBuf> {
        match self {
            Cgroups::V1 { controllers } => {
                let mut dirs: Vec<PathBuf> = controllers
                    .values()
                    .map(|mount| mount.join(path.relative()))
                    .collect();
                dirs.sort();
                dirs.dedup();
                dirs
            }
            Cgroups::V2 { root } => vec![root.join(path.relative())],
        }
    }

    /// The directory of `path` in the hierarchy of a v1 controller, or the
    /// v2 directory.
    pub fn directory_of(&self, controller: &str, path: &CgroupPath) -> Option<PathBuf> {
        match self {
            Cgroups::V1 { controllers } => controllers
                .get(controller)
                .map(|mount| mount.join(path.relative())),
            Cgroups::V2 { root } => Some(root.join(path.relative())),
        }
    }

    /// Creates the cgroup `path` in every hierarchy, writes `resources` and
    /// moves `pid` (and so, from then on, its children) into it.
    ///
    /// The limits are written before the process moves in, so it never runs
    /// unconfined in the new cgroup. On v2 the controllers the limits need
    /// are enabled in `cgroup.subtree_control` of each ancestor first. On v1
    /// a new `cpuset` cgroup gets its parent's CPUs and memory nodes, which
    /// it needs before it can hold a process. Applying again to an existing
    /// cgroup updates its limits.
    pub fn apply(
        &self,
        path: &CgroupPath,
        resources: Option<&LinuxResources>,
        pid: Pid,
    ) -> Result<(), CgroupError> {
        match self {
            Cgroups::V1 { controllers } => {
                for (controller, mount) in controllers {
                    create_v1(mount, path, controller == "cpuset")?;
                }
                if let Some(r) = resources {
                    resources::write_v1(self, path, r)?;
                }
            }
            Cgroups::V2 { root } => {
                let needed = resources.map(resources::v2_controllers).unwrap_or_default();
                create_v2(root, path, &needed)?;
                if let Some(r) = resources {
                    resources::write_v2(&root.join(path.relative()), r)?;
                }
            }
        }
        for dir in self.directories(path) {
            write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Writes new limits into the existing cgroup `path` (`update`),
    /// enabling on v2 the controllers they need; no process moves.
    pub fn update(&self, path: &CgroupPath, resources: &LinuxResources) -> Result<(), CgroupError> {
        match self {
            Cgroups::V1 { .. } => resources::write_v1(self, path, resources),
            Cgroups::V2 { root } => {
                create_v2(root, path, &resources::v2_controllers(resources))?;
                resources::write_v2(&root.join(path.relative()), resources)
            }
        }
    }

    /// The processes in the cgroup (from its first directory's
    /// `cgroup.procs`), e.g. for `ps` or `kill --all`.
    pub fn processes(&self, path: &CgroupPath) -> Result<Vec<Pid>, CgroupError> {
        let Some(dir) = self.directories(path).into_iter().next() else {
            return Ok(Vec::new());
        };
        let file = dir.join("cgroup.procs");
        let text = read_file(&file)?;
        Ok(text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .map(Pid::from_raw)
            .collect())
    }

    /// Removes the cgroup `path` (and any cgroup below it) from every
    /// hierarchy. A cgroup that does not exist is not an error, so `delete`
    /// can run twice. The cgroup must hold no process: a process that is
    /// still exiting is waited for briefly, then the error names the
    /// directory. The `runsc` parent is left in place for other containers.
    pub fn remove(&self, path: &CgroupPath) -> Result<(), CgroupError> {
        for dir in self.directories(path) {
            remove_tree(&dir)?;
        }
        Ok(())
    }
}

/// [`Cgroups::apply`] on the detected cgroup filesystems.
pub fn apply(
    path: &CgroupPath,
    resources: Option<&LinuxResources>,
    pid: Pid,
) -> Result<(), CgroupError> {
    Cgroups::detect()?.apply(path, resources, pid)
}

/// [`Cgroups::remove`] on the detected cgroup filesystems.
pub fn remove(path: &CgroupPath) -> Result<(), CgroupError> {
    Cgroups::detect()?.remove(path)
}

/// Creates each missing level of `path` in one v1 hierarchy. In the cpuset
/// hierarchy a new level gets its parent's `cpuset.cpus` and `cpuset.mems`.
fn create_v1(mount: &Path, path: &CgroupPath, cpuset: bool) -> Result<(), CgroupError> {
    let mut dir = mount.to_path_buf();
    for part in path.relative().components() {
        let parent = dir.clone();
        dir.push(part);
        if make_dir(&dir)? && cpuset {
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if read_file(&dir.join(file))?.trim().is_empty() {
                    let inherited = read_file(&parent.join(file))?;
                    write_file(&dir.join(file), inherited.trim())?;
                }
            }
        }
    }
    Ok(())
}

/// Creates each missing level of `path` in the v2 hierarchy, enabling the
/// `needed` controllers for the children of every level above the leaf.
fn create_v2(root: &Path, path: &CgroupPath, needed: &[&str]) -> Result<(), CgroupError> {
    let mut dir = root.to_path_buf();
    for part in path.relative().components() {
        enable_controllers(&dir, needed)?;
        dir.push(part);
        make_dir(&dir)?;
    }
    Ok(())
}

/// Makes sure each of `needed` is in `dir`'s `cgroup.subtree_control`.
fn enable_controllers(dir: &Path, needed: &[&str]) -> Result<(), CgroupError> {
    if needed.is_empty() {
        return Ok(());
    }
    let available_file = dir.join("cgroup.controllers");
    let available = read_file(&available_file)?;
    let enabled = read_file(&dir.join("cgroup.subtree_control"))?;
    let mut missing = Vec::new();
    for &c in needed {
        if !available.split_whitespace().any(|a| a == c) {
            return Err(CgroupError::MissingController {
                controller: c.to_string(),
                path: available_file,
            });
        }
        if !enabled.split_whitespace().any(|e| e == c) {
            missing.push(format!("+{c}"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    write_file(&dir.join("cgroup.subtree_control"), &missing.join(" "))
}

/// Creates `dir`; true if it did not exist.
fn make_dir(dir: &Path) -> Result<bool, CgroupError> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(CgroupError::Create {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Writes `value` to a cgroup control file in one `write`. The file must
/// exist: cgroupfs creates every control file itself, so a missing one
/// means the controller or feature is absent, and the error names it.
pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(value.as_bytes())
    };
    write().map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        value: value.to_string(),
        source,
    })
}

pub(crate) fn read_file(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Removes a cgroup directory and the cgroups below it, deepest first.
fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Remove {
                path: dir.to_owned(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    // A process that has just been killed stays in cgroup.procs until it
    // is reaped; give it a moment.
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
28 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
29 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
30 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
";

    const UNIFIED: &str = "\
25 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn a_hybrid_host_is_v1_and_its_unified_mount_is_ignored() {
        let Cgroups::V1 { controllers } = Cgroups::from_mountinfo(HYBRID).unwrap() else {
            panic!("not v1");
        };
        assert_eq!(
            controllers.keys().collect::<Vec<_>>(),
            ["cpu", "cpuacct", "memory", "pids"]
        );
        assert_eq!(controllers["cpu"], Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(controllers["cpuacct"], controllers["cpu"]);
    }

    #[test]
    fn a_unified_host_is_v2() {
        assert_eq!(
            Cgroups::from_mountinfo(UNIFIED).unwrap(),
            Cgroups::V2 {
                root: CGROUP_ROOT.into()
            }
        );
    }

    #[test]
    fn no_cgroup_filesystem_is_an_error() {
        let err =
            Cgroups::from_mountinfo("24 30 0:22 / /sys rw,nosuid - sysfs sysfs rw\n").unwrap_err();
        assert!(err.to_string().contains("no cgroup filesystem"), "{err}");
    }

    #[test]
    fn mount_points_with_spaces_are_unescaped() {
        let m = parse_mountinfo("30 25 0:28 / /mnt/my\\040cgroups rw - cgroup cgroup rw,pids\n");
        assert_eq!(m[0].mount_point, Path::new("/mnt/my cgroups"));
    }

    #[test]
    fn co_mounted_controllers_share_one_directory() {
        let cg = Cgroups::from_mountinfo(HYBRID).unwrap();
        let path = CgroupPath::new("/runsc/abc").unwrap();
        assert_eq!(
            cg.directories(&path),
            [
                "/sys/fs/cgroup/cpu,cpuacct/runsc/abc",
                "/sys/fs/cgroup/memory/runsc/abc",
                "/sys/fs/cgroup/pids/runsc/abc",
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            cg.directory_of("memory", &path).unwrap(),
            Path::new("/sys/fs/cgroup/memory/runsc/abc")
        );
        assert_eq!(cg.directory_of("blkio", &path), None);
        let v2 = Cgroups::from_mountinfo(UNIFIED).unwrap();
        assert_eq!(
            v2.directories(&path),
            [PathBuf::from("/sys/fs/cgroup/runsc/abc")]
        );
    }
}
