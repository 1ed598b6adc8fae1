//! A report's groups: the runs that differ only in their seeds, keyed by the activation and
//! every setting the runs themselves recorded, and the labels that name them by what differs
//! between groups.

use actfn_activations::Activation;
use actfn_model::Init;
use actfn_train::TrainConfig;

use crate::RunSpec;
use crate::grid::sizes;

/// Everything a group's runs share but the activation: the runs differ only in their seeds (of
/// the weights and of the split), so that every setting that differs between sweeps makes
/// groups of its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Setting {
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// Early-stopping patience.
    pub patience: usize,
    /// How the initial weights were drawn.
    pub init: Init,
    /// The rest of the training protocol, as `name value` pairs (numbers as text, so that the
    /// key orders and compares exactly).
    pub protocol: Vec<(&'static str, String)>,
}

/// The runs of one group: an activation under one setting.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupKey {
    /// The activation function.
    pub act: Activation,
    /// What else the group's runs share.
    pub setting: Setting,
}

/// The group of a run of `spec` trained with `config`.
pub fn key_of(spec: &RunSpec, config: &TrainConfig) -> GroupKey {
    GroupKey {
        act: spec.act,
        setting: Setting {
            hidden: spec.hidden.clone(),
            patience: config.patience,
            init: config.init,
            protocol: protocol(config),
        },
    }
}

/// The protocol's settings of `config` as `name value` pairs: the optimizer, its learning rate
/// and its other settings, the batch, the epochs and the subset.
pub(super) fn protocol(config: &TrainConfig) -> Vec<(&'static str, String)> {
    let mut protocol = vec![
        ("optimizer", config.optimizer.name().to_string()),
        ("lr", config.optimizer.lr().to_string()),
    ];
    protocol.extend(config.optimizer.describe());
    protocol.extend([
        ("batch", config.batch_size.to_string()),
        ("max epochs", config.max_epochs.to_string()),
        (
            "subset",
            config.subset.map_or("all".into(), |n| n.to_string()),
        ),
    ]);
    protocol
}

/// Which parts of the setting differ between a report's groups: only those go into the labels.
pub struct Varies {
    /// The architectures differ.
    pub hidden: bool,
    /// The patiences differ.
    pub patience: bool,
    /// The names of the protocol's settings that differ.
    pub protocol: Vec<&'static str>,
}

impl Varies {
    /// What differs between the groups of `keys`.
    pub fn of(keys: &[&GroupKey]) -> Self {
        let differ = |part: &dyn Fn(&GroupKey) -> String| {
            keys.iter()
                .map(|k| part(k))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 1
        };
        // Every name any group has, in order of first appearance: SGD's and Adam's settings
        // differ.
        let mut names: Vec<&'static str> = Vec::new();
        for (name, _) in keys.iter().flat_map(|k| &k.setting.protocol) {
            if !names.contains(name) {
                names.push(name);
            }
        }
        Self {
            hidden: differ(&|k| format!("{:?}", k.setting.hidden)),
            patience: differ(&|k| k.setting.patience.to_string()),
            // A setting of one optimizer only (SGD's momentum, Adam's betas) varies where the
            // groups that have it differ in it: "ReLU Adam" against "ReLU SGD" says the rest.
            protocol: names
                .into_iter()
                .filter(|name| {
                    keys.iter()
                        .filter_map(|k| k.setting.protocol.iter().find(|(n, _)| n == name))
                        .map(|(_, v)| v)
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                        > 1
                })
                .collect(),
        }
    }
}

/// A group's label: the activation, plus the parts of its setting that differ between groups
/// (and an initialization other than PyTorch's).
pub fn label(key: &GroupKey, varies: &Varies) -> String {
    let setting = &key.setting;
    let mut text = key.act.name().to_string();
    if varies.hidden {
        text.push_str(&format!(" {}", sizes(&setting.hidden, "-")));
    }
    if varies.patience {
        text.push_str(&format!(" p{}", setting.patience));
    }
    for (name, value) in &setting.protocol {
        if varies.protocol.contains(name) {
            // The optimizer's name says what it is: "ReLU Adam lr 0.001".
            if *name == "optimizer" {
                text.push_str(&format!(" {value}"));
            } else {
                text.push_str(&format!(" {name} {value}"));
            }
        }
    }
    if setting.init != Init::PyTorch {
        text.push_str(&format!(" ({})", setting.init));
    }
    text
}
