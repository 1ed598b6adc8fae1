//! The pairwise comparisons of one set of groups: per pair the test of a difference (Welch's,
//! or the rank test where a group is a mixture of chance and trained runs) corrected by Holm,
//! the equivalence test against the margin, the decision, the probability of improvement,
//! almost stochastic order, and how many runs per group would decide an undecided pair; as a
//! table, a heatmap and the sentences that say what is decided.

use std::path::Path;

use actfn_plot::HeatCell;
use actfn_report::{Block, Table, figure, paragraph};
use actfn_stats::{
    AsoSettings, Decision, Method, PairDecision, PairTest, almost_stochastic_order, decide_pairs,
    difference_power, equivalence_power, probability_of_improvement, runs_for_power,
};

use super::Analysis;
use super::tables::{Group, decision_text, interval, mixture, number, trained};
use crate::Result;

/// Power a planning figure aims at.
pub(crate) const POWER: f64 = 0.8;

/// Every pair of `groups`, in order, tested and decided at 0.05 by the statistics crate.
pub(super) fn pairs(groups: &[Group], analysis: &Analysis) -> Vec<PairDecision> {
    let samples: Vec<&[f64]> = groups.iter().map(|g| g.test.as_slice()).collect();
    decide_pairs(&samples, analysis.margin, 0.05, mixture)
}

/// Runs per group at which an undecided Welch pair of samples `a` and `b` would be decided
/// with 80% power if the observed difference and spread were the truth: a difference at Holm's
/// strictest level (alpha over the set's `pairs`), or equivalence within the margin, whichever
/// needs fewer. `None` without a spread to go by; `Some(None)` past
/// [`actfn_stats::MOST_RUNS`].
pub(crate) fn runs_to_decide(
    a: &[f64],
    b: &[f64],
    difference: f64,
    pairs: usize,
    margin: f64,
) -> Option<Option<usize>> {
    let var = |x: &[f64]| actfn_stats::describe(x).and_then(|d| d.sd).map(|s| s * s);
    let sd = ((var(a)? + var(b)?) / 2.0).sqrt();
    if sd == 0.0 {
        return None;
    }
    let alpha = 0.05 / pairs as f64;
    let different = runs_for_power(|n| difference_power(difference, sd, n, alpha), POWER);
    let equal = runs_for_power(
        |n| equivalence_power(difference, sd, margin, n, 0.05),
        POWER,
    );
    Some(different.into_iter().chain(equal).min())
}

/// The table of one set's pairs, the heatmap of their differences (written into `figures` as
/// `stem`), and the sentences of what is decided.
pub(super) fn pair_blocks(
    groups: &[Group],
    analysis: &Analysis,
    figures: &Path,
    stem: &str,
) -> Result<Vec<Block>> {
    let pairs = pairs(groups, analysis);
    let aso = AsoSettings {
        comparisons: 2 * pairs.len().max(1),
        seed: analysis.bootstrap.seed,
        ..AsoSettings::default()
    };
    let m = analysis.margin;
    let mut table = Table::numeric(&[
        "A vs B",
        "A - B (pt)",
        "Holm p",
        &format!("TOST p (±{m} pt, Holm)"),
        "decision",
        "P(A > B) [95% CI]",
        "ε_min A / B",
        "runs per group to decide",
    ]);
    let (mut different, mut equal, mut undecided) = (Vec::new(), Vec::new(), 0);
    for p in &pairs {
        let (a, b) = (&groups[p.i], &groups[p.j]);
        let name = format!("{} vs {}", a.label, b.label);
        let improvement = probability_of_improvement(&a.test, &b.test);
        let improvement_ci = analysis.bootstrap.interval(
            &[&a.test, &b.test],
            |s: &[&[f64]]| probability_of_improvement(s[0], s[1]).unwrap_or(f64::NAN),
            Method::Percentile,
        );
        let eps = |x: &[f64], y: &[f64]| number(almost_stochastic_order(x, y, &aso), 2);
        let difference = number(p.difference, 2);
        match p.decision {
            Decision::Different => different.push(format!(
                "{name} ({}{difference} pt, Holm p = {:.3}{})",
                if p.difference.is_some_and(|d| d >= 0.0) {
                    "+"
                } else {
                    ""
                },
                p.holm_p,
                if p.test == PairTest::Rank {
                    ", rank test"
                } else {
                    ""
                }
            )),
            Decision::Equivalent => equal.push(format!("{name} ({difference} pt)")),
            _ => undecided += 1,
        }
        let runs = match (p.decision, p.test, p.difference) {
            (Decision::Undecided, PairTest::Welch, Some(d)) => {
                match runs_to_decide(&a.test, &b.test, d, pairs.len(), analysis.margin) {
                    Some(Some(n)) => n.to_string(),
                    Some(None) => format!("> {}", actfn_stats::MOST_RUNS),
                    None => "-".into(),
                }
            }
            _ => "-".into(),
        };
        table.row(vec![
            name,
            difference,
            format!(
                "{:.3}{}",
                p.holm_p,
                if p.test == PairTest::Rank {
                    " (rank)"
                } else {
                    ""
                }
            ),
            format!("{:.3}", p.tost_p),
            decision_text(p.decision, m),
            format!("{} {}", number(improvement, 2), interval(improvement_ci)),
            format!("{} / {}", eps(&a.test, &b.test), eps(&b.test, &a.test)),
            runs,
        ]);
    }
    let mut blocks = vec![
        paragraph(format!(
            "Each pair is decided at 0.05: **different** when the test of a difference, \
             corrected by Holm over the {n} pairs, gives p below it; *equal within ±{m} points* when \
             two one-sided tests (TOST), corrected by Holm the same way, put the difference \
             inside that margin; undecided otherwise. The test is Welch's, or Mann-Whitney's rank test (marked rank) where a \
             group's runs trained only sometimes: a mean over chance and trained runs is no \
             run's, and a t test over it is not valid. P(A > B) is the chance that a run of A \
             beats a run of B (ties half), with a bootstrap interval; ε_min is almost \
             stochastic order (below 0.5 A is better, below 0.2 confidently), corrected for the \
             table's comparisons. Runs to decide: the runs per group at which an undecided pair \
             would be decided with {power:.0}% power were the observed difference and spread \
             the truth (Holm's strictest level, or TOST, whichever needs fewer): a planning \
             figure, not a promise.",
            n = pairs.len(),
            power = 100.0 * POWER
        )),
        Block::Table(table),
    ];
    blocks.push(paragraph(format!(
        "Different: {}. Equal within ±{m} points: {}. Undecided: {undecided} of {} pairs.",
        if different.is_empty() {
            "none".into()
        } else {
            different.join("; ")
        },
        if equal.is_empty() {
            "none".into()
        } else {
            equal.join("; ")
        },
        pairs.len()
    )));
    blocks.extend(heatmap(groups, &pairs, analysis, figures, stem)?);
    Ok(blocks)
}

/// The pairs as a matrix of differences, row minus column.
fn heatmap(
    groups: &[Group],
    pairs: &[PairDecision],
    analysis: &Analysis,
    figures: &Path,
    stem: &str,
) -> Result<Vec<Block>> {
    let n = groups.len();
    let mut cells: Vec<Vec<Option<HeatCell>>> = vec![vec![None; n]; n];
    for p in pairs {
        let Some(d) = p.difference else { continue };
        for (row, col, value) in [(p.i, p.j, d), (p.j, p.i, -d)] {
            let mark = if p.decision == Decision::Equivalent {
                "="
            } else {
                ""
            };
            cells[row][col] = Some(HeatCell {
                value,
                text: format!("{mark}{value:+.2}"),
                strong: p.decision == Decision::Different,
            });
        }
    }
    // The colour saturates at the largest difference between groups whose runs all trained,
    // so that one untrainable group does not wash out the rest.
    let all_trained = |g: &Group| trained(&g.test) == g.test.len();
    let trained_only = pairs
        .iter()
        .filter(|p| all_trained(&groups[p.i]) && all_trained(&groups[p.j]))
        .filter_map(|p| p.difference.map(f64::abs))
        .fold(0.0, f64::max);
    let limit = if trained_only > 0.0 {
        trained_only
    } else {
        1.0
    };
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    actfn_plot::heatmap(
        &labels,
        &cells,
        "Row minus column: test accuracy (points)",
        limit,
        &figures.join(stem),
    )?;
    Ok(vec![figure(
        stem,
        "Pairwise differences",
        format!(
            "Each cell is the row's mean test accuracy minus the column's, in points. Bold and \
             full colour: different (Holm p < 0.05); marked =: equal within ±{} points (TOST); \
             pale: undecided. The colour saturates at ±{limit:.2} points.",
            analysis.margin
        ),
    )])
}
