//! Symbolic differentiation with respect to `x`.
//!
//! At the kinks the derivative is PyTorch autograd's, so that a formula trains as the same
//! formula would in PyTorch:
//!
//! - `relu'(0) = 0` (`threshold_backward` passes the gradient where `x > 0` only);
//! - `abs'(0) = 0` (`abs` backward is `grad * sgn(x)`, and `sgn(0) = 0`);
//! - `max(a, b)` and `min(a, b)` take `a`'s derivative where `a` wins, `b`'s where `b` wins,
//!   and at a tie half of each (`torch.maximum`/`torch.minimum` backward in
//!   `tools/autograd/derivatives.yaml`: `at::where(self == other, grad / 2, grad)`, masked
//!   where the other side wins);
//! - `step` and `sign` are flat: derivative 0 everywhere, as for PyTorch's `heaviside` and
//!   `sign` (whose backward is zeros);
//! - `where_pos(c, a, b)` differentiates branch by branch: `where_pos(c, a', b')`. The built-in
//!   activations are written with it so that `leakyrelu'(0) = 0.1`, `elu'(0) = 1`,
//!   `selu'(0) = scale alpha`, and `hardswish'` is 0 at -3 and 1 at 3, PyTorch's values.

use std::f64::consts::FRAC_2_SQRT_PI;

use super::build::Builder;
use super::{Binary, Expr, Node, NodeId, Unary};
use crate::kernels::SOFTPLUS_THRESHOLD;

/// The derivative of `expr` with respect to `x`, simplified (constants folded, `1 * a`,
/// `0 * a`, `a + 0`, `0 - a`, `--a` and the like removed).
///
/// Where `expr` is not differentiable it follows PyTorch's autograd: `relu'(0) = 0`,
/// `abs'(0) = 0`, and `max` and `min` split the derivative evenly at a tie.
pub fn derivative(expr: &Expr) -> Expr {
    let mut b = Builder::from_expr(expr);
    // d[i] is the derivative of node i; children come first, so one pass does it all.
    let mut d: Vec<NodeId> = Vec::with_capacity(expr.nodes.len());
    for (id, &node) in expr.nodes.iter().enumerate() {
        let derivative = match node {
            Node::Const(_) => b.constant(0.0),
            Node::X => b.constant(1.0),
            Node::Unary(op, a) => unary(&mut b, op, id, a, d[a]),
            Node::Binary(op, a, c) => binary(&mut b, op, a, c, d[a], d[c]),
            Node::Pow(a, p) => {
                // p a^(p - 1) a'
                let factor = b.constant(p.0);
                let power = b.pow(a, p.0 - 1.0);
                let slope = b.mul(factor, power);
                b.mul(d[a], slope)
            }
            Node::WherePos(c, a, e) => b.where_pos(c, d[a], d[e]),
        };
        d.push(derivative);
    }
    b.finish(d[expr.root()])
}

/// The derivative of `op(a)`, the node `this`, whose argument has derivative `da`.
fn unary(b: &mut Builder, op: Unary, this: NodeId, a: NodeId, da: NodeId) -> NodeId {
    let slope = match op {
        Unary::Neg => return b.neg(da),
        // Flat wherever they are differentiable, and 0 at the jump as in PyTorch.
        Unary::Step | Unary::Sign => return b.constant(0.0),
        // A branch rather than a product with step(a): where a <= 0 the result is 0 even if
        // da is infinite there.
        Unary::Relu => {
            let zero = b.constant(0.0);
            return b.where_pos(a, da, zero);
        }
        Unary::Log => return b.div(da, a),
        Unary::Log1p => {
            let one = b.constant(1.0);
            let shifted = b.add(one, a);
            return b.div(da, shifted);
        }
        Unary::Sqrt => {
            let two = b.constant(2.0);
            let twice = b.mul(two, this);
            return b.div(da, twice);
        }
        Unary::Exp => this,
        Unary::Expm1 => b.unary(Unary::Exp, a),
        Unary::Abs => b.unary(Unary::Sign, a),
        Unary::Sin => b.unary(Unary::Cos, a),
        Unary::Cos => {
            let sin = b.unary(Unary::Sin, a);
            b.neg(sin)
        }
        Unary::Tanh => {
            let one = b.constant(1.0);
            let square = b.pow(this, 2.0);
            b.sub(one, square)
        }
        // sigmoid(a) sigmoid(-a): 1 - sigmoid(a) would lose its precision where a is large.
        Unary::Sigmoid => {
            let minus_a = b.neg(a);
            let other = b.unary(Unary::Sigmoid, minus_a);
            b.mul(this, other)
        }
        // sigmoid(a), and 1 beyond PyTorch's threshold, where softplus is the identity.
        Unary::Softplus => {
            let threshold = b.constant(SOFTPLUS_THRESHOLD);
            let beyond = b.sub(a, threshold);
            let one = b.constant(1.0);
            let sigmoid = b.unary(Unary::Sigmoid, a);
            b.where_pos(beyond, one, sigmoid)
        }
        // 2 / sqrt(pi) exp(-a^2)
        Unary::Erf => {
            let square = b.pow(a, 2.0);
            let minus_square = b.neg(square);
            let gaussian = b.unary(Unary::Exp, minus_square);
            let factor = b.constant(FRAC_2_SQRT_PI);
            b.mul(factor, gaussian)
        }
    };
    b.mul(da, slope)
}

/// The derivative of `op(a, c)`, whose arguments have derivatives `da` and `dc`.
fn binary(b: &mut Builder, op: Binary, a: NodeId, c: NodeId, da: NodeId, dc: NodeId) -> NodeId {
    match op {
        Binary::Add => b.add(da, dc),
        Binary::Sub => b.sub(da, dc),
        Binary::Mul => {
            let left = b.mul(da, c);
            let right = b.mul(a, dc);
            b.add(left, right)
        }
        Binary::Div => {
            // a' / c - a c' / c^2; the second term vanishes for a constant divisor.
            let first = b.div(da, c);
            let numerator = b.mul(a, dc);
            let square = b.pow(c, 2.0);
            let second = b.div(numerator, square);
            b.sub(first, second)
        }
        Binary::Max | Binary::Min => {
            // where_pos(a wins, a', where_pos(c wins, c', (a' + c') / 2)); `a` wins where
            // a - c > 0 for max, c - a > 0 for min.
            let a_minus_c = b.sub(a, c);
            let c_minus_a = b.sub(c, a);
            let (a_wins, c_wins) = if op == Binary::Max {
                (a_minus_c, c_minus_a)
            } else {
                (c_minus_a, a_minus_c)
            };
            let half = b.constant(0.5);
            let both = b.add(da, dc);
            let tie = b.mul(half, both);
            let otherwise = b.where_pos(c_wins, dc, tie);
            b.where_pos(a_wins, da, otherwise)
        }
    }
}
