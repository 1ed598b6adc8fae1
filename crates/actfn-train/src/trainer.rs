//! The study's `train_model`: the training loop with early stopping, the best checkpoint and its
//! test accuracy, and the run's records: what a run is, its files, and whether to reuse, resume
//! or start it; the run in progress is `session`.

use std::path::PathBuf;

use actfn_data::{EVAL_BATCH_SIZE, Splits};
use actfn_model::{BaseNetwork, BaseNetworkConfig, Init};
use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::error::io_error;
use crate::metrics::LayerDynamics;
use crate::record::{RunFiles, RunState, experiment_difference, inspect, set_aside};
use crate::session::{EpochData, Session};
use crate::{EpochMetrics, Error, Observer, OptimizerConfig, Result, RunSummary, accuracy};

/// Training images on which the dynamics (dead neurons, activation statistics) are measured
/// after every epoch: the first of the training split. 1024 images cost about 1% of an epoch
/// of the study's network (measured in `cargo xtask bench`).
pub(crate) const PROBE_IMAGES: usize = 1024;

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
    pub optimizer: OptimizerConfig,
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
            optimizer: OptimizerConfig::default(),
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

/// Bytes that the data set occupies while a run trains: Fashion-MNIST's 70,000 images as f32
/// (219 MB), with room for its labels and the split's copies of them.
const DATA_BYTES: u64 = 250 << 20;

/// A rough upper estimate of the memory a run of `net` with `config` takes on `threads` CPU
/// threads, in bytes: the weights, their gradients, the optimizer's state (momentum, or Adam's two moments) and each thread's share
/// of the gradients, every layer's activations for the larger of the training and evaluation
/// batches (four buffers a layer: pre-activation, activation, derivative, gradient), and the
/// data set. The study's network comes to about 300 MB (its peak is measured in docs/bench/):
/// the estimate is for refusing a network that cannot fit before allocating it.
pub fn memory_estimate(net: &BaseNetworkConfig, config: &TrainConfig, threads: usize) -> u64 {
    let parameters: u64 = net
        .parameter_shapes()
        .iter()
        .map(|(_, shape)| shape.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64)))
        .fold(0, u64::saturating_add);
    let widths: u64 = net
        .layer_shapes()
        .iter()
        .map(|&(inputs, outputs)| inputs as u64 + outputs as u64)
        .fold(0, u64::saturating_add);
    let rows = config.batch_size.max(config.eval_batch_size) as u64;
    let f32s = parameters
        .saturating_mul(2 + config.optimizer.state_copies() + threads as u64)
        .saturating_add(rows.saturating_mul(widths).saturating_mul(4));
    f32s.saturating_mul(4).saturating_add(DATA_BYTES)
}

/// What [`train`] does with a run already on disk. Whatever the choice, a run that looks
/// finished but fails the soundness check ([`inspect`](crate::inspect)) is set aside (never
/// deleted) and trained again, and so is an interrupted run whose saved state does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Existing {
    /// Load a finished run instead of training and continue an interrupted one from its last
    /// finished epoch; a run made with other settings is refused, naming the setting.
    #[default]
    Reuse,
    /// As `Reuse`, but a run made with other settings is set aside and trained anew with these,
    /// and so is a checkpoint without records: for a caller that made every run of its folder
    /// and whose settings are the authority over it (a sweep).
    Replace,
    /// Forget the previous run (its records and checkpoint are removed) and train from the
    /// start.
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
    /// [`run_dir`](crate::run_dir).
    pub dir: PathBuf,
    /// The checkpoint's name, e.g. `FashionMNIST_relu`.
    pub name: String,
    /// What to do with an existing run.
    pub existing: Existing,
    /// What the run writes beside its records.
    pub outputs: Outputs,
}

/// What a run writes beside its records (checkpoint, metrics, dynamics, summary, predictions).
/// `Default`: TensorBoard events too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    /// TensorBoard events in the run folder: `tensorboard --logdir` on the checkpoint (or
    /// sweep) folder shows the run.
    pub tensorboard: bool,
}

impl Default for Outputs {
    fn default() -> Self {
        Self { tensorboard: true }
    }
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

/// Trains a network as the study's `train_model` does, or loads the finished run (see
/// [`Existing`]).
///
/// The network starts from the seeded initial weights (the same for every activation). After
/// each epoch a new best validation accuracy saves the checkpoint; `patience` epochs without one
/// stop the run. The best checkpoint is then reloaded and its test accuracy measured. The run
/// folder ([`run_dir`](crate::run_dir)) receives `train_config.json`, `metrics.csv` and
/// `dynamics.csv` (rewritten after every epoch) and `summary.json`.
///
/// After every epoch the whole training state is saved atomically to `resume.safetensors` in
/// the run folder; a run that was killed continues from its last finished epoch and ends exactly
/// as an uninterrupted run would. A saved run whose settings differ is refused, naming the
/// setting ([`Error::SettingsDiffer`]), or set aside with [`Existing::Replace`]. A run that looks
/// finished but fails the soundness check ([`inspect`](crate::inspect)), or whose saved state
/// does not read, is set aside ([`set_aside`](crate::set_aside)) and trained again.
pub fn train(run: &Run, splits: &Splits, observer: &mut dyn Observer) -> Result<Outcome> {
    run.config.validate()?;
    run.net.validate()?;
    let files = RunFiles::new(&run.dir, &run.name);
    let device = splits.train.images.device().clone();
    let train_split = match run.config.subset {
        // `head` would quietly take the whole split: a run that says it trained on more
        // images than there are would be a false record.
        Some(n) if n > splits.train.len() => {
            return Err(Error::InvalidSetting(format!(
                "--subset {n} is above the {} images of the training split: give at most that",
                splits.train.len()
            )));
        }
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
    if let Some(outcome) = reuse_or_forget(run, &files, splits, &device, observer)? {
        return Ok(outcome);
    }
    let mut session = Session::start(run, &device)?;
    if files.state.is_file()
        && let Err(e) = session.restore(&files.state, &run.name, observer)
    {
        // A state that does not read, or whose tensors do not fit the network, is damaged; one
        // made with other settings is the caller's to judge; a file that cannot be opened is
        // the machine's problem, not the run's.
        let set_aside_it = match &e {
            Error::SettingsDiffer { .. } => run.existing == Existing::Replace,
            Error::Io { .. } => false,
            _ => true,
        };
        if !set_aside_it {
            return Err(e);
        }
        let aside = set_aside(&run.dir, &run.name, &e.to_string())?;
        observer.message(&format!(
            "{}: cannot continue ({e}); set aside in {} and started over",
            run.name,
            aside.display()
        ));
        session = Session::start(run, &device)?;
    }
    std::fs::create_dir_all(&files.run).map_err(io_error(&files.run))?;
    let config_json = serde_json::to_string_pretty(&run.config).map_err(|e| Error::Corrupt {
        path: files.train_config.clone(),
        reason: format!("cannot serialize the settings: {e}"),
    })?;
    actfn_io::atomic_write(&files.train_config, config_json.as_bytes())?;

    let probe = train_split.head(PROBE_IMAGES)?.images;
    // The study's gradients at initialization are taken on one batch of training images.
    let first_batch = train_split.head(run.config.batch_size)?;
    session.measure_initial(&first_batch, &probe)?;
    if run.outputs.tensorboard {
        session.open_events(run, &files, &first_batch)?;
    }
    while let Some(epoch) = session.next_epoch(run.config.max_epochs) {
        let data = EpochData {
            train: &train_split,
            steps,
            val: &splits.val,
            probe: &probe,
        };
        session.epoch(epoch, &data, run, &files, observer)?;
    }
    session.finish(run, &files, &splits.test, &probe)
}

/// Loads a finished run when asked to reuse it, sets aside what cannot be reused, and forgets
/// the previous run when asked to overwrite. `None` means: train.
fn reuse_or_forget(
    run: &Run,
    files: &RunFiles,
    splits: &Splits,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    let name = &run.name;
    if run.existing == Existing::Overwrite {
        // Forget the previous run wholly, first, so that a retraining that fails midway never
        // leaves the new settings beside the old records and checkpoint.
        let mut forgot = false;
        if files.run.exists() {
            std::fs::remove_dir_all(&files.run).map_err(io_error(&files.run))?;
            forgot = true;
        }
        for path in [&files.weights, &files.config] {
            if path.exists() {
                std::fs::remove_file(path).map_err(io_error(path))?;
                forgot = true;
            }
        }
        if forgot {
            observer.message(&format!(
                "{name}: the previous run is removed (--overwrite)"
            ));
        }
        return Ok(None);
    }
    // The settings the saved run was made with, and the file that records them.
    let (saved_net, saved_train, record_path, record) = match inspect(&run.dir, name) {
        RunState::Absent | RunState::Unfinished => return Ok(None),
        RunState::Damaged(damage) => {
            let aside = set_aside(&run.dir, name, &damage.to_string())?;
            observer.message(&format!(
                "{name}: damaged ({damage}); set aside in {} and trained again",
                aside.display()
            ));
            return Ok(None);
        }
        // A caller that made every run of its folder has lost this one's records.
        RunState::Imported(_) if run.existing == Existing::Replace => {
            let reason = format!(
                "{}: missing, so the checkpoint beside it has no records",
                files.run.display()
            );
            let aside = set_aside(&run.dir, name, &reason)?;
            observer.message(&format!(
                "{name}: damaged ({reason}); set aside in {} and trained again",
                aside.display()
            ));
            return Ok(None);
        }
        // A checkpoint made elsewhere has no records: only its network can be compared.
        RunState::Imported(net) => (net, run.config.clone(), files.config.clone(), None),
        RunState::Finished(record) => (
            record.net.clone(),
            record.summary.train_config.clone(),
            files.summary.clone(),
            Some(*record),
        ),
    };
    let difference = experiment_difference(&saved_net, &saved_train, &run.net, &run.config)
        .map_err(|e| Error::Corrupt {
            path: record_path.clone(),
            reason: format!("cannot compare the saved settings: {e}"),
        })?;
    if let Some(difference) = difference {
        if run.existing != Existing::Replace {
            return Err(Error::SettingsDiffer {
                path: record_path,
                difference,
            });
        }
        let aside = set_aside(
            &run.dir,
            name,
            &format!("made with other settings ({difference})"),
        )?;
        observer.message(&format!(
            "{name}: made with other settings ({difference}); set aside in {} and trained anew",
            aside.display()
        ));
        return Ok(None);
    }
    observer.message(&format!(
        "{name}: checkpoint exists, skipping training (--overwrite retrains)"
    ));
    let network = BaseNetwork::load(&run.dir, name, device)?;
    let test_acc = accuracy(&network, &splits.test, run.config.eval_batch_size)?;
    let (summary, metrics, dynamics) = match record {
        Some(r) => (Some(r.summary), r.metrics, r.dynamics),
        None => (None, Vec::new(), Vec::new()),
    };
    Ok(Some(Outcome {
        network,
        test_acc,
        trained: false,
        summary,
        metrics,
        dynamics,
    }))
}
