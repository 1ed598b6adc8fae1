//! How many runs per group a comparison needs: the planning figure of an undecided pair, from
//! the difference and spread observed so far, by the normal approximation (a rough figure: the
//! observed difference is itself uncertain; the sequential sweep decides with error control).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
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
    runs_for_power_within(power, target, MOST_RUNS)
}

/// [`runs_for_power`] up to `most` runs per group (a power that is costly to compute, such as
/// [`bootstrap_power`]'s, is asked at few sizes).
pub fn runs_for_power_within(
    power: impl Fn(f64) -> f64,
    target: f64,
    most: usize,
) -> Option<usize> {
    if !(target.is_finite() && 0.0 < target && target < 1.0) || most < 2 {
        return None;
    }
    let reaches = |n: usize| power(n as f64) >= target;
    if !reaches(most) {
        return None;
    }
    if reaches(2) {
        return Some(2);
    }
    // power(lo) < target <= power(hi).
    let (mut lo, mut hi) = (2, most);
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

/// The runs per group a rank test (Mann-Whitney's) at two-sided level `alpha` needs for power
/// `power` when the chance that a run of one group beats a run of the other is
/// `probability` (P(A > B)): Noether's (1987) closed form with equal groups,
/// `(z_(1 - alpha/2) + z_power)^2 / (6 (P - 1/2)^2)`, rounded up. `None` at P = 1/2 (no
/// difference to find) or for arguments outside their ranges.
pub fn rank_runs_for_power(probability: f64, alpha: f64, power: f64) -> Option<usize> {
    let usable = (0.0..=1.0).contains(&probability)
        && probability != 0.5
        && 0.0 < alpha
        && alpha < 1.0
        && 0.0 < power
        && power < 1.0;
    if !usable {
        return None;
    }
    let normal = Normal::standard();
    let z = normal.inverse_cdf(1.0 - alpha / 2.0) + normal.inverse_cdf(power);
    let n = (z * z / (6.0 * (probability - 0.5).powi(2))).ceil();
    Some((n as usize).max(2))
}

/// A bootstrap power analysis, as deepsig's `bootstrap_power_analysis` makes one (there for a
/// sample against a lifted copy of itself, here for two observed groups): the share of `reps`
/// experiments of `n` runs per group, each group's runs drawn with replacement from its
/// observed ones (a ChaCha8 stream from `seed`), in which `decides` decides. `None` for an
/// empty group, `n` below 2 or no repetition.
pub fn bootstrap_power(
    a: &[f64],
    b: &[f64],
    n: usize,
    reps: usize,
    seed: u64,
    decides: impl Fn(&[f64], &[f64]) -> bool,
) -> Option<f64> {
    if a.is_empty() || b.is_empty() || n < 2 || reps == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw =
        |x: &[f64]| -> Vec<f64> { (0..n).map(|_| x[rng.random_range(0..x.len())]).collect() };
    let decided = (0..reps)
        .filter(|_| {
            let (ra, rb) = (draw(a), draw(b));
            decides(&ra, &rb)
        })
        .count();
    Some(decided as f64 / reps as f64)
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

    #[test]
    fn noethers_runs_grow_as_the_chance_of_beating_nears_a_half() {
        // (1.95996 + 0.84162)^2 / (6 0.2^2) = 32.7: 33 runs a group at P(A > B) = 0.7.
        assert_eq!(rank_runs_for_power(0.7, 0.05, 0.8), Some(33));
        assert_eq!(rank_runs_for_power(0.3, 0.05, 0.8), Some(33));
        assert!(rank_runs_for_power(0.6, 0.05, 0.8).unwrap() > 100);
        assert_eq!(rank_runs_for_power(0.5, 0.05, 0.8), None);
        assert_eq!(rank_runs_for_power(1.2, 0.05, 0.8), None);
    }

    #[test]
    fn bootstrap_power_follows_the_normal_power_for_normal_groups() {
        use rand_distr::Distribution;
        // Two large normal groups one sd apart: resampling them is close to drawing from the
        // normals, and a z test's power at 16 runs is 0.8 (see above).
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let normal = rand_distr::Normal::new(0.0, 1.0).unwrap();
        let a: Vec<f64> = (0..2000).map(|_| normal.sample(&mut rng)).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 1.0).collect();
        let welch_decides = |x: &[f64], y: &[f64]| crate::welch(x, y).is_some_and(|w| w.p < 0.05);
        let power = bootstrap_power(&a, &b, 16, 2000, 1, welch_decides).unwrap();
        // t's heavier tails at 30 degrees of freedom cost about 0.02 against the z test.
        assert!((power - 0.78).abs() < 0.04, "{power}");
        // Identical groups are decided only at the test's level.
        let null = bootstrap_power(&a, &a, 16, 2000, 2, welch_decides).unwrap();
        assert!(null < 0.08, "{null}");
        assert_eq!(bootstrap_power(&a, &[], 16, 10, 0, welch_decides), None);
    }
}
