//! The study's six functions. The tensor forms avoid every overflow: `e^-|x|` lies in (0, 1] for
//! all finite x, so no intermediate value (and no intermediate gradient) is ever infinite, which
//! is what keeps autograd finite where the textbook forms give `0 * inf`.
//!
//! Each scalar kernel computes every candidate first and chooses between values last: a choice
//! between two values compiles to a vector select, where a branch around a division or an
//! exponential stays a branch and keeps the loop scalar.

use candle_core::Tensor;

use super::{Kernel, ParameterValue, non_positive_part, positive_mask};
use crate::Real;

/// `sigmoid(x) = 1 / (1 + e^-x)`.
pub(crate) struct Sigmoid;

impl Kernel for Sigmoid {
    /// `1 / (1 + e^-|x|)` for `x >= 0`, `e^-|x| / (1 + e^-|x|)` below: no overflow.
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        let e = (-x.abs()).exp();
        let numerator = if x >= T::ZERO { T::ONE } else { e };
        numerator / (T::ONE + e)
    }
    /// `sigmoid'(x) = y (1 - y)`.
    #[inline(always)]
    fn derivative<T: Real>(_x: T, y: T, _: T) -> T {
        y * (T::ONE - y)
    }
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let e = x.abs()?.neg()?.exp()?;
        let denominator = (&e + 1.0)?;
        let for_non_negative = denominator.recip()?;
        let for_negative = (&e / &denominator)?;
        x.ge(0.0)?.where_cond(&for_non_negative, &for_negative)
    }
    fn tensor_derivative(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        let s = Self::tensor(x, p)?;
        &s * (1.0 - &s)?
    }
}

/// `tanh(x) = (e^x - e^-x) / (e^x + e^-x)`.
pub(crate) struct Tanh;

impl Kernel for Tanh {
    /// `sign(x) (1 - e^-2|x|) / (1 + e^-2|x|)`, written with `expm1` so that it keeps full
    /// relative precision near 0; one exponential is much cheaper than libm's `tanh`.
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        let m = (x.abs() * T::from_f64(-2.0)).exp_m1();
        let t = -m / (T::from_f64(2.0) + m);
        // t >= 0 (m is in (-1, 0]): -t, t, or x itself at +-0 and NaN.
        T::select(x < T::ZERO, -t, T::select(x > T::ZERO, t, x))
    }
    /// `tanh'(x) = 1 - y^2`.
    #[inline(always)]
    fn derivative<T: Real>(_x: T, y: T, _: T) -> T {
        T::ONE - y * y
    }
    /// `2 sigmoid(2x) - 1`: the same function, finite where `e^x` overflows (|x| > 89 in f32).
    fn tensor(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        Sigmoid::tensor(&(x * 2.0)?, p)?.affine(2.0, -1.0)
    }
    fn tensor_derivative(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        1.0 - Self::tensor(x, p)?.sqr()?
    }
}

/// `relu(x) = x * (x > 0)`.
pub(crate) struct Relu;

impl Kernel for Relu {
    /// NaN stays NaN, as in the composed `x * (x > 0)`.
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        if x > T::ZERO || x.is_nan() {
            x
        } else {
            T::ZERO
        }
    }
    /// 1 for `x > 0`, else 0 (0 at exactly 0, as PyTorch).
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, _: T) -> T {
        if x > T::ZERO { T::ONE } else { T::ZERO }
    }
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        x * positive_mask(x)?
    }
    fn tensor_derivative(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        positive_mask(x)
    }
}

/// `leakyrelu(x) = x` for `x > 0`, else `alpha x`.
pub(crate) struct LeakyRelu;

impl Kernel for LeakyRelu {
    #[inline(always)]
    fn value<T: Real>(x: T, alpha: T) -> T {
        if x > T::ZERO { x } else { alpha * x }
    }
    /// 1 for `x > 0`, else `alpha` (alpha at exactly 0, as PyTorch).
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, alpha: T) -> T {
        if x > T::ZERO { T::ONE } else { alpha }
    }
    fn tensor(x: &Tensor, alpha: ParameterValue) -> candle_core::Result<Tensor> {
        x.gt(0.0)?.where_cond(x, &alpha.times(x)?)
    }
    fn tensor_derivative(x: &Tensor, alpha: ParameterValue) -> candle_core::Result<Tensor> {
        x.gt(0.0)?.where_cond(&x.ones_like()?, &alpha.like(x)?)
    }
}

/// `elu(x) = x` for `x > 0`, else `e^x - 1` (the study's ELU: alpha 1, whatever it is given).
pub(crate) struct Elu;

impl Kernel for Elu {
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        let negative = x.exp_m1();
        if x > T::ZERO { x } else { negative }
    }
    /// 1 for `x > 0`, else `e^x = y + 1` (1 at exactly 0).
    #[inline(always)]
    fn derivative<T: Real>(x: T, y: T, _: T) -> T {
        if x > T::ZERO { T::ONE } else { y + T::ONE }
    }
    /// The exponential sees `x` only where `x <= 0` (and 0 elsewhere), so it never overflows and
    /// the branch that is not taken has a finite gradient.
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let negative_branch = (non_positive_part(x)?.exp()? - 1.0)?;
        x.gt(0.0)?.where_cond(x, &negative_branch)
    }
    fn tensor_derivative(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        x.gt(0.0)?
            .where_cond(&x.ones_like()?, &non_positive_part(x)?.exp()?)
    }
}

/// `swish(x) = x sigmoid(x)` (PyTorch's SiLU).
pub(crate) struct Swish;

impl Kernel for Swish {
    #[inline(always)]
    fn value<T: Real>(x: T, p: T) -> T {
        x * Sigmoid::value(x, p)
    }
    /// `sigmoid(x) + x sigmoid(x) (1 - sigmoid(x))`.
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, p: T) -> T {
        let s = Sigmoid::value(x, p);
        s + x * s * (T::ONE - s)
    }
    fn tensor(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        x * Sigmoid::tensor(x, p)?
    }
    fn tensor_derivative(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        let s = Sigmoid::tensor(x, p)?;
        &s + (x * Sigmoid::tensor_derivative(x, p)?)?
    }
}
