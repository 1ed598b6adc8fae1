//! Learning rates chosen on validation: for each function and optimizer trained at several
//! rates, the rate whose runs' mean best validation accuracy is highest (never the test
//! accuracy), the area under its test accuracy over log(rate), and the figure of both.

use std::path::Path;

use actfn_activations::Activation;
use actfn_plot::{Band, Corner};
use actfn_report::{Block, Table, figure, heading, paragraph};

use super::Analysis;
use super::figures::{empty_band, push_mean};
use super::groups::Setting;
use super::inputs::GroupRuns;
use super::tables::{TRAINED_ABOVE, mean, number, trained};
use crate::Result;

/// One function under one optimizer (and architecture, patience, protocol) at several learning
/// rates, and the rate chosen on validation.
pub(super) struct Tuning<'g, 'r> {
    /// The function.
    pub act: Activation,
    /// What the rates share: the group's setting without its learning rate.
    pub setting: Setting,
    /// The groups by learning rate, smallest first.
    pub curve: Vec<(f64, &'g GroupRuns<'r>)>,
    /// The index in `curve` of the rate chosen on validation.
    pub selected: usize,
}

impl<'g, 'r> Tuning<'g, 'r> {
    /// The group at the chosen rate.
    pub fn chosen(&self) -> &'g GroupRuns<'r> {
        self.curve[self.selected].1
    }

    /// Whether `group` is one of this tuning's rates.
    pub fn holds(&self, group: &GroupRuns) -> bool {
        self.curve.iter().any(|(_, g)| std::ptr::eq(*g, group))
    }

    /// The optimizer's name, `SGD` or `Adam`.
    pub fn optimizer(&self) -> &str {
        protocol_value(&self.setting, "optimizer").unwrap_or("SGD")
    }
}

/// The value of the protocol's setting `name`.
fn protocol_value<'s>(setting: &'s Setting, name: &str) -> Option<&'s str> {
    setting
        .protocol
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// The mean best validation accuracy of a group's runs, in [0, 1]: what the choice reads.
fn validation_mean(group: &GroupRuns) -> f64 {
    let values: Vec<f64> = group
        .runs
        .iter()
        .map(|r| r.record.summary.best_val_acc)
        .collect();
    mean(&values).unwrap_or(f64::NEG_INFINITY)
}

/// The groups that differ only in their learning rate, with the rate chosen for each: the
/// highest mean best validation accuracy over the group's runs (the smaller rate on a tie).
/// Functions trained at one rate only have none.
pub(super) fn tunings<'g, 'r>(groups: &'g [GroupRuns<'r>]) -> Vec<Tuning<'g, 'r>> {
    let mut tunings: Vec<Tuning> = Vec::new();
    for g in groups {
        let Some(lr) = protocol_value(&g.key.setting, "lr").and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        let mut setting = g.key.setting.clone();
        setting.protocol.retain(|(n, _)| *n != "lr");
        match tunings
            .iter_mut()
            .find(|t| t.act == g.key.act && t.setting == setting)
        {
            Some(t) => t.curve.push((lr, g)),
            None => tunings.push(Tuning {
                act: g.key.act,
                setting,
                curve: vec![(lr, g)],
                selected: 0,
            }),
        }
    }
    tunings.retain(|t| t.curve.len() >= 2);
    for t in &mut tunings {
        t.curve.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut best = 0;
        for (i, (_, g)) in t.curve.iter().enumerate() {
            if validation_mean(g) > validation_mean(t.curve[best].1) {
                best = i;
            }
        }
        t.selected = best;
    }
    tunings
}

/// `groups` in order without those at a rate that was not chosen: what the figures of one point
/// or panel per group show (the tuning section draws every rate).
pub(super) fn shown<'g, 'r>(
    groups: &'g [GroupRuns<'r>],
    tunings: &[Tuning<'g, 'r>],
) -> Vec<&'g GroupRuns<'r>> {
    groups
        .iter()
        .filter(|g| {
            tunings
                .iter()
                .find(|t| t.holds(g))
                .is_none_or(|t| std::ptr::eq(t.chosen(), *g))
        })
        .collect()
}

/// The mean test accuracy over log10(rate), by the trapezoid rule, divided by the range of
/// log10(rate): the accuracy a rate drawn log-uniformly from the range gives on average (by
/// linear interpolation between the rates tried). High and flat is robust to the choice.
fn area(curve: &[(f64, f64)]) -> Option<f64> {
    let (first, last) = (curve.first()?.0.log10(), curve.last()?.0.log10());
    if curve.len() < 2 || last <= first {
        return None;
    }
    let sum: f64 = curve
        .windows(2)
        .map(|w| (w[1].0.log10() - w[0].0.log10()) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    Some(sum / (last - first))
}

/// The section: per optimizer, the table of mean best validation accuracy at each rate, the
/// chosen rate, the test accuracy there and the area; and the figure of test accuracy over
/// the rates.
pub(super) fn tuning_blocks(
    tunings: &[Tuning],
    analysis: &Analysis,
    figures: &Path,
) -> Result<Vec<Block>> {
    if tunings.is_empty() {
        return Ok(Vec::new());
    }
    let mut blocks = vec![
        heading("Learning rate chosen on validation"),
        paragraph(
            "For each function and optimizer trained at several learning rates, the rate whose \
             runs reach the highest mean best validation accuracy is chosen (bold); the test \
             accuracy is never read for the choice. The table gives the mean best validation \
             accuracy (%) at each rate, the test accuracy at the chosen rate with its BCa \
             interval, and the area under the mean test accuracy over log10(rate), divided by \
             the range: the accuracy a rate drawn log-uniformly from the range gives on \
             average, high and flat where the function is robust to the choice.",
        ),
    ];
    let mut optimizers: Vec<&str> = Vec::new();
    for t in tunings {
        if !optimizers.contains(&t.optimizer()) {
            optimizers.push(t.optimizer());
        }
    }
    for optimizer in optimizers {
        let rows: Vec<&Tuning> = tunings
            .iter()
            .filter(|t| t.optimizer() == optimizer)
            .collect();
        let mut rates: Vec<f64> = rows
            .iter()
            .flat_map(|t| t.curve.iter().map(|(lr, _)| *lr))
            .collect();
        rates.sort_by(f64::total_cmp);
        rates.dedup();
        let mut header = vec!["activation".to_string()];
        header.extend(rates.iter().map(|lr| format!("val at lr {lr}")));
        header.extend([
            "chosen lr".to_string(),
            "test at chosen [95% BCa]".to_string(),
            "area (test, log lr)".to_string(),
        ]);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = Table::numeric(&header);
        for t in &rows {
            let mut row = vec![t.act.name().to_string()];
            for lr in &rates {
                row.push(match t.curve.iter().position(|(r, _)| r == lr) {
                    Some(i) => {
                        let text = format!("{:.2}", 100.0 * validation_mean(t.curve[i].1));
                        if i == t.selected {
                            format!("**{text}**")
                        } else {
                            text
                        }
                    }
                    None => "-".into(),
                });
            }
            let chosen = &t.chosen().group.test;
            let bca = analysis.mean_bca(chosen);
            row.push(t.curve[t.selected].0.to_string());
            row.push(format!(
                "{} {}",
                number(mean(chosen), 2),
                super::tables::interval(bca)
            ));
            let curve: Vec<(f64, f64)> = t
                .curve
                .iter()
                .filter_map(|(lr, g)| Some((*lr, mean(&g.group.test)?)))
                .collect();
            row.push(number(area(&curve), 2));
            table.row(row);
        }
        blocks.push(paragraph(format!("**{optimizer}**")));
        blocks.push(Block::Table(table));
        let stem = format!("lr_{}", optimizer.to_ascii_lowercase());
        let bands: Vec<Band> = rows
            .iter()
            .filter_map(|t| band(t, analysis, false))
            .collect();
        if !bands.is_empty() {
            let title = format!("Test accuracy over the learning rate ({optimizer})");
            actfn_plot::band_chart(
                &bands,
                &title,
                ("learning rate (log10)", "test accuracy (%)"),
                Corner::LowerLeft,
                &figures.join(&stem),
            )?;
            blocks.push(figure(
                &stem,
                &title,
                "Per function, the mean test accuracy at each rate tried (log10 of the rate) with \
                 its 95% BCa band over seeds; the dot marks the rate chosen on validation.",
            ));
        }
        // Where some rate left runs at chance, the same at the rates where every run trained,
        // on an axis the trained runs' differences can be read on.
        let trained: Vec<Band> = rows
            .iter()
            .filter_map(|t| band(t, analysis, true))
            .collect();
        if trained.iter().map(|b| b.xs.len()).sum::<usize>()
            < bands.iter().map(|b| b.xs.len()).sum::<usize>()
            && !trained.is_empty()
        {
            let stem = format!("{stem}_trained");
            let title =
                format!("Test accuracy over the learning rate ({optimizer}), runs that trained");
            actfn_plot::band_chart(
                &trained,
                &title,
                ("learning rate (log10)", "test accuracy (%)"),
                Corner::LowerRight,
                &figures.join(&stem),
            )?;
            blocks.push(figure(
                &stem,
                &title,
                format!(
                    "The figure above at the rates where every run of the function trained (above \
                     {TRAINED_ABOVE}%); a function's curve leaves out the rates where some did not."
                ),
            ));
        }
    }
    Ok(blocks)
}

/// A function's curve for the figure: its mean test accuracy at each rate with its BCa band,
/// the chosen rate marked; with `trained_only`, only the rates where every run trained (none
/// with fewer than two such rates).
fn band(t: &Tuning, analysis: &Analysis, trained_only: bool) -> Option<Band> {
    let mut band = empty_band(t.act.name().to_string());
    for (i, (lr, g)) in t.curve.iter().enumerate() {
        if trained_only && trained(&g.group.test) < g.group.test.len() {
            continue;
        }
        let m = push_mean(&mut band, lr.log10(), &g.group.test, analysis)?;
        if i == t.selected {
            band.marks.push((lr.log10(), m));
        }
    }
    (band.xs.len() >= 2).then_some(band)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::csv::RunRow;
    use crate::report::inputs::Inputs;

    /// A finished run's row of an SGD sweep whose optimizer axis crossed the rates.
    fn row(act: &str, seed: u64, lr: f64, best_val_acc: f64, test_acc: f64) -> RunRow {
        RunRow {
            index: 0,
            id: format!("{act}-h64-p7-split42-seed{seed}-sgd-lr{lr}"),
            act: act.into(),
            seed,
            split_seed: 42,
            hidden: "64".into(),
            patience: 7,
            init: actfn_model::Init::PyTorch,
            max_epochs: 50,
            batch_size: 256,
            optimizer: "sgd".into(),
            lr,
            momentum: Some(0.9),
            subset: None,
            device: "cpu".into(),
            threads: 1,
            epochs_run: 20,
            best_epoch: 13,
            best_val_acc,
            test_acc,
            stopped_early: true,
            seconds: 60.0,
            host: "test".into(),
        }
    }

    /// Runs of ReLU and Tanh at three rates, with validation and test accuracies that rank
    /// the rates differently.
    fn rows() -> Vec<RunRow> {
        let mut rows = Vec::new();
        for (act, rates) in [
            (
                "relu",
                [(0.001, 0.86, 0.85), (0.01, 0.89, 0.88), (0.1, 0.88, 0.90)],
            ),
            (
                "tanh",
                [(0.001, 0.84, 0.87), (0.01, 0.87, 0.86), (0.1, 0.885, 0.85)],
            ),
        ] {
            for (lr, val, test) in rates {
                for seed in 0..3u64 {
                    let noise = seed as f64 * 0.001;
                    rows.push(row(act, seed, lr, val + noise, test - noise));
                }
            }
        }
        rows
    }

    fn chosen(rows: &[RunRow]) -> Vec<(String, f64)> {
        let inputs = Inputs {
            finished: rows.iter().map(|r| r.finished_run().unwrap()).collect(),
            ..Inputs::default()
        };
        let groups = super::super::inputs::groups(&inputs);
        tunings(&groups)
            .iter()
            .map(|t| (t.act.key().to_string(), t.curve[t.selected].0))
            .collect()
    }

    #[test]
    fn the_rate_is_chosen_on_validation_and_never_on_test() {
        let rows = rows();
        // ReLU's validation peaks at 0.01 (its test at 0.1), Tanh's at 0.1 (its test at 0.001).
        assert_eq!(
            chosen(&rows),
            [("relu".to_string(), 0.01), ("tanh".to_string(), 0.1)]
        );
        // The test accuracies shuffled among all runs (seeded): the same choice.
        let mut permuted = rows.clone();
        let mut tests: Vec<f64> = permuted.iter().map(|r| r.test_acc).collect();
        let mut state = 7u64;
        for i in (1..tests.len()).rev() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            tests.swap(i, (state >> 33) as usize % (i + 1));
        }
        assert_ne!(tests, rows.iter().map(|r| r.test_acc).collect::<Vec<_>>());
        for (row, test) in permuted.iter_mut().zip(tests) {
            row.test_acc = test;
        }
        assert_eq!(chosen(&permuted), chosen(&rows));
        // And a change of validation accuracy alone moves it.
        let mut moved = rows.clone();
        for row in moved.iter_mut().filter(|r| r.act == "relu" && r.lr == 0.1) {
            row.best_val_acc = 0.95;
        }
        assert_eq!(chosen(&moved)[0], ("relu".to_string(), 0.1));
    }

    #[test]
    fn functions_trained_at_one_rate_are_shown_and_compared_beside_the_tuned() {
        // ReLU and Tanh tuned over three rates; ELU and GELU each trained at one rate, 0.03.
        let mut rows = rows();
        for act in ["elu", "gelu"] {
            rows.extend((0..3u64).map(|seed| row(act, seed, 0.03, 0.88, 0.87)));
        }
        let inputs = Inputs {
            finished: rows.iter().map(|r| r.finished_run().unwrap()).collect(),
            ..Inputs::default()
        };
        let groups = super::super::inputs::groups(&inputs);
        let tunings = tunings(&groups);
        let labels = |shown: &[&GroupRuns]| -> Vec<String> {
            shown.iter().map(|g| g.group.label.clone()).collect()
        };
        let shown = shown(&groups, &tunings);
        // ReLU at 0.01 and Tanh at 0.1 (their chosen rates), and both functions of one rate.
        assert_eq!(shown.len(), 4, "{:?}", labels(&shown));
        assert!(std::ptr::eq(shown[0], tunings[0].chosen()));
        let sets = super::super::sections::comparison_sets(&groups);
        let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names[0].starts_with("SGD, each function at its rate chosen"));
        assert!(names[1].starts_with("SGD at lr 0.01, the study's rate"));
        // The set of the untuned: ELU against GELU, at their one rate.
        let untuned = labels(&sets[2].groups);
        assert_eq!(untuned.len(), 2, "{untuned:?}");
        assert!(untuned.iter().all(|l| l.contains("0.03")), "{untuned:?}");
    }

    #[test]
    fn the_area_is_the_mean_accuracy_over_log_rate() {
        // Flat at 80: 80. Linear in log10 from 70 to 90 over two decades: 80.
        assert_eq!(area(&[(0.001, 80.0), (0.1, 80.0)]), Some(80.0));
        let a = area(&[(0.001, 70.0), (0.01, 80.0), (0.1, 90.0)]).unwrap();
        assert!((a - 80.0).abs() < 1e-12, "{a}");
        // Uneven spacing weighs each segment by its width in log10: 0.001 -> 0.003 is 0.477
        // of 2 decades.
        let a = area(&[(0.001, 60.0), (0.003, 90.0), (0.1, 90.0)]).unwrap();
        let w = 3f64.log10() / 2.0;
        assert!((a - (w * 75.0 + (1.0 - w) * 90.0)).abs() < 1e-12, "{a}");
        assert_eq!(area(&[(0.01, 80.0)]), None);
    }
}
