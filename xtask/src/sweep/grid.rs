//! A sweep's grid: the axes as given on the command line, the settings a sweep folder records,
//! and the runs they cross into, each with a stable index and name.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use actfn_activations::Activation;
use actfn_model::BaseNetworkConfig;
use actfn_train::{SgdConfig, TrainConfig};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The most seeds one axis may list: far above any real sweep's, and small enough that the
/// list, and `tasks.tsv`, stay a few megabytes.
pub const MAX_SEEDS: usize = 100_000;

/// Parses a seed axis: a count (`10`: seeds 0 to 9), a list (`0,3,7`; one seed: `7,`) or an
/// inclusive range (`5-9` or `5..9`).
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let text = text.trim();
    // A trailing comma makes a list of one: `7,` is seed 7, where `7` is seven seeds.
    let text = match text.strip_suffix(',') {
        Some(one) if !one.contains(',') && !one.is_empty() => {
            return Ok(vec![
                one.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{one:?} is not a seed (a whole number)"))?,
            ]);
        }
        _ => text,
    };
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("{s:?} is not a seed (a whole number)"))
    };
    // The count is checked before the list is built: `0-18446744073709551615` would overflow
    // the allocation's size and `1000000000000` ask for 8 TB. It is a u128 because the range
    // over every u64 has one more element than u64 holds.
    let at_most = |count: u128| {
        if count > MAX_SEEDS as u128 {
            Err(format!(
                "{text:?} gives {count} seeds; at most {MAX_SEEDS} are allowed"
            ))
        } else {
            Ok(())
        }
    };
    let seeds = if text.contains(',') {
        at_most(text.split(',').count() as u128)?;
        text.split(',').map(number).collect::<Result<Vec<_>, _>>()?
    } else if let Some((a, b)) = text.split_once("..").or_else(|| text.split_once('-')) {
        let (a, b) = (number(a)?, number(b)?);
        if a > b {
            return Err(format!("the range {text:?} is empty: {a} is above {b}"));
        }
        at_most(u128::from(b - a) + 1)?;
        (a..=b).collect()
    } else {
        let count = number(text)?;
        at_most(u128::from(count))?;
        (0..count).collect()
    };
    if seeds.is_empty() {
        return Err(format!(
            "{text:?} gives no seed: give a count of at least 1, a list or a range"
        ));
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != seeds.len() {
        return Err(format!("{text:?} names a seed twice"));
    }
    Ok(seeds)
}

/// Parses hidden layer sizes, `512,256,256,128`.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, String> {
    let sizes = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{s:?} in {text:?} is not a layer size (at least 1)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sizes)
}

/// The most runs one sweep holds: far above what a cluster runs in a week, small enough that
/// the grid and its tasks.tsv fit in memory.
pub const MAX_RUNS: usize = 1_000_000;

/// The most bytes a sweep folder's JSON records (`sweep.json`, `sessions.json`, a peer's
/// result) are read to: a file larger than that is damaged or not the sweep's.
pub const RECORD_BYTES: u64 = 64 << 20;

/// Everything that defines a sweep's runs and their results, recorded in `sweep.json`. A rerun
/// with other settings is refused by the name of the first that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSettings {
    /// Activation functions, by key.
    pub acts: Vec<String>,
    /// Seeds of the initial weights and the batch order.
    pub seeds: Vec<u64>,
    /// Seeds of the train/validation split.
    pub split_seeds: Vec<u64>,
    /// Hidden layer sizes, one list per architecture.
    pub hidden: Vec<Vec<usize>>,
    /// Early-stopping patiences.
    pub patience: Vec<usize>,
    /// The training settings every run shares (seed, split seed and patience come from the
    /// axes).
    pub max_epochs: usize,
    pub batch_size: usize,
    pub optimizer: SgdConfig,
    pub subset: Option<usize>,
    /// How every run draws its initial weights (sweeps recorded before the setting existed used
    /// PyTorch's).
    #[serde(default)]
    pub init: actfn_model::Init,
    /// Where every run computes.
    pub device: String,
    /// CPU threads per run (they decide the last bits of the arithmetic).
    pub threads: u16,
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Its index in the grid, from 0 (a Slurm array's task id).
    pub index: usize,
    pub act: Activation,
    pub seed: u64,
    pub split_seed: u64,
    pub hidden: Vec<usize>,
    pub patience: usize,
    /// The sweep's initialization (the same for every run of a sweep).
    pub init: actfn_model::Init,
}

impl RunSpec {
    /// The run's folder name, e.g. `relu-h512x256x256x128-p7-split42-seed3`.
    pub fn id(&self) -> String {
        let hidden: Vec<String> = self.hidden.iter().map(|h| h.to_string()).collect();
        format!(
            "{}-h{}-p{}-split{}-seed{}",
            self.act.key(),
            hidden.join("x"),
            self.patience,
            self.split_seed,
            self.seed
        )
    }

    /// The network it trains.
    pub fn network(&self) -> BaseNetworkConfig {
        BaseNetworkConfig {
            act_fn: self.act,
            hidden_sizes: self.hidden.clone(),
            ..BaseNetworkConfig::default()
        }
    }
}

impl SweepSettings {
    /// Checks every axis and setting, naming the one at fault.
    pub fn validate(&self) -> anyhow::Result<()> {
        let axes = [
            ("--acts", self.acts.len()),
            ("--seeds", self.seeds.len()),
            ("--split-seeds", self.split_seeds.len()),
            ("--hidden", self.hidden.len()),
            ("--patience", self.patience.len()),
        ];
        for (flag, len) in axes {
            if len == 0 {
                bail!("{flag} is empty: a sweep needs at least one value on every axis");
            }
        }
        // The grid is built in memory and written as tasks.tsv: its size is checked first.
        let runs = axes
            .iter()
            .try_fold(1usize, |product, (_, len)| product.checked_mul(*len))
            .filter(|&runs| runs <= MAX_RUNS);
        if runs.is_none() {
            let sizes: Vec<String> = axes
                .iter()
                .map(|(flag, len)| format!("{flag} {len}"))
                .collect();
            bail!(
                "the grid ({}) has more than {MAX_RUNS} runs: split it into several sweeps \
                 (`sweep report` takes several --dir)",
                sizes.join(" x ")
            );
        }
        for act in &self.acts {
            act.parse::<Activation>()?;
        }
        self.train_config(0, 0, 0)?.validate()?;
        for hidden in &self.hidden {
            self.network_config(hidden)?;
        }
        Ok(())
    }

    /// The network of the architecture `hidden`, checked.
    pub fn network_config(&self, hidden: &[usize]) -> anyhow::Result<BaseNetworkConfig> {
        let config = BaseNetworkConfig {
            hidden_sizes: hidden.to_vec(),
            ..BaseNetworkConfig::default()
        };
        config.validate()?;
        Ok(config)
    }

    /// The training config of one run.
    pub fn train_config(
        &self,
        seed: u64,
        split_seed: u64,
        patience: usize,
    ) -> anyhow::Result<TrainConfig> {
        Ok(TrainConfig {
            max_epochs: self.max_epochs,
            patience,
            batch_size: self.batch_size,
            optimizer: self.optimizer,
            seed,
            init: self.init,
            split_seed,
            subset: self.subset,
            ..TrainConfig::default()
        })
    }

    /// The runs, in the order they are run: split seed, seed, architecture, patience, then
    /// activation vary slowest to fastest, so that an interrupted sweep has every activation at
    /// the seeds it reached.
    pub fn runs(&self) -> anyhow::Result<Vec<RunSpec>> {
        let acts = self
            .acts
            .iter()
            .map(|a| a.parse::<Activation>())
            .collect::<Result<Vec<_>, _>>()?;
        let mut runs = Vec::new();
        for &split_seed in &self.split_seeds {
            for &seed in &self.seeds {
                for hidden in &self.hidden {
                    for &patience in &self.patience {
                        for &act in &acts {
                            runs.push(RunSpec {
                                index: runs.len(),
                                act,
                                seed,
                                split_seed,
                                hidden: hidden.clone(),
                                patience,
                                init: self.init,
                            });
                        }
                    }
                }
            }
        }
        Ok(runs)
    }
}

/// The files of a sweep folder.
#[derive(Debug, Clone)]
pub struct SweepDir {
    pub root: PathBuf,
}

impl SweepDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn settings(&self) -> PathBuf {
        self.root.join("sweep.json")
    }

    pub fn tasks(&self) -> PathBuf {
        self.root.join("tasks.tsv")
    }

    /// The checkpoint folder of one run (its checkpoint and run folder, as `train` writes them).
    pub fn run(&self, run: &RunSpec) -> PathBuf {
        self.root.join("runs").join(run.id())
    }

    /// The log of one run's task.
    pub fn log(&self, run: &RunSpec) -> PathBuf {
        self.run(run).join("log.txt")
    }

    /// Reads `sweep.json`.
    pub fn read_settings(&self) -> anyhow::Result<SweepSettings> {
        let path = self.settings();
        let text = actfn_io::read_text_at_most(&path, RECORD_BYTES).with_context(|| {
            format!(
                "{} is not a sweep folder (no readable sweep.json); create one with `cargo xtask sweep`",
                self.root.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a sweep's settings", path.display()))
    }

    /// Writes `sweep.json` and `tasks.tsv`.
    pub fn write_settings(&self, settings: &SweepSettings) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.root.join("runs"))
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        let json = serde_json::to_string_pretty(settings)?;
        actfn_io::atomic_write(&self.settings(), json.as_bytes())?;
        actfn_io::atomic_write(&self.tasks(), tasks_tsv(&settings.runs()?).as_bytes())?;
        Ok(())
    }
}

/// One line per run: its index and settings, tab-separated, with a header.
pub fn tasks_tsv(runs: &[RunSpec]) -> String {
    let mut text = String::from("index\tid\tact\tseed\tsplit_seed\thidden\tpatience\n");
    for run in runs {
        let hidden: Vec<String> = run.hidden.iter().map(|h| h.to_string()).collect();
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            run.index,
            run.id(),
            run.act.key(),
            run.seed,
            run.split_seed,
            hidden.join(","),
            run.patience
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_axes_parse_as_counts_lists_and_ranges() {
        assert_eq!(parse_seeds("3").unwrap(), [0, 1, 2]);
        assert_eq!(parse_seeds("0,3,7").unwrap(), [0, 3, 7]);
        assert_eq!(parse_seeds("5-7").unwrap(), [5, 6, 7]);
        assert_eq!(parse_seeds("5..7").unwrap(), [5, 6, 7]);
        assert_eq!(parse_seeds("7,").unwrap(), [7]);
        for bad in ["0", "a", "3,x", "9-5", "1,1", ""] {
            assert!(parse_seeds(bad).is_err(), "{bad:?}");
        }
        // Too many seeds are refused before the list is built, with the count.
        let most = MAX_SEEDS.to_string();
        assert_eq!(parse_seeds(&most).unwrap().len(), MAX_SEEDS);
        assert_eq!(parse_seeds("5-100004").unwrap().len(), MAX_SEEDS);
        let list: Vec<String> = (0..=MAX_SEEDS).map(|s| s.to_string()).collect();
        for (text, count) in [
            ("0-18446744073709551615", "18446744073709551616"),
            ("0..18446744073709551615", "18446744073709551616"),
            ("1000000000000", "1000000000000"),
            ("18446744073709551615", "18446744073709551615"),
            ("5-100005", "100001"),
            (&list.join(","), "100001"),
        ] {
            assert_eq!(
                parse_seeds(text).unwrap_err(),
                format!("{text:?} gives {count} seeds; at most {MAX_SEEDS} are allowed"),
                "{count}"
            );
        }
    }

    #[test]
    fn hidden_sizes_parse_and_zero_is_refused() {
        assert_eq!(parse_hidden("512,256").unwrap(), [512, 256]);
        assert!(parse_hidden("512,0").is_err());
        assert!(parse_hidden("wide").is_err());
    }
}
