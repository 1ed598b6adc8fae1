//! Tests of the network: parameter count, seeded initialization, forward shapes, checkpoints.

use actfn_activations::Activation;
use actfn_model::{BaseNetwork, BaseNetworkConfig, Error, config_path, weights_path};
use candle_core::{DType, Device, Tensor};

/// Every value of a tensor, flattened.
fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn weights(net: &BaseNetwork) -> Vec<(String, Vec<f32>)> {
    net.named_parameters()
        .into_iter()
        .map(|(name, t)| (name, values(&t)))
        .collect()
}

/// A fixed input: 3 images with a deterministic pattern in [-1, 1].
fn fixed_input() -> Tensor {
    let xs: Vec<f32> = (0..3 * 784)
        .map(|i| ((i * 37 % 255) as f32 / 255.0 - 0.5) / 0.5)
        .collect();
    Tensor::from_vec(xs, (3, 1, 28, 28), &Device::Cpu).unwrap()
}

#[test]
fn the_default_network_has_the_studys_parameter_count() {
    let (net, varmap) =
        BaseNetwork::seeded(BaseNetworkConfig::default(), 42, &Device::Cpu).unwrap();
    assert_eq!(net.parameter_count(), 633_226);
    assert_eq!(
        varmap
            .all_vars()
            .iter()
            .map(|v| v.elem_count())
            .sum::<usize>(),
        633_226
    );
    let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names[..4],
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.2.weight",
            "layers.2.bias"
        ]
    );
    assert_eq!(names[9], "layers.8.bias");
}

#[test]
fn initialization_follows_pytorchs_linear_default() {
    let (net, _) = BaseNetwork::seeded(BaseNetworkConfig::default(), 42, &Device::Cpu).unwrap();
    for ((name, values), (fan_in, _)) in weights(&net)
        .iter()
        .step_by(2)
        .zip(net.config().layer_shapes())
    {
        let bound = 1.0 / (fan_in as f32).sqrt();
        assert!(
            values.iter().all(|v| v.abs() <= bound),
            "{name} exceeds ±{bound}"
        );
    }
    let (_, first) = &weights(&net)[0];
    let n = first.len() as f64;
    let mean = first.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let std = (first
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let expected = 1.0 / (3.0f64 * 784.0).sqrt();
    assert!(
        (std / expected - 1.0).abs() < 0.02,
        "std {std}, expected {expected}"
    );
}

#[test]
fn the_same_seed_gives_identical_weights_whatever_the_activation() {
    let reference = weights(
        &BaseNetwork::seeded(BaseNetworkConfig::default(), 42, &Device::Cpu)
            .unwrap()
            .0,
    );
    for act in Activation::builtins().iter().copied() {
        let config = BaseNetworkConfig::with_activation(act);
        let net = BaseNetwork::seeded(config, 42, &Device::Cpu).unwrap().0;
        // A learned slope (PReLU) draws nothing: the weights are everyone's, the slopes 0.25.
        let (slopes, linear): (Vec<_>, Vec<_>) = weights(&net)
            .into_iter()
            .partition(|(name, _)| reference.iter().all(|(r, _)| r != name));
        assert!(linear == reference, "{act} starts from other weights");
        assert!(
            slopes.iter().all(|(_, v)| v == &[0.25]),
            "{act}: slopes {slopes:?}"
        );
        assert_eq!(slopes.len(), if act.learned_parameter() { 4 } else { 0 });
    }
    let other = weights(
        &BaseNetwork::seeded(BaseNetworkConfig::default(), 43, &Device::Cpu)
            .unwrap()
            .0,
    );
    assert!(other != reference, "seed 43 gave seed 42's weights");
}

#[test]
fn forward_flattens_and_forward_layers_returns_every_layer() {
    let (net, _) = BaseNetwork::seeded(BaseNetworkConfig::default(), 0, &Device::Cpu).unwrap();
    let x = fixed_input();
    let logits = net.forward(&x).unwrap();
    assert_eq!(logits.dims(), [3, 10]);
    let layers = net.forward_layers(&x).unwrap();
    let widths: Vec<usize> = layers.iter().map(|t| t.dims()[1]).collect();
    assert_eq!(widths, [512, 512, 256, 256, 256, 256, 128, 128, 10]);
    // The same path as the evaluation's logits, to the bit; the differentiable forward pass
    // (candle's matmul, another summation order) to float precision.
    let last = values(layers.last().unwrap());
    assert_eq!(last, values(&net.forward_no_grad(&x).unwrap()));
    for (a, b) in last.iter().zip(values(&logits)) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    let err = net
        .forward(&Tensor::zeros((2, 783), DType::F32, &Device::Cpu).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    assert!(err.to_string().contains("783 features"), "{err}");
}

#[test]
fn save_then_load_gives_bit_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    for act in Activation::builtins().iter().copied() {
        let (net, _) =
            BaseNetwork::seeded(BaseNetworkConfig::with_activation(act), 7, &Device::Cpu).unwrap();
        let name = format!("FashionMNIST_{}", act.key());
        net.save(dir.path(), &name).unwrap();
        let loaded = BaseNetwork::load(dir.path(), &name, &Device::Cpu).unwrap();
        assert_eq!(loaded.config(), net.config());
        // The same computation on both (a trained network's variables would otherwise take the
        // differentiable path and the loaded tensors the inference path).
        let (a, b) = (
            net.forward_no_grad(&fixed_input()).unwrap(),
            loaded.forward_no_grad(&fixed_input()).unwrap(),
        );
        assert_eq!(
            a.to_vec2::<f32>().unwrap(),
            b.to_vec2::<f32>().unwrap(),
            "{act}"
        );
    }
    // No temporary file is left beside the checkpoints.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_checkpoint_that_does_not_fit_its_config_names_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let (net, _) = BaseNetwork::seeded(BaseNetworkConfig::default(), 1, &Device::Cpu).unwrap();
    net.save(dir.path(), "net").unwrap();
    // Same weights, but a config whose second hidden layer is wider.
    let wider = BaseNetworkConfig {
        hidden_sizes: vec![512, 300, 256, 128],
        ..BaseNetworkConfig::default()
    };
    std::fs::write(config_path(dir.path(), "net"), wider.to_json()).unwrap();
    let err = BaseNetwork::load(dir.path(), "net", &Device::Cpu).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Checkpoint { .. }), "{message}");
    assert!(
        message.contains("layers.2.weight") && message.contains("[256, 512]"),
        "{message}"
    );
    assert!(message.contains("net.safetensors"), "{message}");
}

#[test]
fn truncated_and_missing_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (net, _) = BaseNetwork::seeded(BaseNetworkConfig::default(), 1, &Device::Cpu).unwrap();
    net.save(dir.path(), "net").unwrap();
    let weights_file = weights_path(dir.path(), "net");
    let bytes = std::fs::read(&weights_file).unwrap();
    for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&weights_file, &bytes[..cut]).unwrap();
        let message = BaseNetwork::load(dir.path(), "net", &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("net.safetensors") && message.contains("not a readable safetensors"),
            "cut {cut}: {message}"
        );
    }
    std::fs::remove_file(config_path(dir.path(), "net")).unwrap();
    let message = BaseNetwork::load(dir.path(), "net", &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(message.contains("net.config"), "{message}");
}

#[test]
fn a_checkpoint_with_non_finite_weights_is_refused_by_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let (net, _) = BaseNetwork::seeded(BaseNetworkConfig::default(), 1, &Device::Cpu).unwrap();
    for (bad, name) in [(f32::NAN, "nan"), (f32::INFINITY, "inf")] {
        let mut tensors: std::collections::HashMap<String, Tensor> =
            net.named_parameters().into_iter().collect();
        // One value of the third layer's bias, as a diverged run would leave it.
        let mut bias = tensors["layers.4.bias"].to_vec1::<f32>().unwrap();
        bias[5] = bad;
        tensors.insert(
            "layers.4.bias".into(),
            Tensor::new(bias.as_slice(), &Device::Cpu).unwrap(),
        );
        net.save(dir.path(), name).unwrap();
        candle_core::safetensors::save(&tensors, weights_path(dir.path(), name)).unwrap();
        let err = BaseNetwork::load(dir.path(), name, &Device::Cpu).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Checkpoint { .. }), "{message}");
        assert!(
            message.contains("layers.4.bias") && message.contains("flat index 5"),
            "{message}"
        );
    }
}

#[test]
fn a_label_that_is_not_a_class_is_refused_by_name() {
    let (net, _vars) = BaseNetwork::seeded(BaseNetworkConfig::default(), 1, &Device::Cpu).unwrap();
    let images = Tensor::zeros((2, 784), DType::F32, &Device::Cpu).unwrap();
    let labels = Tensor::new(&[3u32, 10], &Device::Cpu).unwrap();
    let err = net.loss_and_gradients(&images, &labels).unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    assert!(
        err.to_string()
            .contains("label 10 at position 1 is not a class"),
        "{err}"
    );
}

#[test]
fn a_prelu_checkpoint_keeps_its_learned_slopes_under_pytorchs_names() {
    let config = BaseNetworkConfig::with_activation(Activation::PReLU { init: 0.25 });
    let (net, varmap) = BaseNetwork::seeded(config, 7, &Device::Cpu).unwrap();
    // Learned slopes, one per hidden layer, as nn.Sequential names an nn.PReLU's weight.
    {
        let vars = varmap.data().lock().unwrap();
        for (i, value) in [0.1f32, -0.2, 0.6, 1.3].into_iter().enumerate() {
            vars[&format!("layers.{}.weight", 2 * i + 1)]
                .set(&Tensor::new(&[value], &Device::Cpu).unwrap())
                .unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    net.save(dir.path(), "prelu").unwrap();
    let loaded = BaseNetwork::load(dir.path(), "prelu", &Device::Cpu).unwrap();
    assert_eq!(weights(&loaded), weights(&net));
    let slopes: Vec<f32> = loaded.slopes().iter().map(|s| values(s)[0]).collect();
    assert_eq!(slopes, [0.1, -0.2, 0.6, 1.3]);
    assert_eq!(net.parameter_count(), 633_226 + 4);
    assert_eq!(
        values(&loaded.forward_no_grad(&fixed_input()).unwrap()),
        values(&net.forward_no_grad(&fixed_input()).unwrap())
    );
}
