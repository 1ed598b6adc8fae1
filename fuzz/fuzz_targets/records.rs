//! Fuzzes the readers of a run's records (`summary.json`, `metrics.csv`, `dynamics.csv`) and
//! `inspect`, the whole-run check that reads them against each other and against the run's
//! checkpoint: on any file content they must return (a finished, unfinished or damaged run, or
//! an error), never panic, and never allocate more than the input can justify.
//!
//! An input is the three files joined by `0xFF` bytes (a byte no UTF-8 text holds):
//! `summary.json 0xFF metrics.csv 0xFF dynamics.csv`. A file whose part is missing (fewer than
//! two separators) is not written, so absent files are fuzzed too; bytes after a third `0xFF`
//! belong to `dynamics.csv`. The checkpoint beside the run is a valid small network, written
//! once per process.
//!
//! A good seed is a finished run as training leaves it (as `finished_run` in
//! `crates/actfn-train/tests/record.rs` writes it, for a ReLU network with `hidden_sizes: [8]`,
//! so 2 layers), its three files joined by `0xFF`. Set `ACTFN_FUZZ_PRINT=1` to print what
//! `inspect` makes of each input (to check a seed reads as finished).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::{RunState, inspect, read_dynamics_csv, read_metrics_csv, read_summary, run_dir};
use candle_core::Device;
use libfuzzer_sys::fuzz_target;

/// The run's name, as in the tests.
const NAME: &str = "FashionMNIST_relu";

/// The folder of this process's checkpoint, made on first use, and whether to print.
struct Setup {
    dir: PathBuf,
    print: bool,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("actfn-fuzz-records-{}", std::process::id()));
        // A folder left by an earlier process with this id: start clean.
        let _ = std::fs::remove_dir_all(&dir);
        let net = BaseNetworkConfig {
            hidden_sizes: vec![8],
            ..BaseNetworkConfig::default()
        };
        let (network, _) = BaseNetwork::seeded(net, 3, &Device::Cpu).expect("a small network");
        network.save(&dir, NAME).expect("save the checkpoint");
        std::fs::create_dir_all(run_dir(&dir, NAME)).expect("create the run folder");
        Setup {
            dir,
            print: std::env::var_os("ACTFN_FUZZ_PRINT").is_some(),
        }
    })
}

/// Writes `contents` to `path`, or removes the file when there is none.
fn put(path: &Path, contents: Option<&[u8]>) {
    match contents {
        Some(bytes) => std::fs::write(path, bytes).expect("write a record"),
        None => match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("remove {}: {e}", path.display()),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    let mut parts = data.splitn(3, |&b| b == 0xFF);
    let summary = parts.next();
    let metrics = parts.next();
    let dynamics = parts.next();

    let run = run_dir(&setup.dir, NAME);
    let summary_path = run.join("summary.json");
    let metrics_path = run.join("metrics.csv");
    let dynamics_path = run.join("dynamics.csv");
    put(&summary_path, summary);
    put(&metrics_path, metrics);
    put(&dynamics_path, dynamics);

    // Each reader alone.
    let summary = read_summary(&summary_path);
    let metrics = read_metrics_csv(&metrics_path);
    let dynamics = read_dynamics_csv(&dynamics_path);
    // And the whole run, with its errors shown as a report would show them.
    let state = inspect(&setup.dir, NAME);
    match &state {
        RunState::Finished(record) => {
            // What inspect accepted is what the readers read.
            assert_eq!(Some(&record.summary), summary.as_ref().ok());
            assert_eq!(Some(&record.metrics), metrics.as_ref().ok());
            // (A finished run's numbers are all in range, so none is NaN and == holds.)
            match &dynamics {
                Ok(dynamics) => assert_eq!(&record.dynamics, dynamics),
                // Runs recorded before the dynamics existed have none.
                Err(_) => assert!(!dynamics_path.exists() && record.dynamics.is_empty()),
            }
        }
        RunState::Damaged(damage) => {
            let _ = damage.to_string();
        }
        _ => {}
    }
    for error in [summary.err(), metrics.err(), dynamics.err()]
        .into_iter()
        .flatten()
    {
        let _ = error.to_string();
    }
    if setup.print {
        eprintln!("{state:?}");
    }
});
