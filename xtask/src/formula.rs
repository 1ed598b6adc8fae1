//! `cargo xtask formula`: what a formula of `x` is to actfn, before training it: its canonical
//! form and label, its derivative, the safety check's finding, the built-in it may be, and its
//! PyTorch translation (what a sweep's `--peer` runs).

use actfn_activations::{Activation, Expr, NonFinitePolicy, check, parse};
use clap::Args;
use serde::Serialize;

/// Arguments of `cargo xtask formula`.
#[derive(Args, Debug)]
pub struct FormulaArgs {
    /// The formula, e.g. `x*sigmoid(1.702*x)`.
    formula: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// What is said of a formula.
#[derive(Serialize)]
struct Description {
    formula: String,
    label: String,
    derivative: String,
    /// The built-in the formula is, spelled out.
    builtin: Option<String>,
    /// The safety check's finding; none when the formula is finite on the whole probe grid.
    non_finite: Option<String>,
    torch: String,
}

pub fn run(args: &FormulaArgs) -> anyhow::Result<()> {
    let expr: Expr =
        parse(&args.formula).map_err(|e| anyhow::anyhow!("formula {:?}: {e}", args.formula))?;
    // Accepted here only to describe it: training still refuses what the check finds.
    let Activation::Formula(formula) = Activation::formula(&args.formula, NonFinitePolicy::Accept)?
    else {
        anyhow::bail!("{:?} is not a formula", args.formula);
    };
    let description = Description {
        formula: formula.text().to_string(),
        label: formula.label().to_string(),
        derivative: formula.derivative().to_string(),
        builtin: formula.twin().map(|b| b.name().to_string()),
        non_finite: check(&expr).err().map(|e| e.to_string()),
        torch: expr.to_torch(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&description)?);
        return Ok(());
    }
    let builtin = description.builtin.as_deref().map_or_else(
        || "none: trains with its own kernel".to_string(),
        |name| format!("{name}: trains with its kernels, bit for bit"),
    );
    let safety = description.non_finite.as_deref().map_or_else(
        || "finite, with its derivative, at every probe point (f32 and f64)".to_string(),
        |finding| format!("{finding} (train it with --accept-non-finite)"),
    );
    println!("formula     {}", description.formula);
    println!("label       {}", description.label);
    println!("derivative  {}", description.derivative);
    println!("built-in    {builtin}");
    println!("safety      {safety}");
    println!("PyTorch     {}", description.torch);
    Ok(())
}
