//! Host processes: starting one with its output captured, waiting for it
//! with a deadline (and timing it to the moment it exits), finding its
//! descendants and their resident memory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A process that has ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// From just before it was started to the moment it exited.
    pub elapsed: Duration,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The signal that killed it, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
}

/// Output being read from a pipe by a thread of its own, so that a chatty
/// process never blocks on a full pipe.
struct Capture {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: Receiver<()>,
}

impl Capture {
    fn start(mut pipe: impl Read + Send + 'static) -> Capture {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let sink = Arc::clone(&bytes);
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
            let _ = tx.send(());
        });
        Capture { bytes, done }
    }

    /// What was read, once the pipe is closed or `grace` has passed (a
    /// process left behind may hold the pipe open).
    fn take(self, grace: Duration) -> String {
        let _ = self.done.recv_timeout(grace);
        let bytes = std::mem::take(&mut *self.bytes.lock().unwrap());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A running process with its stdout and stderr captured.
pub struct Child {
    inner: std::process::Child,
    pidfd: Option<OwnedFd>,
    started: Instant,
    stdout: Capture,
    stderr: Capture,
}

/// How long to wait for a process's output after it exits.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

impl Child {
    /// Starts `command` with stdin from /dev/null and its output captured.
    /// It stays in the harness's process group, so that ^C stops it too.
    pub fn spawn(mut command: Command) -> io::Result<Child> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut inner = command.spawn()?;
        let stdout = Capture::start(inner.stdout.take().expect("stdout is piped"));
        let stderr = Capture::start(inner.stderr.take().expect("stderr is piped"));
        let pidfd = pidfd_open(inner.id() as i32);
        Ok(Child {
            inner,
            pidfd,
            started,
            stdout,
            stderr,
        })
    }

    pub fn pid(&self) -> i32 {
        self.inner.id() as i32
    }

    /// Waits until the process exits or `timeout` has passed since it was
    /// started; `None` if it is still running.
    pub fn wait_until(&mut self, timeout: Duration) -> io::Result<Option<(ExitStatus, Duration)>> {
        let deadline = self.started + timeout;
        loop {
            let now = Instant::now();
            if let Some(fd) = &self.pidfd {
                let left = deadline.saturating_duration_since(now);
                let mut poll = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = left.as_millis().min(i32::MAX as u128) as i32;
                // SAFETY: one valid pollfd, owned by this frame.
                let ready = unsafe { libc::poll(&mut poll, 1, ms) };
                if ready < 0 {
                    let err = io::Error::last_os_error();
                    if err.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(err);
                }
                if ready == 0 {
                    return Ok(None);
                }
                let elapsed = self.started.elapsed();
                return Ok(Some((self.inner.wait()?, elapsed)));
            }
            // No pidfd (an old kernel): look every millisecond.
            if let Some(status) = self.inner.try_wait()? {
                return Ok(Some((status, self.started.elapsed())));
            }
            if now >= deadline {
                return Ok(None);
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether the process has exited (it is then reaped).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.inner.try_wait(), Ok(None))
    }

    /// Kills the process and every process under it, and reaps it.
    pub fn kill_tree(&mut self) {
        kill_all(&descendants(&[self.pid()]));
        let _ = self.inner.kill();
        let _ = self.inner.wait();
    }

    /// The ended process with its output.
    pub fn finish(self, status: ExitStatus, elapsed: Duration) -> Finished {
        Finished {
            status,
            elapsed,
            stdout: self.stdout.take(OUTPUT_GRACE),
            stderr: self.stderr.take(OUTPUT_GRACE),
        }
    }

    /// The output so far, for a process that was killed.
    pub fn output_so_far(self) -> (String, String) {
        (
            self.stdout.take(Duration::ZERO),
            self.stderr.take(Duration::ZERO),
        )
    }
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the descriptor was just returned to us and is owned by no one.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Runs `command` to the end (or kills it after `timeout`) and returns what
/// it did; `Err` says why it could not run or finish.
pub fn run(command: Command, timeout: Duration) -> Result<Finished, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child =
        Child::spawn(command).map_err(|err| format!("cannot start {program}: {err}"))?;
    match child.wait_until(timeout) {
        Ok(Some((status, elapsed))) => Ok(child.finish(status, elapsed)),
        Ok(None) => {
            child.kill_tree();
            Err(format!("{program} timed out after {}s", timeout.as_secs()))
        }
        Err(err) => {
            child.kill_tree();
            Err(format!("cannot wait for {program}: {err}"))
        }
    }
}

/// Sends SIGKILL to each of `pids`.
pub fn kill_all(pids: &[i32]) {
    for &pid in pids {
        // SAFETY: kill(2) with a PID we started or that descends from one.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// The parent of each live process, from /proc.
fn parents() -> BTreeMap<i32, i32> {
    let mut map = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            if let Some(ppid) = parent_from_stat(&stat) {
                map.insert(pid, ppid);
            }
        }
    }
    map
}

/// The PPID field of a /proc/PID/stat line; the command name before it is
/// in parentheses and may itself hold spaces and parentheses.
fn parent_from_stat(stat: &str) -> Option<i32> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// `roots` that are alive and every process under them.
pub fn descendants(roots: &[i32]) -> Vec<i32> {
    let parents = parents();
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for (&pid, &ppid) in &parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut seen = BTreeSet::new();
    let mut todo: Vec<i32> = roots
        .iter()
        .copied()
        .filter(|pid| parents.contains_key(pid))
        .collect();
    while let Some(pid) = todo.pop() {
        if seen.insert(pid) {
            todo.extend(children.get(&pid).into_iter().flatten().copied());
        }
    }
    seen.into_iter().collect()
}

/// VmRSS of a process in KiB; `None` for a process that is gone or has no
/// memory of its own (a kernel thread, a zombie).
pub fn rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    vm_rss_kib(&status)
}

fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The command name of a process.
pub fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_parent_past_an_odd_command_name() {
        let stat = "4242 (a) b (c) S 17 4242 4242 0 -1 4194560";
        assert_eq!(parent_from_stat(stat), Some(17));
        assert_eq!(parent_from_stat("garbage"), None);
    }

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tsleep\nVmPeak:\t    8000 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(vm_rss_kib(status), Some(1234));
        assert_eq!(vm_rss_kib("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn times_and_captures_a_process() {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let done = run(command, Duration::from_secs(30)).unwrap();
        assert_eq!(done.status.code(), Some(3));
        assert_eq!(done.stdout, "out\n");
        assert_eq!(done.stderr, "err\n");
    }

    #[test]
    fn kills_a_process_that_runs_too_long() {
        let mut command = Command::new("/bin/sleep");
        command.arg("30");
        let err = run(command, Duration::from_millis(100)).unwrap_err();
        assert!(err.contains("timed out"), "{err}");
    }

    #[test]
    fn counts_a_live_root_among_its_descendants() {
        let me = std::process::id() as i32;
        assert!(descendants(&[me]).contains(&me));
        assert!(rss_kib(me).unwrap() > 0);
    }
}
