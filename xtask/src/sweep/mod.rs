//! `cargo xtask sweep`: the command line of `actfn-sweep`. A grid of independent training runs
//! (activations x seeds x split seeds x architectures x patiences), each exactly the run `train`
//! does, run here as child processes or written as a Slurm job array; and its report.
//!
//! - `task`: one run (`sweep task`), in a child process of the local sweep or a Slurm task;
//! - `slurm`: the flags of the job array; `report`: `sweep report`.

mod report;
mod slurm;
mod task;

use std::path::PathBuf;
use std::process::Command;

use actfn_activations::Activation;
use actfn_sweep::slurm::TaskCommand;
use actfn_sweep::{Axes, Local, SweepDir, SweepSettings, parse_hidden, parse_seeds};
use anyhow::bail;
use clap::{Args, Subcommand};

use crate::at_least_one;

/// Arguments of `cargo xtask sweep`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum SweepAction {
    /// Run one run of a sweep folder (what each local job and Slurm array task runs).
    Task(task::TaskArgs),
    /// Build runs.csv and the report from the finished runs; list the others.
    Report(report::ReportArgs),
}

/// Runs per hour of the two ways to use the 2-core reference machine, measured on the study's
/// protocol (see docs/bench/): the default is the faster.
const DEFAULT_JOBS: usize = 2;
const DEFAULT_THREADS: u16 = 1;

/// The grid and how to run it.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Activation functions, comma-separated, or `all` (every built-in) [default: the study's
    /// six].
    #[arg(long, value_name = "NAMES", value_parser = crate::train::parse_act_list)]
    acts: Option<crate::train::ActList>,
    /// Seeds of the initial weights and batch order: a count from 0 (`10`), a list (`0,3,7`;
    /// one seed: `7,`) or a range (`0-9`).
    #[arg(long, default_value = "10", value_parser = seed_list)]
    seeds: Seeds,
    /// Seeds of the train/validation split, as --seeds [default: the study's split, 42].
    #[arg(long, value_parser = seed_list)]
    split_seeds: Option<Seeds>,
    /// Hidden layer sizes; repeat the flag for several architectures.
    #[arg(long, value_parser = parse_hidden, default_value = "512,256,256,128")]
    hidden: Vec<Vec<usize>>,
    /// Early-stopping patiences (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "7")]
    patience: Vec<usize>,
    /// The most epochs per run.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    lr: f64,
    /// Momentum.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    momentum: f64,
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
    jobs: usize,
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
    peer: Option<PathBuf>,
    /// Instead of running: write a job array for a cluster into the sweep folder (`slurm`:
    /// tasks.tsv and sweep.sbatch) and print the command that submits it.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    #[command(flatten)]
    slurm: slurm::SlurmArgs,
}

/// What `--emit` writes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Emit {
    /// A Slurm job array.
    Slurm,
}

/// A list of seeds, as one argument.
#[derive(Debug, Clone)]
struct Seeds(Vec<u64>);

fn seed_list(text: &str) -> Result<Seeds, String> {
    parse_seeds(text).map(Seeds)
}

impl SweepArgs {
    /// The CPU threads of the command when it computes in this process (`sweep task`).
    pub fn threads(&self) -> Option<u16> {
        match &self.action {
            Some(SweepAction::Task(args)) => args.threads(),
            _ => None,
        }
    }
}

impl RunArgs {
    fn settings(&self) -> SweepSettings {
        let defaults = SweepSettings::default();
        SweepSettings {
            axes: Axes {
                act_fn: self
                    .acts
                    .as_ref()
                    .map_or_else(Activation::study, |list| list.0.clone()),
                hidden_sizes: self.hidden.clone(),
                seed: self.seeds.0.clone(),
                split_seed: self
                    .split_seeds
                    .as_ref()
                    .map_or(defaults.axes.split_seed, |s| s.0.clone()),
                patience: self.patience.clone(),
            },
            template: actfn_train::TrainConfig {
                max_epochs: self.epochs,
                batch_size: self.batch_size,
                optimizer: actfn_train::SgdConfig {
                    lr: self.lr,
                    momentum: self.momentum,
                    ..defaults.template.optimizer
                },
                init: self.init,
                subset: self.subset,
                ..defaults.template
            },
            device: self.device.clone(),
            threads: self.threads,
        }
    }

    fn folder(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| crate::project_root().join("sweeps").join(&self.name))
    }
}

/// This binary's `sweep task`, which runs [`actfn_sweep::run_task`].
fn task_command() -> anyhow::Result<TaskCommand> {
    Ok(TaskCommand {
        program: std::env::current_exe()?,
        args: vec!["sweep".into(), "task".into()],
    })
}

pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    match &args.action {
        Some(SweepAction::Task(task)) => task::run(task),
        Some(SweepAction::Report(report)) => report::run(report),
        None => run_local(&args.run),
    }
}

/// Refuses a grid with a network that could not train in this machine's memory, with the
/// numbers, before anything is written or allocated. (A cluster's nodes are not this machine:
/// there `--mem` is the limit, which Slurm enforces.)
fn fits_in_memory(settings: &SweepSettings) -> anyhow::Result<()> {
    let Some(memory) = crate::machine::memory_bytes() else {
        return Ok(());
    };
    for hidden in &settings.axes.hidden_sizes {
        let net = settings.network_config(Activation::ReLU, hidden)?;
        let needed =
            actfn_train::memory_estimate(&net, &settings.template, settings.threads.into());
        if needed > memory {
            let sizes: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
            let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
            bail!(
                "--hidden {} needs about {:.1} GiB to train (weights, gradients, momentum, \
                 activations and the data), more than this machine's {:.1} GiB: give smaller layers",
                sizes.join(","),
                gib(needed),
                gib(memory)
            );
        }
    }
    Ok(())
}

/// The local sweep: every run that has not finished, as child processes, then the report. With
/// `--emit slurm`, the job array instead.
fn run_local(args: &RunArgs) -> anyhow::Result<()> {
    let dir = SweepDir::new(&args.folder());
    let settings = args.settings();
    // Whatever would refuse the sweep refuses it before its folder is written.
    settings.validate()?;
    let task = task_command()?;
    match args.emit {
        Some(Emit::Slurm) => {
            actfn_sweep::slurm::preflight(&dir, &settings, &args.slurm.settings(), &task)?
        }
        None => fits_in_memory(&settings)?,
    }
    dir.prepare(&settings)?;
    if args.emit == Some(Emit::Slurm) {
        match actfn_sweep::slurm::emit(&dir, &args.slurm.settings(), &task)? {
            Some(command) => say!(
                "Job array written to {}; submit it with:\n  {command}\nthen watch it with \
                 `squeue --me`, and build the report with `cargo xtask sweep report --dir {}`",
                dir.root.display(),
                actfn_sweep::slurm::shell_quote(&dir.root.to_string_lossy())
            ),
            None => say!(
                "Every run of {} has finished or is running: no array to write",
                dir.root.display()
            ),
        }
        return Ok(());
    }
    let peer = match &args.peer {
        Some(python) => {
            let (data_dir, data) = crate::data::find_or_fetch(true)?;
            Some(actfn_sweep::peer::Peer {
                python: python.clone(),
                script: crate::peer::script("peer.py"),
                data_dir,
                train_images: data.train_len(),
            })
        }
        None => None,
    };
    let root = dir.root.clone();
    let local = Local {
        jobs: args.jobs,
        task_command: Box::new(move |run| {
            let mut command = Command::new(&task.program);
            command.args(&task.args).arg("--dir").arg(&root);
            command.args(["--index", &run.index.to_string()]);
            command
        }),
        peer,
    };
    actfn_sweep::run_local(&dir, &local, &|line| say!("{line}"))?;
    Ok(())
}
