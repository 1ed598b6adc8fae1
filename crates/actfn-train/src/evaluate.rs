//! The study's `test_model` and one step of its training loop.

use actfn_data::Split;
use actfn_model::BaseNetwork;
use candle_core::{D, DType, Tensor};
use candle_nn::Optimizer;

use crate::{Error, Result};

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

/// The class `net` predicts for each image of `split` (the index of its largest logit), in the
/// split's order, in batches of `batch_size`.
pub fn predictions(net: &BaseNetwork, split: &Split, batch_size: usize) -> Result<Vec<u32>> {
    let mut classes = Vec::with_capacity(split.len());
    for batch in split.batches(batch_size, None, false)? {
        let (images, _) = batch?;
        let logits = net.forward_no_grad(&images)?;
        classes.extend(logits.argmax(D::Minus1)?.to_vec1::<u32>()?);
    }
    Ok(classes)
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
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// The batch's mean cross-entropy, before the update.
    pub loss: f32,
    /// How many images of the batch the network classified correctly, before the update.
    pub correct: f64,
    /// The L2 norm of each linear layer's weight gradient, input side first.
    pub weight_grad_norms: Vec<f64>,
}

/// One step of the study's training on a batch: forward, cross-entropy, backward, update. The
/// backward pass is the network's written-out backpropagation (checked against autograd in the
/// model's tests). When the loss is not finite the parameters are left as they are, and the
/// caller decides what to do.
pub fn train_step(
    net: &BaseNetwork,
    optimizer: &mut (impl Optimizer + Send),
    images: &Tensor,
    labels: &Tensor,
) -> Result<StepResult> {
    // The step runs on a worker of rayon's pool, so each of its parallel phases forks from a
    // thread that takes part in it while the other workers are still awake from the last one;
    // called from outside, every phase would wake the pool and put this thread to sleep.
    rayon::scope(|_| {
        let step = net.loss_and_gradients(images, labels)?;
        let loss = step.loss().to_scalar::<f32>()?;
        let correct = count_correct(step.logits(), labels)?;
        if loss.is_finite() {
            optimizer.step(step.grad_store())?;
        }
        Ok(StepResult {
            loss,
            correct,
            weight_grad_norms: step.weight_norms().to_vec(),
        })
    })
}
