//! Where each run of a sweep stands (finished, running, unsound, failed or missing), read
//! through [`actfn_train::inspect`], the one definition of a finished run.

use actfn_train::{RunRecord, RunState, checkpoint_name};

use crate::schedule::last_line;
use crate::{Result, RunSpec, SweepDir, SweepSettings};

/// A finished run of a sweep: its place in the grid and its records.
#[derive(Debug, Clone)]
pub struct FinishedRun {
    /// Its place in the grid.
    pub spec: RunSpec,
    /// What it recorded.
    pub record: RunRecord,
}

impl FinishedRun {
    /// Test accuracy in percent.
    pub fn test_percent(&self) -> f64 {
        100.0 * self.record.summary.test_acc
    }
}

/// Where a run stands.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunStatus {
    /// Finished, sound, and made with the sweep's settings.
    Finished(Box<FinishedRun>),
    /// A live task holds the run's folder.
    Running(actfn_io::Holder),
    /// It looks finished but fails the soundness check or was made with other settings than
    /// the sweep's: the next task sets it aside and trains it again. Says why.
    Unsound(String),
    /// Started but not finished, and no task holds it: failed or killed. The last line of its
    /// log says which.
    Failed(Option<String>),
    /// Its training diverged (a NaN or infinite loss; the last line of its log): an outcome,
    /// which training it again with the same settings repeats, so no task trains it again.
    Diverged(String),
    /// Never started.
    Missing,
}

impl RunStatus {
    /// Whether a task has something to do for the run.
    pub fn needs_training(&self) -> bool {
        matches!(self, Self::Unsound(_) | Self::Failed(_) | Self::Missing)
    }

    /// What a person reads of a run that has not finished; none for a finished one.
    pub fn describe(&self) -> Option<String> {
        Some(match self {
            Self::Finished(_) => return None,
            Self::Running(holder) => format!("running: {holder}"),
            Self::Unsound(reason) => reason.clone(),
            Self::Failed(line) => format!(
                "failed or interrupted: {}",
                line.as_deref().unwrap_or("no log")
            ),
            Self::Diverged(line) => format!("diverged, not trained again: {line}"),
            Self::Missing => "missing (never started)".into(),
        })
    }
}

impl SweepDir {
    /// The status of one run: its records are checked ([`actfn_train::inspect`]) and its
    /// settings compared with the sweep's.
    pub fn status(&self, settings: &SweepSettings, spec: &RunSpec) -> RunStatus {
        let folder = self.run_folder(spec);
        let name = checkpoint_name(spec.act);
        let unsound = match actfn_train::inspect(&folder, &name) {
            RunState::Finished(record) => {
                match record.differs_from(&spec.network(), &spec.train_config(settings)) {
                    None => {
                        return RunStatus::Finished(Box::new(FinishedRun {
                            spec: spec.clone(),
                            record: *record,
                        }));
                    }
                    Some(difference) => Some(format!(
                        "made with other settings than the sweep's ({difference})"
                    )),
                }
            }
            RunState::Damaged(damage) => Some(format!("damaged: {damage}")),
            RunState::Imported(_) => Some(format!("damaged: its records ({name}/) are missing")),
            _ => None,
        };
        if let Some(holder) = actfn_io::Claim::holder(&folder)
            && actfn_io::Claim::is_held(&folder)
        {
            return RunStatus::Running(holder);
        }
        if let Some(reason) = unsound {
            return RunStatus::Unsound(reason);
        }
        if folder.exists() {
            // The local sweep's log, or a Slurm task's output: whichever was written last.
            let logs = [self.log(spec), self.slurm_output(spec.index)];
            let newest = logs
                .iter()
                .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p)))
                .max_by_key(|(time, _)| *time)
                .map(|(_, p)| p);
            match newest.and_then(|p| last_line(p)) {
                Some(line) if line.contains(actfn_train::DIVERGED) => RunStatus::Diverged(line),
                line => RunStatus::Failed(line),
            }
        } else {
            RunStatus::Missing
        }
    }

    /// Every run's status, in grid order.
    pub fn statuses(&self, settings: &SweepSettings) -> Result<Vec<(RunSpec, RunStatus)>> {
        Ok(settings
            .runs()?
            .into_iter()
            .map(|spec| {
                let status = self.status(settings, &spec);
                (spec, status)
            })
            .collect())
    }
}
