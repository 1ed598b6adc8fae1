//! `cargo xtask bench`: actfn's training speed side by side with the study's PyTorch code, on
//! this machine, in one run; writes `docs/bench/bench.json` and `docs/bench/README.md`.
//!
//! Each thread count runs in a child process (`bench-worker`), because candle and rayon read the
//! thread count once per process.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use actfn_data::EVAL_BATCH_SIZE;
use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::{Sgd, SgdConfig};
use anyhow::{Context, bail};
use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::project_root;

/// Arguments of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Thread counts to measure (each at least 1).
    #[arg(long, value_delimiter = ',', default_value = "1,2",
          value_parser = clap::value_parser!(u16).range(1..))]
    threads: Vec<u16>,
    /// The Python with PyTorch and torchvision to measure the study's code with; without it,
    /// the PyTorch columns are left out.
    #[arg(long, value_name = "PYTHON")]
    pytorch: Option<PathBuf>,
    /// Training steps timed one by one (after the warm-up steps).
    #[arg(long, default_value_t = 60, value_parser = at_least_one)]
    steps: usize,
    /// Repeats of each epoch and validation timing.
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    repeats: usize,
    /// Where the JSON and the Markdown table go.
    #[arg(long, default_value = "docs/bench")]
    out: PathBuf,
}

/// Arguments of the hidden `bench-worker` command: one thread count, JSON on stdout.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: u16,
    #[arg(long, value_parser = at_least_one)]
    steps: usize,
    #[arg(long, value_parser = at_least_one)]
    repeats: usize,
}

/// Parses a count of at least 1 for clap.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Median and minimum of repeated timings, in the unit of the field's name.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub median: f64,
    pub min: f64,
}

impl Timing {
    /// The median and minimum of `samples`; an error when there are none.
    fn of(mut samples: Vec<f64>) -> anyhow::Result<Self> {
        samples.sort_by(f64::total_cmp);
        match (samples.get(samples.len() / 2), samples.first()) {
            (Some(&median), Some(&min)) => Ok(Timing { median, min }),
            _ => bail!("no timing was taken: --steps and --repeats must be at least 1"),
        }
    }
}

/// One implementation's numbers at one thread count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    pub threads: u16,
    /// Forward, backward and update of one batch of 256, in milliseconds.
    pub step_ms: Timing,
    /// One training epoch (195 steps of 256, batches drawn as in training), in seconds.
    pub epoch_s: Timing,
    /// Accuracy over the 10,000 validation images, in seconds.
    pub validation_s: Timing,
    /// Peak resident memory of the process, in MiB.
    pub peak_mib: f64,
    /// actfn only: a 1024x1024x1024 f32 matrix product through candle, in GFLOP/s.
    #[serde(default)]
    pub matmul_gflops: Option<f64>,
    /// actfn only: finding, reading, verifying, normalizing and splitting the data set, in
    /// seconds.
    #[serde(default)]
    pub data_load_s: Option<Timing>,
    /// actfn only: one epoch of shuffled batch slicing without a model, in seconds.
    #[serde(default)]
    pub batch_epoch_s: Option<Timing>,
    /// actfn only: the plain candle step (candle_nn-style autograd through the composed
    /// activations and `backward`), in milliseconds, for comparison with the tuned step.
    #[serde(default)]
    pub autograd_step_ms: Option<Timing>,
}

/// Floating-point operations of the matrix products of one training step of the study's MLP:
/// 2 per multiply-add; per layer the forward product and the weight gradient, and the input
/// gradient for every layer but the first (the images need none).
pub fn step_flop(batch: usize) -> f64 {
    let config = BaseNetworkConfig::default();
    let products = |(i, o): (usize, usize)| 2.0 * (batch * i * o) as f64;
    let shapes = config.layer_shapes();
    shapes.iter().map(|&s| 2.0 * products(s)).sum::<f64>()
        + shapes[1..].iter().map(|&s| products(s)).sum::<f64>()
}

/// Peak resident memory of this process in MiB (Linux's VmHWM).
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn time<T>(work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<f64> {
    let started = Instant::now();
    work()?;
    Ok(started.elapsed().as_secs_f64())
}

/// The GFLOP/s of an n x n x n f32 product, best of a few.
fn matmul_gflops(n: usize, device: &Device) -> anyhow::Result<f64> {
    let values: Vec<f32> = (0..n * n).map(|i| (i % 17) as f32 * 0.01).collect();
    let a = Tensor::from_vec(values, (n, n), device)?;
    let b = a.t()?.contiguous()?;
    a.matmul(&b)?.sum_all()?.to_scalar::<f32>()?;
    let best = (0..5)
        .map(|_| time(|| Ok(a.matmul(&b)?.sum_all()?.to_scalar::<f32>()?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let seconds = best.into_iter().fold(f64::MAX, f64::min);
    Ok(2.0 * (n * n * n) as f64 / seconds / 1e9)
}

/// Steps run before the timed ones, here and in the PyTorch script: the first steps warm the
/// allocator and the caches.
const WARMUP_STEPS: usize = 20;

/// The actfn side, in this process, at the thread count already applied.
pub fn worker(args: &WorkerArgs) -> anyhow::Result<()> {
    let device = Device::Cpu;
    let loads = (0..args.repeats)
        .map(|_| time(|| crate::data::load_splits(42, &device)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let splits = crate::data::load_splits(42, &device)?;
    let config = BaseNetworkConfig::default();
    let (net, varmap) = BaseNetwork::seeded(config.clone(), 42, &device)?;
    let mut sgd = Sgd::new(varmap.all_vars(), SgdConfig::default())?;
    let mut shuffle = rng::seeded(42, Stream::Shuffle);

    // Steps timed one by one on shuffled batches, as training draws them.
    let batches: Vec<(Tensor, Tensor)> = splits
        .train
        .batches(256, Some(&mut shuffle), true)?
        .take(args.steps + WARMUP_STEPS)
        .collect::<candle_core::Result<_>>()?;
    let mut step_times = Vec::new();
    for (i, (images, labels)) in batches.iter().enumerate() {
        let t = time(|| Ok(actfn_train::train_step(&net, &mut sgd, images, labels)?))?;
        if i >= WARMUP_STEPS {
            step_times.push(1e3 * t);
        }
    }
    let mut autograd_times = Vec::new();
    for (i, (images, labels)) in batches.iter().enumerate() {
        let t = time(|| {
            let loss = candle_nn::loss::cross_entropy(&composed_forward(&net, images)?, labels)?;
            sgd.backward_step(&loss)?;
            Ok(())
        })?;
        if i >= WARMUP_STEPS {
            autograd_times.push(1e3 * t);
        }
    }
    let epochs = (0..args.repeats)
        .map(|_| {
            time(|| {
                for batch in splits.train.batches(256, Some(&mut shuffle), true)? {
                    let (images, labels) = batch?;
                    actfn_train::train_step(&net, &mut sgd, &images, &labels)?;
                }
                Ok(())
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let slicing = (0..args.repeats)
        .map(|_| {
            time(|| {
                for batch in splits.train.batches(256, Some(&mut shuffle), true)? {
                    batch?;
                }
                Ok(())
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let validations = (0..args.repeats)
        .map(|_| time(|| Ok(actfn_train::accuracy(&net, &splits.val, EVAL_BATCH_SIZE)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let measurement = Measurement {
        threads: args.threads,
        step_ms: Timing::of(step_times)?,
        epoch_s: Timing::of(epochs)?,
        validation_s: Timing::of(validations)?,
        peak_mib: peak_mib(),
        matmul_gflops: Some(matmul_gflops(1024, &device)?),
        autograd_step_ms: Some(Timing::of(autograd_times)?),
        data_load_s: Some(Timing::of(loads)?),
        batch_epoch_s: Some(Timing::of(slicing)?),
    };
    println!("{}", serde_json::to_string(&measurement)?);
    Ok(())
}

/// The forward pass written plainly: candle's linear layers and the composed activations, so
/// that autograd records every primitive operation.
fn composed_forward(net: &BaseNetwork, images: &Tensor) -> anyhow::Result<Tensor> {
    let mut x = images.clone();
    let last = net.linears().len() - 1;
    for (i, linear) in net.linears().iter().enumerate() {
        x = candle_nn::Module::forward(linear, &x)?;
        if i < last {
            x = net.activation().forward_composed(&x)?;
        }
    }
    Ok(x)
}

/// Runs `command`, which prints one JSON measurement per line, and parses the lines.
fn collect(command: &mut Command, what: &str) -> anyhow::Result<Vec<Measurement>> {
    let output = command
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).with_context(|| format!("{what} printed {l}")))
        .collect()
}

/// Everything one run of the benchmark measured.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    machine: String,
    commit: String,
    candle: String,
    pytorch: Option<String>,
    step_gflop: f64,
    actfn: Vec<Measurement>,
    pytorch_in_memory: Vec<Measurement>,
    pytorch_dataloader: Vec<Measurement>,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let data_dir = crate::data::find_or_fetch(true)?.0;
    let mut report = Report {
        machine: crate::machine::cpu_description(),
        commit: crate::machine::git_commit(),
        candle: crate::machine::candle_version(),
        pytorch: None,
        step_gflop: step_flop(256) / 1e9,
        actfn: Vec::new(),
        pytorch_in_memory: Vec::new(),
        pytorch_dataloader: Vec::new(),
    };
    for &threads in &args.threads {
        println!("==> actfn, {threads} thread(s)");
        let mut command = Command::new(&exe);
        command.args([
            "bench-worker",
            "--threads",
            &threads.to_string(),
            "--steps",
            &args.steps.to_string(),
        ]);
        command.args(["--repeats", &args.repeats.to_string()]);
        report
            .actfn
            .extend(collect(&mut command, "the actfn benchmark worker")?);
        if let Some(python) = &args.pytorch {
            for mode in ["memory", "dataloader"] {
                println!("==> PyTorch ({mode}), {threads} thread(s)");
                let mut command = Command::new(python);
                command.arg(crate::peer::script("bench.py"));
                command
                    .args(["--threads", &threads.to_string(), "--mode", mode, "--data"])
                    .arg(&data_dir);
                command.args([
                    "--steps",
                    &args.steps.to_string(),
                    "--repeats",
                    &args.repeats.to_string(),
                ]);
                let measured = collect(&mut command, "the PyTorch benchmark")?;
                if mode == "memory" {
                    &mut report.pytorch_in_memory
                } else {
                    &mut report.pytorch_dataloader
                }
                .extend(measured);
            }
            let version = Command::new(python)
                .args(["-c", "import torch; print(torch.__version__)"])
                .output()?;
            report.pytorch = Some(String::from_utf8_lossy(&version.stdout).trim().to_string());
        }
    }
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        project_root().join(&args.out)
    };
    std::fs::create_dir_all(&out)?;
    actfn_io::atomic_write(
        &out.join("bench.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let table = markdown(&report);
    actfn_io::atomic_write(&out.join("README.md"), table.as_bytes())?;
    println!("\n{table}");
    Ok(())
}

fn ratio(a: f64, b: Option<f64>) -> String {
    b.map_or("-".into(), |b| format!("{:.2}", a / b))
}

/// A row of the table: what is measured, how to read it from a measurement, its unit.
type Row = (&'static str, fn(&Measurement) -> Timing, &'static str);

/// The Markdown page of a report.
fn markdown(report: &Report) -> String {
    let mut md = String::from("# Benchmark: actfn vs the study's PyTorch code\n\n");
    let _ = writeln!(
        md,
        "Regenerate with `cargo xtask bench --pytorch PYTHON` on an idle machine. Machine: {}; commit {}; candle {}; \
         PyTorch {}. The study's MLP (784-512-256-256-128-10, ReLU), batch 256, SGD lr 0.01 momentum 0.9; median (min) \
         of repeats. One step is {:.3} GFLOP.\n",
        report.machine,
        report.commit,
        report.candle,
        report.pytorch.as_deref().unwrap_or("not measured"),
        report.step_gflop
    );
    md.push_str("| threads | what | actfn | PyTorch in memory | PyTorch DataLoader (the study) | actfn / PyTorch in memory | actfn / DataLoader |\n|---:|---|---:|---:|---:|---:|---:|\n");
    let find =
        |list: &[Measurement], threads: u16| list.iter().find(|m| m.threads == threads).cloned();
    for a in &report.actfn {
        let mem = find(&report.pytorch_in_memory, a.threads);
        let dl = find(&report.pytorch_dataloader, a.threads);
        let rows: [Row; 3] = [
            ("training step", |m| m.step_ms, "ms"),
            ("training epoch", |m| m.epoch_s, "s"),
            ("validation pass (10,000 images)", |m| m.validation_s, "s"),
        ];
        for (what, get, unit) in rows {
            let cell = |m: &Option<Measurement>| {
                m.as_ref().map_or("-".to_string(), |m| {
                    format!("{:.3} ({:.3}) {unit}", get(m).median, get(m).min)
                })
            };
            let _ = writeln!(
                md,
                "| {} | {what} | {:.3} ({:.3}) {unit} | {} | {} | {} | {} |",
                a.threads,
                get(a).median,
                get(a).min,
                cell(&mem),
                cell(&dl),
                ratio(get(a).median, mem.as_ref().map(|m| get(m).median)),
                ratio(get(a).median, dl.as_ref().map(|m| get(m).median)),
            );
        }
        let _ = writeln!(
            md,
            "| {} | peak memory | {:.0} MiB | {} | {} | | |",
            a.threads,
            a.peak_mib,
            mem.as_ref()
                .map_or("-".into(), |m| format!("{:.0} MiB", m.peak_mib)),
            dl.as_ref()
                .map_or("-".into(), |m| format!("{:.0} MiB", m.peak_mib))
        );
    }
    md.push_str("\n| threads | matrix-product ceiling (1024³ f32, candle) | training step achieved | share of the ceiling | plain candle autograd step |\n|---:|---:|---:|---:|---:|\n");
    for a in &report.actfn {
        let ceiling = a.matmul_gflops.unwrap_or(f64::NAN);
        let achieved = report.step_gflop / (a.step_ms.median / 1e3);
        let _ = writeln!(
            md,
            "| {} | {ceiling:.1} GFLOP/s | {achieved:.1} GFLOP/s | {:.0}% | {} |",
            a.threads,
            100.0 * achieved / ceiling,
            a.autograd_step_ms
                .map_or("-".into(), |t| format!("{:.2} ms", t.median))
        );
    }
    md.push_str("\n| threads | load, verify, normalize and split the data set | one epoch of batch slicing (no model) |\n|---:|---:|---:|\n");
    for a in &report.actfn {
        let cell = |t: Option<Timing>| {
            t.map_or("-".into(), |t| format!("{:.3} ({:.3}) s", t.median, t.min))
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            a.threads,
            cell(a.data_load_s),
            cell(a.batch_epoch_s)
        );
    }
    md
}
