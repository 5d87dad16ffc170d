//! Checkpoint and restore as users and engines drive them: `runsc
//! checkpoint` stops a container into an image, `runsc restore` brings it
//! back (the same ID, or another for a copy), and what the processes
//! observe carries over: counts, file data and offsets, pipes, PIDs,
//! threads, child processes, timers, signal handlers, memory. Bad images
//! are refused without harm to the container they were meant to replace.
//! podman's checkpoint and restore (also through an exported archive) run
//! with our runtime where podman is installed.
//!
//! The times and sizes measured are printed (`--nocapture` shows them);
//! nothing asserts a time.

mod common;

use common::{can_run, run, Bundle, Run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Compiles `tests/checkpoint/NAME.c` statically into the bundle's root
/// filesystem as `/bin/NAME`.
fn install_program(b: &Bundle, name: &str) {
    let src = common::workspace_root().join(format!("tests/checkpoint/{name}.c"));
    let out = b.dir().join("rootfs/bin").join(name);
    let r = run(
        Command::new("gcc")
            .args(["-O1", "-Wall", "-pthread", "-static", "-o"])
            .arg(&out)
            .arg(&src),
        Duration::from_secs(120),
    );
    assert_eq!(r.code(), 0, "gcc {}: {}", src.display(), r.stderr);
    std::fs::create_dir_all(b.dir().join("rootfs/tmp")).unwrap();
}

/// A bundle running the counter program, ticking every `tick_ms`.
fn counter_bundle(tag: &str, tick_ms: u32) -> Bundle {
    let b = Bundle::new(tag, &["/bin/counter", &tick_ms.to_string()]);
    install_program(&b, "counter");
    b
}

/// Creates and starts container `id`; its output goes to `<id>.out`.
fn start(b: &Bundle, id: &str) {
    b.create(id, &[]).ok();
    b.runsc(&["start", id]).ok();
}

/// `runsc checkpoint`; returns how long it took.
fn checkpoint(b: &Bundle, id: &str, image: &Path, extra: &[&str]) -> Duration {
    let t = Instant::now();
    let mut args = vec!["checkpoint", "--image-path", image.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(id);
    b.runsc(&args).ok();
    t.elapsed()
}

/// `runsc restore --detach` of `image` as container `id`, its output going
/// to `<tag>.out`; returns what the command did and how long it took.
fn restore(b: &Bundle, id: &str, image: &Path, tag: &str, extra: &[&str]) -> (Run, Duration) {
    let t = Instant::now();
    let bundle = b.dir();
    let mut args = vec![
        "restore",
        "--detach",
        "--image-path",
        image.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(id);
    let r = b.runsc_detached(tag, &args);
    (r, t.elapsed())
}

/// One line of the counter's output, as its fields.
type Tick = BTreeMap<String, String>;

fn ticks(b: &Bundle, tag: &str) -> Vec<Tick> {
    let text = std::fs::read_to_string(b.file(&format!("{tag}.out"))).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("tick="))
        // A line being written may be cut short.
        .filter(|l| l.contains(" usr1="))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(t: &Tick, key: &str) -> i64 {
    t[key].parse().unwrap_or_else(|_| panic!("{key} in {t:?}"))
}

/// Waits until output `tag` has a tick that satisfies `ok`.
fn wait_tick(b: &Bundle, tag: &str, what: &str, ok: impl Fn(&Tick) -> bool) -> Vec<Tick> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = ticks(b, tag);
        if t.iter().any(&ok) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "{tag}: no tick with {what}; last: {:?}",
            t.last()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks that each tick is what the program's state makes it: its
/// count follows the one before, its file holds every count so far at the
/// right offset, the thread and the child summed every count.
fn check_consistent(list: &[Tick], first: i64) {
    for (i, t) in list.iter().enumerate() {
        let n = num(t, "tick");
        assert_eq!(n, first + i as i64, "ticks out of order at {t:?}");
        assert_eq!(t["file"], format!("{}/ok", 9 * n), "{t:?}");
        assert_eq!(num(t, "thread_sum"), n * (n + 1) / 2, "{t:?}");
        assert_eq!(num(t, "child_sum"), n * (n + 1) / 2, "{t:?}");
    }
}

fn image_size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("checkpoint.img")).unwrap().len()
}

fn pid_of(b: &Bundle, id: &str) -> i64 {
    b.state(id).unwrap()["pid"].as_i64().unwrap()
}

#[test]
fn a_counting_program_goes_on_where_it_was() {
    if !can_run("a_counting_program_goes_on_where_it_was") {
        return;
    }
    // The restored sandbox, detached, becomes ours to wait for.
    common::become_subreaper();
    let b = counter_bundle("ckpt-counter", 50);
    start(&b, "ctr");
    let before = wait_tick(&b, "ctr", "tick 10", |t| num(t, "tick") >= 10);
    assert_eq!(before[0]["pid"], "1", "{:?}", before[0]);

    let image = b.file("image");
    let took = checkpoint(&b, "ctr", &image, &[]);
    assert_eq!(b.status("ctr"), "stopped");
    assert!(image.join("checkpoint.img").is_file());
    let inventory = std::fs::read_to_string(image.join("inventory.img")).unwrap();
    assert!(inventory.contains("container ctr"), "{inventory}");
    let saved = ticks(&b, "ctr");
    let last = saved.last().unwrap().clone();
    check_consistent(&saved, 1);
    // Nothing ran after the checkpoint.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ticks(&b, "ctr").len(), saved.len());
    eprintln!(
        "counter: checkpoint {:?}, image {} bytes",
        took,
        image_size(&image)
    );

    // The same ID again, as engines restore.
    b.runsc(&["delete", "ctr"]).ok();
    let pid_file = b.file("restored.pid");
    let (r, took) = restore(
        &b,
        "ctr",
        &image,
        "ctr-restored",
        &["--pid-file", pid_file.to_str().unwrap()],
    );
    assert_eq!(r.code(), 0, "{r:#?}");
    eprintln!("counter: restore {took:?}");
    assert_eq!(b.status("ctr"), "running");
    let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(pid_of(&b, "ctr"), pid);

    let alarms_at_checkpoint = num(&last, "alarms");
    wait_tick(&b, "ctr-restored", "another alarm", |t| {
        num(t, "alarms") > alarms_at_checkpoint
    });
    b.runsc(&["kill", "ctr", "USR1"]).ok();
    let after = wait_tick(&b, "ctr-restored", "usr1=1", |t| t["usr1"] == "1");
    // It goes on from the next count, the same processes and threads
    // with their data, and its file at the same offset.
    check_consistent(&after, num(&last, "tick") + 1);
    for t in &after {
        for key in ["pid", "tid", "child"] {
            assert_eq!(t[key], last[key], "{key} changed: {t:?} after {last:?}");
        }
    }
    // The processes inside are the same ones, by PID.
    let ps = b.runsc(&["ps", "--format", "json", "ctr"]).ok();
    let listed: Vec<Value> = serde_json::from_str(&ps.stdout).unwrap();
    assert!(listed.len() >= 2, "{}", ps.stdout);

    // The sandbox's PID exits with init's status.
    b.runsc(&["kill", "ctr", "KILL"]).ok();
    assert_eq!(common::wait_pid(pid as i32, Duration::from_secs(20)), 137);
    b.wait_status("ctr", "stopped");
    b.runsc(&["delete", "ctr"]).ok();
}
