//! The training step on slices. Each part of the batch (one per thread) runs the forward pass,
//! the loss and the backward pass for its rows on its own thread, with no rendezvous between
//! layers, and writes its share of every parameter's gradient (the sum over its rows); a second
//! parallel pass sums the shares in part order and takes the weight gradients' norms. The
//! result depends on the thread count only, never on timing.

use actfn_activations::Activation;
use rayon::prelude::*;

use super::forward::{ForwardPart, PartSplit, forward_parts, sized};
use super::layers::Layer;
use super::matmul::{Matrix, matmul, matmul_into};
use super::{Scratch, StepOutput};
use crate::{Error, Result};

/// Elements of a weight gradient summed and squared per job of the second pass.
const CHUNK: usize = 1 << 14;

/// Checks the labels against the batch and the classes.
fn check_labels(labels: &[u32], batch: usize, classes: usize) -> Result<()> {
    if let Some((i, label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= classes)
    {
        return Err(Error::Input(format!(
            "label {label} at position {i} is not a class of this network (0 to {})",
            classes - 1
        )));
    }
    if labels.len() != batch {
        return Err(Error::Input(format!(
            "{} labels for a batch of {batch} images",
            labels.len()
        )));
    }
    Ok(())
}

/// The backward pass's buffers, kept from one call to the next.
#[derive(Default)]
pub(super) struct BackwardBuffers {
    /// Per layer, `[N, inputs]`: the gradient of the loss for the layer's input (empty for the
    /// first layer, whose input is the images).
    input_grads: Vec<Vec<f32>>,
    /// The shares of the gradients of every part after the first (the first part writes its
    /// share into the gradients handed out, and the others are added to it).
    shares: Vec<Gradients>,
}

/// Per layer, a weight gradient (`[outputs, inputs]`) and a bias gradient (`[outputs]`, empty
/// for a layer without bias).
struct Gradients {
    weights: Vec<Vec<f32>>,
    biases: Vec<Vec<f32>>,
}

impl Gradients {
    /// No gradient yet for `depth` layers: the backward pass's products size them.
    fn empty(depth: usize) -> Self {
        Self {
            weights: vec![Vec::new(); depth],
            biases: vec![Vec::new(); depth],
        }
    }
}

/// What a part of the batch hands to the backward pass besides its forward outputs.
struct BackwardPart<'b> {
    /// Per layer, the part's rows of the gradient for the layer's input.
    input_grads: Vec<&'b mut [f32]>,
    /// Where the part's share of the gradients goes: `None` for the first part, which
    /// allocates the gradients handed out.
    share: Option<&'b mut Gradients>,
}

/// What one part of the batch computed.
struct PartResult {
    /// The sum of its rows' cross-entropies.
    loss: f64,
    /// Per hidden layer, its share of the gradient of the activation's learned parameter.
    slopes: Vec<f64>,
    /// The first part's share of the gradients, which the others are added to.
    gradients: Option<Gradients>,
}

/// The mean cross-entropy of a batch, its logits and the gradients of every parameter.
pub(crate) fn loss_and_gradients(
    layers: &[Layer],
    acts: &[Activation],
    input: &[f32],
    batch: usize,
    labels: &[u32],
    scratch: &mut Scratch,
) -> Result<StepOutput> {
    let depth = layers.len();
    let classes = layers[depth - 1].outputs;
    check_labels(labels, batch, classes)?;
    super::check_input(layers, input, batch)?;
    let split = PartSplit::of(batch);
    let Scratch { forward, backward } = scratch;
    forward.logits_grad.resize(batch * classes, 0.0);
    sized(
        &mut backward.input_grads,
        layers
            .iter()
            .enumerate()
            .map(|(l, layer)| if l == 0 { 0 } else { batch * layer.inputs }),
    );
    backward
        .shares
        .resize_with(split.parts.saturating_sub(1), || Gradients::empty(depth));
    let input_grads = split.split_each(&mut backward.input_grads, layers.iter().map(|l| l.inputs));
    let mut shares = backward.shares.iter_mut();
    let extras: Vec<BackwardPart> = input_grads
        .into_iter()
        .enumerate()
        .map(|(part, input_grads)| BackwardPart {
            input_grads,
            // The first part allocates the gradients handed out; the others fill the scratch.
            share: if part == 0 { None } else { shares.next() },
        })
        .collect();

    let results = forward_parts(
        layers,
        acts,
        input,
        &split,
        forward,
        extras,
        |part, extra| {
            let loss = loss_part(part, &labels[part.rows.clone()], classes, batch);
            let mut first = None;
            let share = match extra.share {
                Some(share) => share,
                None => first.insert(Gradients::empty(depth)),
            };
            let images =
                &input[part.rows.start * layers[0].inputs..part.rows.end * layers[0].inputs];
            let slopes = backward_part(layers, acts, images, part, extra.input_grads, share)?;
            Ok(PartResult {
                loss,
                slopes,
                gradients: first,
            })
        },
    )?;

    // Summed in part order, so the result depends only on the thread count.
    let loss = (results.iter().map(|r| r.loss).sum::<f64>() / batch as f64) as f32;
    let mut slope_grads = vec![0.0; depth - 1];
    for result in &results {
        for (total, share) in slope_grads.iter_mut().zip(&result.slopes) {
            *total += share;
        }
    }
    let mut total = results
        .into_iter()
        .next()
        .and_then(|r| r.gradients)
        .ok_or_else(|| Error::Input("the batch's first part kept no gradients".into()))?;
    let squares = add_shares(&mut total, &backward.shares);
    let weight_norms = squares.into_iter().map(f64::sqrt).collect();
    let grads = total
        .weights
        .into_iter()
        .zip(total.biases)
        .zip(layers)
        .map(|((weight, bias), layer)| (weight, layer.bias.map(|_| bias)))
        .collect();
    Ok(StepOutput {
        loss,
        logits: forward.pre_activations[depth - 1].clone(),
        grads,
        weight_norms,
        slope_grads,
    })
}

/// Adds `shares` to `total`, in order, and returns the sum of squares of each layer's weight
/// gradient. The weight gradients are cut into chunks of [`CHUNK`] that run in parallel; each
/// chunk's sum of squares is taken while it is in cache, and the chunks are summed in order.
fn add_shares(total: &mut Gradients, shares: &[Gradients]) -> Vec<f64> {
    let jobs: Vec<(usize, usize, &mut [f32])> = total
        .weights
        .iter_mut()
        .enumerate()
        .flat_map(|(l, weights)| {
            weights
                .chunks_mut(CHUNK)
                .enumerate()
                .map(move |(c, chunk)| (l, c * CHUNK, chunk))
        })
        .collect();
    let chunk_squares: Vec<(usize, f64)> = jobs
        .into_par_iter()
        .map(|(l, start, chunk)| {
            for share in shares {
                let share = share.weights.get(l).and_then(|w| w.get(start..));
                add(chunk, share.unwrap_or_default());
            }
            (l, sum_of_squares(chunk))
        })
        .collect();
    let mut squares = vec![0.0; total.weights.len()];
    for (l, s) in chunk_squares {
        squares[l] += s;
    }
    for (l, bias) in total.biases.iter_mut().enumerate() {
        for share in shares.iter().filter_map(|s| s.biases.get(l)) {
            add(bias, share);
        }
    }
    squares
}

/// `total[i] += share[i]`.
fn add(total: &mut [f32], share: &[f32]) {
    for (t, &s) in total.iter_mut().zip(share) {
        *t += s;
    }
}

/// The loss terms and logit gradients of one part's rows; returns the sum of the rows'
/// cross-entropies.
fn loss_part(part: &mut ForwardPart, labels: &[u32], classes: usize, batch: usize) -> f64 {
    let logits = &part.pre_activations[part.pre_activations.len() - 1];
    let mut loss = 0f64;
    for ((row, grad), &label) in logits
        .chunks_exact(classes)
        .zip(part.logits_grad.chunks_exact_mut(classes))
        .zip(labels)
    {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
        let log_sum = max + sum.ln();
        loss += f64::from(log_sum - row[label as usize]);
        for (g, &v) in grad.iter_mut().zip(row) {
            *g = (v - log_sum).exp() / batch as f32;
        }
        grad[label as usize] -= 1.0 / batch as f32;
    }
    loss
}

/// The backward pass of one part's rows, last layer first: per layer `dW += dZ^T A` and
/// `db += sum_rows(dZ)` into `share`, and `dA_below = dZ W` times the activation's derivative
/// there into `input_grads`. `images` are the part's rows of the input. Returns the part's
/// share of the gradient of each hidden layer's learned parameter (0 without one).
fn backward_part(
    layers: &[Layer],
    acts: &[Activation],
    images: &[f32],
    part: &ForwardPart,
    mut input_grads: Vec<&mut [f32]>,
    share: &mut Gradients,
) -> Result<Vec<f64>> {
    let rows = part.rows.len();
    let depth = layers.len();
    let mut slopes = vec![0.0; depth - 1];
    for (l, layer) in layers.iter().enumerate().rev() {
        let (below, above) = input_grads.split_at_mut(l + 1);
        let output_grad: &[f32] = above.first().map_or(&*part.logits_grad, |g| &**g);
        let layer_input: &[f32] = if l == 0 {
            images
        } else {
            part.activations[l - 1]
        };
        let output_grad = Matrix::row_major(output_grad, rows, layer.outputs);
        matmul_into(
            &mut share.weights[l],
            output_grad.transposed(),
            Matrix::row_major(layer_input, rows, layer.inputs),
        )?;
        if layer.bias.is_some() {
            let bias_grad = &mut share.biases[l];
            bias_grad.clear();
            bias_grad.resize(layer.outputs, 0.0);
            for row in output_grad.data.chunks_exact(layer.outputs) {
                add(bias_grad, row);
            }
        }
        if let Some(b) = l.checked_sub(1) {
            let input_grad = &mut *below[l];
            matmul(input_grad, output_grad, layer.weight(), false)?;
            let (x, y) = (&*part.pre_activations[b], &*part.activations[b]);
            let act = acts[b];
            if act.learned_parameter() {
                slopes[b] = act.backward_slice_learned(x, y, input_grad)?;
            } else {
                act.backward_slice(x, y, input_grad)?;
            }
        }
    }
    Ok(slopes)
}

/// The sum of squares of `values`: eight f32 lanes (so the loop vectorizes) over blocks of 1024
/// values, the blocks summed in f64.
fn sum_of_squares(values: &[f32]) -> f64 {
    values
        .chunks(1024)
        .map(|block| {
            let mut lanes = [0f32; 8];
            let mut chunks = block.chunks_exact(8);
            for chunk in &mut chunks {
                for (lane, &v) in lanes.iter_mut().zip(chunk) {
                    *lane += v * v;
                }
            }
            let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
            f64::from(lanes.iter().sum::<f32>() + tail)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::sum_of_squares;

    #[test]
    fn the_sum_of_squares_matches_a_plain_sum() {
        let values: Vec<f32> = (0..3001).map(|i| (i as f32 * 0.37).sin()).collect();
        let plain: f64 = values.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        assert!((sum_of_squares(&values) - plain).abs() < 1e-4 * plain);
        assert_eq!(sum_of_squares(&[]), 0.0);
    }
}
