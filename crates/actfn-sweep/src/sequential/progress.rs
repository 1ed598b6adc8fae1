//! Where a sequential sweep stands, replayed from its finished runs: the looks made, each
//! comparison's decision (and the look and runs that made it), and what comes next.

use std::ops::Range;
use std::path::PathBuf;

use actfn_activations::Activation;
use actfn_stats::{Decision, PairDecision};

use super::{Decider, SequentialDir, SequentialSettings};
use crate::{FinishedRun, Result, RunStatus, SweepDir, SweepSettings};

/// A look that has been made.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// Its number, from 1.
    pub number: usize,
    /// The seeds it added.
    pub seeds: Range<u64>,
    /// The level its decisions were made at.
    pub level: f64,
    /// The groups it added seeds to: trained in its folder, or reused.
    pub groups: Vec<Activation>,
    /// Of those, the ones whose runs came from the reused runs.
    pub reused: Vec<Activation>,
    /// The comparisons it decided.
    pub decided: usize,
}

/// A comparison of interest and what the looks said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The two functions.
    pub pair: (Activation, Activation),
    /// The decision: undecided while the comparison is open.
    pub decision: Decision,
    /// The look that decided it.
    pub look: Option<usize>,
    /// Runs of each function at its decision, or so far.
    pub runs: (usize, usize),
    /// The tests at its last look.
    pub last: Option<PairDecision>,
    /// The level of that look.
    pub level: Option<f64>,
}

/// The look to train next: its folder and its sweep.
#[derive(Debug, Clone)]
pub struct LookTraining {
    /// Its number, from 1.
    pub look: usize,
    /// Its sweep folder.
    pub dir: SweepDir,
    /// Its sweep: the groups in open comparisons not reused, over the look's seeds.
    pub settings: SweepSettings,
}

/// Why a sequential sweep has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum End {
    /// Every comparison is decided.
    Decided,
    /// The last look is made: the groups have their most seeds.
    MaxSeeds,
    /// The next look would train more runs than the budget leaves.
    Budget {
        /// The runs it would train.
        needed: usize,
    },
}

/// What comes next.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Next {
    /// Train this look (some of its runs may have finished).
    Train(Box<LookTraining>),
    /// Nothing: the sweep has ended.
    Done(End),
}

/// Where a sequential sweep stands.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The looks made, in order.
    pub looks: Vec<Look>,
    /// The comparisons of interest, in the order of [`SequentialSettings::pairs`].
    pub comparisons: Vec<Comparison>,
    /// Runs trained in the folders of the looks made.
    pub trained: usize,
    /// The reused runs the looks took.
    pub reused: Vec<FinishedRun>,
    /// What comes next.
    pub next: Next,
}

impl Progress {
    /// The comparisons still open.
    pub fn open(&self) -> impl Iterator<Item = &Comparison> {
        self.comparisons
            .iter()
            .filter(|c| c.decision == Decision::Undecided)
    }
}

/// The runs of `specs`' activation `act` over `seeds`, when `reused` holds every one of them
/// with the look's training settings.
fn reused_runs(
    reused: &[FinishedRun],
    sweep: &SweepSettings,
    act: Activation,
) -> Option<Vec<FinishedRun>> {
    let specs = sweep.runs().ok()?;
    specs
        .iter()
        .filter(|spec| spec.act == act)
        .map(|spec| {
            let config = spec.train_config(sweep);
            reused
                .iter()
                .find(|r| r.spec.id() == spec.id() && r.record.summary.train_config == config)
                .cloned()
        })
        .collect()
}

/// Replays the sequential sweep in `dir` from its finished runs (and the `reused` runs, say
/// from a page's `runs.csv`, each taking the place of a look's run of the same name and
/// training settings where a function's whole batch is there): the looks whose runs have all
/// finished are decided, in order, and the first that has not is the next to train. Reads
/// only; the decisions are the same on every call for the same runs.
pub fn progress(
    dir: &SequentialDir,
    settings: &SequentialSettings,
    reused: &[FinishedRun],
) -> Result<Progress> {
    let groups = settings.groups();
    let mut decider = Decider::new(settings);
    let mut progress = Progress {
        looks: Vec::new(),
        comparisons: Vec::new(),
        trained: 0,
        reused: Vec::new(),
        next: Next::Done(End::MaxSeeds),
    };
    for look in 1..=settings.looks() {
        let in_open = decider.wanted();
        let all = settings.look_sweep(look, in_open.iter().map(|&g| groups[g]).collect());
        let mut from_reuse: Vec<(usize, Vec<FinishedRun>)> = Vec::new();
        let mut to_train = Vec::new();
        for &g in &in_open {
            match reused_runs(reused, &all, groups[g]) {
                Some(runs) => from_reuse.push((g, runs)),
                None => to_train.push(groups[g]),
            }
        }
        let mut added: Vec<(usize, Vec<f64>)> = from_reuse
            .iter()
            .map(|(g, runs)| (*g, runs.iter().map(FinishedRun::test_percent).collect()))
            .collect();
        if !to_train.is_empty() {
            let sweep = settings.look_sweep(look, to_train);
            let count = sweep.runs()?.len();
            if look > 1
                && let Some(budget) = settings.budget_runs
                && progress.trained + count > budget
            {
                progress.next = Next::Done(End::Budget { needed: count });
                break;
            }
            let folder = dir.look(look);
            let statuses = match folder.settings_file().is_file() {
                true => folder.statuses(&folder.read_settings()?)?,
                false => Vec::new(),
            };
            let done: Vec<FinishedRun> = statuses
                .into_iter()
                .filter_map(|(_, status)| match status {
                    RunStatus::Finished(run) => Some(*run),
                    _ => None,
                })
                .collect();
            if done.len() < count || folder.read_settings().ok().as_ref() != Some(&sweep) {
                progress.next = Next::Train(Box::new(LookTraining {
                    look,
                    dir: folder,
                    settings: sweep,
                }));
                break;
            }
            progress.trained += count;
            for g in in_open.iter().copied() {
                let results: Vec<f64> = done
                    .iter()
                    .filter(|r| r.spec.act == groups[g])
                    .map(FinishedRun::test_percent)
                    .collect();
                if !results.is_empty() {
                    added.push((g, results));
                }
            }
        }
        progress
            .reused
            .extend(from_reuse.iter().flat_map(|(_, runs)| runs.iter().cloned()));
        let level = decider.next_level().unwrap_or(0.0);
        let decided = decider.look(&added);
        progress.looks.push(Look {
            number: look,
            seeds: settings.seeds_of_look(look),
            level,
            groups: in_open.iter().map(|&g| groups[g]).collect(),
            reused: from_reuse.iter().map(|(g, _)| groups[*g]).collect(),
            decided,
        });
        if decider.all_decided() {
            progress.next = Next::Done(End::Decided);
            break;
        }
    }
    progress.comparisons = decider.comparisons().to_vec();
    Ok(progress)
}

/// The folders of the looks that hold runs, for the report.
pub(crate) fn look_folders(dir: &SequentialDir, progress: &Progress) -> Vec<PathBuf> {
    let last = match &progress.next {
        Next::Train(t) => t.look,
        Next::Done(_) => progress.looks.len(),
    };
    (1..=last)
        .map(|k| dir.look(k).root)
        .filter(|p| p.join("sweep.json").is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ReLU, Tanh half a point better, and Sigmoid at chance.
    fn settings() -> SequentialSettings {
        let mut settings = SequentialSettings {
            max_seeds: 15,
            ..SequentialSettings::default()
        };
        settings.sweep.axes.act_fn = vec![Activation::ReLU, Activation::Tanh, Activation::Sigmoid];
        settings.sweep = settings.look_sweep(1, settings.groups().to_vec());
        settings
    }

    /// Finished runs of every function of `settings` over `seeds`: ReLU 88% with a spread of
    /// about 0.2 points, Tanh the same plus half a point, Sigmoid 10%.
    fn runs(settings: &SequentialSettings, seeds: Range<u64>) -> Vec<FinishedRun> {
        let mut sweep = settings.sweep.clone();
        sweep.axes.seed = seeds.collect();
        crate::testing::finished_runs(&sweep, |spec| match spec.act {
            Activation::Sigmoid => 10.0,
            Activation::Tanh => 88.5 + crate::testing::noise(spec.seed),
            _ => 88.0 + crate::testing::noise(spec.seed),
        })
    }

    #[test]
    fn decisions_replay_from_the_runs_and_only_open_functions_get_seeds() {
        let settings = settings();
        let folder = tempfile::tempdir().unwrap();
        let dir = SequentialDir::new(folder.path());

        // Only the pilot's runs: Sigmoid is decided against both at the first look, ReLU vs
        // Tanh is not (p about 0.004 against a level of 0.0007), so the next look trains
        // those two alone.
        let pilot = progress(&dir, &settings, &runs(&settings, 0..5)).unwrap();
        assert_eq!(pilot.looks.len(), 1);
        assert_eq!(pilot.looks[0].decided, 2);
        assert_eq!(pilot.reused.len(), 15);
        assert_eq!(pilot.trained, 0);
        let open: Vec<_> = pilot.open().map(|c| c.pair).collect();
        assert_eq!(open, [(Activation::ReLU, Activation::Tanh)]);
        let Next::Train(next) = &pilot.next else {
            panic!("{:?}", pilot.next)
        };
        assert_eq!(next.look, 2);
        assert_eq!(
            next.settings.axes.act_fn,
            [Activation::ReLU, Activation::Tanh]
        );
        assert_eq!(next.settings.axes.seed, (5..10).collect::<Vec<_>>());
        assert_eq!(next.dir.root, folder.path().join("look-2"));

        // With the next batch's runs too, ReLU vs Tanh is different at the second look, on
        // 10 runs each; Sigmoid's comparisons keep their 5 runs and their first look.
        let all = progress(&dir, &settings, &runs(&settings, 0..15)).unwrap();
        assert!(matches!(all.next, Next::Done(End::Decided)));
        assert_eq!(all.looks.len(), 2);
        assert_eq!(all.looks[1].groups, [Activation::ReLU, Activation::Tanh]);
        assert_eq!(all.reused.len(), 25);
        let relu_tanh = &all.comparisons[0];
        assert_eq!(relu_tanh.decision, Decision::Different);
        assert_eq!((relu_tanh.look, relu_tanh.runs), (Some(2), (10, 10)));
        assert!(
            all.comparisons[1..]
                .iter()
                .all(|c| c.look == Some(1) && c.runs == (5, 5))
        );
        // The same runs, the same decisions.
        let again = progress(&dir, &settings, &runs(&settings, 0..15)).unwrap();
        assert_eq!(again.comparisons, all.comparisons);
    }

    #[test]
    fn a_look_that_would_pass_the_budget_is_not_made() {
        let mut settings = settings();
        settings.batch = 10;
        settings.max_seeds = 25;
        settings.budget_runs = Some(15);
        let folder = tempfile::tempdir().unwrap();
        let dir = SequentialDir::new(folder.path());
        let now = progress(&dir, &settings, &runs(&settings, 0..5)).unwrap();
        // The second look would train 10 seeds of ReLU and Tanh: 20 runs, more than 15.
        assert!(
            matches!(now.next, Next::Done(End::Budget { needed: 20 })),
            "{:?}",
            now.next
        );
        assert_eq!(now.open().count(), 1);
    }

    #[test]
    fn a_reused_batch_with_other_settings_is_not_taken() {
        let settings = settings();
        let mut other = settings.clone();
        other.sweep.template.max_epochs = 40;
        let folder = tempfile::tempdir().unwrap();
        let dir = SequentialDir::new(folder.path());
        let now = progress(&dir, &settings, &runs(&other, 0..5)).unwrap();
        assert!(now.looks.is_empty());
        let Next::Train(first) = &now.next else {
            panic!("{:?}", now.next)
        };
        assert_eq!((first.look, first.settings.runs().unwrap().len()), (1, 15));
    }
}
