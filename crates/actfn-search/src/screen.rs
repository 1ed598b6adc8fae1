//! Screening a search's formulas: those that do not parse or that the safety check refuses are
//! skipped with the reason, then constant functions and duplicates by behaviour, before a
//! budget's seeded sample is drawn.

use std::collections::HashMap;

use actfn_activations::{Activation, Expr, check, parse};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A formula that stays a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The formula in canonical form.
    pub formula: String,
    /// Its label, the key its runs are filed under (`f-9d17a84506a9`).
    pub label: String,
    /// `E[f(Z)]` for a standard normal `Z`, see [`normal_moments`].
    pub normal_mean: f64,
    /// `Var[f(Z)]`.
    pub normal_variance: f64,
}

/// A formula left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The formula as given.
    pub formula: String,
    /// Why: it does not parse, the safety check's finding, constant, or the candidate (or
    /// built-in) it behaves as.
    pub reason: String,
}

/// What [`screen`] makes of a list of formulas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screened {
    /// The candidates, in the order given (for a budget: the sample, in that order).
    pub kept: Vec<Candidate>,
    /// The formulas left out with a reason, in the order given.
    pub skipped: Vec<Skipped>,
    /// Candidates that passed the screen but were not drawn for the budget.
    pub not_drawn: usize,
}

/// Where two functions are compared: every quarter from -6 to 6, and ±10, ±20, ±50. Formulas
/// that agree at all of them to 9 significant digits are taken as one function.
fn probe_points() -> Vec<f64> {
    let mut points: Vec<f64> = (-24..=24).map(|k| f64::from(k) / 4.0).collect();
    points.extend([-50.0, -20.0, -10.0, 10.0, 20.0, 50.0]);
    points
}

/// The function's values at the probe points, to 9 significant digits: equal for two formulas
/// of the same function.
fn behaviour(expr: &Expr, points: &[f64]) -> Vec<String> {
    points
        .iter()
        .map(|&x| {
            let v = expr.eval_f64(x);
            // -0 and 0 are one value.
            format!("{:.8e}", if v == 0.0 { 0.0 } else { v })
        })
        .collect()
}

/// `E[f(Z)]` and `Var[f(Z)]` for a standard normal `Z` (AQuaSurF's normalization statistic):
/// Simpson's rule on [-12, 12] in steps of 1/200 (the density's tails beyond hold less than
/// 1e-32 of its mass). A kink at a multiple of 1/100 (0, relu's) sits between Simpson's panels,
/// where the rule keeps its fourth order; one elsewhere costs it, to about 1e-6.
pub fn normal_moments(expr: &Expr) -> (f64, f64) {
    const HALF_WIDTH: f64 = 12.0;
    const STEPS_PER_UNIT: f64 = 200.0;
    let steps = (2.0 * HALF_WIDTH * STEPS_PER_UNIT) as usize;
    let h = 1.0 / STEPS_PER_UNIT;
    let (mut first, mut second) = (0.0, 0.0);
    for k in 0..=steps {
        let z = -HALF_WIDTH + k as f64 * h;
        let weight = if k == 0 || k == steps {
            1.0 / 3.0
        } else if k % 2 == 1 {
            4.0 / 3.0
        } else {
            2.0 / 3.0
        };
        let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let f = expr.eval_f64(z);
        first += weight * h * density * f;
        second += weight * h * density * f * f;
    }
    (first, (second - first * first).max(0.0))
}

/// Screens `formulas` in order: one that does not parse, that the safety check refuses
/// ([`check`]: not finite somewhere on its grid, in f32 or f64), that is constant on the probe
/// points, or that behaves there as an earlier candidate or as a built-in activation is
/// skipped with the reason. With a `budget` smaller than what is left, `budget` candidates are
/// drawn without replacement by the ChaCha generator seeded with `seed`, and keep their order.
pub fn screen(formulas: &[String], budget: Option<usize>, seed: u64) -> Screened {
    let points = probe_points();
    // Behaviour -> what has it: a built-in's name or a kept candidate's formula.
    let mut seen: HashMap<Vec<String>, String> = HashMap::new();
    for builtin in Activation::builtins() {
        if let Ok(expr) = parse(&format!("{}(x)", builtin.key())) {
            seen.insert(
                behaviour(&expr, &points),
                format!("the built-in {}", builtin.name()),
            );
        }
    }
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for formula in formulas {
        let mut skip = |reason: String| {
            skipped.push(Skipped {
                formula: formula.clone(),
                reason,
            })
        };
        let expr = match parse(formula) {
            Ok(expr) => expr,
            Err(e) => {
                skip(format!("does not parse: {e}"));
                continue;
            }
        };
        if let Err(finding) = check(&expr) {
            skip(format!("not finite: {finding}"));
            continue;
        }
        let values = behaviour(&expr, &points);
        if values.iter().all(|v| *v == values[0]) {
            skip("constant".to_string());
            continue;
        }
        if let Some(same) = seen.get(&values) {
            skip(format!("behaves as {same}"));
            continue;
        }
        let canonical = expr.to_string();
        seen.insert(values, canonical.clone());
        let (normal_mean, normal_variance) = normal_moments(&expr);
        kept.push(Candidate {
            label: expr.label(),
            formula: canonical,
            normal_mean,
            normal_variance,
        });
    }
    let mut not_drawn = 0;
    if let Some(budget) = budget.filter(|&b| b < kept.len()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut drawn = rand::seq::index::sample(&mut rng, kept.len(), budget).into_vec();
        drawn.sort_unstable();
        not_drawn = kept.len() - budget;
        kept = drawn.into_iter().map(|i| kept[i].clone()).collect();
    }
    Screened {
        kept,
        skipped,
        not_drawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_formula_is_kept_or_skipped_with_its_reason() {
        let screened = screen(
            &strings(&[
                "x * tanh(x)",
                "tanh(x) * x",
                "x * sigmoid(x)",
                "(x) * (1)",
                "x * exp(x)",
                "sin(x)^2 + cos(x)^2",
                "x +",
                "max(x, 0.1 * x)",
                "max(x, 0.2 * x)",
            ]),
            None,
            0,
        );
        let kept: Vec<&str> = screened.kept.iter().map(|c| c.formula.as_str()).collect();
        assert_eq!(kept, ["x * tanh(x)", "x", "max(x, 0.2 * x)"]);
        let reasons: Vec<(&str, &str)> = screened
            .skipped
            .iter()
            .map(|s| (s.formula.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(reasons[0], ("tanh(x) * x", "behaves as x * tanh(x)"));
        assert_eq!(
            reasons[1],
            ("x * sigmoid(x)", "behaves as the built-in Swish")
        );
        assert!(
            reasons[2].1.starts_with("not finite: in the derivative"),
            "{reasons:?}"
        );
        assert_eq!(reasons[3], ("sin(x)^2 + cos(x)^2", "constant"));
        assert!(reasons[4].1.starts_with("does not parse"), "{reasons:?}");
        assert_eq!(
            reasons[5],
            ("max(x, 0.1 * x)", "behaves as the built-in LeakyReLU")
        );
        assert_eq!(screened.skipped.len(), 6);
    }

    #[test]
    fn a_budget_draws_a_seeded_sample_in_order() {
        let formulas: Vec<String> = (1..=20).map(|k| format!("{k} * x + x^2")).collect();
        let all = screen(&formulas, None, 0);
        assert_eq!(all.kept.len(), 20);
        let drawn = screen(&formulas, Some(5), 7);
        assert_eq!(drawn.kept.len(), 5);
        assert_eq!(drawn.not_drawn, 15);
        assert_eq!(drawn, screen(&formulas, Some(5), 7));
        assert_ne!(drawn.kept, screen(&formulas, Some(5), 8).kept);
        let positions: Vec<usize> = drawn
            .kept
            .iter()
            .map(|c| all.kept.iter().position(|a| a == c).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    /// E[Z] = 0, Var[Z] = 1; E[relu(Z)] = 1 / sqrt(2 pi), Var = 1/2 - 1 / (2 pi); E[Z^2] = 1,
    /// Var[Z^2] = 2.
    #[test]
    fn normal_moments_are_the_closed_forms() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-11;
        let (m, v) = normal_moments(&parse("x").unwrap());
        assert!(close(m, 0.0) && close(v, 1.0), "{m} {v}");
        let (m, v) = normal_moments(&parse("relu(x)").unwrap());
        let pi = std::f64::consts::PI;
        assert!(close(m, 1.0 / (2.0 * pi).sqrt()), "{m}");
        assert!(close(v, 0.5 - 1.0 / (2.0 * pi)), "{v}");
        let (m, v) = normal_moments(&parse("x^2").unwrap());
        assert!(close(m, 1.0) && close(v, 2.0), "{m} {v}");
    }
}
