//! Tests of the six activation functions: values, derivatives, autograd, edge cases, JSON.

use actfn_activations::{Activation, NAMES};
use candle_core::{DType, Device, Tensor, Var};

/// The study's formulas in f64 scalars (the notebook's `forward` methods), the reference for the
/// tensor forms.
fn closed_form(act: Activation, x: f64) -> f64 {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    match act {
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => (x.exp() - (-x).exp()) / (x.exp() + (-x).exp()),
        Activation::ReLU => x * f64::from(u8::from(x > 0.0)),
        Activation::LeakyReLU { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha * x
            }
        }
        Activation::ELU => {
            if x > 0.0 {
                x
            } else {
                x.exp() - 1.0
            }
        }
        Activation::Swish => x * sigmoid(x),
    }
}

/// A way to apply an activation: the fused kernel (the CPU default) or the composed reference.
type Form = fn(&Activation, &Tensor) -> candle_core::Result<Tensor>;

/// Both forms, each test runs on each.
const FORMS: [(&str, Form); 2] = [
    ("fused", Activation::forward),
    ("composed", Activation::forward_composed),
];

fn grid(dtype: DType) -> Tensor {
    // 1001 points in [-5, 5], step 0.01: includes exactly 0.
    let xs: Vec<f64> = (0..=1000).map(|i| -5.0 + f64::from(i) * 0.01).collect();
    Tensor::new(xs, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// The gradient of `sum(act(x))` with respect to `x`, by candle's autograd through `form`.
fn autograd(form: Form, act: Activation, x: &Tensor) -> Tensor {
    let var = Var::from_tensor(x).unwrap();
    let y = form(&act, var.as_tensor()).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    grads.get(var.as_tensor()).unwrap().clone()
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap()
}

#[test]
fn values_match_the_study_formulas_on_a_grid() {
    for ((form_name, form), act) in FORMS
        .into_iter()
        .flat_map(|f| Activation::all().map(|a| (f, a)))
    {
        for dtype in [DType::F32, DType::F64] {
            let x = grid(dtype);
            let tolerance = if dtype == DType::F32 { 1e-6 } else { 1e-12 };
            for (xi, yi) in to_vec(&x).into_iter().zip(to_vec(&form(&act, &x).unwrap())) {
                let expected = closed_form(act, xi);
                let message = format!("{form_name} {act} at {xi}: {yi} vs {expected} ({dtype:?})");
                assert!((yi - expected).abs() <= tolerance, "{message}");
            }
        }
    }
}

#[test]
fn autograd_matches_the_written_derivative_and_finite_differences() {
    let h = 1e-6;
    for ((form_name, form), act) in FORMS
        .into_iter()
        .flat_map(|f| Activation::all().map(|a| (f, a)))
    {
        let x = grid(DType::F64);
        let by_autograd = to_vec(&autograd(form, act, &x));
        let written = to_vec(&act.derivative(&x).unwrap());
        for ((xi, a), w) in to_vec(&x).into_iter().zip(by_autograd).zip(written) {
            assert!(
                (a - w).abs() < 1e-12,
                "{form_name} {act} at {xi}: autograd {a}, written {w}"
            );
            // Central differences are undefined at the kinks of relu, leakyrelu and elu.
            if xi.abs() > 2.0 * h {
                let fd = (closed_form(act, xi + h) - closed_form(act, xi - h)) / (2.0 * h);
                let message =
                    format!("{form_name} {act} at {xi}: autograd {a}, finite difference {fd}");
                assert!((a - fd).abs() < 1e-6, "{message}");
            }
        }
    }
}

#[test]
fn gradient_at_zero_is_pytorchs() {
    let zero = Tensor::new(&[0f64], &Device::Cpu).unwrap();
    let expected = [
        ("sigmoid", 0.25),
        ("tanh", 1.0),
        ("relu", 0.0),
        ("leakyrelu", 0.1),
        ("elu", 1.0),
        ("swish", 0.5),
    ];
    for (name, grad) in expected {
        let act: Activation = name.parse().unwrap();
        for (form_name, form) in FORMS {
            assert_eq!(
                to_vec(&autograd(form, act, &zero)),
                [grad],
                "{form_name} {name}'(0)"
            );
        }
        assert_eq!(
            to_vec(&act.derivative(&zero).unwrap()),
            [grad],
            "{name}'(0) written"
        );
    }
}

#[test]
fn finite_output_and_gradient_at_extreme_inputs() {
    let xs = [-1e4f32, -100.0, -89.0, -0.0, 0.0, 89.0, 100.0, 1e4];
    for dtype in [DType::F32, DType::F64] {
        let x = Tensor::new(&xs, &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        for ((form_name, form), act) in FORMS
            .into_iter()
            .flat_map(|f| Activation::all().map(|a| (f, a)))
        {
            let y = to_vec(&form(&act, &x).unwrap());
            let g = to_vec(&autograd(form, act, &x));
            for ((xi, yi), gi) in xs.iter().zip(y).zip(g) {
                let message = format!("{form_name} {act} at {xi} ({dtype:?}): y {yi}, grad {gi}");
                assert!(yi.is_finite() && gi.is_finite(), "{message}");
            }
        }
    }
}

#[test]
fn stable_tanh_equals_the_study_form_and_saturates_where_it_overflows() {
    let xs = [-120f32, -89.0, -20.0, -1.0, 0.5, 20.0, 89.0, 120.0];
    let x = Tensor::new(&xs, &Device::Cpu).unwrap();
    // The study's form on the same tensor: NaN beyond |x| of about 89 in f32.
    let (e, ne) = (x.exp().unwrap(), x.neg().unwrap().exp().unwrap());
    let study = to_vec(&((&e - &ne).unwrap() / (&e + &ne).unwrap()).unwrap());
    assert!(
        study[0].is_nan() && study[7].is_nan(),
        "the study's form overflows: {study:?}"
    );
    for (form_name, form) in FORMS {
        let ours = to_vec(&form(&Activation::Tanh, &x).unwrap());
        for (i, (s, o)) in study.iter().zip(&ours).enumerate() {
            if s.is_finite() {
                assert!(
                    (s - o).abs() < 1e-6,
                    "{form_name} index {i}: study {s}, ours {o}"
                );
            }
        }
        assert_eq!((ours[0], ours[7]), (-1.0, 1.0), "{form_name}");
    }
}

#[test]
fn nan_in_nan_out() {
    let x = Tensor::new(&[f32::NAN], &Device::Cpu).unwrap();
    for ((form_name, form), act) in FORMS
        .into_iter()
        .flat_map(|f| Activation::all().map(|a| (f, a)))
    {
        assert!(
            to_vec(&form(&act, &x).unwrap())[0].is_nan(),
            "{form_name} {act}(NaN)"
        );
    }
}

#[test]
fn names_parse_case_insensitively_and_unknown_names_list_the_valid_ones() {
    for (name, act) in NAMES.iter().zip(Activation::all()) {
        assert_eq!(name.parse::<Activation>().unwrap(), act);
        assert_eq!(name.to_uppercase().parse::<Activation>().unwrap(), act);
        assert_eq!(act.key(), *name);
    }
    let err = "gelu".parse::<Activation>().unwrap_err().to_string();
    assert!(
        err.contains("\"gelu\"") && NAMES.iter().all(|n| err.contains(n)),
        "{err}"
    );
}

#[test]
fn json_is_the_studys() {
    let cases = [
        (r#"{"name":"Sigmoid"}"#, Activation::Sigmoid),
        (
            r#"{"name":"LeakyReLU","alpha":0.1}"#,
            Activation::LeakyReLU { alpha: 0.1 },
        ),
        (
            r#"{"name":"LeakyReLU","alpha":0.25}"#,
            Activation::LeakyReLU { alpha: 0.25 },
        ),
        (r#"{"name":"ReLU"}"#, Activation::ReLU),
    ];
    for (json, act) in cases {
        assert_eq!(serde_json::to_string(&act).unwrap(), json);
        assert_eq!(serde_json::from_str::<Activation>(json).unwrap(), act);
    }
    let bad = [
        (r#"{"name":"ReLU","alpha":0.1}"#, "only LeakyReLU takes"),
        (r#"{"name":"Softplus"}"#, "valid names are"),
        (r#"{"name":"ELU","beta":1}"#, "unknown field `beta`"),
    ];
    for (json, message) in bad {
        let err = serde_json::from_str::<Activation>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{json}: {err}");
    }
}

#[test]
fn the_fused_backward_equals_grad_times_the_written_derivative() {
    // A long input, so that the kernels also take their multi-threaded path.
    let xs: Vec<f32> = (0..70_001).map(|i| (i as f32 - 35_000.0) * 3e-4).collect();
    let gs: Vec<f32> = (0..70_001)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let (x, g) = (
        Tensor::new(xs, &Device::Cpu).unwrap(),
        Tensor::new(gs, &Device::Cpu).unwrap(),
    );
    for act in Activation::all() {
        let y = act.forward(&x).unwrap();
        let fused = to_vec(&act.backward(&x, &y, &g).unwrap());
        let reference = to_vec(&(&g * act.derivative(&x).unwrap()).unwrap());
        let y_fused = to_vec(&act.forward(&x).unwrap());
        let y_composed = to_vec(&act.forward_composed(&x).unwrap());
        for i in 0..fused.len() {
            assert!(
                (fused[i] - reference[i]).abs() < 1e-6,
                "{act} backward at {i}: {} vs {}",
                fused[i],
                reference[i]
            );
            assert!(
                (y_fused[i] - y_composed[i]).abs() < 1e-6,
                "{act} at {i}: {} vs {}",
                y_fused[i],
                y_composed[i]
            );
        }
    }
}
