//! Activation functions for candle: the study's six (sigmoid, tanh, relu, leakyrelu, elu,
//! swish) and seven of today's (gelu, gelu_tanh, mish, selu, softplus, prelu, hardswish), each
//! written once with its derivative beside it, plus functions of your own.
//!
//! Every function exists twice. As a composition of primitive tensor operations (`exp`, `abs`,
//! comparisons, `where_cond`, arithmetic), so candle's autograd differentiates it on every
//! backend (CPU, CUDA, Metal); and as a CPU kernel on plain slices, generic over `f32` and
//! `f64`, one specialized loop per function so that it vectorizes. The forms are chosen so that
//! every finite input gives a finite output *and* a finite gradient, and the gradient at exactly
//! 0 (and at the other kinks) is PyTorch's: `relu'(0) = 0`, `leakyrelu'(0) = alpha`,
//! `elu'(0) = 1`, `selu'(0) = scale * alpha`.
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
//! The CPU kernels on slices, for code that manages its own buffers:
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
//!
//! API boundary: [`Activation`] (its table of built-ins, the tensor forms, the slice kernels,
//! the study's JSON), [`Activation::formula`] and [`Formula`] for a function written as a
//! formula of `x` (the language: [`parse`], [`Expr`], [`derivative`], [`check`]),
//! [`CustomActivation`] for one written in Rust, [`ParameterValue`] for a learned parameter in
//! the tensor forms, [`Real`] for the slice kernels' float types.

mod custom;
mod expr;
mod formula;
mod kernels;
mod ops;
mod real;
mod simd;
mod slices;

pub use custom::CustomActivation;
pub use expr::{Expr, NonFinite, ParseError, SafetyError, check, derivative, parse};
pub use formula::{Formula, NonFinitePolicy};
pub use kernels::ParameterValue;
pub use real::Real;

use std::fmt;
use std::str::FromStr;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use kernels::Kernel;

/// An error in naming or configuring an activation function, or in a kernel's input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The name is none of the built-ins' or registered functions'.
    #[error(
        "unknown activation function {name:?}; valid names are: {valid}; or write a formula of \
         x, such as \"x * sigmoid(1.702 * x)\""
    )]
    UnknownName {
        /// The name as given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A parameter is missing, unknown, or has a value the function cannot use.
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
    /// A formula that does not parse. (The message includes the parser's: it is not also a
    /// source, which a reader printing the chain would print twice.)
    #[error("activation formula {text:?}: {error}")]
    Formula {
        /// The formula as given.
        text: String,
        /// Where and why it does not parse.
        error: ParseError,
    },
    /// A formula, or its derivative, that is not finite at some finite input.
    #[error("activation formula {formula}: {finding}")]
    NonFinite {
        /// The formula, in canonical form.
        formula: String,
        /// The input and the subexpression.
        finding: SafetyError,
    },
    /// A function of one's own failed on a tensor.
    #[error("activation {name}: {source}")]
    Custom {
        /// Its name.
        name: String,
        /// candle's error.
        #[source]
        source: candle_core::Error,
    },
}

/// A built-in's parameter: its name in the JSON config and its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parameter {
    /// The field's name, e.g. `alpha`.
    pub name: &'static str,
    /// The value when none is given.
    pub default: f64,
}

/// One row of the table of built-ins.
#[derive(Debug, Clone, Copy)]
struct Row {
    key: &'static str,
    name: &'static str,
    parameter: Option<Parameter>,
    study_test_accuracy: Option<f64>,
}

/// Something run with a built-in's kernel and parameter value: one monomorphized copy per
/// function, so each loop is specialized to it.
trait Visitor {
    type Output;
    fn visit<K: Kernel>(self, parameter: f64) -> Self::Output;
}

/// Generates the [`Activation`] enum, the list of built-ins, and the two exhaustive matches
/// that connect a variant to its row and its kernel, from one table.
macro_rules! builtins {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $({ $param:ident: $default:expr })? => $kernel:ident,
            key $key:literal, name $name:literal $(, study $study:literal)?;
    )*) => {
        /// An activation function: a built-in, a formula ([`Activation::formula`]), or one of
        /// your own ([`Activation::custom`]).
        ///
        /// Serialized as the study's `config` dictionary: `{"name": "ReLU"}`,
        /// `{"name": "LeakyReLU", "alpha": 0.1}`.
        #[derive(Debug, Clone, Copy)]
        #[non_exhaustive]
        pub enum Activation {
            $(
                $(#[doc = $doc])*
                $variant $({
                    /// The function's parameter.
                    $param: f64
                })?,
            )*
            /// A function defined outside this crate, see [`CustomActivation`].
            Custom(&'static dyn CustomActivation),
            /// A formula of `x`, see [`Activation::formula`].
            Formula(&'static Formula),
        }

        /// Every built-in with its default parameter, in the table's order.
        const BUILTINS: &[Activation] = &[ $( Activation::$variant $({ $param: $default })?, )* ];

        impl Activation {
            /// The built-in's row of the table.
            #[allow(unused_variables)]
            fn row(&self) -> Option<Row> {
                match *self {
                    $( Activation::$variant $({ $param })? => Some(Row {
                        key: $key,
                        name: $name,
                        parameter: builtins!(@parameter $($param $default)?),
                        study_test_accuracy: builtins!(@study $($study)?),
                    }), )*
                    Activation::Custom(_) | Activation::Formula(_) => None,
                }
            }

            /// Runs `visitor` with the built-in's kernel and parameter value.
            fn visit<V: Visitor>(&self, visitor: V) -> Option<V::Output> {
                match *self {
                    $( Activation::$variant $({ $param })? =>
                        Some(visitor.visit::<kernels::$kernel>(builtins!(@value $($param)?))), )*
                    Activation::Custom(_) | Activation::Formula(_) => None,
                }
            }

            /// The same function with its parameter set to `value` (the function itself when it
            /// has none): how a network applies a PReLU with the slope it learned.
            #[allow(unused_variables)]
            pub fn with_parameter(&self, value: f64) -> Activation {
                match *self {
                    $( Activation::$variant $({ $param: _ })? =>
                        Activation::$variant $({ $param: value })?, )*
                    Activation::Custom(c) => Activation::Custom(c),
                    Activation::Formula(f) => Activation::Formula(f),
                }
            }

            /// The built-in with this key or class name (case-insensitive), with its parameter.
            fn builtin(name: &str, parameter: Option<f64>) -> Option<Activation> {
                $(
                    if name.eq_ignore_ascii_case($key) || name.eq_ignore_ascii_case($name) {
                        #[allow(unused_variables)]
                        let value = parameter;
                        return Some(Activation::$variant $({
                            $param: value.unwrap_or($default)
                        })?);
                    }
                )*
                None
            }
        }
    };
    (@parameter) => { None };
    (@parameter $p:ident $d:expr) => { Some(Parameter { name: stringify!($p), default: $d }) };
    (@value) => { 0.0 };
    (@value $p:ident) => { $p };
    (@study) => { None };
    (@study $s:literal) => { Some($s) };
}

// The table of built-ins: a new one is its kernel (in `kernels/`) plus one row here. The study's
// column is the test accuracy its notebook printed for its pretrained network.
builtins! {
    /// `1 / (1 + e^-x)`.
    Sigmoid => Sigmoid, key "sigmoid", name "Sigmoid", study 10.00;
    /// `(e^x - e^-x) / (e^x + e^-x)`.
    Tanh => Tanh, key "tanh", name "Tanh", study 87.59;
    /// `x * (x > 0)`.
    ReLU => Relu, key "relu", name "ReLU", study 88.62;
    /// `x` for `x > 0`, else `alpha * x`; the study's slope is 0.1.
    LeakyReLU { alpha: 0.1 } => LeakyRelu, key "leakyrelu", name "LeakyReLU", study 88.92;
    /// `x` for `x > 0`, else `e^x - 1`.
    ELU => Elu, key "elu", name "ELU", study 87.27;
    /// `x * sigmoid(x)` (PyTorch's SiLU).
    Swish => Swish, key "swish", name "Swish", study 88.73;
    /// `x * Phi(x)`, with the normal distribution's `Phi` (PyTorch's exact GELU).
    GELU => Gelu, key "gelu", name "GELU";
    /// GELU's tanh approximation (PyTorch's `GELU(approximate='tanh')`).
    GELUTanh => GeluTanh, key "gelu_tanh", name "GELUTanh";
    /// `x * tanh(softplus(x))`.
    Mish => Mish, key "mish", name "Mish";
    /// `scale * x` for `x > 0`, else `scale * alpha * (e^x - 1)` (PyTorch's constants); it
    /// self-normalizes with LeCun-normal initial weights.
    SELU => Selu, key "selu", name "SELU";
    /// `ln(1 + e^x)`, and `x` beyond 20 (PyTorch's beta 1 and threshold 20).
    Softplus => Softplus, key "softplus", name "Softplus";
    /// `x` for `x > 0`, else `a * x` with a slope `a` learned per layer, from `init` (0.25, as
    /// PyTorch's `nn.PReLU()`).
    PReLU { init: 0.25 } => PRelu, key "prelu", name "PReLU";
    /// `x * relu6(x + 3) / 6`.
    Hardswish => Hardswish, key "hardswish", name "Hardswish";
}

impl Activation {
    /// The study's six functions with its parameters, in its order.
    pub fn study() -> Vec<Activation> {
        BUILTINS
            .iter()
            .copied()
            .filter(|a| a.study_test_accuracy().is_some())
            .collect()
    }

    /// Every built-in with its default parameter: the study's six, then the others.
    pub fn builtins() -> &'static [Activation] {
        BUILTINS
    }

    /// The class name used in JSON and titles (`"LeakyReLU"`).
    pub fn name(&self) -> &'static str {
        match *self {
            Activation::Custom(c) => c.name(),
            Activation::Formula(f) => f.text(),
            builtin => builtin.row().map_or("", |r| r.name),
        }
    }

    /// The lower-case key used on the command line and in file names (`"leakyrelu"`).
    pub fn key(&self) -> &'static str {
        match *self {
            Activation::Custom(c) => c.key(),
            Activation::Formula(f) => f.label(),
            builtin => builtin.row().map_or("", |r| r.key),
        }
    }

    /// The test accuracy (in percent) the study's notebook printed for this function's
    /// pretrained network; none for the functions the study does not have.
    pub fn study_test_accuracy(&self) -> Option<f64> {
        self.row().and_then(|r| r.study_test_accuracy)
    }

    /// The function's parameter, with its value: LeakyReLU's `alpha`, PReLU's `init`.
    pub fn parameter(&self) -> Option<(Parameter, f64)> {
        let parameter = self.row()?.parameter?;
        Some((parameter, self.visit(CurrentValue)?))
    }

    /// Whether the parameter is learned, one per activation layer (PReLU's slope).
    pub fn learned_parameter(&self) -> bool {
        self.visit(Learned).unwrap_or(false)
    }

    /// Builds a function from its key or class name (case-insensitive) and, for a function
    /// with a parameter, its value (the default when `None`); or from a formula of `x`
    /// ([`Activation::formula`], refusing a formula that is not finite everywhere).
    pub fn from_name(name: &str, parameter: Option<f64>) -> Result<Self, Error> {
        let act = match Activation::builtin(name, parameter) {
            Some(act) => act,
            None => match custom::find(name) {
                Some(c) => Activation::Custom(c),
                None => match formula::find(name) {
                    // By its label (as a run's folder names it) or its canonical text.
                    Some(f) => Activation::formula(f.text(), NonFinitePolicy::Refuse)?,
                    None if formula::looks_like_formula(name) => {
                        Activation::formula(name, NonFinitePolicy::Refuse)?
                    }
                    None => {
                        let mut valid: Vec<String> =
                            BUILTINS.iter().map(|b| b.key().to_string()).collect();
                        valid.extend(custom::keys());
                        return Err(Error::UnknownName {
                            name: name.to_string(),
                            valid: valid.join(", "),
                        });
                    }
                },
            },
        };
        match (act.parameter(), parameter) {
            (None, Some(_)) => Err(Error::BadParameter {
                activation: act.name().into(),
                reason: "it takes no parameter".into(),
            }),
            (Some((p, value)), _) if !value.is_finite() => Err(Error::BadParameter {
                activation: act.name().into(),
                reason: format!("{} must be a finite number, got {value}", p.name),
            }),
            _ => Ok(act),
        }
    }
}

/// The parameter value a built-in carries.
struct CurrentValue;

impl Visitor for CurrentValue {
    type Output = f64;
    fn visit<K: Kernel>(self, parameter: f64) -> f64 {
        parameter
    }
}

/// Whether a built-in's kernel has a learned parameter.
struct Learned;

impl Visitor for Learned {
    type Output = bool;
    fn visit<K: Kernel>(self, _: f64) -> bool {
        K::LEARNED
    }
}

impl PartialEq for Activation {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Activation::Custom(a), Activation::Custom(b)) => a.key() == b.key(),
            (Activation::Formula(a), Activation::Formula(b)) => a.text() == b.text(),
            (Activation::Custom(_) | Activation::Formula(_), _)
            | (_, Activation::Custom(_) | Activation::Formula(_)) => false,
            (a, b) => {
                a.key() == b.key()
                    && a.parameter().map(|p| p.1.to_bits()) == b.parameter().map(|p| p.1.to_bits())
            }
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
        match self.parameter() {
            Some((p, value)) => write!(f, "{}({}={value})", self.name(), p.name),
            None => f.write_str(self.name()),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    /// Parses a key or class name (`"relu"`, `"LeakyReLU"`, ...), with the default parameters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Activation::from_name(s, None)
    }
}

/// The study's JSON form of an activation: its class name (a formula's canonical text) and its
/// parameter by name; for a formula that the safety check refused, that it was accepted.
#[derive(Serialize, Deserialize)]
struct ActivationConfig {
    name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    accept_non_finite: bool,
    #[serde(flatten)]
    parameters: std::collections::BTreeMap<String, f64>,
}

impl Serialize for Activation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ActivationConfig {
            name: self.name().to_string(),
            accept_non_finite: matches!(self, Activation::Formula(f) if f.non_finite().is_some()),
            parameters: self
                .parameter()
                .map(|(p, value)| (p.name.to_string(), value))
                .into_iter()
                .collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Activation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let config = ActivationConfig::deserialize(deserializer)?;
        if config.accept_non_finite {
            return Activation::formula(&config.name, NonFinitePolicy::Accept)
                .map_err(serde::de::Error::custom);
        }
        let expected = Activation::from_name(&config.name, None)
            .ok()
            .and_then(|a| a.parameter())
            .map(|(p, _)| p.name);
        if let Some(unknown) = config
            .parameters
            .keys()
            .find(|k| Some(k.as_str()) != expected)
        {
            return Err(serde::de::Error::custom(format!(
                "unknown field `{unknown}` for activation {} (its parameter is {})",
                config.name,
                expected.unwrap_or("none")
            )));
        }
        let value = expected.and_then(|name| config.parameters.get(name).copied());
        Activation::from_name(&config.name, value).map_err(serde::de::Error::custom)
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
