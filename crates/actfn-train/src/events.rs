//! A run's TensorBoard events (`tensorboard --logdir` on the checkpoint or sweep folder): the
//! settings as text and as the HParams plugin's hyperparameters, per epoch the metrics, the
//! learning rate, the dynamics of every layer and a histogram of each hidden layer's
//! activations on the probe images, and at the end the test accuracy.
//!
//! The file in the run folder is appended to and flushed after every epoch, once the epoch's
//! state is saved. A run that resumes writes a new file from its restored records and removes
//! the old ones, so that no step is written twice whatever the moment of the kill; the
//! activation histograms of the epochs before a resume are not in the records, and are lost.

use actfn_model::BaseNetworkConfig;
use actfn_tensorboard::{EventWriter, HParam};
use candle_core::{DType, Tensor};

use actfn_diagnostics::LayerValues;

use crate::metrics::LayerDynamics;
use crate::record::RunFiles;
use crate::{EpochMetrics, OptimizerConfig, Result, Run};

/// The HParams table's metrics: the test accuracy of the best checkpoint, the best validation
/// accuracy.
const METRICS: [&str; 2] = ["test/accuracy", "validation/best_accuracy"];

/// The event file of a run in progress.
pub(crate) struct Events {
    writer: EventWriter,
    lr: f64,
}

impl Events {
    /// A new event file for `run` in its folder, any older one removed, with the settings and
    /// the scalars of the epochs already done (a resumed run's).
    pub(crate) fn open(
        run: &Run,
        files: &RunFiles,
        metrics: &[EpochMetrics],
        dynamics: &[LayerDynamics],
    ) -> Result<Self> {
        for old in actfn_tensorboard::event_files(&files.run)? {
            std::fs::remove_file(&old).map_err(crate::error::io_error(&old))?;
        }
        let mut writer = EventWriter::create(&files.run)?;
        let c = &run.config;
        let hidden: Vec<String> = run.net.hidden_sizes.iter().map(usize::to_string).collect();
        let mut hparams = vec![
            ("activation", HParam::Text(run.net.act_fn.key().into())),
            ("seed", HParam::Number(c.seed as f64)),
            ("split_seed", HParam::Number(c.split_seed as f64)),
            ("optimizer", HParam::Text(c.optimizer.key().into())),
            ("lr", HParam::Number(c.optimizer.lr())),
        ];
        match c.optimizer {
            OptimizerConfig::Sgd(sgd) => hparams.push(("momentum", HParam::Number(sgd.momentum))),
            OptimizerConfig::Adam(adam) => {
                hparams.push(("beta1", HParam::Number(adam.betas.0)));
                hparams.push(("beta2", HParam::Number(adam.betas.1)));
            }
        }
        hparams.extend([
            ("batch_size", HParam::Number(c.batch_size as f64)),
            ("hidden", HParam::Text(hidden.join("x"))),
            ("patience", HParam::Number(c.patience as f64)),
            ("init", HParam::Text(c.init.to_string())),
        ]);
        writer.hparams(&hparams, &METRICS)?;
        let config = serde_json::json!({ "network": &run.net, "training": c });
        writer.text(
            "config",
            0,
            &format!(
                "```json\n{}\n```",
                serde_json::to_string_pretty(&config).unwrap_or_default()
            ),
        )?;
        let mut events = Self {
            writer,
            lr: c.optimizer.lr(),
        };
        for m in metrics {
            let rows: Vec<&LayerDynamics> =
                dynamics.iter().filter(|d| d.epoch == m.epoch).collect();
            events.scalars(m, &rows)?;
        }
        events.writer.flush()?;
        Ok(events)
    }

    fn scalars(&mut self, m: &EpochMetrics, dynamics: &[&LayerDynamics]) -> Result<()> {
        let step = m.epoch as i64;
        let w = &mut self.writer;
        w.scalar("train/loss", step, m.train_loss)?;
        w.scalar("train/accuracy", step, m.train_acc)?;
        w.scalar("validation/accuracy", step, m.val_acc)?;
        w.scalar("learning_rate", step, self.lr)?;
        w.scalar("epoch/seconds", step, m.seconds)?;
        w.scalar("epoch/samples_per_second", step, m.samples_per_second)?;
        for d in dynamics {
            let layer = BaseNetworkConfig::linear_name(d.layer);
            w.scalar(&format!("gradient_norm/{layer}"), step, d.weight_grad_norm)?;
            if let Some(a) = d.activation {
                let act = BaseNetworkConfig::activation_name(d.layer);
                w.scalar(&format!("dead_share/{act}"), step, a.dead_share)?;
                w.scalar(&format!("activation_std/{act}"), step, a.std)?;
                w.scalar(&format!("activation_mean/{act}"), step, a.mean)?;
            }
        }
        Ok(())
    }

    /// The study's histograms of the weight gradients at initialization, one per linear layer,
    /// at step 0.
    pub(crate) fn gradients_at_init(&mut self, gradients: &[LayerValues]) -> Result<()> {
        for g in gradients {
            if g.values.iter().any(|v| v.is_finite()) {
                self.writer
                    .histogram(&format!("gradients_at_init/{}", g.name), 0, &g.values)?;
            }
        }
        self.writer.flush()?;
        Ok(())
    }

    /// Histograms of each hidden layer's activations in `outputs` (the network's layer outputs
    /// on the probe images, linear and activation in turn) as series `prefix`.
    fn activations(&mut self, prefix: &str, step: i64, outputs: &[Tensor]) -> Result<()> {
        // Activations sit at the odd indices: linear, act, linear, act, ..., linear.
        for (layer, output) in outputs.iter().skip(1).step_by(2).enumerate() {
            let values = output
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            // A layer whose values are all NaN has no histogram; the NaN guard stops the run.
            if values.iter().any(|v| v.is_finite()) {
                let name = BaseNetworkConfig::activation_name(layer);
                self.writer
                    .histogram(&format!("{prefix}/{name}"), step, &values)?;
            }
        }
        Ok(())
    }

    /// One epoch's scalars and the histograms of its activations on the probe images
    /// (`outputs`: the network's layer outputs), then a flush.
    pub(crate) fn epoch(
        &mut self,
        m: &EpochMetrics,
        dynamics: &[LayerDynamics],
        outputs: &[Tensor],
    ) -> Result<()> {
        let rows: Vec<&LayerDynamics> = dynamics.iter().filter(|d| d.epoch == m.epoch).collect();
        self.scalars(m, &rows)?;
        self.activations("activations", m.epoch as i64, outputs)?;
        self.writer.flush()?;
        Ok(())
    }

    /// The run's end: the test accuracy and best validation accuracy (the HParams table's
    /// metrics) at the last epoch, the best network's activations on the probe images (the
    /// study's histograms of the trained network, `outputs`), and the session's end.
    pub(crate) fn finish(
        &mut self,
        epochs: usize,
        test_acc: f64,
        best_val_acc: f64,
        outputs: &[Tensor],
    ) -> Result<()> {
        let step = epochs as i64;
        self.activations("trained_activations", step, outputs)?;
        self.writer.scalar(METRICS[0], step, test_acc)?;
        self.writer.scalar(METRICS[1], step, best_val_acc)?;
        self.writer.hparams_end()?;
        self.writer.flush()?;
        Ok(())
    }
}
