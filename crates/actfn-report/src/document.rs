//! The report's description: headings, paragraphs, tables and figures, and its Markdown form.

use std::fmt::Write as _;

/// How a table column is aligned: numbers to the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table: a header, alignments and rows of cells (already formatted, units included).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The column names.
    pub header: Vec<String>,
    /// One alignment per column.
    pub align: Vec<Align>,
    /// The rows, each one cell per column.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first column is text and the others numbers.
    pub fn numeric(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            align: (0..header.len())
                .map(|i| if i == 0 { Align::Left } else { Align::Right })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// A table of text columns.
    pub fn text(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            align: vec![Align::Left; header.len()],
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table in Markdown.
    pub fn markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut text = line(&self.header);
        let rule: Vec<String> = self
            .align
            .iter()
            .map(|a| match a {
                Align::Left => "---".to_string(),
                Align::Right => "---:".to_string(),
            })
            .collect();
        let _ = writeln!(text, "|{}|", rule.join("|"));
        for row in &self.rows {
            text.push_str(&line(row));
        }
        text
    }
}

/// A figure drawn as `<figures>/<stem>.svg` and `.png`.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The file name without extension, e.g. `gradients_init_relu`.
    pub stem: String,
    /// The figure's title (its alt text in Markdown).
    pub title: String,
    /// One line that says what to see in it.
    pub caption: String,
}

/// One element of a report.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Block {
    /// A section heading (level 2) or a sub-heading (level 3).
    Heading(u8, String),
    /// A paragraph of text (Markdown inline syntax: `code`, **bold**).
    Paragraph(String),
    /// A table.
    Table(Table),
    /// A figure.
    Figure(Figure),
}

/// A report: a title and its blocks in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// The report's title (its level-1 heading).
    pub title: String,
    /// Its content, in order.
    pub blocks: Vec<Block>,
}

impl Document {
    /// An empty report with this title.
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_string(),
            blocks: Vec::new(),
        }
    }

    /// Appends blocks.
    pub fn extend(&mut self, blocks: impl IntoIterator<Item = Block>) {
        self.blocks.extend(blocks);
    }

    /// The report in Markdown; figures link `<figures_dir>/<stem>.svg`.
    pub fn markdown(&self, figures_dir: &str) -> String {
        let mut text = format!("# {}\n\n", self.title);
        for block in &self.blocks {
            match block {
                Block::Heading(level, heading) => {
                    let _ = writeln!(text, "{} {heading}\n", "#".repeat(usize::from(*level)));
                }
                Block::Paragraph(p) => {
                    let _ = writeln!(text, "{p}\n");
                }
                Block::Table(table) => {
                    let _ = writeln!(text, "{}", table.markdown());
                }
                Block::Figure(f) => {
                    let _ = writeln!(
                        text,
                        "![{}]({figures_dir}/{}.svg)\n\n*{}*\n",
                        f.title, f.stem, f.caption
                    );
                }
            }
        }
        text
    }
}

/// A paragraph block.
pub fn paragraph(text: impl Into<String>) -> Block {
    Block::Paragraph(text.into())
}

/// A level-2 heading block.
pub fn heading(text: impl Into<String>) -> Block {
    Block::Heading(2, text.into())
}

/// A figure block.
pub fn figure(
    stem: impl Into<String>,
    title: impl Into<String>,
    caption: impl Into<String>,
) -> Block {
    Block::Figure(Figure {
        stem: stem.into(),
        title: title.into(),
        caption: caption.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_headings_aligned_tables_and_figure_links() {
        let mut doc = Document::new("Title");
        let mut table = Table::numeric(&["act", "acc"]);
        table.row(vec!["ReLU".into(), "88.50%".into()]);
        doc.extend([
            heading("Section"),
            paragraph("Some text."),
            Block::Table(table),
            figure("curves", "Curves", "What to see."),
        ]);
        let md = doc.markdown("figures");
        assert!(md.starts_with("# Title\n\n## Section\n\nSome text.\n\n"));
        assert!(md.contains("| act | acc |\n|---|---:|\n| ReLU | 88.50% |\n"));
        assert!(md.contains("![Curves](figures/curves.svg)\n\n*What to see.*"));
    }
}
