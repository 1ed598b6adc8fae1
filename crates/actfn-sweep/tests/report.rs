//! The report from its runs: the committed results pages' statistics regenerate from their
//! `runs.csv` to the digit, and actfn is compared with its PyTorch peer on the (split, seed)
//! pairs both sides ran, naming the splits.

use std::path::{Path, PathBuf};

use actfn_activations::Activation;
use actfn_data::FashionMnist;
use actfn_sweep::peer::PeerResult;
use actfn_sweep::report::{self, Analysis, Inputs, Preface, RunRow, read_runs_csv};
use actfn_sweep::{SweepDir, SweepSettings, run_in_process};

fn results(page: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/results")
        .join(page)
}

/// The Markdown tables of `text`, each as its lines joined.
fn tables(text: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let mut table: Vec<&str> = Vec::new();
    for line in text.lines().chain([""]) {
        if line.starts_with('|') {
            table.push(line);
        } else if !table.is_empty() {
            tables.push(table.join("\n"));
            table.clear();
        }
    }
    tables
}

/// The report of `inputs` with the default settings, written into `out`: its Markdown.
fn report_md(inputs: &Inputs, out: &Path) -> String {
    report::write(inputs, out, &Preface::default(), &Analysis::default()).unwrap();
    std::fs::read_to_string(out.join("report.md")).unwrap()
}

#[test]
fn committed_results_pages_regenerate_from_their_runs_csv() {
    // The statistics' tables: the description, the pairwise comparisons, the variance split.
    let statistics = [
        "| activation | n |",
        "| row minus column |",
        "| activation | splits x seeds |",
    ];
    for page in ["study", "functions", "splits"] {
        let folder = results(page);
        let rows = read_runs_csv(&folder.join("runs.csv")).unwrap();
        let inputs = Inputs {
            finished: rows.iter().map(|r| r.finished_run().unwrap()).collect(),
            ..Inputs::default()
        };
        let out = tempfile::tempdir().unwrap();
        let ours = report_md(&inputs, out.path());
        // runs.csv reads back to the same rows.
        assert_eq!(
            read_runs_csv(&out.path().join("runs.csv")).unwrap(),
            rows,
            "{page}"
        );
        let committed = std::fs::read_to_string(folder.join("report.md")).unwrap();
        let checked: Vec<String> = tables(&ours)
            .into_iter()
            .filter(|t| statistics.iter().any(|s| t.starts_with(s)))
            .collect();
        assert!(checked.len() >= 2, "{page}: {ours}");
        for table in &checked {
            assert!(
                committed.contains(table.as_str()),
                "{page}: the committed report lacks\n{table}"
            );
        }
        // What the pairwise tables conclude, word for word.
        for line in ours.lines() {
            if line.starts_with("Beyond noise:") || line.starts_with("No pair differs") {
                assert!(committed.contains(line), "{page}: {line}");
            }
        }
        if page == "splits" {
            assert!(
                checked.iter().any(|t| t.starts_with(statistics[2])),
                "{page}"
            );
        }
    }
}

/// A small data set of made-up images: enough for the study's 10,000-image validation split.
fn data() -> FashionMnist {
    let pixels = |n: usize| (0..n * 784).map(|i| (i * 7919 % 251) as u8).collect();
    let labels = |n: usize| (0..n).map(|i| (i * 31 % 10) as u8).collect();
    FashionMnist {
        train_images: pixels(10_300),
        train_labels: labels(10_300),
        test_images: pixels(500),
        test_labels: labels(500),
    }
}

#[test]
fn the_peer_is_compared_on_the_splits_both_sides_ran_and_they_are_named() {
    let mut settings = SweepSettings::default();
    settings.axes.act_fn = vec![Activation::ReLU];
    settings.axes.seed = vec![0, 1];
    settings.axes.split_seed = vec![42, 43];
    settings.axes.hidden_sizes = vec![vec![16]];
    settings.template.max_epochs = 1;
    settings.template.subset = Some(256);
    let folder = tempfile::tempdir().unwrap();
    let dir = SweepDir::new(folder.path());
    dir.prepare(&settings).unwrap();
    assert_eq!(
        run_in_process(&dir, &data(), &mut actfn_train::Silent).unwrap(),
        4
    );
    // The peer ran split 42 only (as `peer.py` writes its results).
    std::fs::create_dir_all(dir.peer_dir()).unwrap();
    for run in settings
        .runs()
        .unwrap()
        .iter()
        .filter(|r| r.split_seed == 42)
    {
        let result = PeerResult {
            id: run.id(),
            act: run.act.key().into(),
            seed: run.seed,
            split_seed: run.split_seed,
            patience: run.patience,
            hidden: run.hidden.clone(),
            test_acc: 0.1,
            best_val_acc: 0.1,
            best_epoch: 1,
            epochs_run: 1,
            val_acc: vec![0.1],
            seconds: 1.0,
            torch: "2.5.1".into(),
        };
        let json = serde_json::to_string(&result).unwrap();
        std::fs::write(dir.peer_result_file(run), json).unwrap();
    }
    let inputs = report::gather(&[folder.path().to_path_buf()]).unwrap();
    assert_eq!((inputs.finished.len(), inputs.peer.len()), (4, 2));
    // Each run kept its test predictions, whose hits are its test accuracy.
    let labels = data().test_labels;
    for run in &inputs.finished {
        let predicted = run.record.predictions.as_ref().expect("predictions");
        assert_eq!(predicted.len(), labels.len());
        let hits = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, l)| **p == u32::from(**l))
            .count();
        assert_eq!(
            hits as f64 / labels.len() as f64,
            run.record.summary.test_acc
        );
    }
    let text = report_md(&inputs, folder.path());
    let peer = tables(&text)
        .into_iter()
        .find(|t| t.contains("| PyTorch n |"))
        .expect("the peer's table");
    // actfn's n is that of the pairs both ran (2), not all of its runs (4).
    let row: Vec<&str> = peer
        .lines()
        .nth(2)
        .unwrap()
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!((row[1], row[2], row[4]), ("ReLU", "2", "2"), "{peer}");
    assert!(text.contains("(split seed 42)"), "{text}");
    // runs.csv has every finished run, each with its own split.
    let rows = read_runs_csv(&folder.path().join("runs.csv")).unwrap();
    let splits: Vec<u64> = rows.iter().map(|r: &RunRow| r.split_seed).collect();
    assert_eq!(splits, [42, 42, 43, 43]);
}
