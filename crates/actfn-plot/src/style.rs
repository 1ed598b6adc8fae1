//! The look every figure shares (seaborn's palette and "darkgrid" panels, the embedded font,
//! readable ticks) and the drawing of a figure to SVG and PNG, written atomically.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Once;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::{Error, Result};

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
pub(crate) const PANEL_BACKGROUND: RGBColor = RGBColor(0xEA, 0xEA, 0xF2);

/// The font family every text uses; registered from the embedded DejaVu Sans.
pub(crate) const FONT: &str = "sans-serif";

pub(crate) fn register_fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The embedded fonts are valid TrueType files, so registration cannot fail; if it ever
        // did, drawing text would report the missing font as an error.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// The width, in CSS pixels, a report's text column gives a figure (the HTML report's 1000 px
/// page less its padding): a wider figure is shown scaled down to it.
pub const DISPLAY_WIDTH: u32 = 960;

thread_local! {
    /// Drawing units per CSS pixel of text in the figure being drawn ([`save`] sets it).
    static TEXT_SCALE: Cell<f64> = const { Cell::new(1.0) };
}

/// plotters draws a font of size s with glyphs s / 1.24 high in SVG units (its SVG
/// `font-size`).
const PLOTTERS_FONT_RATIO: f64 = 1.24;

/// The drawing units for `px` CSS pixels of text in the figure being drawn: text that renders
/// `px` high where the figure is shown [`DISPLAY_WIDTH`] wide (or at its own width, if
/// narrower).
pub(crate) fn text_size(px: f64) -> f64 {
    // Whole units, rounded up: plotters truncates a chart's label sizes to whole units.
    (px * TEXT_SCALE.with(Cell::get)).ceil()
}

/// The embedded font at `px` CSS pixels ([`text_size`]).
pub(crate) fn font(px: f64) -> (&'static str, f64) {
    (FONT, text_size(px))
}

/// Room for text (axis labels, a title) that `px` drawing units held when text was drawn at
/// plotters' own size: it grows as the text does.
pub(crate) fn room(px: u32) -> u32 {
    text_size(px as f64) as u32
}

pub(crate) fn draw_error(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Draw {
        path: path.display().to_string(),
        reason,
    }
}

/// A figure that can be drawn on any plotters backend.
pub(crate) trait Figure {
    /// Draws the figure on `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

/// Draws `figure` as `<stem>.svg` and `<stem>.png`, each drawn in memory and written
/// atomically.
pub(crate) fn save(stem: &Path, size: (u32, u32), figure: &impl Figure) -> Result<Vec<PathBuf>> {
    register_fonts();
    let shrink = (size.0 as f64 / DISPLAY_WIDTH as f64).max(1.0);
    TEXT_SCALE.with(|s| s.set(PLOTTERS_FONT_RATIO * shrink));
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
pub(crate) fn tick_label(span: f64) -> impl Fn(&f64) -> String {
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
pub(crate) type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// What the y axis shows.
pub(crate) enum YAxis<'a> {
    /// Numbers, with about five ticks.
    Numbers,
    /// One category per whole number from 0: a tick and its name at each.
    Categories(&'a [String]),
}

/// A chart with the study's look (grey panel, white grid) on `area`, with `x` and `y` ranges and
/// axis labels (empty for none).
pub(crate) fn styled_chart<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    labels: (&str, &str),
) -> std::result::Result<Chart<'a, DB>, String> {
    styled_chart_with(area, title, x, y, labels, YAxis::Numbers)
}

/// The width, in CSS pixels at the ticks' 11 px, that DejaVu Sans gives `text`, about: its digits
/// are 0.64 em wide, its letters and hyphens on average less.
pub(crate) fn tick_text_width(text: &str) -> u32 {
    (text.chars().count() as f64 * 11.0 * 0.6).ceil() as u32
}

/// [`styled_chart`] with the y axis's kind.
pub(crate) fn styled_chart_with<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_label, y_label): (&str, &str),
    y_axis: YAxis,
) -> std::result::Result<Chart<'a, DB>, String> {
    /// How a tick's value becomes its label.
    type Labeler<'l> = Box<dyn Fn(&f64) -> String + 'l>;
    let x_ticks = tick_label(x.end - x.start);
    let numbers_room = if y_label.is_empty() { 48 } else { 60 };
    let (y_ticks, y_count, y_room): (Labeler, usize, u32) = match y_axis {
        YAxis::Numbers => (Box::new(tick_label(y.end - y.start)), 5, numbers_room),
        YAxis::Categories(names) => (
            Box::new(move |v: &f64| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }),
            // Ticks at every whole number of the range (plotters picks "nice" values).
            (y.end - y.start).round().max(1.0) as usize + 1,
            names.iter().map(|n| tick_text_width(n)).max().unwrap_or(0) + 16,
        ),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(15.0))
        .margin(room(6))
        .x_label_area_size(room(if x_label.is_empty() { 22 } else { 36 }))
        .y_label_area_size(room(y_room))
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
        .y_labels(y_count)
        .x_label_formatter(&x_ticks)
        .y_label_formatter(&|v| y_ticks(v))
        .label_style(font(11.0))
        .x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style(font(12.0))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// Draws each `(label, points)` line in the palette's next colour, with a legend at `position`.
pub(crate) fn draw_lines<'a, 'p, DB: DrawingBackend + 'a>(
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
    draw_legend(chart, position)
}

/// The legend of the series drawn on `chart` so far, at `position`, in the figures' style.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    position: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xCC, 0xCC, 0xCC))
        .label_font(font(11.0))
        .draw()
        .map_err(|e| e.to_string())
}

/// Splits `root` below a title of `title_height` pixels into `rows x cols` panels.
pub(crate) fn panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    title_height: u32,
    rows: usize,
    cols: usize,
) -> std::result::Result<Vec<DrawingArea<DB, Shift>>, String> {
    let body = if title.is_empty() {
        root.clone()
    } else {
        let (top, body) = root.split_vertically(room(title_height));
        top.titled(title, font(18.0).into_font().style(FontStyle::Bold))
            .map_err(|e| e.to_string())?;
        body
    };
    Ok(body.split_evenly((rows, cols)))
}
