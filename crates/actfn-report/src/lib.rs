//! A report as one description (headings, paragraphs, tables, figures) rendered to Markdown and
//! to one self-contained HTML page, so the two formats never drift apart.
//!
//! ```
//! use actfn_report::{Block, Document, Table, heading, paragraph};
//!
//! let mut table = Table::numeric(&["activation", "test acc (%)"]);
//! table.row(vec!["ReLU".into(), "88.84".into()]);
//! let mut doc = Document::new("Ten seeds");
//! doc.extend([heading("Results"), paragraph("Mean over **10** seeds."), Block::Table(table)]);
//!
//! assert!(doc.markdown("figures").contains("| ReLU | 88.84 |"));
//! // No figures: the page needs no folder to read them from.
//! let page = doc.html(std::path::Path::new("figures"))?;
//! assert!(page.contains("<strong>10</strong>"));
//! # Ok::<(), actfn_report::Error>(())
//! ```
//!
//! API boundary: a [`Document`] of [`Block`]s ([`Table`], [`Figure`], headings, paragraphs with
//! Markdown's `code` and **bold**); [`Document::markdown`], [`Document::html`] and
//! [`Document::write`]. Figures are drawn elsewhere (`actfn-plot`) as `<stem>.svg` files.

mod document;
mod error;
mod html;

use std::path::{Path, PathBuf};

pub use document::{Align, Block, Document, Figure, Table, figure, heading, paragraph};
pub use error::Error;

impl Document {
    /// Writes `report.md` and `report.html` into `out`, the figures in `out/figures`; returns
    /// the HTML page's path.
    pub fn write(&self, out: &Path) -> Result<PathBuf, Error> {
        let figures = out.join("figures");
        actfn_io::atomic_write(&out.join("report.md"), self.markdown("figures").as_bytes())?;
        let html = out.join("report.html");
        actfn_io::atomic_write(&html, self.html(&figures)?.as_bytes())?;
        Ok(html)
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
