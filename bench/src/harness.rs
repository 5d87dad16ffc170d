//! Runs a workload in every column, several times, and turns the runs into
//! the cells of its rows.

use crate::runtime::{Kind, Runtime, Status};
use crate::stats::{slowdown, Summary};
use crate::workload::{CapState, Context, Metric, RunError, Workload};

/// One cell of the table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "status")]
pub enum Cell {
    /// Every run succeeded.
    #[serde(rename = "ok")]
    Measured {
        median: f64,
        min: f64,
        max: f64,
        samples: Vec<f64>,
        /// How many times slower than native (see [`slowdown`]); absent
        /// natively or when native has no figure.
        #[serde(skip_serializing_if = "Option::is_none")]
        ratio: Option<f64>,
    },
    /// The column cannot run this (yet).
    #[serde(rename = "n/a")]
    NotApplicable { reason: String },
    /// A run failed or timed out: no figure, whatever the other runs gave.
    #[serde(rename = "failed")]
    Failed { reason: String },
}

impl Cell {
    pub fn median(&self) -> Option<f64> {
        match self {
            Cell::Measured { median, .. } => Some(*median),
            _ => None,
        }
    }
}

/// One row: a metric and its cell in each column, in column order.
#[derive(Clone, Debug)]
pub struct Row {
    pub metric: Metric,
    pub cells: Vec<Cell>,
}

/// The cell a workload gets in a column without running, if the column
/// cannot run it: the column is unusable, lacks a capability the workload
/// needs, or the workload means nothing there.
pub fn gate(workload: &dyn Workload, runtime: &Runtime) -> Option<Cell> {
    let caps = match &runtime.status {
        Status::Unavailable(reason) => {
            return Some(Cell::NotApplicable {
                reason: reason.clone(),
            })
        }
        Status::Broken(reason) => {
            return Some(Cell::Failed {
                reason: reason.clone(),
            })
        }
        Status::Ready(caps) => caps,
    };
    for need in workload.needs() {
        match caps.get(need) {
            Some(CapState::Missing(why)) => {
                return Some(Cell::NotApplicable {
                    reason: format!("no {}: {why}", need.name()),
                })
            }
            Some(CapState::Broken(why)) => {
                return Some(Cell::Failed {
                    reason: format!("{} is broken: {why}", need.name()),
                })
            }
            Some(CapState::Ok) | None => {}
        }
    }
    workload
        .not_applicable(runtime)
        .map(|reason| Cell::NotApplicable { reason })
}

/// Runs `workload` `runs` times in each column, the columns taking turns
/// so that a change in the machine's load touches them all alike. A
/// column stops at its first failed run.
pub fn measure(
    cx: &Context,
    workload: &dyn Workload,
    runtimes: &[Runtime],
    runs: usize,
) -> Vec<Row> {
    let metrics = workload.metrics();
    let gates: Vec<Option<Cell>> = runtimes.iter().map(|r| gate(workload, r)).collect();
    let mut samples = vec![vec![Vec::new(); metrics.len()]; runtimes.len()];
    let mut errors: Vec<Option<RunError>> = vec![None; runtimes.len()];
    for _ in 0..runs {
        for (column, runtime) in runtimes.iter().enumerate() {
            if gates[column].is_some() || errors[column].is_some() {
                continue;
            }
            match workload.run_once(cx, runtime) {
                Ok(values) if values.len() == metrics.len() => {
                    for (metric, value) in values.into_iter().enumerate() {
                        samples[column][metric].push(value);
                    }
                }
                Ok(values) => {
                    errors[column] = Some(RunError::Failed(format!(
                        "{} figures for {} metrics",
                        values.len(),
                        metrics.len()
                    )))
                }
                Err(err) => errors[column] = Some(err),
            }
        }
    }
    metrics
        .into_iter()
        .enumerate()
        .map(|(m, metric)| {
            let cells = (0..runtimes.len())
                .map(|column| {
                    if let Some(cell) = &gates[column] {
                        return cell.clone();
                    }
                    match &errors[column] {
                        Some(RunError::Unsupported(reason)) => Cell::NotApplicable {
                            reason: reason.clone(),
                        },
                        Some(err) => Cell::Failed {
                            reason: err.to_string(),
                        },
                        None => measured(&samples[column][m]),
                    }
                })
                .collect();
            let mut row = Row { metric, cells };
            add_ratios(&mut row, runtimes);
            row
        })
        .collect()
}

fn measured(samples: &[f64]) -> Cell {
    match Summary::of(samples) {
        Some(s) => Cell::Measured {
            median: s.median,
            min: s.min,
            max: s.max,
            samples: samples.to_vec(),
            ratio: None,
        },
        None => Cell::Failed {
            reason: "no runs".into(),
        },
    }
}

/// Fills in each non-native cell's ratio to the native median.
fn add_ratios(row: &mut Row, runtimes: &[Runtime]) {
    let native = runtimes
        .iter()
        .position(|r| r.kind == Kind::Native)
        .and_then(|n| row.cells[n].median());
    let Some(native) = native else {
        return;
    };
    for (cell, runtime) in row.cells.iter_mut().zip(runtimes) {
        if let (Cell::Measured { median, ratio, .. }, false) = (cell, runtime.kind == Kind::Native)
        {
            *ratio = slowdown(*median, native, row.metric.better);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Better, Cap};
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Returns the values it is given, one per run, in every column.
    struct Scripted {
        values: Vec<Result<f64, RunError>>,
        next: AtomicUsize,
        needs: Vec<Cap>,
    }

    impl Workload for Scripted {
        fn metrics(&self) -> Vec<Metric> {
            vec![Metric {
                id: "t".into(),
                title: "test".into(),
                unit: "ms".into(),
                better: Better::Lower,
            }]
        }
        fn needs(&self) -> &[Cap] {
            &self.needs
        }
        fn run_once(&self, _: &Context, _: &Runtime) -> Result<Vec<f64>, RunError> {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            self.values[i % self.values.len()].clone().map(|v| vec![v])
        }
    }

    fn context() -> Context {
        Context {
            work: PathBuf::from("/nonexistent"),
            scratch: PathBuf::from("/nonexistent/run"),
            rootfs: PathBuf::from("/nonexistent/run/rootfs"),
            host_binds: Vec::new(),
            target_ms: 1,
            timeout: Duration::from_secs(1),
            quick: true,
        }
    }

    fn scripted(values: Vec<Result<f64, RunError>>, needs: Vec<Cap>) -> Scripted {
        Scripted {
            values,
            next: AtomicUsize::new(0),
            needs,
        }
    }

    #[test]
    fn one_failed_run_fails_the_cell() {
        let cx = context();
        let w = scripted(
            vec![
                Ok(1.0),
                Err(RunError::TimedOut(Duration::from_secs(9))),
                Ok(2.0),
            ],
            vec![],
        );
        let rows = measure(&cx, &w, &[Runtime::native()], 3);
        assert_eq!(
            rows[0].cells[0],
            Cell::Failed {
                reason: "timed out after 9s".into()
            }
        );
    }

    #[test]
    fn a_missing_capability_is_not_applicable_and_never_runs() {
        let cx = context();
        let mut runtime = Runtime::native();
        let mut caps = BTreeMap::new();
        caps.insert(Cap::Pipe, CapState::Missing("pipe2: ENOSYS".into()));
        runtime.status = Status::Ready(caps);
        let w = scripted(vec![Ok(1.0)], vec![Cap::Pipe]);
        let rows = measure(&cx, &w, &[runtime], 3);
        assert_eq!(
            rows[0].cells[0],
            Cell::NotApplicable {
                reason: "no pipe: pipe2: ENOSYS".into()
            }
        );
        assert_eq!(w.next.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn ratios_are_to_the_native_median() {
        let cx = context();
        let mut slow = Runtime::native();
        slow.kind = Kind::RunscDo;
        // The columns take turns: native gets 1, 2, 3 and the other 10, 20, 30.
        let w = scripted(
            vec![Ok(1.0), Ok(10.0), Ok(2.0), Ok(20.0), Ok(3.0), Ok(30.0)],
            vec![],
        );
        let rows = measure(&cx, &w, &[Runtime::native(), slow], 3);
        assert_eq!(rows[0].cells[0].median(), Some(2.0));
        match &rows[0].cells[1] {
            Cell::Measured {
                median,
                min,
                max,
                ratio,
                samples,
            } => {
                assert_eq!((*median, *min, *max), (20.0, 10.0, 30.0));
                assert_eq!(samples, &[10.0, 20.0, 30.0]);
                assert_eq!(*ratio, Some(10.0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unusable_column_gives_its_reason() {
        let mut runtime = Runtime::native();
        runtime.status = Status::Unavailable("runsc run: not implemented yet".into());
        let w = scripted(vec![Ok(1.0)], vec![]);
        assert_eq!(
            gate(&w, &runtime),
            Some(Cell::NotApplicable {
                reason: "runsc run: not implemented yet".into()
            })
        );
        runtime.status = Status::Broken("the probe failed".into());
        assert!(matches!(gate(&w, &runtime), Some(Cell::Failed { .. })));
    }
}
