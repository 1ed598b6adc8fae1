//! The report from its runs: the committed results pages' statistics regenerate from their
//! `runs.csv` to the digit, and actfn is compared with its PyTorch peer on the (split, seed)
//! pairs both sides ran, naming the splits.

use std::path::{Path, PathBuf};

use actfn_activations::Activation;
use actfn_data::FashionMnist;
use actfn_sweep::peer::PeerResult;
use actfn_sweep::report::{
    self, Analysis, Inputs, PEER_RUNS, PREDICTIONS, Preface, RunRow, read_runs_csv,
};
use actfn_sweep::{SweepDir, SweepSettings, run_in_process};
use actfn_train::Outputs;

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

/// The cells of each row of a Markdown table.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(2)
        .map(|l| {
            let cells: Vec<&str> = l.split('|').collect();
            cells[1..cells.len() - 1]
                .iter()
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// Every `[lo, hi]` interval in `cell` (percent signs dropped).
fn intervals(cell: &str) -> Vec<(f64, f64)> {
    cell.match_indices('[')
        .filter_map(|(at, _)| {
            let inner = &cell[at + 1..at + cell[at..].find(']')?];
            let (lo, hi) = inner.split_once(',')?;
            let number = |t: &str| t.trim().trim_end_matches('%').parse::<f64>().ok();
            Some((number(lo)?, number(hi)?))
        })
        .collect()
}

/// The committed results pages, by folder under `docs/results/`.
const PAGES: [&str; 6] = ["study", "functions", "splits", "lr", "sequential", "depth"];

#[test]
fn committed_results_pages_regenerate_from_their_runs_csv() {
    // The statistics' tables: the description, the pairwise decisions, the variance split,
    // actfn beside PyTorch (from peer_runs.csv, where a page has one) and the learning rates
    // chosen on validation.
    let statistics = [
        "| activation | n |",
        "| A vs B |",
        "| activation | splits x seeds |",
        "| activation | actfn: n, mean (%) |",
        "| activation | val at lr",
        "| activation: test accuracy (%) |",
    ];
    for page in PAGES {
        let folder = results(page);
        let inputs = Inputs::from_runs_csv(&[folder.join("runs.csv")]).unwrap();
        let out = tempfile::tempdir().unwrap();
        let ours = report_md(&inputs, out.path());
        // runs.csv reads back to the same rows.
        assert_eq!(
            read_runs_csv(&out.path().join("runs.csv")).unwrap(),
            read_runs_csv(&folder.join("runs.csv")).unwrap(),
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
        // What the pairwise comparisons decide, word for word.
        let decided: Vec<&str> = ours
            .lines()
            .filter(|l| l.starts_with("Different:"))
            .collect();
        assert!(!decided.is_empty(), "{page}");
        for line in decided {
            assert!(committed.contains(line), "{page}: {line}");
        }
        if page == "splits" {
            assert!(
                checked.iter().any(|t| t.starts_with(statistics[2])),
                "{page}"
            );
        }
        if page == "lr" {
            assert!(
                checked.iter().any(|t| t.starts_with(statistics[4])),
                "{page}"
            );
        }
        // The deepest network against the shallowest, and its sentence, word for word.
        if page == "depth" {
            assert!(
                checked.iter().any(|t| t.starts_with(statistics[5])),
                "{page}"
            );
            let said = ours
                .lines()
                .find(|l| l.starts_with("Lower at the deepest"))
                .expect("the depth section's sentence");
            assert!(committed.contains(said), "{page}: {said}");
        }
    }
}

#[test]
fn a_pages_runs_add_to_other_runs_but_a_run_given_twice_is_refused() {
    // The learning-rate page's lr 0.01 runs are the study page's seeds 0 to 4.
    let study = Inputs::from_runs_csv(&[results("study").join("runs.csv")]).unwrap();
    let lr = Inputs::from_runs_csv(&[results("lr").join("runs.csv")]).unwrap();
    let mut both = study.clone();
    let error = both.extend(lr.clone()).unwrap_err().to_string();
    assert!(error.contains("is given twice"), "{error}");
    assert_eq!(both.finished.len(), study.finished.len(), "nothing added");
    // The runs at the other rates add to the study page's.
    let mut other_rates = lr.clone();
    other_rates
        .finished
        .retain(|r| r.record.summary.train_config.optimizer.lr() != 0.01);
    let mut added = study.clone();
    added.extend(other_rates.clone()).unwrap();
    assert_eq!(
        added.finished.len(),
        study.finished.len() + other_rates.finished.len()
    );
}

#[test]
fn figures_of_a_curve_per_group_are_drawn_for_at_most_sixteen_groups() {
    // The learning-rate page shows 12 groups (each function at its chosen rate, two
    // optimizers); with the functions page's eight groups beyond the study's six (SELU with
    // two initializations), 20.
    let lr = Inputs::from_runs_csv(&[results("lr").join("runs.csv")]).unwrap();
    let mut functions = Inputs::from_runs_csv(&[results("functions").join("runs.csv")]).unwrap();
    let six = ["sigmoid", "tanh", "relu", "leakyrelu", "elu", "swish"];
    functions
        .finished
        .retain(|r| !six.contains(&r.spec.act.key()));
    let mut both = lr.clone();
    both.extend(functions).unwrap();
    for (inputs, drawn) in [(lr, true), (both, false)] {
        let out = tempfile::tempdir().unwrap();
        let text = report_md(&inputs, out.path());
        assert_eq!(
            out.path().join("figures/profiles.svg").is_file(),
            drawn,
            "{text}"
        );
        assert_eq!(
            text.contains("20 groups are more than the 16"),
            !drawn,
            "{text}"
        );
        // The strip chart has a row for every group either way.
        assert!(out.path().join("figures/test_accuracy.svg").is_file());
    }
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn the_study_pages_comparison_on_the_same_images_regenerates_from_its_predictions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data_dir = actfn_data::locate(&actfn_data::default_search_dirs(&root)).unwrap();
    let labels: Vec<u32> = FashionMnist::load(&data_dir)
        .unwrap()
        .test_labels
        .iter()
        .map(|&l| l.into())
        .collect();
    let folder = results("study");
    let mut inputs = Inputs::from_runs_csv(&[folder.join("runs.csv")]).unwrap();
    // Every run kept its predictions, and they give its recorded test accuracy.
    for run in &inputs.finished {
        let predicted = run
            .record
            .predictions
            .as_ref()
            .expect("predictions.csv has every run");
        let hits = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p == l)
            .count();
        assert_eq!(
            hits as f64 / labels.len() as f64,
            run.record.summary.test_acc,
            "{}",
            run.spec.id()
        );
    }
    inputs.test_labels = Some(labels);
    let out = tempfile::tempdir().unwrap();
    let ours = report_md(&inputs, out.path());
    let committed = std::fs::read_to_string(folder.join("report.md")).unwrap();
    let table = tables(&ours)
        .into_iter()
        .find(|t| t.starts_with("| vs "))
        .expect("the comparison on the same images");
    assert!(
        committed.contains(&table),
        "the committed page lacks\n{table}"
    );
}

#[test]
fn no_interval_in_the_committed_pages_leaves_the_range_its_quantity_can_take() {
    for page in PAGES {
        let committed = std::fs::read_to_string(results(page).join("report.md")).unwrap();
        for table in tables(&committed) {
            let heads: Vec<&str> = table
                .lines()
                .next()
                .unwrap()
                .split('|')
                .map(str::trim)
                .collect();
            let column = |name: &str| {
                heads
                    .iter()
                    .position(|h| h.starts_with(name))
                    .map(|i| i - 1)
            };
            for row in rows(&table) {
                let what = format!("{page}: {row:?}");
                // Accuracies, shares and probabilities: every interval within its range.
                if let (Some(bca), Some(range)) = (column("BCa 95% CI"), column("range")) {
                    let (lo, hi) = intervals(&row[range])[0];
                    for (a, b) in intervals(&row[bca]) {
                        assert!(lo - 1e-9 <= a && a <= b && b <= hi + 1e-9, "{what}");
                    }
                    let mean = column("mean [t 95% CI]").unwrap();
                    let trained = column("trained (>50%)").unwrap();
                    // k/n trained: a t interval only where every run is on one side of chance.
                    let (k, n) = row[trained]
                        .split_whitespace()
                        .next()
                        .and_then(|s| s.split_once('/'))
                        .unwrap();
                    if k != "0" && k != n {
                        assert!(
                            row[mean].contains("mixture") && intervals(&row[mean]).is_empty(),
                            "{what}"
                        );
                    }
                    for (a, b) in intervals(&row[mean]) {
                        assert!(0.0 <= a && b <= 100.0, "{what}");
                    }
                    for (a, b) in intervals(&row[trained]) {
                        assert!(0.0 <= a && a <= b && b <= 100.0, "{what}");
                    }
                }
                if let Some(p) = column("P(A > B)") {
                    for (a, b) in intervals(&row[p]) {
                        assert!(0.0 <= a && a <= b && b <= 1.0, "{what}");
                    }
                }
                // A share of units: every interval within 0 to 100%.
                if heads[1] == "activation: dead units (%)" {
                    for cell in &row[1..] {
                        for (a, b) in intervals(cell) {
                            assert!(0.0 <= a && a <= b && b <= 100.0, "{what}");
                        }
                    }
                }
                for sd in ["split sd", "seed sd", "residual sd"] {
                    if let Some(c) = column(sd) {
                        for (a, b) in intervals(&row[c]) {
                            assert!(0.0 <= a && a <= b, "{what}");
                        }
                    }
                }
            }
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
        run_in_process(&dir, &data(), Outputs::default(), &mut actfn_train::Silent).unwrap(),
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
        .find(|t| t.contains("| PyTorch: n, mean (%) |"))
        .expect("the peer's table");
    // actfn's n is that of the pairs both ran (2), not all of its runs (4).
    let row: Vec<&str> = peer
        .lines()
        .nth(2)
        .unwrap()
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(row[1], "ReLU", "{peer}");
    assert!(row[2].starts_with("2, ") && row[3] == "2, 10.00", "{peer}");
    assert!(text.contains("(split seed 42)"), "{text}");
    // runs.csv has every finished run, each with its own split.
    let rows = read_runs_csv(&folder.path().join("runs.csv")).unwrap();
    let splits: Vec<u64> = rows.iter().map(|r: &RunRow| r.split_seed).collect();
    assert_eq!(splits, [42, 42, 43, 43]);
    // The peer's runs are kept beside runs.csv, and the table regenerates from the two files.
    let peer_rows = read_runs_csv(&folder.path().join(PEER_RUNS)).unwrap();
    assert_eq!(peer_rows.len(), 2);
    let again = Inputs::from_runs_csv(&[folder.path().join("runs.csv")]).unwrap();
    assert_eq!((again.finished.len(), again.peer.len()), (4, 2));
    let out = tempfile::tempdir().unwrap();
    let regenerated = report_md(&again, out.path());
    assert!(regenerated.contains(&peer), "{regenerated}");
}

#[test]
fn groups_are_compared_on_the_same_test_images_when_their_runs_kept_predictions() {
    let mut settings = SweepSettings::default();
    settings.axes.act_fn = vec![Activation::ReLU, Activation::Tanh];
    settings.axes.seed = vec![0, 1];
    settings.axes.hidden_sizes = vec![vec![16]];
    settings.template.max_epochs = 1;
    settings.template.subset = Some(256);
    let folder = tempfile::tempdir().unwrap();
    let dir = SweepDir::new(folder.path());
    dir.prepare(&settings).unwrap();
    run_in_process(&dir, &data(), Outputs::default(), &mut actfn_train::Silent).unwrap();
    let mut inputs = report::gather(&[folder.path().to_path_buf()]).unwrap();
    let out = tempfile::tempdir().unwrap();
    // Without the labels, the section says what it needs.
    let without = report_md(&inputs, out.path());
    assert!(
        without.contains("the test labels were not given"),
        "{without}"
    );
    inputs.test_labels = Some(data().test_labels.iter().map(|&l| l.into()).collect());
    let with = report_md(&inputs, out.path());
    let table = tables(&with)
        .into_iter()
        .find(|t| t.starts_with("| vs "))
        .expect("the table of the same test images");
    let row = &rows(&table)[0];
    assert_eq!(row[1], "2 / 2", "{table}");
    // The difference over the images is the difference of the groups' mean accuracies.
    let means: Vec<f64> = ["ReLU", "Tanh"]
        .iter()
        .map(|name| {
            let runs: Vec<f64> = inputs
                .finished
                .iter()
                .filter(|r| r.spec.act.name() == *name)
                .map(|r| r.test_percent())
                .collect();
            runs.iter().sum::<f64>() / runs.len() as f64
        })
        .collect();
    let shown: f64 = row[2].split_whitespace().next().unwrap().parse().unwrap();
    let expected = if row[0] == "ReLU" {
        means[0] - means[1]
    } else {
        means[1] - means[0]
    };
    assert!(
        (shown - expected).abs() < 0.006,
        "{shown} vs {expected}: {table}"
    );
    // The predictions are kept beside runs.csv: the comparison regenerates from the two files.
    let mut from_csv = Inputs::from_runs_csv(&[out.path().join("runs.csv")]).unwrap();
    from_csv.test_labels = inputs.test_labels.clone();
    let again = report_md(&from_csv, tempfile::tempdir().unwrap().path());
    assert!(again.contains(&table), "{again}");
    // A damaged file is refused by name and line.
    let kept = std::fs::read_to_string(out.path().join(PREDICTIONS)).unwrap();
    let (header, rest) = kept.split_once('\n').unwrap();
    std::fs::write(
        out.path().join(PREDICTIONS),
        format!("{header}\n{}", rest.replacen(',', ",x", 1)),
    )
    .unwrap();
    let error = Inputs::from_runs_csv(&[out.path().join("runs.csv")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(PREDICTIONS) && error.contains("line 2: a class that is not a digit"),
        "{error}"
    );
    // Without them, the section says why it is missing.
    std::fs::remove_file(out.path().join(PREDICTIONS)).unwrap();
    let bare = Inputs::from_runs_csv(&[out.path().join("runs.csv")]).unwrap();
    let text = report_md(&bare, tempfile::tempdir().unwrap().path());
    assert!(text.contains("kept no test predictions"), "{text}");
    // A report of runs without predictions leaves no earlier report's file behind to be read
    // back as theirs.
    std::fs::write(out.path().join(PREDICTIONS), &kept).unwrap();
    report_md(&bare, out.path());
    assert!(!out.path().join(PREDICTIONS).exists());
}

/// The sequential page's decisions (`cargo xtask sweep --until-decided` on the study's six from
/// their committed 10 seeds) replay from its runs.csv: every run given as reused, the design's
/// defaults decide every comparison at the same look on the same runs.
#[test]
fn the_sequential_pages_decisions_replay_from_its_runs_csv() {
    use actfn_report::Block;
    use actfn_sweep::sequential::{
        Next, SequentialDir, SequentialSettings, progress, sequential_blocks,
    };
    let folder = results("sequential");
    let runs = Inputs::from_runs_csv(&[folder.join("runs.csv")])
        .unwrap()
        .finished;
    let settings = SequentialSettings::default();
    let empty = tempfile::tempdir().unwrap();
    let replayed = progress(&SequentialDir::new(empty.path()), &settings, &runs).unwrap();
    assert!(
        matches!(replayed.next, Next::Done(_)),
        "{:?}",
        replayed.next
    );
    assert_eq!(replayed.trained, 0);
    let blocks = sequential_blocks(&settings, &replayed, empty.path()).unwrap();
    let comparisons = blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.header[0] == "Pair" => Some(t.markdown()),
            _ => None,
        })
        .unwrap();
    let committed = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(
        committed.contains(comparisons.trim_end()),
        "{comparisons}\nis not in the committed page"
    );
}
