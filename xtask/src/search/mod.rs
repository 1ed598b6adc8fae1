//! `cargo xtask search`: a search over activation functions by successive halving. The
//! candidates of a search space are screened (`actfn_search::screen`), trained briefly in a
//! first stage, the better half trained longer in the next, and so on; the finalists are then
//! compared with built-ins under the study's full protocol over many seeds, with the sweep's
//! statistics. Every stage is a sweep folder under `searches/NAME/`, so a search resumes where
//! it stopped, stage by stage and run by run. At the end its report (`report`: `page`'s
//! sections, then the final comparison's statistics) goes into the search folder or `--page`.

mod page;
mod report;

use std::path::PathBuf;

use actfn_activations::{Activation, NonFinitePolicy};
use actfn_search::{Candidate, Space, Standing, promote, screen, survivors};
use actfn_sweep::{RunStatus, SweepDir, SweepSettings};
use actfn_train::NetworkState;
use anyhow::Context;
use clap::{Args, Subcommand};

use crate::train::{ActList, NonFiniteArgs, OutputArgs};

/// Arguments of `cargo xtask search`: a search, or `search report`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SearchArgs {
    #[command(subcommand)]
    action: Option<SearchAction>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum SearchAction {
    /// Write a search's report again from a results page's own files (standings.csv,
    /// candidates.json, runs.csv), without the search's folder.
    Report(report::ReportArgs),
}

/// Arguments of a search.
#[derive(Args, Debug)]
struct RunArgs {
    /// The search's name: its folder is searches/NAME.
    #[arg(long, default_value = "default", conflicts_with = "out")]
    name: String,
    /// The search's folder (instead of searches/NAME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Unary operations of the core units, formulas of x, comma-separated [default: the list
    /// of Ramachandran et al. 2017 in the formula language]; "" for none.
    #[arg(long)]
    unary: Option<String>,
    /// Binary operations of the core units, formulas of U and V (the two unary results), e.g.
    /// `U * V,max(U, V)` [default: theirs]; "" for none.
    #[arg(long)]
    binary: Option<String>,
    /// Formulas of x added as candidates as they are.
    #[arg(long, default_value = "")]
    formulas: String,
    /// At most this many candidates, drawn at random (seeded by --seed) from those that pass
    /// the screen.
    #[arg(long)]
    budget: Option<usize>,
    /// Seed of the budget's draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The halving stages, each training images x epochs (`all` for every image),
    /// comma-separated: every candidate trains in the first, the better half of each stage
    /// (by best validation accuracy) in the next.
    #[arg(long, default_value = "10000x1,20000x2,allx5", value_parser = parse_stages)]
    stages: Stages,
    /// Candidates the halving ends with.
    #[arg(long, default_value_t = 4, value_parser = crate::at_least_one)]
    finalists: usize,
    /// Built-ins the finalists are compared with, comma-separated.
    #[arg(long, default_value = "relu,swish,gelu", value_parser = crate::train::parse_act_list)]
    against: ActList,
    /// Seeds of the final comparison.
    #[arg(long, default_value_t = 10, value_parser = crate::at_least_one)]
    final_seeds: usize,
    /// The final comparison's training images x epochs [default: the study's, all x 50].
    #[arg(long, default_value = "allx50", value_parser = parse_stage)]
    final_stage: Stage,
    /// Runs at once, each in its own process.
    #[arg(long, default_value_t = 2, value_parser = crate::at_least_one)]
    jobs: usize,
    /// Instead of running a stage: write its job array for a cluster (`slurm`) and print the
    /// command that submits it; run the same search command again when the array has
    /// finished, and it goes on to the next stage.
    #[arg(long, value_enum)]
    emit: Option<crate::sweep::Emit>,
    #[command(flatten)]
    slurm: crate::sweep::SlurmArgs,
    /// Where the search's report goes (a results page's folder) [default: the search folder].
    #[arg(long, value_name = "DIR")]
    page: Option<PathBuf>,
    #[command(flatten)]
    text: report::PageText,
}

/// A stage's training: images (`None`: all) and epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    subset: Option<usize>,
    epochs: usize,
}

/// `10000 images x 1 epochs`, `all images x 50 epochs`.
impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&actfn_search::training(self.subset, self.epochs))
    }
}

/// The halving stages, as one argument.
#[derive(Debug, Clone)]
pub struct Stages(Vec<Stage>);

/// Parses `10000x1` or `allx50`.
fn parse_stage(text: &str) -> Result<Stage, String> {
    let bad = || format!("{text:?} is not IMAGESxEPOCHS, e.g. 10000x1 or allx50");
    let (images, epochs) = text.trim().split_once('x').ok_or_else(bad)?;
    let subset = match images {
        "all" => None,
        n => Some(n.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(bad)?),
    };
    let epochs = epochs
        .parse::<usize>()
        .ok()
        .filter(|&e| e > 0)
        .ok_or_else(bad)?;
    Ok(Stage { subset, epochs })
}

fn parse_stages(text: &str) -> Result<Stages, String> {
    text.split(',')
        .map(parse_stage)
        .collect::<Result<_, _>>()
        .map(Stages)
}

/// Formulas of a comma-separated list, with commas inside parentheses kept.
fn formula_list(text: &str) -> Vec<String> {
    crate::train::split_names(text)
        .into_iter()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect()
}

pub fn run(args: &SearchArgs) -> anyhow::Result<()> {
    match &args.action {
        Some(SearchAction::Report(args)) => report::report(args),
        None => search(&args.run),
    }
}

/// A search: its stages trained (what is not finished), then its report.
fn search(args: &RunArgs) -> anyhow::Result<()> {
    // Read before anything is written: a findings file that does not read changes nothing.
    let preface = args.text.preface()?;
    let root = args
        .out
        .clone()
        .unwrap_or_else(|| crate::project_root().join("searches").join(&args.name));
    let defaults = Space::default();
    let space = Space {
        unary: args.unary.as_deref().map_or(defaults.unary, formula_list),
        binary: args.binary.as_deref().map_or(defaults.binary, formula_list),
        formulas: formula_list(&args.formulas),
    };
    let against = ActList::activations(Some(&args.against), NonFiniteArgs::default())?;
    let screened = screen(&space.formulas(), args.budget, args.seed);
    say!(
        "Search {}: {} formulas, {} candidates ({} skipped{})",
        root.display(),
        space.formulas().len(),
        screened.kept.len(),
        screened.skipped.len(),
        match screened.not_drawn {
            0 => String::new(),
            n => format!(", {n} not drawn for --budget"),
        }
    );
    if screened.kept.is_empty() {
        let reasons: Vec<String> = screened
            .skipped
            .iter()
            .take(3)
            .map(|s| format!("{}: {}", s.formula, s.reason))
            .collect();
        anyhow::bail!(
            "no formula of the search space passed the screen ({}{}); give other --unary, \
             --binary or --formulas",
            reasons.join("; "),
            if screened.skipped.len() > 3 {
                "; ..."
            } else {
                ""
            }
        );
    }
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    actfn_io::atomic_write(
        &root.join(report::CANDIDATES),
        serde_json::to_string_pretty(&screened)?.as_bytes(),
    )?;

    let mut candidates = screened.kept.clone();
    // Every stage's standings, the final comparison's last.
    let mut all: Vec<Standing> = Vec::new();
    for (k, stage) in args.stages.0.iter().enumerate() {
        let last = k + 1 == args.stages.0.len();
        let keep = if last {
            args.finalists.min(candidates.len())
        } else {
            survivors(candidates.len(), args.finalists)
        };
        let acts = formulas_of(&candidates)?;
        let dir = SweepDir::new(&root.join(format!("stage-{k}")));
        let settings = settings(acts, *stage, 1)?;
        say!(
            "Stage {k}: {} candidates, {stage}; the best {keep} go on",
            candidates.len()
        );
        let Some(standings) = train_stage(&dir, &settings, args, &k.to_string(), stage)? else {
            return Ok(());
        };
        // A function without a score (every run diverged) has nothing to go on with.
        let scores: Vec<(String, f64)> = standings
            .iter()
            .filter(|s| s.best_val_acc.is_finite())
            .map(|s| (s.label.clone(), s.best_val_acc))
            .collect();
        let promoted = promote(&scores, keep);
        candidates = promoted
            .iter()
            .filter_map(|label| candidates.iter().find(|c| &c.label == label))
            .cloned()
            .collect();
        all.extend(standings);
        if candidates.len() <= args.finalists {
            break;
        }
    }

    let mut acts = formulas_of(&candidates)?;
    let built_ins: Vec<Activation> = against
        .iter()
        .copied()
        .filter(|a| !acts.contains(a))
        .collect();
    acts.extend(built_ins);
    let final_dir = SweepDir::new(&root.join("final"));
    let settings = settings(acts, args.final_stage, args.final_seeds)?;
    say!(
        "Final: {} finalists and {} built-ins x {} seeds",
        candidates.len(),
        against.len(),
        args.final_seeds
    );
    let Some(finals) = train_stage(&final_dir, &settings, args, page::FINAL, &args.final_stage)?
    else {
        return Ok(());
    };

    all.extend(finals);
    let inputs = actfn_sweep::report::gather(std::slice::from_ref(&final_dir.root))?;
    let out = args.page.as_ref().unwrap_or(&root);
    let report = report::write_report(&screened, &all, &inputs, out, preface)?;
    say!("Search report: {}", report.display());
    Ok(())
}

/// The candidates as activation functions (each passed the safety check in the screen).
fn formulas_of(candidates: &[Candidate]) -> anyhow::Result<Vec<Activation>> {
    candidates
        .iter()
        .map(|c| Ok(Activation::formula(&c.formula, NonFinitePolicy::Refuse)?))
        .collect()
}

/// A stage's sweep: `acts` over `seeds` seeds with the stage's images and epochs, the study's
/// protocol otherwise, one thread per run.
fn settings(acts: Vec<Activation>, stage: Stage, seeds: usize) -> anyhow::Result<SweepSettings> {
    let mut settings = SweepSettings::default();
    settings.axes.act_fn = acts;
    settings.axes.seed = (0..seeds as u64).collect();
    settings.template.subset = stage.subset;
    settings.template.max_epochs = stage.epochs;
    settings.threads = 1;
    settings.validate()?;
    Ok(settings)
}

/// The task command of a search's runs: a sweep task without TensorBoard events.
fn task() -> anyhow::Result<actfn_sweep::slurm::TaskCommand> {
    crate::sweep::task_command(&OutputArgs {
        no_tensorboard: true,
    })
}

/// Trains the stage's sweep (what is not finished) and reads each function's standing; with
/// `--emit slurm` and runs left, writes their job array instead and returns `None`.
fn train_stage(
    dir: &SweepDir,
    settings: &SweepSettings,
    args: &RunArgs,
    name: &str,
    stage: &Stage,
) -> anyhow::Result<Option<Vec<Standing>>> {
    let trained = crate::sweep::train_or_emit(
        dir,
        settings,
        &crate::sweep::Training {
            jobs: args.jobs,
            emit: args.emit,
            slurm: args.slurm.settings(),
            task: task()?,
        },
        "search",
    );
    // A function whose training diverges has its result: it is ranked last.
    let trained = match trained {
        Err(e) => match e.downcast_ref::<actfn_sweep::Error>() {
            Some(actfn_sweep::Error::Diverged(runs)) => {
                say!(
                    "{} runs diverged (a NaN or infinite loss); their functions have no \
                     accuracy and are ranked last",
                    runs.len()
                );
                true
            }
            _ => return Err(e),
        },
        Ok(trained) => trained,
    };
    if !trained {
        return Ok(None);
    }
    let statuses = dir.statuses(settings)?;
    let mut standings = Vec::new();
    for &act in &settings.axes.act_fn {
        let diverged = statuses
            .iter()
            .filter(|(spec, status)| spec.act == act && matches!(status, RunStatus::Diverged(_)))
            .count();
        let runs: Vec<&actfn_sweep::FinishedRun> = statuses
            .iter()
            .filter_map(|(spec, status)| match status {
                RunStatus::Finished(run) if spec.act == act => Some(run.as_ref()),
                _ => None,
            })
            .collect();
        let mean = |value: &dyn Fn(&actfn_sweep::FinishedRun) -> Option<f64>| {
            let values: Vec<f64> = runs.iter().filter_map(|r| value(r)).collect();
            if values.is_empty() {
                f64::NAN
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            }
        };
        let initial = |r: &actfn_sweep::FinishedRun| NetworkState::at(&r.record.dynamics, 0);
        let (normal_mean, normal_variance) = normal_moments_of(act);
        standings.push(Standing {
            stage: name.to_string(),
            images: stage.subset,
            epochs: stage.epochs,
            function: act.name().to_string(),
            label: act.key().to_string(),
            runs: runs.len(),
            diverged,
            best_val_acc: mean(&|r| Some(r.record.summary.best_val_acc)),
            test_acc: mean(&|r| Some(r.record.summary.test_acc)),
            gradient_ratio_log10: mean(&|r| initial(r).gradient_ratio_log10),
            dead_share: mean(&|r| initial(r).dead_share),
            last_mean: mean(&|r| initial(r).last_mean),
            last_std: mean(&|r| initial(r).last_std),
            normal_mean,
            normal_variance,
        });
    }
    Ok(Some(standings))
}

/// E f(Z) and Var f(Z) of a formula, or of a built-in through its formula (NaN for PReLU,
/// which no formula says).
fn normal_moments_of(act: Activation) -> (f64, f64) {
    let expr = match act {
        Activation::Formula(f) => Some(f.expr().clone()),
        builtin => actfn_activations::parse(&format!("{}(x)", builtin.key())).ok(),
    };
    expr.map_or((f64::NAN, f64::NAN), |e| actfn_search::normal_moments(&e))
}
