//! podman with our `runsc` as its OCI runtime (`podman --runtime`), on an
//! image imported from a busybox root filesystem (no registry is
//! reachable). Each test has podman storage of its own under a scratch
//! directory. Skipped, saying so, where podman is not installed.

mod common;

use common::podman::Podman;
use common::run;
use std::process::Command;
use std::time::Duration;

const IMAGE: &str = "localhost/runsc-test:latest";

#[test]
fn podman_run_echo_and_exit_codes() {
    let Some(p) = Podman::new("podman_run_echo_and_exit_codes", IMAGE, "prr") else {
        return;
    };
    let r = p
        .podman(&["run", "--rm", "--network", "none", IMAGE, "echo", "hi"])
        .ok();
    assert_eq!(r.stdout, "hi\n");
    let r = p.podman(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(r.code(), 3, "{r:#?}");
    // Standard input, and podman's default nofile (1048576, above the
    // host's hard limit).
    let r = p
        .podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "ulimit -n",
        ])
        .ok();
    assert_eq!(r.stdout, "1048576\n");
    // podman's default network (a namespace the runtime joins by path).
    let r = p.podman(&["run", "--rm", IMAGE, "echo", "networked"]).ok();
    assert_eq!(r.stdout, "networked\n");
}

#[test]
fn podman_detached_exec_stop_kill() {
    let Some(p) = Podman::new("podman_detached_exec_stop_kill", IMAGE, "prr") else {
        return;
    };
    p.podman(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    let r = p.podman(&["exec", "c", "echo", "from-exec"]).ok();
    assert_eq!(r.stdout, "from-exec\n");
    let r = p.podman(&["exec", "c", "sh", "-c", "exit 4"]);
    assert_eq!(r.code(), 4, "{r:#?}");
    p.podman(&["pause", "c"]).ok();
    p.podman(&["unpause", "c"]).ok();
    // SIGTERM ends an init without a handler: podman stop does not wait
    // for its timeout.
    let stopping = std::time::Instant::now();
    p.podman(&["stop", "--time", "20", "c"]).ok();
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "podman stop waited for its timeout"
    );
    let r = p
        .podman(&["inspect", "--format", "{{.State.Status}}", "c"])
        .ok();
    assert_eq!(r.stdout.trim(), "exited");
    // The exit status is that of SIGTERM.
    let r = p
        .podman(&["inspect", "--format", "{{.State.ExitCode}}", "c"])
        .ok();
    assert_eq!(r.stdout.trim(), "143", "{r:#?}");

    p.podman(&[
        "run",
        "-d",
        "--name",
        "k",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    p.podman(&["kill", "k"]).ok();
    let r = p.podman(&["wait", "k"]).ok();
    assert_eq!(r.stdout.trim(), "137");
}

#[test]
fn podman_volume_writes_through_to_the_host() {
    let Some(p) = Podman::new("podman_volume_writes_through_to_the_host", IMAGE, "prr") else {
        return;
    };
    let host = p.b.file("vol");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "from the host\n").unwrap();
    let mount = format!("{}:/data", host.display());
    let ro = format!("{}:/ro:ro", host.display());
    let r = p
        .podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &mount,
            "-v",
            &ro,
            IMAGE,
            "sh",
            "-c",
            "cat /data/f; echo from the container > /data/g; \
             echo no > /ro/h 2>/dev/null || echo ro refused; cat /etc/hostname >/dev/null && echo ok",
        ])
        .ok();
    assert_eq!(r.stdout, "from the host\nro refused\nok\n", "{r:#?}");
    assert_eq!(
        std::fs::read_to_string(host.join("g")).unwrap(),
        "from the container\n"
    );
    assert!(!host.join("h").exists());
}

#[test]
fn podman_top_is_an_expected_failure() {
    let Some(p) = Podman::new("podman_top_is_an_expected_failure", IMAGE, "prr") else {
        return;
    };
    p.podman(&[
        "run",
        "-d",
        "--name",
        "t",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "100",
    ])
    .ok();
    let r = p.podman(&["top", "t"]);
    p.podman(&["rm", "-f", "-t", "0", "t"]).ok();
    if r.code() == 0 && r.stdout.contains("sleep") {
        return;
    }
    // podman 4.3 reads /proc inside the mount namespace of the container's
    // PID, the sandbox process, whose root is empty once it is confined.
    eprintln!(
        "EXPECTED FAILURE podman top: podman reads /proc in the sandbox's mount namespace, \
         whose root is empty: {}",
        r.stderr.trim()
    );
}

/// `podman run -t` under a terminal (`script` makes one): the container's
/// shell has the console as its controlling terminal, with the size of
/// the caller's, and its exit code comes back.
#[test]
fn podman_run_with_a_terminal() {
    let Some(p) = Podman::new("podman_run_with_a_terminal", IMAGE, "prr") else {
        return;
    };
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIP podman_run_with_a_terminal: script(1) is not installed (bsdutils)");
        return;
    }
    // The podman command line of `p.podman`, as one shell word list.
    let podman = std::iter::once("podman".into())
        .chain(p.args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let inner = "stty size; test -t 0 && echo stdin is a tty; \
                 case $(tty) in /dev/pts/*) echo on a pty;; esac; exit 5";
    let line = format!(
        "stty rows 33 cols 99; {podman} run --rm -t --network none {IMAGE} sh -c '{inner}'"
    );
    let r = run(
        Command::new("script").args(["-qec", &line, "/dev/null"]),
        Duration::from_secs(120),
    );
    let out = r.stdout.replace('\r', "");
    assert!(out.contains("33 99\n"), "{r:#?}");
    assert!(out.contains("stdin is a tty\n"), "{r:#?}");
    assert!(out.contains("on a pty\n"), "{r:#?}");
    assert_eq!(r.code(), 5, "{r:#?}");
}

/// A host port for `podman -p`, different per test process.
fn host_port(offset: u16) -> u16 {
    20000 + (std::process::id() % 20000) as u16 + offset
}

/// Starts container `name` running busybox `httpd` on port 80 with
/// `podman run -d -p HOST:80` and the runtime flags `flags`; returns what
/// `curl` on the host got from the published port (or its error).
fn publish_and_fetch(
    p: &Podman,
    name: &str,
    port: u16,
    inner: u16,
    flags: &[&str],
) -> Result<String, String> {
    let publish = format!("{port}:{inner}");
    let script = format!(
        "mkdir -p /www && echo published page > /www/index.html && \
         exec busybox httpd -f -p {inner} -h /www"
    );
    let mut args = flags.to_vec();
    args.extend_from_slice(&[
        "run", "-d", "--name", name, "-p", &publish, IMAGE, "sh", "-c", &script,
    ]);
    p.podman(&args).ok();
    let url = format!("http://127.0.0.1:{port}/index.html");
    let mut last = String::new();
    for _ in 0..50 {
        let r = run(
            Command::new("curl").args(["-sS", "--max-time", "5", &url]),
            Duration::from_secs(10),
        );
        if r.code() == 0 {
            return Ok(r.stdout);
        }
        last = r.stderr;
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}

fn have_curl(test: &str) -> bool {
    let found = Command::new("curl").arg("--version").output().is_ok();
    if !found {
        eprintln!("SKIP {test}: curl is not installed");
    }
    found
}

/// `podman run -d -p HOST:80` in the default (sandbox) network mode: the
/// sandbox's own stack serves the veth podman put in the container's
/// network namespace, so what podman forwards to the container's address
/// reaches busybox `httpd` in the sandbox.
#[test]
fn podman_publish_port() {
    let test = "podman_publish_port";
    let Some(p) = Podman::new(test, IMAGE, "prr") else {
        return;
    };
    if !have_curl(test) {
        return;
    }
    let got = publish_and_fetch(&p, "web", host_port(0), 80, &[]);
    let logs = p.podman(&["logs", "web"]);
    p.podman(&["rm", "-f", "-t", "0", "web"]).ok();
    assert_eq!(
        got.as_deref(),
        Ok("published page\n"),
        "container logs: {logs:#?}"
    );
}

/// With `--network=host` given to the runtime, the application's sockets
/// are host sockets in the container's network namespace, where podman's
/// port forwarding reaches them. The port inside is above 1023: the
/// confined sandbox process holds no capabilities, so a host socket on a
/// privileged port (`-p 8080:80`) is refused (`bind: Permission denied`).
#[test]
fn podman_publish_port_with_host_network_mode() {
    let test = "podman_publish_port_with_host_network_mode";
    let Some(p) = Podman::new(test, IMAGE, "prr") else {
        return;
    };
    if !have_curl(test) {
        return;
    }
    let got = publish_and_fetch(
        &p,
        "webhost",
        host_port(1),
        8080,
        &["--runtime-flag", "network=host"],
    );
    let logs = p.podman(&["logs", "webhost"]);
    p.podman(&["rm", "-f", "-t", "0", "webhost"]).ok();
    assert_eq!(
        got.as_deref(),
        Ok("published page\n"),
        "container logs: {logs:#?}"
    );
}
