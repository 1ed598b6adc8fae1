//! The training step on slices: the forward pass, the loss and its gradient for the logits, and
//! the backward pass, each layer split between the threads twice (its outputs for the weight
//! and bias gradients, the batch's rows for the input gradient) so the threads finish together.

use std::ops::Range;

use actfn_activations::Activation;
use rayon::prelude::*;

use super::forward::{ForwardPart, PartSplit, forward_parts, part_rows, sized, split_rows};
use super::layers::Layer;
use super::matmul::{Matrix, matmul};
use super::{Scratch, StepOutput};
use crate::{Error, Result};

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

    // Forward, each part through every layer for its rows; then the loss and its gradient for
    // the logits, `(softmax - onehot) / N`, for the same rows.
    let (split, losses) = forward_parts(layers, acts, input, batch, scratch, true, |part| {
        Ok(loss_part(part, &labels[part.rows.clone()], classes, batch))
    })?;
    let loss = (losses.iter().sum::<f64>() / batch as f64) as f32;

    // Backward, layer by layer from the last. Layer `l` reads the gradient for its output
    // (the logits' or `input_grads[l + 1]`) and writes the one for its input, `input_grads[l]`
    // (none for the first layer, whose input is the images).
    let Scratch {
        pre_activations,
        activations,
        input_grads,
        logits_grad,
    } = scratch;
    sized(
        input_grads,
        layers
            .iter()
            .enumerate()
            .map(|(l, layer)| if l == 0 { 0 } else { batch * layer.inputs }),
    );
    let PartSplit { parts, per_part } = split;
    let mut grads = Vec::with_capacity(depth);
    let mut weight_norms = vec![0.0; depth];
    let mut slope_grads = vec![0.0; depth - 1];
    for (l, layer) in layers.iter().enumerate().rev() {
        let layer_input = if l == 0 {
            input
        } else {
            &activations[l - 1][..]
        };
        let mut weight_grad = vec![0f32; layer.outputs * layer.inputs];
        let mut bias_grad = layer.bias.map(|_| vec![0f32; layer.outputs]);
        let (below_grads, above_grads) = input_grads.split_at_mut(l + 1);
        let output_grad: &[f32] = above_grads.first().map_or(&logits_grad[..], |g| &g[..]);
        let input_grad = (l > 0).then_some(&mut below_grads[l]);
        let outputs_per_part = layer.outputs.div_ceil(parts).max(1);
        let mut weight_chunks =
            split_rows(&mut weight_grad, outputs_per_part, layer.inputs, parts).into_iter();
        let mut bias_chunks = bias_grad
            .as_mut()
            .map(|b| split_rows(b, outputs_per_part, 1, parts).into_iter());
        let mut input_chunks =
            input_grad.map(|g| split_rows(g, per_part, layer.inputs, parts).into_iter());
        let backward: Vec<BackwardPart> = (0..parts)
            .map(|part| BackwardPart {
                outputs: part_rows(part, outputs_per_part, layer.outputs),
                weight_grad: weight_chunks.next().unwrap_or_default(),
                bias_grad: bias_chunks.as_mut().and_then(Iterator::next),
                rows: part_rows(part, per_part, batch),
                input_grad: input_chunks.as_mut().and_then(Iterator::next),
            })
            .collect();
        let below = match (l.checked_sub(1), l.checked_sub(1).and_then(|b| acts.get(b))) {
            (Some(b), Some(&act)) => Some(Below {
                act,
                pre_activation: &pre_activations[b][..],
                activation: &activations[b][..],
            }),
            _ => None,
        };
        let sums: Vec<(f64, f64)> = backward
            .into_par_iter()
            .map(|part| backward_part(layer, output_grad, layer_input, below.as_ref(), batch, part))
            .collect::<Result<_>>()?;
        // Summed in part order, so the result depends only on the thread count.
        weight_norms[l] = sums.iter().map(|s| s.0).sum::<f64>().sqrt();
        if let Some(b) = l.checked_sub(1) {
            slope_grads[b] = sums.iter().map(|s| s.1).sum();
        }
        grads.push((weight_grad, bias_grad));
    }
    grads.reverse();
    Ok(StepOutput {
        loss,
        logits: pre_activations[depth - 1].clone(),
        grads,
        weight_norms,
        slope_grads,
    })
}

/// The layer below one being back-propagated: its activation and outputs.
struct Below<'a> {
    act: Activation,
    pre_activation: &'a [f32],
    activation: &'a [f32],
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

/// One part of a layer's backward pass: a share of the outputs (weight and bias gradients) and
/// a share of the rows (input gradient).
struct BackwardPart<'b> {
    outputs: Range<usize>,
    weight_grad: &'b mut [f32],
    bias_grad: Option<&'b mut [f32]>,
    rows: Range<usize>,
    input_grad: Option<&'b mut [f32]>,
}

/// One part of a layer's backward pass: `dW = dZ^T A` and `db = sum_rows(dZ)` for the part's
/// outputs, `dA_below = dZ W` for its rows, times the activation's derivative there. Returns
/// the sum of squares of the part's share of `dW` (for the weight gradient's norm) and the part's
/// share of the gradient of the activation's learned parameter below.
fn backward_part(
    layer: &Layer,
    output_grad: &[f32],
    layer_input: &[f32],
    below: Option<&Below>,
    batch: usize,
    part: BackwardPart,
) -> Result<(f64, f64)> {
    let output_grad = Matrix::row_major(output_grad, batch, layer.outputs);
    let outputs = part.outputs;
    matmul(
        part.weight_grad,
        output_grad.cols(outputs.clone()).transposed(),
        Matrix::row_major(layer_input, batch, layer.inputs),
        false,
    )?;
    // Summed while the chunk is still in cache.
    let squares = sum_of_squares(part.weight_grad);
    if let Some(bias_grad) = part.bias_grad {
        for row in output_grad.data.chunks_exact(layer.outputs) {
            for (b, &g) in bias_grad.iter_mut().zip(&row[outputs.clone()]) {
                *b += g;
            }
        }
    }
    let mut slope = 0.0;
    if let (Some(input_grad), Some(below)) = (part.input_grad, below) {
        let rows = part.rows;
        matmul(
            input_grad,
            output_grad.rows(rows.clone()),
            layer.weight(),
            false,
        )?;
        let span = rows.start * layer.inputs..rows.end * layer.inputs;
        let (x, y) = (&below.pre_activation[span.clone()], &below.activation[span]);
        if below.act.learned_parameter() {
            slope = below.act.backward_slice_learned(x, y, input_grad)?;
        } else {
            below.act.backward_slice(x, y, input_grad)?;
        }
    }
    Ok((squares, slope))
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
