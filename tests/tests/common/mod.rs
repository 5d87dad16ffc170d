//! What the OCI runtime tests share: the `runsc` binary, a scratch
//! directory, a bundle whose root filesystem is a static busybox, and a
//! way to run `runsc` with a timeout.
//!
//! The tests need root (namespaces, cgroups) and busybox (`scripts/setup`
//! puts a static one at `target/test-tools/busybox`; `BUSYBOX` overrides);
//! without them they say why on stderr and pass without checking anything.

#![allow(dead_code)]

pub mod podman;

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// `--platform NAME` when the environment variable `RUNSC_PLATFORM` names
/// a platform: the container tests then run on it.
pub fn platform_flags() -> Vec<String> {
    match std::env::var("RUNSC_PLATFORM") {
        Ok(p) if !p.trim().is_empty() => vec!["--platform".to_string(), p.trim().to_string()],
        _ => Vec::new(),
    }
}

/// The `runsc` binary: `RUNSC_BIN`, or the one built beside this test
/// (`<target>/<profile>/runsc`), or `<target>/debug/runsc`.
pub fn runsc_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RUNSC_BIN") {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile) = exe.parent().and_then(Path::parent) {
            candidates.push(profile.join("runsc"));
        }
    }
    candidates.push(target_dir().join("debug/runsc"));
    candidates.push(target_dir().join("release/runsc"));
    for c in &candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!(
        "no runsc binary (run `cargo build -p runsc` first); tried {:?}",
        candidates
    );
}

/// A static busybox, if this machine has one.
pub fn busybox() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BUSYBOX") {
        return Some(PathBuf::from(p));
    }
    [
        workspace_root().join("target/test-tools/busybox"),
        target_dir().join("test-tools/busybox"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Whether the test can run here; prints why not.
pub fn can_run(test: &str) -> bool {
    if !nix_is_root() {
        eprintln!("SKIP {test}: needs root (namespaces and cgroups)");
        return false;
    }
    if busybox().is_none() {
        eprintln!("SKIP {test}: no static busybox (run scripts/setup, or set BUSYBOX)");
        return false;
    }
    true
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A scratch directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("runsc-oci-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Applets linked into the test root filesystem.
const APPLETS: &[&str] = &[
    "sh", "echo", "sleep", "cat", "true", "false", "ls", "env", "id", "kill", "test", "printf",
    "yes", "head", "wc", "hostname", "pwd", "stty", "tty", "mkdir", "mv", "rm", "cut", "grep",
    "touch", "chmod", "chown",
];

/// A bundle in a scratch directory: `rootfs/bin/busybox` and its applets,
/// and a `config.json` to edit.
pub struct Bundle {
    pub tmp: TempDir,
    pub spec: Value,
}

/// A test that failed half-way leaves its containers running: dropped, a
/// bundle deletes with force every container still under its `--root`, so
/// no sandbox outlives its test.
impl Drop for Bundle {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.root()) else {
            return;
        };
        for e in entries.flatten() {
            if e.path().join("state.json").exists() {
                let id = e.file_name();
                self.runsc(&["delete", "--force", &id.to_string_lossy()]);
            }
        }
    }
}

impl Bundle {
    /// A bundle whose process runs `args` without a terminal.
    pub fn new(tag: &str, args: &[&str]) -> Bundle {
        let tmp = TempDir::new(tag);
        let bin = tmp.path().join("bundle/rootfs/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(busybox().expect("busybox checked"), bin.join("busybox")).unwrap();
        for a in APPLETS {
            std::os::unix::fs::symlink("busybox", bin.join(a)).unwrap();
        }
        std::fs::create_dir_all(tmp.path().join("root")).unwrap();
        let spec = serde_json::json!({
            "ociVersion": "1.1.0",
            "process": {
                "terminal": false,
                "user": { "uid": 0, "gid": 0 },
                "args": args,
                "env": ["PATH=/bin", "HOME=/"],
                "cwd": "/",
                "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
                "noNewPrivileges": true
            },
            "root": { "path": "rootfs", "readonly": true },
            "hostname": "oci-test",
            "linux": {
                "namespaces": [
                    { "type": "pid" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }
                ]
            }
        });
        let b = Bundle { tmp, spec };
        b.save();
        b
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("bundle")
    }

    /// The `--root` of this test's containers.
    pub fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    /// A path in the scratch directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes `spec` to `config.json`.
    pub fn save(&self) {
        std::fs::write(
            self.dir().join("config.json"),
            serde_json::to_vec_pretty(&self.spec).unwrap(),
        )
        .unwrap();
    }

    /// `runsc --root <root> ARGS` with a timeout, output captured.
    pub fn runsc(&self, args: &[&str]) -> Run {
        let root = self.root();
        let mut full = vec!["--root", root.to_str().unwrap()];
        full.extend_from_slice(args);
        run(
            Command::new(runsc_bin()).args(platform_flags()).args(&full),
            Duration::from_secs(30),
        )
    }

    /// `runsc --root <root> ARGS` whose stdio are files (`<tag>.out`,
    /// `<tag>.err`), for commands that leave a process holding them (a
    /// detached exec): waiting for a pipe's end would wait for that process.
    pub fn runsc_detached(&self, tag: &str, args: &[&str]) -> Run {
        let out = std::fs::File::create(self.file(&format!("{tag}.out"))).unwrap();
        let err = std::fs::File::create(self.file(&format!("{tag}.err"))).unwrap();
        let status = Command::new(runsc_bin())
            .args(platform_flags())
            .arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .expect("run runsc");
        Run {
            status,
            stdout: std::fs::read_to_string(self.file(&format!("{tag}.out"))).unwrap_or_default(),
            stderr: std::fs::read_to_string(self.file(&format!("{tag}.err"))).unwrap_or_default(),
        }
    }

    /// `runsc restore --detach` of container `id` from `image` with this
    /// bundle (the container is created by the restore, as engines call
    /// it); its output goes to `tag.out`/`tag.err`.
    pub fn restore_detached(&self, id: &str, image: &Path, tag: &str) -> Run {
        let bundle = self.dir();
        self.runsc_detached(
            tag,
            &[
                "restore",
                "--detach",
                "--image-path",
                image.to_str().unwrap(),
                "--bundle",
                bundle.to_str().unwrap(),
                id,
            ],
        )
    }

    /// `runsc create` for container `id`, the container's stdio (and the
    /// command's own messages) going to files `<id>.out` and `<id>.err`:
    /// a pipe would stay open as long as the container runs.
    pub fn create(&self, id: &str, extra: &[&str]) -> Run {
        let out = std::fs::File::create(self.file(&format!("{id}.out"))).unwrap();
        let err = std::fs::File::create(self.file(&format!("{id}.err"))).unwrap();
        let mut args = vec![
            "--root".to_string(),
            self.root().to_str().unwrap().to_string(),
            "create".into(),
            "--bundle".into(),
            self.dir().to_str().unwrap().into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(id.into());
        let status = Command::new(runsc_bin())
            .args(platform_flags())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .expect("run runsc create");
        Run {
            status,
            stdout: String::new(),
            stderr: std::fs::read_to_string(self.file(&format!("{id}.err"))).unwrap_or_default(),
        }
    }

    /// What container `id` (made by [`Bundle::create`]) wrote to stdout.
    pub fn output_of(&self, id: &str) -> String {
        std::fs::read_to_string(self.file(&format!("{id}.out"))).unwrap_or_default()
    }

    /// The OCI state of `id`, or the error text.
    pub fn state(&self, id: &str) -> Result<Value, String> {
        let r = self.runsc(&["state", id]);
        if r.code() != 0 {
            return Err(r.stderr);
        }
        Ok(serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout)))
    }

    pub fn status(&self, id: &str) -> String {
        match self.state(id) {
            Ok(v) => v["status"].as_str().unwrap_or_default().to_string(),
            Err(e) => panic!("state {id}: {e}"),
        }
    }

    /// Waits until `id` has status `want` (and exists).
    pub fn wait_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = match self.state(id) {
                Ok(v) => v["status"].as_str().unwrap_or_default().to_string(),
                Err(e) => e,
            };
            if now == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "container {id} is still {now}, not {want}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deletes every container left (for the end of a test).
    pub fn clean(&self, ids: &[&str]) {
        for id in ids {
            let _ = self.runsc(&["delete", "--force", id]);
        }
    }
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.status
            .code()
            .unwrap_or_else(|| 128 + self.status.signal().unwrap_or(0))
    }

    /// Asserts success, showing what went wrong otherwise.
    pub fn ok(self) -> Run {
        assert_eq!(self.code(), 0, "failed: {self:#?}");
        self
    }
}

/// Runs `cmd` with a timeout (then it is killed and the test fails).
pub fn run(cmd: &mut Command, timeout: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// A line of `/proc/<pid>/status`, e.g. `Seccomp`.
pub fn status_field(pid: i32, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
}

/// Makes this test process the reaper of orphans (detached exec holders,
/// sandboxes whose `runsc create` exited), so that it can wait for them.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Waits for process `pid` (a child or an orphan we reap) and returns its
/// exit status as a shell reports it.
pub fn wait_pid(pid: i32, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            if libc::WIFEXITED(status) {
                return libc::WEXITSTATUS(status);
            }
            return 128 + libc::WTERMSIG(status);
        }
        assert!(r == 0, "waitpid {pid}: {}", std::io::Error::last_os_error());
        assert!(
            Instant::now() < deadline,
            "process {pid} did not exit in time"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
