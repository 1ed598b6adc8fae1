//! Checkpoint files: paths, atomic writes, and weights checked tensor by tensor against a config.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::network::layer_names;
use crate::{BaseNetworkConfig, Error, Result};

/// `<dir>/<name>.config`.
pub fn config_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.config"))
}

/// `<dir>/<name>.safetensors`.
pub fn weights_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.safetensors"))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary path beside `path`, in the same folder so that the final rename is atomic.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` through a temporary file that is synced and then renamed: readers
/// see the old file or the new one, never a part.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = temp_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        // The temporary file is useless once the write failed; a failure to remove it changes
        // nothing for the caller, who gets the original error.
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(io_error(path))
}

/// Serializes `tensors` as safetensors and writes them atomically to `path`.
pub(crate) fn save_weights(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let bytes = safetensors::serialize(tensors, None).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("cannot serialize the weights: {e}"),
    })?;
    atomic_write(path, &bytes)
}

/// Reads `path` and checks that it holds exactly the tensors `config` needs.
pub(crate) fn load_weights(
    path: &Path,
    config: &BaseNetworkConfig,
    device: &Device,
) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
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
    for ((fan_in, fan_out), (weight_name, bias_name)) in
        config.layer_shapes().into_iter().zip(layer_names(config))
    {
        for (name, shape) in [
            (weight_name, vec![fan_out, fan_in]),
            (bias_name, vec![fan_out]),
        ] {
            let tensor = tensors
                .get(&name)
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
        }
    }
    let expected: Vec<String> = layer_names(config)
        .into_iter()
        .flat_map(|(w, b)| [w, b])
        .collect();
    let mut extra: Vec<&String> = tensors
        .keys()
        .filter(|name| !expected.contains(name))
        .collect();
    if !extra.is_empty() {
        extra.sort();
        return Err(bad(format!(
            "tensors {extra:?} are not part of the network the config describes"
        )));
    }
    Ok(tensors)
}
