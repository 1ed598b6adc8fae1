//! The one unchecked call of the libraries, checked: `gemm` on views of slices, on this thread.

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
    check(out.len(), lhs, rhs)?;
    if lhs.cols == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return Ok(());
    }
    // SAFETY: `check` found that `out` holds the product's `m * n` elements, and `out` is
    // borrowed mutably, so nothing else reads or writes it meanwhile.
    #[allow(unsafe_code)]
    unsafe {
        product(out.as_mut_ptr(), lhs, rhs, accumulate);
    }
    Ok(())
}

/// `out = lhs rhs` into `out` made the product's length, row-major, on this thread, without
/// zeroing it first: the product writes every element before it reads any back. The gradients
/// handed out each step are fresh vectors, and zeroing them was a 2 MB pass on one thread while
/// the others waited. A vector that already has the capacity is not reallocated.
pub(crate) fn matmul_into(out: &mut Vec<f32>, lhs: Matrix, rhs: Matrix) -> Result<()> {
    let len = lhs
        .rows
        .checked_mul(rhs.cols)
        .ok_or_else(|| too_large(lhs, rhs))?;
    check(len, lhs, rhs)?;
    out.clear();
    if lhs.cols == 0 {
        out.resize(len, 0.0);
        return Ok(());
    }
    out.reserve_exact(len);
    // SAFETY: `out` has room for `len = m * n` elements (reserved above) and is borrowed
    // mutably. With `accumulate` false gemm never reads the destination: it sets its alpha to 0
    // and writes `beta * lhs rhs` to every element before it reads one back (for k beyond its
    // first block), so all `len` elements are initialized when `set_len` makes them visible.
    #[allow(unsafe_code)]
    unsafe {
        product(out.as_mut_ptr(), lhs, rhs, false);
        out.set_len(len);
    }
    Ok(())
}

/// That `lhs rhs` is defined and fits in `out_len` elements, and that every index it reads lies
/// in its views' data.
fn check(out_len: usize, lhs: Matrix, rhs: Matrix) -> Result<()> {
    if rhs.rows != lhs.cols
        || lhs.rows.checked_mul(rhs.cols) != Some(out_len)
        || !lhs.fits()
        || !rhs.fits()
    {
        return Err(too_large(lhs, rhs));
    }
    Ok(())
}

fn too_large(lhs: Matrix, rhs: Matrix) -> Error {
    Error::Input(format!(
        "matrix product of {}x{} and {}x{} does not fit its data",
        lhs.rows, lhs.cols, rhs.rows, rhs.cols
    ))
}

/// gemm's product of two checked views into `out`, on this thread.
///
/// # Safety
///
/// `check` must have passed for `lhs` and `rhs` with `lhs.rows * rhs.cols` elements, `out` must
/// be valid for writing that many (and for reading them when `accumulate`), and nothing else may
/// read or write them meanwhile; `lhs.cols` must not be 0.
#[allow(unsafe_code)]
unsafe fn product(out: *mut f32, lhs: Matrix, rhs: Matrix, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    // SAFETY: gemm reads `lhs` at `i * row_stride + p * col_stride` for i < m, p < k, which is
    // below `lhs.span() <= lhs.data.len()` (computed without overflow by `fits`); likewise `rhs`
    // for p < k, j < n; it writes `out` at `i * n + j < m * n`, which the caller vouches for.
    // `out` cannot overlap the shared `lhs` and `rhs`. `fits` checked that the strides fit in
    // `isize`, and `n <= m * n` does too. `Parallelism::None` keeps gemm on this thread.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
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
    fn plain_transposed_and_accumulated_products_match_the_definition() {
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
        // Accumulated onto ones.
        let mut out = vec![1.0; 30];
        matmul(&mut out, lhs, rhs, true).unwrap();
        let expected: Vec<f32> = naive(lhs, rhs).iter().map(|v| v + 1.0).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn a_product_into_a_vector_never_reads_what_the_vector_held() {
        let a = values(70 * 300);
        let b = values(300 * 90);
        let (lhs, rhs) = (
            Matrix::row_major(&a, 70, 300),
            Matrix::row_major(&b, 300, 90),
        );
        // A vector whose old contents (NaN, which would poison any sum they entered) are
        // cleared but still in its allocation, and one with no allocation at all.
        let mut reused = vec![f32::NAN; 70 * 90 + 13];
        let mut fresh = Vec::new();
        for out in [&mut reused, &mut fresh] {
            matmul_into(out, lhs, rhs).unwrap();
            assert_eq!(*out, naive(lhs, rhs));
        }
        // An inner size of zero gives zeros.
        let mut out = vec![f32::NAN; 4];
        let empty: [f32; 0] = [];
        let (l, r) = (
            Matrix::row_major(&empty, 2, 0),
            Matrix::row_major(&empty, 0, 3),
        );
        matmul_into(&mut out, l, r).unwrap();
        assert_eq!(out, [0.0; 6]);
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
        let mut grown = Vec::new();
        let err = matmul_into(&mut grown, long, Matrix::row_major(&b, 4, 3)).unwrap_err();
        assert!(matches!(err, Error::Input(_)), "{err}");
        assert!(
            grown.is_empty(),
            "a refused product leaves the vector as it was"
        );
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
