//! The one place where a device name (`cpu`, `cuda[:N]`, `metal[:N]`) becomes a candle `Device`.

use candle_core::Device;

use crate::{Error, Result};

/// Parses `cpu`, `cuda`, `cuda:N`, `metal` or `metal:N` into a device.
///
/// A CUDA or Metal device in a build without that backend is an error that says which feature to
/// enable.
pub fn parse_device(spec: &str) -> Result<Device> {
    let spec = spec.trim().to_ascii_lowercase();
    let (kind, ordinal) = match spec.split_once(':') {
        Some((kind, n)) => {
            let ordinal = n.parse::<usize>().map_err(|_| {
                Error::Device(format!(
                    "bad device ordinal {n:?} in {spec:?}: expected e.g. cuda:0"
                ))
            })?;
            (kind, ordinal)
        }
        None => (spec.as_str(), 0),
    };
    match kind {
        "cpu" if ordinal == 0 => Ok(Device::Cpu),
        "cuda" if !candle_core::utils::cuda_is_available() => Err(Error::Device(format!(
            "device {spec:?} needs a build with CUDA: add `--features cuda` to the cargo command"
        ))),
        "metal" if !candle_core::utils::metal_is_available() => Err(Error::Device(format!(
            "device {spec:?} needs a build with Metal: add `--features metal` to the cargo command"
        ))),
        "cuda" => Ok(Device::new_cuda(ordinal)?),
        "metal" => Ok(Device::new_metal(ordinal)?),
        _ => Err(Error::Device(format!(
            "unknown device {spec:?}: expected cpu, cuda, cuda:N, metal or metal:N"
        ))),
    }
}

/// The name [`parse_device`] reads back: `cpu`, `cuda:N` or `metal:N`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_parses_and_unknown_names_are_errors() {
        assert!(parse_device("CPU").unwrap().is_cpu());
        assert_eq!(device_name(&parse_device("cpu").unwrap()), "cpu");
        let err = parse_device("tpu").unwrap_err().to_string();
        assert!(err.contains("unknown device \"tpu\""), "{err}");
        let err = parse_device("cuda:x").unwrap_err().to_string();
        assert!(err.contains("bad device ordinal"), "{err}");
    }

    #[test]
    fn cuda_opens_a_gpu_or_says_why_not() {
        match parse_device("cuda") {
            // A CUDA build on a machine with a GPU.
            Ok(device) => {
                assert!(candle_core::utils::cuda_is_available());
                assert_eq!(device_name(&device), "cuda:0");
            }
            // Without the feature: the fix. With it but without a GPU or driver: candle's
            // error, not a panic.
            Err(err) if !candle_core::utils::cuda_is_available() => {
                assert!(matches!(err, Error::Device(_)), "{err}");
                assert!(err.to_string().contains("--features cuda"), "{err}");
            }
            Err(err) => assert!(matches!(err, Error::Candle(_)), "{err}"),
        }
    }
}
