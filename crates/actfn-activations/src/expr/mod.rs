//! Activation functions written as formulas of `x`: parsed, printed, differentiated
//! symbolically, evaluated in `f32` and `f64` (at a point, or over slices as the CPU kernel),
//! checked for non-finite values, and written as candle tensor operations and as PyTorch.
//! `formula.rs` makes one an `Activation`.
//!
//! An [`Expr`] is an arena: a `Vec` of nodes whose children always sit at smaller indices than
//! their parent, the root last. Evaluation is therefore one loop over the nodes, and dropping,
//! printing, comparing and differentiating never recurse, however deep the tree (a chain of
//! 100,000 additions is as safe as `x`). Only the parser recurses, and it refuses formulas
//! nested more than 256 levels deep.
//!
//! Every arena is built through a hash-consing builder that simplifies as it goes (constant
//! folding, `x * 1`, `x + 0`, double negation, ...), and is stored in a canonical order (the
//! post-order of the tree, left child first), so that two structurally equal formulas have
//! equal arenas and `==` compares structure.

mod build;
mod check;
mod derive;
mod eval;
mod functions;
mod parse;
mod tensor;
#[cfg(test)]
mod tests;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

pub use check::{NonFinite, SafetyError, check};
pub use derive::derivative;
pub(crate) use eval::Float;
pub use parse::{ParseError, parse};

/// The index of a node in an [`Expr`]'s arena.
type NodeId = usize;

/// A finite constant, compared and hashed by its bits so that nodes can be hash-consed.
#[derive(Clone, Copy, Debug)]
struct Num(f64);

impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Num {}

impl Hash for Num {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// The functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Unary {
    Neg,
    Exp,
    Expm1,
    Log,
    Log1p,
    Sqrt,
    Abs,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Softplus,
    Relu,
    Erf,
    /// Heaviside's step with `step(0) = 0`: `relu`'s derivative.
    Step,
    /// -1, 0 or 1, with `sign(0) = 0`: `abs`'s derivative.
    Sign,
}

impl Unary {
    /// The name the formula language calls it by (`neg` prints as a prefix `-`).
    fn name(self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Exp => "exp",
            Unary::Expm1 => "expm1",
            Unary::Log => "log",
            Unary::Log1p => "log1p",
            Unary::Sqrt => "sqrt",
            Unary::Abs => "abs",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Tanh => "tanh",
            Unary::Sigmoid => "sigmoid",
            Unary::Softplus => "softplus",
            Unary::Relu => "relu",
            Unary::Erf => "erf",
            Unary::Step => "step",
            Unary::Sign => "sign",
        }
    }
}

/// The operations of two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

/// One node of an [`Expr`]; children are indices of earlier nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Const(Num),
    X,
    Unary(Unary, NodeId),
    Binary(Binary, NodeId, NodeId),
    /// A power with a constant exponent.
    Pow(NodeId, Num),
    /// `where_pos(c, a, b)`: `a` where `c > 0`, else `b` (NaN where `c` is NaN). The
    /// built-in activations' branches and the derivatives of `max` and `min` are made of it,
    /// so that their values at the kinks follow PyTorch's.
    WherePos(NodeId, NodeId, NodeId),
}

impl Node {
    /// The node's children, in order.
    fn children(self) -> impl DoubleEndedIterator<Item = NodeId> {
        let (ids, count) = match self {
            Node::Const(_) | Node::X => ([0; 3], 0),
            Node::Unary(_, a) | Node::Pow(a, _) => ([a, 0, 0], 1),
            Node::Binary(_, a, b) => ([a, b, 0], 2),
            Node::WherePos(c, a, b) => ([c, a, b], 3),
        };
        ids.into_iter().take(count)
    }

    /// The same node with each child `id` replaced by `map[id]`.
    fn remap(self, map: &[NodeId]) -> Node {
        match self {
            Node::Const(_) | Node::X => self,
            Node::Unary(op, a) => Node::Unary(op, map[a]),
            Node::Pow(a, p) => Node::Pow(map[a], p),
            Node::Binary(op, a, b) => Node::Binary(op, map[a], map[b]),
            Node::WherePos(c, a, b) => Node::WherePos(map[c], map[a], map[b]),
        }
    }
}

/// A formula of `x`, such as `x * sigmoid(1.702 * x)`, made with [`parse`].
///
/// `Display` prints it in a canonical form that [`parse`] reads back to an equal `Expr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    /// Never empty; children before parents, the root last, in the tree's post-order.
    nodes: Vec<Node>,
}

impl Expr {
    /// The root's index.
    fn root(&self) -> NodeId {
        self.nodes.len() - 1
    }

    /// A short, stable identifier made of ASCII letters, digits and `-`, safe as a folder
    /// name: `f-` and the first 48 bits of the 64-bit FNV-1a hash of the canonical formula, in
    /// 12 hex digits.
    pub fn label(&self) -> String {
        const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0100_0000_01b3;
        let hash = self
            .to_string()
            .bytes()
            .fold(OFFSET_BASIS, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
        format!("f-{:012x}", hash >> 16)
    }

    /// The canonical formula of the subexpression rooted at `id`.
    fn subexpression(&self, id: NodeId) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = write_node(&self.nodes, id, &mut text);
        text
    }
}

impl FromStr for Expr {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, ParseError> {
        parse(text)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(&self.nodes, self.root(), f)
    }
}

// Binding strengths for printing: a child binding less tightly than its place requires is
// parenthesized.
const SUM: u8 = 1;
const PRODUCT: u8 = 2;
const PREFIX_MINUS: u8 = 3;
const POWER: u8 = 4;
const ATOM: u8 = 5;

/// How tightly the printed form of `node` binds.
fn precedence(node: Node) -> u8 {
    match node {
        Node::Const(Num(v)) if v < 0.0 => PREFIX_MINUS,
        Node::Unary(Unary::Neg, _) => PREFIX_MINUS,
        Node::Binary(Binary::Add | Binary::Sub, ..) => SUM,
        Node::Binary(Binary::Mul | Binary::Div, ..) => PRODUCT,
        Node::Pow(..) => POWER,
        _ => ATOM,
    }
}

/// The shortest decimal that reads back to `v` in its type (Rust's `Debug` form), without a
/// trailing `.0`: `2`, `0.5`, `1e-7`, `-3`.
fn format_number(v: impl fmt::Debug) -> String {
    let text = format!("{v:?}");
    match text.strip_suffix(".0") {
        Some(integer) => integer.to_owned(),
        None => text,
    }
}

/// Prints the subtree at `root` with an explicit stack, so that deep trees cannot overflow
/// the call stack.
fn write_node(nodes: &[Node], root: NodeId, out: &mut impl fmt::Write) -> fmt::Result {
    /// What is left to print, last first.
    enum Item {
        /// A node that must bind at least as tightly as the given precedence.
        Node(NodeId, u8),
        Text(&'static str),
        /// A power's exponent.
        Number(f64),
    }
    let mut stack = vec![Item::Node(root, 0)];
    while let Some(item) = stack.pop() {
        let (id, min) = match item {
            Item::Text(text) => {
                out.write_str(text)?;
                continue;
            }
            Item::Number(v) => {
                out.write_str(&format_number(v))?;
                continue;
            }
            Item::Node(id, min) => (id, min),
        };
        let node = nodes[id];
        if precedence(node) < min {
            stack.extend([Item::Text(")"), Item::Node(id, 0)]);
            out.write_str("(")?;
            continue;
        }
        match node {
            Node::Const(Num(v)) => out.write_str(&format_number(v))?,
            Node::X => out.write_str("x")?,
            Node::Unary(Unary::Neg, a) => {
                out.write_str("-")?;
                stack.push(Item::Node(a, PREFIX_MINUS));
            }
            Node::Unary(op, a) => {
                out.write_str(op.name())?;
                out.write_str("(")?;
                stack.extend([Item::Text(")"), Item::Node(a, 0)]);
            }
            Node::Binary(op @ (Binary::Max | Binary::Min), a, b) => {
                out.write_str(if op == Binary::Max { "max(" } else { "min(" })?;
                stack.extend([
                    Item::Text(")"),
                    Item::Node(b, 0),
                    Item::Text(", "),
                    Item::Node(a, 0),
                ]);
            }
            Node::Binary(op, a, b) => {
                let (symbol, level) = match op {
                    Binary::Add => (" + ", SUM),
                    Binary::Sub => (" - ", SUM),
                    Binary::Mul => (" * ", PRODUCT),
                    _ => (" / ", PRODUCT),
                };
                // Left-associative: the right operand needs parentheses at the same level, so
                // that `a - (b - c)` and `a + (b + c)` keep their shape.
                stack.extend([
                    Item::Node(b, level + 1),
                    Item::Text(symbol),
                    Item::Node(a, level),
                ]);
            }
            Node::Pow(a, p) => {
                stack.extend([Item::Number(p.0), Item::Text("^"), Item::Node(a, ATOM)]);
            }
            Node::WherePos(c, a, b) => {
                out.write_str("where_pos(")?;
                stack.extend([
                    Item::Text(")"),
                    Item::Node(b, 0),
                    Item::Text(", "),
                    Item::Node(a, 0),
                    Item::Text(", "),
                    Item::Node(c, 0),
                ]);
            }
        }
    }
    Ok(())
}
