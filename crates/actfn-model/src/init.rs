//! The initial weights: PyTorch's `nn.Linear` initialization (the study's), or the normal
//! initializations that ReLU networks and self-normalizing SELU networks are made for, drawn
//! from the project's seeded generator.

use std::fmt;
use std::str::FromStr;

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use rand::Rng;
use rand::distr::{Distribution, Uniform};
use rand_distr::Normal;
use serde::{Deserialize, Serialize};

use crate::{BaseNetworkConfig, Error, Result};

/// How the weights are drawn.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Init {
    /// PyTorch's `nn.Linear` default, the study's: weights and biases uniform in
    /// `(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
    #[default]
    // Not kebab-case's `py-torch`, which the first sweeps wrote: still read.
    #[serde(rename = "pytorch", alias = "py-torch")]
    PyTorch,
    /// He et al.: weights normal with variance `2 / fan_in` (`kaiming_normal_`, fan-in mode,
    /// ReLU gain), biases 0.
    KaimingNormal,
    /// LeCun: weights normal with variance `1 / fan_in`, biases 0; what SELU needs to
    /// self-normalize.
    LecunNormal,
}

impl Init {
    /// Every initialization, with its name.
    pub const ALL: [(Init, &'static str); 3] = [
        (Init::PyTorch, "pytorch"),
        (Init::KaimingNormal, "kaiming-normal"),
        (Init::LecunNormal, "lecun-normal"),
    ];

    /// Its name on the command line and in configs, e.g. `lecun-normal`.
    pub fn name(&self) -> &'static str {
        Init::ALL
            .iter()
            .find(|(i, _)| i == self)
            .map_or("pytorch", |(_, n)| n)
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Init {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Init::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(s))
            .map(|(init, _)| *init)
            .ok_or_else(|| {
                let names: Vec<&str> = Init::ALL.iter().map(|(_, n)| *n).collect();
                Error::InvalidConfig(format!(
                    "unknown initialization {s:?}; valid: {}",
                    names.join(", ")
                ))
            })
    }
}

/// Fills a fresh [`VarMap`] with initial weights, layer by layer, weight before bias,
/// row-major. With PyTorch's initialization the numbers depend only on `rng` and the sizes, not
/// on the activation function, as the study's `set_seed(42)` before each network makes them. An
/// activation's learned parameter (PReLU's slope) starts at its `init` and draws nothing, so
/// the weights are those of every other activation.
pub(crate) fn init_varmap(
    config: &BaseNetworkConfig,
    init: Init,
    rng: &mut impl Rng,
    device: &Device,
) -> Result<VarMap> {
    config.validate()?;
    let mut parameters = Vec::new();
    let hidden = config.hidden_sizes.len();
    for (i, ((fan_in, fan_out), (weight_name, bias_name))) in config
        .layer_shapes()
        .into_iter()
        .zip(config.layer_names())
        .enumerate()
    {
        let bad = |e: &dyn fmt::Display| {
            Error::InvalidConfig(format!("cannot draw weights for fan-in {fan_in}: {e}"))
        };
        let n = fan_in as f32;
        let (weight, bias): (Vec<f32>, Vec<f32>) = match init {
            Init::PyTorch => {
                let bound = 1.0 / n.sqrt();
                let uniform = Uniform::new(-bound, bound).map_err(|e| bad(&e))?;
                let weight = uniform
                    .sample_iter(&mut *rng)
                    .take(fan_in * fan_out)
                    .collect();
                (
                    weight,
                    uniform.sample_iter(&mut *rng).take(fan_out).collect(),
                )
            }
            Init::KaimingNormal | Init::LecunNormal => {
                let gain = if init == Init::KaimingNormal {
                    2.0
                } else {
                    1.0
                };
                let normal = Normal::new(0.0, (gain / n).sqrt()).map_err(|e| bad(&e))?;
                let weight = normal
                    .sample_iter(&mut *rng)
                    .take(fan_in * fan_out)
                    .collect();
                (weight, vec![0.0; fan_out])
            }
        };
        parameters.push((
            weight_name,
            Tensor::from_vec(weight, (fan_out, fan_in), device)?,
        ));
        parameters.push((bias_name, Tensor::from_vec(bias, fan_out, device)?));
        if i < hidden
            && let Some((_, start)) = config
                .act_fn
                .parameter()
                .filter(|_| config.act_fn.learned_parameter())
        {
            parameters.push((
                BaseNetworkConfig::slope_name(i),
                Tensor::new(&[start as f32], device)?,
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_name_each_initialization_as_the_command_line_does() {
        for (init, name) in Init::ALL {
            assert_eq!(serde_json::to_string(&init).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<Init>(&format!("\"{name}\"")).unwrap(),
                init
            );
        }
        // What the first sweeps wrote.
        assert_eq!(
            serde_json::from_str::<Init>("\"py-torch\"").unwrap(),
            Init::PyTorch
        );
    }

    #[test]
    fn normal_initializations_have_their_variance_and_zero_biases() {
        let config = BaseNetworkConfig::default();
        for (init, gain) in [(Init::KaimingNormal, 2.0), (Init::LecunNormal, 1.0)] {
            let varmap = init_varmap(
                &config,
                init,
                &mut crate::rng::seeded(3, crate::rng::Stream::Init),
                &Device::Cpu,
            )
            .unwrap();
            let vars = varmap.data().lock().unwrap();
            let w = vars["layers.0.weight"]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let n = w.len() as f64;
            let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = w
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n;
            let expected = gain / 784.0;
            assert!(
                (var / expected - 1.0).abs() < 0.01,
                "{init}: {var} vs {expected}"
            );
            assert!(mean.abs() < 1e-4, "{init}: mean {mean}");
            let b = vars["layers.0.bias"]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert!(b.iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn names_parse_and_unknown_ones_list_the_valid() {
        for (init, name) in Init::ALL {
            assert_eq!(name.parse::<Init>().unwrap(), init);
            assert_eq!(init.to_string(), name);
        }
        let err = "xavier".parse::<Init>().unwrap_err().to_string();
        assert!(err.contains("lecun-normal"), "{err}");
    }
}
