//! The arena builder: hash-consing, local simplification as each node is made, and the
//! canonical compaction that turns the arena into an [`Expr`].

use std::collections::HashMap;

use super::eval;
use super::{Binary, Expr, Node, NodeId, Num, Unary};

/// An arena under construction. Every node goes through [`Builder::push`], which returns the
/// index of an equal node if there is one, so equal subtrees share one index.
#[derive(Default)]
pub(super) struct Builder {
    nodes: Vec<Node>,
    index: HashMap<Node, NodeId>,
}

impl Builder {
    /// An empty arena.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// An arena that starts with `expr`'s nodes, at the same indices.
    pub(super) fn from_expr(expr: &Expr) -> Self {
        let mut builder = Self::new();
        for &node in &expr.nodes {
            builder.push(node);
        }
        builder
    }

    /// The value of `id` if it is a constant.
    pub(super) fn as_const(&self, id: NodeId) -> Option<f64> {
        match self.nodes[id] {
            Node::Const(Num(v)) => Some(v),
            _ => None,
        }
    }

    fn is_const(&self, id: NodeId, value: f64) -> bool {
        self.as_const(id) == Some(value)
    }

    fn push(&mut self, node: Node) -> NodeId {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(node);
        self.index.insert(node, id);
        id
    }

    /// A constant; `-0` becomes `0`, which prints and parses back the same.
    pub(super) fn constant(&mut self, value: f64) -> NodeId {
        let value = if value == 0.0 { 0.0 } else { value };
        self.push(Node::Const(Num(value)))
    }

    /// The variable.
    pub(super) fn x(&mut self) -> NodeId {
        self.push(Node::X)
    }

    /// The folded constant if `value` is finite, else `node` unfolded: an overflowing
    /// constant such as `exp(1000)` stays a formula, which the safety check names.
    fn fold(&mut self, value: f64, node: Node) -> NodeId {
        if value.is_finite() {
            self.constant(value)
        } else {
            self.push(node)
        }
    }

    /// `-a`.
    pub(super) fn neg(&mut self, a: NodeId) -> NodeId {
        self.unary(Unary::Neg, a)
    }

    /// `op(a)`, simplified.
    pub(super) fn unary(&mut self, op: Unary, a: NodeId) -> NodeId {
        let node = Node::Unary(op, a);
        if let Some(v) = self.as_const(a) {
            return self.fold(eval::unary(op, v), node);
        }
        match (op, self.nodes[a]) {
            (Unary::Neg, Node::Unary(Unary::Neg, b)) => b,
            (Unary::Neg, Node::Binary(Binary::Sub, p, q)) => self.sub(q, p),
            (Unary::Neg, Node::Binary(op @ (Binary::Mul | Binary::Div), p, q)) => {
                match self.as_const(p) {
                    Some(c) => {
                        let minus_c = self.constant(-c);
                        self.binary(op, minus_c, q)
                    }
                    None => self.push(node),
                }
            }
            (Unary::Abs, Node::Unary(Unary::Neg | Unary::Abs, b)) => self.unary(Unary::Abs, b),
            _ => self.push(node),
        }
    }

    /// `a + b`.
    pub(super) fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Add, a, b)
    }

    /// `a - b`.
    pub(super) fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Sub, a, b)
    }

    /// `a * b`.
    pub(super) fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Mul, a, b)
    }

    /// `a / b`. A constant zero `b` is the caller's to refuse: the node is kept as it is.
    pub(super) fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Div, a, b)
    }

    /// A negative constant's or negated product's sign moved into the operator: `a + -2` is
    /// `a - 2`, `a - -3 * b` is `a + 3 * b`. The magnitude if `b` has a sign to move.
    fn without_sign(&mut self, b: NodeId) -> Option<NodeId> {
        match self.nodes[b] {
            Node::Const(Num(c)) if c < 0.0 => Some(self.constant(-c)),
            Node::Unary(Unary::Neg, inner) => Some(inner),
            Node::Binary(Binary::Mul, p, q) => match self.as_const(p) {
                Some(c) if c < 0.0 => {
                    let minus_c = self.constant(-c);
                    Some(self.mul(minus_c, q))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// `op(a, b)`, simplified.
    pub(super) fn binary(&mut self, op: Binary, a: NodeId, b: NodeId) -> NodeId {
        let node = Node::Binary(op, a, b);
        if let (Some(u), Some(v)) = (self.as_const(a), self.as_const(b)) {
            return self.fold(eval::binary(op, u, v), node);
        }
        match op {
            Binary::Add => {
                if self.is_const(a, 0.0) {
                    b
                } else if self.is_const(b, 0.0) {
                    a
                } else if a == b {
                    let two = self.constant(2.0);
                    self.mul(two, a)
                } else if let Some(magnitude) = self.without_sign(b) {
                    self.sub(a, magnitude)
                } else if let Node::Unary(Unary::Neg, p) = self.nodes[a] {
                    self.sub(b, p)
                } else {
                    self.push(node)
                }
            }
            Binary::Sub => {
                if self.is_const(b, 0.0) {
                    a
                } else if self.is_const(a, 0.0) {
                    self.neg(b)
                } else if a == b {
                    self.constant(0.0)
                } else if let Some(magnitude) = self.without_sign(b) {
                    self.add(a, magnitude)
                } else {
                    self.push(node)
                }
            }
            Binary::Mul => self.simplify_mul(a, b),
            Binary::Div => {
                if self.is_const(b, 0.0) {
                    self.push(node)
                } else if self.is_const(a, 0.0) || self.is_const(b, 1.0) {
                    a
                } else if self.is_const(b, -1.0) {
                    self.neg(a)
                } else if a == b {
                    self.constant(1.0)
                } else if let Node::Unary(Unary::Neg, p) = self.nodes[a] {
                    let quotient = self.div(p, b);
                    self.neg(quotient)
                } else if let Node::Unary(Unary::Neg, q) = self.nodes[b] {
                    let quotient = self.div(a, q);
                    self.neg(quotient)
                } else {
                    self.push(node)
                }
            }
            Binary::Max | Binary::Min => {
                if a == b {
                    a
                } else {
                    self.push(node)
                }
            }
        }
    }

    fn simplify_mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        // Constants go to the left, so that `2 * x` and `x * 2` are one node.
        if self.as_const(b).is_some() && self.as_const(a).is_none() {
            return self.mul(b, a);
        }
        if self.is_const(a, 0.0) {
            return a;
        }
        if self.is_const(a, 1.0) {
            return b;
        }
        if self.is_const(a, -1.0) {
            return self.neg(b);
        }
        if a == b {
            return self.pow(a, 2.0);
        }
        match (self.nodes[a], self.nodes[b]) {
            (Node::Const(Num(c)), Node::Binary(Binary::Mul, p, q)) => match self.as_const(p) {
                Some(d) if (c * d).is_finite() => {
                    let product = self.constant(c * d);
                    self.mul(product, q)
                }
                _ => self.push(Node::Binary(Binary::Mul, a, b)),
            },
            (Node::Unary(Unary::Neg, p), Node::Unary(Unary::Neg, q)) => self.mul(p, q),
            (Node::Unary(Unary::Neg, p), _) => {
                let product = self.mul(p, b);
                self.neg(product)
            }
            (_, Node::Unary(Unary::Neg, q)) => {
                let product = self.mul(a, q);
                self.neg(product)
            }
            _ => self.push(Node::Binary(Binary::Mul, a, b)),
        }
    }

    /// `a^p` for a constant `p`.
    pub(super) fn pow(&mut self, a: NodeId, p: f64) -> NodeId {
        let node = Node::Pow(a, Num(p));
        if let Some(v) = self.as_const(a) {
            return self.fold(eval::pow(v, p), node);
        }
        if p == 0.0 {
            self.constant(1.0)
        } else if p == 1.0 {
            a
        } else {
            self.push(node)
        }
    }

    /// `where_pos(c, a, b)`: `a` where `c > 0`, else `b`.
    pub(super) fn where_pos(&mut self, c: NodeId, a: NodeId, b: NodeId) -> NodeId {
        if let Some(v) = self.as_const(c) {
            // A constant condition is never NaN: constants are finite.
            return if v > 0.0 { a } else { b };
        }
        if a == b {
            a
        } else if self.is_const(a, 1.0) && self.is_const(b, 0.0) {
            self.unary(Unary::Step, c)
        } else {
            self.push(Node::WherePos(c, a, b))
        }
    }

    /// The tree at `root` as an [`Expr`]: its reachable nodes only, in post-order (left child
    /// first), which is the same for any two equal trees built with this builder. The walk
    /// uses an explicit stack, so a deep tree cannot overflow the call stack.
    pub(super) fn finish(self, root: NodeId) -> Expr {
        const UNSEEN: NodeId = NodeId::MAX;
        let mut new_id = vec![UNSEEN; self.nodes.len()];
        let mut nodes = Vec::new();
        let mut stack = vec![(root, false)];
        while let Some((id, children_done)) = stack.pop() {
            if new_id[id] != UNSEEN {
                continue;
            }
            let node = self.nodes[id];
            if children_done {
                new_id[id] = nodes.len();
                nodes.push(node.remap(&new_id));
            } else {
                stack.push((id, true));
                stack.extend(
                    node.children()
                        .rev()
                        .filter(|&c| new_id[c] == UNSEEN)
                        .map(|c| (c, false)),
                );
            }
        }
        Expr { nodes }
    }
}
