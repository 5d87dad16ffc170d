//! The container's network namespace served by the sandbox's own stack:
//! each test builds a namespace with a veth pair (`ip netns add`, one end
//! `eth0` inside with an address and a default route, the other on the
//! host), gives it to the container in the spec, and talks to the
//! sandbox over it from the host side: TCP both ways (busybox `httpd` in
//! the sandbox reached with `curl`, busybox `wget` in the sandbox reaching
//! a server on the host), UDP both ways, and `ping` of the sandbox's
//! address, and `ping` from the sandbox (raw and ping sockets) of the
//! host and of its own loopback, and a name resolved by `nslookup` in
//! the sandbox through a DNS server on the host side (the test's own,
//! named in the container's `/etc/resolv.conf`), and busybox `ip` showing
//! the interface, its address and its routes. The host interface in
//! the namespace must have lost its
//! address to the sandbox. As with Docker, the interface may also be put
//! in the container's new namespace by a `prestart` hook, after the
//! sandbox exists.

mod common;

use common::{can_run, Bundle};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A network namespace with a veth pair, removed when dropped.
pub struct Netns {
    pub name: String,
    host_if: String,
    pub host_ip: String,
    pub sandbox_ip: String,
}

fn sh(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Netns {
    /// A namespace for test `tag`, or `None` (with the reason printed) if
    /// this host cannot make one.
    pub fn new(test: &str, tag: &str) -> Option<Netns> {
        if sh("command -v ip").is_err() {
            eprintln!("SKIP {test}: no iproute2 `ip` (run scripts/setup)");
            return None;
        }
        let pid = std::process::id();
        let name = format!("rsx-{tag}-{pid}");
        let host_if = format!("vh{tag}{}", pid % 100_000);
        let (a, b) = (100 + (pid / 250) % 150, pid % 250);
        let n = Netns {
            name,
            host_if,
            host_ip: format!("10.{a}.{b}.1"),
            sandbox_ip: format!("10.{a}.{b}.2"),
        };
        let peer = format!("vc{tag}{}", pid % 100_000);
        let script = format!(
            "set -e
ip netns add {ns}
ip link add {h} type veth peer name {p}
ip link set {p} netns {ns}
ip -n {ns} link set {p} name eth0
ip -n {ns} addr add {sb}/24 dev eth0
ip -n {ns} link set eth0 up
ip -n {ns} link set lo up
ip -n {ns} route add default via {hip}
ip addr add {hip}/24 dev {h}
ip link set {h} up",
            ns = n.name,
            h = n.host_if,
            p = peer,
            sb = n.sandbox_ip,
            hip = n.host_ip
        );
        if let Err(e) = sh(&script) {
            eprintln!("SKIP {test}: cannot make a network namespace: {e}");
            return None;
        }
        Some(n)
    }

    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// Gives the container of `b` this namespace.
    pub fn join(&self, b: &mut Bundle) {
        b.spec["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({ "type": "network", "path": self.path() }));
        b.save();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&format!("ip link del {}", self.host_if));
        let _ = sh(&format!("ip netns del {}", self.name));
    }
}

/// A host process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` until it gives `Some` or `secs` pass.
fn retry<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `curl` of `url` from the host: the body, or the error.
pub fn curl(url: &str) -> Result<String, String> {
    sh(&format!("curl -sS --max-time 5 {url}"))
}

/// The UDP echo program, linked statically for the busybox root.
fn udp_echo() -> Option<std::path::PathBuf> {
    let src = tests::workspace_root().join("tests/net_ext/udp_echo.c");
    let out = tests::c_cache_dir().join("udp_echo_static");
    std::fs::create_dir_all(tests::c_cache_dir()).ok()?;
    let r = Command::new("gcc")
        .args(["-static", "-O1", "-Wall", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .ok()?;
    r.success().then_some(out)
}

/// The ping-socket program, linked statically for the busybox root.
fn ping_dgram() -> Option<std::path::PathBuf> {
    let src = tests::workspace_root().join("tests/net_ext/ping_dgram.c");
    let out = tests::c_cache_dir().join("ping_dgram_static");
    std::fs::create_dir_all(tests::c_cache_dir()).ok()?;
    let r = Command::new("gcc")
        .args(["-static", "-O1", "-Wall", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .ok()?;
    r.success().then_some(out)
}

/// Links busybox applets into the bundle's root.
fn applets(b: &Bundle, names: &[&str]) {
    let bin = b.dir().join("rootfs/bin");
    for a in names {
        let _ = std::os::unix::fs::symlink("busybox", bin.join(a));
    }
}

/// Creates and starts container `id` of `b`, whose script ends by printing
/// "done", and returns its output once it has (a while at most: then its
/// output and its stderr, for the assertions to show).
fn run_until_done(b: &Bundle, id: &str) -> String {
    b.create(id, &[]).ok();
    b.runsc(&["start", id]).ok();
    retry(40, || {
        let o = b.output_of(id);
        o.contains("done").then_some(o)
    })
    .unwrap_or_else(|| {
        format!(
            "{}\n{}",
            b.output_of(id),
            std::fs::read_to_string(b.file(&format!("{id}.err"))).unwrap_or_default()
        )
    })
}

#[test]
fn sandbox_stack_serves_the_containers_interface() {
    let test = "sandbox_stack_serves_the_containers_interface";
    if !can_run(test) {
        return;
    }
    let Some(echo) = udp_echo() else {
        eprintln!("SKIP {test}: cannot link the UDP echo program statically");
        return;
    };
    let Some(ns) = Netns::new(test, "a") else {
        return;
    };
    common::become_subreaper();
    // The host side: an HTTP server and a UDP echo server on the veth.
    let www = tempdir_with("hostwww", "page from the host\n");
    let _http = Proc(
        Command::new("python3")
            .args(["-m", "http.server", "18080", "--bind", &ns.host_ip])
            .current_dir(&www)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server"),
    );
    let udp2 = UdpSocket::bind((ns.host_ip.as_str(), 19000)).expect("bind host UDP");
    udp2.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let host_echo = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            if let Ok((n, from)) = udp2.recv_from(&mut buf) {
                let _ = udp2.send_to(&buf[..n], from);
                return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        None
    });

    let script = format!(
        r#"
httpd -f -p 8080 -h /www &
udp_echo serve 9001 1 &
i=0
while [ $i -lt 100 ]; do
    body=$(wget -q -O - http://{h}:18080/page.txt 2>&1) && break
    i=$((i+1)); sleep 0.2
done
echo "wget: $body"
udp_echo ask {h} 19000 hello-host
grep eth0 /proc/net/dev | sed 's/^ */dev: /'
sleep 600
"#,
        h = ns.host_ip
    );
    let mut b = Bundle::new("netext", &["/bin/sh", "-c", &script]);
    applets(&b, &["httpd", "wget", "sed"]);
    let root = b.dir().join("rootfs");
    std::fs::copy(&echo, root.join("bin/udp_echo")).unwrap();
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::write(root.join("www/page.txt"), "page from the sandbox\n").unwrap();
    ns.join(&mut b);
    b.create("ext", &[]).ok();
    b.runsc(&["start", "ext"]).ok();

    let url = format!("http://{}:8080/page.txt", ns.sandbox_ip);
    let got = retry(30, || curl(&url).ok());
    let out = || b.output_of("ext");
    assert_eq!(
        got.as_deref(),
        Some("page from the sandbox\n"),
        "curl {url} from the host; container output:\n{}\n{}",
        out(),
        std::fs::read_to_string(b.file("ext.err")).unwrap_or_default()
    );
    // The host interface in the namespace gave its address to the sandbox.
    let addrs = sh(&format!("ip -n {} -4 addr show dev eth0", ns.name)).unwrap();
    assert!(!addrs.contains("inet "), "eth0 kept its address: {addrs}");
    // A UDP datagram from the host to the sandbox's echo server.
    let udp = UdpSocket::bind((ns.host_ip.as_str(), 0)).expect("bind host UDP");
    udp.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let reply = retry(20, || {
        udp.send_to(b"hello-sandbox", (ns.sandbox_ip.as_str(), 9001))
            .ok()?;
        let mut buf = [0u8; 64];
        let (n, _) = udp.recv_from(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    });
    assert_eq!(reply.as_deref(), Some("hello-sandbox"), "{}", out());
    // The host pings the sandbox.
    // (busybox's ping where iputils' is not installed.)
    let bb = common::busybox().unwrap();
    let ping = sh(&format!(
        "if command -v ping >/dev/null; then ping -c 2 -W 2 {ip}; else {bb} ping -c 2 -W 2 {ip}; fi",
        ip = ns.sandbox_ip,
        bb = bb.display()
    ));
    assert!(ping.is_ok(), "ping: {ping:?}");
    // What the sandbox saw: its wget of the host's page, the host's UDP
    // echo, the interface in /proc/net/dev.
    let seen = retry(30, || {
        let o = out();
        o.contains("dev: eth0").then_some(o)
    })
    .unwrap_or_else(out);
    assert!(seen.contains("wget: page from the host"), "{seen}");
    assert!(seen.contains("reply hello-host"), "{seen}");
    assert!(
        seen.contains(&format!("served hello-sandbox from {}", ns.host_ip)),
        "{seen}"
    );
    assert_eq!(
        host_echo.join().unwrap().as_deref(),
        Some("hello-host"),
        "{seen}"
    );
    b.clean(&["ext"]);
}

/// A directory with `page.txt` holding `body`.
fn tempdir_with(tag: &str, body: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("runsc-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("page.txt"), body).unwrap();
    d
}

/// A listener on the external interface keeps listening across a
/// checkpoint and a restore into the same namespace (whose host interface
/// no longer has the address: the image remembers it).
#[test]
fn external_listener_serves_after_restore() {
    let test = "external_listener_serves_after_restore";
    if !can_run(test) {
        return;
    }
    let Some(ns) = Netns::new(test, "c") else {
        return;
    };
    common::become_subreaper();
    let script = "httpd -f -p 8080 -h /www & while true; do sleep 1; done";
    let mut b = Bundle::new("netext-ckpt", &["/bin/sh", "-c", script]);
    applets(&b, &["httpd"]);
    let root = b.dir().join("rootfs");
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::write(root.join("www/page.txt"), "page from the sandbox\n").unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    ns.join(&mut b);
    b.create("web", &[]).ok();
    b.runsc(&["start", "web"]).ok();
    let url = format!("http://{}:8080/page.txt", ns.sandbox_ip);
    let got = retry(30, || curl(&url).ok());
    assert_eq!(got.as_deref(), Some("page from the sandbox\n"));

    let image = b.file("image");
    b.runsc(&["checkpoint", "--image-path", image.to_str().unwrap(), "web"])
        .ok();
    assert!(curl(&url).is_err(), "served while checkpointed");
    b.runsc(&["delete", "web"]).ok();
    let r = b.restore_detached("web", &image, "web-restored");
    assert_eq!(r.code(), 0, "{r:#?}");
    let got = retry(30, || curl(&url).ok());
    assert_eq!(
        got.as_deref(),
        Some("page from the sandbox\n"),
        "after restore: {}",
        std::fs::read_to_string(b.file("web-restored.err")).unwrap_or_default()
    );
    b.clean(&["web"]);
}

/// As Docker does it: the container gets a new network namespace, and a
/// `prestart` hook moves one end of a veth pair into it and configures it
/// there (the namespace of the sandbox process, whose PID the hook reads
/// from the state on its stdin). The sandbox serves the interface all the
/// same: it was handed over after the hooks ran.
#[test]
fn interface_added_by_a_prestart_hook() {
    let test = "interface_added_by_a_prestart_hook";
    if !can_run(test) {
        return;
    }
    if sh("command -v ip && command -v nsenter").is_err() {
        eprintln!("SKIP {test}: no iproute2 `ip` or no `nsenter` (run scripts/setup)");
        return;
    }
    let pid = std::process::id();
    let host_if = format!("vhk{}", pid % 100_000);
    let peer = format!("vck{}", pid % 100_000);
    let (a, b) = (100 + (pid / 250) % 150, (pid + 7) % 250);
    let (host_ip, sandbox_ip) = (format!("10.{a}.{b}.1"), format!("10.{a}.{b}.2"));
    if let Err(e) = sh(&format!(
        "ip link add {host_if} type veth peer name {peer} && \
         ip addr add {host_ip}/24 dev {host_if} && ip link set {host_if} up"
    )) {
        eprintln!("SKIP {test}: cannot make a veth pair: {e}");
        return;
    }
    struct Link(String);
    impl Drop for Link {
        fn drop(&mut self) {
            let _ = sh(&format!("ip link del {}", self.0));
        }
    }
    let _link = Link(host_if.clone());
    common::become_subreaper();

    let hook = format!(
        r#"set -e
pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
ip link set {peer} netns "$pid"
nsenter --net=/proc/$pid/ns/net sh -c '
ip link set {peer} name eth0
ip addr add {sandbox_ip}/24 dev eth0
ip link set eth0 up
ip link set lo up
ip route add default via {host_ip}'
"#
    );
    let mut bundle = Bundle::new("nethook", &["httpd", "-f", "-p", "8080", "-h", "/www"]);
    applets(&bundle, &["httpd"]);
    let root = bundle.dir().join("rootfs");
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::write(root.join("www/page.txt"), "page from the sandbox\n").unwrap();
    bundle.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "type": "network" }));
    bundle.spec["hooks"] = serde_json::json!({
        "prestart": [{ "path": "/bin/sh", "args": ["sh", "-c", hook] }]
    });
    bundle.save();
    let created = bundle.create("hooked", &[]);
    assert_eq!(created.code(), 0, "create: {created:#?}");
    let sandbox_pid = bundle.state("hooked").expect("state")["pid"].clone();
    bundle.runsc(&["start", "hooked"]).ok();

    let url = format!("http://{sandbox_ip}:8080/page.txt");
    let got = retry(30, || curl(&url).ok());
    assert_eq!(
        got.as_deref(),
        Some("page from the sandbox\n"),
        "curl {url} from the host; container output:\n{}\n{}",
        bundle.output_of("hooked"),
        std::fs::read_to_string(bundle.file("hooked.err")).unwrap_or_default()
    );
    // The interface the hook configured gave its address to the sandbox.
    let addrs = sh(&format!(
        "nsenter --net=/proc/{sandbox_pid}/ns/net ip -4 addr show dev eth0"
    ))
    .unwrap();
    assert!(!addrs.contains("inet "), "eth0 kept its address: {addrs}");
    bundle.clean(&["hooked"]);
}

/// `ping` from inside: busybox's (a raw ICMP socket: the container's
/// root has CAP_NET_RAW) and a ping socket's echo, each of the host side
/// of the veth and of the sandbox's loopback.
#[test]
fn ping_from_the_sandbox() {
    let test = "ping_from_the_sandbox";
    if !can_run(test) {
        return;
    }
    let Some(pd) = ping_dgram() else {
        eprintln!("SKIP {test}: cannot link the ping-socket program statically");
        return;
    };
    let Some(ns) = Netns::new(test, "p") else {
        return;
    };
    common::become_subreaper();
    let script = format!(
        r#"
ping -c 2 -W 3 {h}; echo "raw-ext rc=$?"
ping -c 1 -W 3 127.0.0.1; echo "raw-lo rc=$?"
ping_dgram {h}; echo "dgram-ext rc=$?"
ping_dgram 127.0.0.1; echo "dgram-lo rc=$?"
echo done
"#,
        h = ns.host_ip
    );
    let mut b = Bundle::new("netping", &["/bin/sh", "-c", &script]);
    applets(&b, &["ping"]);
    std::fs::copy(&pd, b.dir().join("rootfs/bin/ping_dgram")).unwrap();
    ns.join(&mut b);
    let out = run_until_done(&b, "pinger");
    for want in [
        format!("64 bytes from {}: seq=0", ns.host_ip),
        "raw-ext rc=0".into(),
        "64 bytes from 127.0.0.1: seq=0".into(),
        "raw-lo rc=0".into(),
        format!("dgram reply from {} type=0 seq=7", ns.host_ip),
        "dgram-ext rc=0".into(),
        "dgram reply from 127.0.0.1 type=0 seq=7".into(),
        "dgram-lo rc=0".into(),
    ] {
        assert!(out.contains(&want), "no {want:?} in:\n{out}");
    }
    b.clean(&["pinger"]);
}

/// busybox `ip addr`, `ip link` and `ip route` in the sandbox (netlink
/// route sockets answered by the sandbox's stack) show the container's
/// interface as the namespace had it: its address, MAC and MTU, and the
/// default route through the host side.
#[test]
fn ip_shows_the_interface_its_address_and_routes() {
    let test = "ip_shows_the_interface_its_address_and_routes";
    if !can_run(test) {
        return;
    }
    let Some(ns) = Netns::new(test, "i") else {
        return;
    };
    let mac = sh(&format!("ip -n {} -o link show eth0", ns.name))
        .ok()
        .and_then(|o| {
            let line = o.lines().find(|l| l.contains("link/ether"))?.to_string();
            let at = line.find("link/ether ")? + "link/ether ".len();
            Some(line[at..at + 17].to_string())
        })
        .expect("the MAC of eth0 in the namespace");
    common::become_subreaper();
    let script = format!(
        "ip addr; echo ---; ip link; echo ---; ip route; ip route get {h}; ip route get 8.8.8.8; echo done",
        h = ns.host_ip
    );
    let mut b = Bundle::new("netip", &["/bin/sh", "-c", &script]);
    applets(&b, &["ip"]);
    ns.join(&mut b);
    let out = run_until_done(&b, "ipshow");
    let net = ns.sandbox_ip.rsplit_once('.').unwrap().0;
    for want in [
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536".to_string(),
        "inet 127.0.0.1/8 scope host lo".into(),
        "eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500".into(),
        format!("link/ether {mac} brd ff:ff:ff:ff:ff:ff"),
        format!("inet {}/24 brd {net}.255 scope global eth0", ns.sandbox_ip),
        format!("default via {} dev eth0", ns.host_ip),
        format!("{net}.0/24 dev eth0 scope link  src {}", ns.sandbox_ip),
        format!("{} dev eth0  src {}", ns.host_ip, ns.sandbox_ip),
        format!("8.8.8.8 via {} dev eth0  src {}", ns.host_ip, ns.sandbox_ip),
    ] {
        assert!(out.contains(&want), "no {want:?} in:\n{out}");
    }
    assert!(!out.contains("ioctl"), "an ioctl failed:\n{out}");
    b.clean(&["ipshow"]);
}

/// A DNS answer to `query` (a UDP DNS message): `A` records of `names`
/// for the question's name, an empty answer for other types of a known
/// name, `NXDOMAIN` for an unknown one. `None` for what is no query.
fn dns_answer(query: &[u8], names: &[(&str, [u8; 4])]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    // The question: labels, then type and class.
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let n = *query.get(i)? as usize;
        i += 1;
        if n == 0 {
            break;
        }
        if n > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(query.get(i..i + n)?).to_lowercase());
        i += n;
    }
    let qtype = u16::from_be_bytes([*query.get(i)?, *query.get(i + 1)?]);
    let question_end = i + 4;
    query.get(..question_end)?;
    let name = labels.join(".");
    let known = names.iter().find(|(n, _)| *n == name);
    let answers: Vec<[u8; 4]> = match known {
        Some((_, a)) if qtype == 1 => vec![*a],
        _ => Vec::new(),
    };
    let rcode = if known.is_some() { 0 } else { 3 };
    let mut r = Vec::new();
    r.extend_from_slice(&query[..2]);
    // A response, recursion desired (copied) and available.
    r.push(0x80 | (query[2] & 0x01));
    r.push(0x80 | rcode);
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(&query[12..question_end]);
    for a in answers {
        // The question's name (a pointer to offset 12), A, IN, TTL 60.
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        r.extend_from_slice(&a);
    }
    Some(r)
}

#[test]
fn dns_answers_of_a_host_server_reach_a_lookup_in_the_sandbox() {
    let test = "dns_answers_of_a_host_server_reach_a_lookup_in_the_sandbox";
    if !can_run(test) {
        return;
    }
    let Some(ns) = Netns::new(test, "d") else {
        return;
    };
    let server = match UdpSocket::bind((ns.host_ip.as_str(), 53)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("SKIP {test}: cannot serve DNS on {}:53: {e}", ns.host_ip);
            return;
        }
    };
    server
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    common::become_subreaper();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let dns = std::thread::spawn(move || {
        let names = [("web.runsc.test", [192, 0, 2, 55])];
        let mut asked = Vec::new();
        let mut buf = [0u8; 1500];
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((n, from)) = server.recv_from(&mut buf) else {
                continue;
            };
            asked.push(from);
            if let Some(r) = dns_answer(&buf[..n], &names) {
                let _ = server.send_to(&r, from);
            }
        }
        asked
    });

    let script = r#"
nslookup web.runsc.test; echo "known rc=$?"
nslookup missing.runsc.test; echo "missing rc=$?"
echo done
"#;
    let mut b = Bundle::new("netdns", &["/bin/sh", "-c", script]);
    applets(&b, &["nslookup"]);
    let etc = b.dir().join("rootfs/etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("resolv.conf"),
        format!("nameserver {}\n", ns.host_ip),
    )
    .unwrap();
    ns.join(&mut b);
    let out = run_until_done(&b, "resolver");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let asked = dns.join().unwrap();
    assert!(
        out.contains("Address: 192.0.2.55") && out.contains("known rc=0"),
        "{out}"
    );
    assert!(
        out.contains("can't find missing.runsc.test: NXDOMAIN") && !out.contains("missing rc=0"),
        "{out}"
    );
    assert!(
        !asked.is_empty() && asked.iter().all(|a| a.ip().to_string() == ns.sandbox_ip),
        "queries came from {asked:?}, not the sandbox's {}",
        ns.sandbox_ip
    );
    b.clean(&["resolver"]);
}

/// A spec that joins the namespace the runtime itself runs in (here a
/// test namespace entered with `ip netns exec`; on a host, the host's):
/// the runtime leaves that namespace's links and their addresses alone,
/// and the container runs with loopback only.
#[test]
fn the_runtimes_own_namespace_keeps_its_links() {
    let test = "the_runtimes_own_namespace_keeps_its_links";
    if !can_run(test) {
        return;
    }
    let Some(ns) = Netns::new(test, "o") else {
        return;
    };
    common::become_subreaper();
    let mut b = Bundle::new("netown", &["sh", "-c", "cat /proc/net/dev; sleep 600"]);
    ns.join(&mut b);
    let root = b.root();
    let out = std::fs::File::create(b.file("own.out")).unwrap();
    let err = std::fs::File::create(b.file("own.err")).unwrap();
    let created = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(common::runsc_bin())
        .args(common::platform_flags())
        .arg("--root")
        .arg(&root)
        .args(["create", "--bundle"])
        .arg(b.dir())
        .arg("own")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .expect("ip netns exec runsc create");
    let messages = std::fs::read_to_string(b.file("own.err")).unwrap_or_default();
    assert!(created.success(), "create: {messages}");
    let addrs = sh(&format!("ip -n {} -4 addr show dev eth0", ns.name)).unwrap();
    assert!(
        addrs.contains(&format!("inet {}/24", ns.sandbox_ip)),
        "eth0 lost its address: {addrs}"
    );
    b.runsc(&["start", "own"]).ok();
    let seen = retry(20, || {
        let o = std::fs::read_to_string(b.file("own.out")).unwrap_or_default();
        o.contains("lo:").then_some(o)
    })
    .unwrap_or_default();
    assert!(
        seen.contains("lo:") && !seen.contains("eth0"),
        "the sandbox's interfaces: {seen}"
    );
    b.clean(&["own"]);
}
