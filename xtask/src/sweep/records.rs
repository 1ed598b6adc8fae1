//! What a sweep folder holds: each run's status (finished, running, unsound, failed or missing),
//! the records of the finished ones, the PyTorch peer's results, and `runs.csv`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use actfn_train::RunState;
use serde::{Deserialize, Serialize};

use super::grid::{RECORD_BYTES, RunSpec, SweepDir, SweepSettings};
use super::schedule::last_line;
use crate::train::checkpoint_name;

/// A finished run of a sweep: its place in the grid and its records.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub spec: RunSpec,
    pub run: actfn_train::RunRecord,
}

impl RunRecord {
    /// Test accuracy in percent.
    pub fn test_percent(&self) -> f64 {
        100.0 * self.run.summary.test_acc
    }
}

/// Where a run stands.
#[derive(Debug)]
pub enum RunStatus {
    /// Finished, sound, and made with the sweep's settings.
    Finished(Box<RunRecord>),
    /// A live task holds the run's folder.
    Running(actfn_io::Holder),
    /// It looks finished but fails the soundness check or was made with other settings than
    /// the sweep's: the next task sets it aside and trains it again. Says why.
    Unsound(String),
    /// Started but not finished, and no task holds it: failed or killed. The last line of its
    /// log says which.
    Failed(Option<String>),
    /// Never started.
    Missing,
}

impl RunStatus {
    /// Whether a task has something to do for the run.
    pub fn needs_training(&self) -> bool {
        matches!(self, Self::Unsound(_) | Self::Failed(_) | Self::Missing)
    }
}

/// The status of one run: its records are checked ([`actfn_train::inspect`]) and its settings
/// compared with the sweep's.
pub fn status(dir: &SweepDir, settings: &SweepSettings, spec: &RunSpec) -> RunStatus {
    let checkpoint_dir = dir.run(spec);
    let name = checkpoint_name(spec.act);
    let unsound = match actfn_train::inspect(&checkpoint_dir, &name) {
        RunState::Finished(run) => {
            let expected = settings.train_config(spec.seed, spec.split_seed, spec.patience);
            match expected.map(|config| run.differs_from(&spec.network(), &config)) {
                Ok(None) => {
                    return RunStatus::Finished(Box::new(RunRecord {
                        spec: spec.clone(),
                        run: *run,
                    }));
                }
                Ok(Some(difference)) => Some(format!(
                    "made with other settings than the sweep's ({difference})"
                )),
                Err(e) => Some(e.to_string()),
            }
        }
        RunState::Damaged(damage) => Some(format!("damaged: {damage}")),
        RunState::Imported(_) => Some(format!("damaged: its records ({name}/) are missing")),
        _ => None,
    };
    if let Some(holder) = actfn_io::Claim::holder(&checkpoint_dir)
        && actfn_io::Claim::is_held(&checkpoint_dir)
    {
        return RunStatus::Running(holder);
    }
    if let Some(reason) = unsound {
        return RunStatus::Unsound(reason);
    }
    if checkpoint_dir.exists() {
        // The local sweep's log, or a Slurm task's output: whichever was written last.
        let logs = [dir.log(spec), super::slurm::output_file(dir, spec.index)];
        let newest = logs
            .iter()
            .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p)))
            .max_by_key(|(time, _)| *time)
            .map(|(_, p)| p);
        RunStatus::Failed(newest.and_then(|p| last_line(p)))
    } else {
        RunStatus::Missing
    }
}

/// Every run's status, in grid order.
pub fn statuses(
    dir: &SweepDir,
    settings: &SweepSettings,
) -> anyhow::Result<Vec<(RunSpec, RunStatus)>> {
    Ok(settings
        .runs()?
        .into_iter()
        .map(|spec| {
            let status = status(dir, settings, &spec);
            (spec, status)
        })
        .collect())
}

/// One run of the PyTorch peer, as `xtask/pytorch/peer.py` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerResult {
    pub id: String,
    pub act: String,
    pub seed: u64,
    pub split_seed: u64,
    pub patience: usize,
    pub hidden: Vec<usize>,
    pub test_acc: f64,
    pub best_val_acc: f64,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub val_acc: Vec<f64>,
    pub seconds: f64,
    pub torch: String,
}

/// The peer's result file of a run.
pub fn peer_path(dir: &SweepDir, spec: &RunSpec) -> PathBuf {
    dir.root.join("peer").join(format!("{}.json", spec.id()))
}

/// The peer's result of a run, if it finished (an unreadable file counts as not finished).
pub fn peer_result(dir: &SweepDir, spec: &RunSpec) -> Option<PeerResult> {
    let text = actfn_io::read_text_at_most(&peer_path(dir, spec), RECORD_BYTES).ok()?;
    serde_json::from_str(&text).ok()
}

/// `runs.csv`: one row per finished run, every setting (as the run itself recorded it) and
/// result.
pub fn runs_csv(records: &[&RunRecord]) -> String {
    let mut csv = String::from(
        "index,id,act,seed,split_seed,hidden,patience,init,max_epochs,batch_size,lr,momentum,\
         subset,device,threads,epochs_run,best_epoch,best_val_acc,test_acc,stopped_early,seconds,\
         host\n",
    );
    for r in records {
        let s = &r.run.summary;
        let config = &s.train_config;
        let hidden: Vec<String> = r.spec.hidden.iter().map(|h| h.to_string()).collect();
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.1},{}",
            r.spec.index,
            r.spec.id(),
            r.spec.act.key(),
            r.spec.seed,
            r.spec.split_seed,
            hidden.join("x"),
            r.spec.patience,
            config.init,
            config.max_epochs,
            config.batch_size,
            config.optimizer.lr,
            config.optimizer.momentum,
            config.subset.map_or(String::new(), |n| n.to_string()),
            s.device,
            s.threads,
            s.epochs_run,
            s.best_epoch,
            s.best_val_acc,
            s.test_acc,
            s.stopped_early,
            s.seconds,
            s.host
        );
    }
    csv
}

/// Writes `runs.csv` into the sweep folder.
pub fn write_runs_csv(root: &Path, records: &[&RunRecord]) -> anyhow::Result<()> {
    actfn_io::atomic_write(&root.join("runs.csv"), runs_csv(records).as_bytes())?;
    Ok(())
}

/// One invocation of the local sweep, added to `sessions.json` when it ends. Its wall time is
/// what the sweep cost, which the runs' own times (several at once) do not tell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// When it started, in seconds since the Unix epoch.
    pub started_unix: u64,
    pub wall_seconds: f64,
    /// Runs and PyTorch peer runs it set out to train.
    pub runs: usize,
    pub peer_runs: usize,
    pub jobs: usize,
    pub threads: u16,
    pub host: String,
}

fn sessions_path(dir: &SweepDir) -> PathBuf {
    dir.root.join("sessions.json")
}

/// The local sessions of a sweep folder, oldest first (none for a sweep run only on Slurm).
pub fn sessions(dir: &SweepDir) -> anyhow::Result<Vec<Session>> {
    let path = sessions_path(dir);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = actfn_io::read_text_at_most(&path, RECORD_BYTES)?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a list of sweep sessions ({e}); remove it to start the record afresh",
            path.display()
        )
    })
}

/// Adds `session` to the folder's `sessions.json`.
pub fn record_session(dir: &SweepDir, session: Session) -> anyhow::Result<()> {
    let mut all = sessions(dir)?;
    all.push(session);
    actfn_io::atomic_write(
        &sessions_path(dir),
        serde_json::to_string_pretty(&all)?.as_bytes(),
    )?;
    Ok(())
}
