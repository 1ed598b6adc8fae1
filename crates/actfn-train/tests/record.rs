//! `inspect`, the one check of a finished run: a run written as training writes it is
//! finished; each record out of range, out of step with the others or unreadable, and each
//! damaged checkpoint makes it damaged, naming the file; `set_aside` keeps every file.

use std::path::Path;

use actfn_diagnostics::LayerProbe;
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::{
    EpochMetrics, LayerDynamics, RunState, RunSummary, TrainConfig, inspect, run_dir, set_aside,
    write_dynamics_csv, write_metrics_csv, write_predictions_csv,
};
use candle_core::Device;

const NAME: &str = "FashionMNIST_relu";

/// A finished run of two epochs of a small network, as training leaves it.
fn finished_run(dir: &Path) -> RunSummary {
    let net = BaseNetworkConfig {
        hidden_sizes: vec![32, 16],
        ..BaseNetworkConfig::default()
    };
    let (network, _) = BaseNetwork::seeded(net, 3, &Device::Cpu).unwrap();
    network.save(dir, NAME).unwrap();
    let run = run_dir(dir, NAME);
    std::fs::create_dir_all(&run).unwrap();
    let metrics: Vec<EpochMetrics> = [0.71, 0.78]
        .iter()
        .enumerate()
        .map(|(i, &val_acc)| EpochMetrics {
            epoch: i + 1,
            train_loss: 0.9,
            train_acc: 0.7,
            val_acc,
            seconds: 1.5,
            samples_per_second: 3000.0,
        })
        .collect();
    write_metrics_csv(&run.join("metrics.csv"), &metrics).unwrap();
    let dynamics: Vec<LayerDynamics> = (1..=2)
        .flat_map(|epoch| {
            (0..3).map(move |layer| LayerDynamics {
                epoch,
                layer,
                weight_grad_norm: 0.5,
                activation: (layer < 2).then_some(LayerProbe {
                    dead_share: 0.0,
                    mean: 0.2,
                    std: 0.4,
                }),
            })
        })
        .collect();
    write_dynamics_csv(&run.join("dynamics.csv"), &dynamics).unwrap();
    let summary = RunSummary {
        name: NAME.into(),
        act_fn: "ReLU".into(),
        best_epoch: 2,
        best_val_acc: 0.78,
        test_acc: 0.77,
        epochs_run: 2,
        stopped_early: false,
        seconds: 3.0,
        device: "cpu".into(),
        threads: 1,
        host: "here".into(),
        train_config: TrainConfig {
            max_epochs: 2,
            ..TrainConfig::default()
        },
    };
    write_summary(dir, &summary);
    summary
}

fn write_summary(dir: &Path, summary: &RunSummary) {
    let json = serde_json::to_string_pretty(summary).unwrap();
    std::fs::write(run_dir(dir, NAME).join("summary.json"), json).unwrap();
}

/// The damage `inspect` finds, or a panic saying what it found instead.
fn damage(dir: &Path) -> actfn_train::Damage {
    match inspect(dir, NAME) {
        RunState::Damaged(damage) => damage,
        other => panic!("expected a damaged run, got {other:?}"),
    }
}

#[test]
fn a_run_as_training_leaves_it_is_finished_with_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let summary = finished_run(dir.path());
    let RunState::Finished(record) = inspect(dir.path(), NAME) else {
        panic!("not finished");
    };
    assert_eq!(record.summary, summary);
    assert_eq!(record.metrics.len(), 2);
    assert_eq!(record.dynamics.len(), 6);
    assert_eq!(record.net.hidden_sizes, [32, 16]);
    assert!(matches!(
        inspect(&dir.path().join("nothing"), NAME),
        RunState::Absent
    ));
    // A run folder without a summary is a run in progress.
    std::fs::remove_file(run_dir(dir.path(), NAME).join("summary.json")).unwrap();
    assert!(matches!(inspect(dir.path(), NAME), RunState::Unfinished));
    // A checkpoint without a run folder was made elsewhere.
    std::fs::remove_dir_all(run_dir(dir.path(), NAME)).unwrap();
    assert!(matches!(
        inspect(dir.path(), NAME),
        RunState::Imported(net) if net.hidden_sizes == [32, 16]
    ));
}

#[test]
fn records_out_of_range_or_out_of_step_make_the_run_damaged_naming_the_file() {
    let metrics_header = "epoch,train_loss,train_acc,val_acc,seconds,samples_per_second\n";
    let dynamics_header =
        "epoch,layer,weight_grad_norm,dead_share,activation_mean,activation_std\n";
    let cases: Vec<(&str, String, &str)> = vec![
        // The crafted records.
        (
            "metrics.csv",
            metrics_header.to_string(),
            "0 epochs recorded",
        ),
        (
            "metrics.csv",
            format!("{metrics_header}999,-1,7,5.0,-3,inf\n1,0.9,0.7,0.78,1.5,3000\n"),
            "expected 1",
        ),
        (
            "metrics.csv",
            format!("{metrics_header}1,0.9,0.7,0.71,1.5,3000\n2,0.9,7,0.78,1.5,3000\n"),
            "accuracies must be in [0, 1]",
        ),
        (
            "metrics.csv",
            format!("{metrics_header}1,0.9,0.7,0.71,1.5,3000\n2,0.9,0.7,0.75,1.5,3000\n"),
            "the best epoch 2 has validation accuracy 0.75",
        ),
        (
            "metrics.csv",
            format!("{metrics_header}1,0.9,0.7,0.71,1.5,3000\n2,-0.9,0.7,0.78,1.5,3000\n"),
            "must be finite and not negative",
        ),
        (
            "dynamics.csv",
            format!("{dynamics_header}1,100000000,0.5,,,\n"),
            "layer 100000000 is not one of the network's 3 layers",
        ),
        (
            "dynamics.csv",
            format!("{dynamics_header}1,18446744073709551615,0.5,,,\n"),
            "layer 18446744073709551615 is not one",
        ),
        (
            "dynamics.csv",
            format!("{dynamics_header}1,18446744073709551616,0.5,,,\n"),
            "line 2",
        ),
        (
            "dynamics.csv",
            format!("{dynamics_header}3,0,0.5,0,0.2,0.4\n"),
            "epoch 3 is not between 0 and epochs_run 2",
        ),
        (
            "dynamics.csv",
            format!("{dynamics_header}1,0,0.5,1.5,0.2,0.4\n"),
            "out of range",
        ),
        (
            "dynamics.csv",
            format!("{dynamics_header}1,2,0.5,0,0.2,0.4\n"),
            "out of range",
        ),
        (
            "summary.json",
            "{\"name\": 3".to_string(),
            "not a run summary",
        ),
    ];
    for (file, text, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        finished_run(dir.path());
        let path = run_dir(dir.path(), NAME).join(file);
        std::fs::write(&path, &text).unwrap();
        let damage = damage(dir.path());
        assert_eq!(damage.path, path, "{text:?}: {damage}");
        assert!(damage.reason.contains(needle), "{text:?}: {damage}");
    }
}

#[test]
fn predictions_are_read_back_and_checked_against_the_network_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    finished_run(dir.path());
    let file = run_dir(dir.path(), NAME).join("test_predictions.csv");
    // 77 of 100 right, as the summary's test accuracy 0.77 says.
    let classes: Vec<u32> = (0..100).map(|i| i % 10).collect();
    write_predictions_csv(&file, &classes).unwrap();
    let RunState::Finished(record) = inspect(dir.path(), NAME) else {
        panic!("not finished");
    };
    assert_eq!(record.predictions.as_deref(), Some(classes.as_slice()));
    // A class the network does not have.
    write_predictions_csv(&file, &[3, 10, 2]).unwrap();
    let d = damage(dir.path());
    assert!(
        d.path.ends_with("test_predictions.csv") && d.reason.contains("class 10"),
        "{d}"
    );
    // A count of predictions that cannot make the summary's accuracy.
    write_predictions_csv(&file, &[1, 2, 3]).unwrap();
    let d = damage(dir.path());
    assert!(
        d.reason
            .contains("cannot give the summary's test accuracy 0.77"),
        "{d}"
    );
    std::fs::write(&file, "label\n1\n").unwrap();
    assert!(damage(dir.path()).reason.contains("not a predictions file"));
}

#[test]
fn a_summary_out_of_range_makes_the_run_damaged() {
    type Edit = fn(&mut RunSummary);
    let cases: [(Edit, &str); 6] = [
        (|s| s.test_acc = 55.0, "accuracies must be in [0, 1]"),
        (|s| s.best_val_acc = -0.1, "accuracies must be in [0, 1]"),
        (
            |s| s.epochs_run = 3,
            "not between 1 and the run's max_epochs 2",
        ),
        (|s| s.best_epoch = 0, "best_epoch 0"),
        (|s| s.seconds = -1.0, "not a duration"),
        (|s| s.name = "FashionMNIST_tanh".into(), "not of"),
    ];
    for (edit, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut summary = finished_run(dir.path());
        edit(&mut summary);
        write_summary(dir.path(), &summary);
        let damage = damage(dir.path());
        assert!(damage.path.ends_with("summary.json"), "{damage}");
        assert!(damage.reason.contains(needle), "{needle}: {damage}");
    }
}

#[test]
fn a_record_larger_than_any_run_writes_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    finished_run(dir.path());
    let path = run_dir(dir.path(), NAME).join("dynamics.csv");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: 65 MiB on the file system's books, nothing on the disk.
    file.set_len(65 << 20).unwrap();
    let damage = damage(dir.path());
    assert!(damage.reason.contains("larger than"), "{damage}");
}

#[test]
fn a_damaged_lost_or_garbled_checkpoint_makes_the_run_damaged() {
    let weights = |dir: &Path| dir.join(format!("{NAME}.safetensors"));
    let config = |dir: &Path| dir.join(format!("{NAME}.config"));
    type Damage = fn(&Path, &Path, &Path);
    let cases: [(Damage, &str); 4] = [
        (
            |w, _, _| {
                let bytes = std::fs::read(w).unwrap();
                std::fs::write(w, &bytes[..bytes.len() / 2]).unwrap();
            },
            "not a readable safetensors",
        ),
        (
            |w, _, _| std::fs::remove_file(w).unwrap(),
            "its checkpoint is gone",
        ),
        (
            |_, c, _| std::fs::write(c, "{\"act_fn\": ").unwrap(),
            "not a valid network config",
        ),
        (
            |w, _, _| {
                let mut bytes = std::fs::read(w).unwrap();
                let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
                bytes[header..].fill(0xff);
                std::fs::write(w, &bytes).unwrap();
            },
            "NaN",
        ),
    ];
    for (spoil, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        finished_run(dir.path());
        spoil(&weights(dir.path()), &config(dir.path()), dir.path());
        let damage = damage(dir.path());
        assert!(damage.reason.contains(needle), "{needle}: {damage}");
    }
}

#[test]
fn set_aside_moves_every_file_with_the_reason_and_keeps_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    for round in 1..=2 {
        finished_run(dir.path());
        let aside = set_aside(dir.path(), NAME, "a test").unwrap();
        assert_eq!(
            aside,
            dir.path().join("set-aside").join(format!("{NAME}-{round}"))
        );
        assert!(matches!(inspect(dir.path(), NAME), RunState::Absent));
        assert_eq!(
            std::fs::read_to_string(aside.join("reason.txt")).unwrap(),
            "a test\n"
        );
        assert!(aside.join(NAME).join("summary.json").is_file());
        assert!(aside.join(format!("{NAME}.safetensors")).is_file());
        assert!(matches!(inspect(&aside, NAME), RunState::Finished(_)));
    }
}
