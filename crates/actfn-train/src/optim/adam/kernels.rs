//! The CPU update of [`super::Adam`]: each parameter, its gradient and its two moment
//! estimates in one pass over memory, in place.
//!
//! As SGD's: the moments' in-place op ([`OnMoments`]) opens the parameter's ([`OnParameter`])
//! from inside and lends it the moments' elements (the optimizer owns them, so the two locks
//! never meet).

use std::cell::Cell;

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, Layout, Tensor};
use rayon::prelude::*;

use super::{AdamConfig, StepNumbers};
use crate::optim::cpu::{CHUNK, Float, PARALLEL_THRESHOLD, elements, range, type_error};

/// The settings and the step's numbers in the element type.
#[derive(Clone, Copy)]
struct Coefficients<T> {
    /// `1 - beta1`, the weight of `lerp(m, g, .)`.
    lerp_weight: T,
    beta2: T,
    /// `1 - beta2`.
    keep2: T,
    eps: T,
    weight_decay: T,
    decay: bool,
    neg_step_size: T,
    bias_correction2_sqrt: T,
}

impl<T: Float> Coefficients<T> {
    fn new(config: &AdamConfig, numbers: StepNumbers) -> Self {
        Self {
            lerp_weight: T::from_f64(1.0 - config.betas.0),
            beta2: T::from_f64(config.betas.1),
            keep2: T::from_f64(1.0 - config.betas.1),
            eps: T::from_f64(config.eps),
            weight_decay: T::from_f64(config.weight_decay),
            decay: config.weight_decay != 0.0,
            neg_step_size: T::from_f64(numbers.neg_step_size),
            bias_correction2_sqrt: T::from_f64(numbers.bias_correction2_sqrt),
        }
    }
}

/// The update of one element, in PyTorch's order of operations (its `lerp_`, `mul_`,
/// `addcmul_`, `sqrt`, division, `add_` and `addcdiv_`), written once for both float types.
#[inline(always)]
fn update<T: Float>(p: &mut T, m: &mut T, v: &mut T, g: T, c: Coefficients<T>) {
    let g = if c.decay { g + c.weight_decay * *p } else { g };
    *m = *m + c.lerp_weight * (g - *m);
    *v = *v * c.beta2 + c.keep2 * g * g;
    let denom = v.square_root() / c.bias_correction2_sqrt + c.eps;
    *p += c.neg_step_size * *m / denom;
}

/// Runs [`update`] on every element, on several threads when the tensor is long; each element
/// is computed by the same expression either way.
fn each<T: Float>(p: &mut [T], moments: &mut [T], g: &[T], c: Coefficients<T>) {
    let (m, v) = moments.split_at_mut(p.len());
    let run = |p: &mut [T], m: &mut [T], v: &mut [T], g: &[T]| {
        for (((p, m), v), &g) in p.iter_mut().zip(m).zip(v).zip(g) {
            update(p, m, v, g, c);
        }
    };
    if p.len() < PARALLEL_THRESHOLD {
        run(p, m, v, g);
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| run(p, m, v, g));
    }
}

/// Updates `param` and its `moments` (`[2, ..param]`, contiguous) from `grad`, in place. All
/// are contiguous CPU tensors of one float type.
pub(super) fn step(
    config: &AdamConfig,
    numbers: StepNumbers,
    param: &Tensor,
    grad: &Tensor,
    moments: &Tensor,
) -> candle_core::Result<()> {
    moments.inplace_op1(&OnMoments {
        config,
        numbers,
        param,
        grad,
    })
}

/// The step, on the moments; it runs [`OnParameter`] with their elements.
struct OnMoments<'a> {
    config: &'a AdamConfig,
    numbers: StepNumbers,
    param: &'a Tensor,
    grad: &'a Tensor,
}

impl InplaceOp1 for OnMoments<'_> {
    fn name(&self) -> &'static str {
        "adam-moments"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, ls: &Layout) -> candle_core::Result<()> {
        fn typed<T: Float>(
            op: &OnMoments,
            s: &mut CpuStorage,
            ls: &Layout,
        ) -> candle_core::Result<()> {
            let range = range(ls, "moments")?;
            if range.len() != 2 * op.param.elem_count() {
                candle_core::bail!(
                    "adam: {} moment elements for a parameter of {}",
                    range.len(),
                    op.param.elem_count()
                );
            }
            let s = T::elements(s).ok_or_else(|| type_error("adam"))?;
            op.param.inplace_op2(
                op.grad,
                &OnParameter {
                    moments: Cell::new(Some(&mut s[range])),
                    coefficients: Coefficients::new(op.config, op.numbers),
                },
            )
        }
        match s {
            CpuStorage::F32(_) => typed::<f32>(self, s, ls),
            CpuStorage::F64(_) => typed::<f64>(self, s, ls),
            _ => Err(type_error("adam")),
        }
    }
}

/// The step, on the parameter, with the moments' elements lent by [`OnMoments`].
struct OnParameter<'b, T> {
    moments: Cell<Option<&'b mut [T]>>,
    coefficients: Coefficients<T>,
}

impl<T: Float> InplaceOp2 for OnParameter<'_, T> {
    fn name(&self) -> &'static str {
        "adam-step"
    }

    fn cpu_fwd(
        &self,
        p: &mut CpuStorage,
        lp: &Layout,
        g: &CpuStorage,
        lg: &Layout,
    ) -> candle_core::Result<()> {
        let range = range(lp, "parameter")?;
        let g = elements::<T>(g, lg, "gradient")?;
        let p = T::elements(p).ok_or_else(|| type_error("adam"))?;
        let moments = self
            .moments
            .take()
            .ok_or_else(|| candle_core::Error::Msg("adam: the moments were lent twice".into()))?;
        if g.len() != range.len() {
            candle_core::bail!(
                "adam: a gradient of {} for a parameter of {}",
                g.len(),
                range.len()
            );
        }
        each(&mut p[range], moments, g, self.coefficients);
        Ok(())
    }
}
