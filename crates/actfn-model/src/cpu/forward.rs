//! The forward pass on slices, once for evaluation and training: the batch is split in one
//! share of rows per thread, and each thread runs every layer for its rows.

use std::ops::Range;

use actfn_activations::Activation;
use rayon::prelude::*;

use super::Scratch;
use super::layers::Layer;
use crate::Result;

/// How many parts a batch of `rows` is split into: one per thread of rayon's pool.
pub(super) fn part_count(rows: usize) -> usize {
    rayon::current_num_threads().clamp(1, rows.max(1))
}

/// The rows of part `part` when `rows` rows are split in parts of `per_part`.
pub(super) fn part_rows(part: usize, per_part: usize, rows: usize) -> Range<usize> {
    (part * per_part).min(rows)..((part + 1) * per_part).min(rows)
}

/// `buffers` resized to one buffer per length; contents are left as they are.
pub(super) fn sized(buffers: &mut Vec<Vec<f32>>, lengths: impl ExactSizeIterator<Item = usize>) {
    buffers.resize_with(lengths.len(), Vec::new);
    for (buffer, length) in buffers.iter_mut().zip(lengths) {
        buffer.resize(length, 0.0);
    }
}

/// Splits `buffer` (rows of `width`) into the parts' row chunks, one per part (empty chunks for
/// parts past the end).
pub(super) fn split_rows(
    buffer: &mut [f32],
    per_part: usize,
    width: usize,
    parts: usize,
) -> Vec<&mut [f32]> {
    let mut chunks: Vec<&mut [f32]> = buffer.chunks_mut((per_part * width).max(1)).collect();
    chunks.resize_with(parts, Default::default);
    chunks
}

/// One part of the batch in the forward pass: its rows of every layer's output.
pub(super) struct ForwardPart<'b> {
    pub(super) rows: Range<usize>,
    /// Per layer, the part's rows of the linear output (the last is the logits).
    pub(super) pre_activations: Vec<&'b mut [f32]>,
    /// Per hidden layer, the part's rows of the activation output.
    pub(super) activations: Vec<&'b mut [f32]>,
    /// The part's rows of the logits' gradient (empty when only evaluating).
    pub(super) logits_grad: &'b mut [f32],
}

/// How the batch was split: parts of `per_part` rows.
pub(super) struct PartSplit {
    pub(super) parts: usize,
    pub(super) per_part: usize,
}

impl PartSplit {
    pub(super) fn of(batch: usize) -> Self {
        let parts = part_count(batch);
        Self {
            parts,
            per_part: batch.div_ceil(parts).max(1),
        }
    }
}

/// Runs the forward pass of `input` (`[batch, inputs]`) into `scratch`'s per-layer buffers, each
/// part on a thread of its own, then `finish` on each part (the training step's loss terms), and
/// returns `finish`'s results in part order. With `logits_grad`, the parts also get their rows
/// of `scratch.logits_grad`.
pub(super) fn forward_parts<R: Send>(
    layers: &[Layer],
    acts: &[Activation],
    input: &[f32],
    batch: usize,
    scratch: &mut Scratch,
    logits_grad: bool,
    finish: impl Fn(&mut ForwardPart) -> Result<R> + Sync,
) -> Result<(PartSplit, Vec<R>)> {
    let depth = layers.len();
    let classes = layers[depth - 1].outputs;
    let split = PartSplit::of(batch);
    let PartSplit { parts, per_part } = split;
    sized(
        &mut scratch.pre_activations,
        layers.iter().map(|l| batch * l.outputs),
    );
    sized(
        &mut scratch.activations,
        layers[..depth - 1].iter().map(|l| batch * l.outputs),
    );
    scratch
        .logits_grad
        .resize(if logits_grad { batch * classes } else { 0 }, 0.0);
    let mut forward_parts: Vec<ForwardPart> = (0..parts)
        .map(|part| ForwardPart {
            rows: part_rows(part, per_part, batch),
            pre_activations: Vec::with_capacity(depth),
            activations: Vec::with_capacity(depth),
            logits_grad: &mut [],
        })
        .collect();
    for (buffer, layer) in scratch.pre_activations.iter_mut().zip(layers) {
        for (part, chunk) in
            forward_parts
                .iter_mut()
                .zip(split_rows(buffer, per_part, layer.outputs, parts))
        {
            part.pre_activations.push(chunk);
        }
    }
    for (buffer, layer) in scratch.activations.iter_mut().zip(layers) {
        for (part, chunk) in
            forward_parts
                .iter_mut()
                .zip(split_rows(buffer, per_part, layer.outputs, parts))
        {
            part.activations.push(chunk);
        }
    }
    if logits_grad {
        for (part, chunk) in forward_parts.iter_mut().zip(split_rows(
            &mut scratch.logits_grad,
            per_part,
            classes,
            parts,
        )) {
            part.logits_grad = chunk;
        }
    }
    let results = forward_parts
        .into_par_iter()
        .map(|mut part| {
            forward_part(layers, acts, input, &mut part)?;
            finish(&mut part)
        })
        .collect::<Result<Vec<R>>>()?;
    Ok((split, results))
}

/// The forward pass of one part's rows through every layer; `acts` holds each hidden layer's
/// activation.
fn forward_part(
    layers: &[Layer],
    acts: &[Activation],
    input: &[f32],
    part: &mut ForwardPart,
) -> Result<()> {
    let rows = part.rows.clone();
    let first = &layers[0];
    let images = &input[rows.start * first.inputs..rows.end * first.inputs];
    for (l, layer) in layers.iter().enumerate() {
        let (below, current) = part.activations.split_at_mut(l);
        let layer_input: &[f32] = match below.last() {
            Some(previous) => previous,
            None => images,
        };
        layer.forward(layer_input, part.pre_activations[l])?;
        if let (Some(output), Some(act)) = (current.first_mut(), acts.get(l)) {
            act.forward_slice(part.pre_activations[l], output)?;
        }
    }
    Ok(())
}
