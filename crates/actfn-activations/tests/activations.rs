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

fn grid(dtype: DType) -> Tensor {
    // 1001 points in [-5, 5], step 0.01: includes exactly 0.
    let xs: Vec<f64> = (0..=1000).map(|i| -5.0 + f64::from(i) * 0.01).collect();
    Tensor::new(xs, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// The gradient of `sum(act(x))` with respect to `x`, by candle's autograd.
fn autograd(act: Activation, x: &Tensor) -> Tensor {
    let var = Var::from_tensor(x).unwrap();
    let y = act.forward(var.as_tensor()).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    grads.get(var.as_tensor()).unwrap().clone()
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap()
}

#[test]
fn values_match_the_study_formulas_on_a_grid() {
    for act in Activation::all() {
        for dtype in [DType::F32, DType::F64] {
            let x = grid(dtype);
            let tolerance = if dtype == DType::F32 { 1e-6 } else { 1e-12 };
            for (xi, yi) in to_vec(&x)
                .into_iter()
                .zip(to_vec(&act.forward(&x).unwrap()))
            {
                let expected = closed_form(act, xi);
                assert!(
                    (yi - expected).abs() <= tolerance,
                    "{act} at {xi}: {yi} vs {expected} ({dtype:?})"
                );
            }
        }
    }
}

#[test]
fn autograd_matches_the_written_derivative_and_finite_differences() {
    let h = 1e-6;
    for act in Activation::all() {
        let x = grid(DType::F64);
        let by_autograd = to_vec(&autograd(act, &x));
        let written = to_vec(&act.derivative(&x).unwrap());
        for ((xi, a), w) in to_vec(&x).into_iter().zip(by_autograd).zip(written) {
            assert!(
                (a - w).abs() < 1e-12,
                "{act} at {xi}: autograd {a}, written {w}"
            );
            // Central differences are undefined at the kinks of relu, leakyrelu and elu.
            if xi.abs() > 2.0 * h {
                let fd = (closed_form(act, xi + h) - closed_form(act, xi - h)) / (2.0 * h);
                assert!(
                    (a - fd).abs() < 1e-6,
                    "{act} at {xi}: autograd {a}, finite difference {fd}"
                );
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
        assert_eq!(to_vec(&autograd(act, &zero)), [grad], "{name}'(0)");
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
        for act in Activation::all() {
            let y = to_vec(&act.forward(&x).unwrap());
            let g = to_vec(&autograd(act, &x));
            for ((xi, yi), gi) in xs.iter().zip(y).zip(g) {
                assert!(
                    yi.is_finite() && gi.is_finite(),
                    "{act} at {xi} ({dtype:?}): y {yi}, grad {gi}"
                );
            }
        }
    }
}

#[test]
fn stable_tanh_equals_the_study_form_and_saturates_where_it_overflows() {
    let x = Tensor::new(
        &[-120f32, -89.0, -20.0, -1.0, 0.5, 20.0, 89.0, 120.0],
        &Device::Cpu,
    )
    .unwrap();
    // The study's form on the same tensor: NaN beyond |x| of about 89 in f32.
    let (e, ne) = (x.exp().unwrap(), x.neg().unwrap().exp().unwrap());
    let study = to_vec(&((&e - &ne).unwrap() / (&e + &ne).unwrap()).unwrap());
    let ours = to_vec(&Activation::Tanh.forward(&x).unwrap());
    assert!(
        study[0].is_nan() && study[7].is_nan(),
        "the study's form overflows: {study:?}"
    );
    for (i, (s, o)) in study.iter().zip(&ours).enumerate() {
        if s.is_finite() {
            assert!((s - o).abs() < 1e-6, "index {i}: study {s}, ours {o}");
        }
    }
    assert_eq!((ours[0], ours[7]), (-1.0, 1.0));
}

#[test]
fn nan_in_nan_out() {
    let x = Tensor::new(&[f32::NAN], &Device::Cpu).unwrap();
    for act in Activation::all() {
        assert!(to_vec(&act.forward(&x).unwrap())[0].is_nan(), "{act}(NaN)");
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
