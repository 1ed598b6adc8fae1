//! The grid's flags of `cargo xtask sweep`, and the settings they give.

use std::path::PathBuf;

use actfn_sweep::{Axes, SweepSettings, parse_hidden, parse_seeds};
use clap::Args;

use super::slurm;
use crate::at_least_one;

/// Runs per hour of the two ways to use the 2-core reference machine, measured on the study's
/// protocol (see docs/bench/): the default is the faster.
const DEFAULT_JOBS: usize = 2;
const DEFAULT_THREADS: u16 = 1;

/// The grid and how to run it.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Activation functions (keys or formulas of x, e.g. `relu,x*sigmoid(1.702*x)`),
    /// comma-separated, or `all` (every built-in) [default: the study's six].
    #[arg(long, value_name = "NAMES", value_parser = crate::train::parse_act_list)]
    acts: Option<crate::train::ActList>,
    #[command(flatten)]
    pub(super) non_finite: crate::train::NonFiniteArgs,
    /// Seeds of the initial weights and batch order: a count from 0 (`10`), a list (`0,3,7`;
    /// one seed: `7,`) or a range (`0-9`).
    #[arg(long, default_value = "10", value_parser = seed_list)]
    pub(super) seeds: Seeds,
    /// Seeds of the train/validation split, as --seeds [default: the study's split, 42].
    #[arg(long, value_parser = seed_list)]
    split_seeds: Option<Seeds>,
    /// Hidden layer sizes; repeat the flag for several architectures.
    #[arg(long, value_parser = parse_hidden, default_value = "512,256,256,128")]
    hidden: Vec<Vec<usize>>,
    /// Depths to cross instead of --hidden: `2,4,6` gives networks of 2, 4 and 6 hidden layers,
    /// each --width wide.
    #[arg(long, value_delimiter = ',', conflicts_with = "hidden", value_parser = clap::value_parser!(u16).range(1..))]
    depths: Option<Vec<u16>>,
    /// The width of every hidden layer with --depths.
    #[arg(long, default_value_t = 256, requires = "depths", value_parser = at_least_one)]
    width: usize,
    /// Early-stopping patiences (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "7")]
    patience: Vec<usize>,
    /// The most epochs per run.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Optimizers to cross, comma-separated: sgd (the study's momentum SGD), adam (PyTorch's
    /// torch.optim.Adam).
    #[arg(long, value_delimiter = ',', default_value = "sgd", value_parser = ["sgd", "adam"])]
    optimizers: Vec<String>,
    /// Learning rates to cross with every optimizer, comma-separated [default: 0.01 with SGD,
    /// 0.001 with Adam].
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        conflicts_with = "lr"
    )]
    lrs: Option<Vec<f64>>,
    /// One learning rate (as --lrs with one value).
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// SGD's momentum [default: 0.9].
    #[arg(long, allow_negative_numbers = true)]
    momentum: Option<f64>,
    /// Training batch size.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Train on the first N images of the training split only.
    #[arg(long, value_name = "N")]
    subset: Option<usize>,
    /// Initial weights of every run: pytorch (the study's), kaiming-normal or lecun-normal.
    #[arg(long, default_value_t = actfn_model::Init::PyTorch, value_parser = crate::train::parse_init)]
    init: actfn_model::Init,
    /// Where every run computes: cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// CPU threads per run. The default 2 jobs x 1 thread finishes a sweep sooner on 2 cores
    /// than 1 job x 2 threads: 6 runs of 4 epochs took 26-31 s against 43-44 s (measured
    /// twice each on the 2-core reference machine).
    #[arg(long, default_value_t = DEFAULT_THREADS, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    /// Runs at once, each in its own process.
    #[arg(long, default_value_t = DEFAULT_JOBS, value_parser = at_least_one)]
    pub(super) jobs: usize,
    /// The sweep's name: its folder is sweeps/NAME.
    #[arg(long, default_value = "default", conflicts_with = "out")]
    name: String,
    /// The sweep's folder (instead of sweeps/NAME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also run the grid with the study's PyTorch code (xtask/pytorch/peer.py) in this Python
    /// (with torch and numpy), on the same splits and protocol, and compare the two in the
    /// report.
    #[arg(long, value_name = "PYTHON", conflicts_with = "emit")]
    pub(super) peer: Option<PathBuf>,
    /// Instead of running: write a job array for a cluster into the sweep folder (`slurm`:
    /// tasks.tsv and sweep.sbatch) and print the command that submits it.
    #[arg(long, value_enum)]
    pub(super) emit: Option<Emit>,
    #[command(flatten)]
    pub(super) slurm: slurm::SlurmArgs,
    #[command(flatten)]
    pub(super) outputs: crate::train::OutputArgs,
    #[command(flatten)]
    pub(super) sequential: super::sequential::SequentialArgs,
}

/// What `--emit` writes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// A Slurm job array.
    Slurm,
}

/// A list of seeds, as one argument.
#[derive(Debug, Clone)]
pub(super) struct Seeds(Vec<u64>);

fn seed_list(text: &str) -> Result<Seeds, String> {
    parse_seeds(text).map(Seeds)
}

impl RunArgs {
    /// The sweep these flags describe. One optimizer at one learning rate is the template's (as
    /// sweeps recorded before the optimizer axis); more make the axis.
    pub fn settings(&self) -> anyhow::Result<SweepSettings> {
        let defaults = SweepSettings::default();
        let lrs: Vec<Option<f64>> = match (&self.lrs, self.lr) {
            (Some(lrs), _) => lrs.iter().copied().map(Some).collect(),
            (None, lr) => vec![lr],
        };
        let mut optimizers = Vec::new();
        for key in &self.optimizers {
            for &lr in &lrs {
                optimizers.push(crate::train::optimizer_config(key, lr, self.momentum)?);
            }
        }
        let (template_optimizer, axis) = match optimizers.as_slice() {
            [one] => (*one, Vec::new()),
            _ => (defaults.template.optimizer, optimizers),
        };
        let hidden_sizes = match &self.depths {
            Some(depths) => depths
                .iter()
                .map(|&depth| vec![self.width; usize::from(depth)])
                .collect(),
            None => self.hidden.clone(),
        };
        Ok(SweepSettings {
            axes: Axes {
                act_fn: crate::train::ActList::activations(self.acts.as_ref(), self.non_finite)?,
                hidden_sizes,
                seed: self.seeds.0.clone(),
                split_seed: self
                    .split_seeds
                    .as_ref()
                    .map_or(defaults.axes.split_seed, |s| s.0.clone()),
                patience: self.patience.clone(),
                optimizer: axis,
            },
            template: actfn_train::TrainConfig {
                max_epochs: self.epochs,
                batch_size: self.batch_size,
                optimizer: template_optimizer,
                init: self.init,
                subset: self.subset,
                ..defaults.template
            },
            device: self.device.clone(),
            threads: self.threads,
        })
    }

    pub fn folder(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| crate::project_root().join("sweeps").join(&self.name))
    }
}
