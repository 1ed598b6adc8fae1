//! The custom-activation example runs: a function of one's own trains and is reloaded through
//! the public API.

#[allow(dead_code)]
#[path = "../examples/custom_activation.rs"]
mod example;

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn the_custom_activation_example_trains_and_reloads_its_network() {
    let accuracy = example::run(20_000, 3).unwrap();
    assert!(accuracy > 0.6, "test accuracy {accuracy}");
}
