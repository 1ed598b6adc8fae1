//! What the PyTorch step-by-step trace (`xtask/pytorch/trace.py`) gets from actfn so that it
//! computes on the same inputs: the split's indices, the initial weights and the first epoch's
//! batch order.

use std::collections::HashMap;
use std::path::PathBuf;

use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::TrainConfig;
use anyhow::Context;
use candle_core::{Device, Tensor};
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
    /// The folder that receives `trace_inputs.safetensors`.
    #[arg(long)]
    out: PathBuf,
}

/// Writes what `xtask/pytorch/trace.py` needs to train one epoch exactly as actfn does: the
/// ReLU network's initial weights (`init.<name>`), the split, and the first epoch's batch order
/// over the training split (`batch_order`), with the settings as metadata.
pub fn trace_inputs(args: &TraceInputsArgs) -> anyhow::Result<()> {
    let config = TrainConfig {
        seed: args.seed,
        split_seed: args.split_seed,
        ..TrainConfig::default()
    };
    let (_, data) = crate::data::find_or_fetch(true)?;
    let mut tensors = actfn_sweep::peer::split_tensors(args.split_seed, data.train_len())?;
    let train_images = data.train_len() - actfn_train::VALIDATION_IMAGES;
    let (net, _) = BaseNetwork::seeded(BaseNetworkConfig::default(), args.seed, &Device::Cpu)?;
    for (name, tensor) in net.named_parameters() {
        tensors.insert(format!("init.{name}"), tensor);
    }
    // The first epoch's order, exactly as training draws it; the last short batch is dropped.
    let order = actfn_data::epoch_order(train_images, &mut rng::seeded(args.seed, Stream::Shuffle));
    let kept = train_images / config.batch_size * config.batch_size;
    tensors.insert(
        "batch_order".into(),
        Tensor::from_vec(order[..kept].to_vec(), kept, &Device::Cpu)?,
    );
    let metadata = HashMap::from([
        ("seed".to_string(), args.seed.to_string()),
        ("split_seed".to_string(), args.split_seed.to_string()),
        ("batch_size".to_string(), config.batch_size.to_string()),
        ("lr".to_string(), config.optimizer.lr.to_string()),
        (
            "momentum".to_string(),
            config.optimizer.momentum.to_string(),
        ),
    ]);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args.out.join("trace_inputs.safetensors");
    let bytes = safetensors::serialize(&tensors, Some(metadata))?;
    actfn_io::atomic_write(&path, &bytes)?;
    say!("{}", path.display());
    Ok(())
}
