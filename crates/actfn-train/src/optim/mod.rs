//! The optimizers, with PyTorch's semantics: momentum SGD (the study's) and Adam, each with a
//! one-pass CPU update, and [`OptimizerConfig`], the choice a run records.

mod adam;
mod cpu;
mod sgd;
#[cfg(test)]
mod testing;

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use adam::{Adam, AdamConfig, AdamState};
pub use sgd::{Sgd, SgdConfig};

/// Which optimizer a run trains with, and its settings. `Default` is the study's, SGD with
/// momentum 0.9 at lr 0.01.
///
/// In JSON, SGD's settings are written as they always were (`{"lr": 0.01, "momentum": 0.9,
/// ...}`), so that every run recorded before Adam existed reads as the same run; Adam's are
/// `{"adam": {"lr": 0.001, "betas": [0.9, 0.999], ...}}`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum OptimizerConfig {
    /// `torch.optim.SGD`.
    Sgd(SgdConfig),
    /// `torch.optim.Adam`.
    Adam(AdamConfig),
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self::Sgd(SgdConfig::default())
    }
}

impl OptimizerConfig {
    /// The optimizer's key: `sgd` or `adam`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Sgd(_) => "sgd",
            Self::Adam(_) => "adam",
        }
    }

    /// The optimizer's name as a reader writes it: `SGD`, `Adam`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sgd(_) => "SGD",
            Self::Adam(_) => "Adam",
        }
    }

    /// The optimizer of `key` (`sgd`, `adam`) with its default settings: the study's for SGD
    /// (lr 0.01, momentum 0.9), PyTorch's for Adam (lr 0.001).
    pub fn of_key(key: &str) -> Result<Self, String> {
        match key.trim().to_ascii_lowercase().as_str() {
            "sgd" => Ok(Self::Sgd(SgdConfig::default())),
            "adam" => Ok(Self::Adam(AdamConfig::default())),
            other => Err(format!("unknown optimizer {other:?}: use sgd or adam")),
        }
    }

    /// The optimizer of `key` with its default settings at `lr`.
    pub fn with_lr(key: &str, lr: f64) -> Result<Self, String> {
        Self::of_key(key).map(|o| o.at_lr(lr))
    }

    /// The same SGD with another momentum; Adam has none (its betas are PyTorch's).
    pub fn with_momentum(self, momentum: f64) -> Result<Self, String> {
        match self {
            Self::Sgd(sgd) => Ok(Self::Sgd(SgdConfig { momentum, ..sgd })),
            Self::Adam(_) => {
                Err("momentum is SGD's: Adam takes PyTorch's betas (0.9, 0.999)".into())
            }
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Self::Sgd(c) => c.lr,
            Self::Adam(c) => c.lr,
        }
    }

    /// The same optimizer at another learning rate.
    pub fn at_lr(mut self, lr: f64) -> Self {
        match &mut self {
            Self::Sgd(c) => c.lr = lr,
            Self::Adam(c) => c.lr = lr,
        }
        self
    }

    /// The settings other than the learning rate as `name value` pairs, for labels and records
    /// (`momentum 0.9`; `betas 0.9/0.999`, `eps 1e-8`); weight decay and the rest only where
    /// they are not zero.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self {
            Self::Sgd(c) => {
                out.push(("momentum", c.momentum.to_string()));
                if c.dampening != 0.0 {
                    out.push(("dampening", c.dampening.to_string()));
                }
                if c.nesterov {
                    out.push(("nesterov", "true".into()));
                }
                if c.weight_decay != 0.0 {
                    out.push(("weight decay", c.weight_decay.to_string()));
                }
            }
            Self::Adam(c) => {
                out.push(("betas", format!("{}/{}", c.betas.0, c.betas.1)));
                out.push(("eps", format!("{:e}", c.eps)));
                if c.weight_decay != 0.0 {
                    out.push(("weight decay", c.weight_decay.to_string()));
                }
            }
        }
        out
    }

    /// Checks the ranges PyTorch checks.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Sgd(c) => c.validate(),
            Self::Adam(c) => c.validate(),
        }
    }

    /// Copies of the parameters the optimizer keeps beside each one (momentum 1, Adam's
    /// moments 2), for memory estimates.
    pub fn state_copies(&self) -> u64 {
        match self {
            Self::Sgd(c) if c.momentum == 0.0 => 0,
            Self::Sgd(_) => 1,
            Self::Adam(_) => 2,
        }
    }
}

impl std::fmt::Display for OptimizerConfig {
    /// `SGD lr 0.01, momentum 0.9`, `Adam lr 0.001, betas 0.9/0.999, eps 1e-8`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} lr {}", self.name(), self.lr())?;
        for (key, value) in self.describe() {
            write!(f, ", {key} {value}")?;
        }
        Ok(())
    }
}

impl Serialize for OptimizerConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a> {
            adam: &'a AdamConfig,
        }
        match self {
            Self::Sgd(c) => c.serialize(serializer),
            Self::Adam(adam) => Tagged { adam }.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for OptimizerConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let adam = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("adam"));
        match adam {
            Some(adam) => AdamConfig::deserialize(adam)
                .map(Self::Adam)
                .map_err(|e| D::Error::custom(format!("optimizer.adam: {e}"))),
            None => SgdConfig::deserialize(&value)
                .map(Self::Sgd)
                .map_err(|e| D::Error::custom(format!("optimizer (SGD's settings): {e}"))),
        }
    }
}

/// An optimizer of either kind, as training holds it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Optimizer {
    /// Momentum SGD.
    Sgd(Sgd),
    /// Adam.
    Adam(Adam),
}

/// The prefixes of the state tensors in a saved training state: SGD's momentum buffers, Adam's
/// stacked moments and its step count (one f64 per variable).
const MOMENTUM: &str = "momentum";
const ADAM_MOMENTS: &str = "adam_moments";
const ADAM_STEP: &str = "adam_step";

impl Optimizer {
    /// The state tensors to save beside the parameters `names` (one name per variable, in
    /// order), keyed `<prefix>.<name>`. Variables that have not stepped have none.
    pub fn state_tensors(&self, names: &[String]) -> candle_core::Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        match self {
            Self::Sgd(sgd) => {
                for (name, buffer) in names.iter().zip(sgd.buffers()) {
                    if let Some(buffer) = buffer {
                        out.push((format!("{MOMENTUM}.{name}"), buffer.clone()));
                    }
                }
            }
            Self::Adam(adam) => {
                for (name, state) in names.iter().zip(adam.states()) {
                    if let Some(state) = state {
                        out.push((format!("{ADAM_MOMENTS}.{name}"), state.moments.clone()));
                        let step = Tensor::new(&[state.step as f64], &Device::Cpu)?;
                        out.push((format!("{ADAM_STEP}.{name}"), step));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Restores the state saved by [`Self::state_tensors`] from `tensors`.
    pub fn restore_state(
        &mut self,
        names: &[String],
        tensors: &HashMap<String, Tensor>,
    ) -> candle_core::Result<()> {
        let get = |prefix: &str, name: &str| tensors.get(&format!("{prefix}.{name}"));
        match self {
            Self::Sgd(sgd) => {
                let buffers = names.iter().map(|n| get(MOMENTUM, n).cloned()).collect();
                sgd.set_buffers(buffers)
            }
            Self::Adam(adam) => {
                let mut states = Vec::with_capacity(names.len());
                for name in names {
                    let state = match (get(ADAM_MOMENTS, name), get(ADAM_STEP, name)) {
                        (Some(moments), Some(step)) => {
                            let step =
                                step.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
                            let step = match step.as_slice() {
                                [s] if s.fract() == 0.0 && *s >= 1.0 && *s < 2f64.powi(53) => {
                                    *s as u64
                                }
                                _ => candle_core::bail!("a corrupt Adam step count for {name}"),
                            };
                            Some(AdamState {
                                step,
                                moments: moments.clone(),
                            })
                        }
                        (None, None) => None,
                        _ => {
                            candle_core::bail!("Adam's moments or step count of {name} is missing")
                        }
                    };
                    states.push(state);
                }
                adam.set_states(states)
            }
        }
    }
}

impl candle_nn::Optimizer for Optimizer {
    type Config = OptimizerConfig;

    fn new(vars: Vec<Var>, config: OptimizerConfig) -> candle_core::Result<Self> {
        Ok(match config {
            OptimizerConfig::Sgd(c) => Self::Sgd(Sgd::new(vars, c)?),
            OptimizerConfig::Adam(c) => Self::Adam(Adam::new(vars, c)?),
        })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        match self {
            Self::Sgd(o) => o.step(grads),
            Self::Adam(o) => o.step(grads),
        }
    }

    fn learning_rate(&self) -> f64 {
        match self {
            Self::Sgd(o) => o.learning_rate(),
            Self::Adam(o) => o.learning_rate(),
        }
    }

    fn set_learning_rate(&mut self, lr: f64) {
        match self {
            Self::Sgd(o) => o.set_learning_rate(lr),
            Self::Adam(o) => o.set_learning_rate(lr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::Optimizer as _;

    #[test]
    fn sgd_settings_read_and_write_as_before_and_adam_is_tagged() {
        let sgd = OptimizerConfig::default();
        let text = serde_json::to_string(&sgd).unwrap();
        assert_eq!(
            text,
            r#"{"lr":0.01,"momentum":0.9,"dampening":0.0,"weight_decay":0.0,"nesterov":false}"#
        );
        assert_eq!(serde_json::from_str::<OptimizerConfig>(&text).unwrap(), sgd);
        let adam = OptimizerConfig::with_lr("adam", 3e-4).unwrap();
        let text = serde_json::to_string(&adam).unwrap();
        assert_eq!(
            text,
            r#"{"adam":{"lr":0.0003,"betas":[0.9,0.999],"eps":1e-8,"weight_decay":0.0}}"#
        );
        assert_eq!(
            serde_json::from_str::<OptimizerConfig>(&text).unwrap(),
            adam
        );
        let error = serde_json::from_str::<OptimizerConfig>(r#"{"adam":{"lr":0.1}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("optimizer.adam: missing field `betas`"),
            "{error}"
        );
        assert!(OptimizerConfig::with_lr("rmsprop", 0.1).is_err());
        assert_eq!(
            adam.to_string(),
            "Adam lr 0.0003, betas 0.9/0.999, eps 1e-8"
        );
    }

    #[test]
    fn adam_state_saves_and_restores_to_the_same_next_step() {
        let names = vec!["w".to_string()];
        let make = || Var::new(&[1.0f32, -2.0, 0.5], &Device::Cpu).unwrap();
        let loss = |w: &Var| w.as_tensor().sqr().unwrap().sum_all().unwrap();
        let config = OptimizerConfig::with_lr("adam", 0.1).unwrap();
        let w = make();
        let mut first = Optimizer::new(vec![w.clone()], config).unwrap();
        for _ in 0..2 {
            first.backward_step(&loss(&w)).unwrap();
        }
        let saved: HashMap<String, Tensor> =
            first.state_tensors(&names).unwrap().into_iter().collect();
        assert_eq!(saved.len(), 2);
        let copy = Var::new(
            w.as_tensor().to_vec1::<f32>().unwrap().as_slice(),
            &Device::Cpu,
        )
        .unwrap();
        let mut second = Optimizer::new(vec![copy.clone()], config).unwrap();
        second.restore_state(&names, &saved).unwrap();
        first.backward_step(&loss(&w)).unwrap();
        second.backward_step(&loss(&copy)).unwrap();
        assert_eq!(
            w.as_tensor().to_vec1::<f32>().unwrap(),
            copy.as_tensor().to_vec1::<f32>().unwrap(),
            "a restored Adam must take the step the original takes (bias correction at step 3)"
        );
        let mut partial = saved.clone();
        partial.remove("adam_step.w");
        assert!(second.restore_state(&names, &partial).is_err());
    }
}
