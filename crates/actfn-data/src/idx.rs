//! A reader for IDX files (the MNIST format), gzip-compressed or not.
//!
//! An IDX file is a 4-byte magic number (`0, 0, type, ndim`; type `0x08` is unsigned bytes), then
//! `ndim` big-endian u32 dimensions, then the data. Every fault is an error naming the file.

use std::io::{BufRead, Read};
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

/// The largest IDX file this crate reads unless told otherwise: Fashion-MNIST's training
/// images, 47,040,016 bytes. A file that claims or inflates to more is refused before it is
/// read whole, so a gzip bomb costs no memory.
pub const MAX_BYTES: u64 = 47_040_016;

/// Reads a file's bytes, decompressing them when they start with the gzip magic number; a file
/// whose header declares, or whose data holds, more than `limit` bytes is refused.
pub fn read_maybe_gzip(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decompress_maybe_gzip(std::io::BufReader::new(file), path, limit)
}

/// [`read_maybe_gzip`] on any reader; `path` only names the file in errors.
pub fn decompress_maybe_gzip(mut reader: impl BufRead, path: &Path, limit: u64) -> Result<Vec<u8>> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let gzip = reader
        .fill_buf()
        .map_err(io_error)?
        .starts_with(&[0x1f, 0x8b]);
    let result = if gzip {
        read_bounded(flate2::bufread::GzDecoder::new(reader), path, limit)
    } else {
        read_bounded(reader, path, limit)
    };
    result.map_err(|source| {
        if gzip {
            Error::Malformed {
                path: path.to_path_buf(),
                fault: format!("corrupt gzip stream: {source}"),
            }
        } else {
            io_error(source)
        }
    })?
}

/// Reads the IDX header, then as many bytes as it declares and at most one more (so that a file
/// that is too long, or a gzip bomb, is told by `parse` without being read whole), refusing a
/// declared size above `limit` before reading the data.
fn read_bounded(
    mut stream: impl Read,
    path: &Path,
    limit: u64,
) -> std::io::Result<Result<Vec<u8>>> {
    let mut out = Vec::new();
    stream.by_ref().take(4).read_to_end(&mut out)?;
    if let Some(&ndim) = out.get(3) {
        stream
            .by_ref()
            .take(4 * u64::from(ndim))
            .read_to_end(&mut out)?;
    }
    // What the header declares; a header cut short declares only itself (`parse` says why).
    let declared = declared_size(&out).unwrap_or(Some(out.len() as u64));
    let Some(declared) = declared.filter(|&d| d <= limit) else {
        return Ok(Err(Error::Malformed {
            path: path.to_path_buf(),
            fault: format!(
                "its header declares {} bytes, more than the {limit} this file may hold",
                declared.map_or("over 2^64".to_string(), |d| d.to_string())
            ),
        }));
    };
    // One byte more than declared is enough to tell that the file is too long: `parse` says so.
    let rest = declared.saturating_sub(out.len() as u64);
    out.reserve(usize::try_from(rest).unwrap_or(0));
    stream.take(rest + 1).read_to_end(&mut out)?;
    Ok(Ok(out))
}

/// The size a complete IDX header declares for the whole file (`None` inside when it overflows),
/// or `None` when the header is incomplete.
fn declared_size(header: &[u8]) -> Option<Option<u64>> {
    let ndim = usize::from(*header.get(3)?);
    let dims = header.get(4..4 + 4 * ndim)?;
    let data = dims.as_chunks::<4>().0.iter().try_fold(1u64, |acc, d| {
        acc.checked_mul(u64::from(u32::from_be_bytes(*d)))
    });
    Some(data.and_then(|d| d.checked_add(4 + 4 * ndim as u64)))
}

/// Parses IDX bytes with `expected_ndim` dimensions; `path` only names the file in errors.
pub fn parse(bytes: &[u8], expected_ndim: usize, path: &Path) -> Result<IdxArray> {
    let malformed = |fault: String| Error::Malformed {
        path: path.to_path_buf(),
        fault,
    };
    let &[zero, also_zero, kind, ndim] = bytes
        .first_chunk::<4>()
        .ok_or_else(|| malformed(format!("truncated: {} bytes, no IDX header", bytes.len())))?;
    if zero != 0 || also_zero != 0 || kind != UNSIGNED_BYTE {
        return Err(malformed(format!(
            "wrong magic number {zero:02x}{also_zero:02x}{kind:02x}{ndim:02x}: expected 000008{expected_ndim:02x} (unsigned bytes)",
        )));
    }
    let ndim = usize::from(ndim);
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
        .as_chunks::<4>()
        .0
        .iter()
        .map(|c| u32::from_be_bytes(*c) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| malformed(format!("dimensions {dims:?} overflow")))?;
    let data = bytes.get(dims_end..).unwrap_or_default();
    if data.len() < len {
        return Err(malformed(format!(
            "truncated: dimensions {dims:?} need {len} data bytes, the file has {}",
            data.len()
        )));
    }
    if data.len() > len {
        return Err(malformed(format!(
            "too long: dimensions {dims:?} need {len} data bytes, the file has more"
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
