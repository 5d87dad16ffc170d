//! The columns of the table: where a workload runs. Natively; in a `runc`
//! container; in `runsc do`; in a `runsc` container. Each column is probed
//! once at the start (`bench/workloads/probe.c` run there) to learn what it
//! can do, so that rows needing what it lacks are n/a rather than FAILED,
//! and start to run by themselves once the capability lands.

use crate::process::{self, Child, Finished};
use crate::workload::{last_lines, parse_probe, Cap, CapState, Context, RunError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Native,
    /// `runc run` of a bundle the harness builds.
    Runc,
    /// `runsc do CMD` on the host's root.
    RunscDo,
    /// `runsc run` of the same bundle runc runs.
    RunscRun,
}

impl Kind {
    pub fn is_container(self) -> bool {
        matches!(self, Kind::Runc | Kind::RunscRun)
    }
}

/// What the probe found a column to be.
#[derive(Clone, Debug)]
pub enum Status {
    Ready(BTreeMap<Cap, CapState>),
    /// Not usable here (not installed, not implemented yet): its cells are
    /// n/a with this reason.
    Unavailable(String),
    /// Present but not working: its cells are FAILED with this reason.
    Broken(String),
}

/// One column.
pub struct Runtime {
    /// Stable name: the JSON key.
    pub id: String,
    /// Column heading.
    pub title: String,
    pub kind: Kind,
    /// The runc or runsc binary (nothing for native).
    program: PathBuf,
    /// Flags given before the command (`--root`, `--platform`).
    global: Vec<String>,
    pub status: Status,
}

/// Where the workloads are inside a container's rootfs.
const CONTAINER_DIR: &str = "/bench";

/// The environment every workload gets, in every column.
pub fn workload_env() -> Vec<(String, String)> {
    [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("HOME", "/root"),
        ("LC_ALL", "C"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Runtime {
    pub fn native() -> Runtime {
        Runtime::new("native", "native", Kind::Native, PathBuf::new(), Vec::new())
    }

    /// A runc column; `None` for `program` when runc is not installed.
    pub fn runc(cx: &Context, program: Option<PathBuf>) -> Runtime {
        let state = cx.scratch.join("state/runc");
        let mut runtime = Runtime::new(
            "runc",
            "runc",
            Kind::Runc,
            program.clone().unwrap_or_default(),
            vec!["--root".into(), state.display().to_string()],
        );
        if program.is_none() {
            runtime.status =
                Status::Unavailable("runc not installed (apt-get install runc)".into());
        } else if !is_root() {
            runtime.status = Status::Unavailable("runc needs root".into());
        }
        runtime
    }

    /// The `runsc do` and `runsc run` columns for `program`, on the
    /// default platform or on `platform`.
    pub fn runsc(
        cx: &Context,
        program: &Result<PathBuf, String>,
        platform: Option<&str>,
    ) -> [Runtime; 2] {
        let suffix = platform.map(|p| format!("-{p}")).unwrap_or_default();
        let title_suffix = platform.map(|p| format!(" ({p})")).unwrap_or_default();
        let mut global = Vec::new();
        if let Some(platform) = platform {
            global.extend(["--platform".to_string(), platform.to_string()]);
        }
        let state = cx.scratch.join(format!("state/runsc{suffix}"));
        let mut run_global = vec!["--root".to_string(), state.display().to_string()];
        run_global.extend(global.iter().cloned());
        let binary = program.clone().unwrap_or_default();
        let mut columns = [
            Runtime::new(
                &format!("runsc-do{suffix}"),
                &format!("runsc do{title_suffix}"),
                Kind::RunscDo,
                binary.clone(),
                global,
            ),
            Runtime::new(
                &format!("runsc-run{suffix}"),
                &format!("runsc run{title_suffix}"),
                Kind::RunscRun,
                binary,
                run_global,
            ),
        ];
        let unavailable = match program {
            Err(why) => Some(why.clone()),
            Ok(binary) if platform.is_some() && !has_platform_flag(binary) => {
                Some("this runsc has no --platform flag".to_string())
            }
            Ok(_) => None,
        };
        if let Some(why) = unavailable {
            for column in &mut columns {
                column.status = Status::Unavailable(why.clone());
            }
        }
        columns
    }

    fn new(id: &str, title: &str, kind: Kind, program: PathBuf, global: Vec<String>) -> Runtime {
        Runtime {
            id: id.to_string(),
            title: title.to_string(),
            kind,
            program,
            global,
            status: Status::Ready(BTreeMap::new()),
        }
    }

    /// The runc or runsc binary of this column.
    pub fn program(&self) -> Option<&Path> {
        (self.kind != Kind::Native && !self.program.as_os_str().is_empty())
            .then_some(self.program.as_path())
    }

    /// Runs the probe here, unless the column is already known to be
    /// unusable, and records what it found.
    pub fn probe(&mut self, cx: &Context) {
        if !matches!(self.status, Status::Ready(_)) {
            return;
        }
        let argv = [self.bin(cx, "probe")];
        let probe_timeout = cx.timeout.min(Duration::from_secs(60));
        let run = match self.spawn(cx, &argv, false) {
            Ok(spawned) => spawned.wait(probe_timeout),
            Err(err) => Err(err),
        };
        self.status = match run {
            Ok(done) if done.status.success() => match parse_probe(&done.stdout) {
                Ok(caps) => Status::Ready(caps),
                Err(why) => Status::Broken(why),
            },
            Ok(done) => {
                let why = last_lines(&done.stderr, 2);
                let why = if why.is_empty() {
                    format!("the probe ended with {}", done.status)
                } else {
                    why
                };
                self.failed_probe(why)
            }
            Err(RunError::TimedOut(after)) => {
                Status::Broken(format!("the probe timed out after {}s", after.as_secs()))
            }
            Err(err) => self.failed_probe(err.to_string()),
        };
    }

    /// What a column whose probe failed is: n/a if the runtime says the
    /// command is not implemented yet, or for runc (which is not ours to
    /// fix); FAILED otherwise.
    fn failed_probe(&self, why: String) -> Status {
        if why.contains("not implemented") {
            Status::Unavailable(format!("{}: {}", self.title, why))
        } else if self.kind == Kind::Runc {
            Status::Unavailable(format!("runc cannot run a container here: {why}"))
        } else {
            Status::Broken(format!("the probe failed: {why}"))
        }
    }

    /// The path of a compiled workload as this column sees it.
    pub fn bin(&self, cx: &Context, name: &str) -> String {
        self.inside(cx, "bin", name)
    }

    /// The path of a data file as this column sees it.
    pub fn data(&self, cx: &Context, name: &str) -> String {
        self.inside(cx, "data", name)
    }

    fn inside(&self, cx: &Context, dir: &str, name: &str) -> String {
        if self.kind.is_container() {
            format!("{CONTAINER_DIR}/{dir}/{name}")
        } else {
            cx.work.join(dir).join(name).display().to_string()
        }
    }

    /// Starts `argv` in this column. With `pid_file`, container runtimes
    /// are asked to write the PID of the container's first process (runc)
    /// or of the sandbox (runsc).
    pub fn spawn(
        &self,
        cx: &Context,
        argv: &[String],
        pid_file: bool,
    ) -> Result<Spawned<'_>, RunError> {
        let env = workload_env();
        let mut container = None;
        let mut pid_path = None;
        let mut command = match self.kind {
            Kind::Native => {
                let mut command = Command::new(&argv[0]);
                command.args(&argv[1..]);
                command
            }
            Kind::RunscDo => {
                let mut command = Command::new(&self.program);
                command.args(&self.global).arg("do").args(argv);
                command
            }
            Kind::Runc | Kind::RunscRun => {
                let id = next_container_id();
                let bundle = cx.scratch.join("bundles").join(&id);
                std::fs::create_dir_all(&bundle)
                    .map_err(|err| RunError::Failed(format!("cannot make a bundle: {err}")))?;
                let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let config = bundle_config(argv, &env, &cx.rootfs, &cx.host_binds);
                std::fs::write(bundle.join("config.json"), config.to_string())
                    .map_err(|err| RunError::Failed(format!("cannot write config.json: {err}")))?;
                let mut command = Command::new(&self.program);
                command
                    .args(&self.global)
                    .arg("run")
                    .arg("--bundle")
                    .arg(&bundle);
                if pid_file {
                    let path = bundle.join("pid");
                    command.arg("--pid-file").arg(&path);
                    pid_path = Some(path);
                }
                command.arg(&id);
                container = Some((id, bundle));
                command
            }
        };
        command.env_clear().envs(env);
        match Child::spawn(command) {
            Ok(child) => Ok(Spawned {
                runtime: self,
                child,
                container,
                pid_path,
            }),
            Err(err) => {
                Spawned::cleanup_container(self, container.as_ref());
                let what = if self.kind == Kind::Native {
                    argv[0].clone()
                } else {
                    self.program.display().to_string()
                };
                Err(RunError::Failed(format!("cannot start {what}: {err}")))
            }
        }
    }

    /// Runs `argv` here to the end, or kills it after the run timeout.
    pub fn run(&self, cx: &Context, argv: &[String]) -> Result<Finished, RunError> {
        self.spawn(cx, argv, false)?.wait(cx.timeout)
    }

    /// The state directory passed as `--root`, if one is.
    pub fn state_root(&self) -> Option<&Path> {
        let i = self.global.iter().position(|a| a == "--root")?;
        self.global.get(i + 1).map(Path::new)
    }

    /// `program global ARGS...`, for the container runtimes' own commands
    /// (`delete`, `kill`, `checkpoint`).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.global).args(args);
        command.env_clear().envs(workload_env());
        command
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether `runsc --help` lists a `--platform` flag. runsc drops global
/// flags it does not know, so passing one it lacks would silently measure
/// the default platform under another name.
fn has_platform_flag(runsc: &Path) -> bool {
    let mut command = Command::new(runsc);
    command.arg("--help");
    process::run(command, Duration::from_secs(30))
        .map(|done| done.stdout.contains("--platform") || done.stderr.contains("--platform"))
        .unwrap_or(false)
}

pub fn next_container_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "bench-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A workload started in some column.
pub struct Spawned<'r> {
    runtime: &'r Runtime,
    child: Child,
    /// The container's ID and bundle directory, for container columns.
    container: Option<(String, PathBuf)>,
    pid_path: Option<PathBuf>,
}

/// How long the container runtimes' own `kill` and `delete` may take.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(20);

impl Spawned<'_> {
    /// Waits for the end, at most until `timeout` after the start; kills
    /// everything on timeout. The container, if any, is deleted after.
    pub fn wait(mut self, timeout: Duration) -> Result<Finished, RunError> {
        match self.child.wait_until(timeout) {
            Ok(Some((status, elapsed))) => {
                let Spawned {
                    runtime,
                    child,
                    container,
                    ..
                } = self;
                let done = child.finish(status, elapsed);
                Spawned::cleanup_container(runtime, container.as_ref());
                Ok(done)
            }
            Ok(None) => {
                self.stop();
                Err(RunError::TimedOut(timeout))
            }
            Err(err) => {
                self.stop();
                Err(RunError::Failed(format!("cannot wait: {err}")))
            }
        }
    }

    /// Whether the started process has exited.
    pub fn has_exited(&mut self) -> bool {
        self.child.has_exited()
    }

    /// The process whose tree holds the workload: the sandbox or the
    /// container's first process if the runtime wrote a PID file, else the
    /// process the harness started. `None` while a PID file is awaited.
    pub fn root_pid(&self) -> Option<i32> {
        match &self.pid_path {
            None => Some(self.child.pid()),
            Some(path) => std::fs::read_to_string(path).ok()?.trim().parse().ok(),
        }
    }

    /// Kills the workload and everything under it, and deletes the
    /// container, if any.
    pub fn stop(mut self) {
        if let Some((id, _)) = &self.container {
            let kill = self.runtime.command(&["kill", id, "KILL"]);
            let _ = process::run(kill, CLEANUP_TIMEOUT);
        }
        if let Some(root) = self.root_pid() {
            process::kill_all(&process::descendants(&[root]));
        }
        self.child.kill_tree();
        let Spawned {
            runtime,
            child,
            container,
            ..
        } = self;
        drop(child.output_so_far());
        Spawned::cleanup_container(runtime, container.as_ref());
    }

    fn cleanup_container(runtime: &Runtime, container: Option<&(String, PathBuf)>) {
        if let Some((id, bundle)) = container {
            let delete = runtime.command(&["delete", "--force", id]);
            let _ = process::run(delete, CLEANUP_TIMEOUT);
            let _ = std::fs::remove_dir_all(bundle);
        }
    }
}

/// The OCI config.json of a container that runs `argv` on `rootfs` (read
/// only, workloads under /bench), with the host directories `host_binds`
/// bind-mounted read-only at the same paths and a fresh tmpfs on /tmp. The
/// rest is what `runc spec` writes.
pub fn bundle_config(
    argv: &[String],
    env: &[String],
    rootfs: &Path,
    host_binds: &[String],
) -> Value {
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "mode=1777"]}),
    ];
    for dir in host_binds {
        mounts.push(json!({"destination": dir, "type": "bind", "source": dir,
                           "options": ["rbind", "ro", "nosuid", "nodev"]}));
    }
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": argv,
            "env": env,
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": true},
        "hostname": "bench",
        "mounts": mounts,
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_runs_the_workload_on_a_read_only_root() {
        let argv = vec!["/bench/bin/syscall".to_string(), "100".to_string()];
        let env = vec!["PATH=/usr/bin:/bin".to_string()];
        let config = bundle_config(&argv, &env, Path::new("/w/rootfs"), &["/usr".to_string()]);
        assert_eq!(config["process"]["args"], json!(argv));
        assert_eq!(config["process"]["env"], json!(env));
        assert_eq!(config["process"]["terminal"], json!(false));
        assert_eq!(
            config["root"],
            json!({"path": "/w/rootfs", "readonly": true})
        );
        let mounts = config["mounts"].as_array().unwrap();
        let at = |dest: &str| mounts.iter().find(|m| m["destination"] == dest).cloned();
        assert_eq!(at("/tmp").unwrap()["type"], "tmpfs");
        let usr = at("/usr").unwrap();
        assert_eq!(usr["type"], "bind");
        assert_eq!(usr["source"], "/usr");
        assert!(usr["options"].as_array().unwrap().contains(&json!("ro")));
        assert!(at("/proc").is_some());
    }

    #[test]
    fn containers_see_the_workloads_under_bench() {
        let cx = Context {
            work: PathBuf::from("/w"),
            scratch: PathBuf::from("/w/run-1"),
            rootfs: PathBuf::from("/w/run-1/rootfs"),
            host_binds: Vec::new(),
            target_ms: 100,
            timeout: Duration::from_secs(1),
            quick: true,
        };
        let native = Runtime::native();
        assert_eq!(native.bin(&cx, "stat"), "/w/bin/stat");
        assert_eq!(native.data(&cx, "small.txt"), "/w/data/small.txt");
        let runc = Runtime::runc(&cx, Some(PathBuf::from("/usr/sbin/runc")));
        assert_eq!(runc.bin(&cx, "stat"), "/bench/bin/stat");
        let [runsc_do, runsc_run] = Runtime::runsc(&cx, &Ok(PathBuf::from("/r/runsc")), None);
        assert_eq!(runsc_do.bin(&cx, "stat"), "/w/bin/stat");
        assert_eq!(runsc_run.data(&cx, "proj"), "/bench/data/proj");
        assert_eq!(
            (runsc_do.id.as_str(), runsc_run.id.as_str()),
            ("runsc-do", "runsc-run")
        );
    }
}
