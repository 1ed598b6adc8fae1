//! The network's parameters borrowed from candle tensors as plain slices.

use candle_core::{CpuStorage, DType, Layout, Storage, Tensor};
use candle_nn::Linear;

use crate::{Error, Result};

use super::matmul::{Matrix, matmul};

/// The data of a contiguous `f32` CPU tensor, or an error naming `what`.
pub(crate) fn f32_data<'a>(storage: &'a Storage, layout: &Layout, what: &str) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) => data
            .get(start..end)
            .ok_or_else(|| Error::Input(format!("{what}: its layout lies outside its storage"))),
        _ => Err(Error::Input(format!(
            "the CPU path needs {what} as a contiguous f32 tensor on the CPU"
        ))),
    }
}

/// Whether `t` is an `f32` tensor on the CPU.
pub(crate) fn is_cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// One linear layer's parameters as slices: `weight` is `[outputs, inputs]` row-major.
pub(crate) struct Layer<'a> {
    pub(crate) weight: &'a [f32],
    pub(crate) bias: Option<&'a [f32]>,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
}

impl Layer<'_> {
    pub(crate) fn weight(&self) -> Matrix<'_> {
        Matrix::row_major(self.weight, self.outputs, self.inputs)
    }

    /// `out = input W^T + b` for the rows of `input`.
    pub(crate) fn forward(&self, input: &[f32], out: &mut [f32]) -> Result<()> {
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
pub(crate) fn with_layers<R>(
    linears: &[Linear],
    work: impl FnOnce(&[Layer]) -> Result<R>,
) -> Result<R> {
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
        let weight = f32_data(weight, weight_layout, &format!("weight {i}"))?;
        if weight.len() != outputs * inputs || bias.is_some_and(|b| b.len() != outputs) {
            return Err(Error::Input(format!(
                "layer {i}: parameters do not match its {outputs}x{inputs} shape"
            )));
        }
        layers.push(Layer {
            weight,
            bias,
            inputs,
            outputs,
        });
    }
    if layers.is_empty() {
        return Err(Error::InvalidConfig(
            "a network needs at least one layer".into(),
        ));
    }
    work(&layers)
}

/// Whether the CPU path serves `xs` and the network's parameters: all `f32` on the CPU.
pub(crate) fn fits(linears: &[Linear], xs: &Tensor) -> bool {
    is_cpu_f32(xs)
        && linears
            .iter()
            .all(|l| is_cpu_f32(l.weight()) && l.bias().is_none_or(is_cpu_f32))
}
