//! The container lifecycle as an engine drives it: create, start, state,
//! kill, delete, run, wait, pause and resume; the standard cases of the
//! OCI runtime-tools validation suite (state transitions, pid file, exit
//! code, hooks order), rewritten as our own tests.

mod common;

use common::{can_run, status_field, Bundle};
use std::time::Duration;

#[test]
fn create_start_kill_delete() {
    if !can_run("create_start_kill_delete") {
        return;
    }
    let b = Bundle::new("life", &["sh", "-c", "echo started; sleep 100"]);
    let pid_file = b.file("pid");
    b.create("life", &["--pid-file", pid_file.to_str().unwrap()])
        .ok();

    // created: the pid file names the sandbox process, which is confined.
    let state = b.state("life").unwrap();
    assert_eq!(state["status"], "created");
    assert_eq!(state["id"], "life");
    assert_eq!(state["bundle"], b.dir().to_str().unwrap());
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(state["pid"], pid);
    assert_eq!(status_field(pid, "Seccomp").as_deref(), Some("2"));
    assert_eq!(status_field(pid, "NoNewPrivs").as_deref(), Some("1"));
    assert_eq!(
        status_field(pid, "CapEff").as_deref(),
        Some("0000000000000000")
    );
    // PID 1 of its own PID namespace.
    let nspid = status_field(pid, "NSpid").unwrap();
    assert!(nspid.ends_with("\t1"), "{nspid}");
    // Init has not run yet.
    assert_eq!(b.output_of("life"), "");

    // A second start is refused; so is a second create with the same ID.
    b.runsc(&["start", "life"]).ok();
    assert_eq!(b.status("life"), "running");
    let again = b.runsc(&["start", "life"]);
    assert_eq!(again.code(), 1);
    assert!(
        again
            .stderr
            .contains("cannot start container \\\"life\\\": it is running"),
        "{}",
        again.stderr
    );
    let dup = b.runsc(&["create", "--bundle", b.dir().to_str().unwrap(), "life"]);
    assert_eq!(dup.code(), 1);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);

    // Running: delete without --force is refused.
    let del = b.runsc(&["delete", "life"]);
    assert_eq!(del.code(), 1);
    assert!(del.stderr.contains("it is running"), "{}", del.stderr);

    b.runsc(&["kill", "life", "KILL"]).ok();
    b.wait_status("life", "stopped");
    assert_eq!(b.state("life").unwrap()["pid"], 0);
    assert_eq!(b.output_of("life"), "started\n");
    // Killing a stopped container says so in the words engines look for.
    let kill = b.runsc(&["kill", "life", "TERM"]);
    assert_eq!(kill.code(), 1);
    assert!(
        kill.stderr.contains("container not running"),
        "{}",
        kill.stderr
    );

    b.runsc(&["delete", "life"]).ok();
    let gone = b.state("life").unwrap_err();
    assert!(gone.contains("does not exist"), "{gone}");
    assert!(!b.root().join("life").exists());
    for hierarchy in ["memory", "pids", "unified"] {
        let dir = std::path::Path::new("/sys/fs/cgroup")
            .join(hierarchy)
            .join("runsc/life");
        assert!(!dir.exists(), "{} is left", dir.display());
    }
}

#[test]
fn a_created_container_can_be_deleted_and_its_sandbox_goes() {
    if !can_run("a_created_container_can_be_deleted_and_its_sandbox_goes") {
        return;
    }
    let b = Bundle::new("created", &["sleep", "100"]);
    b.create("c", &[]).ok();
    let pid = b.state("c").unwrap()["pid"].as_i64().unwrap() as i32;
    b.runsc(&["delete", "c"]).ok();
    assert!(!common_alive(pid), "sandbox {pid} survived delete");
}

fn common_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => {
            let state = text
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

#[test]
fn run_exits_with_the_containers_status() {
    if !can_run("run_exits_with_the_containers_status") {
        return;
    }
    let mut b = Bundle::new("status", &["sh", "-c", "echo out; ls /nowhere; exit 7"]);
    let r = b.runsc(&["run", "--bundle", b.dir().to_str().unwrap(), "st"]);
    assert_eq!(r.code(), 7, "{r:#?}");
    assert_eq!(r.stdout, "out\n");
    // The container's stderr is the caller's.
    assert!(r.stderr.contains("/nowhere"), "{}", r.stderr);
    // Deleted after a foreground run.
    assert!(b.state("st").is_err());

    // Killed by a signal: 128 + N, as a shell says it. (Init ignores a
    // SIGKILL it sends itself, as on Linux: the signal comes from outside.)
    b.spec["process"]["args"] = serde_json::json!(["sleep", "100"]);
    b.save();
    let mut run = std::process::Command::new(common::runsc_bin())
        .args(common::platform_flags())
        .args([
            "--root",
            b.root().to_str().unwrap(),
            "run",
            "--bundle",
            b.dir().to_str().unwrap(),
            "sig",
        ])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    b.wait_status("sig", "running");
    b.runsc(&["kill", "sig", "KILL"]).ok();
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(137));

    // --keep leaves a stopped container behind.
    b.spec["process"]["args"] = serde_json::json!(["true"]);
    b.save();
    let r = b.runsc(&[
        "run",
        "--keep",
        "--bundle",
        b.dir().to_str().unwrap(),
        "kept",
    ]);
    assert_eq!(r.code(), 0, "{r:#?}");
    assert_eq!(b.status("kept"), "stopped");
    b.runsc(&["delete", "kept"]).ok();
}

#[test]
fn the_sandbox_process_exits_with_inits_status() {
    if !can_run("the_sandbox_process_exits_with_inits_status") {
        return;
    }
    common::become_subreaper();
    let b = Bundle::new("pidexit", &["sh", "-c", "sleep 0.2; exit 42"]);
    let pid_file = b.file("pid");
    b.create("px", &["--pid-file", pid_file.to_str().unwrap()])
        .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    b.runsc(&["start", "px"]).ok();
    // The engine waits on the sandbox's PID (an orphan we reap here).
    assert_eq!(common::wait_pid(pid, Duration::from_secs(20)), 42);
    assert_eq!(b.status("px"), "stopped");
    // runsc wait still knows the status afterwards.
    let w = b.runsc(&["wait", "px"]).ok();
    let v: serde_json::Value = serde_json::from_str(&w.stdout).unwrap();
    assert_eq!(v["exitStatus"], 42);
    assert_eq!(v["id"], "px");
    b.runsc(&["delete", "px"]).ok();
}

#[test]
fn wait_returns_the_exit_status() {
    if !can_run("wait_returns_the_exit_status") {
        return;
    }
    let b = Bundle::new("wait", &["sh", "-c", "sleep 0.3; exit 4"]);
    let r = b.runsc(&[
        "run",
        "--detach",
        "--bundle",
        b.dir().to_str().unwrap(),
        "w",
    ]);
    assert_eq!(r.code(), 0, "{r:#?}");
    let w = b.runsc(&["wait", "w"]).ok();
    let v: serde_json::Value = serde_json::from_str(&w.stdout).unwrap();
    assert_eq!(v["exitStatus"], 4);
    b.wait_status("w", "stopped");
    b.runsc(&["delete", "w"]).ok();
}

#[test]
fn kill_all_and_signal_names_and_numbers() {
    if !can_run("kill_all_and_signal_names_and_numbers") {
        return;
    }
    let b = Bundle::new("killall", &["sleep", "100"]);
    b.create("k", &[]).ok();
    b.runsc(&["start", "k"]).ok();
    let bad = b.runsc(&["kill", "k", "SIGNOPE"]);
    assert_eq!(bad.code(), 1);
    assert!(bad.stderr.contains("SIGNOPE"), "{}", bad.stderr);
    // Signal 0 checks that init is there and changes nothing.
    b.runsc(&["kill", "k", "0"]).ok();
    assert_eq!(b.status("k"), "running");
    b.runsc(&["kill", "--all", "k", "9"]).ok();
    b.wait_status("k", "stopped");
    b.runsc(&["delete", "k"]).ok();
}

#[test]
fn pause_stops_every_task_and_resume_lets_them_go_on() {
    if !can_run("pause_stops_every_task_and_resume_lets_them_go_on") {
        return;
    }
    let b = Bundle::new(
        "pause",
        &["sh", "-c", "while true; do echo tick; sleep 0.02; done"],
    );
    b.create("p", &[]).ok();
    b.runsc(&["start", "p"]).ok();
    let grows = || {
        let before = b.output_of("p").len();
        std::thread::sleep(Duration::from_millis(400));
        b.output_of("p").len() > before
    };
    assert!(grows(), "the container prints nothing");
    b.runsc(&["pause", "p"]).ok();
    assert_eq!(b.status("p"), "paused");
    // What was in flight may still land.
    std::thread::sleep(Duration::from_millis(100));
    assert!(!grows(), "a paused container still runs");
    // A paused container cannot be paused again, nor started.
    let again = b.runsc(&["pause", "p"]);
    assert!(again.stderr.contains("it is paused"), "{}", again.stderr);
    b.runsc(&["resume", "p"]).ok();
    assert_eq!(b.status("p"), "running");
    assert!(grows(), "a resumed container does not run");
    let r = b.runsc(&["resume", "p"]);
    assert!(r.stderr.contains("it is running"), "{}", r.stderr);

    // SIGKILL reaches a paused container.
    b.runsc(&["pause", "p"]).ok();
    b.runsc(&["kill", "p", "KILL"]).ok();
    b.wait_status("p", "stopped");
    b.runsc(&["delete", "p"]).ok();
}

#[test]
fn a_malformed_config_is_refused_with_its_position() {
    if !can_run("a_malformed_config_is_refused_with_its_position") {
        return;
    }
    let b = Bundle::new("badjson", &["true"]);
    std::fs::write(
        b.dir().join("config.json"),
        "{\n  \"ociVersion\": \"1.1.0\",\n  \"process\": [\n",
    )
    .unwrap();
    let r = b.create("bad", &[]);
    assert_eq!(r.code(), 1);
    let config = b.dir().join("config.json");
    assert!(
        r.stderr.contains(&format!("{}: ", config.display())),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("malformed JSON at line 4"),
        "{}",
        r.stderr
    );
    assert!(!b.root().join("bad").exists(), "state left behind");

    // A spec whose program does not exist: the sandbox's error reaches the
    // caller, and nothing is left.
    let mut b = Bundle::new("noprog", &["/bin/no-such-program"]);
    b.spec["process"]["args"] = serde_json::json!(["/bin/no-such-program", "x"]);
    b.save();
    let r = b.create("np", &[]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr
            .contains("cannot execute /bin/no-such-program: ENOENT"),
        "{}",
        r.stderr
    );
    assert!(!b.root().join("np").exists(), "state left behind");
}

#[test]
fn an_unknown_container_is_named() {
    if !can_run("an_unknown_container_is_named") {
        return;
    }
    let b = Bundle::new("unknown", &["true"]);
    for args in [
        &["state", "ghost"][..],
        &["start", "ghost"],
        &["kill", "ghost"],
        &["delete", "ghost"],
        &["exec", "ghost", "true"],
        &["ps", "ghost"],
        &["pause", "ghost"],
        &["wait", "ghost"],
        &["events", "--stats", "ghost"],
    ] {
        let r = b.runsc(args);
        assert_eq!(r.code(), 1, "{args:?}");
        assert!(
            r.stderr
                .contains("container \\\"ghost\\\" does not exist (no state under"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // delete --force of nothing succeeds, as runc's does.
    b.runsc(&["delete", "--force", "ghost"]).ok();
}

#[test]
fn errors_go_to_the_log_as_json_lines() {
    if !can_run("errors_go_to_the_log_as_json_lines") {
        return;
    }
    let b = Bundle::new("jsonlog", &["/bin/missing"]);
    let log = b.file("log.json");
    let r = b.runsc(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        b.dir().to_str().unwrap(),
        "j",
    ]);
    assert_eq!(r.code(), 1);
    let text = std::fs::read_to_string(&log).unwrap();
    let errors: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v: &serde_json::Value| v["level"] == "error")
        .collect();
    let last = errors.last().expect("an error line");
    assert!(
        last["msg"]
            .as_str()
            .unwrap()
            .contains("cannot execute /bin/missing"),
        "{last}"
    );
    assert!(last["time"].as_str().is_some(), "{last}");
}

#[test]
fn rlimits_belong_to_the_sandbox_not_the_host() {
    if !can_run("rlimits_belong_to_the_sandbox_not_the_host") {
        return;
    }
    // podman's default, above this machine's host hard limit (20000).
    let mut b = Bundle::new("rlimit", &["sh", "-c", "ulimit -n; ulimit -Hn"]);
    b.spec["process"]["rlimits"] = serde_json::json!([
        { "type": "RLIMIT_NOFILE", "hard": 1048576u64, "soft": 1048576u64 }
    ]);
    b.save();
    let r = b.runsc(&["run", "--bundle", b.dir().to_str().unwrap(), "rl"]);
    assert_eq!(r.code(), 0, "{r:#?}");
    assert_eq!(r.stdout, "1048576\n1048576\n");
}

#[test]
fn hooks_run_in_order_with_the_state_on_stdin() {
    if !can_run("hooks_run_in_order_with_the_state_on_stdin") {
        return;
    }
    let mut b = Bundle::new("hooks", &["sleep", "100"]);
    let record = b.file("hooks.log");
    let hook = |name: &str| {
        serde_json::json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!(
                "read -r state; echo \"{name} $state\" >> {}", record.display()
            )],
        })
    };
    b.spec["hooks"] = serde_json::json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    b.save();
    b.create("h", &[]).ok();
    b.runsc(&["start", "h"]).ok();
    b.runsc(&["delete", "--force", "h"]).ok();
    let text = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        ["prestart", "createRuntime", "poststart", "poststop"],
        "{text}"
    );
    for line in &lines {
        let (_, json) = line.split_once(' ').unwrap();
        let state: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(state["id"], "h", "{line}");
        assert_eq!(state["bundle"], b.dir().to_str().unwrap(), "{line}");
    }
    let status = |i: usize| {
        let (_, json) = lines[i].split_once(' ').unwrap();
        serde_json::from_str::<serde_json::Value>(json).unwrap()["status"].clone()
    };
    assert_eq!(status(2), "running");
    assert_eq!(status(3), "stopped");

    // A failing createRuntime hook fails create and leaves nothing.
    let mut b = Bundle::new("badhook", &["sleep", "100"]);
    b.spec["hooks"] = serde_json::json!({
        "createRuntime": [{ "path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"] }]
    });
    b.save();
    let r = b.create("bh", &[]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr.contains("createRuntime hook #1 (/bin/sh) failed") && r.stderr.contains("nope"),
        "{}",
        r.stderr
    );
    assert!(!b.root().join("bh").exists());
}

#[test]
fn engine_flags_are_accepted() {
    if !can_run("engine_flags_are_accepted") {
        return;
    }
    let b = Bundle::new("flags", &["sleep", "100"]);
    let log = b.file("log.json");
    let pid = b.file("pid");
    // Docker 20.10's create and containerd's runc shim flags.
    let out = std::fs::File::create(b.file("f.out")).unwrap();
    let status = std::process::Command::new(common::runsc_bin())
        .args([
            "--root",
            b.root().to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "--systemd-cgroup",
            "create",
            "--bundle",
            b.dir().to_str().unwrap(),
            "--pid-file",
            pid.to_str().unwrap(),
            "--no-pivot",
            "--no-new-keyring",
            "f",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap();
    assert!(status.success(), "{}", b.output_of("f"));
    b.runsc(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format=json",
        "start",
        "f",
    ])
    .ok();
    b.runsc(&["state", "f"]).ok();
    b.runsc(&["kill", "--all", "f", "SIGKILL"]).ok();
    b.wait_status("f", "stopped");
    b.runsc(&["delete", "--force", "f"]).ok();
}

#[test]
fn a_created_container_dies_of_a_fatal_signal() {
    if !can_run("a_created_container_dies_of_a_fatal_signal") {
        return;
    }
    let b = Bundle::new("killcreated", &["sh", "-c", "echo never"]);
    b.create("kc", &[]).ok();
    b.runsc(&["kill", "kc", "TERM"]).ok();
    b.wait_status("kc", "stopped");
    let w = b.runsc(&["wait", "kc"]).ok();
    let v: serde_json::Value = serde_json::from_str(&w.stdout).unwrap();
    assert_eq!(v["exitStatus"], 128 + 15);
    assert_eq!(b.output_of("kc"), "");
    b.runsc(&["delete", "kc"]).ok();
}

#[test]
fn ps_and_events_report_what_the_sandbox_runs() {
    if !can_run("ps_and_events_report_what_the_sandbox_runs") {
        return;
    }
    let mut b = Bundle::new("psevents", &["sh", "-c", "sleep 100"]);
    b.spec["linux"]["resources"] = serde_json::json!({ "memory": { "limit": 268435456 } });
    b.save();
    b.create("pe", &[]).ok();
    b.runsc(&["start", "pe"]).ok();
    // busybox sh runs its last command in its own place.
    let ps = b.runsc(&["ps", "pe"]).ok();
    let lines: Vec<&str> = ps.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!((row[0], row[1], row[2]), ("0", "1", "0"), "{}", ps.stdout);
    assert!(lines[1].ends_with("sleep 100"), "{}", ps.stdout);
    // The JSON list engines read holds host PIDs: the sandbox process.
    let json = b.runsc(&["ps", "--format", "json", "pe"]).ok();
    let pids: Vec<i32> = serde_json::from_str(json.stdout.trim()).unwrap();
    let sandbox = b.state("pe").unwrap()["pid"].as_i64().unwrap() as i32;
    assert!(pids.contains(&sandbox), "{pids:?} lacks {sandbox}");

    let stats = b.runsc(&["events", "--stats", "pe"]).ok();
    let v: serde_json::Value = serde_json::from_str(stats.stdout.trim()).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], "pe");
    assert!(v["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
    assert_eq!(v["data"]["memory"]["usage"]["limit"], 268435456);
    assert_eq!(v["data"]["pids"]["current"], 1);

    // Without --stats: an event per interval until the container stops.
    let events = std::process::Command::new(common::runsc_bin())
        .args([
            "--root",
            b.root().to_str().unwrap(),
            "events",
            "--interval",
            "100ms",
            "pe",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(450));
    b.runsc(&["kill", "pe", "KILL"]).ok();
    let out = events.wait_with_output().unwrap();
    assert!(out.status.success());
    let n = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(n >= 2, "{n} events");
    b.runsc(&["delete", "pe"]).ok();
}
