//! The report of one or more sweep folders: `runs.csv`, the statistics and the figures of
//! whatever runs have finished, and the list of those that are missing, running or failed.
//!
//! - `groups`: which runs are one group, and its label;
//! - `tables`: the statistics as tables; `sections`: the report's optional sections;
//! - `figures`: the figures and the opening paragraphs; `csv`: `runs.csv`.

mod csv;
mod figures;
mod groups;
mod sections;
mod tables;

use std::path::{Path, PathBuf};

use actfn_activations::Activation;
use actfn_report::{Block, Document, heading, paragraph};

pub use self::csv::{RunRow, read_runs_csv, runs_csv};
pub use groups::{GroupKey, Setting, key_of};
pub use tables::{Group, TRAINED_ABOVE, description_table, pairwise_table};

use crate::error::file_error;
use crate::peer::PeerResult;
use crate::{FinishedRun, Result, RunSpec, Session, SweepDir, SweepSettings};
use groups::{Varies, label};

/// What a person says of a report, at its top: a title and the findings in a few paragraphs.
#[derive(Debug, Clone, Default)]
pub struct Preface {
    /// The report's title; none: "Sweep: test accuracy over seeds".
    pub title: Option<String>,
    /// The findings' paragraphs (Markdown's `code` and **bold**), put first under "Findings".
    pub findings: Vec<String>,
}

impl Preface {
    /// Reads the findings' paragraphs from a text file: paragraphs split by blank lines, the
    /// lines of each joined with spaces.
    pub fn read_findings(path: &Path) -> Result<Vec<String>> {
        let text = actfn_io::read_text_at_most(path, crate::folder::RECORD_BYTES).map_err(|e| {
            file_error(
                path,
                format!("cannot read the findings ({e}); give a text file"),
            )
        })?;
        let mut paragraphs = Vec::new();
        let mut lines: Vec<&str> = Vec::new();
        // A blank line (or the end) closes a paragraph.
        for line in text.lines().map(str::trim).chain([""]) {
            if !line.is_empty() {
                lines.push(line);
            } else if !lines.is_empty() {
                paragraphs.push(lines.join(" "));
                lines.clear();
            }
        }
        Ok(paragraphs)
    }
}

/// A run of the grid that has not finished.
#[derive(Debug, Clone)]
pub struct Unfinished {
    /// Its sweep folder.
    pub folder: PathBuf,
    /// Its place in the grid.
    pub spec: RunSpec,
    /// Where it stands ([`RunStatus::describe`](crate::RunStatus::describe)).
    pub status: String,
}

/// A run of the PyTorch peer, with the training config of the sweep that ran it.
#[derive(Debug, Clone)]
pub struct PeerRun {
    /// Its place in the grid.
    pub spec: RunSpec,
    /// The training config it ran under.
    pub config: actfn_train::TrainConfig,
    /// What it recorded.
    pub result: PeerResult,
}

/// What a report is made from: everything read from the sweep folders.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Each folder's settings.
    pub settings: Vec<SweepSettings>,
    /// The finished runs.
    pub finished: Vec<FinishedRun>,
    /// The PyTorch peer's runs.
    pub peer: Vec<PeerRun>,
    /// The local sessions of every folder.
    pub sessions: Vec<Session>,
    /// The runs that have not finished.
    pub unfinished: Vec<Unfinished>,
}

/// Reads every run's status and records, and the peer's results, from `dirs`. A folder named
/// twice (however its path is spelled) is read once.
pub fn gather(dirs: &[PathBuf]) -> Result<Inputs> {
    let mut inputs = Inputs::default();
    let mut seen = std::collections::BTreeSet::new();
    for root in dirs {
        let dir = SweepDir::new(root);
        let settings = dir.read_settings()?;
        let canonical = std::fs::canonicalize(root)
            .map_err(|e| file_error(root, format!("cannot resolve the folder: {e}")))?;
        if !seen.insert(canonical) {
            continue;
        }
        for (spec, status) in dir.statuses(&settings)? {
            if let Some(result) = dir.peer_result(&spec) {
                inputs.peer.push(PeerRun {
                    config: spec.train_config(&settings),
                    spec: spec.clone(),
                    result,
                });
            }
            match (status.describe(), status) {
                (_, crate::RunStatus::Finished(run)) => inputs.finished.push(*run),
                (Some(status), _) => inputs.unfinished.push(Unfinished {
                    folder: root.clone(),
                    spec,
                    status,
                }),
                (None, _) => {}
            }
        }
        inputs.settings.push(settings);
        inputs.sessions.extend(dir.sessions()?);
    }
    Ok(inputs)
}

/// A group of the report: its key, its statistics' inputs and its runs.
pub(crate) struct GroupRuns<'a> {
    pub key: GroupKey,
    pub group: Group,
    pub runs: Vec<&'a FinishedRun>,
}

/// The finished runs in groups (runs that differ only in their seeds), in the order the sweeps
/// list the activations, each labelled by what differs between groups.
fn groups(inputs: &Inputs) -> Vec<GroupRuns<'_>> {
    let mut keyed: Vec<(GroupKey, Vec<&FinishedRun>)> = Vec::new();
    for run in &inputs.finished {
        let key = key_of(&run.spec, &run.record.summary.train_config);
        match keyed.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push(run),
            None => keyed.push((key, vec![run])),
        }
    }
    // The activations in the order the sweeps list them, else (runs read from runs.csv) in the
    // order their runs come.
    let listed: Vec<Activation> = inputs
        .settings
        .iter()
        .flat_map(|s| s.axes.act_fn.iter().copied())
        .chain(inputs.finished.iter().map(|r| r.spec.act))
        .collect();
    let position = |key: &GroupKey| listed.iter().position(|a| *a == key.act);
    keyed.sort_by(|(a, _), (b, _)| {
        (position(a), a.act.key(), &a.setting).cmp(&(position(b), b.act.key(), &b.setting))
    });
    let varies = Varies::of(&keyed.iter().map(|(k, _)| k).collect::<Vec<_>>());
    keyed
        .into_iter()
        .map(|(key, runs)| GroupRuns {
            group: Group::of(label(&key, &varies), &runs),
            key,
            runs,
        })
        .collect()
}

/// Writes `runs.csv`, the figures, `report.md` and `report.html` into `out`; returns the HTML
/// report's path.
pub fn write(inputs: &Inputs, out: &Path, preface: &Preface) -> Result<PathBuf> {
    let figures_dir = out.join("figures");
    std::fs::create_dir_all(&figures_dir)
        .map_err(|e| file_error(&figures_dir, format!("cannot create it: {e}")))?;
    let rows: Vec<RunRow> = inputs.finished.iter().map(RunRow::of).collect();
    actfn_io::atomic_write(&out.join("runs.csv"), runs_csv(&rows)?.as_bytes())?;

    let groups = groups(inputs);
    let mut doc = Document::new(
        preface
            .title
            .as_deref()
            .unwrap_or("Sweep: test accuracy over seeds"),
    );
    if !preface.findings.is_empty() {
        doc.extend([heading("Findings")]);
        doc.extend(preface.findings.iter().cloned().map(Block::Paragraph));
    }
    doc.extend(figures::settings_blocks(inputs));
    if groups.is_empty() {
        doc.extend([paragraph("No run has finished yet.")]);
    } else {
        let plain: Vec<Group> = groups.iter().map(|g| g.group.clone()).collect();
        doc.extend([
            heading("Test accuracy per activation"),
            Block::Table(description_table(&plain)),
        ]);
        doc.extend(figures::test_accuracy(&figures_dir, &plain)?);
        doc.extend(sections::pairwise_blocks(&groups));
        doc.extend(sections::slope_blocks(&groups));
        doc.extend(sections::peer_blocks(inputs, &groups));
        doc.extend(sections::variance_blocks(&groups));
        doc.extend(figures::validation_bands(&figures_dir, &groups)?);
        doc.extend(figures::dynamics(&figures_dir, &groups)?);
    }
    doc.extend(sections::unfinished_blocks(&inputs.unfinished));
    Ok(doc.write(out)?)
}
