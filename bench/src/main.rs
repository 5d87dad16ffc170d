//! `cargo run --release -p bench -- [--quick] [--json FILE] [--only NAME]`
//!
//! Runs every workload natively, in a runc container, under `runsc do` and
//! in a runsc container, in one run, and prints a table of medians with
//! [min-max] and ratios to native; writes the same as JSON. Columns or rows
//! that need something missing here say "n/a (reason)"; a run that fails
//! or times out makes its cell FAILED, never a figure.

mod checkpoint;
mod harness;
mod prepare;
mod process;
mod report;
mod runtime;
mod stats;
mod table;
mod targets;
mod workload;
mod workloads;

use anyhow::{bail, Context as _};
use clap::Parser;
use runtime::{Kind, Runtime, Status};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};
use workload::{CapState, Context};

#[derive(Parser, Debug)]
#[command(about = "Runs every benchmark natively, under runc and under runsc, side by side")]
struct Args {
    /// 3 runs per figure and shorter measurements (about two minutes)
    #[arg(long)]
    quick: bool,

    /// Write the results as JSON to FILE [default: WORK_DIR/results.json]
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Run only these workloads (see --list); repeatable, or comma-separated
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    only: Vec<String>,

    /// List the workloads and exit
    #[arg(long)]
    list: bool,

    /// Runs behind each figure [default: 5, or 3 with --quick]
    #[arg(long, value_name = "N")]
    runs: Option<usize>,

    /// Seconds one run may take before it is killed and counted FAILED
    /// [default: 120, or 60 with --quick]
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,

    /// The runsc binary [default: built with cargo, next to this program]
    #[arg(long, value_name = "PATH")]
    runsc: Option<PathBuf>,

    /// Do not build runsc first
    #[arg(long)]
    no_build: bool,

    /// The runc binary [default: runc from PATH]
    #[arg(long, value_name = "PATH")]
    runc: Option<PathBuf>,

    /// Run the runsc columns on this platform (passed as `runsc --platform`);
    /// repeat for one pair of columns per platform [default: systrap and
    /// ptrace]
    #[arg(long = "platform", value_name = "NAME")]
    platforms: Vec<String>,

    /// Where the compiled workloads and the results go [default: the
    /// cargo target directory's bench/]
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
}

/// The platforms measured when `--platform` is not given: the default one
/// first, then the one it replaced.
const DEFAULT_PLATFORMS: [&str; 2] = ["systrap", "ptrace"];

fn main() {
    let args = Args::parse();
    if let Err(err) = run(args) {
        eprintln!("bench: {err:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let all = workloads::all();
    if args.list {
        for metric in all.iter().flat_map(|w| w.metrics()) {
            println!("{:<16} {:<6} {}", metric.id, metric.unit, metric.title);
        }
        return Ok(());
    }
    let chosen = choose(all, &args.only)?;

    let started = Instant::now();
    let started_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();

    let work = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => default_work_dir()?,
    };
    std::fs::create_dir_all(&work).with_context(|| format!("cannot make {}", work.display()))?;
    let work = work.canonicalize()?;
    let runsc = find_runsc(&args);

    eprintln!("bench: compiling the workloads into {}", work.display());
    prepare::compile_workloads(&work)?;
    prepare::write_data(&work)?;
    remove_stale_scratch(&work);
    let scratch = work.join(format!("run-{}", std::process::id()));
    let rootfs = scratch.join("rootfs");
    let host_binds = prepare::build_rootfs(&work, &rootfs)?;

    let runs = args.runs.unwrap_or(if args.quick { 3 } else { 5 }).max(1);
    let cx = Context {
        work: work.clone(),
        scratch: scratch.clone(),
        rootfs,
        host_binds,
        target_ms: if args.quick { 100 } else { 250 },
        timeout: Duration::from_secs(args.timeout.unwrap_or(if args.quick { 60 } else { 120 })),
        quick: args.quick,
    };

    let mut runtimes = vec![
        Runtime::native(),
        Runtime::runc(&cx, args.runc.clone().or_else(|| find_in_path("runc"))),
    ];
    let platforms = if args.platforms.is_empty() {
        DEFAULT_PLATFORMS.iter().map(|p| p.to_string()).collect()
    } else {
        args.platforms.clone()
    };
    for platform in &platforms {
        runtimes.extend(Runtime::runsc(&cx, &runsc, Some(platform)));
    }
    for runtime in &mut runtimes {
        runtime.probe(&cx);
        eprintln!("bench: {:<10} {}", runtime.title, describe(runtime));
    }
    if let Some(native) = runtimes.iter().find(|r| r.kind == Kind::Native) {
        if let Status::Broken(why) = &native.status {
            bail!("the workloads do not even run natively: {why}");
        }
    }

    let count: usize = chosen.iter().map(|w| w.metrics().len()).sum();
    let mut rows = Vec::new();
    for workload in &chosen {
        let begun = Instant::now();
        let titles: Vec<String> = workload.metrics().into_iter().map(|m| m.id).collect();
        eprint!(
            "bench: [{:>2}/{count}] {} ...",
            rows.len() + 1,
            titles.join(", ")
        );
        let new = harness::measure(&cx, workload.as_ref(), &runtimes, runs);
        eprintln!(" {:.1}s", begun.elapsed().as_secs_f64());
        rows.extend(new);
    }

    let columns: Vec<table::Column> = runtimes
        .iter()
        .map(|r| table::Column {
            title: &r.title,
            native: r.kind == Kind::Native,
        })
        .collect();
    println!();
    print!("{}", table::render(&columns, &rows));
    println!();
    println!(
        "Median [min-max] of {runs} runs each. \"x native\": how many times slower than native"
    );
    println!("(value/native; native/value for MB/s). MB = 2^20 bytes.");
    if args.quick && rows.iter().any(|r| r.metric.id == "tar") {
        println!("Quick mode: tar archives /usr/share/doc/[a-f]* only.");
    }
    let ids: Vec<String> = runtimes.iter().map(|r| r.id.clone()).collect();
    let outcomes = targets::check(&rows, &ids);
    if !outcomes.is_empty() {
        println!();
        println!("Targets:");
        print!("{}", targets::render(&outcomes));
    }

    let report = report::Report {
        schema: report::SCHEMA,
        started: started_unix,
        quick: args.quick,
        runs,
        target_ms: cx.target_ms,
        host: report::Host {
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_average,
            commit: workspace_commit(),
        },
        columns: runtimes.iter().map(report::ColumnReport::of).collect(),
        rows: report::rows(&rows, &ids),
        targets: outcomes,
    };
    let json_path = args
        .json
        .clone()
        .unwrap_or_else(|| work.join("results.json"));
    let text = serde_json::to_string_pretty(&report)?;
    std::fs::write(&json_path, text + "\n")
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    println!(
        "Results in {} ({:.0}s in all).",
        json_path.display(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The workloads `--only` asks for, all of them without it.
fn choose(
    all: Vec<Box<dyn workload::Workload>>,
    only: &[String],
) -> anyhow::Result<Vec<Box<dyn workload::Workload>>> {
    if only.is_empty() {
        return Ok(all);
    }
    let known: Vec<String> = all.iter().flat_map(|w| w.metrics()).map(|m| m.id).collect();
    if let Some(unknown) = only.iter().find(|name| !known.contains(name)) {
        bail!("no workload {unknown:?}; there are: {}", known.join(", "));
    }
    Ok(all
        .into_iter()
        .filter(|w| w.metrics().iter().any(|m| only.contains(&m.id)))
        .collect())
}

/// One line about what a column can do.
fn describe(runtime: &Runtime) -> String {
    match &runtime.status {
        Status::Unavailable(why) => format!("n/a: {why}"),
        Status::Broken(why) => format!("FAILED: {why}"),
        Status::Ready(caps) => {
            let lacking: Vec<String> = caps
                .iter()
                .filter_map(|(cap, state)| match state {
                    CapState::Ok => None,
                    CapState::Missing(why) => Some(format!("no {} ({why})", cap.name())),
                    CapState::Broken(why) => Some(format!("broken {} ({why})", cap.name())),
                })
                .collect();
            if lacking.is_empty() {
                "ready".to_string()
            } else {
                format!("ready; {}", lacking.join("; "))
            }
        }
    }
}

/// The workspace this program was built from.
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench lives in the workspace")
}

/// `bench/` in the target directory this program runs from
/// (target/release/bench -> target/bench).
fn default_work_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("this program is not in a target directory")?;
    Ok(target.join("bench"))
}

/// runsc: the `--runsc` binary, or the release build next to this program,
/// built first when this program was started by cargo. `Err` says why
/// there is none.
fn find_runsc(args: &Args) -> Result<PathBuf, String> {
    if let Some(path) = &args.runsc {
        return if path.is_file() {
            Ok(path.clone())
        } else {
            Err(format!("{} not found", path.display()))
        };
    }
    if !args.no_build {
        if let Some(cargo) = std::env::var_os("CARGO") {
            eprintln!("bench: building runsc (cargo build --release -p runsc)");
            let built = Command::new(cargo)
                .args(["build", "--release", "-p", "runsc"])
                .current_dir(workspace_root())
                .status();
            match built {
                Ok(status) if status.success() => {}
                Ok(status) => return Err(format!("runsc did not build ({status})")),
                Err(err) => return Err(format!("cannot run cargo: {err}")),
            }
        }
    }
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let dir = exe.parent().ok_or("this program has no directory")?;
    let candidates = [dir.join("../release/runsc"), dir.join("runsc")];
    candidates
        .iter()
        .find(|path| path.is_file())
        .map(|path| path.canonicalize().unwrap_or_else(|_| path.clone()))
        .ok_or_else(|| {
            format!(
                "no runsc next to {} (cargo build --release -p runsc)",
                exe.display()
            )
        })
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Removes scratch directories of earlier runs that were interrupted.
fn remove_stale_scratch(work: &Path) {
    let Ok(entries) = std::fs::read_dir(work) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("run-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn workspace_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
