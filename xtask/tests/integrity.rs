//! A sweep folder trusts a run only when it proves itself: a damaged finished run (cut records,
//! a garbled summary, a lost run folder, a damaged or NaN checkpoint) is named, set aside and
//! trained again to the same numbers; runs made with other settings are never relabelled; a
//! report over one folder named twice counts it once, and over folders with other protocols
//! keeps each run's own settings and groups.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_success, runs_without_time, text, xtask};

/// The small grid: two activations, two seeds, one epoch on 2000 images, a small
/// network; `extra` flags after it.
fn sweep(dir: &Path, extra: &[&str]) -> Output {
    xtask()
        .args([
            "sweep",
            "--acts",
            "relu,tanh",
            "--seeds",
            "2",
            "--epochs",
            "1",
        ])
        .args([
            "--subset",
            "2000",
            "--hidden",
            "32,16",
            "--threads",
            "1",
            "--out",
        ])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

fn report(dirs: &[&Path], out: &Path) -> Output {
    let mut command = xtask();
    command.args(["sweep", "report"]);
    for dir in dirs {
        command.arg("--dir").arg(dir);
    }
    command.arg("--out").arg(out).output().unwrap()
}

/// The checkpoint folder of a run of the grid, and its checkpoint name.
fn run(dir: &Path, act: &str, seed: u64) -> (PathBuf, String) {
    (
        dir.join("runs")
            .join(format!("{act}-h32x16-p7-split42-seed{seed}")),
        format!("FashionMNIST_{act}"),
    )
}

/// The value of `column` in each data row of `runs.csv`.
fn column(dir: &Path, column: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == column).unwrap();
    lines
        .map(|l| l.split(',').nth(k).unwrap().to_string())
        .collect()
}

/// Every file of the set-aside folders under `dir`, with its reason.
fn set_aside_reasons(dir: &Path) -> Vec<String> {
    let mut reasons = Vec::new();
    for entry in std::fs::read_dir(dir.join("runs")).unwrap() {
        let aside = entry.unwrap().path().join("set-aside");
        if let Ok(folders) = std::fs::read_dir(&aside) {
            for folder in folders {
                let reason = folder.unwrap().path().join("reason.txt");
                reasons.push(std::fs::read_to_string(reason).unwrap());
            }
        }
    }
    reasons
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn damaged_finished_runs_are_named_set_aside_and_trained_again_to_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let sw = dir.path().join("sw");
    assert_success(&sweep(&sw, &[]));
    let before = runs_without_time(&sw);
    assert_eq!(before.len(), 5, "{before:?}");

    // Four kinds of damage, one per run.
    let (relu0, relu) = run(&sw, "relu", 0);
    let metrics = relu0.join(&relu).join("metrics.csv");
    let bytes = std::fs::read(&metrics).unwrap();
    std::fs::write(&metrics, &bytes[..80]).unwrap();
    let (tanh0, tanh) = run(&sw, "tanh", 0);
    std::fs::write(tanh0.join(&tanh).join("summary.json"), "{\"name\": 3").unwrap();
    // The run folder deleted, as the old advice said: the checkpoint beside it has no records.
    let (relu1, _) = run(&sw, "relu", 1);
    std::fs::remove_dir_all(relu1.join(&relu)).unwrap();
    // A checkpoint whose weights are NaN (the tensors' bytes after the header, all 0xff).
    let (tanh1, _) = run(&sw, "tanh", 1);
    let weights = tanh1.join(format!("{tanh}.safetensors"));
    let mut bytes = std::fs::read(&weights).unwrap();
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[header..].fill(0xff);
    std::fs::write(&weights, &bytes).unwrap();

    // The report names each as damaged, with the file at fault.
    let listed = report(&[&sw], &sw);
    assert_success(&listed);
    let said = text(&listed);
    assert!(said.contains("0 runs finished, 4 not"), "{said}");
    for needle in [
        "metrics.csv",
        "summary.json",
        "are missing",
        "tanh.safetensors",
    ] {
        assert!(said.contains(needle), "{needle}: {said}");
    }

    // The same command sets each aside and trains it again, to the same numbers.
    let rerun = sweep(&sw, &[]);
    assert_success(&rerun);
    let said = text(&rerun);
    assert_eq!(
        said.matches("set aside and trained again").count(),
        4,
        "{said}"
    );
    assert_eq!(runs_without_time(&sw), before);
    let reasons = set_aside_reasons(&sw);
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("NaN")), "{reasons:?}");
    // Nothing was deleted: the cut metrics are in their set-aside folder.
    let aside = relu0.join("set-aside").join(format!("{relu}-1"));
    assert_eq!(
        std::fs::read(aside.join(&relu).join("metrics.csv"))
            .unwrap()
            .len(),
        80
    );
    // And now the sweep is whole: a rerun trains nothing.
    let again = sweep(&sw, &[]);
    assert_success(&again);
    assert!(
        text(&again).contains("nothing to train"),
        "{}",
        text(&again)
    );
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn runs_are_reported_with_their_own_settings_never_relabelled_nor_counted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_success(&sweep(&a, &[]));
    assert_success(&sweep(&b, &["--lr", "0.02"]));

    // One folder named twice, the second time spelled otherwise, counts once.
    let spelled = dir.path().join("b").join("..").join("a");
    let out = dir.path().join("twice");
    assert_success(&report(&[&a, &spelled], &out));
    assert_eq!(runs_without_time(&out), runs_without_time(&a));

    // Two folders whose learning rates differ: each row its own rate, and four groups.
    let out = dir.path().join("ab");
    assert_success(&report(&[&a, &b], &out));
    let mut lrs = column(&out, "lr");
    lrs.sort();
    assert_eq!(
        lrs,
        ["0.01"; 4]
            .into_iter()
            .chain(["0.02"; 4])
            .collect::<Vec<_>>()
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for label in [
        "ReLU lr 0.01",
        "ReLU lr 0.02",
        "Tanh lr 0.01",
        "Tanh lr 0.02",
    ] {
        assert!(md.contains(&format!("| {label} |")), "{label}: {md}");
    }

    // Without sweep.json, a rerun with other settings does not relabel the old runs: the report
    // names them as made with other settings, and the sweep trains them anew.
    std::fs::remove_file(a.join("sweep.json")).unwrap();
    let emitted = sweep(
        &a,
        &["--lr", "0.5", "--batch-size", "128", "--emit", "slurm"],
    );
    assert_success(&emitted);
    let listed = report(&[&a], &a);
    assert_success(&listed);
    let said = text(&listed);
    assert!(said.contains("0 runs finished, 4 not"), "{said}");
    assert!(
        said.contains("made with other settings than the sweep's"),
        "{said}"
    );
    let rerun = sweep(&a, &["--lr", "0.5", "--batch-size", "128"]);
    assert_success(&rerun);
    assert_eq!(column(&a, "lr"), ["0.5"; 4]);
    assert_eq!(column(&a, "batch_size"), ["128"; 4]);
    let summary = std::fs::read_to_string(
        a.join("runs/relu-h32x16-p7-split42-seed0/FashionMNIST_relu/summary.json"),
    )
    .unwrap();
    assert!(summary.contains("\"lr\": 0.5"), "{summary}");
    assert_eq!(set_aside_reasons(&a).len(), 4);
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_run_that_diverged_is_an_outcome_that_a_rerun_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let sw = dir.path().join("sw");
    let diverging = || {
        xtask()
            .args(["sweep", "--acts", "relu", "--seeds", "1", "--epochs", "1"])
            .args(["--subset", "2000", "--hidden", "32,16", "--threads", "1"])
            .args(["--lr", "1e6", "--out"])
            .arg(&sw)
            .output()
            .unwrap()
    };
    let output = diverging();
    assert!(!output.status.success(), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains(
            "1 runs diverged: relu-h32x16-p7-split42-seed0 (task 0) (error: training diverged"
        ),
        "{said}"
    );
    assert!(said.contains("a rerun does not train them again"), "{said}");
    // Its progress line says it diverged, not that it failed.
    assert!(
        said.contains("[1/1] relu-h32x16-p7-split42-seed0 (task 0): error: training diverged"),
        "{said}"
    );
    assert!(!said.contains("FAILED"), "{said}");
    // Run again: the diverged run is kept, not trained again, and the report says so.
    let (folder, _) = run(&sw, "relu", 0);
    let log = std::fs::read_to_string(folder.join("log.txt")).unwrap();
    let again = diverging();
    assert_success(&again);
    assert!(
        text(&again).contains("nothing to train"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("log.txt")).unwrap(),
        log,
        "trained again"
    );
    let report = std::fs::read_to_string(sw.join("report.md")).unwrap();
    assert!(report.contains("diverged, not trained again"), "{report}");
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_task_whose_log_cannot_be_written_still_tells_the_sweep_why_it_failed() {
    let dir = tempfile::tempdir().unwrap();
    let sw = dir.path().join("sw");
    assert_success(&sweep(&sw, &["--emit", "slurm"]));
    // The first run's log is a full disk: nothing written to it stays.
    let (relu0, _) = run(&sw, "relu", 0);
    std::fs::create_dir_all(&relu0).unwrap();
    std::os::unix::fs::symlink("/dev/full", relu0.join("log.txt")).unwrap();
    let output = sweep(&sw, &[]);
    assert!(!output.status.success(), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("1 runs failed: relu-h32x16-p7-split42-seed0 (task 0) (error: cannot write to standard output"),
        "{said}"
    );
}
