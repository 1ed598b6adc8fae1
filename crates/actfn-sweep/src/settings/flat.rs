//! `sweep.json` in the flat form of sweeps recorded before the axes and the template were apart:
//! read as the same settings, never written.

use actfn_activations::Activation;
use actfn_train::{OptimizerConfig, TrainConfig};
use serde::Deserialize;

use super::{Axes, SweepSettings};

/// `sweep.json` as sweeps before version 0.1.0's library wrote it: axes and protocol side by
/// side. Read, never written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlatSettings {
    /// Keys, as `relu`.
    acts: Vec<String>,
    seeds: Vec<u64>,
    split_seeds: Vec<u64>,
    hidden: Vec<Vec<usize>>,
    patience: Vec<usize>,
    max_epochs: usize,
    batch_size: usize,
    optimizer: actfn_train::SgdConfig,
    subset: Option<usize>,
    #[serde(default)]
    init: actfn_model::Init,
    device: String,
    threads: u16,
}

impl FlatSettings {
    /// The same settings in today's form; none when a key names no function.
    pub(super) fn settings(self) -> Option<SweepSettings> {
        let act_fn = self
            .acts
            .iter()
            .map(|key| key.parse().ok())
            .collect::<Option<Vec<Activation>>>()?;
        let flat = self;
        Some(SweepSettings {
            axes: Axes {
                act_fn,
                hidden_sizes: flat.hidden,
                seed: flat.seeds,
                split_seed: flat.split_seeds,
                patience: flat.patience,
                optimizer: Vec::new(),
            },
            template: TrainConfig {
                max_epochs: flat.max_epochs,
                batch_size: flat.batch_size,
                optimizer: OptimizerConfig::Sgd(flat.optimizer),
                subset: flat.subset,
                init: flat.init,
                ..TrainConfig::default()
            },
            device: flat.device,
            threads: flat.threads,
        })
    }
}
