//! A run on disk: where each of its files lives, and the one check of whether it holds a finished
//! and sound run, which training, sweeps and reports all go through.
//!
//! A run is finished when its summary is written; it is sound when every record reads, is in
//! range and agrees with the others, and its checkpoint loads with its config's shapes and finite
//! weights. A run that looks finished but is not sound is [`RunState::Damaged`]: it is set aside
//! ([`set_aside`]), never deleted, and trained again.

use std::fmt;
use std::path::{Path, PathBuf};

use actfn_model::{BaseNetwork, BaseNetworkConfig, config_path, weights_path};
use candle_core::Device;
use serde::Serialize;

use crate::error::io_error;
use crate::metrics::{LayerDynamics, read_dynamics_csv, read_metrics_csv, read_summary};
use crate::{
    EpochMetrics, Error, Result, RunSummary, TrainConfig, first_difference, read_predictions_csv,
    resume,
};

/// The folder that holds a run's `train_config.json`, `metrics.csv`, `dynamics.csv` and
/// `summary.json`: `<checkpoint_dir>/<name>/`, beside the checkpoint
/// `<checkpoint_dir>/<name>.{config,safetensors}`.
pub fn run_dir(checkpoint_dir: &Path, name: &str) -> PathBuf {
    checkpoint_dir.join(name)
}

/// The paths of one run's files.
pub(crate) struct RunFiles {
    pub(crate) run: PathBuf,
    pub(crate) weights: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) summary: PathBuf,
    pub(crate) metrics: PathBuf,
    pub(crate) dynamics: PathBuf,
    pub(crate) predictions: PathBuf,
    pub(crate) state: PathBuf,
    pub(crate) train_config: PathBuf,
}

impl RunFiles {
    pub(crate) fn new(dir: &Path, name: &str) -> Self {
        let run = run_dir(dir, name);
        Self {
            weights: weights_path(dir, name),
            config: config_path(dir, name),
            summary: run.join("summary.json"),
            metrics: run.join("metrics.csv"),
            dynamics: run.join("dynamics.csv"),
            predictions: run.join("test_predictions.csv"),
            state: resume::state_path(&run),
            train_config: run.join("train_config.json"),
            run,
        }
    }
}

/// A finished run's records, checked against each other and against its checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The network its checkpoint holds.
    pub net: BaseNetworkConfig,
    /// `summary.json`.
    pub summary: RunSummary,
    /// `metrics.csv`: one row per epoch trained.
    pub metrics: Vec<EpochMetrics>,
    /// `dynamics.csv` (empty for runs recorded before the dynamics existed).
    pub dynamics: Vec<LayerDynamics>,
    /// The slope a learned activation (PReLU) ended with, per hidden layer (empty otherwise).
    pub slopes: Vec<f64>,
    /// `test_predictions.csv`: the class predicted for each test image, in order (none for runs
    /// recorded before predictions were kept).
    pub predictions: Option<Vec<u32>>,
}

impl RunRecord {
    /// The first setting in which this run differs from `net` trained with `train`, as
    /// `name: saved X, now Y`; `None` when it is that run. The device and the thread count are
    /// not compared: they only change the last bits. Settings that cannot be compared count as
    /// a difference.
    pub fn differs_from(&self, net: &BaseNetworkConfig, train: &TrainConfig) -> Option<String> {
        experiment_difference(&self.net, &self.summary.train_config, net, train)
            .unwrap_or_else(|e| Some(format!("the settings cannot be compared ({e})")))
    }
}

/// The first difference between two experiments (network and training settings).
pub(crate) fn experiment_difference(
    saved_net: &BaseNetworkConfig,
    saved_train: &TrainConfig,
    net: &BaseNetworkConfig,
    train: &TrainConfig,
) -> serde_json::Result<Option<String>> {
    #[derive(Serialize)]
    struct Experiment<'a> {
        net: &'a BaseNetworkConfig,
        train: &'a TrainConfig,
    }
    first_difference(
        &Experiment {
            net: saved_net,
            train: saved_train,
        },
        &Experiment { net, train },
    )
}

/// What a run's files say it is.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunState {
    /// Nothing of it is on disk.
    Absent,
    /// Started and not finished (no summary yet): training continues it.
    Unfinished,
    /// A checkpoint without a run folder: made elsewhere (imported), so without records.
    Imported(BaseNetworkConfig),
    /// Finished, and every record and the checkpoint check out.
    Finished(Box<RunRecord>),
    /// It looks finished but is not sound.
    Damaged(Damage),
}

/// What is wrong with a damaged run: the file at fault and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    /// The file at fault.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl From<Error> for Damage {
    fn from(error: Error) -> Self {
        use actfn_model::Error as Model;
        let (path, reason) = match error {
            Error::Corrupt { path, reason } | Error::Model(Model::Checkpoint { path, reason }) => {
                (path, reason)
            }
            Error::Io { path, source }
            | Error::Model(Model::Io { path, source })
            | Error::File(actfn_io::Error::Io { path, source }) => (path, source.to_string()),
            Error::Model(Model::ConfigSyntax { path, source }) => {
                (path, format!("not a valid network config ({source})"))
            }
            other => (PathBuf::new(), other.to_string()),
        };
        Self { path, reason }
    }
}

/// Reads the run `<dir>/<name>` and says what it is: absent, unfinished, imported, finished and
/// sound (with its records), or damaged (naming the file and the fault). Reads the checkpoint
/// on the CPU.
pub fn inspect(dir: &Path, name: &str) -> RunState {
    let files = RunFiles::new(dir, name);
    let checkpoint = files.weights.exists() || files.config.exists();
    if !files.run.exists() {
        if !checkpoint {
            return RunState::Absent;
        }
        return match BaseNetwork::load(dir, name, &Device::Cpu) {
            Ok(net) => RunState::Imported(net.config().clone()),
            Err(e) => RunState::Damaged(Error::from(e).into()),
        };
    }
    if !files.summary.exists() {
        return RunState::Unfinished;
    }
    match read_finished(dir, name, &files) {
        Ok(record) => RunState::Finished(Box::new(record)),
        Err(damage) => RunState::Damaged(damage),
    }
}

/// Reads and checks a run whose summary is written.
fn read_finished(
    dir: &Path,
    name: &str,
    files: &RunFiles,
) -> std::result::Result<RunRecord, Damage> {
    let summary = read_summary(&files.summary)?;
    let fault = |path: &Path, reason: String| Damage {
        path: path.to_path_buf(),
        reason,
    };
    check_summary(&summary, name).map_err(|r| fault(&files.summary, r))?;
    if !files.weights.exists() {
        return Err(fault(
            &files.weights,
            "missing: the summary says the run finished, but its checkpoint is gone".into(),
        ));
    }
    let network = BaseNetwork::load(dir, name, &Device::Cpu).map_err(Error::from)?;
    let metrics = read_metrics_csv(&files.metrics)?;
    check_metrics(&metrics, &summary).map_err(|r| fault(&files.metrics, r))?;
    let dynamics = if files.dynamics.is_file() {
        read_dynamics_csv(&files.dynamics)?
    } else {
        // Runs recorded before the dynamics existed have none.
        Vec::new()
    };
    check_dynamics(&dynamics, &summary, network.config()).map_err(|r| fault(&files.dynamics, r))?;
    let slopes = network
        .slopes()
        .iter()
        .map(|s| {
            let values = s.flatten_all()?.to_vec1::<f32>()?;
            Ok(values.first().map_or(0.0, |&v| f64::from(v)))
        })
        .collect::<candle_core::Result<Vec<f64>>>()
        .map_err(|e| {
            fault(
                &files.weights,
                format!("cannot read the learned slopes ({e})"),
            )
        })?;
    let predictions = if files.predictions.is_file() {
        let predicted = read_predictions_csv(&files.predictions)?;
        check_predictions(&predicted, &summary, network.config())
            .map_err(|r| fault(&files.predictions, r))?;
        Some(predicted)
    } else {
        // Runs recorded before predictions were kept have none.
        None
    };
    Ok(RunRecord {
        net: network.config().clone(),
        summary,
        metrics,
        dynamics,
        slopes,
        predictions,
    })
}

/// Predictions agree with the network (each a class it has) and with the summary's accuracy
/// (which a count of hits over this many images can make).
fn check_predictions(
    predicted: &[u32],
    summary: &RunSummary,
    net: &BaseNetworkConfig,
) -> std::result::Result<(), String> {
    if predicted.is_empty() {
        return Err("no prediction recorded".into());
    }
    if let Some(i) = predicted
        .iter()
        .position(|&c| c as usize >= net.num_classes)
    {
        return Err(format!(
            "line {}: class {} of a network with {} classes",
            i + 2,
            predicted[i],
            net.num_classes
        ));
    }
    let hits = summary.test_acc * predicted.len() as f64;
    if (hits - hits.round()).abs() > 1e-6 {
        return Err(format!(
            "{} predictions cannot give the summary's test accuracy {}",
            predicted.len(),
            summary.test_acc
        ));
    }
    Ok(())
}

/// A share of something, as every accuracy and dead share is: finite and in [0, 1].
fn is_share(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

/// A count of seconds, a loss, a norm: finite and not negative.
fn is_amount(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

fn check_summary(summary: &RunSummary, name: &str) -> std::result::Result<(), String> {
    let max = summary.train_config.max_epochs;
    if summary.name != name {
        return Err(format!(
            "it is the summary of {:?}, not of {name:?}",
            summary.name
        ));
    }
    if !is_share(summary.test_acc) || !is_share(summary.best_val_acc) {
        return Err(format!(
            "accuracies must be in [0, 1], got test_acc {} and best_val_acc {}",
            summary.test_acc, summary.best_val_acc
        ));
    }
    if summary.epochs_run == 0 || summary.epochs_run > max {
        return Err(format!(
            "epochs_run {} is not between 1 and the run's max_epochs {max}",
            summary.epochs_run
        ));
    }
    if summary.best_epoch == 0 || summary.best_epoch > summary.epochs_run {
        return Err(format!(
            "best_epoch {} is not between 1 and epochs_run {}",
            summary.best_epoch, summary.epochs_run
        ));
    }
    if !is_amount(summary.seconds) {
        return Err(format!("seconds {} is not a duration", summary.seconds));
    }
    Ok(())
}

fn check_metrics(
    metrics: &[EpochMetrics],
    summary: &RunSummary,
) -> std::result::Result<(), String> {
    if metrics.len() != summary.epochs_run {
        return Err(format!(
            "{} epochs recorded, but the summary says {} were trained",
            metrics.len(),
            summary.epochs_run
        ));
    }
    for (i, m) in metrics.iter().enumerate() {
        let line = i + 2;
        if m.epoch != i + 1 {
            return Err(format!(
                "line {line}: epoch {}, expected {}",
                m.epoch,
                i + 1
            ));
        }
        if !is_share(m.train_acc) || !is_share(m.val_acc) {
            return Err(format!(
                "line {line}: accuracies must be in [0, 1], got {} and {}",
                m.train_acc, m.val_acc
            ));
        }
        if !is_amount(m.train_loss) || !is_amount(m.seconds) || !is_amount(m.samples_per_second) {
            return Err(format!(
                "line {line}: the loss, the seconds and the speed must be finite and not negative"
            ));
        }
    }
    let best = metrics[summary.best_epoch - 1].val_acc;
    if (best - summary.best_val_acc).abs() > 1e-9 {
        return Err(format!(
            "the best epoch {} has validation accuracy {best}, but the summary says {}",
            summary.best_epoch, summary.best_val_acc
        ));
    }
    Ok(())
}

fn check_dynamics(
    dynamics: &[LayerDynamics],
    summary: &RunSummary,
    net: &BaseNetworkConfig,
) -> std::result::Result<(), String> {
    let layers = net.layer_shapes().len();
    for (i, d) in dynamics.iter().enumerate() {
        let line = i + 2;
        // Epoch 0 is the initial network.
        if d.epoch > summary.epochs_run {
            return Err(format!(
                "line {line}: epoch {} is not between 0 and epochs_run {}",
                d.epoch, summary.epochs_run
            ));
        }
        if d.layer >= layers {
            return Err(format!(
                "line {line}: layer {} is not one of the network's {layers} layers",
                d.layer
            ));
        }
        if !is_amount(d.weight_grad_norm) {
            return Err(format!(
                "line {line}: the gradient norm {} is not a norm",
                d.weight_grad_norm
            ));
        }
        if let Some(a) = &d.activation
            && (d.layer + 1 == layers
                || !is_share(a.dead_share)
                || !a.mean.is_finite()
                || !is_amount(a.std))
        {
            return Err(format!(
                "line {line}: the activation numbers of layer {} are out of range",
                d.layer
            ));
        }
    }
    Ok(())
}

/// Moves a run's files (its run folder and its checkpoint) into
/// `<dir>/set-aside/<name>-<n>/` with a `reason.txt`, and returns that folder. Nothing is
/// deleted: a person can look at what went wrong, and remove the folder when done.
pub fn set_aside(dir: &Path, name: &str, reason: &str) -> Result<PathBuf> {
    let files = RunFiles::new(dir, name);
    let aside_root = dir.join("set-aside");
    std::fs::create_dir_all(&aside_root).map_err(io_error(&aside_root))?;
    // The first free number: a run set aside twice keeps both.
    let mut n = 1usize;
    let target = loop {
        let candidate = aside_root.join(format!("{name}-{n}"));
        match std::fs::create_dir(&candidate) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(io_error(&candidate)(e)),
        }
    };
    let reason_path = target.join("reason.txt");
    actfn_io::atomic_write(&reason_path, format!("{reason}\n").as_bytes())?;
    // The checkpoint first: a crash midway then leaves a summary without its checkpoint, which
    // reads as damaged again, never a checkpoint without records, which reads as imported.
    for path in [&files.weights, &files.config, &files.run] {
        if let Some(file_name) = path.file_name()
            && path.exists()
        {
            let to = target.join(file_name);
            std::fs::rename(path, &to).map_err(io_error(path))?;
        }
    }
    Ok(target)
}
