//! The state at the end of each epoch, from which a killed run continues as if it had never
//! stopped: weights, momentum buffers, early-stopping state, the position of the shuffling
//! generator and the metrics so far, in one safetensors file written atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actfn_model::BaseNetworkConfig;
use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::{EarlyStopping, EpochMetrics, Error, Result, Sgd, TrainConfig};

/// What must match for a saved run to continue.
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
    /// Wall time of the run so far, in seconds.
    pub seconds: f64,
}

/// `<run dir>/resume.safetensors`.
pub(crate) fn state_path(run: &Path) -> PathBuf {
    run.join("resume.safetensors")
}

const STATE_KEY: &str = "actfn_epoch_state";

/// Writes the state, the parameters and the momentum buffers in one file, atomically.
pub(crate) fn save(
    path: &Path,
    state: &EpochState,
    vars: &[(String, Var)],
    sgd: &Sgd,
) -> Result<()> {
    let file_error = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason,
    };
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for ((name, var), buffer) in vars.iter().zip(sgd.buffers()) {
        tensors.insert(format!("param.{name}"), var.as_tensor().clone());
        if let Some(buffer) = buffer {
            tensors.insert(format!("momentum.{name}"), buffer.clone());
        }
    }
    let json = serde_json::to_string(state).map_err(|e| file_error(e.to_string()))?;
    let metadata = HashMap::from([(STATE_KEY.to_string(), json)]);
    let bytes =
        safetensors::serialize(&tensors, Some(metadata)).map_err(|e| file_error(e.to_string()))?;
    Ok(actfn_model::atomic_write(path, &bytes)?)
}

/// Reads a state written by [`save`]: the state, the parameters and the momentum buffers by name.
pub(crate) fn load(path: &Path, device: &Device) -> Result<(EpochState, HashMap<String, Tensor>)> {
    let file_error = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason: format!("{reason}; delete it or rerun with --overwrite to start over"),
    };
    let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| file_error(format!("not a saved training state ({e})")))?;
    let json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(STATE_KEY))
        .ok_or_else(|| file_error("not a saved training state (no state record)".into()))?;
    let state: EpochState = serde_json::from_str(json)
        .map_err(|e| file_error(format!("unreadable state record ({e})")))?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| file_error(format!("unreadable tensors ({e})")))?;
    Ok((state, tensors))
}

/// The first setting where `saved` and `now` differ, as `path: saved X, now Y`.
pub(crate) fn first_difference(saved: &Settings, now: &Settings) -> Option<String> {
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let null = serde_json::Value::Null;
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&sub, a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null))
                })
            }
            _ if a == b => None,
            _ => Some(format!("{path}: saved {a}, now {b}")),
        }
    }
    let (a, b) = (
        serde_json::to_value(saved).ok()?,
        serde_json::to_value(now).ok()?,
    );
    walk("", &a, &b)
}
