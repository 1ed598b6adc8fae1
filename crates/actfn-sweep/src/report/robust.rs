//! The statistics the field's tools report beside the classical ones: per group the mean's
//! bootstrap interval, the IQM, the trained runs' own mean and the test set's noise floor; per
//! pair the decision (different, equivalent within the margin, undecided), the probability of
//! improvement and almost stochastic order; and the variance split by REML.

use actfn_report::{Block, Table, paragraph};
use actfn_stats::{
    AsoSettings, Decision, Method, almost_stochastic_order, decide, describe, iqm,
    probability_of_improvement, reml_components, test_noise, tost,
};

use super::Analysis;
use super::tables::{Group, TRAINED_ABOVE, interval, number, pairs, trained};

/// The test images every run is measured on (Fashion-MNIST's test set).
const TEST_IMAGES: usize = 10_000;

/// Per group: the mean's BCa interval, the IQM, the mean of the runs that trained where not all
/// did, and what sampling the test set alone gives.
pub fn robust_table(groups: &[Group], analysis: &Analysis) -> Table {
    let mut table = Table::numeric(&[
        "activation",
        "mean, BCa 95% CI (%)",
        "IQM (%)",
        "trained runs: mean [95% CI] (%)",
        "test-set noise per run (pt)",
        "of the spread",
    ]);
    for g in groups {
        let bca = analysis
            .bootstrap
            .interval(&[&g.test], actfn_stats::mean_of, Method::Bca);
        let trained_runs: Vec<f64> = g
            .test
            .iter()
            .copied()
            .filter(|t| *t > TRAINED_ABOVE)
            .collect();
        let trained_mean = match trained(&g.test) {
            0 => "none trained".to_string(),
            n if n == g.test.len() => "all trained".to_string(),
            _ => describe(&trained_runs).map_or("-".into(), |d| match d.ci95 {
                Some(ci) => format!("{:.2} {}", d.mean, interval(Some(ci))),
                None => format!("{:.2} (one run)", d.mean),
            }),
        };
        let accuracies: Vec<f64> = g.test.iter().map(|t| t / 100.0).collect();
        let noise = test_noise(&accuracies, TEST_IMAGES);
        table.row(vec![
            g.label.clone(),
            interval(bca),
            number(iqm(&g.test), 2),
            trained_mean,
            number(noise.map(|n| 100.0 * n.run_se), 2),
            noise
                .and_then(|n| n.share)
                .map_or("-".into(), |s| format!("{:.0}%", 100.0 * s)),
        ]);
    }
    table
}

/// Per pair of one table: the difference, Holm's p, the equivalence test against the margin,
/// the decision, the probability of improvement with its interval, and `epsilon_min` both ways
/// (Bonferroni over the table's pairs). Returns the blocks.
pub fn decision_blocks(groups: &[Group], analysis: &Analysis) -> Vec<Block> {
    let pairs = pairs(groups);
    let aso = AsoSettings {
        comparisons: 2 * pairs.len().max(1),
        seed: analysis.bootstrap.seed,
        ..AsoSettings::default()
    };
    let mut table = Table::numeric(&[
        "A vs B",
        "A - B (pt)",
        "Holm p",
        &format!("TOST p (±{} pt)", analysis.margin),
        "decision",
        "P(A > B) [95% CI]",
        "ε_min A over B / B over A",
    ]);
    let mut undecided = 0;
    for p in &pairs {
        let (a, b) = (&groups[p.i], &groups[p.j]);
        let equivalence = tost(&a.test, &b.test, analysis.margin).map(|t| t.p);
        let decision = match p.welch {
            Some(_) => decide(p.holm_p, equivalence, 0.05),
            None => Decision::Undecided,
        };
        if decision == Decision::Undecided {
            undecided += 1;
        }
        let improvement = probability_of_improvement(&a.test, &b.test);
        let improvement_ci = analysis.bootstrap.interval(
            &[&a.test, &b.test],
            |s: &[&[f64]]| probability_of_improvement(s[0], s[1]).unwrap_or(f64::NAN),
            Method::Percentile,
        );
        let eps = |x: &[f64], y: &[f64]| number(almost_stochastic_order(x, y, &aso), 2);
        table.row(vec![
            format!("{} vs {}", a.label, b.label),
            number(p.welch.map(|w| w.difference), 2),
            format!("{:.3}", p.holm_p),
            number(equivalence, 3),
            match decision {
                Decision::Different => "**different**".into(),
                Decision::Equivalent => format!("equal within ±{}", analysis.margin),
                _ => "undecided".into(),
            },
            format!("{} {}", number(improvement, 2), interval(improvement_ci)),
            format!("{} / {}", eps(&a.test, &b.test), eps(&b.test, &a.test)),
        ]);
    }
    vec![
        paragraph(format!(
            "Each pair decided at 0.05: **different** when Holm's corrected Welch p is below it, \
             *equal within ±{m} points* when two one-sided tests (TOST) put the difference inside \
             the margin, undecided otherwise ({undecided} of {} pairs). P(A > B) is the chance \
             that a run of A beats a run of B (ties half), with a bootstrap interval; ε_min is \
             deep-significance's almost stochastic order (below 0.5: the first is better; below \
             0.2: confidently), corrected for the table's comparisons.",
            pairs.len(),
            m = analysis.margin
        )),
        Block::Table(table),
    ]
}

/// The variance split by REML, per group of a complete splits x seeds grid, with the
/// components' intervals; a factor of fewer than three levels is not identified.
pub fn reml_blocks(grids: &[(String, Vec<Vec<f64>>)], analysis: &Analysis) -> Vec<Block> {
    let mut table = Table::numeric(&[
        "activation",
        "split sd (pt) [95% CI]",
        "seed sd (pt) [95% CI]",
        "residual sd (pt) [95% CI]",
    ]);
    let sd = |c: actfn_stats::Component| {
        let ci = c.ci95.map(|i| actfn_stats::Interval {
            lo: i.lo.max(0.0).sqrt(),
            hi: i.hi.max(0.0).sqrt(),
        });
        let text = format!("{:.2} {}", c.variance.sqrt(), interval(ci));
        if c.identified {
            text
        } else {
            format!("not identified ({text})")
        }
    };
    for (label, grid) in grids {
        let Some(r) = reml_components(grid, analysis.bootstrap.reps, analysis.bootstrap.seed)
        else {
            continue;
        };
        table.row(vec![label.clone(), sd(r.row), sd(r.column), sd(r.residual)]);
    }
    vec![
        paragraph(
            "The same split by restricted maximum likelihood (components never below 0, a \
             factor below the residual pooled into it), with parametric-bootstrap intervals. \
             A factor with fewer than three levels is not identified: its estimate rests on one \
             or two degrees of freedom, and 0 there does not mean absent.",
        ),
        Block::Table(table),
    ]
}
