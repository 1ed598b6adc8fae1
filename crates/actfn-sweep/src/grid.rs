//! A sweep's grid: the runs its settings cross into, each with a stable index and name, and
//! `tasks.tsv`, their list for a person or a cluster's scripts.

use std::fmt::Write as _;

use actfn_activations::Activation;
use actfn_model::BaseNetworkConfig;
use actfn_train::{OptimizerConfig, TrainConfig};

use crate::settings::optimizer_id;
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
    /// The optimizer, when the sweep's optimizer axis names it (`None`: the template's, and the
    /// run's name does not say it).
    pub optimizer: Option<OptimizerConfig>,
}

impl RunSpec {
    /// The run's folder name, e.g. `relu-h512x256x256x128-p7-split42-seed3`, ending in the
    /// optimizer (`-adam-lr0.001`) when the sweep's optimizer axis names it.
    pub fn id(&self) -> String {
        let mut id = format!(
            "{}-h{}-p{}-split{}-seed{}",
            self.act.key(),
            sizes(&self.hidden, "x"),
            self.patience,
            self.split_seed,
            self.seed
        );
        if let Some(optimizer) = &self.optimizer {
            id.push('-');
            id.push_str(&optimizer_id(optimizer));
        }
        id
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
        settings.train_config(self.seed, self.split_seed, self.patience, self.optimizer)
    }
}

/// Layer sizes joined by `separator`: `512x256`.
pub(crate) fn sizes(hidden: &[usize], separator: &str) -> String {
    let sizes: Vec<String> = hidden.iter().map(usize::to_string).collect();
    sizes.join(separator)
}

impl SweepSettings {
    /// The runs, in the order they are run: split seed, seed, architecture, patience,
    /// optimizer, then activation vary slowest to fastest, so that an interrupted sweep has every activation at
    /// the seeds it reached.
    pub fn runs(&self) -> Result<Vec<RunSpec>> {
        self.validate()?;
        let a = &self.axes;
        let optimizers: Vec<Option<OptimizerConfig>> = if a.optimizer.is_empty() {
            vec![None]
        } else {
            a.optimizer.iter().copied().map(Some).collect()
        };
        let mut runs = Vec::new();
        for &split_seed in &a.split_seed {
            for &seed in &a.seed {
                for hidden in &a.hidden_sizes {
                    for &patience in &a.patience {
                        for &optimizer in &optimizers {
                            for &act in &a.act_fn {
                                runs.push(RunSpec {
                                    index: runs.len(),
                                    act,
                                    seed,
                                    split_seed,
                                    hidden: hidden.clone(),
                                    patience,
                                    optimizer,
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(runs)
    }
}

/// One line per run: its index and the values of its axes, tab-separated, with a header. The
/// optimizer column holds the run's optimizer as its JSON (`settings` gives the template's to
/// runs that do not name one); the torch column a formula's PyTorch expression of `x`
/// ([`actfn_activations::Expr::to_torch`]), `-` for a named function.
pub fn tasks_tsv(runs: &[RunSpec], settings: &SweepSettings) -> String {
    let mut text =
        String::from("index\tid\tact\tseed\tsplit_seed\thidden\tpatience\toptimizer\ttorch\n");
    for run in runs {
        let optimizer = run.optimizer.unwrap_or(settings.template.optimizer);
        let torch = match run.act {
            Activation::Formula(f) => f.expr().to_torch(),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{torch}",
            run.index,
            run.id(),
            run.act.key(),
            run.seed,
            run.split_seed,
            sizes(&run.hidden, ","),
            run.patience,
            serde_json::to_string(&optimizer).unwrap_or_default()
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
        let tsv = tasks_tsv(&runs, &settings);
        assert!(tsv.contains(
            "\n3\ttanh-h512x256x256x128-p7-split42-seed1\ttanh\t1\t42\t512,256,256,128\t7\t\
             {\"lr\":0.01,\"momentum\":0.9,\"dampening\":0.0,\"weight_decay\":0.0,\"nesterov\":false}\t-\n"
        ));
        // A formula's run is named by its label, and carries its PyTorch translation.
        let quick_gelu = Activation::formula(
            "x*sigmoid(1.702*x)",
            actfn_activations::NonFinitePolicy::Refuse,
        )
        .unwrap();
        settings.axes.act_fn = vec![quick_gelu];
        let runs = settings.runs().unwrap();
        assert_eq!(
            runs[0].id(),
            "f-9d17a84506a9-h512x256x256x128-p7-split42-seed0"
        );
        assert!(tasks_tsv(&runs, &settings).contains("\t(x * torch.sigmoid(((1.702) * x)))\n"));
        settings.axes.act_fn = vec![Activation::ReLU, Activation::Tanh];
        // An optimizer axis names each run's optimizer, crossed inside the seeds.
        settings.axes.optimizer = vec![
            OptimizerConfig::with_lr("sgd", 0.1).unwrap(),
            OptimizerConfig::with_lr("adam", 0.001).unwrap(),
        ];
        let runs = settings.runs().unwrap();
        assert_eq!(runs.len(), 8);
        assert_eq!(
            runs[2].id(),
            "relu-h512x256x256x128-p7-split42-seed0-adam-lr0.001"
        );
        assert_eq!(
            runs[4].id(),
            "relu-h512x256x256x128-p7-split42-seed1-sgd-lr0.1"
        );
        let config = runs[3].train_config(&settings);
        assert_eq!(config.optimizer, settings.axes.optimizer[1]);
        assert!(tasks_tsv(&runs, &settings).contains("\t{\"adam\":{\"lr\":0.001,"));
        // The same optimizer twice is refused by its name.
        settings
            .axes
            .optimizer
            .push(OptimizerConfig::with_lr("sgd", 0.1).unwrap());
        let error = settings.runs().unwrap_err().to_string();
        assert!(
            error.contains("names SGD lr 0.1, momentum 0.9 twice (as sgd-lr0.1)"),
            "{error}"
        );
    }
}
