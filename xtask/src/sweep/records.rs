//! What a sweep folder holds: each run's status (finished, running, failed or missing), the
//! records of the finished ones, the PyTorch peer's results, and `runs.csv`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use actfn_train::{EpochMetrics, LayerDynamics, RunSummary};
use serde::{Deserialize, Serialize};

use super::grid::{RunSpec, SweepDir, SweepSettings};
use super::schedule::last_line;
use crate::train::checkpoint_name;

/// A finished run's records.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub spec: RunSpec,
    pub summary: RunSummary,
    pub metrics: Vec<EpochMetrics>,
    pub dynamics: Vec<LayerDynamics>,
    /// The slopes its activation learned per hidden layer (PReLU), from its checkpoint.
    pub slopes: Vec<f64>,
}

impl RunRecord {
    /// Test accuracy in percent.
    pub fn test_percent(&self) -> f64 {
        100.0 * self.summary.test_acc
    }
}

/// Where a run stands.
#[derive(Debug)]
pub enum RunStatus {
    Finished(Box<RunRecord>),
    /// A live task holds the run's folder.
    Running(actfn_io::Holder),
    /// Started but not finished, and no task holds it: failed or killed. The last line of its
    /// log says which.
    Failed(Option<String>),
    /// Never started.
    Missing,
}

/// The run folder inside a run's checkpoint folder (`FashionMNIST_<act>/`).
fn run_folder(dir: &SweepDir, spec: &RunSpec) -> PathBuf {
    actfn_train::run_dir(&dir.run(spec), &checkpoint_name(spec.act))
}

/// Whether a run has finished (its summary is written), without reading anything.
pub fn is_finished(dir: &SweepDir, spec: &RunSpec) -> bool {
    run_folder(dir, spec).join("summary.json").is_file()
}

/// The status of one run.
pub fn status(dir: &SweepDir, spec: &RunSpec) -> RunStatus {
    let folder = run_folder(dir, spec);
    let summary = folder.join("summary.json");
    if summary.is_file() {
        let read = || -> anyhow::Result<RunRecord> {
            let dynamics_path = folder.join("dynamics.csv");
            let slopes = if spec.act.learned_parameter() {
                learned_slopes(&dir.run(spec), &checkpoint_name(spec.act))?
            } else {
                Vec::new()
            };
            Ok(RunRecord {
                slopes,
                spec: spec.clone(),
                summary: actfn_train::read_summary(&summary)?,
                metrics: actfn_train::read_metrics_csv(&folder.join("metrics.csv"))?,
                dynamics: if dynamics_path.is_file() {
                    actfn_train::read_dynamics_csv(&dynamics_path)?
                } else {
                    Vec::new()
                },
            })
        };
        return match read() {
            Ok(record) => RunStatus::Finished(Box::new(record)),
            Err(e) => RunStatus::Failed(Some(format!("unreadable records: {e}"))),
        };
    }
    let checkpoint_dir = dir.run(spec);
    if let Some(holder) = actfn_io::Claim::holder(&checkpoint_dir)
        && actfn_io::Claim::is_held(&checkpoint_dir)
    {
        return RunStatus::Running(holder);
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

/// The learned activation parameters of a checkpoint, per hidden layer.
pub fn learned_slopes(dir: &Path, name: &str) -> anyhow::Result<Vec<f64>> {
    let net = actfn_model::BaseNetwork::load(dir, name, &candle_core::Device::Cpu)?;
    net.slopes()
        .iter()
        .map(|s| {
            Ok(s.flatten_all()?
                .to_vec1::<f32>()?
                .first()
                .map_or(0.0, |&v| f64::from(v)))
        })
        .collect()
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
            let status = status(dir, &spec);
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
    let text = std::fs::read_to_string(peer_path(dir, spec)).ok()?;
    serde_json::from_str(&text).ok()
}

/// `runs.csv`: one row per finished run, every setting and result.
pub fn runs_csv(settings: &SweepSettings, records: &[&RunRecord]) -> String {
    let mut csv = String::from(
        "index,id,act,seed,split_seed,hidden,patience,init,max_epochs,batch_size,lr,momentum,\
         subset,device,threads,epochs_run,best_epoch,best_val_acc,test_acc,stopped_early,seconds,\
         host\n",
    );
    for r in records {
        let s = &r.summary;
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
            r.spec.init,
            settings.max_epochs,
            settings.batch_size,
            settings.optimizer.lr,
            settings.optimizer.momentum,
            settings.subset.map_or(String::new(), |n| n.to_string()),
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
pub fn write_runs_csv(
    root: &Path,
    settings: &SweepSettings,
    records: &[&RunRecord],
) -> anyhow::Result<()> {
    actfn_io::atomic_write(
        &root.join("runs.csv"),
        runs_csv(settings, records).as_bytes(),
    )?;
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
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
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
