//! What the optimizers' tests share: a few steps of a quadratic loss by both update paths (the
//! one-pass CPU kernel and the tensor operations), which must agree to the last bit.

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use candle_nn::Optimizer;

/// An optimizer with both update paths.
pub(crate) trait BothPaths: Optimizer {
    /// One update: in place on the CPU with `fused`, else by tensor operations.
    fn step_with(&mut self, grads: &GradStore, fused: bool) -> candle_core::Result<()>;
}

impl BothPaths for super::Sgd {
    fn step_with(&mut self, grads: &GradStore, fused: bool) -> candle_core::Result<()> {
        super::Sgd::step_with(self, grads, fused)
    }
}

impl BothPaths for super::Adam {
    fn step_with(&mut self, grads: &GradStore, fused: bool) -> candle_core::Result<()> {
        super::Adam::step_with(self, grads, fused)
    }
}

/// The weights after each of three steps from w = [1, -2] on the loss sum([1, 3] * w^2) / 2, as
/// the PyTorch snippets beside the tests compute them; both paths must agree to the bit.
pub(crate) fn three_steps<O: BothPaths>(config: O::Config) -> Vec<Vec<f64>>
where
    O::Config: Clone + std::fmt::Debug,
{
    let run = |fused: bool| -> Vec<Vec<f64>> {
        let w = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
        let scale = Tensor::new(&[1.0f64, 3.0], &Device::Cpu).unwrap();
        let mut optimizer = O::new(vec![w.clone()], config.clone()).unwrap();
        (0..3)
            .map(|_| {
                let loss = (w.as_tensor().sqr().unwrap() * &scale)
                    .unwrap()
                    .sum_all()
                    .unwrap();
                let grads = (loss / 2.0).unwrap().backward().unwrap();
                optimizer.step_with(&grads, fused).unwrap();
                w.as_tensor().to_vec1::<f64>().unwrap()
            })
            .collect()
    };
    let (fused, plain) = (run(true), run(false));
    assert_eq!(
        fused, plain,
        "fused and tensor-op updates differ for {config:?}"
    );
    fused
}

/// Three steps on a parameter long enough to be split between threads, by both paths: asserts
/// that no element differs in a bit.
pub(crate) fn long_f32_paths_agree<O: BothPaths>(config: O::Config)
where
    O::Config: Clone + std::fmt::Debug,
{
    let n = 100_003;
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let scale: Vec<f32> = (0..n).map(|i| 0.5 + (i % 13) as f32 / 7.0).collect();
    let run = |fused: bool| -> Vec<f32> {
        let w = Var::new(values.as_slice(), &Device::Cpu).unwrap();
        let scale = Tensor::new(scale.as_slice(), &Device::Cpu).unwrap();
        let mut optimizer = O::new(vec![w.clone()], config.clone()).unwrap();
        for _ in 0..3 {
            let loss = (w.as_tensor().sqr().unwrap() * &scale)
                .unwrap()
                .sum_all()
                .unwrap();
            optimizer
                .step_with(&loss.backward().unwrap(), fused)
                .unwrap();
        }
        w.as_tensor().to_vec1().unwrap()
    };
    let (fused, plain) = (run(true), run(false));
    let differing = fused
        .iter()
        .zip(&plain)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(
        differing, 0,
        "{differing} of {n} elements differ for {config:?}"
    );
}
