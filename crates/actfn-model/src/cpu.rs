//! The network's forward pass and training step on the CPU in `f32`, on plain slices: the
//! matrix products call gemm (the library behind candle's CPU matmul) on one thread each, and
//! the work is split between threads by hand, so that two cores each run one long product where
//! candle would run short products on both cores, one after another, with a rendezvous between
//! each.
//!
//! The forward pass splits the batch: each thread runs every layer for its own rows. The
//! backward pass splits each layer twice: each thread computes the weight and bias gradients of
//! its share of the layer's outputs and the input gradient of its share of the rows, the two
//! products of equal size, so the threads finish together. The arithmetic is the written-out
//! backpropagation of [`crate::BaseNetwork::loss_and_gradients_by_tensor_ops`]; the tests compare
//! the two.

use std::ops::Range;

use actfn_activations::Activation;
use candle_core::{CpuStorage, Layout, Storage, Tensor};
use candle_nn::Linear;
use rayon::prelude::*;

use crate::{Error, Result};

/// A read-only matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy)]
struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// The rows `range` of this matrix (an empty view if the range starts past the data).
    fn rows(self, range: Range<usize>) -> Self {
        let start = (range.start * self.row_stride).min(self.data.len());
        Self {
            data: &self.data[start..],
            rows: range.len(),
            ..self
        }
    }

    /// The columns `range` of this matrix.
    fn cols(self, range: Range<usize>) -> Self {
        let start = (range.start * self.col_stride).min(self.data.len());
        Self {
            data: &self.data[start..],
            cols: range.len(),
            ..self
        }
    }

    /// One past the largest index the view reaches (0 when it is empty).
    fn span(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }
}

/// `out = lhs rhs`, or `out += lhs rhs` when `accumulate`, with `out` row-major, on this
/// thread.
fn matmul(out: &mut [f32], lhs: Matrix, rhs: Matrix, accumulate: bool) -> Result<()> {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    if rhs.rows != k
        || out.len() != m * n
        || lhs.span() > lhs.data.len()
        || rhs.span() > rhs.data.len()
    {
        return Err(Error::Input(format!(
            "matrix product of {m}x{k} and {}x{n} into {} elements does not fit its data",
            rhs.rows,
            out.len()
        )));
    }
    if out.is_empty() {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return Ok(());
    }
    // SAFETY: gemm reads `lhs` at `i * row_stride + p * col_stride` for i < m, p < k, which is
    // below `lhs.span() <= lhs.data.len()`; likewise `rhs` for p < k, j < n; it writes `out`
    // at `i * n + j < m * n == out.len()`. `out` is borrowed mutably, so nothing else reads or
    // writes it meanwhile, and it cannot overlap the shared `lhs` and `rhs`. Strides fit in
    // `isize` because they index live slices. `Parallelism::None` keeps gemm on this thread.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

/// The data of a contiguous `f32` CPU tensor, or an error naming `what`.
fn f32_data<'a>(storage: &'a Storage, layout: &Layout, what: &str) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) => Ok(&data[start..end]),
        _ => Err(Error::Input(format!(
            "the CPU path needs {what} as a contiguous f32 tensor on the CPU"
        ))),
    }
}

/// One linear layer's parameters as slices: `weight` is `[outputs, inputs]` row-major.
struct Layer<'a> {
    weight: &'a [f32],
    bias: Option<&'a [f32]>,
    inputs: usize,
    outputs: usize,
}

impl Layer<'_> {
    fn weight(&self) -> Matrix<'_> {
        Matrix::row_major(self.weight, self.outputs, self.inputs)
    }

    /// `out = input W^T + b` for the rows of `input`.
    fn forward(&self, input: &[f32], out: &mut [f32]) -> Result<()> {
        let rows = out.len() / self.outputs.max(1);
        if let Some(bias) = self.bias {
            for row in out.chunks_exact_mut(self.outputs) {
                row.copy_from_slice(bias);
            }
        }
        matmul(
            out,
            Matrix::row_major(input, rows, self.inputs),
            self.weight().transposed(),
            self.bias.is_some(),
        )
    }
}

/// Runs `work` with the layers of `linears` as slices; the tensors stay read-locked meanwhile.
fn with_layers<R>(linears: &[Linear], work: impl FnOnce(&[Layer]) -> Result<R>) -> Result<R> {
    let weights: Vec<_> = linears
        .iter()
        .map(|l| l.weight().storage_and_layout())
        .collect();
    let biases: Vec<_> = linears
        .iter()
        .map(|l| l.bias().map(Tensor::storage_and_layout))
        .collect();
    let mut layers = Vec::with_capacity(linears.len());
    for (i, (linear, ((weight, weight_layout), bias))) in
        linears.iter().zip(weights.iter().zip(&biases)).enumerate()
    {
        let (outputs, inputs) = linear.weight().dims2()?;
        let bias = match bias {
            Some((storage, layout)) => Some(f32_data(storage, layout, &format!("bias {i}"))?),
            None => None,
        };
        layers.push(Layer {
            weight: f32_data(weight, weight_layout, &format!("weight {i}"))?,
            bias,
            inputs,
            outputs,
        });
    }
    work(&layers)
}

/// Whether the CPU path serves `xs` and the network's parameters: all `f32` on the CPU.
pub(crate) fn fits(linears: &[Linear], xs: &Tensor) -> bool {
    let cpu_f32 = |t: &Tensor| t.device().is_cpu() && t.dtype() == candle_core::DType::F32;
    cpu_f32(xs)
        && linears
            .iter()
            .all(|l| cpu_f32(l.weight()) && l.bias().is_none_or(cpu_f32))
}

/// How many parts a batch of `rows` is split into: one per thread of rayon's pool.
fn part_count(rows: usize) -> usize {
    rayon::current_num_threads().clamp(1, rows.max(1))
}

/// The rows of part `part` when `rows` rows are split in parts of `per_part`.
fn part_rows(part: usize, per_part: usize, rows: usize) -> Range<usize> {
    (part * per_part).min(rows)..((part + 1) * per_part).min(rows)
}

/// The logits of `xs` (`[N, inputs]`, contiguous) without an autograd graph.
pub(crate) fn forward(linears: &[Linear], act: Activation, xs: &Tensor) -> Result<Tensor> {
    let xs = xs.contiguous()?;
    let batch = xs.dims()[0];
    let (storage, layout) = xs.storage_and_layout();
    let input = f32_data(&storage, layout, "the input")?;
    let logits = with_layers(linears, |layers| {
        let classes = layers.last().map_or(0, |l| l.outputs);
        let per_part = batch.div_ceil(part_count(batch)).max(1);
        let mut logits = vec![0f32; batch * classes];
        logits
            .par_chunks_mut(per_part * classes.max(1))
            .enumerate()
            .try_for_each(|(part, out)| {
                let rows = part_rows(part, per_part, batch);
                let (last, hidden) = layers.split_last().ok_or_else(|| {
                    Error::InvalidConfig("a network needs at least one layer".into())
                })?;
                let first_input =
                    &input[rows.start * layers[0].inputs..rows.end * layers[0].inputs];
                // Two buffers for the part, each layer's output becoming the next one's input.
                let (mut current, mut next) = (Vec::new(), Vec::new());
                for (i, layer) in hidden.iter().enumerate() {
                    next.resize(rows.len() * layer.outputs, 0.0);
                    layer.forward(if i == 0 { first_input } else { &current }, &mut next)?;
                    act.forward_in_place(&mut next);
                    std::mem::swap(&mut current, &mut next);
                }
                last.forward(
                    if hidden.is_empty() {
                        first_input
                    } else {
                        &current
                    },
                    out,
                )
            })?;
        Ok((logits, classes))
    })?;
    let (logits, classes) = logits;
    Ok(Tensor::from_vec(logits, (batch, classes), xs.device())?)
}

/// What [`loss_and_gradients`] computes.
pub(crate) struct StepOutput {
    /// Mean cross-entropy of the batch.
    pub loss: f32,
    /// `[N, classes]`, row-major.
    pub logits: Vec<f32>,
    /// Per layer, the weight gradient (`[outputs, inputs]`) and the bias gradient.
    pub grads: Vec<(Vec<f32>, Option<Vec<f32>>)>,
}

/// The training step's working buffers, kept from one step to the next so that a step allocates
/// and zeroes only the gradients it hands out. Every element is overwritten before it is read.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per layer, `[N, outputs]`: the linear outputs (the last is the logits).
    pre_activations: Vec<Vec<f32>>,
    /// Per hidden layer, `[N, outputs]`: the activation outputs.
    activations: Vec<Vec<f32>>,
    /// Per layer, `[N, inputs]`: the gradient of the loss for the layer's input (empty for the
    /// first layer, whose input is the images).
    input_grads: Vec<Vec<f32>>,
    /// `[N, classes]`: the gradient of the loss for the logits.
    logits_grad: Vec<f32>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// `buffers` resized to one buffer per length; contents are left as they are.
fn sized(buffers: &mut Vec<Vec<f32>>, lengths: impl ExactSizeIterator<Item = usize>) {
    buffers.resize_with(lengths.len(), Vec::new);
    for (buffer, length) in buffers.iter_mut().zip(lengths) {
        buffer.resize(length, 0.0);
    }
}

/// One part of the batch in the forward pass: its rows of every layer's output.
struct ForwardPart<'b> {
    rows: Range<usize>,
    pre_activations: Vec<&'b mut [f32]>,
    activations: Vec<&'b mut [f32]>,
    logits_grad: &'b mut [f32],
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

/// Splits `buffer` (rows of `width`) into the parts' row chunks, one per part (empty chunks for
/// parts past the end).
fn split_rows(buffer: &mut [f32], per_part: usize, width: usize, parts: usize) -> Vec<&mut [f32]> {
    let mut chunks: Vec<&mut [f32]> = buffer.chunks_mut((per_part * width).max(1)).collect();
    chunks.resize_with(parts, Default::default);
    chunks
}

/// The mean cross-entropy of a batch, its logits and the gradients of every parameter.
pub(crate) fn loss_and_gradients(
    linears: &[Linear],
    act: Activation,
    xs: &Tensor,
    labels: &[u32],
    scratch: &mut Scratch,
) -> Result<StepOutput> {
    let xs = xs.contiguous()?;
    let batch = xs.dims()[0];
    let (storage, layout) = xs.storage_and_layout();
    let input = f32_data(&storage, layout, "the input")?;
    with_layers(linears, |layers| {
        let depth = layers.len();
        let classes = layers[depth - 1].outputs;
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
        let parts = part_count(batch);
        let per_part = batch.div_ceil(parts).max(1);

        // Forward, each part through every layer for its rows; then the loss and its gradient
        // for the logits, `(softmax - onehot) / N`, for the same rows.
        let Scratch {
            pre_activations,
            activations,
            input_grads,
            logits_grad,
        } = scratch;
        sized(pre_activations, layers.iter().map(|l| batch * l.outputs));
        sized(
            activations,
            layers[..depth - 1].iter().map(|l| batch * l.outputs),
        );
        sized(
            input_grads,
            layers
                .iter()
                .enumerate()
                .map(|(l, layer)| if l == 0 { 0 } else { batch * layer.inputs }),
        );
        logits_grad.resize(batch * classes, 0.0);
        let mut forward_parts: Vec<ForwardPart> = (0..parts)
            .map(|part| ForwardPart {
                rows: part_rows(part, per_part, batch),
                pre_activations: Vec::with_capacity(depth),
                activations: Vec::with_capacity(depth),
                logits_grad: &mut [],
            })
            .collect();
        for (buffer, layer) in pre_activations.iter_mut().zip(layers) {
            for (part, chunk) in
                forward_parts
                    .iter_mut()
                    .zip(split_rows(buffer, per_part, layer.outputs, parts))
            {
                part.pre_activations.push(chunk);
            }
        }
        for (buffer, layer) in activations.iter_mut().zip(layers) {
            for (part, chunk) in
                forward_parts
                    .iter_mut()
                    .zip(split_rows(buffer, per_part, layer.outputs, parts))
            {
                part.activations.push(chunk);
            }
        }
        for (part, chunk) in
            forward_parts
                .iter_mut()
                .zip(split_rows(logits_grad, per_part, classes, parts))
        {
            part.logits_grad = chunk;
        }
        let losses: Vec<f64> = forward_parts
            .into_par_iter()
            .map(|part| forward_part(layers, act, input, labels, batch, part))
            .collect::<Result<_>>()?;
        let loss = (losses.iter().sum::<f64>() / batch as f64) as f32;

        // Backward, layer by layer from the last. Layer `l` reads the gradient for its output
        // (the logits' or `input_grads[l + 1]`) and writes the one for its input,
        // `input_grads[l]` (none for the first layer).
        let mut grads = Vec::with_capacity(depth);
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
            let backward_parts: Vec<BackwardPart> = (0..parts)
                .map(|part| BackwardPart {
                    outputs: part_rows(part, outputs_per_part, layer.outputs),
                    weight_grad: weight_chunks.next().unwrap_or_default(),
                    bias_grad: bias_chunks.as_mut().and_then(Iterator::next),
                    rows: part_rows(part, per_part, batch),
                    input_grad: input_chunks.as_mut().and_then(Iterator::next),
                })
                .collect();
            let below = (l > 0).then(|| (&pre_activations[l - 1][..], &activations[l - 1][..]));
            backward_parts.into_par_iter().try_for_each(|part| {
                backward_part(layer, act, output_grad, layer_input, below, batch, part)
            })?;
            grads.push((weight_grad, bias_grad));
        }
        grads.reverse();
        Ok(StepOutput {
            loss,
            logits: pre_activations[depth - 1].clone(),
            grads,
        })
    })
}

/// The forward pass of one part's rows, then their loss terms and logit gradients; returns the
/// sum of the rows' cross-entropies.
fn forward_part(
    layers: &[Layer],
    act: Activation,
    input: &[f32],
    labels: &[u32],
    batch: usize,
    mut part: ForwardPart,
) -> Result<f64> {
    let rows = part.rows.clone();
    for (l, layer) in layers.iter().enumerate() {
        let layer_input: &[f32] = if l == 0 {
            &input[rows.start * layer.inputs..rows.end * layer.inputs]
        } else {
            part.activations[l - 1]
        };
        layer.forward(layer_input, part.pre_activations[l])?;
        if l + 1 < layers.len() {
            act.forward_slice(part.pre_activations[l], part.activations[l])?;
        }
    }
    let classes = layers[layers.len() - 1].outputs;
    let logits = &part.pre_activations[layers.len() - 1];
    let mut loss = 0f64;
    for ((row, grad), &label) in logits
        .chunks_exact(classes)
        .zip(part.logits_grad.chunks_exact_mut(classes))
        .zip(&labels[rows])
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
    Ok(loss)
}

/// One part of a layer's backward pass: `dW = dZ^T A` and `db = sum_rows(dZ)` for the part's
/// outputs, `dA_below = dZ W` for its rows, times the activation's derivative there.
fn backward_part(
    layer: &Layer,
    act: Activation,
    output_grad: &[f32],
    layer_input: &[f32],
    below: Option<(&[f32], &[f32])>,
    batch: usize,
    part: BackwardPart,
) -> Result<()> {
    let output_grad = Matrix::row_major(output_grad, batch, layer.outputs);
    let outputs = part.outputs;
    matmul(
        part.weight_grad,
        output_grad.cols(outputs.clone()).transposed(),
        Matrix::row_major(layer_input, batch, layer.inputs),
        false,
    )?;
    if let Some(bias_grad) = part.bias_grad {
        for row in output_grad.data.chunks_exact(layer.outputs) {
            for (b, &g) in bias_grad.iter_mut().zip(&row[outputs.clone()]) {
                *b += g;
            }
        }
    }
    if let (Some(input_grad), Some((pre_activation, activation))) = (part.input_grad, below) {
        let rows = part.rows;
        matmul(
            input_grad,
            output_grad.rows(rows.clone()),
            layer.weight(),
            false,
        )?;
        let span = rows.start * layer.inputs..rows.end * layer.inputs;
        act.backward_slice(&pre_activation[span.clone()], &activation[span], input_grad)?;
    }
    Ok(())
}
