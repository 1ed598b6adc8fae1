//! The forward pass on slices, once for evaluation and training: the batch is split in one
//! share of rows per thread, and each thread runs every layer for its rows (and, in training,
//! the backward pass for them too).

use std::ops::Range;

use actfn_activations::Activation;
use rayon::prelude::*;

use super::layers::Layer;
use crate::Result;

/// `buffers` resized to one buffer per length; contents are left as they are.
pub(super) fn sized(buffers: &mut Vec<Vec<f32>>, lengths: impl ExactSizeIterator<Item = usize>) {
    buffers.resize_with(lengths.len(), Vec::new);
    for (buffer, length) in buffers.iter_mut().zip(lengths) {
        buffer.resize(length, 0.0);
    }
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
    /// One part per thread of rayon's pool (at most one per row).
    pub(super) fn of(rows: usize) -> Self {
        let parts = rayon::current_num_threads().clamp(1, rows.max(1));
        Self {
            rows,
            parts,
            per_part: rows.div_ceil(parts).max(1),
        }
    }

    /// The rows of part `part`.
    pub(super) fn rows_of(&self, part: usize) -> Range<usize> {
        (part * self.per_part).min(self.rows)..((part + 1) * self.per_part).min(self.rows)
    }

    /// `buffer` (rows of `width`) cut into the parts' rows, one chunk per part (empty chunks
    /// for parts past the end).
    pub(super) fn split<'b>(&self, buffer: &'b mut [f32], width: usize) -> Vec<&'b mut [f32]> {
        let mut chunks: Vec<&mut [f32]> =
            buffer.chunks_mut((self.per_part * width).max(1)).collect();
        chunks.resize_with(self.parts, Default::default);
        chunks
    }

    /// Each of `buffers` (rows of the matching width) cut into the parts' rows: per part, its
    /// chunk of every buffer, in order.
    pub(super) fn split_each<'b>(
        &self,
        buffers: &'b mut [Vec<f32>],
        widths: impl Iterator<Item = usize>,
    ) -> Vec<Vec<&'b mut [f32]>> {
        let mut per_part: Vec<Vec<&mut [f32]>> = (0..self.parts)
            .map(|_| Vec::with_capacity(buffers.len()))
            .collect();
        for (buffer, width) in buffers.iter_mut().zip(widths) {
            for (part, chunk) in per_part.iter_mut().zip(self.split(buffer, width)) {
                part.push(chunk);
            }
        }
        per_part
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
    let batch = split.rows;
    sized(
        &mut buffers.pre_activations,
        layers.iter().map(|l| batch * l.outputs),
    );
    sized(
        &mut buffers.activations,
        layers[..depth - 1].iter().map(|l| batch * l.outputs),
    );
    let widths = || layers.iter().map(|l| l.outputs);
    let pre_activations = split.split_each(&mut buffers.pre_activations, widths());
    let activations = split.split_each(&mut buffers.activations, widths());
    let mut logits_grads = split.split(&mut buffers.logits_grad, classes).into_iter();
    let forward_parts: Vec<ForwardPart> = pre_activations
        .into_iter()
        .zip(activations)
        .enumerate()
        .map(|(part, (pre_activations, activations))| ForwardPart {
            rows: split.rows_of(part),
            pre_activations,
            activations,
            logits_grad: logits_grads.next().unwrap_or_default(),
        })
        .collect();
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
