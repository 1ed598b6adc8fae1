//! The record of a run: per-epoch metrics (`metrics.csv`), per-epoch dynamics of every layer
//! (`dynamics.csv`) and the JSON summary.

use std::path::Path;

use serde::{Deserialize, Serialize};

use actfn_diagnostics::LayerProbe;

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
    /// The machine that finished the run (none in runs recorded before it was).
    #[serde(default)]
    pub host: String,
    /// The settings of the run.
    pub train_config: TrainConfig,
}

/// Writes `metrics.csv` (epoch, train loss, train acc, val acc, seconds, samples/s) atomically.
///
/// Numbers are written in Rust's shortest exact form, so two runs with identical arithmetic
/// give identical files except for the timing columns.
pub fn write_metrics_csv(path: &Path, metrics: &[EpochMetrics]) -> Result<()> {
    let mut csv = String::from(METRICS_HEADER);
    for m in metrics {
        csv.push_str(&format!(
            "{},{},{},{},{:.3},{:.1}\n",
            m.epoch, m.train_loss, m.train_acc, m.val_acc, m.seconds, m.samples_per_second
        ));
    }
    Ok(actfn_io::atomic_write(path, csv.as_bytes())?)
}

/// Reads a `metrics.csv` written by [`write_metrics_csv`].
pub fn read_metrics_csv(path: &Path) -> Result<Vec<EpochMetrics>> {
    read_csv(path, METRICS_HEADER, |number, integer| {
        Ok(EpochMetrics {
            // Whole numbers only: a cast would turn -1 into 0 and 1e300 into usize::MAX.
            epoch: integer(0)?,
            train_loss: number(1)?,
            train_acc: number(2)?,
            val_acc: number(3)?,
            seconds: number(4)?,
            samples_per_second: number(5)?,
        })
    })
}

/// The largest record file read: far above any real run's (50 epochs of the study's network
/// make 3 KB of metrics and 20 KB of dynamics), so that a crafted file cannot exhaust memory.
const MAX_RECORD_BYTES: u64 = 64 << 20;

/// Reads a record file as text, refusing one larger than [`MAX_RECORD_BYTES`] unread.
fn read_record(path: &Path) -> Result<String> {
    actfn_io::read_text_at_most(path, MAX_RECORD_BYTES).map_err(|e| match e {
        actfn_io::Error::TooLarge { path, limit } => Error::Corrupt {
            path,
            reason: format!("larger than {limit} bytes: not a run's record"),
        },
        other => Error::File(other),
    })
}

/// A row's `k`-th field, parsed.
type Field<'a, T> = &'a dyn Fn(usize) -> Result<T>;

/// Reads the rows of a CSV file with the given header, each through `row`, which gets the
/// row's `k`-th field as a number and as a whole number (an error naming the line when it is
/// not one).
fn read_csv<T>(
    path: &Path,
    header: &str,
    row: impl Fn(Field<f64>, Field<usize>) -> Result<T>,
) -> Result<Vec<T>> {
    let text = read_record(path)?;
    let mut lines = text.lines();
    if lines.next() != Some(header.trim_end()) {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the first line is not the header {:?}", header.trim_end()),
        });
    }
    let columns = header.split(',').count();
    lines
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            let bad = || Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("line {}: expected {columns} numbers, got {line:?}", i + 2),
            };
            let field = |k: usize| fields.get(k).filter(|_| fields.len() == columns);
            let number =
                |k: usize| -> Result<f64> { field(k).and_then(|f| f.parse().ok()).ok_or_else(bad) };
            let integer = |k: usize| -> Result<usize> {
                field(k).and_then(|f| f.parse().ok()).ok_or_else(bad)
            };
            row(&number, &integer)
        })
        .collect()
}

/// One layer's dynamics after one epoch: the mean norm of its weight gradient over the epoch's
/// steps, and, for a hidden layer, its activation on the probe images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerDynamics {
    /// The epoch, from 1; 0 is the initial network (runs recorded before it was measured have
    /// none), whose gradient norm is on the first training batch.
    pub epoch: usize,
    /// The linear layer, from 0 (`layers.{2 * layer}` in the network).
    pub layer: usize,
    /// The L2 norm of the layer's weight gradient, averaged over the epoch's steps.
    pub weight_grad_norm: f64,
    /// For a hidden layer, its activation on the probe images after the epoch (none for the
    /// output layer).
    pub activation: Option<LayerProbe>,
}

impl LayerDynamics {
    /// The rows of one epoch: `norm_sums` (per linear layer, summed over `steps` steps) and the
    /// probe of each hidden layer.
    pub(crate) fn of_epoch(
        epoch: usize,
        norm_sums: &[f64],
        steps: usize,
        probe: &[LayerProbe],
    ) -> Vec<Self> {
        norm_sums
            .iter()
            .enumerate()
            .map(|(layer, &sum)| LayerDynamics {
                epoch,
                layer,
                weight_grad_norm: sum / steps.max(1) as f64,
                activation: probe.get(layer).copied(),
            })
            .collect()
    }
}

/// What a run's dynamics say of its network at one epoch (0: the initial network), in the
/// numbers the study explains training by: gradient flow, dead units, the spread of the
/// signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NetworkState {
    /// log10 of the first layer's weight-gradient norm over the last layer's: below 0 where
    /// the gradient shrinks on its way back to the input.
    pub gradient_ratio_log10: Option<f64>,
    /// The share of dead units, averaged over the hidden layers, in [0, 1].
    pub dead_share: Option<f64>,
    /// The mean of the last hidden layer's activations on the probe images.
    pub last_mean: Option<f64>,
    /// Their standard deviation: the signal that reaches the output layer.
    pub last_std: Option<f64>,
}

impl NetworkState {
    /// The state at `epoch` in `dynamics` (every field `None` where the epoch is not recorded).
    pub fn at(dynamics: &[LayerDynamics], epoch: usize) -> Self {
        let rows: Vec<&LayerDynamics> = dynamics.iter().filter(|d| d.epoch == epoch).collect();
        let probes: Vec<LayerProbe> = rows.iter().filter_map(|d| d.activation).collect();
        let norms = || rows.iter().map(|d| d.weight_grad_norm);
        let gradient_ratio_log10 = match (norms().next(), norms().next_back()) {
            (Some(first), Some(last)) if rows.len() >= 2 && first > 0.0 && last > 0.0 => {
                Some((first / last).log10())
            }
            _ => None,
        };
        let dead_share = (!probes.is_empty())
            .then(|| probes.iter().map(|p| p.dead_share).sum::<f64>() / probes.len() as f64);
        NetworkState {
            gradient_ratio_log10,
            dead_share,
            last_mean: probes.last().map(|p| p.mean),
            last_std: probes.last().map(|p| p.std),
        }
    }
}

const METRICS_HEADER: &str = "epoch,train_loss,train_acc,val_acc,seconds,samples_per_second\n";
const DYNAMICS_HEADER: &str =
    "epoch,layer,weight_grad_norm,dead_share,activation_mean,activation_std\n";

/// Writes `dynamics.csv` (one row per epoch and linear layer; the activation columns are empty
/// for the output layer) atomically.
pub fn write_dynamics_csv(path: &Path, rows: &[LayerDynamics]) -> Result<()> {
    let mut csv = String::from(DYNAMICS_HEADER);
    for r in rows {
        let (dead, mean, std) = r.activation.map_or_else(
            || (String::new(), String::new(), String::new()),
            |a| {
                (
                    a.dead_share.to_string(),
                    a.mean.to_string(),
                    a.std.to_string(),
                )
            },
        );
        csv.push_str(&format!(
            "{},{},{},{dead},{mean},{std}\n",
            r.epoch, r.layer, r.weight_grad_norm
        ));
    }
    Ok(actfn_io::atomic_write(path, csv.as_bytes())?)
}

/// Writes `test_predictions.csv` (the class predicted for each test image, in the test set's
/// order, one per line under the header `class`) atomically.
pub fn write_predictions_csv(path: &Path, classes: &[u32]) -> Result<()> {
    let mut csv = String::with_capacity(6 + 3 * classes.len());
    csv.push_str("class\n");
    for c in classes {
        csv.push_str(&c.to_string());
        csv.push('\n');
    }
    Ok(actfn_io::atomic_write(path, csv.as_bytes())?)
}

/// Reads a `test_predictions.csv` written by [`write_predictions_csv`].
pub fn read_predictions_csv(path: &Path) -> Result<Vec<u32>> {
    let text = read_record(path)?;
    let mut lines = text.lines();
    if lines.next() != Some("class") {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: "not a predictions file (its first line is not `class`)".into(),
        });
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            line.trim().parse::<u32>().map_err(|_| Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("line {}: {line:?} is not a class index", i + 2),
            })
        })
        .collect()
}

/// Reads a `dynamics.csv` written by [`write_dynamics_csv`].
pub fn read_dynamics_csv(path: &Path) -> Result<Vec<LayerDynamics>> {
    let text = read_record(path)?;
    let corrupt = |line: usize, text: &str| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!(
            "line {line}: expected epoch, layer, norm and three optional numbers, got {text:?}"
        ),
    };
    let mut lines = text.lines();
    if lines.next() != Some(DYNAMICS_HEADER.trim_end()) {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "the first line is not the header {:?}",
                DYNAMICS_HEADER.trim_end()
            ),
        });
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let bad = || corrupt(i + 2, line);
            let fields: Vec<&str> = line.split(',').collect();
            let [epoch, layer, norm, dead, mean, std] = fields[..] else {
                return Err(bad());
            };
            let number = |f: &str| f.parse::<f64>().map_err(|_| bad());
            let activation = match (dead, mean, std) {
                ("", "", "") => None,
                _ => Some(LayerProbe {
                    dead_share: number(dead)?,
                    mean: number(mean)?,
                    std: number(std)?,
                }),
            };
            Ok(LayerDynamics {
                epoch: epoch.parse().map_err(|_| bad())?,
                layer: layer.parse().map_err(|_| bad())?,
                weight_grad_norm: number(norm)?,
                activation,
            })
        })
        .collect()
}

/// Writes `summary` as pretty JSON, atomically.
pub(crate) fn write_summary(path: &Path, summary: &RunSummary) -> Result<()> {
    let json = serde_json::to_string_pretty(summary).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("cannot serialize the summary: {e}"),
    })?;
    Ok(actfn_io::atomic_write(path, json.as_bytes())?)
}

/// Reads a `summary.json`.
pub fn read_summary(path: &Path) -> Result<RunSummary> {
    let text = read_record(path)?;
    serde_json::from_str(&text).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("not a run summary ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_state_reads_one_epoch_of_the_dynamics() {
        let probe = |dead_share, mean, std| LayerProbe {
            dead_share,
            mean,
            std,
        };
        let row = |epoch, layer, norm, activation| LayerDynamics {
            epoch,
            layer,
            weight_grad_norm: norm,
            activation,
        };
        let dynamics = [
            row(0, 0, 0.01, Some(probe(0.5, 0.2, 1.5))),
            row(0, 1, 0.1, Some(probe(0.0, -0.1, 0.5))),
            row(0, 2, 1.0, None),
            row(1, 0, 1.0, Some(probe(0.25, 0.0, 1.0))),
            row(1, 1, 1.0, Some(probe(0.25, 0.0, 1.0))),
            row(1, 2, 1.0, None),
        ];
        let initial = NetworkState::at(&dynamics, 0);
        assert!((initial.gradient_ratio_log10.unwrap() + 2.0).abs() < 1e-12);
        assert_eq!(initial.dead_share, Some(0.25));
        assert_eq!(
            (initial.last_mean, initial.last_std),
            (Some(-0.1), Some(0.5))
        );
        assert_eq!(
            NetworkState::at(&dynamics, 1).gradient_ratio_log10,
            Some(0.0)
        );
        let missing = NetworkState::at(&dynamics, 5);
        assert_eq!(missing.dead_share, None);
        assert_eq!(missing.gradient_ratio_log10, None);
    }
}
