//! A sweep's grid: the runs its settings cross into, each with a stable index and name, and
//! `tasks.tsv`, their list for a person or a cluster's scripts.

use std::fmt::Write as _;

use actfn_activations::Activation;
use actfn_model::BaseNetworkConfig;
use actfn_train::TrainConfig;

use crate::{Result, SweepSettings};

/// One run of a sweep: its place in the grid and the values of the axes it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Its index in the grid, from 0 (a Slurm array's task id).
    pub index: usize,
    /// The activation function.
    pub act: Activation,
    /// Seed of the initial weights and the batch order.
    pub seed: u64,
    /// Seed of the train/validation split.
    pub split_seed: u64,
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// Early-stopping patience.
    pub patience: usize,
}

impl RunSpec {
    /// The run's folder name, e.g. `relu-h512x256x256x128-p7-split42-seed3`.
    pub fn id(&self) -> String {
        format!(
            "{}-h{}-p{}-split{}-seed{}",
            self.act.key(),
            sizes(&self.hidden, "x"),
            self.patience,
            self.split_seed,
            self.seed
        )
    }

    /// The network it trains.
    pub fn network(&self) -> BaseNetworkConfig {
        BaseNetworkConfig {
            act_fn: self.act,
            hidden_sizes: self.hidden.clone(),
            ..BaseNetworkConfig::default()
        }
    }

    /// Its training config under `settings`.
    pub fn train_config(&self, settings: &SweepSettings) -> TrainConfig {
        settings.train_config(self.seed, self.split_seed, self.patience)
    }
}

/// Layer sizes joined by `separator`: `512x256`.
pub(crate) fn sizes(hidden: &[usize], separator: &str) -> String {
    let sizes: Vec<String> = hidden.iter().map(usize::to_string).collect();
    sizes.join(separator)
}

impl SweepSettings {
    /// The runs, in the order they are run: split seed, seed, architecture, patience, then
    /// activation vary slowest to fastest, so that an interrupted sweep has every activation at
    /// the seeds it reached.
    pub fn runs(&self) -> Result<Vec<RunSpec>> {
        self.validate()?;
        let a = &self.axes;
        let mut runs = Vec::new();
        for &split_seed in &a.split_seed {
            for &seed in &a.seed {
                for hidden in &a.hidden_sizes {
                    for &patience in &a.patience {
                        for &act in &a.act_fn {
                            runs.push(RunSpec {
                                index: runs.len(),
                                act,
                                seed,
                                split_seed,
                                hidden: hidden.clone(),
                                patience,
                            });
                        }
                    }
                }
            }
        }
        Ok(runs)
    }
}

/// One line per run: its index and the values of its axes, tab-separated, with a header.
pub fn tasks_tsv(runs: &[RunSpec]) -> String {
    let mut text = String::from("index\tid\tact\tseed\tsplit_seed\thidden\tpatience\n");
    for run in runs {
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            run.index,
            run.id(),
            run.act.key(),
            run.seed,
            run.split_seed,
            sizes(&run.hidden, ","),
            run.patience
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cross_the_axes_activation_fastest_with_stable_names() {
        let mut settings = SweepSettings::default();
        settings.axes.act_fn = vec![Activation::ReLU, Activation::Tanh];
        settings.axes.seed = vec![0, 1];
        let runs = settings.runs().unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[1].id(), "tanh-h512x256x256x128-p7-split42-seed0");
        assert_eq!(runs[2].id(), "relu-h512x256x256x128-p7-split42-seed1");
        let tsv = tasks_tsv(&runs);
        assert!(tsv.contains(
            "\n3\ttanh-h512x256x256x128-p7-split42-seed1\ttanh\t1\t42\t512,256,256,128\t7\n"
        ));
    }
}
