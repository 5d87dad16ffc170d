//! containerd (through `ctr`, runc shim v2 with our binary) and Docker 20.10
//! (`dockerd --add-runtime`) driving `runsc`: running, exec, pause, stop,
//! and checkpoint/restore as each engine drives it (`ctr task checkpoint`,
//! `ctr container checkpoint`/`restore --live`, `docker checkpoint create`
//! and `docker start --checkpoint` with `dockerd --experimental`).
//!
//! Each test starts its own daemons on scratch directories and stops them
//! at the end; the image is a busybox root filesystem in `docker save`
//! format, loaded locally. Skipped, saying so, where the daemons are not
//! installed.

mod common;

use common::{can_run, run, Bundle, Run};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/runsc-busybox:latest";

/// A `docker save` archive of the bundle's root filesystem.
fn image_archive(b: &Bundle) -> PathBuf {
    let dir = b.file("image");
    std::fs::create_dir_all(&dir).unwrap();
    let layer = dir.join("layer.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(b.dir().join("rootfs"))
        .arg("-cf")
        .arg(&layer)
        .arg(".")
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar of the root filesystem failed");
    let sum = Command::new("sha256sum").arg(&layer).output().unwrap();
    let digest = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["sh"], "Env": ["PATH=/bin"] },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{digest}")] },
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": [IMAGE],
        "Layers": ["layer.tar"],
    }]);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let archive = b.file("image.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-cf")
        .arg(&archive)
        .args(["manifest.json", "config.json", "layer.tar"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    archive
}

/// A daemon started by a test, stopped (and reaped) when dropped: asked
/// with SIGTERM so that it undoes its mounts, killed if it lingers.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill of our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The last lines of a daemon's log, to say why it did not start.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Waits until `ready` holds; `Err` says why the daemon did not come up
/// (it exited, or did not answer in 30 seconds), with its log.
fn wait_ready(
    d: &mut Daemon,
    what: &str,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        if let Ok(Some(status)) = d.0.try_wait() {
            return Err(format!("{what} exited ({status}):\n{}", log_tail(log)));
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not answer in 30 s:\n{}", log_tail(log)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn installed(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A containerd started by a test. Dropped, it first removes with force
/// every task left in any of its namespaces (a test that failed half-way
/// leaves its sandboxes to it), then stops.
struct Containerd {
    _daemon: Daemon,
    sock: PathBuf,
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let ns = ctr(&self.sock, &["namespaces", "ls", "-q"]);
        for ns in ns.stdout.lines() {
            let tasks = ctr(&self.sock, &["-n", ns, "tasks", "ls", "-q"]);
            for task in tasks.stdout.lines() {
                ctr(&self.sock, &["-n", ns, "tasks", "rm", "-f", task]);
                ctr(&self.sock, &["-n", ns, "containers", "rm", task]);
            }
        }
    }
}

/// containerd on scratch directories of `b`; `None` (having said why)
/// when it cannot start on this machine.
fn start_containerd(b: &Bundle, test: &str) -> Option<(Containerd, PathBuf)> {
    let sock = b.file("c.sock");
    let log = b.file("containerd.log");
    let child = Command::new("containerd")
        .arg("--root")
        .arg(b.file("ctd-root"))
        .arg("--state")
        .arg(b.file("ctd-state"))
        .arg("--address")
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut d = Daemon(child);
    if let Err(why) = wait_ready(&mut d, "containerd", &log, || sock.exists()) {
        eprintln!("SKIP {test}: containerd cannot start here: {why}");
        return None;
    }
    let c = Containerd {
        _daemon: d,
        sock: sock.clone(),
    };
    Some((c, sock))
}

fn ctr(sock: &Path, args: &[&str]) -> Run {
    run(
        Command::new("ctr").arg("--address").arg(sock).args(args),
        Duration::from_secs(120),
    )
}

#[test]
fn containerd_runs_exec_pauses_and_kills() {
    if !can_run("containerd_runs_exec_pauses_and_kills") {
        return;
    }
    if !installed("containerd") || !installed("ctr") {
        eprintln!("SKIP containerd_runs_exec_pauses_and_kills: containerd is not installed");
        return;
    }
    let b = Bundle::new("ctd", &["true"]);
    let archive = image_archive(&b);
    let Some((_containerd, sock)) = start_containerd(&b, "containerd_runs_exec_pauses_and_kills")
    else {
        return;
    };
    ctr(&sock, &["image", "import", archive.to_str().unwrap()]).ok();
    let runsc = common::runsc_bin();
    let runsc = runsc.to_str().unwrap();

    let r = ctr(
        &sock,
        &[
            "run",
            "--rm",
            "--runc-binary",
            runsc,
            IMAGE,
            "t1",
            "echo",
            "hi",
        ],
    )
    .ok();
    assert_eq!(r.stdout, "hi\n");
    let r = ctr(
        &sock,
        &[
            "run",
            "--rm",
            "--runc-binary",
            runsc,
            IMAGE,
            "t2",
            "sh",
            "-c",
            "exit 5",
        ],
    );
    assert_eq!(r.code(), 5, "{r:#?}");

    ctr(
        &sock,
        &[
            "run",
            "-d",
            "--runc-binary",
            runsc,
            IMAGE,
            "t3",
            "sleep",
            "1000",
        ],
    )
    .ok();
    let r = ctr(
        &sock,
        &[
            "task",
            "exec",
            "--exec-id",
            "e1",
            "t3",
            "sh",
            "-c",
            "echo in; exit 2",
        ],
    );
    assert_eq!((r.code(), r.stdout.as_str()), (2, "in\n"), "{r:#?}");
    // task ps lists host PIDs, as with runc: the sandbox process's.
    let ls = ctr(&sock, &["task", "ls"]).ok();
    let sandbox = ls
        .stdout
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&"t3")).then(|| f[1].to_string())
        })
        .unwrap_or_else(|| panic!("no t3 in {}", ls.stdout));
    let r = ctr(&sock, &["task", "ps", "t3"]).ok();
    assert!(
        r.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(sandbox.as_str())),
        "{}",
        r.stdout
    );
    ctr(&sock, &["task", "pause", "t3"]).ok();
    let r = ctr(&sock, &["task", "ls"]).ok();
    assert!(r.stdout.contains("PAUSED"), "{}", r.stdout);
    ctr(&sock, &["task", "resume", "t3"]).ok();
    ctr(&sock, &["task", "kill", "-s", "SIGKILL", "t3"]).ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = ctr(&sock, &["task", "ls"]).ok();
        if r.stdout.contains("STOPPED") {
            break;
        }
        assert!(Instant::now() < deadline, "t3 did not stop: {}", r.stdout);
        std::thread::sleep(Duration::from_millis(50));
    }
    ctr(&sock, &["task", "rm", "t3"]).ok();
    ctr(&sock, &["container", "rm", "t3"]).ok();
}

/// dockerd on scratch directories of `b`, using the containerd at `csock`,
/// with runsc added as the runtime `runsc` and no bridge network unless
/// `extra` names one (`--bridge=NAME`); `None` (having said why) when
/// it cannot start on this machine. Its fields drop in order: dockerd goes
/// before the containerd the caller holds.
struct Docker {
    _daemon: Daemon,
    host: String,
}

impl Docker {
    fn start(b: &Bundle, csock: &Path, test: &str, extra: &[&str]) -> Option<Docker> {
        let dsock = b.file("d.sock");
        let log = b.file("dockerd.log");
        let mut dockerd = Daemon(
            Command::new("dockerd")
                .arg("--containerd")
                .arg(csock)
                .arg("--data-root")
                .arg(b.file("dk-data"))
                .arg("--exec-root")
                .arg(b.file("dk-exec"))
                .arg("--pidfile")
                .arg(b.file("dk.pid"))
                .arg("-H")
                .arg(format!("unix://{}", dsock.display()))
                .args([
                    "--storage-driver",
                    "vfs",
                    "--iptables=false",
                    "--ip-masq=false",
                ])
                // No bridge network unless the caller names its own.
                .args((!extra.iter().any(|a| a.starts_with("--bridge"))).then_some("--bridge=none"))
                .args(extra)
                .arg("--add-runtime")
                .arg(format!("runsc={}", common::runsc_bin().display()))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap(),
        );
        let host = format!("unix://{}", dsock.display());
        // dockerd answers once its API is up.
        let up = wait_ready(&mut dockerd, "dockerd", &log, || {
            dsock.exists() && docker_at(&host, &["version"]).code() == 0
        });
        if let Err(why) = up {
            eprintln!("SKIP {test}: dockerd cannot start here: {why}");
            return None;
        }
        Some(Docker {
            _daemon: dockerd,
            host,
        })
    }

    fn run(&self, args: &[&str]) -> Run {
        docker_at(&self.host, args)
    }
}

fn docker_at(host: &str, args: &[&str]) -> Run {
    run(
        Command::new("docker").arg("-H").arg(host).args(args),
        Duration::from_secs(120),
    )
}

#[test]
fn docker_runs_execs_pauses_and_stops() {
    if !can_run("docker_runs_execs_pauses_and_stops") {
        return;
    }
    if !installed("dockerd") || !installed("docker") || !installed("containerd") {
        eprintln!("SKIP docker_runs_execs_pauses_and_stops: docker.io is not installed");
        return;
    }
    let b = Bundle::new("dkr", &["true"]);
    let archive = image_archive(&b);
    let Some((_containerd, csock)) = start_containerd(&b, "docker_runs_execs_pauses_and_stops")
    else {
        return;
    };
    let Some(docker) = Docker::start(&b, &csock, "docker_runs_execs_pauses_and_stops", &[]) else {
        return;
    };
    let docker = |args: &[&str]| docker.run(args);
    docker(&["load", "-i", archive.to_str().unwrap()]).ok();
    let base = ["run", "--rm", "--runtime", "runsc", "--network", "none"];
    let r = docker(&[&base[..], &[IMAGE, "echo", "hi"]].concat()).ok();
    assert_eq!(r.stdout, "hi\n");
    let r = docker(&[&base[..], &[IMAGE, "sh", "-c", "exit 6"]].concat());
    assert_eq!(r.code(), 6, "{r:#?}");

    docker(&[
        "run",
        "-d",
        "--name",
        "dc",
        "--runtime",
        "runsc",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    let r = docker(&["exec", "dc", "sh", "-c", "echo in; exit 3"]);
    assert_eq!((r.code(), r.stdout.as_str()), (3, "in\n"), "{r:#?}");
    // docker top: the host processes `runsc ps --format json` names.
    let r = docker(&["top", "dc"]).ok();
    assert!(r.stdout.contains("runsc"), "{r:#?}");
    // docker stop's SIGTERM ends an init without a handler (a bounded
    // wait, not the kill after the timeout).
    docker(&["pause", "dc"]).ok();
    let r = docker(&["inspect", "--format", "{{.State.Status}}", "dc"]).ok();
    assert_eq!(r.stdout.trim(), "paused");
    docker(&["unpause", "dc"]).ok();
    let stopping = Instant::now();
    docker(&["stop", "-t", "20", "dc"]).ok();
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "docker stop waited for its timeout"
    );
    let r = docker(&["inspect", "--format", "{{.State.Status}}", "dc"]).ok();
    assert_eq!(r.stdout.trim(), "exited");
    docker(&["rm", "dc"]).ok();
}

/// A shell loop that counts in a file, stamped with the time it started:
/// a restored process shows the stamp it had before, and a count that
/// went on from where it was; a fresh start would show another stamp.
/// Each count is written whole under another name and renamed, so a reader
/// never finds the file half-written.
const COUNTER: &str = "s=$(date +%s%N); i=0; \
     while true; do i=$((i+1)); echo \"$s $i\" > /tmp/m; mv /tmp/m /tmp/n; sleep 0.1; done";

/// The stamp and count `COUNTER` last wrote, as read by `cat /tmp/n` run
/// in the container by `read`. `ctr task exec` now and then returns
/// before it has copied a short-lived process's output (status 0, no
/// output): such a read is made again.
fn count(read: impl Fn() -> Run) -> (String, u64) {
    let mut tries = 0;
    loop {
        let r = read().ok();
        let mut f = r.stdout.split_whitespace();
        if let (Some(stamp), Some(n)) = (f.next(), f.next().and_then(|n| n.parse().ok())) {
            return (stamp.to_string(), n);
        }
        tries += 1;
        assert!(tries < 5, "no count: {r:#?}");
    }
}

/// Waits until the count is at least `n` (the file may not be written
/// yet at first), and returns it.
fn count_at_least(n: u64, read: impl Fn() -> Run) -> (String, u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = if read().code() == 0 {
            let c = count(&read);
            if c.1 >= n {
                return c;
            }
            format!("{c:?}")
        } else {
            "nothing".into()
        };
        assert!(Instant::now() < deadline, "the count stays at {seen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn task_status(sock: &Path, id: &str) -> String {
    let r = ctr(sock, &["task", "ls"]).ok();
    r.stdout
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| f[2].to_string())
        })
        .unwrap_or_else(|| panic!("no task {id} in {}", r.stdout))
}

#[test]
fn containerd_checkpoints_and_restores() {
    const TEST: &str = "containerd_checkpoints_and_restores";
    if !can_run(TEST) {
        return;
    }
    if !installed("containerd") || !installed("ctr") {
        eprintln!("SKIP {TEST}: containerd is not installed");
        return;
    }
    let b = Bundle::new("ctdck", &["true"]);
    let archive = image_archive(&b);
    let Some((_containerd, sock)) = start_containerd(&b, TEST) else {
        return;
    };
    ctr(&sock, &["image", "import", archive.to_str().unwrap()]).ok();
    let runsc = common::runsc_bin();
    let runsc = runsc.to_str().unwrap();
    // The shim keeps runtime state under one directory for every
    // containerd: a name of this run's own.
    let k = format!("ck{}", std::process::id());
    let k = k.as_str();
    ctr(
        &sock,
        &[
            "run",
            "-d",
            "--runc-binary",
            runsc,
            IMAGE,
            k,
            "sh",
            "-c",
            COUNTER,
        ],
    )
    .ok();
    let execs = std::cell::Cell::new(0);
    let read = || {
        execs.set(execs.get() + 1);
        let id = format!("cat{}", execs.get());
        ctr(
            &sock,
            &["task", "exec", "--exec-id", &id, k, "cat", "/tmp/n"],
        )
    };
    let (stamp, _) = count_at_least(5, read);

    // A checkpoint without --exit leaves the task running (the shim pauses
    // it, checkpoints, and resumes it).
    let image = b.file("ck");
    let work = b.file("wk");
    let (_, before) = count(read);
    ctr(
        &sock,
        &[
            "task",
            "checkpoint",
            "--image-path",
            image.to_str().unwrap(),
            "--work-path",
            work.to_str().unwrap(),
            k,
        ],
    )
    .ok();
    assert!(image.join("checkpoint.img").is_file());
    assert_eq!(task_status(&sock, k), "RUNNING");
    count_at_least(before + 3, read);

    // containerd's own checkpoint into its content store, then the task is
    // killed and the container removed; restored from the image it is the
    // same process, counting on from where it was.
    let (_, saved) = count(read);
    ctr(
        &sock,
        &["container", "checkpoint", "--task", k, "localhost/ck:1"],
    )
    .ok();
    ctr(&sock, &["task", "kill", "-s", "SIGKILL", k]).ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    while task_status(&sock, k) != "STOPPED" {
        assert!(Instant::now() < deadline, "{k} did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    ctr(&sock, &["task", "rm", k]).ok();
    ctr(&sock, &["container", "rm", k]).ok();
    ctr(
        &sock,
        &["container", "restore", "--live", k, "localhost/ck:1"],
    )
    .ok();
    assert_eq!(task_status(&sock, k), "RUNNING");
    let (again, n) = count(read);
    assert_eq!(again, stamp, "a fresh start, not the restored process");
    assert!(n >= saved, "count {n} went back from {saved}");
    count_at_least(n + 3, read);

    // A checkpoint with --exit stops the task; the resume that follows it
    // finds the task stopped and does not fail.
    ctr(
        &sock,
        &[
            "task",
            "checkpoint",
            "--exit",
            "--image-path",
            b.file("ck2").to_str().unwrap(),
            k,
        ],
    )
    .ok();
    assert!(b.file("ck2").join("checkpoint.img").is_file());
    assert_eq!(task_status(&sock, k), "STOPPED");
    ctr(&sock, &["task", "rm", k]).ok();
    ctr(&sock, &["container", "rm", k]).ok();
}

#[test]
fn docker_checkpoints_and_restores() {
    const TEST: &str = "docker_checkpoints_and_restores";
    if !can_run(TEST) {
        return;
    }
    if !installed("dockerd") || !installed("docker") || !installed("containerd") {
        eprintln!("SKIP {TEST}: docker.io is not installed");
        return;
    }
    let b = Bundle::new("dkrck", &["true"]);
    let archive = image_archive(&b);
    let Some((_containerd, csock)) = start_containerd(&b, TEST) else {
        return;
    };
    // Checkpoints are an experimental feature of Docker 20.10.
    let Some(docker) = Docker::start(&b, &csock, TEST, &["--experimental"]) else {
        return;
    };
    let docker = |args: &[&str]| docker.run(args);
    docker(&["load", "-i", archive.to_str().unwrap()]).ok();
    docker(&[
        "run",
        "-d",
        "--name",
        "dc",
        "--runtime",
        "runsc",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        COUNTER,
    ])
    .ok();
    let read = || docker(&["exec", "dc", "cat", "/tmp/n"]);
    // Docker 20.10 uploads the checkpoint to containerd's content store on
    // `start --checkpoint`; when containerd has not yet collected the same
    // content from `checkpoint create`, the upload fails with "already
    // exists" (moby/moby#42900). It is collected soon after: try again.
    let start_from = |name: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = docker(&["start", "--checkpoint", name, "dc"]);
            if r.code() == 0 || !r.stderr.contains("already exists") {
                r.ok();
                return;
            }
            assert!(Instant::now() < deadline, "{r:#?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let status = || {
        let r = docker(&["inspect", "--format", "{{.State.Status}}", "dc"]).ok();
        r.stdout.trim().to_string()
    };
    let (stamp, saved) = count_at_least(5, read);

    // `checkpoint create` stops the container; `start --checkpoint` brings
    // the same process back.
    docker(&["checkpoint", "create", "dc", "cp1"]).ok();
    assert_eq!(status(), "exited");
    start_from("cp1");
    assert_eq!(status(), "running");
    let (again, n) = count(read);
    assert_eq!(again, stamp, "a fresh start, not the restored process");
    assert!(n >= saved, "count {n} went back from {saved}");
    let (_, saved) = count_at_least(n + 3, read);

    // --leave-running: the container goes on, and the checkpoint can
    // bring it back after a stop.
    docker(&["checkpoint", "create", "--leave-running", "dc", "cp2"]).ok();
    assert_eq!(status(), "running");
    let (_, n) = count_at_least(saved + 3, read);
    let r = docker(&["checkpoint", "ls", "dc"]).ok();
    assert!(
        r.stdout.contains("cp1") && r.stdout.contains("cp2"),
        "{r:#?}"
    );
    docker(&["stop", "-t", "1", "dc"]).ok();
    start_from("cp2");
    let (again, back) = count(read);
    assert_eq!(again, stamp);
    assert!(
        back >= saved && back < n + 20,
        "restored count {back}: saved after {saved}, at least {n} when stopped"
    );
    docker(&["rm", "-f", "dc"]).ok();
}

/// A host bridge for a test's dockerd (`--bridge`), removed when dropped:
/// a name and subnet of the test's own, so that nothing else on the host
/// (another dockerd, podman) is touched.
struct HostBridge(String);

impl HostBridge {
    fn new(test: &str) -> Option<HostBridge> {
        let pid = std::process::id();
        let name = format!("rsxd{}", pid % 100_000);
        let addr = format!("10.253.{}.1/24", pid % 250);
        let ok = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ip link add {name} type bridge && ip addr add {addr} dev {name} && ip link set {name} up"
            ))
            .status()
            .is_ok_and(|s| s.success());
        let bridge = HostBridge(name);
        if !ok {
            eprintln!("SKIP {test}: cannot make a bridge {} here", bridge.0);
            return None;
        }
        Some(bridge)
    }
}

impl Drop for HostBridge {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// `docker run -p HOST:80` of busybox `httpd`: dockerd (on a bridge of
/// the test's own, its userland proxy forwarding the published port, no
/// iptables rules) moves the container's veth into the sandbox's network
/// namespace from its `prestart` hook; `runsc` hands the interface to the
/// sandbox after that hook, and the host reaches the server through the
/// published port.
#[test]
fn docker_publish_port() {
    let test = "docker_publish_port";
    if !can_run(test) {
        return;
    }
    if !installed("dockerd") || !installed("docker") || !installed("containerd") {
        eprintln!("SKIP {test}: docker.io is not installed");
        return;
    }
    if !installed("curl") {
        eprintln!("SKIP {test}: curl is not installed");
        return;
    }
    let b = Bundle::new("dkp", &["true"]);
    let root = b.dir().join("rootfs");
    let _ = std::os::unix::fs::symlink("busybox", root.join("bin/httpd"));
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::write(root.join("www/page.txt"), "published page\n").unwrap();
    let archive = image_archive(&b);
    let Some(bridge) = HostBridge::new(test) else {
        return;
    };
    let Some((_containerd, csock)) = start_containerd(&b, test) else {
        return;
    };
    let log = b.file("dockerd.log");
    let own_bridge = format!("--bridge={}", bridge.0);
    // (--experimental: checkpoints.)
    let Some(dockerd) = Docker::start(&b, &csock, test, &[&own_bridge, "--experimental"]) else {
        return;
    };
    let docker = |args: &[&str]| dockerd.run(args);
    docker(&["load", "-i", archive.to_str().unwrap()]).ok();
    let port = 20_000 + std::process::id() % 10_000;
    let publish = format!("127.0.0.1:{port}:80");
    let r = docker(&[
        "run",
        "-d",
        "--name",
        "web",
        "--runtime",
        "runsc",
        "-p",
        &publish,
        IMAGE,
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    if r.code() != 0 && r.stderr.contains("docker-proxy") {
        eprintln!("SKIP {test}: dockerd cannot publish a port here: {r:#?}");
        docker(&["rm", "-f", "web"]);
        return;
    }
    assert_eq!(r.code(), 0, "{r:#?}\ndockerd log:\n{}", log_tail(&log));
    let url = format!("http://127.0.0.1:{port}/page.txt");
    let fetch = || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = run(
                Command::new("curl").args(["-sS", "--max-time", "5", &url]),
                Duration::from_secs(10),
            );
            if r.code() == 0 || Instant::now() > deadline {
                break r;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let got = fetch();
    let logs = docker(&["logs", "web"]);
    assert_eq!(
        got.stdout,
        "published page\n",
        "curl {url}: {got:#?}\ncontainer logs: {logs:#?}\ndockerd log:\n{}",
        log_tail(&log)
    );
    // Checkpointed and restored, the same server serves again: the
    // restored sandbox gets the interface dockerd's hook moved into its
    // new namespace, before its tasks run.
    docker(&["checkpoint", "create", "web", "cp1"]).ok();
    // (Docker 20.10 may find the checkpoint "already exists" in
    // containerd's content store for a moment: moby/moby#42900.)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = docker(&["start", "--checkpoint", "cp1", "web"]);
        if r.code() == 0 || !r.stderr.contains("already exists") {
            r.ok();
            break;
        }
        assert!(Instant::now() < deadline, "{r:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = fetch();
    let logs = docker(&["logs", "web"]);
    let stopping = Instant::now();
    docker(&["stop", "-t", "20", "web"]).ok();
    let stop_took = stopping.elapsed();
    docker(&["rm", "web"]).ok();
    assert_eq!(
        got.stdout,
        "published page\n",
        "curl {url}: {got:#?}\ncontainer logs: {logs:#?}\ndockerd log:\n{}",
        log_tail(&log)
    );
    assert!(
        stop_took < Duration::from_secs(15),
        "docker stop waited for its timeout"
    );
    // dockerd goes before its containerd, then the bridge.
    drop(dockerd);
    drop(bridge);
}
