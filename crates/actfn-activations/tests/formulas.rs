//! Formulas as activation functions (`Activation::formula`): each built-in written as a formula
//! against the built-in's own kernels (the same bits where the two compute the same operations,
//! within a few ulp elsewhere), the tensor form against the kernel, its gradient against the
//! symbolic derivative, the JSON, and the errors.

use actfn_activations::{Activation, Error, Expr, NonFinitePolicy, derivative, parse};
use candle_core::{DType, Device, Tensor, Var};

fn formula(text: &str) -> Activation {
    Activation::formula(text, NonFinitePolicy::Refuse).unwrap()
}

/// -100 to 100 in steps that hit the kinks (0, +-3) and the thresholds (20), both dtypes.
fn grid() -> Vec<f64> {
    (-4000..=4000).map(|k| f64::from(k) / 40.0).collect()
}

/// Units in the last place between `a` and `b`, at the larger magnitude, in `T`'s precision.
fn ulps(a: f64, b: f64, eps: f64, tiny: f64) -> f64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0.0;
    }
    (a - b).abs() / (a.abs().max(b.abs()) * eps).max(tiny * eps)
}

/// The largest ulp distance between a built-in's slice kernels and the formula evaluator (the
/// kernel of formulas that are not a built-in's twin) on its spelled-out formula, over the
/// grid: of the values in ulp of `max(|f(x)|, value_floor)`, and of the derivatives in ulp of
/// `max(|f'(x)|, 1)`: a built-in's
/// backward takes `y (1 - y)` from its rounded output as PyTorch does, which loses the tails
/// that the formula's derivative keeps (sigmoid's at x = 40: 0 against 4.2e-18).
fn distance<T: actfn_activations::Real>(
    builtin: Activation,
    eval: impl Fn(&Expr, f64) -> f64,
    eps: f64,
    value_floor: f64,
) -> (f64, f64) {
    let spelled = parse(&format!("{}(x)", builtin.key())).unwrap();
    let slope = derivative(&spelled);
    let x: Vec<T> = grid().into_iter().map(T::from_f64).collect();
    let mut y = vec![T::ZERO; x.len()];
    builtin.forward_slice(&x, &mut y).unwrap();
    let mut grad = vec![T::ONE; x.len()];
    builtin.backward_slice(&x, &y, &mut grad).unwrap();
    let tiny = T::from_f64(f64::MIN_POSITIVE).to_f64().max(1e-38);
    let value_floor = value_floor.max(tiny);
    let mut worst = (0.0_f64, 0.0_f64);
    for i in 0..x.len() {
        let at = x[i].to_f64();
        let value = ulps(eval(&spelled, at), y[i].to_f64(), eps, value_floor);
        let slope = ulps(eval(&slope, at), grad[i].to_f64(), eps, 1.0);
        worst = (worst.0.max(value), worst.1.max(slope));
    }
    worst
}

/// Every built-in spelled out as a formula (`swish(x)` expands to `x * sigmoid(x)`, and so on)
/// and run by the formula evaluator computes the built-in's values: the same bits where the
/// built-in's kernel computes the same operations in the same order, within a few ulp
/// elsewhere. GELU's `1 + erf(x / sqrt 2)` and its kernel's `erfc(-x / sqrt 2)` differ in
/// relative terms where `x` is very negative (erf's distance to -1), as do the spelled-out
/// GELU-tanh's `1 + tanh` and Mish's `tanh(softplus)`: there the bound is on the absolute
/// difference, in ulp of 1.
#[test]
fn builtins_spelled_out_compute_the_builtins_values() {
    // (built-in, value floor, value ulp, derivative ulp), each [f32, f64]; 0 is "the same
    // bits". The derivatives come from different forms (the product rule's sum against a
    // kernel's factored form, e.g. Swish's `s + x s (1 - s)` against `s + x s sigmoid(-x)`),
    // which agree to a few ulp of the terms; measured worst: Swish 9 / 18, GELU-tanh 15 / 38,
    // Mish 17 / 37, the others 1.5 or less.
    let allowed: &[(&str, f64, [f64; 2], [f64; 2])] = &[
        ("sigmoid", 0.0, [0.0, 0.0], [1.0, 1.0]),
        ("tanh", 0.0, [0.0, 0.0], [1.0, 1.0]),
        ("relu", 0.0, [0.0, 0.0], [0.0, 0.0]),
        ("leakyrelu", 0.0, [0.0, 0.0], [0.0, 0.0]),
        ("elu", 0.0, [0.0, 0.0], [1.0, 1.0]),
        ("swish", 0.0, [0.0, 0.0], [12.0, 24.0]),
        ("softplus", 0.0, [0.0, 0.0], [1.0, 1.0]),
        ("gelu", 1.0, [2.0, 2.0], [2.0, 2.0]),
        ("gelu_tanh", 1.0, [4.0, 4.0], [20.0, 48.0]),
        ("mish", 1.0, [2.0, 2.0], [24.0, 48.0]),
        ("selu", 0.0, [0.0, 0.0], [1.0, 1.0]),
        ("hardswish", 0.0, [0.0, 0.0], [1.0, 1.0]),
    ];
    for &(name, floor, value, slope) in allowed {
        let builtin: Activation = name.parse().unwrap();
        let f32 = distance::<f32>(
            builtin,
            |e, x| f64::from(e.eval_f32(x as f32)),
            f64::from(f32::EPSILON),
            floor,
        );
        let f64 = distance::<f64>(builtin, |e, x| e.eval_f64(x), f64::EPSILON, floor);
        eprintln!(
            "{name:<10} f32: values {:.2} ulp, derivatives {:.2}; f64: {:.2}, {:.2}",
            f32.0, f32.1, f64.0, f64.1
        );
        assert!(f32.0 <= value[0] && f64.0 <= value[1], "{name} values");
        assert!(f32.1 <= slope[0] && f64.1 <= slope[1], "{name} derivatives");
    }
}

/// A formula that is a built-in spelled out runs the built-in's kernels: it trains as the
/// built-in does, to the bit; one that only uses built-ins runs its own.
#[test]
fn a_builtin_spelled_out_is_its_twin() {
    for builtin in Activation::builtins() {
        let Ok(spelled) = Activation::from_name(&format!("{}(x)", builtin.key()), None) else {
            // PReLU's slope is learned: no formula says it.
            assert_eq!(builtin.key(), "prelu");
            continue;
        };
        let Activation::Formula(f) = spelled else {
            panic!("{builtin} spelled out is not a formula")
        };
        assert_eq!(f.twin(), Some(*builtin));
    }
    let Activation::Formula(swish) = formula("x * sigmoid(x)") else {
        unreachable!()
    };
    assert_eq!(swish.twin(), Some(Activation::Swish));
    let Activation::Formula(quick) = formula("x * sigmoid(1.702 * x)") else {
        unreachable!()
    };
    assert_eq!(quick.twin(), None);
}

/// The issue's case: `x * sigmoid(x)` trains as Swish does, the same bits forward and backward
/// through the fused CPU operation.
#[test]
fn x_sigmoid_x_is_swish_through_the_fused_operation() {
    let x = Tensor::new(
        grid().iter().map(|&v| v as f32).collect::<Vec<f32>>(),
        &Device::Cpu,
    )
    .unwrap();
    let swish = Activation::Swish;
    let spelled = formula("x*sigmoid(x)");
    let bits = |t: Tensor| -> Vec<u32> {
        t.to_vec1::<f32>()
            .unwrap()
            .into_iter()
            .map(f32::to_bits)
            .collect()
    };
    assert_eq!(
        bits(spelled.forward(&x).unwrap()),
        bits(swish.forward(&x).unwrap())
    );
    let grads = |act: Activation| {
        let var = Var::from_tensor(&x).unwrap();
        let y = act.forward(var.as_tensor()).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        g.get(var.as_tensor()).unwrap().to_vec1::<f32>().unwrap()
    };
    let bits_of = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<u32>>();
    assert_eq!(bits_of(grads(spelled)), bits_of(grads(swish)));
}

/// The tensor form of a formula that is no built-in's twin (other devices, the composed
/// reference) agrees with the kernel, and its
/// gradient is the symbolic derivative, also where autograd through the formula's operations
/// would meet `inf * 0` in the branch `where_pos` does not take (`expm1(x)` beyond 88.7 in
/// f32).
#[test]
fn the_tensor_form_agrees_with_the_kernel_and_its_gradient_is_the_derivative() {
    for text in [
        "x * sigmoid(1.702 * x)",
        "where_pos(x, 2 * x, expm1(x))",
        "max(x, 0.1 * x)",
        "x * tanh(softplus(1.5 * x))",
        "x^3 / (1 + x^2)",
    ] {
        let act = formula(text);
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::new(grid().as_slice(), &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            let fused = act.forward(&x).unwrap();
            let composed = act.forward_composed(&x).unwrap();
            let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
            let pairs = fused
                .to_dtype(DType::F64)
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
                .into_iter()
                .zip(
                    composed
                        .to_dtype(DType::F64)
                        .unwrap()
                        .to_vec1::<f64>()
                        .unwrap(),
                );
            for (a, b) in pairs {
                assert!(
                    (a - b).abs() <= tol * a.abs().max(1.0),
                    "{text} {dtype:?}: {a} vs {b}"
                );
            }
            let var = Var::from_tensor(&x).unwrap();
            let y = act.forward_composed(var.as_tensor()).unwrap();
            let by_autograd = y.sum_all().unwrap().backward().unwrap();
            let by_autograd = by_autograd.get(var.as_tensor()).unwrap();
            let written = act.derivative(&x).unwrap();
            assert_eq!(
                by_autograd
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap(),
                written
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap(),
                "{text} {dtype:?}"
            );
        }
    }
    // At x = 100, expm1 overflows in f32: the gradient stays finite, 2.
    let elu = formula("where_pos(x, 2 * x, expm1(x))");
    let x = Var::new(&[100f32, -1.0], &Device::Cpu).unwrap();
    let y = elu.forward_composed(x.as_tensor()).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    let grad = grads.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(grad[0], 2.0);
    assert!((grad[1] - (-1f32).exp()).abs() < 1e-6);
}

/// A formula is saved by its canonical text and read back to the same function; one accepted
/// despite the safety check says so, and is accepted again when read.
#[test]
fn json_names_the_formula_and_reads_back_to_the_same_function() {
    let act = formula("x*sigmoid(x*1.702)");
    let json = serde_json::to_string(&act).unwrap();
    assert_eq!(json, r#"{"name":"x * sigmoid(1.702 * x)"}"#);
    let back: Activation = serde_json::from_str(&json).unwrap();
    assert_eq!(back, act);
    assert_eq!(back.key(), act.key());
    assert_eq!(act.to_string(), "x * sigmoid(1.702 * x)");

    let risky = Activation::formula("x * exp(x)", NonFinitePolicy::Accept).unwrap();
    let json = serde_json::to_string(&risky).unwrap();
    assert_eq!(json, r#"{"name":"x * exp(x)","accept_non_finite":true}"#);
    assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), risky);
    // A config that does not accept it is refused, although this process accepted it before.
    let refused = serde_json::from_str::<Activation>(r#"{"name":"x * exp(x)"}"#);
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .ends_with("overflows at x = 84.27694 in f32")
    );
    assert!(Activation::from_name("x*exp(x)", None).is_err());
}

/// Each kind of bad name gets its own clear error.
#[test]
fn bad_names_and_formulas_are_refused_clearly() {
    let message = |text: &str| Activation::from_name(text, None).unwrap_err().to_string();
    assert!(matches!(
        Activation::from_name("sigmod", None),
        Err(Error::UnknownName { .. })
    ));
    assert!(message("sigmod").contains("or write a formula of x"));
    let typo = message("x * sigmod(x)");
    assert!(typo.contains("unknown function 'sigmod'"), "{typo}");
    assert!(typo.contains("did you mean 'sigmoid'"), "{typo}");
    assert!(matches!(
        Activation::from_name("", None),
        Err(Error::Formula { .. })
    ));
    assert!(matches!(
        Activation::from_name("log(x)", None),
        Err(Error::NonFinite { .. })
    ));
    assert!(message("relu(x").contains("column"));
    // A formula takes no parameter.
    assert!(matches!(
        Activation::from_name("x * sigmoid(x)", Some(1.0)),
        Err(Error::BadParameter { .. })
    ));
}

/// Threads that make the same formula at once get the one function.
#[test]
fn threads_making_one_formula_get_one_function() {
    let made: Vec<Activation> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| formula("x * tanh(1.25 * x) + 0.5 * x")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for act in &made {
        let (Activation::Formula(a), Activation::Formula(b)) = (act, &made[0]) else {
            panic!("not a formula")
        };
        assert!(std::ptr::eq(*a, *b));
    }
}
