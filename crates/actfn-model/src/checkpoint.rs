//! Checkpoint files: paths, and weights checked tensor by tensor against a config (names, dtype,
//! shapes, finite values).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::{BaseNetworkConfig, Error, Result};

/// `<dir>/<name>.config`.
pub fn config_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.config"))
}

/// `<dir>/<name>.safetensors`.
pub fn weights_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.safetensors"))
}

/// Serializes `tensors` as safetensors and writes them atomically to `path`.
pub(crate) fn save_weights(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let bytes = safetensors::serialize(tensors, None).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("cannot serialize the weights: {e}"),
    })?;
    Ok(actfn_io::atomic_write(path, &bytes)?)
}

/// Reads `path` and checks that it holds exactly the tensors `config` needs.
pub(crate) fn load_weights(
    path: &Path,
    config: &BaseNetworkConfig,
    device: &Device,
) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let tensors =
        candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("not a readable safetensors file ({e}); re-save or re-import it"),
        })?;
    check_weights(tensors, config, path)
}

/// Checks that `tensors` (read from `path`) are exactly the ones `config` needs, as f32 with the
/// right shapes, naming the first tensor at fault.
pub(crate) fn check_weights(
    tensors: HashMap<String, Tensor>,
    config: &BaseNetworkConfig,
    path: &Path,
) -> Result<HashMap<String, Tensor>> {
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let expected = config.parameter_shapes();
    for (name, shape) in &expected {
        let tensor = tensors
            .get(name)
            .ok_or_else(|| bad(format!("tensor {name} is missing (the config needs it)")))?;
        if tensor.dtype() != DType::F32 {
            return Err(bad(format!(
                "tensor {name} is {:?}, expected f32",
                tensor.dtype()
            )));
        }
        if tensor.dims() != shape.as_slice() {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, but the config needs {shape:?}",
                tensor.dims()
            )));
        }
        // A diverged run or a damaged file can hold NaN: such weights evaluate to chance
        // without a word, so they are refused here, where every checkpoint is read.
        let values = tensor
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| bad(format!("cannot read tensor {name} ({e})")))?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!(
                "tensor {name} holds {} at flat index {i}: the run that saved it diverged or the \
                 file is damaged; train it again",
                values[i]
            )));
        }
    }
    let mut extra: Vec<&String> = tensors
        .keys()
        .filter(|name| !expected.iter().any(|(e, _)| e == *name))
        .collect();
    if !extra.is_empty() {
        extra.sort();
        return Err(bad(format!(
            "tensors {extra:?} are not part of the network the config describes"
        )));
    }
    Ok(tensors)
}
