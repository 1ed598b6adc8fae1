//! The sweep's statistics as report tables: per group the description of test accuracy and the
//! share of runs that trained, the pairwise comparisons, actfn against its PyTorch peer, and
//! the variance split between data splits and seeds.

use actfn_stats::{Description, Interval, cohens_d, describe, fisher_exact, holm, welch, wilson};

use actfn_report::{Block, Table, paragraph};

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

pub(super) fn interval(i: Option<Interval>) -> String {
    i.map_or("-".into(), |i| format!("[{:.2}, {:.2}]", i.lo, i.hi))
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Runs above [`TRAINED_ABOVE`].
pub(super) fn trained(test: &[f64]) -> usize {
    test.iter().filter(|&&t| t > TRAINED_ABOVE).count()
}

/// The description table: per group n, mean, sd, the mean's 95% interval, median, extremes,
/// mean epochs and best epoch, and the share that trained with its Wilson interval.
pub fn description_table(groups: &[Group]) -> Table {
    let mut table = Table::numeric(&[
        "activation",
        "n",
        "mean test acc (%)",
        "sd (pt)",
        "95% CI of the mean (%)",
        "median (%)",
        "min (%)",
        "max (%)",
        "epochs",
        "best epoch",
        "trained (>50%)",
    ]);
    for g in groups {
        let d: Option<Description> = describe(&g.test);
        let share = wilson(trained(&g.test), g.test.len()).map_or("-".into(), |s| {
            format!(
                "{}/{} [{:.0}%, {:.0}%]",
                s.successes,
                s.n,
                100.0 * s.ci95.lo,
                100.0 * s.ci95.hi
            )
        });
        table.row(vec![
            g.label.clone(),
            g.test.len().to_string(),
            number(d.map(|d| d.mean), 2),
            number(d.and_then(|d| d.sd), 2),
            interval(d.and_then(|d| d.ci95)),
            number(d.map(|d| d.median), 2),
            number(d.map(|d| d.min), 2),
            number(d.map(|d| d.max), 2),
            number(mean(&g.epochs), 1),
            number(mean(&g.best_epochs), 1),
            share,
        ]);
    }
    table
}

/// A pair of groups `(i, j)`, `i < j`, with Welch's test of `i - j` and its p-value corrected by
/// Holm over every pair of the table.
pub(super) struct Pair {
    pub i: usize,
    pub j: usize,
    pub welch: Option<actfn_stats::Welch>,
    pub holm_p: f64,
}

/// Every pair of `groups`, in order.
pub(super) fn pairs(groups: &[Group]) -> Vec<Pair> {
    let mut tests = Vec::new();
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            tests.push((i, j, welch(&groups[i].test, &groups[j].test)));
        }
    }
    let raw: Vec<f64> = tests
        .iter()
        .map(|(_, _, w)| w.map_or(1.0, |w| w.p))
        .collect();
    // Welch's p-values (1 where no test could be made) are probabilities; were one not, every
    // pair would count as undecided.
    let adjusted = holm(&raw).unwrap_or_else(|| vec![1.0; raw.len()]);
    tests
        .into_iter()
        .zip(adjusted)
        .map(|((i, j, welch), holm_p)| Pair {
            i,
            j,
            welch,
            holm_p,
        })
        .collect()
}

/// The pairwise comparisons of test accuracy: for each pair, the difference of the means (row
/// minus column), Welch's Holm-corrected p-value and Cohen's d; pairs that differ beyond noise
/// (Holm p < 0.05) in bold. Returns the table and the pairs that differ.
pub fn pairwise_table(groups: &[Group]) -> (Table, Vec<String>) {
    let pairs = pairs(groups);
    let mut header = vec![String::from("row minus column")];
    header.extend(groups.iter().skip(1).map(|g| g.label.clone()));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::numeric(&header);
    let mut differ = Vec::new();
    for i in 0..groups.len().saturating_sub(1) {
        let mut row = vec![groups[i].label.clone()];
        for j in 1..groups.len() {
            let cell = if j <= i {
                String::new()
            } else {
                let k = pairs.iter().position(|p| (p.i, p.j) == (i, j)).unwrap_or(0);
                let holm_p = pairs[k].holm_p;
                match pairs[k].welch {
                    None => "-".into(),
                    Some(w) => {
                        let d = cohens_d(&groups[i].test, &groups[j].test);
                        let text = format!(
                            "{:+.2} pt, p={:.3}, d={}",
                            w.difference,
                            holm_p,
                            number(d, 1)
                        );
                        if holm_p < 0.05 {
                            differ.push(format!(
                                "{} vs {} ({:+.2} pt, Holm p = {:.3})",
                                groups[i].label, groups[j].label, w.difference, holm_p
                            ));
                            format!("**{text}**")
                        } else {
                            text
                        }
                    }
                }
            };
            row.push(cell);
        }
        table.row(row);
    }
    (table, differ)
}

/// actfn against PyTorch per group: both descriptions, the difference with Welch's interval,
/// and the trained shares with Fisher's exact test.
pub fn peer_table(pairs: &[(&Group, &Group)], margin: f64) -> Table {
    let mut table = Table::numeric(&[
        "activation",
        "actfn n",
        "actfn mean (%)",
        "PyTorch n",
        "PyTorch mean (%)",
        "PyTorch 95% CI (%)",
        "actfn - PyTorch (pt)",
        "95% CI (pt)",
        "Welch p",
        "trained actfn / PyTorch",
        "Fisher p",
        &format!("TOST p (±{margin} pt)"),
        "decision",
    ]);
    for (ours, theirs) in pairs {
        let (d_ours, d_theirs) = (describe(&ours.test), describe(&theirs.test));
        let w = welch(&ours.test, &theirs.test);
        let equivalence = actfn_stats::tost(&ours.test, &theirs.test, margin).map(|t| t.p);
        let fisher = fisher_exact(
            (trained(&ours.test), ours.test.len()),
            (trained(&theirs.test), theirs.test.len()),
        );
        table.row(vec![
            ours.label.clone(),
            ours.test.len().to_string(),
            number(d_ours.map(|d| d.mean), 2),
            theirs.test.len().to_string(),
            number(d_theirs.map(|d| d.mean), 2),
            interval(d_theirs.and_then(|d| d.ci95)),
            number(w.map(|w| w.difference), 2),
            interval(w.map(|w| w.ci95)),
            number(w.map(|w| w.p), 3),
            format!(
                "{}/{} vs {}/{}",
                trained(&ours.test),
                ours.test.len(),
                trained(&theirs.test),
                theirs.test.len()
            ),
            number(fisher, 3),
            number(equivalence, 3),
            match w.map(|w| actfn_stats::decide(w.p, equivalence, 0.05)) {
                Some(actfn_stats::Decision::Different) => "**different**".into(),
                Some(actfn_stats::Decision::Equivalent) => format!("equal within ±{margin}"),
                _ => "undecided".into(),
            },
        ]);
    }
    table
}

/// The variance of test accuracy split into the data split's part, the seed's part and the
/// rest, per group, from a grid of `grid[split][seed]` values; with the mean's interval that
/// accounts for both.
pub fn variance_table(groups: &[(String, Vec<Vec<f64>>)]) -> Vec<Block> {
    let mut table = Table::numeric(&[
        "activation",
        "splits x seeds",
        "split sd (pt)",
        "seed sd (pt)",
        "residual sd (pt)",
        "split share",
        "seed share",
        "mean (%)",
        "95% CI, both sources (%)",
    ]);
    for (label, grid) in groups {
        let Some(c) = actfn_stats::variance_components(grid) else {
            continue;
        };
        let sd = |v: Option<f64>| number(v.map(f64::sqrt), 2);
        let shares = c.shares();
        table.row(vec![
            label.clone(),
            format!("{} x {}", c.rows, c.columns),
            sd(c.row),
            sd(c.column),
            sd(c.residual),
            shares.map_or("-".into(), |s| format!("{:.0}%", 100.0 * s.0)),
            shares.map_or("-".into(), |s| format!("{:.0}%", 100.0 * s.1)),
            format!("{:.2}", c.mean),
            interval(c.ci95),
        ]);
    }
    vec![
        paragraph(
            "Method: a two-way random-effects analysis of variance without replication (each split \
             crossed with each seed, one run per cell), components from the expected mean squares \
             and set to 0 where estimated below it; the mean's interval uses all three mean squares \
             with Satterthwaite's degrees of freedom. A factor with one level is not estimable (-).",
        ),
        Block::Table(table),
    ]
}
