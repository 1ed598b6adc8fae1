//! The state at the end of each epoch, from which a killed run continues as if it had never
//! stopped: weights, the optimizer's state (momentum buffers, Adam's moments), early-stopping state, the position of the shuffling
//! generator and the records so far, in one safetensors file written atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actfn_model::BaseNetworkConfig;
use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::io_error;
use crate::metrics::LayerDynamics;
use crate::{EarlyStopping, EpochMetrics, Error, Optimizer, Result, TrainConfig};

/// What must match for a saved run to continue bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Settings {
    pub net: BaseNetworkConfig,
    pub train: TrainConfig,
    pub device: String,
    pub threads: usize,
}

/// Everything but the tensors.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct EpochState {
    pub settings: Settings,
    /// Epochs finished.
    pub epochs_done: usize,
    /// Whether early stopping ended the run at the last finished epoch.
    pub stopped_early: bool,
    pub stopping: EarlyStopping,
    /// The shuffling generator's position (a u128, as a string: JSON numbers are f64).
    pub shuffle_word_pos: String,
    pub metrics: Vec<EpochMetrics>,
    /// The dynamics so far (none in states saved before they were recorded).
    #[serde(default)]
    pub dynamics: Vec<LayerDynamics>,
    /// Wall time of the run so far, in seconds.
    pub seconds: f64,
}

/// `<run dir>/resume.safetensors`.
pub(crate) fn state_path(run: &Path) -> PathBuf {
    run.join("resume.safetensors")
}

const STATE_KEY: &str = "actfn_epoch_state";

/// Writes the state, the parameters and the optimizer's state in one file, atomically.
pub(crate) fn save(
    path: &Path,
    state: &EpochState,
    vars: &[(String, Var)],
    optimizer: &Optimizer,
) -> Result<()> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (name, var) in vars {
        tensors.insert(format!("param.{name}"), var.as_tensor().clone());
    }
    let names: Vec<String> = vars.iter().map(|(name, _)| name.clone()).collect();
    tensors.extend(optimizer.state_tensors(&names)?);
    let json = serde_json::to_string(state)
        .map_err(|e| corrupt(format!("cannot serialize the state: {e}")))?;
    let metadata = HashMap::from([(STATE_KEY.to_string(), json)]);
    let bytes = safetensors::serialize(&tensors, Some(metadata))
        .map_err(|e| corrupt(format!("cannot serialize the tensors: {e}")))?;
    Ok(actfn_io::atomic_write(path, &bytes)?)
}

/// Reads a state written by [`save`]: the state, the parameters and the optimizer's state by name.
pub(crate) fn load(path: &Path, device: &Device) -> Result<(EpochState, HashMap<String, Tensor>)> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| corrupt(format!("not a saved training state ({e})")))?;
    let json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(STATE_KEY))
        .ok_or_else(|| corrupt("not a saved training state (no state record)".into()))?;
    let state: EpochState = serde_json::from_str(json)
        .map_err(|e| corrupt(format!("unreadable state record ({e})")))?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| corrupt(format!("unreadable tensors ({e})")))?;
    Ok((state, tensors))
}
