//! A matrix of pairwise comparisons as a heatmap: each cell the row's value minus the column's,
//! coloured by sign and size, its text bold where the comparison is decided.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::style::{DISPLAY_WIDTH, Figure, font, room, save};
use crate::{Error, Result};

/// One cell of a [`heatmap`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    /// The value that sets the colour (row minus column).
    pub value: f64,
    /// What the cell says.
    pub text: String,
    /// Drawn strong (full colour, bold text): the comparison is decided.
    pub strong: bool,
}

struct Heatmap<'a> {
    labels: &'a [String],
    cells: &'a [Vec<Option<HeatCell>>],
    title: &'a str,
    limit: f64,
}

/// Seaborn's "vlag" ends: blue below zero, red above, white at zero.
const BELOW: RGBColor = RGBColor(0x23, 0x69, 0xBD);
const ABOVE: RGBColor = RGBColor(0xA9, 0x37, 0x3B);

/// The colour of `value` on a scale saturated at `±limit`, paler where not `strong`.
fn colour(value: f64, limit: f64, strong: bool) -> RGBColor {
    let t = (value.abs() / limit).min(1.0) * if strong { 1.0 } else { 0.35 };
    let end = if value < 0.0 { BELOW } else { ABOVE };
    let mix = |c: u8| (255.0 + (c as f64 - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

impl Figure for Heatmap<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let n = self.labels.len();
        let (width, height) = root.dim_in_pixel();
        let title_height = room(34);
        let label_width = room(150).min(width / 3);
        // Column names stand upright above the grid: room for the longest (about 6.5 px a
        // character at 11 px).
        let longest = self
            .labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let top = title_height + room(12 + (6.5 * longest as f64) as u32);
        let cell_w = (width - label_width - room(8)) as f64 / n as f64;
        let cell_h = (height - top - room(8)) as f64 / n as f64;
        root.draw(&Text::new(
            self.title.to_string(),
            (room(8) as i32, room(8) as i32),
            font(15.0).into_font(),
        ))
        .map_err(|e| e.to_string())?;
        let at = |row: usize, col: usize| {
            let x = label_width as f64 + col as f64 * cell_w;
            let y = top as f64 + row as f64 * cell_h;
            (x.round() as i32, y.round() as i32)
        };
        let label_style = TextStyle::from(font(11.0).into_font()).color(&BLACK);
        for (i, label) in self.labels.iter().enumerate() {
            // Row names right-aligned left of the grid; column names centred above it.
            let (x, y) = at(i, 0);
            root.draw(&Text::new(
                label.clone(),
                (x - room(6) as i32, y + (cell_h / 2.0) as i32),
                label_style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(|e| e.to_string())?;
            let (x, _) = at(0, i);
            root.draw(&Text::new(
                label.clone(),
                (x + (cell_w / 2.0) as i32, top as i32 - room(6) as i32),
                label_style
                    .transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(|e| e.to_string())?;
        }
        for (i, row) in self.cells.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                let (x0, y0) = at(i, j);
                let (x1, y1) = at(i + 1, j + 1);
                let fill = match cell {
                    Some(c) => colour(c.value, self.limit, c.strong),
                    None => RGBColor(0xF4, 0xF4, 0xF4),
                };
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))
                    .map_err(|e| e.to_string())?;
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.stroke_width(1)))
                    .map_err(|e| e.to_string())?;
                let Some(c) = cell else { continue };
                let dark = colour(c.value, self.limit, c.strong);
                let light_text = (dark.0 as u32 + dark.1 as u32 + dark.2 as u32) < 3 * 140;
                let style = font(11.0)
                    .into_font()
                    .style(if c.strong {
                        FontStyle::Bold
                    } else {
                        FontStyle::Normal
                    })
                    .color(if light_text { &WHITE } else { &BLACK })
                    .pos(Pos::new(HPos::Center, VPos::Center));
                root.draw(&Text::new(
                    c.text.clone(),
                    ((x0 + x1) / 2, (y0 + y1) / 2),
                    style,
                ))
                .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

/// A heatmap of `cells[row][column]` under `labels` (the same for rows and columns), the colour
/// saturating at `±limit`. A cell of `None` (the diagonal) is left grey.
pub fn heatmap(
    labels: &[String],
    cells: &[Vec<Option<HeatCell>>],
    title: &str,
    limit: f64,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    let n = labels.len();
    if n == 0 || cells.len() != n || cells.iter().any(|r| r.len() != n) {
        return Err(Error::InvalidData(format!(
            "heatmap {title:?} needs {n} x {n} cells for its {n} labels"
        )));
    }
    if !(limit.is_finite() && limit > 0.0)
        || cells
            .iter()
            .flatten()
            .flatten()
            .any(|c| !c.value.is_finite())
    {
        return Err(Error::InvalidData(format!(
            "heatmap {title:?} needs finite values and a positive limit"
        )));
    }
    // Cells wide enough for "+0.25" at 11 px, and the figure within the report's column.
    let width = (170 + 64 * n as u32).clamp(420, DISPLAY_WIDTH);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    let height = 80 + 7 * longest + 36 * n as u32;
    save(
        stem,
        (width, height),
        &Heatmap {
            labels,
            cells,
            title,
            limit,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_draws_and_a_ragged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let labels = vec!["ReLU".to_string(), "Tanh".to_string()];
        let cell = |v: f64, strong| {
            Some(HeatCell {
                value: v,
                text: format!("{v:+.2}"),
                strong,
            })
        };
        let cells = vec![vec![None, cell(0.6, true)], vec![cell(-0.6, true), None]];
        let files = heatmap(&labels, &cells, "Pairs", 1.0, &dir.path().join("m")).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(svg.contains("+0.60") && svg.contains("Tanh"));
        assert!(heatmap(&labels, &cells[..1], "Pairs", 1.0, &dir.path().join("m")).is_err());
        assert_eq!(colour(0.0, 1.0, true), RGBColor(255, 255, 255));
        assert_eq!(colour(-5.0, 1.0, true), BELOW);
    }
}
