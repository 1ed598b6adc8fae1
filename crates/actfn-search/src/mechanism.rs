//! The mechanism study: across functions, does a measurement of the initial network (gradient
//! flow, dead units, the signal's spread) or of the function itself order them as their
//! accuracy does? Spearman's correlation of each measurement with accuracy, with its bootstrap
//! interval, and a cross-validated ranking by the best single measurement against the trivial
//! ranking (none).

use actfn_stats::{Bootstrap, Interval, spearman, spearman_interval};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One measurement of every function (NaN where a function has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// What it is, e.g. `log10 grad first/last`.
    pub name: String,
    /// Its value for each function, in the order of the accuracies.
    pub values: Vec<f64>,
}

/// How one measurement orders the functions against their accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    /// The measurement's name.
    pub measurement: String,
    /// The functions that have it.
    pub n: usize,
    /// Spearman's correlation with accuracy; `None` for fewer than 3 functions or no spread.
    pub rho: Option<f64>,
    /// Its 95% BCa bootstrap interval, the functions resampled.
    pub interval: Option<Interval>,
}

/// The pairs of a measurement and the accuracies where the measurement is finite.
fn complete(values: &[f64], accuracy: &[f64]) -> (Vec<f64>, Vec<f64>) {
    values
        .iter()
        .zip(accuracy)
        .filter(|(v, a)| v.is_finite() && a.is_finite())
        .map(|(&v, &a)| (v, a))
        .unzip()
}

/// Each measurement's Spearman correlation with `accuracy`, with its interval.
pub fn associations(
    measurements: &[Measurement],
    accuracy: &[f64],
    bootstrap: &Bootstrap,
) -> Vec<Association> {
    measurements
        .iter()
        .map(|m| {
            let (x, y) = complete(&m.values, accuracy);
            Association {
                measurement: m.name.clone(),
                n: x.len(),
                rho: spearman(&x, &y),
                interval: spearman_interval(&x, &y, bootstrap),
            }
        })
        .collect()
}

/// A cross-validated ranking: in each fold, the measurement (and sign) that correlates most
/// strongly with accuracy on the other folds ranks the fold's functions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Folds scored (each with at least 3 functions and a defined correlation).
    pub folds: usize,
    /// The mean over folds of Spearman's correlation between the ranking and the held-out
    /// accuracies: 0 is the trivial ranking's (no information), 1 a perfect ranking.
    pub held_out_rho: f64,
    /// The measurement each fold chose, with `-` where a smaller value predicts better.
    pub chosen: Vec<String>,
    /// The permutation test of "the ranking predicts better than none": the share of
    /// [`PERMUTATIONS`] shufflings of the accuracies (and the observed one) whose whole
    /// procedure, the choice of measurement included, reaches `held_out_rho`.
    pub p_value: f64,
}

/// Shufflings of the accuracies in [`Prediction::p_value`]'s test.
pub const PERMUTATIONS: usize = 999;

/// The held-out correlations of the folds of `order` and the measurement each chose.
fn held_out(
    measurements: &[Measurement],
    accuracy: &[f64],
    order: &[usize],
    folds: usize,
) -> (Vec<f64>, Vec<String>) {
    let (mut scores, mut chosen) = (Vec::new(), Vec::new());
    let pick = |indices: &[usize], values: &[f64]| -> Vec<f64> {
        indices.iter().map(|&i| values[i]).collect()
    };
    for fold in 0..folds {
        let held: Vec<usize> = order.iter().copied().skip(fold).step_by(folds).collect();
        let train: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| !held.contains(i))
            .collect();
        let best = measurements
            .iter()
            .filter_map(|m| {
                let (x, y) = complete(&pick(&train, &m.values), &pick(&train, accuracy));
                spearman(&x, &y).map(|rho| (m, rho))
            })
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
        let Some((m, rho)) = best else { continue };
        let sign = if rho < 0.0 { -1.0 } else { 1.0 };
        let predicted: Vec<f64> = pick(&held, &m.values).iter().map(|v| sign * v).collect();
        let (x, y) = complete(&predicted, &pick(&held, accuracy));
        if let Some(score) = spearman(&x, &y) {
            scores.push(score);
            chosen.push(format!("{}{}", if sign < 0.0 { "-" } else { "" }, m.name));
        }
    }
    (scores, chosen)
}

/// [`Prediction`] over `folds` folds drawn by the ChaCha generator seeded with `seed` (which
/// then draws the permutation test's shufflings); `None` when no fold could be scored (fewer
/// than 3 functions per fold).
pub fn cross_validated_ranking(
    measurements: &[Measurement],
    accuracy: &[f64],
    folds: usize,
    seed: u64,
) -> Option<Prediction> {
    let n = accuracy.len();
    let folds = folds.min(n / 3).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let mean = |scores: &[f64]| scores.iter().sum::<f64>() / scores.len() as f64;
    let (scores, chosen) = held_out(measurements, accuracy, &order, folds);
    if scores.is_empty() {
        return None;
    }
    let observed = mean(&scores);
    let mut shuffled = accuracy.to_vec();
    let reached = (0..PERMUTATIONS)
        .filter(|_| {
            shuffled.shuffle(&mut rng);
            let (scores, _) = held_out(measurements, &shuffled, &order, folds);
            !scores.is_empty() && mean(&scores) >= observed
        })
        .count();
    Some(Prediction {
        folds: scores.len(),
        held_out_rho: observed,
        chosen,
        p_value: (1 + reached) as f64 / (1 + PERMUTATIONS) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic functions whose accuracy falls with one measurement and ignores another: the
    /// study finds the first (negative, interval below 0), not the second, and the ranking by
    /// it predicts held-out functions.
    #[test]
    fn the_measurement_that_drives_accuracy_is_found_and_predicts() {
        let n = 30;
        let driver: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let noise: Vec<f64> = (0..n).map(|i| ((i * 7919) % 31) as f64).collect();
        let accuracy: Vec<f64> = (0..n)
            .map(|i| 90.0 - 2.0 * i as f64 + 0.5 * ((i * 13) % 5) as f64)
            .collect();
        let measurements = [
            Measurement {
                name: "driver".into(),
                values: driver,
            },
            Measurement {
                name: "noise".into(),
                values: noise,
            },
        ];
        let found = associations(&measurements, &accuracy, &Bootstrap::default());
        assert!(found[0].rho.unwrap() < -0.95);
        assert!(found[0].interval.unwrap().hi < 0.0);
        assert!(found[1].rho.unwrap().abs() < 0.5);
        let interval = found[1].interval.unwrap();
        assert!(interval.lo < 0.0 && interval.hi > 0.0);
        let prediction = cross_validated_ranking(&measurements, &accuracy, 5, 0).unwrap();
        assert_eq!(prediction.folds, 5);
        assert!(prediction.held_out_rho > 0.9, "{prediction:?}");
        // No shuffling of the accuracies predicts as well: the smallest p the test can give.
        assert_eq!(prediction.p_value, 1.0 / (1 + PERMUTATIONS) as f64);
        assert!(prediction.chosen.iter().all(|c| c == "-driver"));
        // A measurement missing for some functions is compared where it exists.
        let mut partial = measurements[0].clone();
        partial.values[3] = f64::NAN;
        assert_eq!(
            associations(&[partial], &accuracy, &Bootstrap::default())[0].n,
            n - 1
        );
    }

    /// Measurements unrelated to accuracy: the ranking's held-out skill is what chance gives,
    /// and the permutation test does not call it better than none.
    #[test]
    fn a_ranking_by_noise_is_not_called_predictive() {
        let n = 40;
        let accuracy: Vec<f64> = (0..n).map(|i| ((i * 7919) % 97) as f64).collect();
        let measurements: Vec<Measurement> = (0..4)
            .map(|k| Measurement {
                name: format!("noise {k}"),
                values: (0..n)
                    .map(|i| ((i * (31 + 10 * k) + 3 * k) % 53) as f64)
                    .collect(),
            })
            .collect();
        let prediction = cross_validated_ranking(&measurements, &accuracy, 5, 0).unwrap();
        assert!(prediction.p_value > 0.05, "{prediction:?}");
        assert!(prediction.held_out_rho < 0.5, "{prediction:?}");
    }
}
