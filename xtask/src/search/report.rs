//! The search's report: its sections (`page`) before the final comparison's sweep report,
//! with `standings.csv` and `candidates.json` beside it, written at the end of a search or
//! again from a page's own files (`cargo xtask search report`).

use std::path::{Path, PathBuf};

use actfn_search::{Screened, Standing, read_standings, standings_csv};
use actfn_sweep::report::{Analysis, Preface};
use anyhow::Context;
use clap::Args;

use super::page;

/// Arguments of `cargo xtask search report`.
#[derive(Args, Debug)]
pub(super) struct ReportArgs {
    /// The page's folder, as `cargo xtask search --page DIR` wrote it.
    #[arg(long, value_name = "DIR")]
    page: PathBuf,
    /// Where the report goes [default: the page's folder].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    text: PageText,
}

/// The report's own words: its title and findings.
#[derive(Args, Debug)]
pub(super) struct PageText {
    /// The report's title [default: "Search: activation functions by successive halving"].
    #[arg(long)]
    title: Option<String>,
    /// A text file with the findings (paragraphs split by blank lines; Markdown's `code` and
    /// **bold**), put first in the report under "Findings".
    #[arg(long, value_name = "FILE")]
    findings: Option<PathBuf>,
}

impl PageText {
    /// The report's preface without its sections; the findings file is read here, before
    /// anything is written.
    pub(super) fn preface(&self) -> anyhow::Result<Preface> {
        Ok(Preface {
            title: Some(self.title.clone().unwrap_or_else(|| TITLE.into())),
            findings: match &self.findings {
                Some(path) => Preface::read_findings(path)?,
                None => Vec::new(),
            },
            ..Preface::default()
        })
    }
}

/// `cargo xtask search report`: the page's report from its own files.
pub(super) fn report(args: &ReportArgs) -> anyhow::Result<()> {
    let preface = args.text.preface()?;
    let read = |name: &str| {
        actfn_io::read_text_at_most(&args.page.join(name), PAGE_FILE_BYTES).map_err(|e| {
            anyhow::anyhow!(
                "{e}: a search page's folder has {name}, as `cargo xtask search --page DIR` \
                 writes it"
            )
        })
    };
    let not = |name: &str, what: &str, e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "{} is not a search's {what} ({e}); write the page again with `cargo xtask search \
             --page DIR`",
            args.page.join(name).display()
        )
    };
    let standings =
        read_standings(&read(STANDINGS)?).map_err(|e| not(STANDINGS, "standings", &e))?;
    if standings.is_empty() {
        return Err(not(STANDINGS, "standings", &"it has no row"));
    }
    let screened: Screened =
        serde_json::from_str(&read(CANDIDATES)?).map_err(|e| not(CANDIDATES, "candidates", &e))?;
    let inputs = actfn_sweep::report::Inputs::from_runs_csv(&[args.page.join("runs.csv")])?;
    let out = args.out.as_ref().unwrap_or(&args.page);
    let report = write_report(&screened, &standings, &inputs, out, preface)?;
    say!("Search report: {}", report.display());
    Ok(())
}

/// Writes the search's report into `out`: `standings.csv` and `candidates.json`, then the
/// search's sections and the final comparison's sweep report of `inputs` (its runs). Returns
/// the HTML report's path.
pub(super) fn write_report(
    screened: &Screened,
    standings: &[Standing],
    inputs: &actfn_sweep::report::Inputs,
    out: &Path,
    preface: Preface,
) -> anyhow::Result<PathBuf> {
    let figures = out.join("figures");
    std::fs::create_dir_all(&figures)
        .with_context(|| format!("cannot create {}", figures.display()))?;
    actfn_io::atomic_write(&out.join(STANDINGS), standings_csv(standings)?.as_bytes())?;
    actfn_io::atomic_write(
        &out.join(CANDIDATES),
        serde_json::to_string_pretty(screened)?.as_bytes(),
    )?;
    let preface = Preface {
        sections: page::search_blocks(screened, standings, &figures)?,
        ..preface
    };
    Ok(actfn_sweep::report::write(
        inputs,
        out,
        &preface,
        &Analysis::default(),
    )?)
}

/// The most bytes a page's standings or candidates may have (a search of a million functions
/// has fewer).
const PAGE_FILE_BYTES: u64 = 64 << 20;

/// The report's title without `--title`.
const TITLE: &str = "Search: activation functions by successive halving";

/// Every stage's standings, beside the report.
const STANDINGS: &str = "standings.csv";

/// The screened candidates and the skipped formulas with their reasons.
pub(super) const CANDIDATES: &str = "candidates.json";
