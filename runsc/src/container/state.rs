//! The state file: `<root>/<id>/state.json`, written by the commands that
//! change a container and read by all of them.
//!
//! A state file is replaced whole, through a temporary file and a rename,
//! so that a reader sees either the old state or the new one, never half
//! of it. Container directories are private to their owner (0700).

use super::id::{validate_id, InvalidId};
use super::status::ContainerStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "state.json";

/// What the runtime remembers about a container between commands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The OCI runtime spec version the container was created with.
    pub oci_version: String,
    pub id: String,
    pub status: ContainerStatus,
    /// The sandbox process, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// The bundle directory, absolute.
    pub bundle: PathBuf,
    /// The root filesystem, absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<PathBuf>,
    /// When the container was created, RFC 3339 in UTC.
    pub created: String,
    /// The spec's annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The user who created the container, by name (or `#uid`).
    pub owner: String,
    /// The sandbox's control socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_socket: Option<PathBuf>,
    /// When the sandbox process started (field 22 of `/proc/<pid>/stat`),
    /// which tells it apart from a later process given the same PID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    /// The sandbox's cgroup, removed by `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<PathBuf>,
    /// The spec's hooks, for those that run after `create` (poststart,
    /// poststop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
}

impl State {
    /// The status as it is now: a container whose sandbox process is gone
    /// is stopped, whatever the file says.
    pub fn observed_status(&self) -> ContainerStatus {
        match (self.status, self.pid) {
            (ContainerStatus::Stopped, _) => ContainerStatus::Stopped,
            (_, Some(pid)) if !process_alive(pid, self.pid_start) => ContainerStatus::Stopped,
            (status, _) => status,
        }
    }

    /// Whether the sandbox process still runs (an exited one may still be
    /// a zombie that its parent has not reaped; that counts as gone).
    pub fn sandbox_alive(&self) -> bool {
        self.pid
            .is_some_and(|pid| process_alive(pid, self.pid_start))
    }

    /// The state as `runsc state` prints it and engines read it.
    pub fn oci_state(&self) -> OciState<'_> {
        let status = self.observed_status();
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            status,
            pid: match status {
                ContainerStatus::Stopped => 0,
                _ => self.pid.unwrap_or(0),
            },
            bundle: &self.bundle,
            rootfs: self.rootfs.as_deref(),
            created: &self.created,
            owner: &self.owner,
            annotations: &self.annotations,
        }
    }
}

/// The OCI state of a container, with what runc adds to it (rootfs,
/// created, owner). `pid` is 0 once the container has stopped.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: ContainerStatus,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<&'a Path>,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    InvalidId(#[from] InvalidId),

    #[error("container {id:?} does not exist (no state under {})", root.display())]
    NotFound { id: String, root: PathBuf },

    #[error("container {id:?} already exists (state under {})", root.display())]
    Exists { id: String, root: PathBuf },

    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("state file {} is corrupt", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot remove {}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The directory given by `--root`, holding one directory per container.
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of container `id`, which must be a valid ID.
    pub fn container_dir(&self, id: &str) -> Result<PathBuf, InvalidId> {
        validate_id(id)?;
        Ok(self.root.join(id))
    }

    /// Reads the state of container `id`.
    pub fn load(&self, id: &str) -> Result<State, StateError> {
        let path = self.container_dir(id)?.join(STATE_FILE);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(StateError::NotFound {
                    id: id.to_string(),
                    root: self.root.clone(),
                })
            }
            Err(source) => return Err(StateError::Read { path, source }),
        };
        serde_json::from_slice(&text).map_err(|source| StateError::Corrupt { path, source })
    }

    /// Makes the directory of a new container and writes its first state;
    /// fails if a container with that ID exists.
    pub fn create(&self, state: &State) -> Result<(), StateError> {
        let dir = self.container_dir(&state.id)?;
        make_private_dirs(&self.root)?;
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StateError::Exists {
                    id: state.id.clone(),
                    root: self.root.clone(),
                })
            }
            Err(source) => return Err(StateError::Write { path: dir, source }),
        }
        self.save(state)
    }

    /// Replaces the state of an existing container.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        let dir = self.container_dir(&state.id)?;
        let path = dir.join(STATE_FILE);
        let temp = dir.join(format!(".{STATE_FILE}.{}", std::process::id()));
        let write = || -> io::Result<()> {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)?;
            serde_json::to_writer(&mut file, state)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&temp, &path)
        };
        write().map_err(|source| {
            let _ = fs::remove_file(&temp);
            StateError::Write { path, source }
        })
    }

    /// Removes the directory of container `id` and everything in it.
    /// Succeeds if it is already gone.
    pub fn remove(&self, id: &str) -> Result<(), StateError> {
        let dir = self.container_dir(id)?;
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Remove { path: dir, source }),
        }
    }

    /// The state of every container, sorted by ID. A container whose state
    /// cannot be read is reported as an error in its place rather than
    /// hiding the others; a directory being created (no state yet) is
    /// skipped. Fails only if the root itself cannot be read.
    pub fn list(&self) -> Result<Vec<Result<State, StateError>>, StateError> {
        let entries = fs::read_dir(&self.root).map_err(|source| StateError::Read {
            path: self.root.clone(),
            source,
        })?;
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StateError::Read {
                path: self.root.clone(),
                source,
            })?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if let (true, Some(id)) = (is_dir, entry.file_name().to_str()) {
                if validate_id(id).is_ok() {
                    ids.push(id.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids
            .iter()
            .map(|id| self.load(id))
            .filter(|loaded| !matches!(loaded, Err(StateError::NotFound { .. })))
            .collect())
    }
}

/// Makes `dir` and its missing parents, each new one 0700.
fn make_private_dirs(dir: &Path) -> Result<(), StateError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StateError::Write {
            path: dir.to_path_buf(),
            source,
        })
}

/// Whether process `pid` runs: it exists, is not a zombie, and (when
/// `start` is known) started when the recorded one did. Without a readable
/// `/proc`, any process with that PID counts (one we may not signal too).
pub fn process_alive(pid: i32, start: Option<u64>) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    if pid <= 0 {
        return false;
    }
    match proc_stat(pid) {
        Ok(stat) => !matches!(stat.state, 'Z' | 'X') && start.is_none_or(|s| s == stat.start),
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(_) => matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM)),
    }
}

/// The fields of `/proc/<pid>/stat` the runtime looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// R, S, D, T, Z, X...
    pub state: char,
    /// Start time in clock ticks after boot.
    pub start: u64,
}

/// Reads `/proc/<pid>/stat`.
pub fn proc_stat(pid: i32) -> io::Result<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_proc_stat(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/{pid}/stat is not as expected"),
        )
    })
}

/// Parses the text of `/proc/<pid>/stat`; the command name may hold
/// spaces and parentheses, so fields are counted from its last `)`.
fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 is the state; the start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start })
}

/// The name of the user `uid`, or `#uid` if it has none (as runc shows it).
pub fn owner_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("#{uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn sample(id: &str) -> State {
        State {
            oci_version: "1.1.0".into(),
            id: id.into(),
            status: ContainerStatus::Created,
            pid: Some(std::process::id() as i32),
            bundle: "/bundles/web".into(),
            rootfs: Some("/bundles/web/rootfs".into()),
            created: "2024-05-01T12:00:00.000000000Z".into(),
            annotations: BTreeMap::from([("org.example/key".into(), "value".into())]),
            owner: "root".into(),
            control_socket: Some(format!("/run/runsc/{id}/control.sock").into()),
            ..Default::default()
        }
    }

    #[test]
    fn round_trip() {
        let dir = TempDir::new();
        let store = StateDir::new(dir.path().join("root"));
        let state = sample("web");
        store.create(&state).unwrap();
        assert_eq!(store.load("web").unwrap(), state);

        let mut changed = state.clone();
        changed.status = ContainerStatus::Running;
        changed.annotations.clear();
        changed.control_socket = None;
        store.save(&changed).unwrap();
        assert_eq!(store.load("web").unwrap(), changed);
    }

    #[test]
    fn files_are_private_and_no_temporary_is_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let store = StateDir::new(dir.path().join("root"));
        store.create(&sample("web")).unwrap();
        let container = dir.path().join("root/web");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&container), 0o700);
        assert_eq!(mode(&container.join(STATE_FILE)), 0o600);
        let names: Vec<_> = fs::read_dir(&container)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [STATE_FILE]);
    }

    #[test]
    fn field_names_on_disk() {
        let value = serde_json::to_value(sample("web")).unwrap();
        for key in [
            "ociVersion",
            "id",
            "status",
            "pid",
            "bundle",
            "rootfs",
            "created",
            "annotations",
            "owner",
            "controlSocket",
        ] {
            assert!(value.get(key).is_some(), "{key}");
        }
        assert_eq!(value["status"], "created");
    }

    #[test]
    fn create_refuses_an_existing_container() {
        let dir = TempDir::new();
        let store = StateDir::new(dir.path());
        store.create(&sample("web")).unwrap();
        let err = store.create(&sample("web")).unwrap_err();
        assert!(matches!(err, StateError::Exists { .. }), "{err}");
    }

    #[test]
    fn missing_container_is_named() {
        let dir = TempDir::new();
        let store = StateDir::new(dir.path());
        let err = store.load("ghost").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "container \"ghost\" does not exist (no state under {})",
                dir.path().display()
            )
        );
    }

    #[test]
    fn invalid_ids_never_reach_the_file_system() {
        let dir = TempDir::new();
        let store = StateDir::new(dir.path());
        assert!(matches!(
            store.load("../etc"),
            Err(StateError::InvalidId(_))
        ));
        assert!(matches!(store.remove(".."), Err(StateError::InvalidId(_))));
    }

    #[test]
    fn corrupt_state_is_reported() {
        let dir = TempDir::new();
        let store = StateDir::new(dir.path());
        fs::create_dir(dir.path().join("web")).unwrap();
        fs::write(dir.path().join("web").join(STATE_FILE), "{ not json").unwrap();
        let err = store.load("web").unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("web/state.json is corrupt"));
    }

    #[test]
    fn list_sorts_and_skips_what_is_not_a_container() {
        let dir = TempDir::new();
        let store = StateDir::new(dir.path());
        store.create(&sample("b")).unwrap();
        store.create(&sample("a")).unwrap();
        fs::create_dir(dir.path().join("half-created")).unwrap();
        fs::write(dir.path().join("stray-file"), "").unwrap();
        fs::create_dir(dir.path().join("broken")).unwrap();
        fs::write(dir.path().join("broken").join(STATE_FILE), "[").unwrap();

        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].as_ref().unwrap().id, "a");
        assert_eq!(listed[1].as_ref().unwrap().id, "b");
        assert!(matches!(listed[2], Err(StateError::Corrupt { .. })));
        let names: Vec<_> = listed
            .iter()
            .flatten()
            .map(|state| state.id.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn remove_is_idempotent() {
        let dir = TempDir::new();
        let store = StateDir::new(dir.path());
        store.create(&sample("web")).unwrap();
        store.remove("web").unwrap();
        assert!(!dir.path().join("web").exists());
        store.remove("web").unwrap();
    }

    #[test]
    fn a_container_whose_sandbox_is_gone_is_stopped() {
        let mut state = sample("web");
        state.status = ContainerStatus::Running;
        assert_eq!(state.observed_status(), ContainerStatus::Running);
        assert_eq!(state.oci_state().pid, std::process::id() as i32);

        // PIDs never go this high (the kernel's limit is 2^22).
        state.pid = Some(i32::MAX);
        assert_eq!(state.observed_status(), ContainerStatus::Stopped);
        let oci = state.oci_state();
        assert_eq!((oci.status, oci.pid), (ContainerStatus::Stopped, 0));

        state.pid = None;
        state.status = ContainerStatus::Creating;
        assert_eq!(state.observed_status(), ContainerStatus::Creating);
    }

    #[test]
    fn oci_state_shape() {
        let state = sample("web");
        let value = serde_json::to_value(state.oci_state()).unwrap();
        assert_eq!(value["ociVersion"], "1.1.0");
        assert_eq!(value["id"], "web");
        assert_eq!(value["status"], "created");
        assert_eq!(value["bundle"], "/bundles/web");
        assert_eq!(value["annotations"]["org.example/key"], "value");
        assert!(value.get("controlSocket").is_none());
    }

    #[test]
    fn proc_stat_fields() {
        let text = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 200 18446744073709551615";
        assert_eq!(
            parse_proc_stat(text),
            Some(ProcStat {
                state: 'S',
                start: 123456
            })
        );
        assert_eq!(parse_proc_stat("1 (x) R"), None);
        let me = proc_stat(std::process::id() as i32).unwrap();
        assert!(me.state != 'Z');
        assert!(process_alive(std::process::id() as i32, Some(me.start)));
        assert!(!process_alive(
            std::process::id() as i32,
            Some(me.start + 1)
        ));
    }

    #[test]
    fn a_zombie_is_not_alive() {
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Unreaped until `child` is waited for.
        for _ in 0..200 {
            if proc_stat(pid).unwrap().state == 'Z' {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!process_alive(pid, None));
        drop(child);
    }

    #[test]
    fn owner_names() {
        assert_eq!(owner_name(0), "root");
        assert_eq!(owner_name(4_000_000_000), "#4000000000");
    }
}
