//! The original study's PyTorch checkpoints, read by this project's reader and evaluated by its
//! data pipeline and network, give exactly the digits the notebook printed.

use actfn_activations::Activation;
use actfn_data::EVAL_BATCH_SIZE;
use actfn_model::pytorch::load_network;
use actfn_tests::{pretrained_dir, shared_dir, study_splits};
use candle_core::Device;

/// The notebook's printed test accuracies (`../shared/pretrained/README.md`), in the study's order.
const PRINTED: [(&str, &str); 6] = [
    ("sigmoid", "10.00"),
    ("tanh", "87.59"),
    ("relu", "88.62"),
    ("leakyrelu", "88.92"),
    ("elu", "87.27"),
    ("swish", "88.73"),
];

#[test]
#[ignore = "needs the study's checkpoints (../shared or $ACTFN_PRETRAINED) and the data; .ci/run runs it"]
fn imported_networks_give_the_printed_accuracies_and_dead_neurons() {
    let splits = study_splits();
    let dir = pretrained_dir();
    for ((key, printed), act) in PRINTED.iter().zip(Activation::study()) {
        let name = format!("FashionMNIST_{key}");
        let net = load_network(
            &dir.join(format!("{name}.config")),
            &dir.join(format!("{name}.tar")),
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(net.activation(), act);
        let accuracy = actfn_train::accuracy(&net, &splits.test, EVAL_BATCH_SIZE).unwrap();
        assert_eq!(format!("{:.2}", 100.0 * accuracy), *printed, "{name}");
        if act == Activation::ReLU {
            let dead =
                actfn_diagnostics::dead_neurons(&net, &splits.train, EVAL_BATCH_SIZE).unwrap();
            assert_eq!(dead.dead, [0, 0, 0, 3]);
        }
    }
}

#[test]
#[ignore = "needs ../shared/holdout; .ci/run runs it"]
fn the_holdout_networks_load_from_this_projects_format() {
    let dir = shared_dir().join("holdout").join("jax-port");
    for act in Activation::study() {
        let net = actfn_model::BaseNetwork::load(
            &dir,
            &format!("FashionMNIST_{}", act.key()),
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(net.activation(), act);
        assert_eq!(net.parameter_count(), 633_226);
    }
}
