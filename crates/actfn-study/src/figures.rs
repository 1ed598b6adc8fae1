//! The study's figures, each drawn into the figures folder and returned as report blocks (the
//! figure with its caption, and the table of numbers that goes with it).

use std::path::Path;

use actfn_activations::Activation;
use actfn_data::{CLASS_NAMES, Splits};
use actfn_diagnostics::{LayerValues, Summary};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_plot::{GrayImage, Histogram, HistogramPanel, LinePanel, Series};
use actfn_train::Outcome;
use candle_core::Device;

use actfn_report::{Block, Table, figure, heading, paragraph};
use actfn_train::checkpoint_name;

use crate::Result;

/// Training images the study feeds through each network for its gradient figures (one batch
/// of its 256-image loader).
const GRADIENT_IMAGES: usize = 256;

/// Training images the study feeds through each trained network for its activation figures
/// (one batch of its 1024-image loader).
const ACTIVATION_IMAGES: usize = 1024;

/// Each function and its gradient on [-5, 5], two panels per row.
pub fn activation_functions(
    figures: &Path,
    acts: &[Activation],
    device: &Device,
) -> Result<Vec<Block>> {
    let curves = actfn_diagnostics::activation_curves(acts, 1000, (-5.0, 5.0), device)?;
    let panels: Vec<LinePanel> = curves
        .into_iter()
        .map(|c| LinePanel {
            title: c.name,
            y_range: Some((-1.5, 5.0)),
            series: vec![("ActFn".into(), c.ys), ("Gradient".into(), c.grads)],
            xs: c.xs,
        })
        .collect();
    actfn_plot::line_grid(&panels, 2, "", &figures.join("activation_functions"))?;
    Ok(vec![
        heading("The activation functions"),
        paragraph("Each function and its gradient (by autograd) on 1000 points in [-5, 5]."),
        figure(
            "activation_functions",
            "Activation functions",
            "Where each gradient is near 0 (sigmoid and tanh on both sides, ReLU on the left), \
             the signal that trains the layers below fades.",
        ),
    ])
}

/// The first 16 images of the training split as a 4x4 grid, with their classes.
pub fn examples(figures: &Path, splits: &Splits) -> Result<Vec<Block>> {
    let first = splits.train.head(16)?;
    let images: Vec<Vec<f32>> = first.images.to_vec2()?;
    let labels: Vec<u32> = first.labels.to_vec1()?;
    let refs: Vec<&[f32]> = images.iter().map(Vec::as_slice).collect();
    let grid = actfn_data::example_grid(&refs, 28, 4, 2, 0.5)?;
    let caption: Vec<String> = labels
        .chunks(4)
        .enumerate()
        .map(|(row, chunk)| {
            let names: Vec<&str> = chunk
                .iter()
                .map(|&l| CLASS_NAMES.get(l as usize).copied().unwrap_or("?"))
                .collect();
            format!("Row {}: {}", row + 1, names.join(", "))
        })
        .collect();
    let image = GrayImage {
        width: grid.width,
        height: grid.height,
        pixels: grid.pixels,
    };
    actfn_plot::image_figure(
        &image,
        4,
        "FashionMNIST examples",
        &caption,
        &figures.join("fashionmnist_examples"),
    )?;
    Ok(vec![
        heading("The data"),
        paragraph("The first 16 images of the training split, min-max normalized, padding 0.5."),
        figure(
            "fashionmnist_examples",
            "FashionMNIST examples",
            "Ten classes of 28x28 grey clothing images; shirts, pullovers and coats are the ones \
             easily confused.",
        ),
    ])
}

/// Histogram panels of each layer's values, with density curves.
fn histogram_panels(
    layers: &[LayerValues],
    bins: usize,
    x_label: &str,
    density: bool,
) -> Result<Vec<HistogramPanel>> {
    layers
        .iter()
        .map(|layer| {
            Ok(HistogramPanel {
                title: layer.name.clone(),
                x_label: x_label.to_string(),
                histogram: Histogram::new(&layer.values, bins)?,
                curve: actfn_plot::gaussian_kde(&layer.values, 200),
                density,
            })
        })
        .collect()
}

/// Writes the summaries of `layers` as JSON beside the figure `stem`.
fn write_summaries(figures: &Path, stem: &str, layers: &[LayerValues]) -> Result<()> {
    let summaries: Vec<(&str, &Summary)> = layers
        .iter()
        .map(|l| (l.name.as_str(), &l.summary))
        .collect();
    let json = serde_json::to_string_pretty(&summaries)?;
    actfn_io::atomic_write(&figures.join(format!("{stem}.json")), json.as_bytes())?;
    Ok(())
}

/// How one kind of histogram figure is drawn, one figure per network, with a table of one
/// number per layer.
struct HistogramFigures<'a> {
    /// The file name's prefix, e.g. `gradients_init`.
    stem: &'a str,
    /// The title's words before the activation's name.
    title: &'a str,
    bins: usize,
    x_label: &'a str,
    density: bool,
    columns: usize,
    /// The table's first header cell after "activation", before the layer names.
    caption: &'a str,
    /// The table's cell for a layer.
    cell: fn(&Summary) -> String,
}

impl HistogramFigures<'_> {
    /// Draws each network's figure and its summaries' JSON; returns the table (one column per
    /// layer, named as the layers are) followed by the figures.
    fn draw(
        &self,
        figures: &Path,
        networks: Vec<(Activation, Vec<LayerValues>)>,
    ) -> Result<Vec<Block>> {
        let layer_names: Vec<String> = networks
            .iter()
            .map(|(_, layers)| layers.len())
            .max()
            .map(|most| {
                let longest = networks.iter().find(|(_, l)| l.len() == most);
                longest.map_or_else(Vec::new, |(_, layers)| {
                    layers.iter().map(|l| l.name.clone()).collect()
                })
            })
            .unwrap_or_default();
        let mut header = vec!["activation"];
        header.extend(layer_names.iter().map(String::as_str));
        let mut table = Table::numeric(&header);
        let mut blocks = Vec::new();
        for (i, (act, layers)) in networks.into_iter().enumerate() {
            let stem = format!("{}_{}", self.stem, act.key());
            let title = format!("{} {}", self.title, act.name());
            let panels = histogram_panels(&layers, self.bins, self.x_label, self.density)?;
            actfn_plot::histogram_grid(&panels, self.columns, &title, i, &figures.join(&stem))?;
            write_summaries(figures, &stem, &layers)?;
            let mut row = vec![act.name().to_string()];
            row.extend(layers.iter().map(|l| (self.cell)(&l.summary)));
            row.resize(header.len(), "-".into());
            table.row(row);
            blocks.push(figure(
                stem,
                title,
                format!("{} {}.", self.caption, act.name()),
            ));
        }
        blocks.insert(0, Block::Table(table));
        Ok(blocks)
    }
}

/// The weight gradients of every linear layer at initialization, per activation.
pub fn gradients_at_init(
    figures: &Path,
    splits: &Splits,
    acts: &[Activation],
    seed: u64,
    device: &Device,
) -> Result<Vec<Block>> {
    let batch = splits.train.head(GRADIENT_IMAGES)?;
    let networks = acts
        .iter()
        .map(|&act| {
            let (net, _) =
                BaseNetwork::seeded(BaseNetworkConfig::with_activation(act), seed, device)?;
            Ok((
                act,
                actfn_diagnostics::weight_gradients(&net, &batch.images, &batch.labels)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let histograms = HistogramFigures {
        stem: "gradients_init",
        title: "Gradient magnitude distribution for activation function",
        bins: 30,
        x_label: "Grad magnitude",
        density: false,
        columns: 5,
        caption: "Weight gradients per layer at initialization with",
        cell: |s| format!("{:.2e}", s.std),
    };
    let mut blocks = vec![
        heading("Gradients at initialization"),
        paragraph(format!(
            "Weight gradients of each linear layer from the first {GRADIENT_IMAGES} training \
             images and the cross-entropy loss; every network starts from the same seeded \
             weights. Standard deviation per layer (a narrow first layer means the gradient \
             vanished on its way down):"
        )),
    ];
    blocks.extend(histograms.draw(figures, networks)?);
    Ok(blocks)
}

/// Every layer's output of each trained network on the first training images.
pub fn trained_activations(
    figures: &Path,
    splits: &Splits,
    outcomes: &[(Activation, Outcome)],
) -> Result<Vec<Block>> {
    let batch = splits.train.head(ACTIVATION_IMAGES)?;
    let networks = outcomes
        .iter()
        .map(|(act, outcome)| {
            Ok((
                *act,
                actfn_diagnostics::layer_outputs(&outcome.network, &batch.images)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let histograms = HistogramFigures {
        stem: "activations_trained",
        title: "Activation distribution for activation function",
        bins: 50,
        x_label: "",
        density: true,
        columns: 4,
        caption: "Every layer's outputs of the trained network with",
        cell: |s| format!("{:.1}%", 100.0 * s.zero_share),
    };
    let mut blocks = vec![
        heading("Activations of the trained networks"),
        paragraph(format!(
            "Every layer's output (all but the last) on the first {ACTIVATION_IMAGES} training \
             images, density scale. Share of exact zeros per layer:"
        )),
    ];
    blocks.extend(histograms.draw(figures, networks)?);
    Ok(blocks)
}

/// Validation accuracy per epoch: one figure per run and one of all of them.
pub fn validation_curves(figures: &Path, outcomes: &[(Activation, Outcome)]) -> Result<Vec<Block>> {
    let mut all = Vec::new();
    for (act, outcome) in outcomes {
        let points: Vec<(f64, f64)> = outcome
            .metrics
            .iter()
            .map(|m| (m.epoch as f64, m.val_acc))
            .collect();
        if points.is_empty() {
            continue;
        }
        let series = Series {
            label: act.name().to_string(),
            points,
        };
        actfn_plot::line_chart(
            std::slice::from_ref(&series),
            &format!("Validation performance of {}", checkpoint_name(*act)),
            "Epochs",
            "Validation accuracy",
            &figures.join(format!("validation_{}", act.key())),
        )?;
        all.push(series);
    }
    let mut blocks = vec![heading("Validation accuracy per epoch")];
    if all.is_empty() {
        blocks.push(paragraph(
            "No run has per-epoch records (the checkpoints were made elsewhere).",
        ));
        return Ok(blocks);
    }
    let title = format!("Validation accuracy of the {} networks", all.len());
    actfn_plot::line_chart(
        &all,
        &title,
        "Epochs",
        "Validation accuracy",
        &figures.join("validation_all"),
    )?;
    blocks.push(figure(
        "validation_all",
        title,
        "How fast each network learns and where early stopping ended it; a flat line at 10% \
         is a network stuck at chance.",
    ));
    Ok(blocks)
}
