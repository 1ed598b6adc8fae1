//! The report as one self-contained HTML page: the figures inlined as SVG, the style in the
//! page, nothing fetched from anywhere; readable on a phone (wide tables scroll on their own),
//! in light and dark themes, and printable.

use std::fmt::Write as _;
use std::path::Path;

use crate::document::{Align, Block, Document, Table};
use crate::error::Error;

/// The page's style: the system's fonts (none downloaded), both color schemes, tables that
/// scroll on their own, figures kept whole when printed.
const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #ffffff; --muted: #5a5a60;
        --rule: #d8d8dc; --code: #f1f1f4; --accent: #2f5da8; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6ea; --bg: #17171b; --muted: #a8a8b0; --rule: #34343a; --code: #25252b;
          --accent: #8fb3ff; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 1rem 1.25rem 3rem;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--fg); background: var(--bg); }
h1 { font-size: 1.65rem; line-height: 1.25; margin: 1.2rem 0 1rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-top: .4rem;
     border-top: 1px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
p { overflow-wrap: anywhere; }
code { font: .9em ui-monospace, "SFMono-Regular", Menlo, monospace; background: var(--code);
       padding: .05em .3em; border-radius: 3px; }
nav { font-size: .92rem; margin: 0 0 1.5rem; }
nav a { color: var(--accent); }
.table { overflow-x: auto; margin: .8rem 0 1.2rem; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: .86rem; }
th, td { padding: .32rem .5rem; border-bottom: 1px solid var(--rule); text-align: left;
         vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid var(--rule); vertical-align: bottom; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.4rem 0 1.8rem; break-inside: avoid; page-break-inside: avoid; }
figure .plot { background: #ffffff; border: 1px solid var(--rule); border-radius: 6px;
               padding: .3rem; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4rem; }
@media print {
  body { max-width: none; padding: 0; }
  .table { overflow: visible; }
  nav { display: none; }
  h2 { break-after: avoid; }
}
"#;

/// The most bytes a figure is read to: plotters' largest SVG here (a histogram grid) is under
/// 2 MB; a larger file is not one of the report's figures.
const FIGURE_BYTES: u64 = 64 << 20;

/// `&`, `<`, `>` and `"` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report's inline Markdown (`code` and **bold**) as HTML, everything else escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = [("`", "code"), ("**", "strong")]
            .iter()
            .filter_map(|&(mark, tag)| {
                let start = rest.find(mark)?;
                let end = rest[start + mark.len()..].find(mark)? + start + mark.len();
                Some((start, end, mark, tag))
            })
            .min_by_key(|&(start, ..)| start);
        match next {
            Some((start, end, mark, tag)) => {
                out.push_str(&escape(&rest[..start]));
                let inner = &rest[start + mark.len()..end];
                let inner = if tag == "code" {
                    escape(inner)
                } else {
                    inline(inner)
                };
                let _ = write!(out, "<{tag}>{inner}</{tag}>");
                rest = &rest[end + mark.len()..];
            }
            None => {
                out.push_str(&escape(rest));
                break;
            }
        }
    }
    out
}

/// An id for a heading: its words in lower case joined by `-`.
fn slug(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("-")
}

fn table_html(table: &Table) -> String {
    let class = |a: &Align| match a {
        Align::Left => "",
        Align::Right => " class=\"num\"",
    };
    // One row of cells, each `<tag>` with its column's alignment.
    let row = |html: &mut String, tag: &str, cells: &[String]| {
        html.push_str("<tr>");
        for (i, cell) in cells.iter().enumerate() {
            let align = table.align.get(i).map_or("", class);
            let _ = write!(html, "<{tag}{align}>{}</{tag}>", inline(cell));
        }
        html.push_str("</tr>");
    };
    let mut html = String::from("<div class=\"table\"><table>\n<thead>");
    row(&mut html, "th", &table.header);
    html.push_str("</thead>\n<tbody>\n");
    for cells in &table.rows {
        row(&mut html, "td", cells);
        html.push('\n');
    }
    html.push_str("</tbody></table></div>\n");
    html
}

/// An SVG file's markup for inlining: its `<svg>` element alone, without any XML prolog.
fn svg_markup(path: &Path) -> Result<String, Error> {
    let figure = |why: String| Error::Figure {
        path: path.to_path_buf(),
        why,
    };
    let text =
        actfn_io::read_text_at_most(path, FIGURE_BYTES).map_err(|e| figure(e.to_string()))?;
    let start = text
        .find("<svg")
        .ok_or_else(|| figure("not an SVG file (no <svg> element)".into()))?;
    Ok(text[start..].trim_end().to_string())
}

impl Document {
    /// The report as one HTML page, the figures read from `figures` (`<stem>.svg`) and inlined.
    pub fn html(&self, figures: &Path) -> Result<String, Error> {
        let mut body = String::new();
        let mut toc = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Heading(level, text) => {
                    let id = slug(text);
                    if *level == 2 {
                        toc.push(format!("<a href=\"#{id}\">{}</a>", inline(text)));
                    }
                    let _ = writeln!(body, "<h{level} id=\"{id}\">{}</h{level}>", inline(text));
                }
                Block::Paragraph(text) => {
                    let _ = writeln!(body, "<p>{}</p>", inline(text));
                }
                Block::Table(table) => body.push_str(&table_html(table)),
                Block::Figure(f) => {
                    let svg = svg_markup(&figures.join(format!("{}.svg", f.stem)))?;
                    let _ = writeln!(
                        body,
                        "<figure id=\"figure-{}\" data-figure=\"{}\">\n<div class=\"plot\" role=\"img\" aria-label=\"{}\">{svg}</div>\n<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>",
                        f.stem,
                        f.stem,
                        escape(&f.title),
                        inline(&f.title),
                        inline(&f.caption)
                    );
                }
            }
        }
        let mut page =
            String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(page, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>");
        let _ = writeln!(page, "<h1>{}</h1>", inline(&self.title));
        if toc.len() > 2 {
            let _ = writeln!(page, "<nav>{}</nav>", toc.join(" · "));
        }
        page.push_str(&body);
        page.push_str("</body>\n</html>\n");
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markdown_becomes_html_and_the_rest_is_escaped() {
        assert_eq!(
            inline("run `cargo xtask` for **a < b** & c"),
            "run <code>cargo xtask</code> for <strong>a &lt; b</strong> &amp; c"
        );
        assert_eq!(inline("**unclosed"), "**unclosed");
        assert_eq!(
            slug("Test accuracy (hidden 512)"),
            "test-accuracy-hidden-512"
        );
    }

    #[test]
    fn a_page_inlines_its_figures_and_refers_to_nothing_outside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("curve.svg"),
            "<?xml version=\"1.0\"?>\n<svg viewBox=\"0 0 10 10\"><rect/></svg>\n",
        )
        .unwrap();
        let mut doc = Document::new("Report");
        let mut table = Table::numeric(&["act", "acc"]);
        table.row(vec!["ReLU".into(), "88.50%".into()]);
        doc.extend([
            super::super::heading("Results"),
            Block::Table(table),
            super::super::figure("curve", "Curve", "What to see."),
        ]);
        let html = doc.html(dir.path()).unwrap();
        assert!(html.contains("<svg viewBox=\"0 0 10 10\"><rect/></svg>"));
        assert!(!html.contains("<?xml"));
        assert!(html.contains("<td class=\"num\">88.50%</td>"));
        assert!(!html.contains("src=") && !html.contains("http"));
        assert!(doc.html(&dir.path().join("missing")).is_err());
    }
}
