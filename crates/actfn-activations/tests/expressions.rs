//! Checks the formula language (`parse`, `Expr::eval_f32`/`eval_f64`, `derivative`) against
//! PyTorch's values and autograd gradients in float32 and float64, from the fixture
//! `tests/fixtures/expressions.json` written by `scripts/expr-fixtures.py`; that each built-in
//! activation spelled out as a formula agrees with the built-in called by name; and that the
//! PyTorch translation a sweep's peer runs computes what the hand-written PyTorch computes.

use actfn_activations::{Expr, derivative, parse};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    torch: String,
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    formula: String,
    dtype: String,
    x: Vec<f64>,
    y: Vec<f64>,
    dy: Vec<f64>,
    /// Points left out because PyTorch's value or gradient is not finite there.
    skipped: Vec<f64>,
    /// For a built-in activation spelled out: the formula calling it by name.
    builtin: Option<String>,
    /// actfn's PyTorch translation of the formula (`Expr::to_torch`) when the fixture was
    /// written, and PyTorch's values and gradients of it at `x`.
    translation: String,
    translation_y: Vec<f64>,
    translation_dy: Vec<f64>,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/expressions.json"
    );
    let text = std::fs::read_to_string(path).expect("read the fixture");
    serde_json::from_str(&text).expect("parse the fixture")
}

/// `|got - want| <= rel * |want| + abs + ulps * eps * terms(x)`: a relative tolerance, an
/// absolute floor, and, for a formula whose value or gradient is a small difference of large
/// terms in PyTorch's or this crate's way of computing it, `ulps` units in the last place
/// (`eps` of the entry's dtype) of `terms(x)`, the size of the terms that cancel.
#[derive(Clone, Copy)]
struct Tolerance {
    rel: f64,
    abs: f64,
    ulps: f64,
    terms: fn(f64) -> f64,
}

fn one(_: f64) -> f64 {
    1.0
}

fn one_plus_abs(x: f64) -> f64 {
    1.0 + x.abs()
}

fn one_plus_abs_cubed(x: f64) -> f64 {
    1.0 + x.abs().powi(3)
}

/// The tolerance of `formula`'s values (`derivative == false`) or gradients in `dtype`.
///
/// float64: 1e-12 relative (a few thousand ulp: the two sides use different libms, Sleef in
/// PyTorch's vectorized CPU kernels and musl's in `libm`/the system's in Rust, and a chain of
/// ten operations each off by an ulp), with a floor of 1e-300. float32, evaluated as the CPU
/// kernel trains (`exp`, `expm1`, `sigmoid`, `tanh` and `softplus` are the built-in kernels'
/// vectorized polynomials, relative error below 2e-7): 4 ulp relative (measured: every value
/// and every well-conditioned gradient is within 1.3 ulp of PyTorch's, except `x^3 - 2*x` and
/// the cancellations below), with a floor of 128 times the smallest normal float32: the
/// kernels' `exp` returns 0 below -87.34, where `e^x` is subnormal, and `x * sigmoid(x)` at
/// x = -88 is then -0 where PyTorch gives -5.3e-37.
///
/// The cancellation allowances below come from the formulas (each one's worst measured error
/// is given in units of `eps * terms(x)`, float32 / float64); none hides a wrong derivative.
fn tolerance(formula: &str, dtype: &str, derivative: bool) -> Tolerance {
    let (rel, abs) = match dtype {
        "float32" => (
            4.0 * f64::from(f32::EPSILON),
            128.0 * f64::from(f32::MIN_POSITIVE),
        ),
        _ => (1e-12, 1e-300),
    };
    let cancel = |ulps: f64, terms: fn(f64) -> f64| Tolerance {
        rel,
        abs,
        ulps,
        terms,
    };
    match (formula, derivative) {
        // PyTorch's `pow(x, 3)` is `x * x * x` (two roundings) where Rust's `powf` rounds once;
        // near the roots of x^3 - 2x the difference of |x|^3 and 2|x| keeps that ulp of |x|^3
        // (worst 1.03 / 0.90, at x = -1.4696).
        ("x^3 - 2*x", false) => cancel(2.0, one_plus_abs_cubed),
        // PyTorch's sigmoid backward is y (1 - y) from the rounded y = sigmoid(x): near y = 1 it
        // has an absolute error of an ulp of 1, times the chain's factor (here 1.702 x); this
        // crate's sigmoid(x) sigmoid(-x) keeps full precision. At x = 50 (and 20 in float32)
        // torch's gradient of sigmoid is 0 and ours e^-x (1.9e-22, 2.1e-9), the exact value;
        // at x = 10 in float32 torch 4.5417e-5, ours 4.5396e-5 (exact 4.5396e-5). Worst 0.55 /
        // 0.67 for x sigmoid(1.702 x) (its x = 10 float32 gradient: torch 1, ours 1.0000007,
        // exact 1 + 6.5e-7), 0.18 / 0.66 for sigmoid.
        ("x * sigmoid(1.702 * x)", true) => cancel(2.0, one_plus_abs),
        ("sigmoid(x)", true) => cancel(1.0, one),
        // PyTorch's expm1 backward is (expm1(x) + 1): for x << 0 it keeps an absolute error of
        // an ulp of 1 (at x = -50 it drops e^x entirely: torch 1.93e-22, the exact value and
        // ours 3.86e-22 = 2 e^-50). Worst 0.25 / 0.25.
        ("exp(-abs(x)) + expm1(min(x, 0))", true) => cancel(1.0, one),
        // 1 - tanh(x)^2 (both sides) from a rounded tanh(x) cancels terms of size 1; PyTorch's
        // may fuse the multiply-add, Sleef's tanh and libm's differ by an ulp, and the kernel's
        // float32 tanh (one expm1) by 2 near +-1. Worst 2.15 / 1.92 for tanh, 2.13 / 2.00 for
        // the product.
        ("tanh(x)" | "tanh(x) * erf(x) + softplus(-x)", true) => cancel(4.0, one),
        // The quotient rule 1/(1+|x|) - |x|/(1+|x|)^2 (both sides) cancels terms below 1.
        // Worst 0.13 / 0 (float32 at x = 10: torch 8.264460e-3, ours 8.264467e-3).
        ("x / (1 + abs(x))", true) => cancel(1.0, one),
        // cos(x) cos(2x) - 2 sin(x) sin(2x) - 1 cancels terms of size up to 3 (an ulp of 3 is
        // 2 eps); at x = 88 in float32 the gradient is -0.00814: torch -8.140326e-3, ours
        // -8.140266e-3, exact -8.140244e-3. Worst 2.0 / 2.0.
        ("sin(x) * cos(2 * x) + neg(x)", true) => cancel(4.0, one),
        // GELU's gradient 0.5 (1 + erf(x / sqrt 2)) + x pdf(x) cancels 1 + erf for x < 0.
        // Worst 0.19 / 0.25 (1.00 in float64 for the `x / sqrt(2)` spelling).
        (
            "gelu(x)"
            | "0.5 * x * (1 + erf(x / sqrt(2)))"
            | "0.5 * x * (1 + erf(0.7071067811865476 * x))",
            true,
        ) => cancel(2.0, one),
        // The tanh approximation's gradient cancels 1 + tanh and 1 - tanh^2, the latter times
        // 0.5 x sqrt(2 / pi) (1 + 3 * 0.044715 x^2). Worst 0.11 / 0.29 (float32 at x = -3:
        // torch -1.15843e-2, ours -1.15842e-2).
        (
            "gelu_tanh(x)" | "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
            true,
        ) => cancel(2.0, one_plus_abs),
        // The value 0.5 x (1 + tanh(z)) cancels 1 + tanh(z) for x < 0: the kernel's float32
        // tanh, 2 ulp of 1 off near -1, gives 0.5 |x| 2 ulp. Worst 0.39 / 0.38 (float32 at
        // x = -3.58: torch -4.41088e-4, ours -4.40874e-4).
        (
            "gelu_tanh(x)" | "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
            false,
        ) => cancel(4.0, one_plus_abs),
        _ => cancel(0.0, one),
    }
}

/// The value of `expr` at `x` in `dtype`, widened to f64.
fn eval(expr: &Expr, dtype: &str, x: f64) -> f64 {
    match dtype {
        "float32" => {
            #[allow(clippy::cast_possible_truncation)]
            let x32 = x as f32;
            assert_eq!(f64::from(x32), x, "a float32 point that is not a float32");
            f64::from(expr.eval_f32(x32))
        }
        "float64" => expr.eval_f64(x),
        other => panic!("unknown dtype {other}"),
    }
}

/// Bitwise equality that treats NaNs as equal (as the check of last-bit agreement wants).
fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// `a` and `b` in units of the last place of `dtype`, at the larger magnitude of the two.
fn ulps(a: f64, b: f64, dtype: &str) -> f64 {
    if a == b {
        return 0.0;
    }
    let (eps, tiny) = if dtype == "float32" {
        (f64::from(f32::EPSILON), f64::from(f32::MIN_POSITIVE))
    } else {
        (f64::EPSILON, f64::MIN_POSITIVE)
    };
    (a - b).abs() / (a.abs().max(b.abs()) * eps).max(tiny * eps)
}

#[test]
fn formulas_match_pytorch() {
    let fixture = fixture();
    assert!(fixture.entries.len() >= 24, "too few fixture entries");
    eprintln!("fixture written with torch {}", fixture.torch);
    let mut failures = Vec::new();
    for entry in &fixture.entries {
        let expr = parse(&entry.formula)
            .unwrap_or_else(|e| panic!("'{}' does not parse: {e}", entry.formula));
        let slope = derivative(&expr);
        assert_eq!(entry.x.len(), entry.y.len());
        assert_eq!(entry.x.len(), entry.dy.len());
        for (what, f, want, is_derivative) in [
            ("value", &expr, &entry.y, false),
            ("gradient", &slope, &entry.dy, true),
        ] {
            let tol = tolerance(&entry.formula, &entry.dtype, is_derivative);
            let eps = if entry.dtype == "float32" {
                f64::from(f32::EPSILON)
            } else {
                f64::EPSILON
            };
            // The worst error relative to the tolerance, and where.
            let mut worst = (0.0_f64, f64::NAN);
            // The largest error in ulp of the larger of the two values.
            let mut max_ulps = 0.0_f64;
            // The worst error in units of `eps * terms(x)`, where a cancellation is allowed.
            let mut worst_terms = 0.0_f64;
            for (&x, &want) in entry.x.iter().zip(want) {
                let got = eval(f, &entry.dtype, x);
                let err = (got - want).abs();
                let allowed = tol.rel * want.abs() + tol.abs + tol.ulps * eps * (tol.terms)(x);
                let ratio = if got == want { 0.0 } else { err / allowed };
                worst_terms = worst_terms.max(err / (eps * (tol.terms)(x)));
                if ratio.is_nan() || ratio > worst.0 {
                    worst = (ratio, x);
                }
                max_ulps = max_ulps.max(ulps(got, want, &entry.dtype));
                if err.is_nan() || err > allowed {
                    failures.push(format!(
                        "{} [{}] {what} at x = {x:e}: rust {got:e}, torch {want:e} \
                         (error {err:.3e}, allowed {allowed:.3e})",
                        entry.formula, entry.dtype
                    ));
                }
            }
            let (ratio, x) = worst;
            let terms = if tol.ulps > 0.0 {
                format!(", {worst_terms:.3} ulp of the cancelled terms")
            } else {
                String::new()
            };
            eprintln!(
                "{:<68} {} {what:<8} max {max_ulps:>8.3} ulp; worst {ratio:.3} of the tolerance{terms} at x = {x:e}",
                entry.formula, entry.dtype,
            );
        }
        if !entry.skipped.is_empty() {
            eprintln!("  skipped (torch non-finite): {:?}", entry.skipped);
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements with PyTorch:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The PyTorch translation a sweep's peer runs (`Expr::to_torch`) is the text the fixture script
/// evaluated in PyTorch, and there it computed the hand-written PyTorch's values and gradients:
/// within the tolerance of this crate's own, plus an ulp of 1 absolute for the gradients that
/// PyTorch's autograd takes from a rounded result (`expm1`'s is `result + 1`, 0 at x = -88
/// where `F.elu`'s is `e^-88`).
#[test]
fn the_pytorch_translation_computes_what_pytorch_computes() {
    let fixture = fixture();
    let mut checked = 0;
    for entry in &fixture.entries {
        let expr = parse(&entry.formula).unwrap();
        assert_eq!(
            expr.to_torch(),
            entry.translation,
            "{}: the translation changed; rerun scripts/expr-fixtures.py",
            entry.formula
        );
        let eps = if entry.dtype == "float32" {
            f64::from(f32::EPSILON)
        } else {
            f64::EPSILON
        };
        for (what, hand, translated, derivative) in [
            ("value", &entry.y, &entry.translation_y, false),
            ("gradient", &entry.dy, &entry.translation_dy, true),
        ] {
            assert_eq!(hand.len(), translated.len(), "{}", entry.formula);
            let tol = tolerance(&entry.formula, &entry.dtype, derivative);
            for ((&x, &want), &got) in entry.x.iter().zip(hand).zip(translated) {
                let allowed =
                    tol.rel * want.abs() + tol.abs + tol.ulps * eps * (tol.terms)(x) + eps;
                assert!(
                    (got - want).abs() <= allowed,
                    "{} [{}] {what} at x = {x:e}: translated {got:e}, hand-written {want:e}",
                    entry.formula,
                    entry.dtype
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked} points");
}

/// The other form of a formula, its tensor operations (the composed form that runs on every
/// device, and its gradient by candle's autograd), against PyTorch: candle's own `exp`, `tanh`
/// and the like, and `expm1` as `exp - 1`, so within 1e-5 relative in float32 (1e-12 in
/// float64) plus an absolute 1e-6 (1e-12) where a formula cancels. A formula that is a
/// built-in spelled out runs the built-in's composed form, tested in `activations.rs`.
#[test]
fn the_tensor_form_matches_pytorch() {
    use actfn_activations::{Activation, NonFinitePolicy};
    use candle_core::{DType, Device, Tensor, Var};
    let fixture = fixture();
    let mut checked = 0;
    for entry in &fixture.entries {
        let act = Activation::formula(&entry.formula, NonFinitePolicy::Refuse).unwrap();
        let Activation::Formula(f) = act else {
            unreachable!()
        };
        if f.twin().is_some() {
            continue;
        }
        let (dtype, rel, abs) = match entry.dtype.as_str() {
            "float32" => (DType::F32, 1e-5, 1e-6),
            _ => (DType::F64, 1e-12, 1e-12),
        };
        let x = Tensor::new(entry.x.as_slice(), &Device::Cpu)
            .and_then(|t| t.to_dtype(dtype))
            .unwrap();
        let var = Var::from_tensor(&x).unwrap();
        let y = act.forward_composed(var.as_tensor()).unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        let dy = grads.get(var.as_tensor()).unwrap();
        let as_f64 = |t: &Tensor| t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
        for (what, got, want) in [
            ("value", as_f64(&y), &entry.y),
            ("gradient", as_f64(dy), &entry.dy),
        ] {
            for ((&x, got), &want) in entry.x.iter().zip(got).zip(want) {
                assert!(
                    (got - want).abs() <= rel * want.abs() + abs,
                    "{} [{}] tensor form {what} at x = {x:e}: {got:e}, torch {want:e}",
                    entry.formula,
                    entry.dtype
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "{checked} entries");
}

/// The fixture's formulas use every function and operator of the language.
#[test]
fn fixture_covers_the_language() {
    let fixture = fixture();
    let names = [
        "exp(",
        "expm1(",
        "log(",
        "log1p(",
        "sqrt(",
        "abs(",
        "neg(",
        "sin(",
        "cos(",
        "tanh(",
        "sigmoid(",
        "softplus(",
        "relu(",
        "erf(",
        "step(",
        "sign(",
        "where_pos(",
        "max(",
        "min(",
        "^",
        " + ",
        " - ",
        " * ",
        " / ",
        "leakyrelu(",
        "elu(",
        "selu(",
        "swish(",
        "gelu(",
        "gelu_tanh(",
        "mish(",
        "hardswish(",
    ];
    for name in names {
        // `elu(` and `exp(` also occur inside `selu(` and `expm1(`: look for a whole name.
        let found = fixture.entries.iter().any(|e| {
            e.formula.match_indices(name).any(|(i, _)| {
                !name.starts_with(char::is_alphabetic)
                    || !e.formula[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        });
        assert!(found, "no fixture formula uses '{name}'");
    }
    for dtype in ["float32", "float64"] {
        assert!(fixture.entries.iter().any(|e| e.dtype == dtype));
    }
}

#[test]
fn spelled_out_builtins_match_their_names() {
    let fixture = fixture();
    let mut checked = 0;
    let one_plus_erf = parse("1 + erf(x)").unwrap();
    for entry in fixture.entries.iter() {
        let Some(name) = &entry.builtin else { continue };
        let spelled = parse(&entry.formula).unwrap();
        let named = parse(name).unwrap();
        let identical = spelled == named;
        let (d_spelled, d_named) = (derivative(&spelled), derivative(&named));
        let tol = tolerance(&entry.formula, &entry.dtype, true);
        let eps = if entry.dtype == "float32" {
            f64::from(f32::EPSILON)
        } else {
            f64::EPSILON
        };
        let (mut worst_value, mut worst_gradient) = (0.0_f64, 0.0_f64);
        for &x in &entry.x {
            let values = (
                eval(&spelled, &entry.dtype, x),
                eval(&named, &entry.dtype, x),
            );
            let slopes = (
                eval(&d_spelled, &entry.dtype, x),
                eval(&d_named, &entry.dtype, x),
            );
            for (what, (u, v)) in [("value", values), ("gradient", slopes)] {
                if identical {
                    assert!(
                        same_bits(u, v),
                        "{} vs {name} [{}] {what} at x = {x:e}: {u:e} vs {v:e}",
                        entry.formula,
                        entry.dtype
                    );
                }
            }
            // Different trees: values within 2 ulp, plus for `x / sqrt(2)` (GELU's own tree has
            // `0.7071067811865476 * x`, and the two arguments may differ by an ulp) that ulp
            // carried through 1 + erf(z), which cancels for z < 0: z erf'(z) / (1 + erf(z)) ulp.
            let d = ulps(values.0, values.1, &entry.dtype);
            worst_value = worst_value.max(d);
            let allowed_ulps = 2.0
                + if entry.formula.contains("x / sqrt(2)") {
                    let z = x * std::f64::consts::FRAC_1_SQRT_2;
                    let gate = one_plus_erf.eval_f64(z);
                    z.abs() * std::f64::consts::FRAC_2_SQRT_PI * (-z * z).exp() / gate
                } else {
                    0.0
                };
            assert!(
                d == 0.0 || d <= allowed_ulps,
                "{} vs {name} [{}] at x = {x:e}: {:e} vs {:e} ({d} ulp)",
                entry.formula,
                entry.dtype,
                values.0,
                values.1
            );
            worst_gradient = worst_gradient.max(ulps(slopes.0, slopes.1, &entry.dtype));
            let allowed = tol.rel * slopes.1.abs() + tol.abs + tol.ulps * eps * (tol.terms)(x);
            assert!(
                (slopes.0 - slopes.1).abs() <= allowed,
                "{} vs {name} [{}] gradient at x = {x:e}: {:e} vs {:e}",
                entry.formula,
                entry.dtype,
                slopes.0,
                slopes.1
            );
        }
        eprintln!(
            "{:<70} {} {}",
            entry.formula,
            entry.dtype,
            if identical {
                format!("== {name} (same tree)")
            } else {
                format!(
                    "~ {name}: values within {worst_value:.3} ulp, gradients {worst_gradient:.3} ulp"
                )
            }
        );
        checked += 1;
    }
    assert!(checked >= 16, "every built-in spelled out, in both dtypes");
}
