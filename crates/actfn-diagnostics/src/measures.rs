//! Activation curves, weight gradients at initialization and layer outputs.

use actfn_activations::Activation;
use actfn_model::BaseNetwork;
use candle_core::{Device, Tensor, Var};

use crate::{Error, Result, Summary, summarize};

/// An activation function and its gradient on a grid of points.
#[derive(Debug, Clone)]
pub struct ActivationCurve {
    /// The function's class name.
    pub name: String,
    /// The grid.
    pub xs: Vec<f32>,
    /// The function's values.
    pub ys: Vec<f32>,
    /// Its gradient by autograd (of the sum of the outputs, as the study's `get_grads`).
    pub grads: Vec<f32>,
}

/// Each function and its autograd gradient on `points` evenly spaced points of `range` (the
/// study's `torch.linspace(-5, 5, 1000)`).
pub fn activation_curves(
    acts: &[Activation],
    points: usize,
    range: (f32, f32),
    device: &Device,
) -> Result<Vec<ActivationCurve>> {
    if points < 2 {
        return Err(Error::InvalidInput(format!(
            "a curve needs at least 2 points, got {points}"
        )));
    }
    let step = (range.1 - range.0) / (points - 1) as f32;
    let xs: Vec<f32> = (0..points).map(|i| range.0 + step * i as f32).collect();
    let x = Var::from_tensor(&Tensor::new(xs.as_slice(), device)?)?;
    acts.iter()
        .map(|act| {
            let y = act.forward(x.as_tensor())?;
            let grads = y.sum_all()?.backward()?;
            let grad = grads.get(x.as_tensor()).ok_or_else(|| {
                Error::InvalidInput(format!("{act} does not depend on its input"))
            })?;
            Ok(ActivationCurve {
                name: act.name().to_string(),
                xs: xs.clone(),
                ys: y.to_vec1()?,
                grads: grad.to_vec1()?,
            })
        })
        .collect()
}

/// Named values of one layer (its weights' gradients or its outputs) and their summary.
#[derive(Debug, Clone)]
pub struct LayerValues {
    /// The name, e.g. `layers.0.weight` or `Layer 1 - ReLU`.
    pub name: String,
    /// All values, flattened.
    pub values: Vec<f32>,
    /// Their summary statistics.
    pub summary: Summary,
}

impl LayerValues {
    fn new(name: String, tensor: &Tensor) -> Result<Self> {
        let values = tensor.flatten_all()?.to_vec1::<f32>()?;
        let summary = summarize(&values);
        Ok(Self {
            name,
            values,
            summary,
        })
    }
}

/// The gradient of the mean cross-entropy on one batch with respect to each linear layer's
/// weight (biases left out, as in the study's `visualize_gradients`).
pub fn weight_gradients(
    net: &BaseNetwork,
    images: &Tensor,
    labels: &Tensor,
) -> Result<Vec<LayerValues>> {
    let (trainable, _vars) = net.trainable()?;
    let loss = candle_nn::loss::cross_entropy(&trainable.forward(images)?, labels)?;
    let grads = loss.backward()?;
    trainable
        .named_parameters()
        .into_iter()
        .filter(|(name, _)| name.ends_with(".weight"))
        .map(|(name, weight)| {
            let grad = grads
                .get(&weight)
                .ok_or_else(|| Error::InvalidInput(format!("no gradient reached {name}")))?;
            LayerValues::new(name, grad)
        })
        .collect()
}

/// Every layer's output but the last (the logits) on `images`, named as the study titles them:
/// `Layer 0 - Linear`, `Layer 1 - ReLU`, ...
pub fn layer_outputs(net: &BaseNetwork, images: &Tensor) -> Result<Vec<LayerValues>> {
    let outputs = net.forward_layers(images)?;
    let act_name = net.activation().name();
    outputs
        .iter()
        .take(outputs.len().saturating_sub(1))
        .enumerate()
        .map(|(i, out)| {
            let kind = if i % 2 == 0 { "Linear" } else { act_name };
            LayerValues::new(format!("Layer {i} - {kind}"), out)
        })
        .collect()
}
