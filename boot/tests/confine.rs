//! The confinement steps, each run in a forked child so the test process
//! keeps its root, capabilities and freedom of system calls.

mod common;

use boot::confine::{self, DEFAULT_MOUNT_POINT};
use common::{in_child, read_at_start, root_or_skip, status_field};
use std::fs::File;
use std::io::Write;
use std::path::Path;

fn proc_status() -> File {
    File::open("/proc/self/status").expect("open /proc/self/status")
}

#[test]
fn the_filter_is_in_force_and_a_forbidden_call_kills_with_sigsys() {
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        let status = proc_status();
        confine::set_no_new_privs().unwrap();
        confine::install(&prog).unwrap();
        let text = read_at_start(&status);
        writeln!(
            out,
            "Seccomp={}",
            status_field(&text, "Seccomp").unwrap_or("?")
        )
        .unwrap();
        // SAFETY: a plain socket call; it must never return.
        let r = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        writeln!(out, "socket(AF_INET) returned {r}").unwrap();
    });
    assert!(
        outcome.output.contains("Seccomp=2"),
        "filter not reported in /proc/self/status: {}",
        outcome.output
    );
    assert_eq!(
        outcome.signal(),
        Some(libc::SIGSYS),
        "child was not killed by SIGSYS (status {:#x}): {}",
        outcome.status,
        outcome.output
    );
    assert!(!outcome.output.contains("returned"), "{}", outcome.output);
}

#[test]
fn mount_kills_with_sigsys() {
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        confine::set_no_new_privs().unwrap();
        confine::install(&prog).unwrap();
        // SAFETY: mount with static NUL-terminated strings.
        let r = unsafe {
            libc::mount(
                c"none".as_ptr(),
                c"/mnt".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        writeln!(out, "mount returned {r}").unwrap();
    });
    assert_eq!(outcome.signal(), Some(libc::SIGSYS), "{}", outcome.output);
}

#[test]
fn fork_is_killed_but_threads_work_and_clone3_says_enosys() {
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        confine::set_no_new_privs().unwrap();
        confine::install(&prog).unwrap();
        // SAFETY: clone3 with a null argument; the filter answers first.
        let r = unsafe { libc::syscall(libc::SYS_clone3, 0usize, 0usize) };
        let errno = std::io::Error::last_os_error().raw_os_error();
        writeln!(out, "clone3={r} errno={errno:?}").unwrap();
        let t = std::thread::Builder::new()
            .name("helper".into())
            .spawn(|| 6 * 7)
            .unwrap();
        writeln!(out, "thread={}", t.join().unwrap()).unwrap();
        // SAFETY: the child of this fork would only _exit; it must never exist.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: leave at once.
            unsafe { libc::_exit(0) };
        }
        writeln!(out, "fork returned {pid}").unwrap();
    });
    assert!(
        outcome
            .output
            .contains(&format!("clone3=-1 errno=Some({})", libc::ENOSYS)),
        "{}",
        outcome.output
    );
    assert!(outcome.output.contains("thread=42"), "{}", outcome.output);
    assert!(
        !outcome.output.contains("fork returned"),
        "{}",
        outcome.output
    );
    assert_eq!(outcome.signal(), Some(libc::SIGSYS), "{}", outcome.output);
}

#[test]
fn ioctl_is_limited_to_its_requests() {
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        let (r, w) = nix::unistd::pipe().unwrap();
        confine::set_no_new_privs().unwrap();
        confine::install(&prog).unwrap();
        nix::unistd::write(&w, b"abc").unwrap();
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        let ok =
            unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&r), libc::FIONREAD, &mut n) };
        writeln!(out, "FIONREAD={ok} n={n}").unwrap();
        let c: u8 = b'x';
        // SAFETY: TIOCSTI reads one byte; the filter answers first.
        let bad = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&r), libc::TIOCSTI, &c) };
        writeln!(out, "TIOCSTI returned {bad}").unwrap();
    });
    assert!(
        outcome.output.contains("FIONREAD=0 n=3"),
        "{}",
        outcome.output
    );
    assert!(!outcome.output.contains("TIOCSTI"), "{}", outcome.output);
    assert_eq!(outcome.signal(), Some(libc::SIGSYS), "{}", outcome.output);
}

#[test]
fn allowed_calls_keep_working_under_the_filter() {
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        let dir = File::open("/").unwrap();
        confine::set_no_new_privs().unwrap();
        confine::install(&prog).unwrap();
        // Unix sockets, descriptor passing's building blocks.
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        (&a).write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        std::io::Read::read_exact(&mut &b, &mut buf).unwrap();
        a.set_nonblocking(true).unwrap();
        // Opening beneath a descriptor opened before.
        let fd = nix::fcntl::openat(
            Some(std::os::fd::AsRawFd::as_raw_fd(&dir)),
            "proc/self/status",
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        nix::unistd::close(fd).unwrap();
        // A memory-backed file, sized, punched and mapped, as the memory file is.
        let mfd =
            nix::sys::memfd::memfd_create(c"t", nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)
                .unwrap();
        nix::unistd::ftruncate(&mfd, 1 << 20).unwrap();
        let now = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(1));
        let v: Vec<u8> = vec![7; 1 << 22];
        writeln!(
            out,
            "ok {} {:?} {}",
            buf == *b"ping",
            now.elapsed() > std::time::Duration::ZERO,
            v.len()
        )
        .unwrap();
    });
    outcome.assert_success();
    assert!(
        outcome.output.contains("ok true true 4194304"),
        "{}",
        outcome.output
    );
}

#[test]
fn capabilities_are_all_gone() {
    if !root_or_skip("capabilities_are_all_gone") {
        return;
    }
    let outcome = in_child(|out| {
        let status = proc_status();
        confine::drop_capabilities().unwrap();
        let text = read_at_start(&status);
        for key in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            writeln!(out, "{key}={}", status_field(&text, key).unwrap_or("?")).unwrap();
        }
    });
    outcome.assert_success();
    for key in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(
            outcome.output.contains(&format!("{key}=0000000000000000")),
            "{key} not zero:\n{}",
            outcome.output
        );
    }
}

#[test]
fn the_empty_root_holds_nothing_and_is_read_only() {
    if !root_or_skip("the_empty_root_holds_nothing_and_is_read_only") {
        return;
    }
    let outcome = in_child(|out| {
        confine::enter_empty_root(Path::new(DEFAULT_MOUNT_POINT)).unwrap();
        let entries = std::fs::read_dir("/").unwrap().count();
        writeln!(out, "entries={entries}").unwrap();
        let etc = File::open("/etc/passwd").map_err(|e| e.raw_os_error());
        writeln!(out, "passwd={:?}", etc.err()).unwrap();
        let create = File::create("/x").map_err(|e| e.raw_os_error());
        writeln!(out, "create={:?}", create.err()).unwrap();
        let cwd = std::env::current_dir().unwrap();
        writeln!(out, "cwd={}", cwd.display()).unwrap();
    });
    outcome.assert_success();
    let o = &outcome.output;
    assert!(o.contains("entries=0"), "{o}");
    assert!(
        o.contains(&format!("passwd=Some(Some({}))", libc::ENOENT)),
        "{o}"
    );
    assert!(
        o.contains(&format!("create=Some(Some({}))", libc::EROFS)),
        "{o}"
    );
    assert!(o.contains("cwd=/\n"), "{o}");
    // The test process itself still sees its root.
    assert!(Path::new("/etc").exists());
}

#[test]
fn full_confinement_in_order() {
    if !root_or_skip("full_confinement_in_order") {
        return;
    }
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        let status = proc_status();
        confine::confine(Path::new(DEFAULT_MOUNT_POINT), &prog).unwrap();
        let text = read_at_start(&status);
        for key in ["NoNewPrivs", "Seccomp", "CapEff", "CapPrm", "CapBnd"] {
            writeln!(out, "{key}={}", status_field(&text, key).unwrap_or("?")).unwrap();
        }
        let gone = File::open("/proc/self/status").is_err();
        writeln!(out, "host-paths-gone={gone}").unwrap();
    });
    outcome.assert_success();
    let o = &outcome.output;
    for want in [
        "NoNewPrivs=1",
        "Seccomp=2",
        "CapEff=0000000000000000",
        "CapPrm=0000000000000000",
        "CapBnd=0000000000000000",
        "host-paths-gone=true",
    ] {
        assert!(o.contains(want), "missing {want} in:\n{o}");
    }
}

#[test]
fn install_without_no_new_privs_or_cap_sys_admin_is_refused_clearly() {
    if !root_or_skip("install_without_no_new_privs_or_cap_sys_admin_is_refused_clearly") {
        return;
    }
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        confine::drop_capabilities().unwrap();
        let err = confine::install(&prog).unwrap_err();
        writeln!(out, "{err}").unwrap();
    });
    outcome.assert_success();
    assert!(
        outcome.output.contains("no_new_privs"),
        "{}",
        outcome.output
    );
}

#[test]
fn ptrace_attach_is_killed() {
    let prog = confine::sentry_filter();
    let outcome = in_child(|out| {
        // SAFETY: getppid has no preconditions (and is not in the filter).
        let parent = unsafe { libc::getppid() };
        confine::set_no_new_privs().unwrap();
        confine::install(&prog).unwrap();
        // SAFETY: a ptrace request with no pointers; the filter answers first.
        let r = unsafe { libc::ptrace(libc::PTRACE_ATTACH, parent, 0, 0) };
        writeln!(out, "PTRACE_ATTACH returned {r}").unwrap();
    });
    assert_eq!(outcome.signal(), Some(libc::SIGSYS), "{}", outcome.output);
}

#[test]
fn the_host_network_filter_allows_inet_sockets_and_nothing_more() {
    let prog = confine::sentry_filter_host_network();
    let outcome = in_child(|out| {
        confine::set_no_new_privs().unwrap();
        confine::install(&prog).unwrap();
        // SAFETY: plain socket calls.
        let inet = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        // SAFETY: as above.
        let inet6 = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_DGRAM, 0) };
        writeln!(out, "inet {} inet6 {}", inet >= 0, inet6 >= 0).unwrap();
        // SAFETY: a packet socket is still forbidden; it must never return.
        let r = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        writeln!(out, "socket(AF_PACKET) returned {r}").unwrap();
    });
    assert!(
        outcome.output.contains("inet true inet6 true"),
        "{}",
        outcome.output
    );
    assert_eq!(outcome.signal(), Some(libc::SIGSYS), "{}", outcome.output);
}
