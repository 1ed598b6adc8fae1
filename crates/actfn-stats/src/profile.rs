//! Performance profiles (rliable's): the share of a group's runs that score above each
//! threshold, a curve that shows a whole distribution where a mean shows one number (a group
//! whose runs train only sometimes reads as a step, not as a middling mean).

use crate::{Bootstrap, Interval, Method};

/// A group's performance profile at some thresholds, with a bootstrap band.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The thresholds, as given.
    pub thresholds: Vec<f64>,
    /// The share of runs above each threshold.
    pub share: Vec<f64>,
    /// The share's 95% percentile-bootstrap interval at each threshold (the runs resampled).
    pub band: Vec<Interval>,
}

/// The share of `values` strictly above `threshold` (rliable's `create_performance_profile`).
pub fn share_above(values: &[f64], threshold: f64) -> f64 {
    values.iter().filter(|&&v| v > threshold).count() as f64 / values.len() as f64
}

/// The performance profile of `values` at `thresholds`, with `bootstrap`'s percentile band.
/// `None` when `values` is empty, a value or a threshold is not finite, or `bootstrap.reps` is
/// 0.
pub fn performance_profile(
    values: &[f64],
    thresholds: &[f64],
    bootstrap: &Bootstrap,
) -> Option<Profile> {
    if thresholds.iter().any(|t| !t.is_finite()) {
        return None;
    }
    let band = thresholds
        .iter()
        .map(|&t| {
            bootstrap.interval(
                &[values],
                |s: &[&[f64]]| share_above(s[0], t),
                Method::Percentile,
            )
        })
        .collect::<Option<Vec<Interval>>>()?;
    Some(Profile {
        thresholds: thresholds.to_vec(),
        share: thresholds.iter().map(|&t| share_above(values, t)).collect(),
        band,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bimodal_group_reads_as_a_step_within_0_and_1() {
        let runs = [10.0, 10.0, 10.0, 80.0, 81.0];
        let p = performance_profile(&runs, &[5.0, 50.0, 90.0], &Bootstrap::default()).unwrap();
        assert_eq!(p.share, [1.0, 0.4, 0.0]);
        for (s, b) in p.share.iter().zip(&p.band) {
            assert!(
                0.0 <= b.lo && b.lo <= *s && s <= &b.hi && b.hi <= 1.0,
                "{b:?}"
            );
        }
        assert!(performance_profile(&[], &[1.0], &Bootstrap::default()).is_none());
        assert!(performance_profile(&runs, &[f64::NAN], &Bootstrap::default()).is_none());
    }
}
