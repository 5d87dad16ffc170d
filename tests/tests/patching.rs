//! System call patching on the systrap platform: the conformance program
//! `patched_syscalls` (a getpid loop under a timer, a restarted read,
//! fork, threads) runs under `runsc do --strace`. Its sites are patched
//! (`patched getpid at ...`) and most of its calls are then served through
//! the trampoline, which the log marks `(patched)`. With
//! `RUNSC_SYSTRAP_PATCH=0`, or on ptrace, nothing is patched and the
//! output is the same.

use std::process::Command;
use std::time::Duration;
use tests::{compile_c, program_source, run, runsc_bin, RunOutput};

const TIMEOUT: Duration = Duration::from_secs(180);

fn strace_run(patch: bool) -> (RunOutput, String) {
    let bin = compile_c(&program_source("patched_syscalls")).unwrap_or_else(|e| panic!("{e}"));
    let native = tests::run_native(&bin, TIMEOUT).expect("native run");
    let mut cmd = Command::new(runsc_bin().unwrap_or_else(|e| panic!("{e}")));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/")
        .args(tests::runsc_extra_flags())
        .args(["do", "--strace"])
        .arg(&bin);
    if !patch {
        cmd.env("RUNSC_SYSTRAP_PATCH", "0");
    }
    let out = run(&mut cmd, TIMEOUT).expect("runsc runs");
    assert_eq!(out.status, Some(0), "status {}", out.status_str());
    assert_eq!(out.stdout_str(), native.stdout_str(), "differs from native");
    (out, native.stdout_str())
}

fn on_ptrace() -> bool {
    std::env::var("RUNSC_PLATFORM").is_ok_and(|p| p == "ptrace")
}

fn count(log: &str, pat: &str) -> usize {
    log.lines().filter(|l| l.contains(pat)).count()
}

#[test]
fn patched_sites_take_the_fast_path() {
    let (out, _) = strace_run(true);
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
    assert!(
        count(&log, "] patched read at ") >= 1,
        "no read site patched"
    );
    // The loops make 100000 + 4 * 40000 calls from patched sites.
    let getpids = log
        .lines()
        .filter(|l| l.contains("getpid(") && l.contains("(patched)"))
        .count();
    assert!(
        getpids > 100_000,
        "only {getpids} getpid calls were patched"
    );
    // The restarted read went through the patched site again.
    assert!(
        log.lines()
            .any(|l| l.contains("] read(") && l.contains("= 0x1 (patched)")),
        "the restarted read did not come through the trampoline"
    );
}

#[test]
fn the_switch_turns_patching_off() {
    let (out, _) = strace_run(false);
    let log = out.stderr_str();
    assert_eq!(count(&log, "(patched)"), 0);
    assert_eq!(count(&log, "] patched "), 0);
}
