//! The depth section's tables: per function its test accuracy at each depth with the deepest
//! against the shallowest decided like a pair of groups, and the measures of the initial network
//! at each depth with their intervals.

use actfn_report::{Block, Table, paragraph};
use actfn_stats::{Decision, PairTest, decide_pairs_among};

use super::{Depths, dead_share, gradient_ratio};
use crate::FinishedRun;
use crate::report::Analysis;
use crate::report::tables::{decision_text, interval, mean, mixture, number, trained};

/// Every depth some function was trained at, shallowest first.
fn all_depths(families: &[Depths]) -> Vec<usize> {
    let mut depths: Vec<usize> = families
        .iter()
        .flat_map(|d| d.curve.iter().map(|(depth, _)| *depth))
        .collect();
    depths.sort_unstable();
    depths.dedup();
    depths
}

/// A table's header: `first`, a column per depth, then `rest`.
fn header(first: &str, depths: &[usize], rest: &[String]) -> Vec<String> {
    let mut header = vec![first.to_string()];
    header.extend(depths.iter().map(|d| format!("{d} layers")));
    header.extend(rest.iter().cloned());
    header
}

/// Per function: its mean test accuracy at each depth (with the share that trained, where not
/// all did), and its deepest depth against its shallowest, decided at 0.05 like a pair of
/// groups (Welch's test, or the rank test where either is a mixture of chance and trained runs;
/// TOST against the margin; Holm over the functions); then what is decided, in words.
pub(super) fn accuracy_blocks(families: &[Depths], analysis: &Analysis) -> Vec<Block> {
    let depths = all_depths(families);
    let m = analysis.margin;
    let rest = [
        "deepest - shallowest (pt)".to_string(),
        "Holm p".into(),
        format!("TOST p (±{m} pt, Holm)"),
        "decision".into(),
    ];
    let header = header("activation: test accuracy (%)", &depths, &rest);
    let mut table = Table::numeric(&header.iter().map(String::as_str).collect::<Vec<_>>());
    // The deepest sample then the shallowest, per function: pair k is (2k, 2k + 1).
    let samples: Vec<&[f64]> = families
        .iter()
        .flat_map(|d| {
            let (first, last) = (d.curve[0].1, d.curve[d.curve.len() - 1].1);
            [last.group.test.as_slice(), first.group.test.as_slice()]
        })
        .collect();
    let pairs: Vec<(usize, usize)> = (0..families.len()).map(|k| (2 * k, 2 * k + 1)).collect();
    let decided = decide_pairs_among(&samples, &pairs, m, 0.05, mixture);
    let (mut lower, mut higher, mut equal, mut undecided) = (vec![], vec![], vec![], 0);
    for (d, p) in families.iter().zip(&decided) {
        let mut row = vec![d.label.clone()];
        row.extend(
            depths
                .iter()
                .map(|depth| match d.curve.iter().find(|(at, _)| at == depth) {
                    None => "-".into(),
                    Some((_, g)) => {
                        let (n, up) = (g.group.test.len(), trained(&g.group.test));
                        let shown = number(mean(&g.group.test), 2);
                        if up == n {
                            shown
                        } else {
                            format!("{shown} ({up}/{n} trained)")
                        }
                    }
                }),
        );
        let difference = number(p.difference, 2);
        let rank = if p.test == PairTest::Rank {
            " (rank)"
        } else {
            ""
        };
        row.extend([
            difference.clone(),
            format!("{:.3}{rank}", p.holm_p),
            format!("{:.3}", p.tost_p),
            decision_text(p.decision, m),
        ]);
        table.row(row);
        let said = format!("{} ({difference} pt, Holm p = {:.3})", d.label, p.holm_p);
        match p.decision {
            Decision::Different if p.difference.is_some_and(|x| x < 0.0) => lower.push(said),
            Decision::Different => higher.push(said),
            Decision::Equivalent => equal.push(format!("{} ({difference} pt)", d.label)),
            _ => undecided += 1,
        }
    }
    let list = |names: Vec<String>| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join("; ")
        }
    };
    vec![
        paragraph(format!(
            "Per function, the mean test accuracy at each depth (with the runs that trained, \
             where not all did), and its deepest network against its shallowest, decided at \
             0.05 as a pair of groups is: Welch's test (Mann-Whitney's where either is a \
             mixture of chance and trained runs) corrected by Holm over the {} functions, \
             TOST against ±{m} points corrected the same way.",
            families.len()
        )),
        Block::Table(table),
        paragraph(format!(
            "Lower at the deepest than at the shallowest: {}. Higher: {}. Equal within ±{m} \
             points: {}. Undecided: {undecided} of {} functions.",
            list(lower),
            list(higher),
            list(equal),
            families.len()
        )),
    ]
}

/// A measure of the initial network per run.
struct Initial {
    name: &'static str,
    value: fn(&FinishedRun) -> Option<f64>,
}

const INITIAL: [Initial; 2] = [
    Initial {
        name: "log10 gradient ratio, first / last layer",
        value: gradient_ratio,
    },
    Initial {
        name: "dead units (%)",
        value: |r| dead_share(r, 0),
    },
];

/// The initial network's gradient ratio and dead share per function at each depth: the mean
/// over seeds with its BCa interval. None where no run measured its initial network.
pub(super) fn initial_blocks(families: &[Depths], analysis: &Analysis) -> Vec<Block> {
    let depths = all_depths(families);
    let mut blocks = Vec::new();
    for measure in &INITIAL {
        let header = header(&format!("activation: {}", measure.name), &depths, &[]);
        let mut table = Table::numeric(&header.iter().map(String::as_str).collect::<Vec<_>>());
        let mut measured = false;
        for d in families {
            let mut row = vec![d.label.clone()];
            for depth in &depths {
                let values: Vec<f64> = d
                    .curve
                    .iter()
                    .filter(|(at, _)| at == depth)
                    .flat_map(|(_, g)| g.runs.iter().filter_map(|r| (measure.value)(r)))
                    .collect();
                measured |= !values.is_empty();
                row.push(match (mean(&values), analysis.mean_bca(&values)) {
                    (None, _) => "-".into(),
                    (Some(v), None) => format!("{v:.2}"),
                    (Some(v), bca) => format!("{v:.2} {}", interval(bca)),
                });
            }
            table.row(row);
        }
        if measured {
            blocks.push(Block::Table(table));
        }
    }
    if !blocks.is_empty() {
        blocks.insert(
            0,
            paragraph(
                "The initial network at each depth, as in the figures above: log10 of the \
                 first layer's weight-gradient norm over the last layer's on the first training \
                 batch, and the share of hidden units that are 0 on all 1,024 probe images \
                 (mean over the hidden layers); the mean over seeds with its 95% BCa interval.",
            ),
        );
    }
    blocks
}
