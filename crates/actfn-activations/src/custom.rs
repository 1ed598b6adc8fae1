//! Activation functions of your own: a type that implements [`CustomActivation`], registered
//! once with [`Activation::custom`], is an [`Activation`] like the built-ins: it trains,
//! evaluates, is diagnosed and is saved by name in checkpoints.

use std::fmt;
use std::sync::Mutex;

use candle_core::Tensor;

use crate::{Activation, Error};

/// An activation function defined outside this crate: its function and derivative as tensor
/// operations (which run on every device and which autograd differentiates), and optionally a
/// CPU kernel on slices that the fast CPU path uses instead of tensor operations.
///
/// ```
/// use actfn_activations::{Activation, CustomActivation};
/// use candle_core::{Device, Tensor};
///
/// /// `x sigmoid(1.702 x)`, the sigmoid approximation of GELU.
/// #[derive(Debug)]
/// struct QuickGelu;
///
/// impl CustomActivation for QuickGelu {
///     fn name(&self) -> &str { "QuickGELU" }
///     fn key(&self) -> &str { "quick_gelu" }
///     fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
///         x * candle_nn::ops::sigmoid(&(x * 1.702)?)?
///     }
///     fn derivative(&self, x: &Tensor) -> candle_core::Result<Tensor> {
///         let s = candle_nn::ops::sigmoid(&(x * 1.702)?)?;
///         &s + ((x * 1.702)? * (&s * (1.0 - &s)?)?)?
///     }
/// }
///
/// let act = Activation::custom(Box::new(QuickGelu))?;
/// assert_eq!("quick_gelu".parse::<Activation>()?, act);
/// let y = act.forward(&Tensor::new(&[0f32, 1.0], &Device::Cpu)?)?;
/// assert_eq!(y.to_vec1::<f32>()?[0], 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CustomActivation: Send + Sync + fmt::Debug + 'static {
    /// The class name in JSON configs and figure titles, e.g. `QuickGELU`.
    fn name(&self) -> &str;
    /// The lower-case key used on the command line and in file names, e.g. `quick_gelu`.
    fn key(&self) -> &str;
    /// `f(x)`, element-wise, composed of candle tensor operations.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor>;
    /// `f'(x)`, element-wise, in closed form.
    fn derivative(&self, x: &Tensor) -> candle_core::Result<Tensor>;
    /// A CPU kernel for `y = f(x)` on `f32` slices of equal length; return `false` (the
    /// default) to have the crate run [`CustomActivation::forward`] on a tensor instead.
    fn forward_slice(&self, _x: &[f32], _y: &mut [f32]) -> bool {
        false
    }
    /// A CPU kernel for `grad *= f'(x)` given `y = f(x)`, on `f32` slices of equal length;
    /// return `false` (the default) to have the crate use [`CustomActivation::derivative`].
    fn backward_slice(&self, _x: &[f32], _y: &[f32], _grad: &mut [f32]) -> bool {
        false
    }
}

/// The registered functions, found by name when a config is read.
static REGISTRY: Mutex<Vec<&'static dyn CustomActivation>> = Mutex::new(Vec::new());

/// The registered function with this key or class name (case-insensitive).
pub(crate) fn find(name: &str) -> Option<&'static dyn CustomActivation> {
    let registry = REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    registry
        .iter()
        .find(|c| c.key().eq_ignore_ascii_case(name) || c.name().eq_ignore_ascii_case(name))
        .copied()
}

/// The keys of the registered functions.
pub(crate) fn keys() -> Vec<String> {
    let registry = REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    registry.iter().map(|c| c.key().to_string()).collect()
}

impl Activation {
    /// Registers a function of your own and returns it as an [`Activation`]. Its key and name
    /// then parse like a built-in's (`--act quick_gelu`, a checkpoint's config). Registering
    /// the same key again returns the function registered first; a key or name that a built-in
    /// uses is an error.
    pub fn custom(function: Box<dyn CustomActivation>) -> Result<Activation, Error> {
        let taken = |s: &str| {
            Activation::builtins()
                .iter()
                .any(|b| b.key().eq_ignore_ascii_case(s) || b.name().eq_ignore_ascii_case(s))
        };
        if taken(function.key()) || taken(function.name()) {
            return Err(Error::BadParameter {
                activation: function.name().to_string(),
                reason: format!(
                    "the key {:?} or name {:?} is a built-in's; choose another",
                    function.key(),
                    function.name()
                ),
            });
        }
        let mut registry = REGISTRY
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(existing) = registry
            .iter()
            .find(|c| c.key().eq_ignore_ascii_case(function.key()))
        {
            return Ok(Activation::Custom(*existing));
        }
        // Registered functions live as long as the process: a config may name them anytime.
        let function: &'static dyn CustomActivation = Box::leak(function);
        registry.push(function);
        Ok(Activation::Custom(function))
    }
}
