//! `cargo xtask sweep report`: `runs.csv`, the statistics and the figures of whatever runs of a
//! sweep have finished, and a list of the runs that are missing, running or failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::grid::{RunSpec, SweepDir, SweepSettings};
use super::groups::{GroupKey, Setting, Varies, key_of, label};
pub use super::preface::Preface;
use super::records::{self, PeerResult, RunRecord, RunStatus};
use super::stats::{self, Group};
use crate::document::{Block, Document, Table, heading, paragraph};

/// Arguments of `cargo xtask sweep report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The sweep folder; several, to report the runs of all of them together.
    #[arg(long, required = true, num_args = 1..)]
    pub dir: Vec<PathBuf>,
    /// Where the report goes [default: the first sweep folder].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub preface: Preface,
}

/// What a report is made from.
pub struct Inputs {
    pub settings: Vec<SweepSettings>,
    pub records: Vec<RunRecord>,
    pub peer: Vec<PeerRun>,
    /// The local sessions of every folder.
    pub sessions: Vec<records::Session>,
    /// Runs that have not finished: `(sweep folder, task index, id, what)`.
    pub unfinished: Vec<(PathBuf, usize, String, String)>,
}

/// A run of the PyTorch peer, with the settings of the sweep that ran it.
pub struct PeerRun {
    pub spec: RunSpec,
    pub config: actfn_train::TrainConfig,
    pub result: PeerResult,
}

/// Reads every run's status and records, and the peer's results, from `dirs`. A folder named
/// twice (however its path is spelled) is read once.
pub fn gather(dirs: &[PathBuf]) -> anyhow::Result<Inputs> {
    let mut inputs = Inputs {
        settings: Vec::new(),
        records: Vec::new(),
        peer: Vec::new(),
        sessions: Vec::new(),
        unfinished: Vec::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    for root in dirs {
        let dir = SweepDir::new(root);
        let settings = dir.read_settings()?;
        let canonical = std::fs::canonicalize(root)
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        if !seen.insert(canonical) {
            continue;
        }
        for (spec, status) in records::statuses(&dir, &settings)? {
            if let Some(result) = records::peer_result(&dir, &spec) {
                inputs.peer.push(PeerRun {
                    config: settings.train_config(spec.seed, spec.split_seed, spec.patience)?,
                    spec: spec.clone(),
                    result,
                });
            }
            let what = match status {
                RunStatus::Finished(record) => {
                    inputs.records.push(*record);
                    continue;
                }
                RunStatus::Running(holder) => format!("running: {holder}"),
                RunStatus::Unsound(reason) => reason,
                RunStatus::Failed(line) => {
                    format!(
                        "failed or interrupted: {}",
                        line.unwrap_or_else(|| "no log".into())
                    )
                }
                RunStatus::Missing => "missing (never started)".into(),
            };
            inputs
                .unfinished
                .push((root.clone(), spec.index, spec.id(), what));
        }
        inputs.settings.push(settings);
        inputs.sessions.extend(records::sessions(&dir)?);
    }
    Ok(inputs)
}

/// Writes `runs.csv`, the figures, `report.md` and `report.html` into `out`; returns the HTML
/// report's path.
pub fn write(inputs: &Inputs, out: &Path, preface: &Preface) -> anyhow::Result<PathBuf> {
    // Read before anything is written, so that a findings file that does not read changes
    // nothing.
    let findings = preface.paragraphs()?;
    let figures_dir = out.join("figures");
    std::fs::create_dir_all(&figures_dir)
        .with_context(|| format!("cannot create {}", figures_dir.display()))?;
    let records: Vec<&RunRecord> = inputs.records.iter().collect();
    records::write_runs_csv(out, &records)?;

    let mut by_group: BTreeMap<(usize, GroupKey), Vec<&RunRecord>> = BTreeMap::new();
    let order = |key: &GroupKey| -> usize {
        // The activations in the order the sweeps list them.
        inputs
            .settings
            .iter()
            .flat_map(|s| s.acts.iter())
            .position(|a| *a == key.act)
            .unwrap_or(usize::MAX)
    };
    for r in &inputs.records {
        let key = key_of(&r.spec, &r.run.summary.train_config);
        by_group.entry((order(&key), key)).or_default().push(r);
    }
    let varies = Varies::of(&by_group.keys().map(|(_, k)| k).collect::<Vec<_>>());
    let groups: Vec<(GroupKey, Group, Vec<&RunRecord>)> = by_group
        .into_iter()
        .map(|((_, key), runs)| {
            let group = group_of(label(&key, &varies), &runs);
            (key, group, runs)
        })
        .collect();

    let mut doc = Document::new(
        preface
            .title
            .as_deref()
            .unwrap_or("Sweep: test accuracy over seeds"),
    );
    if !findings.is_empty() {
        doc.extend([heading("Findings")]);
        doc.extend(findings.into_iter().map(Block::Paragraph));
    }
    doc.extend(super::figures::settings_blocks(inputs));
    if groups.is_empty() {
        doc.extend([paragraph("No run has finished yet.")]);
    } else {
        let plain: Vec<Group> = groups.iter().map(|(_, g, _)| clone_group(g)).collect();
        doc.extend([
            heading("Test accuracy per activation"),
            Block::Table(stats::description_table(&plain)),
        ]);
        doc.extend(super::figures::test_accuracy(&figures_dir, &plain)?);
        // Comparisons between activations, within each setting.
        let mut sets: BTreeMap<&Setting, Vec<Group>> = BTreeMap::new();
        for (key, group, _) in &groups {
            sets.entry(&key.setting)
                .or_default()
                .push(clone_group(group));
        }
        for (setting, set) in &sets {
            if set.len() < 2 {
                continue;
            }
            let (table, differ) = stats::pairwise_table(set);
            let sizes: Vec<String> = setting.hidden.iter().map(|h| h.to_string()).collect();
            let mut what = format!("hidden {}, patience {}", sizes.join("-"), setting.patience);
            for (name, value) in &setting.protocol {
                if varies.protocol.contains(name) {
                    what.push_str(&format!(", {name} {value}"));
                }
            }
            doc.extend([
                heading(format!("Pairwise comparisons ({what})")),
                paragraph(
                    "Row minus column: the difference of the mean test accuracies, Welch's p-value \
                     corrected by Holm over every pair of the table, and Cohen's d. Bold: beyond \
                     noise (Holm p < 0.05).",
                ),
                Block::Table(table),
                paragraph(if differ.is_empty() {
                    "No pair differs beyond noise.".to_string()
                } else {
                    format!("Beyond noise: {}.", differ.join("; "))
                }),
            ]);
        }
        doc.extend(slope_blocks(&groups));
        doc.extend(peer_blocks(inputs, &groups));
        doc.extend(variance_blocks(&groups));
        let runs: Vec<(String, Vec<&RunRecord>)> = groups
            .iter()
            .map(|(_, g, runs)| (g.label.clone(), runs.clone()))
            .collect();
        doc.extend(super::figures::validation_bands(&figures_dir, &runs)?);
        doc.extend(super::figures::dynamics(&figures_dir, &runs)?);
    }
    doc.extend(unfinished_blocks(&inputs.unfinished));
    doc.write(out)
}

/// The group named `label` of `runs`: their test accuracies, epochs and best epochs.
fn group_of(label: String, runs: &[&RunRecord]) -> Group {
    Group {
        label,
        test: runs.iter().map(|r| r.test_percent()).collect(),
        epochs: runs
            .iter()
            .map(|r| r.run.summary.epochs_run as f64)
            .collect(),
        best_epochs: runs
            .iter()
            .map(|r| r.run.summary.best_epoch as f64)
            .collect(),
    }
}

fn clone_group(g: &Group) -> Group {
    Group {
        label: g.label.clone(),
        test: g.test.clone(),
        epochs: g.epochs.clone(),
        best_epochs: g.best_epochs.clone(),
    }
}

/// The slopes a learned activation (PReLU) ended with, per hidden layer, mean over seeds.
fn slope_blocks(groups: &[(GroupKey, Group, Vec<&RunRecord>)]) -> Vec<Block> {
    let learned: Vec<_> = groups
        .iter()
        .filter(|(_, _, runs)| runs.iter().any(|r| !r.run.slopes.is_empty()))
        .collect();
    let Some(layers) = learned
        .iter()
        .flat_map(|(_, _, runs)| runs.iter().map(|r| r.run.slopes.len()))
        .max()
    else {
        return Vec::new();
    };
    let names: Vec<String> = (0..layers)
        .map(|i| format!("layers.{}", 2 * i + 1))
        .collect();
    let mut header = vec!["activation"];
    header.extend(names.iter().map(String::as_str));
    let mut table = Table::numeric(&header);
    for (_, group, runs) in learned {
        let mut row = vec![group.label.clone()];
        for layer in 0..layers {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.run.slopes.get(layer).copied())
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
fn peer_blocks(inputs: &Inputs, groups: &[(GroupKey, Group, Vec<&RunRecord>)]) -> Vec<Block> {
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
        .filter_map(|(key, ours, runs)| {
            let theirs: Vec<&PeerRun> = inputs
                .peer
                .iter()
                .filter(|p| key_of(&p.spec, &p.config) == *key)
                .filter(|p| {
                    runs.iter().any(|r| {
                        (r.spec.split_seed, r.spec.seed) == (p.spec.split_seed, p.spec.seed)
                    })
                })
                .collect();
            if theirs.is_empty() {
                return None;
            }
            let ours_shared: Vec<&RunRecord> = runs
                .iter()
                .copied()
                .filter(|r| {
                    theirs.iter().any(|p| {
                        (r.spec.split_seed, r.spec.seed) == (p.spec.split_seed, p.spec.seed)
                    })
                })
                .collect();
            splits.extend(theirs.iter().map(|p| p.spec.split_seed));
            let ours = group_of(ours.label.clone(), &ours_shared);
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
             with Fisher's exact test.",
            splits.join(", ")
        )),
        Block::Table(stats::peer_table(&pairs)),
    ]
}

/// The variance decomposition, when some group crosses several splits with several seeds.
fn variance_blocks(groups: &[(GroupKey, Group, Vec<&RunRecord>)]) -> Vec<Block> {
    let grids: Vec<(String, Vec<Vec<f64>>)> = groups
        .iter()
        .filter_map(|(_, g, runs)| {
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
    let mut blocks = vec![heading("How much of the spread is the data split's")];
    blocks.extend(stats::variance_table(&grids));
    blocks
}

/// The runs that have not finished, with their task index and the last line of their log.
fn unfinished_blocks(unfinished: &[(PathBuf, usize, String, String)]) -> Vec<Block> {
    if unfinished.is_empty() {
        return vec![
            heading("Runs"),
            paragraph("Every run of the grid has finished."),
        ];
    }
    let mut table = Table::text(&["sweep", "task", "run", "status"]);
    for (root, index, id, what) in unfinished {
        table.row(vec![
            root.display().to_string(),
            index.to_string(),
            id.clone(),
            what.clone(),
        ]);
    }
    vec![
        heading("Runs not finished"),
        paragraph(format!(
            "{} runs are not in the statistics above. `cargo xtask sweep` continues them; on a \
             cluster, `--emit slurm --only-missing` writes an array of just these.",
            unfinished.len()
        )),
        Block::Table(table),
    ]
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let inputs = gather(&args.dir)?;
    let out = args.out.clone().unwrap_or_else(|| args.dir[0].clone());
    let path = write(&inputs, &out, &args.preface)?;
    say!(
        "{} runs finished, {} not; report: {}",
        inputs.records.len(),
        inputs.unfinished.len(),
        path.display()
    );
    for (root, index, id, what) in &inputs.unfinished {
        say!("  {} task {index} ({id}): {what}", root.display());
    }
    Ok(())
}
