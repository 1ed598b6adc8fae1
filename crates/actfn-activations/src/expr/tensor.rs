//! An [`Expr`] as candle tensor operations, node by node, on any device. The operations a
//! built-in activation also has are the built-in's tensor forms, finite for every finite input.

use candle_core::Tensor;

use super::{Binary, Expr, Node, Unary};
use crate::kernels::{Kernel, ParameterValue, Relu, Sigmoid, Softplus, Tanh};

/// A node's value: a constant stays a number until an operation needs it as a tensor.
enum Value {
    Number(f64),
    Tensor(Tensor),
}

impl Value {
    /// The value as a tensor shaped like `x`.
    fn tensor(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Value::Number(v) => x.ones_like()? * *v,
            Value::Tensor(t) => Ok(t.clone()),
        }
    }
}

/// `op(a)`.
fn unary(op: Unary, a: &Tensor) -> candle_core::Result<Tensor> {
    let none = ParameterValue::Fixed(0.0);
    match op {
        Unary::Neg => a.neg(),
        Unary::Exp => a.exp(),
        Unary::Expm1 => a.exp()? - 1.0,
        Unary::Log => a.log(),
        Unary::Log1p => (a + 1.0)?.log(),
        Unary::Sqrt => a.sqrt(),
        Unary::Abs => a.abs(),
        Unary::Sin => a.sin(),
        Unary::Cos => a.cos(),
        Unary::Tanh => Tanh::tensor(a, none),
        Unary::Sigmoid => Sigmoid::tensor(a, none),
        Unary::Softplus => Softplus::tensor(a, none),
        Unary::Relu => Relu::tensor(a, none),
        Unary::Erf => a.erf(),
        Unary::Step => a.gt(0.0)?.to_dtype(a.dtype()),
        Unary::Sign => a.gt(0.0)?.to_dtype(a.dtype())? - a.lt(0.0)?.to_dtype(a.dtype())?,
    }
}

/// `op(a, b)`, with a number on either side where the operation allows it.
fn binary(op: Binary, a: &Value, b: &Value, x: &Tensor) -> candle_core::Result<Tensor> {
    match (op, a, b) {
        (Binary::Add, Value::Tensor(t), Value::Number(v))
        | (Binary::Add, Value::Number(v), Value::Tensor(t)) => t + *v,
        (Binary::Mul, Value::Tensor(t), Value::Number(v))
        | (Binary::Mul, Value::Number(v), Value::Tensor(t)) => t * *v,
        (Binary::Sub, Value::Tensor(t), Value::Number(v)) => t - *v,
        (Binary::Sub, Value::Number(v), Value::Tensor(t)) => t.affine(-1.0, *v),
        (Binary::Div, Value::Tensor(t), Value::Number(v)) => t / *v,
        _ => {
            let (a, b) = (a.tensor(x)?, b.tensor(x)?);
            match op {
                Binary::Add => a + b,
                Binary::Sub => a - b,
                Binary::Mul => a * b,
                Binary::Div => a / b,
                Binary::Max => a.maximum(&b),
                Binary::Min => a.minimum(&b),
            }
        }
    }
}

/// `a^p`: the kernel's special cases, integer exponents by repeated squaring (candle's `powf`
/// is `exp(p ln a)`, NaN for a negative `a`), `powf` for the others.
fn pow(a: &Tensor, p: f64) -> candle_core::Result<Tensor> {
    if p == 0.5 {
        return a.sqrt();
    }
    if p == -0.5 {
        return a.sqrt()?.recip();
    }
    if p.fract() != 0.0 || p.abs() > f64::from(u16::MAX) {
        return a.powf(p);
    }
    // |p| fits in u16: checked just above.
    let mut n = p.abs() as u32;
    let mut result: Option<Tensor> = None;
    let mut square = a.clone();
    while n > 0 {
        if n & 1 == 1 {
            result = Some(match result {
                Some(r) => (r * &square)?,
                None => square.clone(),
            });
        }
        n >>= 1;
        if n > 0 {
            square = square.sqr()?;
        }
    }
    let power = match result {
        Some(r) => r,
        None => a.ones_like()?,
    };
    if p < 0.0 { power.recip() } else { Ok(power) }
}

impl Expr {
    /// The formula applied to `x`, element-wise, as tensor operations (which autograd
    /// differentiates).
    pub(crate) fn tensor(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut values: Vec<Value> = Vec::with_capacity(self.nodes.len());
        for &node in &self.nodes {
            let tensor = |id: usize| values[id].tensor(x);
            let value = match node {
                Node::Const(v) => Value::Number(v.0),
                Node::X => Value::Tensor(x.clone()),
                Node::Unary(op, a) => Value::Tensor(unary(op, &tensor(a)?)?),
                Node::Binary(op, a, b) => Value::Tensor(binary(op, &values[a], &values[b], x)?),
                Node::Pow(a, p) => Value::Tensor(pow(&tensor(a)?, p.0)?),
                Node::WherePos(c, a, b) => {
                    Value::Tensor(tensor(c)?.gt(0.0)?.where_cond(&tensor(a)?, &tensor(b)?)?)
                }
            };
            values.push(value);
        }
        values[self.root()].tensor(x)
    }
}

/// PyTorch's name of a function of one argument, applied to `a`.
fn torch_unary(op: Unary, a: &str) -> String {
    match op {
        Unary::Neg => format!("(-{a})"),
        Unary::Softplus => format!("F.softplus({a})"),
        Unary::Step => format!("({a} > 0).to({a}.dtype)"),
        _ => format!("torch.{}({a})", op.name()),
    }
}

impl Expr {
    /// The formula as a Python expression of the tensor `x`, with `torch` and
    /// `torch.nn.functional as F` in scope, computing what PyTorch computes for it (and whose
    /// autograd gives PyTorch's derivative): `torch.maximum` for `max`, `torch.where` for
    /// `where_pos`, `F.softplus` (threshold 20), `**` for powers. Fully parenthesized.
    pub fn to_torch(&self) -> String {
        // Each node's text from its children's; children come first.
        let mut texts: Vec<String> = Vec::with_capacity(self.nodes.len());
        for &node in &self.nodes {
            // Constants inside torch.maximum, torch.minimum and torch.where must be tensors.
            let tensor = |id: usize| match self.nodes[id] {
                Node::Const(v) => format!("torch.full_like(x, {:?})", v.0),
                _ => texts[id].clone(),
            };
            let text = match node {
                Node::Const(v) => format!("({:?})", v.0),
                Node::X => "x".to_string(),
                Node::Unary(op, a) => torch_unary(op, &texts[a]),
                Node::Binary(Binary::Max, a, b) => {
                    format!("torch.maximum({}, {})", tensor(a), tensor(b))
                }
                Node::Binary(Binary::Min, a, b) => {
                    format!("torch.minimum({}, {})", tensor(a), tensor(b))
                }
                Node::Binary(op, a, b) => {
                    let symbol = match op {
                        Binary::Add => "+",
                        Binary::Sub => "-",
                        Binary::Mul => "*",
                        _ => "/",
                    };
                    format!("({} {symbol} {})", texts[a], texts[b])
                }
                Node::Pow(a, p) => format!("({} ** {:?})", texts[a], p.0),
                Node::WherePos(c, a, b) => format!(
                    "torch.where({} > 0, {}, {})",
                    texts[c],
                    tensor(a),
                    tensor(b)
                ),
            };
            texts.push(text);
        }
        texts.pop().unwrap_or_default()
    }
}
