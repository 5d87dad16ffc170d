//! `exec` in a running container: exit statuses, the detached holder
//! process engines wait on, `--process` files as podman writes them,
//! signals, and the refusals.

mod common;

use common::{can_run, Bundle};
use std::time::Duration;

/// A running container `id` whose init sleeps.
fn running(tag: &str, id: &str) -> Bundle {
    let b = Bundle::new(tag, &["sleep", "100"]);
    b.create(id, &[]).ok();
    b.runsc(&["start", id]).ok();
    b
}

#[test]
fn exec_exits_with_the_processs_status() {
    if !can_run("exec_exits_with_the_processs_status") {
        return;
    }
    let b = running("execstatus", "x");
    let r = b.runsc(&["exec", "x", "sh", "-c", "echo inside; exit 5"]);
    assert_eq!(r.code(), 5, "{r:#?}");
    assert_eq!(r.stdout, "inside\n");
    // Environment and working directory come from the container's process,
    // with --env and --cwd over them.
    let r = b
        .runsc(&[
            "exec",
            "--env",
            "EXTRA=1",
            "--cwd",
            "/bin",
            "x",
            "sh",
            "-c",
            "echo $HOME $EXTRA; pwd",
        ])
        .ok();
    assert_eq!(r.stdout, "/ 1\n/bin\n");
    // A user by number.
    let r = b.runsc(&["exec", "--user", "1000:1001", "x", "id"]).ok();
    assert!(r.stdout.starts_with("uid=1000 gid=1001"), "{}", r.stdout);
    // The exec'd processes are gone: init alone is left.
    assert_eq!(container_pids(&b, "x"), [1]);

    let r = b.runsc(&["exec", "x", "/bin/nothing-here"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr
            .contains("cannot execute /bin/nothing-here: ENOENT"),
        "{}",
        r.stderr
    );
    b.clean(&["x"]);
}

#[test]
fn a_detached_exec_has_a_host_process_that_lives_as_long_as_it() {
    if !can_run("a_detached_exec_has_a_host_process_that_lives_as_long_as_it") {
        return;
    }
    common::become_subreaper();
    let b = running("execdetach", "d");
    let pid_file = b.file("exec.pid");
    let r = b
        .runsc_detached(
            "exec",
            &[
                "exec",
                "--detach",
                "--pid-file",
                pid_file.to_str().unwrap(),
                "d",
                "sh",
                "-c",
                "sleep 0.5; exit 6",
            ],
        )
        .ok();
    assert_eq!(r.stdout, "");
    let holder: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    // It is alive while the process inside is.
    std::thread::sleep(Duration::from_millis(150));
    assert!(
        std::path::Path::new(&format!("/proc/{holder}")).exists(),
        "the holder exited early"
    );
    let ps = b.runsc(&["ps", "d"]).ok();
    assert!(
        ps.stdout.contains("sh -c sleep 0.5; exit 6"),
        "{}",
        ps.stdout
    );
    assert_eq!(common::wait_pid(holder, Duration::from_secs(20)), 6);
    b.clean(&["d"]);
}

#[test]
fn a_holder_ends_when_the_container_is_killed() {
    if !can_run("a_holder_ends_when_the_container_is_killed") {
        return;
    }
    common::become_subreaper();
    let b = running("execkilled", "k");
    let pid_file = b.file("exec.pid");
    b.runsc_detached(
        "exec",
        &[
            "exec",
            "-d",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "k",
            "sleep",
            "100",
        ],
    )
    .ok();
    let holder: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    b.runsc(&["kill", "k", "KILL"]).ok();
    assert_eq!(common::wait_pid(holder, Duration::from_secs(20)), 137);
    b.clean(&["k"]);
}

#[test]
fn exec_takes_a_process_file_as_podman_writes_it() {
    if !can_run("exec_takes_a_process_file_as_podman_writes_it") {
        return;
    }
    common::become_subreaper();
    let b = running("execprocess", "p");
    let process = b.file("process.json");
    std::fs::write(
        &process,
        serde_json::json!({
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh", "-c", "ulimit -n; exit 3"],
            "env": ["PATH=/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": { "bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"] },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1048576u64, "soft": 1048576u64 }],
            "noNewPrivileges": false
        })
        .to_string(),
    )
    .unwrap();
    let pid_file = b.file("exec.pid");
    // podman 4.3: exec --pid-file P --process F --detach ID
    b.runsc_detached(
        "exec",
        &[
            "exec",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "--process",
            process.to_str().unwrap(),
            "--detach",
            "p",
        ],
    )
    .ok();
    let holder: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(common::wait_pid(holder, Duration::from_secs(20)), 3);

    // In the foreground the output is ours.
    let r = b.runsc(&["exec", "--process", process.to_str().unwrap(), "p"]);
    assert_eq!(r.code(), 3);
    assert_eq!(r.stdout, "1048576\n");
    // The process file's capabilities are the process's.
    std::fs::write(
        &process,
        serde_json::json!({
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh", "-c", "grep CapEff /proc/self/status"],
            "env": ["PATH=/bin"],
            "cwd": "/",
            "capabilities": { "bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"] },
        })
        .to_string(),
    )
    .unwrap();
    let r = b
        .runsc(&["exec", "--process", process.to_str().unwrap(), "p"])
        .ok();
    assert_eq!(r.stdout, "CapEff:\t0000000000000001\n");
    b.clean(&["p"]);
}

/// The container's PIDs, from the `ps` table (the JSON list holds host
/// PIDs).
fn container_pids(b: &Bundle, id: &str) -> Vec<i32> {
    let ps = b.runsc(&["ps", id]).ok();
    ps.stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

#[test]
fn signals_reach_an_exec_in_the_foreground() {
    if !can_run("signals_reach_an_exec_in_the_foreground") {
        return;
    }
    let b = running("execsignal", "s");
    let mut child = std::process::Command::new(common::runsc_bin())
        .args([
            "--root",
            b.root().to_str().unwrap(),
            "exec",
            "s",
            "sleep",
            "100",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it runs inside.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if container_pids(&b, "s").len() == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "exec never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert_eq!(b.status("s"), "running");
    b.clean(&["s"]);
}

#[test]
fn exec_is_refused_where_it_cannot_run() {
    if !can_run("exec_is_refused_where_it_cannot_run") {
        return;
    }
    let b = Bundle::new("execrefused", &["sleep", "100"]);
    b.create("c", &[]).ok();
    let r = b.runsc(&["exec", "c", "true"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr
            .contains("cannot exec in container \\\"c\\\": it is created"),
        "{}",
        r.stderr
    );
    b.runsc(&["start", "c"]).ok();
    b.runsc(&["pause", "c"]).ok();
    let r = b.runsc(&["exec", "c", "true"]);
    assert!(r.stderr.contains("it is paused"), "{}", r.stderr);
    b.runsc(&["resume", "c"]).ok();
    let r = b.runsc(&["exec", "c"]);
    assert!(r.stderr.contains("needs a command"), "{}", r.stderr);
    let r = b.runsc(&["exec", "--tty", "--detach", "c", "sh"]);
    assert!(r.stderr.contains("needs --console-socket"), "{}", r.stderr);
    b.runsc(&["kill", "c", "KILL"]).ok();
    b.wait_status("c", "stopped");
    let r = b.runsc(&["exec", "c", "true"]);
    assert!(r.stderr.contains("it is stopped"), "{}", r.stderr);
    b.clean(&["c"]);
}
