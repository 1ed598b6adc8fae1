//! The report of one or more sweep folders: `runs.csv`, the statistics and the figures of
//! whatever runs have finished, and the list of those that are missing, running or failed.
//!
//! - `groups`: which runs are one group, and its label;
//! - `tables`: the per-group tables; `pairs`: the pairwise decisions and their heatmap;
//!   `images`: groups compared on the same test images; `tuning`: learning rates chosen on
//!   validation; `depth`: measures against the number of layers, the deepest against the
//!   shallowest; `sections`: the report's other sections;
//! - `inputs`: what the folders hold (`gather`) and the groups; `figures`: the figures and the
//!   opening paragraphs; `csv`: `runs.csv`.

mod csv;
mod depth;
mod figures;
mod groups;
mod images;
mod inputs;
mod pairs;
mod sections;
mod tables;
mod tuning;

use std::path::{Path, PathBuf};

use actfn_report::{Block, Document, heading, paragraph};

pub use self::csv::{PEER_RUNS, PREDICTIONS, RunRow, read_runs_csv, runs_csv};
pub use groups::{GroupKey, Setting, key_of};
pub use inputs::{Inputs, PeerRun, Unfinished, gather};
pub use tables::{Group, TRAINED_ABOVE, description_table};
pub(crate) use tables::{decision_text, mixture};

use crate::Result;
use crate::error::file_error;
pub(crate) use inputs::{GroupRuns, groups};
pub(crate) use pairs::{POWER, runs_to_decide};

/// What a person says of a report, at its top: a title and the findings in a few paragraphs.
#[derive(Debug, Clone, Default)]
pub struct Preface {
    /// The report's title; none: "Sweep: test accuracy over seeds".
    pub title: Option<String>,
    /// The findings' paragraphs (Markdown's `code` and **bold**), put first under "Findings".
    pub findings: Vec<String>,
    /// Sections that come next, before the report's own (a sequential sweep's decisions).
    pub sections: Vec<Block>,
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

/// How the report decides. `Default`: an equivalence margin of 0.3 points, 10,000 bootstrap
/// resamples from seed 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Analysis {
    /// Two groups are "equal" only within this many points (TOST).
    pub margin: f64,
    /// The resampling of every bootstrap interval.
    pub bootstrap: actfn_stats::Bootstrap,
}

impl Default for Analysis {
    fn default() -> Self {
        Self {
            margin: 0.3,
            bootstrap: actfn_stats::Bootstrap::default(),
        }
    }
}

impl Analysis {
    /// The BCa bootstrap interval of the mean of `values`.
    pub(super) fn mean_bca(&self, values: &[f64]) -> Option<actfn_stats::Interval> {
        self.bootstrap
            .interval(&[values], actfn_stats::mean_of, actfn_stats::Method::Bca)
    }
}

/// Writes `runs.csv` (and the runs' [`PREDICTIONS`], the PyTorch peer's [`PEER_RUNS`]), the
/// figures, `report.md` and `report.html` into `out`; returns the HTML report's path.
pub fn write(
    inputs: &Inputs,
    out: &Path,
    preface: &Preface,
    analysis: &Analysis,
) -> Result<PathBuf> {
    let figures_dir = out.join("figures");
    std::fs::create_dir_all(&figures_dir)
        .map_err(|e| file_error(&figures_dir, format!("cannot create it: {e}")))?;
    let rows: Vec<RunRow> = inputs.finished.iter().map(RunRow::of).collect();
    actfn_io::atomic_write(&out.join("runs.csv"), runs_csv(&rows)?.as_bytes())?;
    // Each file beside runs.csv is this report's, or gone: one left by an earlier report of
    // other runs would be read back as these runs'.
    let peer: Vec<RunRow> = inputs.peer.iter().map(RunRow::of_peer).collect();
    for (name, text) in [
        (PREDICTIONS, csv::predictions_csv(&inputs.finished)),
        (
            PEER_RUNS,
            (!peer.is_empty()).then(|| runs_csv(&peer)).transpose()?,
        ),
    ] {
        let path = out.join(name);
        match text {
            Some(text) => actfn_io::atomic_write(&path, text.as_bytes())?,
            None if path.exists() => std::fs::remove_file(&path)
                .map_err(|e| file_error(&path, format!("cannot remove a stale copy: {e}")))?,
            None => {}
        }
    }

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
    doc.extend(preface.sections.iter().cloned());
    doc.extend(figures::settings_blocks(inputs));
    if groups.is_empty() {
        doc.extend([paragraph("No run has finished yet.")]);
    } else {
        let plain: Vec<Group> = groups.iter().map(|g| g.group.clone()).collect();
        let tunings = tuning::tunings(&groups);
        let shown: Vec<GroupRuns> = tuning::shown(&groups, &tunings)
            .into_iter()
            .cloned()
            .collect();
        let shown_plain: Vec<Group> = shown.iter().map(|g| g.group.clone()).collect();
        doc.extend([
            heading("Test accuracy per activation"),
            paragraph(format!(
                "Per group: the mean with its t interval (none over a mixture of runs at chance \
                 and runs that trained, which no run resembles), the mean's BCa bootstrap \
                 interval (within the runs' range), the interquartile mean, the share of runs \
                 that trained (above {TRAINED_ABOVE}%) with its Wilson interval and, where only \
                 some did, their own mean; the runs' range; the binomial error of one run's \
                 accuracy on the 10,000 test images, with the share of the runs' variance that \
                 sampling the test set alone explains; the epochs trained and the best epoch. \
                 Bootstrap intervals from {} resamples.",
                analysis.bootstrap.reps
            )),
            Block::Table(description_table(&plain, analysis)),
        ]);
        if !tunings.is_empty() {
            doc.extend([paragraph(
                "The next two figures, and the training dynamics at the end, show each function \
                 at its learning rate chosen on validation (next section).",
            )]);
        }
        doc.extend(figures::test_accuracy(
            &figures_dir,
            &shown_plain,
            analysis,
        )?);
        let drawn = shown.len() <= figures::MOST_DRAWN;
        if drawn {
            doc.extend(figures::profiles(&figures_dir, &shown_plain, analysis)?);
        }
        doc.extend(tuning::tuning_blocks(&tunings, analysis, &figures_dir)?);
        doc.extend(depth::depth_blocks(&groups, analysis, &figures_dir)?);
        doc.extend(sections::pairwise_blocks(&groups, analysis, &figures_dir)?);
        doc.extend(images::paired_blocks(
            &groups,
            inputs.test_labels.as_deref(),
            analysis,
        ));
        doc.extend(sections::slope_blocks(&groups));
        doc.extend(sections::peer_blocks(inputs, &groups, analysis));
        doc.extend(sections::variance_blocks(&groups, analysis));
        if !drawn {
            doc.extend([
                heading("Training dynamics"),
                paragraph(format!(
                    "{} groups are more than the {} that figures of one curve or panel per \
                     group tell apart: the performance profiles, the validation curves and the \
                     dynamics per layer are left out (the tables give every group).",
                    shown.len(),
                    figures::MOST_DRAWN
                )),
            ]);
        } else if inputs.finished.iter().all(|r| r.record.metrics.is_empty()) {
            doc.extend([
                heading("Training dynamics"),
                paragraph(
                    "The runs were read from a runs.csv, which keeps each run's settings and \
                     results but not its epochs: the validation curves and the dynamics per \
                     layer need the run folders (rerun the sweep to draw them).",
                ),
            ]);
        }
        if drawn {
            doc.extend(figures::validation_bands(&figures_dir, &shown)?);
            doc.extend(figures::dynamics(&figures_dir, &shown)?);
        }
    }
    doc.extend(sections::unfinished_blocks(&inputs.unfinished));
    Ok(doc.write(out)?)
}
