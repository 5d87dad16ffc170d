//! containerd (through `ctr`, runc shim v2 with our binary) and Docker 20.10
//! (`dockerd --add-runtime`) driving `runsc`. Each test starts its own
//! daemons on scratch directories and stops them at the end; the image is
//! a busybox root filesystem in `docker save` format, loaded locally.
//! Skipped, saying so, where the daemons are not installed.

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

/// containerd on scratch directories of `b`; `None` (having said why)
/// when it cannot start on this machine.
fn start_containerd(b: &Bundle, test: &str) -> Option<(Daemon, PathBuf)> {
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
    Some((d, sock))
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
    let dsock = b.file("d.sock");
    let log = b.file("dockerd.log");
    let mut dockerd = Daemon(
        Command::new("dockerd")
            .arg("--containerd")
            .arg(&csock)
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
                "--bridge=none",
            ])
            .arg("--add-runtime")
            .arg(format!("runsc={}", common::runsc_bin().display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    if let Err(why) = wait_ready(&mut dockerd, "dockerd", &log, || dsock.exists()) {
        eprintln!("SKIP docker_runs_execs_pauses_and_stops: dockerd cannot start here: {why}");
        return;
    }
    let host = format!("unix://{}", dsock.display());
    let docker = |args: &[&str]| {
        run(
            Command::new("docker").arg("-H").arg(&host).args(args),
            Duration::from_secs(120),
        )
    };
    // dockerd answers once its API is up.
    if let Err(why) = wait_ready(&mut dockerd, "dockerd", &log, || {
        docker(&["version"]).code() == 0
    }) {
        eprintln!("SKIP docker_runs_execs_pauses_and_stops: dockerd cannot start here: {why}");
        return;
    }
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
    // dockerd goes before its containerd.
    drop(dockerd);
}
