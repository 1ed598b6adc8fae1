//! The GPU paths against the CPU's: every activation's composed form, written derivative and
//! autograd gradient; a network's loss and gradients by tensor operations; SGD steps. They run
//! on `$ACTFN_TEST_DEVICE` (default: `cuda` in a build with `--features cuda`, else `metal`).
//! `scripts/gpu-check.sh` runs them on a machine with an NVIDIA GPU and the macOS workflow on a
//! runner with Metal (with `--include-ignored`: elsewhere they are listed as ignored, since a
//! build with the feature may run where there is no GPU); `.ci/run`, which has no GPU, compiles
//! them (`--features cuda`) so that a change that breaks the CUDA path fails CI.
#![cfg(any(feature = "cuda", feature = "metal"))]

use actfn_activations::Activation;
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_tests::values;
use actfn_train::{Sgd, SgdConfig, train_step};
use candle_core::{Device, Tensor, Var};
use candle_nn::Optimizer;

fn gpu() -> Device {
    let name = std::env::var("ACTFN_TEST_DEVICE").unwrap_or_else(|_| {
        if cfg!(feature = "cuda") {
            "cuda"
        } else {
            "metal"
        }
        .into()
    });
    actfn_model::parse_device(&name).unwrap_or_else(|e| {
        panic!("these tests need a GPU ({name}) and its driver (scripts/gpu-check.sh): {e}")
    })
}

/// The largest gap between `a` and `b`, relative to `1 + |b|`.
fn gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f32::max)
}

#[test]
#[ignore = "needs a GPU and its driver; scripts/gpu-check.sh and the macOS workflow run it"]
fn activations_on_the_gpu_match_the_cpu_kernels() -> candle_core::Result<()> {
    let gpu = gpu();
    let xs: Vec<f32> = (0..4097).map(|i| -8.0 + 16.0 * i as f32 / 4096.0).collect();
    let cpu_x = Tensor::new(xs.as_slice(), &Device::Cpu)?;
    let gpu_x = cpu_x.to_device(&gpu)?;
    for act in Activation::builtins() {
        // The CPU's fused kernels: the function and, through `backward` with unit gradients, its
        // derivative.
        let cpu_y = act.forward(&cpu_x)?;
        let cpu_slope = act.backward(&cpu_x, &cpu_y, &cpu_x.ones_like()?)?;
        // The GPU's composed forms, written derivative and autograd through the composition.
        let gpu_y = act.forward(&gpu_x)?;
        let gpu_slope = act.derivative(&gpu_x)?;
        let var = Var::from_tensor(&gpu_x)?;
        let grads = act.forward(var.as_tensor())?.sum_all()?.backward()?;
        let autograd = grads.get(var.as_tensor()).expect("a gradient for x");

        let name = act.name();
        let forward_gap = gap(&values(&gpu_y), &values(&cpu_y));
        assert!(
            forward_gap < 1e-5,
            "{name}: f(x) differs by {forward_gap:e}"
        );
        let slope_gap = gap(&values(&gpu_slope), &values(&cpu_slope));
        assert!(slope_gap < 1e-4, "{name}: f'(x) differs by {slope_gap:e}");
        let autograd_gap = gap(&values(autograd), &values(&cpu_slope));
        assert!(
            autograd_gap < 1e-4,
            "{name}: autograd differs by {autograd_gap:e}"
        );
    }
    Ok(())
}

/// A batch of `n` images in [-1, 1] and their labels, the same on every run.
fn batch(n: usize, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let pixels: Vec<f32> = (0..n * 784)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let labels: Vec<u32> = (0..n as u32).map(|i| (i * 7) % 10).collect();
    Ok((
        Tensor::from_vec(pixels, (n, 1, 28, 28), device)?,
        Tensor::new(labels.as_slice(), device)?,
    ))
}

#[test]
#[ignore = "needs a GPU and its driver; scripts/gpu-check.sh and the macOS workflow run it"]
fn network_gradients_on_the_gpu_match_the_cpu() -> anyhow::Result<()> {
    let gpu = gpu();
    for act in Activation::study() {
        let config = BaseNetworkConfig::with_activation(act);
        let (cpu_net, _) = BaseNetwork::seeded(config.clone(), 42, &Device::Cpu)?;
        let (gpu_net, _) = BaseNetwork::seeded(config, 42, &gpu)?;
        let (images, labels) = batch(128, &Device::Cpu)?;
        let on_cpu = cpu_net.loss_and_gradients(&images, &labels)?;
        let on_gpu =
            gpu_net.loss_and_gradients(&images.to_device(&gpu)?, &labels.to_device(&gpu)?)?;
        let loss_gap = gap(&values(on_gpu.loss()), &values(on_cpu.loss()));
        assert!(
            loss_gap < 1e-5,
            "{}: loss differs by {loss_gap:e}",
            act.name()
        );
        for ((name, cpu_p), (_, gpu_p)) in cpu_net
            .named_parameters()
            .iter()
            .zip(gpu_net.named_parameters())
        {
            let expected = values(on_cpu.get(cpu_p).expect("a CPU gradient"));
            let actual = values(on_gpu.get(&gpu_p).expect("a GPU gradient"));
            let scale = expected.iter().fold(1e-12f32, |m, g| m.max(g.abs()));
            let worst = actual
                .iter()
                .zip(&expected)
                .map(|(a, e)| (a - e).abs() / scale)
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-3,
                "{}: the gradient of {name} differs by {worst:e} of its largest element",
                act.name()
            );
        }
    }
    Ok(())
}

#[test]
#[ignore = "needs a GPU and its driver; scripts/gpu-check.sh and the macOS workflow run it"]
fn sgd_steps_on_the_gpu_match_the_cpu() -> anyhow::Result<()> {
    let gpu = gpu();
    let config = BaseNetworkConfig::with_activation(Activation::ReLU);
    let train = |device: &Device| -> anyhow::Result<Vec<Vec<f32>>> {
        let (net, varmap) = BaseNetwork::seeded(config.clone(), 7, device)?;
        let mut sgd = Sgd::new(varmap.all_vars(), SgdConfig::default())?;
        let (images, labels) = batch(256, device)?;
        for _ in 0..5 {
            train_step(&net, &mut sgd, &images, &labels)?;
        }
        Ok(net
            .named_parameters()
            .iter()
            .map(|(_, p)| values(p))
            .collect())
    };
    let (on_cpu, on_gpu) = (train(&Device::Cpu)?, train(&gpu)?);
    for (i, (c, g)) in on_cpu.iter().zip(&on_gpu).enumerate() {
        let worst = gap(g, c);
        assert!(
            worst < 1e-4,
            "parameter {i} differs by {worst:e} after 5 steps"
        );
    }
    Ok(())
}
