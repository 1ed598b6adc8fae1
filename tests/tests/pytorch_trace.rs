//! Fidelity: actfn's training beside PyTorch's, step by step, from the same initial weights and
//! the same batches: one epoch of the study's SGD (`tests/fixtures/pytorch_trace/`) and two of
//! Adam (`tests/fixtures/pytorch_trace_adam/`), made by `xtask/pytorch/trace.py` from
//! `cargo xtask trace-inputs`; see their READMEs.
//!
//! The inputs are checked first (split sizes, steps per epoch, the initial weights and the first
//! batch PyTorch used), so that a difference in what is fed is told from a difference in the
//! arithmetic; then the loss before every step, the weights after the epoch and the validation
//! accuracy. The first step whose loss parts from PyTorch's names where the training differs.

use std::collections::HashMap;

use actfn_data::EVAL_BATCH_SIZE;
use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_tests::{project_root, study_splits, values};
use actfn_train::{Optimizer, OptimizerConfig};
use candle_core::{DType, Device, Tensor};
use candle_nn::Optimizer as _;
use serde::Deserialize;

#[derive(Deserialize)]
struct Trace {
    torch: String,
    seed: u64,
    split_seed: u64,
    batch_size: usize,
    epochs: usize,
    optimizer: OptimizerConfig,
    train_images: usize,
    val_images: usize,
    steps: usize,
    init_sums: HashMap<String, f64>,
    first_batch: Vec<u32>,
    losses: Vec<f64>,
    val_acc: f64,
}

fn fixture(name: &str) -> (Trace, HashMap<String, Tensor>) {
    let dir = project_root().join("tests").join("fixtures").join(name);
    let text = std::fs::read_to_string(dir.join("trace.json")).unwrap();
    let trace: Trace = serde_json::from_str(&text).unwrap();
    let weights =
        candle_core::safetensors::load(dir.join("final_weights.safetensors"), &Device::Cpu)
            .unwrap();
    (trace, weights)
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn one_epoch_of_sgd_matches_pytorch_step_by_step() {
    let (trace, weights) = fixture("pytorch_trace");
    assert!(matches!(trace.optimizer, OptimizerConfig::Sgd(_)));
    matches_step_by_step(&trace, &weights, SGD_AFTER);
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn two_epochs_of_adam_match_pytorch_step_by_step() {
    let (trace, weights) = fixture("pytorch_trace_adam");
    assert!(matches!(trace.optimizer, OptimizerConfig::Adam(_)));
    assert_eq!(trace.epochs, 2);
    matches_step_by_step(&trace, &weights, ADAM_AFTER);
}

/// Trains what `trace` describes with actfn and compares it with PyTorch's, step by step.
fn matches_step_by_step(trace: &Trace, pytorch_final: &HashMap<String, Tensor>, after: After) {
    eprintln!("fixture from PyTorch {}: {}", trace.torch, trace.optimizer);
    assert_eq!(trace.split_seed, 42, "the fixture uses the study's split");
    let splits = study_splits();

    // What an epoch is: the split's sizes, the steps (the short last batch dropped).
    assert_eq!(
        (splits.train.len(), splits.val.len()),
        (trace.train_images, trace.val_images)
    );
    let steps = splits.train.len() / trace.batch_size;
    assert_eq!(steps * trace.epochs, trace.steps, "steps per epoch");

    // The inputs: the initial weights and the batch order PyTorch was given.
    let (net, varmap) =
        BaseNetwork::seeded(BaseNetworkConfig::default(), trace.seed, &Device::Cpu).unwrap();
    for (name, tensor) in net.named_parameters() {
        let sum: f64 = values(&tensor).iter().map(|&v| f64::from(v)).sum();
        let theirs = trace.init_sums[&name];
        assert!(
            (sum - theirs).abs() < 1e-9 * (1.0 + theirs.abs()),
            "the initial weights differ from the ones PyTorch started from: {name} sums to {sum}, \
             PyTorch's to {theirs}"
        );
    }
    let mut shuffle = rng::seeded(trace.seed, Stream::Shuffle);
    let order = actfn_data::epoch_order(splits.train.len(), &mut shuffle.clone());
    assert_eq!(
        order[..trace.batch_size],
        trace.first_batch[..],
        "the batch order differs from the one PyTorch was given"
    );

    // The epochs, as training runs them.
    let mut optimizer = Optimizer::new(varmap.all_vars(), trace.optimizer).unwrap();
    let mut losses = Vec::with_capacity(trace.steps);
    for _ in 0..trace.epochs {
        for batch in splits
            .train
            .batches(trace.batch_size, Some(&mut shuffle), true)
            .unwrap()
        {
            let (images, labels) = batch.unwrap();
            let step = actfn_train::train_step(&net, &mut optimizer, &images, &labels).unwrap();
            losses.push(f64::from(step.loss));
        }
    }
    assert_eq!(losses.len(), trace.losses.len());
    let worst = losses
        .iter()
        .zip(&trace.losses)
        .map(|(a, b)| (a - b).abs() / b.abs())
        .fold(0.0, f64::max);
    eprintln!("largest relative difference of a step's loss: {worst:.3e}");
    // Step by step, and each epoch's mean loss.
    let first_parting = losses
        .iter()
        .zip(&trace.losses)
        .enumerate()
        .position(|(step, (a, b))| {
            let tolerance = if step < EXACT_STEPS {
                EARLY_LOSS_TOLERANCE
            } else {
                LOSS_TOLERANCE
            };
            (a - b).abs() > tolerance * b.abs()
        });
    if let Some(step) = first_parting {
        panic!(
            "the training parts from PyTorch's at step {} (loss {} vs PyTorch's {}): {}",
            step + 1,
            losses[step],
            trace.losses[step],
            if step == 0 {
                "the first forward pass or loss differs (initialization, input normalization, \
                 the loss's reduction)"
            } else if step == 1 {
                "the first update differs (the gradients, or the optimizer's first step)"
            } else {
                "the updates differ after the first steps"
            }
        );
    }
    for (epoch, (ours, theirs)) in losses
        .chunks(steps)
        .zip(trace.losses.chunks(steps))
        .enumerate()
    {
        let mean = |l: &[f64]| l.iter().sum::<f64>() / l.len() as f64;
        let (ours, theirs) = (mean(ours), mean(theirs));
        eprintln!(
            "epoch {}: mean loss {ours:.6} vs PyTorch's {theirs:.6}",
            epoch + 1
        );
        assert!(
            (ours - theirs).abs() <= EPOCH_LOSS_TOLERANCE * theirs,
            "epoch {}: mean loss {ours} vs PyTorch's {theirs}",
            epoch + 1
        );
    }

    for (name, tensor) in net.named_parameters() {
        let ours = values(&tensor);
        let theirs = values(&pytorch_final[&name].to_dtype(DType::F32).unwrap());
        let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
        let difference = norm(&mut ours.iter().zip(&theirs).map(|(a, b)| f64::from(a - b)))
            / norm(&mut theirs.iter().map(|&b| f64::from(b)));
        eprintln!("{name}: relative difference after training {difference:.3e}");
        assert!(
            difference <= after.weights,
            "{name} after training: |ours - PyTorch's| / |PyTorch's| = {difference}"
        );
    }

    let val_acc = actfn_train::accuracy(&net, &splits.val, EVAL_BATCH_SIZE).unwrap();
    eprintln!(
        "validation accuracy {val_acc} vs PyTorch's {}",
        trace.val_acc
    );
    assert!(
        (val_acc - trace.val_acc).abs() <= after.val_acc,
        "validation accuracy {val_acc} vs PyTorch's {}",
        trace.val_acc
    );
}

// The tolerances, from float32 arithmetic. Both sides compute the same step in float32 with
// other summation orders (gemm's blocking against MKL's, the loss summed by parts), so a step's
// loss differs by a few units in the last place: 2^-24 relative is 6e-8, and the first 40 steps
// were measured to agree within 1 unit (1.04e-7) every time. While the network sits on its
// initial plateau these differences do not grow; once the loss falls (steps 50 to 100 here),
// ReLU's masks and the steep descent amplify them, as they amplify any two float32 runs of one
// network in a different order: measured 1.3e-3 relative by the end of the epoch, 1.5% of a
// tensor's largest weight, and 2 validation images of 10,000. A changed initialization or
// optimizer moves the early losses by orders of magnitude more than the early tolerance (the
// closing note of the fidelity issue records both attempts).

/// Steps that must agree to a few units in the last place.
const EXACT_STEPS: usize = 40;
/// 8 units in the last place of a loss near 2.3.
const EARLY_LOSS_TOLERANCE: f64 = 5e-7;
/// After those steps, relative. The two trainings part as two float32 runs of one network in
/// another summation order part: with SGD by 1.3e-3 by the end of the epoch; with Adam, whose
/// update has the same size however small the gradient (a last-bit difference in a near-zero
/// gradient flips a whole step), by up to 3.4e-2 in two epochs, in both directions. PyTorch
/// parts from itself as far: the same Adam trace on 2 threads instead of 1 departs at step 93
/// and by up to 4.0e-2 (measured with trace.py). Two and a half times that.
const LOSS_TOLERANCE: f64 = 1e-1;
/// Each epoch's mean loss, relative, where the steps' differences average out (PyTorch on 1
/// and 2 threads: 1.2e-4 and 4e-5 for the Adam trace's two epochs).
const EPOCH_LOSS_TOLERANCE: f64 = 2e-3;
/// How far the networks may differ after training: each tensor by the norm of the difference
/// relative to PyTorch's, and the validation accuracy.
#[derive(Clone, Copy)]
struct After {
    weights: f64,
    val_acc: f64,
}

/// After SGD's epoch: measured 2.0e-3 (the largest tensor's) and 6 validation images; five
/// times the weights', 50 images.
const SGD_AFTER: After = After {
    weights: 1e-2,
    val_acc: 5e-3,
};

/// After Adam's two epochs the weights have parted as PyTorch's part from themselves: PyTorch on
/// 2 threads against the fixture's 1 thread, up to 0.154 and 25 validation images; actfn, up to
/// 0.182 and 41 images (measured). Two and a half times PyTorch's own, and 100 images.
const ADAM_AFTER: After = After {
    weights: 0.4,
    val_acc: 1e-2,
};

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn an_epoch_sees_each_image_at_most_once_and_drops_another_short_batch_each_time() {
    // As PyTorch's DataLoader(shuffle=True, drop_last=True): 195 batches of 256 from 50,000
    // images, every image at most once, and the 80 left out differ from epoch to epoch.
    let splits = study_splits();
    let mut shuffle = rng::seeded(42, Stream::Shuffle);
    let mut left_out = Vec::new();
    for _ in 0..2 {
        let order = actfn_data::epoch_order(splits.train.len(), &mut shuffle);
        let kept = splits.train.len() / 256 * 256;
        assert_eq!(kept, 49_920);
        let mut seen = order[..kept].to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), kept, "an image twice in one epoch");
        let mut rest = order[kept..].to_vec();
        rest.sort_unstable();
        left_out.push(rest);
    }
    assert_eq!(left_out[0].len(), 80);
    assert_ne!(left_out[0], left_out[1]);
}
