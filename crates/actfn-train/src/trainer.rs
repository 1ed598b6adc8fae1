//! The study's `train_model`: the training loop with early stopping, the best checkpoint and its
//! test accuracy, and the run's records: what a run is, its files, and whether to reuse, resume
//! or start it; the run in progress is `session`.

use std::path::{Path, PathBuf};

use actfn_data::{EVAL_BATCH_SIZE, Splits};
use actfn_model::{BaseNetwork, BaseNetworkConfig, Init, weights_path};
use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::error::io_error;
use crate::metrics::{LayerDynamics, read_dynamics_csv};
use crate::resume;
use crate::session::{EpochData, Session};
use crate::{
    EpochMetrics, Error, Observer, Result, RunSummary, SgdConfig, accuracy, first_difference,
    read_metrics_csv, read_summary,
};

/// Training images on which the dynamics (dead neurons, activation statistics) are measured
/// after every epoch: the first of the training split. 1024 images cost about 1% of an epoch
/// of the study's network (measured in `cargo xtask bench`).
pub const PROBE_IMAGES: usize = 1024;

/// The settings of a training run. `Default` is the study's: at most 50 epochs, patience 7,
/// batch 256 (evaluation 1024), SGD lr 0.01 momentum 0.9, seed 42, PyTorch's initialization,
/// split seed 42, the full training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The most epochs to train.
    pub max_epochs: usize,
    /// Epochs without a better validation accuracy before stopping.
    pub patience: usize,
    /// Training batch size (the last short batch of an epoch is dropped, as the study does).
    pub batch_size: usize,
    /// Batch size of validation and test passes.
    pub eval_batch_size: usize,
    /// The optimizer.
    pub optimizer: SgdConfig,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
    /// How the initial weights are drawn (runs recorded before the setting existed used
    /// PyTorch's, the study's).
    #[serde(default)]
    pub init: Init,
    /// Seed of the train/validation split the run was given (a record: the caller splits).
    #[serde(default = "study_split_seed")]
    pub split_seed: u64,
    /// Train on the first `subset` images of the training split only (quick runs).
    pub subset: Option<usize>,
}

/// The study's split seed, 42 (also what runs recorded before the field existed used).
fn study_split_seed() -> u64 {
    42
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            max_epochs: 50,
            patience: 7,
            batch_size: 256,
            eval_batch_size: EVAL_BATCH_SIZE,
            optimizer: SgdConfig::default(),
            seed: 42,
            init: Init::PyTorch,
            split_seed: study_split_seed(),
            subset: None,
        }
    }
}

impl TrainConfig {
    /// Checks every setting's range, naming the one at fault.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("max_epochs (--epochs)", self.max_epochs),
            ("batch_size (--batch-size)", self.batch_size),
            ("eval_batch_size", self.eval_batch_size),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(Error::InvalidSetting(format!(
                    "{name} must be at least 1, got 0"
                )));
            }
        }
        if self.subset == Some(0) {
            return Err(Error::InvalidSetting(
                "--subset must be at least 1, got 0".into(),
            ));
        }
        self.optimizer.validate().map_err(Error::InvalidSetting)
    }
}

/// The folder that holds a run's `train_config.json`, `metrics.csv`, `dynamics.csv` and
/// `summary.json`: `<checkpoint_dir>/<name>/`, beside the checkpoint
/// `<checkpoint_dir>/<name>.{config,safetensors}`.
pub fn run_dir(checkpoint_dir: &Path, name: &str) -> PathBuf {
    checkpoint_dir.join(name)
}

/// What [`train`] does when the run's checkpoint exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Load a finished run instead of training (its settings must be the ones asked for) and
    /// continue an interrupted one from its last finished epoch.
    #[default]
    Reuse,
    /// Forget the previous run and train from the start.
    Overwrite,
}

/// One training run: the network, the settings, and where its files go.
#[derive(Debug, Clone)]
pub struct Run {
    /// The network to train.
    pub net: BaseNetworkConfig,
    /// How to train it.
    pub config: TrainConfig,
    /// The checkpoint folder: `<dir>/<name>.{config,safetensors}` and the run folder
    /// [`run_dir`].
    pub dir: PathBuf,
    /// The checkpoint's name, e.g. `FashionMNIST_relu`.
    pub name: String,
    /// What to do with an existing run.
    pub existing: Existing,
}

/// The result of [`train`].
#[derive(Debug)]
pub struct Outcome {
    /// The best checkpoint, reloaded.
    pub network: BaseNetwork,
    /// Its test accuracy.
    pub test_acc: f64,
    /// Whether this call trained (false when a finished run was loaded).
    pub trained: bool,
    /// The run's summary: this run's, or the saved one of the run that made the checkpoint (none
    /// for a checkpoint made elsewhere, e.g. imported).
    pub summary: Option<RunSummary>,
    /// Per-epoch metrics: this run's, or the saved ones (empty when there are none).
    pub metrics: Vec<EpochMetrics>,
    /// Per-epoch dynamics of each layer: this run's, or the saved ones (empty when there are
    /// none).
    pub dynamics: Vec<LayerDynamics>,
}

/// The paths of one run's files.
pub(crate) struct RunFiles {
    run: PathBuf,
    weights: PathBuf,
    pub(crate) summary: PathBuf,
    pub(crate) metrics: PathBuf,
    pub(crate) dynamics: PathBuf,
    pub(crate) state: PathBuf,
    train_config: PathBuf,
}

impl RunFiles {
    fn new(dir: &Path, name: &str) -> Self {
        let run = run_dir(dir, name);
        Self {
            weights: weights_path(dir, name),
            summary: run.join("summary.json"),
            metrics: run.join("metrics.csv"),
            dynamics: run.join("dynamics.csv"),
            state: resume::state_path(&run),
            train_config: run.join("train_config.json"),
            run,
        }
    }

    /// A finished run: a checkpoint whose run folder holds a summary, or a checkpoint without a
    /// run folder (made elsewhere). A run folder without a summary has not finished.
    fn finished(&self) -> bool {
        self.weights.is_file() && (self.summary.is_file() || !self.run.exists())
    }
}

/// Trains a network as the study's `train_model` does, or loads the finished run (see
/// [`Existing`]).
///
/// The network starts from the seeded initial weights (the same for every activation). After
/// each epoch a new best validation accuracy saves the checkpoint; `patience` epochs without one
/// stop the run. The best checkpoint is then reloaded and its test accuracy measured. The run
/// folder ([`run_dir`]) receives `train_config.json`, `metrics.csv` and `dynamics.csv`
/// (rewritten after every epoch) and `summary.json`.
///
/// After every epoch the whole training state is saved atomically to `resume.safetensors` in
/// the run folder; a run that was killed continues from its last finished epoch and ends exactly
/// as an uninterrupted run would. A saved run whose settings differ is refused, naming the
/// setting ([`Error::SettingsDiffer`]).
pub fn train(run: &Run, splits: &Splits, observer: &mut dyn Observer) -> Result<Outcome> {
    run.config.validate()?;
    run.net.validate()?;
    let files = RunFiles::new(&run.dir, &run.name);
    let device = splits.train.images.device().clone();
    if let Some(outcome) = reuse_or_forget(run, &files, splits, &device, observer)? {
        return Ok(outcome);
    }
    let train_split = match run.config.subset {
        Some(n) => splits.train.head(n)?,
        None => splits.train.clone(),
    };
    let steps = train_split.len() / run.config.batch_size;
    if steps == 0 {
        return Err(Error::InvalidSetting(format!(
            "{} training images make no full batch of {}: lower --batch-size or raise --subset",
            train_split.len(),
            run.config.batch_size
        )));
    }
    std::fs::create_dir_all(&files.run).map_err(io_error(&files.run))?;
    let config_json = serde_json::to_string_pretty(&run.config).map_err(|e| Error::Corrupt {
        path: files.train_config.clone(),
        reason: format!("cannot serialize the settings: {e}"),
    })?;
    actfn_io::atomic_write(&files.train_config, config_json.as_bytes())?;

    let mut session = Session::start(run, &device)?;
    if files.state.is_file() {
        session.restore(&files.state, &run.name, observer)?;
    }
    let probe = train_split.head(PROBE_IMAGES)?.images;
    while let Some(epoch) = session.next_epoch(run.config.max_epochs) {
        let data = EpochData {
            train: &train_split,
            steps,
            val: &splits.val,
            probe: &probe,
        };
        session.epoch(epoch, &data, run, &files, observer)?;
    }
    session.finish(run, &files, &splits.test)
}

/// Loads a finished run when asked to reuse it; forgets the previous run's records when asked
/// to overwrite. `None` means: train.
fn reuse_or_forget(
    run: &Run,
    files: &RunFiles,
    splits: &Splits,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    let name = &run.name;
    let finished = files.finished();
    if run.existing == Existing::Overwrite {
        // Forget the previous run first, so that a retraining killed midway never looks finished.
        for path in [&files.state, &files.summary] {
            if path.is_file() {
                std::fs::remove_file(path).map_err(io_error(path))?;
            }
        }
        if finished {
            observer.message(&format!(
                "{name}: checkpoint exists, but will be overwritten"
            ));
        }
        return Ok(None);
    }
    if !finished {
        return Ok(None);
    }
    let network = BaseNetwork::load(&run.dir, name, device)?;
    // A checkpoint made elsewhere (e.g. imported) has no run folder and no records; a run
    // folder's records must read.
    let (summary, metrics, dynamics) = if files.run.exists() {
        let dynamics = if files.dynamics.is_file() {
            read_dynamics_csv(&files.dynamics)?
        } else {
            // Runs recorded before the dynamics existed have none.
            Vec::new()
        };
        (
            Some(read_summary(&files.summary)?),
            read_metrics_csv(&files.metrics)?,
            dynamics,
        )
    } else {
        (None, Vec::new(), Vec::new())
    };
    // What defines the experiment; the device and the thread count only change the last bits.
    #[derive(Serialize)]
    struct Experiment<'a> {
        net: &'a BaseNetworkConfig,
        train: &'a TrainConfig,
    }
    let saved = Experiment {
        net: network.config(),
        train: summary.as_ref().map_or(&run.config, |s| &s.train_config),
    };
    let now = Experiment {
        net: &run.net,
        train: &run.config,
    };
    let difference = first_difference(&saved, &now).map_err(|e| Error::Corrupt {
        path: files.summary.clone(),
        reason: format!("cannot compare the saved settings: {e}"),
    })?;
    if let Some(difference) = difference {
        let path = if summary.is_some() {
            files.summary.clone()
        } else {
            actfn_model::config_path(&run.dir, name)
        };
        return Err(Error::SettingsDiffer { path, difference });
    }
    observer.message(&format!(
        "{name}: checkpoint exists, skipping training (--overwrite retrains)"
    ));
    let test_acc = accuracy(&network, &splits.test, run.config.eval_batch_size)?;
    Ok(Some(Outcome {
        network,
        test_acc,
        trained: false,
        summary,
        metrics,
        dynamics,
    }))
}
