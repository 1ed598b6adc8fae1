//! A run in progress: the network, the optimizer, the generator and the records so far, started
//! fresh or restored from `resume.safetensors`, one epoch at a time, then finished with the best
//! checkpoint's test accuracy.

use std::path::Path;
use std::time::Instant;

use actfn_data::Split;
use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use candle_core::{Device, Tensor, Var};
use candle_nn::Optimizer as _;
use rand_chacha::ChaCha8Rng;

use crate::error::io_error;
use crate::events::Events;
use crate::metrics::{LayerDynamics, write_dynamics_csv, write_summary};
use crate::record::RunFiles;
use crate::resume::{self, Settings};
use crate::trainer::{Outcome, Run};
use crate::{
    EarlyStopping, EpochMetrics, Error, Observer, Optimizer, Result, RunSummary, StepResult,
    Verdict, accuracy, first_difference, predictions, train_step, write_metrics_csv,
    write_predictions_csv,
};

/// What one epoch reads.
pub(crate) struct EpochData<'a> {
    pub(crate) train: &'a Split,
    pub(crate) steps: usize,
    pub(crate) val: &'a Split,
    pub(crate) probe: &'a Tensor,
}

/// A run in progress: the network, the optimizer, the generator and the records so far.
pub(crate) struct Session {
    settings: Settings,
    net: BaseNetwork,
    vars: Vec<(String, Var)>,
    optimizer: Optimizer,
    shuffle: ChaCha8Rng,
    stopping: EarlyStopping,
    metrics: Vec<EpochMetrics>,
    dynamics: Vec<LayerDynamics>,
    stopped_early: bool,
    seconds_before: f64,
    started: Instant,
    /// The TensorBoard events, when the run writes them.
    events: Option<Events>,
}

impl Session {
    /// A fresh run from the seeded initial weights.
    pub(crate) fn start(run: &Run, device: &Device) -> Result<Self> {
        let (net, varmap) =
            BaseNetwork::initialized(run.net.clone(), run.config.init, run.config.seed, device)?;
        let vars = named_vars(&varmap, &run.net)?;
        let optimizer = Optimizer::new(
            vars.iter().map(|(_, v)| v.clone()).collect(),
            run.config.optimizer,
        )?;
        Ok(Self {
            settings: Settings {
                net: run.net.clone(),
                train: run.config.clone(),
                device: actfn_model::device_name(device),
                // The CPU path splits each batch in one part per thread of the current pool,
                // which decides the last bits of every sum.
                threads: rayon::current_num_threads(),
            },
            net,
            vars,
            optimizer,
            shuffle: rng::seeded(run.config.seed, Stream::Shuffle),
            stopping: EarlyStopping::new(run.config.patience),
            metrics: Vec::new(),
            dynamics: Vec::new(),
            stopped_early: false,
            seconds_before: 0.0,
            started: Instant::now(),
            events: None,
        })
    }

    /// Starts the run's TensorBoard events, with the epochs done so far and the weight
    /// gradients of the initial network (the seeded one, whatever epoch this is) on `batch`.
    pub(crate) fn open_events(&mut self, run: &Run, files: &RunFiles, batch: &Split) -> Result<()> {
        let (initial, _) = BaseNetwork::initialized(
            run.net.clone(),
            run.config.init,
            run.config.seed,
            &self.net.device(),
        )?;
        let gradients =
            actfn_diagnostics::weight_gradients(&initial, &batch.images, &batch.labels)?;
        let mut events = Events::open(run, files, &self.metrics, &self.dynamics)?;
        events.gradients_at_init(&gradients)?;
        self.events = Some(events);
        Ok(())
    }

    /// Continues from the state saved after the last finished epoch: weights, momentum
    /// buffers, generator position, early-stopping state and records.
    pub(crate) fn restore(
        &mut self,
        path: &Path,
        name: &str,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let device = self.net.device();
        let (state, tensors) = resume::load(path, &device)?;
        let difference =
            first_difference(&state.settings, &self.settings).map_err(|e| Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("cannot compare the saved settings: {e}"),
            })?;
        if let Some(difference) = difference {
            return Err(Error::SettingsDiffer {
                path: path.to_path_buf(),
                difference,
            });
        }
        let missing = |key: &str| Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("tensor {key} is missing"),
        };
        for (name, var) in &self.vars {
            let key = format!("param.{name}");
            var.set(tensors.get(&key).ok_or_else(|| missing(&key))?)?;
        }
        let names: Vec<String> = self.vars.iter().map(|(name, _)| name.clone()).collect();
        self.optimizer
            .restore_state(&names, &tensors)
            .map_err(|e| Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("the optimizer's state: {e}"),
            })?;
        let word_pos: u128 = state.shuffle_word_pos.parse().map_err(|_| Error::Corrupt {
            path: path.to_path_buf(),
            reason: "a corrupt generator position".into(),
        })?;
        self.shuffle.set_word_pos(word_pos);
        self.stopping = state.stopping;
        self.metrics = state.metrics;
        self.dynamics = state.dynamics;
        self.stopped_early = state.stopped_early;
        self.seconds_before = state.seconds;
        observer.message(&format!(
            "{name}: resuming after epoch {}",
            state.epochs_done
        ));
        Ok(())
    }

    /// Records the initial network's dynamics as epoch 0, on a fresh run: each weight
    /// gradient's norm on `batch` (the first training batch, as the study measures gradients at
    /// initialization) and each hidden layer's activation on the `probe` images. What a
    /// function does to a network before training (dead units, vanishing gradients) is then in
    /// every run's records.
    pub(crate) fn measure_initial(&mut self, batch: &Split, probe: &Tensor) -> Result<()> {
        if !self.metrics.is_empty() || !self.dynamics.is_empty() {
            return Ok(());
        }
        let gradients = self.net.loss_and_gradients(&batch.images, &batch.labels)?;
        let outputs = self.net.forward_layers(probe)?;
        let probe = actfn_diagnostics::probe_outputs(&outputs)?;
        self.dynamics = LayerDynamics::of_epoch(0, gradients.weight_norms(), 1, &probe);
        Ok(())
    }

    /// The next epoch to train (from 1), or `None` when the run is over.
    pub(crate) fn next_epoch(&self, max_epochs: usize) -> Option<usize> {
        let next = self.metrics.len() + 1;
        (!self.stopped_early && next <= max_epochs).then_some(next)
    }

    /// One epoch: the training steps, the validation pass, the early-stopping verdict (and
    /// the checkpoint on a new best), the dynamics on the probe images, then the records and
    /// the saved state, in that order.
    pub(crate) fn epoch(
        &mut self,
        epoch: usize,
        data: &EpochData,
        run: &Run,
        files: &RunFiles,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let epoch_started = Instant::now();
        observer.epoch_started(epoch, data.steps);
        let (mut loss_sum, mut correct) = (0.0f64, 0.0f64);
        let mut norm_sums = vec![0.0f64; run.net.layer_shapes().len()];
        for (step, batch) in data
            .train
            .batches(run.config.batch_size, Some(&mut self.shuffle), true)?
            .enumerate()
        {
            let (images, labels) = batch?;
            let StepResult {
                loss,
                correct: batch_correct,
                weight_grad_norms,
            } = train_step(&self.net, &mut self.optimizer, &images, &labels)?;
            if !loss.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    step: step + 1,
                    loss,
                });
            }
            correct += batch_correct;
            loss_sum += f64::from(loss);
            for (sum, norm) in norm_sums.iter_mut().zip(weight_grad_norms) {
                *sum += norm;
            }
            observer.step_finished(step + 1, loss);
        }
        let train_seconds = epoch_started.elapsed().as_secs_f64();
        let val_acc = accuracy(&self.net, data.val, run.config.eval_batch_size)?;
        let verdict = self.stopping.record(val_acc);
        if verdict == Verdict::NewBest {
            self.net.save(&run.dir, &run.name)?;
        }
        let outputs = self.net.forward_layers(data.probe)?;
        let probe = actfn_diagnostics::probe_outputs(&outputs)?;
        self.dynamics.extend(LayerDynamics::of_epoch(
            epoch, &norm_sums, data.steps, &probe,
        ));
        let images = (data.steps * run.config.batch_size) as f64;
        let record = EpochMetrics {
            epoch,
            train_loss: loss_sum / data.steps as f64,
            train_acc: correct / images,
            val_acc,
            seconds: epoch_started.elapsed().as_secs_f64(),
            samples_per_second: images / train_seconds,
        };
        observer.epoch_finished(&record, verdict);
        self.metrics.push(record);
        self.stopped_early = verdict == Verdict::Stop;
        write_metrics_csv(&files.metrics, &self.metrics)?;
        write_dynamics_csv(&files.dynamics, &self.dynamics)?;
        let state = resume::EpochState {
            settings: self.settings.clone(),
            epochs_done: epoch,
            stopped_early: self.stopped_early,
            stopping: self.stopping.clone(),
            shuffle_word_pos: self.shuffle.get_word_pos().to_string(),
            metrics: self.metrics.clone(),
            dynamics: self.dynamics.clone(),
            seconds: self.seconds_before + self.started.elapsed().as_secs_f64(),
        };
        resume::save(&files.state, &state, &self.vars, &self.optimizer)?;
        // After the state: a kill between the two loses this epoch's events, which the resumed
        // run writes again, and never writes them twice.
        if let (Some(events), Some(record)) = (&mut self.events, self.metrics.last()) {
            events.epoch(record, &self.dynamics, &outputs)?;
        }
        Ok(())
    }

    /// Reloads the best checkpoint, measures its test accuracy, writes the summary and removes
    /// the saved state: the run is finished.
    pub(crate) fn finish(
        mut self,
        run: &Run,
        files: &RunFiles,
        test: &Split,
        probe: &Tensor,
    ) -> Result<Outcome> {
        let device = self.net.device();
        let network = BaseNetwork::load(&run.dir, &run.name, &device)?;
        // The test accuracy from the predictions, which are kept for paired comparisons: the
        // same count of hits as `accuracy` makes.
        let predicted = predictions(&network, test, run.config.eval_batch_size)?;
        let labels = test.labels.to_vec1::<u32>()?;
        let hits = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p == l)
            .count();
        let test_acc = hits as f64 / test.len() as f64;
        write_predictions_csv(&files.predictions, &predicted)?;
        let summary = RunSummary {
            name: run.name.clone(),
            act_fn: run.net.act_fn.name().to_string(),
            best_epoch: self.stopping.best_epoch().map_or(0, |e| e + 1),
            best_val_acc: self.stopping.best_score().unwrap_or(0.0),
            test_acc,
            epochs_run: self.metrics.len(),
            stopped_early: self.stopped_early,
            seconds: self.seconds_before + self.started.elapsed().as_secs_f64(),
            device: self.settings.device.clone(),
            threads: self.settings.threads,
            host: actfn_io::host_name(),
            train_config: run.config.clone(),
        };
        if let Some(events) = &mut self.events {
            let trained = network.forward_layers(probe)?;
            events.finish(summary.epochs_run, test_acc, summary.best_val_acc, &trained)?;
        }
        write_summary(&files.summary, &summary)?;
        // The run is finished: without its state, the checkpoint now means "done".
        std::fs::remove_file(&files.state).map_err(io_error(&files.state))?;
        Ok(Outcome {
            network,
            test_acc,
            trained: true,
            summary: Some(summary),
            metrics: self.metrics,
            dynamics: self.dynamics,
        })
    }
}

/// The network's variables in parameter order (`layers.0.weight`, `layers.0.bias`, a learned
/// slope's `layers.1.weight`, ...): a
/// `VarMap` iterates in hash order, which differs between processes, and the saved momentum
/// buffers must meet their variables again.
fn named_vars(
    varmap: &candle_nn::VarMap,
    config: &BaseNetworkConfig,
) -> Result<Vec<(String, Var)>> {
    let vars = varmap.data().lock().map_err(|_| {
        Error::InvalidSetting("the variable map's lock was poisoned by a panic".into())
    })?;
    config
        .parameter_shapes()
        .into_iter()
        .map(|(name, _)| {
            let var = vars.get(&name).cloned().ok_or_else(|| {
                Error::InvalidSetting(format!("the network has no variable {name}"))
            })?;
            Ok((name, var))
        })
        .collect()
}
