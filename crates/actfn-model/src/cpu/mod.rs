//! The network's forward pass and training step on the CPU in `f32`, on plain slices: the
//! matrix products call gemm (the library behind candle's CPU matmul) on one thread each, and
//! the batch is split between threads by hand, each thread taking its rows through the forward
//! and the backward pass on its own, so that two cores each run long products with no
//! rendezvous between layers, where candle would run short products on both cores, one after
//! another, with a rendezvous between each.
//!
//! - `matmul`: the checked gemm call on matrix views;
//! - `layers`: the parameters borrowed from candle tensors as slices;
//! - `forward`: the forward pass, shared by evaluation and training;
//! - `step`: the loss and the backward pass.
//!
//! The arithmetic is the written-out backpropagation of the tensor-operation path in
//! `network.rs`; the tests compare the two.

mod forward;
mod layers;
mod matmul;
mod step;

use actfn_activations::Activation;
use candle_core::Tensor;
use candle_nn::Linear;

use crate::{Error, Result};
pub(crate) use layers::fits;

/// The training step's and the forward pass's working buffers, kept from one call to the next
/// so that a step allocates only the gradients it hands out (and zeroes none: the products
/// write every element). Every element is overwritten before it is read.
#[derive(Default)]
pub(crate) struct Scratch {
    forward: forward::ForwardBuffers,
    backward: step::BackwardBuffers,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// What [`loss_and_gradients`] computes.
pub(crate) struct StepOutput {
    /// Mean cross-entropy of the batch.
    pub loss: f32,
    /// `[N, classes]`, row-major.
    pub logits: Vec<f32>,
    /// Per layer, the weight gradient (`[outputs, inputs]`) and the bias gradient.
    pub grads: Vec<(Vec<f32>, Option<Vec<f32>>)>,
    /// Per layer, the L2 norm of the weight gradient.
    pub weight_norms: Vec<f64>,
    /// Per hidden layer, the gradient of the activation's learned parameter (0 without one).
    pub slope_grads: Vec<f64>,
}

/// Checks that `input` holds `batch` rows of the first layer's inputs.
fn check_input(layers: &[layers::Layer], input: &[f32], batch: usize) -> Result<()> {
    let width = layers[0].inputs;
    if batch.checked_mul(width) != Some(input.len()) {
        return Err(Error::Input(format!(
            "an input of {} values is not {batch} rows of {width}",
            input.len()
        )));
    }
    Ok(())
}

/// Every layer's output of a batch: linear, activation, ..., linear (the logits).
pub(crate) struct LayerOutputs {
    /// Per layer in order, `[N, width]` row-major.
    pub outputs: Vec<Vec<f32>>,
}

/// Runs `work` on the contiguous `f32` data of `xs` (`[N, inputs]`).
fn with_input<R>(xs: &Tensor, work: impl FnOnce(&[f32], usize) -> Result<R>) -> Result<R> {
    let xs = xs.contiguous()?;
    let batch = xs.dims().first().copied().unwrap_or(0);
    let (storage, layout) = xs.storage_and_layout();
    work(layers::f32_data(&storage, layout, "the input")?, batch)
}

/// The logits of `xs` (`[N, inputs]`) without an autograd graph; with `keep`, every layer's
/// output too. `acts` holds each hidden layer's activation.
pub(crate) fn forward(
    linears: &[Linear],
    acts: &[Activation],
    xs: &Tensor,
    scratch: &mut Scratch,
    keep: bool,
) -> Result<LayerOutputs> {
    with_input(xs, |input, batch| {
        layers::with_layers(linears, |layers| {
            check_input(layers, input, batch)?;
            check_activations(layers, acts)?;
            let split = forward::PartSplit::of(batch);
            let buffers = &mut scratch.forward;
            buffers.logits_grad.clear();
            let no_extras = vec![(); split.parts];
            forward::forward_parts(layers, acts, input, &split, buffers, no_extras, |_, ()| {
                Ok(())
            })?;
            let depth = layers.len();
            let outputs = if keep {
                let mut all = Vec::with_capacity(2 * depth - 1);
                for (l, pre) in buffers.pre_activations.iter().enumerate() {
                    all.push(pre.clone());
                    if let Some(post) = buffers.activations.get(l) {
                        all.push(post.clone());
                    }
                }
                all
            } else {
                vec![buffers.pre_activations[depth - 1].clone()]
            };
            Ok(LayerOutputs { outputs })
        })
    })
}

/// The mean cross-entropy of a batch, its logits and the gradients of every parameter.
pub(crate) fn loss_and_gradients(
    linears: &[Linear],
    acts: &[Activation],
    xs: &Tensor,
    labels: &[u32],
    scratch: &mut Scratch,
) -> Result<StepOutput> {
    with_input(xs, |input, batch| {
        layers::with_layers(linears, |layers| {
            check_activations(layers, acts)?;
            step::loss_and_gradients(layers, acts, input, batch, labels, scratch)
        })
    })
}

/// Checks that there is one activation per hidden layer.
fn check_activations(layers: &[layers::Layer], acts: &[Activation]) -> Result<()> {
    if acts.len() + 1 != layers.len() {
        return Err(Error::Input(format!(
            "{} activations for {} hidden layers",
            acts.len(),
            layers.len() - 1
        )));
    }
    Ok(())
}
