//! `cargo xtask search` end to end: a small search (a handful of candidates on a subset, one
//! epoch per stage) runs, and a search killed mid-stage ends, when the same command runs
//! again, as the uninterrupted one did, without training a finished run again.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{assert_success, small_search, wait_while_running, xtask};

/// The small search, with two halving stages.
fn search(out: &Path) -> Command {
    small_search("1024x1,2048x1", out)
}

/// The finished runs' summaries of a stage, by run folder.
fn summaries(stage: &Path) -> Vec<(String, String)> {
    let Ok(runs) = std::fs::read_dir(stage.join("runs")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for run in runs {
        let run = run.unwrap().path();
        for entry in std::fs::read_dir(&run).unwrap() {
            let summary = entry.unwrap().path().join("summary.json");
            if let Ok(text) = std::fs::read_to_string(&summary) {
                found.push((run.display().to_string(), text));
            }
        }
    }
    found.sort();
    found
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_small_search_runs_and_resumes_after_a_kill() {
    let whole = tempfile::tempdir().unwrap();
    let output = search(whole.path()).output().unwrap();
    assert_success(&output);
    let page = std::fs::read_to_string(whole.path().join("search.md")).unwrap();
    assert!(
        page.contains("## Stage 0: 1024 images x 1 epochs"),
        "{page}"
    );
    assert!(page.contains("## Final comparison"), "{page}");
    assert!(page.contains("| log10 grad first/last | "), "{page}");
    // `x + x` and `relu(x) + relu(x)` are 2 x and 2 relu(x); `tanh(x) + x` is `x + tanh(x)`.
    assert!(page.contains("behaves as"), "{page}");
    let candidates = page
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("f-"))
        .count();
    assert!(candidates >= 4, "{page}");
    assert!(whole.path().join("final").join("report.md").is_file());

    // Killed once a run of the first stage has finished.
    let killed = tempfile::tempdir().unwrap();
    let stage = killed.path().join("stage-0");
    let mut child = search(killed.path())
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_while_running(&mut child, "a run of the first stage finished", || {
        !summaries(&stage).is_empty()
    });
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();
    let before = summaries(&stage);
    assert!(
        !killed.path().join("search.md").exists(),
        "the kill came after the end"
    );

    let rerun = search(killed.path()).output().unwrap();
    assert_success(&rerun);
    let after = summaries(&stage);
    for finished in &before {
        assert!(after.contains(finished), "{} was trained again", finished.0);
    }
    let resumed = std::fs::read_to_string(killed.path().join("search.md")).unwrap();
    let without_folder = |text: &str, dir: &Path| text.replace(&dir.display().to_string(), "DIR");
    assert_eq!(
        without_folder(&resumed, killed.path()),
        without_folder(&page, whole.path())
    );
}

#[test]
fn a_space_without_a_candidate_is_one_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("search");
    let output = xtask()
        .args([
            "search", "--unary", "exp(x),1", "--binary", "U * V", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    common::assert_refused(&output, "no formula of the search space passed the screen");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("exp(x) overflows at x = 88.72284"),
        "{}",
        common::text(&output)
    );
    assert!(!out.exists());
}
