//! Drawing: each figure is drawn once per backend (SVG and PNG) and written atomically.

use std::path::{Path, PathBuf};
use std::sync::Once;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::{Curve, Error, Histogram, Result};

/// seaborn's "deep" palette, which the study's `sns.set()` makes the default: colours C0 to C9.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4C, 0x72, 0xB0),
    RGBColor(0xDD, 0x84, 0x52),
    RGBColor(0x55, 0xA8, 0x68),
    RGBColor(0xC4, 0x4E, 0x52),
    RGBColor(0x81, 0x72, 0xB3),
    RGBColor(0x93, 0x78, 0x60),
    RGBColor(0xDA, 0x8B, 0xC3),
    RGBColor(0x8C, 0x8C, 0x8C),
    RGBColor(0xCC, 0xB9, 0x74),
    RGBColor(0x64, 0xB5, 0xCD),
];

/// seaborn's "darkgrid" panel background.
const PANEL_BACKGROUND: RGBColor = RGBColor(0xEA, 0xEA, 0xF2);

/// The font family every text uses; registered from the embedded DejaVu Sans.
const FONT: &str = "sans-serif";

fn register_fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The embedded fonts are valid TrueType files, so registration cannot fail; if it ever
        // did, drawing text would report the missing font as an error.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

fn draw_error(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Draw {
        path: path.display().to_string(),
        reason,
    }
}

/// A figure that can be drawn on any plotters backend.
trait Figure {
    /// Draws the figure on `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

/// Draws `figure` as `<stem>.svg` and `<stem>.png`, each drawn in memory and written
/// atomically.
fn save(stem: &Path, size: (u32, u32), figure: &impl Figure) -> Result<Vec<PathBuf>> {
    register_fonts();
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| draw_error(dir)(e.to_string()))?;
    }
    let svg = stem.with_extension("svg");
    let png = stem.with_extension("png");
    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| draw_error(&svg)(e.to_string()))?;
        figure.draw(&root).map_err(draw_error(&svg))?;
        root.present()
            .map_err(|e| draw_error(&svg)(e.to_string()))?;
    }
    actfn_io::atomic_write(&svg, svg_text.as_bytes())
        .map_err(|e| draw_error(&svg)(e.to_string()))?;
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| draw_error(&png)(e.to_string()))?;
        figure.draw(&root).map_err(draw_error(&png))?;
        root.present()
            .map_err(|e| draw_error(&png)(e.to_string()))?;
    }
    let mut png_bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png_bytes)
        .write_image(&rgb, size.0, size.1, image::ColorType::Rgb8)
        .map_err(|e| draw_error(&png)(e.to_string()))?;
    actfn_io::atomic_write(&png, &png_bytes).map_err(|e| draw_error(&png)(e.to_string()))?;
    Ok(vec![svg, png])
}

/// Tick labels that stay readable from 1e-6 to 1e4. A tick within a billionth of the axis `span`
/// of zero is zero: plotters' tick arithmetic leaves residues like -2e-21 there.
fn tick_label(span: f64) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        let a = v.abs();
        if a <= span * 1e-9 {
            "0".into()
        } else if !(1e-2..1e4).contains(&a) {
            format!("{v:.0e}")
        } else {
            let s = format!("{v:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

/// The chart type every figure draws on: f64 on both axes.
type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart with the study's look (grey panel, white grid) on `area`, with `x` and `y` ranges and
/// axis labels (empty for none).
fn styled_chart<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_label, y_label): (&str, &str),
) -> std::result::Result<Chart<'a, DB>, String> {
    let (x_ticks, y_ticks) = (tick_label(x.end - x.start), tick_label(y.end - y.start));
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 15))
        .margin(6)
        .x_label_area_size(if x_label.is_empty() { 22 } else { 36 })
        .y_label_area_size(if y_label.is_empty() { 48 } else { 60 })
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    chart
        .plotting_area()
        .fill(&PANEL_BACKGROUND)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .bold_line_style(WHITE)
        .light_line_style(WHITE.mix(0.0))
        .axis_style(WHITE)
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&x_ticks)
        .y_label_formatter(&y_ticks)
        .label_style((FONT, 11))
        .x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style((FONT, 12))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// Draws each `(label, points)` line in the palette's next colour, with a legend at `position`.
fn draw_lines<'a, 'p, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    lines: impl Iterator<Item = (&'p str, Vec<(f64, f64)>)>,
    position: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    for (i, (label, points)) in lines.enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xCC, 0xCC, 0xCC))
        .label_font((FONT, 11))
        .draw()
        .map_err(|e| e.to_string())
}

/// Splits `root` below a title of `title_height` pixels into `rows x cols` panels.
fn panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    title_height: u32,
    rows: usize,
    cols: usize,
) -> std::result::Result<Vec<DrawingArea<DB, Shift>>, String> {
    let body = if title.is_empty() {
        root.clone()
    } else {
        let (top, body) = root.split_vertically(title_height);
        top.titled(title, (FONT, 18).into_font().style(FontStyle::Bold))
            .map_err(|e| e.to_string())?;
        body
    };
    Ok(body.split_evenly((rows, cols)))
}

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

/// A grayscale picture, values in [0, 1], row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct GrayImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` values in [0, 1].
    pub pixels: Vec<f32>,
}

struct ImageFigure<'a> {
    title: &'a str,
    caption: &'a [String],
    rgb: Vec<u8>,
    size: (u32, u32),
    margin: u32,
    line_height: u32,
}

impl Figure for ImageFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let ImageFigure {
            title,
            caption,
            ref rgb,
            size: (w, h),
            margin,
            line_height,
        } = *self;
        root.draw(&Text::new(
            title,
            (margin as i32, 14),
            (FONT, 20).into_font(),
        ))
        .map_err(|e| e.to_string())?;
        let picture = BitMapElement::with_owned_buffer((margin as i32, 45), (w, h), rgb.clone())
            .ok_or("the picture's buffer does not match its size")?;
        root.draw(&picture).map_err(|e| e.to_string())?;
        for (i, line) in caption.iter().enumerate() {
            let y = 45 + h as i32 + 8 + (i as u32 * line_height) as i32;
            root.draw(&Text::new(
                line.as_str(),
                (margin as i32, y),
                (FONT, 13).into_font(),
            ))
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The picture, enlarged `scale` times, under `title`, with `caption` lines below it. In SVG the
/// picture is one embedded PNG, not one rectangle per pixel.
pub fn image_figure(
    image: &GrayImage,
    scale: usize,
    title: &str,
    caption: &[String],
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    if image.pixels.len() != image.width * image.height || scale == 0 {
        return Err(Error::InvalidData(format!(
            "a {}x{} image needs {} pixels, got {} (scale {scale})",
            image.width,
            image.height,
            image.width * image.height,
            image.pixels.len()
        )));
    }
    let (w, h) = (image.width * scale, image.height * scale);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let v = image.pixels[(y / scale) * image.width + x / scale];
            let byte = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            rgb.extend_from_slice(&[byte, byte, byte]);
        }
    }
    let margin = 20u32;
    let line_height = 18u32;
    let size = (
        w as u32 + 2 * margin,
        h as u32 + 50 + margin + line_height * caption.len() as u32,
    );
    save(
        stem,
        size,
        &ImageFigure {
            title,
            caption,
            rgb,
            size: (w as u32, h as u32),
            margin,
            line_height,
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
