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

use common::podman::Podman;
use common::{can_run, run, Bundle, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

/// `runsc checkpoint` of `id` into a tmpfs of `size` (say "256k") made for
/// it, which the image does not fit: what runsc said and the files left
/// in the tmpfs, or None (said on stderr) if no tmpfs can be mounted here.
fn checkpoint_into_small_tmpfs(b: &Bundle, id: &str, size: &str) -> Option<(Run, Vec<String>)> {
    let small = b.file("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("a tmpfs cannot be mounted here: the full-disk case is not checked");
        return None;
    }
    let r = b.runsc(&["checkpoint", "--image-path", small.to_str().unwrap(), id]);
    let left = std::fs::read_dir(&small)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let _ = Command::new("umount").arg(&small).status();
    Some((r, left))
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

/// The PIDs inside container `id`, from the `ps` table (the JSON list
/// holds host PIDs, as runc's does).
fn pids(b: &Bundle, id: &str) -> Vec<i64> {
    let ps = b.runsc(&["ps", id]).ok();
    let mut pids: Vec<i64> = ps
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    pids.sort();
    pids
}

/// systrap patches system call sites unless `RUNSC_SYSTRAP_PATCH=0`.
fn patching_expected() -> bool {
    let platform = std::env::var("RUNSC_PLATFORM").unwrap_or_default();
    let patch = std::env::var("RUNSC_SYSTRAP_PATCH").unwrap_or_default();
    (platform.is_empty() || platform == "systrap")
        && !matches!(patch.as_str(), "0" | "false" | "off" | "no")
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

    // A process started by exec is saved and restored too.
    b.runsc_detached("exec", &["exec", "--detach", "ctr", "/bin/sleep", "1000"])
        .ok();
    let pids_before = pids(&b, "ctr");
    assert_eq!(pids_before.len(), 3, "{pids_before:?}");

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
    // The processes inside are the same ones, by PID, the exec'd one too.
    assert_eq!(pids(&b, "ctr"), pids_before);
    let ps = b.runsc(&["ps", "ctr"]).ok();
    assert!(ps.stdout.contains("/bin/sleep 1000"), "{}", ps.stdout);
    // On systrap the counter's system call sites were patched before the
    // checkpoint: its patch table came back with its memory.
    if patching_expected() {
        let maps = b.runsc(&["exec", "ctr", "/bin/cat", "/proc/1/maps"]).ok();
        assert!(maps.stdout.contains("[patch]"), "{}", maps.stdout);
    }

    // The sandbox's PID exits with init's status.
    b.runsc(&["kill", "ctr", "KILL"]).ok();
    assert_eq!(common::wait_pid(pid as i32, Duration::from_secs(20)), 137);
    b.wait_status("ctr", "stopped");
    b.runsc(&["delete", "ctr"]).ok();
}

/// A bundle whose root filesystem is the host's own (read-only; writes
/// stay in the sandbox), running `args`.
fn host_root_bundle(tag: &str, args: &[&str]) -> Bundle {
    let mut b = Bundle::new(tag, args);
    b.spec["root"] = serde_json::json!({ "path": "/", "readonly": true });
    b.spec["process"]["env"] = serde_json::json!(["PATH=/usr/bin:/bin", "HOME=/root"]);
    b.save();
    b
}

/// Lines of output `tag` that start with `prefix`, without it.
fn lines_with(b: &Bundle, tag: &str, prefix: &str) -> Vec<String> {
    std::fs::read_to_string(b.file(&format!("{tag}.out")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::to_string)
        .collect()
}

fn wait_line(b: &Bundle, tag: &str, prefix: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(l) = lines_with(b, tag, prefix).pop() {
            return l;
        }
        assert!(
            Instant::now() < deadline,
            "{tag}: no line {prefix:?}; output: {}; errors: {}",
            std::fs::read_to_string(b.file(&format!("{tag}.out"))).unwrap_or_default(),
            std::fs::read_to_string(b.file(&format!("{tag}.err"))).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn python_keeps_200_mb_and_a_dict_of_100k_entries() {
    if !can_run("python_keeps_200_mb_and_a_dict_of_100k_entries") {
        return;
    }
    if !Path::new("/usr/bin/python3").is_file() {
        eprintln!("SKIP python_keeps_200_mb_and_a_dict_of_100k_entries: no /usr/bin/python3");
        return;
    }
    let script = "\
import hashlib, os, signal, time
data = bytearray(b''.join(os.urandom(1 << 20) for _ in range(200)))
table = {i: str(i * 7919) for i in range(100000)}
def digest():
    h = hashlib.sha256(data)
    h.update(repr(sorted(table.items())).encode())
    return h.hexdigest()
signal.signal(signal.SIGUSR1, lambda *a: print('after', len(data), len(table), digest(), flush=True))
print('ready', len(data), len(table), digest(), flush=True)
while True:
    time.sleep(0.05)
";
    let b = host_root_bundle("ckpt-python", &["/usr/bin/python3", "-c", script]);
    start(&b, "py");
    let ready = wait_line(&b, "py", "ready ", Duration::from_secs(120));
    assert!(ready.starts_with("209715200 100000 "), "{ready}");

    let image = b.file("image");
    let took = checkpoint(&b, "py", &image, &[]);
    let size = image_size(&image);
    eprintln!(
        "python 200 MB: checkpoint {took:?}, image {size} bytes ({:.0} MB/s)",
        size as f64 / 1e6 / took.as_secs_f64()
    );
    // The image holds the data, not much more.
    assert!(size > 200 << 20, "{size}");
    b.runsc(&["delete", "py"]).ok();

    let (r, took) = restore(&b, "py", &image, "py-restored", &[]);
    assert_eq!(r.code(), 0, "{r:#?}");
    eprintln!(
        "python 200 MB: restore {took:?} ({:.0} MB/s)",
        size as f64 / 1e6 / took.as_secs_f64()
    );
    b.runsc(&["kill", "py", "USR1"]).ok();
    let after = wait_line(&b, "py-restored", "after ", Duration::from_secs(60));
    assert_eq!(after, ready, "the data changed across the restore");
    b.runsc(&["delete", "--force", "py"]).ok();
}

/// The 64 bytes `lazymem` writes from three quarters into its `mb`
/// megabytes.
fn lazymem_bytes(mb: u64) -> String {
    let at = (mb << 20) / 4 * 3 + 123;
    (at..at + 64)
        .map(|i| char::from(b'a' + ((i * 7 + i / 4096) % 26) as u8))
        .collect()
}

/// A lazily restored program runs before its 256 MB are loaded: it reads
/// not-yet-loaded memory through a system call, forks, and hashes its
/// memory (parent and child) right after the restore, and goes on.
/// Restored eagerly (`--eager-pages`) the same holds.
#[test]
fn lazy_restore_runs_before_the_pages_are_loaded() {
    if !can_run("lazy_restore_runs_before_the_pages_are_loaded") {
        return;
    }
    let b = Bundle::new("ckpt-lazy", &["/bin/lazymem", "256"]);
    install_program(&b, "lazymem");
    start(&b, "lz");
    let ready = wait_line(&b, "lz", "ready ", Duration::from_secs(120));
    for (round, extra) in [("lazy", &[][..]), ("eager", &["--eager-pages"][..])] {
        let image = b.file(&format!("image-{round}"));
        let took = checkpoint(&b, "lz", &image, &[]);
        b.runsc(&["delete", "lz"]).ok();
        let tag = format!("lz-{round}");
        let (r, restored) = restore(&b, "lz", &image, &tag, extra);
        assert_eq!(r.code(), 0, "{r:#?}");
        eprintln!("lazymem 256 MB, {round}: checkpoint {took:?}, restore {restored:?}");
        // "buf" is written in three calls: read it once "child" follows.
        let child = wait_line(&b, &tag, "child ", Duration::from_secs(60));
        let buf = wait_line(&b, &tag, "buf ", Duration::from_secs(60));
        assert_eq!(buf, lazymem_bytes(256), "{round}: write(2) from memory");
        assert_eq!(child, ready, "{round}: the forked child's memory");
        let after = wait_line(&b, &tag, "after ", Duration::from_secs(60));
        assert_eq!(
            after, ready,
            "{round}: the memory changed across the restore"
        );
        // It goes on.
        let alive = lines_with(&b, &tag, "alive ").len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while lines_with(&b, &tag, "alive ").len() < alive + 2 {
            assert!(
                Instant::now() < deadline,
                "{round}: stopped after the restore"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(b.status("lz"), "running");
    }
    b.runsc(&["delete", "--force", "lz"]).ok();
}

/// A checkpoint that stops the container gives the memory back to the
/// host as it writes it. When the checkpoint then fails (the file system
/// fills up half way, or the finished image cannot be put in place), the
/// memory is read back from what was written, and the container goes on
/// with every byte of it.
#[test]
fn a_failed_checkpoint_gives_back_the_memory_it_freed() {
    if !can_run("a_failed_checkpoint_gives_back_the_memory_it_freed") {
        return;
    }
    let b = Bundle::new("ckpt-freed", &["/bin/lazymem", "64"]);
    install_program(&b, "lazymem");
    start(&b, "fr");
    let ready = wait_line(&b, "fr", "ready ", Duration::from_secs(120));
    let failed = |image: &Path, problem: &str| {
        let r = b.runsc(&["checkpoint", "--image-path", image.to_str().unwrap(), "fr"]);
        assert_eq!(r.code(), 1, "{r:#?}");
        assert!(
            r.stderr.contains(problem),
            "expected {problem:?}: {}",
            r.stderr
        );
        assert_eq!(b.status("fr"), "running");
    };

    // Half of the 64 MB fit: the first parts are written and freed when
    // the file system fills up.
    if let Some((r, left)) = checkpoint_into_small_tmpfs(&b, "fr", "32m") {
        assert_eq!(r.code(), 1, "{r:#?}");
        assert!(r.stderr.contains("No space left"), "{}", r.stderr);
        assert!(left.is_empty(), "the failed checkpoint left {left:?}");
        assert_eq!(b.status("fr"), "running");
    }

    // The whole image is written and all memory freed, but it cannot be
    // renamed into place: a directory holds its name.
    let blocked = b.file("blocked");
    std::fs::create_dir_all(blocked.join("checkpoint.img/x")).unwrap();
    failed(&blocked, "checkpoint.img");

    // A stop the program notices, so that it checks its memory again
    // (the failed checkpoints stopped it too, and it may have checked
    // already): every check agrees with what it held before.
    b.runsc(&["pause", "fr"]).ok();
    std::thread::sleep(Duration::from_millis(100));
    b.runsc(&["resume", "fr"]).ok();
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines_with(&b, "fr", "after ").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the program did not check its memory"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let child = wait_line(&b, "fr", "child ", Duration::from_secs(60));
    assert_eq!(child, ready, "a forked child's memory");
    for after in lines_with(&b, "fr", "after ") {
        assert_eq!(
            after, ready,
            "the memory changed across the failed checkpoints"
        );
    }
    b.runsc(&["delete", "--force", "fr"]).ok();
}

/// A page whose checksum is wrong, found by a lazy restore after the
/// container runs again: the container ends with a message naming the
/// image and the offset, rather than running on with bad memory or hanging.
#[test]
fn a_corrupted_page_found_lazily_ends_the_container() {
    if !can_run("a_corrupted_page_found_lazily_ends_the_container") {
        return;
    }
    let b = Bundle::new("ckpt-lazy-bad", &["/bin/lazymem", "64"]);
    install_program(&b, "lazymem");
    start(&b, "lzb");
    wait_line(&b, "lzb", "ready ", Duration::from_secs(120));
    let good = b.file("good");
    checkpoint(&b, "lzb", &good, &[]);
    b.runsc(&["delete", "lzb"]).ok();
    // Half way into the file lies page data (64 MB of it, a small state).
    let bad = damaged(&b, &good, "bad", |v| {
        let i = v.len() / 2;
        v[i] ^= 0x5a;
    });
    let (r, _) = restore(&b, "lzb", &bad, "lzb-bad", &[]);
    assert_eq!(r.code(), 0, "the header, state and map are good: {r:#?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.status("lzb") == "running" {
        assert!(
            Instant::now() < deadline,
            "the container runs on with a bad page"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The sandbox's log, and what `restore` said.
    let log = std::fs::read_to_string(b.root().join("lzb/sandbox.log")).unwrap_or_default()
        + &std::fs::read_to_string(b.file("lzb-bad.err")).unwrap_or_default();
    let image = bad.join("checkpoint.img");
    assert!(
        log.contains("checksum mismatch") && log.contains(image.to_str().unwrap()),
        "no clear error in the log: {log}"
    );
    // The program printed nothing computed from bad memory.
    assert!(lines_with(&b, "lzb-bad", "after ").is_empty());
    b.runsc(&["delete", "--force", "lzb"]).ok();
}

#[test]
fn leave_running_then_a_clone_runs_beside_the_original() {
    if !can_run("leave_running_then_a_clone_runs_beside_the_original") {
        return;
    }
    let b = counter_bundle("ckpt-clone", 50);
    start(&b, "orig");
    wait_tick(&b, "orig", "tick 5", |t| num(t, "tick") >= 5);
    let image = b.file("image");
    let before_checkpoint = ticks(&b, "orig").len() as i64;
    checkpoint(&b, "orig", &image, &["--leave-running"]);
    assert_eq!(b.status("orig"), "running");
    let at_checkpoint = ticks(&b, "orig").len() as i64;
    wait_tick(&b, "orig", "a tick after the checkpoint", |t| {
        num(t, "tick") > at_checkpoint + 3
    });

    // The same image under another ID: both run, each on its own.
    let (r, _) = restore(&b, "clone", &image, "clone", &[]);
    assert_eq!(r.code(), 0, "{r:#?}");
    assert_eq!(b.status("clone"), "running");
    assert_eq!(b.status("orig"), "running");
    b.runsc(&["kill", "clone", "USR1"]).ok();
    let clone = wait_tick(&b, "clone", "usr1=1", |t| t["usr1"] == "1");
    let first = num(&clone[0], "tick");
    assert!(
        (before_checkpoint..=at_checkpoint).contains(&(first - 1)),
        "the clone starts at tick {first}, the checkpoint was between ticks \
         {before_checkpoint} and {at_checkpoint}"
    );
    check_consistent(&clone, first);
    let orig_now = ticks(&b, "orig").len();
    wait_tick(&b, "orig", "more ticks", |t| {
        num(t, "tick") > orig_now as i64 + 3
    });
    let orig = ticks(&b, "orig");
    check_consistent(&orig, 1);
    assert!(
        orig.iter().all(|t| t["usr1"] == "0"),
        "the original got the clone's signal"
    );
    // Each has its own sandbox.
    assert_ne!(pid_of(&b, "orig"), pid_of(&b, "clone"));
    b.clean(&["orig", "clone"]);
}

#[test]
fn a_paused_container_checkpoints_as_containerd_drives_it() {
    if !can_run("a_paused_container_checkpoints_as_containerd_drives_it") {
        return;
    }
    let b = counter_bundle("ckpt-paused", 50);
    start(&b, "p");
    wait_tick(&b, "p", "tick 3", |t| num(t, "tick") >= 3);

    // pause, checkpoint --leave-running, resume: it stays paused until
    // resumed, then goes on.
    b.runsc(&["pause", "p"]).ok();
    let image = b.file("image");
    checkpoint(&b, "p", &image, &["--leave-running"]);
    assert_eq!(b.status("p"), "paused");
    let paused_at = ticks(&b, "p").len();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ticks(&b, "p").len(), paused_at, "it ran while paused");
    b.runsc(&["resume", "p"]).ok();
    wait_tick(&b, "p", "a tick after resume", |t| {
        num(t, "tick") > paused_at as i64 + 2
    });

    // pause, checkpoint (the container stops), resume: resume says the
    // container is stopped, and nothing else breaks.
    b.runsc(&["pause", "p"]).ok();
    let last = ticks(&b, "p").len() as i64;
    let image2 = b.file("image2");
    checkpoint(&b, "p", &image2, &[]);
    assert_eq!(b.status("p"), "stopped");
    let r = b.runsc(&["resume", "p"]);
    assert_eq!(r.code(), 1, "{r:#?}");
    assert!(r.stderr.contains("stopped"), "{}", r.stderr);
    b.runsc(&["delete", "p"]).ok();

    // The image of the paused container restores running.
    let (r, _) = restore(&b, "p", &image2, "p-restored", &[]);
    assert_eq!(r.code(), 0, "{r:#?}");
    assert_eq!(b.status("p"), "running");
    let after = wait_tick(&b, "p-restored", "ticks", |t| num(t, "tick") > last + 2);
    check_consistent(&after, last + 1);
    b.clean(&["p"]);
}

/// Writes a copy of the image in `good` to a new directory `name`, changed
/// by `damage`.
fn damaged(b: &Bundle, good: &Path, name: &str, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let dir = b.file(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = std::fs::read(good.join("checkpoint.img")).unwrap();
    damage(&mut bytes);
    std::fs::write(dir.join("checkpoint.img"), bytes).unwrap();
    dir
}

#[test]
fn bad_images_are_refused_and_the_container_stays() {
    if !can_run("bad_images_are_refused_and_the_container_stays") {
        return;
    }
    let b = counter_bundle("ckpt-bad", 50);
    start(&b, "orig");
    wait_tick(&b, "orig", "tick 3", |t| num(t, "tick") >= 3);
    let good = b.file("good");
    checkpoint(&b, "orig", &good, &["--leave-running"]);
    let len = image_size(&good);

    let corrupted = damaged(&b, &good, "corrupted", |v| {
        let i = v.len() - 4096 * 3;
        v[i] ^= 0x55;
    });
    let truncated = damaged(&b, &good, "truncated", |v| v.truncate(v.len() / 2));
    let foreign = damaged(&b, &good, "foreign", |v| {
        v[..8].copy_from_slice(b"QEVM\0\0\0\0")
    });
    let newer = damaged(&b, &good, "newer", |v| {
        v[8..10].copy_from_slice(&2u16.to_le_bytes())
    });
    let state = b.file("state-damaged");
    let state = {
        let dir = damaged(&b, &good, "state-damaged", |v| {
            // The first byte of the state section, right after the header.
            let header_len = u32::from_le_bytes([v[20], v[21], v[22], v[23]]) as usize;
            v[header_len + 1] ^= 0xff;
        });
        assert_eq!(dir, state);
        dir
    };
    let missing = b.file("missing");
    let cases: [(&Path, &str); 6] = [
        (&corrupted, "memory pages section is corrupted"),
        (&truncated, &format!("truncated: expected {len} bytes")),
        (&foreign, "is not a runsc checkpoint image"),
        (&newer, "written by format 2.0"),
        (&state, "state section is corrupted"),
        (&missing, "does not exist"),
    ];
    for (dir, problem) in cases {
        // Meant to replace the running container, or as a new one.
        for id in ["orig", "other"] {
            // Pages are checked as the new sandbox loads them, after the
            // ID: a damaged page and a taken ID is refused for the ID.
            let problem = if dir == corrupted && id == "orig" {
                "already exists"
            } else {
                problem
            };
            // As a new container, a damaged page is found only when it is
            // loaded, after the restore (pages load lazily):
            // `a_corrupted_page_found_lazily_ends_the_container` covers it.
            // Loaded eagerly, it is refused here.
            let eager: &[&str] = if dir == corrupted {
                &["--eager-pages"]
            } else {
                &[]
            };
            let (r, _) = restore(&b, id, dir, &format!("bad-{id}"), eager);
            assert_eq!(r.code(), 1, "{}: {r:#?}", dir.display());
            assert!(
                r.stderr.contains(problem),
                "{}: expected {problem:?} in {}",
                dir.display(),
                r.stderr
            );
            assert!(b.state("other").is_err(), "a container was left for other");
        }
        assert_eq!(b.status("orig"), "running");
    }
    // The original goes on as before; the good image is good.
    let now = ticks(&b, "orig").len() as i64;
    let list = wait_tick(&b, "orig", "more ticks", |t| num(t, "tick") > now + 2);
    check_consistent(&list, 1);
    b.runsc(&["statefile", good.to_str().unwrap()]).ok();

    // An existing ID is refused after the image is checked, and the
    // container with that ID is not touched.
    let (r, _) = restore(&b, "orig", &good, "dup", &[]);
    assert_eq!(r.code(), 1, "{r:#?}");
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(b.status("orig"), "running");

    // A checkpoint that cannot be written leaves the container running
    // and no image: a directory that is not one, and a file system too
    // small for the image (the sandbox's write fails half way).
    let blocked = b.file("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    let r = b.runsc(&[
        "checkpoint",
        "--image-path",
        blocked.to_str().unwrap(),
        "orig",
    ]);
    assert_eq!(r.code(), 1, "{r:#?}");
    assert_eq!(b.status("orig"), "running");
    if let Some((r, left)) = checkpoint_into_small_tmpfs(&b, "orig", "256k") {
        assert_eq!(r.code(), 1, "{r:#?}");
        assert!(r.stderr.contains("No space left"), "{}", r.stderr);
        assert!(left.is_empty(), "the failed checkpoint left {left:?}");
        assert_eq!(b.status("orig"), "running");
        let now = ticks(&b, "orig").len() as i64;
        wait_tick(&b, "orig", "ticks after the failure", |t| {
            num(t, "tick") > now + 2
        });
    }
    b.clean(&["orig"]);
}

#[test]
fn a_host_file_gone_since_the_checkpoint_is_named() {
    if !can_run("a_host_file_gone_since_the_checkpoint_is_named") {
        return;
    }
    let b = Bundle::new(
        "ckpt-gone",
        &[
            "sh",
            "-c",
            "exec 3</data.txt; echo open; while true; do sleep 0.1; done",
        ],
    );
    let data = b.dir().join("rootfs/data.txt");
    std::fs::write(&data, "from the host\n").unwrap();
    start(&b, "g");
    wait_line(&b, "g", "open", Duration::from_secs(20));
    let image = b.file("image");
    checkpoint(&b, "g", &image, &[]);
    b.runsc(&["delete", "g"]).ok();
    std::fs::remove_file(&data).unwrap();
    let (r, _) = restore(&b, "g", &image, "g-restored", &[]);
    assert_eq!(r.code(), 1, "{r:#?}");
    assert!(
        r.stderr
            .contains("the host file /data.txt that a process had open is gone"),
        "{}",
        r.stderr
    );
    assert!(b.state("g").is_err(), "a container was left behind");
    // Back in place, the same image restores.
    std::fs::write(&data, "from the host\n").unwrap();
    let (r, _) = restore(&b, "g", &image, "g-restored", &[]);
    assert_eq!(r.code(), 0, "{r:#?}");
    assert_eq!(b.status("g"), "running");
    b.clean(&["g"]);
}

#[test]
fn a_host_file_changed_in_size_since_the_checkpoint_is_named() {
    if !can_run("a_host_file_changed_in_size_since_the_checkpoint_is_named") {
        return;
    }
    let mut b = Bundle::new(
        "ckpt-size",
        &[
            "sh",
            "-c",
            "exec 3</data.txt 4</shared/log.txt; echo open; while true; do sleep 0.1; done",
        ],
    );
    let shared = b.dir().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let mut mounts = b.spec["mounts"].as_array().cloned().unwrap_or_default();
    mounts.push(serde_json::json!({
        "destination": "/shared",
        "type": "bind",
        "source": shared,
        "options": ["rbind", "rw"],
    }));
    b.spec["mounts"] = serde_json::json!(mounts);
    b.save();
    let data = b.dir().join("rootfs/data.txt");
    let log = shared.join("log.txt");
    std::fs::write(&data, "from the host\n").unwrap();
    std::fs::write(&log, "first line\n").unwrap();
    start(&b, "s");
    wait_line(&b, "s", "open", Duration::from_secs(20));
    let image = b.file("image");
    checkpoint(&b, "s", &image, &[]);
    b.runsc(&["delete", "s"]).ok();

    // A file of the root filesystem grew.
    std::fs::write(&data, "from the host, longer now\n").unwrap();
    let (r, _) = restore(&b, "s", &image, "s-restored", &[]);
    assert_eq!(r.code(), 1, "{r:#?}");
    assert!(
        r.stderr.contains(
            "the host file /data.txt that a process had open has changed size since the checkpoint (it was 14 bytes, it is 26 bytes now)"
        ),
        "{}",
        r.stderr
    );
    assert!(b.state("s").is_err(), "a container was left behind");
    std::fs::write(&data, "from the host\n").unwrap();

    // A file of a bind mount shrank.
    std::fs::write(&log, "").unwrap();
    let (r, _) = restore(&b, "s", &image, "s-restored", &[]);
    assert_eq!(r.code(), 1, "{r:#?}");
    assert!(
        r.stderr.contains("/shared/log.txt")
            && r.stderr.contains(
                "has changed size since the checkpoint (it was 11 bytes, it is 0 bytes now)"
            ),
        "{}",
        r.stderr
    );
    assert!(b.state("s").is_err(), "a container was left behind");

    // Both as they were, the same image restores.
    std::fs::write(&log, "first line\n").unwrap();
    let (r, _) = restore(&b, "s", &image, "s-restored", &[]);
    assert_eq!(r.code(), 0, "{r:#?}");
    assert_eq!(b.status("s"), "running");
    b.clean(&["s"]);
}

const PODMAN_IMAGE: &str = "localhost/runsc-ckpt-test:latest";

/// podman with our runtime and the test image; podman checkpoints with a
/// runtime named `runsc` without CRIU.
fn podman(tag: &str) -> Option<Podman> {
    assert_eq!(
        common::runsc_bin().file_name().unwrap(),
        "runsc",
        "podman checkpoints only with a runtime named runsc"
    );
    Podman::new(tag, PODMAN_IMAGE, "pck")
}

/// The numbers container `name` has printed, one a line.
fn counted(p: &Podman, name: &str) -> Vec<u64> {
    let r = p.podman(&["logs", name]).ok();
    r.stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Waits until `name` has printed more than `n` numbers; returns them.
fn wait_counted(p: &Podman, name: &str, n: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = counted(p, name);
        if c.len() > n {
            return c;
        }
        assert!(Instant::now() < deadline, "{name} printed only {c:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Counts 1, 2, 3... in order, each once: nothing restarted or lost.
fn assert_counts_on(c: &[u64]) {
    for (i, &n) in c.iter().enumerate() {
        assert_eq!(n, i as u64 + 1, "the count restarted or skipped: {c:?}");
    }
}

#[test]
fn podman_checkpoint_restore_export_import() {
    let Some(p) = podman("podman_checkpoint_restore_export_import") else {
        return;
    };
    let count = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done";
    p.podman(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        PODMAN_IMAGE,
        "sh",
        "-c",
        count,
    ])
    .ok();
    wait_counted(&p, "c", 5);

    // In place.
    p.podman(&["container", "checkpoint", "c"]).ok();
    assert_eq!(p.status("c"), "exited");
    let at_checkpoint = counted(&p, "c").len();
    p.podman(&["container", "restore", "c"]).ok();
    assert_eq!(p.status("c"), "running");
    let c = wait_counted(&p, "c", at_checkpoint + 5);
    assert_counts_on(&c);
    let r = p.podman(&["exec", "c", "echo", "restored"]).ok();
    assert_eq!(r.stdout, "restored\n");

    // Through an archive: back under its own name, and as a second copy.
    let archive = p.b.file("c.tar.gz");
    p.podman(&[
        "container",
        "checkpoint",
        "--export",
        archive.to_str().unwrap(),
        "c",
    ])
    .ok();
    let at_export = counted(&p, "c").len();
    p.podman(&["rm", "c"]).ok();
    p.podman(&[
        "container",
        "restore",
        "--import",
        archive.to_str().unwrap(),
    ])
    .ok();
    p.podman(&[
        "container",
        "restore",
        "--import",
        archive.to_str().unwrap(),
        "--name",
        "c2",
    ])
    .ok();
    for name in ["c", "c2"] {
        assert_eq!(p.status(name), "running", "{name}");
        let c = wait_counted(&p, name, at_export + 5);
        assert_counts_on(&c);
    }
    p.podman(&["stop", "--time", "1", "c", "c2"]).ok();
}
