//! `cargo xtask data`: find Fashion-MNIST, or download it from the official mirror
//! (`actfn_data::download`), and verify it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use actfn_data::FashionMnist;
use clap::Args;

use crate::project_root;

/// The mirror downloads come from: the authors' (`actfn_data::download::MIRROR`), or
/// `$ACTFN_FASHION_MNIST_MIRROR` (a closer copy, or a test's local server).
fn mirror() -> String {
    std::env::var("ACTFN_FASHION_MNIST_MIRROR")
        .unwrap_or_else(|_| actfn_data::download::MIRROR.to_string())
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
        let mut bars = Bars::default();
        match actfn_data::download::fetch_missing(target, &mirror(), &mut |file, done, total| {
            bars.show(file, done, total)
        }) {
            Ok(()) => return found(target.clone(), FashionMnist::load(target)?, &refused),
            Err(err) => tried.push(format!("download from {}: {err:#}", mirror())),
        }
    }
    Err(actfn_data::Error::NotFound { tried }.into())
}

/// The study's splits (seeded by `split_seed`) of the first verified copy of the data, on `device`.
pub fn load_splits(
    split_seed: u64,
    device: &candle_core::Device,
) -> anyhow::Result<actfn_data::Splits> {
    let (_, data) = find_or_fetch(true)?;
    Ok(actfn_train::study_splits(&data, split_seed, device)?)
}

/// A download's progress bars, one per file, each made when its first bytes come.
#[derive(Default)]
struct Bars {
    bar: Option<(String, indicatif::ProgressBar)>,
}

impl Bars {
    fn show(&mut self, file: &str, done: u64, total: Option<u64>) {
        if self.bar.as_ref().is_none_or(|(name, _)| name != file) {
            if let Some((_, bar)) = self.bar.take() {
                bar.finish_and_clear();
            }
            self.bar = Some((file.to_string(), crate::progress::bytes_bar(total, file)));
        }
        if let Some((_, bar)) = &self.bar {
            bar.set_position(done);
            if total == Some(done) {
                bar.finish_and_clear();
            }
        }
    }
}
