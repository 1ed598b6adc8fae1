//! Summary statistics printed next to each histogram, so a figure can be checked as numbers.

use serde::Serialize;

/// Mean, standard deviation, extremes and the share of exact zeros of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Number of values.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Share of values that are exactly 0.
    pub zero_share: f64,
}

/// The summary of `values` (all zeros for an empty slice).
pub fn summarize(values: &[f32]) -> Summary {
    let count = values.len();
    if count == 0 {
        return Summary {
            count,
            mean: 0.0,
            std: 0.0,
            min: 0.0,
            max: 0.0,
            zero_share: 0.0,
        };
    }
    let n = count as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let variance = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        });
    let zeros = values.iter().filter(|&&v| v == 0.0).count();
    Summary {
        count,
        mean,
        std: variance.sqrt(),
        min,
        max,
        zero_share: zeros as f64 / n,
    }
}
