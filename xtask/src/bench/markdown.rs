//! The benchmark's page, docs/bench/README.md, from its measurements.

use std::fmt::Write as _;

use super::Report;
use super::ceiling::ceiling_flop;
use super::worker::{FunctionEpoch, Measurement, Timing};

fn ratio(a: f64, b: Option<f64>) -> String {
    b.map_or("-".into(), |b| format!("{:.2}", a / b))
}

/// A row of the table: what is measured, how to read it from a measurement, its unit.
type Row = (&'static str, fn(&Measurement) -> Timing, &'static str);

/// The Markdown page of a report.
pub(super) fn markdown(report: &Report) -> String {
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
    md.push_str("\n| threads | matrix-product ceiling (1024³ f32, gemm) | training step achieved | share of the ceiling | the step's products alone (candle) | plain candle autograd step |\n|---:|---:|---:|---:|---:|---:|\n");
    let ceiling_gflop = ceiling_flop() / 1e9;
    for a in &report.actfn {
        // GFLOP/s of a median and a best time: the ceiling and the step are read with the
        // same statistic, so that a machine slower in one part of the run than in another
        // does not set a best ceiling against a median step.
        let rates = |gflop: f64, t: Timing| (gflop / (t.median / 1e3), gflop / (t.min / 1e3));
        let (ceiling, best_ceiling) = a
            .matmul_ms
            .map_or((f64::NAN, f64::NAN), |t| rates(ceiling_gflop, t));
        let (achieved, best_achieved) = rates(report.step_gflop, a.step_ms);
        let _ = writeln!(
            md,
            "| {} | {ceiling:.1} ({best_ceiling:.1}) GFLOP/s | {achieved:.1} ({best_achieved:.1}) GFLOP/s | {:.0}% ({:.0}%) | {} | {} |",
            a.threads,
            100.0 * achieved / ceiling,
            100.0 * best_achieved / best_ceiling,
            a.products_ms.map_or("-".into(), |t| format!(
                "{:.2} ms ({:.0}% of the step)",
                t.median,
                100.0 * t.median / a.step_ms.median
            )),
            a.autograd_step_ms
                .map_or("-".into(), |t| format!("{:.2} ms", t.median))
        );
    }
    md.push_str(
        "\nThe ceiling and the step are compared median to median, and best to best in brackets \
         (the step's fastest of its timed steps, the product's fastest of its runs).\n",
    );
    md.push_str("\n| threads | load, verify, normalize and split the data set | one epoch of batch slicing (no model) | a run's TensorBoard events of one epoch (of the epoch) |\n|---:|---:|---:|---:|\n");
    for a in &report.actfn {
        let cell = |t: Option<Timing>| {
            t.map_or("-".into(), |t| format!("{:.3} ({:.3}) s", t.median, t.min))
        };
        let events = a.events_ms.map_or("-".into(), |t| {
            format!(
                "{:.1} ms ({:.2}%)",
                t.median,
                100.0 * t.median / (1e3 * a.epoch_s.median)
            )
        });
        let _ = writeln!(
            md,
            "| {} | {} | {} | {events} |",
            a.threads,
            cell(a.data_load_s),
            cell(a.batch_epoch_s)
        );
    }
    formulas(report, &mut md);
    whole_commands(report, &mut md);
    md
}

/// The section on formulas: a training epoch with Swish written as formulas, against Swish.
fn formulas(report: &Report, md: &mut String) {
    let measured: Vec<(u16, &[FunctionEpoch])> = report
        .actfn
        .iter()
        .filter_map(|a| a.formula_epochs_s.as_deref().map(|f| (a.threads, f)))
        .collect();
    let Some(&(_, first)) = measured.first() else {
        return;
    };
    md.push_str(
        "\nFormulas (`--act \"x * sigmoid(x)\"`): a training epoch with Swish built in and with \
         Swish written as formulas; `x * sigmoid(x)` is Swish spelled out and runs its kernels, \
         `x * (0.5 + 0.5 * tanh(0.5 * x))` is the same function through the formula evaluator \
         (the formula and its derivative node by node over chunks). Ratios to the built-in, \
         median to median.\n\n| threads |",
    );
    for f in first {
        let _ = write!(md, " `{}` |", f.function);
    }
    md.push_str("\n|---:|");
    md.push_str(&"---:|".repeat(first.len()));
    md.push('\n');
    for (threads, epochs) in measured {
        let _ = write!(md, "| {threads} |");
        let builtin = epochs[0].epoch_s.median;
        for (k, f) in epochs.iter().enumerate() {
            let t = f.epoch_s;
            let _ = write!(md, " {:.3} ({:.3}) s", t.median, t.min);
            if k > 0 {
                let _ = write!(md, ", {:.2}x", t.median / builtin);
            }
            md.push_str(" |");
        }
        md.push('\n');
    }
}

/// Epochs of a typical run of the study's protocol (early stopping ends most runs between 30 and
/// 50), for turning epochs per hour into runs per hour.
const STUDY_EPOCHS_PER_RUN: f64 = 40.0;

/// The section on whole commands: `reproduce --quick`'s memory and the sweep throughput.
fn whole_commands(report: &Report, md: &mut String) {
    if let Some(quick) = report.reproduce_quick {
        let _ = writeln!(
            md,
            "\n`reproduce --quick` (the whole pipeline on 10,000 images, 2 epochs per network, default \
             settings): peak resident memory **{:.0} MiB**, {:.0} s.",
            quick.peak_mib, quick.wall_s
        );
    }
    if report.sweeps.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\nSweep throughput: the study's six activations, one seed, {} epochs each, through `cargo \
         xtask sweep` (child processes, data loading, dynamics and test evaluation included). Runs \
         per hour assume {STUDY_EPOCHS_PER_RUN:.0} epochs per run; short runs carry more of the \
         per-run start-up, so this is a lower bound.\n",
        report.sweeps[0].epochs_per_run
    );
    md.push_str("| --jobs | --threads | wall | epochs per hour | runs per hour |\n|---:|---:|---:|---:|---:|\n");
    for sweep in &report.sweeps {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} s | {:.0} | {:.0} |",
            sweep.jobs,
            sweep.threads,
            sweep.wall_s,
            sweep.epochs_per_hour,
            sweep.runs_per_hour(STUDY_EPOCHS_PER_RUN)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(median: f64, min: f64) -> Timing {
        Timing { median, min }
    }

    /// A step of half the ceiling's rate at the median and of all of it at the best: the page
    /// says 50% (100%), each statistic against its own kind.
    #[test]
    fn the_step_is_held_to_the_ceiling_median_to_median_and_best_to_best() {
        let ceiling_gflop = ceiling_flop() / 1e9;
        // The step's GFLOP equal the ceiling's: the shares are the ratios of the times.
        let measurement = Measurement {
            threads: 1,
            step_ms: timing(20.0, 5.0),
            epoch_s: timing(1.0, 1.0),
            validation_s: timing(0.1, 0.1),
            peak_mib: 300.0,
            matmul_ms: Some(timing(10.0, 5.0)),
            data_load_s: None,
            batch_epoch_s: None,
            events_ms: None,
            formula_epochs_s: None,
            products_ms: None,
            autograd_step_ms: None,
        };
        let report = Report {
            machine: "test CPU".into(),
            commit: "0000000".into(),
            candle: "0".into(),
            pytorch: None,
            step_gflop: ceiling_gflop,
            actfn: vec![measurement],
            pytorch_in_memory: Vec::new(),
            pytorch_dataloader: Vec::new(),
            reproduce_quick: None,
            sweeps: Vec::new(),
        };
        let page = markdown(&report);
        let row = page
            .lines()
            .find(|l| l.contains("GFLOP/s |"))
            .expect("the ceiling's row");
        assert!(row.contains("| 50% (100%) |"), "{row}");
        let rate = ceiling_gflop / 0.01;
        assert!(
            row.contains(&format!("{rate:.1} ({:.1}) GFLOP/s", 2.0 * rate)),
            "{row}"
        );
    }
}
