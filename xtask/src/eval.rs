//! `cargo xtask eval`: test accuracy of saved networks, from any folder of checkpoints.

use std::path::{Path, PathBuf};

use actfn_activations::Activation;
use actfn_data::EVAL_BATCH_SIZE;
use actfn_model::BaseNetwork;
use anyhow::{Context, bail};
use clap::Args;

use crate::{ComputeArgs, default_checkpoint_dir};

/// Arguments of `cargo xtask eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The folder of `<name>.config` + `<name>.safetensors` files
    /// [default: $PATH_CHECKPOINT or saved_models/Activation_Functions].
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// One network's name, e.g. FashionMNIST_relu.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    name: Option<String>,
    /// Every network in the folder.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    pub(crate) compute: ComputeArgs,
    /// Also count dead neurons (exactly 0 on every training image) of the ReLU networks.
    #[arg(long)]
    dead_neurons: bool,
    /// Seed of the train/validation split, for the dead-neuron count over the training split.
    #[arg(long, default_value_t = 42)]
    split_seed: u64,
}

/// The names of the checkpoints in `dir`: every `<name>.config` with a `<name>.safetensors`.
pub fn checkpoint_names(dir: &Path) -> anyhow::Result<Vec<String>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let is_checkpoint = path.extension().is_some_and(|e| e == "config")
            && path.with_extension("safetensors").is_file();
        if let Some(stem) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|_| is_checkpoint)
        {
            names.push(stem.to_string());
        }
    }
    names.sort();
    if names.is_empty() {
        bail!(
            "{}: no checkpoints (<name>.config + <name>.safetensors) found",
            dir.display()
        );
    }
    Ok(names)
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let device = args.compute.device()?;
    let dir = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(default_checkpoint_dir);
    let names = match &args.name {
        Some(name) => vec![name.clone()],
        None => checkpoint_names(&dir)?,
    };
    // Load every network before the data, so a bad checkpoint fails fast.
    let networks = names
        .iter()
        .map(|name| Ok((name, BaseNetwork::load(&dir, name, &device)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let splits = crate::data::load_splits(args.split_seed, &device)?;
    say!("| network | activation | test accuracy |\n|---|---|---:|");
    for (name, net) in &networks {
        let acc = actfn_train::accuracy(net, &splits.test, EVAL_BATCH_SIZE)?;
        // A checkpoint of a run that has not finished is its best epoch so far: said, so that it
        // is not taken for the finished run's.
        let unfinished = matches!(
            actfn_train::inspect(&dir, name),
            actfn_train::RunState::Unfinished
        );
        say!(
            "| {name}{} | {} | {:.2}% |",
            if unfinished { " (unfinished run)" } else { "" },
            net.activation().name(),
            100.0 * acc
        );
    }
    if args.dead_neurons {
        let relu_networks = networks
            .iter()
            .filter(|(_, net)| net.activation() == Activation::ReLU);
        for (name, net) in relu_networks {
            let dead = actfn_diagnostics::dead_neurons(net, &splits.train, EVAL_BATCH_SIZE)?;
            say!(
                "{name}: dead neurons {:?} = {}",
                dead.dead,
                dead.percentages_text()
            );
        }
    }
    Ok(())
}
