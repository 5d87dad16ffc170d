//! `ps`: the processes of a container, as the sandbox's kernel knows them.
//!
//! The table lists the container's processes as the sandbox's kernel
//! knows them, with the container's own PIDs (as `ps` inside the container
//! would show them; they have no host PIDs, being served by the sandbox's
//! kernel), in the columns of `ps -ef`; other ps options are not
//! supported.
//!
//! `--format json` is what engines read (containerd's `ListPids`, behind
//! `docker top`, which then looks the PIDs up in the host's `ps`): as runc
//! does, it lists the host PIDs of the processes in the container's cgroup
//! (the sandbox process and its stubs), or the sandbox process alone when
//! the container has no cgroup.

use super::{live_sandbox, print};
use crate::cli::list::ListFormat;
use crate::cli::ps::Ps;
use crate::cli::GlobalOpts;
use crate::sandbox::client::unexpected;
use sentry::control::protocol::{ProcessInfo, Reply, Request};

pub fn ps(global: &GlobalOpts, args: Ps) -> anyhow::Result<()> {
    if !args.ps_args.is_empty() && args.ps_args != ["-ef"] && args.format == ListFormat::Table {
        tracing::warn!(
            "ps options {:?} are not supported; showing the columns of ps -ef",
            args.ps_args
        );
    }
    let (state, mut client) = live_sandbox(global, &args.container_id, "list the processes of")?;
    if args.format == ListFormat::Json {
        let pids = host_pids(&state);
        return print(&format!("{}\n", serde_json::to_string(&pids)?));
    }
    let processes = match client.call(&Request::Processes, &[])? {
        Reply::Processes { processes } => processes,
        r => return Err(unexpected("ps", &r)),
    };
    print(&table(&processes, now()))
}

/// Host PIDs of the container: its cgroup's processes, or the sandbox.
fn host_pids(state: &crate::container::State) -> Vec<i32> {
    let in_cgroup = state.cgroup.as_ref().and_then(|p| {
        let path = boot::cgroups::CgroupPath::new(&p.to_string_lossy()).ok()?;
        boot::cgroups::Cgroups::detect().ok()?.processes(&path).ok()
    });
    match in_cgroup {
        Some(pids) if !pids.is_empty() => pids.iter().map(|p| p.as_raw()).collect(),
        _ => state.pid.into_iter().collect(),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `UID PID PPID C STIME TTY TIME CMD`, as `ps -ef` lays it out.
fn table(processes: &[ProcessInfo], now: u64) -> String {
    let mut rows = vec![[
        "UID".to_string(),
        "PID".into(),
        "PPID".into(),
        "C".into(),
        "STIME".into(),
        "TTY".into(),
        "TIME".into(),
        "CMD".into(),
    ]];
    for p in processes.iter().filter(|p| p.state != 'Z') {
        let cmd = if p.args.is_empty() {
            format!("[{}]", p.name)
        } else {
            p.args.join(" ")
        };
        rows.push([
            p.uid.to_string(),
            p.pid.to_string(),
            p.ppid.to_string(),
            "0".into(),
            start_time(p.start_time / 1_000_000_000, now),
            if p.tty { "pts/0".into() } else { "?".into() },
            cpu_time(p.cpu_time / 1_000_000_000),
            cmd,
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in &rows {
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            // Numbers are right-aligned, as ps does.
            if (1..=3).contains(&i) {
                out.push_str(&format!("{cell:>w$} "));
            } else {
                out.push_str(&format!("{cell:<w$} "));
            }
        }
        out.push_str(&row[7]);
        out.push('\n');
    }
    out
}

/// `HH:MM` for today (UTC), `MonDD` before.
fn start_time(secs: u64, now: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day = secs / 86_400;
    if day == now / 86_400 {
        let s = secs % 86_400;
        return format!("{:02}:{:02}", s / 3600, s % 3600 / 60);
    }
    let (_, month, mday) = civil_from_days(day as i64);
    format!("{}{:02}", MONTHS[(month - 1) as usize], mday)
}

/// Year, month and day of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `HH:MM:SS` of CPU time.
fn cpu_time(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: i32, args: &[&str]) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid: if pid == 1 { 0 } else { 1 },
            pgid: 1,
            sid: 1,
            uid: 0,
            state: 'S',
            threads: 1,
            start_time: 1_700_000_000_000_000_000,
            cpu_time: 3_723_000_000_000,
            tty: pid == 1,
            name: "sh".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn table_has_the_ps_ef_columns() {
        let now = 1_700_000_000 + 60;
        let text = table(
            &[process(1, &["sh", "-c", "sleep 9"]), process(12, &[])],
            now,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "UID PID PPID C STIME TTY   TIME     CMD");
        assert_eq!(
            lines[1],
            "0     1    0 0 22:13 pts/0 01:02:03 sh -c sleep 9"
        );
        assert_eq!(lines[2], "0    12    1 0 22:13 ?     01:02:03 [sh]");
    }

    #[test]
    fn older_start_times_show_the_date() {
        assert_eq!(start_time(0, 86_400 * 3), "Jan01");
        assert_eq!(start_time(1_700_000_000, 1_800_000_000), "Nov14");
        assert_eq!(cpu_time(59), "00:00:59");
    }
}
