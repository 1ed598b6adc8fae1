//! As many seeds as the question needs: a sweep that adds seeds, in batches, only to the groups
//! that take part in a comparison still undecided, until each is decided or the seeds run out.
//!
//! Every look is a sweep folder of its own (`look-1` the pilot, `look-2` the first batch, ...),
//! so a look resumes, and runs on a cluster, as any sweep does. The decisions are a function of
//! the finished runs alone: [`progress`] replays them from the folders on every call, so that a
//! killed look repeats no run and loses none, and a rerun of the same command goes on from
//! where it stopped. The error control over the repeated looks is
//! [`actfn_stats::SequentialPlan`]'s (alpha spending over a fixed number of looks, Holm's
//! correction over the pairs still open at each); `docs/SEQUENTIAL.md` says why.
//!
//! - `decider`: the decisions look by look, on plain numbers; `progress`: the replay of a
//!   sweep's runs through them, the looks and what comes next; `simulate`: the design's error
//!   rates on drawn runs; `page`: the report's section.

mod decider;
mod page;
mod progress;
mod simulate;

use std::ops::Range;
use std::path::{Path, PathBuf};

use actfn_activations::Activation;
use actfn_stats::{SequentialPlan, Spending};
use serde::{Deserialize, Serialize};

use crate::error::file_error;
use crate::report::{Analysis, Inputs, Preface};
use crate::{Error, FinishedRun, Result, SweepDir, SweepSettings};

pub use decider::Decider;
pub use page::sequential_blocks;
pub use progress::{Comparison, End, Look, LookTraining, Next, Progress, progress};
pub use simulate::{Design, Scenario, Simulated, simulate};

/// Replays the sequential sweep in `dir` and writes its report into `out`: the runs of every
/// look (and the reused ones), the sequential decisions first, then the fixed-size report's
/// sections. Returns where it stands and the HTML report's path.
pub fn write_report(
    dir: &SequentialDir,
    out: &Path,
    preface: &Preface,
    analysis: &Analysis,
) -> Result<(Progress, PathBuf)> {
    let settings = dir.read_settings()?;
    let progress = progress(dir, &settings, &settings.reused_runs()?)?;
    let mut inputs = crate::report::gather(&progress::look_folders(dir, &progress))?;
    inputs.extend(Inputs {
        finished: progress.reused.clone(),
        ..Inputs::default()
    })?;
    let figures = out.join("figures");
    std::fs::create_dir_all(&figures)
        .map_err(|e| file_error(&figures, format!("cannot create it: {e}")))?;
    let preface = Preface {
        sections: sequential_blocks(&settings, &progress, &figures)?,
        ..preface.clone()
    };
    let analysis = Analysis {
        margin: settings.margin,
        ..*analysis
    };
    let path = crate::report::write(&inputs, out, &preface, &analysis)?;
    Ok((progress, path))
}

/// What a sequential sweep compares, how it adds seeds and how it decides. `Default`: the
/// study's six functions under the study's protocol, every pair, a pilot of 5 seeds and
/// batches of 5 up to 20, O'Brien-Fleming spending of 5% over the 4 looks, a margin of 0.3
/// points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequentialSettings {
    /// The runs: its `act_fn` axis is the groups compared, each other axis one value; its
    /// `seed` axis is each look's own (see [`SequentialSettings::seeds_of_look`]).
    pub sweep: SweepSettings,
    /// Seeds of every group at the first look.
    pub pilot: usize,
    /// Seeds added at each later look to every group in an open comparison.
    pub batch: usize,
    /// The most seeds of a group: the last look reaches it.
    pub max_seeds: usize,
    /// The most runs to train, over all the looks (runs reused from a `runs.csv` are free); a
    /// rerun may change it.
    pub budget_runs: Option<usize>,
    /// Compare every function with this one only, instead of every pair.
    pub against: Option<Activation>,
    /// Two groups are "equal" only within this many points of test accuracy (TOST).
    pub margin: f64,
    /// The family-wise level over all the looks and pairs, e.g. 0.05.
    pub alpha: f64,
    /// How the level is spent over the looks.
    #[serde(with = "spending_name")]
    pub spending: Spending,
    /// `runs.csv` files (a results page's) whose runs take the place of a look's, where they
    /// hold a function's whole batch with the look's settings: committed runs are not trained
    /// again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reuse: Vec<PathBuf>,
}

impl Default for SequentialSettings {
    fn default() -> Self {
        Self {
            sweep: SweepSettings::default(),
            pilot: 5,
            batch: 5,
            max_seeds: 20,
            budget_runs: None,
            against: None,
            margin: 0.3,
            alpha: 0.05,
            spending: Spending::OBrienFleming,
            reuse: Vec::new(),
        }
    }
}

/// `spending` as a word in `sequential.json`.
mod spending_name {
    use actfn_stats::Spending;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

    pub fn serialize<S: Serializer>(spending: &Spending, s: S) -> Result<S::Ok, S::Error> {
        match spending {
            Spending::OBrienFleming => s.serialize_str("obrien-fleming"),
            Spending::Pocock => s.serialize_str("pocock"),
            other => Err(S::Error::custom(format!("no name for {other:?}"))),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Spending, D::Error> {
        super::parse_spending(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// Parses `obrien-fleming` or `pocock`.
pub fn parse_spending(text: &str) -> std::result::Result<Spending, String> {
    match text {
        "obrien-fleming" => Ok(Spending::OBrienFleming),
        "pocock" => Ok(Spending::Pocock),
        other => Err(format!(
            "{other:?} is not a spending function: obrien-fleming or pocock"
        )),
    }
}

impl SequentialSettings {
    /// The looks of the design: the pilot, then as many batches as reach
    /// [`SequentialSettings::max_seeds`].
    pub fn looks(&self) -> usize {
        1 + self
            .max_seeds
            .saturating_sub(self.pilot)
            .div_ceil(self.batch.max(1))
    }

    /// The error control over the looks.
    pub fn plan(&self) -> SequentialPlan {
        SequentialPlan {
            alpha: self.alpha,
            looks: self.looks(),
            spending: self.spending,
        }
    }

    /// The seeds look `look` (from 1) adds: `0..pilot` at the first, then the next batch, the
    /// last cut at [`SequentialSettings::max_seeds`].
    pub fn seeds_of_look(&self, look: usize) -> Range<u64> {
        let end = |k: usize| (self.pilot + k.saturating_sub(1) * self.batch).min(self.max_seeds);
        let start = if look <= 1 { 0 } else { end(look - 1) };
        start as u64..end(look) as u64
    }

    /// The groups compared.
    pub fn groups(&self) -> &[Activation] {
        &self.sweep.axes.act_fn
    }

    /// The comparisons of interest, as indices `(i, j)`, `i < j`, into
    /// [`SequentialSettings::groups`]: every pair, or each with the reference.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let n = self.groups().len();
        let reference = self
            .against
            .and_then(|a| self.groups().iter().position(|g| *g == a));
        (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .filter(|&(i, j)| reference.is_none_or(|r| i == r || j == r))
            .collect()
    }

    /// The sweep of look `look` over `acts`: the template with the look's seeds.
    pub fn look_sweep(&self, look: usize, acts: Vec<Activation>) -> SweepSettings {
        let mut sweep = self.sweep.clone();
        sweep.axes.act_fn = acts;
        sweep.axes.seed = self.seeds_of_look(look).collect();
        sweep
    }

    /// The runs of the [`SequentialSettings::reuse`] files.
    pub fn reused_runs(&self) -> Result<Vec<FinishedRun>> {
        Ok(Inputs::from_runs_csv(&self.reuse)?.finished)
    }

    /// Checks the design and its runs, naming the setting at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |text: String| Err(Error::Settings(text));
        let axes = &self.sweep.axes;
        if axes.act_fn.len() < 2 {
            return bad("a sequential sweep compares at least two functions (--acts)".into());
        }
        for (name, len) in [
            ("--split-seeds", axes.split_seed.len()),
            ("--hidden or --depths", axes.hidden_sizes.len()),
            ("--patience", axes.patience.len()),
            ("--optimizers and --lrs", self.sweep.optimizers().len()),
        ] {
            if len != 1 {
                return bad(format!(
                    "a sequential sweep compares functions under one setting: give one value \
                     of {name} (it has {len}); run one sequential sweep per setting"
                ));
            }
        }
        if self.pilot < 2 {
            return bad(format!(
                "--pilot {} is too few: a test needs at least 2 runs a group",
                self.pilot
            ));
        }
        if self.batch == 0 {
            return bad("--batch must be at least 1".into());
        }
        if self.max_seeds < self.pilot || self.max_seeds > crate::MAX_SEEDS {
            return bad(format!(
                "--max-seeds {} must be from the pilot's {} to {}",
                self.max_seeds,
                self.pilot,
                crate::MAX_SEEDS
            ));
        }
        let pilot_runs = self.pilot * self.groups().len();
        if let Some(budget) = self.budget_runs.filter(|&b| b < pilot_runs) {
            return bad(format!(
                "--budget-runs {budget} is less than the pilot's {pilot_runs} runs \
                 ({} functions x {} seeds): give at least {pilot_runs}",
                self.groups().len(),
                self.pilot
            ));
        }
        if let Some(against) = self.against.filter(|a| !self.groups().contains(a)) {
            return bad(format!(
                "--against {} is not one of the functions compared (--acts)",
                against.key()
            ));
        }
        if !(self.margin.is_finite() && self.margin > 0.0) {
            return bad(format!(
                "--margin {} must be a positive number",
                self.margin
            ));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad(format!("--alpha {} must be between 0 and 1", self.alpha));
        }
        self.look_sweep(1, self.groups().to_vec()).validate()
    }
}

/// A sequential sweep's folder: `sequential.json` (its settings) and a sweep folder per look.
#[derive(Debug, Clone)]
pub struct SequentialDir {
    /// The folder.
    pub root: PathBuf,
}

impl SequentialDir {
    /// The sequential sweep in `root` (nothing is read or written).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// `sequential.json`.
    pub fn settings_file(&self) -> PathBuf {
        self.root.join("sequential.json")
    }

    /// Whether `root` holds a sequential sweep.
    pub fn is_sequential(root: &Path) -> bool {
        Self::new(root).settings_file().is_file()
    }

    /// The sweep folder of look `look`.
    pub fn look(&self, look: usize) -> SweepDir {
        SweepDir::new(&self.root.join(format!("look-{look}")))
    }

    /// Reads `sequential.json`.
    pub fn read_settings(&self) -> Result<SequentialSettings> {
        let path = self.settings_file();
        let text =
            actfn_io::read_text_at_most(&path, crate::folder::RECORD_BYTES).map_err(|e| {
                file_error(
                    &self.root,
                    format!(
                        "not a sequential sweep (no readable sequential.json: {e}); start one with \
                     `cargo xtask sweep --until-decided`"
                    ),
                )
            })?;
        serde_json::from_str(&text)
            .map_err(|e| file_error(&path, format!("not a sequential sweep's settings ({e})")))
    }

    /// Records `settings` in a new folder, or checks them against the ones it records (all but
    /// the budget, which a rerun may change). Nothing is written when they are bad or differ.
    pub fn prepare(&self, settings: &SequentialSettings) -> Result<()> {
        settings.validate()?;
        if self.settings_file().is_file() {
            let mut saved = self.read_settings()?;
            // The budget decides only when to stop: a rerun may raise it to go on.
            let budget_changed = saved.budget_runs != settings.budget_runs;
            saved.budget_runs = settings.budget_runs;
            crate::folder::same_settings(&self.settings_file(), &saved, settings)?;
            if !budget_changed {
                return Ok(());
            }
        }
        std::fs::create_dir_all(&self.root)
            .map_err(|e| file_error(&self.root, format!("cannot create it: {e}")))?;
        let json =
            serde_json::to_string_pretty(settings).map_err(|e| Error::Settings(e.to_string()))?;
        actfn_io::atomic_write(&self.settings_file(), json.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_looks_add_batches_up_to_the_most_seeds() {
        let settings = SequentialSettings {
            pilot: 5,
            batch: 4,
            max_seeds: 15,
            ..SequentialSettings::default()
        };
        assert_eq!(settings.looks(), 4);
        let seeds: Vec<Range<u64>> = (1..=4).map(|k| settings.seeds_of_look(k)).collect();
        assert_eq!(seeds, [0..5, 5..9, 9..13, 13..15]);
        assert_eq!(settings.plan().looks, 4);
        let only_pilot = SequentialSettings {
            max_seeds: 5,
            ..SequentialSettings::default()
        };
        assert_eq!(only_pilot.looks(), 1);
    }

    #[test]
    fn against_one_function_compares_each_with_it_only() {
        let mut settings = SequentialSettings::default();
        assert_eq!(settings.pairs().len(), 15);
        settings.against = Some(Activation::ReLU);
        let relu = settings
            .groups()
            .iter()
            .position(|&a| a == Activation::ReLU)
            .unwrap();
        let pairs = settings.pairs();
        assert_eq!(pairs.len(), 5);
        assert!(pairs.iter().all(|&(i, j)| i == relu || j == relu));
    }

    #[test]
    fn a_design_that_cannot_run_is_refused_by_its_setting() {
        let refused = |settings: SequentialSettings, flag: &str| {
            let error = settings.validate().unwrap_err().to_string();
            assert!(error.contains(flag), "{error}");
        };
        refused(
            SequentialSettings {
                pilot: 1,
                ..Default::default()
            },
            "--pilot",
        );
        refused(
            SequentialSettings {
                budget_runs: Some(10),
                ..Default::default()
            },
            "--budget-runs 10",
        );
        refused(
            SequentialSettings {
                against: Some(Activation::GELU),
                ..Default::default()
            },
            "--against gelu",
        );
        let mut two_patiences = SequentialSettings::default();
        two_patiences.sweep.axes.patience = vec![7, 50];
        refused(two_patiences, "--patience");
        assert!(SequentialSettings::default().validate().is_ok());
    }

    #[test]
    fn a_rerun_may_change_the_budget_but_nothing_else() {
        let folder = tempfile::tempdir().unwrap();
        let dir = SequentialDir::new(folder.path());
        let settings = SequentialSettings {
            budget_runs: Some(40),
            ..SequentialSettings::default()
        };
        dir.prepare(&settings).unwrap();
        let more = SequentialSettings {
            budget_runs: Some(80),
            ..settings
        };
        dir.prepare(&more).unwrap();
        assert_eq!(dir.read_settings().unwrap(), more);
        let other = SequentialSettings {
            margin: 0.5,
            ..more.clone()
        };
        let error = dir.prepare(&other).unwrap_err().to_string();
        assert!(error.contains("margin: saved 0.3, now 0.5"), "{error}");
        assert_eq!(dir.read_settings().unwrap(), more);
    }

    #[test]
    fn the_settings_survive_their_file() {
        let settings = SequentialSettings {
            spending: Spending::Pocock,
            against: Some(Activation::ReLU),
            ..Default::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        let back: SequentialSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, settings);
    }
}
