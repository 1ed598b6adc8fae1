//! Adam, with PyTorch's `torch.optim.Adam` semantics (its single-tensor CPU path).

mod kernels;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::Optimizer;
use serde::{Deserialize, Serialize};

use super::cpu::fits;

/// The settings of [`Adam`]. `Default` is PyTorch's: lr 0.001, betas (0.9, 0.999), eps 1e-8,
/// no weight decay. (`amsgrad`, `maximize` and decoupled weight decay, AdamW's, are not
/// offered.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moment estimates.
    pub betas: (f64, f64),
    /// Added to the denominator, for numerical stability.
    pub eps: f64,
    /// L2 penalty added to the gradient (Adam's, not AdamW's decoupled decay).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// Checks the ranges PyTorch checks.
    pub fn validate(&self) -> Result<(), String> {
        let non_negative = [
            ("lr", self.lr),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
        ];
        for (name, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} must be a finite number >= 0, got {value}"));
            }
        }
        for (i, beta) in [self.betas.0, self.betas.1].into_iter().enumerate() {
            if !(0.0..1.0).contains(&beta) {
                return Err(format!("betas.{i} must be in [0, 1), got {beta}"));
            }
        }
        Ok(())
    }
}

/// One variable's state: its step count and its moment estimates, stacked in one tensor of
/// shape `[2, ..var]` (the first moment, then the second), so that the CPU update lends one
/// storage beside the parameter's.
#[derive(Debug, Clone)]
pub struct AdamState {
    /// Steps taken.
    pub step: u64,
    /// `[exp_avg, exp_avg_sq]`.
    pub moments: Tensor,
}

/// Adam. Per parameter `p` with gradient `g`, at step `t`, as `torch.optim.Adam.step` does it
/// on the CPU:
///
/// ```text
/// g = g + weight_decay * p                    (when weight_decay != 0)
/// m = lerp(m, g, 1 - beta1)                   = m + (1 - beta1) * (g - m)
/// v = beta2 * v + ((1 - beta2) * g) * g
/// denom = sqrt(v) / sqrt(1 - beta2^t) + eps
/// p = p + (-(lr / (1 - beta1^t)) * m) / denom
/// ```
#[derive(Debug)]
pub struct Adam {
    vars: Vec<Var>,
    states: Vec<Option<AdamState>>,
    config: AdamConfig,
}

/// The per-step numbers of the update, computed in f64 as PyTorch's Python code does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepNumbers {
    /// `lr / (1 - beta1^t)`, negated.
    pub neg_step_size: f64,
    /// `sqrt(1 - beta2^t)`.
    pub bias_correction2_sqrt: f64,
}

impl StepNumbers {
    fn at(config: &AdamConfig, step: u64) -> Self {
        // Python's `beta ** step` with a float step, and `x ** 0.5`.
        let t = step as f64;
        let bias_correction1 = 1.0 - config.betas.0.powf(t);
        let bias_correction2 = 1.0 - config.betas.1.powf(t);
        Self {
            neg_step_size: -(config.lr / bias_correction1),
            bias_correction2_sqrt: bias_correction2.sqrt(),
        }
    }
}

impl Adam {
    /// The settings.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The states, one per variable (`None` before its first step).
    pub fn states(&self) -> &[Option<AdamState>] {
        &self.states
    }

    /// Replaces the states, e.g. with saved ones, one per variable in order.
    pub fn set_states(&mut self, states: Vec<Option<AdamState>>) -> candle_core::Result<()> {
        if states.len() != self.vars.len() {
            candle_core::bail!(
                "{} Adam states for {} variables",
                states.len(),
                self.vars.len()
            );
        }
        for (state, var) in states.iter().zip(&self.vars) {
            let Some(state) = state else { continue };
            let mut expected = vec![2];
            expected.extend(var.dims());
            if state.moments.dims() != expected {
                candle_core::bail!(
                    "Adam moments of shape {:?} for a variable of {:?}",
                    state.moments.dims(),
                    var.dims()
                );
            }
            if state.moments.dtype() != var.dtype() {
                candle_core::bail!(
                    "Adam moments of type {:?} for a variable of {:?}",
                    state.moments.dtype(),
                    var.dtype()
                );
            }
        }
        // Copies, so that the in-place updates never write into storage the caller still holds.
        self.states = states
            .into_iter()
            .map(|s| {
                s.map(|s| {
                    Ok(AdamState {
                        step: s.step,
                        moments: s.moments.copy()?,
                    })
                })
                .transpose()
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(())
    }

    /// One update: in place in one pass on the CPU with `fused`, else by tensor operations.
    /// Both compute the same numbers.
    pub(super) fn step_with(&mut self, grads: &GradStore, fused: bool) -> candle_core::Result<()> {
        let config = self.config;
        for (var, state) in self.vars.iter().zip(self.states.iter_mut()) {
            let Some(grad) = grads.get(var.as_tensor()) else {
                continue;
            };
            let param = var.as_tensor();
            let state = match state {
                Some(s) => s,
                None => {
                    let mut shape = vec![2];
                    shape.extend(param.dims());
                    state.insert(AdamState {
                        step: 0,
                        moments: Tensor::zeros(shape, param.dtype(), param.device())?,
                    })
                }
            };
            state.step += 1;
            let numbers = StepNumbers::at(&config, state.step);
            if fused && fits(param, grad) && state.moments.is_contiguous() {
                kernels::step(&config, numbers, param, grad, &state.moments)?;
                continue;
            }
            let (moments, updated) = tensor_step(&config, numbers, param, grad, &state.moments)?;
            state.moments = moments;
            var.set(&updated)?;
        }
        Ok(())
    }
}

/// The update by tensor operations (any device): the new moments and the new parameter. Every
/// operation rounds as the CPU kernel's expression does.
fn tensor_step(
    config: &AdamConfig,
    numbers: StepNumbers,
    param: &Tensor,
    grad: &Tensor,
    moments: &Tensor,
) -> candle_core::Result<(Tensor, Tensor)> {
    let (beta1, beta2) = config.betas;
    let grad = if config.weight_decay != 0.0 {
        (grad + (param * config.weight_decay)?)?
    } else {
        grad.clone()
    };
    let (m, v) = (moments.get(0)?, moments.get(1)?);
    let m = (&m + ((&grad - &m)? * (1.0 - beta1))?)?;
    let v = ((v * beta2)? + ((&grad * (1.0 - beta2))? * &grad)?)?;
    // A division by a one-element tensor, not `/ f64` (which multiplies by the reciprocal).
    let scalar = |x: f64| -> candle_core::Result<Tensor> {
        Tensor::new(x, param.device())?.to_dtype(param.dtype())
    };
    let denom = (v
        .sqrt()?
        .broadcast_div(&scalar(numbers.bias_correction2_sqrt)?)?
        + config.eps)?;
    let updated = (param + ((&m * numbers.neg_step_size)? / denom)?)?;
    let moments = Tensor::stack(&[m, v], 0)?.detach();
    Ok((moments, updated.detach()))
}

impl Optimizer for Adam {
    type Config = AdamConfig;

    fn new(vars: Vec<Var>, config: AdamConfig) -> candle_core::Result<Self> {
        config.validate().map_err(candle_core::Error::Msg)?;
        let states = vec![None; vars.len()];
        Ok(Self {
            vars,
            states,
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

    // The expected numbers were printed by PyTorch 2.15 (torch.optim.Adam, CPU, float64):
    //
    //     w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    //     opt = torch.optim.Adam([w], lr=0.1, **extra)
    //     for _ in range(3):
    //         opt.zero_grad(); (w.pow(2) * torch.tensor([1.0, 3.0])).sum().div(2).backward()
    //         opt.step(); print(w.tolist())
    //
    // On the first step Adam moves every coordinate by lr (m / sqrt(v) = sign g after bias
    // correction), whatever its gradient: 1 -> 0.9 and -2 -> -1.9.

    #[test]
    fn adam_matches_pytorch() {
        let config = AdamConfig {
            lr: 0.1,
            ..AdamConfig::default()
        };
        assert_close(&three_steps::<Adam>(config), PYTORCH_ADAM);
    }

    #[test]
    fn adam_with_weight_decay_matches_pytorch() {
        // extra = dict(weight_decay=0.5)
        let config = AdamConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..AdamConfig::default()
        };
        assert_close(&three_steps::<Adam>(config), PYTORCH_ADAM_DECAY);
    }

    const PYTORCH_ADAM: &[[f64; 2]] = &[
        [0.900000001, -1.9000000001666666],
        [0.8004122297123382, -1.800166485947237],
        [0.701586274504415, -1.7006233917912488],
    ];
    const PYTORCH_ADAM_DECAY: &[[f64; 2]] = &[
        [0.9000000006666666, -1.9000000001428572],
        [0.8004122290319745, -1.8001664858991047],
        [0.7015862734654917, -1.70062339171833],
    ];

    fn assert_close(actual: &[Vec<f64>], expected: &[[f64; 2]]) {
        for (step, (a, e)) in actual.iter().zip(expected).enumerate() {
            for (x, y) in a.iter().zip(e) {
                assert!(
                    (x - y).abs() <= 4.0 * f64::EPSILON * y.abs(),
                    "step {}: {a:?} vs PyTorch's {e:?}",
                    step + 1
                );
            }
        }
    }

    #[test]
    fn one_pass_kernel_matches_tensor_ops_on_long_f32_parameters() {
        for weight_decay in [0.0, 0.01] {
            long_f32_paths_agree::<Adam>(AdamConfig {
                lr: 0.01,
                weight_decay,
                ..AdamConfig::default()
            });
        }
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        for bad in [
            AdamConfig {
                lr: -1.0,
                ..AdamConfig::default()
            },
            AdamConfig {
                betas: (1.0, 0.999),
                ..AdamConfig::default()
            },
            AdamConfig {
                eps: f64::NAN,
                ..AdamConfig::default()
            },
        ] {
            assert!(Adam::new(vec![], bad).is_err(), "{bad:?}");
        }
    }
}
