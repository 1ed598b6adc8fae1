//! The CPU update of [`super::Sgd`]: each parameter, its gradient and its momentum buffer in one
//! pass over memory, in place.
//!
//! candle lends one tensor's storage mutably per in-place op, and the update writes two (the
//! buffer and the parameter), so the buffer's op ([`OnBuffer`]) opens the parameter's op
//! ([`OnParameter`]) from inside, handing it the buffer's elements. The two tensors are distinct
//! (the optimizer owns its buffers), so the two locks never meet.

use std::cell::Cell;

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, Layout, Tensor};
use rayon::prelude::*;

use super::SgdConfig;
use crate::optim::cpu::{CHUNK, Float, PARALLEL_THRESHOLD, elements, range, type_error};

/// The settings in the element type, and whether this is the buffer's first step.
#[derive(Clone, Copy)]
struct Coefficients<T> {
    lr: T,
    momentum: T,
    keep: T,
    weight_decay: T,
    nesterov: bool,
    first: bool,
}

impl<T: Float> Coefficients<T> {
    fn new(config: &SgdConfig, first: bool) -> Self {
        Self {
            lr: T::from_f64(config.lr),
            momentum: T::from_f64(config.momentum),
            keep: T::from_f64(1.0 - config.dampening),
            weight_decay: T::from_f64(config.weight_decay),
            nesterov: config.nesterov,
            first,
        }
    }
}

/// Runs `update` on every element of `p` with the matching ones of `b` and `g`, on several
/// threads when they are long. Every element is computed by the same expression either way, so
/// the result does not depend on the thread count.
fn each<T: Float>(p: &mut [T], b: &mut [T], g: &[T], update: impl Fn(&mut T, &mut T, T) + Sync) {
    let run = |p: &mut [T], b: &mut [T], g: &[T]| {
        for ((p, b), &g) in p.iter_mut().zip(b.iter_mut()).zip(g) {
            update(p, b, g);
        }
    };
    if p.len() < PARALLEL_THRESHOLD {
        run(p, b, g);
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(b.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|((p, b), g)| run(p, b, g));
    }
}

/// The whole step of `torch.optim.SGD` for one parameter with momentum: with `d = g + wd p`,
/// `b = d` on the first step and `b = momentum b + (1 - dampening) d` after it, then
/// `p -= lr b`, or `p -= lr (d + momentum b)` with Nesterov. One loop per case, so that no loop
/// branches inside.
fn momentum_step<T: Float>(p: &mut [T], b: &mut [T], g: &[T], c: Coefficients<T>) {
    let Coefficients {
        lr,
        momentum: m,
        keep,
        weight_decay: wd,
        ..
    } = c;
    match (c.first, c.nesterov) {
        (true, false) => each(p, b, g, |p, b, g| {
            *b = g + wd * *p;
            *p -= lr * *b;
        }),
        (true, true) => each(p, b, g, |p, b, g| {
            let d = g + wd * *p;
            *b = d;
            *p -= lr * (d + m * *b);
        }),
        (false, false) => each(p, b, g, |p, b, g| {
            *b = m * *b + keep * (g + wd * *p);
            *p -= lr * *b;
        }),
        (false, true) => each(p, b, g, |p, b, g| {
            let d = g + wd * *p;
            *b = m * *b + keep * d;
            *p -= lr * (d + m * *b);
        }),
    }
}

/// The step without momentum: `p -= lr (g + wd p)`.
fn plain_step<T: Float>(p: &mut [T], g: &[T], c: Coefficients<T>) {
    let Coefficients {
        lr,
        weight_decay: wd,
        ..
    } = c;
    let run = |p: &mut [T], g: &[T]| {
        for (p, &g) in p.iter_mut().zip(g) {
            *p -= lr * (g + wd * *p);
        }
    };
    if p.len() < PARALLEL_THRESHOLD {
        run(p, g);
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .for_each(|(p, g)| run(p, g));
    }
}

/// Updates `param` (and `buffer`, with momentum) from `grad`, in place. All three are
/// contiguous CPU tensors of the same float type and shape; `first` says the buffer holds no
/// step yet.
pub(super) fn step(
    config: &SgdConfig,
    param: &Tensor,
    grad: &Tensor,
    buffer: Option<&Tensor>,
    first: bool,
) -> candle_core::Result<()> {
    match buffer {
        None => param.inplace_op2(grad, &Plain { config }),
        Some(buffer) => buffer.inplace_op1(&OnBuffer {
            config,
            param,
            grad,
            first,
        }),
    }
}

/// The step without momentum, on the parameter.
struct Plain<'a> {
    config: &'a SgdConfig,
}

impl InplaceOp2 for Plain<'_> {
    fn name(&self) -> &'static str {
        "sgd-step"
    }

    fn cpu_fwd(
        &self,
        p: &mut CpuStorage,
        lp: &Layout,
        g: &CpuStorage,
        lg: &Layout,
    ) -> candle_core::Result<()> {
        fn typed<T: Float>(
            op: &Plain,
            p: &mut CpuStorage,
            lp: &Layout,
            g: &CpuStorage,
            lg: &Layout,
        ) -> candle_core::Result<()> {
            let range = range(lp, "parameter")?;
            let g = elements::<T>(g, lg, "gradient")?;
            let p = T::elements(p).ok_or_else(|| type_error("sgd"))?;
            plain_step(&mut p[range], g, Coefficients::new(op.config, false));
            Ok(())
        }
        match p {
            CpuStorage::F32(_) => typed::<f32>(self, p, lp, g, lg),
            CpuStorage::F64(_) => typed::<f64>(self, p, lp, g, lg),
            _ => Err(type_error("sgd")),
        }
    }
}

/// The step with momentum, on the buffer; it runs [`OnParameter`] with the buffer's elements.
struct OnBuffer<'a> {
    config: &'a SgdConfig,
    param: &'a Tensor,
    grad: &'a Tensor,
    first: bool,
}

impl InplaceOp1 for OnBuffer<'_> {
    fn name(&self) -> &'static str {
        "sgd-momentum-buffer"
    }

    fn cpu_fwd(&self, b: &mut CpuStorage, lb: &Layout) -> candle_core::Result<()> {
        fn typed<T: Float>(
            op: &OnBuffer,
            b: &mut CpuStorage,
            lb: &Layout,
        ) -> candle_core::Result<()> {
            let range = range(lb, "momentum buffer")?;
            let b = T::elements(b).ok_or_else(|| type_error("sgd"))?;
            op.param.inplace_op2(
                op.grad,
                &OnParameter {
                    buffer: Cell::new(Some(&mut b[range])),
                    coefficients: Coefficients::new(op.config, op.first),
                },
            )
        }
        match b {
            CpuStorage::F32(_) => typed::<f32>(self, b, lb),
            CpuStorage::F64(_) => typed::<f64>(self, b, lb),
            _ => Err(type_error("sgd")),
        }
    }
}

/// The step with momentum, on the parameter, with the buffer's elements lent by [`OnBuffer`].
struct OnParameter<'b, T> {
    buffer: Cell<Option<&'b mut [T]>>,
    coefficients: Coefficients<T>,
}

impl<T: Float> InplaceOp2 for OnParameter<'_, T> {
    fn name(&self) -> &'static str {
        "sgd-momentum-step"
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
        let p = T::elements(p).ok_or_else(|| type_error("sgd"))?;
        let b = self
            .buffer
            .take()
            .ok_or_else(|| candle_core::Error::Msg("sgd: the buffer was lent twice".into()))?;
        momentum_step(&mut p[range], b, g, self.coefficients);
        Ok(())
    }
}
