//! The study's example figure as pixels: torchvision's `make_grid(imgs, nrow=4, normalize=True,
//! pad_value=0.5)` of the first 16 training images.

use crate::{Error, Result};

/// A grayscale image, values in [0, 1], row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageGrid {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` values in [0, 1].
    pub pixels: Vec<f32>,
}

/// Lays out `images` (each `side x side`, row-major) `per_row` to a row with `padding` pixels of
/// `pad_value` around each, after min-max normalizing all of them together to [0, 1] (torchvision's
/// `normalize=True` without `scale_each`).
pub fn example_grid(
    images: &[&[f32]],
    side: usize,
    per_row: usize,
    padding: usize,
    pad_value: f32,
) -> Result<ImageGrid> {
    if per_row == 0 || images.is_empty() || images.iter().any(|im| im.len() != side * side) {
        return Err(Error::InvalidArgument(format!(
            "example_grid needs at least one image of {side}x{side} pixels and at least one per row"
        )));
    }
    let (min, max) = images
        .iter()
        .flat_map(|im| im.iter())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // torchvision divides by max(max - min, 1e-5), so a constant batch stays finite.
    let scale = (max - min).max(1e-5);
    let rows = images.len().div_ceil(per_row);
    let cell = side + padding;
    let width = per_row * cell + padding;
    let height = rows * cell + padding;
    let mut pixels = vec![pad_value; width * height];
    for (k, image) in images.iter().enumerate() {
        let (top, left) = (
            (k / per_row) * cell + padding,
            (k % per_row) * cell + padding,
        );
        for y in 0..side {
            for x in 0..side {
                pixels[(top + y) * width + left + x] = (image[y * side + x] - min) / scale;
            }
        }
    }
    Ok(ImageGrid {
        width,
        height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_torchvision_geometry_and_range() {
        let a = vec![-1.0f32; 4];
        let b = vec![1.0f32; 4];
        let grid = example_grid(&[&a, &b, &a], 2, 2, 2, 0.5).unwrap();
        // Two per row: 2 * (2 + 2) + 2 = 10 wide; two rows: 10 high.
        assert_eq!((grid.width, grid.height), (10, 10));
        assert_eq!(grid.pixels[2 * 10 + 2], 0.0); // first image, min-max normalized
        assert_eq!(grid.pixels[2 * 10 + 6], 1.0); // second image
        assert_eq!(grid.pixels[0], 0.5); // padding
        assert_eq!(grid.pixels[6 * 10 + 6], 0.5); // the empty fourth cell stays padding
    }
}
