//! `cargo xtask`: the project's own tool. One module per subcommand, in the rust-analyzer style.

/// `println!` that never panics: see [`output`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

mod bench;
mod data;
mod eval;
mod formula;
mod import;
mod machine;
mod output;
mod peer;
mod progress;
mod reproduce;
mod search;
mod sweep;
mod train;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// actfn: the "Activation Functions" study in Rust, from data to report.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find Fashion-MNIST (data/, the Debian package, or a download) and verify it.
    Data(data::DataArgs),
    /// Train networks as the study does: momentum SGD, early stopping, best checkpoint.
    Train(train::TrainArgs),
    /// Evaluate saved networks (`<name>.config` + `<name>.safetensors`) on the test set.
    Eval(eval::EvalArgs),
    /// Measure training speed side by side with the study's PyTorch code; writes docs/bench/.
    Bench(bench::BenchArgs),
    /// One thread count of the benchmark (run by `bench` in a child process).
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
    /// Write actfn's initial weights, split and batch order for the PyTorch trace (run by
    /// `xtask/pytorch/trace.py`'s instructions).
    #[command(hide = true)]
    TraceInputs(peer::TraceInputsArgs),
    /// Convert PyTorch checkpoints (`<name>.config` + `<name>.tar`) into this project's format.
    Import(import::ImportArgs),
    /// The whole study: data, figures, training, dead neurons, and results/report.md.
    Reproduce(reproduce::ReproduceArgs),
    /// Many seeds, not one: a grid of training runs and the statistics that say which
    /// differences between activation functions are real.
    Sweep(Box<sweep::SweepArgs>),
    /// What a formula of x is to actfn: canonical form, label, derivative, safety check,
    /// PyTorch translation.
    Formula(formula::FormulaArgs),
    /// Search for activation functions: candidate formulas screened, trained by successive
    /// halving, the finalists compared with built-ins over many seeds.
    Search(Box<search::SearchArgs>),
}

/// Settings every command that computes shares.
#[derive(Args, Clone, Debug)]
pub struct ComputeArgs {
    /// Where to compute: cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// CPU threads for candle and the kernels. Two is the default: on the project's 2-core
    /// reference machines two threads train an epoch 1.4 to 1.8 times faster than one (see
    /// docs/bench/); more threads than cores only add contention.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
}

impl ComputeArgs {
    /// The device (the thread count is applied by `main`, before any thread starts).
    pub fn device(&self) -> anyhow::Result<candle_core::Device> {
        Ok(actfn_model::parse_device(&self.device)?)
    }
}

impl Command {
    /// The CPU thread count the command computes with, if it computes in this process.
    fn threads(&self) -> Option<u16> {
        match self {
            Command::Train(args) => Some(args.settings.compute.threads),
            Command::Eval(args) => Some(args.compute.threads),
            Command::Reproduce(args) => Some(args.settings.compute.threads),
            Command::BenchWorker(args) => Some(args.threads),
            Command::Sweep(args) => args.threads(),
            Command::Data(_)
            | Command::Import(_)
            | Command::Bench(_)
            | Command::TraceInputs(_)
            | Command::Formula(_)
            | Command::Search(_) => None,
        }
    }
}

/// Sets the number of CPU threads candle and rayon use. candle reads `RAYON_NUM_THREADS` at
/// each matrix product and rayon reads it when its global pool starts.
fn set_threads(threads: u16) {
    #[allow(unsafe_code)]
    // SAFETY: `main` calls this first, right after parsing the arguments and before anything
    // starts a thread, so no other thread can be reading the environment.
    unsafe {
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
}

/// Parses a count of at least 1, for clap.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The workspace root, from which default paths are resolved.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The study's checkpoint folder: `$PATH_CHECKPOINT`, or `saved_models/Activation_Functions/`.
pub fn default_checkpoint_dir() -> PathBuf {
    std::env::var_os("PATH_CHECKPOINT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            project_root()
                .join("saved_models")
                .join("Activation_Functions")
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(threads) = cli.command.threads() {
        set_threads(threads);
    }
    let result = match cli.command {
        Command::Data(args) => data::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::BenchWorker(args) => bench::worker(&args),
        Command::Reproduce(args) => reproduce::run(&args),
        Command::TraceInputs(args) => peer::trace_inputs(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Formula(args) => formula::run(&args),
        Command::Search(args) => search::run(&args),
    };
    let result = result.and_then(|()| match output::failure() {
        Some(e) => Err(anyhow::anyhow!(
            "cannot write to standard output ({e}); send it to a file or a terminal with room"
        )),
        None => Ok(()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Not eprintln!, which panics when standard error is closed too.
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
