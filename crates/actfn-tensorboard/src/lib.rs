//! TensorBoard event files from plain numbers: scalars, histograms, text and the HParams
//! plugin's records, so that `tensorboard --logdir` shows a run and compares many.
//!
//! An event file is a sequence of TFRecord-framed `tensorflow.Event` protobuf messages (the
//! framing with masked CRC32C in `record.rs`, the messages derived with prost in [`proto`]). An
//! [`EventWriter`] appends to one file; [`flush`](EventWriter::flush) makes what it wrote
//! visible to a TensorBoard that watches the folder. [`read_events`] reads a file back,
//! checking every record's checksums.
//!
//! ```
//! use actfn_tensorboard::{EventWriter, HParam, read_events};
//!
//! let dir = tempfile::tempdir()?;
//! let mut events = EventWriter::create(dir.path())?;
//! events.hparams(&[("activation", HParam::Text("relu".into()))], &["test/accuracy"])?;
//! for epoch in 1..=3 {
//!     events.scalar("validation/accuracy", epoch, 0.8 + 0.01 * epoch as f64)?;
//! }
//! events.histogram("activations/layer 1", 3, &[0.0, 0.5, 0.5, 2.0])?;
//! events.flush()?;
//! // The file-version event, the experiment, the run's hyperparameters, 3 scalars, 1 histogram.
//! assert_eq!(read_events(events.path())?.len(), 7);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: plain numbers and strings in, one file out; nothing here knows a network.

pub mod proto;
mod record;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use proto::{
    Dim, Event, Experiment, HParamInfo, HParamsData, HParamsPluginData, HistogramProto, MetricInfo,
    MetricName, PluginData, ProtoKind, ProtoValue, SessionEndInfo, SessionStartInfo, Summary,
    SummaryMetadata, TensorProto, TensorShapeProto, Value, What,
};

/// A failure to write or read an event file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file or its folder could not be written or read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The file is not a sound event file.
    #[error("{path} is not a sound TensorBoard event file: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong, and where.
        reason: String,
    },
    /// The values cannot make this summary (no finite value for a histogram).
    #[error("cannot write {0}")]
    InvalidData(String),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// How an event file's name starts: TensorBoard reads the files whose names contain
/// `tfevents`.
pub const FILE_PREFIX: &str = "events.out.tfevents.";

/// Buckets of a histogram.
const BUCKETS: usize = 30;

/// A hyperparameter's value in the HParams table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HParam {
    /// A number (a learning rate, a seed).
    Number(f64),
    /// A string (an activation, the hidden sizes).
    Text(String),
    /// A switch.
    Bool(bool),
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Appends events to one new event file.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Creates a new event file in `dir` (created if missing), named as TensorFlow names them
    /// (`events.out.tfevents.<seconds>.<host>.<pid>`), starting with the file-version event. A
    /// file of that name is never overwritten: a second writer in the same second and process is
    /// refused.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let started = now();
        let path = dir.join(format!(
            "{FILE_PREFIX}{}.{}.{}",
            started as u64,
            actfn_io::host_name(),
            std::process::id()
        ));
        let file = File::create_new(&path).map_err(io_error(&path))?;
        let mut writer = Self {
            path,
            file: BufWriter::new(file),
        };
        writer.write(Event {
            wall_time: started,
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        })?;
        Ok(writer)
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, event: Event) -> Result<()> {
        let framed = record::frame(&event.encode_to_vec());
        self.file.write_all(&framed).map_err(io_error(&self.path))
    }

    fn summary(&mut self, step: i64, value: Value) -> Result<()> {
        self.write(Event {
            wall_time: now(),
            step,
            what: Some(What::Summary(Summary { value: vec![value] })),
        })
    }

    /// A scalar of series `tag` at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f64) -> Result<()> {
        self.summary(
            step,
            Value {
                tag: tag.into(),
                metadata: None,
                kind: Some(proto::Kind::SimpleValue(value as f32)),
            },
        )
    }

    /// A histogram of `values` (30 equal buckets between the finite extremes; the values that
    /// are not finite are left out) of series `tag` at `step`. An error when no value is
    /// finite.
    pub fn histogram(&mut self, tag: &str, step: i64, values: &[f32]) -> Result<()> {
        let histo = histogram_of(values)
            .ok_or_else(|| Error::InvalidData(format!("histogram {tag:?}: no finite value")))?;
        self.summary(
            step,
            Value {
                tag: tag.into(),
                metadata: None,
                kind: Some(proto::Kind::Histo(histo)),
            },
        )
    }

    /// A text (Markdown) of series `tag` at `step`, for TensorBoard's text plugin.
    pub fn text(&mut self, tag: &str, step: i64, text: &str) -> Result<()> {
        self.summary(
            step,
            Value {
                tag: tag.into(),
                metadata: Some(plugin("text", Vec::new())),
                kind: Some(proto::Kind::Tensor(TensorProto {
                    dtype: 7,
                    tensor_shape: Some(TensorShapeProto {
                        dim: Vec::<Dim>::new(),
                    }),
                    string_val: vec![text.as_bytes().to_vec()],
                })),
            },
        )
    }

    /// The run's hyperparameters for the HParams plugin, with the scalar tags (`metrics`) its
    /// table shows beside them: the experiment (the hyperparameters' names and types, the
    /// metrics) and this run's values.
    pub fn hparams(&mut self, hparams: &[(&str, HParam)], metrics: &[&str]) -> Result<()> {
        let experiment = Experiment {
            hparam_infos: hparams
                .iter()
                .map(|(name, value)| HParamInfo {
                    name: (*name).into(),
                    r#type: match value {
                        HParam::Text(_) => 1,
                        HParam::Bool(_) => 2,
                        HParam::Number(_) => 3,
                    },
                })
                .collect(),
            metric_infos: metrics
                .iter()
                .map(|tag| MetricInfo {
                    name: Some(MetricName {
                        group: String::new(),
                        tag: (*tag).into(),
                    }),
                })
                .collect(),
        };
        let start = SessionStartInfo {
            hparams: hparams
                .iter()
                .map(|(name, value)| {
                    let kind = match value {
                        HParam::Number(n) => ProtoKind::NumberValue(*n),
                        HParam::Text(t) => ProtoKind::StringValue(t.clone()),
                        HParam::Bool(b) => ProtoKind::BoolValue(*b),
                    };
                    ((*name).to_string(), ProtoValue { kind: Some(kind) })
                })
                .collect(),
            start_time_secs: now(),
        };
        self.hparams_record("_hparams_/experiment", HParamsData::Experiment(experiment))?;
        self.hparams_record(
            "_hparams_/session_start_info",
            HParamsData::SessionStartInfo(start),
        )
    }

    /// The run ended well (the HParams plugin's session end).
    pub fn hparams_end(&mut self) -> Result<()> {
        self.hparams_record(
            "_hparams_/session_end_info",
            HParamsData::SessionEndInfo(SessionEndInfo {
                status: 1,
                end_time_secs: now(),
            }),
        )
    }

    fn hparams_record(&mut self, tag: &str, data: HParamsData) -> Result<()> {
        let content = HParamsPluginData {
            version: 0,
            data: Some(data),
        }
        .encode_to_vec();
        self.summary(
            0,
            Value {
                tag: tag.into(),
                metadata: Some(plugin("hparams", content)),
                kind: None,
            },
        )
    }

    /// Hands everything written so far to the file, where a watching TensorBoard reads it.
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(io_error(&self.path))
    }
}

fn plugin(name: &str, content: Vec<u8>) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: name.into(),
            content,
        }),
    }
}

/// The histogram of the finite `values`: 30 equal buckets from the smallest to the
/// largest (one bucket holding everything when they are all equal); `None` when none is
/// finite.
pub fn histogram_of(values: &[f32]) -> Option<HistogramProto> {
    let finite: Vec<f64> = values
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| f64::from(v))
        .collect();
    let (min, max) = finite
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if finite.is_empty() {
        return None;
    }
    let buckets = if max > min { BUCKETS } else { 1 };
    let width = (max - min) / buckets as f64;
    let mut bucket = vec![0.0; buckets];
    for &v in &finite {
        let i = if width > 0.0 {
            (((v - min) / width) as usize).min(buckets - 1)
        } else {
            0
        };
        bucket[i] += 1.0;
    }
    Some(HistogramProto {
        min,
        max,
        num: finite.len() as f64,
        sum: finite.iter().sum(),
        sum_squares: finite.iter().map(|v| v * v).sum(),
        bucket_limit: (1..=buckets)
            .map(|i| {
                if i == buckets {
                    max
                } else {
                    min + width * i as f64
                }
            })
            .collect(),
        bucket,
    })
}

/// The events of an event file, in order, each record's checksums checked. The file is read
/// whole (event files of a run are small); a record cut short or damaged is an error naming
/// its offset.
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    record::unframe(&bytes, path)?
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            Event::decode(data).map_err(|e| Error::Corrupt {
                path: path.display().to_string(),
                reason: format!("record {i} is not an Event ({e})"),
            })
        })
        .collect()
}

/// The event files in `dir` (none when it does not exist), by name.
pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        if entry.file_name().to_string_lossy().starts_with(FILE_PREFIX) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_every_finite_value_once() {
        let h = histogram_of(&[0.0, 1.0, 1.0, 3.0, f32::NAN]).unwrap();
        assert_eq!(h.num, 4.0);
        assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
        assert_eq!((h.min, h.max, h.sum, h.sum_squares), (0.0, 3.0, 5.0, 11.0));
        assert_eq!(h.bucket_limit.last(), Some(&3.0));
        assert_eq!(histogram_of(&[2.0, 2.0]).unwrap().bucket, [2.0]);
        assert_eq!(histogram_of(&[f32::INFINITY]), None);
    }

    #[test]
    fn what_is_written_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalar("loss", 1, 0.5).unwrap();
        w.text("config", 0, "{\"lr\": 0.01}").unwrap();
        w.hparams(&[("seed", HParam::Number(3.0))], &["test/accuracy"])
            .unwrap();
        w.hparams_end().unwrap();
        w.flush().unwrap();
        let events = read_events(w.path()).unwrap();
        assert_eq!(events.len(), 6);
        assert_eq!(
            events[0].what,
            Some(What::FileVersion("brain.Event:2".into()))
        );
        let Some(What::Summary(s)) = &events[1].what else {
            panic!("{:?}", events[1])
        };
        assert_eq!(s.value[0].kind, Some(proto::Kind::SimpleValue(0.5)));
        assert_eq!(event_files(dir.path()).unwrap(), [w.path().to_path_buf()]);
        assert!(event_files(&dir.path().join("none")).unwrap().is_empty());
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
