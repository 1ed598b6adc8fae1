//! Activation functions written as formulas of `x`, such as `x * sigmoid(1.702 * x)`: parsed,
//! differentiated, checked for non-finite values, and registered once, so that a config or a
//! checkpoint names them by their formula as it names a built-in by its name.

use std::sync::Mutex;

use candle_core::Tensor;

use crate::expr::Float;
use crate::{Activation, Error, Expr, SafetyError, check, derivative, parse};

/// What [`Activation::formula`] does with a formula that is not finite somewhere on the safety
/// check's probe grid (see [`check`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonFinitePolicy {
    /// Refuse it, naming the input and the subexpression (the default).
    #[default]
    Refuse,
    /// Accept it: training's guard against non-finite losses still stops a run that meets one.
    Accept,
}

/// A formula as an activation function: the formula, its derivative, and the names it goes by.
/// Made by [`Activation::formula`]; lives as long as the process.
#[derive(Debug)]
pub struct Formula {
    expr: Expr,
    derivative: Expr,
    /// The canonical formula: the function's name in configs, tables and titles.
    text: String,
    /// The short label for folders and file names.
    label: String,
    /// The safety check's finding, where it found one and it was accepted.
    non_finite: Option<SafetyError>,
    /// The built-in whose expansion the formula is, whose kernels and tensor forms it runs.
    twin: Option<Activation>,
}

impl Formula {
    /// The formula.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Its derivative with respect to `x`.
    pub fn derivative(&self) -> &Expr {
        &self.derivative
    }

    /// The formula in canonical form, which parses back to the same function: its name.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `f-` and 8 hex digits of a hash of the canonical form: its key, safe as a folder name.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Where the safety check found a non-finite value that [`NonFinitePolicy::Accept`]
    /// accepted.
    pub fn non_finite(&self) -> Option<&SafetyError> {
        self.non_finite.as_ref()
    }

    /// The built-in this formula is, spelled out (`x * sigmoid(x)` is Swish, `gelu(x)` GELU):
    /// the formula runs its kernels and tensor forms, so that it trains as the built-in does,
    /// bit for bit. A formula that only contains built-ins (`x * sigmoid(1.702 * x)`) runs its
    /// own kernel, which calls theirs.
    pub fn twin(&self) -> Option<Activation> {
        self.twin
    }

    /// `f(x)` as tensor operations, whose gradient is the symbolic derivative: the value of
    /// the formula, plus `(x - x) f'(x)` with only the first `x` tracked. Autograd through the
    /// formula's own operations would meet the branch that `where_pos` does not take, whose
    /// gradient can be `inf * 0` (`expm1` beyond 88 in `f32`).
    pub(crate) fn forward_tensor(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let constant = x.detach();
        let value = self.expr.tensor(&constant)?;
        if !x.track_op() {
            return Ok(value);
        }
        let slope = self.derivative.tensor(&constant)?;
        value + ((x - &constant)? * slope)?
    }

    /// `y = f(x)` on slices of equal length, chunk by chunk.
    pub(crate) fn forward_slice<T: Float>(&self, x: &[T], y: &mut [T]) {
        self.expr.eval_slice(x, y);
    }

    /// `grad *= f'(x)` on slices of equal length, chunk by chunk.
    pub(crate) fn backward_slice<T: Float>(&self, x: &[T], grad: &mut [T]) {
        self.derivative.scale_slice(x, grad);
    }
}

/// The formulas made so far, found by their text or label when a config is read.
static REGISTRY: Mutex<Vec<&'static Formula>> = Mutex::new(Vec::new());

/// The registered formula with this canonical text or label.
pub(crate) fn find(name: &str) -> Option<&'static Formula> {
    let registry = REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    registry
        .iter()
        .find(|f| f.text == name || f.label == name)
        .copied()
}

/// Whether `name` is to be read as a formula rather than a function's name: `x`, or anything
/// but letters, digits and `_` (an empty name too, which the parser refuses clearly).
pub(crate) fn looks_like_formula(name: &str) -> bool {
    name == "x" || name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Activation {
    /// The activation function `text` says, a formula of `x` (the grammar is [`parse`]'s):
    /// `x * sigmoid(1.702 * x)`, `x * tanh(softplus(x))`, `max(x, 0.1 * x)`.
    ///
    /// It trains like a built-in: on the CPU its kernel evaluates the formula and its symbolic
    /// [`derivative`] node by node over chunks of a slice (with the built-ins' own kernels for
    /// the functions they share); elsewhere it is tensor operations whose gradient is the
    /// symbolic derivative. A formula that is a built-in spelled out (`x * sigmoid(x)`) runs
    /// that built-in's kernels ([`Formula::twin`]). In a config it is `{"name": "<canonical formula>"}`, so a
    /// checkpoint reloads it to the same function.
    ///
    /// ```
    /// use actfn_activations::{Activation, NonFinitePolicy};
    ///
    /// let quick_gelu = Activation::formula("x*sigmoid(1.702*x)", NonFinitePolicy::Refuse)?;
    /// assert_eq!(quick_gelu.name(), "x * sigmoid(1.702 * x)");
    /// assert_eq!(quick_gelu, "x * sigmoid(1.702 * x)".parse()?);
    /// assert!(quick_gelu.key().starts_with("f-"));
    ///
    /// // Its derivative (1 + x) e^x overflows first.
    /// let refused = Activation::formula("x * exp(x)", NonFinitePolicy::Refuse).unwrap_err();
    /// assert!(refused.to_string().ends_with(
    ///     "in the derivative, exp(x) + x * exp(x) overflows at x = 84.27694 in f32"
    /// ));
    /// # Ok::<(), actfn_activations::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Formula`] for text that does not parse, pointing at the column;
    /// [`Error::NonFinite`] for a formula the safety [`check`] refuses, unless `policy` is
    /// [`NonFinitePolicy::Accept`].
    pub fn formula(text: &str, policy: NonFinitePolicy) -> Result<Activation, Error> {
        let expr = parse(text).map_err(|error| Error::Formula {
            text: text.to_string(),
            error,
        })?;
        let canonical = expr.to_string();
        if let Some(found) = find(&canonical) {
            return match (&found.non_finite, policy) {
                // Accepted once is not accepted for good: each maker of it says so.
                (Some(finding), NonFinitePolicy::Refuse) => Err(Error::NonFinite {
                    formula: canonical,
                    finding: finding.clone(),
                }),
                _ => Ok(Activation::Formula(found)),
            };
        }
        let non_finite = match (check(&expr), policy) {
            (Ok(()), _) => None,
            (Err(found), NonFinitePolicy::Accept) => Some(found),
            (Err(finding), _) => {
                return Err(Error::NonFinite {
                    formula: canonical,
                    finding,
                });
            }
        };
        let label = expr.label();
        let mut registry = REGISTRY
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(&other) = registry.iter().find(|f| f.label == label) {
            // Made by another thread since `find` above: the same function.
            if other.text == canonical {
                return Ok(Activation::Formula(other));
            }
            return Err(Error::BadParameter {
                activation: canonical.clone(),
                reason: format!(
                    "its label {label} is also that of {}: a collision of two 48-bit hashes, \
                     which should not happen; please report it with both formulas",
                    other.text
                ),
            });
        }
        let twin = Activation::builtins()
            .iter()
            .copied()
            .find(|b| parse(&format!("{}(x)", b.key())).is_ok_and(|spelled| spelled == expr));
        // Formulas live as long as the process: a config may name them anytime.
        let formula: &'static Formula = Box::leak(Box::new(Formula {
            twin,
            derivative: derivative(&expr),
            expr,
            text: canonical,
            label,
            non_finite,
        }));
        registry.push(formula);
        Ok(Activation::Formula(formula))
    }
}
