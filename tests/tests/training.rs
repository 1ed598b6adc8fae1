//! Training on the real data: the study's loop learns, repeats itself bit for bit, and skips
//! networks whose checkpoint exists.

use actfn_model::BaseNetworkConfig;
use actfn_tests::study_splits;
use actfn_train::{Existing, Outputs, Run, Silent, TrainConfig, run_dir, train};

/// A run of `net` with `config` into `dir`, named `name`.
fn run(net: &BaseNetworkConfig, config: &TrainConfig, dir: &std::path::Path, name: &str) -> Run {
    Run {
        net: net.clone(),
        config: config.clone(),
        dir: dir.to_path_buf(),
        name: name.to_string(),
        existing: Existing::Reuse,
        outputs: Outputs::default(),
    }
}

/// One epoch of ReLU on 1024 images: the short run the record tests train, reuse and spoil.
fn short_relu() -> (BaseNetworkConfig, TrainConfig) {
    let config = TrainConfig {
        max_epochs: 1,
        subset: Some(1024),
        ..TrainConfig::default()
    };
    (BaseNetworkConfig::default(), config)
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn relu_reaches_78_percent_validation_accuracy_in_two_epochs() {
    let splits = study_splits();
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        max_epochs: 2,
        ..TrainConfig::default()
    };
    let outcome = train(
        &run(&BaseNetworkConfig::default(), &config, dir.path(), "relu"),
        &splits,
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
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn identical_runs_give_identical_metrics_and_an_existing_checkpoint_skips_training() {
    let splits = study_splits();
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
                &run(&net, &config, dir.path(), "tanh"),
                &splits,
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
    let again = train(&run(&net, &config, dir, "tanh"), &splits, &mut Silent).unwrap();
    assert!(!again.trained);
    let saved: Vec<f64> = again.metrics.iter().map(|m| m.val_acc).collect();
    assert_eq!(saved.len(), 2);
    assert_eq!(again.summary.unwrap().epochs_run, 2);
    assert_eq!(std::fs::read(dir.join("tanh.safetensors")).unwrap(), before);
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_finished_run_is_reused_only_with_its_settings_and_a_damaged_one_is_set_aside_and_retrained() {
    let splits = study_splits();
    let (net, config) = short_relu();
    let dir = tempfile::tempdir().unwrap();
    let first = train(
        &run(&net, &config, dir.path(), "relu"),
        &splits,
        &mut Silent,
    )
    .unwrap();
    // One row per linear layer and epoch, the initial network's as epoch 0; the output layer
    // has no activation columns.
    assert_eq!(first.dynamics.len(), 10);
    for (epoch, rows) in first.dynamics.chunks(5).enumerate() {
        assert!(rows.iter().all(|d| d.epoch == epoch));
        assert!(rows[..4].iter().all(|d| d.activation.is_some()));
        assert!(rows[4].activation.is_none());
    }
    assert!(first.dynamics.iter().all(|d| d.weight_grad_norm > 0.0));
    // The initial gradients are the study's: on the first training batch of the seeded network.
    let (initial, _) = actfn_model::BaseNetwork::initialized(
        net.clone(),
        config.init,
        config.seed,
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let batch = splits.train.head(config.batch_size).unwrap();
    let gradients =
        actfn_diagnostics::weight_gradients(&initial, &batch.images, &batch.labels).unwrap();
    for (row, layer) in first.dynamics[..5].iter().zip(&gradients) {
        let norm = layer
            .values
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            (row.weight_grad_norm - norm).abs() <= 1e-4 * norm,
            "layer {}: {} recorded, {norm} by autograd",
            row.layer,
            row.weight_grad_norm
        );
    }

    // Other settings: refused, naming the setting.
    let other = TrainConfig {
        optimizer: actfn_train::OptimizerConfig::default().at_lr(0.1),
        ..config.clone()
    };
    let err = train(&run(&net, &other, dir.path(), "relu"), &splits, &mut Silent).unwrap_err();
    match &err {
        actfn_train::Error::SettingsDiffer { difference, .. } => {
            assert!(
                difference.contains("optimizer.lr: saved 0.01, now 0.1"),
                "{err}"
            )
        }
        other => panic!("expected SettingsDiffer, got {other}"),
    }

    // A corrupt record of a finished run, or a saved state that does not read, is set aside
    // (kept, with the reason) and the run trained again, to the same numbers.
    let run_folder = run_dir(dir.path(), "relu");
    type Spoil = fn(&std::path::Path);
    let spoil: [(&str, Spoil); 4] = [
        ("summary.json", |p| {
            std::fs::write(p, b"{ not what was written").unwrap()
        }),
        ("metrics.csv", |p| {
            std::fs::write(p, b"{ not what was written").unwrap()
        }),
        ("dynamics.csv", |p| {
            std::fs::write(p, b"{ not what was written").unwrap()
        }),
        // An interrupted run whose saved state was cut short.
        ("resume.safetensors", |p| {
            std::fs::remove_file(p.with_file_name("summary.json")).unwrap();
            std::fs::write(p, b"\x10\x00\x00\x00\x00\x00\x00\x00{").unwrap();
        }),
    ];
    for (round, (file, spoil)) in spoil.into_iter().enumerate() {
        spoil(&run_folder.join(file));
        let again = train(
            &run(&net, &config, dir.path(), "relu"),
            &splits,
            &mut Silent,
        )
        .unwrap();
        assert!(again.trained, "{file}");
        assert_eq!(again.metrics.len(), first.metrics.len(), "{file}");
        assert_eq!(again.dynamics, first.dynamics, "{file}");
        let aside = dir
            .path()
            .join("set-aside")
            .join(format!("relu-{}", round + 1));
        let reason = std::fs::read_to_string(aside.join("reason.txt")).unwrap();
        assert!(reason.contains(file), "{file}: {reason}");
        assert!(aside.join("relu").join(file).is_file(), "{file}");
    }
    let again = train(
        &run(&net, &config, dir.path(), "relu"),
        &splits,
        &mut Silent,
    )
    .unwrap();
    assert!(!again.trained);
    assert_eq!(again.dynamics, first.dynamics);
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_prelu_network_learns_its_slopes_and_reaches_78_percent_in_two_epochs() {
    let splits = study_splits();
    let dir = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        max_epochs: 2,
        ..TrainConfig::default()
    };
    let net =
        BaseNetworkConfig::with_activation(actfn_activations::Activation::PReLU { init: 0.25 });
    let outcome = train(
        &run(&net, &config, dir.path(), "prelu"),
        &splits,
        &mut Silent,
    )
    .unwrap();
    let val = outcome.metrics[1].val_acc;
    assert!(val > 0.78, "validation accuracy after two epochs: {val}");
    // The slopes moved from 0.25: they are trained, with momentum, as the weights are.
    let slopes: Vec<f32> = outcome
        .network
        .slopes()
        .iter()
        .map(|s| s.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0])
        .collect();
    assert_eq!(slopes.len(), 4);
    assert!(slopes.iter().all(|s| (s - 0.25).abs() > 1e-4), "{slopes:?}");
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn an_overwrite_that_diverges_leaves_nothing_of_the_run_it_replaced() {
    let splits = study_splits();
    let (net, config) = short_relu();
    let dir = tempfile::tempdir().unwrap();
    train(
        &run(&net, &config, dir.path(), "relu"),
        &splits,
        &mut Silent,
    )
    .unwrap();
    let diverging = TrainConfig {
        optimizer: actfn_train::OptimizerConfig::default().at_lr(1e6),
        ..config.clone()
    };
    let overwrite = Run {
        existing: Existing::Overwrite,
        outputs: Outputs::default(),
        ..run(&net, &diverging, dir.path(), "relu")
    };
    let err = train(&overwrite, &splits, &mut Silent).unwrap_err();
    assert!(
        matches!(err, actfn_train::Error::Diverged { epoch: 1, .. }),
        "{err}"
    );
    // The new settings are not left beside the old records and checkpoint: nothing of the old
    // run remains to be taken for this one.
    let folder = run_dir(dir.path(), "relu");
    assert!(!folder.join("metrics.csv").exists());
    assert!(!folder.join("summary.json").exists());
    assert!(!dir.path().join("relu.safetensors").exists());
    assert!(matches!(
        actfn_train::inspect(dir.path(), "relu"),
        actfn_train::RunState::Unfinished
    ));
}
