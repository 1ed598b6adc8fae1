//! The PyTorch peers' scripts (`xtask/pytorch/`), and the hidden `trace-inputs` command: what
//! the step-by-step trace (`trace.py`) gets from actfn so that it computes on the same inputs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// The script of a PyTorch peer, in `xtask/pytorch/`.
pub fn script(name: &str) -> PathBuf {
    crate::project_root()
        .join("xtask")
        .join("pytorch")
        .join(name)
}

/// Arguments of the hidden `trace-inputs` command.
#[derive(Args, Debug)]
pub struct TraceInputsArgs {
    /// Seed of the initial weights and the batch order.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seed of the train/validation split.
    #[arg(long, default_value_t = 42)]
    split_seed: u64,
    /// Epochs to trace.
    #[arg(long, default_value_t = 1, value_parser = crate::at_least_one)]
    epochs: usize,
    /// The optimizer: sgd (the study's) or adam.
    #[arg(long, default_value = "sgd", value_parser = ["sgd", "adam"])]
    optimizer: String,
    /// Learning rate [default: 0.01 with SGD, 0.001 with Adam].
    #[arg(long)]
    lr: Option<f64>,
    /// The folder that receives `trace_inputs.safetensors`.
    #[arg(long)]
    out: PathBuf,
}

/// Writes what `xtask/pytorch/trace.py` needs to train as actfn does
/// (`actfn_sweep::peer::write_trace_inputs`) into `<out>/trace_inputs.safetensors`.
pub fn trace_inputs(args: &TraceInputsArgs) -> anyhow::Result<()> {
    let (_, data) = crate::data::find_or_fetch(true)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args.out.join("trace_inputs.safetensors");
    let trace = actfn_sweep::peer::TraceSettings {
        seed: args.seed,
        split_seed: args.split_seed,
        epochs: args.epochs,
        optimizer: crate::train::optimizer_config(&args.optimizer, args.lr, None)?,
    };
    actfn_sweep::peer::write_trace_inputs(&path, data.train_len(), &trace)?;
    say!("{}", path.display());
    Ok(())
}
