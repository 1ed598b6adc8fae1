//! What the optimizers' one-pass CPU updates share: the float types they run on, how long a
//! tensor must be to split between threads, and the checked views of a storage's elements.

use candle_core::{CpuStorage, DType, Layout, Tensor, WithDType};

/// Below this many elements an update runs on one thread: splitting costs more than it saves.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 16;
/// Elements per parallel chunk.
pub(crate) const CHUNK: usize = 1 << 14;

/// A float type the CPU update runs on.
pub(crate) trait Float: WithDType {
    /// The elements of `storage`, if it holds this type.
    fn elements(storage: &mut CpuStorage) -> Option<&mut [Self]>;
    /// The correctly rounded square root.
    fn square_root(self) -> Self;
}

impl Float for f32 {
    fn elements(storage: &mut CpuStorage) -> Option<&mut [Self]> {
        match storage {
            CpuStorage::F32(v) => Some(v),
            _ => None,
        }
    }

    fn square_root(self) -> Self {
        self.sqrt()
    }
}

impl Float for f64 {
    fn elements(storage: &mut CpuStorage) -> Option<&mut [Self]> {
        match storage {
            CpuStorage::F64(v) => Some(v),
            _ => None,
        }
    }

    fn square_root(self) -> Self {
        self.sqrt()
    }
}

/// The elements a contiguous layout covers, or an error naming the tensor.
pub(crate) fn range(layout: &Layout, what: &str) -> candle_core::Result<std::ops::Range<usize>> {
    layout
        .contiguous_offsets()
        .map(|(start, end)| start..end)
        .ok_or_else(|| candle_core::Error::Msg(format!("optimizer: non-contiguous {what}")))
}

/// The contiguous elements of a storage as `T`, or an error naming the tensor.
pub(crate) fn elements<'a, T: Float>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a [T]> {
    Ok(&T::cpu_storage_as_slice(storage)?[range(layout, what)?])
}

/// The error of a tensor of another type than its parameter's.
pub(crate) fn type_error(optimizer: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "{optimizer}: the parameter, its gradient and its state must all be f32 or all f64"
    ))
}

/// Whether the in-place kernels can update `param` with `grad`: both on the CPU, contiguous, of
/// the same float type and shape.
pub(crate) fn fits(param: &Tensor, grad: &Tensor) -> bool {
    param.device().is_cpu()
        && matches!(param.dtype(), DType::F32 | DType::F64)
        && param.dtype() == grad.dtype()
        && param.shape() == grad.shape()
        && param.is_contiguous()
        && grad.is_contiguous()
}
