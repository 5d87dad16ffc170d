//! System call patching on the systrap platform (on by default,
//! `RUNSC_SYSTRAP_PATCH=0` turns it off):
//! `tests/patching/fast_path.c` (raw `mov $NR, %eax; syscall` sites,
//! register preservation, fork after patching, threads, and glibc's
//! `syscall(3)` with its own site) runs under
//! `runsc do --strace`. Its sites are patched (`patched getpid at ...`) and
//! the calls after that are served through the trampoline, which the log
//! marks `(patched)`; the output matches the native run. With
//! `RUNSC_SYSTRAP_PATCH=0`, or on ptrace, nothing is patched.
//!
//! `patched_syscalls_with_signals` runs the conformance program (a timer
//! firing during a loop of patched calls, a restarted read) with patching
//! on.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tests::{compile_c, run, runsc_bin, workspace_root, RunOutput};

const TIMEOUT: Duration = Duration::from_secs(180);

fn strace_run(src: PathBuf, patch: bool) -> RunOutput {
    let bin = compile_c(&src).unwrap_or_else(|e| panic!("{e}"));
    let native = tests::run_native(&bin, TIMEOUT).expect("native run");
    let mut cmd = Command::new(runsc_bin().unwrap_or_else(|e| panic!("{e}")));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/")
        .args(tests::runsc_extra_flags())
        .args(["do", "--strace"])
        .arg(&bin);
    cmd.env("RUNSC_SYSTRAP_PATCH", if patch { "1" } else { "0" });
    let out = run(&mut cmd, TIMEOUT).expect("runsc runs");
    assert_eq!(out.status, Some(0), "status {}", out.status_str());
    assert_eq!(out.stdout_str(), native.stdout_str(), "differs from native");
    out
}

fn fast_path_program() -> PathBuf {
    workspace_root().join("tests/patching/fast_path.c")
}

fn on_ptrace() -> bool {
    std::env::var("RUNSC_PLATFORM").is_ok_and(|p| p == "ptrace")
}

fn count(log: &str, pat: &str) -> usize {
    log.lines().filter(|l| l.contains(pat)).count()
}

#[test]
fn patched_sites_take_the_fast_path() {
    let out = strace_run(fast_path_program(), true);
    let log = out.stderr_str();
    let patched = count(&log, "(patched)");
    let trapped = count(&log, ") = ") - patched;
    eprintln!("calls through the trampoline: {patched}, trapped: {trapped}");
    if on_ptrace() {
        assert_eq!(patched, 0);
        assert_eq!(count(&log, "] patched "), 0);
        return;
    }
    assert!(
        count(&log, "] patched getpid at ") >= 1,
        "no getpid site patched"
    );
    assert!(
        count(&log, "] patched gettid at ") >= 1,
        "no gettid site patched"
    );
    // glibc's syscall(3) has a site of its own, patched too: the 2000
    // getppid calls the program makes through it after the first are
    // served through the trampoline.
    assert!(
        count(&log, "(a syscall(3) site)") >= 1,
        "the syscall(3) site was not patched"
    );
    let getppids = log
        .lines()
        .filter(|l| l.contains("getppid(") && l.contains("(patched)"))
        .count();
    assert!(
        getppids >= 1999,
        "only {getppids} getppid calls were patched"
    );
    // The threads make 4 * 40000 calls from patched sites.
    let getpids = log
        .lines()
        .filter(|l| l.contains("getpid(") && l.contains("(patched)"))
        .count();
    assert!(getpids > 80_000, "only {getpids} getpid calls were patched");
}

#[test]
fn switched_off_nothing_is_patched() {
    let out = strace_run(fast_path_program(), false);
    let log = out.stderr_str();
    assert_eq!(count(&log, "(patched)"), 0);
    assert_eq!(count(&log, "] patched "), 0);
}

#[test]
fn patched_syscalls_with_signals() {
    strace_run(tests::program_source("patched_syscalls"), true);
}
