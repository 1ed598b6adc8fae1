//! Histogram figures with density curves: gradients at initialization and activations of the
//! trained networks.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::style::{Figure, PALETTE, panels, save, styled_chart};
use crate::{Curve, Error, Histogram, Result};

/// One histogram panel, optionally with a density curve.
#[derive(Debug, Clone)]
pub struct HistogramPanel {
    /// The panel title.
    pub title: String,
    /// The x-axis label.
    pub x_label: String,
    /// The bins.
    pub histogram: Histogram,
    /// A density curve (integrating to 1); drawn scaled to counts unless `density` is set.
    pub curve: Option<Curve>,
    /// Bars as densities (seaborn's `stat="density"`) rather than counts.
    pub density: bool,
}

struct HistogramGrid<'a> {
    panels: &'a [HistogramPanel],
    title: &'a str,
    rows: usize,
    cols: usize,
    color: RGBColor,
}

impl Figure for HistogramGrid<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let HistogramGrid {
            panels: panels_data,
            title,
            rows,
            cols,
            color,
        } = *self;
        for (area, panel) in panels(root, title, 44, rows, cols)?.iter().zip(panels_data) {
            let h = &panel.histogram;
            let heights: Vec<f64> = if panel.density {
                h.densities()
            } else {
                h.counts.iter().map(|&c| c as f64).collect()
            };
            // A density curve over counts is scaled as seaborn scales it: by total * bin width.
            let curve = panel.curve.as_ref().map(|c| {
                if panel.density {
                    c.clone()
                } else {
                    c.scaled(h.total() as f64 * h.bin_width())
                }
            });
            let (mut x0, mut x1) = (h.edges[0], h.edges[h.edges.len() - 1]);
            let mut y1 = heights.iter().cloned().fold(0.0, f64::max);
            if let Some(c) = &curve {
                x0 = x0.min(c.xs[0]);
                x1 = x1.max(c.xs[c.xs.len() - 1]);
                y1 = y1.max(c.ys.iter().cloned().fold(0.0, f64::max));
            }
            let y1 = if y1 > 0.0 { y1 * 1.05 } else { 1.0 };
            let mut chart =
                styled_chart(area, &panel.title, x0..x1, 0.0..y1, (&panel.x_label, ""))?;
            let bars = h.edges.windows(2).zip(&heights).map(|(edge, &height)| {
                Rectangle::new(
                    [(edge[0], 0.0), (edge[1], height)],
                    color.mix(0.55).filled(),
                )
            });
            chart.draw_series(bars).map_err(|e| e.to_string())?;
            if let Some(c) = curve {
                let points = c.xs.iter().zip(&c.ys).map(|(&x, &y)| (x, y));
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

/// A grid of histogram panels in colour `PALETTE[color]`, like the study's gradient and
/// activation figures.
pub fn histogram_grid(
    panels_data: &[HistogramPanel],
    cols: usize,
    title: &str,
    color: usize,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    if cols == 0 || panels_data.is_empty() {
        return Err(Error::InvalidData(
            "a histogram grid needs at least one panel and one column".into(),
        ));
    }
    let rows = panels_data.len().div_ceil(cols);
    let size = (cols as u32 * 300, rows as u32 * 250 + 44);
    let color = PALETTE[color % PALETTE.len()];
    save(
        stem,
        size,
        &HistogramGrid {
            panels: panels_data,
            title,
            rows,
            cols,
            color,
        },
    )
}
