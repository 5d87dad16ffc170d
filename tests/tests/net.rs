//! Networking inside the sandbox: a real HTTP server and client (Python's
//! `http.server` and `urllib`) talking over the sandbox's own loopback,
//! and unix sockets between processes, all in one `runsc do`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tests::{run, runsc_bin, RunOutput};

const TIMEOUT: Duration = Duration::from_secs(180);

fn runsc() -> PathBuf {
    runsc_bin().unwrap_or_else(|e| panic!("{e}"))
}

fn sandboxed_sh(script: &str) -> RunOutput {
    let mut cmd = Command::new(runsc());
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("LC_ALL", "C")
        .env("HOME", "/root")
        .current_dir("/")
        .args(["do", "sh", "-c", script]);
    run(&mut cmd, TIMEOUT).expect("runsc runs")
}

fn have_python() -> bool {
    std::path::Path::new("/usr/bin/python3").exists()
}

/// `python3 -m http.server` on 127.0.0.1 serves a file made inside the
/// sandbox to a `urllib` client in the same sandbox.
#[test]
fn http_server_and_urllib_client() {
    if !have_python() {
        panic!("python3 is needed (scripts/setup installs it)");
    }
    let script = r#"
set -e
d=$(mktemp -d)
echo "served from inside the sandbox" > "$d/page.txt"
cd "$d"
python3 -m http.server 8080 --bind 127.0.0.1 >server.log 2>&1 &
server=$!
python3 - <<'PY'
import time, urllib.request
for attempt in range(100):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:8080/page.txt", timeout=10).read()
        break
    except OSError:
        time.sleep(0.2)
else:
    raise SystemExit("the server never answered")
print("body:", body.decode().strip())
listing = urllib.request.urlopen("http://127.0.0.1:8080/", timeout=10).read().decode()
print("listing names the file:", "page.txt" in listing)
try:
    urllib.request.urlopen("http://127.0.0.1:8080/missing", timeout=10)
except urllib.error.HTTPError as e:
    print("missing:", e.code)
PY
kill $server
wait $server 2>/dev/null || true
grep -c '"GET /page.txt HTTP/1.1" 200' server.log
"#;
    let out = sandboxed_sh(script);
    let stdout = out.stdout_str();
    assert_eq!(
        out.status,
        Some(0),
        "status {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status_str(),
        out.stderr_str()
    );
    assert_eq!(
        stdout,
        "body: served from inside the sandbox\nlisting names the file: True\nmissing: 404\n1\n",
        "stderr:\n{}",
        out.stderr_str()
    );
}

/// Unix sockets between processes: a server on a path in /tmp, clients
/// that connect, a descriptor passed with SCM_RIGHTS, and UDP on loopback.
#[test]
fn python_unix_and_udp_sockets() {
    if !have_python() {
        panic!("python3 is needed (scripts/setup installs it)");
    }
    let script = r#"
python3 - <<'PY'
import os, socket, tempfile
path = os.path.join(tempfile.mkdtemp(), "s")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(4)
pid = os.fork()
if pid == 0:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    r, w = os.pipe()
    os.write(w, b"through a passed pipe")
    socket.send_fds(c, [b"fds"], [r])
    c.sendall(b" and bytes")
    os._exit(0)
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 16, 4)
print(msg.decode(), len(fds), os.read(fds[0], 100).decode())
rest = b""
while True:
    b = conn.recv(100)
    if not b:
        break
    rest += b
print(rest.decode().strip())
os.waitpid(pid, 0)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.sendto(b"datagram", u.getsockname())
data, addr = u.recvfrom(100)
print(data.decode(), addr[0], addr[1] == v.getsockname()[1])
PY
"#;
    let out = sandboxed_sh(script);
    assert_eq!(
        out.stdout_str(),
        "fds 1 through a passed pipe\nand bytes\ndatagram 127.0.0.1 True\n",
        "status {}\nstderr:\n{}",
        out.status_str(),
        out.stderr_str()
    );
    assert_eq!(out.status, Some(0));
}

/// Runs a Python client that connects to `port` on 127.0.0.1 under
/// `runsc [--network=MODE] do`, and says what happened.
fn python_client(network: Option<&str>, port: u16) -> RunOutput {
    let mut cmd = Command::new(runsc());
    if let Some(n) = network {
        cmd.arg(format!("--network={n}"));
    }
    let code = format!(
        "import socket\n\
         try:\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=20)\n    \
         s.sendall(b'hello from the sandbox')\n    s.close()\n    print('sent')\n\
         except OSError as e:\n    print(type(e).__name__)\n"
    );
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir("/")
        .args(["do", "python3", "-c", &code]);
    run(&mut cmd, TIMEOUT).expect("runsc runs")
}

/// `--network=host`: the application's sockets are host sockets, so a
/// client in the sandbox reaches a server of the host.
#[test]
fn host_network_reaches_host_sockets() {
    if !have_python() {
        panic!("python3 is needed (scripts/setup installs it)");
    }
    use std::io::Read;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        got
    });
    let out = python_client(Some("host"), port);
    assert_eq!(
        out.stdout_str(),
        "sent\n",
        "status {}\nstderr:\n{}",
        out.status_str(),
        out.stderr_str()
    );
    assert_eq!(server.join().unwrap(), "hello from the sandbox");
}

/// The default network is the sandbox's own: the host's listening socket
/// on 127.0.0.1 is not there, the connection is refused.
#[test]
fn sandbox_network_is_isolated_from_the_host() {
    if !have_python() {
        panic!("python3 is needed (scripts/setup installs it)");
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    for mode in [None, Some("sandbox"), Some("none")] {
        let out = python_client(mode, port);
        assert_eq!(
            out.stdout_str(),
            "ConnectionRefusedError\n",
            "--network={mode:?}: status {}\nstderr:\n{}",
            out.status_str(),
            out.stderr_str()
        );
    }
    drop(l);
}

/// With `--network=host` the interfaces and the sockets are the host's:
/// conformance programs that print only properties of them (netlink
/// dumps against the interface requests and `getifaddrs`; UDP ancillary
/// data and UDP-Lite, over host sockets there) print what they print
/// natively.
#[test]
fn host_network_matches_native() {
    for name in ["netlink_ifaces", "udp_ancillary"] {
        let bin = tests::compile_c(&tests::program_source(name)).unwrap_or_else(|e| panic!("{e}"));
        let native = tests::run_native(&bin, TIMEOUT).expect("runs natively");
        let mut cmd = Command::new(runsc());
        cmd.env_clear()
            .envs(tests::program_env())
            .current_dir(tests::PROGRAM_CWD)
            .arg("--network=host")
            .args(tests::sandbox_args(&bin));
        let sandboxed = run(&mut cmd, TIMEOUT).expect("runsc runs");
        assert!(
            native.stdout == sandboxed.stdout && native.status == sandboxed.status,
            "{name} under --network=host differs from native (- native, + sandbox):\n{}\n\
             sandbox status {}, stderr:\n{}",
            tests::diff_lines(&native.stdout_str(), &sandboxed.stdout_str()),
            sandboxed.status_str(),
            sandboxed.stderr_str()
        );
    }
}
