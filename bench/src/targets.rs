//! The speed goals of the project (issue 5), checked against the figures of
//! this run and printed under the table.

use crate::harness::{Cell, Row};
use crate::stats::slowdown;

/// What a figure is held against.
#[derive(Clone, Copy, Debug)]
pub enum Against {
    /// The median of the same row in another column, as a slowdown.
    Column(&'static str),
    /// The median itself, in the row's unit.
    Value,
}

/// A goal: at most `limit` for `row` in `column` (and in every column of
/// that name with a platform suffix, `runsc-do-systrap`).
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub what: &'static str,
    pub row: &'static str,
    pub column: &'static str,
    pub against: Against,
    pub limit: f64,
}

pub const TARGETS: &[Target] = &[
    Target {
        what: "syscall round trip",
        row: "syscall",
        column: "runsc-do",
        against: Against::Column("native"),
        limit: 10.0,
    },
    Target {
        what: "syscall round trip, libc getpid()",
        row: "getpid_libc",
        column: "runsc-do",
        against: Against::Column("native"),
        limit: 10.0,
    },
    Target {
        what: "clock_gettime",
        row: "clock_gettime",
        column: "runsc-do",
        against: Against::Column("native"),
        limit: 2.0,
    },
    Target {
        what: "start to exit of /bin/true",
        row: "start_true",
        column: "runsc-run",
        against: Against::Column("runc"),
        limit: 1.5,
    },
    Target {
        what: "idle sandbox RSS (MB)",
        row: "idle_memory",
        column: "runsc-do",
        against: Against::Value,
        limit: 20.0,
    },
    Target {
        what: "idle sandbox RSS (MB)",
        row: "idle_memory",
        column: "runsc-run",
        against: Against::Value,
        limit: 20.0,
    },
];

/// A target checked against this run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub what: String,
    pub column: String,
    /// The column `value` is a ratio to; `None` when it is a figure.
    pub against: Option<String>,
    pub limit: f64,
    /// `None` when a figure is missing (n/a, FAILED, not run).
    pub value: Option<f64>,
    pub met: Option<bool>,
}

/// Checks every target whose row was run.
pub fn check(rows: &[Row], column_ids: &[String]) -> Vec<Outcome> {
    let median = |row: &Row, id: &str| {
        let at = column_ids.iter().position(|c| c == id)?;
        match &row.cells[at] {
            Cell::Measured { median, .. } => Some(*median),
            _ => None,
        }
    };
    let mut outcomes = Vec::new();
    for target in TARGETS {
        let Some(row) = rows.iter().find(|r| r.metric.id == target.row) else {
            continue;
        };
        let columns = column_ids.iter().filter(|id| {
            id.as_str() == target.column
                || id
                    .strip_prefix(target.column)
                    .is_some_and(|rest| rest.starts_with('-'))
        });
        for column in columns {
            let value = median(row, column).and_then(|value| match target.against {
                Against::Value => Some(value),
                Against::Column(base) => slowdown(value, median(row, base)?, row.metric.better),
            });
            let against = match target.against {
                Against::Column(base) => Some(base.to_string()),
                Against::Value => None,
            };
            outcomes.push(Outcome {
                what: target.what.to_string(),
                column: column.clone(),
                against,
                limit: target.limit,
                value,
                met: value.map(|v| v <= target.limit),
            });
        }
    }
    outcomes
}

/// One line per outcome.
pub fn render(outcomes: &[Outcome]) -> String {
    use crate::table::{number, times};
    let mut out = String::new();
    for o in outcomes {
        let (figure, limit, of) = match &o.against {
            Some(base) => (
                o.value.map(times),
                times(o.limit),
                format!("{} / {base}", o.column),
            ),
            None => (o.value.map(number), number(o.limit), o.column.clone()),
        };
        let verdict = match o.met {
            Some(true) => "met",
            Some(false) => "not met",
            None => "not measured",
        };
        out.push_str(&format!(
            "  {:<28} {:<20} {:>7}  target <= {limit:<6} {verdict}\n",
            o.what,
            of,
            figure.unwrap_or_else(|| "n/a".to_string()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Better, Metric};

    fn row(id: &str, medians: &[Option<f64>]) -> Row {
        Row {
            metric: Metric {
                id: id.into(),
                title: id.into(),
                unit: "ns/op".into(),
                better: Better::Lower,
            },
            cells: medians
                .iter()
                .map(|m| match m {
                    Some(v) => Cell::Measured {
                        median: *v,
                        min: *v,
                        max: *v,
                        samples: vec![*v],
                        ratio: None,
                    },
                    None => Cell::NotApplicable { reason: "x".into() },
                })
                .collect(),
        }
    }

    #[test]
    fn checks_ratios_and_values_in_every_platform_column() {
        let ids: Vec<String> = [
            "native",
            "runc",
            "runsc-do",
            "runsc-do-systrap",
            "runsc-run",
        ]
        .map(String::from)
        .to_vec();
        let rows = vec![
            row(
                "syscall",
                &[Some(100.0), None, Some(5000.0), Some(400.0), None],
            ),
            row(
                "start_true",
                &[Some(1.0), Some(40.0), Some(15.0), None, None],
            ),
        ];
        let outcomes = check(&rows, &ids);
        let syscall: Vec<_> = outcomes
            .iter()
            .filter(|o| o.what.contains("syscall"))
            .collect();
        assert_eq!(syscall.len(), 2);
        assert_eq!(
            (syscall[0].value, syscall[0].met),
            (Some(50.0), Some(false))
        );
        assert_eq!(syscall[1].column, "runsc-do-systrap");
        assert_eq!((syscall[1].value, syscall[1].met), (Some(4.0), Some(true)));
        let start = outcomes.iter().find(|o| o.what.contains("start")).unwrap();
        assert_eq!((start.value, start.met), (None, None));
        // Rows that were not run have no outcome.
        assert!(!outcomes.iter().any(|o| o.what.contains("RSS")));
        let text = render(&outcomes);
        assert!(text.contains("runsc-do / native"), "{text}");
        assert!(text.contains("50.0x  target <= 10.0x  not met"), "{text}");
        assert!(text.contains("not measured"));
    }
}
