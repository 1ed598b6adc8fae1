//! An activation function of your own, trained, evaluated and diagnosed through the public API
//! of actfn-activations, actfn-model, actfn-train and actfn-diagnostics, without editing them:
//!
//! ```sh
//! cargo run --release --example custom_activation
//! ```
//!
//! The function is `x * sigmoid(1.702 x)` (the sigmoid approximation of GELU), written as tensor
//! operations with its derivative, plus an optional CPU kernel that the fast training path uses.

use std::path::Path;

use actfn_activations::{Activation, CustomActivation};
use actfn_data::{EVAL_BATCH_SIZE, FashionMnist, Splits};
use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::{Existing, Outputs, Run, Silent, TrainConfig};
use candle_core::{Device, Tensor};

/// `x * sigmoid(1.702 x)`.
#[derive(Debug)]
struct QuickGelu;

/// The slope of the sigmoid inside.
const K: f32 = 1.702;

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

impl CustomActivation for QuickGelu {
    fn name(&self) -> &str {
        "QuickGELU"
    }

    fn key(&self) -> &str {
        "quick_gelu"
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x * candle_nn::ops::sigmoid(&(x * f64::from(K))?)?
    }

    /// `s + k x s (1 - s)` with `s = sigmoid(k x)`.
    fn derivative(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let s = candle_nn::ops::sigmoid(&(x * f64::from(K))?)?;
        &s + ((x * f64::from(K))? * (&s * (1.0 - &s)?)?)?
    }

    fn forward_slice(&self, x: &[f32], y: &mut [f32]) -> bool {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x * sigmoid(K * x);
        }
        true
    }

    fn backward_slice(&self, x: &[f32], _y: &[f32], grad: &mut [f32]) -> bool {
        for (g, &x) in grad.iter_mut().zip(x) {
            let s = sigmoid(K * x);
            *g *= s + K * x * s * (1.0 - s);
        }
        true
    }
}

/// Trains the study's network with QuickGELU on the first `subset` training images for
/// `epochs` epochs, reloads it from its checkpoint by name, and returns its test accuracy.
pub fn run(subset: usize, epochs: usize) -> anyhow::Result<f64> {
    let act = Activation::custom(Box::new(QuickGelu))?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data_dir = actfn_data::locate(&actfn_data::default_search_dirs(&root))?;
    let raw = FashionMnist::load(&data_dir)?;
    let splits = Splits::new(
        &raw,
        10_000,
        &mut rng::seeded(42, Stream::Split),
        &Device::Cpu,
    )?;

    let checkpoints = tempfile::tempdir()?;
    let run = Run {
        net: BaseNetworkConfig::with_activation(act),
        config: TrainConfig {
            max_epochs: epochs,
            subset: Some(subset),
            ..TrainConfig::default()
        },
        dir: checkpoints.path().to_path_buf(),
        name: "FashionMNIST_quick_gelu".into(),
        existing: Existing::Reuse,
        outputs: Outputs::default(),
    };
    let outcome = actfn_train::train(&run, &splits, &mut Silent)?;
    for m in &outcome.metrics {
        println!(
            "epoch {}: validation accuracy {:.2}%",
            m.epoch,
            100.0 * m.val_acc
        );
    }

    // The checkpoint names the function; the registry finds it again.
    let again = BaseNetwork::load(checkpoints.path(), &run.name, &Device::Cpu)?;
    assert_eq!(again.activation(), act);
    let test_acc = actfn_train::accuracy(&again, &splits.test, EVAL_BATCH_SIZE)?;

    let dead = actfn_diagnostics::dead_neurons(&again, &splits.val, EVAL_BATCH_SIZE)?;
    let probe = actfn_diagnostics::probe_layers(&again, &splits.val.head(1024)?.images)?;
    println!("{act}: test accuracy {:.2}%", 100.0 * test_acc);
    println!(
        "dead neurons per hidden layer (validation split): {:?}",
        dead.dead
    );
    for (layer, p) in probe.iter().enumerate() {
        println!(
            "hidden layer {layer}: activation mean {:.3}, std {:.3}",
            p.mean, p.std
        );
    }
    Ok(test_acc)
}

fn main() -> anyhow::Result<()> {
    run(20_000, 3)?;
    Ok(())
}
