//! The MLP itself: seeded initialization, the forward pass, every layer's output, checkpoints.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use actfn_activations::Activation;
use candle_core::backprop::GradStore;
use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{Linear, Module, VarBuilder, VarMap};
use rand::Rng;
use rand::distr::{Distribution, Uniform};

use crate::checkpoint::{self, config_path, weights_path};
use crate::cpu;
use crate::linear::linear_forward;
use crate::rng::{self, Stream};
use crate::{BaseNetworkConfig, Error, Result};

/// The study's BaseNetwork: `Linear, act, Linear, act, ..., Linear`.
#[derive(Debug, Clone)]
pub struct BaseNetwork {
    config: BaseNetworkConfig,
    linears: Vec<Linear>,
    /// The CPU training step's buffers, reused from step to step (clones share them; a clone
    /// that finds them in use works with buffers of its own).
    scratch: Arc<Mutex<cpu::Scratch>>,
}

/// The parameter names of each linear layer, `("layers.{2i}.weight", "layers.{2i}.bias")`, as
/// PyTorch's `nn.Sequential` numbers them (activations take the odd indices).
pub fn layer_names(config: &BaseNetworkConfig) -> Vec<(String, String)> {
    (0..config.layer_shapes().len())
        .map(|i| {
            (
                format!("layers.{}.weight", 2 * i),
                format!("layers.{}.bias", 2 * i),
            )
        })
        .collect()
}

/// Fills a fresh [`VarMap`] with weights drawn as PyTorch's `nn.Linear` draws them: weights and
/// biases uniform in `(-1/sqrt(fan_in), 1/sqrt(fan_in))`, layer by layer, weight before bias,
/// row-major. The numbers depend only on `rng` and the sizes, not on the activation function.
pub fn init_varmap(
    config: &BaseNetworkConfig,
    rng: &mut impl Rng,
    device: &Device,
) -> Result<VarMap> {
    config.validate()?;
    let mut parameters = Vec::new();
    for ((fan_in, fan_out), (weight_name, bias_name)) in
        config.layer_shapes().into_iter().zip(layer_names(config))
    {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let uniform = Uniform::new(-bound, bound).map_err(|e| {
            Error::InvalidConfig(format!("cannot draw weights for fan-in {fan_in}: {e}"))
        })?;
        let weight: Vec<f32> = uniform
            .sample_iter(&mut *rng)
            .take(fan_in * fan_out)
            .collect();
        let bias: Vec<f32> = uniform.sample_iter(&mut *rng).take(fan_out).collect();
        parameters.push((
            weight_name,
            Tensor::from_vec(weight, (fan_out, fan_in), device)?,
        ));
        parameters.push((bias_name, Tensor::from_vec(bias, fan_out, device)?));
    }
    varmap_of(parameters)
}

/// A [`VarMap`] holding a fresh variable for each named tensor.
fn varmap_of(parameters: Vec<(String, Tensor)>) -> Result<VarMap> {
    let varmap = VarMap::new();
    {
        let mut vars = varmap.data().lock().map_err(|_| {
            Error::InvalidConfig("the variable map's lock was poisoned by a panic".into())
        })?;
        for (name, tensor) in parameters {
            vars.insert(name, Var::from_tensor(&tensor)?);
        }
    }
    Ok(varmap)
}

impl BaseNetwork {
    /// Builds the network from the weights in `vb`, checking each tensor's shape.
    pub fn new(config: BaseNetworkConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let linears = config
            .layer_shapes()
            .into_iter()
            .zip(layer_names(&config))
            .map(|((fan_in, fan_out), (weight_name, bias_name))| {
                let weight = vb.get((fan_out, fan_in), &weight_name)?;
                let bias = vb.get(fan_out, &bias_name)?;
                Ok(Linear::new(weight, Some(bias)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config,
            linears,
            scratch: Arc::default(),
        })
    }

    /// A trainable network with the seeded initial weights (the [`Stream::Init`] stream of
    /// `seed`), and the [`VarMap`] that holds them for an optimizer.
    ///
    /// The same seed gives bit-identical weights whatever the activation function, as the study's
    /// `set_seed(42)` before each network does.
    pub fn seeded(config: BaseNetworkConfig, seed: u64, device: &Device) -> Result<(Self, VarMap)> {
        let varmap = init_varmap(&config, &mut rng::seeded(seed, Stream::Init), device)?;
        let net = Self::new(config, VarBuilder::from_varmap(&varmap, DType::F32, device))?;
        Ok((net, varmap))
    }

    /// A copy whose parameters are fresh variables, for computing gradients of a network that was
    /// loaded from a checkpoint (loaded tensors are constants to autograd).
    pub fn trainable(&self) -> Result<(Self, VarMap)> {
        let varmap = varmap_of(self.named_parameters())?;
        let device = self.linears[0].weight().device().clone();
        let net = Self::new(
            self.config.clone(),
            VarBuilder::from_varmap(&varmap, DType::F32, &device),
        )?;
        Ok((net, varmap))
    }

    /// The network's config.
    pub fn config(&self) -> &BaseNetworkConfig {
        &self.config
    }

    /// The activation function between the linear layers.
    pub fn activation(&self) -> Activation {
        self.config.act_fn
    }

    /// The linear layers, input side first.
    pub fn linears(&self) -> &[Linear] {
        &self.linears
    }

    /// Every parameter under its PyTorch name.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.linears
            .iter()
            .zip(layer_names(&self.config))
            .flat_map(|(linear, (weight_name, bias_name))| {
                let mut pairs = vec![(weight_name, linear.weight().clone())];
                if let Some(bias) = linear.bias() {
                    pairs.push((bias_name, bias.clone()));
                }
                pairs
            })
            .collect()
    }

    /// The number of scalar parameters.
    pub fn parameter_count(&self) -> usize {
        self.named_parameters()
            .iter()
            .map(|(_, t)| t.elem_count())
            .sum()
    }

    /// Flattens an `[N, ...]` input to `[N, input_size]`.
    fn flatten(&self, xs: &Tensor) -> Result<Tensor> {
        let batch = xs.dims().first().copied().unwrap_or(0);
        let features = xs.elem_count().checked_div(batch).unwrap_or(0);
        if features != self.config.input_size {
            return Err(Error::InvalidConfig(format!(
                "input of shape {:?} has {features} features per sample, the network expects {}",
                xs.dims(),
                self.config.input_size
            )));
        }
        Ok(xs.reshape((batch, features))?)
    }

    /// Every layer's output in order: linear, activation, linear, ..., the last linear (logits).
    ///
    /// The diagnostics use all but the last; the study's `net.layers[:-1]` loop.
    pub fn forward_layers(&self, xs: &Tensor) -> Result<Vec<Tensor>> {
        let mut outputs = Vec::with_capacity(2 * self.linears.len());
        self.forward_by_tensor_ops(self.flatten(xs)?, false, |output| {
            outputs.push(output.clone())
        })?;
        Ok(outputs)
    }

    /// The forward pass as tensor operations on any device, handing every layer's output
    /// (linear, activation, ..., logits) to `keep`; with `detached` no autograd graph is
    /// recorded, so the bias is added in place.
    fn forward_by_tensor_ops(
        &self,
        mut x: Tensor,
        detached: bool,
        mut keep: impl FnMut(&Tensor),
    ) -> candle_core::Result<Tensor> {
        for (i, linear) in self.linears.iter().enumerate() {
            let (weight, bias) = if detached {
                (linear.weight().detach(), linear.bias().map(Tensor::detach))
            } else {
                (linear.weight().clone(), linear.bias().cloned())
            };
            x = linear_forward(&x, &weight, bias.as_ref())?;
            keep(&x);
            if i + 1 < self.linears.len() {
                x = self.config.act_fn.forward(&x)?;
                keep(&x);
            }
        }
        Ok(x)
    }

    /// Saves `<dir>/<name>.config` and `<dir>/<name>.safetensors`, each written to a temporary
    /// file and renamed, so a crash never leaves a half-written checkpoint.
    pub fn save(&self, dir: &Path, name: &str) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let tensors: HashMap<String, Tensor> = self.named_parameters().into_iter().collect();
        checkpoint::save_weights(&tensors, &weights_path(dir, name))?;
        checkpoint::atomic_write(&config_path(dir, name), self.config.to_json().as_bytes())
    }

    /// Builds a network from named tensors read from `source` (a state dict from another
    /// format), checking that they are exactly the ones `config` needs; errors name `source`.
    pub fn from_state_dict(
        config: BaseNetworkConfig,
        tensors: HashMap<String, Tensor>,
        source: &Path,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        let tensors = checkpoint::check_weights(tensors, &config, source)?;
        Self::new(
            config,
            VarBuilder::from_tensors(tensors, DType::F32, device),
        )
    }

    /// Rebuilds a network from `<dir>/<name>.config` and its `<dir>/<name>.safetensors`.
    ///
    /// A missing, truncated or mismatched file is an error naming the file and, where one is at
    /// fault, the tensor.
    pub fn load(dir: &Path, name: &str, device: &Device) -> Result<Self> {
        let config = BaseNetworkConfig::read(&config_path(dir, name))?;
        let path = weights_path(dir, name);
        let tensors = checkpoint::load_weights(&path, &config, device)?;
        Self::new(
            config,
            VarBuilder::from_tensors(tensors, DType::F32, device),
        )
    }
}

/// The loss of a batch and the gradients of every parameter, from
/// [`BaseNetwork::loss_and_gradients`].
#[derive(Debug)]
pub struct Gradients {
    /// Mean cross-entropy over the batch (a scalar).
    pub loss: Tensor,
    /// The logits, `[N, num_classes]`.
    pub logits: Tensor,
    /// The gradient of `loss` for each parameter, keyed as autograd keys them, so an optimizer's
    /// `step` takes it as it is.
    pub grads: GradStore,
}

impl BaseNetwork {
    /// The mean cross-entropy of a batch and its gradient for every parameter, by backpropagation
    /// written out for this network (no autograd graph is built). For `f32` on the CPU the
    /// matrix products and kernels run on plain slices, with the work split between threads by
    /// hand (see `cpu.rs`); elsewhere it is [`BaseNetwork::loss_and_gradients_by_tensor_ops`].
    pub fn loss_and_gradients(&self, xs: &Tensor, labels: &Tensor) -> Result<Gradients> {
        if !cpu::fits(&self.linears, xs) {
            return self.loss_and_gradients_by_tensor_ops(xs, labels);
        }
        let input = self.flatten(xs)?;
        let label_values = labels
            .flatten_all()?
            .to_dtype(DType::U32)?
            .to_vec1::<u32>()?;
        let run = |scratch: &mut cpu::Scratch| {
            cpu::loss_and_gradients(
                &self.linears,
                self.config.act_fn,
                &input,
                &label_values,
                scratch,
            )
        };
        let step = match self.scratch.try_lock() {
            Ok(mut scratch) => run(&mut scratch)?,
            Err(_) => run(&mut cpu::Scratch::default())?,
        };
        let device = input.device();
        let mut grads = GradStore::default();
        for (linear, (weight_grad, bias_grad)) in self.linears.iter().zip(step.grads) {
            let weight = linear.weight();
            grads.insert(
                weight,
                Tensor::from_vec(weight_grad, weight.shape(), device)?,
            );
            if let (Some(bias), Some(bias_grad)) = (linear.bias(), bias_grad) {
                grads.insert(bias, Tensor::from_vec(bias_grad, bias.shape(), device)?);
            }
        }
        Ok(Gradients {
            loss: Tensor::new(step.loss, device)?,
            logits: Tensor::from_vec(
                step.logits,
                (label_values.len(), self.config.num_classes),
                device,
            )?,
            grads,
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
    pub fn loss_and_gradients_by_tensor_ops(
        &self,
        xs: &Tensor,
        labels: &Tensor,
    ) -> Result<Gradients> {
        let mut input = self.flatten(xs)?;
        let batch = input.dims()[0];
        let act = self.config.act_fn;
        let last = self.linears.len() - 1;
        // Parameters detached from autograd: the same storage, but no graph is recorded.
        let weights: Vec<Tensor> = self.linears.iter().map(|l| l.weight().detach()).collect();
        let biases: Vec<Option<Tensor>> = self
            .linears
            .iter()
            .map(|l| l.bias().map(Tensor::detach))
            .collect();
        let mut layer_inputs = Vec::with_capacity(self.linears.len());
        let mut pre_activations = Vec::with_capacity(last);
        for (i, (weight, bias)) in weights.iter().zip(&biases).enumerate() {
            let z = linear_forward(&input, weight, bias.as_ref())?;
            layer_inputs.push(input);
            if i == last {
                input = z;
            } else {
                input = act.forward(&z)?;
                pre_activations.push(z);
            }
        }
        let logits = input;
        let log_probs = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let loss = candle_nn::loss::nll(&log_probs, labels)?;
        let classes = Tensor::arange(0u32, self.config.num_classes as u32, logits.device())?;
        let onehot = labels
            .unsqueeze(1)?
            .broadcast_eq(&classes.unsqueeze(0)?)?
            .to_dtype(logits.dtype())?;
        let mut dz = ((log_probs.exp()? - onehot)? / batch as f64)?;
        // Bias gradients are column sums of dZ, taken as a product with a row of ones: candle's
        // sum over the first dimension walks memory with a stride and was 50 times slower.
        let ones = Tensor::ones((1, batch), logits.dtype(), logits.device())?;
        let mut grads = GradStore::default();
        for i in (0..self.linears.len()).rev() {
            let linear = &self.linears[i];
            grads.insert(linear.weight(), dz.t()?.matmul(&layer_inputs[i])?);
            if let Some(bias) = linear.bias() {
                grads.insert(bias, ones.matmul(&dz)?.squeeze(0)?);
            }
            if i > 0 {
                let d_input = dz.matmul(&weights[i])?;
                dz = act.backward(&pre_activations[i - 1], &layer_inputs[i], &d_input)?;
            }
        }
        Ok(Gradients {
            loss,
            logits,
            grads,
        })
    }
}

impl Module for BaseNetwork {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let tracked = xs.track_op()
            || self
                .linears
                .iter()
                .any(|l| l.weight().track_op() || l.bias().is_some_and(Tensor::track_op));
        if !tracked {
            return self.forward_no_grad(xs).map_err(candle_core::Error::wrap);
        }
        let input = self.flatten(xs).map_err(candle_core::Error::wrap)?;
        self.forward_by_tensor_ops(input, false, |_| ())
    }
}

impl BaseNetwork {
    /// The logits for a batch of images, `[N, num_classes]`, differentiable when the parameters
    /// are variables.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        Ok(Module::forward(self, xs)?)
    }

    /// The logits for a batch of images without recording an autograd graph, for evaluation.
    /// For `f32` on the CPU this runs on plain slices, each thread taking a share of the rows.
    pub fn forward_no_grad(&self, xs: &Tensor) -> Result<Tensor> {
        let input = self.flatten(xs)?;
        if cpu::fits(&self.linears, &input) {
            return cpu::forward(&self.linears, self.config.act_fn, &input);
        }
        Ok(self.forward_by_tensor_ops(input, true, |_| ())?)
    }
}
