//! `cargo xtask sweep report`: the report of one or more sweep folders
//! ([`actfn_sweep::report`]), and the list of the runs that have not finished.

use std::path::{Path, PathBuf};

use actfn_sweep::report::{self, Preface};
use clap::Args;

/// Arguments of `cargo xtask sweep report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The sweep folder; several, to report the runs of all of them together.
    #[arg(long, num_args = 1.., required_unless_present = "runs_csv")]
    pub dir: Vec<PathBuf>,
    /// The `runs.csv` of a report (a results page's, whose run folders are gone), alone or
    /// beside sweep folders (new sweeps added to a page): its runs' statistics and figures,
    /// without those that need each run's epochs.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub runs_csv: Vec<PathBuf>,
    /// Where the report goes [default: the first sweep folder, or the folder of the first
    /// runs.csv].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The report's title [default: "Sweep: test accuracy over seeds"].
    #[arg(long)]
    pub title: Option<String>,
    /// A text file with the findings (paragraphs split by blank lines; Markdown's `code` and
    /// **bold**), put first in the report under "Findings".
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,
    /// Two groups are called equal only within this many points of test accuracy (two
    /// one-sided tests); a smaller difference that no test rules out is "undecided".
    #[arg(long, default_value_t = 0.3, value_parser = positive_points)]
    pub margin: f64,
}

/// A margin in points: positive and finite.
pub(super) fn positive_points(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 => Ok(m),
        _ => Err(format!(
            "{text:?} is not a margin: give points above 0, e.g. 0.3"
        )),
    }
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    // Read before anything is written, so that a findings file that does not read changes
    // nothing.
    let preface = Preface {
        title: args.title.clone(),
        findings: match &args.findings {
            Some(path) => Preface::read_findings(path)?,
            None => Vec::new(),
        },
        ..Preface::default()
    };
    // A sequential sweep's folder is reported as one: its looks, its reused runs, its design
    // (its margin is the design's).
    if let [dir] = args.dir.as_slice()
        && actfn_sweep::sequential::SequentialDir::is_sequential(dir)
    {
        if !args.runs_csv.is_empty() {
            anyhow::bail!(
                "{} is a sequential sweep, reported with the runs its design reuses: give it \
                 alone, without --runs-csv",
                dir.display()
            );
        }
        let out = args.out.clone().unwrap_or_else(|| dir.clone());
        let sequential = actfn_sweep::sequential::SequentialDir::new(dir);
        return super::sequential::report(&sequential, &out, &preface);
    }
    let mut inputs = report::gather(&args.dir)?;
    if !args.runs_csv.is_empty() {
        inputs.extend(report::Inputs::from_runs_csv(&args.runs_csv)?)?;
    }
    let first = args.dir.first().cloned().unwrap_or_else(|| {
        args.runs_csv
            .first()
            .and_then(|csv| csv.parent())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    });
    // The test labels, for the comparison image by image; without them the report says so.
    if inputs
        .finished
        .iter()
        .any(|r| r.record.predictions.is_some())
    {
        match crate::data::find_or_fetch(false) {
            Ok((_, data)) => {
                inputs.test_labels = Some(data.test_labels.iter().map(|&l| l.into()).collect())
            }
            Err(e) => say!("No test labels, so no comparison image by image: {e}"),
        }
    }
    let out = args.out.clone().unwrap_or(first);
    let analysis = report::Analysis {
        margin: args.margin,
        ..report::Analysis::default()
    };
    let path = report::write(&inputs, &out, &preface, &analysis)?;
    say!(
        "{} runs finished, {} not; report: {}",
        inputs.finished.len(),
        inputs.unfinished.len(),
        path.display()
    );
    for u in &inputs.unfinished {
        say!(
            "  {} task {} ({}): {}",
            u.folder.display(),
            u.spec.index,
            u.spec.id(),
            u.status
        );
    }
    Ok(())
}
