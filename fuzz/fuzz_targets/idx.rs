//! Fuzzes the IDX reader (with gzip) on arbitrary bytes: it must return, never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.idx");
    if let Ok(bytes) = actfn_data::idx::decompress_maybe_gzip(data.to_vec(), path) {
        let _ = actfn_data::idx::parse(&bytes, 3, path);
        let _ = actfn_data::idx::parse(&bytes, 1, path);
    }
});
