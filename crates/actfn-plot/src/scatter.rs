//! Scatter grids: one point per item in every panel, the panels sharing what their y axis
//! measures and each with its own x quantity (accuracy against each measurement of the
//! initial network, one point per activation function).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::spread::padded_range;
use crate::style::{Figure, PALETTE, draw_legend, panels, save, styled_chart};
use crate::{Error, Result};

/// One kind of point of a [`scatter_grid`] (candidates, built-ins), drawn in its own colour
/// with its label in the legend.
#[derive(Debug, Clone)]
pub struct PointSet {
    /// The legend label.
    pub label: String,
    /// `(x, y)` per point; a point with a non-finite coordinate is left out.
    pub points: Vec<(f64, f64)>,
}

/// One panel of a [`scatter_grid`].
#[derive(Debug, Clone)]
pub struct ScatterPanel {
    /// The panel title: what the x axis measures.
    pub title: String,
    /// The panel's points, by kind.
    pub sets: Vec<PointSet>,
}

struct ScatterGrid<'a> {
    panels: &'a [ScatterPanel],
    title: &'a str,
    y_label: &'a str,
    rows: usize,
    cols: usize,
}

impl Figure for ScatterGrid<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
        // One y range for every panel: the same function sits at the same height in each.
        let y = padded_range(
            self.panels
                .iter()
                .flat_map(|p| p.sets.iter().flat_map(|s| s.points.iter().filter(finite)))
                .map(|p| p.1),
        );
        let areas = panels(root, self.title, 40, self.rows, self.cols)?;
        for (area, panel) in areas.iter().zip(self.panels) {
            let points = || {
                panel
                    .sets
                    .iter()
                    .flat_map(|s| s.points.iter().filter(finite))
            };
            let x = padded_range(points().map(|p| p.0));
            let mut chart =
                styled_chart(area, &panel.title, x.0..x.1, y.0..y.1, ("", self.y_label))?;
            for (k, set) in panel.sets.iter().enumerate() {
                let color = PALETTE[k % PALETTE.len()];
                chart
                    .draw_series(
                        set.points
                            .iter()
                            .filter(finite)
                            .map(|&p| Circle::new(p, 3, color.mix(0.75).filled())),
                    )
                    .map_err(|e| e.to_string())?
                    .label(set.label.as_str())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
            }
            if panel.sets.len() > 1 {
                draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
            }
        }
        Ok(())
    }
}

/// A grid of scatter panels, `cols` wide, whose y axes show the same quantity (`y_label`) on
/// one range: test accuracy against each measurement of the initial network, say.
pub fn scatter_grid(
    panels_data: &[ScatterPanel],
    cols: usize,
    title: &str,
    y_label: &str,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    if cols == 0 || panels_data.is_empty() {
        return Err(Error::InvalidData(
            "a scatter grid needs at least one panel and one column".into(),
        ));
    }
    let rows = panels_data.len().div_ceil(cols);
    let size = (cols as u32 * 340, rows as u32 * 300 + 40);
    save(
        stem,
        size,
        &ScatterGrid {
            panels: panels_data,
            title,
            y_label,
            rows,
            cols,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_draws_its_points_and_refuses_no_panel() {
        let dir = tempfile::tempdir().unwrap();
        let panel = |title: &str| ScatterPanel {
            title: title.into(),
            sets: vec![
                PointSet {
                    label: "candidates".into(),
                    points: vec![(0.1, 80.0), (0.5, 85.0), (f64::NAN, 90.0)],
                },
                PointSet {
                    label: "built-ins".into(),
                    points: vec![(0.3, 88.0)],
                },
            ],
        };
        let files = scatter_grid(
            &[panel("dead share"), panel("E f(Z)"), panel("Var f(Z)")],
            2,
            "Accuracy against the initial network",
            "accuracy (%)",
            &dir.path().join("scatter"),
        )
        .unwrap();
        assert_eq!(files.len(), 2);
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        // Three panels of three finite points, plus one legend marker per set and panel.
        assert_eq!(svg.matches("<circle").count(), 3 * 3 + 3 * 2);
        assert!(svg.contains("built-ins") && svg.contains("Var f(Z)"));
        assert!(scatter_grid(&[], 2, "none", "y", &dir.path().join("none")).is_err());
        assert!(!dir.path().join("none.svg").exists());
    }
}
