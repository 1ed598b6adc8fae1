//! The six activation functions of the study, composed of candle tensor operations, each with its
//! derivative written beside it.
//!
//! Every function is built from primitive tensor operations (`exp`, `abs`, comparisons,
//! `where_cond`, arithmetic), so candle's autograd differentiates it on every backend (CPU, CUDA,
//! Metal). The forms are chosen so that every finite input gives a finite output *and* a finite
//! gradient, and the gradient at exactly 0 is the one the study's PyTorch code gives:
//! `relu'(0) = 0`, `leakyrelu'(0) = alpha`, `elu'(0) = 1`.
//!
//! ```
//! use actfn_activations::Activation;
//! use candle_core::{Device, Tensor};
//! use candle_nn::Module;
//!
//! let act: Activation = "LeakyReLU".parse()?;
//! let x = Tensor::new(&[-2f32, 0.0, 3.0], &Device::Cpu)?;
//! assert_eq!(act.forward(&x)?.to_vec1::<f32>()?, [-0.2, 0.0, 3.0]);
//! assert_eq!(act.derivative(&x)?.to_vec1::<f32>()?, [0.1, 0.1, 1.0]);
//! assert_eq!(serde_json::to_string(&act)?, r#"{"name":"LeakyReLU","alpha":0.1}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same functions run as CPU kernels on plain slices, each beside its derivative, for code
//! that manages its own buffers ([`Activation::forward_slice`], [`Activation::backward_slice`]);
//! on CPU tensors [`Activation::forward`] and [`Activation::backward`] use them:
//!
//! ```
//! use actfn_activations::Activation;
//!
//! let x = [-1f32, 0.0, 2.0];
//! let mut y = [0f32; 3];
//! Activation::ELU.forward_slice(&x, &mut y)?;
//! let mut grad = [1f32; 3];
//! Activation::ELU.backward_slice(&x, &y, &mut grad)?; // grad *= elu'(x)
//! assert!((grad[0] - (-1f32).exp()).abs() < 1e-6 && grad[1] == 1.0 && grad[2] == 1.0);
//! # Ok::<(), actfn_activations::Error>(())
//! ```

mod fused;

pub use fused::Real;

use std::fmt;
use std::str::FromStr;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// The slope of LeakyReLU for negative inputs when none is given, as in the study.
pub const DEFAULT_LEAKY_ALPHA: f64 = 0.1;

/// The names [`Activation::from_str`] accepts (case-insensitively), in the study's order.
pub const NAMES: [&str; 6] = ["sigmoid", "tanh", "relu", "leakyrelu", "elu", "swish"];

/// An error in naming or configuring an activation function.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The name is none of [`NAMES`].
    #[error("unknown activation function {name:?}; valid names are: {}", NAMES.join(", "))]
    UnknownName {
        /// The name as given.
        name: String,
    },
    /// A parameter is missing its required form or has a value the function cannot use.
    #[error("bad parameter for activation {activation}: {reason}")]
    BadParameter {
        /// The activation's name.
        activation: String,
        /// What is wrong.
        reason: String,
    },
    /// A slice given to a kernel is not as long as its input.
    #[error(
        "the {what} slice has {got} elements, the input has {expected}; pass slices of equal length"
    )]
    LengthMismatch {
        /// Which slice.
        what: &'static str,
        /// The input's length.
        expected: usize,
        /// The slice's length.
        got: usize,
    },
}

/// One of the study's six activation functions.
///
/// Serialized as the study's `config` dictionary: `{"name": "ReLU"}`,
/// `{"name": "LeakyReLU", "alpha": 0.1}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `(e^x - e^-x) / (e^x + e^-x)`.
    Tanh,
    /// `x * (x > 0)`.
    ReLU,
    /// `x` for `x > 0`, else `alpha * x`.
    LeakyReLU {
        /// The slope for `x <= 0`.
        alpha: f64,
    },
    /// `x` for `x > 0`, else `e^x - 1`.
    ELU,
    /// `x * sigmoid(x)`.
    Swish,
}

impl Activation {
    /// All six functions with the study's parameters, in the study's order.
    pub fn all() -> [Activation; 6] {
        [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::ReLU,
            Activation::LeakyReLU {
                alpha: DEFAULT_LEAKY_ALPHA,
            },
            Activation::ELU,
            Activation::Swish,
        ]
    }

    /// The class name the study uses in its JSON and titles (`"LeakyReLU"`).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::ReLU => "ReLU",
            Activation::LeakyReLU { .. } => "LeakyReLU",
            Activation::ELU => "ELU",
            Activation::Swish => "Swish",
        }
    }

    /// The lower-case key the study uses in file names (`"leakyrelu"`).
    pub fn key(&self) -> &'static str {
        match self {
            Activation::Sigmoid => NAMES[0],
            Activation::Tanh => NAMES[1],
            Activation::ReLU => NAMES[2],
            Activation::LeakyReLU { .. } => NAMES[3],
            Activation::ELU => NAMES[4],
            Activation::Swish => NAMES[5],
        }
    }

    /// Builds a function from its name (case-insensitive) and, for LeakyReLU, its slope.
    pub fn from_name(name: &str, alpha: Option<f64>) -> Result<Self, Error> {
        let act = match name.to_ascii_lowercase().as_str() {
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::ReLU,
            "leakyrelu" => {
                let alpha = alpha.unwrap_or(DEFAULT_LEAKY_ALPHA);
                if !alpha.is_finite() {
                    return Err(Error::BadParameter {
                        activation: "LeakyReLU".into(),
                        reason: format!("alpha must be a finite number, got {alpha}"),
                    });
                }
                return Ok(Activation::LeakyReLU { alpha });
            }
            "elu" => Activation::ELU,
            "swish" => Activation::Swish,
            _ => {
                return Err(Error::UnknownName {
                    name: name.to_string(),
                });
            }
        };
        match alpha {
            None => Ok(act),
            Some(_) => Err(Error::BadParameter {
                activation: act.name().into(),
                reason: "only LeakyReLU takes the parameter alpha".into(),
            }),
        }
    }

    /// Applies the function element-wise: one fused kernel on the CPU (differentiable, with
    /// [`Activation::backward`] as its gradient), the composed form elsewhere.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if fused::fits(x) {
            x.apply_op1(fused::ActivationOp(*self))
        } else {
            self.forward_composed(x)
        }
    }

    /// The gradient through the function: `grad * f'(x)`, element-wise, given the input `x` and
    /// the output `y = f(x)` of the forward pass. One fused kernel on the CPU (which takes the
    /// derivative from `y` where that is cheaper), the written derivative elsewhere.
    pub fn backward(&self, x: &Tensor, y: &Tensor, grad: &Tensor) -> candle_core::Result<Tensor> {
        let same = |t: &Tensor| fused::fits(t) && t.dtype() == x.dtype() && t.shape() == x.shape();
        if fused::fits(x) && same(y) && same(grad) {
            x.apply_op3_no_bwd(y, grad, &fused::ActivationGrad(*self))
        } else {
            grad * self.derivative(x)?
        }
    }

    /// Applies the function as a composition of primitive tensor operations, on any device. This
    /// is the reference form: autograd records each primitive.
    pub fn forward_composed(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match *self {
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => tanh(x),
            Activation::ReLU => relu(x),
            Activation::LeakyReLU { alpha } => leaky_relu(x, alpha),
            Activation::ELU => elu(x),
            Activation::Swish => swish(x),
        }
    }

    /// The derivative of the function, element-wise, in closed form (no autograd).
    pub fn derivative(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match *self {
            Activation::Sigmoid => sigmoid_derivative(x),
            Activation::Tanh => tanh_derivative(x),
            Activation::ReLU => relu_derivative(x),
            Activation::LeakyReLU { alpha } => leaky_relu_derivative(x, alpha),
            Activation::ELU => elu_derivative(x),
            Activation::Swish => swish_derivative(x),
        }
    }
}

impl candle_nn::Module for Activation {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        Activation::forward(self, xs)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::LeakyReLU { alpha } => write!(f, "LeakyReLU(alpha={alpha})"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    /// Parses a name (`"relu"`, `"LeakyReLU"`, ...), with the study's default parameters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Activation::from_name(s, None)
    }
}

/// The study's JSON form of an activation: its class name and, for LeakyReLU, `alpha`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivationConfig {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
}

impl Serialize for Activation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let alpha = match self {
            Activation::LeakyReLU { alpha } => Some(*alpha),
            _ => None,
        };
        ActivationConfig {
            name: self.name().to_string(),
            alpha,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Activation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let config = ActivationConfig::deserialize(deserializer)?;
        Activation::from_name(&config.name, config.alpha).map_err(serde::de::Error::custom)
    }
}

// Each function below is followed by its derivative. The forms avoid every overflow: `e^-|x|`
// lies in (0, 1] for all finite x, so no intermediate value (and no intermediate gradient) is
// ever infinite, which is what keeps autograd finite where the textbook forms give `0 * inf`.

/// A 0/1 mask of `x > 0` in `x`'s dtype. Comparisons carry no gradient, so multiplying by the mask
/// gives the derivative 0 at exactly 0, as PyTorch's `x * (x > 0).float()` does.
fn positive_mask(x: &Tensor) -> candle_core::Result<Tensor> {
    x.gt(0.0)?.to_dtype(x.dtype())
}

/// `sigmoid(x) = 1 / (1 + e^-x)`, computed as `1 / (1 + e^-|x|)` for `x >= 0` and
/// `e^-|x| / (1 + e^-|x|)` for `x < 0`: the same function without overflow.
fn sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    let e = x.abs()?.neg()?.exp()?;
    let denominator = (&e + 1.0)?;
    let for_non_negative = denominator.recip()?;
    let for_negative = (&e / &denominator)?;
    x.ge(0.0)?.where_cond(&for_non_negative, &for_negative)
}

/// `sigmoid'(x) = sigmoid(x) * (1 - sigmoid(x))`.
fn sigmoid_derivative(x: &Tensor) -> candle_core::Result<Tensor> {
    let s = sigmoid(x)?;
    &s * (1.0 - &s)?
}

/// `tanh(x) = (e^x - e^-x) / (e^x + e^-x)`, computed as `2 * sigmoid(2x) - 1`, which is the same
/// function and stays finite where `e^x` overflows (|x| > 89 in f32).
fn tanh(x: &Tensor) -> candle_core::Result<Tensor> {
    sigmoid(&(x * 2.0)?)?.affine(2.0, -1.0)
}

/// `tanh'(x) = 1 - tanh(x)^2`.
fn tanh_derivative(x: &Tensor) -> candle_core::Result<Tensor> {
    1.0 - tanh(x)?.sqr()?
}

/// `relu(x) = x * (x > 0)`.
fn relu(x: &Tensor) -> candle_core::Result<Tensor> {
    x * positive_mask(x)?
}

/// `relu'(x) = 1` for `x > 0`, else 0 (0 at exactly 0).
fn relu_derivative(x: &Tensor) -> candle_core::Result<Tensor> {
    positive_mask(x)
}

/// `leakyrelu(x) = x` for `x > 0`, else `alpha * x`.
fn leaky_relu(x: &Tensor, alpha: f64) -> candle_core::Result<Tensor> {
    x.gt(0.0)?.where_cond(x, &(x * alpha)?)
}

/// `leakyrelu'(x) = 1` for `x > 0`, else `alpha` (alpha at exactly 0).
fn leaky_relu_derivative(x: &Tensor, alpha: f64) -> candle_core::Result<Tensor> {
    positive_mask(x)?.affine(1.0 - alpha, alpha)
}

/// `elu(x) = x` for `x > 0`, else `e^x - 1`. The exponential sees `x` only where `x <= 0` (and 0
/// elsewhere), so it never overflows and the branch that is not taken has a finite gradient.
fn elu(x: &Tensor) -> candle_core::Result<Tensor> {
    let positive = x.gt(0.0)?;
    let non_positive_part = (x * x.le(0.0)?.to_dtype(x.dtype())?)?;
    let negative_branch = (non_positive_part.exp()? - 1.0)?;
    positive.where_cond(x, &negative_branch)
}

/// `elu'(x) = 1` for `x > 0`, else `e^x` (1 at exactly 0).
fn elu_derivative(x: &Tensor) -> candle_core::Result<Tensor> {
    let non_positive_part = (x * x.le(0.0)?.to_dtype(x.dtype())?)?;
    x.gt(0.0)?
        .where_cond(&x.ones_like()?, &non_positive_part.exp()?)
}

/// `swish(x) = x * sigmoid(x)`.
fn swish(x: &Tensor) -> candle_core::Result<Tensor> {
    x * sigmoid(x)?
}

/// `swish'(x) = sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))`.
fn swish_derivative(x: &Tensor) -> candle_core::Result<Tensor> {
    let s = sigmoid(x)?;
    &s + (x * sigmoid_derivative(x)?)?
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
