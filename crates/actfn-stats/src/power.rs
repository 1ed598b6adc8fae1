//! How many runs per group a comparison needs: the planning figure of an undecided pair, from
//! the difference and spread observed so far, by the normal approximation (a rough figure: the
//! observed difference is itself uncertain; the sequential sweep decides with error control).

use statrs::distribution::{ContinuousCDF, Normal};

/// The fewest runs per group past which the search gives up.
pub const MOST_RUNS: usize = 100_000;

/// The power of a two-sided two-sample z test at level `alpha` with `n` runs per group, for a
/// true difference `difference` and a per-run standard deviation `sd` (statsmodels'
/// `NormalIndPower().power(difference / sd, n, alpha)`, both tails).
pub fn difference_power(difference: f64, sd: f64, n: f64, alpha: f64) -> f64 {
    let normal = Normal::standard();
    let z = normal.inverse_cdf(1.0 - alpha / 2.0);
    let shift = difference.abs() / (sd * (2.0 / n).sqrt());
    normal.cdf(shift - z) + normal.cdf(-shift - z)
}

/// The power of two one-sided z tests at level `alpha` to find two groups equal within
/// `± margin`, with `n` runs per group, a true difference `difference` and a per-run standard
/// deviation `sd`: the chance that the estimate lands within `margin - z se` of 0.
pub fn equivalence_power(difference: f64, sd: f64, margin: f64, n: f64, alpha: f64) -> f64 {
    let normal = Normal::standard();
    let z = normal.inverse_cdf(1.0 - alpha);
    let se = sd * (2.0 / n).sqrt();
    let reach = margin - z * se;
    if reach <= 0.0 {
        return 0.0;
    }
    (normal.cdf((reach - difference) / se) - normal.cdf((-reach - difference) / se)).max(0.0)
}

/// The fewest runs per group (at least 2) at which `power(n)` reaches `target`; `None` past
/// [`MOST_RUNS`] or when an argument is not finite. Both powers grow with `n`.
pub fn runs_for_power(power: impl Fn(f64) -> f64, target: f64) -> Option<usize> {
    if !(target.is_finite() && 0.0 < target && target < 1.0) {
        return None;
    }
    let reaches = |n: usize| power(n as f64) >= target;
    if !reaches(MOST_RUNS) {
        return None;
    }
    if reaches(2) {
        return Some(2);
    }
    // power(lo) < target <= power(hi).
    let (mut lo, mut hi) = (2, MOST_RUNS);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_sd_difference_needs_16_runs_for_80_percent() {
        // The textbook figure: 2 (1.96 + 0.84)^2 = 15.7, rounded up.
        let n = runs_for_power(|n| difference_power(1.0, 1.0, n, 0.05), 0.8).unwrap();
        assert_eq!(n, 16);
        assert_eq!(
            runs_for_power(|n| difference_power(0.0, 1.0, n, 0.05), 0.8),
            None
        );
        // A true difference at the margin is never shown equivalent.
        assert_eq!(
            runs_for_power(|n| equivalence_power(0.3, 0.5, 0.3, n, 0.05), 0.8),
            None
        );
        assert!(runs_for_power(|n| equivalence_power(0.0, 0.5, 0.3, n, 0.05), 0.8).is_some());
    }
}
