//! Reading a file that may be damaged or crafted: never more than a stated number of bytes, so
//! that no length on disk (nor a device that never ends) decides what is allocated.

use std::io::Read as _;
use std::path::Path;

use crate::{Error, Result, io_error};

/// Reads `path` as UTF-8 text of at most `limit` bytes. A longer file is refused
/// ([`Error::TooLarge`]) after reading one byte past the limit, whatever its size says.
pub fn read_text_at_most(path: &Path, limit: u64) -> Result<String> {
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let mut text = String::new();
    file.take(limit.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(io_error(path))?;
    if text.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_at_the_limit_reads_and_one_past_it_or_an_endless_device_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abcd").unwrap();
        assert_eq!(read_text_at_most(&path, 4).unwrap(), "abcd");
        let err = read_text_at_most(&path, 3).unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 3, .. }), "{err}");
        assert!(err.to_string().contains("more than 3 bytes"), "{err}");
        // /dev/zero never ends: the limit ends the read.
        let err = read_text_at_most(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    }
}
