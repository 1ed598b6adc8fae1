//! `search.md`: the screen, each stage's leaderboard with the candidates' measurements and the
//! mechanism study, the final comparison, and the skipped formulas.

use std::fmt::Write as _;
use std::path::Path;

use actfn_search::{Screened, promote};

use super::{MEASUREMENTS, Stage, Standing, mechanism};

/// A number, or `-` for NaN; `-0.000` as `0.000`.
fn number(v: f64, digits: usize) -> String {
    if v.is_nan() {
        return "-".into();
    }
    let v = if v.abs() < 0.5 * 10f64.powi(-(digits as i32)) {
        0.0
    } else {
        v
    };
    format!("{v:.digits$}")
}

/// The leaderboard of `standings`, best validation accuracy first.
fn leaderboard(md: &mut String, standings: &[Standing]) {
    md.push_str("| rank | function | label |");
    for name in MEASUREMENTS {
        let _ = write!(md, " {name} |");
    }
    md.push_str(" best val acc | test acc |\n|---:|---|---|");
    md.push_str(&"---:|".repeat(MEASUREMENTS.len() + 2));
    md.push('\n');
    let scores: Vec<(usize, f64)> = standings
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.best_val_acc))
        .collect();
    for (rank, i) in promote(&scores, scores.len()).into_iter().enumerate() {
        let s = &standings[i];
        let _ = write!(
            md,
            "| {} | `{}` | {} |",
            rank + 1,
            s.act.name(),
            s.act.key()
        );
        for &m in &s.measurements {
            let _ = write!(md, " {} |", number(m, 3));
        }
        let _ = writeln!(
            md,
            " {}% | {}% |",
            number(100.0 * s.best_val_acc, 2),
            number(100.0 * s.test_acc, 2)
        );
    }
}

/// The mechanism study of `standings` against `accuracy`, named `what`.
fn mechanism_table(
    md: &mut String,
    standings: &[Standing],
    accuracy: fn(&Standing) -> f64,
    what: &str,
) {
    let (found, prediction) = mechanism(standings, accuracy);
    let _ = writeln!(
        md,
        "\nWhich measurement orders the functions as their {what} does: Spearman's rank \
         correlation with its 95% bootstrap interval (the functions resampled); an interval that \
         holds 0 says nothing either way.\n\n| measurement | functions | Spearman ρ [95% CI] |\n|---|---:|---|"
    );
    for a in &found {
        let rho = match (a.rho, a.interval) {
            (Some(rho), Some(i)) => format!("{rho:.2} [{:.2}, {:.2}]", i.lo, i.hi),
            (Some(rho), None) => format!("{rho:.2} (no interval: resamples without spread)"),
            _ => "-".into(),
        };
        let _ = writeln!(md, "| {} | {} | {rho} |", a.measurement, a.n);
    }
    match prediction {
        Some(p) => {
            let _ = writeln!(
                md,
                "\nRanked by the single measurement that correlates most on the other folds \
                 ({} folds; chosen: {}), held-out functions correlate with their {what} at \
                 ρ = {:.2} on average; the trivial ranking (none) has 0.",
                p.folds,
                p.chosen.join(", "),
                p.held_out_rho
            );
        }
        None => md.push_str("\nToo few functions for a cross-validated ranking.\n"),
    }
}

/// The search's page.
pub(super) fn search_page(
    screened: &Screened,
    stages: &[(Stage, Vec<Standing>)],
    finals: &[Standing],
    final_dir: &Path,
) -> String {
    let mut md = String::from("# Search\n\n");
    let _ = writeln!(
        md,
        "{} candidates passed the screen; {} formulas were skipped{}. Measurements of the \
         initial network are epoch 0 of each run's dynamics (the gradient on the first batch, \
         the probe images' activations); E f(Z) and Var f(Z) are the function's own under a \
         standard normal input.\n",
        screened.kept.len(),
        screened.skipped.len(),
        match screened.not_drawn {
            0 => String::new(),
            n => format!(" and {n} candidates were not drawn for the budget"),
        }
    );
    for (k, (stage, standings)) in stages.iter().enumerate() {
        let _ = writeln!(
            md,
            "## Stage {k}: {} images x {} epochs\n",
            stage.subset.map_or("all".to_string(), |n| n.to_string()),
            stage.epochs
        );
        leaderboard(&mut md, standings);
        mechanism_table(
            &mut md,
            standings,
            |s| s.best_val_acc,
            "best validation accuracy",
        );
        md.push('\n');
    }
    md.push_str("## Final comparison\n\nThe finalists and the built-ins, mean over seeds:\n\n");
    leaderboard(&mut md, finals);
    mechanism_table(&mut md, finals, |s| s.test_acc, "test accuracy");
    let _ = writeln!(
        md,
        "\nTheir comparison with the sweep's statistics: {}.\n\n## Skipped\n\n| formula | reason |\n|---|---|",
        final_dir.join("report.md").display()
    );
    for s in &screened.skipped {
        let _ = writeln!(md, "| `{}` | {} |", s.formula, s.reason);
    }
    md
}
