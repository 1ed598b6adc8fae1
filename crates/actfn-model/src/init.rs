//! The initial weights: drawn as PyTorch's `nn.Linear` draws them, from the project's seeded
//! generator.

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use rand::Rng;
use rand::distr::{Distribution, Uniform};

use crate::network::layer_names;
use crate::{BaseNetworkConfig, Error, Result};

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
pub(crate) fn varmap_of(parameters: Vec<(String, Tensor)>) -> Result<VarMap> {
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
