//! The sweep's statistics as report tables: per group the description of test accuracy and the
//! share of runs that trained, and actfn against its PyTorch peer.

use actfn_stats::{Description, Interval, describe, fisher_exact, iqm, test_noise, welch, wilson};

use actfn_report::Table;

use super::Analysis;
use crate::FinishedRun;

/// A run counts as trained when its test accuracy is above this (chance is 10%).
pub const TRAINED_ABOVE: f64 = 50.0;

/// The numbers the statistics need of a group's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The group's label in tables and figures.
    pub label: String,
    /// Test accuracies, in %.
    pub test: Vec<f64>,
    /// Epochs trained.
    pub epochs: Vec<f64>,
    /// Best epochs.
    pub best_epochs: Vec<f64>,
}

impl Group {
    /// The group named `label` of `runs`.
    pub fn of(label: String, runs: &[&FinishedRun]) -> Self {
        let summary = |f: fn(&actfn_train::RunSummary) -> f64| -> Vec<f64> {
            runs.iter().map(|r| f(&r.record.summary)).collect()
        };
        Self {
            label,
            test: summary(|s| 100.0 * s.test_acc),
            epochs: summary(|s| s.epochs_run as f64),
            best_epochs: summary(|s| s.best_epoch as f64),
        }
    }
}

/// `{:.2}`, or a dash for none.
pub(super) fn number(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

/// `[lo, hi]` to two decimals, its space unbreakable so that a table's cell wraps between a
/// value and its interval, never inside the interval.
pub(super) fn interval(i: Option<Interval>) -> String {
    i.map_or("-".into(), |i| format!("[{:.2},\u{a0}{:.2}]", i.lo, i.hi))
}

/// The mean of `values`; none for none.
pub(super) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Runs above [`TRAINED_ABOVE`].
pub(super) fn trained(test: &[f64]) -> usize {
    test.iter().filter(|&&t| t > TRAINED_ABOVE).count()
}

/// The runs of `test` that trained (above [`TRAINED_ABOVE`]) and not all did: a mixture of
/// chance and trained runs, whose mean is no run's and whose t interval can straddle chance.
pub(crate) fn mixture(test: &[f64]) -> bool {
    (1..test.len()).contains(&trained(test))
}

/// The test set's noise: what sampling its 10,000 images alone gives a run's accuracy.
const TEST_IMAGES: usize = 10_000;

/// The description table: per group n, the mean with its t interval (none over a mixture of
/// chance and trained runs), the mean's BCa interval (within the runs' range), the IQM, the
/// share that trained with its Wilson interval, the trained runs' own mean where not all
/// trained, the range, the test set's noise floor, and the epochs.
pub fn description_table(groups: &[Group], analysis: &Analysis) -> Table {
    let mut table = Table::numeric(&[
        "activation",
        "n",
        "mean [t 95% CI] (%)",
        "BCa 95% CI (%)",
        "IQM (%)",
        "trained (>50%) [95% CI]",
        "trained runs: mean [BCa] (%)",
        "range (%)",
        "test-set noise (pt, share)",
        "epochs (best)",
    ]);
    for g in groups {
        let d: Option<Description> = describe(&g.test);
        let bca = |values: &[f64]| analysis.mean_bca(values);
        let mean_cell = d.map_or("-".into(), |d| match d.ci95 {
            Some(_) if mixture(&g.test) => format!("{:.2} (mixture)", d.mean),
            ci => format!("{:.2} {}", d.mean, interval(ci))
                .trim_end_matches(" -")
                .into(),
        });
        let share = wilson(trained(&g.test), g.test.len()).map_or("-".into(), |s| {
            format!(
                "{}/{} [{:.0}%,\u{a0}{:.0}%]",
                s.successes,
                s.n,
                100.0 * s.ci95.lo,
                100.0 * s.ci95.hi
            )
        });
        let trained_runs: Vec<f64> = g
            .test
            .iter()
            .copied()
            .filter(|t| *t > TRAINED_ABOVE)
            .collect();
        let trained_mean = match trained_runs.len() {
            0 => "none trained".to_string(),
            n if n == g.test.len() => "all trained".to_string(),
            1 => format!("{:.2} (one run)", trained_runs[0]),
            _ => format!(
                "{} {}",
                number(mean(&trained_runs), 2),
                interval(bca(&trained_runs))
            ),
        };
        let accuracies: Vec<f64> = g.test.iter().map(|t| t / 100.0).collect();
        let noise = test_noise(&accuracies, TEST_IMAGES).map_or("-".into(), |n| {
            format!(
                "{:.2} ({})",
                100.0 * n.run_se,
                n.share.map_or("-".into(), |s| format!("{:.0}%", 100.0 * s))
            )
        });
        table.row(vec![
            g.label.clone(),
            g.test.len().to_string(),
            mean_cell,
            interval(bca(&g.test)),
            number(iqm(&g.test), 2),
            share,
            trained_mean,
            d.map_or("-".into(), |d| {
                interval(Some(Interval {
                    lo: d.min,
                    hi: d.max,
                }))
            }),
            noise,
            format!(
                "{} ({})",
                number(mean(&g.epochs), 1),
                number(mean(&g.best_epochs), 1)
            ),
        ]);
    }
    table
}

/// actfn against PyTorch per group: each side's n and mean, the difference with Welch's
/// interval and p, the trained shares with Fisher's exact test, and the equivalence test
/// against `margin` with the decision.
pub fn peer_table(pairs: &[(&Group, &Group)], margin: f64) -> Table {
    let mut table = Table::numeric(&[
        "activation",
        "actfn: n, mean (%)",
        "PyTorch: n, mean (%)",
        "actfn - PyTorch [95% CI] (pt)",
        "Welch p",
        "trained actfn / PyTorch (Fisher p)",
        &format!("TOST p (±{margin} pt)"),
        "decision",
    ]);
    for (ours, theirs) in pairs {
        let side = |g: &Group| {
            format!(
                "{}, {}",
                g.test.len(),
                number(describe(&g.test).map(|d| d.mean), 2)
            )
        };
        let w = welch(&ours.test, &theirs.test);
        let equivalence = actfn_stats::tost(&ours.test, &theirs.test, margin).map(|t| t.p);
        let fisher = fisher_exact(
            (trained(&ours.test), ours.test.len()),
            (trained(&theirs.test), theirs.test.len()),
        );
        table.row(vec![
            ours.label.clone(),
            side(ours),
            side(theirs),
            w.map_or("-".into(), |w| {
                format!("{:+.2} {}", w.difference, interval(Some(w.ci95)))
            }),
            number(w.map(|w| w.p), 3),
            format!(
                "{}/{} vs {}/{} ({})",
                trained(&ours.test),
                ours.test.len(),
                trained(&theirs.test),
                theirs.test.len(),
                number(fisher, 3)
            ),
            number(equivalence, 3),
            decision_text(
                match w {
                    Some(w) => actfn_stats::decide(w.p, equivalence, 0.05),
                    None => actfn_stats::Decision::Undecided,
                },
                margin,
            ),
        ]);
    }
    table
}

/// How a table says a decision: **different**, equal within the margin, or undecided.
pub(crate) fn decision_text(decision: actfn_stats::Decision, margin: f64) -> String {
    match decision {
        actfn_stats::Decision::Different => "**different**".into(),
        actfn_stats::Decision::Equivalent => format!("equal within ±{margin}"),
        _ => "undecided".into(),
    }
}
