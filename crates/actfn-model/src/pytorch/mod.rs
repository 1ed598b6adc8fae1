//! Reading PyTorch checkpoints (`torch.save` of a `state_dict`) in both of its formats: the zip
//! format of PyTorch 1.6 and later, and the legacy format of the study's files.
//!
//! Only tensors and ordered dictionaries are accepted; any other pickled class is refused by
//! name, nothing is ever executed, and every length is checked against the bytes that are there
//! before anything is allocated.

mod pickle;
mod value;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::{BaseNetwork, BaseNetworkConfig, Error, Result};
use value::{StorageRef, TensorRef, Value};

/// The legacy format's first pickle: protocol 2, then the 10-byte long 0x1950a86a20f9469cfc6c
/// (`torch.serialization.MAGIC_NUMBER`), then STOP.
const LEGACY_MAGIC: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];

/// The legacy format's protocol version.
const LEGACY_PROTOCOL: i64 = 1001;

/// The largest `data.pkl` read from a zip checkpoint; a state dict's pickle is a few kilobytes.
const MAX_ZIP_PICKLE: u64 = 64 << 20;

/// Reads the tensors of a PyTorch `state_dict` file, in the dictionary's order.
pub fn read_state_dict(path: &Path, device: &Device) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    state_dict_from_bytes(&bytes, path, device)
}

/// Reads the tensors of a PyTorch `state_dict` from the bytes of a file; `path` names it in
/// errors.
pub fn state_dict_from_bytes(
    bytes: &[u8],
    path: &Path,
    device: &Device,
) -> Result<Vec<(String, Tensor)>> {
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.starts_with(b"PK\x03\x04") {
        read_zip(bytes, device).map_err(bad)
    } else if bytes.starts_with(&LEGACY_MAGIC[..4]) {
        read_legacy(bytes, device).map_err(bad)
    } else {
        Err(bad(
            "not a PyTorch checkpoint: neither a zip archive nor the legacy magic number".into(),
        ))
    }
}

/// Rebuilds the study's network from its JSON config and a PyTorch `state_dict` file (the
/// study's `<name>.config` and `<name>.tar`), checking every tensor against the config.
pub fn load_network(config: &Path, weights: &Path, device: &Device) -> Result<BaseNetwork> {
    let config = BaseNetworkConfig::read(config)?;
    let tensors = read_state_dict(weights, device)?.into_iter().collect();
    BaseNetwork::from_state_dict(config, tensors, weights, device)
}

/// The entries of a state dict: names and tensor descriptions, in order.
fn state_dict_entries(
    value: &Value,
) -> std::result::Result<Vec<(String, std::rc::Rc<TensorRef>)>, String> {
    let Value::Dict(dict) = value else {
        return Err(format!(
            "the checkpoint holds a {}, expected an OrderedDict of tensors",
            value.kind()
        ));
    };
    dict.items()
        .iter()
        .map(|(key, value)| match (key, value) {
            (Value::Str(name), Value::Tensor(tensor)) => Ok((name.to_string(), tensor.clone())),
            (Value::Str(name), other) => Err(format!(
                "entry {name:?} is a {}, expected a tensor",
                other.kind()
            )),
            (other, _) => Err(format!("a key is a {}, expected a string", other.kind())),
        })
        .collect()
}

/// The legacy format: magic number, protocol version, system info, the state dict, the list of
/// storage keys, then each storage as a little-endian u64 element count and its raw data.
fn read_legacy(
    bytes: &[u8],
    device: &Device,
) -> std::result::Result<Vec<(String, Tensor)>, String> {
    if !bytes.starts_with(&LEGACY_MAGIC) {
        return Err("wrong magic number: not a legacy PyTorch checkpoint".into());
    }
    let mut pos = LEGACY_MAGIC.len();
    let protocol = |v: Value| match v {
        Value::Int(LEGACY_PROTOCOL) => Ok(()),
        Value::Int(v) => Err(format!("protocol version {v}, expected {LEGACY_PROTOCOL}")),
        other => Err(format!("protocol version is a {}", other.kind())),
    };
    pickle::read(bytes, &mut pos, protocol).map_err(|e| format!("protocol version: {e}"))?;
    let big_endian = |v: Value| {
        Ok(match &v {
            Value::Dict(entries) => entries.items().iter().any(|(k, v)| {
                matches!((k, v), (Value::Str(k), Value::Bool(false)) if &**k == "little_endian")
            }),
            _ => false,
        })
    };
    if pickle::read(bytes, &mut pos, big_endian).map_err(|e| format!("system info: {e}"))? {
        return Err("saved on a big-endian machine, which is not supported".into());
    }
    let entries = pickle::read(bytes, &mut pos, |v| state_dict_entries(&v))
        .map_err(|e| format!("state dict: {e}"))?;
    let storage_keys = |v: Value| match &v {
        Value::List(list) => list
            .items()
            .iter()
            .map(|v| match v {
                Value::Str(s) => Ok(s.to_string()),
                other => Err(format!("a storage key is a {}", other.kind())),
            })
            .collect::<std::result::Result<Vec<_>, _>>(),
        other => Err(format!(
            "the storage keys are a {}, expected a list",
            other.kind()
        )),
    };
    let keys =
        pickle::read(bytes, &mut pos, storage_keys).map_err(|e| format!("storage keys: {e}"))?;
    let mut storages: HashMap<String, Vec<f32>> = HashMap::new();
    for key in keys {
        let header: [u8; 8] = bytes
            .get(pos..pos + 8)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| format!("truncated: storage {key} has no size at byte {pos}"))?;
        let count = u64::from_le_bytes(header);
        pos += 8;
        let len = usize::try_from(count)
            .ok()
            .and_then(|n| n.checked_mul(4))
            .filter(|&len| len <= bytes.len() - pos)
            .ok_or_else(|| {
                format!(
                    "truncated: storage {key} claims {count} float32 values, {} bytes are left",
                    bytes.len() - pos
                )
            })?;
        let data = floats(bytes.get(pos..pos + len).unwrap_or_default());
        pos += len;
        storages.insert(key, data);
    }
    if pos != bytes.len() {
        return Err(format!(
            "{} unexpected bytes after the last storage",
            bytes.len() - pos
        ));
    }
    entries
        .into_iter()
        .map(|(name, tensor)| {
            let data = storages.get(&tensor.storage.key).ok_or_else(|| {
                format!(
                    "tensor {name}: storage {} is not in the file",
                    tensor.storage.key
                )
            })?;
            Ok((name.clone(), build_tensor(&name, &tensor, data, device)?))
        })
        .collect()
}

/// A contiguous float32 tensor from its description and its storage's data.
fn build_tensor(
    name: &str,
    tensor: &TensorRef,
    data: &[f32],
    device: &Device,
) -> std::result::Result<Tensor, String> {
    let StorageRef { class, numel, .. } = &*tensor.storage;
    if class != "FloatStorage" {
        return Err(format!(
            "tensor {name}: {class} is not supported, only float32 (FloatStorage)"
        ));
    }
    if data.len() != *numel {
        return Err(format!(
            "tensor {name}: its storage holds {} values, the pickle says {numel}",
            data.len()
        ));
    }
    let count = tensor
        .size
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("tensor {name}: size {:?} overflows", tensor.size))?;
    let mut contiguous = vec![1usize; tensor.size.len()];
    for i in (0..tensor.size.len().saturating_sub(1)).rev() {
        contiguous[i] = contiguous[i + 1] * tensor.size[i + 1];
    }
    if count > 1 && tensor.stride != contiguous {
        return Err(format!(
            "tensor {name}: strides {:?} are not contiguous",
            tensor.stride
        ));
    }
    let end = tensor
        .offset
        .checked_add(count)
        .filter(|&end| end <= data.len())
        .ok_or_else(|| {
            format!(
                "tensor {name}: offset {} + {count} values overrun its storage of {}",
                tensor.offset,
                data.len()
            )
        })?;
    Tensor::from_slice(&data[tensor.offset..end], tensor.size.as_slice(), device)
        .map_err(|e| e.to_string())
}

/// The zip format: `<prefix>/data.pkl` and one entry per storage, each the storage's raw
/// little-endian float32 data. Everything is read from the bytes already in memory, checked
/// against the pickle before it is used.
fn read_zip(bytes: &[u8], device: &Device) -> std::result::Result<Vec<(String, Tensor)>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("corrupt zip archive: {e}"))?;
    let pickle_name = archive
        .file_names_raw()
        .find(|n| n.ends_with(b"data.pkl"))
        .and_then(|n| std::str::from_utf8(n).ok())
        .map(str::to_string)
        .ok_or("a zip checkpoint without data.pkl")?;
    let pickle_bytes = read_entry(&mut archive, &pickle_name, MAX_ZIP_PICKLE)?;
    let entries = pickle::read(&pickle_bytes, &mut 0, |v| state_dict_entries(&v))
        .map_err(|e| format!("{pickle_name}: {e}"))?;
    let prefix = pickle_name.trim_end_matches("data.pkl");
    let mut storages: HashMap<String, Vec<f32>> = HashMap::new();
    let mut tensors = Vec::with_capacity(entries.len());
    for (name, tensor) in entries {
        let key = &tensor.storage.key;
        if !storages.contains_key(key) {
            let entry = format!("{prefix}data/{key}");
            let expected = storage_bytes(&name, tensor.storage.numel)?;
            let size = archive
                .by_name(&entry)
                .map_err(|_| format!("tensor {name}: storage entry {entry} is missing"))?
                .size();
            if size != expected {
                return Err(format!(
                    "tensor {name}: {entry} holds {size} bytes, expected {expected}"
                ));
            }
            let raw = read_entry(&mut archive, &entry, expected)?;
            storages.insert(key.clone(), floats(&raw));
        }
        let data = storages
            .get(key)
            .ok_or_else(|| format!("tensor {name}: storage {key} was not read"))?;
        tensors.push((name.clone(), build_tensor(&name, &tensor, data, device)?));
    }
    Ok(tensors)
}

/// The bytes of a float32 storage of `numel` values, or an error if that overflows.
fn storage_bytes(name: &str, numel: usize) -> std::result::Result<u64, String> {
    u64::try_from(numel)
        .ok()
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| format!("tensor {name}: a storage of {numel} float32 values is too large"))
}

/// Reads at most `limit` bytes of the archive's entry `name`.
fn read_entry(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    archive
        .by_name(name)
        .map_err(|e| format!("{name}: {e}"))?
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(out)
}

/// Little-endian float32 values.
fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .as_chunks::<4>()
        .0
        .iter()
        .map(|c| f32::from_le_bytes(*c))
        .collect()
}
