//! The MLP itself: construction from weights, the forward pass on each path, checkpoints.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use actfn_activations::{Activation, ParameterValue};
use candle_core::{DType, Device, Tensor};
use candle_nn::{Linear, Module, VarBuilder, VarMap};

use crate::checkpoint::{self, config_path, weights_path};
use crate::cpu;
use crate::init::{Init, init_varmap, varmap_of};
use crate::linear::linear_forward;
use crate::rng::{self, Stream};
use crate::{BaseNetworkConfig, Error, Result};

/// The study's BaseNetwork: `Linear, act, Linear, act, ..., Linear`.
#[derive(Debug, Clone)]
pub struct BaseNetwork {
    config: BaseNetworkConfig,
    linears: Vec<Linear>,
    /// Per hidden layer, the activation's learned parameter `[1]` (PReLU's slope); empty for a
    /// function without one.
    slopes: Vec<Tensor>,
    /// The CPU path's buffers, reused from call to call (clones share them; a call that finds
    /// them in use works with buffers of its own).
    scratch: Arc<Mutex<cpu::Scratch>>,
}

/// Whether the tensor-operation forward pass records an autograd graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Graph {
    /// Record it: the parameters may be variables whose gradients are wanted.
    Record,
    /// Do not: evaluation and the written-out backward pass.
    Detached,
}

impl BaseNetwork {
    /// Builds the network from the weights in `vb`, checking each tensor's shape.
    pub fn new(config: BaseNetworkConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let linears = config
            .layer_shapes()
            .into_iter()
            .zip(config.layer_names())
            .map(|((fan_in, fan_out), (weight_name, bias_name))| {
                let weight = vb.get((fan_out, fan_in), &weight_name)?;
                let bias = vb.get(fan_out, &bias_name)?;
                Ok(Linear::new(weight, Some(bias)))
            })
            .collect::<Result<Vec<_>>>()?;
        let slopes = if config.act_fn.learned_parameter() {
            (0..config.hidden_sizes.len())
                .map(|i| vb.get(1, &BaseNetworkConfig::slope_name(i)))
                .collect::<candle_core::Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            config,
            linears,
            slopes,
            scratch: Arc::default(),
        })
    }

    /// A trainable network with the seeded initial weights of PyTorch's `nn.Linear` (the
    /// [`Stream::Init`] stream of `seed`), and the [`VarMap`] that holds them for an optimizer.
    ///
    /// The same seed gives bit-identical weights whatever the activation function, as the study's
    /// `set_seed(42)` before each network does.
    pub fn seeded(config: BaseNetworkConfig, seed: u64, device: &Device) -> Result<(Self, VarMap)> {
        Self::initialized(config, Init::PyTorch, seed, device)
    }

    /// [`BaseNetwork::seeded`] with another initialization (LeCun-normal for SELU, say).
    pub fn initialized(
        config: BaseNetworkConfig,
        init: Init,
        seed: u64,
        device: &Device,
    ) -> Result<(Self, VarMap)> {
        let varmap = init_varmap(&config, init, &mut rng::seeded(seed, Stream::Init), device)?;
        let net = Self::new(config, VarBuilder::from_varmap(&varmap, DType::F32, device))?;
        Ok((net, varmap))
    }

    /// A copy whose parameters are fresh variables, for computing gradients of a network that was
    /// loaded from a checkpoint (loaded tensors are constants to autograd).
    pub fn trainable(&self) -> Result<(Self, VarMap)> {
        let varmap = varmap_of(self.named_parameters())?;
        let net = Self::new(
            self.config.clone(),
            VarBuilder::from_varmap(&varmap, DType::F32, &self.device()),
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

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.linears[0].weight().device().clone()
    }

    /// Every parameter under its PyTorch name, in [`BaseNetworkConfig::parameter_shapes`]' order.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (linear, (weight_name, bias_name))) in self
            .linears
            .iter()
            .zip(self.config.layer_names())
            .enumerate()
        {
            out.push((weight_name, linear.weight().clone()));
            if let Some(bias) = linear.bias() {
                out.push((bias_name, bias.clone()));
            }
            if let Some(slope) = self.slopes.get(i) {
                out.push((BaseNetworkConfig::slope_name(i), slope.clone()));
            }
        }
        out
    }

    /// The learned activation parameter of each hidden layer (PReLU's slopes), empty for a
    /// function without one.
    pub fn slopes(&self) -> &[Tensor] {
        &self.slopes
    }

    /// The activation of each hidden layer: the network's function, with the slope that layer
    /// learned when it learns one.
    pub fn layer_activations(&self) -> Result<Vec<Activation>> {
        let act = self.config.act_fn;
        if self.slopes.is_empty() {
            return Ok(vec![act; self.linears.len().saturating_sub(1)]);
        }
        self.slopes
            .iter()
            .map(|slope| {
                let value = slope
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1::<f64>()?;
                Ok(act.with_parameter(value.first().copied().unwrap_or(0.0)))
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
    pub(crate) fn flatten(&self, xs: &Tensor) -> Result<Tensor> {
        let batch = xs.dims().first().copied().unwrap_or(0);
        let features = xs.elem_count().checked_div(batch).unwrap_or(0);
        if features != self.config.input_size {
            return Err(Error::Input(format!(
                "input of shape {:?} has {features} features per sample, the network expects {}",
                xs.dims(),
                self.config.input_size
            )));
        }
        Ok(xs.reshape((batch, features))?)
    }

    /// Runs `work` with the CPU path's buffers: the network's own when they are free, fresh
    /// ones when another call holds them.
    pub(crate) fn with_scratch<R>(&self, work: impl FnOnce(&mut cpu::Scratch) -> R) -> R {
        match self.scratch.try_lock() {
            Ok(mut scratch) => work(&mut scratch),
            Err(_) => work(&mut cpu::Scratch::default()),
        }
    }

    /// The forward pass as tensor operations on any device, handing every layer's output
    /// (linear, activation, ..., logits) to `keep`. Without a recorded graph the bias is added
    /// in place.
    pub(crate) fn forward_by_tensor_ops(
        &self,
        mut x: Tensor,
        graph: Graph,
        mut keep: impl FnMut(&Tensor),
    ) -> candle_core::Result<Tensor> {
        let act = self.config.act_fn;
        for (i, linear) in self.linears.iter().enumerate() {
            let (weight, bias) = match graph {
                Graph::Detached => (linear.weight().detach(), linear.bias().map(Tensor::detach)),
                Graph::Record => (linear.weight().clone(), linear.bias().cloned()),
            };
            x = linear_forward(&x, &weight, bias.as_ref())?;
            keep(&x);
            if i + 1 < self.linears.len() {
                x = match (self.slopes.get(i), graph) {
                    // A learned slope that autograd must reach: the composed form.
                    (Some(slope), Graph::Record) => {
                        act.forward_composed_with(&x, ParameterValue::Learned(slope))?
                    }
                    (Some(slope), Graph::Detached) => {
                        act.forward_composed_with(&x, ParameterValue::Learned(&slope.detach()))?
                    }
                    (None, _) => act.forward(&x)?,
                };
                keep(&x);
            }
        }
        Ok(x)
    }

    /// The logits for a batch of images, `[N, num_classes]`, differentiable when the parameters
    /// or the input are variables.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let tracked = xs.track_op() || self.named_parameters().iter().any(|(_, t)| t.track_op());
        if !tracked {
            return self.forward_no_grad(xs);
        }
        Ok(self.forward_by_tensor_ops(self.flatten(xs)?, Graph::Record, |_| ())?)
    }

    /// The logits for a batch of images without recording an autograd graph, for evaluation.
    /// For `f32` on the CPU this runs on plain slices, each thread taking a share of the rows.
    pub fn forward_no_grad(&self, xs: &Tensor) -> Result<Tensor> {
        let mut outputs = self.forward_layers_of(xs, false)?;
        outputs
            .pop()
            .ok_or_else(|| Error::Input("no layer output".into()))
    }

    /// Every layer's output in order: linear, activation, linear, ..., the last linear (logits),
    /// without an autograd graph.
    ///
    /// The diagnostics use all but the last; the study's `net.layers[:-1]` loop.
    pub fn forward_layers(&self, xs: &Tensor) -> Result<Vec<Tensor>> {
        self.forward_layers_of(xs, true)
    }

    /// The logits alone, or with `all` every layer's output, on the path that fits.
    fn forward_layers_of(&self, xs: &Tensor, all: bool) -> Result<Vec<Tensor>> {
        let input = self.flatten(xs)?;
        let batch = input.dims()[0];
        if cpu::fits(&self.linears, &input) {
            let acts = self.layer_activations()?;
            let outputs = self
                .with_scratch(|scratch| cpu::forward(&self.linears, &acts, &input, scratch, all))?;
            let device = input.device();
            return outputs
                .outputs
                .into_iter()
                .map(|values| {
                    let width = values.len().checked_div(batch).unwrap_or(0);
                    Ok(Tensor::from_vec(values, (batch, width), device)?)
                })
                .collect();
        }
        let mut outputs = Vec::new();
        let logits = self.forward_by_tensor_ops(input, Graph::Detached, |output| {
            if all {
                outputs.push(output.clone());
            }
        })?;
        if !all {
            outputs.push(logits);
        }
        Ok(outputs)
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
        Ok(actfn_io::atomic_write(
            &config_path(dir, name),
            self.config.to_json().as_bytes(),
        )?)
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

impl Module for BaseNetwork {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        BaseNetwork::forward(self, xs).map_err(candle_core::Error::wrap)
    }
}
