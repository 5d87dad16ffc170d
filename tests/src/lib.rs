//! Test helpers shared by the integration tests.
//!
//! * [`runsc_bin`] finds the `runsc` binary the tests drive.
//! * [`compile_c`] builds a C program with the host's gcc into a cache
//!   directory under the target directory.
//! * [`run`] runs a command with a timeout and captures what it printed and
//!   how it ended.
//! * [`for_each_program!`] names every differential conformance program in
//!   `tests/conformance/`, so that each test file can generate one `#[test]`
//!   per program from a single list.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// The directory of the conformance programs' sources.
pub fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// The cargo target directory.
///
/// `CARGO_TARGET_DIR` when it is set (a relative value is taken relative to
/// the workspace root, as cargo does), otherwise `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// The profile directory (`<target>/<profile>`) the running test executable
/// was built into, when it can be told from the executable's own path
/// (`<target>/<profile>/deps/<test>-<hash>`).
fn own_profile_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name() != Some(OsStr::new("deps")) {
        return None;
    }
    Some(deps.parent()?.to_path_buf())
}

/// The places [`runsc_bin`] looks for the binary, in order (after
/// `RUNSC_BIN`).
pub fn runsc_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(profile) = own_profile_dir() {
        out.push(profile.join("runsc"));
    }
    let target = target_dir();
    for profile in ["debug", "release"] {
        let p = target.join(profile).join("runsc");
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Finds the `runsc` binary to test.
///
/// `env!("CARGO_BIN_EXE_runsc")` only exists inside the `runsc` crate, so this
/// crate finds the binary by the following rule, first match wins:
///
/// 1. the environment variable `RUNSC_BIN`, if set (it must name an existing
///    file, or this is an error: a wrong explicit path is never replaced by a
///    guess);
/// 2. `runsc` in the profile directory the running test executable was built
///    into (`<target>/<profile>/runsc`, found from the test executable's path
///    `<target>/<profile>/deps/<name>-<hash>`), so `cargo test --release`
///    uses the release build;
/// 3. `<target>/debug/runsc`, then `<target>/release/runsc`, where `<target>`
///    is `CARGO_TARGET_DIR` if set, else `target/` in the workspace root.
///
/// Cargo does not build the `runsc` binary for `cargo test -p tests`: run
/// `cargo build -p runsc` (with the same profile) first. The error names every
/// path that was tried.
pub fn runsc_bin() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("RUNSC_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "RUNSC_BIN is set to {}, which is not a file",
                p.display()
            ))
        };
    }
    let candidates = runsc_candidates();
    for c in &candidates {
        if c.is_file() {
            return Ok(c.clone());
        }
    }
    let tried: Vec<String> = candidates
        .iter()
        .map(|c| format!("  {}", c.display()))
        .collect();
    Err(format!(
        "the runsc binary was not found; build it first with `cargo build -p runsc` \
         (same profile and CARGO_TARGET_DIR as the tests) or set RUNSC_BIN. Tried:\n{}",
        tried.join("\n")
    ))
}

/// Where compiled C programs are cached: `<target>/conformance-bin/<tag>`,
/// where the tag changes with [`CFLAGS`], so a change of flags rebuilds
/// everything.
pub fn c_cache_dir() -> PathBuf {
    // FNV-1a over the flags: stable across runs and Rust versions.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in CFLAGS.join(" ").bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    target_dir()
        .join("conformance-bin")
        .join(format!("{hash:08x}"))
}

/// The flags every C program is compiled with (`-g` so that a program that
/// crashes under the sandbox can be looked at in a debugger).
pub const CFLAGS: &[&str] = &["-O1", "-Wall", "-pthread", "-g"];

fn mtime(p: &Path) -> io::Result<SystemTime> {
    fs::metadata(p)?.modified()
}

/// The newest modification time among `src` and the `.h` files beside it
/// (the programs share a header).
fn newest_input(src: &Path) -> io::Result<SystemTime> {
    let mut newest = mtime(src)?;
    if let Some(dir) = src.parent() {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension() == Some(OsStr::new("h")) {
                newest = newest.max(mtime(&path)?);
            }
        }
    }
    Ok(newest)
}

/// Compiles the C file `src` with the host's `gcc` (flags [`CFLAGS`]) into
/// [`c_cache_dir`], named after the file's stem, and returns the binary's
/// path.
///
/// The binary is reused when it is newer than the source and than every `.h`
/// file beside it. Compilation writes a temporary file and renames it into
/// place, so tests compiling the same program at once do not see a partial
/// binary.
pub fn compile_c(src: &Path) -> Result<PathBuf, String> {
    let stem = src
        .file_stem()
        .ok_or_else(|| format!("{} has no file name", src.display()))?;
    let dir = c_cache_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let out = dir.join(stem);
    let newest = newest_input(src).map_err(|e| format!("reading {}: {e}", src.display()))?;
    if let Ok(built) = mtime(&out) {
        if built > newest {
            return Ok(out);
        }
    }
    let tmp = dir.join(format!(
        ".{}.{}.{:?}.tmp",
        stem.to_string_lossy(),
        std::process::id(),
        thread::current().id()
    ));
    let result = Command::new("gcc")
        .args(CFLAGS)
        .arg("-o")
        .arg(&tmp)
        .arg(src)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running gcc: {e}"))?;
    if !result.status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "gcc failed on {} ({}):\n{}{}",
            src.display(),
            result.status,
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    fs::rename(&tmp, &out).map_err(|e| format!("renaming into {}: {e}", out.display()))?;
    Ok(out)
}

/// What a finished (or abandoned) command left behind.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The exit code, or 128+N when the process was killed by signal N (the
    /// shell's convention). `None` when it was killed for running out of time.
    pub status: Option<i32>,
    /// True when the timeout expired and the process group was killed.
    pub timed_out: bool,
}

impl RunOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The status as text: `exit N`, or `timed out`.
    pub fn status_str(&self) -> String {
        match (self.timed_out, self.status) {
            (true, _) => "timed out".to_string(),
            (false, Some(n)) if n > 128 && n <= 128 + 64 => {
                format!("exit {n} (128+{}: killed by signal {})", n - 128, n - 128)
            }
            (false, Some(n)) => format!("exit {n}"),
            (false, None) => "unknown".to_string(),
        }
    }
}

/// The shell's view of an exit status: the code, or 128+N for signal N.
pub fn status_code(status: ExitStatus) -> Option<i32> {
    status
        .code()
        .or_else(|| status.signal().map(|sig| 128 + sig))
}

fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

fn kill_group(pgid: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

/// Runs `cmd` with stdin from `/dev/null`, capturing stdout and stderr, and
/// kills it if it has not finished within `timeout`.
///
/// The command runs in a process group of its own, with every descriptor
/// above 2 closed (so nothing the test runner holds open, such as a
/// jobserver pipe, leaks into it); on timeout the whole group is killed.
/// Output is collected until both pipes reach end of file or the timeout
/// expires, whichever comes first, so a lingering grandchild holding the
/// pipes cannot hang the test.
pub fn run(cmd: &mut Command, timeout: Duration) -> io::Result<RunOutput> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure only makes an async-signal-safe system call.
    unsafe {
        cmd.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pgid = child.id();
    let out_rx = spawn_reader(child.stdout.take().expect("piped stdout"));
    let err_rx = spawn_reader(child.stderr.take().expect("piped stderr"));

    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            kill_group(pgid);
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let mut collect = |rx: &mpsc::Receiver<Vec<u8>>| -> Vec<u8> {
        let left = timeout.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(v) => v,
            Err(_) => {
                // Something still holds the pipe: end the group and take what
                // was read.
                timed_out = true;
                kill_group(pgid);
                rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
            }
        }
    };
    let stdout = collect(&out_rx);
    let stderr = collect(&err_rx);
    // Leave no stragglers behind in the group.
    kill_group(pgid);
    Ok(RunOutput {
        stdout,
        stderr,
        status: status.and_then(status_code),
        timed_out,
    })
}

/// The environment every conformance program runs with, natively and in the
/// sandbox alike.
pub fn program_env() -> Vec<(String, String)> {
    vec![
        (
            "PATH".to_string(),
            "/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ),
        ("LC_ALL".to_string(), "C".to_string()),
    ]
}

/// The working directory conformance programs start in.
pub const PROGRAM_CWD: &str = "/";

/// Runs a compiled program natively, with [`program_env`] and [`PROGRAM_CWD`].
pub fn run_native(bin: &Path, timeout: Duration) -> io::Result<RunOutput> {
    let mut cmd = Command::new(bin);
    cmd.env_clear().envs(program_env()).current_dir(PROGRAM_CWD);
    run(&mut cmd, timeout)
}

/// Extra global flags for `runsc`: `--platform NAME` when the environment
/// variable `RUNSC_PLATFORM` names one (so that every test runs on each
/// platform in turn), then the whitespace-separated `RUNSC_FLAGS` (e.g.
/// `--debug`).
pub fn runsc_extra_flags() -> Vec<String> {
    let mut flags = Vec::new();
    if let Ok(p) = std::env::var("RUNSC_PLATFORM") {
        if !p.trim().is_empty() {
            flags.push("--platform".to_string());
            flags.push(p.trim().to_string());
        }
    }
    if let Ok(s) = std::env::var("RUNSC_FLAGS") {
        flags.extend(s.split_whitespace().map(str::to_string));
    }
    flags
}

/// The arguments given to `runsc` to run `bin` in a sandbox: the extra
/// global flags, then `do --cwd DIR --env K=V... BIN`.
pub fn sandbox_args(bin: &Path) -> Vec<String> {
    let mut args = runsc_extra_flags();
    args.push("do".to_string());
    args.push("--cwd".to_string());
    args.push(PROGRAM_CWD.to_string());
    for (k, v) in program_env() {
        args.push("--env".to_string());
        args.push(format!("{k}={v}"));
    }
    args.push(bin.display().to_string());
    args
}

/// A shell command line that reproduces [`run_sandboxed`] by hand.
pub fn sandbox_command_line(runsc: &Path, bin: &Path) -> String {
    let env: Vec<String> = program_env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "cd {PROGRAM_CWD} && env -i {} {} {}",
        env.join(" "),
        runsc.display(),
        sandbox_args(bin).join(" ")
    )
}

/// Runs a compiled program under `runsc do`, with the same environment and
/// working directory as [`run_native`].
pub fn run_sandboxed(runsc: &Path, bin: &Path, timeout: Duration) -> io::Result<RunOutput> {
    let mut cmd = Command::new(runsc);
    cmd.env_clear()
        .envs(program_env())
        .current_dir(PROGRAM_CWD)
        .args(sandbox_args(bin));
    run(&mut cmd, timeout)
}

/// A timeout in seconds from the environment variable `var`, or `default`.
pub fn timeout_from_env(var: &str, default: u64) -> Duration {
    let secs = std::env::var(var)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default);
    Duration::from_secs(secs)
}

/// Reads `tests/conformance/KNOWN_FAILURES`: program name to reason.
///
/// One program per line, the reason after `#`; blank lines and lines that
/// start with `#` are ignored.
pub fn known_failures() -> BTreeMap<String, String> {
    let path = conformance_dir().join("KNOWN_FAILURES");
    let text = fs::read_to_string(&path).unwrap_or_default();
    parse_known_failures(&text)
}

/// Parses the text of a `KNOWN_FAILURES` file (see [`known_failures`]).
pub fn parse_known_failures(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) = match line.split_once('#') {
            Some((n, r)) => (n.trim(), r.trim()),
            None => (line, ""),
        };
        out.insert(name.to_string(), reason.to_string());
    }
    out
}

/// A line-by-line diff of two texts, in the style of `diff -u` (without hunk
/// headers): ` ` for common lines, `-` for lines only in `a`, `+` for lines
/// only in `b`. Long runs of common lines are elided.
pub fn diff_lines(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // Longest common subsequence table; the outputs are small.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 3;
    let changed: Vec<bool> = ops.iter().map(|(c, _)| *c != ' ').collect();
    let near_change = |k: usize| {
        let lo = k.saturating_sub(CONTEXT);
        let hi = (k + CONTEXT + 1).min(ops.len());
        changed[lo..hi].iter().any(|&c| c)
    };
    let mut out = String::new();
    let mut elided = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{c}{line}\n"));
            elided = false;
        } else if !elided {
            out.push_str(" ...\n");
            elided = true;
        }
    }
    out
}

/// Calls `$m! { name1, name2, ... }` with the name of every conformance
/// program (the stem of each `tests/conformance/*.c`). The test
/// `programs_are_listed` checks that this list and the directory agree.
#[macro_export]
macro_rules! for_each_program {
    ($m:ident) => {
        $m! {
            access_umask,
            alarm_timer,
            brk_sbrk,
            chdir_getcwd,
            clocks_sleep,
            cloexec_exec,
            clone_cleartid,
            cpu_clocks,
            dev_files,
            dup_fcntl,
            efault,
            enosys,
            epoll,
            eventfd,
            exec_thread,
            execve,
            exit_code,
            exit_signal,
            fault_signals,
            fifo,
            file_rw,
            fork_cow_runs,
            fork_split_vma,
            fork_threads_cow,
            fork_wait,
            fs_errors,
            futex,
            getdents,
            icmp_raw,
            ids,
            itimer_cpu,
            inet_tcp,
            inet_udp,
            kill_tgkill,
            locks_xattr,
            madvise_mincore,
            mmap_anon,
            mmap_file,
            mprotect_segv,
            mremap,
            netlink_ifaces,
            netlink_route,
            nproc_limit,
            open_flags,
            partial_transfer,
            pidfd,
            pipe_basic,
            patched_syscalls,
            pipe_fork,
            poll_select,
            prctl_name,
            priority,
            proc_self,
            pthreads,
            pty,
            read_large,
            rename_link,
            rlimit,
            sa_restart,
            sched_calls,
            scm_rights,
            sigaction_siginfo,
            sigaltstack,
            sigchld,
            signal_default,
            signalfd,
            sigprocmask,
            sigsuspend,
            sigtimedwait,
            socket_efault,
            socketpair,
            splice_copy,
            stat_fields,
            tcp_accept_inherits,
            tcp_peer_closed,
            truncate,
            udp_ancillary,
            uname_random,
            unix_dgram,
            unix_stream,
            utimensat,
            vdso,
            vfork,
        }
    };
}

/// Expands to a `&[&str]` of every conformance program's name.
#[macro_export]
macro_rules! program_names {
    ($($name:ident),* $(,)?) => {
        &[$(stringify!($name)),*]
    };
}

/// The name of every conformance program.
pub const PROGRAMS: &[&str] = for_each_program!(program_names);

/// The source path of the conformance program `name`.
pub fn program_source(name: &str) -> PathBuf {
    conformance_dir().join(format!("{name}.c"))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn known_failures_parse() {
        let m = parse_known_failures("# header\n\nfoo # not yet\nbar\n  baz#x  \n");
        assert_eq!(m.len(), 3);
        assert_eq!(m["foo"], "not yet");
        assert_eq!(m["bar"], "");
        assert_eq!(m["baz"], "x");
    }

    #[test]
    fn diff_marks_changes() {
        let d = diff_lines("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(d, " a\n-b\n+x\n c\n");
    }

    #[test]
    fn run_reports_signal_and_output() {
        let out = run(
            Command::new("/bin/sh").args(["-c", "echo hi; echo err >&2; kill -TERM $$"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.stdout, b"hi\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status, Some(128 + 15));
        assert!(!out.timed_out);
    }

    #[test]
    fn run_times_out() {
        let out = run(
            Command::new("/bin/sh").args(["-c", "echo start; sleep 30"]),
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.stdout, b"start\n");
    }
}
