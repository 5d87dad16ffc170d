//! `events`: the container's resource usage as runc reports it, one JSON
//! object per line: `{"type":"stats","id":ID,"data":{...}}` with the
//! sandbox kernel's numbers (memory in use, tasks, CPU time). With
//! `--stats` once; otherwise every `--interval` until the container stops.

use super::{live_sandbox, print};
use crate::cli::events::Events;
use crate::cli::GlobalOpts;
use crate::container::State;
use crate::sandbox::client::unexpected;
use sentry::control::protocol::{Reply, Request, Stats};
use serde_json::{json, Value};

pub fn events(global: &GlobalOpts, args: Events) -> anyhow::Result<()> {
    let id = &args.container_id;
    let (state, mut client) = live_sandbox(global, id, "report the events of")?;
    let limits = Limits::of(&state);
    loop {
        let stats = match client.call(&Request::Stats, &[]) {
            Ok(Reply::Stats(s)) => s,
            Ok(r) => return Err(unexpected("stats", &r)),
            // The sandbox went away: the container stopped.
            Err(_) if !args.stats && !state.sandbox_alive() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        print(&format!("{}\n", event(id, &stats, &limits)))?;
        if args.stats {
            return Ok(());
        }
        std::thread::sleep(args.interval.max(std::time::Duration::from_millis(100)));
        if !state.sandbox_alive() {
            return Ok(());
        }
    }
}

/// The limits the spec sets, reported beside the usage.
#[derive(Default)]
struct Limits {
    memory: Option<i64>,
    pids: Option<i64>,
}

impl Limits {
    fn of(state: &State) -> Limits {
        let Ok(bundle) = specutils::Bundle::load(&state.bundle) else {
            return Limits::default();
        };
        let r = bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().clone());
        Limits {
            memory: r
                .as_ref()
                .and_then(|r| r.memory().as_ref())
                .and_then(|m| m.limit()),
            pids: r
                .as_ref()
                .and_then(|r| r.pids().as_ref())
                .map(|p| p.limit()),
        }
    }
}

/// One stats event, shaped as runc's (`libcontainer/types` Stats).
fn event(id: &str, s: &Stats, limits: &Limits) -> Value {
    let unlimited = u64::MAX;
    let cpu_total = s.cpu_user + s.cpu_system;
    json!({
        "type": "stats",
        "id": id,
        "data": {
            "cpu": {
                "usage": {
                    "total": cpu_total,
                    "kernel": s.cpu_system,
                    "user": s.cpu_user,
                },
                "throttling": {},
            },
            "memory": {
                "usage": {
                    "usage": s.memory_usage,
                    "limit": limits.memory.map_or(unlimited, |l| l.max(0) as u64),
                    "max": s.memory_usage,
                    "failcnt": 0,
                },
                "swap": { "limit": 0 },
                "kernel": { "limit": 0 },
                "kernelTCP": { "limit": 0 },
                "raw": {},
            },
            "pids": {
                "current": s.pids,
                "limit": limits.pids.map_or(0, |l| l.max(0) as u64),
            },
            "blkio": {},
            "hugetlb": {},
            "intel_rdt": {},
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_has_runcs_shape() {
        let s = Stats {
            memory_usage: 4096,
            pids: 3,
            processes: 2,
            cpu_user: 10,
            cpu_system: 5,
        };
        let e = event(
            "web",
            &s,
            &Limits {
                memory: Some(1 << 20),
                pids: None,
            },
        );
        assert_eq!(e["type"], "stats");
        assert_eq!(e["id"], "web");
        assert_eq!(e["data"]["memory"]["usage"]["usage"], 4096);
        assert_eq!(e["data"]["memory"]["usage"]["limit"], 1 << 20);
        assert_eq!(e["data"]["pids"]["current"], 3);
        assert_eq!(e["data"]["cpu"]["usage"]["total"], 15);
    }
}
