//! Each activation as one CPU kernel over plain slices, with its derivative beside it: a single
//! pass over memory for the forward pass and a single pass for the backward pass, where the
//! composed form takes five to ten. They compute the same functions as the composed forms (which
//! stay the reference, and run on every other device); the tests compare the two.
//!
//! The activation is chosen once per slice, so each loop is specialized to one function and the
//! compiler vectorizes it; for `f32` the exponential is a branch-free polynomial (below) that
//! vectorizes too, where libm's `expf` and `expm1f` are scalar calls.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::{Activation, Error};

/// Below this many elements a kernel runs on one thread: splitting costs more than it saves.
const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Elements per task when a kernel runs on several threads.
const CHUNK: usize = 1 << 13;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The float types the kernels serve: `f32` and `f64`. The implementations are inlined into the
/// kernels' loops, which only then vectorize.
pub trait Real: sealed::Sealed + Copy + PartialOrd + Send + Sync {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// `e^x`.
    fn exp(self) -> Self;
    /// `e^x - 1`, with full relative precision near 0.
    fn exp_m1(self) -> Self;
    /// `|x|`.
    fn abs(self) -> Self;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// The nearest value of this type.
    fn from_f64(v: f64) -> Self;
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
}

macro_rules! arithmetic {
    ($t:ty) => {
        const ZERO: Self = 0.0;
        const ONE: Self = 1.0;
        #[inline(always)]
        fn abs(self) -> Self {
            <$t>::abs(self)
        }
        #[inline(always)]
        fn is_nan(self) -> bool {
            <$t>::is_nan(self)
        }
        #[inline(always)]
        fn from_f64(v: f64) -> Self {
            v as $t
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            self + o
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            self - o
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            self * o
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            self / o
        }
    };
}

impl Real for f32 {
    arithmetic!(f32);
    #[inline(always)]
    fn exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn exp_m1(self) -> Self {
        exp_m1_f32(self)
    }
}

/// `f64` keeps libm's functions: it is the precise type the tests check the formulas with.
impl Real for f64 {
    arithmetic!(f64);
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
}

/// `e^x` for `f32` without branches or calls, so that a loop of it vectorizes: `x = n ln 2 + r`
/// with `|r| <= ln 2 / 2`, Cephes' degree-7 polynomial for `e^r` (relative error below 2e-7),
/// and `2^n` built in the exponent bits. Below -87.3 (where `e^x` leaves the normal range) the
/// result is 0, above 88.72 it is infinite, and NaN stays NaN.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer with plain arithmetic;
    // `f32::round` is a libm call on the baseline x86-64 target.
    const ROUND: f32 = 12_582_912.0;
    // ln 2 split in two, so that `n * LN2_HI` is exact for the `n` that occur.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const LOWEST: f32 = -87.336_55;
    const HIGHEST: f32 = 88.722_84;
    let clamped = x.clamp(LOWEST, HIGHEST);
    let shifted = clamped * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // The integer n is also in the low bits of `shifted`: reading it there vectorizes, where
    // the saturating `n as i32` becomes a scalar conversion with checks.
    let n_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // 2^n in two factors, because n reaches 128, whose single factor would be infinite.
    let half = n_int >> 1;
    let power = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let scaled = e_r * power(half) * power(n_int - half);
    if x < LOWEST {
        0.0
    } else if x > HIGHEST {
        f32::INFINITY
    } else {
        scaled
    }
}

/// `e^x - 1` for `f32`, vectorizable: its Taylor series up to `x^8` where `|x| < 0.4` (where
/// `e^x - 1` would cancel; the first term left out is below 1e-9 relative), else `e^x - 1`.
#[inline(always)]
fn exp_m1_f32(x: f32) -> f32 {
    let series = 1.0 / 40_320.0_f32;
    let series = series * x + 1.0 / 5_040.0;
    let series = series * x + 1.0 / 720.0;
    let series = series * x + 1.0 / 120.0;
    let series = series * x + 1.0 / 24.0;
    let series = series * x + 1.0 / 6.0;
    let series = series * x + 0.5;
    let series = (series * x + 1.0) * x;
    let direct = exp_f32(x) - 1.0;
    if x.abs() < 0.4 { series } else { direct }
}

// Each function, then its derivative. The derivative takes the input `x` and the output
// `y = f(x)`, which the forward pass already computed: for sigmoid, tanh and elu the derivative
// is cheapest from `y` (no second exponential).
//
// Each function computes every candidate first and chooses between values last: a choice
// between two values compiles to a vector select, where a branch around a division or an
// exponential stays a branch and keeps the loop scalar (and mispredicted on mixed signs).

/// `1 / (1 + e^-x)` without overflow: `e^-|x|` is in (0, 1].
fn sigmoid<T: Real>(x: T) -> T {
    let e = x.abs().mul(T::from_f64(-1.0)).exp();
    let numerator = if x >= T::ZERO { T::ONE } else { e };
    numerator.div(T::ONE.add(e))
}
fn sigmoid_slope<T: Real>(_x: T, y: T) -> T {
    y.mul(T::ONE.sub(y))
}

/// `tanh(x) = sign(x) * (1 - e^-2|x|) / (1 + e^-2|x|)`, written with `expm1` so that it keeps
/// full relative precision near 0; one exponential is much cheaper than libm's `tanh`.
fn tanh<T: Real>(x: T) -> T {
    let m = x.abs().mul(T::from_f64(-2.0)).exp_m1();
    let t = m.mul(T::from_f64(-1.0)).div(T::from_f64(2.0).add(m));
    if x < T::ZERO {
        t.mul(T::from_f64(-1.0))
    } else if x > T::ZERO {
        t
    } else {
        x
    }
}
fn tanh_slope<T: Real>(_x: T, y: T) -> T {
    T::ONE.sub(y.mul(y))
}

/// NaN stays NaN, as in the composed `x * (x > 0)`.
fn relu<T: Real>(x: T) -> T {
    if x > T::ZERO || x.is_nan() {
        x
    } else {
        T::ZERO
    }
}
fn relu_slope<T: Real>(x: T, _y: T) -> T {
    if x > T::ZERO { T::ONE } else { T::ZERO }
}

fn leaky_relu<T: Real>(x: T, alpha: T) -> T {
    if x > T::ZERO { x } else { alpha.mul(x) }
}
fn leaky_relu_slope<T: Real>(x: T, _y: T, alpha: T) -> T {
    if x > T::ZERO { T::ONE } else { alpha }
}

fn elu<T: Real>(x: T) -> T {
    let negative = x.exp_m1();
    if x > T::ZERO { x } else { negative }
}
fn elu_slope<T: Real>(x: T, y: T) -> T {
    if x > T::ZERO { T::ONE } else { y.add(T::ONE) }
}

fn swish<T: Real>(x: T) -> T {
    x.mul(sigmoid(x))
}
fn swish_slope<T: Real>(x: T, _y: T) -> T {
    let s = sigmoid(x);
    s.add(x.mul(s).mul(T::ONE.sub(s)))
}

/// Evaluates `$body` with `$f` bound to the scalar function of the activation `$act` for the
/// float type `$t`. The body is written once and compiled once per function, so each loop is
/// specialized to one function and vectorizes.
macro_rules! with_function {
    ($act:expr, $t:ty, |$f:ident| $body:expr) => {
        match $act {
            Activation::Sigmoid => {
                let $f = sigmoid::<$t>;
                $body
            }
            Activation::Tanh => {
                let $f = tanh::<$t>;
                $body
            }
            Activation::ReLU => {
                let $f = relu::<$t>;
                $body
            }
            Activation::LeakyReLU { alpha } => {
                let alpha = <$t>::from_f64(alpha);
                let $f = move |x: $t| leaky_relu(x, alpha);
                $body
            }
            Activation::ELU => {
                let $f = elu::<$t>;
                $body
            }
            Activation::Swish => {
                let $f = swish::<$t>;
                $body
            }
        }
    };
}

/// `y[i] = f(x[i])`.
fn map_into<T: Real>(x: &[T], y: &mut [T], f: impl Fn(T) -> T) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x));
}

/// `v = f(v)` for every value.
fn map_in_place<T: Real>(values: &mut [T], f: impl Fn(T) -> T) {
    values.iter_mut().for_each(|v| *v = f(*v));
}

/// `grad[i] *= slope(x[i], y[i])`.
fn scale_by<T: Real>(x: &[T], y: &[T], grad: &mut [T], slope: impl Fn(T, T) -> T) {
    for ((g, &x), &y) in grad.iter_mut().zip(x).zip(y) {
        *g = g.mul(slope(x, y));
    }
}

/// An error unless `got` is `expected`.
fn check_length(what: &'static str, expected: usize, got: usize) -> Result<(), Error> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

impl Activation {
    /// Writes `y = f(x)` element by element, on this thread: the forward kernel on plain slices,
    /// for code that manages its own buffers and threads. The slices must be equally long.
    pub fn forward_slice<T: Real>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        check_length("output", x.len(), y.len())?;
        with_function!(*self, T, |f| map_into(x, y, f));
        Ok(())
    }

    /// Replaces each value `x` by `f(x)`, on this thread.
    pub fn forward_in_place<T: Real>(&self, values: &mut [T]) {
        with_function!(*self, T, |f| map_in_place(values, f));
    }

    /// Multiplies `grad` in place by `f'(x)`, given the input `x` and the output `y = f(x)` of
    /// the forward pass, on this thread: the backward kernel on plain slices. The slices must be
    /// equally long.
    pub fn backward_slice<T: Real>(&self, x: &[T], y: &[T], grad: &mut [T]) -> Result<(), Error> {
        check_length("forward output", x.len(), y.len())?;
        check_length("gradient", x.len(), grad.len())?;
        match *self {
            Activation::Sigmoid => scale_by(x, y, grad, sigmoid_slope),
            Activation::Tanh => scale_by(x, y, grad, tanh_slope),
            Activation::ReLU => scale_by(x, y, grad, relu_slope),
            Activation::LeakyReLU { alpha } => {
                let alpha = T::from_f64(alpha);
                scale_by(x, y, grad, |x, y| leaky_relu_slope(x, y, alpha))
            }
            Activation::ELU => scale_by(x, y, grad, elu_slope),
            Activation::Swish => scale_by(x, y, grad, swish_slope),
        }
        Ok(())
    }

    /// [`Activation::forward_slice`] into a new vector, on several threads when `x` is long.
    fn forward_vec<T: Real>(&self, x: &[T]) -> Result<Vec<T>, Error> {
        let mut y = vec![T::ZERO; x.len()];
        if x.len() < PARALLEL_THRESHOLD {
            self.forward_slice(x, &mut y)?;
        } else {
            y.par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK))
                .try_for_each(|(y, x)| self.forward_slice(x, y))?;
        }
        Ok(y)
    }

    /// `grad * f'(x)` into a new vector, on several threads when the slices are long.
    fn backward_vec<T: Real>(&self, x: &[T], y: &[T], grad: &[T]) -> Result<Vec<T>, Error> {
        check_length("forward output", x.len(), y.len())?;
        let mut out = grad.to_vec();
        if x.len() < PARALLEL_THRESHOLD {
            self.backward_slice(x, y, &mut out)?;
        } else {
            out.par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
                .try_for_each(|(g, (x, y))| self.backward_slice(x, y, g))?;
        }
        Ok(out)
    }
}

/// The contiguous data of a storage, or an error naming the operation.
fn contiguous<'a, T>(data: &'a [T], layout: &Layout, op: &str) -> candle_core::Result<&'a [T]> {
    match layout
        .contiguous_offsets()
        .and_then(|(start, end)| data.get(start..end))
    {
        Some(data) => Ok(data),
        None => candle_core::bail!("{op} needs a contiguous tensor"),
    }
}

/// The activation applied by one kernel (forward), with [`ActivationGrad`] as its backward.
pub(crate) struct ActivationOp(pub Activation);

impl CustomOp1 for ActivationOp {
    fn name(&self) -> &'static str {
        "fused-activation"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let name = self.name();
        let wrap = candle_core::Error::wrap;
        let out = match storage {
            CpuStorage::F32(x) => CpuStorage::F32(
                self.0
                    .forward_vec(contiguous(x, layout, name)?)
                    .map_err(wrap)?,
            ),
            CpuStorage::F64(x) => CpuStorage::F64(
                self.0
                    .forward_vec(contiguous(x, layout, name)?)
                    .map_err(wrap)?,
            ),
            _ => candle_core::bail!("{name} supports f32 and f64 only"),
        };
        Ok((out, layout.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.0.backward(arg, res, grad_res)?))
    }
}

/// `grad * f'(x)` in one kernel, from the input `x`, the output `y = f(x)` and `grad`: the
/// backward pass through the activation.
pub(crate) struct ActivationGrad(pub Activation);

impl CustomOp3 for ActivationGrad {
    fn name(&self) -> &'static str {
        "fused-activation-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let act = self.0;
        let name = self.name();
        let out = match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(y), CpuStorage::F32(g)) => CpuStorage::F32(
                act.backward_vec(
                    contiguous(x, l1, name)?,
                    contiguous(y, l2, name)?,
                    contiguous(g, l3, name)?,
                )
                .map_err(candle_core::Error::wrap)?,
            ),
            (CpuStorage::F64(x), CpuStorage::F64(y), CpuStorage::F64(g)) => CpuStorage::F64(
                act.backward_vec(
                    contiguous(x, l1, name)?,
                    contiguous(y, l2, name)?,
                    contiguous(g, l3, name)?,
                )
                .map_err(candle_core::Error::wrap)?,
            ),
            _ => candle_core::bail!("{name} needs three f32 or three f64 tensors"),
        };
        Ok((out, l1.shape().clone()))
    }
}

/// Whether the fused kernels can serve `x`: on the CPU, f32 or f64, contiguous.
pub(crate) fn fits(x: &Tensor) -> bool {
    x.device().is_cpu()
        && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
        && x.is_contiguous()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 97th f32 bit pattern between `lo` and `hi`, plus the ends.
    fn samples(lo: f32, hi: f32) -> impl Iterator<Item = f32> {
        let ordered = |v: f32| {
            let b = v.to_bits() as i64;
            if b < 1 << 31 { b } else { (1 << 31) - b }
        };
        let from_ordered = |o: i64| f32::from_bits(if o >= 0 { o } else { (1 << 31) - o } as u32);
        (ordered(lo)..=ordered(hi))
            .step_by(97)
            .map(from_ordered)
            .chain([lo, hi])
    }

    #[test]
    fn the_f32_exponential_is_within_two_parts_in_ten_million() {
        let mut worst = 0.0f64;
        for x in samples(-87.3, 88.7) {
            let exact = f64::from(x).exp();
            let relative = ((f64::from(exp_f32(x)) - exact) / exact).abs();
            assert!(relative < 2e-7, "exp({x}): {} vs {exact}", exp_f32(x));
            worst = worst.max(relative);
        }
        assert!(worst > 0.0, "the samples must exercise the polynomial");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn the_f32_exp_m1_keeps_its_relative_precision_near_zero() {
        for x in samples(-20.0, 20.0) {
            let exact = f64::from(x).exp_m1();
            let got = f64::from(exp_m1_f32(x));
            let scale = exact.abs().max(f64::from(f32::MIN_POSITIVE));
            assert!(
                ((got - exact) / scale).abs() < 4e-7,
                "expm1({x}): {got} vs {exact}"
            );
        }
        assert_eq!(exp_m1_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(exp_m1_f32(-200.0), -1.0);
        assert!(exp_m1_f32(f32::NAN).is_nan());
    }

    #[test]
    fn slices_of_other_lengths_are_refused_naming_the_slice() {
        let act = Activation::Tanh;
        let err = act.forward_slice(&[1f32, 2.0], &mut [0.0]).unwrap_err();
        assert!(
            err.to_string().contains("output slice has 1 elements"),
            "{err}"
        );
        let err = act
            .backward_slice(&[1f32, 2.0], &[0.5, 0.9], &mut [1.0, 1.0, 1.0])
            .unwrap_err();
        assert!(err.to_string().contains("gradient slice has 3"), "{err}");
    }
}
