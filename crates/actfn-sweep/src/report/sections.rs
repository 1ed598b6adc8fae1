//! The report's sections beyond the description: the pairwise comparisons within each set of
//! groups, the slopes PReLU learned, actfn beside its PyTorch peer, the variance split between
//! data splits and seeds, and the runs that have not finished.

use std::path::Path;

use actfn_model::BaseNetworkConfig;
use actfn_report::{Block, Table, heading, paragraph};
use actfn_stats::reml_components;

use super::groups::{Setting, key_of, protocol};
use super::inputs::{GroupRuns, Inputs, PeerRun, Unfinished};
use super::tables::{self, Group, interval, mixture};
use super::{Analysis, pairs, tuning};
use crate::grid::sizes;
use crate::{FinishedRun, Result};

/// The groups of one architecture and patience: a set whose groups are compared pair by pair.
pub(super) struct ComparisonSet<'g, 'r> {
    /// What the set's groups share, e.g. `hidden 512-256-256-128, patience 7`.
    pub name: String,
    pub groups: Vec<&'g GroupRuns<'r>>,
}

/// The sets of groups whose pairs are compared. Where functions were trained at several
/// learning rates: per optimizer (and architecture), each function at its rate chosen on
/// validation, the functions at the study's SGD lr 0.01 where they ran it, and those trained
/// at one other rate only. Otherwise the groups of each architecture and patience (groups that
/// differ in initialization or protocol are compared too, each labelled by it).
pub(super) fn comparison_sets<'g, 'r>(groups: &'g [GroupRuns<'r>]) -> Vec<ComparisonSet<'g, 'r>> {
    let tunings = tuning::tunings(groups);
    if tunings.is_empty() {
        return architecture_sets(groups, "");
    }
    let tuned = |g: &GroupRuns| tunings.iter().any(|t| t.holds(g));
    // One set per setting the rates were tuned under (optimizer, architecture, patience).
    let mut chosen: Vec<(&Setting, ComparisonSet)> = Vec::new();
    for t in &tunings {
        match chosen
            .iter_mut()
            .find(|(setting, _)| **setting == t.setting)
        {
            Some((_, set)) => set.groups.push(t.chosen()),
            None => chosen.push((
                &t.setting,
                ComparisonSet {
                    name: format!(
                        "{}, each function at its rate chosen on validation; hidden {}, \
                         patience {}",
                        t.optimizer(),
                        sizes(&t.setting.hidden, "-"),
                        t.setting.patience
                    ),
                    groups: vec![t.chosen()],
                },
            )),
        }
    }
    let mut sets: Vec<ComparisonSet> = chosen.into_iter().map(|(_, set)| set).collect();
    // Beside them, the functions trained as the study trains, and those trained at one other
    // rate (each labelled by it).
    let study = protocol(&actfn_train::TrainConfig::default());
    let at_study = |g: &GroupRuns| g.key.setting.protocol == study;
    sets.extend(architecture_sets(
        groups.iter().filter(|g| at_study(g)),
        "SGD at lr 0.01, the study's rate; ",
    ));
    sets.extend(architecture_sets(
        groups.iter().filter(|g| !at_study(g) && !tuned(g)),
        "",
    ));
    sets
}

/// The sets of `groups` of each architecture and patience, in order, named after them behind
/// `prefix`.
fn architecture_sets<'g, 'r: 'g>(
    groups: impl IntoIterator<Item = &'g GroupRuns<'r>>,
    prefix: &str,
) -> Vec<ComparisonSet<'g, 'r>> {
    let key = |g: &GroupRuns| (g.key.setting.hidden.clone(), g.key.setting.patience);
    let mut sets: Vec<ComparisonSet> = Vec::new();
    for g in groups {
        match sets.iter_mut().find(|s| key(s.groups[0]) == key(g)) {
            Some(set) => set.groups.push(g),
            None => sets.push(ComparisonSet {
                name: format!(
                    "{prefix}hidden {}, patience {}",
                    sizes(&g.key.setting.hidden, "-"),
                    g.key.setting.patience
                ),
                groups: vec![g],
            }),
        }
    }
    sets.sort_by_key(|s| key(s.groups[0]));
    sets
}

/// The pairwise comparisons of each set of several groups, each with its heatmap figure.
pub(super) fn pairwise_blocks(
    groups: &[GroupRuns],
    analysis: &Analysis,
    figures: &Path,
) -> Result<Vec<Block>> {
    let sets: Vec<ComparisonSet> = comparison_sets(groups)
        .into_iter()
        .filter(|s| s.groups.len() >= 2)
        .collect();
    let mut blocks = Vec::new();
    for (k, set) in sets.iter().enumerate() {
        let plain: Vec<Group> = set.groups.iter().map(|g| g.group.clone()).collect();
        let stem = if k == 0 {
            "pairs".to_string()
        } else {
            format!("pairs_{}", k + 1)
        };
        blocks.push(heading(format!("Pairwise comparisons ({})", set.name)));
        blocks.extend(pairs::pair_blocks(&plain, analysis, figures, &stem)?);
    }
    Ok(blocks)
}

/// The slopes a learned activation (PReLU) ended with, per hidden layer, mean over seeds.
pub(super) fn slope_blocks(groups: &[GroupRuns]) -> Vec<Block> {
    let learned: Vec<&GroupRuns> = groups
        .iter()
        .filter(|g| g.runs.iter().any(|r| !r.record.slopes.is_empty()))
        .collect();
    let Some(layers) = learned
        .iter()
        .flat_map(|g| g.runs.iter().map(|r| r.record.slopes.len()))
        .max()
    else {
        return Vec::new();
    };
    let names: Vec<String> = (0..layers)
        .map(BaseNetworkConfig::activation_name)
        .collect();
    let mut header = vec!["activation"];
    header.extend(names.iter().map(String::as_str));
    let mut table = Table::numeric(&header);
    for g in learned {
        let mut row = vec![g.group.label.clone()];
        for layer in 0..layers {
            let values: Vec<f64> = g
                .runs
                .iter()
                .filter_map(|r| r.record.slopes.get(layer).copied())
                .collect();
            row.push(
                actfn_stats::describe(&values).map_or("-".into(), |d| match d.sd {
                    Some(sd) => format!("{:.3} ± {sd:.3}", d.mean),
                    None => format!("{:.3}", d.mean),
                }),
            );
        }
        table.row(row);
    }
    vec![
        heading("Learned slopes"),
        paragraph(
            "The slope each PReLU layer learned (it starts at 0.25), mean ± standard deviation over \
             seeds: a slope near 0 makes the layer a ReLU, near 1 a linear layer.",
        ),
        Block::Table(table),
    ]
}

/// actfn against PyTorch, for the groups the peer ran.
pub(super) fn peer_blocks(
    inputs: &Inputs,
    groups: &[GroupRuns],
    analysis: &Analysis,
) -> Vec<Block> {
    if inputs.peer.is_empty() {
        return Vec::new();
    }
    let torch = inputs
        .peer
        .first()
        .map_or(String::new(), |p| p.result.torch.clone());
    // Each group's runs on both sides, restricted to the (split, seed) pairs both ran: the
    // comparison is then on the same splits, whatever else either side has.
    let mut splits = std::collections::BTreeSet::new();
    let pairs: Vec<(Group, Group)> = groups
        .iter()
        .filter_map(|g| {
            let theirs: Vec<&PeerRun> = inputs
                .peer
                .iter()
                .filter(|p| key_of(&p.spec, &p.config) == g.key)
                .filter(|p| {
                    g.runs.iter().any(|r| {
                        (r.spec.split_seed, r.spec.seed) == (p.spec.split_seed, p.spec.seed)
                    })
                })
                .collect();
            if theirs.is_empty() {
                return None;
            }
            let ours_shared: Vec<&FinishedRun> = g
                .runs
                .iter()
                .copied()
                .filter(|r| {
                    theirs.iter().any(|p| {
                        (r.spec.split_seed, r.spec.seed) == (p.spec.split_seed, p.spec.seed)
                    })
                })
                .collect();
            splits.extend(theirs.iter().map(|p| p.spec.split_seed));
            let ours = Group::of(g.group.label.clone(), &ours_shared);
            let theirs = Group {
                label: ours.label.clone(),
                test: theirs.iter().map(|p| 100.0 * p.result.test_acc).collect(),
                epochs: theirs.iter().map(|p| p.result.epochs_run as f64).collect(),
                best_epochs: theirs.iter().map(|p| p.result.best_epoch as f64).collect(),
            };
            Some((ours, theirs))
        })
        .collect();
    let splits: Vec<String> = splits.iter().map(|s| s.to_string()).collect();
    let pairs: Vec<(&Group, &Group)> = pairs.iter().map(|(a, b)| (a, b)).collect();
    vec![
        heading("actfn beside PyTorch"),
        paragraph(format!(
            "The same grid run by the study's PyTorch code (PyTorch {torch}, \
             `xtask/pytorch/peer.py`): the same protocol, and on both sides only the runs of the \
             (split, seed) pairs both ran (split seed {}), each seed given to `torch.manual_seed`. \
             The difference's interval and p-value are Welch's; the trained shares are compared \
             with Fisher's exact test. The two are called equal only where two one-sided tests \
             put the difference within ±{margin} points (the margin, `--margin`); a \
             non-significant difference alone is undecided.",
            splits.join(", "),
            margin = analysis.margin
        )),
        Block::Table(tables::peer_table(&pairs, analysis.margin)),
    ]
}

/// The variance split between data splits and seeds, when some group crosses several splits
/// with several seeds.
pub(super) fn variance_blocks(groups: &[GroupRuns], analysis: &Analysis) -> Vec<Block> {
    let mixtures: Vec<&str> = groups
        .iter()
        .filter(|g| mixture(&g.group.test))
        .map(|g| g.group.label.as_str())
        .collect();
    let grids: Vec<(String, Vec<Vec<f64>>)> = groups
        .iter()
        .filter(|g| !mixture(&g.group.test))
        .filter_map(|GroupRuns { group: g, runs, .. }| {
            let mut splits: Vec<u64> = runs.iter().map(|r| r.spec.split_seed).collect();
            let mut seeds: Vec<u64> = runs.iter().map(|r| r.spec.seed).collect();
            splits.sort_unstable();
            splits.dedup();
            seeds.sort_unstable();
            seeds.dedup();
            if splits.len() < 2 || seeds.len() < 2 {
                return None;
            }
            // Only complete grids: every split with every seed.
            let grid: Option<Vec<Vec<f64>>> = splits
                .iter()
                .map(|&split| {
                    seeds
                        .iter()
                        .map(|&seed| {
                            runs.iter()
                                .find(|r| r.spec.split_seed == split && r.spec.seed == seed)
                                .map(|r| r.test_percent())
                        })
                        .collect()
                })
                .collect();
            grid.map(|grid| (g.label.clone(), grid))
        })
        .collect();
    if grids.is_empty() {
        return Vec::new();
    }
    let mut table = Table::numeric(&[
        "activation",
        "splits x seeds",
        "split sd (pt) [95% CI]",
        "seed sd (pt) [95% CI]",
        "residual sd (pt) [95% CI]",
    ]);
    let sd = |c: actfn_stats::Component| {
        let ci = c.ci95.map(|i| actfn_stats::Interval {
            lo: i.lo.max(0.0).sqrt(),
            hi: i.hi.max(0.0).sqrt(),
        });
        if c.identified {
            format!("{:.2} {}", c.variance.sqrt(), interval(ci))
        } else {
            // An interval from one or two levels would claim what they cannot hold.
            format!("not identified ({:.2})", c.variance.sqrt())
        }
    };
    for (label, grid) in &grids {
        let Some(r) = reml_components(grid, analysis.bootstrap.reps, analysis.bootstrap.seed)
        else {
            continue;
        };
        table.row(vec![
            label.clone(),
            format!("{} x {}", grid.len(), grid.first().map_or(0, Vec::len)),
            sd(r.row),
            sd(r.column),
            sd(r.residual),
        ]);
    }
    let mut blocks = vec![
        heading("How much of the spread is the data split's"),
        paragraph(
            "Each group's runs as a grid of splits crossed with seeds (one run per cell), its \
             variance split into the split's part, the seed's part and the rest by restricted \
             maximum likelihood (REML: no component below 0, a factor smaller than the residual \
             pooled into it), with parametric-bootstrap 95% intervals. A factor with fewer than \
             three levels is not identified: its estimate (in brackets) rests on one or two \
             degrees of freedom, 0 there does not mean absent, and no interval is given.",
        ),
        Block::Table(table),
    ];
    if !mixtures.is_empty() {
        blocks.push(paragraph(format!(
            "Left out: {}, whose runs trained only sometimes (a normal model of a mixture of \
             chance and trained runs describes neither).",
            mixtures.join(", ")
        )));
    }
    blocks
}

/// The runs that have not finished, with their task index and the last line of their log.
pub(super) fn unfinished_blocks(unfinished: &[Unfinished]) -> Vec<Block> {
    if unfinished.is_empty() {
        return vec![
            heading("Runs"),
            paragraph("Every run of the grid has finished."),
        ];
    }
    let mut table = Table::text(&["sweep", "task", "run", "status"]);
    for u in unfinished {
        table.row(vec![
            u.folder.display().to_string(),
            u.spec.index.to_string(),
            u.spec.id(),
            u.status.clone(),
        ]);
    }
    vec![
        heading("Runs not finished"),
        paragraph(format!(
            "{} runs are not in the statistics above. `cargo xtask sweep` continues them (those \
             that diverged are outcomes, kept as they are); on a cluster, `--emit slurm \
             --only-missing` writes an array of just those.",
            unfinished.len()
        )),
        Block::Table(table),
    ]
}
