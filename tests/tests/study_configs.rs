//! The study's own `.config` files parse and re-serialize to the same bytes.

use actfn_activations::Activation;
use actfn_model::BaseNetworkConfig;
use actfn_tests::pretrained_dir;

#[test]
#[ignore = "needs the study's checkpoints (../shared or $ACTFN_PRETRAINED); .ci/run runs it"]
fn the_six_study_configs_round_trip_exactly() {
    let dir = pretrained_dir();
    for act in Activation::study() {
        let path = dir.join(format!("FashionMNIST_{}.config", act.key()));
        let text = std::fs::read_to_string(&path).unwrap();
        let config = BaseNetworkConfig::read(&path).unwrap();
        assert_eq!(
            config,
            BaseNetworkConfig::with_activation(act),
            "{}",
            path.display()
        );
        assert_eq!(config.to_json(), text, "{}", path.display());
        let reparsed: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
        assert_eq!(
            reparsed,
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        );
    }
}
