//! The table of workloads: every row of the benchmark, in the order the
//! table shows them. To add a measurement, implement
//! [`crate::workload::Workload`] and add it to [`all`].

use crate::prepare::{self, PROJECT, SMALL_FILE, SMALL_FILE_SIZE};
use crate::process::{comm, descendants, rss_kib};
use crate::runtime::{Kind, Runtime};
use crate::workload::{check_exit, parse_figure, Better, Cap, Context, Metric, RunError, Workload};
use std::thread;
use std::time::{Duration, Instant};

/// Every workload.
pub fn all() -> Vec<Box<dyn Workload>> {
    use Better::{Higher, Lower};
    use Cap::{Fork, Getdents, HostUsr, Pipe, TmpWrite};
    vec![
        micro(
            "syscall",
            "syscall round trip (syscall(SYS_getpid))",
            "ns/op",
            Lower,
            &[],
            timed,
        ),
        micro(
            "getpid_libc",
            "syscall round trip (libc getpid())",
            "ns/op",
            Lower,
            &[],
            timed,
        ),
        micro(
            "clock_gettime",
            "clock_gettime(MONOTONIC)",
            "ns/op",
            Lower,
            &[],
            timed,
        ),
        micro(
            "open_read",
            "open+read+close 1 KB file",
            "ns/op",
            Lower,
            &[],
            small_file,
        ),
        micro("stat", "stat of a path", "ns/op", Lower, &[], small_file),
        micro(
            "getdents",
            "getdents of 10k entries",
            "ms",
            Lower,
            &[TmpWrite, Getdents],
            |cx, _| vec![cx.target_ms.to_string(), "10000".into()],
        ),
        micro("fork", "fork+exit+wait", "us/op", Lower, &[Fork], timed),
        micro(
            "fork_exec",
            "fork+execve(/bin/true)+wait",
            "us/op",
            Lower,
            &[Fork, HostUsr],
            |cx, _| vec![cx.target_ms.to_string(), "/bin/true".into()],
        ),
        micro("thread", "thread create+join", "us/op", Lower, &[], timed),
        micro(
            "pipe_throughput",
            "pipe throughput",
            "MB/s",
            Higher,
            &[Fork, Pipe],
            timed,
        ),
        micro(
            "pipe_pingpong",
            "pipe ping-pong",
            "us/rt",
            Lower,
            &[Fork, Pipe],
            timed,
        ),
        micro(
            "tcp_throughput",
            "loopback TCP throughput",
            "MB/s",
            Higher,
            &[Fork],
            timed,
        ),
        micro(
            "tcp_pingpong",
            "loopback TCP ping-pong",
            "us/rt",
            Lower,
            &[Fork],
            timed,
        ),
        micro(
            "page_fault",
            "page faults: touch 256 MB",
            "MB/s",
            Higher,
            &[],
            |_, _| vec!["256".into()],
        ),
        micro(
            "mmap_churn",
            "mmap+touch+munmap 64 KB",
            "us/op",
            Lower,
            &[],
            timed,
        ),
        program(
            "start_true",
            "start to exit of /bin/true",
            &[HostUsr],
            |_, _| vec!["/bin/true".into()],
        ),
        Box::new(IdleMemory),
        program(
            "python_start",
            "python3 -c pass",
            &[HostUsr, Getdents],
            |_, _| vec!["/usr/bin/python3".into(), "-c".into(), "pass".into()],
        ),
        program(
            "sqlite",
            "sqlite3: 10k inserts, selects",
            &[HostUsr, Getdents, TmpWrite],
            |_, _| vec!["/usr/bin/python3".into(), "-c".into(), SQLITE_SCRIPT.into()],
        ),
        program(
            "tar",
            "tar czf /usr/share/doc",
            &[HostUsr, Getdents, TmpWrite, Pipe, Fork],
            |cx, _| {
                shell(&format!(
                    "cd /usr/share && tar czf \"$d/doc.tgz\" {} && test -s \"$d/doc.tgz\"",
                    if cx.quick { QUICK_TAR_SET } else { "doc" }
                ))
            },
        ),
        program(
            "make",
            "make -j2, 20 C files",
            &[HostUsr, Getdents, TmpWrite, Pipe, Fork],
            |cx, rt| {
                shell(&format!(
                "cp -R {project}/. \"$d\" && make -s -j2 -C \"$d\" && test \"$(\"$d/prog\")\" = {answer}",
                project = rt.data(cx, PROJECT),
                answer = prepare::project_answer()
            ))
            },
        ),
        Box::new(RedisBenchmark),
        Box::new(crate::checkpoint::CheckpointRestore { mb: 10 }),
        Box::new(crate::checkpoint::CheckpointRestore { mb: 100 }),
        Box::new(crate::checkpoint::CheckpointRestore { mb: 1024 }),
    ]
}

/// What `tar` archives in quick mode: a part of /usr/share/doc, so that
/// the whole quick run fits in two minutes.
const QUICK_TAR_SET: &str = "doc/[a-f]*";

/// `sh -c SCRIPT` with `$d` a fresh directory under /tmp, removed at the
/// end whatever happens.
fn shell(script: &str) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        format!("d=$(mktemp -d) || exit 1; trap 'rm -rf \"$d\"' EXIT; {script}"),
    ]
}

/// The sqlite3 workload: 10k rows inserted in one transaction into a
/// database under /tmp, then counted, summed and looked up one by one
/// through an index; every answer is checked.
const SQLITE_SCRIPT: &str = r#"
import os, shutil, sqlite3, tempfile
d = tempfile.mkdtemp()
try:
    db = sqlite3.connect(os.path.join(d, "bench.db"))
    db.execute("create table t (id integer primary key, name text, value integer)")
    with db:
        db.executemany("insert into t (name, value) values (?, ?)",
                       (("row%d" % i, 7 * i) for i in range(10000)))
    count, total = db.execute("select count(*), sum(value) from t").fetchone()
    assert (count, total) == (10000, 7 * 10000 * 9999 // 2), (count, total)
    db.execute("create index by_value on t (value)")
    for i in range(0, 10000, 10):
        row = db.execute("select name from t where value = ?", (7 * i,)).fetchone()
        assert row == ("row%d" % i,), row
    db.close()
finally:
    shutil.rmtree(d)
"#;

/// Arguments of most micro workloads: how long to measure.
fn timed(cx: &Context, _: &Runtime) -> Vec<String> {
    vec![cx.target_ms.to_string()]
}

fn small_file(cx: &Context, runtime: &Runtime) -> Vec<String> {
    vec![
        cx.target_ms.to_string(),
        runtime.data(cx, SMALL_FILE),
        SMALL_FILE_SIZE.to_string(),
    ]
}

type Args = fn(&Context, &Runtime) -> Vec<String>;

/// A C program of `bench/workloads/` that measures itself and prints its
/// figure.
struct Micro {
    metric: Metric,
    needs: &'static [Cap],
    args: Args,
}

fn micro(
    id: &str,
    title: &str,
    unit: &str,
    better: Better,
    needs: &'static [Cap],
    args: Args,
) -> Box<dyn Workload> {
    Box::new(Micro {
        metric: Metric {
            id: id.into(),
            title: title.into(),
            unit: unit.into(),
            better,
        },
        needs,
        args,
    })
}

impl Workload for Micro {
    fn metrics(&self) -> Vec<Metric> {
        vec![self.metric.clone()]
    }

    fn needs(&self) -> &[Cap] {
        self.needs
    }

    fn run_once(&self, cx: &Context, runtime: &Runtime) -> Result<Vec<f64>, RunError> {
        let mut argv = vec![runtime.bin(cx, &self.metric.id)];
        argv.extend((self.args)(cx, runtime));
        let done = runtime.run(cx, &argv)?;
        check_exit(&done)?;
        let figure = parse_figure(&done.stdout).map_err(RunError::Failed)?;
        Ok(vec![figure])
    }
}

/// A whole program, timed by the harness from its start to its exit, in
/// milliseconds; it must exit 0.
struct Program {
    metric: Metric,
    needs: &'static [Cap],
    argv: Args,
}

fn program(id: &str, title: &str, needs: &'static [Cap], argv: Args) -> Box<dyn Workload> {
    Box::new(Program {
        metric: Metric {
            id: id.into(),
            title: title.into(),
            unit: "ms".into(),
            better: Better::Lower,
        },
        needs,
        argv,
    })
}

impl Workload for Program {
    fn metrics(&self) -> Vec<Metric> {
        vec![self.metric.clone()]
    }

    fn needs(&self) -> &[Cap] {
        self.needs
    }

    fn run_once(&self, cx: &Context, runtime: &Runtime) -> Result<Vec<f64>, RunError> {
        let done = runtime.run(cx, &(self.argv)(cx, runtime))?;
        check_exit(&done)?;
        Ok(vec![done.elapsed.as_secs_f64() * 1e3])
    }
}

/// `redis-benchmark` against a `redis-server` started beside it, both in
/// the sandbox (natively: on the host's loopback): the mean of the SET and
/// GET rates, in requests per second. n/a where Redis is not installed.
struct RedisBenchmark;

/// Requests per test: the full run as issue 6 names it, fewer in quick
/// mode.
const REDIS_REQUESTS: u32 = 20000;
const REDIS_QUICK_REQUESTS: u32 = 5000;

/// Starts the server on a scratch port, waits for it, runs the SET and
/// GET tests and prints their mean rate alone on stdout.
const REDIS_SCRIPT: &str = r#"
port=$((20000 + $$ % 20000))
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$d" --logfile "$d/redis.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$d"' EXIT
up=
for i in $(seq 200); do
    if [ "$(redis-cli -p $port ping 2>/dev/null)" = PONG ]; then up=1; break; fi
    sleep 0.05
done
[ -n "$up" ] || { echo "redis-server did not answer" >&2; exit 1; }
redis-benchmark -p $port -n $requests -t set,get --csv >"$d/out" || exit 1
# --csv: a header line, then "SET","rps",... per test. (No awk: in the
# containers' root /etc/alternatives, where awk points, is not the host's.)
set=$(grep '^"SET"' "$d/out" | cut -d'"' -f4)
get=$(grep '^"GET"' "$d/out" | cut -d'"' -f4)
[ -n "$set" ] && [ -n "$get" ] || { cat "$d/out" >&2; exit 1; }
echo $(( (${set%.*} + ${get%.*}) / 2 ))
"#;

impl Workload for RedisBenchmark {
    fn metrics(&self) -> Vec<Metric> {
        vec![Metric {
            id: "redis".into(),
            title: "redis-benchmark SET/GET".into(),
            unit: "ops/s".into(),
            better: Better::Higher,
        }]
    }

    fn needs(&self) -> &[Cap] {
        &[Cap::HostUsr, Cap::Fork, Cap::TmpWrite, Cap::Pipe]
    }

    fn run_once(&self, cx: &Context, runtime: &Runtime) -> Result<Vec<f64>, RunError> {
        for program in ["redis-server", "redis-cli", "redis-benchmark"] {
            if !std::path::Path::new("/usr/bin").join(program).exists() {
                return Err(RunError::Unsupported(format!(
                    "{program} is not installed (scripts/setup installs it)"
                )));
            }
        }
        let requests = if cx.quick {
            REDIS_QUICK_REQUESTS
        } else {
            REDIS_REQUESTS
        };
        let argv = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            format!("d=$(mktemp -d) || exit 1; requests={requests}; {REDIS_SCRIPT}"),
        ];
        let done = runtime.run(cx, &argv)?;
        check_exit(&done)?;
        let figure = parse_figure(&done.stdout).map_err(RunError::Failed)?;
        Ok(vec![figure])
    }
}

/// Resident memory of an idle sandbox: `sleep 5` is started, and once its
/// memory has settled, VmRSS is summed over the sandbox process (runsc),
/// or the container's process (runc) or the process itself (native), and
/// every process under it (runsc's stubs). The front process of `runc
/// run`/`runsc run`, which only waits, is not counted.
struct IdleMemory;

/// Samples this far apart must agree within 2%, three times running.
const RSS_INTERVAL: Duration = Duration::from_millis(100);
const RSS_STEADY: u32 = 3;
/// Taken as it is if it has not settled by then (`sleep 5` must not end).
const RSS_DEADLINE: Duration = Duration::from_secs(4);

impl Workload for IdleMemory {
    fn metrics(&self) -> Vec<Metric> {
        vec![Metric {
            id: "idle_memory".into(),
            title: "RSS of an idle sandbox (sleep)".into(),
            unit: "MB".into(),
            better: Better::Lower,
        }]
    }

    fn needs(&self) -> &[Cap] {
        &[Cap::HostUsr]
    }

    fn run_once(&self, cx: &Context, runtime: &Runtime) -> Result<Vec<f64>, RunError> {
        let argv = ["/bin/sleep".to_string(), "5".to_string()];
        let mut spawned = runtime.spawn(cx, &argv, true)?;
        let start = Instant::now();
        let mut last: Option<u64> = None;
        let mut steady = 0;
        let measured = loop {
            thread::sleep(RSS_INTERVAL);
            if spawned.has_exited() {
                break Err(RunError::Failed(
                    "sleep 5 ended before its memory settled".into(),
                ));
            }
            let Some(root) = spawned.root_pid() else {
                // The runtime has not written its PID file yet.
                if start.elapsed() > RSS_DEADLINE {
                    break Err(RunError::Failed("no PID file from the runtime".into()));
                }
                continue;
            };
            // Natively and under runc the process is sleep itself once it
            // has been exec'd.
            let own_process = matches!(runtime.kind, Kind::Native | Kind::Runc);
            if own_process
                && comm(root).as_deref() != Some("sleep")
                && start.elapsed() < RSS_DEADLINE
            {
                continue;
            }
            let kib: u64 = descendants(&[root]).into_iter().filter_map(rss_kib).sum();
            if kib == 0 {
                break Err(RunError::Failed("no resident memory found".into()));
            }
            steady = match last {
                Some(before) if before.abs_diff(kib) * 50 <= before => steady + 1,
                _ => 0,
            };
            last = Some(kib);
            if steady >= RSS_STEADY || start.elapsed() > RSS_DEADLINE {
                break Ok(kib);
            }
        };
        spawned.stop();
        Ok(vec![measured? as f64 / 1024.0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_program_is_used() {
        let mut ids: Vec<String> = all()
            .iter()
            .flat_map(|w| w.metrics())
            .map(|m| m.id)
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "two metrics share an id");
        for (name, _) in prepare::PROGRAMS {
            assert!(
                *name == "probe"
                    || ids
                        .iter()
                        .any(|id| id == name || id.starts_with(&format!("{name}_"))),
                "{name}.c is not run"
            );
        }
    }

    #[test]
    fn shell_scripts_clean_up_their_directory() {
        let argv = shell("true");
        assert_eq!(argv[..2], ["/bin/sh", "-c"]);
        assert!(argv[2].starts_with("d=$(mktemp -d) || exit 1; trap 'rm -rf \"$d\"' EXIT; "));
    }
}
