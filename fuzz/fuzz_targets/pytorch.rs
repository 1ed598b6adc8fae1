//! Fuzzes the PyTorch checkpoint reader on arbitrary bytes (legacy and zip): it must return,
//! never panic, and never allocate more than the input can justify.
#![no_main]

use std::io::Write;

use candle_core::Device;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A zip checkpoint's tensors are read from the file, so the bytes go to one.
    let mut file = tempfile_path();
    file.1.write_all(data).expect("write the input");
    let _ = actfn_model::pytorch::state_dict_from_bytes(data, &file.0, &Device::Cpu);
});

fn tempfile_path() -> (std::path::PathBuf, std::fs::File) {
    let path = std::env::temp_dir().join(format!("actfn-fuzz-{}.pt", std::process::id()));
    let file = std::fs::File::create(&path).expect("create the input file");
    (path, file)
}
