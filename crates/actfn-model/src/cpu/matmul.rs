//! The one unchecked call of the libraries, checked: `gemm` on views of slices, on this thread.

use std::ops::Range;

use crate::{Error, Result};

/// A read-only matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Matrix<'a> {
    pub(crate) data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    pub(crate) fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// The view that starts `start` elements into this one's data (an empty remainder if that
    /// is past the end: [`matmul`] then refuses any non-empty product).
    fn offset(self, start: Option<usize>) -> &'a [f32] {
        let start = start.map_or(self.data.len(), |s| s.min(self.data.len()));
        &self.data[start..]
    }

    /// The rows `range` of this matrix.
    pub(crate) fn rows(self, range: Range<usize>) -> Self {
        Self {
            data: self.offset(range.start.checked_mul(self.row_stride)),
            rows: range.len(),
            ..self
        }
    }

    /// The columns `range` of this matrix.
    pub(crate) fn cols(self, range: Range<usize>) -> Self {
        Self {
            data: self.offset(range.start.checked_mul(self.col_stride)),
            cols: range.len(),
            ..self
        }
    }

    /// One past the largest index the view reaches (0 when it is empty), or `None` when that
    /// does not fit in a `usize`.
    fn span(&self) -> Option<usize> {
        if self.rows == 0 || self.cols == 0 {
            return Some(0);
        }
        (self.rows - 1)
            .checked_mul(self.row_stride)?
            .checked_add((self.cols - 1).checked_mul(self.col_stride)?)?
            .checked_add(1)
    }

    /// Whether every element of the view lies in its data, and each stride fits in an `isize`.
    fn fits(&self) -> bool {
        self.span().is_some_and(|span| span <= self.data.len())
            && isize::try_from(self.row_stride).is_ok()
            && isize::try_from(self.col_stride).is_ok()
    }
}

/// `out = lhs rhs`, or `out += lhs rhs` when `accumulate`, with `out` row-major, on this
/// thread. Every index the product touches is checked first: a view that reaches past its data
/// is an error, not a read out of bounds.
pub(crate) fn matmul(out: &mut [f32], lhs: Matrix, rhs: Matrix, accumulate: bool) -> Result<()> {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    if rhs.rows != k || m.checked_mul(n) != Some(out.len()) || !lhs.fits() || !rhs.fits() {
        return Err(Error::Input(format!(
            "matrix product of {m}x{k} and {}x{n} into {} elements does not fit its data",
            rhs.rows,
            out.len()
        )));
    }
    if out.is_empty() {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return Ok(());
    }
    // SAFETY: gemm reads `lhs` at `i * row_stride + p * col_stride` for i < m, p < k, which is
    // below `lhs.span() <= lhs.data.len()` (computed without overflow by `fits`); likewise `rhs`
    // for p < k, j < n; it writes `out` at `i * n + j < m * n == out.len()`. `out` is borrowed
    // mutably, so nothing else reads or writes it meanwhile, and it cannot overlap the shared
    // `lhs` and `rhs`. `fits` checked that the strides fit in `isize`, and `n <= out.len()` does
    // too. `Parallelism::None` keeps gemm on this thread.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by the definition, in f64.
    fn naive(lhs: Matrix, rhs: Matrix) -> Vec<f32> {
        let mut out = Vec::new();
        for i in 0..lhs.rows {
            for j in 0..rhs.cols {
                let sum: f64 = (0..lhs.cols)
                    .map(|p| {
                        let a = lhs.data[i * lhs.row_stride + p * lhs.col_stride];
                        let b = rhs.data[p * rhs.row_stride + j * rhs.col_stride];
                        f64::from(a) * f64::from(b)
                    })
                    .sum();
                out.push(sum as f32);
            }
        }
        out
    }

    fn values(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 37) % 11) as f32 - 5.0).collect()
    }

    #[test]
    fn plain_transposed_and_sliced_operands_match_the_definition() {
        let a = values(6 * 4);
        let b = values(4 * 5);
        let (lhs, rhs) = (Matrix::row_major(&a, 6, 4), Matrix::row_major(&b, 4, 5));
        let mut out = vec![0.0; 30];
        matmul(&mut out, lhs, rhs, false).unwrap();
        assert_eq!(out, naive(lhs, rhs));
        // lhs^T is 4x6: multiply it by a 6x3 matrix.
        let c = values(6 * 3);
        let (t, r) = (lhs.transposed(), Matrix::row_major(&c, 6, 3));
        let mut out = vec![0.0; 12];
        matmul(&mut out, t, r, false).unwrap();
        assert_eq!(out, naive(t, r));
        // Rows 2..5 of lhs times columns 1..4 of rhs, accumulated onto ones.
        let (rows, cols) = (lhs.rows(2..5), rhs.cols(1..4));
        let mut out = vec![1.0; 9];
        matmul(&mut out, rows, cols, true).unwrap();
        let expected: Vec<f32> = naive(rows, cols).iter().map(|v| v + 1.0).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn an_inner_size_of_zero_writes_zeros_or_keeps_the_accumulator() {
        let (a, b) = (Vec::new(), Vec::new());
        let (lhs, rhs) = (Matrix::row_major(&a, 2, 0), Matrix::row_major(&b, 0, 3));
        let mut out = vec![7.0; 6];
        matmul(&mut out, lhs, rhs, true).unwrap();
        assert_eq!(out, [7.0; 6]);
        matmul(&mut out, lhs, rhs, false).unwrap();
        assert_eq!(out, [0.0; 6]);
    }

    #[test]
    fn views_past_their_data_and_mismatched_shapes_are_refused() {
        let a = values(12);
        let b = values(12);
        let mut out = vec![0.0; 16];
        // A 4x4 view of 12 values reaches index 15.
        let long = Matrix::row_major(&a, 4, 4);
        let err = matmul(&mut out, long, Matrix::row_major(&b, 4, 3), false).unwrap_err();
        assert!(matches!(err, Error::Input(_)), "{err}");
        // Rows starting past the end make an empty slice that cannot hold the product.
        let past = Matrix::row_major(&a, 3, 4).rows(5..7);
        assert!(matmul(&mut out[..6], past, Matrix::row_major(&b, 4, 3), false).is_err());
        // The inner sizes differ.
        let mut out = vec![0.0; 9];
        let err = matmul(
            &mut out,
            Matrix::row_major(&a, 3, 4),
            Matrix::row_major(&b, 3, 3),
            false,
        );
        assert!(err.is_err());
        // An output of the wrong length.
        let mut short = vec![0.0; 8];
        assert!(
            matmul(
                &mut short,
                Matrix::row_major(&a, 3, 4),
                Matrix::row_major(&b, 4, 3),
                false
            )
            .is_err()
        );
        // Strides whose span overflows a usize.
        let huge = Matrix {
            data: &a,
            rows: 2,
            cols: 2,
            row_stride: usize::MAX,
            col_stride: 1,
        };
        let mut out = vec![0.0; 4];
        assert!(matmul(&mut out, huge, Matrix::row_major(&b, 2, 2), false).is_err());
    }
}
