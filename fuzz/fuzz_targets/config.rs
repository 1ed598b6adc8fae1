//! Fuzzes the network config parser on arbitrary text: it must return, never panic, and what it
//! accepts must survive a round trip.
#![no_main]

use actfn_model::BaseNetworkConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = BaseNetworkConfig::from_json(&text) {
        let again = BaseNetworkConfig::from_json(&config.to_json()).expect("a valid config re-parses");
        assert_eq!(config, again);
    }
});
