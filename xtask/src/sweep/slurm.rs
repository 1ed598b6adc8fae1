//! `cargo xtask sweep ... --emit slurm`: the flags of the job array
//! ([`actfn_sweep::slurm::SlurmSettings`]).

use actfn_sweep::slurm::{SlurmSettings, parse_memory, parse_partition, parse_time};
use clap::Args;

/// How the job array is submitted.
#[derive(Args, Debug, Clone)]
pub struct SlurmArgs {
    /// The partition (queue) to submit to [default: the cluster's default partition].
    #[arg(long, value_parser = parse_partition)]
    partition: Option<String>,
    /// The time limit of each task, as Slurm takes it: minutes, `HH:MM:SS` or `D-HH:MM:SS`.
    /// A run of the study's protocol takes 2 to 5 minutes of one core.
    #[arg(long, default_value = "01:00:00", value_parser = parse_time)]
    time: String,
    /// Memory per task, as Slurm takes it (`4G`, `500M`); a run needs about 400 MB.
    #[arg(long, default_value = "2G", value_parser = parse_memory)]
    mem: String,
    /// The most tasks of the array that run at once (`--array=0-N%K`).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    max_parallel: u32,
    /// Only the runs that have neither finished nor are running (after a failed node, say).
    #[arg(long)]
    only_missing: bool,
}

impl SlurmArgs {
    /// The settings these flags give.
    pub fn settings(&self) -> SlurmSettings {
        SlurmSettings {
            partition: self.partition.clone(),
            time: self.time.clone(),
            mem: self.mem.clone(),
            max_parallel: self.max_parallel,
            only_missing: self.only_missing,
        }
    }
}
