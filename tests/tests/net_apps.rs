//! Real servers inside the sandbox, on the sandbox's own loopback: Redis
//! driven by `redis-benchmark`, and nginx serving files (one through
//! `sendfile`) to `curl`, each server and its client in one `runsc do`.
//!
//! The programs come from Debian packages (scripts/setup installs them);
//! a test whose program is missing says so and skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tests::{run, runsc_bin, RunOutput};

const TIMEOUT: Duration = Duration::from_secs(300);

fn runsc() -> PathBuf {
    runsc_bin().unwrap_or_else(|e| panic!("{e}"))
}

/// `sh -c SCRIPT` in the sandbox, or natively when `native` is set.
fn sh(script: &str, native: bool) -> RunOutput {
    let mut cmd = if native {
        Command::new("sh")
    } else {
        let mut c = Command::new(runsc());
        c.arg("do").arg("sh");
        c
    };
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("LC_ALL", "C")
        .env("HOME", "/root")
        .current_dir("/")
        .args(["-c", script]);
    run(&mut cmd, TIMEOUT).expect("sh runs")
}

/// The first of `names` that is missing, printed as the reason to skip.
fn missing(test: &str, names: &[&str]) -> bool {
    for name in names {
        let found = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
            .iter()
            .any(|d| Path::new(d).join(name).exists());
        if !found {
            eprintln!("SKIP {test}: {name} is not installed (scripts/setup installs it)");
            return true;
        }
    }
    false
}

fn check(out: &RunOutput) -> String {
    let stdout = out.stdout_str();
    assert_eq!(
        out.status,
        Some(0),
        "status {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status_str(),
        out.stderr_str()
    );
    stdout
}

/// `redis-benchmark -q -n 20000` against a `redis-server` started in the
/// same sandbox: every test finishes with a rate, and the data the
/// benchmark wrote is there for `redis-cli` afterwards.
#[test]
fn redis_server_and_benchmark() {
    if missing(
        "redis_server_and_benchmark",
        &["redis-server", "redis-benchmark", "redis-cli"],
    ) {
        return;
    }
    let script = r#"
set -e
d=$(mktemp -d)
cd "$d"
redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$d" --logfile "$d/redis.log" &
server=$!
for i in $(seq 100); do
    [ "$(redis-cli -p 6390 ping 2>/dev/null)" = PONG ] && break
    sleep 0.2
done
redis-benchmark -p 6390 -q -n 20000 -t ping,set,get,incr,lpush,lpop > bench.out
tr '\r' '\n' < bench.out | grep 'requests per second' >rates
cut -d: -f1 rates
cat rates >&2
redis-cli -p 6390 get key:__rand_int__
redis-cli -p 6390 get counter:__rand_int__
redis-cli -p 6390 shutdown nosave || true
wait $server || true
grep -c 'Ready to accept connections' redis.log
"#;
    let out = sh(script, false);
    let stdout = check(&out);
    let mut lines = stdout.lines();
    let tests: Vec<&str> = lines.by_ref().take(7).collect();
    assert_eq!(
        tests,
        [
            "PING_INLINE",
            "PING_MBULK",
            "SET",
            "GET",
            "INCR",
            "LPUSH",
            "LPOP"
        ],
        "stdout:\n{stdout}\nstderr:\n{}",
        out.stderr_str()
    );
    // SET wrote a 3-byte value; INCR counted every request.
    let value = lines.next().unwrap_or_default();
    assert_eq!(value.len(), 3, "stdout:\n{stdout}");
    assert_eq!(lines.next(), Some("20000"), "stdout:\n{stdout}");
    assert_eq!(lines.next(), Some("1"), "stdout:\n{stdout}");
    let rates: Vec<String> = out
        .stderr_str()
        .lines()
        .filter(|l| l.contains("requests per second"))
        .map(str::to_string)
        .collect();
    eprintln!("redis-benchmark in the sandbox:\n{}", rates.join("\n"));
}

const NGINX_SCRIPT: &str = r#"
set -e
d=$(mktemp -d)
# The worker runs unprivileged: the files must be readable to it.
chmod 755 "$d"
mkdir "$d/www"
echo "served by nginx" > "$d/www/index.txt"
head -c 1000000 /dev/urandom > "$d/www/big.bin"
cat > "$d/nginx.conf" <<EOF
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 64; }
http {
    access_log $d/access.log;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 10;
    server {
        listen 127.0.0.1:8089;
        root $d/www;
    }
}
EOF
nginx -c "$d/nginx.conf" -g 'daemon off;' &
server=$!
for i in $(seq 100); do
    curl -sf http://127.0.0.1:8089/index.txt >/dev/null 2>&1 && break
    sleep 0.2
done
curl -sS http://127.0.0.1:8089/index.txt
curl -sS -o /dev/null -w '%{http_code}\n' http://127.0.0.1:8089/missing
curl -sS -o "$d/got.bin" http://127.0.0.1:8089/big.bin
cmp "$d/got.bin" "$d/www/big.bin" && echo "big file intact"
# Two requests on one kept-alive connection.
curl -sS http://127.0.0.1:8089/index.txt http://127.0.0.1:8089/index.txt
kill $server
wait $server || true
grep -c '"GET /index.txt HTTP/1.1" 200' "$d/access.log"
"#;

/// nginx (master and workers, epoll, sendfile) serves a small and a large
/// file and a 404 to `curl`, inside the sandbox and natively alike.
#[test]
fn nginx_serves_files_to_curl() {
    if missing("nginx_serves_files_to_curl", &["nginx", "curl"]) {
        return;
    }
    let want = "served by nginx\n404\nbig file intact\nserved by nginx\nserved by nginx\n4\n";
    let native = sh(NGINX_SCRIPT, true);
    assert_eq!(check(&native), want, "natively");
    let out = sh(NGINX_SCRIPT, false);
    assert_eq!(check(&out), want, "stderr:\n{}", out.stderr_str());
}
