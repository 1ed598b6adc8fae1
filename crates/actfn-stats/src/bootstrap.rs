//! Bootstrap intervals of any statistic of one or more samples, each sample resampled on its own
//! (stratified by group), percentile or BCa, as SciPy's `stats.bootstrap` computes them; seeded.
//!
//! An interval of resampled statistics never leaves the range the statistic can take (a mean's
//! stays between the sample's extremes, a share in [0, 1]), where a t interval over a bimodal
//! sample can reach below chance.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::Interval;

/// How a bootstrap resamples. `Default`: 10,000 resamples, seed 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootstrap {
    /// Resamples drawn.
    pub reps: usize,
    /// Seed of the ChaCha8 stream the resamples are drawn from.
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self {
            reps: 10_000,
            seed: 0,
        }
    }
}

/// How the interval is read from the resampled statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// Their quantiles.
    Percentile,
    /// Bias-corrected and accelerated (Efron 1987): the quantiles moved by the resamples' bias
    /// and by the jackknife's skewness.
    Bca,
}

impl Bootstrap {
    /// The 95% interval of `statistic` over `samples` (each resampled with replacement on its
    /// own), read by `method`. `None` when a sample is empty, a value is not finite, `reps` is 0,
    /// the statistic is not finite on the samples, or (BCa) the samples have no spread for the
    /// jackknife to measure.
    pub fn interval(
        &self,
        samples: &[&[f64]],
        statistic: impl Fn(&[&[f64]]) -> f64,
        method: Method,
    ) -> Option<Interval> {
        let usable = !samples.is_empty()
            && samples
                .iter()
                .all(|s| !s.is_empty() && s.iter().all(|v| v.is_finite()));
        if !usable || self.reps == 0 {
            return None;
        }
        let estimate = statistic(samples);
        if !estimate.is_finite() {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut buffers: Vec<Vec<f64>> = samples.iter().map(|s| vec![0.0; s.len()]).collect();
        let mut resampled = Vec::with_capacity(self.reps);
        for _ in 0..self.reps {
            for (buffer, sample) in buffers.iter_mut().zip(samples) {
                for slot in buffer.iter_mut() {
                    *slot = sample[rng.random_range(0..sample.len())];
                }
            }
            let views: Vec<&[f64]> = buffers.iter().map(Vec::as_slice).collect();
            resampled.push(statistic(&views));
        }
        if resampled.iter().any(|v| !v.is_finite()) {
            return None;
        }
        resampled.sort_by(f64::total_cmp);
        let (lo, hi) = match method {
            Method::Percentile => (0.025, 0.975),
            Method::Bca => bca_levels(samples, &statistic, estimate, &resampled)?,
        };
        Some(Interval {
            lo: percentile(&resampled, lo),
            hi: percentile(&resampled, hi),
        })
    }
}

/// The levels BCa reads the sorted resampled statistics at, for a 95% interval (SciPy's
/// `_bca_interval`): the bias `z0` from the share of resamples below the estimate (ties half),
/// the acceleration from each sample's jackknife.
fn bca_levels(
    samples: &[&[f64]],
    statistic: &impl Fn(&[&[f64]]) -> f64,
    estimate: f64,
    sorted: &[f64],
) -> Option<(f64, f64)> {
    let normal = Normal::standard();
    let below = sorted.iter().filter(|&&v| v < estimate).count();
    let at_most = sorted.iter().filter(|&&v| v <= estimate).count();
    let share = (below + at_most) as f64 / (2 * sorted.len()) as f64;
    let z0 = normal.inverse_cdf(share);
    // The acceleration: each sample left out one value at a time, the others whole.
    let (mut num, mut den) = (0.0, 0.0);
    for (j, sample) in samples.iter().enumerate() {
        let n = sample.len();
        if n < 2 {
            continue;
        }
        let mut jack = Vec::with_capacity(n);
        for i in 0..n {
            let left_out: Vec<f64> = sample
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != i)
                .map(|(_, v)| *v)
                .collect();
            let mut views: Vec<&[f64]> = samples.to_vec();
            views[j] = &left_out;
            jack.push(statistic(&views));
        }
        let mean = jack.iter().sum::<f64>() / n as f64;
        let nf = n as f64;
        let u: Vec<f64> = jack.iter().map(|t| (nf - 1.0) * (mean - t)).collect();
        num += u.iter().map(|v| v.powi(3)).sum::<f64>() / nf.powi(3);
        den += u.iter().map(|v| v.powi(2)).sum::<f64>() / nf.powi(2);
    }
    // Without spread the acceleration is 0 / 0: no BCa interval (SciPy's is NaN).
    if den <= 0.0 {
        return None;
    }
    let a = num / (6.0 * den.powf(1.5));
    let level = |z: f64| normal.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)));
    let z = normal.inverse_cdf(0.975);
    let (lo, hi) = (level(-z), level(z));
    // A bias beyond every resample (all on one side of the estimate) leaves no interval.
    (z0.is_finite() && lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// The `q` quantile of sorted values, interpolated linearly between order statistics (NumPy's
/// default, which SciPy's bootstrap uses).
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let weight = position - below as f64;
    sorted[below] + weight * (sorted[above] - sorted[below])
}

/// The mean of the first sample: a statistic for [`Bootstrap::interval`].
pub fn mean_of(samples: &[&[f64]]) -> f64 {
    let s = samples[0];
    s.iter().sum::<f64>() / s.len() as f64
}

/// The difference of the first two samples' means: a statistic for [`Bootstrap::interval`].
pub fn mean_difference(samples: &[&[f64]]) -> f64 {
    mean_of(&samples[..1]) - mean_of(&samples[1..2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bimodal_sample_keeps_its_interval_within_its_range() {
        // Sigmoid under patience 7: four runs at chance, one trained.
        let sigmoid = [10.0, 10.0, 10.0, 10.77, 79.43];
        for method in [Method::Percentile, Method::Bca] {
            let i = Bootstrap::default()
                .interval(&[&sigmoid], mean_of, method)
                .unwrap();
            assert!(
                i.lo >= 10.0 && i.hi <= 79.43 && i.lo < i.hi,
                "{method:?}: {i:?}"
            );
        }
        let t = crate::describe(&sigmoid).unwrap().ci95.unwrap();
        assert!(t.lo < 0.0, "the t interval reaches below 0: {t:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_interval_and_bad_input_none() {
        let a = [1.0, 2.0, 4.0, 8.0];
        let b = [0.5, 1.5, 2.5];
        let boot = Bootstrap { reps: 500, seed: 7 };
        let one = boot.interval(&[&a, &b], mean_difference, Method::Bca);
        assert_eq!(one, boot.interval(&[&a, &b], mean_difference, Method::Bca));
        assert!(one.is_some());
        assert_eq!(
            boot.interval(&[&a, &[]], mean_difference, Method::Bca),
            None
        );
        assert_eq!(
            boot.interval(&[&[f64::NAN]], mean_of, Method::Percentile),
            None
        );
        let none = Bootstrap { reps: 0, seed: 0 };
        assert_eq!(none.interval(&[&a], mean_of, Method::Percentile), None);
    }
}
