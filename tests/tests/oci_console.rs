//! Containers with a terminal: the pty master arrives on the console
//! socket as runc sends it, the container sees a terminal with the size
//! the engine sets, and Ctrl-C typed into it reaches the container's
//! foreground process.

mod common;

use common::{can_run, Bundle};
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

/// Receives one descriptor and the bytes sent with it.
fn receive_fd(listener: &UnixListener) -> (Vec<u8>, OwnedFd) {
    use std::os::fd::AsRawFd;
    let (conn, _) = listener.accept().unwrap();
    let mut data = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // Room for one descriptor's control message.
    let mut control = [0u64; 8];
    // SAFETY: plain data struct, filled below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: recvmsg into the buffers set up above.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, 0) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel filled msg; CMSG_FIRSTHDR/CMSG_DATA walk it.
    let fd = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null(), "no descriptor came");
        assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
        std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd)
    };
    // SAFETY: the kernel installed this descriptor for us.
    (data[..n as usize].to_vec(), unsafe {
        OwnedFd::from_raw_fd(fd)
    })
}

/// Reads from the master until `want` shows up (or fails after a while).
fn read_until(master: &mut std::fs::File, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    let mut buf = [0u8; 1024];
    while !text.contains(want) {
        assert!(Instant::now() < deadline, "no {want:?} in {text:?}");
        let mut p = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(master),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one live pollfd.
        if unsafe { libc::poll(&mut p, 1, 100) } <= 0 {
            continue;
        }
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    text
}

fn set_size(fd: &OwnedFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize.
    unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(fd), libc::TIOCSWINSZ, &ws) };
}

#[test]
fn the_console_is_a_terminal_and_ctrl_c_reaches_the_foreground() {
    if !can_run("the_console_is_a_terminal_and_ctrl_c_reaches_the_foreground") {
        return;
    }
    let mut b = Bundle::new(
        "console",
        &[
            "sh",
            "-c",
            "test -t 0 && echo is-a-tty; stty size; echo ready; sleep 100",
        ],
    );
    b.spec["process"]["terminal"] = serde_json::json!(true);
    b.spec["process"]["consoleSize"] = serde_json::json!({ "height": 30, "width": 100 });
    b.save();
    let sock = b.file("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_fd(&listener));
    b.create("tty", &["--console-socket", sock.to_str().unwrap()])
        .ok();
    let (name, master) = receiver.join().unwrap();
    assert_eq!(name, b"/dev/ptmx");
    set_size(&master, 40, 120);
    b.runsc(&["start", "tty"]).ok();
    let mut master = std::fs::File::from(master);
    let text = read_until(&mut master, "ready");
    assert!(text.contains("is-a-tty"), "{text:?}");
    assert!(text.contains("40 120"), "{text:?}");

    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(b.status("tty"), "running");
    // Ctrl-C: the terminal signals the sandbox process, which passes
    // SIGINT to the console's foreground group, where sleep is.
    master.write_all(&[3]).unwrap();
    b.wait_status("tty", "stopped");
    b.runsc(&["delete", "tty"]).ok();
}

#[test]
fn a_terminal_needs_a_console_socket_and_the_other_way_round() {
    if !can_run("a_terminal_needs_a_console_socket_and_the_other_way_round") {
        return;
    }
    let mut b = Bundle::new("noconsole", &["true"]);
    b.spec["process"]["terminal"] = serde_json::json!(true);
    b.save();
    let r = b.create("t", &[]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr.contains("no --console-socket was given"),
        "{}",
        r.stderr
    );
    b.spec["process"]["terminal"] = serde_json::json!(false);
    b.save();
    let r = b.create("t", &["--console-socket", "/tmp/x.sock"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr.contains("process.terminal is not set"),
        "{}",
        r.stderr
    );
    assert!(!b.root().join("t").exists());
}

#[test]
fn exec_with_a_tty_sends_its_terminal_to_the_console_socket() {
    if !can_run("exec_with_a_tty_sends_its_terminal_to_the_console_socket") {
        return;
    }
    common::become_subreaper();
    let b = Bundle::new("exectty", &["sleep", "100"]);
    b.create("e", &[]).ok();
    b.runsc(&["start", "e"]).ok();
    let sock = b.file("exec-console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_fd(&listener));
    let pid_file = b.file("exec.pid");
    // podman: exec --pid-file P --process F --detach --tty --console-socket S ID
    b.runsc_detached(
        "exec",
        &[
            "exec",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "--detach",
            "--tty",
            "--console-socket",
            sock.to_str().unwrap(),
            "e",
            "sh",
            "-c",
            "test -t 1 && echo exec-tty; exit 9",
        ],
    )
    .ok();
    let (_, master) = receiver.join().unwrap();
    let mut master = std::fs::File::from(master);
    let text = read_until(&mut master, "exec-tty");
    assert!(text.contains("exec-tty"), "{text:?}");
    let holder: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(common::wait_pid(holder, Duration::from_secs(20)), 9);
    b.clean(&["e"]);
}
