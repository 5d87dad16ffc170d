//! The table printed at the end: one row per metric, for each column the
//! median with [min-max] and, beside it, how many times slower than native.

use crate::harness::{Cell, Row};

/// A column as the table needs it.
pub struct Column<'a> {
    pub title: &'a str,
    pub native: bool,
}

/// Renders the rows, then numbered notes with why each FAILED cell failed.
pub fn render(columns: &[Column], rows: &[Row]) -> String {
    let mut header = vec!["workload".to_string(), "unit".to_string()];
    // Ratios are aligned on the right, the rest on the left.
    let mut right = vec![false, false];
    for column in columns {
        header.push(column.title.to_string());
        right.push(false);
        if !column.native {
            header.push("x native".to_string());
            right.push(true);
        }
    }
    let mut grid = vec![header];
    let mut notes = Vec::new();
    for row in rows {
        let mut line = vec![row.metric.title.clone(), row.metric.unit.clone()];
        for (cell, column) in row.cells.iter().zip(columns) {
            let (text, ratio) = match cell {
                Cell::Measured {
                    median,
                    min,
                    max,
                    ratio,
                    ..
                } => (
                    format!("{} [{}-{}]", number(*median), number(*min), number(*max)),
                    ratio.map(times).unwrap_or_default(),
                ),
                Cell::NotApplicable { reason } => (format!("n/a ({reason})"), String::new()),
                Cell::Failed { reason } => {
                    let number = note(&mut notes, column.title, &row.metric.id, reason);
                    (format!("FAILED [{number}]"), String::new())
                }
            };
            line.push(text);
            if !column.native {
                line.push(ratio);
            }
        }
        grid.push(line);
    }

    let widths: Vec<usize> = (0..grid[0].len())
        .map(|i| {
            grid.iter()
                .map(|line| line[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &grid {
        let mut text = String::new();
        for (i, (cell, width)) in line.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            if right[i] {
                text.push_str(&format!("{cell:>width$}"));
            } else {
                text.push_str(&format!("{cell:<width$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push('\n');
        for (number, note) in notes.iter().enumerate() {
            out.push_str(&format!(
                "[{}] {}, {}: {}\n",
                number + 1,
                note.column,
                note.rows.join(", "),
                note.reason
            ));
        }
    }
    out
}

/// Why cells of one column failed, with the rows that failed so.
struct Note {
    column: String,
    reason: String,
    rows: Vec<String>,
}

/// The number of the note for this column and reason, made if new.
fn note(notes: &mut Vec<Note>, column: &str, row: &str, reason: &str) -> usize {
    let at = notes
        .iter()
        .position(|n| n.column == column && n.reason == reason)
        .unwrap_or_else(|| {
            notes.push(Note {
                column: column.to_string(),
                reason: reason.to_string(),
                rows: Vec::new(),
            });
            notes.len() - 1
        });
    notes[at].rows.push(row.to_string());
    at + 1
}

/// A figure with three or four significant digits, no exponent.
pub fn number(x: f64) -> String {
    let size = x.abs();
    if size >= 100.0 {
        format!("{x:.0}")
    } else if size >= 10.0 {
        format!("{x:.1}")
    } else if size >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A ratio to native: "1.04x", "12.3x", "168x".
pub fn times(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{ratio:.0}x")
    } else if ratio >= 10.0 {
        format!("{ratio:.1}x")
    } else {
        format!("{ratio:.2}x")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Better, Metric};

    fn row(id: &str, unit: &str, cells: Vec<Cell>) -> Row {
        Row {
            metric: Metric {
                id: id.into(),
                title: format!("{id} title"),
                unit: unit.into(),
                better: Better::Lower,
            },
            cells,
        }
    }

    fn measured(median: f64, min: f64, max: f64, ratio: Option<f64>) -> Cell {
        Cell::Measured {
            median,
            min,
            max,
            samples: vec![min, median, max],
            ratio,
        }
    }

    #[test]
    fn formats_numbers_and_ratios() {
        assert_eq!(number(34966.23), "34966");
        assert_eq!(number(207.68), "208");
        assert_eq!(number(41.33), "41.3");
        assert_eq!(number(4.3838), "4.38");
        assert_eq!(number(0.5), "0.500");
        assert_eq!(times(168.4), "168x");
        assert_eq!(times(12.34), "12.3x");
        assert_eq!(times(1.0), "1.00x");
    }

    #[test]
    fn lays_out_columns_and_explains_failures() {
        let columns = [
            Column {
                title: "native",
                native: true,
            },
            Column {
                title: "runc",
                native: false,
            },
            Column {
                title: "runsc do",
                native: false,
            },
        ];
        let rows = vec![
            row(
                "syscall",
                "ns/op",
                vec![
                    measured(208.0, 205.0, 214.0, None),
                    measured(210.0, 207.0, 215.0, Some(1.01)),
                    Cell::Failed {
                        reason: "exit status 1: wrong result".into(),
                    },
                ],
            ),
            row(
                "pipe",
                "MB/s",
                vec![
                    measured(3000.0, 2900.0, 3100.0, None),
                    Cell::NotApplicable {
                        reason: "runc not installed".into(),
                    },
                    measured(300.0, 290.0, 310.0, Some(10.0)),
                ],
            ),
        ];
        let text = render(&columns, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("workload"));
        assert!(lines[0].contains("native") && lines[0].contains("runsc do"));
        assert!(lines[1].contains("208 [205-214]"));
        assert!(lines[1].contains("210 [207-215]"));
        assert!(lines[1].contains("FAILED [1]"));
        assert!(lines[2].contains("n/a (runc not installed)"));
        assert!(lines[2].ends_with("300 [290-310]     10.0x"));
        // Figures start where their heading starts; ratios end where theirs
        // ends.
        let at = |line: &str, text: &str| line.find(text).unwrap();
        let end = |line: &str, text: &str| line.find(text).unwrap() + text.len();
        assert_eq!(at(lines[0], "runc"), at(lines[1], "210"));
        assert_eq!(at(lines[1], "210"), at(lines[2], "n/a"));
        assert_eq!(end(lines[0], "x native"), end(lines[1], "1.01x"));
        assert_eq!(lines[3], "");
        assert_eq!(
            lines[4],
            "[1] runsc do, syscall: exit status 1: wrong result"
        );
    }

    #[test]
    fn one_note_for_cells_that_failed_alike() {
        let columns = [
            Column {
                title: "native",
                native: true,
            },
            Column {
                title: "runsc do",
                native: false,
            },
        ];
        let broken = || Cell::Failed {
            reason: "the probe failed".into(),
        };
        let ok = || measured(1.0, 1.0, 1.0, None);
        let rows = vec![
            row("a", "ms", vec![ok(), broken()]),
            row("b", "ms", vec![ok(), broken()]),
        ];
        let text = render(&columns, &rows);
        assert_eq!(text.matches("FAILED [1]").count(), 2);
        assert!(text.ends_with("\n[1] runsc do, a, b: the probe failed\n"));
    }
}
