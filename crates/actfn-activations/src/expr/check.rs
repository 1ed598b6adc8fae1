//! The safety check: a formula and its derivative must be finite at every finite input a
//! network can feed them, in `f32` and in `f64`.

use std::error::Error;
use std::fmt;

use super::eval::Float;
use super::{Binary, Expr, Node, NodeId, Unary, derivative, format_number};
use crate::Real;

/// How a value failed to be finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFinite {
    /// A finite computation grew past the dtype's largest value (`exp(x)` at large `x`).
    Overflow,
    /// An infinity of another origin (`log(0)`, `1 / 0`).
    Infinite,
    /// Not a number (`log(-1)`, `sqrt(-1)`, `inf - inf`).
    NotANumber,
}

/// Why [`check`] refuses a formula: the first probe point, by increasing `|x|`, where the
/// formula or its derivative is not finite, and the smallest subexpression that is.
#[derive(Clone, Debug, PartialEq)]
pub struct SafetyError {
    /// The input, as the dtype holds it.
    pub x: f64,
    /// `"f32"` or `"f64"`.
    pub dtype: &'static str,
    /// Whether it is the derivative that is not finite (the formula is, at `x`).
    pub in_derivative: bool,
    /// The smallest subexpression (of the formula or of its derivative) that is not finite
    /// although its arguments are, in canonical form: the origin of the failure.
    pub subexpression: String,
    /// How it is not finite.
    pub kind: NonFinite,
}

impl fmt::Display for SafetyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.in_derivative {
            f.write_str("in the derivative, ")?;
        }
        let what = match self.kind {
            NonFinite::Overflow => "overflows",
            NonFinite::Infinite => "is infinite",
            NonFinite::NotANumber => "is NaN",
        };
        // x as short as its dtype needs: 88.72284 rather than 88.72283935546875.
        let x = if self.dtype == "f32" {
            format_number(self.x as f32)
        } else {
            format_number(self.x)
        };
        write!(
            f,
            "{} {what} at x = {x} in {}",
            self.subexpression, self.dtype
        )
    }
}

impl Error for SafetyError {}

/// Probe decades: `10^-8` to `10^4`, each sign.
const SMALLEST_EXPONENT: i32 = -8;
const LARGEST_EXPONENT: i32 = 4;
const POINTS_PER_DECADE: i32 = 20;

/// Checks that `expr` and its [`derivative`] are finite, in `f32` and in `f64`, at a grid of
/// probe points: 0, `±1e-30`, 20 log-spaced points per decade from `±1e-8` to `±1e4`, and the
/// points on both sides of each kink (where an argument of `relu`, `abs`, `step`, `sign`,
/// `where_pos`' condition, or the difference of `max`'s or `min`'s arguments, changes sign).
///
/// # Errors
///
/// A [`SafetyError`] for the probe point of smallest `|x|` where a value is not finite, `f32`
/// tried first; between that point and the last passing one of the same sign, the point is
/// narrowed down by bisection, so that `exp(x)` is refused at `x = 88.72284` in `f32`.
pub fn check(expr: &Expr) -> Result<(), SafetyError> {
    let derivative = derivative(expr);
    let mut points = probe_points();
    let mut kink_points = kinks(expr, &points);
    kink_points.extend(kinks(&derivative, &points));
    points.extend(kink_points);
    points.sort_by(|a, b| a.abs().total_cmp(&b.abs()).then(a.total_cmp(b)));
    points.dedup();
    // The last point that passed on the negative and on the positive side (0 is on both).
    let mut passed = [None, None];
    for x in points {
        let side = usize::from(x > 0.0);
        if let Some(error) = failure_at(expr, &derivative, x) {
            let error = match passed[side] {
                Some(good) => narrow(expr, &derivative, good, x, error),
                None => error,
            };
            return Err(error);
        }
        if x == 0.0 {
            passed = [Some(x); 2];
        } else {
            passed[side] = Some(x);
        }
    }
    Ok(())
}

/// 0, `±1e-30`, and the log-spaced grid, in increasing order.
fn probe_points() -> Vec<f64> {
    let magnitudes: Vec<f64> = std::iter::once(1e-30)
        .chain(
            (SMALLEST_EXPONENT * POINTS_PER_DECADE..=LARGEST_EXPONENT * POINTS_PER_DECADE)
                .map(|k| 10f64.powf(f64::from(k) / f64::from(POINTS_PER_DECADE))),
        )
        .collect();
    let mut points: Vec<f64> = magnitudes.iter().rev().map(|m| -m).collect();
    points.push(0.0);
    points.extend(magnitudes);
    points
}

/// The points on both sides of each sign change of a kink's argument between neighbours of
/// the increasing `grid`, found by bisection in `f64`.
fn kinks(expr: &Expr, grid: &[f64]) -> Vec<f64> {
    // Each kink's argument: a node, or the difference of two.
    let arguments: Vec<(NodeId, Option<NodeId>)> = expr
        .nodes
        .iter()
        .filter_map(|&node| match node {
            Node::Unary(Unary::Relu | Unary::Abs | Unary::Step | Unary::Sign, a) => Some((a, None)),
            Node::WherePos(c, ..) => Some((c, None)),
            Node::Binary(Binary::Max | Binary::Min, a, b) => Some((a, Some(b))),
            _ => None,
        })
        .collect();
    let mut values = Vec::new();
    let mut argument = |x: f64, k: usize| {
        expr.eval_nodes(&[x], &mut values);
        let (a, b) = arguments[k];
        values[a] - b.map_or(0.0, |b| values[b])
    };
    let mut found = Vec::new();
    for k in 0..arguments.len() {
        for pair in grid.windows(2) {
            let (mut lo, mut hi) = (pair[0], pair[1]);
            let lo_value = argument(lo, k);
            if lo_value * argument(hi, k) >= 0.0 {
                // The same sign, a zero on the grid already, or NaN.
                continue;
            }
            loop {
                let mid = lo + (hi - lo) / 2.0;
                if mid == lo || mid == hi {
                    break;
                }
                let value = argument(mid, k);
                if value == 0.0 {
                    (lo, hi) = (mid, mid);
                    break;
                }
                if (value > 0.0) == (lo_value > 0.0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.extend([lo, hi]);
        }
    }
    found
}

/// The first failure at `x`: the formula, then its derivative, in `f32`, then in `f64`.
fn failure_at(expr: &Expr, derivative: &Expr, x: f64) -> Option<SafetyError> {
    failure(expr, derivative, x as f32).or_else(|| failure(expr, derivative, x))
}

fn failure<T: Float>(expr: &Expr, derivative: &Expr, x: T) -> Option<SafetyError> {
    let mut values = Vec::new();
    [(expr, false), (derivative, true)]
        .into_iter()
        .find_map(|(e, in_derivative)| {
            e.eval_nodes(&[x], &mut values);
            if values[e.root()].is_finite() {
                return None;
            }
            let id = origin(e, &values);
            Some(SafetyError {
                x: x.to_f64(),
                dtype: T::DTYPE.as_str(),
                in_derivative,
                subexpression: e.subexpression(id),
                kind: kind(e.nodes[id], values[id]),
            })
        })
}

/// The smallest non-finite subexpression on the path the non-finite root's value came by:
/// down through non-finite children (for `where_pos`, the branch taken) until all are finite.
fn origin<T: Float>(expr: &Expr, values: &[T]) -> NodeId {
    let mut id = expr.root();
    loop {
        let next = match expr.nodes[id] {
            Node::WherePos(c, _, _) if values[c].is_nan() => Some(c),
            Node::WherePos(c, a, b) => Some(if values[c] > T::ZERO { a } else { b }),
            node => node.children().find(|&child| !values[child].is_finite()),
        };
        match next {
            Some(child) if !values[child].is_finite() => id = child,
            _ => return id,
        }
    }
}

/// How `node`'s `value` is not finite.
fn kind<T: Real>(node: Node, value: T) -> NonFinite {
    if value.is_nan() {
        return NonFinite::NotANumber;
    }
    match node {
        Node::Const(_)
        | Node::Unary(Unary::Exp | Unary::Expm1, _)
        | Node::Binary(Binary::Add | Binary::Sub | Binary::Mul, ..) => NonFinite::Overflow,
        Node::Pow(_, p) if p.0 > 0.0 => NonFinite::Overflow,
        _ => NonFinite::Infinite,
    }
}

/// Bisects between `good`, where everything is finite, and `bad`, of the same sign, where
/// `error` was found, for the failing point nearest to `good`'s side of the boundary.
fn narrow(expr: &Expr, derivative: &Expr, good: f64, bad: f64, error: SafetyError) -> SafetyError {
    let (mut good, mut bad, mut error) = (good, bad, error);
    loop {
        let mid = good + (bad - good) / 2.0;
        if mid == good || mid == bad {
            return error;
        }
        match failure_at(expr, derivative, mid) {
            Some(found) => (bad, error) = (mid, found),
            None => good = mid,
        }
    }
}
