//! Fixtures shared by the cross-crate tests: where the project, `../shared` and the real data are.
//!
//! A test that needs material that is absent (the real data set, `../shared`) calls
//! [`require`]: it fails under `CI=true`, where the material must be there, and elsewhere prints
//! why it skips.

use std::path::PathBuf;
use std::sync::OnceLock;

use actfn_data::{FashionMnist, Splits};
use actfn_model::rng::{self, Stream};
use candle_core::Device;

/// The workspace root.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives one folder below the workspace root")
        .to_path_buf()
}

/// Returns `value`, or, when it is `None`: panics under `CI=true` (the material must be there),
/// and otherwise prints why the calling test skips.
pub fn require<T>(value: Option<T>, what: &str) -> Option<T> {
    if value.is_none() {
        let message = format!("{what} is not available");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message}, and CI=true requires it");
        }
        eprintln!("skipping: {message}");
    }
    value
}

/// `../shared` beside the project, if it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = project_root().join("..").join("shared");
    require(
        dir.is_dir().then_some(dir),
        "../shared (the study's material)",
    )
}

/// The real Fashion-MNIST, found and verified as `cargo xtask data` finds it, loaded once.
pub fn real_data() -> Option<&'static FashionMnist> {
    static DATA: OnceLock<Option<FashionMnist>> = OnceLock::new();
    let data = DATA.get_or_init(|| {
        let dirs = actfn_data::default_search_dirs(&project_root());
        let dir = actfn_data::locate(&dirs).ok()?;
        Some(FashionMnist::load(&dir).expect("the located data set verifies"))
    });
    require(
        data.as_ref(),
        "the real Fashion-MNIST (apt-get install dataset-fashion-mnist, or cargo xtask data)",
    )
}

/// The study's splits of the real data on the CPU, with seed 42.
pub fn study_splits() -> Option<Splits> {
    let data = real_data()?;
    let mut split_rng = rng::seeded(42, Stream::Split);
    Some(Splits::new(data, 10_000, &mut split_rng, &Device::Cpu).expect("the study's split"))
}
