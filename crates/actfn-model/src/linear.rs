//! The linear layer's forward pass, with the bias added in place on the CPU.
//!
//! candle's `broadcast_add` on a batch of activations (over 64k elements) runs on candle's own
//! spinning worker pool, which on a 2-core machine competes with the matrix product's threads;
//! adding the bias in place, in the product's fresh output, costs one sequential pass and no
//! allocation.

use candle_core::{CpuStorage, DType, InplaceOp2, Layout, Tensor};

/// `x W^T + b` for `x` `[N, in]`, `W` `[out, in]`, `b` `[out]`. The bias is added in place when
/// no autograd graph is being recorded (an in-place change would be invisible to it).
pub(crate) fn linear_forward(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
) -> candle_core::Result<Tensor> {
    let z = x.matmul(&weight.t()?)?;
    let Some(bias) = bias else { return Ok(z) };
    let in_place = z.device().is_cpu()
        && matches!(z.dtype(), DType::F32 | DType::F64)
        && z.dtype() == bias.dtype()
        && z.is_contiguous()
        && bias.is_contiguous()
        && !(x.track_op() || weight.track_op() || bias.track_op());
    if in_place {
        z.inplace_op2(bias, &AddBias)?;
        Ok(z)
    } else {
        z.broadcast_add(bias)
    }
}

/// Adds a `[out]` bias to each row of a contiguous `[N, out]` matrix, in place.
struct AddBias;

impl InplaceOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias"
    }

    fn cpu_fwd(
        &self,
        z: &mut CpuStorage,
        lz: &Layout,
        b: &CpuStorage,
        lb: &Layout,
    ) -> candle_core::Result<()> {
        let (start, end) = lz
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("add-bias: non-contiguous output".into()))?;
        let (b_start, b_end) = lb
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("add-bias: non-contiguous bias".into()))?;
        let width = b_end - b_start;
        if width == 0 || (end - start) % width != 0 {
            candle_core::bail!(
                "add-bias: a bias of {width} does not fit rows of {}",
                end - start
            );
        }
        match (z, b) {
            (CpuStorage::F32(z), CpuStorage::F32(b)) => {
                add_rows(&mut z[start..end], &b[b_start..b_end])
            }
            (CpuStorage::F64(z), CpuStorage::F64(b)) => {
                add_rows(&mut z[start..end], &b[b_start..b_end])
            }
            _ => candle_core::bail!("add-bias: needs f32 or f64 tensors of one type"),
        }
        Ok(())
    }
}

fn add_rows<T: Copy + std::ops::AddAssign>(z: &mut [T], bias: &[T]) {
    for row in z.chunks_exact_mut(bias.len()) {
        row.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
    }
}
