//! `scripts/fetch-study-checkpoints.sh`, run against a local mirror (a `file://` copy of the
//! study's checkpoints) and an address that answers nothing: it keeps only verified files.

use std::path::Path;
use std::process::{Command, Output};

use actfn_tests::{project_root, shared_dir};

fn fetch(mirror: &str, dir: &Path) -> Output {
    Command::new("bash")
        .arg(project_root().join("scripts/fetch-study-checkpoints.sh"))
        .arg(dir)
        .env("ACTFN_CHECKPOINT_URL", mirror)
        .output()
        .expect("bash runs the script")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
#[ignore = "needs ../shared/pretrained and curl; .ci/run runs it"]
fn a_file_with_the_wrong_sum_is_refused_by_name_and_nothing_partial_is_left() {
    let originals = shared_dir().join("pretrained").join("pytorch");
    let mirror = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&originals).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, mirror.path().join(path.file_name().unwrap())).unwrap();
    }
    let corrupted = mirror.path().join("FashionMNIST_relu.tar");
    let mut bytes = std::fs::read(&corrupted).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&corrupted, bytes).unwrap();
    let url = format!("file://{}", mirror.path().display());

    let out = tempfile::tempdir().unwrap();
    let refused = fetch(&url, out.path());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("FashionMNIST_relu.tar") && stderr.contains("SHA-256"),
        "{stderr}"
    );
    // The files before the bad one, verified; not the bad one, nor a temporary file.
    assert_eq!(
        listing(out.path()),
        [
            "FashionMNIST_elu.config",
            "FashionMNIST_elu.tar",
            "FashionMNIST_leakyrelu.config",
            "FashionMNIST_leakyrelu.tar",
            "FashionMNIST_relu.config",
        ]
    );

    std::fs::copy(originals.join("FashionMNIST_relu.tar"), &corrupted).unwrap();
    let fetched = fetch(&url, out.path());
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert_eq!(listing(out.path()).len(), 12);
    for name in listing(out.path()) {
        assert_eq!(
            std::fs::read(out.path().join(&name)).unwrap(),
            std::fs::read(originals.join(&name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
#[ignore = "needs curl; .ci/run runs it"]
fn without_a_network_it_fails_with_one_line_and_no_file() {
    let out = tempfile::tempdir().unwrap();
    // Port 9 (discard) on this machine: nothing listens, as with no network.
    let failed = fetch("http://127.0.0.1:9/tutorial3", out.path());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot download"), "{stderr}");
    assert!(listing(out.path()).is_empty(), "{:?}", listing(out.path()));
}
