//! The network's config: the study's JSON (`<name>.config`), byte for byte as Python writes it.

use std::path::Path;

use actfn_activations::Activation;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The largest parameter count a config may describe. Anything larger is a corrupt or hostile
/// file, not a network this project trains (the study's has 633,226 parameters).
const MAX_PARAMETERS: usize = 1 << 31;

/// The architecture of a [`BaseNetwork`](crate::BaseNetwork), as the study's `config` dictionary.
///
/// `Default` is the study's network: ReLU, 784 inputs, 10 classes, hidden sizes
/// `[512, 256, 256, 128]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseNetworkConfig {
    /// The activation function between linear layers.
    pub act_fn: Activation,
    /// Pixels per image (28 * 28).
    pub input_size: usize,
    /// Number of classes.
    pub num_classes: usize,
    /// Sizes of the hidden layers, input side first.
    pub hidden_sizes: Vec<usize>,
}

impl Default for BaseNetworkConfig {
    fn default() -> Self {
        Self {
            act_fn: Activation::ReLU,
            input_size: 784,
            num_classes: 10,
            hidden_sizes: vec![512, 256, 256, 128],
        }
    }
}

impl BaseNetworkConfig {
    /// The study's network with another activation function.
    pub fn with_activation(act_fn: Activation) -> Self {
        Self {
            act_fn,
            ..Self::default()
        }
    }

    /// `(in, out)` of each linear layer, input side first.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut sizes = vec![self.input_size];
        sizes.extend(&self.hidden_sizes);
        sizes.push(self.num_classes);
        sizes.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// The name of linear layer `i` (from 0, input side first), `layers.{2i}`, as PyTorch's
    /// `nn.Sequential` numbers it (the activations take the odd indices).
    pub fn linear_name(i: usize) -> String {
        format!("layers.{}", 2 * i)
    }

    /// The name of the activation after hidden layer `i`, `layers.{2i+1}`.
    pub fn activation_name(i: usize) -> String {
        format!("layers.{}", 2 * i + 1)
    }

    /// The parameter names of each linear layer, `("layers.{2i}.weight", "layers.{2i}.bias")`.
    pub fn layer_names(&self) -> Vec<(String, String)> {
        (0..self.layer_shapes().len())
            .map(|i| {
                let layer = Self::linear_name(i);
                (format!("{layer}.weight"), format!("{layer}.bias"))
            })
            .collect()
    }

    /// The name of the learned activation parameter after hidden layer `i`,
    /// `layers.{2i+1}.weight`, as PyTorch's `nn.Sequential` names an `nn.PReLU`'s slope.
    pub fn slope_name(i: usize) -> String {
        format!("{}.weight", Self::activation_name(i))
    }

    /// Every parameter's name and shape, in PyTorch's order: each linear layer's weight
    /// `[out, in]` and bias `[out]`, each followed, for a hidden layer of a network whose
    /// activation learns a parameter (PReLU), by that parameter `[1]`.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let learned = self.act_fn.learned_parameter();
        let shapes = self.layer_shapes();
        let hidden = shapes.len().saturating_sub(1);
        let mut out = Vec::new();
        for (i, ((fan_in, fan_out), (weight, bias))) in
            shapes.iter().zip(self.layer_names()).enumerate()
        {
            out.push((weight, vec![*fan_out, *fan_in]));
            out.push((bias, vec![*fan_out]));
            if learned && i < hidden {
                out.push((Self::slope_name(i), vec![1]));
            }
        }
        out
    }

    /// Checks that the sizes describe a network that can be built.
    pub fn validate(&self) -> Result<()> {
        if self.input_size == 0 || self.num_classes == 0 {
            return Err(Error::InvalidConfig(format!(
                "input_size ({}) and num_classes ({}) must be at least 1",
                self.input_size, self.num_classes
            )));
        }
        if let Some(i) = self.hidden_sizes.iter().position(|&s| s == 0) {
            return Err(Error::InvalidConfig(format!(
                "hidden_sizes[{i}] is 0: every hidden layer needs at least one neuron"
            )));
        }
        let mut parameters: usize = 0;
        for (fan_in, fan_out) in self.layer_shapes() {
            parameters = fan_in
                .checked_add(1)
                .and_then(|n| n.checked_mul(fan_out))
                .and_then(|n| n.checked_add(parameters))
                .filter(|&n| n <= MAX_PARAMETERS)
                .ok_or_else(|| {
                    Error::InvalidConfig(format!(
                        "the sizes describe more than {MAX_PARAMETERS} parameters: {self:?}"
                    ))
                })?;
        }
        Ok(())
    }

    /// The config as the study's Python `json.dump` writes it: `{"act_fn": {"name": "ReLU"}, ...}`.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonJsonFormatter);
        // Serializing plain numbers, strings and lists into memory cannot fail.
        self.serialize(&mut serializer).expect("config serializes");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Parses and validates the study's JSON.
    pub fn from_json(json: &str) -> std::result::Result<Self, serde_json::Error> {
        let config: Self = serde_json::from_str(json)?;
        config.validate().map_err(|e| match e {
            // The caller's error already says "not a valid network config": the reason alone.
            Error::InvalidConfig(reason) => serde::de::Error::custom(reason),
            other => serde::de::Error::custom(other),
        })?;
        Ok(config)
    }

    /// Reads and validates a `.config` file.
    pub fn read(path: &Path) -> Result<Self> {
        let json = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&json).map_err(|source| Error::ConfigSyntax {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Python's `json.dumps` separators: `", "` between items and `": "` after keys.
struct PythonJsonFormatter;

/// The separator Python writes before every item but the first.
fn item_separator<W: ?Sized + std::io::Write>(writer: &mut W, first: bool) -> std::io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

impl serde_json::ser::Formatter for PythonJsonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        item_separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        item_separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_study_network_in_python_json() {
        assert_eq!(
            BaseNetworkConfig::default().to_json(),
            r#"{"act_fn": {"name": "ReLU"}, "input_size": 784, "num_classes": 10, "hidden_sizes": [512, 256, 256, 128]}"#
        );
    }

    #[test]
    fn impossible_sizes_and_unknown_fields_are_rejected() {
        let zero = r#"{"act_fn": {"name": "ReLU"}, "input_size": 784, "num_classes": 10, "hidden_sizes": [512, 0]}"#;
        assert!(
            BaseNetworkConfig::from_json(zero)
                .unwrap_err()
                .to_string()
                .contains("hidden_sizes[1] is 0")
        );
        let huge = r#"{"act_fn": {"name": "ReLU"}, "input_size": 18446744073709551615, "num_classes": 10, "hidden_sizes": [512]}"#;
        assert!(
            BaseNetworkConfig::from_json(huge)
                .unwrap_err()
                .to_string()
                .contains("more than")
        );
        let extra = r#"{"act_fn": {"name": "ReLU"}, "input_size": 784, "num_classes": 10, "hidden_sizes": [], "depth": 3}"#;
        assert!(
            BaseNetworkConfig::from_json(extra)
                .unwrap_err()
                .to_string()
                .contains("unknown field `depth`")
        );
        let unknown_act = r#"{"act_fn": {"name": "SwiGLU"}, "input_size": 784, "num_classes": 10, "hidden_sizes": []}"#;
        let err = BaseNetworkConfig::from_json(unknown_act)
            .unwrap_err()
            .to_string();
        assert!(err.contains("SwiGLU") && err.contains("leakyrelu"), "{err}");
    }
}
