//! What a workload is to the harness, and the small contracts between them:
//! what a run may end as, what an environment may lack, how a workload's
//! output is read.
//!
//! Every row of the table comes from a [`Workload`]. The table of all of
//! them is [`crate::workloads::all`]; a new kind of measurement (the
//! checkpoint/restore rows, say) is one more type implementing the trait,
//! added to that table. A workload that has no meaning in some column (a
//! checkpoint natively) says so through [`Workload::not_applicable`], and
//! one that needs something an environment may lack lists it in
//! [`Workload::needs`]; the harness then prints "n/a (reason)" for it
//! rather than running it.

use crate::process::Finished;
use crate::runtime::Runtime;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Whether a bigger figure is better (MB/s) or worse (ns/op).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// One figure a workload measures: one row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// Short stable name, used by `--only` and as the JSON key.
    pub id: String,
    /// What the row shows, for people.
    pub title: String,
    pub unit: String,
    pub better: Better,
}

/// Something an environment can do or not, found out once per column by
/// running `bench/workloads/probe.c` there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cap {
    /// fork and wait.
    Fork,
    /// Create, write and read back files under /tmp.
    TmpWrite,
    /// pipe2, and data through it.
    Pipe,
    /// getdents64.
    Getdents,
    /// The host's /usr (with /bin, /lib, ...) is visible: programs that are
    /// not in the rootfs, and dynamic ones, can run.
    HostUsr,
}

impl Cap {
    pub const ALL: [Cap; 5] = [
        Cap::Fork,
        Cap::TmpWrite,
        Cap::Pipe,
        Cap::Getdents,
        Cap::HostUsr,
    ];

    /// The name the probe prints.
    pub fn name(self) -> &'static str {
        match self {
            Cap::Fork => "fork",
            Cap::TmpWrite => "tmp-write",
            Cap::Pipe => "pipe",
            Cap::Getdents => "getdents",
            Cap::HostUsr => "host-usr",
        }
    }

    fn from_name(name: &str) -> Option<Cap> {
        Cap::ALL.into_iter().find(|cap| cap.name() == name)
    }
}

/// What the probe found about one capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapState {
    Ok,
    /// Not there yet; rows that need it are n/a.
    Missing(String),
    /// There but wrong; rows that need it are FAILED.
    Broken(String),
}

/// Reads the probe's output: one `NAME ok|missing REASON|broken REASON`
/// line per capability. Every capability must be reported.
pub fn parse_probe(stdout: &str) -> Result<BTreeMap<Cap, CapState>, String> {
    let mut caps = BTreeMap::new();
    for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.splitn(3, ' ');
        let name = words.next().unwrap_or_default();
        let cap = Cap::from_name(name)
            .ok_or_else(|| format!("the probe printed an unknown capability: {line:?}"))?;
        let status = words.next();
        let reason = words.next().unwrap_or_default().to_string();
        let state = match status {
            Some("ok") => CapState::Ok,
            Some("missing") => CapState::Missing(reason),
            Some("broken") => CapState::Broken(reason),
            _ => return Err(format!("the probe printed a line it should not: {line:?}")),
        };
        caps.insert(cap, state);
    }
    match Cap::ALL.into_iter().find(|cap| !caps.contains_key(cap)) {
        Some(cap) => Err(format!("the probe did not report {}", cap.name())),
        None => Ok(caps),
    }
}

/// How one run of a workload can end without a figure.
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// It ran and went wrong: the cell is FAILED.
    Failed(String),
    /// It did not finish in time: the cell is FAILED.
    TimedOut(Duration),
    /// The environment lacks something: the cell is n/a.
    Unsupported(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Failed(why) | RunError::Unsupported(why) => f.write_str(why),
            RunError::TimedOut(after) => write!(f, "timed out after {}s", after.as_secs()),
        }
    }
}

/// The exit status with which a workload says that the environment lacks
/// something it needs (see `bench/workloads/bench.h`).
pub const EXIT_UNSUPPORTED: i32 = 77;

/// Checks that a run ended well: exit status 0. A workload's status 77 is
/// an n/a; anything else a failure, described by its status and the last
/// meaningful lines of its stderr.
pub fn check_exit(run: &Finished) -> Result<(), RunError> {
    match (run.status.code(), run.signal()) {
        (Some(0), _) => Ok(()),
        (Some(EXIT_UNSUPPORTED), _) => {
            let why = last_lines(&run.stderr, 1);
            let why = why.strip_prefix("unsupported: ").unwrap_or(&why);
            Err(RunError::Unsupported(if why.is_empty() {
                "unsupported".to_string()
            } else {
                why.to_string()
            }))
        }
        (code, signal) => {
            let how = match (code, signal) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => "ended oddly".to_string(),
            };
            let tail = last_lines(&run.stderr, 3);
            Err(RunError::Failed(if tail.is_empty() {
                how
            } else {
                format!("{how}: {tail}")
            }))
        }
    }
}

/// The last `n` lines of `stderr` that say something, joined with " | ".
/// Of the runtimes' own log lines (`time=... level=... msg="..."`), only
/// the message of warnings and errors is kept.
pub fn last_lines(stderr: &str, n: usize) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter_map(|line| match line.strip_prefix("time=") {
            None => Some(line),
            Some(_) if line.contains("level=info") || line.contains("level=debug") => None,
            Some(_) => Some(log_message(line).unwrap_or(line)),
        })
        .filter(|line| !line.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// The `msg="..."` of a logfmt line, without its quotes.
fn log_message(line: &str) -> Option<&str> {
    let start = line.find("msg=\"")? + "msg=\"".len();
    let rest = &line[start..];
    let mut escaped = false;
    for (at, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(&rest[..at]),
            _ => escaped = false,
        }
    }
    Some(rest)
}

/// Reads what a workload printed: exactly one finite, positive number.
pub fn parse_figure(stdout: &str) -> Result<f64, String> {
    let mut lines = stdout.lines().map(str::trim).filter(|l| !l.is_empty());
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Err(format!(
            "expected one number on stdout, got {:?}",
            truncate(stdout, 80)
        ));
    };
    match line.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!(
            "expected one positive number on stdout, got {:?}",
            truncate(line, 80)
        )),
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// Everything a workload may need from the harness while it runs.
pub struct Context {
    /// Host directory holding the compiled workloads (`bin/`) and their
    /// data (`data/`), kept from one run of the harness to the next.
    pub work: PathBuf,
    /// This run's own directory: the container rootfs, the bundles and the
    /// runtimes' state. Removed at the end.
    pub scratch: PathBuf,
    /// The rootfs of every container: the workloads under /bench, mount
    /// points, and symbolic links like the host's (/bin -> usr/bin).
    pub rootfs: PathBuf,
    /// Host directories bind-mounted read-only into containers at the same
    /// place (/usr, and /bin, /lib... where they are not links).
    pub host_binds: Vec<String>,
    /// How long a micro workload measures, per run.
    pub target_ms: u64,
    /// How long one run may take before it is killed and counted FAILED.
    pub timeout: Duration,
    pub quick: bool,
}

/// One kind of measurement. See the module comment.
pub trait Workload: Sync {
    /// The figures one run yields, in the order [`Workload::run_once`]
    /// returns them. Most workloads have one.
    fn metrics(&self) -> Vec<Metric>;

    /// What the environment must be able to do for a run to mean anything.
    fn needs(&self) -> &[Cap] {
        &[]
    }

    /// Why this workload has no meaning under `runtime`, if it has none.
    fn not_applicable(&self, _runtime: &Runtime) -> Option<String> {
        None
    }

    /// Runs the workload once under `runtime` and returns one value per
    /// metric. A run that cannot vouch for its result must fail.
    fn run_once(&self, cx: &Context, runtime: &Runtime) -> Result<Vec<f64>, RunError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_number() {
        assert_eq!(parse_figure("207.6825\n"), Ok(207.6825));
        assert_eq!(parse_figure("  \n 3 \n\n"), Ok(3.0));
        assert_eq!(parse_figure("1e3"), Ok(1000.0));
    }

    #[test]
    fn refuses_anything_but_one_positive_number() {
        for bad in [
            "", "\n", "12 ns", "1\n2\n", "nan", "inf", "-4", "0", "hello",
        ] {
            assert!(parse_figure(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn reads_the_probe() {
        let caps = parse_probe(
            "fork ok\ntmp-write missing mkdtemp in /tmp: ENOSYS\npipe broken write and read a pipe: Bad address\ngetdents ok\nhost-usr missing /usr/bin/true: No such file or directory\n",
        )
        .unwrap();
        assert_eq!(caps[&Cap::Fork], CapState::Ok);
        assert_eq!(
            caps[&Cap::TmpWrite],
            CapState::Missing("mkdtemp in /tmp: ENOSYS".into())
        );
        assert_eq!(
            caps[&Cap::Pipe],
            CapState::Broken("write and read a pipe: Bad address".into())
        );
        assert_eq!(
            caps[&Cap::HostUsr],
            CapState::Missing("/usr/bin/true: No such file or directory".into())
        );
    }

    #[test]
    fn refuses_an_incomplete_or_strange_probe() {
        assert!(parse_probe("fork ok\n").is_err());
        assert!(parse_probe(
            "fork ok\ntmp-write ok\npipe ok\ngetdents ok\nhost-usr ok\nwings ok\n"
        )
        .is_err());
        assert!(
            parse_probe("fork maybe\ntmp-write ok\npipe ok\ngetdents ok\nhost-usr ok\n").is_err()
        );
        assert!(parse_probe("fork ok\ntmp-write ok\npipe ok\ngetdents ok\nhost-usr ok\n").is_ok());
    }

    #[test]
    fn leaves_info_logs_out_of_reasons() {
        let stderr = "time=\"x\" level=info msg=\"unsupported system call rseq\"\nfirst\nsecond\ntime=\"y\" level=info msg=\"z\"\n";
        assert_eq!(last_lines(stderr, 1), "second");
        assert_eq!(last_lines(stderr, 5), "first | second");
        let error = "time=\"x\" level=error msg=\"not implemented yet: \\\"run\\\"\" code=2\n";
        assert_eq!(last_lines(error, 1), "not implemented yet: \\\"run\\\"");
        let odd = "time=\"x\" level=error something else\n";
        assert_eq!(last_lines(odd, 1), odd.trim());
    }
}
