//! The figures of one cell: median, minimum and maximum of its runs, and
//! how they compare to native.

use crate::workload::Better;

/// Median, minimum and maximum of a cell's runs.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for no samples. The median of an even number of samples is
    /// the mean of the middle two.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Summary {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

/// How many times slower than native `value` is, whichever way the unit
/// goes: above 1 is slower (more ns/op, fewer MB/s), below 1 faster.
pub fn slowdown(value: f64, native: f64, better: Better) -> Option<f64> {
    let ratio = match better {
        Better::Lower => value / native,
        Better::Higher => native / value,
    };
    (ratio.is_finite() && ratio > 0.0).then_some(ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max_of_an_odd_count() {
        let s = Summary::of(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!(
            s,
            Summary {
                median: 3.0,
                min: 1.0,
                max: 5.0
            }
        );
    }

    #[test]
    fn median_of_an_even_count_is_the_middle_mean() {
        let s = Summary::of(&[10.0, 2.0, 4.0, 8.0]).unwrap();
        assert_eq!(s.median, 6.0);
        assert_eq!((s.min, s.max), (2.0, 10.0));
    }

    #[test]
    fn one_sample_and_none() {
        let s = Summary::of(&[7.5]).unwrap();
        assert_eq!((s.median, s.min, s.max), (7.5, 7.5, 7.5));
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn slowdown_reads_the_same_way_for_both_kinds_of_unit() {
        assert_eq!(slowdown(300.0, 100.0, Better::Lower), Some(3.0));
        assert_eq!(slowdown(100.0, 300.0, Better::Higher), Some(3.0));
        assert_eq!(slowdown(50.0, 100.0, Better::Lower), Some(0.5));
        assert_eq!(slowdown(1.0, 0.0, Better::Lower), None);
    }
}
