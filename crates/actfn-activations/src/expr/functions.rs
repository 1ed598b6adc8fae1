//! The functions a formula may call: the primitives, `max`, `min`, `where_pos`, and the
//! built-in activations, which are expanded into primitives when parsed.

use std::f64::consts::FRAC_1_SQRT_2;

use super::build::Builder;
use super::{Binary, NodeId, Unary};
use crate::kernels::{SELU_ALPHA, SELU_SCALE};

/// `sqrt(2 / pi)`, in the tanh approximation of GELU.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// LeakyReLU's slope for negative inputs, the study's.
const LEAKY_SLOPE: f64 = 0.1;

/// A function a formula can call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Function {
    Unary(Unary),
    Max,
    Min,
    WherePos,
    LeakyRelu,
    Elu,
    Swish,
    Gelu,
    GeluTanh,
    Mish,
    Selu,
    Hardswish,
}

/// Every function by name. `step`, `sign`, `expm1` and `where_pos` are here because
/// derivatives and expansions print them, and what prints must parse.
pub(super) const FUNCTIONS: &[(&str, Function)] = &[
    ("exp", Function::Unary(Unary::Exp)),
    ("expm1", Function::Unary(Unary::Expm1)),
    ("log", Function::Unary(Unary::Log)),
    ("log1p", Function::Unary(Unary::Log1p)),
    ("sqrt", Function::Unary(Unary::Sqrt)),
    ("abs", Function::Unary(Unary::Abs)),
    ("neg", Function::Unary(Unary::Neg)),
    ("sin", Function::Unary(Unary::Sin)),
    ("cos", Function::Unary(Unary::Cos)),
    ("tanh", Function::Unary(Unary::Tanh)),
    ("sigmoid", Function::Unary(Unary::Sigmoid)),
    ("softplus", Function::Unary(Unary::Softplus)),
    ("relu", Function::Unary(Unary::Relu)),
    ("erf", Function::Unary(Unary::Erf)),
    ("step", Function::Unary(Unary::Step)),
    ("sign", Function::Unary(Unary::Sign)),
    ("max", Function::Max),
    ("min", Function::Min),
    ("where_pos", Function::WherePos),
    ("leakyrelu", Function::LeakyRelu),
    ("elu", Function::Elu),
    ("swish", Function::Swish),
    ("gelu", Function::Gelu),
    ("gelu_tanh", Function::GeluTanh),
    ("mish", Function::Mish),
    ("selu", Function::Selu),
    ("hardswish", Function::Hardswish),
];

impl Function {
    /// The function called `name`, if any.
    pub(super) fn named(name: &str) -> Option<Function> {
        FUNCTIONS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    /// How many arguments it takes.
    pub(super) fn arity(self) -> usize {
        match self {
            Function::Max | Function::Min => 2,
            Function::WherePos => 3,
            _ => 1,
        }
    }

    /// The function applied to `args` (exactly [`Function::arity`] of them). The built-in
    /// activations become primitives; their branches are `where_pos`, whose derivative takes
    /// the side PyTorch's backward takes at the kink.
    pub(super) fn apply(self, b: &mut Builder, args: &[NodeId]) -> NodeId {
        let a = args[0];
        match self {
            Function::Unary(op) => b.unary(op, a),
            Function::Max => b.binary(Binary::Max, a, args[1]),
            Function::Min => b.binary(Binary::Min, a, args[1]),
            Function::WherePos => b.where_pos(a, args[1], args[2]),
            // where_pos(a, a, 0.1 a): leakyrelu'(0) = 0.1.
            Function::LeakyRelu => {
                let slope = b.constant(LEAKY_SLOPE);
                let negative = b.mul(slope, a);
                b.where_pos(a, a, negative)
            }
            // where_pos(a, a, expm1(a)): elu'(0) = 1.
            Function::Elu => {
                let negative = b.unary(Unary::Expm1, a);
                b.where_pos(a, a, negative)
            }
            Function::Swish => {
                let gate = b.unary(Unary::Sigmoid, a);
                b.mul(a, gate)
            }
            // 0.5 a (1 + erf(a / sqrt 2)).
            Function::Gelu => {
                let half = b.constant(0.5);
                let half_a = b.mul(half, a);
                let scale = b.constant(FRAC_1_SQRT_2);
                let scaled = b.mul(scale, a);
                let erf = b.unary(Unary::Erf, scaled);
                let one = b.constant(1.0);
                let gate = b.add(one, erf);
                b.mul(half_a, gate)
            }
            // 0.5 a (1 + tanh(sqrt(2 / pi) (a + 0.044715 a^3))).
            Function::GeluTanh => {
                let half = b.constant(0.5);
                let half_a = b.mul(half, a);
                let cube = b.pow(a, 3.0);
                let k = b.constant(0.044_715);
                let cubic = b.mul(k, cube);
                let inner = b.add(a, cubic);
                let scale = b.constant(SQRT_2_OVER_PI);
                let scaled = b.mul(scale, inner);
                let tanh = b.unary(Unary::Tanh, scaled);
                let one = b.constant(1.0);
                let gate = b.add(one, tanh);
                b.mul(half_a, gate)
            }
            Function::Mish => {
                let softplus = b.unary(Unary::Softplus, a);
                let gate = b.unary(Unary::Tanh, softplus);
                b.mul(a, gate)
            }
            // scale where_pos(a, a, alpha expm1(a)): selu'(0) = scale alpha.
            Function::Selu => {
                let alpha = b.constant(SELU_ALPHA);
                let expm1 = b.unary(Unary::Expm1, a);
                let negative = b.mul(alpha, expm1);
                let branches = b.where_pos(a, a, negative);
                let scale = b.constant(SELU_SCALE);
                b.mul(scale, branches)
            }
            // where_pos(a + 3, where_pos(3 - a, a (a + 3) / 6, a), 0): 0 up to -3 included, a
            // from 3 included, as PyTorch's backward (and this crate's Hardswish kernel).
            Function::Hardswish => {
                let three = b.constant(3.0);
                let six = b.constant(6.0);
                let shifted = b.add(a, three);
                let gate = b.div(shifted, six);
                let middle = b.mul(a, gate);
                let below_three = b.sub(three, a);
                let upper = b.where_pos(below_three, middle, a);
                let zero = b.constant(0.0);
                b.where_pos(shifted, upper, zero)
            }
        }
    }
}
