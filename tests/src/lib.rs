//! Fixtures shared by the cross-crate tests: where the project, the study's material and the
//! real data are.
//!
//! Tests that need material that may be absent (the real data set, the study's checkpoints) are
//! marked `#[ignore = "needs ..."]`, so a plain `cargo test` lists them as ignored; `.ci/run`
//! runs them with `--include-ignored`, and then the fixtures below fail with the fix when the
//! material is missing, instead of passing without testing.

use std::path::PathBuf;
use std::sync::OnceLock;

use actfn_data::{FashionMnist, Splits};
use actfn_model::rng::{self, Stream};
use candle_core::{Device, Tensor};

/// The workspace root.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// `../shared` beside the project: the study's material. Panics with the fix if it is missing.
pub fn shared_dir() -> PathBuf {
    let dir = project_root().join("..").join("shared");
    assert!(
        dir.is_dir(),
        "{} is missing: this test needs the study's material beside the project",
        dir.display()
    );
    dir
}

/// The study's six PyTorch checkpoints (`<name>.config` + `<name>.tar`): `$ACTFN_PRETRAINED`
/// when set (`scripts/fetch-study-checkpoints.sh DIR` fetches them), else
/// `../shared/pretrained/pytorch`. Panics with the fix if the folder is missing.
pub fn pretrained_dir() -> PathBuf {
    let dir = std::env::var_os("ACTFN_PRETRAINED").map_or_else(
        || {
            project_root()
                .join("..")
                .join("shared")
                .join("pretrained")
                .join("pytorch")
        },
        PathBuf::from,
    );
    assert!(
        dir.join("FashionMNIST_relu.tar").is_file(),
        "the study's checkpoints are not in {}: run scripts/fetch-study-checkpoints.sh DIR and \
         set ACTFN_PRETRAINED=DIR",
        dir.display()
    );
    dir
}

/// The real Fashion-MNIST, found and verified as `cargo xtask data` finds it, loaded once.
/// Panics with the fix if it is missing.
pub fn real_data() -> &'static FashionMnist {
    static DATA: OnceLock<FashionMnist> = OnceLock::new();
    DATA.get_or_init(|| {
        let dirs = actfn_data::default_search_dirs(&project_root());
        let dir = actfn_data::locate(&dirs).unwrap_or_else(|e| {
            panic!("this test needs the real Fashion-MNIST (cargo xtask data): {e}")
        });
        FashionMnist::load(&dir).unwrap_or_else(|e| panic!("the located data set: {e}"))
    })
}

/// The splits of the real data on the CPU with a split seed.
pub fn splits(split_seed: u64) -> Splits {
    let mut split_rng = rng::seeded(split_seed, Stream::Split);
    Splits::new(real_data(), 10_000, &mut split_rng, &Device::Cpu)
        .unwrap_or_else(|e| panic!("the split of seed {split_seed}: {e}"))
}

/// The study's splits of the real data on the CPU (split seed 42).
pub fn study_splits() -> Splits {
    splits(42)
}

/// A float tensor's elements as `f32`, flattened and on the CPU, wherever it lives.
pub fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .and_then(|t| t.to_device(&Device::Cpu))
        .and_then(|t| t.to_vec1())
        .expect("an f32 tensor")
}
