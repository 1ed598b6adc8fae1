//! What defines a sweep: the axes (lists of values of fields that [`TrainConfig`] and
//! [`BaseNetworkConfig`] define) and the template every run starts from, as `sweep.json`
//! records them.

use actfn_activations::Activation;
use actfn_model::BaseNetworkConfig;
use actfn_train::{OptimizerConfig, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod flat;
mod parse;

use flat::FlatSettings;
pub use parse::{parse_hidden, parse_seeds};

/// The most seeds one axis may list: far above any real sweep's, and small enough that the
/// list, and `tasks.tsv`, stay a few megabytes.
pub const MAX_SEEDS: usize = 100_000;

/// The most runs one sweep holds: far above what a cluster runs in a week, small enough that
/// the grid and its `tasks.tsv` fit in memory.
pub const MAX_RUNS: usize = 1_000_000;

/// The study's split seed.
pub const STUDY_SPLIT_SEED: u64 = 42;

/// The values a sweep crosses. Each axis is named after the config field it sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axes {
    /// [`BaseNetworkConfig::act_fn`]: the activation functions.
    pub act_fn: Vec<Activation>,
    /// [`BaseNetworkConfig::hidden_sizes`]: the architectures.
    pub hidden_sizes: Vec<Vec<usize>>,
    /// [`TrainConfig::seed`]: seeds of the initial weights and the batch order.
    pub seed: Vec<u64>,
    /// [`TrainConfig::split_seed`]: seeds of the train/validation split.
    pub split_seed: Vec<u64>,
    /// [`TrainConfig::patience`]: early-stopping patiences.
    pub patience: Vec<usize>,
    /// [`TrainConfig::optimizer`]: the optimizers, each with its learning rate. Empty (as in
    /// every sweep recorded before the axis existed, and in a sweep of one optimizer): the
    /// template's alone, and the runs' names do not say it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optimizer: Vec<OptimizerConfig>,
}

impl Default for Axes {
    /// The study's six functions and network, seeds 0 to 9, the study's split and patience.
    fn default() -> Self {
        Self {
            act_fn: Activation::study(),
            hidden_sizes: vec![BaseNetworkConfig::default().hidden_sizes],
            seed: (0..10).collect(),
            split_seed: vec![STUDY_SPLIT_SEED],
            patience: vec![TrainConfig::default().patience],
            optimizer: Vec::new(),
        }
    }
}

/// Everything that defines a sweep's runs and their results, recorded in `sweep.json`. A rerun
/// with other settings is refused by the name of the first that differs.
///
/// `Default` is the study's protocol over 10 seeds on the CPU, one thread per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSettings {
    /// The values the runs cross.
    pub axes: Axes,
    /// The training settings every run shares. Its `seed`, `split_seed` and `patience` are each
    /// run's, from the axes.
    pub template: TrainConfig,
    /// Where every run computes: `cpu`, `cuda`, `cuda:N`, `metal` or `metal:N`.
    pub device: String,
    /// CPU threads per run (they decide the last bits of the arithmetic).
    pub threads: u16,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            axes: Axes::default(),
            template: TrainConfig::default(),
            device: "cpu".into(),
            threads: 1,
        }
    }
}

impl SweepSettings {
    /// The axes as `(name, length)`, in the order the grid crosses them, slowest first.
    fn axis_lengths(&self) -> [(&'static str, usize); 6] {
        let a = &self.axes;
        [
            ("split_seed (--split-seeds)", a.split_seed.len()),
            ("seed (--seeds)", a.seed.len()),
            ("hidden_sizes (--hidden)", a.hidden_sizes.len()),
            ("patience (--patience)", a.patience.len()),
            ("optimizer (--optimizers, --lrs)", self.optimizers().len()),
            ("act_fn (--acts)", a.act_fn.len()),
        ]
    }

    /// Checks every axis and setting, naming the one at fault.
    pub fn validate(&self) -> Result<()> {
        let axes = self.axis_lengths();
        for (name, len) in axes {
            if len == 0 {
                return Err(Error::Settings(format!(
                    "the axis {name} is empty: a sweep needs at least one value on every axis"
                )));
            }
        }
        // The grid is built in memory and written as tasks.tsv: its size is checked first.
        let runs = axes
            .iter()
            .try_fold(1usize, |product, (_, len)| product.checked_mul(*len))
            .filter(|&runs| runs <= MAX_RUNS);
        if runs.is_none() {
            let sizes: Vec<String> = axes
                .iter()
                .map(|(name, len)| format!("{name} {len}"))
                .collect();
            return Err(Error::Settings(format!(
                "the grid ({}) has more than {MAX_RUNS} runs: split it into several sweeps \
                 (`sweep report` takes several --dir)",
                sizes.join(" x ")
            )));
        }
        if self.axes.seed.len() > MAX_SEEDS || self.axes.split_seed.len() > MAX_SEEDS {
            return Err(Error::Settings(format!(
                "a seed axis lists more than {MAX_SEEDS} seeds"
            )));
        }
        for (name, values) in [
            ("seed", &self.axes.seed),
            ("split_seed", &self.axes.split_seed),
        ] {
            if has_repeats(values) {
                return Err(Error::Settings(format!(
                    "the axis {name} names a seed twice"
                )));
            }
        }
        let keys: Vec<&str> = self.axes.act_fn.iter().map(Activation::key).collect();
        if has_repeats(&keys) {
            return Err(Error::Settings(
                "the axis act_fn (--acts) names a function twice".into(),
            ));
        }
        let mut named: Vec<String> = Vec::new();
        for optimizer in self.optimizers() {
            let name = optimizer_id(&optimizer);
            if named.contains(&name) {
                return Err(Error::Settings(format!(
                    "the axis optimizer names {optimizer} twice (as {name})"
                )));
            }
            named.push(name);
            self.train_config(0, 0, 0, Some(optimizer)).validate()?;
        }
        for hidden in &self.axes.hidden_sizes {
            self.network_config(Activation::ReLU, hidden)?;
        }
        if self.threads == 0 {
            return Err(Error::Settings("threads must be at least 1".into()));
        }
        Ok(())
    }

    /// The network of `act` with the architecture `hidden`, checked.
    pub fn network_config(&self, act: Activation, hidden: &[usize]) -> Result<BaseNetworkConfig> {
        let config = BaseNetworkConfig {
            act_fn: act,
            hidden_sizes: hidden.to_vec(),
            ..BaseNetworkConfig::default()
        };
        config.validate()?;
        Ok(config)
    }

    /// The training config of one run: the template with the run's seeds, patience and
    /// optimizer (`None`: the template's).
    pub fn train_config(
        &self,
        seed: u64,
        split_seed: u64,
        patience: usize,
        optimizer: Option<OptimizerConfig>,
    ) -> TrainConfig {
        TrainConfig {
            seed,
            split_seed,
            patience,
            optimizer: optimizer.unwrap_or(self.template.optimizer),
            ..self.template.clone()
        }
    }

    /// The optimizers the runs take: the axis, or the template's alone when the axis is empty.
    pub fn optimizers(&self) -> Vec<OptimizerConfig> {
        if self.axes.optimizer.is_empty() {
            vec![self.template.optimizer]
        } else {
            self.axes.optimizer.clone()
        }
    }

    /// The architecture of the grid that needs the most memory to train, and about how many
    /// bytes ([`actfn_train::memory_estimate`] with the sweep's threads).
    pub fn largest_memory_need(&self) -> Result<Option<MemoryNeed>> {
        let mut largest: Option<MemoryNeed> = None;
        // Adam keeps two copies of the weights where SGD keeps one: the optimizer that needs
        // most.
        let config = self
            .optimizers()
            .into_iter()
            .map(|o| self.train_config(0, 0, 0, Some(o)))
            .max_by_key(|c| c.optimizer.state_copies())
            .unwrap_or_else(|| self.template.clone());
        for hidden in &self.axes.hidden_sizes {
            let net = self.network_config(Activation::ReLU, hidden)?;
            let bytes = actfn_train::memory_estimate(&net, &config, self.threads.into());
            if largest.as_ref().is_none_or(|l| bytes > l.bytes) {
                largest = Some(MemoryNeed {
                    hidden: hidden.clone(),
                    bytes,
                });
            }
        }
        Ok(largest)
    }

    /// Reads settings from `sweep.json`'s text: today's form, or the flat form of sweeps
    /// recorded before the axes and the template were apart (read as the same settings).
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        match serde_json::from_str::<Self>(text) {
            Ok(settings) => Ok(settings),
            Err(error) => serde_json::from_str::<FlatSettings>(text)
                .ok()
                .and_then(FlatSettings::settings)
                .ok_or(error),
        }
    }
}

/// An optimizer's part of a run's folder name: `sgd-lr0.1`, `adam-lr0.0003` (other settings than
/// the learning rate are the sweep's, in `sweep.json`; two optimizers of one key and rate in one
/// axis are refused).
pub(crate) fn optimizer_id(optimizer: &OptimizerConfig) -> String {
    format!("{}-lr{}", optimizer.key(), optimizer.lr())
}

/// What training one architecture of a sweep takes in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryNeed {
    /// Its hidden layer sizes.
    pub hidden: Vec<usize>,
    /// About how many bytes: weights, gradients, momentum, activations and the data.
    pub bytes: u64,
}

/// Whether `values` holds a value twice.
pub(crate) fn has_repeats<T: Ord>(values: &[T]) -> bool {
    let mut sorted: Vec<&T> = values.iter().collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_and_the_flat_form_reads_as_the_same_settings() {
        let settings = SweepSettings::default();
        let text = serde_json::to_string_pretty(&settings).unwrap();
        assert_eq!(SweepSettings::from_json(&text).unwrap(), settings);
        // sweep.json as the sweeps of docs/results/ recorded it.
        let flat = r#"{"acts": ["relu", "tanh"], "seeds": [0, 1], "split_seeds": [42],
            "hidden": [[512, 256, 256, 128]], "patience": [7], "max_epochs": 50,
            "batch_size": 256, "optimizer": {"lr": 0.01, "momentum": 0.9, "dampening": 0.0,
            "weight_decay": 0.0, "nesterov": false}, "subset": null,
            "init": "pytorch", "device": "cpu", "threads": 1}"#;
        let read = SweepSettings::from_json(flat).unwrap();
        assert_eq!(read.axes.act_fn, [Activation::ReLU, Activation::Tanh]);
        assert_eq!(read.axes.seed, [0, 1]);
        assert_eq!(read.template, TrainConfig::default());
        // Neither form: the error is today's form's.
        let error = SweepSettings::from_json(r#"{"axes": 3}"#).unwrap_err();
        assert!(
            error.to_string().contains("expected struct Axes"),
            "{error}"
        );
    }

    #[test]
    fn bad_axes_are_named() {
        let mut settings = SweepSettings::default();
        settings.axes.patience.clear();
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("patience (--patience) is empty"), "{error}");
        let mut settings = SweepSettings::default();
        settings.axes.seed = vec![3, 3];
        assert!(
            settings
                .validate()
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let mut settings = SweepSettings::default();
        settings.axes.hidden_sizes = vec![vec![512, 0]];
        assert!(settings.validate().is_err());
    }
}
