//! The initial weights as a distribution: every tensor of the study's network, for several
//! seeds, against PyTorch's `nn.Linear` initialization, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
//! weights and biases alike, by a Kolmogorov-Smirnov test. A step-by-step trace compares one
//! draw; this compares what every draw comes from.

use actfn_model::{BaseNetwork, BaseNetworkConfig};
use candle_core::Device;

/// Each parameter's values and its fan-in.
fn parameters(seed: u64) -> Vec<(String, Vec<f64>, usize)> {
    let config = BaseNetworkConfig::default();
    let (net, _) = BaseNetwork::seeded(config.clone(), seed, &Device::Cpu).unwrap();
    let fans: Vec<usize> = config.layer_shapes().iter().map(|&(i, _)| i).collect();
    net.named_parameters()
        .into_iter()
        .enumerate()
        .map(|(k, (name, t))| {
            let values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (
                name,
                values.into_iter().map(f64::from).collect(),
                fans[k / 2],
            )
        })
        .collect()
}

#[test]
fn every_initial_tensor_is_pytorchs_uniform() {
    for seed in [0, 1, 42] {
        for (name, values, fan_in) in parameters(seed) {
            let bound = 1.0 / (fan_in as f64).sqrt();
            let test = actfn_stats::ks_uniform(&values, -bound, bound).unwrap();
            assert!(
                test.p > 1e-4,
                "seed {seed}, {name} ({} values): D = {}, p = {}",
                values.len(),
                test.d,
                test.p
            );
        }
    }
}

#[test]
fn the_test_tells_a_two_percent_wider_uniform() {
    // The negative control: the same draws against a bound 2% too wide are refused, so the
    // test above has the power to see a wrong bound on the large tensors.
    let (name, values, fan_in) = parameters(42).remove(0);
    let wrong = 1.02 / (fan_in as f64).sqrt();
    let test = actfn_stats::ks_uniform(&values, -wrong, wrong).unwrap();
    assert!(test.p < 1e-6, "{name}: D = {}, p = {}", test.d, test.p);
}
