//! Line figures: grids of panels (the activation functions and their gradients) and single
//! charts of several series (validation accuracy per epoch).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::style::{Figure, draw_lines, panels, save, styled_chart};
use crate::{Error, Result};

/// One panel of line plots sharing x values.
#[derive(Debug, Clone)]
pub struct LinePanel {
    /// The panel title.
    pub title: String,
    /// The x values.
    pub xs: Vec<f32>,
    /// `(label, ys)` per line, each as long as `xs`.
    pub series: Vec<(String, Vec<f32>)>,
    /// The y range; the data's range when `None`.
    pub y_range: Option<(f32, f32)>,
}

fn range_of<'a>(values: impl Iterator<Item = &'a f32>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), &v| {
            (a.min(f64::from(v)), b.max(f64::from(v)))
        });
    if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

struct LineGrid<'a> {
    panels: &'a [LinePanel],
    title: &'a str,
    rows: usize,
    cols: usize,
}

impl Figure for LineGrid<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let LineGrid {
            panels: panels_data,
            title,
            rows,
            cols,
        } = *self;
        for (area, panel) in panels(root, title, 40, rows, cols)?.iter().zip(panels_data) {
            let (x0, x1) = range_of(panel.xs.iter());
            let (y0, y1) = match panel.y_range {
                Some((a, b)) => (f64::from(a), f64::from(b)),
                None => range_of(panel.series.iter().flat_map(|(_, ys)| ys.iter())),
            };
            let mut chart = styled_chart(area, &panel.title, x0..x1, y0..y1, ("", ""))?;
            let lines = panel.series.iter().map(|(label, ys)| {
                let points = panel
                    .xs
                    .iter()
                    .zip(ys)
                    .map(|(&x, &y)| (f64::from(x), f64::from(y)));
                (label.as_str(), points.collect())
            });
            draw_lines(&mut chart, lines, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    }
}

/// A grid of line panels (the study's activation functions and their gradients), with a legend
/// in each panel.
pub fn line_grid(
    panels_data: &[LinePanel],
    cols: usize,
    title: &str,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    if cols == 0 || panels_data.is_empty() {
        return Err(Error::InvalidData(
            "a line grid needs at least one panel and one column".into(),
        ));
    }
    for panel in panels_data {
        if let Some((label, ys)) = panel
            .series
            .iter()
            .find(|(_, ys)| ys.len() != panel.xs.len())
        {
            return Err(Error::InvalidData(format!(
                "panel {:?}: series {label:?} has {} values for {} x values",
                panel.title,
                ys.len(),
                panel.xs.len()
            )));
        }
    }
    let rows = panels_data.len().div_ceil(cols);
    let size = (cols as u32 * 340, rows as u32 * 300 + 40);
    save(
        stem,
        size,
        &LineGrid {
            panels: panels_data,
            title,
            rows,
            cols,
        },
    )
}

/// One line of a [`line_chart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend label.
    pub label: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
}

struct LineChart<'a> {
    series: &'a [Series],
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    x: (f64, f64),
    y: (f64, f64),
}

impl Figure for LineChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let LineChart {
            series,
            title,
            x_label,
            y_label,
            x: (x0, x1),
            y: (y0, y1),
        } = *self;
        let mut chart = styled_chart(root, title, x0..x1, y0..y1, (x_label, y_label))?;
        let lines = series.iter().map(|s| (s.label.as_str(), s.points.clone()));
        draw_lines(&mut chart, lines, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

/// Several series on one chart with a legend (validation accuracy per epoch).
pub fn line_chart(
    series: &[Series],
    title: &str,
    x_label: &str,
    y_label: &str,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    let all: Vec<f32> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0 as f32))
        .collect();
    let ys: Vec<f32> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1 as f32))
        .collect();
    if all.is_empty() {
        return Err(Error::InvalidData(format!(
            "line chart {title:?} has no points"
        )));
    }
    let (x0, x1) = range_of(all.iter());
    let (y0, y1) = range_of(ys.iter());
    let pad = (y1 - y0) * 0.05;
    save(
        stem,
        (720, 460),
        &LineChart {
            series,
            title,
            x_label,
            y_label,
            x: (x0, x1),
            y: (y0 - pad, y1 + pad),
        },
    )
}
