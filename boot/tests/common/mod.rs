//! Running a piece of a test in a forked child and collecting what it says
//! and how it ended.
#![allow(dead_code)]

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

/// How a forked child ended, and everything it wrote to its pipe.
pub struct Outcome {
    pub status: i32,
    pub output: String,
}

impl Outcome {
    pub fn exit_code(&self) -> Option<i32> {
        libc::WIFEXITED(self.status).then(|| libc::WEXITSTATUS(self.status))
    }

    pub fn signal(&self) -> Option<i32> {
        libc::WIFSIGNALED(self.status).then(|| libc::WTERMSIG(self.status))
    }

    /// Panics with the child's output unless it exited with 0.
    pub fn assert_success(&self) {
        assert_eq!(
            self.exit_code(),
            Some(0),
            "child did not exit cleanly (status {:#x}); it said:\n{}",
            self.status,
            self.output
        );
    }
}

/// Says on the real stderr (past the test harness's capture) that `test`
/// is skipped and why.
pub fn skip(test: &str, why: &str) {
    let line = format!("skipped {test}: {why}\n");
    // SAFETY: writes a live buffer to descriptor 2.
    unsafe { libc::write(2, line.as_ptr() as *const libc::c_void, line.len()) };
}

/// True when the tests run as root; otherwise says why `test` is skipped.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        skip(test, "needs root");
    }
    root
}

/// Forks; the child runs `body` with the write end of a pipe and exits with
/// 0 when it returns (101 when it panics). The parent collects the pipe's
/// contents and the wait status. The child never dumps core.
pub fn in_child(body: impl FnOnce(&mut File)) -> Outcome {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the descriptors were just created and are owned here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child only runs the test body and exits with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(read_end);
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit with a valid struct.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
        let mut out = File::from(write_end);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut out)));
        // SAFETY: _exit ends the child without running the parent's atexit work.
        unsafe { libc::_exit(if result.is_ok() { 0 } else { 101 }) };
    }
    drop(write_end);
    let mut output = String::new();
    File::from(read_end)
        .read_to_string(&mut output)
        .expect("read child output");
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    Outcome { status, output }
}

/// Reads a `/proc/<pid>/status`-style file from offset 0 through `file`, an
/// already open descriptor (it works after the root is gone).
pub fn read_at_start(file: &File) -> String {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 16384];
    let n = file.read_at(&mut buf, 0).expect("pread");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The value of `key:` in a status file.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
}

/// A scratch directory, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("boot-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch directory");
        TempDir(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process that does nothing until killed.
pub struct Sleeper(pub nix::unistd::Pid);

impl Sleeper {
    pub fn start() -> Sleeper {
        // SAFETY: the child only sleeps in pause() until killed.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            loop {
                // SAFETY: pause has no preconditions.
                unsafe { libc::pause() };
            }
        }
        Sleeper(nix::unistd::Pid::from_raw(pid))
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(self.0, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.0, None);
    }
}
