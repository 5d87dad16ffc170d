//! The checkpoint/restore rows: a container holding MB megabytes of touched
//! memory (`workloads/checkpoint.c`) is checkpointed (the container stops)
//! and restored under the same ID, and the restored process checks every
//! byte of its memory. Each size gives these rows: the time `checkpoint`
//! takes and the rate it saves the memory at, the time `restore -d` takes
//! to return with the container running and its rate, the time from the
//! start of `restore` to the first instructions the restored program runs
//! (it prints the real time when it wakes from a stop; see the workload),
//! the time until every page is loaded and the rate of that (runsc loads
//! pages lazily, in the background, and logs when it is done; runc loads
//! them before it returns), and the size of the image directory.
//!
//! It runs in the container columns with the same commands (runc's CLI is
//! runsc's). runc needs CRIU; where `criu check` fails (Debian's CRIU 3.17
//! cannot dump on kernels from 6.13 on) the runc column is n/a with CRIU's
//! own reason. Natively and under `runsc do` there is no container.

use crate::runtime::{bundle_config, next_container_id, workload_env, Kind, Runtime};
use crate::workload::{Better, Context, Metric, RunError, Workload};
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct CheckpointRestore {
    pub mb: u64,
}

impl CheckpointRestore {
    fn metric(&self, what: &str, title: &str, unit: &str, better: Better) -> Metric {
        Metric {
            id: format!("checkpoint_{}mb_{what}", self.mb),
            title: format!("{title}, {} MB touched", self.mb),
            unit: unit.into(),
            better,
        }
    }
}

impl Workload for CheckpointRestore {
    fn metrics(&self) -> Vec<Metric> {
        use Better::{Higher, Lower};
        vec![
            self.metric("time", "checkpoint (container stops)", "ms", Lower),
            self.metric("rate", "checkpoint rate", "MB/s", Higher),
            self.metric("restore", "restore -d until running", "ms", Lower),
            self.metric("restore_rate", "restore rate", "MB/s", Higher),
            self.metric(
                "first",
                "restore to the first resumed instruction",
                "ms",
                Lower,
            ),
            self.metric("loaded", "restore until every page is loaded", "ms", Lower),
            self.metric(
                "loaded_rate",
                "restore rate until every page is loaded",
                "MB/s",
                Higher,
            ),
            self.metric("image", "checkpoint image size", "MB", Lower),
        ]
    }

    fn not_applicable(&self, runtime: &Runtime) -> Option<String> {
        match runtime.kind {
            Kind::Native => Some("no container to checkpoint".into()),
            Kind::RunscDo => Some("runsc do has no container to checkpoint".into()),
            Kind::Runc => criu_problem(),
            Kind::RunscRun => None,
        }
    }

    fn run_once(&self, cx: &Context, runtime: &Runtime) -> Result<Vec<f64>, RunError> {
        let id = next_container_id();
        let bundle = cx.scratch.join("bundles").join(&id);
        let result = measure(cx, runtime, &id, &bundle, self.mb);
        let _ = runtime
            .command(&["delete", "--force", &id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&bundle);
        result
    }
}

/// Why CRIU cannot checkpoint here, if it cannot (asked once).
fn criu_problem() -> Option<String> {
    static PROBLEM: OnceLock<Option<String>> = OnceLock::new();
    PROBLEM
        .get_or_init(|| {
            let out = match Command::new("criu").arg("check").output() {
                Ok(out) => out,
                Err(e) => {
                    return Some(format!(
                        "runc checkpoints with CRIU, which is not here: {e}"
                    ))
                }
            };
            if out.status.success() {
                return None;
            }
            let text = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            let first = text
                .lines()
                .find(|l| l.starts_with("Error"))
                .unwrap_or("it failed")
                .to_string();
            Some(format!("`criu check` fails on this kernel: {first}"))
        })
        .clone()
}

fn failed(what: &str) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |e| RunError::Failed(format!("{what}: {e}"))
}

/// Runs one of the runtime's commands with its output in files beside
/// `log` (`log.out`, `log.err`): a detached container keeps what it is
/// given, which a pipe would make the harness wait for.
fn runtime_step(runtime: &Runtime, args: &[&str], log: &Path) -> Result<Duration, RunError> {
    let out = File::create(log.with_extension("out")).map_err(failed("a log file"))?;
    let err = File::create(log.with_extension("err")).map_err(failed("a log file"))?;
    let start = Instant::now();
    let status = runtime
        .command(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(failed("cannot start the runtime"))?;
    let took = start.elapsed();
    if !status.success() {
        let stderr = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
        return Err(RunError::Failed(format!(
            "{} {}: {}",
            args[0],
            status,
            crate::workload::last_lines(&stderr, 2)
        )));
    }
    Ok(took)
}

/// Waits until the file `path` holds a line starting with one of `words`;
/// returns that line.
fn wait_line(path: &Path, words: &[&str], timeout: Duration) -> Result<String, RunError> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text
            .lines()
            .find(|l| words.iter().any(|w| l.starts_with(w)))
        {
            return Ok(line.to_string());
        }
        if start.elapsed() > timeout {
            return Err(RunError::TimedOut(timeout));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn measure(
    cx: &Context,
    runtime: &Runtime,
    id: &str,
    bundle: &Path,
    mb: u64,
) -> Result<Vec<f64>, RunError> {
    std::fs::create_dir_all(bundle).map_err(failed("cannot make a bundle"))?;
    let env: Vec<String> = workload_env()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let argv = [runtime.bin(cx, "checkpoint"), mb.to_string()];
    let config = bundle_config(&argv, &env, &cx.rootfs, &cx.host_binds);
    std::fs::write(bundle.join("config.json"), config.to_string())
        .map_err(failed("cannot write config.json"))?;
    let bundle_arg = bundle.display().to_string();
    let image = bundle.join("image");
    let image_arg = image.display().to_string();

    runtime_step(
        runtime,
        &["run", "--detach", "--bundle", &bundle_arg, id],
        &bundle.join("run"),
    )?;
    wait_line(&bundle.join("run.out"), &["ready"], cx.timeout)?;

    let checkpoint = runtime_step(
        runtime,
        &["checkpoint", "--image-path", &image_arg, id],
        &bundle.join("checkpoint"),
    )?;
    let image_bytes = dir_size(&image).map_err(failed("the image directory"))?;
    runtime_step(runtime, &["delete", id], &bundle.join("delete"))?;
    let started = Instant::now();
    let started_ns = realtime_ns();
    let restore = runtime_step(
        runtime,
        &[
            "restore",
            "--detach",
            "--image-path",
            &image_arg,
            "--bundle",
            &bundle_arg,
            id,
        ],
        &bundle.join("restore"),
    )?;
    let first = resumed_after(&bundle.join("restore.out"), started_ns, cx.timeout)?;
    let loaded = match runtime.kind {
        // The sandbox logs when the last page is in, into
        // <root>/<id>/sandbox.log.
        Kind::RunscRun => {
            let log = runtime
                .state_root()
                .ok_or_else(|| RunError::Failed("runsc runs without --root".into()))?
                .join(id)
                .join("sandbox.log");
            wait_containing(&log, "lazy restore: ", cx.timeout)?;
            started.elapsed()
        }
        _ => restore,
    };
    // The restored process vouches for every byte.
    runtime_step(runtime, &["kill", id, "USR1"], &bundle.join("kill"))?;
    let said = wait_line(
        &bundle.join("restore.out"),
        &["verified", "corrupt"],
        cx.timeout,
    )?;
    if said != "verified" {
        return Err(RunError::Failed(format!("after the restore: {said}")));
    }
    let _ = std::fs::remove_dir_all(&image);
    let mbf = mb as f64;
    Ok(vec![
        checkpoint.as_secs_f64() * 1e3,
        mbf / checkpoint.as_secs_f64(),
        restore.as_secs_f64() * 1e3,
        mbf / restore.as_secs_f64(),
        first,
        loaded.as_secs_f64() * 1e3,
        mbf / loaded.as_secs_f64(),
        image_bytes as f64 / (1 << 20) as f64,
    ])
}

/// The real time in nanoseconds.
fn realtime_ns() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_nanos() as f64)
}

/// Milliseconds from `start_ns` (real time) to the first "resumed TIME"
/// line in `path` at or after it: the restored program's first wake-up.
fn resumed_after(path: &Path, start_ns: f64, timeout: Duration) -> Result<f64, RunError> {
    let begun = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let first = text
            .lines()
            .filter_map(|l| l.strip_prefix("resumed ")?.trim().parse::<f64>().ok())
            .find(|&t| t >= start_ns);
        if let Some(t) = first {
            return Ok((t - start_ns) / 1e6);
        }
        if begun.elapsed() > timeout {
            return Err(RunError::TimedOut(timeout));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the file `path` holds `word` anywhere, polling every 5 ms.
fn wait_containing(path: &Path, word: &str, timeout: Duration) -> Result<(), RunError> {
    let begun = Instant::now();
    loop {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(word)) {
            return Ok(());
        }
        if begun.elapsed() > timeout {
            return Err(RunError::TimedOut(timeout));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Bytes of the files in `dir` (CRIU writes many, runsc one).
fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}
