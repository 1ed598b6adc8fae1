//! What a person says of a sweep report (`sweep report --title --findings`): put at its top,
//! read before anything is written.

use std::path::PathBuf;

use anyhow::Context;

/// What a person says of a report, at its top: a title and the findings in a few sentences.
#[derive(clap::Args, Debug, Default)]
pub struct Preface {
    /// The report's title [default: "Sweep: test accuracy over seeds"].
    #[arg(long)]
    pub title: Option<String>,
    /// A text file with the findings (paragraphs split by blank lines; Markdown's `code` and
    /// **bold**), put first in the report under "Findings".
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,
}

impl Preface {
    /// The findings' paragraphs, each on one line; none without a file.
    pub(super) fn paragraphs(&self) -> anyhow::Result<Vec<String>> {
        let Some(path) = &self.findings else {
            return Ok(Vec::new());
        };
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the findings {}: give a text file",
                path.display()
            )
        })?;
        // A blank line (or the end) closes a paragraph; its lines are joined with spaces.
        let mut paragraphs = Vec::new();
        let mut lines: Vec<&str> = Vec::new();
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
