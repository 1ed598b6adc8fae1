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

/// A search report's own sections: from "## Search" to the final comparison's statistics.
fn search_sections(report: &str) -> &str {
    let start = report.find("## Search").expect("a search section");
    let end = report
        .find("## Final comparison: statistics")
        .expect("the final comparison's statistics");
    &report[start..end]
}

/// The rows of a report's pairwise tables (`| A vs B | ...`).
fn pairwise_rows(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" vs "))
        .collect()
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_small_search_runs_and_resumes_after_a_kill() {
    let whole = tempfile::tempdir().unwrap();
    let page_dir = whole.path().join("page");
    let findings = whole.path().join("findings.txt");
    std::fs::write(&findings, "A finding,\nin two lines.\n\nAnother.\n").unwrap();
    let output = search(whole.path())
        .arg("--page")
        .arg(&page_dir)
        .args(["--title", "A small search"])
        .arg("--findings")
        .arg(&findings)
        .output()
        .unwrap();
    assert_success(&output);
    let page = std::fs::read_to_string(page_dir.join("report.md")).unwrap();
    assert!(
        page.starts_with("# A small search\n\n## Findings\n\nA finding, in two lines.\n\nAnother."),
        "{page}"
    );
    assert!(
        page.contains("## Stage 0: 1024 images x 1 epochs, "),
        "{page}"
    );
    assert!(
        page.contains("## Final comparison: 1024 images x 1 epochs x 2 seeds"),
        "{page}"
    );
    assert!(page.contains("| log10 grad first/last | "), "{page}");
    assert!(page.contains("![Stage 0: 1024 images x 1 epochs"), "{page}");
    assert!(page_dir.join("figures").join("mechanism_0.svg").is_file());
    // `x + x` and `relu(x) + relu(x)` are 2 x and 2 relu(x); `tanh(x) + x` is `x + tanh(x)`.
    assert!(page.contains("behaves as"), "{page}");
    let candidates = page
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("f-"))
        .count();
    assert!(candidates >= 4, "{page}");
    // After the search's sections, the final comparison's statistics: its runs and pairs.
    assert!(page.contains("## Pairwise comparisons"), "{page}");
    let runs = std::fs::read_to_string(page_dir.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 3 * 2, "{runs}");
    let standings = std::fs::read_to_string(page_dir.join("standings.csv")).unwrap();
    let rows = actfn_search::read_standings(&standings).unwrap();
    assert!(rows.iter().any(|s| s.stage == "0") && rows.iter().any(|s| s.stage == "final"));
    assert!(page_dir.join("candidates.json").is_file());
    assert!(whole.path().join("final").join("report.md").is_file());

    // The page's own files (standings, candidates, runs.csv) write its report again, without
    // the search's folder: the search's sections and the statistics' tables as they were.
    let regenerated = whole.path().join("regenerated");
    let output = xtask()
        .args(["search", "report", "--page"])
        .arg(&page_dir)
        .arg("--out")
        .arg(&regenerated)
        .args(["--title", "A small search"])
        .arg("--findings")
        .arg(&findings)
        .output()
        .unwrap();
    assert_success(&output);
    let again = std::fs::read_to_string(regenerated.join("report.md")).unwrap();
    assert_eq!(search_sections(&again), search_sections(&page));
    assert!(!pairwise_rows(&page).is_empty());
    assert_eq!(pairwise_rows(&again), pairwise_rows(&page));
    assert!(
        regenerated
            .join("figures")
            .join("mechanism_0.svg")
            .is_file()
    );

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
        !killed.path().join("standings.csv").exists(),
        "the kill came after the end"
    );

    let rerun = search(killed.path()).output().unwrap();
    assert_success(&rerun);
    let after = summaries(&stage);
    for finished in &before {
        assert!(after.contains(finished), "{} was trained again", finished.0);
    }
    // The same standings (accuracies and measurements, bit for bit) as the uninterrupted
    // search's, and its report in the search folder.
    let resumed = std::fs::read_to_string(killed.path().join("standings.csv")).unwrap();
    assert_eq!(resumed, standings);
    assert!(killed.path().join("report.html").is_file());
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_candidate_whose_training_diverges_is_ranked_last_and_the_search_goes_on() {
    let out = tempfile::tempdir().unwrap();
    // `100000 * x` passes the screen (finite on the grid) but its loss overflows in training.
    let diverging = || {
        xtask()
            .args(["search", "--unary", "", "--binary", ""])
            .args(["--formulas", "100000 * x,2 * tanh(x),x + tanh(x)"])
            .args([
                "--stages",
                "1024x1",
                "--finalists",
                "2",
                "--against",
                "relu",
            ])
            .args(["--final-seeds", "1", "--final-stage", "1024x1", "--out"])
            .arg(out.path())
            .output()
            .unwrap()
    };
    let output = diverging();
    assert_success(&output);
    let standings = std::fs::read_to_string(out.path().join("standings.csv")).unwrap();
    let rows = actfn_search::read_standings(&standings).unwrap();
    let overflow: Vec<_> = rows.iter().filter(|s| s.function == "100000 * x").collect();
    // In the first stage only, with its one run diverged and no accuracy: not a finalist.
    assert_eq!(overflow.len(), 1, "{standings}");
    assert_eq!((overflow[0].runs, overflow[0].diverged), (0, 1));
    assert!(overflow[0].best_val_acc.is_nan());
    let finals = rows.iter().filter(|s| s.stage == "final").count();
    assert_eq!(finals, 3, "two finalists and ReLU: {standings}");
    let page = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        page.contains("1 functions diverged in some run") && page.contains("`100000 * x` (1 of 1)"),
        "{page}"
    );
    // The mechanism study counts the functions with an accuracy: two of the three.
    assert!(page.contains("| stage 0 (n = 2) |"), "{page}");
    // Run again: nothing is trained again, the diverged run included, and the standings stay.
    let again = diverging();
    assert_success(&again);
    assert!(
        !common::text(&again).contains("FAILED"),
        "{}",
        common::text(&again)
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("standings.csv")).unwrap(),
        standings
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

#[test]
fn a_page_without_its_standings_is_one_error_that_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = xtask()
        .args(["search", "report", "--page"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    common::assert_refused(&output, "standings.csv");
    common::assert_refused(&output, "cargo xtask search --page DIR");
    assert!(!out.exists());
}

#[test]
fn findings_that_do_not_read_are_one_error_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("search");
    let output = small_search("1024x1", &out)
        .arg("--findings")
        .arg(dir.path().join("no-such-findings.txt"))
        .output()
        .unwrap();
    common::assert_refused(&output, "no-such-findings.txt");
    common::assert_refused(&output, "cannot read the findings");
    assert!(!out.exists(), "the search folder was created");
}

/// The committed search page (`docs/results/search`) is written again, word for word in its
/// sections and pairwise tables, from its own files; and every decimal number its findings
/// quote stands in the page below them, so that a finding is a reading of the page's tables.
#[test]
fn the_committed_search_page_is_written_again_from_its_own_files() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results/search");
    let page = std::fs::read_to_string(committed.join("report.md")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = xtask()
        .args(["search", "report", "--page"])
        .arg(&committed)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_success(&output);
    let again = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert_eq!(search_sections(&again), search_sections(&page));
    assert!(!pairwise_rows(&page).is_empty());
    assert_eq!(pairwise_rows(&again), pairwise_rows(&page));

    let findings_start = page.find("## Findings").expect("the page has findings");
    let body_start = findings_start + page[findings_start..].find("\n## Search").unwrap();
    let (findings, body) = (&page[findings_start..body_start], &page[body_start..]);
    let numbers = decimal_numbers(findings);
    assert!(numbers.len() >= 5, "{findings}");
    for number in numbers {
        assert!(
            body.contains(number),
            "the findings quote {number}, which the page does not show"
        );
    }
}

/// The decimal numbers of a text (`89.12`, `-0.35`), sign left out.
fn decimal_numbers(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at].is_ascii_digit() && (at == 0 || !bytes[at - 1].is_ascii_alphanumeric()) {
            let start = at;
            while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                at += 1;
            }
            let number = text[start..at].trim_end_matches('.');
            if number.contains('.') {
                found.push(number);
            }
        } else {
            at += 1;
        }
    }
    found
}
