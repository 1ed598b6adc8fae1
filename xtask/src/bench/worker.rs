//! One thread count of the benchmark, in its own process (`bench-worker`): the training step,
//! an epoch, a validation pass, the data path and the matrix-product ceiling, as JSON.

use std::time::Instant;

use actfn_data::EVAL_BATCH_SIZE;
use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::{Sgd, SgdConfig};
use anyhow::bail;
use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::ceiling::{matmul_ms, products_ms};
use crate::at_least_one;

/// Arguments of the hidden `bench-worker` command: one thread count, JSON on stdout.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: u16,
    #[arg(long, value_parser = at_least_one)]
    steps: usize,
    #[arg(long, value_parser = at_least_one)]
    repeats: usize,
}

/// Median and minimum of repeated timings, in the unit of the field's name.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub median: f64,
    pub min: f64,
}

impl Timing {
    /// The median and minimum of `samples`; an error when there are none.
    pub(super) fn of(mut samples: Vec<f64>) -> anyhow::Result<Self> {
        samples.sort_by(f64::total_cmp);
        match (samples.get(samples.len() / 2), samples.first()) {
            (Some(&median), Some(&min)) => Ok(Timing { median, min }),
            _ => bail!("no timing was taken: --steps and --repeats must be at least 1"),
        }
    }
}

/// One implementation's numbers at one thread count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    pub threads: u16,
    /// Forward, backward and update of one batch of 256, in milliseconds.
    pub step_ms: Timing,
    /// One training epoch (195 steps of 256, batches drawn as in training), in seconds.
    pub epoch_s: Timing,
    /// Accuracy over the 10,000 validation images, in seconds.
    pub validation_s: Timing,
    /// Peak resident memory of the process, in MiB.
    pub peak_mib: f64,
    /// actfn only: a 1024x1024x1024 f32 matrix product by gemm (candle's CPU matmul library),
    /// in milliseconds: the ceiling the step is compared with, median to median and best to
    /// best.
    #[serde(default)]
    pub matmul_ms: Option<Timing>,
    /// actfn only: finding, reading, verifying, normalizing and splitting the data set, in
    /// seconds.
    #[serde(default)]
    pub data_load_s: Option<Timing>,
    /// actfn only: one epoch of shuffled batch slicing without a model, in seconds.
    #[serde(default)]
    pub batch_epoch_s: Option<Timing>,
    /// actfn only: the step's matrix products alone (forward, weight and input gradients of
    /// every layer, batch 256) through candle, in milliseconds: the step with nothing between
    /// its products.
    #[serde(default)]
    pub products_ms: Option<Timing>,
    /// actfn only: the plain candle step (candle_nn-style autograd through the composed
    /// activations and `backward`), in milliseconds, for comparison with the tuned step.
    #[serde(default)]
    pub autograd_step_ms: Option<Timing>,
    /// actfn only: what a run's TensorBoard events add to an epoch (a histogram of each hidden
    /// layer's activations on the 1024 probe images, 34 scalars, a flush), in milliseconds.
    #[serde(default)]
    pub events_ms: Option<Timing>,
    /// actfn only: a training epoch with Swish and with Swish written as formulas
    /// ([`FORMULA_EPOCHS`]), in seconds.
    #[serde(default)]
    pub formula_epochs_s: Option<Vec<FunctionEpoch>>,
}

/// A training epoch with one activation function.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionEpoch {
    /// The function, as `--act` takes it.
    pub function: String,
    pub epoch_s: Timing,
}

/// Swish built in, then as formulas: its twin `x * sigmoid(x)`, which runs Swish's kernels, and
/// `x * (0.5 + 0.5 * tanh(0.5 * x))`, the same function (`sigmoid(x) = (1 + tanh(x / 2)) / 2`)
/// through the formula evaluator (node by node over chunks): what a formula costs against the
/// built-in it equals.
pub const FORMULA_EPOCHS: [&str; 3] =
    ["swish", "x * sigmoid(x)", "x * (0.5 + 0.5 * tanh(0.5 * x))"];

/// Floating-point operations of the matrix products of one training step of the study's MLP:
/// 2 per multiply-add; per layer the forward product and the weight gradient, and the input
/// gradient for every layer but the first (the images need none).
pub fn step_flop(batch: usize) -> f64 {
    let config = BaseNetworkConfig::default();
    let products = |(i, o): (usize, usize)| 2.0 * (batch * i * o) as f64;
    let shapes = config.layer_shapes();
    shapes.iter().map(|&s| 2.0 * products(s)).sum::<f64>()
        + shapes[1..].iter().map(|&s| products(s)).sum::<f64>()
}

/// Peak resident memory of this process in MiB (Linux's VmHWM).
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub(super) fn time<T>(work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<f64> {
    let started = Instant::now();
    work()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Steps run before the timed ones, here and in the PyTorch script: the first steps warm the
/// allocator and the caches.
const WARMUP_STEPS: usize = 20;

/// The actfn side, in this process, at the thread count already applied.
pub fn worker(args: &WorkerArgs) -> anyhow::Result<()> {
    let device = Device::Cpu;
    let loads = (0..args.repeats)
        .map(|_| time(|| crate::data::load_splits(42, &device)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let splits = crate::data::load_splits(42, &device)?;
    let config = BaseNetworkConfig::default();
    let (net, varmap) = BaseNetwork::seeded(config.clone(), 42, &device)?;
    let mut sgd = Sgd::new(varmap.all_vars(), SgdConfig::default())?;
    let mut shuffle = rng::seeded(42, Stream::Shuffle);

    // Steps timed one by one on shuffled batches, as training draws them.
    let batches: Vec<(Tensor, Tensor)> = splits
        .train
        .batches(256, Some(&mut shuffle), true)?
        .take(args.steps + WARMUP_STEPS)
        .collect::<candle_core::Result<_>>()?;
    let mut step_times = Vec::new();
    for (i, (images, labels)) in batches.iter().enumerate() {
        let t = time(|| Ok(actfn_train::train_step(&net, &mut sgd, images, labels)?))?;
        if i >= WARMUP_STEPS {
            step_times.push(1e3 * t);
        }
    }
    let mut autograd_times = Vec::new();
    for (i, (images, labels)) in batches.iter().enumerate() {
        let t = time(|| {
            let loss = candle_nn::loss::cross_entropy(&composed_forward(&net, images)?, labels)?;
            sgd.backward_step(&loss)?;
            Ok(())
        })?;
        if i >= WARMUP_STEPS {
            autograd_times.push(1e3 * t);
        }
    }
    // Training epochs of a network on batches drawn by `shuffle`, each in seconds.
    let mut epoch_times = |net: &BaseNetwork, sgd: &mut Sgd| -> anyhow::Result<Vec<f64>> {
        (0..args.repeats)
            .map(|_| {
                time(|| {
                    for batch in splits.train.batches(256, Some(&mut shuffle), true)? {
                        let (images, labels) = batch?;
                        actfn_train::train_step(net, sgd, &images, &labels)?;
                    }
                    Ok(())
                })
            })
            .collect()
    };
    let epochs = epoch_times(&net, &mut sgd)?;
    let formula_epochs = FORMULA_EPOCHS
        .iter()
        .map(|&function| {
            let act = actfn_activations::Activation::from_name(function, None)?;
            let config = BaseNetworkConfig::with_activation(act);
            let (net, varmap) = BaseNetwork::seeded(config, 42, &device)?;
            let mut sgd = Sgd::new(varmap.all_vars(), SgdConfig::default())?;
            Ok(FunctionEpoch {
                function: function.to_string(),
                epoch_s: Timing::of(epoch_times(&net, &mut sgd)?)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let slicing = (0..args.repeats)
        .map(|_| {
            time(|| {
                for batch in splits.train.batches(256, Some(&mut shuffle), true)? {
                    batch?;
                }
                Ok(())
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let events = events_ms(&net, &splits, args.repeats)?;
    let validations = (0..args.repeats)
        .map(|_| time(|| Ok(actfn_train::accuracy(&net, &splits.val, EVAL_BATCH_SIZE)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let measurement = Measurement {
        threads: args.threads,
        step_ms: Timing::of(step_times)?,
        epoch_s: Timing::of(epochs)?,
        validation_s: Timing::of(validations)?,
        peak_mib: peak_mib(),
        matmul_ms: Some(matmul_ms()?),
        autograd_step_ms: Some(Timing::of(autograd_times)?),
        products_ms: Some(products_ms(256, args.repeats * 5, &device)?),
        data_load_s: Some(Timing::of(loads)?),
        batch_epoch_s: Some(Timing::of(slicing)?),
        events_ms: Some(events),
        formula_epochs_s: Some(formula_epochs),
    };
    say!("{}", serde_json::to_string(&measurement)?);
    Ok(())
}

/// The TensorBoard events of one epoch as a run writes them (the layer outputs on the probe
/// images are the dynamics' and are not counted): per hidden layer a histogram of its
/// activations and the dynamics' scalars, the six metrics, then a flush.
fn events_ms(
    net: &BaseNetwork,
    splits: &actfn_data::Splits,
    repeats: usize,
) -> anyhow::Result<Timing> {
    let outputs = net.forward_layers(&splits.train.head(1024)?.images)?;
    let dir = tempfile::tempdir()?;
    let mut writer = actfn_tensorboard::EventWriter::create(dir.path())?;
    let times = (0..repeats.max(5))
        .map(|epoch| {
            time(|| {
                let step = epoch as i64;
                for tag in ["loss", "accuracy", "val", "lr", "seconds", "samples"] {
                    writer.scalar(tag, step, 0.5)?;
                }
                for (layer, output) in outputs.iter().skip(1).step_by(2).enumerate() {
                    let values = output.flatten_all()?.to_vec1::<f32>()?;
                    writer.histogram(&format!("activations/{layer}"), step, &values)?;
                    for tag in ["grad", "dead", "std", "mean", "norm", "spread", "x"] {
                        writer.scalar(&format!("{tag}/{layer}"), step, 0.5)?;
                    }
                }
                writer.flush()?;
                Ok(())
            })
            .map(|s| 1e3 * s)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Timing::of(times)
}

/// The forward pass written plainly: candle's linear layers and the composed activations, so
/// that autograd records every primitive operation.
fn composed_forward(net: &BaseNetwork, images: &Tensor) -> anyhow::Result<Tensor> {
    let mut x = images.clone();
    let last = net.linears().len() - 1;
    for (i, linear) in net.linears().iter().enumerate() {
        x = candle_nn::Module::forward(linear, &x)?;
        if i < last {
            x = net.activation().forward_composed(&x)?;
        }
    }
    Ok(x)
}
