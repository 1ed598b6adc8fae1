//! `cargo xtask reproduce`: the whole study from nothing: data, figures at initialization,
//! training, figures of the trained networks, dead neurons, and `results/report.md`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use actfn_activations::Activation;
use actfn_data::{CLASS_NAMES, Splits};
use actfn_diagnostics::{DeadNeurons, LayerValues};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_plot::{GrayImage, Histogram, HistogramPanel, LinePanel, Series};
use actfn_train::{Outcome, TrainConfig};
use anyhow::Context;
use candle_core::Device;
use clap::Args;

use crate::train::{TrainSettings, checkpoint_name, summary_table, train_one};
use crate::{default_checkpoint_dir, project_root};

/// Test accuracies the original notebook printed for its pretrained networks, in the study's
/// order (`../shared/study/README.md`).
const STUDY_TEST_ACCURACY: [f64; 6] = [10.00, 87.59, 88.62, 88.92, 87.27, 88.73];

/// Hidden sizes of the study's deep network for the dead-neuron count.
const DEEP_HIDDEN_SIZES: [usize; 10] = [256, 256, 256, 256, 256, 128, 128, 128, 128, 128];

/// Arguments of `cargo xtask reproduce`.
#[derive(Args, Debug)]
pub struct ReproduceArgs {
    #[command(flatten)]
    settings: TrainSettings,
    /// The same pipeline on 10,000 training images with 2 epochs per network (a smoke test);
    /// checkpoints then go to `<out>/checkpoints`.
    #[arg(long)]
    quick: bool,
    /// Retrain networks whose checkpoint exists.
    #[arg(long)]
    overwrite: bool,
    /// Folder of the report and figures.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Where checkpoints go [default: $PATH_CHECKPOINT or saved_models/Activation_Functions].
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// The original study's PyTorch checkpoints (e.g. ../shared/pretrained/pytorch): imported,
    /// evaluated and compared with ours in the report.
    #[arg(long, value_name = "DIR")]
    pretrained: Option<PathBuf>,
}

/// Runs `work`, announcing it first and saying how long it took after.
fn stage<T>(what: &str, work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, f64)> {
    println!("==> {what}");
    let started = Instant::now();
    let result = work().with_context(|| format!("while {}", what.to_lowercase()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!("    done in {seconds:.1} s");
    Ok((result, seconds))
}

/// The report being written, section by section.
struct Report {
    text: String,
    figures: PathBuf,
}

impl Report {
    fn figure(&mut self, title: &str, stem: &str) {
        let _ = writeln!(self.text, "![{title}](figures/{stem}.svg)\n");
    }
}

pub fn run(args: &ReproduceArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut settings = args.settings.clone();
    if args.quick {
        settings.epochs = 2;
        settings.subset = Some(settings.subset.unwrap_or(10_000));
    }
    let config = settings.train_config()?;
    let device = settings.compute.device()?;
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        std::env::current_dir()?.join(&args.out)
    };
    let checkpoint_dir = match (&args.checkpoint_dir, args.quick) {
        (Some(dir), _) => dir.clone(),
        (None, true) => out.join("checkpoints"),
        (None, false) => default_checkpoint_dir(),
    };
    let figures = out.join("figures");
    std::fs::create_dir_all(&figures)
        .with_context(|| format!("cannot create {}", figures.display()))?;
    let mut report = Report {
        text: String::new(),
        figures,
    };
    let mut timings = Vec::new();

    let (splits, t) = stage("Loading Fashion-MNIST", || {
        crate::data::load_splits(config.seed, &device)
    })?;
    timings.push(("data", t));
    let ((), t) = stage(
        "Drawing the activation functions and the example images",
        || {
            draw_activation_functions(&mut report, &device)?;
            draw_examples(&mut report, &splits)
        },
    )?;
    timings.push(("activation and example figures", t));
    let ((), t) = stage("Measuring gradients at initialization", || {
        draw_gradients_at_init(&mut report, &splits, config.seed, &device)
    })?;
    timings.push(("gradients at initialization", t));
    let (outcomes, t) = stage("Training the six networks", || {
        Activation::all()
            .into_iter()
            .map(|act| {
                Ok((
                    act,
                    train_one(act, &config, &splits, &checkpoint_dir, args.overwrite)?,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    timings.push(("training", t));
    let ((), t) = stage(
        "Drawing the trained networks' activations and validation curves",
        || draw_trained(&mut report, &splits, &outcomes),
    )?;
    timings.push(("trained-network figures", t));
    let (dead, t) = stage("Counting dead neurons over the training split", || {
        count_dead_neurons(&splits, &outcomes, config.seed, &device)
    })?;
    timings.push(("dead neurons", t));
    let mut pretrained = None;
    if let Some(dir) = &args.pretrained {
        let (accuracies, t) = stage(
            "Importing and evaluating the original PyTorch checkpoints",
            || evaluate_pretrained(dir, &out.join("pretrained"), &splits, &device),
        )?;
        timings.push(("original checkpoints", t));
        pretrained = Some(accuracies);
    }

    let results = Results {
        outcomes: &outcomes,
        dead: &dead,
        pretrained: pretrained.as_deref(),
    };
    let text = assemble(
        &report, &config, &settings, args.quick, &results, &timings, started,
    );
    let path = out.join("report.md");
    actfn_model::atomic_write(&path, text.as_bytes())?;
    println!("\n{}", summary_table(&outcomes));
    println!(
        "Report: {} ({:.1} s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn draw_activation_functions(report: &mut Report, device: &Device) -> anyhow::Result<()> {
    let curves =
        actfn_diagnostics::activation_curves(&Activation::all(), 1000, (-5.0, 5.0), device)?;
    let panels: Vec<LinePanel> = curves
        .into_iter()
        .map(|c| LinePanel {
            title: c.name,
            y_range: Some((-1.5, 5.0)),
            series: vec![("ActFn".into(), c.ys), ("Gradient".into(), c.grads)],
            xs: c.xs,
        })
        .collect();
    actfn_plot::line_grid(&panels, 2, "", &report.figures.join("activation_functions"))?;
    report.text.push_str("## The activation functions\n\nEach function and its gradient (by autograd) on 1000 points in [-5, 5].\n\n");
    report.figure("Activation functions", "activation_functions");
    Ok(())
}

fn draw_examples(report: &mut Report, splits: &Splits) -> anyhow::Result<()> {
    let first = splits.train.head(16)?;
    let images: Vec<Vec<f32>> = first.images.to_vec2()?;
    let labels: Vec<u32> = first.labels.to_vec1()?;
    let refs: Vec<&[f32]> = images.iter().map(Vec::as_slice).collect();
    let grid = actfn_data::example_grid(&refs, 28, 4, 2, 0.5)?;
    let caption: Vec<String> = labels
        .chunks(4)
        .enumerate()
        .map(|(row, chunk)| {
            let names: Vec<&str> = chunk.iter().map(|&l| CLASS_NAMES[l as usize]).collect();
            format!("Row {}: {}", row + 1, names.join(", "))
        })
        .collect();
    let image = GrayImage {
        width: grid.width,
        height: grid.height,
        pixels: grid.pixels,
    };
    actfn_plot::image_figure(
        &image,
        4,
        "FashionMNIST examples",
        &caption,
        &report.figures.join("fashionmnist_examples"),
    )?;
    report.text.push_str("## The data\n\nThe first 16 images of the training split, min-max normalized, padding 0.5.\n\n");
    report.figure("FashionMNIST examples", "fashionmnist_examples");
    Ok(())
}

/// Histogram panels of each layer's values, with density curves.
fn histogram_panels(
    layers: &[LayerValues],
    bins: usize,
    x_label: &str,
    density: bool,
) -> anyhow::Result<Vec<HistogramPanel>> {
    layers
        .iter()
        .map(|layer| {
            Ok(HistogramPanel {
                title: layer.name.clone(),
                x_label: x_label.to_string(),
                histogram: Histogram::new(&layer.values, bins)?,
                curve: actfn_plot::gaussian_kde(&layer.values, 200),
                density,
            })
        })
        .collect()
}

/// Writes the summaries of `layers` as JSON beside the figure `stem`.
fn write_summaries(report: &Report, stem: &str, layers: &[LayerValues]) -> anyhow::Result<()> {
    let summaries: Vec<(&str, &actfn_diagnostics::Summary)> = layers
        .iter()
        .map(|l| (l.name.as_str(), &l.summary))
        .collect();
    let json = serde_json::to_string_pretty(&summaries)?;
    actfn_model::atomic_write(
        &report.figures.join(format!("{stem}.json")),
        json.as_bytes(),
    )?;
    Ok(())
}

/// How one kind of histogram figure is drawn, one figure per network, with a table of one
/// number per layer.
struct HistogramFigures<'a> {
    /// The file name's prefix, e.g. `gradients_init`.
    stem: &'a str,
    /// The title's words before the activation's name.
    title: &'a str,
    bins: usize,
    x_label: &'a str,
    density: bool,
    columns: usize,
    /// The table's cell for a layer.
    cell: fn(&actfn_diagnostics::Summary) -> String,
}

impl HistogramFigures<'_> {
    /// Draws each network's figure and its summaries' JSON, adds its table row, then the figures.
    fn draw(
        &self,
        report: &mut Report,
        networks: Vec<(Activation, Vec<LayerValues>)>,
    ) -> anyhow::Result<()> {
        let mut figures = Vec::new();
        for (i, (act, layers)) in networks.into_iter().enumerate() {
            let stem = format!("{}_{}", self.stem, act.key());
            let title = format!("{} {}", self.title, act.name());
            let panels = histogram_panels(&layers, self.bins, self.x_label, self.density)?;
            actfn_plot::histogram_grid(
                &panels,
                self.columns,
                &title,
                i,
                &report.figures.join(&stem),
            )?;
            write_summaries(report, &stem, &layers)?;
            let cells: Vec<String> = layers.iter().map(|l| (self.cell)(&l.summary)).collect();
            let _ = writeln!(report.text, "| {} | {} |", act.name(), cells.join(" | "));
            figures.push((title, stem));
        }
        report.text.push('\n');
        for (title, stem) in figures {
            report.figure(&title, &stem);
        }
        Ok(())
    }
}

fn draw_gradients_at_init(
    report: &mut Report,
    splits: &Splits,
    seed: u64,
    device: &Device,
) -> anyhow::Result<()> {
    let batch = splits.train.head(256)?;
    report.text.push_str(
        "## Gradients at initialization\n\nWeight gradients of each linear layer from the first 256 training images and the \
         cross-entropy loss; every network starts from the same seeded weights. Standard deviation per layer:\n\n\
         | activation | layers.0 | layers.2 | layers.4 | layers.6 | layers.8 |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let networks = Activation::all()
        .into_iter()
        .map(|act| {
            let (net, _) =
                BaseNetwork::seeded(BaseNetworkConfig::with_activation(act), seed, device)?;
            Ok((
                act,
                actfn_diagnostics::weight_gradients(&net, &batch.images, &batch.labels)?,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let figures = HistogramFigures {
        stem: "gradients_init",
        title: "Gradient magnitude distribution for activation function",
        bins: 30,
        x_label: "Grad magnitude",
        density: false,
        columns: 5,
        cell: |s| format!("{:.2e}", s.std),
    };
    figures.draw(report, networks)
}

fn draw_trained(
    report: &mut Report,
    splits: &Splits,
    outcomes: &[(Activation, Outcome)],
) -> anyhow::Result<()> {
    let batch = splits.train.head(1024)?;
    report.text.push_str(
        "## Activations of the trained networks\n\nEvery layer's output (all but the last) on the first 1024 training \
         images, density scale. Share of exact zeros per layer:\n\n\
         | activation | L0 | L1 | L2 | L3 | L4 | L5 | L6 | L7 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let networks = outcomes
        .iter()
        .map(|(act, outcome)| {
            Ok((
                *act,
                actfn_diagnostics::layer_outputs(&outcome.network, &batch.images)?,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let figures = HistogramFigures {
        stem: "activations_trained",
        title: "Activation distribution for activation function",
        bins: 50,
        x_label: "",
        density: true,
        columns: 4,
        cell: |s| format!("{:.1}%", 100.0 * s.zero_share),
    };
    figures.draw(report, networks)?;

    report.text.push_str("## Validation accuracy per epoch\n\n");
    let mut all = Vec::new();
    for (act, outcome) in outcomes {
        let points: Vec<(f64, f64)> = outcome
            .metrics
            .iter()
            .map(|m| (m.epoch as f64, m.val_acc))
            .collect();
        if points.is_empty() {
            continue;
        }
        let name = checkpoint_name(*act);
        let series = Series {
            label: act.name().to_string(),
            points,
        };
        let stem = format!("validation_{}", act.key());
        actfn_plot::line_chart(
            std::slice::from_ref(&series),
            &format!("Validation performance of {name}"),
            "Epochs",
            "Validation accuracy",
            &report.figures.join(&stem),
        )?;
        all.push(series);
    }
    if !all.is_empty() {
        actfn_plot::line_chart(
            &all,
            "Validation accuracy of the six networks",
            "Epochs",
            "Validation accuracy",
            &report.figures.join("validation_all"),
        )?;
        report.figure("Validation accuracy of the six networks", "validation_all");
    }
    Ok(())
}

/// Imports the study's checkpoints from `from` into `to` and measures each one's test accuracy,
/// in the study's order.
fn evaluate_pretrained(
    from: &std::path::Path,
    to: &std::path::Path,
    splits: &Splits,
    device: &Device,
) -> anyhow::Result<Vec<f64>> {
    crate::import::import_dir(from, to)?;
    Activation::all()
        .into_iter()
        .map(|act| {
            let net = BaseNetwork::load(to, &checkpoint_name(act), device)?;
            let accuracy = actfn_train::accuracy(&net, &splits.test, 1024)?;
            println!(
                "    original {}: test accuracy {:.2}%",
                act.name(),
                100.0 * accuracy
            );
            Ok(accuracy)
        })
        .collect()
}

/// What the report tabulates.
struct Results<'a> {
    outcomes: &'a [(Activation, Outcome)],
    dead: &'a DeadCounts,
    /// Test accuracy of the original checkpoints, in the study's order, when given.
    pretrained: Option<&'a [f64]>,
}

/// The three dead-neuron counts of the study.
struct DeadCounts {
    untrained: DeadNeurons,
    trained: DeadNeurons,
    deep: DeadNeurons,
}

fn count_dead_neurons(
    splits: &Splits,
    outcomes: &[(Activation, Outcome)],
    seed: u64,
    device: &Device,
) -> anyhow::Result<DeadCounts> {
    let relu = BaseNetworkConfig::default();
    let untrained = BaseNetwork::seeded(relu.clone(), seed, device)?.0;
    let trained = outcomes
        .iter()
        .find(|(act, _)| *act == Activation::ReLU)
        .map(|(_, o)| &o.network)
        .context("the ReLU network was not trained")?;
    let deep_config = BaseNetworkConfig {
        hidden_sizes: DEEP_HIDDEN_SIZES.to_vec(),
        ..relu
    };
    let deep = BaseNetwork::seeded(deep_config, seed, device)?.0;
    let count = |net: &BaseNetwork| actfn_diagnostics::dead_neurons(net, &splits.train, 1024);
    let counts = DeadCounts {
        untrained: count(&untrained)?,
        trained: count(trained)?,
        deep: count(&deep)?,
    };
    for (what, d) in [
        ("untrained ReLU", &counts.untrained),
        ("trained ReLU", &counts.trained),
        ("deep untrained ReLU", &counts.deep),
    ] {
        println!("    dead neurons, {what}: {:?}", d.dead);
    }
    Ok(counts)
}

fn dead_row(what: &str, dead: &DeadNeurons, study: &str) -> String {
    format!(
        "| {what} | {:?} | {} | {study} |\n",
        dead.dead,
        dead.percentages_text()
    )
}

/// The CPU model and core count.
pub fn cpu_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("model name"))?;
            line.split(':').nth(1).map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu} ({cores} cores)")
}

/// The candle version in Cargo.lock.
pub fn candle_version() -> String {
    std::fs::read_to_string(project_root().join("Cargo.lock"))
        .ok()
        .and_then(|lock| {
            let at = lock.find("name = \"candle-core\"")?;
            let version = lock[at..].lines().nth(1)?;
            Some(
                version
                    .trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The first line a program prints, run in the project root, or "unknown".
fn first_line_of(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .current_dir(project_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The short hash of the checked-out commit.
pub fn git_commit() -> String {
    first_line_of("git", &["rev-parse", "--short", "HEAD"])
}

/// Facts about the machine and the software, for the report's last section.
fn environment(device_name: &str, threads: u16) -> String {
    format!(
        "| | |\n|---|---|\n| CPU | {} |\n| device | {device_name} |\n| CPU threads | {threads} |\n\
         | actfn | {} (commit {}) |\n| candle | {} |\n| rustc | {} |\n| OS | {} {} |\n",
        cpu_description(),
        env!("CARGO_PKG_VERSION"),
        git_commit(),
        candle_version(),
        first_line_of("rustc", &["--version"]),
        std::env::consts::OS,
        std::env::consts::ARCH,
    )
}

fn assemble(
    report: &Report,
    config: &TrainConfig,
    settings: &TrainSettings,
    quick: bool,
    results: &Results,
    timings: &[(&str, f64)],
    started: Instant,
) -> String {
    let Results {
        outcomes,
        dead,
        pretrained,
    } = results;
    let mut text = String::from("# Activation functions: the study, reproduced by actfn\n\n");
    if quick {
        text.push_str(
            "**Quick run** (`--quick`): 2 epochs on a subset of the training split. The numbers show that the \
             pipeline works, not what the study measures.\n\n",
        );
    }
    let _ = writeln!(
        text,
        "Settings: SGD lr {}, momentum {}, batch {}, at most {} epochs, patience {}, seed {}{}.\n",
        config.optimizer.lr,
        config.optimizer.momentum,
        config.batch_size,
        config.max_epochs,
        config.patience,
        config.seed,
        config
            .subset
            .map(|n| format!(", first {n} training images"))
            .unwrap_or_default()
    );
    text.push_str("## Test accuracy\n\n");
    text.push_str("| activation | epochs | best epoch | best val acc | test acc | the study's printed test acc | time (s) |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for ((act, outcome), study) in outcomes.iter().zip(STUDY_TEST_ACCURACY) {
        let s = outcome.summary.as_ref();
        let field = |f: &dyn Fn(&actfn_train::RunSummary) -> String| s.map_or("-".to_string(), f);
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {:.2}% | {study:.2}% | {} |",
            act.name(),
            field(&|s| s.epochs_run.to_string()),
            field(&|s| s.best_epoch.to_string()),
            field(&|s| format!("{:.2}%", 100.0 * s.best_val_acc)),
            100.0 * outcome.test_acc,
            field(&|s| format!("{:.1}", s.seconds)),
        );
    }
    text.push_str(
        "\nThe study's column is what the original notebook printed for its pretrained networks (trained, most likely, \
         with batch 1024); a fresh run at batch 256 lands near, not on, those digits.\n\n",
    );
    if let Some(pretrained) = pretrained {
        text.push_str(
            "## Original checkpoints vs ours\n\nThe original study's PyTorch checkpoints, imported and evaluated by this \
             project's pipeline, beside the networks trained here.\n\n\
             | activation | original checkpoint | the notebook printed | ours |\n|---|---:|---:|---:|\n",
        );
        for (((act, outcome), original), printed) in outcomes
            .iter()
            .zip(pretrained.iter())
            .zip(STUDY_TEST_ACCURACY)
        {
            let _ = writeln!(
                text,
                "| {} | {:.2}% | {printed:.2}% | {:.2}% |",
                act.name(),
                100.0 * original,
                100.0 * outcome.test_acc
            );
        }
        text.push('\n');
    }
    text.push_str(&report.text);
    text.push_str("## Dead neurons\n\nA neuron is dead when its activation is exactly 0 for every image of the 50,000-image training split.\n\n");
    text.push_str(
        "| network | dead per hidden layer | share | the study's notebook |\n|---|---|---|---|\n",
    );
    text.push_str(&dead_row(
        "untrained ReLU (seed)",
        &dead.untrained,
        "[0, 0, 3, 10]",
    ));
    text.push_str(&dead_row(
        "trained ReLU",
        &dead.trained,
        "[0, 0, 0, 3] (its pretrained network)",
    ));
    text.push_str(&dead_row(
        "untrained deep ReLU",
        &dead.deep,
        "[0, 0, 7, 27, 89, 60, 58, 61, 72, 56]",
    ));
    text.push_str(
        "\nUntrained counts depend on the random generator (ChaCha here, PyTorch's Mersenne Twister there): the digits \
         differ, the shape (few in the first layers, tens of percent deep in the deep network) is what compares.\n\n",
    );
    text.push_str("## Time\n\n| stage | seconds |\n|---|---:|\n");
    for (what, seconds) in timings {
        let _ = writeln!(text, "| {what} | {seconds:.1} |");
    }
    let _ = writeln!(
        text,
        "| **total** | {:.1} |\n",
        started.elapsed().as_secs_f64()
    );
    text.push_str("## Machine and versions\n\n");
    text.push_str(&environment(
        &settings.compute.device,
        settings.compute.threads,
    ));
    text
}
