//! The forward pass on slices, once for evaluation and training: the batch is split in one
//! share of rows per thread, and each thread runs every layer for its rows (and, in training,
//! the backward pass for them too).

use std::ops::Range;

use actfn_activations::Activation;
use rayon::prelude::*;

use super::layers::Layer;
use crate::Result;

/// How many parts a batch of `rows` is split into: one per thread of rayon's pool.
fn part_count(rows: usize) -> usize {
    rayon::current_num_threads().clamp(1, rows.max(1))
}

/// The rows of part `part` when `rows` rows are split in parts of `per_part`.
fn part_rows(part: usize, per_part: usize, rows: usize) -> Range<usize> {
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

/// How a batch of `rows` is split: `parts` parts of `per_part` rows (the last may be shorter,
/// or empty).
pub(super) struct PartSplit {
    pub(super) rows: usize,
    pub(super) parts: usize,
    pub(super) per_part: usize,
}

impl PartSplit {
    pub(super) fn of(rows: usize) -> Self {
        let parts = part_count(rows);
        Self {
            rows,
            parts,
            per_part: rows.div_ceil(parts).max(1),
        }
    }

    /// The rows of part `part`.
    pub(super) fn rows_of(&self, part: usize) -> Range<usize> {
        part_rows(part, self.per_part, self.rows)
    }
}

/// The forward pass's buffers, each `[N, width]` row-major, kept from one call to the next.
#[derive(Default)]
pub(super) struct ForwardBuffers {
    /// Per layer, the linear outputs (the last is the logits).
    pub(super) pre_activations: Vec<Vec<f32>>,
    /// Per hidden layer, the activation outputs.
    pub(super) activations: Vec<Vec<f32>>,
    /// `[N, classes]`: the gradient of the loss for the logits; the training step sizes it,
    /// evaluation leaves it empty.
    pub(super) logits_grad: Vec<f32>,
}

/// Runs the forward pass of `input` (`[split.rows, inputs]`) into `buffers`, each part of
/// `split` on a thread of its own, then `finish` on each part with its share of `extras` (the
/// training step's loss and backward pass), and returns `finish`'s results in part order. When
/// `buffers.logits_grad` is not empty, the parts also get their rows of it.
pub(super) fn forward_parts<E: Send, R: Send>(
    layers: &[Layer],
    acts: &[Activation],
    input: &[f32],
    split: &PartSplit,
    buffers: &mut ForwardBuffers,
    extras: Vec<E>,
    finish: impl Fn(&mut ForwardPart, E) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let depth = layers.len();
    let classes = layers[depth - 1].outputs;
    let &PartSplit {
        rows: batch,
        parts,
        per_part,
    } = split;
    sized(
        &mut buffers.pre_activations,
        layers.iter().map(|l| batch * l.outputs),
    );
    sized(
        &mut buffers.activations,
        layers[..depth - 1].iter().map(|l| batch * l.outputs),
    );
    let mut forward_parts: Vec<ForwardPart> = (0..parts)
        .map(|part| ForwardPart {
            rows: split.rows_of(part),
            pre_activations: Vec::with_capacity(depth),
            activations: Vec::with_capacity(depth),
            logits_grad: &mut [],
        })
        .collect();
    for (buffer, layer) in buffers.pre_activations.iter_mut().zip(layers) {
        for (part, chunk) in
            forward_parts
                .iter_mut()
                .zip(split_rows(buffer, per_part, layer.outputs, parts))
        {
            part.pre_activations.push(chunk);
        }
    }
    for (buffer, layer) in buffers.activations.iter_mut().zip(layers) {
        for (part, chunk) in
            forward_parts
                .iter_mut()
                .zip(split_rows(buffer, per_part, layer.outputs, parts))
        {
            part.activations.push(chunk);
        }
    }
    if !buffers.logits_grad.is_empty() {
        for (part, chunk) in forward_parts.iter_mut().zip(split_rows(
            &mut buffers.logits_grad,
            per_part,
            classes,
            parts,
        )) {
            part.logits_grad = chunk;
        }
    }
    forward_parts
        .into_par_iter()
        .zip(extras)
        .map(|(mut part, extra)| {
            forward_part(layers, acts, input, &mut part)?;
            finish(&mut part, extra)
        })
        .collect::<Result<Vec<R>>>()
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
