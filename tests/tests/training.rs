//! Training on the real data: the study's loop learns, repeats itself bit for bit, and skips
//! networks whose checkpoint exists.

use actfn_model::BaseNetworkConfig;
use actfn_tests::study_splits;
use actfn_train::{Silent, TrainConfig, run_dir, train};

#[test]
fn relu_reaches_78_percent_validation_accuracy_in_two_epochs() {
    let Some(splits) = study_splits() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        max_epochs: 2,
        ..TrainConfig::default()
    };
    let outcome = train(
        &BaseNetworkConfig::default(),
        &config,
        &splits,
        dir.path(),
        "relu",
        false,
        &mut Silent,
    )
    .unwrap();
    let val: Vec<f64> = outcome.metrics.iter().map(|m| m.val_acc).collect();
    assert_eq!(val.len(), 2);
    assert!(
        val[1] > 0.78,
        "validation accuracy after two epochs: {val:?}"
    );
    assert!(
        outcome.test_acc > 0.75,
        "test accuracy {}",
        outcome.test_acc
    );
}

#[test]
fn identical_runs_give_identical_metrics_and_an_existing_checkpoint_skips_training() {
    let Some(splits) = study_splits() else { return };
    let config = TrainConfig {
        max_epochs: 2,
        subset: Some(4096),
        ..TrainConfig::default()
    };
    let net = BaseNetworkConfig::with_activation("tanh".parse().unwrap());
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            train(
                &net,
                &config,
                &splits,
                dir.path(),
                "tanh",
                false,
                &mut Silent,
            )
            .unwrap();
            let csv =
                std::fs::read_to_string(run_dir(dir.path(), "tanh").join("metrics.csv")).unwrap();
            // Every column but the two timing columns.
            let numbers: Vec<String> = csv
                .lines()
                .map(|line| line.split(',').take(4).collect::<Vec<_>>().join(","))
                .collect();
            (dir, numbers)
        })
        .collect();
    assert_eq!(runs[0].1.len(), 3, "{:?}", runs[0].1);
    assert_eq!(runs[0].1, runs[1].1);

    let dir = runs[0].0.path();
    let before = std::fs::read(dir.join("tanh.safetensors")).unwrap();
    let again = train(&net, &config, &splits, dir, "tanh", false, &mut Silent).unwrap();
    assert!(!again.trained);
    let saved: Vec<f64> = again.metrics.iter().map(|m| m.val_acc).collect();
    assert_eq!(saved.len(), 2);
    assert_eq!(again.summary.unwrap().epochs_run, 2);
    assert_eq!(std::fs::read(dir.join("tanh.safetensors")).unwrap(), before);
}
