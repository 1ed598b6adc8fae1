//! The design's error rates measured on drawn runs: many simulated experiments, each group's
//! runs drawn with replacement from a source (a function's committed runs) and shifted by a
//! chosen number of points, decided by the same [`Decider`] a real sweep is decided by, or by
//! the fixed-size report's rule on a fixed number of seeds for comparison.

use actfn_stats::{Decision, decide_pairs_among};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Decider, SequentialSettings};
use crate::report::mixture;

/// What the simulated groups are: group `g`'s runs are drawn from `sources[g]` (test accuracy
/// in percent), each plus `shifts[g]` points. Groups of one source and one shift are truly
/// equal; the true difference of two groups is that of their sources' means plus the shifts'.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Each group's source runs.
    pub sources: Vec<Vec<f64>>,
    /// Each group's shift, in points.
    pub shifts: Vec<f64>,
}

impl Scenario {
    /// The true difference of groups `i` and `j`, in points.
    fn difference(&self, i: usize, j: usize) -> f64 {
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len().max(1) as f64;
        mean(&self.sources[i]) + self.shifts[i] - mean(&self.sources[j]) - self.shifts[j]
    }

    /// Whether groups `i` and `j` are drawn alike (a null pair).
    fn alike(&self, i: usize, j: usize) -> bool {
        self.sources[i] == self.sources[j] && self.shifts[i] == self.shifts[j]
    }
}

/// How the simulated experiments decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Design {
    /// The sequential design of the settings.
    Sequential,
    /// This many seeds a group, decided once at the full level (the fixed-size report's rule).
    Fixed(usize),
}

/// What the simulated experiments decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated {
    /// Experiments run.
    pub experiments: usize,
    /// Share of experiments with any pair of alike groups called different.
    pub false_different: f64,
    /// Share of experiments with any pair at least the margin apart called equal.
    pub false_equal: f64,
    /// Per pair of the settings' comparisons: the share of experiments that called it
    /// different, and equal.
    pub pairs: Vec<(f64, f64)>,
    /// Runs per experiment, on average over the experiments.
    pub mean_runs: f64,
}

/// Runs `experiments` experiments of `scenario` (one group per source; the settings give the
/// comparisons, the margin and the sequential design) decided by `design`, drawn from a
/// ChaCha8 stream from `seed`.
pub fn simulate(
    settings: &SequentialSettings,
    scenario: &Scenario,
    design: Design,
    experiments: usize,
    seed: u64,
) -> Simulated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let groups = scenario.sources.len();
    let draw = |g: usize, n: usize, rng: &mut ChaCha8Rng| -> Vec<f64> {
        let source = &scenario.sources[g];
        (0..n)
            .map(|_| source[rng.random_range(0..source.len())] + scenario.shifts[g])
            .collect()
    };
    let pairs = settings.pairs();
    let mut called = vec![(0usize, 0usize); pairs.len()];
    let (mut false_different, mut false_equal, mut runs) = (0usize, 0usize, 0usize);
    for _ in 0..experiments {
        let decisions: Vec<Decision> = match design {
            Design::Sequential => {
                let mut decider = Decider::new(settings);
                for look in 1..=settings.looks() {
                    let seeds = settings.seeds_of_look(look);
                    let n = (seeds.end - seeds.start) as usize;
                    let added: Vec<(usize, Vec<f64>)> = decider
                        .wanted()
                        .into_iter()
                        .map(|g| (g, draw(g, n, &mut rng)))
                        .collect();
                    decider.look(&added);
                    if decider.all_decided() {
                        break;
                    }
                }
                runs += decider.runs();
                decider.comparisons().iter().map(|c| c.decision).collect()
            }
            Design::Fixed(n) => {
                let samples: Vec<Vec<f64>> = (0..groups).map(|g| draw(g, n, &mut rng)).collect();
                runs += n * groups;
                let views: Vec<&[f64]> = samples.iter().map(Vec::as_slice).collect();
                decide_pairs_among(&views, &pairs, settings.margin, settings.alpha, mixture)
                    .iter()
                    .map(|d| d.decision)
                    .collect()
            }
        };
        let (mut any_different, mut any_equal) = (false, false);
        for (k, (&(i, j), decision)) in pairs.iter().zip(&decisions).enumerate() {
            match decision {
                Decision::Different => {
                    called[k].0 += 1;
                    any_different |= scenario.alike(i, j);
                }
                Decision::Equivalent => {
                    called[k].1 += 1;
                    any_equal |= scenario.difference(i, j).abs() >= settings.margin;
                }
                _ => {}
            }
        }
        false_different += usize::from(any_different);
        false_equal += usize::from(any_equal);
    }
    let share = |count: usize| count as f64 / experiments.max(1) as f64;
    Simulated {
        experiments,
        false_different: share(false_different),
        false_equal: share(false_equal),
        pairs: called
            .iter()
            .map(|&(different, equal)| (share(different), share(equal)))
            .collect(),
        mean_runs: share(runs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actfn_activations::Activation;

    /// The committed runs of one of the study's functions (its 10 seeds at patience 7).
    fn committed(act: &str) -> Vec<f64> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/results/study/runs.csv"
        );
        crate::report::read_runs_csv(std::path::Path::new(path))
            .unwrap()
            .iter()
            .filter(|r| r.act == act && r.patience == 7)
            .map(|r| 100.0 * r.test_acc)
            .collect()
    }

    /// Under the null (six groups drawn from ReLU's committed runs) the chance of any false
    /// "different" over the looks and the 15 pairs stays at or below 5% (2,000 experiments:
    /// the bound plus three Monte Carlo standard errors); a shift of half a point against a
    /// margin of 0.3 is never called equal, and found in most experiments with fewer runs
    /// than the fixed design's.
    #[test]
    fn the_family_wise_error_holds_on_the_committed_runs() {
        let relu = committed("relu");
        assert_eq!(relu.len(), 10);
        let settings = SequentialSettings::default();
        let experiments = 2000;
        let bound = 0.05 + 3.0 * (0.05_f64 * 0.95 / experiments as f64).sqrt();
        let null = Scenario {
            sources: vec![relu.clone(); 6],
            shifts: vec![0.0; 6],
        };
        let sequential = simulate(&settings, &null, Design::Sequential, experiments, 1);
        assert!(sequential.false_different <= bound, "{sequential:?}");
        assert_eq!(sequential.false_equal, 0.0);

        let mut two = SequentialSettings::default();
        two.sweep.axes.act_fn = vec![Activation::ReLU, Activation::Tanh];
        let shifted = Scenario {
            sources: vec![relu.clone(), relu],
            shifts: vec![0.0, 0.5],
        };
        let found = simulate(&two, &shifted, Design::Sequential, experiments, 2);
        let fixed = simulate(&two, &shifted, Design::Fixed(20), experiments, 3);
        assert_eq!(found.false_equal, 0.0);
        assert!(found.pairs[0].0 > 0.8, "{found:?}");
        assert!(found.mean_runs < fixed.mean_runs, "{found:?} {fixed:?}");
    }
}
