//! The study's `train_model` and `test_model`: the training loop, early stopping, the best
//! checkpoint, and the test accuracy of that checkpoint.

use std::path::{Path, PathBuf};
use std::time::Instant;

use actfn_data::{Split, Splits};
use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig, weights_path};
use candle_core::{D, DType, Tensor, Var};
use candle_nn::Optimizer;
use serde::{Deserialize, Serialize};

use crate::metrics::write_summary;
use crate::resume;
use crate::{
    EarlyStopping, EpochMetrics, Error, Observer, Result, RunSummary, Sgd, SgdConfig, Verdict,
    read_metrics_csv, read_summary, write_metrics_csv,
};

/// The settings of a training run. `Default` is the study's: at most 50 epochs, patience 7,
/// batch 256 (evaluation 1024), SGD lr 0.01 momentum 0.9, seed 42, the full training split.
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
    /// Train on the first `subset` images of the training split only (quick runs).
    pub subset: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            max_epochs: 50,
            patience: 7,
            batch_size: 256,
            eval_batch_size: 1024,
            optimizer: SgdConfig::default(),
            seed: 42,
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

/// The folder that holds a run's `train_config.json`, `metrics.csv` and `summary.json`:
/// `<checkpoint_dir>/<name>/`, beside the checkpoint `<checkpoint_dir>/<name>.{config,safetensors}`.
pub fn run_dir(checkpoint_dir: &Path, name: &str) -> PathBuf {
    checkpoint_dir.join(name)
}

/// The result of [`train`].
#[derive(Debug)]
pub struct Outcome {
    /// The best checkpoint, reloaded.
    pub network: BaseNetwork,
    /// Its test accuracy.
    pub test_acc: f64,
    /// Whether this call trained (false when an existing checkpoint skipped training).
    pub trained: bool,
    /// The run's summary: this run's, or the saved one of the run that made the checkpoint (none
    /// for a checkpoint made elsewhere, e.g. imported).
    pub summary: Option<RunSummary>,
    /// Per-epoch metrics: this run's, or the saved ones of the run that made the checkpoint
    /// (empty when there are none).
    pub metrics: Vec<EpochMetrics>,
}

/// The share of `split` that `net` classifies correctly, in batches of `batch_size`, in order.
pub fn accuracy(net: &BaseNetwork, split: &Split, batch_size: usize) -> Result<f64> {
    if split.is_empty() {
        return Err(Error::InvalidSetting(
            "cannot measure accuracy on an empty split".into(),
        ));
    }
    let mut correct = 0.0f64;
    for batch in split.batches(batch_size, None, false)? {
        let (images, labels) = batch?;
        correct += count_correct(&net.forward_no_grad(&images)?, &labels)?;
    }
    Ok(correct / split.len() as f64)
}

/// How many rows of `logits` have their maximum at the label.
fn count_correct(logits: &Tensor, labels: &Tensor) -> Result<f64> {
    let hits = logits
        .argmax(D::Minus1)?
        .eq(labels)?
        .to_dtype(DType::F32)?
        .sum_all()?;
    Ok(f64::from(hits.to_scalar::<f32>()?))
}

/// What one training step measured on its batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepResult {
    /// The batch's mean cross-entropy, before the update.
    pub loss: f32,
    /// How many images of the batch the network classified correctly, before the update.
    pub correct: f64,
}

/// One step of the study's training on a batch: forward, cross-entropy, backward, update. The
/// backward pass is the network's written-out backpropagation (checked against autograd in the
/// model's tests). When the loss is not finite the parameters are left as they are, and the
/// caller decides what to do.
pub fn train_step(
    net: &BaseNetwork,
    optimizer: &mut Sgd,
    images: &Tensor,
    labels: &Tensor,
) -> Result<StepResult> {
    // The step runs on a worker of rayon's pool, so each of its parallel phases forks from a
    // thread that takes part in it while the other workers are still awake from the last one;
    // called from outside, every phase would wake the pool and put this thread to sleep.
    rayon::scope(|_| {
        let step = net.loss_and_gradients(images, labels)?;
        let loss = step.loss.to_scalar::<f32>()?;
        let correct = count_correct(&step.logits, labels)?;
        if loss.is_finite() {
            optimizer.step(&step.grads)?;
        }
        Ok(StepResult { loss, correct })
    })
}

/// Trains a network as the study's `train_model` does, or skips training when
/// `<dir>/<name>.safetensors` exists, its run is finished and `overwrite` is false.
///
/// The network starts from the seeded initial weights (the same for every activation). After
/// each epoch a new best validation accuracy saves the checkpoint; `patience` epochs without one
/// stop the run. The best checkpoint is then reloaded and its test accuracy measured. The run
/// folder ([`run_dir`]) receives `train_config.json`, `metrics.csv` (rewritten after every epoch)
/// and `summary.json`.
///
/// After every epoch the whole training state is saved atomically to `resume.safetensors` in
/// the run folder; a run that was killed continues from its last finished epoch and ends exactly
/// as an uninterrupted run would. A saved state whose settings differ is refused, naming the
/// setting; `overwrite` starts over.
pub fn train(
    net_config: &BaseNetworkConfig,
    config: &TrainConfig,
    splits: &Splits,
    dir: &Path,
    name: &str,
    overwrite: bool,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    config.validate()?;
    net_config.validate()?;
    let device = splits.train.images.device().clone();
    let run = run_dir(dir, name);
    let summary_path = run.join("summary.json");
    let state_path = resume::state_path(&run);
    let file_error = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| Error::File {
            path,
            reason: e.to_string(),
        }
    };
    // A run folder without a summary is a run that has not finished (it may have been killed
    // before its first saved state); a checkpoint without a run folder was made elsewhere.
    let finished = weights_path(dir, name).is_file() && (summary_path.is_file() || !run.exists());
    if overwrite {
        // Forget the previous run first, so that a retraining killed midway never looks finished.
        for path in [&state_path, &summary_path] {
            if path.is_file() {
                std::fs::remove_file(path).map_err(file_error(path))?;
            }
        }
        if finished {
            observer.message(&format!(
                "{name}: checkpoint exists, but will be overwritten"
            ));
        }
    } else if finished {
        observer.message(&format!(
            "{name}: checkpoint exists, skipping training (--overwrite retrains)"
        ));
        let network = BaseNetwork::load(dir, name, &device)?;
        let test_acc = accuracy(&network, &splits.test, config.eval_batch_size)?;
        // A checkpoint made elsewhere (e.g. imported) has no run records; that is not an error.
        let summary = read_summary(&summary_path).ok();
        let metrics = read_metrics_csv(&run.join("metrics.csv")).unwrap_or_default();
        return Ok(Outcome {
            network,
            test_acc,
            trained: false,
            summary,
            metrics,
        });
    }

    let started = Instant::now();
    let train_split = match config.subset {
        Some(n) => splits.train.head(n)?,
        None => splits.train.clone(),
    };
    let steps = train_split.len() / config.batch_size;
    if steps == 0 {
        return Err(Error::InvalidSetting(format!(
            "{} training images make no full batch of {}: lower --batch-size or raise --subset",
            train_split.len(),
            config.batch_size
        )));
    }
    std::fs::create_dir_all(&run).map_err(file_error(&run))?;
    let config_json = serde_json::to_string_pretty(config).map_err(|e| Error::File {
        path: run.join("train_config.json"),
        reason: e.to_string(),
    })?;
    actfn_model::atomic_write(&run.join("train_config.json"), config_json.as_bytes())?;

    let settings = resume::Settings {
        net: net_config.clone(),
        train: config.clone(),
        device: actfn_model::device_name(&device),
        threads: candle_core::utils::get_num_threads(),
    };
    let (net, varmap) = BaseNetwork::seeded(net_config.clone(), config.seed, &device)?;
    let vars = named_vars(&varmap, net_config)?;
    let mut optimizer = Sgd::new(
        vars.iter().map(|(_, v)| v.clone()).collect(),
        config.optimizer,
    )?;
    let mut shuffle = rng::seeded(config.seed, Stream::Shuffle);
    let mut stopping = EarlyStopping::new(config.patience);
    let mut metrics = Vec::new();
    let mut stopped_early = false;
    let mut seconds_before = 0.0;

    if state_path.is_file() {
        let (state, tensors) = resume::load(&state_path, &device)?;
        if let Some(difference) = resume::first_difference(&state.settings, &settings) {
            return Err(Error::InvalidSetting(format!(
                "{}: the saved run has other settings ({difference}); rerun with the saved settings to \
                 resume, or with --overwrite to start over",
                state_path.display()
            )));
        }
        let missing = |key: String| Error::File {
            path: state_path.clone(),
            reason: format!("tensor {key} is missing; rerun with --overwrite to start over"),
        };
        let mut buffers = Vec::with_capacity(vars.len());
        for (name, var) in &vars {
            let key = format!("param.{name}");
            var.set(tensors.get(&key).ok_or_else(|| missing(key.clone()))?)?;
            buffers.push(tensors.get(&format!("momentum.{name}")).cloned());
        }
        optimizer.set_buffers(buffers)?;
        let word_pos: u128 = state.shuffle_word_pos.parse().map_err(|_| Error::File {
            path: state_path.clone(),
            reason: "a corrupt generator position; rerun with --overwrite to start over".into(),
        })?;
        shuffle.set_word_pos(word_pos);
        stopping = state.stopping;
        metrics = state.metrics;
        stopped_early = state.stopped_early;
        seconds_before = state.seconds;
        observer.message(&format!(
            "{name}: resuming after epoch {}",
            state.epochs_done
        ));
    }

    let first_epoch = metrics.len() + 1;
    for epoch in first_epoch..=config.max_epochs {
        if stopped_early {
            break;
        }
        let epoch_started = Instant::now();
        observer.epoch_started(epoch, steps);
        let (mut loss_sum, mut correct) = (0.0f64, 0.0f64);
        for (step, batch) in train_split
            .batches(config.batch_size, Some(&mut shuffle), true)?
            .enumerate()
        {
            let (images, labels) = batch?;
            let StepResult {
                loss: loss_value,
                correct: batch_correct,
            } = train_step(&net, &mut optimizer, &images, &labels)?;
            if !loss_value.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    step: step + 1,
                    loss: loss_value,
                });
            }
            correct += batch_correct;
            loss_sum += f64::from(loss_value);
            observer.step_finished(step + 1, loss_value);
        }
        let train_seconds = epoch_started.elapsed().as_secs_f64();
        let val_acc = accuracy(&net, &splits.val, config.eval_batch_size)?;
        let verdict = stopping.record(val_acc);
        if verdict == Verdict::NewBest {
            net.save(dir, name)?;
        }
        let record = EpochMetrics {
            epoch,
            train_loss: loss_sum / steps as f64,
            train_acc: correct / (steps * config.batch_size) as f64,
            val_acc,
            seconds: epoch_started.elapsed().as_secs_f64(),
            samples_per_second: (steps * config.batch_size) as f64 / train_seconds,
        };
        observer.epoch_finished(&record, verdict);
        metrics.push(record);
        stopped_early = verdict == Verdict::Stop;
        write_metrics_csv(&run.join("metrics.csv"), &metrics)?;
        let state = resume::EpochState {
            settings: settings.clone(),
            epochs_done: epoch,
            stopped_early,
            stopping: stopping.clone(),
            shuffle_word_pos: shuffle.get_word_pos().to_string(),
            metrics: metrics.clone(),
            seconds: seconds_before + started.elapsed().as_secs_f64(),
        };
        resume::save(&state_path, &state, &vars, &optimizer)?;
    }

    let network = BaseNetwork::load(dir, name, &device)?;
    let test_acc = accuracy(&network, &splits.test, config.eval_batch_size)?;
    let summary = RunSummary {
        name: name.to_string(),
        act_fn: net_config.act_fn.name().to_string(),
        best_epoch: stopping.best_epoch().map_or(0, |e| e + 1),
        best_val_acc: stopping.best_score().unwrap_or(0.0),
        test_acc,
        epochs_run: metrics.len(),
        stopped_early,
        seconds: seconds_before + started.elapsed().as_secs_f64(),
        device: settings.device.clone(),
        threads: settings.threads,
        train_config: config.clone(),
    };
    write_summary(&summary_path, &summary)?;
    // The run is finished: without its state, the checkpoint now means "done".
    std::fs::remove_file(&state_path).map_err(file_error(&state_path))?;
    Ok(Outcome {
        network,
        test_acc,
        trained: true,
        summary: Some(summary),
        metrics,
    })
}

/// The network's variables in parameter order (`layers.0.weight`, `layers.0.bias`, ...): a
/// `VarMap` iterates in hash order, which differs between processes, and the saved momentum
/// buffers must meet their variables again.
fn named_vars(
    varmap: &candle_nn::VarMap,
    config: &BaseNetworkConfig,
) -> Result<Vec<(String, Var)>> {
    let vars = varmap.data().lock().map_err(|_| {
        Error::InvalidSetting("the variable map's lock was poisoned by a panic".into())
    })?;
    actfn_model::layer_names(config)
        .into_iter()
        .flat_map(|(w, b)| [w, b])
        .map(|name| {
            let var = vars.get(&name).cloned().ok_or_else(|| {
                Error::InvalidSetting(format!("the network has no variable {name}"))
            })?;
            Ok((name, var))
        })
        .collect()
}
