//! `cargo xtask search`: a search over activation functions by successive halving. The
//! candidates of a search space are screened (`actfn_search::screen`), trained briefly in a
//! first stage, the better half trained longer in the next, and so on; the finalists are then
//! compared with built-ins under the study's full protocol over many seeds, with the sweep's
//! statistics. Every stage is a sweep folder under `searches/NAME/`, so a search resumes where
//! it stopped, stage by stage and run by run. `page` writes `search.md`.

mod page;

use std::path::PathBuf;

use actfn_activations::{Activation, NonFinitePolicy};
use actfn_search::{Candidate, Space, promote, screen, survivors};
use actfn_sweep::{RunStatus, SweepDir, SweepSettings};
use anyhow::Context;
use clap::Args;

use crate::train::{ActList, NonFiniteArgs, OutputArgs};

/// Arguments of `cargo xtask search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
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
}

/// A stage's training: images (`None`: all) and epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    subset: Option<usize>,
    epochs: usize,
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

/// One stage's result for one candidate.
struct Standing {
    candidate: Candidate,
    best_val_acc: f64,
    test_acc: f64,
}

pub fn run(args: &SearchArgs) -> anyhow::Result<()> {
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
    anyhow::ensure!(
        !screened.kept.is_empty(),
        "no formula of the search space passed the screen; see the reasons with \
         `cargo xtask formula`, or give other --unary, --binary or --formulas"
    );
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    actfn_io::atomic_write(
        &root.join("candidates.json"),
        serde_json::to_string_pretty(&screened)?.as_bytes(),
    )?;

    let mut candidates = screened.kept.clone();
    let mut stages = Vec::new();
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
            "Stage {k}: {} candidates, {} images x {} epochs; the best {keep} go on",
            candidates.len(),
            stage.subset.map_or("all".to_string(), |n| n.to_string()),
            stage.epochs
        );
        let standings = train_stage(&dir, &settings, &candidates, args.jobs)?;
        let scores: Vec<(String, f64)> = standings
            .iter()
            .map(|s| (s.candidate.label.clone(), s.best_val_acc))
            .collect();
        let promoted = promote(&scores, keep);
        candidates = promoted
            .iter()
            .filter_map(|label| standings.iter().find(|s| &s.candidate.label == label))
            .map(|s| s.candidate.clone())
            .collect();
        stages.push((*stage, standings));
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
    settings.validate()?;
    final_dir.prepare(&settings)?;
    crate::sweep::run_here(&final_dir, args.jobs, task()?, None)?;

    let page = root.join("search.md");
    actfn_io::atomic_write(
        &page,
        page::search_page(&screened, &stages, &candidates, &final_dir.root).as_bytes(),
    )?;
    say!("Search page: {}", page.display());
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

/// Trains the stage's sweep (what is not finished) and reads each candidate's score: the mean
/// best validation accuracy over its runs.
fn train_stage(
    dir: &SweepDir,
    settings: &SweepSettings,
    candidates: &[Candidate],
    jobs: usize,
) -> anyhow::Result<Vec<Standing>> {
    dir.prepare(settings)?;
    crate::sweep::run_here(dir, jobs, task()?, None)?;
    let mut standings = Vec::new();
    for candidate in candidates {
        let runs: Vec<(f64, f64)> = dir
            .statuses(settings)?
            .into_iter()
            .filter_map(|(spec, status)| match status {
                RunStatus::Finished(run) if spec.act.key() == candidate.label => {
                    Some((run.record.summary.best_val_acc, run.record.summary.test_acc))
                }
                _ => None,
            })
            .collect();
        let mean = |f: fn(&(f64, f64)) -> f64| {
            if runs.is_empty() {
                f64::NAN
            } else {
                runs.iter().map(f).sum::<f64>() / runs.len() as f64
            }
        };
        standings.push(Standing {
            candidate: candidate.clone(),
            best_val_acc: mean(|r| r.0),
            test_acc: mean(|r| r.1),
        });
    }
    Ok(standings)
}
