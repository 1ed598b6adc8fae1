//! Tests of the formula language: hostile input, printing, derivatives, values, the check.

use super::*;

fn error(text: &str) -> ParseError {
    match parse(text) {
        Ok(expr) => panic!("{text:?} parsed, as {expr}"),
        Err(error) => error,
    }
}

fn assert_error(text: &str, message: &str, column: usize) {
    let found = error(text);
    assert_eq!(
        (found.message.as_str(), found.column),
        (message, column),
        "{text:?}"
    );
}

fn expr(text: &str) -> Expr {
    parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn unknown_names_are_refused_with_the_closest_known_one() {
    assert_eq!(
        error("x * sigmod(x)").to_string(),
        "unknown function 'sigmod' at column 5; did you mean 'sigmoid'?"
    );
    assert_eq!(
        error("2 * y").to_string(),
        "unknown name 'y' (the variable is 'x') at column 5; did you mean 'x'?"
    );
    let far = error("frobnicate(x)");
    assert_eq!(
        (far.message.as_str(), far.column),
        ("unknown function 'frobnicate'", 1)
    );
    assert_eq!(far.suggestion, None);
    assert_eq!(
        error("gelu_tanhh(x)").suggestion.as_deref(),
        Some("gelu_tanh")
    );
}

#[test]
fn hostile_input_gets_one_clear_error_each() {
    assert_error("", "empty formula", 1);
    assert_error(" \t ", "empty formula", 1);
    assert_error("(x", "unmatched '('", 1);
    // The innermost unmatched one.
    assert_error("x * exp(x + (1", "unmatched '('", 13);
    assert_error("((x)", "unmatched '('", 1);
    assert_error("x)", "unmatched ')'", 2);
    assert_error("max(x, 1))", "unmatched ')'", 10);
    assert_error(
        "(x x)",
        "expected ')' to close the '(' at column 1, found 'x'",
        4,
    );
    assert_error("x^x", "exponent must be a constant number", 3);
    assert_error("2^(x + 1)", "exponent must be a constant number", 3);
    assert_error("1/0", "division by zero", 3);
    assert_error("1/(2-2)", "division by zero", 3);
    assert_error("x / (x - x)", "division by zero", 5);
    assert_error("nan", "'nan' is not allowed: numbers must be finite", 1);
    assert_error("x + inf", "'inf' is not allowed: numbers must be finite", 5);
    assert_error(
        "-Infinity",
        "'Infinity' is not allowed: numbers must be finite",
        2,
    );
    assert_error("1e999 * x", "number '1e999' is too large", 1);
    assert_error("x + é", "non-ASCII character 'é'", 5);
    assert_error("x·2", "non-ASCII character '·'", 2);
    assert_error("😀 + x", "non-ASCII character '😀'", 1);
    assert_error("x $ 2", "unexpected character '$'", 3);
    assert_error(
        "x 2",
        "expected an operator or the end of the formula, found '2'",
        3,
    );
    assert_error(
        "2x",
        "expected an operator or the end of the formula, found 'x'",
        2,
    );
    assert_error(
        "x +",
        "expected a number, 'x', a function or '(', found the end of the formula",
        4,
    );
    assert_error(
        "exp()",
        "expected a number, 'x', a function or '(', found ')'",
        5,
    );
    assert_error("exp x", "expected '(' after 'exp'", 5);
    assert_error("max(x)", "'max' takes 2 arguments, found 1", 1);
    assert_error("tanh(x, 1)", "'tanh' takes 1 argument, found 2", 1);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let deep = "(".repeat(10_000) + "x" + &")".repeat(10_000);
    assert_error(&deep, "formula nested more than 256 levels deep", 257);
    let deep = "exp(".repeat(10_000) + "x" + &")".repeat(10_000);
    assert_error(
        &deep,
        "formula nested more than 256 levels deep",
        4 * 256 + 1,
    );
    let deep = "-".repeat(10_000) + "x";
    assert_error(&deep, "formula nested more than 256 levels deep", 257);
    let deep = "x".to_owned() + &"^1".repeat(10_000);
    assert!(
        error(&deep)
            .message
            .starts_with("formula nested more than 256")
    );
    // 255 levels are fine.
    let fine = "(".repeat(255) + "x" + &")".repeat(255);
    assert_eq!(expr(&fine), expr("x"));
}

#[test]
fn long_flat_formulas_print_differentiate_and_evaluate_without_recursion() {
    let text = "x".to_owned() + &" + x".repeat(100_000);
    let long = expr(&text);
    assert_eq!(expr(&long.to_string()), long);
    assert_eq!(derivative(&long).to_string(), "100001");
    assert_eq!(long.eval_f64(2.0), 200_002.0);
    assert!(check(&long).is_ok());
}

/// One formula per operation and built-in, and a few shapes that need parentheses.
const FORMULAS: &[&str] = &[
    "x * sigmoid(1.702 * x)",
    "x * tanh(softplus(x))",
    "max(x, 0.1 * x)",
    "min(x, 1) - abs(x)",
    "-x^2 + 3 * x - 1",
    "(x^2)^3 + abs(x)^-0.5 + 2^-1 * x",
    "exp(-x) / (1 + x^2) - x / (x / 3)",
    "log(1 + x^2) + log1p(abs(x))",
    "sqrt(1 + x^2) * sin(x) - cos(2 * x)",
    "erf(x) + step(x) - sign(x) + relu(-x)",
    "where_pos(x - 1, expm1(x), neg(x))",
    "x - (x - 1) - (2 - x) * -3 + 1e-7 * x + 1e20",
    "gelu(x) + gelu_tanh(x)",
    "mish(x) * swish(x)",
    "selu(x) - elu(x) + leakyrelu(x) + hardswish(x)",
];

#[test]
fn printing_then_parsing_gives_the_same_tree() {
    for text in FORMULAS {
        let e = expr(text);
        assert_eq!(expr(&e.to_string()), e, "{text:?} printed as {e}");
        let d = derivative(&e);
        assert_eq!(expr(&d.to_string()), d, "the derivative of {text:?}, {d}");
        assert_eq!(expr(&e.to_string()).to_string(), e.to_string());
    }
}

#[test]
fn printing_is_canonical_and_compact() {
    let printed = |text: &str| expr(text).to_string();
    assert_eq!(printed("-x^2"), "-x^2");
    assert_eq!(printed("(-x)^2"), "(-x)^2");
    assert_eq!(printed("x*2"), "2 * x");
    assert_eq!(printed("2^3^2"), "512");
    assert_eq!(printed("x^(1/2)"), "x^0.5");
    assert_eq!(printed("x^-2"), "x^-2");
    assert_eq!(printed("x + -2"), "x - 2");
    assert_eq!(printed("x - -2 * x"), "x + 2 * x");
    assert_eq!(printed("--x"), "x");
    assert_eq!(printed("-(x - 1)"), "1 - x");
    assert_eq!(printed("0 * exp(x) + 1 * x + 0"), "x");
    assert_eq!(printed("neg(x)"), "-x");
    assert_eq!(printed("exp(1000)"), "exp(1000)");
    assert_eq!(printed("leakyrelu(x)"), "where_pos(x, x, 0.1 * x)");
    assert_eq!(
        derivative(&expr("x * sigmoid(x)")).to_string(),
        "sigmoid(x) + x * (sigmoid(x) * sigmoid(-x))"
    );
    assert_eq!(derivative(&expr("relu(x)")).to_string(), "step(x)");
    assert_eq!(derivative(&expr("abs(x)")).to_string(), "sign(x)");
    assert_eq!(derivative(&expr("tanh(x)")).to_string(), "1 - tanh(x)^2");
    assert_eq!(
        derivative(&expr("3 * x^2 - x / 2")).to_string(),
        "6 * x - 0.5"
    );
}

#[test]
fn labels_are_stable_folder_names() {
    let label = expr("x * sigmoid(1.702 * x)").label();
    assert_eq!(label.len(), 14);
    assert!(label.starts_with("f-"));
    assert!(label[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    // The label is the formula's, not the spelling's.
    assert_eq!(
        expr("x*sigmoid(x*1.702)").label(),
        expr("x*sigmoid(1.702*x)").label()
    );
    assert_ne!(expr("x * sigmoid(x)").label(), label);
    // 64-bit FNV-1a of "x": 0xcbf29ce484222325 ^ 0x78, times the prime, its top 48 bits.
    assert_eq!(expr("x").label(), "f-af63f54c8602");
}

/// A fixed-seed xorshift64, for reproducible points.
struct XorShift(u64);

impl XorShift {
    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn derivatives_match_central_differences() {
    use std::f64::consts::PI;
    let cases: &[(&str, &[f64])] = &[
        ("x * sigmoid(1.702 * x)", &[]),
        ("mish(x)", &[]),
        ("gelu(x)", &[]),
        ("gelu_tanh(x)", &[]),
        ("swish(x)", &[]),
        ("selu(x)", &[0.0]),
        ("elu(x)", &[0.0]),
        ("leakyrelu(x)", &[0.0]),
        ("hardswish(x)", &[-3.0, 3.0]),
        ("softplus(2 * x) - tanh(x)^3", &[]),
        ("exp(-x^2 / 2) / (1 + x^2)", &[]),
        (
            "log(1 + x^2) + log1p(abs(x)) + sqrt(2 + sin(x)) * cos(x)",
            &[0.0],
        ),
        ("erf(x) * expm1(x / 3) - neg(x)^3", &[]),
        (
            "max(x, 0.1 * x) + min(sin(x), 0.5) + relu(x - 1)",
            &[
                0.0,
                1.0,
                PI / 6.0,
                5.0 * PI / 6.0,
                PI / 6.0 - 2.0 * PI,
                5.0 * PI / 6.0 - 2.0 * PI,
            ],
        ),
        (
            "where_pos(x - 1, x^3, 2 * x) + sign(x) * x + step(x)",
            &[0.0, 1.0],
        ),
        ("abs(x)^0.5 + (1 + x^2)^-1.5", &[0.0]),
        ("x / (2 + cos(x)) - 3 / (1 + exp(x))", &[]),
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for &(text, kinks) in cases {
        let f = expr(text);
        let d = derivative(&f);
        let mut tested = 0;
        for _ in 0..200 {
            let x = rng.uniform(-6.0, 6.0);
            if kinks.iter().any(|k| (x - k).abs() < 1e-3) {
                continue;
            }
            let h = 1e-5;
            let numeric = (f.eval_f64(x + h) - f.eval_f64(x - h)) / (2.0 * h);
            let exact = d.eval_f64(x);
            assert!(
                (exact - numeric).abs() <= 1e-6 * exact.abs().max(1.0),
                "{text}: at {x}, {d} = {exact}, central difference {numeric}"
            );
            tested += 1;
        }
        assert!(tested > 150, "{text}: {tested} points");
    }
}

#[test]
fn derivatives_at_the_kinks_are_pytorchs() {
    let slope = |text: &str, x: f64| derivative(&expr(text)).eval_f64(x);
    let scale = 1.050_700_987_355_480_5;
    let alpha = 1.673_263_242_354_377_2;
    assert_eq!(slope("relu(x)", 0.0), 0.0);
    assert_eq!(slope("abs(x)", 0.0), 0.0);
    assert_eq!(slope("max(x, 0)", 0.0), 0.5);
    assert_eq!(slope("min(x, 0)", 0.0), 0.5);
    assert_eq!(slope("max(x, 0.1 * x)", 0.0), 0.55);
    assert_eq!(slope("min(x, 1)", 2.0), 0.0);
    assert_eq!(slope("min(x, 1)", 0.0), 1.0);
    assert_eq!(slope("max(2 * x, x)", -1.0), 1.0);
    assert_eq!(slope("leakyrelu(x)", 0.0), 0.1);
    assert_eq!(slope("elu(x)", 0.0), 1.0);
    assert_eq!(slope("selu(x)", 0.0), scale * alpha);
    assert_eq!(slope("hardswish(x)", -3.0), 0.0);
    assert_eq!(slope("hardswish(x)", 3.0), 1.0);
    assert_eq!(slope("hardswish(x)", 0.0), 0.5);
    assert_eq!(slope("step(x) + sign(x)", 0.0), 0.0);
}

fn close(found: f64, expected: f64) -> bool {
    (found - expected).abs() <= 1e-15 * expected.abs().max(1.0)
}

#[test]
fn built_in_activations_have_their_closed_form_values() {
    let at = |text: &str, x: f64| expr(text).eval_f64(x);
    let e = std::f64::consts::E;
    let scale = 1.050_700_987_355_480_5;
    let alpha = 1.673_263_242_354_377_2;
    let cases = [
        (at("sigmoid(x)", 0.0), 0.5),
        (at("sigmoid(x)", -800.0), 0.0),
        (at("swish(x)", 1.0), 1.0 / (1.0 + 1.0 / e)),
        (at("swish(x)", -2.0), -2.0 / (1.0 + e * e)),
        (at("gelu(x)", 1.0), 0.841_344_746_068_542_9),
        (at("gelu(x)", -1.0), -0.158_655_253_931_457_05),
        (
            at("gelu_tanh(x)", 1.0),
            0.5 * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * 1.044_715).tanh()),
        ),
        (at("mish(x)", 1.0), 0.865_098_388_267_310_3),
        (at("mish(x)", -1.0), -(1.0 + 1.0 / e).ln().tanh()),
        (at("selu(x)", -1.0), scale * alpha * (1.0 / e - 1.0)),
        (at("selu(x)", 2.0), 2.0 * scale),
        (at("elu(x)", -1.0), 1.0 / e - 1.0),
        (at("elu(x)", 2.0), 2.0),
        (at("leakyrelu(x)", -2.0), -0.2),
        (at("leakyrelu(x)", 3.0), 3.0),
        (at("hardswish(x)", 1.0), 4.0 / 6.0),
        (at("hardswish(x)", -1.0), -2.0 / 6.0),
        (at("hardswish(x)", -4.0), 0.0),
        (at("hardswish(x)", 4.0), 4.0),
        (at("softplus(x)", 0.0), std::f64::consts::LN_2),
        (at("softplus(x)", 1000.0), 1000.0),
        (at("relu(x)", -1.0), 0.0),
        (at("tanh(x)", 0.5), 0.5f64.tanh()),
    ];
    for (i, (found, expected)) in cases.into_iter().enumerate() {
        assert!(close(found, expected), "case {i}: {found} != {expected}");
    }
}

#[test]
fn f32_evaluation_computes_in_f32() {
    let gelu = expr("gelu(x)");
    for x in [-3.0f32, -0.5, 0.0, 0.25, 2.0] {
        let wide = gelu.eval_f64(f64::from(x));
        assert!((f64::from(gelu.eval_f32(x)) - wide).abs() < 1e-6, "{x}");
    }
    // e^89 is beyond f32, not f64.
    assert_eq!(expr("exp(x)").eval_f32(89.0), f32::INFINITY);
    assert!(expr("exp(x)").eval_f64(89.0).is_finite());
    // Sigmoid and softplus are stable in both tails, in f32 too.
    assert_eq!(expr("sigmoid(x)").eval_f32(-200.0), 0.0);
    assert_eq!(expr("softplus(x)").eval_f32(200.0), 200.0);
}

#[test]
fn the_check_refuses_overflow_and_names_it() {
    let refused = check(&expr("exp(x)")).expect_err("exp overflows");
    assert_eq!(refused.dtype, "f32");
    assert!(refused.x > 88.0 && refused.x < 89.0, "{refused}");
    assert_eq!(refused.subexpression, "exp(x)");
    assert_eq!(refused.kind, NonFinite::Overflow);
    assert!(!refused.in_derivative);
    assert_eq!(
        refused.to_string(),
        "exp(x) overflows at x = 88.72284 in f32"
    );
    let refused = check(&expr("x^10")).expect_err("x^10 overflows f32");
    assert_eq!(
        (refused.subexpression.as_str(), refused.dtype),
        ("x^10", "f32")
    );
}

#[test]
fn the_check_refuses_logarithms_and_roots_of_zero() {
    let refused = check(&expr("log(x)")).expect_err("log(0)");
    assert!(refused.x <= 0.0);
    assert_eq!(refused.subexpression, "log(x)");
    assert_eq!(refused.to_string(), "log(x) is infinite at x = 0 in f32");
    let refused = check(&expr("sqrt(x)")).expect_err("sqrt(x)' at 0");
    assert!(refused.in_derivative);
    assert_eq!(
        refused.to_string(),
        "in the derivative, 1 / (2 * sqrt(x)) is infinite at x = 0 in f32"
    );
    let refused = check(&expr("x + sqrt(x - 1)")).expect_err("sqrt(-1)");
    assert_eq!(refused.kind, NonFinite::NotANumber);
    assert_eq!(refused.subexpression, "sqrt(x - 1)");
}

#[test]
fn the_check_probes_the_kinks() {
    // 0.3 is on no grid point: only the kink search finds the zero of abs's argument.
    let refused = check(&expr("1 / abs(x - 0.3)")).expect_err("1 / 0 at 0.3");
    assert_eq!(
        refused.to_string(),
        "1 / abs(x - 0.3) is infinite at x = 0.3 in f32"
    );
}

#[test]
fn the_check_accepts_the_built_ins() {
    for text in [
        "x * sigmoid(x)",
        "x * sigmoid(1.702 * x)",
        "sigmoid(x)",
        "tanh(x)",
        "relu(x)",
        "leakyrelu(x)",
        "elu(x)",
        "swish(x)",
        "gelu(x)",
        "gelu_tanh(x)",
        "mish(x)",
        "selu(x)",
        "softplus(x)",
        "hardswish(x)",
        "max(x, 0.1 * x)",
        "0 * exp(x) + x",
    ] {
        assert_eq!(check(&expr(text)), Ok(()), "{text}");
    }
}
