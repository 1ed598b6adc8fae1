//! The functions the study does not have: GELU (exact and tanh), Mish, SELU, Softplus, PReLU
//! and Hardswish, as PyTorch defines them (the tests compare both forms with PyTorch's values
//! and gradients, at the kinks too).

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use candle_core::Tensor;

use super::{Kernel, ParameterValue, Sigmoid, non_positive_part};
use crate::Real;

/// `1 / sqrt(2 pi)`, the standard normal density at 0.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// `gelu(x) = x Phi(x) = x erfc(-x / sqrt 2) / 2`: PyTorch's `GELU(approximate='none')`.
pub(crate) struct Gelu;

impl Kernel for Gelu {
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        x * ((x * T::from_f64(-FRAC_1_SQRT_2)).erfc() * T::from_f64(0.5))
    }
    /// `Phi(x) + x phi(x)`; the density's `x^2` saturates to infinity, whose exponential is 0.
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, _: T) -> T {
        let cdf = (x * T::from_f64(-FRAC_1_SQRT_2)).erfc() * T::from_f64(0.5);
        let density = (x * x * T::from_f64(-0.5)).exp() * T::from_f64(INV_SQRT_2PI);
        cdf + x * density
    }
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let cdf = ((x * FRAC_1_SQRT_2)?.erf()? + 1.0)? * 0.5;
        x * cdf?
    }
    fn tensor_derivative(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let cdf = (((x * FRAC_1_SQRT_2)?.erf()? + 1.0)? * 0.5)?;
        let density = (x.sqr()? * -0.5)?.exp()? * INV_SQRT_2PI;
        cdf + (x * density?)?
    }
}

/// `sqrt(2 / pi)`.
fn sqrt_2_over_pi() -> f64 {
    (2.0 / PI).sqrt()
}

/// Beyond this `|x|` GELU's approximation is `x` or 0 to the last bit in f64 and f32; its
/// cubic is clamped there so that it never overflows.
const GELU_TANH_CLAMP: f64 = 10.0;

/// `gelu(x) = x (1 + tanh(u)) / 2` with `u = sqrt(2/pi) (x + 0.044715 x^3)`: PyTorch's
/// `GELU(approximate='tanh')`, computed as `x sigmoid(2u)` (the same function) so that neither
/// `1 + tanh` nor `1 - tanh^2` cancels in the tails.
pub(crate) struct GeluTanh;

impl GeluTanh {
    /// `2u` and `2u'` at the clamped `x`.
    #[inline(always)]
    fn parts<T: Real>(x: T) -> (T, T) {
        let c = T::from_f64(GELU_TANH_CLAMP);
        let xc = x.max(-c).min(c);
        let k = T::from_f64(2.0 * sqrt_2_over_pi());
        let a = T::from_f64(0.044_715);
        (
            k * (xc + a * xc * xc * xc),
            k * (T::ONE + T::from_f64(3.0) * a * xc * xc),
        )
    }
}

impl Kernel for GeluTanh {
    #[inline(always)]
    fn value<T: Real>(x: T, p: T) -> T {
        x * Sigmoid::value(Self::parts(x).0, p)
    }
    /// `sigmoid(2u) + x sigmoid(2u) sigmoid(-2u) 2u'`.
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, p: T) -> T {
        let (v, dv) = Self::parts(x);
        let s = Sigmoid::value(v, p);
        s + x * s * Sigmoid::value(-v, p) * dv
    }
    fn tensor(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        x * Sigmoid::tensor(&Self::tensor_parts(x)?.0, p)?
    }
    fn tensor_derivative(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        let (v, dv) = Self::tensor_parts(x)?;
        let s = Sigmoid::tensor(&v, p)?;
        let both = (&s * Sigmoid::tensor(&v.neg()?, p)?)?;
        s + ((x * both)? * dv)?
    }
}

impl GeluTanh {
    /// `2u` and `2u'` as tensors.
    fn tensor_parts(x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let xc = x.clamp(-GELU_TANH_CLAMP, GELU_TANH_CLAMP)?;
        let k = 2.0 * sqrt_2_over_pi();
        let v = ((&xc + (xc.powf(3.0)? * 0.044_715)?)? * k)?;
        let dv = ((xc.sqr()? * (3.0 * 0.044_715))? + 1.0)? * k;
        Ok((v, dv?))
    }
}

/// Softplus is the identity beyond this (PyTorch's threshold for beta 1), and Mish's tanh is 1.
pub(crate) const SOFTPLUS_THRESHOLD: f64 = 20.0;

/// `mish(x) = x tanh(softplus(x))`, computed as `x n / (n + 2)` with `n = e^x (e^x + 2)`: the
/// same function from one exponential, capped at the threshold where the tanh is 1.
pub(crate) struct Mish;

impl Mish {
    /// `tanh(softplus(x))` and `sigmoid(x)` from one exponential.
    #[inline(always)]
    fn parts<T: Real>(x: T) -> (T, T) {
        let e = x.min(T::from_f64(SOFTPLUS_THRESHOLD)).exp();
        let n = e * (e + T::from_f64(2.0));
        (n / (n + T::from_f64(2.0)), e / (T::ONE + e))
    }
}

impl Kernel for Mish {
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        x * Self::parts(x).0
    }
    /// `t + x (1 - t^2) sigmoid(x)`, with `t = tanh(softplus(x))`.
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, _: T) -> T {
        let (t, s) = Self::parts(x);
        t + x * (T::ONE - t * t) * s
    }
    /// `x` beyond the threshold, else `x n / (n + 2)` of the capped `x`: no branch of the
    /// `where` sees a huge `x`, so autograd never multiplies one by 0.
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        // A `where`, not `minimum`: candle's `minimum` splits the gradient at a tie.
        let above = x.gt(SOFTPLUS_THRESHOLD)?;
        let capped = above.where_cond(&x.ones_like()?.affine(0.0, SOFTPLUS_THRESHOLD)?, x)?;
        let e = capped.exp()?;
        let n = (&e * (&e + 2.0)?)?;
        let below = (&capped * (&n / (&n + 2.0)?)?)?;
        above.where_cond(x, &below)
    }
    fn tensor_derivative(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        let e = x.minimum(SOFTPLUS_THRESHOLD)?.exp()?;
        let n = (&e * (&e + 2.0)?)?;
        let t = (&n / (&n + 2.0)?)?;
        let s = Sigmoid::tensor(x, p)?;
        &t + (x * (1.0 - t.sqr()?)?)?.mul(&s)?
    }
}

/// SELU's constants, PyTorch's (`torch.nn.SELU`: alpha 1.6732632423543772848170429916717,
/// scale 1.0507009873554804934193349852946), as the nearest doubles.
pub(crate) const SELU_ALPHA: f64 = 1.673_263_242_354_377_2;
pub(crate) const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// `selu(x) = scale x` for `x > 0`, else `scale alpha (e^x - 1)`.
pub(crate) struct Selu;

impl Kernel for Selu {
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        let negative = T::from_f64(SELU_ALPHA) * x.exp_m1();
        T::from_f64(SELU_SCALE) * if x > T::ZERO { x } else { negative }
    }
    /// `scale` for `x > 0`, else `scale alpha e^x` (PyTorch's left value at exactly 0), from
    /// `x`: from `y` it would cancel in the tail.
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, _: T) -> T {
        let scale = T::from_f64(SELU_SCALE);
        let negative = scale * T::from_f64(SELU_ALPHA) * x.min(T::ZERO).exp();
        if x > T::ZERO { scale } else { negative }
    }
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let negative = ((non_positive_part(x)?.exp()? - 1.0)? * SELU_ALPHA)?;
        x.gt(0.0)?.where_cond(x, &negative)? * SELU_SCALE
    }
    fn tensor_derivative(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let negative = (non_positive_part(x)?.exp()? * (SELU_ALPHA * SELU_SCALE))?;
        x.gt(0.0)?
            .where_cond(&(x.ones_like()? * SELU_SCALE)?, &negative)
    }
}

/// `softplus(x) = ln(1 + e^x)`, and `x` beyond the threshold 20 (PyTorch's beta 1, threshold
/// 20).
pub(crate) struct Softplus;

impl Kernel for Softplus {
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        let threshold = T::from_f64(SOFTPLUS_THRESHOLD);
        let soft = x.min(threshold).exp().ln_1p();
        // `min` drops a NaN: it must come back out. (`|`, not `||`: a branch would keep the
        // loop scalar.)
        if (x > threshold) | x.is_nan() {
            x
        } else {
            soft
        }
    }
    /// `sigmoid(x)`, and 1 beyond the threshold.
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, p: T) -> T {
        let s = Sigmoid::value(x, p);
        if x > T::from_f64(SOFTPLUS_THRESHOLD) {
            T::ONE
        } else {
            s
        }
    }
    /// `max(x, 0) + ln(1 + e^-|x|)` below the threshold: the exponential never overflows.
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let soft = (x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
        x.gt(SOFTPLUS_THRESHOLD)?.where_cond(x, &soft)
    }
    fn tensor_derivative(x: &Tensor, p: ParameterValue) -> candle_core::Result<Tensor> {
        x.gt(SOFTPLUS_THRESHOLD)?
            .where_cond(&x.ones_like()?, &Sigmoid::tensor(x, p)?)
    }
}

/// `prelu(x) = x` for `x > 0`, else `a x`, with `a` learned (one per layer, from 0.25 as
/// PyTorch's `nn.PReLU()`).
pub(crate) struct PRelu;

impl Kernel for PRelu {
    const LEARNED: bool = true;
    #[inline(always)]
    fn value<T: Real>(x: T, a: T) -> T {
        if x > T::ZERO { x } else { a * x }
    }
    /// 1 for `x > 0`, else `a` (a at exactly 0, as PyTorch).
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, a: T) -> T {
        if x > T::ZERO { T::ONE } else { a }
    }
    /// `df/da = x` where `x <= 0`, else 0.
    #[inline(always)]
    fn parameter_derivative<T: Real>(x: T, _a: T) -> T {
        if x > T::ZERO { T::ZERO } else { x }
    }
    fn tensor(x: &Tensor, a: ParameterValue) -> candle_core::Result<Tensor> {
        x.gt(0.0)?.where_cond(x, &a.times(x)?)
    }
    fn tensor_derivative(x: &Tensor, a: ParameterValue) -> candle_core::Result<Tensor> {
        x.gt(0.0)?.where_cond(&x.ones_like()?, &a.like(x)?)
    }
    fn tensor_parameter_derivative(x: &Tensor) -> candle_core::Result<Tensor> {
        non_positive_part(x)
    }
}

/// `hardswish(x) = x relu6(x + 3) / 6`: 0 up to -3, `x` from 3.
pub(crate) struct Hardswish;

impl Kernel for Hardswish {
    #[inline(always)]
    fn value<T: Real>(x: T, _: T) -> T {
        // `x (gate / 6)`: `x gate` would overflow where `x` is near the largest float.
        let gate = (x + T::from_f64(3.0)).max(T::ZERO).min(T::from_f64(6.0));
        x * (gate / T::from_f64(6.0))
    }
    /// 0 up to -3 (included), 1 from 3 (included), `x / 3 + 1/2` between, as PyTorch's
    /// backward.
    #[inline(always)]
    fn derivative<T: Real>(x: T, _y: T, _: T) -> T {
        let middle = x / T::from_f64(3.0) + T::from_f64(0.5);
        if x <= T::from_f64(-3.0) {
            T::ZERO
        } else if x >= T::from_f64(3.0) {
            T::ONE
        } else {
            middle
        }
    }
    /// Masks rather than a clamp, so that autograd takes PyTorch's side at the corners.
    fn tensor(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let middle = (x * ((x + 3.0)? / 6.0)?)?;
        let upper = x.ge(3.0)?.where_cond(x, &middle)?;
        x.le(-3.0)?.where_cond(&x.zeros_like()?, &upper)
    }
    fn tensor_derivative(x: &Tensor, _: ParameterValue) -> candle_core::Result<Tensor> {
        let middle = ((x / 3.0)? + 0.5)?;
        let upper = x.ge(3.0)?.where_cond(&x.ones_like()?, &middle)?;
        x.le(-3.0)?.where_cond(&x.zeros_like()?, &upper)
    }
}
