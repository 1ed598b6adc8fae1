//! Figures of many runs: every run's value with the mean and its interval per group (a strip
//! chart, one row per group), and mean curves with a band per group.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::style::{
    DISPLAY_WIDTH, Figure, PALETTE, YAxis, draw_lines, save, styled_chart, styled_chart_with,
};
use crate::{Error, Result};

/// One group of a [`strip_chart`]: its values, their mean and the mean's interval.
#[derive(Debug, Clone)]
pub struct PointGroup {
    /// The group's name beside its row.
    pub label: String,
    /// One value per run.
    pub values: Vec<f64>,
    /// The mean.
    pub mean: f64,
    /// The mean's interval, when it has one.
    pub interval: Option<(f64, f64)>,
}

struct StripChart<'a> {
    groups: &'a [PointGroup],
    /// The groups' labels from the bottom row up: the first group is drawn on top.
    labels: Vec<String>,
    title: &'a str,
    value_label: &'a str,
    x: (f64, f64),
}

/// A small deterministic spread of the points of one group around its row, so that equal
/// values stay visible: the golden-ratio sequence, in `[-0.18, 0.18]`.
fn jitter(i: usize) -> f64 {
    ((i as f64 * 0.618_033_988_75).fract() - 0.5) * 0.36
}

impl Figure for StripChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let n = self.groups.len();
        let mut chart = styled_chart_with(
            root,
            self.title,
            self.x.0..self.x.1,
            -0.5..n as f64 - 0.5,
            (self.value_label, ""),
            YAxis::Categories(&self.labels),
        )?;
        for (g, group) in self.groups.iter().enumerate() {
            let y = (n - 1 - g) as f64;
            let color = PALETTE[g % PALETTE.len()];
            let points = group
                .values
                .iter()
                .enumerate()
                .map(|(i, &v)| Circle::new((v, y + jitter(i)), 3, color.mix(0.7).filled()));
            chart.draw_series(points).map_err(|e| e.to_string())?;
            let black = RGBColor(0x22, 0x22, 0x22);
            if let Some((lo, hi)) = group.interval {
                chart
                    .draw_series([
                        PathElement::new(vec![(lo, y), (hi, y)], black.stroke_width(2)),
                        PathElement::new(
                            vec![(lo, y - 0.12), (lo, y + 0.12)],
                            black.stroke_width(2),
                        ),
                        PathElement::new(
                            vec![(hi, y - 0.12), (hi, y + 0.12)],
                            black.stroke_width(2),
                        ),
                    ])
                    .map_err(|e| e.to_string())?;
            }
            chart
                .draw_series([PathElement::new(
                    vec![(group.mean, y - 0.3), (group.mean, y + 0.3)],
                    black.stroke_width(3),
                )])
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The y range of `values` with 5% room, or `(0, 1)` when there are none.
pub(crate) fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad, hi + pad)
}

/// Every run's value as a point per group, one row per group (the first on top) with the
/// group's mean (a bar) and its interval (whiskers): test accuracy per activation over seeds.
/// Rows, so that any number of groups with labels of any length read.
pub fn strip_chart(
    groups: &[PointGroup],
    title: &str,
    value_label: &str,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    if groups.is_empty() || groups.iter().any(|g| g.values.is_empty()) {
        return Err(Error::InvalidData(format!(
            "strip chart {title:?} needs groups with at least one value each"
        )));
    }
    let x = padded_range(groups.iter().flat_map(|g| {
        let ends = g.interval.map_or([g.mean, g.mean], |(lo, hi)| [lo, hi]);
        g.values.iter().copied().chain(ends)
    }));
    let height = (90 + 30 * groups.len() as u32).max(240);
    save(
        stem,
        (DISPLAY_WIDTH, height),
        &StripChart {
            groups,
            labels: groups.iter().rev().map(|g| g.label.clone()).collect(),
            title,
            value_label,
            x,
        },
    )
}

/// One group of a [`band_chart`]: a mean curve and the band around it.
#[derive(Debug, Clone)]
pub struct Band {
    /// The legend label.
    pub label: String,
    /// The x values.
    pub xs: Vec<f64>,
    /// The mean at each x.
    pub mean: Vec<f64>,
    /// The band's lower edge at each x.
    pub lo: Vec<f64>,
    /// The band's upper edge at each x.
    pub hi: Vec<f64>,
    /// Points to mark on the curve, as dots in its colour (a chosen setting); often none.
    pub marks: Vec<(f64, f64)>,
}

/// Where a chart's legend sits: the corner its curves leave empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Corner {
    /// Top left.
    UpperLeft,
    /// Top right.
    UpperRight,
    /// Bottom left.
    LowerLeft,
    /// Bottom right.
    LowerRight,
}

impl Corner {
    fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        }
    }
}

struct BandChart<'a> {
    bands: &'a [Band],
    legend: Corner,
    title: &'a str,
    labels: (&'a str, &'a str),
    x: (f64, f64),
    y: (f64, f64),
}

impl Figure for BandChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let mut chart = styled_chart(
            root,
            self.title,
            self.x.0..self.x.1,
            self.y.0..self.y.1,
            self.labels,
        )?;
        for (i, band) in self.bands.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let outline: Vec<(f64, f64)> = band
                .xs
                .iter()
                .zip(&band.hi)
                .map(|(&x, &y)| (x, y))
                .chain(band.xs.iter().zip(&band.lo).rev().map(|(&x, &y)| (x, y)))
                .collect();
            chart
                .draw_series([Polygon::new(outline, color.mix(0.18).filled())])
                .map_err(|e| e.to_string())?;
        }
        for (i, band) in self.bands.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(
                    band.marks
                        .iter()
                        .map(|&point| Circle::new(point, crate::style::room(5), color.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        let lines = self.bands.iter().map(|b| {
            let points = b.xs.iter().zip(&b.mean).map(|(&x, &y)| (x, y)).collect();
            (b.label.as_str(), points)
        });
        draw_lines(&mut chart, lines, self.legend.position())
    }
}

/// Mean curves with a band around each (validation accuracy over epochs, mean and spread over
/// seeds; a performance profile), the legend in the `legend` corner.
pub fn band_chart(
    bands: &[Band],
    title: &str,
    labels: (&str, &str),
    legend: Corner,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    if let Some(b) = bands.iter().find(|b| {
        b.xs.is_empty()
            || [b.mean.len(), b.lo.len(), b.hi.len()]
                .iter()
                .any(|&n| n != b.xs.len())
    }) {
        return Err(Error::InvalidData(format!(
            "band {:?} needs as many means and edges as x values, and at least one",
            b.label
        )));
    }
    if bands.is_empty() {
        return Err(Error::InvalidData(format!(
            "band chart {title:?} has no band"
        )));
    }
    let x = padded_range(bands.iter().flat_map(|b| b.xs.iter().copied()));
    let y = padded_range(bands.iter().flat_map(|b| b.lo.iter().chain(&b.hi).copied()));
    save(
        stem,
        (760, 480),
        &BandChart {
            bands,
            legend,
            title,
            labels,
            x,
            y,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_bands_draw_and_mismatched_lengths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let groups = [
            PointGroup {
                label: "ReLU".into(),
                values: vec![88.1, 88.5, 88.9],
                mean: 88.5,
                interval: Some((87.5, 89.5)),
            },
            PointGroup {
                label: "Tanh".into(),
                values: vec![87.9],
                mean: 87.9,
                interval: None,
            },
        ];
        let files = strip_chart(&groups, "Test accuracy", "%", &dir.path().join("strip")).unwrap();
        assert!(files.iter().all(|f| f.is_file()));
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(svg.contains("ReLU") && svg.contains("Tanh"));
        let band = Band {
            label: "ReLU".into(),
            xs: vec![1.0, 2.0, 3.0],
            mean: vec![0.8, 0.85, 0.86],
            lo: vec![0.79, 0.84, 0.85],
            hi: vec![0.81, 0.86, 0.87],
            marks: vec![(2.0, 0.85)],
        };
        band_chart(
            std::slice::from_ref(&band),
            "Validation",
            ("epoch", "acc"),
            Corner::LowerRight,
            &dir.path().join("band"),
        )
        .unwrap();
        let short = Band {
            lo: vec![0.1],
            ..band
        };
        assert!(
            band_chart(
                &[short],
                "t",
                ("", ""),
                Corner::UpperLeft,
                &dir.path().join("bad")
            )
            .is_err()
        );
        assert!(strip_chart(&[], "t", "", &dir.path().join("none")).is_err());
    }

    /// The `<text>` elements of an SVG whose content is `needle`: their x and y.
    fn text_at(svg: &str, needle: &str) -> Vec<(f64, f64)> {
        svg.split("<text ")
            .skip(1)
            .filter(|t| {
                t.split_once('>')
                    .is_some_and(|(_, body)| body.trim().starts_with(needle))
            })
            .map(|t| {
                let number = |name: &str| -> f64 {
                    let from = t.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    t[from..from + t[from..].find('"').unwrap()]
                        .parse()
                        .unwrap()
                };
                (number("x"), number("y"))
            })
            .collect()
    }

    #[test]
    fn many_groups_with_long_labels_take_one_row_each_first_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let groups: Vec<PointGroup> = (0..40)
            .map(|i| PointGroup {
                label: format!("Group {i:02}, hidden 256-256-256-256-256-256-256-256, lr 0.03"),
                values: vec![88.0 + i as f64 * 0.01, 88.2],
                mean: 88.1,
                interval: Some((87.9, 88.3)),
            })
            .collect();
        let files = strip_chart(&groups, "Test accuracy", "%", &dir.path().join("many")).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        let rows: Vec<(f64, f64)> = (0..40)
            .map(|i| {
                let at = text_at(&svg, &format!("Group {i:02},"));
                assert_eq!(at.len(), 1, "group {i}: {at:?}");
                at[0]
            })
            .collect();
        // Top to bottom in order, at least a line of text apart, and every label's right end
        // leaves room for its text on the left of the panel.
        for pair in rows.windows(2) {
            assert!(pair[1].1 - pair[0].1 >= 14.0, "{pair:?}");
        }
        let width = super::super::style::tick_text_width(&groups[0].label) as f64;
        assert!(
            rows.iter().all(|(x, _)| *x >= width * 0.9),
            "{rows:?} {width}"
        );
    }
}
