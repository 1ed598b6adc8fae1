//! Evaluation of an [`Expr`] at a point, node by node, in `f32` or `f64`: each computes in its
//! own precision, as a tensor of that dtype would.

use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

use super::{Binary, Expr, Node, Unary};

/// `f32` or `f64`, with the elementary functions the formulas use.
pub(super) trait Float:
    Copy
    + PartialOrd
    + fmt::Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The dtype's name, as an error message says it.
    const NAME: &'static str;
    const ZERO: Self;
    const ONE: Self;
    /// The nearest value of this type (a constant's rounding, for `f32`).
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn exp_m1(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tanh(self) -> Self;
    fn erf(self) -> Self;
    fn powf(self, p: Self) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
}

macro_rules! float {
    ($t:ty, $erf:path) => {
        impl Float for $t {
            const NAME: &'static str = stringify!($t);
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn erf(self) -> Self {
                $erf(self)
            }
            fn powf(self, p: Self) -> Self {
                <$t>::powf(self, p)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

float!(f32, libm::erff);
float!(f64, libm::erf);

/// `a > 0`, `a <= 0` and NaN, told apart: comparisons are false for NaN, and NaN must reach
/// the result, so that the safety check sees it.
fn pick<T: Float>(c: T, positive: T, otherwise: T) -> T {
    if c > T::ZERO {
        positive
    } else if c.is_nan() {
        c
    } else {
        otherwise
    }
}

/// `op(a)`.
pub(super) fn unary<T: Float>(op: Unary, a: T) -> T {
    match op {
        Unary::Neg => -a,
        Unary::Exp => a.exp(),
        Unary::Expm1 => a.exp_m1(),
        Unary::Log => a.ln(),
        Unary::Log1p => a.ln_1p(),
        Unary::Sqrt => a.sqrt(),
        Unary::Abs => a.abs(),
        Unary::Sin => a.sin(),
        Unary::Cos => a.cos(),
        Unary::Tanh => a.tanh(),
        // Stable for both signs: `exp` of a non-positive number cannot overflow.
        Unary::Sigmoid => {
            if a >= T::ZERO {
                T::ONE / (T::ONE + (-a).exp())
            } else {
                let e = a.exp();
                e / (T::ONE + e)
            }
        }
        // `max(a, 0) + log1p(exp(-|a|))`: no overflow, and full precision in both tails.
        Unary::Softplus => pick(a, a, T::ZERO) + (-a.abs()).exp().ln_1p(),
        Unary::Relu => pick(a, a, T::ZERO),
        Unary::Erf => a.erf(),
        Unary::Step => pick(a, T::ONE, T::ZERO),
        Unary::Sign => {
            if a < T::ZERO {
                -T::ONE
            } else {
                pick(a, T::ONE, T::ZERO)
            }
        }
    }
}

/// `op(a, b)`; `max` and `min` return NaN if either side is.
pub(super) fn binary<T: Float>(op: Binary, a: T, b: T) -> T {
    match op {
        Binary::Add => a + b,
        Binary::Sub => a - b,
        Binary::Mul => a * b,
        Binary::Div => a / b,
        Binary::Max | Binary::Min if a.is_nan() || b.is_nan() => a + b,
        Binary::Max => {
            if a >= b {
                a
            } else {
                b
            }
        }
        Binary::Min => {
            if a <= b {
                a
            } else {
                b
            }
        }
    }
}

/// `a^p`.
pub(super) fn pow<T: Float>(a: T, p: f64) -> T {
    a.powf(T::from_f64(p))
}

impl Expr {
    /// Every node's value at `x`, in the arena's order (the root's last), into `values`.
    pub(super) fn eval_nodes<T: Float>(&self, x: T, values: &mut Vec<T>) {
        values.clear();
        for &node in &self.nodes {
            let value = match node {
                Node::Const(v) => T::from_f64(v.0),
                Node::X => x,
                Node::Unary(op, a) => unary(op, values[a]),
                Node::Binary(op, a, b) => binary(op, values[a], values[b]),
                Node::Pow(a, p) => pow(values[a], p.0),
                Node::WherePos(c, a, b) => pick(values[c], values[a], values[b]),
            };
            values.push(value);
        }
    }

    fn eval<T: Float>(&self, x: T) -> T {
        let mut values = Vec::with_capacity(self.nodes.len());
        self.eval_nodes(x, &mut values);
        values[self.root()]
    }

    /// The value at `x`, computed in `f64`.
    pub fn eval_f64(&self, x: f64) -> f64 {
        self.eval(x)
    }

    /// The value at `x`, computed in `f32` throughout (constants rounded to `f32`).
    pub fn eval_f32(&self, x: f32) -> f32 {
        self.eval(x)
    }
}
