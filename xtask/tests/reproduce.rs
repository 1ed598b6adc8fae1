//! End to end: `cargo xtask reproduce --quick` on the real data writes every figure and a report
//! with six accuracies.

use std::path::Path;
use std::process::Command;

/// Checks that an SVG is well-formed XML with something drawn besides the background.
fn check_svg(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc =
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        doc.root_element().tag_name().name(),
        "svg",
        "{}",
        path.display()
    );
    let drawn = doc
        .descendants()
        .filter(|n| matches!(n.tag_name().name(), "text" | "image" | "polyline" | "path"))
        .count();
    assert!(
        drawn >= 2,
        "{}: only {drawn} drawn elements",
        path.display()
    );
}

/// Checks that a PNG decodes and is not a single colour.
fn check_png(path: &Path) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let first = image.get_pixel(0, 0);
    let other = image.pixels().filter(|p| *p != first).count();
    assert!(
        other > 1000,
        "{}: blank ({other} pixels differ from the corner)",
        path.display()
    );
}

#[test]
#[ignore = "needs the Fashion-MNIST files and the study's checkpoints; .ci/run runs it"]
fn quick_reproduce_writes_every_figure_and_the_report() {
    let out = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(["reproduce", "--quick", "--out"])
        .arg(out.path());
    command
        .arg("--pretrained")
        .arg(actfn_tests::pretrained_dir());
    let status = command.status().unwrap();
    assert!(status.success(), "reproduce --quick failed: {status}");

    let figures = out.path().join("figures");
    let mut stems = vec![
        "activation_functions".to_string(),
        "fashionmnist_examples".into(),
        "validation_all".into(),
    ];
    for act in actfn_activations::Activation::study()
        .iter()
        .map(|a| a.key())
    {
        stems.extend([
            format!("gradients_init_{act}"),
            format!("activations_trained_{act}"),
            format!("validation_{act}"),
        ]);
    }
    for stem in &stems {
        check_svg(&figures.join(format!("{stem}.svg")));
        check_png(&figures.join(format!("{stem}.png")));
    }
    // The example grid is one embedded picture in the SVG, not a rectangle per pixel.
    let examples = std::fs::read_to_string(figures.join("fashionmnist_examples.svg")).unwrap();
    assert_eq!(examples.matches("<image").count(), 1);
    assert!(examples.matches("<rect").count() < 50);

    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    let accuracy_rows = report
        .lines()
        .skip_while(|l| !l.starts_with("## Test accuracy"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| ") && l.contains('%'))
        .count();
    assert_eq!(accuracy_rows, 6, "{report}");
    for stem in &stems[..2] {
        assert!(
            report.contains(&format!("figures/{stem}.svg")),
            "the report links {stem}"
        );
    }
    assert!(report.contains("## Dead neurons"));
    // The imported ReLU network's exact accuracy appears in the comparison table.
    let table = report
        .split("## Original checkpoints vs ours")
        .nth(1)
        .unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("| ReLU | 88.62% | 88.62% |")),
        "{table}"
    );
    // No temporary file is left among the results.
    let leftovers: Vec<_> = std::fs::read_dir(&figures)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
