//! A reader for IDX files (the MNIST format), gzip-compressed or not.
//!
//! An IDX file is a 4-byte magic number (`0, 0, type, ndim`; type `0x08` is unsigned bytes), then
//! `ndim` big-endian u32 dimensions, then the data. Every fault is an error naming the file.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The IDX type code of unsigned bytes, the only type Fashion-MNIST uses.
const UNSIGNED_BYTE: u8 = 0x08;

/// A parsed IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// The dimensions, e.g. `[60000, 28, 28]`.
    pub dims: Vec<usize>,
    /// The data, row-major.
    pub data: Vec<u8>,
}

/// Reads a file's bytes, decompressing them when they start with the gzip magic number.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decompress_maybe_gzip(raw, path)
}

/// Decompresses `raw` when it starts with the gzip magic number; `path` only names the file in
/// errors.
pub fn decompress_maybe_gzip(raw: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4));
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| Error::Malformed {
            path: path.to_path_buf(),
            fault: format!("corrupt gzip stream: {e}"),
        })?;
    Ok(out)
}

/// Parses IDX bytes with `expected_ndim` dimensions; `path` only names the file in errors.
pub fn parse(bytes: &[u8], expected_ndim: usize, path: &Path) -> Result<IdxArray> {
    let malformed = |fault: String| Error::Malformed {
        path: path.to_path_buf(),
        fault,
    };
    let header = bytes
        .get(..4)
        .ok_or_else(|| malformed(format!("truncated: {} bytes, no IDX header", bytes.len())))?;
    if header[0] != 0 || header[1] != 0 || header[2] != UNSIGNED_BYTE {
        return Err(malformed(format!(
            "wrong magic number {:02x}{:02x}{:02x}{:02x}: expected 000008{expected_ndim:02x} (unsigned bytes)",
            header[0], header[1], header[2], header[3]
        )));
    }
    let ndim = usize::from(header[3]);
    if ndim != expected_ndim {
        return Err(malformed(format!(
            "{ndim} dimensions, expected {expected_ndim}"
        )));
    }
    let dims_end = 4 + 4 * ndim;
    let dim_bytes = bytes
        .get(4..dims_end)
        .ok_or_else(|| malformed(format!("truncated in the header: {} bytes", bytes.len())))?;
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| malformed(format!("dimensions {dims:?} overflow")))?;
    let data = &bytes[dims_end..];
    if data.len() != len {
        let what = if data.len() < len {
            "truncated"
        } else {
            "too long"
        };
        return Err(malformed(format!(
            "{what}: dimensions {dims:?} need {len} data bytes, the file has {}",
            data.len()
        )));
    }
    Ok(IdxArray {
        dims,
        data: data.to_vec(),
    })
}

/// Writes `data` with `dims` as IDX bytes (uncompressed); the inverse of [`parse`], for tests and
/// tools.
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, UNSIGNED_BYTE, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
