//! Almost stochastic order (del Barrio et al. 2018; Dror et al. 2019), as deep-significance's
//! `aso` computes it: `epsilon_min`, an upper bound on how far the scores of A violate being
//! stochastically larger than those of B. Below 0.5 A is the better one; deepsig's README reads
//! below 0.2 as a confident "better".

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, Normal};

/// The settings of [`almost_stochastic_order`]. `Default` is deepsig's: 95% confidence, one
/// comparison, 1,000 bootstrap iterations, `dt = 0.005`, seed 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsoSettings {
    /// The confidence level of the bound.
    pub confidence: f64,
    /// Comparisons the bound is corrected for (over a matrix of pairs, as deepsig's
    /// `num_comparisons`: above 1, the level becomes `confidence + (1 - confidence) /
    /// comparisons`).
    pub comparisons: usize,
    /// Bootstrap iterations that estimate the violation ratio's spread.
    pub reps: usize,
    /// The step of the integral over quantile levels.
    pub dt: f64,
    /// Seed of the ChaCha8 stream the bootstrap draws from.
    pub seed: u64,
}

impl Default for AsoSettings {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            comparisons: 1,
            reps: 1000,
            dt: 0.005,
            seed: 0,
        }
    }
}

/// The empirical quantile of sorted scores at level `p`, as deepsig's `get_quantile_function`:
/// the `ceil(n p)`-th smallest (the first for `p = 0`).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let index = (sorted.len() as f64 * p).ceil() as i64 - 1;
    sorted[index.clamp(0, sorted.len() as i64 - 1) as usize]
}

/// The levels the integral runs over: NumPy's `arange(dt, 1, dt)`.
fn levels(dt: f64) -> impl Iterator<Item = f64> {
    let count = ((1.0 - dt) / dt).ceil().max(0.0) as usize;
    (0..count).map(move |i| dt + i as f64 * dt)
}

/// The violation ratio `e_W2` of sorted scores `a` against sorted `b`: the share of the squared
/// Wasserstein distance between their quantile functions where B's quantile is above A's
/// (deepsig's `compute_violation_ratio`, whose sum over the violations leaves out the first
/// level; 0.5 when the distance is 0).
pub fn violation_ratio(a: &[f64], b: &[f64], dt: f64) -> f64 {
    let (mut distance, mut violation) = (0.0, 0.0);
    for (i, t) in levels(dt).enumerate() {
        let (f, g) = (quantile(a, t), quantile(b, t));
        let diff = g - f;
        distance += diff * diff * dt;
        if f < g && i > 0 {
            violation += diff * diff * dt;
        }
    }
    if distance == 0.0 {
        0.5
    } else {
        violation / distance
    }
}

/// `epsilon_min` of A's scores against B's, in [0, 1]; `None` when a sample is empty, a value is
/// not finite, or a setting is out of range (`dt` in (0, 1), `confidence` in (0, 1), `reps` and
/// `comparisons` at least 1).
pub fn almost_stochastic_order(a: &[f64], b: &[f64], settings: &AsoSettings) -> Option<f64> {
    let s = settings;
    let usable = |x: &[f64]| !x.is_empty() && x.iter().all(|v| v.is_finite());
    let settings_ok = s.dt > 0.0
        && s.dt < 1.0
        && s.confidence > 0.0
        && s.confidence < 1.0
        && s.reps > 0
        && s.comparisons > 0;
    if !usable(a) || !usable(b) || !settings_ok {
        return None;
    }
    let sorted = |x: &[f64]| {
        let mut v = x.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    let ratio = violation_ratio(&a, &b, s.dt);
    // Each iteration draws as many scores as each sample has, through its quantile function.
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut draw = |x: &[f64]| {
        let mut v: Vec<f64> = (0..x.len())
            .map(|_| quantile(x, rng.random::<f64>()))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let constant = ((a.len() * b.len()) as f64 / (a.len() + b.len()) as f64).sqrt();
    let deviations: Vec<f64> = (0..s.reps)
        .map(|_| {
            let (ra, rb) = (draw(&a), draw(&b));
            constant * (violation_ratio(&ra, &rb, s.dt) - ratio)
        })
        .collect();
    // NumPy's std: the population standard deviation.
    let mean = deviations.iter().sum::<f64>() / deviations.len() as f64;
    let sigma = (deviations.iter().map(|d| (d - mean).powi(2)).sum::<f64>()
        / deviations.len() as f64)
        .sqrt();
    // deepsig's correction, applied only to more than one comparison.
    let confidence = if s.comparisons > 1 {
        s.confidence + (1.0 - s.confidence) / s.comparisons as f64
    } else {
        s.confidence
    };
    let z = Normal::standard().inverse_cdf(1.0 - confidence);
    Some((ratio - sigma * z / constant).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_that_always_wins_violates_nothing() {
        let better = [89.0, 89.2, 89.1, 88.9, 89.3];
        let worse = [87.0, 87.2, 87.1, 86.9, 87.3];
        let settings = AsoSettings::default();
        assert_eq!(
            almost_stochastic_order(&better, &worse, &settings),
            Some(0.0)
        );
        assert!(almost_stochastic_order(&worse, &better, &settings).unwrap() > 0.9);
        assert_eq!(violation_ratio(&[1.0], &[1.0], 0.005), 0.5);
        assert_eq!(almost_stochastic_order(&[], &worse, &settings), None);
        let bad = AsoSettings {
            dt: 0.0,
            ..settings
        };
        assert_eq!(almost_stochastic_order(&better, &worse, &bad), None);
    }
}
