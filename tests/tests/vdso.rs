//! The vDSO serves time without a trap: under `runsc do --strace`, a loop
//! of `clock_gettime`, `gettimeofday`, `time` and `sched_getcpu` makes no
//! system call, in a dynamically and in a statically linked program, while
//! the CPU-time clocks still reach the sentry. With the TSC switched off
//! (`RUNSC_VDSO_NO_TSC`), the same calls fall back to system calls and
//! still give the right answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tests::{run, runsc_bin, target_dir, RunOutput};

const TIMEOUT: Duration = Duration::from_secs(120);

/// Calls of each kind in the measured phase.
const CALLS: usize = 2000;

/// Three phases separated by `getppid()` markers: a warm-up (the sentry
/// may still be measuring the TSC), then `CALLS` of each vDSO function,
/// then the two CPU-time clocks once each.
const PROGRAM: &str = r#"
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	int calls = argc > 1 ? atoi(argv[1]) : 0;
	long long end = mono() + 30000000LL;
	while (mono() < end)
		;
	getppid();
	int back = 0, bad = 0;
	long long prev = mono();
	for (int i = 0; i < calls; i++) {
		struct timespec ts;
		struct timeval tv;
		bad |= clock_gettime(CLOCK_MONOTONIC, &ts) != 0;
		long long now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
		back += now < prev;
		prev = now;
		bad |= clock_gettime(CLOCK_REALTIME, &ts) != 0;
		bad |= clock_gettime(CLOCK_BOOTTIME, &ts) != 0;
		bad |= clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0;
		bad |= gettimeofday(&tv, NULL) != 0;
		bad |= time(NULL) < tv.tv_sec - 1;
		bad |= sched_getcpu() < 0;
	}
	getppid();
	struct timespec ts;
	bad |= clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0;
	bad |= clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0;
	getppid();
	printf("backwards %d, failures %d\n", back, bad);
	return 0;
}
"#;

/// The system calls of the measured phase when the vDSO cannot use the
/// TSC: every time call (and the first read before the loop), but no
/// `getcpu`, which the vDSO always answers itself.
const FALLBACK: [usize; 4] = [CALLS * 4 + 1, CALLS, CALLS, 0];

fn runsc() -> PathBuf {
    runsc_bin().unwrap_or_else(|e| panic!("{e}"))
}

/// Compiles [`PROGRAM`] (once per variant) and returns the binary.
fn program(static_link: bool) -> PathBuf {
    let dir = target_dir().join("vdso-test");
    std::fs::create_dir_all(&dir).expect("make the build directory");
    let src = dir.join("vdso_loop.c");
    if std::fs::read_to_string(&src).ok().as_deref() != Some(PROGRAM) {
        std::fs::write(&src, PROGRAM).expect("write the source");
    }
    let name = if static_link {
        "vdso_loop_static"
    } else {
        "vdso_loop"
    };
    let bin = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut gcc = Command::new("gcc");
    gcc.args(["-O1", "-Wall", "-include", "stdlib.h"]);
    if static_link {
        gcc.arg("-static");
    }
    let out = gcc.arg("-o").arg(&tmp).arg(&src).output().expect("run gcc");
    assert!(
        out.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).expect("rename the binary into place");
    bin
}

fn strace_run(bin: &Path, no_tsc: bool) -> RunOutput {
    let mut cmd = Command::new(runsc());
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/")
        .args(["do", "--strace"])
        .arg(bin)
        .arg(CALLS.to_string());
    if no_tsc {
        cmd.env("RUNSC_VDSO_NO_TSC", "1");
    }
    let out = run(&mut cmd, TIMEOUT).expect("runsc runs");
    assert_eq!(
        out.status,
        Some(0),
        "status {}\nstdout:\n{}\nstderr (tail):\n{}",
        out.status_str(),
        out.stdout_str(),
        tail(&out.stderr_str())
    );
    assert_eq!(out.stdout_str(), "backwards 0, failures 0\n");
    out
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Time system calls per phase in a `--strace` log, `[clock_gettime,
/// gettimeofday, time, getcpu]` counts: before the first `getppid` marker
/// (the warm-up), between the first and second (the measured loop), the
/// second and third (the CPU-time clocks), and after.
fn time_calls_per_phase(log: &str) -> Vec<[usize; 4]> {
    let mut phases = vec![[0usize; 4]];
    for line in log.lines() {
        let Some(call) = line.split("] ").nth(1) else {
            continue;
        };
        let name = call.split('(').next().unwrap_or("");
        let counts = phases.last_mut().expect("one phase at least");
        match name {
            "getppid" => phases.push([0; 4]),
            "clock_gettime" => counts[0] += 1,
            "gettimeofday" => counts[1] += 1,
            "time" => counts[2] += 1,
            "getcpu" => counts[3] += 1,
            _ => {}
        }
    }
    phases
}

/// Whether the sentry uses the TSC on this machine (its rule: every CPU
/// has constant and non-stop TSC flags).
fn host_tsc_usable() -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = info.lines().filter(|l| l.starts_with("flags")).collect();
    !flags.is_empty()
        && flags.iter().all(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            ["tsc", "constant_tsc", "nonstop_tsc"]
                .iter()
                .all(|x| f.contains(x))
        })
}

fn check_served_without_traps(static_link: bool) {
    let bin = program(static_link);
    let out = strace_run(&bin, false);
    let phases = time_calls_per_phase(&out.stderr_str());
    assert_eq!(phases.len(), 4, "three markers: {phases:?}");
    if host_tsc_usable() {
        assert_eq!(
            phases[1], [0; 4],
            "time calls trapped in the measured phase"
        );
    } else {
        eprintln!("no invariant TSC here: the vDSO makes system calls");
        assert_eq!(phases[1], FALLBACK);
    }
    // CPU-time clocks are the sentry's to answer.
    assert_eq!(phases[2], [2, 0, 0, 0], "CPU-time clocks");
}

#[test]
fn dynamic_program_reads_time_without_traps() {
    check_served_without_traps(false);
}

#[test]
fn static_program_reads_time_without_traps() {
    check_served_without_traps(true);
}

/// With the TSC off, every call reaches the sentry, and answers right.
#[test]
fn without_tsc_the_vdso_makes_system_calls() {
    let out = strace_run(&program(false), true);
    let phases = time_calls_per_phase(&out.stderr_str());
    assert_eq!(phases.len(), 4, "three markers: {phases:?}");
    assert_eq!(phases[1], FALLBACK);
    assert_eq!(phases[2], [2, 0, 0, 0]);
}
