//! Tests of the measurements on networks built by hand and on seeded networks.

use std::collections::HashMap;

use actfn_activations::Activation;
use actfn_data::Split;
use actfn_diagnostics::{activation_curves, dead_neurons, layer_outputs, weight_gradients};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

fn tensor(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(values, shape, &Device::Cpu).unwrap()
}

/// A 2-3-2-2 ReLU network with two dead units in the first hidden layer and one in the second,
/// for inputs in [-1, 1].
fn hand_built() -> BaseNetwork {
    let config = BaseNetworkConfig {
        act_fn: Activation::ReLU,
        input_size: 2,
        num_classes: 2,
        hidden_sizes: vec![3, 2],
    };
    let weights = HashMap::from([
        // Unit 0 follows x0 (alive); unit 1 is constantly -1 (dead); unit 2 is at most -8 (dead).
        (
            "layers.0.weight".to_string(),
            tensor(&[1.0, 0.0, 0.0, 0.0, -1.0, -1.0], &[3, 2]),
        ),
        (
            "layers.0.bias".to_string(),
            tensor(&[0.0, -1.0, -10.0], &[3]),
        ),
        // Unit 0 copies unit 0 (alive); unit 1 is constantly -5 (dead).
        (
            "layers.2.weight".to_string(),
            tensor(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[2, 3]),
        ),
        ("layers.2.bias".to_string(), tensor(&[0.0, -5.0], &[2])),
        (
            "layers.4.weight".to_string(),
            tensor(&[1.0, 0.0, 0.0, 1.0], &[2, 2]),
        ),
        ("layers.4.bias".to_string(), tensor(&[0.0, 0.0], &[2])),
    ]);
    BaseNetwork::new(
        config,
        VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu),
    )
    .unwrap()
}

#[test]
fn dead_neurons_of_a_hand_built_network() {
    let images: Vec<f32> = (0..20)
        .flat_map(|i| [i as f32 / 10.0 - 1.0, 1.0 - i as f32 / 10.0])
        .collect();
    let split = Split {
        images: tensor(&images, &[20, 2]),
        labels: Tensor::zeros(20, DType::U32, &Device::Cpu).unwrap(),
    };
    for batch_size in [1, 3, 20] {
        let dead = dead_neurons(&hand_built(), &split, batch_size).unwrap();
        assert_eq!(dead.dead, [2, 1], "batch size {batch_size}");
        assert_eq!(dead.total, [3, 2]);
        assert_eq!(dead.percentages(), [200.0 / 3.0, 50.0]);
        assert_eq!(dead.percentages_text(), "66.67%, 50.00%");
    }
    // Only images with x0 <= 0: unit 0 never fires either, so every unit is dead.
    let left = Split {
        images: tensor(&images[..22], &[11, 2]),
        labels: Tensor::zeros(11, DType::U32, &Device::Cpu).unwrap(),
    };
    assert_eq!(dead_neurons(&hand_built(), &left, 4).unwrap().dead, [3, 2]);
}

#[test]
fn activation_curve_gradients_match_the_derivatives() {
    let curves =
        activation_curves(Activation::builtins(), 1000, (-5.0, 5.0), &Device::Cpu).unwrap();
    assert_eq!(curves.len(), 13);
    for (curve, act) in curves.iter().zip(Activation::builtins()) {
        assert_eq!((curve.xs[0], curve.xs[999]), (-5.0, 5.0));
        let x = Tensor::new(curve.xs.as_slice(), &Device::Cpu).unwrap();
        let derivative = act.derivative(&x).unwrap().to_vec1::<f32>().unwrap();
        for (i, (g, d)) in curve.grads.iter().zip(&derivative).enumerate() {
            assert!(
                (g - d).abs() < 1e-6,
                "{} at {}: autograd {g}, derivative {d}",
                curve.name,
                curve.xs[i]
            );
        }
    }
}

#[test]
fn sigmoid_gradients_vanish_towards_the_input_at_initialization() {
    let images = Tensor::from_vec(
        (0..64 * 784)
            .map(|i| ((i * 31 % 255) as f32 / 255.0 - 0.5) / 0.5)
            .collect::<Vec<_>>(),
        (64, 784),
        &Device::Cpu,
    )
    .unwrap();
    let labels = Tensor::from_vec(
        (0..64u32).map(|i| i % 10).collect::<Vec<_>>(),
        64,
        &Device::Cpu,
    )
    .unwrap();
    let config = BaseNetworkConfig::with_activation(Activation::Sigmoid);
    let (net, _) = BaseNetwork::seeded(config, 42, &Device::Cpu).unwrap();
    let grads = weight_gradients(&net, &images, &labels).unwrap();
    let names: Vec<&str> = grads.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.2.weight",
            "layers.4.weight",
            "layers.6.weight",
            "layers.8.weight"
        ]
    );
    assert_eq!(grads[0].values.len(), 512 * 784);
    let (first, last) = (grads[0].summary.std, grads[4].summary.std);
    assert!(
        first * 100.0 < last,
        "layer 0 std {first} should be orders of magnitude below layer 8 std {last}"
    );

    let outputs = layer_outputs(&net, &images).unwrap();
    let titles: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(titles[..2], ["Layer 0 - Linear", "Layer 1 - Sigmoid"]);
    assert_eq!(outputs.len(), 8);
    assert!(outputs[1].summary.min > 0.0 && outputs[1].summary.max < 1.0);
}
