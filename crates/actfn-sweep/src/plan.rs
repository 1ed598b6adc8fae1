//! How many seeds each comparison of a sweep needs, and what they would cost (`sweep plan`):
//! per pair, the runs per group at which it would be decided with 80% power, by a bootstrap
//! power analysis on the observed runs and by a closed form (the normal approximation for a
//! pair of normal groups, Noether's for the rank test of a mixture); per group, the runs its
//! open pairs want and their time, from the runs' own.

use actfn_activations::Activation;
use actfn_stats::{
    Bootstrap, Decision, PairTest, bootstrap_power, decide_pairs, probability_of_improvement,
    rank_runs_for_power, runs_for_power_within,
};

use crate::report::{GroupRuns, Inputs, POWER, groups, mixture, runs_to_decide};

/// How the plan is made. `Default`: 80% power, a margin of 0.3 points, every pair, 2,000
/// bootstrap experiments per sample size from seed 0, at most 100 runs per group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanSettings {
    /// The power a decision is wanted with.
    pub power: f64,
    /// Two groups are "equal" only within this many points (TOST).
    pub margin: f64,
    /// Plan each function's comparison with this one only (none: every pair).
    pub against: Option<Activation>,
    /// The bootstrap experiments per sample size, and their seed.
    pub bootstrap: Bootstrap,
    /// The most runs per group the plan looks at.
    pub most_runs: usize,
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self {
            power: POWER,
            margin: 0.3,
            against: None,
            bootstrap: Bootstrap {
                reps: 2000,
                seed: 0,
            },
            most_runs: 100,
        }
    }
}

/// A comparison's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PairPlan {
    /// The groups' labels.
    pub pair: (String, String),
    /// The test that judges it.
    pub test: PairTest,
    /// What the runs say now, at the fixed-size report's level.
    pub decision: Decision,
    /// The runs of each group now.
    pub runs: (usize, usize),
    /// Runs per group for the wanted power by the bootstrap (none: more than the most).
    pub bootstrap_runs: Option<usize>,
    /// Runs per group for the wanted power by the closed form (none: none applies, or more
    /// than [`actfn_stats::MOST_RUNS`]).
    pub closed_runs: Option<usize>,
}

/// A group's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    /// Its label.
    pub label: String,
    /// Its runs now.
    pub runs: usize,
    /// The runs it would have: the most its open pairs want (by the bootstrap), at least its
    /// runs now, at most the plan's most.
    pub wanted: usize,
    /// Its runs' mean training time, in seconds.
    pub seconds: f64,
}

/// The plan of a sweep's comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Every comparison of interest.
    pub pairs: Vec<PairPlan>,
    /// Every group.
    pub groups: Vec<GroupPlan>,
}

impl Plan {
    /// The runs still to train.
    pub fn more_runs(&self) -> usize {
        self.groups.iter().map(|g| g.wanted - g.runs).sum()
    }

    /// Their training time summed over runs, in hours (one run's time is its own: divide by
    /// the runs at once for the wall time).
    pub fn hours(&self) -> f64 {
        self.groups
            .iter()
            .map(|g| (g.wanted - g.runs) as f64 * g.seconds)
            .sum::<f64>()
            / 3600.0
    }
}

/// The plan of the comparisons of `inputs`' groups.
pub fn plan(inputs: &Inputs, settings: &PlanSettings) -> Plan {
    let groups = groups(inputs);
    let reference = settings
        .against
        .and_then(|a| groups.iter().position(|g| g.key.act == a));
    let pairs: Vec<(usize, usize)> = (0..groups.len())
        .flat_map(|i| (i + 1..groups.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| reference.is_none_or(|r| i == r || j == r))
        .collect();
    let samples: Vec<&[f64]> = groups.iter().map(|g| g.group.test.as_slice()).collect();
    let now = actfn_stats::decide_pairs_among(&samples, &pairs, settings.margin, 0.05, mixture);
    // A resampled experiment decides as the report would at Holm's strictest level.
    let alpha = 0.05 / pairs.len().max(1) as f64;
    let decides = |a: &[f64], b: &[f64]| {
        decide_pairs(&[a, b], settings.margin, alpha, mixture)
            .first()
            .is_some_and(|d| d.decision != Decision::Undecided)
    };
    let mut wanted: Vec<usize> = groups.iter().map(|g| g.runs.len()).collect();
    let mut plans = Vec::new();
    for d in now {
        let (a, b) = (samples[d.i], samples[d.j]);
        let power = |n: f64| {
            let (reps, seed) = (settings.bootstrap.reps, settings.bootstrap.seed);
            bootstrap_power(a, b, n as usize, reps, seed, decides).unwrap_or(0.0)
        };
        let bootstrap_runs = (d.decision == Decision::Undecided)
            .then(|| runs_for_power_within(power, settings.power, settings.most_runs))
            .flatten();
        if d.decision == Decision::Undecided {
            let n = bootstrap_runs.unwrap_or(settings.most_runs);
            wanted[d.i] = wanted[d.i].max(n);
            wanted[d.j] = wanted[d.j].max(n);
        }
        let closed_runs = match (d.decision, d.test, d.difference) {
            (Decision::Undecided, PairTest::Welch, Some(difference)) => {
                runs_to_decide(a, b, difference, pairs.len(), settings.margin).flatten()
            }
            (Decision::Undecided, PairTest::Rank, _) => probability_of_improvement(a, b)
                .and_then(|p| rank_runs_for_power(p, alpha, settings.power)),
            _ => None,
        };
        plans.push(PairPlan {
            pair: (
                groups[d.i].group.label.clone(),
                groups[d.j].group.label.clone(),
            ),
            test: d.test,
            decision: d.decision,
            runs: (a.len(), b.len()),
            bootstrap_runs,
            closed_runs,
        });
    }
    Plan {
        pairs: plans,
        groups: groups
            .iter()
            .zip(wanted)
            .map(|(g, wanted)| GroupPlan {
                label: g.group.label.clone(),
                runs: g.runs.len(),
                wanted: wanted.min(settings.most_runs).max(g.runs.len()),
                seconds: mean_seconds(g),
            })
            .collect(),
    }
}

/// The mean training time of a group's runs.
fn mean_seconds(group: &GroupRuns) -> f64 {
    let total: f64 = group.runs.iter().map(|r| r.record.summary.seconds).sum();
    total / group.runs.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{finished_runs, noise};

    #[test]
    fn an_open_pair_is_planned_and_a_decided_one_wants_no_runs() {
        let mut sweep = crate::SweepSettings::default();
        sweep.axes.act_fn = vec![Activation::ReLU, Activation::Tanh, Activation::Sigmoid];
        sweep.axes.seed = (0..5).collect();
        // Tanh 0.2 points above ReLU with a spread of about 0.17: undecided on 5 runs each.
        let inputs = Inputs {
            finished: finished_runs(&sweep, |spec| match spec.act {
                Activation::Sigmoid => 10.0,
                Activation::Tanh => 88.2 + noise(spec.seed),
                _ => 88.0 + noise(spec.seed),
            }),
            ..Inputs::default()
        };
        let plan = plan(&inputs, &PlanSettings::default());
        assert_eq!(plan.pairs.len(), 3);
        let open = &plan.pairs[0];
        assert_eq!(open.decision, Decision::Undecided);
        // The normal approximation at Holm's strictest level (0.05 / 3) for a difference of
        // 1.18 sd: 2 (2.39 + 0.84)^2 / 1.18^2 = 15 runs; the bootstrap of 5 runs agrees
        // within a factor of two.
        let closed = open.closed_runs.unwrap();
        let bootstrap = open.bootstrap_runs.unwrap();
        assert!((12..=18).contains(&closed), "{closed}");
        assert!(
            bootstrap >= closed / 2 && bootstrap <= closed * 2,
            "{bootstrap}"
        );
        assert!(
            plan.pairs[1..]
                .iter()
                .all(|p| p.decision == Decision::Different && p.bootstrap_runs.is_none())
        );
        let wanted: Vec<usize> = plan.groups.iter().map(|g| g.wanted).collect();
        assert_eq!(wanted, [bootstrap, bootstrap, 5]);
        assert_eq!(plan.more_runs(), 2 * (bootstrap - 5));
        assert!((plan.hours() - plan.more_runs() as f64 * 100.0 / 3600.0).abs() < 1e-9);

        // Against Sigmoid alone, both pairs are decided: nothing more to train.
        let against = PlanSettings {
            against: Some(Activation::Sigmoid),
            ..PlanSettings::default()
        };
        let decided = super::plan(&inputs, &against);
        assert_eq!(decided.pairs.len(), 2);
        assert_eq!(decided.more_runs(), 0);
    }
}
