//! Nothing lost, nothing crashes: a killed training run resumes to the same result, and every
//! bad input ends in a clear one-line error with a non-zero exit code and no partial file.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{settings_only_sweep, wait_while_running, xtask};

fn run(args: &[&str]) -> Output {
    xtask().args(args).output().unwrap()
}

/// Asserts that `output` failed with one error line containing `needle` and no panic.
fn assert_clean_failure(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a failure mentioning {needle:?}, got success"
    );
    assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
}

/// The metrics of a run without the timing columns.
fn metrics_without_time(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("FashionMNIST_relu").join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
        .collect()
}

/// Epoch lines written so far (0 when the file is not there yet).
fn epochs_done(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("FashionMNIST_relu").join("metrics.csv"))
        .map_or(0, |text| text.lines().count().saturating_sub(1))
}

/// Runs `xtask train` into `dir` to the end, with `extra` flags; whether it succeeded.
fn train_into(dir: &Path, extra: &[&str]) -> bool {
    xtask()
        .args(TRAIN)
        .arg(dir)
        .args(extra)
        .status()
        .unwrap()
        .success()
}

/// Starts `xtask train` into `dir` with `extra` flags, waits until `ready(dir)` holds, waits
/// `delay_ms` more, and kills the process with SIGKILL.
fn train_and_kill(dir: &Path, extra: &[&str], ready: impl Fn(&Path) -> bool, delay_ms: u64) {
    let mut child = xtask().args(TRAIN).arg(dir).args(extra).spawn().unwrap();
    wait_while_running(&mut child, "training was ready to be killed", || ready(dir));
    std::thread::sleep(Duration::from_millis(delay_ms));
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The saved state of an interrupted run in `dir`.
fn resume_state(dir: &Path) -> std::path::PathBuf {
    dir.join("FashionMNIST_relu").join("resume.safetensors")
}

const TRAIN: [&str; 10] = [
    "train",
    "--act",
    "relu",
    "--subset",
    "8192",
    "--epochs",
    "6",
    "--threads",
    "2",
    "--checkpoint-dir",
];

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_killed_run_resumes_to_exactly_the_uninterrupted_result() {
    killed_run_resumes_exactly(&[]);
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_killed_adam_run_resumes_to_exactly_the_uninterrupted_result() {
    // Adam's moments and step counts are saved with the weights: a resumed run whose bias
    // correction restarted at step 1 would take other steps.
    killed_run_resumes_exactly(&["--optimizer", "adam", "--lr", "0.001"]);
}

/// Kills a run with `extra` flags twice and resumes it: its metrics and best checkpoint must be
/// the uninterrupted run's, bit for bit.
fn killed_run_resumes_exactly(extra: &[&str]) {
    let whole = tempfile::tempdir().unwrap();
    assert!(train_into(whole.path(), extra));

    let killed = tempfile::tempdir().unwrap();
    // Killed twice with SIGKILL, each time some way into an epoch after the given one finished.
    for (after_epoch, delay_ms) in [(1, 120), (3, 260)] {
        train_and_kill(
            killed.path(),
            extra,
            |dir| epochs_done(dir) >= after_epoch,
            delay_ms,
        );
        let resume = resume_state(killed.path());
        assert!(resume.is_file(), "no saved state after epoch {after_epoch}");
    }
    let output = xtask()
        .args(TRAIN)
        .arg(killed.path())
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("resuming after epoch"));

    assert_eq!(
        metrics_without_time(killed.path()),
        metrics_without_time(whole.path())
    );
    assert_eq!(metrics_without_time(whole.path()).len(), 7);
    let checkpoint = |dir: &Path| std::fs::read(dir.join("FashionMNIST_relu.safetensors")).unwrap();
    assert!(
        checkpoint(killed.path()) == checkpoint(whole.path()),
        "the best checkpoints differ"
    );
    assert!(
        !resume_state(killed.path()).exists(),
        "a finished run left its saved state"
    );
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_saved_run_with_other_settings_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    train_and_kill(dir.path(), &[], |dir| resume_state(dir).is_file(), 0);
    let mut args = TRAIN.to_vec();
    args[8] = "1";
    let output = xtask().args(&args).arg(dir.path()).output().unwrap();
    assert_clean_failure(&output, "threads: saved 2, now 1");
    assert_clean_failure(&output, "--overwrite");
}

#[test]
fn flags_out_of_range_are_one_line_errors() {
    let cases: [(&[&str], &str); 12] = [
        (&["bench", "--steps", "0"], "--steps"),
        (&["bench", "--repeats", "0"], "--repeats"),
        (&["bench", "--threads", "1,0"], "--threads"),
        (
            &["train", "--act", "relu", "--epochs", "0"],
            "--epochs) must be at least 1",
        ),
        (
            &["train", "--act", "relu", "--batch-size", "0"],
            "--batch-size) must be at least 1",
        ),
        (
            &["train", "--act", "relu", "--lr", "-1"],
            "lr must be a finite number >= 0",
        ),
        (&["train", "--act", "relu", "--threads", "0"], "--threads"),
        (
            &["train", "--act", "swiglu"],
            "valid names are: sigmoid, tanh, relu, leakyrelu, elu, swish, gelu, gelu_tanh",
        ),
        (
            &["train", "--act", "relu", "--device", "tpu"],
            "unknown device \"tpu\"",
        ),
        (
            &["train", "--act", "relu", "--device", "cuda"],
            "--features cuda",
        ),
        (
            &["train", "--act", "relu", "--subset", "0"],
            "--subset must be at least 1",
        ),
        (
            &["eval", "--checkpoint-dir", "/nonexistent/actfn", "--all"],
            "/nonexistent/actfn",
        ),
    ];
    for (args, needle) in cases {
        assert_clean_failure(&run(args), needle);
    }
}

#[test]
fn bad_configs_and_checkpoints_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = actfn_model::BaseNetworkConfig::default();
    let (net, _) =
        actfn_model::BaseNetwork::seeded(config.clone(), 1, &candle_core::Device::Cpu).unwrap();
    net.save(dir.path(), "net").unwrap();
    let eval = |dir: &Path| {
        run(&[
            "eval",
            "--checkpoint-dir",
            dir.to_str().unwrap(),
            "--name",
            "net",
        ])
    };
    let config_file = dir.path().join("net.config");
    let weights_file = dir.path().join("net.safetensors");
    let good_weights = std::fs::read(&weights_file).unwrap();

    std::fs::write(&config_file, "{\"act_fn\": {\"name\": \"ReLU\"}, ").unwrap();
    assert_clean_failure(&eval(dir.path()), "net.config: not a valid network config");
    std::fs::write(
        &config_file,
        config
            .to_json()
            .replace("\"num_classes\"", "\"depth\": 3, \"num_classes\""),
    )
    .unwrap();
    assert_clean_failure(&eval(dir.path()), "unknown field `depth`");
    std::fs::write(&config_file, config.to_json().replace("[512,", "[0,")).unwrap();
    assert_clean_failure(&eval(dir.path()), "hidden_sizes[0] is 0");
    std::fs::write(&config_file, config.to_json()).unwrap();

    // A header that claims more bytes than the file has.
    let mut lying = good_weights.clone();
    lying.truncate(good_weights.len() - 1000);
    std::fs::write(&weights_file, &lying).unwrap();
    assert_clean_failure(
        &eval(dir.path()),
        "net.safetensors: not a readable safetensors file",
    );

    // A tensor of another dtype, and a missing tensor.
    let mut tensors: std::collections::HashMap<String, candle_core::Tensor> =
        net.named_parameters().into_iter().collect();
    let bias = tensors["layers.8.bias"]
        .to_dtype(candle_core::DType::F64)
        .unwrap();
    tensors.insert("layers.8.bias".into(), bias);
    candle_core::safetensors::save(&tensors, &weights_file).unwrap();
    assert_clean_failure(
        &eval(dir.path()),
        "tensor layers.8.bias is F64, expected f32",
    );
    tensors.remove("layers.8.bias");
    candle_core::safetensors::save(&tensors, &weights_file).unwrap();
    assert_clean_failure(&eval(dir.path()), "tensor layers.8.bias is missing");
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn unwritable_output_folders_are_errors_without_partial_files() {
    // A path below a regular file cannot be created, even by root.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let below = file.join("checkpoints");
    let output = run(&[
        "train",
        "--act",
        "relu",
        "--subset",
        "512",
        "--epochs",
        "1",
        "--checkpoint-dir",
        below.to_str().unwrap(),
    ]);
    assert_clean_failure(&output, "a-file/checkpoints");
    let output = run(&["reproduce", "--quick", "--out", below.to_str().unwrap()]);
    assert_clean_failure(&output, "a-file/checkpoints");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the file itself is there"
    );
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_diverging_run_stops_with_the_epoch_step_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&[
        "train",
        "--act",
        "relu",
        "--subset",
        "2048",
        "--epochs",
        "3",
        "--lr",
        "1e6",
        "--checkpoint-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_clean_failure(&output, "training diverged");
    assert_clean_failure(&output, "epoch 1, step");
    assert_clean_failure(&output, "--lr");
}

#[test]
fn missing_data_lists_every_source_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("FashionMNIST").join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    std::fs::write(raw.join("train-images-idx3-ubyte.gz"), b"").unwrap();
    let output = xtask()
        .args(["data"])
        .env("PATH_DATASETS", dir.path())
        .env("ACTFN_SYSTEM_DATASETS", dir.path().join("no-system-copy"))
        .output()
        .unwrap();
    assert_clean_failure(
        &output,
        "missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte",
    );
    assert_clean_failure(&output, "no-system-copy: no Fashion-MNIST files");
    assert_clean_failure(&output, "download from");
    assert_clean_failure(&output, "apt-get install dataset-fashion-mnist");
    let left: Vec<_> = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        ["train-images-idx3-ubyte.gz"],
        "a partial download was left behind"
    );
}

#[test]
fn a_full_standard_output_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    settings_only_sweep(dir.path());
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = xtask()
        .args(["sweep", "report", "--dir"])
        .arg(dir.path())
        .stdout(full)
        .output()
        .unwrap();
    assert_clean_failure(&output, "cannot write to standard output");
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_subset_larger_than_the_split_is_refused_not_shrunk() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask()
        .args([
            "train", "--act", "relu", "--epochs", "1", "--subset", "99999999",
        ])
        .arg("--checkpoint-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_clean_failure(&output, "--subset 99999999 is above the 50000 images");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn eval_says_when_a_checkpoint_is_of_a_run_that_has_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    let trained = xtask()
        .args([
            "train", "--act", "relu", "--subset", "2048", "--epochs", "1",
        ])
        .arg("--checkpoint-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(trained.status.success());
    let eval = || {
        let output = xtask()
            .args(["eval", "--all", "--checkpoint-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    assert!(
        eval().contains("| FashionMNIST_relu | ReLU |"),
        "{}",
        eval()
    );
    // As a retraining that diverged after its first best epoch leaves it.
    std::fs::remove_file(dir.path().join("FashionMNIST_relu").join("summary.json")).unwrap();
    let said = eval();
    assert!(
        said.contains("| FashionMNIST_relu (unfinished run) | ReLU |"),
        "{said}"
    );
}

/// What TensorBoard's own reader (`scripts/tensorboard-read.py`, run by the Python in
/// `ACTFN_TENSORBOARD_PYTHON`, which has the `tensorboard` package) finds in a run folder.
fn tensorboard_read(run_folder: &Path) -> serde_json::Value {
    let python = std::env::var_os("ACTFN_TENSORBOARD_PYTHON").expect(
        "set ACTFN_TENSORBOARD_PYTHON to a Python with the tensorboard package (python3 -m venv \
         /tmp/tb && /tmp/tb/bin/pip install tensorboard); .ci/run does",
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/tensorboard-read.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(run_folder)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The steps and values of a scalar series as TensorBoard read them.
fn series(events: &serde_json::Value, tag: &str) -> Vec<(u64, f64)> {
    events["scalars"][tag]
        .as_array()
        .unwrap_or_else(|| panic!("no scalar {tag}: {events}"))
        .iter()
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

/// A column of a run's metrics.csv.
fn metrics_column(dir: &Path, column: usize) -> Vec<f64> {
    std::fs::read_to_string(dir.join("FashionMNIST_relu").join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(column).unwrap().parse().unwrap())
        .collect()
}

#[test]
#[ignore = "needs the Fashion-MNIST files and ACTFN_TENSORBOARD_PYTHON; .ci/run runs it"]
fn tensorboard_reads_every_epoch_once_even_after_a_kill_and_a_cut_file() {
    let whole = tempfile::tempdir().unwrap();
    assert!(train_into(whole.path(), &[]));
    let events = tensorboard_read(&whole.path().join("FashionMNIST_relu"));
    // Scalars: one per epoch, equal to metrics.csv (as f32, which TensorBoard keeps).
    for (tag, column) in [
        ("train/loss", 1),
        ("train/accuracy", 2),
        ("validation/accuracy", 3),
    ] {
        let expected: Vec<(u64, f64)> = metrics_column(whole.path(), column)
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as u64 + 1, f64::from(v as f32)))
            .collect();
        assert_eq!(series(&events, tag), expected, "{tag}");
    }
    assert_eq!(series(&events, "learning_rate")[0].1, f64::from(0.01f32));
    // A histogram per epoch of each hidden layer's activations on the 1024 probe images: as
    // many values as units times images.
    for (layer, width) in [(1, 512), (3, 256), (5, 256), (7, 128)] {
        let counts = events["histograms"][format!("activations/layers.{layer}")]
            .as_array()
            .unwrap_or_else(|| panic!("no histogram of layers.{layer}: {events}"))
            .clone();
        assert_eq!(counts.len(), 6, "layers.{layer}");
        for c in counts {
            assert_eq!(
                c[1].as_f64().unwrap(),
                (1024 * width) as f64,
                "layers.{layer}"
            );
        }
    }
    // The study's histograms: the weight gradients at initialization (step 0) and the trained
    // network's activations (at the last epoch).
    let histogram = |tag: &str| {
        events["histograms"][tag]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        histogram("gradients_at_init/layers.0.weight"),
        [serde_json::json!([0, (784 * 512) as f64])]
    );
    assert_eq!(
        histogram("trained_activations/layers.7"),
        [serde_json::json!([6, (1024 * 128) as f64])]
    );
    // The hyperparameters, the metric they are compared by, the config as text.
    assert_eq!(events["hparams"]["activation"], "relu", "{events}");
    assert_eq!(events["hparams"]["lr"], 0.01, "{events}");
    assert!(
        events["metrics"]
            .as_array()
            .unwrap()
            .contains(&"test/accuracy".into())
    );
    let summary =
        std::fs::read_to_string(whole.path().join("FashionMNIST_relu/summary.json")).unwrap();
    let test_acc: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let test = series(&events, "test/accuracy");
    assert_eq!(test.len(), 1);
    assert_eq!(
        test[0].1,
        f64::from(test_acc["test_acc"].as_f64().unwrap() as f32)
    );
    assert!(
        events["text"]["config"][0]
            .as_str()
            .unwrap()
            .contains("\"patience\": 7")
    );

    // Killed in the middle of epochs, twice, then finished: every epoch once, the same values.
    let killed = tempfile::tempdir().unwrap();
    for (after_epoch, delay_ms) in [(1, 120), (3, 260)] {
        train_and_kill(
            killed.path(),
            &[],
            |dir| epochs_done(dir) >= after_epoch,
            delay_ms,
        );
    }
    // An event file cut short (a disk that filled, a copy interrupted) does not stop the
    // resumed run: its events are written anew from the run's records.
    let run_folder = killed.path().join("FashionMNIST_relu");
    for entry in std::fs::read_dir(&run_folder).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("tfevents") {
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        }
    }
    assert!(train_into(killed.path(), &[]));
    let resumed = tensorboard_read(&killed.path().join("FashionMNIST_relu"));
    for tag in ["train/loss", "validation/accuracy", "dead_share/layers.7"] {
        assert_eq!(series(&resumed, tag), series(&events, tag), "{tag}");
    }
    assert_eq!(series(&resumed, "test/accuracy"), test);
    let files = std::fs::read_dir(killed.path().join("FashionMNIST_relu"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .count();
    assert_eq!(files, 1, "a resumed run keeps one event file");

    // --no-tensorboard writes none.
    let quiet = tempfile::tempdir().unwrap();
    let mut args = TRAIN[..9].to_vec();
    args[6] = "1";
    args.extend(["--no-tensorboard", "--checkpoint-dir"]);
    assert!(
        xtask()
            .args(&args)
            .arg(quiet.path())
            .status()
            .unwrap()
            .success()
    );
    let names: Vec<String> = std::fs::read_dir(quiet.path().join("FashionMNIST_relu"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("tfevents")), "{names:?}");
}
