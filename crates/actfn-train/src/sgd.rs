//! Stochastic gradient descent with momentum, with PyTorch's `torch.optim.SGD` semantics.

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, InplaceOp3, Layout, Tensor, Var};
use candle_nn::Optimizer;
use serde::{Deserialize, Serialize};

/// The settings of [`Sgd`]. `Default` is the study's: lr 0.01, momentum 0.9, no dampening, no
/// weight decay, no Nesterov.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 for plain SGD).
    pub momentum: f64,
    /// Dampening of the gradient in the momentum buffer (PyTorch's default, and the study's, is
    /// 0; burn's default of 0.1 is not PyTorch's).
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self {
            lr: 0.01,
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl SgdConfig {
    /// Checks the ranges PyTorch checks.
    pub fn validate(&self) -> Result<(), String> {
        let non_negative = [
            ("lr", self.lr),
            ("momentum", self.momentum),
            ("dampening", self.dampening),
            ("weight_decay", self.weight_decay),
        ];
        for (name, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} must be a finite number >= 0, got {value}"));
            }
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err("Nesterov momentum needs momentum > 0 and dampening 0".into());
        }
        Ok(())
    }
}

/// Momentum SGD. Per parameter `p` with gradient `g`, as `torch.optim.SGD.step` does it:
///
/// ```text
/// g = g + weight_decay * p
/// b = g                                   on the first step
/// b = momentum * b + (1 - dampening) * g  after it
/// g = g + momentum * b  (Nesterov)  or  g = b
/// p = p - lr * g
/// ```
#[derive(Debug)]
pub struct Sgd {
    vars: Vec<Var>,
    buffers: Vec<Option<Tensor>>,
    config: SgdConfig,
}

impl Sgd {
    /// The settings.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The momentum buffers, one per variable (`None` before its first step).
    pub fn buffers(&self) -> &[Option<Tensor>] {
        &self.buffers
    }

    /// Replaces the momentum buffers, e.g. with saved ones, one per variable in order.
    pub fn set_buffers(&mut self, buffers: Vec<Option<Tensor>>) -> candle_core::Result<()> {
        if buffers.len() != self.vars.len() {
            candle_core::bail!(
                "{} momentum buffers for {} variables",
                buffers.len(),
                self.vars.len()
            );
        }
        let mismatch = buffers.iter().zip(&self.vars).find_map(|(b, var)| {
            b.as_ref()
                .filter(|b| b.shape() != var.shape())
                .map(|b| (b.dims().to_vec(), var.dims().to_vec()))
        });
        if let Some((buffer, var)) = mismatch {
            candle_core::bail!("a momentum buffer of shape {buffer:?} for a variable of {var:?}");
        }
        // Copies, so that the in-place updates never write into storage the caller still holds.
        self.buffers = buffers
            .into_iter()
            .map(|b| b.map(|b| b.copy()).transpose())
            .collect::<candle_core::Result<_>>()?;
        Ok(())
    }

    /// One update. With `fused`, parameters on the CPU are updated in place by one kernel per
    /// tensor (no allocation after the first step); otherwise, and on other devices, by tensor
    /// operations. Both compute the same numbers.
    fn step_with(&mut self, grads: &GradStore, fused: bool) -> candle_core::Result<()> {
        let SgdConfig {
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
        } = self.config;
        for (var, buffer) in self.vars.iter().zip(self.buffers.iter_mut()) {
            let Some(grad) = grads.get(var.as_tensor()) else {
                continue;
            };
            let param = var.as_tensor();
            if fused && fits(param, grad) {
                let update = Update {
                    lr,
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                };
                match buffer {
                    _ if momentum == 0.0 => {
                        param.inplace_op3(
                            grad,
                            grad,
                            &UpdateParameter {
                                update,
                                source: Source::Gradient,
                            },
                        )?;
                    }
                    Some(b) => {
                        b.inplace_op3(grad, param, &UpdateBuffer(update))?;
                        param.inplace_op3(
                            grad,
                            b,
                            &UpdateParameter {
                                update,
                                source: Source::Buffer,
                            },
                        )?;
                    }
                    None => {
                        // The first buffer is the (decayed) gradient itself, in storage of its own
                        // since later steps update it in place.
                        let first = if weight_decay != 0.0 {
                            (grad + (param * weight_decay)?)?
                        } else {
                            grad.copy()?
                        };
                        param.inplace_op3(
                            grad,
                            &first,
                            &UpdateParameter {
                                update,
                                source: Source::Buffer,
                            },
                        )?;
                        *buffer = Some(first);
                    }
                }
                continue;
            }
            let mut step = if weight_decay != 0.0 {
                (grad + (param * weight_decay)?)?
            } else {
                grad.clone()
            };
            if momentum != 0.0 {
                // Detached, so that the buffer does not keep every earlier step's graph alive.
                let updated = match buffer.take() {
                    None => step.detach(),
                    Some(b) => ((b * momentum)? + (&step * (1.0 - dampening))?)?.detach(),
                };
                step = if nesterov {
                    (step + (&updated * momentum)?)?
                } else {
                    updated.clone()
                };
                *buffer = Some(updated);
            }
            var.set(&(param - (step * lr)?)?)?;
        }
        Ok(())
    }
}

/// Whether the in-place kernels can update `param` with `grad`: both on the CPU, contiguous, of
/// the same float type and shape.
fn fits(param: &Tensor, grad: &Tensor) -> bool {
    param.device().is_cpu()
        && matches!(param.dtype(), DType::F32 | DType::F64)
        && param.dtype() == grad.dtype()
        && param.shape() == grad.shape()
        && param.is_contiguous()
        && grad.is_contiguous()
}

/// The settings the kernels need.
#[derive(Debug, Clone, Copy)]
struct Update {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
}

/// What the parameter moves along.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// The (decayed) gradient: plain SGD.
    Gradient,
    /// The momentum buffer, or with Nesterov the gradient plus momentum times the buffer.
    Buffer,
}

/// The contiguous elements of a storage as `T`, or an error naming the kernel.
fn slice<'a, T: candle_core::WithDType>(
    s: &'a CpuStorage,
    l: &Layout,
) -> candle_core::Result<&'a [T]> {
    let (start, end) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("sgd: non-contiguous tensor".into()))?;
    Ok(&T::cpu_storage_as_slice(s)?[start..end])
}

/// `b = momentum * b + (1 - dampening) * (g + weight_decay * p)`, in place on `b`.
struct UpdateBuffer(Update);

/// `p -= lr * step`, in place on `p`, with `step` from [`Source`].
struct UpdateParameter {
    update: Update,
    source: Source,
}

/// Below this many elements an update runs on one thread: splitting costs more than it saves.
const PARALLEL_THRESHOLD: usize = 1 << 16;

/// Runs `kernel` over matching chunks of `dst`, `a` and `b`, on several threads when they are long.
/// Every element is computed by the same expression either way, so the result does not depend on
/// the thread count.
fn for_chunks<T: Send + Sync>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    kernel: impl Fn(&mut [T], &[T], &[T]) + Sync,
) {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 14;
    if dst.len() < PARALLEL_THRESHOLD {
        kernel(dst, a, b);
    } else {
        dst.par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
            .for_each(|(d, (a, b))| kernel(d, a, b));
    }
}

macro_rules! sgd_kernels {
    ($($variant:ident => $t:ty),*) => {
        impl InplaceOp3 for UpdateBuffer {
            fn name(&self) -> &'static str {
                "sgd-momentum-buffer"
            }

            fn cpu_fwd(&self, b: &mut CpuStorage, lb: &Layout, g: &CpuStorage, lg: &Layout, p: &CpuStorage, lp: &Layout) -> candle_core::Result<()> {
                let Update { momentum, dampening, weight_decay, .. } = self.0;
                let (start, end) = lb.contiguous_offsets().ok_or_else(|| candle_core::Error::Msg("sgd: non-contiguous buffer".into()))?;
                match b {
                    $(CpuStorage::$variant(b) => {
                        let (g, p) = (slice::<$t>(g, lg)?, slice::<$t>(p, lp)?);
                        let (m, d, wd) = (momentum as $t, (1.0 - dampening) as $t, weight_decay as $t);
                        for_chunks(&mut b[start..end], g, p, |b, g, p| {
                            for ((b, &g), &p) in b.iter_mut().zip(g).zip(p) {
                                *b = m * *b + d * (g + wd * p);
                            }
                        });
                    })*
                    _ => candle_core::bail!("sgd: only f32 and f64 parameters"),
                }
                Ok(())
            }
        }

        impl InplaceOp3 for UpdateParameter {
            fn name(&self) -> &'static str {
                "sgd-parameter"
            }

            fn cpu_fwd(&self, p: &mut CpuStorage, lp: &Layout, g: &CpuStorage, lg: &Layout, b: &CpuStorage, lb: &Layout) -> candle_core::Result<()> {
                let Update { lr, momentum, weight_decay, nesterov, .. } = self.update;
                let (start, end) = lp.contiguous_offsets().ok_or_else(|| candle_core::Error::Msg("sgd: non-contiguous parameter".into()))?;
                match p {
                    $(CpuStorage::$variant(p) => {
                        let (g, b) = (slice::<$t>(g, lg)?, slice::<$t>(b, lb)?);
                        let (lr, m, wd) = (lr as $t, momentum as $t, weight_decay as $t);
                        let source = self.source;
                        for_chunks(&mut p[start..end], g, b, |p, g, b| {
                            for ((p, &g), &b) in p.iter_mut().zip(g).zip(b) {
                                let decayed = g + wd * *p;
                                let step = match (source, nesterov) {
                                    (Source::Gradient, _) => decayed,
                                    (Source::Buffer, false) => b,
                                    (Source::Buffer, true) => decayed + m * b,
                                };
                                *p -= lr * step;
                            }
                        });
                    })*
                    _ => candle_core::bail!("sgd: only f32 and f64 parameters"),
                }
                Ok(())
            }
        }
    };
}
sgd_kernels!(F32 => f32, F64 => f64);

impl Optimizer for Sgd {
    type Config = SgdConfig;

    fn new(vars: Vec<Var>, config: SgdConfig) -> candle_core::Result<Self> {
        config.validate().map_err(candle_core::Error::Msg)?;
        let buffers = vec![None; vars.len()];
        Ok(Self {
            vars,
            buffers,
            config,
        })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        self.step_with(grads, true)
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn three_steps(config: SgdConfig) -> Vec<Vec<f64>> {
        let run = |fused: bool| -> Vec<Vec<f64>> {
            let w = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
            let scale = Tensor::new(&[1.0f64, 3.0], &Device::Cpu).unwrap();
            let mut sgd = Sgd::new(vec![w.clone()], config).unwrap();
            (0..3)
                .map(|_| {
                    let loss = (w.as_tensor().sqr().unwrap() * &scale)
                        .unwrap()
                        .sum_all()
                        .unwrap();
                    let grads = (loss / 2.0).unwrap().backward().unwrap();
                    sgd.step_with(&grads, fused).unwrap();
                    w.as_tensor().to_vec1::<f64>().unwrap()
                })
                .collect()
        };
        // The in-place kernels and the tensor operations must agree to the last bit.
        let (fused, plain) = (run(true), run(false));
        assert_eq!(
            fused, plain,
            "fused and tensor-op updates differ for {config:?}"
        );
        fused
    }

    fn assert_close(actual: &[Vec<f64>], expected: &[[f64; 2]]) {
        for (step, (a, e)) in actual.iter().zip(expected).enumerate() {
            for (x, y) in a.iter().zip(e) {
                assert!((x - y).abs() < 1e-12, "step {}: {a:?} vs {e:?}", step + 1);
            }
        }
    }

    // The expected numbers follow torch.optim.SGD's documented algorithm, worked by hand below;
    // the PyTorch code that prints them is
    //
    //     w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    //     opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, **extra)
    //     for _ in range(3):
    //         opt.zero_grad(); (w.pow(2) * torch.tensor([1.0, 3.0])).sum().div(2).backward()
    //         opt.step(); print(w.tolist())

    #[test]
    fn momentum_matches_pytorch() {
        let config = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..SgdConfig::default()
        };
        // x (g = w): 1 -> 0.9; b = 0.9*1 + 0.9 = 1.8 -> 0.72; b = 0.9*1.8 + 0.72 = 2.34 -> 0.486.
        // y (g = 3w): -2 -> -1.4; b = 0.9*-6 - 4.2 = -9.6 -> -0.44; b = 0.9*-9.6 - 1.32 = -9.96
        //   -> 0.556.
        assert_close(
            &three_steps(config),
            &[[0.9, -1.4], [0.72, -0.44], [0.486, 0.556]],
        );
    }

    #[test]
    fn nesterov_matches_pytorch() {
        // extra = dict(nesterov=True): the step is g + 0.9 b.
        // x: b = 1, d = 1.9 -> 0.81; b = 1.71, d = 2.349 -> 0.5751; b = 2.1141, d = 2.47779
        //   -> 0.327321.
        // y: b = -6, d = -11.4 -> -0.86; b = -7.98, d = -9.762 -> 0.1162; b = -6.8334,
        //   d = -5.80146 -> 0.696346.
        let config = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..SgdConfig::default()
        };
        assert_close(
            &three_steps(config),
            &[[0.81, -0.86], [0.5751, 0.1162], [0.327321, 0.696346]],
        );
    }

    #[test]
    fn weight_decay_matches_pytorch() {
        // extra = dict(weight_decay=0.5), momentum=0: g = w * (scale + 0.5), so each step
        // multiplies x by 0.85 and y by 0.65.
        let config = SgdConfig {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 0.5,
            ..SgdConfig::default()
        };
        assert_close(
            &three_steps(config),
            &[[0.85, -1.3], [0.7225, -0.845], [0.614125, -0.54925]],
        );
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        for bad in [
            SgdConfig {
                lr: -1.0,
                ..SgdConfig::default()
            },
            SgdConfig {
                momentum: f64::NAN,
                ..SgdConfig::default()
            },
            SgdConfig {
                nesterov: true,
                dampening: 0.1,
                ..SgdConfig::default()
            },
        ] {
            assert!(Sgd::new(vec![], bad).is_err(), "{bad:?}");
        }
    }
}
