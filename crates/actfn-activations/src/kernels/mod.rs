//! Each built-in function once, with its derivative beside it: a scalar kernel generic over
//! `f32` and `f64` (the CPU path runs it over slices, one specialized loop per function), and
//! the same function composed of candle tensor operations (autograd works on every device).
//!
//! Adding a built-in is one type here implementing [`Kernel`] and one row in the table of
//! `lib.rs`; the compiler finds every other place.

mod modern;
mod study;

pub(crate) use modern::{
    Gelu, GeluTanh, Hardswish, Mish, PRelu, SELU_ALPHA, SELU_SCALE, SOFTPLUS_THRESHOLD, Selu,
    Softplus,
};
pub(crate) use study::{Elu, LeakyRelu, Relu, Sigmoid, Swish, Tanh};

use candle_core::Tensor;

use crate::Real;

/// The parameter of a parametrized function (LeakyReLU's slope, PReLU's learned slope) as the
/// tensor forms take it.
#[derive(Debug, Clone, Copy)]
pub enum ParameterValue<'a> {
    /// A number (also the value of every function without a parameter, unused).
    Fixed(f64),
    /// A tensor, such as a network's learned slope: autograd reaches it through the function.
    Learned(&'a Tensor),
}

impl ParameterValue<'_> {
    /// `x * p`, broadcast for a tensor parameter.
    pub(crate) fn times(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match *self {
            ParameterValue::Fixed(p) => x * p,
            ParameterValue::Learned(p) => x.broadcast_mul(&p.to_dtype(x.dtype())?),
        }
    }

    /// The parameter as a tensor shaped like `x`.
    pub(crate) fn like(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match *self {
            ParameterValue::Fixed(p) => x.ones_like()? * p,
            ParameterValue::Learned(p) => p.to_dtype(x.dtype())?.broadcast_as(x.shape()),
        }
    }
}

/// One activation function: its scalar kernel and derivative, and its tensor forms.
pub(crate) trait Kernel {
    /// Whether the parameter is learned (one per activation layer of a network).
    const LEARNED: bool = false;
    /// `f(x)` with the parameter `p` (ignored by functions without one).
    fn value<T: Real>(x: T, p: T) -> T;
    /// `f'(x)`, given also `y = f(x)` (cheaper for some).
    fn derivative<T: Real>(x: T, y: T, p: T) -> T;
    /// `df/dp` at `x`, for a function whose parameter is learned.
    fn parameter_derivative<T: Real>(_x: T, _p: T) -> T {
        T::ZERO
    }
    /// `f(x)` composed of tensor operations, finite for every finite input.
    fn tensor(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor>;
    /// `f'(x)` in closed form as tensor operations.
    fn tensor_derivative(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor>;
    /// `df/dp` as tensor operations, for a function whose parameter is learned.
    fn tensor_parameter_derivative(x: &Tensor) -> candle_core::Result<Tensor> {
        x.zeros_like()
    }
}

/// A 0/1 mask of `x > 0` in `x`'s dtype. Comparisons carry no gradient, so multiplying by the mask
/// gives the derivative 0 at exactly 0, as PyTorch's `x * (x > 0).float()` does.
pub(crate) fn positive_mask(x: &Tensor) -> candle_core::Result<Tensor> {
    x.gt(0.0)?.to_dtype(x.dtype())
}

/// `x` where `x <= 0`, else 0: the part an exponential may see without overflowing.
pub(crate) fn non_positive_part(x: &Tensor) -> candle_core::Result<Tensor> {
    x * x.le(0.0)?.to_dtype(x.dtype())?
}
