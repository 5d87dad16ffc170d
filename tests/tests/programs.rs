//! Real programs from the host's own root filesystem, run under
//! `runsc do`: Debian's bash, coreutils, python3 and busybox. Each test
//! checks output and exit status, and writes inside the sandbox are checked
//! not to reach the host.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tests::{run, runsc_bin, RunOutput};

const TIMEOUT: Duration = Duration::from_secs(120);

fn runsc() -> PathBuf {
    runsc_bin().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `argv` under `runsc do` in `/` with a small fixed environment.
fn sandboxed(argv: &[&str]) -> RunOutput {
    let mut cmd = Command::new(runsc());
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("LC_ALL", "C")
        .env("HOME", "/root")
        .current_dir("/")
        .args(tests::runsc_extra_flags())
        .arg("do")
        .args(argv);
    run(&mut cmd, TIMEOUT).expect("runsc runs")
}

/// Runs `argv` natively in the same environment.
fn native(argv: &[&str]) -> RunOutput {
    let mut cmd = Command::new(argv[0]);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("LC_ALL", "C")
        .env("HOME", "/root")
        .current_dir("/")
        .args(&argv[1..]);
    run(&mut cmd, TIMEOUT).expect("native run")
}

fn check(out: &RunOutput, status: i32) {
    assert_eq!(
        out.status,
        Some(status),
        "status {} (want {status})\nstdout:\n{}\nstderr:\n{}",
        out.status_str(),
        out.stdout_str(),
        out.stderr_str()
    );
}

/// Both runs agree on stdout and status.
fn same_as_native(argv: &[&str]) -> String {
    let n = native(argv);
    let s = sandboxed(argv);
    assert_eq!(
        s.stdout_str(),
        n.stdout_str(),
        "stdout differs for {argv:?}\nsandbox stderr:\n{}",
        s.stderr_str()
    );
    assert_eq!(
        s.status,
        n.status,
        "status differs for {argv:?}: {}",
        s.stderr_str()
    );
    s.stdout_str()
}

fn sh(script: &str) -> RunOutput {
    sandboxed(&["/bin/bash", "-c", script])
}

#[test]
fn shell_echo_ls_exit() {
    let want_count = native(&["/bin/sh", "-c", "ls / | wc -l"]).stdout_str();
    let out = sandboxed(&["/bin/sh", "-c", "echo hello; ls / | wc -l; exit 3"]);
    check(&out, 3);
    assert_eq!(out.stdout_str(), format!("hello\n{want_count}"));
}

#[test]
fn bash_pipeline_sort_tail() {
    let out = sh("for i in $(seq 1 50); do echo $i; done | sort -n | tail -1");
    check(&out, 0);
    assert_eq!(out.stdout_str(), "50\n");
}

#[test]
fn bash_subshells_traps_wait() {
    let out = sh(r#"
        trap 'echo trapped USR1' USR1
        (kill -USR1 $$)
        x=$(echo from-substitution); echo "$x"
        sleep 0.1 & pid=$!; wait $pid; echo "waited $?"
        (exit 5); echo "subshell $?"
        { echo a; echo b; } | while read l; do echo "line $l"; done
        trap 'echo exiting' EXIT
        exit 7
    "#);
    check(&out, 7);
    assert_eq!(
        out.stdout_str(),
        "trapped USR1\nfrom-substitution\nwaited 0\nsubshell 5\nline a\nline b\nexiting\n"
    );
}

#[test]
fn coreutils_listing_matches_native() {
    same_as_native(&["/bin/sh", "-c", "ls -la /usr/bin | sort | head -20"]);
    same_as_native(&["/bin/sh", "-c", "find /usr/lib -name '*.so*' | wc -l"]);
}

#[test]
fn coreutils_file_work_in_tmp() {
    let out = sh(r#"
        set -e
        d=/tmp/runsc-coreutils
        mkdir -p $d/a/b/c
        seq 1 10000 > $d/a/numbers
        cp $d/a/numbers $d/a/b/copy
        mv $d/a/b/copy $d/a/b/c/moved
        sha256sum $d/a/numbers | cut -d' ' -f1
        sha256sum $d/a/b/c/moved | cut -d' ' -f1
        tar -C $d -czf $d/t.tgz a
        rm -r $d/a
        test ! -e $d/a
        tar -C $d -xzf $d/t.tgz
        cmp $d/a/numbers $d/a/b/c/moved && echo same
        wc -l < $d/a/numbers
        rm -rf $d
        echo done
    "#);
    check(&out, 0);
    let want = native(&["/bin/sh", "-c", "seq 1 10000 | sha256sum | cut -d' ' -f1"]).stdout_str();
    assert_eq!(out.stdout_str(), format!("{want}{want}same\n10000\ndone\n"));
}

#[test]
fn python_threads_subprocess_fork_signals() {
    let script = r#"
import threading, subprocess, os, signal, json, hashlib, tempfile
results = []
lock = threading.Lock()
def work(i):
    h = hashlib.sha256(str(i).encode()).hexdigest()
    with lock:
        results.append(h[:8])
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print("threads", len(results))
r = subprocess.run(["/bin/echo", "sub"], capture_output=True, text=True)
print("subprocess", r.stdout.strip(), r.returncode)
pid = os.fork()
if pid == 0:
    os._exit(9)
_, st = os.waitpid(pid, 0)
print("fork", os.waitstatus_to_exitcode(st))
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
os.kill(os.getpid(), signal.SIGUSR1)
print("signal", got == [signal.SIGUSR1])
print("json", json.dumps({"a": [1, 2]}, sort_keys=True))
with tempfile.NamedTemporaryFile("w+", delete=True) as f:
    f.write("hello"); f.flush(); f.seek(0)
    print("tempfile", f.read())
"#;
    let out = sandboxed(&["/usr/bin/python3", "-c", script]);
    check(&out, 0);
    assert_eq!(
        out.stdout_str(),
        "threads 8\nsubprocess sub 0\nfork 9\nsignal True\njson {\"a\": [1, 2]}\ntempfile hello\n"
    );
}

#[test]
fn python_multiprocessing_pools() {
    // Workers forked (and spawned) by a pool, using extension modules
    // the parent loaded, over multiprocessing's pipes and semaphores.
    let script = r#"
import multiprocessing as mp, hashlib, sqlite3, decimal, json
def work(i):
    db = sqlite3.connect(":memory:")
    db.execute("create table t (x)"); db.execute("insert into t values (?)", (i,))
    (x,) = db.execute("select x * 2 from t").fetchone()
    return (x, str(decimal.Decimal(i) / 4), hashlib.sha256(b"%d" % i).hexdigest()[:6])
if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print(json.dumps(pool.map(work, range(6))))
    with mp.get_context("spawn").Pool(1) as pool:
        print(pool.apply(sum, ([1, 2, 3],)))
"#;
    let out = same_as_native(&["/usr/bin/python3", "-c", script]);
    assert!(out.ends_with("\n6\n"), "{out}");
}

#[test]
fn busybox_static_shell() {
    let bb = tests::workspace_root().join("target/test-tools/busybox");
    assert!(bb.exists(), "{} missing: run scripts/setup", bb.display());
    let bb = bb.display().to_string();
    let out = sandboxed(&[
        &bb,
        "sh",
        "-c",
        "echo $((6*7)); for i in 1 2 3; do echo $i; done | wc -l; exit 4",
    ]);
    check(&out, 4);
    assert_eq!(
        out.stdout_str().split_whitespace().collect::<Vec<_>>(),
        ["42", "3"]
    );
}

#[test]
fn writes_stay_in_the_sandbox() {
    let marker = format!("runsc-test-{}", std::process::id());
    let etc = Path::new("/etc").join(&marker);
    let before = std::fs::read("/etc/hostname").unwrap_or_default();
    let out = sh(&format!(
        "echo inside > /etc/{marker} && cat /etc/{marker} && echo extra >> /etc/hostname && \
         rm /etc/hostname && test ! -e /etc/hostname && echo removed"
    ));
    check(&out, 0);
    assert_eq!(out.stdout_str(), "inside\nremoved\n");
    assert!(!etc.exists(), "{} leaked to the host", etc.display());
    assert_eq!(
        std::fs::read("/etc/hostname").unwrap_or_default(),
        before,
        "/etc/hostname changed on the host"
    );
}
