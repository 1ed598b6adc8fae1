//! `cargo xtask data`: find Fashion-MNIST, or download it from the official mirror, and verify it.
//!
//! This is the only module of the project that touches the network.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actfn_data::{DataFile, FILES, FashionMnist};
use anyhow::{Context, bail};
use clap::Args;

use crate::project_root;

/// The mirror the Fashion-MNIST authors publish; `$ACTFN_FASHION_MNIST_MIRROR` replaces it (a
/// closer copy, or a test's local server).
const MIRROR: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com";

/// The mirror downloads come from.
fn mirror() -> String {
    std::env::var("ACTFN_FASHION_MNIST_MIRROR").unwrap_or_else(|_| MIRROR.to_string())
}

/// Arguments of `cargo xtask data`.
#[derive(Args, Debug)]
pub struct DataArgs {
    /// Never download: only look in data/ ($PATH_DATASETS) and the system copy.
    #[arg(long)]
    offline: bool,
}

pub fn run(args: &DataArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (dir, data) = find_or_fetch(!args.offline)?;
    say!(
        "Fashion-MNIST verified in {}: {} training and {} test images ({:.1} s)",
        dir.display(),
        data.train_len(),
        data.test_len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The first verified copy of the data set: `$PATH_DATASETS`/`data/`, the system copy, or a
/// fresh download into the first of these (when `download` is true).
pub fn find_or_fetch(download: bool) -> anyhow::Result<(PathBuf, FashionMnist)> {
    let dirs = actfn_data::default_search_dirs(&project_root());
    let mut tried = Vec::new();
    // Copies that are there but do not verify: worth a warning even when a later one does.
    let mut refused = Vec::new();
    let found = |dir: PathBuf, data, refused: &[String]| {
        for why in refused {
            // Not eprintln!, which panics when standard error is closed.
            let _ = writeln!(
                std::io::stderr(),
                "warning: refused a copy of Fashion-MNIST: {why}"
            );
        }
        Ok((dir, data))
    };
    for dir in &dirs {
        match actfn_data::locate(std::slice::from_ref(dir)) {
            Ok(dir) => match FashionMnist::load(&dir) {
                Ok(data) => return found(dir, data, &refused),
                Err(err) => {
                    refused.push(err.to_string());
                    tried.push(format!("{}: {err}", dir.display()));
                }
            },
            Err(actfn_data::Error::NotFound { tried: why }) => tried.extend(why),
            Err(err) => tried.push(err.to_string()),
        }
    }
    if download {
        let target = &dirs[0];
        match fetch_all(target) {
            Ok(()) => return found(target.clone(), FashionMnist::load(target)?, &refused),
            Err(err) => tried.push(format!("download from {}: {err:#}", mirror())),
        }
    }
    Err(actfn_data::Error::NotFound { tried }.into())
}

/// Downloads each missing file into `dir`, verifying it before it takes its final name.
fn fetch_all(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    for file in &FILES {
        let path = dir.join(format!("{}.gz", file.name));
        if path.is_file() && actfn_data::verify_file(&path, file).is_ok() {
            continue;
        }
        fetch(&agent, file, &path)?;
    }
    Ok(())
}

/// Downloads one file to `<path>.part`, resuming a partial download where the server allows it,
/// then verifies the decompressed bytes and renames the file into place. A `.part` that is
/// already complete (a kill between the last byte and the rename) is verified and renamed
/// without a request; one that does not verify is deleted and fetched anew.
fn fetch(agent: &ureq::Agent, file: &DataFile, path: &Path) -> anyhow::Result<()> {
    let part = path.with_extension("gz.part");
    if part.is_file() && actfn_data::verify_file(&part, file).is_ok() {
        return finish(&part, path);
    }
    if download(agent, file, &part, true)? == Download::RangeRefused {
        // The `.part` is not a prefix the server can continue: start over.
        std::fs::remove_file(&part).with_context(|| format!("cannot remove {}", part.display()))?;
        if download(agent, file, &part, false)? == Download::RangeRefused {
            bail!("the server refused a download from the start");
        }
    }
    if let Err(err) = actfn_data::verify_file(&part, file) {
        std::fs::remove_file(&part).ok();
        return Err(err.into());
    }
    finish(&part, path)
}

/// Renames a verified `.part` into place.
fn finish(part: &Path, path: &Path) -> anyhow::Result<()> {
    std::fs::rename(part, path).with_context(|| format!("cannot rename to {}", path.display()))
}

/// How a download ended.
#[derive(Debug, PartialEq, Eq)]
enum Download {
    Done,
    /// HTTP 416: the requested range does not fit the file.
    RangeRefused,
}

/// Downloads `file` into `part`, continuing from its length when `resume` and the file exists.
fn download(
    agent: &ureq::Agent,
    file: &DataFile,
    part: &Path,
    resume: bool,
) -> anyhow::Result<Download> {
    let url = format!("{}/{}.gz", mirror(), file.name);
    let have = if resume {
        std::fs::metadata(part).map(|m| m.len()).unwrap_or(0)
    } else {
        0
    };
    let mut request = agent.get(&url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    // The request is made before the partial file is opened, so a failed connection leaves
    // nothing behind.
    let mut response = match request.call() {
        Err(ureq::Error::StatusCode(416)) => return Ok(Download::RangeRefused),
        other => other.with_context(|| format!("GET {url}"))?,
    };
    let resumed = response.status().as_u16() == 206;
    if !response.status().is_success() {
        bail!("GET {url}: HTTP {}", response.status());
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
        .with_context(|| format!("cannot write {}", part.display()))?;
    let bar = crate::progress::bytes_bar(total, &format!("{}.gz", file.name));
    bar.set_position(if resumed { have } else { 0 });
    let mut reader = response.body_mut().as_reader();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buffer)
            .with_context(|| format!("reading {url}"))?;
        if n == 0 {
            break;
        }
        out.write_all(&buffer[..n])
            .with_context(|| format!("writing {}", part.display()))?;
        bar.inc(n as u64);
    }
    out.sync_all()?;
    bar.finish_and_clear();
    Ok(Download::Done)
}

/// The study's splits (seeded by `split_seed`) of the first verified copy of the data, on `device`.
pub fn load_splits(
    split_seed: u64,
    device: &candle_core::Device,
) -> anyhow::Result<actfn_data::Splits> {
    let (_, data) = find_or_fetch(true)?;
    Ok(actfn_train::study_splits(&data, split_seed, device)?)
}
