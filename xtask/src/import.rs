//! `cargo xtask import`: the study's PyTorch checkpoints (`<name>.config` + `<name>.tar`) turned
//! into this project's (`<name>.config` + `<name>.safetensors`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use candle_core::Device;
use clap::Args;

use crate::project_root;

/// Arguments of `cargo xtask import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The folder of `<name>.config` + `<name>.tar` (or `.pt`/`.pth`) files.
    #[arg(long)]
    from: PathBuf,
    /// Where the converted checkpoints go [default: saved_models/pretrained_pytorch].
    #[arg(long)]
    to: Option<PathBuf>,
}

/// The default folder of imported checkpoints; apart from the trained ones, so that importing
/// never makes `train` or `reproduce` skip training.
pub fn default_import_dir() -> PathBuf {
    project_root()
        .join("saved_models")
        .join("pretrained_pytorch")
}

/// Converts every PyTorch checkpoint in `from` into `to`, returning the names.
pub fn import_dir(from: &Path, to: &Path) -> anyhow::Result<Vec<String>> {
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let config = entry?.path();
        if config.extension().is_none_or(|e| e != "config") {
            continue;
        }
        let Some(weights) = ["tar", "pt", "pth"]
            .iter()
            .map(|e| config.with_extension(e))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let name = config
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a file name that is not UTF-8")?
            .to_string();
        let net = actfn_model::pytorch::load_network(&config, &weights, &Device::Cpu)?;
        net.save(to, &name)?;
        names.push(name);
    }
    names.sort();
    if names.is_empty() {
        bail!(
            "{}: no PyTorch checkpoints (<name>.config + <name>.tar) found",
            from.display()
        );
    }
    Ok(names)
}

pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let to = args.to.clone().unwrap_or_else(default_import_dir);
    for name in import_dir(&args.from, &to)? {
        say!(
            "imported {name} -> {}",
            actfn_model::weights_path(&to, &name).display()
        );
    }
    say!(
        "Evaluate them with: cargo xtask eval --checkpoint-dir {} --all",
        to.display()
    );
    Ok(())
}
