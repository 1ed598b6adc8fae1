//! A search space: core units built from unary and binary operations, and formulas as given.

use serde::{Deserialize, Serialize};

/// The candidate formulas of a search: every binary operation applied to every ordered pair of
/// unary operations, the core unit `b(u1(x), u2(x))` of Ramachandran, Zoph and Le (2017,
/// "Searching for activation functions", whose search found Swish), and formulas taken as they
/// are. `Default` is their lists written in the formula language, without the operations it
/// lacks (`sinh`, `atan`, `sinc`) and with `log` and division kept finite (`log(|x| + 0.001)`,
/// `U / (1 + |V|)`), plus the constant 1, so that every unary operation is also a candidate on
/// its own (`U * 1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Space {
    /// Unary operations: formulas of `x`, such as `tanh(x)` or `x^2`.
    pub unary: Vec<String>,
    /// Binary operations: formulas of `U` and `V`, the two unary operations' results, such as
    /// `U * V` or `max(U, V)`.
    pub binary: Vec<String>,
    /// Formulas of `x` taken as candidates as they are.
    pub formulas: Vec<String>,
}

impl Default for Space {
    fn default() -> Self {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Space {
            unary: strings(&[
                "x",
                "-x",
                "abs(x)",
                "x^2",
                "x^3",
                "sqrt(abs(x))",
                "exp(x)",
                "log(abs(x) + 0.001)",
                "sin(x)",
                "cos(x)",
                "tanh(x)",
                "relu(x)",
                "min(x, 0)",
                "sigmoid(x)",
                "softplus(x)",
                "exp(-x^2)",
                "erf(x)",
                "1",
            ]),
            binary: strings(&[
                "U + V",
                "U - V",
                "U * V",
                "max(U, V)",
                "min(U, V)",
                "sigmoid(U) * V",
                "U / (1 + abs(V))",
            ]),
            formulas: Vec::new(),
        }
    }
}

impl Space {
    /// Every candidate formula: the core units (binary operation outermost, then the first
    /// unary operation, then the second), then the formulas as given. Each unary operation is
    /// put in parentheses where `U` or `V` stands.
    pub fn formulas(&self) -> Vec<String> {
        let mut formulas = Vec::new();
        for binary in &self.binary {
            for first in &self.unary {
                for second in &self.unary {
                    let unit: String = binary
                        .chars()
                        .map(|c| match c {
                            'U' => format!("({first})"),
                            'V' => format!("({second})"),
                            c => c.to_string(),
                        })
                        .collect();
                    formulas.push(unit);
                }
            }
        }
        formulas.extend(self.formulas.iter().cloned());
        formulas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_units_cross_every_binary_with_every_pair_of_unaries() {
        let space = Space {
            unary: vec!["x".into(), "tanh(x)".into()],
            binary: vec!["U * V".into(), "max(U, V)".into()],
            formulas: vec!["x * sigmoid(1.702 * x)".into()],
        };
        assert_eq!(
            space.formulas(),
            [
                "(x) * (x)",
                "(x) * (tanh(x))",
                "(tanh(x)) * (x)",
                "(tanh(x)) * (tanh(x))",
                "max((x), (x))",
                "max((x), (tanh(x)))",
                "max((tanh(x)), (x))",
                "max((tanh(x)), (tanh(x)))",
                "x * sigmoid(1.702 * x)",
            ]
        );
        let default = Space::default();
        assert_eq!(
            default.formulas().len(),
            default.binary.len() * default.unary.len().pow(2)
        );
    }
}
