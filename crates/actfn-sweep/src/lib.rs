//! Many seeds, not one: a grid of training runs of the activation-function study, each exactly
//! the run `actfn_train::train` does, run in this process, as child processes or as a Slurm job
//! array, resumed where it stopped, and gathered into typed records and a report with the
//! statistics that say which differences are real.
//!
//! A two-activation, two-seed sweep from your own `main` (on random pixels here, so that the
//! example runs anywhere; `actfn_data::FashionMnist::load(dir)` gives the real data set):
//!
//! ```
//! use actfn_activations::Activation;
//! use actfn_data::FashionMnist;
//! use actfn_train::Outputs;
//! use actfn_sweep::{SweepDir, SweepSettings, report, run_in_process};
//!
//! let mut settings = SweepSettings::default();
//! settings.axes.act_fn = vec![Activation::ReLU, Activation::Tanh];
//! settings.axes.seed = vec![0, 1];
//! settings.axes.hidden_sizes = vec![vec![32]];
//! settings.template.max_epochs = 2;
//! settings.template.subset = Some(512);
//!
//! // 10,000 validation images are split off, as the study does: 10,600 training images.
//! let pixels = |n: usize| (0..n * 784).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>();
//! let labels = |n: usize| (0..n).map(|i| (i % 10) as u8).collect::<Vec<u8>>();
//! let data = FashionMnist {
//!     train_images: pixels(10_600),
//!     train_labels: labels(10_600),
//!     test_images: pixels(1_000),
//!     test_labels: labels(1_000),
//! };
//!
//! let folder = tempfile::tempdir()?;
//! let dir = SweepDir::new(folder.path());
//! dir.prepare(&settings)?; // sweep.json and tasks.tsv; a rerun checks the settings instead
//! let trained = run_in_process(&dir, &data, Outputs::default(), &mut actfn_train::Silent)?;
//! assert_eq!(trained, 4);
//! // Run again, nothing is left to train: every run is finished and sound.
//! assert_eq!(run_in_process(&dir, &data, Outputs::default(), &mut actfn_train::Silent)?, 0);
//!
//! let inputs = report::gather(&[folder.path().to_path_buf()])?;
//! assert_eq!(inputs.finished.len(), 4);
//! let page = report::write(&inputs, folder.path(), &Default::default(), &Default::default())?;
//! assert!(page.ends_with("report.html"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: [`SweepSettings`] (the [`Axes`] and a `TrainConfig` template) and its runs
//! ([`RunSpec`]); a [`SweepDir`] records the settings ([`SweepDir::prepare`]) and tells each
//! run's [`RunStatus`]; [`run_task`] trains one run, the code path of [`run_in_process`],
//! [`run_local`] (child processes, [`Local`]) and [`slurm::emit`] (a job array); [`report`]
//! gathers the runs and writes `runs.csv` and the report; [`peer`] runs the study's PyTorch
//! code beside them.

mod error;
mod folder;
mod grid;
mod local;
pub mod peer;
pub mod plan;
pub mod report;
pub mod schedule;
pub mod sequential;
mod settings;
pub mod slurm;
mod status;
mod task;

pub use error::{Error, Result};
pub use folder::{Session, SweepDir};
pub use grid::{RunSpec, tasks_tsv};
pub use local::{Local, pending, run_in_process, run_local};
pub use settings::{
    Axes, MAX_RUNS, MAX_SEEDS, MemoryNeed, STUDY_SPLIT_SEED, SweepSettings, parse_hidden,
    parse_seeds,
};
pub use status::{FinishedRun, RunStatus};
pub use task::run_task;

/// Runs made up for the tests of what reads runs.
#[cfg(test)]
pub(crate) mod testing {
    use crate::report::RunRow;
    use crate::{FinishedRun, RunSpec, SweepSettings};

    /// A deterministic spread of about 0.17 points around 0, by seed.
    pub fn noise(seed: u64) -> f64 {
        [0.1, -0.2, 0.05, 0.25, -0.15, 0.0, 0.2, -0.1, -0.25, 0.15][seed as usize % 10]
    }

    /// The finished runs of `sweep`, as a runs.csv would give them, each with the test
    /// accuracy `percent` gives it, trained in 100 s.
    pub fn finished_runs(
        sweep: &SweepSettings,
        percent: impl Fn(&RunSpec) -> f64,
    ) -> Vec<FinishedRun> {
        sweep
            .runs()
            .unwrap()
            .iter()
            .map(|spec| {
                RunRow {
                    test_acc: percent(spec) / 100.0,
                    threads: 1,
                    seconds: 100.0,
                    ..RunRow::settings(spec, &spec.train_config(sweep))
                }
                .finished_run()
                .unwrap()
            })
            .collect()
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
