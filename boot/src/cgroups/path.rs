//! Where a container's cgroup lives: `linux.cgroupsPath` turned into one
//! path below the root of each cgroup hierarchy.

use super::CgroupError;
use std::path::{Component, Path, PathBuf};

/// The parent of cgroups given by a relative path or by none.
pub const PARENT: &str = "runsc";
/// The unit prefix of systemd-style paths that name none.
pub const SYSTEMD_PREFIX: &str = "runsc";
/// The slice of systemd-style paths that name none.
pub const DEFAULT_SLICE: &str = "system.slice";

/// A cgroup, as an absolute path below the root of a hierarchy
/// (`/runsc/ID`, `/system.slice/runsc-ID.scope`). Never the root itself,
/// never with `..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupPath(PathBuf);

impl CgroupPath {
    /// The cgroup of a container from its spec's `linux.cgroupsPath`:
    ///
    /// - none: `/runsc/<id>` (or `/system.slice/runsc-<id>.scope` with
    ///   `systemd`);
    /// - absolute (`/a/b`): used as it is;
    /// - relative (`a/b`): under the `runsc` parent, `/runsc/a/b`;
    /// - `slice:prefix:name` (always with `systemd`, and without it when the
    ///   path has that shape): `/<slice path>/<prefix>-<name>.scope`, where
    ///   `a-b.slice` expands to `a.slice/a-b.slice` as systemd does.
    ///
    /// The systemd form is only mapped to a cgroupfs path: runsc writes the
    /// cgroup directly and does not ask systemd to create the scope, so
    /// systemd does not know about it (it leaves foreign cgroups alone).
    pub fn from_spec(
        cgroups_path: Option<&Path>,
        container_id: &str,
        systemd: bool,
    ) -> Result<CgroupPath, CgroupError> {
        if container_id.is_empty() || container_id.contains('/') || container_id == ".." {
            return Err(bad(container_id, "the container ID cannot name a cgroup"));
        }
        let given = cgroups_path
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty());
        let looks_systemd = |p: &str| !p.starts_with('/') && p.split(':').count() == 3;
        match given {
            None if systemd => Self::systemd(&format!(":{SYSTEMD_PREFIX}:{container_id}")),
            None => Self::clean(&format!("/{PARENT}/{container_id}")),
            Some(p) if systemd || looks_systemd(&p) => Self::systemd(&p),
            Some(p) if p.starts_with('/') => Self::clean(&p),
            Some(p) => Self::clean(&format!("/{PARENT}/{p}")),
        }
    }

    /// An absolute path, checked as [`CgroupPath::from_spec`] does.
    pub fn new(path: &str) -> Result<CgroupPath, CgroupError> {
        if !path.starts_with('/') {
            return Err(bad(path, "a cgroup path must be absolute"));
        }
        Self::clean(path)
    }

    fn clean(path: &str) -> Result<CgroupPath, CgroupError> {
        let mut out = PathBuf::from("/");
        for c in Path::new(path).components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(part) => out.push(part),
                Component::ParentDir | Component::Prefix(_) => {
                    return Err(bad(path, "'..' could leave the cgroup hierarchy"))
                }
            }
        }
        if out == Path::new("/") {
            return Err(bad(path, "refusing to use the root cgroup"));
        }
        Ok(CgroupPath(out))
    }

    fn systemd(spec: &str) -> Result<CgroupPath, CgroupError> {
        let parts: Vec<&str> = spec.split(':').collect();
        let [slice, prefix, name] = parts[..] else {
            return Err(bad(spec, "a systemd cgroup path is slice:prefix:name"));
        };
        if name.is_empty() || name.contains('/') || prefix.contains('/') {
            return Err(bad(spec, "a systemd unit name cannot be empty or hold '/'"));
        }
        let slice = if slice.is_empty() {
            DEFAULT_SLICE
        } else {
            slice
        };
        let mut path =
            expand_slice(slice).ok_or_else(|| bad(spec, "invalid systemd slice name"))?;
        if name.ends_with(".slice") {
            path.push_str(&format!("/{name}"));
        } else if prefix.is_empty() {
            path.push_str(&format!("/{name}.scope"));
        } else {
            path.push_str(&format!("/{prefix}-{name}.scope"));
        }
        Self::clean(&path)
    }

    /// The path, starting with `/`.
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// The path without its leading `/`, to join onto a mount point.
    pub fn relative(&self) -> &Path {
        self.0.strip_prefix("/").unwrap_or(&self.0)
    }
}

impl std::fmt::Display for CgroupPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

fn bad(path: &str, reason: &'static str) -> CgroupError {
    CgroupError::BadPath {
        path: path.to_string(),
        reason,
    }
}

/// `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` (the root
/// slice) → an empty string. `None` for a name systemd would refuse.
fn expand_slice(slice: &str) -> Option<String> {
    let stem = slice.strip_suffix(".slice")?;
    if slice.contains('/') {
        return None;
    }
    if stem == "-" {
        return Some(String::new());
    }
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        return None;
    }
    let mut out = String::new();
    let mut prefix = String::new();
    for (i, part) in stem.split('-').enumerate() {
        if i > 0 {
            prefix.push('-');
        }
        prefix.push_str(part);
        out.push_str(&format!("/{prefix}.slice"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: Option<&str>, systemd: bool) -> Result<String, String> {
        CgroupPath::from_spec(p.map(Path::new), "abc", systemd)
            .map(|c| c.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn no_path_goes_under_the_runsc_parent() {
        assert_eq!(path(None, false).unwrap(), "/runsc/abc");
        assert_eq!(path(Some(""), false).unwrap(), "/runsc/abc");
    }

    #[test]
    fn absolute_paths_are_kept_and_relative_ones_go_under_runsc() {
        assert_eq!(path(Some("/docker/abc"), false).unwrap(), "/docker/abc");
        assert_eq!(path(Some("/a//b/./c/"), false).unwrap(), "/a/b/c");
        assert_eq!(path(Some("pod1/abc"), false).unwrap(), "/runsc/pod1/abc");
    }

    #[test]
    fn escapes_and_the_root_are_refused() {
        assert!(path(Some("/a/../../etc"), false)
            .unwrap_err()
            .contains("'..'"));
        assert!(path(Some("../x"), false).unwrap_err().contains("'..'"));
        assert!(path(Some("/"), false).unwrap_err().contains("root cgroup"));
        assert!(CgroupPath::from_spec(None, "a/b", false).is_err());
        assert!(CgroupPath::from_spec(None, "", false).is_err());
    }

    #[test]
    fn systemd_paths_become_slices_and_scopes() {
        assert_eq!(
            path(Some("system.slice:docker:abc"), true).unwrap(),
            "/system.slice/docker-abc.scope"
        );
        assert_eq!(
            path(Some("machine-pod1.slice:libpod:abc"), true).unwrap(),
            "/machine.slice/machine-pod1.slice/libpod-abc.scope"
        );
        assert_eq!(
            path(Some(":crio:abc"), true).unwrap(),
            "/system.slice/crio-abc.scope"
        );
        assert_eq!(path(Some("-.slice::abc"), true).unwrap(), "/abc.scope");
        assert_eq!(
            path(Some("user.slice:x:sub.slice"), true).unwrap(),
            "/user.slice/sub.slice"
        );
        assert_eq!(path(None, true).unwrap(), "/system.slice/runsc-abc.scope");
        // Without --systemd-cgroup, the same shape is still understood.
        assert_eq!(
            path(Some("system.slice:docker:abc"), false).unwrap(),
            "/system.slice/docker-abc.scope"
        );
    }

    #[test]
    fn bad_systemd_paths_say_why() {
        assert!(path(Some("/a/b"), true)
            .unwrap_err()
            .contains("slice:prefix:name"));
        assert!(path(Some("a.slice:x:"), true)
            .unwrap_err()
            .contains("unit name"));
        assert!(path(Some("a--b.slice:x:y"), true)
            .unwrap_err()
            .contains("slice name"));
        assert!(path(Some("notaslice:x:y"), true)
            .unwrap_err()
            .contains("slice name"));
    }

    #[test]
    fn relative_strips_the_leading_slash() {
        let p = CgroupPath::new("/runsc/x").unwrap();
        assert_eq!(p.relative(), Path::new("runsc/x"));
        assert!(CgroupPath::new("runsc/x").is_err());
    }
}
