//! `cargo xtask train`: train the study's networks and print their summary table.

use std::path::PathBuf;

use actfn_activations::{Activation, NonFinitePolicy};
use actfn_model::{BaseNetworkConfig, Init};
use actfn_train::{Existing, OptimizerConfig, Outcome, Outputs, Run, TrainConfig, checkpoint_name};
use clap::Args;

use crate::progress::EpochProgress;
use crate::{ComputeArgs, default_checkpoint_dir};

/// Arguments of `cargo xtask train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Activation functions to train: keys (sigmoid, tanh, relu, leakyrelu, elu, swish, gelu,
    /// gelu_tanh, mish, selu, softplus, prelu, hardswish) or formulas of x (`x*sigmoid(1.702*x)`),
    /// comma-separated, or `study` or `all`.
    #[arg(long = "act", value_name = "NAMES", value_parser = parse_act_list,
          required_unless_present = "all", conflicts_with = "all")]
    pub acts: Option<ActList>,
    /// Train the study's six.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub non_finite: NonFiniteArgs,
    #[command(flatten)]
    pub settings: TrainSettings,
    /// Retrain networks whose checkpoint exists (otherwise they are loaded and evaluated).
    #[arg(long)]
    pub overwrite: bool,
    /// Where checkpoints go [default: $PATH_CHECKPOINT or saved_models/Activation_Functions].
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
}

/// The training settings shared by `train`, `reproduce` and `sweep`; defaults are the study's.
#[derive(Args, Debug, Clone)]
pub struct TrainSettings {
    #[command(flatten)]
    pub compute: ComputeArgs,
    /// The most epochs per network.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Epochs without a better validation accuracy before stopping.
    #[arg(long, default_value_t = 7)]
    pub patience: usize,
    /// Training batch size.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// The optimizer: sgd (momentum SGD, the study's) or adam (PyTorch's torch.optim.Adam).
    #[arg(long, default_value = "sgd", value_parser = ["sgd", "adam"])]
    pub optimizer: String,
    /// Learning rate [default: 0.01 with SGD (the study's), 0.001 with Adam (PyTorch's)].
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// SGD's momentum [default: 0.9].
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// Seed of the initial weights and the batch order.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Seed of the train/validation split (the study's is 42).
    #[arg(long, default_value_t = 42)]
    pub split_seed: u64,
    /// Initial weights: pytorch (nn.Linear's uniform, the study's), kaiming-normal or
    /// lecun-normal (what SELU needs to self-normalize).
    #[arg(long, default_value_t = Init::PyTorch, value_parser = parse_init)]
    pub init: Init,
    /// Train on the first N images of the shuffled training split only.
    #[arg(long, value_name = "N")]
    pub subset: Option<usize>,
    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// What every run writes beside its records, as flags.
#[derive(Args, Debug, Clone, Copy)]
pub struct OutputArgs {
    /// Write no TensorBoard events (by default every run writes them into its folder, and
    /// `tensorboard --logdir` on the checkpoint or sweep folder shows the runs).
    #[arg(long)]
    pub no_tensorboard: bool,
}

impl OutputArgs {
    /// The outputs these flags ask for.
    pub fn outputs(&self) -> Outputs {
        Outputs {
            tensorboard: !self.no_tensorboard,
        }
    }

    /// The same flags, for a child process (a sweep's task).
    pub fn flags(&self) -> Vec<String> {
        if self.no_tensorboard {
            vec!["--no-tensorboard".into()]
        } else {
            Vec::new()
        }
    }
}

impl TrainSettings {
    /// The training config these settings describe, checked.
    pub fn train_config(&self) -> anyhow::Result<TrainConfig> {
        let config = TrainConfig {
            max_epochs: self.epochs,
            patience: self.patience,
            batch_size: self.batch_size,
            optimizer: optimizer_config(&self.optimizer, self.lr, self.momentum)?,
            seed: self.seed,
            init: self.init,
            split_seed: self.split_seed,
            subset: self.subset,
            ..TrainConfig::default()
        };
        config.validate()?;
        Ok(config)
    }
}

/// The optimizer of `key` (`sgd`, `adam`) at `lr` (its default: the study's 0.01 for SGD,
/// PyTorch's 0.001 for Adam), with SGD's `momentum` (default 0.9; refused with Adam, whose other
/// settings are PyTorch's defaults).
pub fn optimizer_config(
    key: &str,
    lr: Option<f64>,
    momentum: Option<f64>,
) -> anyhow::Result<OptimizerConfig> {
    let mut optimizer = OptimizerConfig::of_key(key).map_err(anyhow::Error::msg)?;
    if let Some(lr) = lr {
        optimizer = optimizer.at_lr(lr);
    }
    if let Some(momentum) = momentum {
        optimizer = optimizer
            .with_momentum(momentum)
            .map_err(|e| anyhow::anyhow!("--{e}; drop --momentum or use --optimizer sgd"))?;
    }
    optimizer.validate().map_err(anyhow::Error::msg)?;
    Ok(optimizer)
}

/// Activation functions, as one argument. A formula that the safety check refused is in it,
/// with the check's finding: [`ActList::activations`] accepts it only if told to.
#[derive(Debug, Clone)]
pub struct ActList(Vec<Activation>);

/// Whether formulas that the safety check refuses are trained.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct NonFiniteArgs {
    /// Train formulas whose value or derivative is not finite somewhere on the safety check's
    /// grid (`exp(x)` beyond 88.7 in f32); a run still stops at its first non-finite loss.
    #[arg(long)]
    pub accept_non_finite: bool,
}

impl ActList {
    /// The functions of `list` (the study's six without one), or an error naming a formula the
    /// safety check refused, unless `non_finite` accepts such formulas.
    pub fn activations(
        list: Option<&ActList>,
        non_finite: NonFiniteArgs,
    ) -> anyhow::Result<Vec<Activation>> {
        let Some(list) = list else {
            return Ok(Activation::study());
        };
        for act in &list.0 {
            if let Activation::Formula(f) = act
                && let Some(finding) = f.non_finite()
                && !non_finite.accept_non_finite
            {
                anyhow::bail!(
                    "activation formula {}: {finding}; pass --accept-non-finite to train it \
                     anyway (a run stops at its first non-finite loss)",
                    f.text()
                );
            }
        }
        Ok(list.0.clone())
    }

    /// The one function of `list` (a flag that names one, such as `--against`).
    pub fn one(
        list: &ActList,
        flag: &str,
        non_finite: NonFiniteArgs,
    ) -> anyhow::Result<Activation> {
        match Self::activations(Some(list), non_finite)?[..] {
            [one] => Ok(one),
            _ => anyhow::bail!("{flag} takes one function, e.g. {flag} relu"),
        }
    }
}

/// `text` split at the commas outside parentheses: `relu,max(x, 0.1*x)` is two names.
pub(crate) fn split_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let (mut depth, mut start) = (0_i64, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                names.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    names.push(&text[start..]);
    names
}

/// Parses a comma-separated list of activation keys, names or formulas of x, or `study` (the
/// study's six) or `all` (every built-in), listing the valid names on error.
pub fn parse_act_list(text: &str) -> Result<ActList, String> {
    match text.trim() {
        "all" => return Ok(ActList(Activation::builtins().to_vec())),
        "study" => return Ok(ActList(Activation::study())),
        _ => {}
    }
    let acts = split_names(text)
        .into_iter()
        .map(|name| match Activation::from_name(name.trim(), None) {
            // Kept with its finding, for `activations` to refuse unless accepted.
            Err(actfn_activations::Error::NonFinite { .. }) => {
                Activation::formula(name.trim(), NonFinitePolicy::Accept)
            }
            other => other,
        })
        .collect::<Result<Vec<Activation>, actfn_activations::Error>>()
        .map_err(|e| e.to_string())?;
    let mut keys: Vec<&str> = acts.iter().map(|a| a.key()).collect();
    keys.sort_unstable();
    if let Some(twice) = keys.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("{:?} is named twice", twice[0]));
    }
    Ok(ActList(acts))
}

/// Parses an initialization name for clap.
pub fn parse_init(text: &str) -> Result<Init, String> {
    text.parse().map_err(|e: actfn_model::Error| e.to_string())
}

pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let config = args.settings.train_config()?;
    let device = args.settings.compute.device()?;
    let acts = ActList::activations(args.acts.as_ref(), args.non_finite)?;
    let dir = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(default_checkpoint_dir);
    let splits = crate::data::load_splits(config.split_seed, &device)?;
    let existing = if args.overwrite {
        Existing::Overwrite
    } else {
        Existing::Reuse
    };
    let mut outcomes = Vec::new();
    for act in acts {
        let net = BaseNetworkConfig::with_activation(act);
        let outcome = train_one(
            Run {
                name: checkpoint_name(net.act_fn),
                net,
                config: config.clone(),
                dir: dir.clone(),
                existing,
                outputs: args.settings.outputs.outputs(),
            },
            &splits,
        )?;
        outcomes.push((act, outcome));
    }
    say!(
        "{}",
        actfn_study::accuracy_table(&outcomes, false)
            .markdown()
            .trim_end()
    );
    Ok(())
}

/// Trains (or loads) one network with progress output, as `train`, `reproduce` and each run of
/// a sweep do.
pub fn train_one(run: Run, splits: &actfn_data::Splits) -> anyhow::Result<Outcome> {
    let name = run.name.clone();
    say!("Training BaseNetwork with {} activation...", run.net.act_fn);
    let outcome = actfn_train::train(&run, splits, &mut EpochProgress::new(&name))?;
    say!("{name}: test accuracy {:.2}%\n", 100.0 * outcome.test_acc);
    Ok(outcome)
}
