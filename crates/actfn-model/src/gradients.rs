//! The training step's forward and backward pass, written out: on slices for `f32` on the CPU,
//! as tensor operations elsewhere.

use candle_core::backprop::GradStore;
use candle_core::{D, DType, Tensor};

use crate::network::Graph;
use crate::{BaseNetwork, Result, cpu};

/// The loss of a batch, its logits and the gradients of every parameter, from
/// [`BaseNetwork::loss_and_gradients`].
#[derive(Debug)]
pub struct Gradients {
    loss: Tensor,
    logits: Tensor,
    grads: GradStore,
    weight_norms: Vec<f64>,
}

impl Gradients {
    /// Mean cross-entropy over the batch (a scalar tensor).
    pub fn loss(&self) -> &Tensor {
        &self.loss
    }

    /// The logits, `[N, num_classes]`.
    pub fn logits(&self) -> &Tensor {
        &self.logits
    }

    /// The gradient of the loss for each parameter, keyed as candle's autograd keys them, so
    /// that a `candle_nn::Optimizer` steps with it as it is.
    pub fn grad_store(&self) -> &GradStore {
        &self.grads
    }

    /// The gradient of one parameter.
    pub fn get(&self, parameter: &Tensor) -> Option<&Tensor> {
        self.grads.get(parameter)
    }

    /// The L2 norm of each linear layer's weight gradient, input side first.
    pub fn weight_norms(&self) -> &[f64] {
        &self.weight_norms
    }
}

impl BaseNetwork {
    /// The mean cross-entropy of a batch and its gradient for every parameter, by backpropagation
    /// written out for this network (no autograd graph is built). For `f32` on the CPU the
    /// matrix products and kernels run on plain slices, with the work split between threads by
    /// hand; elsewhere the same arithmetic runs as candle tensor operations.
    pub fn loss_and_gradients(&self, xs: &Tensor, labels: &Tensor) -> Result<Gradients> {
        let input = self.flatten(xs)?;
        if !cpu::fits(self.linears(), &input) {
            return self.loss_and_gradients_by_tensor_ops(&input, labels);
        }
        let label_values = labels
            .flatten_all()?
            .to_dtype(DType::U32)?
            .to_vec1::<u32>()?;
        let acts = self.layer_activations()?;
        let step = self.with_scratch(|scratch| {
            cpu::loss_and_gradients(self.linears(), &acts, &input, &label_values, scratch)
        })?;
        let device = input.device();
        let mut grads = GradStore::default();
        for (linear, (weight_grad, bias_grad)) in self.linears().iter().zip(step.grads) {
            let weight = linear.weight();
            grads.insert(
                weight,
                Tensor::from_vec(weight_grad, weight.shape(), device)?,
            );
            if let (Some(bias), Some(bias_grad)) = (linear.bias(), bias_grad) {
                grads.insert(bias, Tensor::from_vec(bias_grad, bias.shape(), device)?);
            }
        }
        for (slope, grad) in self.slopes().iter().zip(&step.slope_grads) {
            grads.insert(slope, Tensor::new(&[*grad as f32], device)?);
        }
        Ok(Gradients {
            loss: Tensor::new(step.loss, device)?,
            logits: Tensor::from_vec(
                step.logits,
                (label_values.len(), self.config().num_classes),
                device,
            )?,
            grads,
            weight_norms: step.weight_norms,
        })
    }

    /// [`BaseNetwork::loss_and_gradients`] as candle tensor operations, on any device:
    ///
    /// ```text
    /// dlogits = (softmax(logits) - onehot(labels)) / N
    /// for each linear layer, last first:  dW = dZ^T A,  db = sum_rows(dZ),
    ///                                     dZ_below = (dZ W) * f'(Z_below)
    /// ```
    ///
    /// where `A` is the layer's input and `Z` its output. The products are laid out so that every
    /// gradient comes out contiguous, and the activation's backward pass is one fused kernel on
    /// the CPU. The tests check it against candle's autograd through the composed activations,
    /// and the CPU path against it.
    pub(crate) fn loss_and_gradients_by_tensor_ops(
        &self,
        xs: &Tensor,
        labels: &Tensor,
    ) -> Result<Gradients> {
        let input = self.flatten(xs)?;
        let batch = input.dims()[0];
        let acts = self.layer_activations()?;
        // Every layer's output: linear, activation, ..., logits.
        let mut outputs = Vec::with_capacity(2 * self.linears().len());
        let logits = self
            .forward_by_tensor_ops(input.clone(), Graph::Detached, |o| outputs.push(o.clone()))?;
        // Layer i's input is the images or the activation below; its output's pre-activation is
        // outputs[2i].
        let layer_input = |i: usize| if i == 0 { &input } else { &outputs[2 * i - 1] };
        let log_probs = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let loss = candle_nn::loss::nll(&log_probs, labels)?;
        let classes = Tensor::arange(0u32, self.config().num_classes as u32, logits.device())?;
        let onehot = labels
            .unsqueeze(1)?
            .broadcast_eq(&classes.unsqueeze(0)?)?
            .to_dtype(logits.dtype())?;
        let mut dz = ((log_probs.exp()? - onehot)? / batch as f64)?;
        // Bias gradients are column sums of dZ, taken as a product with a row of ones: candle's
        // sum over the first dimension walks memory with a stride and was 50 times slower.
        let ones = Tensor::ones((1, batch), logits.dtype(), logits.device())?;
        let mut grads = GradStore::default();
        let mut weight_norms = vec![0.0; self.linears().len()];
        for (i, linear) in self.linears().iter().enumerate().rev() {
            let weight_grad = dz.t()?.matmul(layer_input(i))?;
            weight_norms[i] = weight_grad
                .sqr()?
                .sum_all()?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?
                .sqrt();
            grads.insert(linear.weight(), weight_grad);
            if let Some(bias) = linear.bias() {
                grads.insert(bias, ones.matmul(&dz)?.squeeze(0)?);
            }
            if i > 0 {
                let d_input = dz.matmul(&linear.weight().detach())?;
                let (act, pre) = (acts[i - 1], &outputs[2 * i - 2]);
                if let Some(slope) = self.slopes().get(i - 1) {
                    let grad = (&d_input * act.parameter_derivative(pre)?)?.sum_all()?;
                    grads.insert(slope, grad.reshape(1)?);
                }
                dz = act.backward(pre, layer_input(i), &d_input)?;
            }
        }
        Ok(Gradients {
            loss,
            logits,
            grads,
            weight_norms,
        })
    }
}

#[cfg(test)]
mod tests {
    //! The written-out backward passes against candle's autograd through the composed
    //! activations, and the slices path against the tensor-operation path.

    use actfn_activations::Activation;
    use candle_core::{Device, Tensor};

    use crate::{BaseNetwork, BaseNetworkConfig};

    /// Every value of a tensor, flattened.
    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    /// A fixed input: 3 images with a deterministic pattern in [-1, 1].
    fn fixed_input() -> Tensor {
        let xs: Vec<f32> = (0..3 * 784)
            .map(|i| ((i * 37 % 255) as f32 / 255.0 - 0.5) / 0.5)
            .collect();
        Tensor::from_vec(xs, (3, 1, 28, 28), &Device::Cpu).unwrap()
    }

    #[test]
    fn written_out_backpropagation_matches_autograd_through_the_composed_activations() {
        let images = fixed_input();
        let labels = Tensor::new(&[3u32, 0, 9], &Device::Cpu).unwrap();
        for act in Activation::builtins().iter().copied() {
            let (net, _vars) =
                BaseNetwork::seeded(BaseNetworkConfig::with_activation(act), 5, &Device::Cpu)
                    .unwrap();
            // The reference: candle's autograd through the linear layers and the composed form.
            let mut x = images.flatten_from(1).unwrap();
            for (i, linear) in net.linears().iter().enumerate() {
                x = candle_nn::Module::forward(linear, &x).unwrap();
                if i + 1 < net.linears().len() {
                    x = match net.slopes().get(i) {
                        Some(slope) => act
                            .forward_composed_with(
                                &x,
                                actfn_activations::ParameterValue::Learned(slope),
                            )
                            .unwrap(),
                        None => act.forward_composed(&x).unwrap(),
                    };
                }
            }
            let loss = candle_nn::loss::cross_entropy(&x, &labels).unwrap();
            let reference = loss.backward().unwrap();

            // The CPU path on slices, on however many threads the test runs with, and the same
            // arithmetic as tensor operations.
            let candidates = [
                ("cpu", net.loss_and_gradients(&images, &labels).unwrap()),
                (
                    "tensor ops",
                    net.loss_and_gradients_by_tensor_ops(&images, &labels)
                        .unwrap(),
                ),
            ];
            for (path, ours) in candidates {
                let (a, b) = (
                    loss.to_scalar::<f32>().unwrap(),
                    ours.loss().to_scalar::<f32>().unwrap(),
                );
                assert!((a - b).abs() < 1e-6, "{act} {path}: loss {a} vs {b}");
                for (e, g) in values(&x).iter().zip(&values(ours.logits())) {
                    assert!((e - g).abs() <= 1e-5, "{act} {path}: logits {e} vs {g}");
                }
                for (name, param) in net.named_parameters() {
                    let expected = values(reference.get(&param).unwrap());
                    let got = values(ours.get(&param).unwrap());
                    assert_eq!(expected.len(), got.len());
                    let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
                    for (e, g) in expected.iter().zip(&got) {
                        assert!(
                            (e - g).abs() <= 1e-4 * scale,
                            "{act} {path} {name}: {e} vs {g} (scale {scale})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_cpu_path_splits_any_batch_between_threads_and_equals_the_tensor_ops() {
        let (net, _vars) = BaseNetwork::seeded(
            BaseNetworkConfig::with_activation(Activation::Tanh),
            9,
            &Device::Cpu,
        )
        .unwrap();
        // Batch 4 on 3 threads leaves the last part no rows; 37 splits unevenly.
        for (threads, batch) in [(1, 5), (2, 1), (2, 37), (3, 64), (3, 4)] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let images = ((Tensor::arange(0f32, (batch * 784) as f32, &Device::Cpu).unwrap()
                * 0.37)
                .unwrap()
                .sin()
                .unwrap())
            .reshape((batch, 784))
            .unwrap();
            let labels: Vec<u32> = (0..batch as u32).map(|i| (i * 7) % 10).collect();
            let labels = Tensor::new(labels, &Device::Cpu).unwrap();
            let fast = pool
                .install(|| net.loss_and_gradients(&images, &labels))
                .unwrap();
            let reference = net
                .loss_and_gradients_by_tensor_ops(&images, &labels)
                .unwrap();
            let message = format!("{threads} threads, batch {batch}");
            let (a, b) = (
                fast.loss().to_scalar::<f32>().unwrap(),
                reference.loss().to_scalar::<f32>().unwrap(),
            );
            assert!((a - b).abs() < 1e-6, "{message}: loss {a} vs {b}");
            for (name, param) in net.named_parameters() {
                let expected = values(reference.get(&param).unwrap());
                let got = values(fast.get(&param).unwrap());
                let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
                for (e, g) in expected.iter().zip(&got) {
                    assert!(
                        (e - g).abs() <= 1e-4 * scale,
                        "{message} {name}: {e} vs {g}"
                    );
                }
            }
            // The norms come from the summed shares, not from any one part's.
            assert_eq!(fast.weight_norms().len(), net.linears().len());
            for (e, g) in reference.weight_norms().iter().zip(fast.weight_norms()) {
                assert!(
                    (e - g).abs() <= 1e-5 * e,
                    "{message}: weight norm {e} vs {g}"
                );
            }
            // The same thread count gives the same bits.
            let again = pool
                .install(|| net.loss_and_gradients(&images, &labels))
                .unwrap();
            for (name, param) in net.named_parameters() {
                let (a, b) = (fast.get(&param).unwrap(), again.get(&param).unwrap());
                assert_eq!(values(a), values(b), "{message} {name}: two runs differ");
            }
            let no_grad = pool.install(|| net.forward_no_grad(&images)).unwrap();
            let tracked = net.forward(&images).unwrap();
            for (e, g) in values(&tracked).iter().zip(&values(&no_grad)) {
                assert!((e - g).abs() <= 1e-5, "{message}: logits {e} vs {g}");
            }
        }
    }
}
