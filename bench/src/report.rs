//! The JSON file of results: everything the table shows, with every
//! sample, what each column could do, and where the figures come from.

use crate::harness::{Cell, Row};
use crate::runtime::{Runtime, Status};
use crate::targets::Outcome;
use crate::workload::{Better, CapState};
use serde::Serialize;
use std::collections::BTreeMap;

/// Bumped when the shape changes in a way readers must know about.
pub const SCHEMA: u32 = 1;

#[derive(Serialize)]
pub struct Report<'a> {
    pub schema: u32,
    /// Seconds since the epoch when the run began.
    pub started: u64,
    pub quick: bool,
    /// Runs behind each figure.
    pub runs: usize,
    /// How long each micro workload measured per run.
    pub target_ms: u64,
    pub host: Host,
    pub columns: Vec<ColumnReport>,
    pub rows: Vec<RowReport<'a>>,
    /// The project's speed goals, checked against these figures.
    pub targets: Vec<Outcome>,
}

#[derive(Serialize)]
pub struct Host {
    pub kernel: String,
    pub cpus: usize,
    /// /proc/loadavg when the run began: other work on the machine skews
    /// the figures.
    pub load_average: String,
    /// The workspace's commit, when it is a git checkout.
    pub commit: Option<String>,
}

#[derive(Serialize)]
pub struct ColumnReport {
    pub id: String,
    pub title: String,
    /// The runc or runsc binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// "ready", "n/a" or "failed".
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the probe found: "ok", "missing: ..." or "broken: ...".
    pub capabilities: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
pub struct RowReport<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub unit: &'a str,
    pub better: Better,
    /// By column id.
    pub cells: BTreeMap<&'a str, &'a Cell>,
}

impl ColumnReport {
    pub fn of(runtime: &Runtime) -> ColumnReport {
        let (status, reason, caps) = match &runtime.status {
            Status::Ready(caps) => ("ready", None, Some(caps)),
            Status::Unavailable(why) => ("n/a", Some(why.clone()), None),
            Status::Broken(why) => ("failed", Some(why.clone()), None),
        };
        let capabilities = caps
            .into_iter()
            .flatten()
            .map(|(cap, state)| {
                let state = match state {
                    CapState::Ok => "ok".to_string(),
                    CapState::Missing(why) => format!("missing: {why}"),
                    CapState::Broken(why) => format!("broken: {why}"),
                };
                (cap.name(), state)
            })
            .collect();
        ColumnReport {
            id: runtime.id.clone(),
            title: runtime.title.clone(),
            program: runtime.program().map(|p| p.display().to_string()),
            status,
            reason,
            capabilities,
        }
    }
}

/// The rows with their cells keyed by the id of their column.
pub fn rows<'a>(rows: &'a [Row], column_ids: &'a [String]) -> Vec<RowReport<'a>> {
    rows.iter()
        .map(|row| RowReport {
            id: &row.metric.id,
            title: &row.metric.title,
            unit: &row.metric.unit,
            better: row.metric.better,
            cells: column_ids
                .iter()
                .map(String::as_str)
                .zip(&row.cells)
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Metric;
    use serde_json::json;

    #[test]
    fn the_json_has_the_documented_shape() {
        let rows = vec![Row {
            metric: Metric {
                id: "syscall".into(),
                title: "syscall round trip (getpid)".into(),
                unit: "ns/op".into(),
                better: Better::Lower,
            },
            cells: vec![
                Cell::Measured {
                    median: 2.0,
                    min: 1.0,
                    max: 3.0,
                    samples: vec![1.0, 2.0, 3.0],
                    ratio: None,
                },
                Cell::Measured {
                    median: 20.0,
                    min: 10.0,
                    max: 30.0,
                    samples: vec![10.0, 20.0, 30.0],
                    ratio: Some(10.0),
                },
                Cell::NotApplicable {
                    reason: "not implemented yet".into(),
                },
                Cell::Failed {
                    reason: "timed out after 60s".into(),
                },
            ],
        }];
        let ids: Vec<String> = ["native", "runsc-do", "runsc-run", "runc"]
            .map(String::from)
            .to_vec();
        let native = ColumnReport::of(&Runtime::native());
        let report = Report {
            schema: SCHEMA,
            started: 1,
            quick: true,
            runs: 3,
            target_ms: 100,
            host: Host {
                kernel: "6.1".into(),
                cpus: 2,
                load_average: "0.00 0.00 0.00".into(),
                commit: None,
            },
            columns: vec![native],
            rows: super::rows(&rows, &ids),
            targets: Vec::new(),
        };
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["schema"], json!(1));
        assert_eq!(value["columns"][0]["id"], json!("native"));
        assert_eq!(value["columns"][0]["status"], json!("ready"));
        assert!(value["columns"][0].get("program").is_none());
        assert_eq!(value["targets"], json!([]));
        let row = &value["rows"][0];
        assert_eq!(row["id"], json!("syscall"));
        assert_eq!(row["unit"], json!("ns/op"));
        assert_eq!(row["better"], json!("lower"));
        assert_eq!(
            row["cells"]["native"],
            json!({"status": "ok", "median": 2.0, "min": 1.0, "max": 3.0, "samples": [1.0, 2.0, 3.0]})
        );
        assert_eq!(row["cells"]["runsc-do"]["ratio"], json!(10.0));
        assert_eq!(
            row["cells"]["runsc-run"],
            json!({"status": "n/a", "reason": "not implemented yet"})
        );
        assert_eq!(
            row["cells"]["runc"],
            json!({"status": "failed", "reason": "timed out after 60s"})
        );
    }
}
