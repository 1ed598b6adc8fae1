//! Stochastic gradient descent with momentum, with PyTorch's `torch.optim.SGD` semantics.

mod kernels;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::Optimizer;
use serde::{Deserialize, Serialize};

use super::cpu::fits;

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

    /// One update. With `fused`, parameters on the CPU are updated in place, with their momentum
    /// buffers, in one pass (no allocation after the first step); otherwise, and on other
    /// devices, by tensor operations. Both compute the same numbers.
    pub(super) fn step_with(&mut self, grads: &GradStore, fused: bool) -> candle_core::Result<()> {
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
                if momentum == 0.0 {
                    kernels::step(&self.config, param, grad, None, false)?;
                } else {
                    let first = buffer.is_none();
                    let buffer = match buffer {
                        Some(b) => b,
                        None => buffer.insert(param.zeros_like()?),
                    };
                    kernels::step(&self.config, param, grad, Some(buffer), first)?;
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
    use crate::optim::testing::{long_f32_paths_agree, three_steps};

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
            &three_steps::<Sgd>(config),
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
            &three_steps::<Sgd>(config),
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
            &three_steps::<Sgd>(config),
            &[[0.85, -1.3], [0.7225, -0.845], [0.614125, -0.54925]],
        );
    }

    #[test]
    fn one_pass_kernels_match_tensor_ops_on_long_f32_parameters() {
        // Every combination of the settings.
        for (momentum, dampening, weight_decay, nesterov) in [
            (0.9, 0.0, 0.0, false),
            (0.9, 0.1, 0.01, false),
            (0.9, 0.0, 0.01, true),
            (0.0, 0.0, 0.01, false),
        ] {
            long_f32_paths_agree::<Sgd>(SgdConfig {
                lr: 0.05,
                momentum,
                dampening,
                weight_decay,
                nesterov,
            });
        }
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
