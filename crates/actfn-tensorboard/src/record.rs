//! TFRecord framing, the container of an event file: each record is its length (u64, little
//! endian), the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data.

use std::path::Path;

use crate::{Error, Result};

/// TensorFlow's mask over a CRC32C, so that a CRC of data holding CRCs stays well spread.
pub(crate) fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// `data` framed as one record.
pub(crate) fn frame(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut record = Vec::with_capacity(data.len() + 16);
    record.extend_from_slice(&length);
    record.extend_from_slice(&masked_crc(&length).to_le_bytes());
    record.extend_from_slice(data);
    record.extend_from_slice(&masked_crc(data).to_le_bytes());
    record
}

/// The records of `bytes` (an event file's contents), each checked against its CRCs; `path`
/// names the file in errors. A length is trusted only as far as the bytes that follow it.
pub(crate) fn unframe<'a>(bytes: &'a [u8], path: &Path) -> Result<Vec<&'a [u8]>> {
    let bad = |offset: usize, what: &str| Error::Corrupt {
        path: path.display().to_string(),
        reason: format!("the record at byte {offset} {what}"),
    };
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = bytes
            .get(at..at + 12)
            .ok_or_else(|| bad(at, "is cut short"))?;
        let (length, crc) = header.split_at(8);
        if masked_crc(length).to_le_bytes() != crc {
            return Err(bad(at, "has a length whose checksum does not match"));
        }
        let length = u64::from_le_bytes(length.try_into().unwrap_or_default());
        let end = usize::try_from(length)
            .ok()
            .and_then(|n| (at + 12).checked_add(n))
            .filter(|&end| end.checked_add(4).is_some_and(|e| e <= bytes.len()))
            .ok_or_else(|| bad(at, "is longer than the file"))?;
        let data = &bytes[at + 12..end];
        if masked_crc(data).to_le_bytes() != bytes[end..end + 4] {
            return Err(bad(at, "has data whose checksum does not match"));
        }
        records.push(data);
        at = end + 4;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_is_tensorflows_masked_crc32c() {
        // CRC32C("123456789") = 0xE3069283 (the check value of the Castagnoli polynomial).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(
            masked_crc(b"123456789"),
            0xE306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8)
        );
    }

    #[test]
    fn records_round_trip_and_damage_is_named() {
        let path = Path::new("events");
        let mut bytes = frame(b"one");
        bytes.extend(frame(b""));
        bytes.extend(frame(&[7u8; 300]));
        let records = unframe(&bytes, path).unwrap();
        assert_eq!(records, [&b"one"[..], &b""[..], &[7u8; 300][..]]);
        let cut = &bytes[..bytes.len() - 1];
        assert!(
            unframe(cut, path)
                .unwrap_err()
                .to_string()
                .contains("longer than the file")
        );
        let mut flipped = bytes.clone();
        flipped[13] ^= 1;
        assert!(
            unframe(&flipped, path)
                .unwrap_err()
                .to_string()
                .contains("byte 0 has data")
        );
        // A length of 2^63 is not believed.
        let mut huge = frame(b"x");
        huge[..8].copy_from_slice(&(1u64 << 63).to_le_bytes());
        let crc = masked_crc(&huge[..8]).to_le_bytes();
        huge[8..12].copy_from_slice(&crc);
        assert!(unframe(&huge, path).is_err());
    }
}
