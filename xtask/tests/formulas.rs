//! Formulas of `x` wherever a function's name goes: hostile formulas on the command line are
//! one clear error each and change nothing, and formulas that are built-ins spelled out train
//! in a sweep exactly as their built-in twins.

mod common;

use common::{assert_refused, assert_success, snapshot, text, xtask};

/// Every hostile formula the issue lists, with the words its error must contain.
fn hostile() -> Vec<(String, &'static str)> {
    let deep = format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000));
    vec![
        (String::new(), "empty formula"),
        (deep, "nested more than 256 levels deep"),
        ("x * sigmod(x)".into(), "did you mean 'sigmoid'?"),
        ("swiglu".into(), "unknown activation function \"swiglu\""),
        ("relu(x".into(), "unmatched '(' at column 5"),
        ("x)".into(), "unmatched ')' at column 2"),
        ("x^x".into(), "exponent must be a constant number"),
        ("x / 0".into(), "division by zero"),
        ("nan * x".into(), "numbers must be finite"),
        ("x·2".into(), "non-ASCII character '·' at column 2"),
        (
            "x * exp(x)".into(),
            "overflows at x = 84.27694 in f32; pass --accept-non-finite",
        ),
    ]
}

#[test]
fn hostile_formulas_are_one_error_each_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let sweep = dir.path().join("sweep");
    for (formula, needle) in hostile() {
        let train = xtask()
            .args(["train", "--epochs", "1", "--subset", "256", "--act"])
            .arg(&formula)
            .arg("--checkpoint-dir")
            .arg(&checkpoints)
            .output()
            .unwrap();
        assert_refused(&train, needle);
        // Beside a valid name, in a sweep's list.
        let acts = format!("relu,{formula}");
        let swept = xtask()
            .args(["sweep", "--seeds", "1", "--subset", "256", "--acts", &acts])
            .arg("--out")
            .arg(&sweep)
            .output()
            .unwrap();
        assert_refused(&swept, needle);
        assert!(
            snapshot(dir.path()).is_empty(),
            "{formula:.40}: wrote files"
        );
    }
}

#[test]
fn a_formula_is_described_with_its_label_derivative_and_translation() {
    let output = xtask()
        .args(["formula", "x*sigmoid(x*1.702)"])
        .output()
        .unwrap();
    assert_success(&output);
    let said = text(&output);
    assert!(
        said.contains("formula     x * sigmoid(1.702 * x)"),
        "{said}"
    );
    assert!(said.contains("label       f-9d17a84506a9"), "{said}");
    assert!(
        said.contains("PyTorch     (x * torch.sigmoid(((1.702) * x)))"),
        "{said}"
    );
    let swish = xtask()
        .args(["formula", "x * sigmoid(x)"])
        .output()
        .unwrap();
    assert!(text(&swish).contains("built-in    Swish: trains with its kernels, bit for bit"));
}

/// Three built-ins spelled out as formulas beside the built-ins, 5 seeds at `--subset` size:
/// every formula's run has its twin's accuracies to the last digit, and the report read back
/// from `runs.csv` alone names the formulas.
#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn formulas_beside_their_twins_train_identically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("twins");
    let twins = [
        ("swish", "x * sigmoid(x)"),
        (
            "gelu_tanh",
            "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
        ),
        ("mish", "x * tanh(softplus(x))"),
    ];
    let acts = twins
        .iter()
        .flat_map(|(name, formula)| [*name, *formula])
        .collect::<Vec<_>>()
        .join(",");
    let output = xtask()
        .args(["sweep", "--acts", &acts, "--seeds", "5", "--subset", "2048"])
        .args(["--epochs", "3", "--threads", "1", "--jobs", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&output);
    let rows = actfn_sweep::report::read_runs_csv(&out.join("runs.csv")).unwrap();
    let results = |act: &str, seed: u64| {
        let row = rows
            .iter()
            .find(|r| r.act == act && r.seed == seed)
            .unwrap_or_else(|| panic!("no run of {act} seed {seed}"));
        (
            row.best_val_acc,
            row.test_acc,
            row.best_epoch,
            row.epochs_run,
        )
    };
    assert_eq!(rows.len(), 30);
    for (name, formula) in twins {
        for seed in 0..5 {
            assert_eq!(
                results(name, seed),
                results(formula, seed),
                "{name} and {formula}, seed {seed}"
            );
        }
    }
    // The page a results folder keeps: the report from runs.csv alone.
    let again = dir.path().join("again");
    let report = xtask()
        .args(["sweep", "report", "--runs-csv"])
        .arg(out.join("runs.csv"))
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert_success(&report);
    let page = std::fs::read_to_string(again.join("report.md")).unwrap();
    assert!(page.contains("| x * tanh(softplus(x)) |"), "{page}");
}
