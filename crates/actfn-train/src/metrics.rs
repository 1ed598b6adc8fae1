//! The record of a run: per-epoch metrics (`metrics.csv`) and the JSON summary.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, TrainConfig};

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's training batches.
    pub train_loss: f64,
    /// Training accuracy over the epoch, in [0, 1].
    pub train_acc: f64,
    /// Validation accuracy after the epoch, in [0, 1].
    pub val_acc: f64,
    /// Wall time of the epoch (training and validation), in seconds.
    pub seconds: f64,
    /// Training images per second.
    pub samples_per_second: f64,
}

/// The outcome of a training run, saved as `summary.json` in its run folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The checkpoint name, e.g. `FashionMNIST_relu`.
    pub name: String,
    /// The activation function's class name.
    pub act_fn: String,
    /// The epoch (from 1) with the best validation accuracy, whose checkpoint was kept.
    pub best_epoch: usize,
    /// The best validation accuracy.
    pub best_val_acc: f64,
    /// Test accuracy of the best checkpoint.
    pub test_acc: f64,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Whether early stopping ended the run (rather than `max_epochs`).
    pub stopped_early: bool,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// The device, e.g. `cpu`.
    pub device: String,
    /// The CPU threads candle used.
    pub threads: usize,
    /// The settings of the run.
    pub train_config: TrainConfig,
}

/// Writes `metrics.csv` (epoch, train loss, train acc, val acc, seconds, samples/s) atomically.
///
/// Numbers are written in Rust's shortest exact form, so two runs with identical arithmetic
/// give identical files except for the timing columns.
pub fn write_metrics_csv(path: &Path, metrics: &[EpochMetrics]) -> Result<()> {
    let mut csv = String::from("epoch,train_loss,train_acc,val_acc,seconds,samples_per_second\n");
    for m in metrics {
        csv.push_str(&format!(
            "{},{},{},{},{:.3},{:.1}\n",
            m.epoch, m.train_loss, m.train_acc, m.val_acc, m.seconds, m.samples_per_second
        ));
    }
    Ok(actfn_model::atomic_write(path, csv.as_bytes())?)
}

/// Reads a `metrics.csv` written by [`write_metrics_csv`].
pub fn read_metrics_csv(path: &Path) -> Result<Vec<EpochMetrics>> {
    let bad = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    text.lines()
        .enumerate()
        .skip(1)
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            let number = |k: usize| -> Result<f64> {
                fields
                    .get(k)
                    .and_then(|f| f.parse().ok())
                    .ok_or_else(|| bad(format!("line {}: expected 6 numbers, got {line:?}", i + 1)))
            };
            Ok(EpochMetrics {
                epoch: number(0)? as usize,
                train_loss: number(1)?,
                train_acc: number(2)?,
                val_acc: number(3)?,
                seconds: number(4)?,
                samples_per_second: number(5)?,
            })
        })
        .collect()
}

/// Writes `summary` as pretty JSON, atomically.
pub(crate) fn write_summary(path: &Path, summary: &RunSummary) -> Result<()> {
    let json = serde_json::to_string_pretty(summary).map_err(|e| Error::File {
        path: path.to_path_buf(),
        reason: format!("cannot serialize the summary: {e}"),
    })?;
    Ok(actfn_model::atomic_write(path, json.as_bytes())?)
}

/// Reads a `summary.json`.
pub fn read_summary(path: &Path) -> Result<RunSummary> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::File {
        path: path.to_path_buf(),
        reason: format!("not a run summary: {e}"),
    })
}
