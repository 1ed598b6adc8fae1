//! The download of Fashion-MNIST from its authors' mirror (feature `download`, off by default:
//! without it this crate never touches the network). Each file is verified by the SHA-256 of its
//! decompressed bytes before it takes its final name, so a folder never holds a damaged file
//! under a published name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{DataFile, Error, FILES, Result, verify_file};

/// The mirror the Fashion-MNIST authors publish.
pub const MIRROR: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com";

/// An `io::Error` on `path` as this crate's error.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Downloads each of the four files that `dir` lacks (or holds damaged) from `mirror` (a base
/// URL, e.g. [`MIRROR`]), verifying each before it takes its final name; a partial download is
/// resumed where the server allows it. `progress` hears each file's bytes as they come: its name,
/// the bytes so far and the total when the server tells it.
pub fn fetch_missing(
    dir: &Path,
    mirror: &str,
    progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    for file in &FILES {
        let path = dir.join(format!("{}.gz", file.name));
        if path.is_file() && verify_file(&path, file).is_ok() {
            continue;
        }
        fetch(&agent, mirror, file, &path, progress)?;
    }
    Ok(())
}

/// Downloads one file to `<path>.part`, resuming a partial download where the server allows it,
/// then verifies the decompressed bytes and renames the file into place. A `.part` that is
/// already complete (a kill between the last byte and the rename) is verified and renamed
/// without a request; one that does not verify is deleted and fetched anew.
fn fetch(
    agent: &ureq::Agent,
    mirror: &str,
    file: &DataFile,
    path: &Path,
    progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> Result<()> {
    let get = Get {
        agent,
        url: format!("{mirror}/{}.gz", file.name),
        part: path.with_extension("gz.part"),
    };
    let part = &get.part;
    if !(part.is_file() && verify_file(part, file).is_ok()) {
        let name = format!("{}.gz", file.name);
        let mut progress = |done, total| progress(&name, done, total);
        if get.download(true, &mut progress)? == Download::RangeRefused {
            // The `.part` is not a prefix the server can continue: start over.
            std::fs::remove_file(part).map_err(io_error(part))?;
            if get.download(false, &mut progress)? == Download::RangeRefused {
                return Err(get.failed("the server refused a download from the start"));
            }
        }
        if let Err(err) = verify_file(part, file) {
            std::fs::remove_file(part).ok();
            return Err(err);
        }
    }
    // Verified: it takes its final name.
    std::fs::rename(part, path).map_err(io_error(path))
}

/// One file's download into its `.part` file.
struct Get<'a> {
    agent: &'a ureq::Agent,
    url: String,
    part: PathBuf,
}

/// How a download ended.
#[derive(Debug, PartialEq, Eq)]
enum Download {
    Done,
    /// HTTP 416: the requested range does not fit the file.
    RangeRefused,
}

impl Get<'_> {
    fn failed(&self, why: impl std::fmt::Display) -> Error {
        Error::Download {
            url: self.url.clone(),
            why: why.to_string(),
        }
    }

    /// Downloads into the `.part` file, continuing from its length when `resume` and the file
    /// exists.
    fn download(
        &self,
        resume: bool,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Download> {
        let (url, part) = (&self.url, self.part.as_path());
        let have = if resume {
            std::fs::metadata(part).map(|m| m.len()).unwrap_or(0)
        } else {
            0
        };
        let mut request = self.agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        // The request is made before the partial file is opened, so a failed connection leaves
        // nothing behind.
        let mut response = match request.call() {
            Err(ureq::Error::StatusCode(416)) => return Ok(Download::RangeRefused),
            other => other.map_err(|e| self.failed(e))?,
        };
        let resumed = response.status().as_u16() == 206;
        if !response.status().is_success() {
            return Err(self.failed(format!("HTTP {}", response.status())));
        }
        let total = response
            .body()
            .content_length()
            .map(|n| n + if resumed { have } else { 0 });
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(resumed)
            .write(true)
            .truncate(!resumed)
            .open(part)
            .map_err(io_error(part))?;
        let mut done = if resumed { have } else { 0 };
        progress(done, total);
        let mut reader = response.body_mut().as_reader();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buffer).map_err(|e| self.failed(e))?;
            if n == 0 {
                break;
            }
            out.write_all(&buffer[..n]).map_err(io_error(part))?;
            done += n as u64;
            progress(done, total);
        }
        out.sync_all().map_err(io_error(part))?;
        Ok(Download::Done)
    }
}
