//! The float types the kernels serve, `f32` and `f64`, and the elementary functions they need.
//!
//! `f64` keeps libm's functions (it is the precise type the tests check the formulas with).
//! For `f32` the exponential, the logarithm and erfc are branch-free polynomials that vectorize,
//! where libm's `expf`, `logf` and `erfcf` are scalar calls that keep a loop scalar.

use crate::{CustomActivation, Formula};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// `f32` or `f64`, with the functions the kernels use beside candle's `WithDType` (arithmetic
/// operators, `min`, `max`, `from_f64`, `to_f64`). The implementations are inlined into the
/// kernels' loops, which only then vectorize.
pub trait Real:
    sealed::Sealed
    + candle_core::WithDType
    + std::ops::Neg<Output = Self>
    + Copy
    + PartialOrd
    + Send
    + Sync
    + std::fmt::Debug
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// `e^x`.
    fn exp(self) -> Self;
    /// `e^x - 1`, with full relative precision near 0.
    fn exp_m1(self) -> Self;
    /// `ln(1 + x)`, with full relative precision near 0.
    fn ln_1p(self) -> Self;
    /// The complementary error function, with relative precision in its tail.
    fn erfc(self) -> Self;
    /// `|x|`.
    fn abs(self) -> Self;
    /// `|self|` with `sign`'s sign.
    fn copysign(self, sign: Self) -> Self;
    /// `if condition { a } else { b }` without a branch (a bit mask), so that a loop around a
    /// long computation still vectorizes.
    fn select(condition: bool, a: Self, b: Self) -> Self;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// A function of one's own's CPU kernel for this type, if it has one (`f32` only).
    fn custom_forward(c: &dyn CustomActivation, x: &[Self], y: &mut [Self]) -> bool;
    /// Its backward kernel for this type, if it has one (`f32` only).
    fn custom_backward(c: &dyn CustomActivation, x: &[Self], y: &[Self], grad: &mut [Self])
    -> bool;
    /// A formula's kernel, `y = f(x)`, in this type.
    fn formula_forward(f: &Formula, x: &[Self], y: &mut [Self]);
    /// A formula's backward kernel, `grad *= f'(x)`, in this type.
    fn formula_backward(f: &Formula, x: &[Self], grad: &mut [Self]);
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
        fn copysign(self, sign: Self) -> Self {
            <$t>::copysign(self, sign)
        }
        #[inline(always)]
        fn is_nan(self) -> bool {
            <$t>::is_nan(self)
        }
        fn formula_forward(f: &Formula, x: &[Self], y: &mut [Self]) {
            f.forward_slice(x, y);
        }
        fn formula_backward(f: &Formula, x: &[Self], grad: &mut [Self]) {
            f.backward_slice(x, grad);
        }
    };
}

impl Real for f32 {
    arithmetic!(f32);
    #[inline(always)]
    fn select(condition: bool, a: Self, b: Self) -> Self {
        select(condition, a, b)
    }
    fn custom_forward(c: &dyn CustomActivation, x: &[Self], y: &mut [Self]) -> bool {
        c.forward_slice(x, y)
    }
    fn custom_backward(
        c: &dyn CustomActivation,
        x: &[Self],
        y: &[Self],
        grad: &mut [Self],
    ) -> bool {
        c.backward_slice(x, y, grad)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn exp_m1(self) -> Self {
        exp_m1_f32(self)
    }
    #[inline(always)]
    fn ln_1p(self) -> Self {
        ln_1p_f32(self)
    }
    #[inline(always)]
    fn erfc(self) -> Self {
        erfc_f32(self)
    }
}

impl Real for f64 {
    arithmetic!(f64);
    #[inline(always)]
    fn select(condition: bool, a: Self, b: Self) -> Self {
        let mask = u64::from(condition).wrapping_neg();
        f64::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
    }
    fn custom_forward(_: &dyn CustomActivation, _: &[Self], _: &mut [Self]) -> bool {
        false
    }
    fn custom_backward(_: &dyn CustomActivation, _: &[Self], _: &[Self], _: &mut [Self]) -> bool {
        false
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
    #[inline(always)]
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    #[inline(always)]
    fn erfc(self) -> Self {
        libm::erfc(self)
    }
}

/// `e^x` for `f32` without branches or calls, so that a loop of it vectorizes: `x = n ln 2 + r`
/// with `|r| <= ln 2 / 2`, Cephes' degree-7 polynomial for `e^r` (relative error below 2e-7),
/// and `2^n` built in the exponent bits. Below -87.3 (where `e^x` leaves the normal range) the
/// result is 0, above 88.72 it is infinite, and NaN stays NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
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
pub(crate) fn exp_m1_f32(x: f32) -> f32 {
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

/// `ln x` for positive normal `f32`, vectorizable: `x = m 2^e` with `m` in `[sqrt(1/2),
/// sqrt(2))` read from the bits, and Cephes' polynomial for `ln m` (relative error below 2e-7).
/// Infinity stays infinite; the kernels call it on `[1, 5e8]` only.
#[inline(always)]
fn ln_f32(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let bits = x.to_bits();
    // m in [0.5, 1) and the matching exponent.
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let low = m < SQRT_HALF;
    e -= i32::from(low);
    m = select(low, m + m - 1.0, m - 1.0);
    let z = m * m;
    let p = 7.037_683_6e-2_f32;
    let p = p * m - 1.151_461e-1;
    let p = p * m + 1.167_699_9e-1;
    let p = p * m - 1.242_014_1e-1;
    let p = p * m + 1.424_932_3e-1;
    let p = p * m - 1.666_805_8e-1;
    let p = p * m + 2.000_071_5e-1;
    let p = p * m - 2.499_999_4e-1;
    let p = p * m + 3.333_333e-1;
    let e = e as f32;
    let y = p * m * z - 2.121_944_4e-4 * e - 0.5 * z;
    let result = m + y + 0.693_359_4 * e;
    select(x == f32::INFINITY, x, result)
}

/// `ln(1 + x)` for `f32` and `x >= 0`, vectorizable, with Kahan's correction that keeps its
/// relative precision for small `x`: `ln(w) x / (w - 1)` with `w = 1 + x` rounded.
#[inline(always)]
fn ln_1p_f32(x: f32) -> f32 {
    let w = 1.0 + x;
    let corrected = ln_f32(w) * (x / (w - 1.0));
    select(w == 1.0, x, corrected)
}

/// `erfc x` for `f32`, vectorizable: Numerical Recipes' `erfcc` (a Chebyshev fit of
/// `erfc(z) exp(z^2)`, fractional error below 1.2e-7 for every `z >= 0`), reflected for
/// negative `x`, with [`exp_f32`]. `exp(-z^2)` is taken as `exp(-h^2) exp(-(z - h)(z + h))` with
/// `h` the value of `z` cut to 11 bits, whose square is exact: a rounded `z^2` of 50 to 80 would
/// cost 5e-6 of relative precision.
#[inline(always)]
fn erfc_f32(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let p = 0.170_872_77_f32;
    let p = p * t - 0.822_152_23;
    let p = p * t + 1.488_515_9;
    let p = p * t - 1.135_204;
    let p = p * t + 0.278_868_07;
    let p = p * t - 0.186_288_06;
    let p = p * t + 0.096_784_18;
    let p = p * t + 0.374_091_96;
    let p = p * t + 1.000_023_7;
    let p = p * t - 1.265_512_2;
    // z^2 overflows for z beyond 1.8e19, where erfc(z) is 0 anyway.
    let z = z.min(1e19);
    let h = f32::from_bits(z.to_bits() & 0xffff_f000);
    let tail = t * exp_f32(-(h * h)) * exp_f32(p - (z - h) * (z + h));
    select(x < 0.0, 2.0 - tail, tail)
}

/// `if condition { a } else { b }` as a bit mask, which vectorizes where LLVM keeps a branch
/// around a long computation (erfc's loop stayed scalar with an `if`).
#[inline(always)]
fn select(condition: bool, a: f32, b: f32) -> f32 {
    let mask = u32::from(condition).wrapping_neg();
    f32::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
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

    /// The largest relative error of `f` against the exact `g` over the samples.
    fn worst(lo: f32, hi: f32, f: impl Fn(f32) -> f32, g: impl Fn(f64) -> f64) -> f64 {
        samples(lo, hi)
            .map(|x| {
                let exact = g(f64::from(x));
                let scale = exact.abs().max(f64::from(f32::MIN_POSITIVE));
                ((f64::from(f(x)) - exact) / scale).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn the_f32_exponential_is_within_two_parts_in_ten_million() {
        let err = worst(-87.3, 88.7, exp_f32, f64::exp);
        assert!(err < 2e-7 && err > 0.0, "{err}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn the_f32_exp_m1_keeps_its_relative_precision_near_zero() {
        assert!(worst(-20.0, 20.0, exp_m1_f32, f64::exp_m1) < 4e-7);
        assert_eq!(exp_m1_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(exp_m1_f32(-200.0), -1.0);
        assert!(exp_m1_f32(f32::NAN).is_nan());
    }

    #[test]
    fn the_f32_logarithms_are_within_three_parts_in_ten_million() {
        assert!(worst(1.0, 1e9, ln_f32, f64::ln) < 3e-7);
        assert!(worst(1e-30, 1e9, ln_1p_f32, f64::ln_1p) < 3e-7);
        assert_eq!(ln_1p_f32(0.0), 0.0);
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
    }

    #[test]
    fn the_f32_erfc_keeps_its_relative_precision_in_the_tail() {
        let err = worst(-6.0, 9.0, erfc_f32, libm::erfc);
        assert!(err < 5e-7, "{err}");
        assert_eq!(erfc_f32(-1e30), 2.0);
        assert_eq!(erfc_f32(1e30), 0.0);
        assert_eq!(erfc_f32(f32::INFINITY), 0.0);
    }
}
