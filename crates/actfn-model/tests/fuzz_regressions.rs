//! Inputs the fuzzers (`fuzz/`) found problems with, kept as regression tests.

use std::path::{Path, PathBuf};

use actfn_model::BaseNetworkConfig;
use candle_core::Device;

fn regression(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fuzz_regressions")
        .join(name)
}

#[test]
fn a_float_alpha_reads_back_to_the_same_bits() {
    // serde_json without `float_roundtrip` read 5.777777770777774e81 back one ulp off.
    let text = std::fs::read_to_string(regression("config-alpha-roundtrip.json")).unwrap();
    let config = BaseNetworkConfig::from_json(&text).unwrap();
    assert_eq!(
        BaseNetworkConfig::from_json(&config.to_json()).unwrap(),
        config
    );
}

#[test]
fn a_pickle_with_a_self_containing_dict_is_read_without_panic() {
    // The reader once leaked such dictionaries (a reference cycle); the fuzzer's leak checker
    // found it. Here it must simply end, with a clear error.
    let path = regression("pytorch-self-containing-dict.bin");
    let err = actfn_model::pytorch::read_state_dict(&path, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pytorch-self-containing-dict.bin"), "{err}");
}
