//! Evaluation of an [`Expr`], node by node, in `f32` or `f64`, at one point or over slices.
//!
//! Over slices the points go in chunks, and each node's values for a chunk are one loop of one
//! operation (the operation chosen outside the loop, so that the loop vectorizes). The
//! operations that a built-in activation also has are the built-in's own kernels (`sigmoid`,
//! `tanh`, `softplus`, `relu`, `exp`, `expm1`), so that `x * sigmoid(x)` computes Swish's
//! kernel's bits and a formula of built-ins trains as the built-ins do. A point is a chunk of
//! one, so the safety check and the constant folding see the values training sees.

use super::{Binary, Expr, Node, NodeId, Unary};
use crate::Real;
use crate::kernels::{Kernel, Relu, Sigmoid, Softplus, Tanh};
use crate::simd::{detected, versions};

/// Points per chunk: every node's values for one chunk stay in the L1 cache.
const CHUNK: usize = 256;

/// The functions a formula uses beyond the kernels' [`Real`] ones, for any input (the
/// kernels' `f32` logarithm serves only the positive normal numbers they give it).
pub(crate) trait Float: Real {
    /// `ln x`.
    fn log(self) -> Self;
    /// `ln(1 + x)`, with full relative precision near 0.
    fn log1p(self) -> Self;
    /// `sqrt x`.
    fn sqrt(self) -> Self;
    /// `sin x`.
    fn sin(self) -> Self;
    /// `cos x`.
    fn cos(self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// `x^p`.
    fn powf(self, p: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

macro_rules! float {
    ($t:ty, $erf:path) => {
        impl Float for $t {
            #[inline(always)]
            fn log(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn log1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn powf(self, p: Self) -> Self {
                <$t>::powf(self, p)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

float!(f32, libm::erff);
float!(f64, libm::erf);

/// `positive` where `c > 0`, NaN where `c` is NaN (NaN must reach the result, so that the
/// safety check sees it), else `otherwise`.
#[inline(always)]
fn pick<T: Real>(c: T, positive: T, otherwise: T) -> T {
    T::select(c > T::ZERO, positive, T::select(c.is_nan(), c, otherwise))
}

/// `op(a)`.
#[inline(always)]
pub(super) fn unary<T: Float>(op: Unary, a: T) -> T {
    match op {
        Unary::Neg => -a,
        Unary::Exp => a.exp(),
        Unary::Expm1 => a.exp_m1(),
        Unary::Log => a.log(),
        Unary::Log1p => a.log1p(),
        Unary::Sqrt => a.sqrt(),
        Unary::Abs => a.abs(),
        Unary::Sin => a.sin(),
        Unary::Cos => a.cos(),
        Unary::Tanh => Tanh::value(a, T::ZERO),
        Unary::Sigmoid => Sigmoid::value(a, T::ZERO),
        Unary::Softplus => Softplus::value(a, T::ZERO),
        Unary::Relu => Relu::value(a, T::ZERO),
        Unary::Erf => a.erf(),
        Unary::Step => pick(a, T::ONE, T::ZERO),
        Unary::Sign => T::select(a < T::ZERO, -T::ONE, pick(a, T::ONE, T::ZERO)),
    }
}

/// `op(a, b)`; `max` and `min` return NaN if either side is.
#[inline(always)]
pub(super) fn binary<T: Float>(op: Binary, a: T, b: T) -> T {
    match op {
        Binary::Add => a + b,
        Binary::Sub => a - b,
        Binary::Mul => a * b,
        Binary::Div => a / b,
        Binary::Max => T::select(a.is_nan() | b.is_nan(), a + b, T::select(a >= b, a, b)),
        Binary::Min => T::select(a.is_nan() | b.is_nan(), a + b, T::select(a <= b, a, b)),
    }
}

/// `a^p`, with PyTorch's special cases of a scalar exponent (`x * x` for 2, `x * x * x` for 3,
/// `sqrt` for 0.5, reciprocals for -1, -2 and -0.5).
#[inline(always)]
pub(super) fn pow<T: Float>(a: T, p: f64) -> T {
    if p == 2.0 {
        a * a
    } else if p == 3.0 {
        a * a * a
    } else if p == 0.5 {
        a.sqrt()
    } else if p == -1.0 {
        T::ONE / a
    } else if p == -2.0 {
        T::ONE / (a * a)
    } else if p == -0.5 {
        T::ONE / a.sqrt()
    } else {
        a.powf(T::from_f64(p))
    }
}

/// `out[i] = op(a[i])`, one loop per operation.
#[inline(always)]
fn unary_over<T: Float>(op: Unary, a: &[T], out: &mut [T]) {
    macro_rules! each {
        ($($op:ident)*) => {
            match op {
                $(Unary::$op => {
                    for (o, &a) in out.iter_mut().zip(a) {
                        *o = unary(Unary::$op, a);
                    }
                })*
            }
        };
    }
    each!(Neg Exp Expm1 Log Log1p Sqrt Abs Sin Cos Tanh Sigmoid Softplus Relu Erf Step Sign);
}

/// `out[i] = op(a[i], b[i])`, one loop per operation.
#[inline(always)]
fn binary_over<T: Float>(op: Binary, a: &[T], b: &[T], out: &mut [T]) {
    macro_rules! each {
        ($($op:ident)*) => {
            match op {
                $(Binary::$op => {
                    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                        *o = binary(Binary::$op, a, b);
                    }
                })*
            }
        };
    }
    each!(Add Sub Mul Div Max Min);
}

/// Every node's values at the points `x`, node after node in the arena's order (the root's
/// last): node `id`'s values are `values[id * x.len()..(id + 1) * x.len()]`. Each row is written
/// whole, so `values` may hold anything before.
#[inline(always)]
fn eval_rows<T: Float>(nodes: &[Node], x: &[T], values: &mut [T]) {
    let n = x.len();
    for (id, &node) in nodes.iter().enumerate() {
        // Children sit at smaller indices, in `done`.
        let (done, rest) = values.split_at_mut(id * n);
        let out = &mut rest[..n];
        let row = |child: NodeId| &done[child * n..(child + 1) * n];
        match node {
            Node::Const(v) => out.fill(T::from_f64(v.0)),
            Node::X => out.copy_from_slice(x),
            Node::Unary(op, a) => unary_over(op, row(a), out),
            Node::Binary(op, a, b) => binary_over(op, row(a), row(b), out),
            Node::Pow(a, p) => {
                for (o, &a) in out.iter_mut().zip(row(a)) {
                    *o = pow(a, p.0);
                }
            }
            Node::WherePos(c, a, b) => {
                for (((o, &c), &a), &b) in out.iter_mut().zip(row(c)).zip(row(a)).zip(row(b)) {
                    *o = pick(c, a, b);
                }
            }
        }
    }
}

/// `y[i] = f(x[i])` for the formula whose arena is `nodes`, chunk by chunk.
#[inline(always)]
fn eval_slice_loop<T: Float>(nodes: &[Node], x: &[T], y: &mut [T]) {
    let mut values = vec![T::ZERO; nodes.len() * CHUNK.min(x.len())];
    for (x, y) in x.chunks(CHUNK).zip(y.chunks_mut(CHUNK)) {
        let n = x.len();
        eval_rows(nodes, x, &mut values);
        y.copy_from_slice(&values[(nodes.len() - 1) * n..nodes.len() * n]);
    }
}

/// `grad[i] *= f(x[i])` for the formula whose arena is `nodes`, chunk by chunk.
#[inline(always)]
fn scale_slice_loop<T: Float>(nodes: &[Node], x: &[T], grad: &mut [T]) {
    let mut values = vec![T::ZERO; nodes.len() * CHUNK.min(x.len())];
    for (x, grad) in x.chunks(CHUNK).zip(grad.chunks_mut(CHUNK)) {
        let n = x.len();
        eval_rows(nodes, x, &mut values);
        for (g, &f) in grad.iter_mut().zip(&values[(nodes.len() - 1) * n..]) {
            *g *= f;
        }
    }
}

versions! {
    /// `y = f(x)` over slices, in the widest vector instructions the CPU has.
    eval_slice_versions<T: Float> => eval_slice_loop(nodes: &[Node], x: &[T], y: &mut [T]) -> ()
}

versions! {
    /// `grad *= f(x)` over slices, in the widest vector instructions the CPU has.
    scale_slice_versions<T: Float> => scale_slice_loop(nodes: &[Node], x: &[T], grad: &mut [T]) -> ()
}

impl Expr {
    /// Every node's values at the points `x`, node after node in the arena's order (the root's
    /// last): node `id`'s values are `values[id * x.len()..(id + 1) * x.len()]`.
    pub(super) fn eval_nodes<T: Float>(&self, x: &[T], values: &mut Vec<T>) {
        values.clear();
        values.resize(self.nodes.len() * x.len(), T::ZERO);
        eval_rows(&self.nodes, x, values);
    }

    /// `y[i] = f(x[i])`; the slices are equally long.
    pub(crate) fn eval_slice<T: Float>(&self, x: &[T], y: &mut [T]) {
        eval_slice_versions(detected(), &self.nodes, x, y);
    }

    /// `grad[i] *= f(x[i])`; the slices are equally long.
    pub(crate) fn scale_slice<T: Float>(&self, x: &[T], grad: &mut [T]) {
        scale_slice_versions(detected(), &self.nodes, x, grad);
    }

    /// The value at `x`.
    fn eval<T: Float>(&self, x: T) -> T {
        let mut values = Vec::with_capacity(self.nodes.len());
        self.eval_nodes(&[x], &mut values);
        values[self.root()]
    }

    /// The value at `x`, computed in `f64`.
    pub fn eval_f64(&self, x: f64) -> f64 {
        self.eval(x)
    }

    /// The value at `x`, computed in `f32` throughout (constants rounded to `f32`), as the CPU
    /// kernel computes it.
    pub fn eval_f32(&self, x: f32) -> f32 {
        self.eval(x)
    }
}
