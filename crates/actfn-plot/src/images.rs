//! A grayscale picture with a title and caption lines: the example images.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::style::{Figure, font, save};
use crate::{Error, Result};

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
            font(20.0).into_font(),
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
                font(13.0).into_font(),
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
