//! `cargo xtask reproduce`: the whole study from nothing: data, figures at initialization,
//! training, figures of the trained networks, dead neurons, and `results/report.html` (with
//! `report.md` beside it).
//!
//! `actfn-study` draws the figures and writes the text; this module runs the stages in order.

use std::path::{Path, PathBuf};
use std::time::Instant;

use actfn_activations::Activation;
use actfn_data::{EVAL_BATCH_SIZE, Splits};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::{Existing, Outcome, Run};
use anyhow::Context;
use candle_core::Device;
use clap::Args;

use crate::default_checkpoint_dir;
use crate::train::{TrainSettings, train_one};
use actfn_study::{DeadCounts, Results, Scale, Sections, accuracy_table, figures};
use actfn_train::checkpoint_name;

/// Arguments of `cargo xtask reproduce`.
#[derive(Args, Debug)]
pub struct ReproduceArgs {
    #[command(flatten)]
    pub(crate) settings: TrainSettings,
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
    /// Activation functions: the study's six by default; `all` adds the others, or give a
    /// comma-separated list of keys or formulas of x.
    #[arg(long, value_name = "NAMES", value_parser = crate::train::parse_act_list)]
    acts: Option<crate::train::ActList>,
    #[command(flatten)]
    non_finite: crate::train::NonFiniteArgs,
}

/// Runs `work`, announcing it first and recording how long it took.
fn stage<T>(
    what: &'static str,
    timings: &mut Vec<(&'static str, f64)>,
    work: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    say!("==> {what}");
    let started = Instant::now();
    let result = work().with_context(|| format!("while {}", what.to_lowercase()))?;
    let seconds = started.elapsed().as_secs_f64();
    say!("    done in {seconds:.1} s");
    timings.push((what, seconds));
    Ok(result)
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
    let acts = crate::train::ActList::activations(args.acts.as_ref(), args.non_finite)?;
    let existing = if args.overwrite {
        Existing::Overwrite
    } else {
        Existing::Reuse
    };
    let mut timings = Vec::new();

    let splits = stage("Loading Fashion-MNIST", &mut timings, || {
        crate::data::load_splits(config.split_seed, &device)
    })?;
    let (functions, data) = stage(
        "Drawing the activation functions and the example images",
        &mut timings,
        || {
            Ok((
                figures::activation_functions(&figures, &acts, &device)?,
                figures::examples(&figures, &splits)?,
            ))
        },
    )?;
    let gradients = stage(
        "Measuring gradients at initialization",
        &mut timings,
        || {
            Ok(figures::gradients_at_init(
                &figures,
                &splits,
                &acts,
                config.seed,
                &device,
            )?)
        },
    )?;
    let outcomes = stage("Training the networks", &mut timings, || {
        acts.iter()
            .map(|&act| {
                let net = BaseNetworkConfig::with_activation(act);
                Ok((
                    act,
                    train_one(
                        Run {
                            name: checkpoint_name(act),
                            net,
                            config: config.clone(),
                            dir: checkpoint_dir.clone(),
                            existing,
                            outputs: args.settings.outputs.outputs(),
                        },
                        &splits,
                    )?,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let (validation, activations) = stage(
        "Drawing the trained networks' activations and validation curves",
        &mut timings,
        || {
            Ok((
                figures::validation_curves(&figures, &outcomes)?,
                figures::trained_activations(&figures, &splits, &outcomes)?,
            ))
        },
    )?;
    let dead = stage(
        "Counting dead neurons over the training split",
        &mut timings,
        || count_dead_neurons(&splits, &outcomes, config.seed, &device),
    )?;
    let pretrained = match &args.pretrained {
        Some(dir) => Some(stage(
            "Importing and evaluating the original PyTorch checkpoints",
            &mut timings,
            || evaluate_pretrained(dir, &out.join("pretrained"), &acts, &splits, &device),
        )?),
        None => None,
    };

    let results = Results {
        outcomes: &outcomes,
        dead: &dead,
        pretrained: pretrained.as_deref(),
        timings: &timings,
        total_seconds: started.elapsed().as_secs_f64(),
        environment: crate::machine::environment(
            &settings.compute.device,
            settings.compute.threads,
        ),
    };
    let sections = Sections {
        functions,
        data,
        gradients,
        validation,
        activations,
    };
    let scale = if args.quick {
        Scale::Quick
    } else {
        Scale::Full
    };
    let document = actfn_study::assemble(sections, &config, scale, &results);
    let html = document.write(&out)?;
    say!("\n{}", accuracy_table(&outcomes, false).markdown());
    say!(
        "Report: {} and {} ({:.1} s in all)",
        html.display(),
        out.join("report.md").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Imports the study's checkpoints from `from` into `to` and measures each one's test accuracy.
fn evaluate_pretrained(
    from: &Path,
    to: &Path,
    acts: &[Activation],
    splits: &Splits,
    device: &Device,
) -> anyhow::Result<Vec<(Activation, f64)>> {
    crate::import::import_dir(from, to)?;
    acts.iter()
        .map(|&act| {
            let net = BaseNetwork::load(to, &checkpoint_name(act), device)?;
            let accuracy = actfn_train::accuracy(&net, &splits.test, EVAL_BATCH_SIZE)?;
            say!(
                "    original {}: test accuracy {:.2}%",
                act.name(),
                100.0 * accuracy
            );
            Ok((act, accuracy))
        })
        .collect()
}

fn count_dead_neurons(
    splits: &Splits,
    outcomes: &[(Activation, Outcome)],
    seed: u64,
    device: &Device,
) -> anyhow::Result<DeadCounts> {
    let trained = outcomes
        .iter()
        .find(|(act, _)| *act == Activation::ReLU)
        .map(|(_, o)| &o.network)
        .context("the ReLU network was not trained")?;
    let counts = DeadCounts::measure(splits, trained, seed, device)?;
    for (what, d) in [
        ("untrained ReLU", &counts.untrained),
        ("trained ReLU", &counts.trained),
        ("deep untrained ReLU", &counts.deep),
    ] {
        say!("    dead neurons, {what}: {:?}", d.dead);
    }
    Ok(counts)
}
