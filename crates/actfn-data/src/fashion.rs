//! The Fashion-MNIST files: names, checksums, class names, where to find them, and loading them.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::idx::{self, IdxArray};
use crate::{Error, Result};

/// One of the four Fashion-MNIST files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFile {
    /// The file name without `.gz`, as published.
    pub name: &'static str,
    /// SHA-256 of the decompressed bytes (hex). Debian recompressed the files, so the `.gz` bytes
    /// differ between copies; the decompressed bytes are the same in every correct copy.
    pub sha256: &'static str,
    /// Size of the decompressed file in bytes.
    pub size: u64,
}

/// The four files: training images, training labels, test images, test labels.
pub const FILES: [DataFile; 4] = [
    DataFile {
        name: "train-images-idx3-ubyte",
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        size: 47_040_016,
    },
    DataFile {
        name: "train-labels-idx1-ubyte",
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        size: 60_008,
    },
    DataFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        size: 7_840_016,
    },
    DataFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        size: 10_008,
    },
];

/// The ten classes, by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Where Debian's package `dataset-fashion-mnist` installs the files.
pub const SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Pixels per image (28 x 28).
const PIXELS: usize = 28 * 28;

/// The folders to search, in order: `$PATH_DATASETS/FashionMNIST/raw` (or
/// `<root>/data/FashionMNIST/raw`, the study's `DATASET_PATH` convention), then the system copy:
/// `$ACTFN_SYSTEM_DATASETS` if set, else [`SYSTEM_DIR`].
pub fn default_search_dirs(root: &Path) -> Vec<PathBuf> {
    let base = std::env::var_os("PATH_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("data"));
    let system = std::env::var_os("ACTFN_SYSTEM_DATASETS")
        .map_or_else(|| PathBuf::from(SYSTEM_DIR), PathBuf::from);
    vec![base.join("FashionMNIST").join("raw"), system]
}

/// The path of `file` in `dir`, compressed (`.gz`) or not, if it exists.
fn find_file(dir: &Path, file: &DataFile) -> Option<PathBuf> {
    [dir.join(file.name), dir.join(format!("{}.gz", file.name))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Reads `path` (gzip or not) and checks its decompressed bytes against `file`'s checksum.
pub fn verify_file(path: &Path, file: &DataFile) -> Result<Vec<u8>> {
    let bytes = idx::read_maybe_gzip(path, file.size)?;
    let actual = hex(&Sha256::digest(&bytes));
    if actual != file.sha256 {
        return Err(Error::Checksum {
            path: path.to_path_buf(),
            expected: file.sha256.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first folder of `dirs` that holds all four files (compressed or not).
///
/// Only presence is checked here; [`FashionMnist::load`] verifies the contents.
pub fn locate(dirs: &[PathBuf]) -> Result<PathBuf> {
    let mut tried = Vec::new();
    for dir in dirs {
        let missing: Vec<&str> = FILES
            .iter()
            .filter(|f| find_file(dir, f).is_none())
            .map(|f| f.name)
            .collect();
        if missing.is_empty() {
            return Ok(dir.clone());
        }
        tried.push(if missing.len() == FILES.len() {
            format!("{}: no Fashion-MNIST files", dir.display())
        } else {
            format!("{}: missing {}", dir.display(), missing.join(", "))
        });
    }
    Err(Error::NotFound { tried })
}

/// The raw data set: pixels as bytes, labels 0..=9.
#[derive(Debug, Clone)]
pub struct FashionMnist {
    /// 60,000 training images, 784 bytes each, row-major.
    pub train_images: Vec<u8>,
    /// 60,000 training labels.
    pub train_labels: Vec<u8>,
    /// 10,000 test images.
    pub test_images: Vec<u8>,
    /// 10,000 test labels.
    pub test_labels: Vec<u8>,
}

impl FashionMnist {
    /// Loads and verifies the four files in `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |file: &DataFile| -> Result<(PathBuf, Vec<u8>)> {
            let path = find_file(dir, file).ok_or_else(|| Error::NotFound {
                tried: vec![format!("{}: missing {}", dir.display(), file.name)],
            })?;
            let bytes = verify_file(&path, file)?;
            Ok((path, bytes))
        };
        let [train_images, train_labels, test_images, test_labels] = FILES;
        let (train_images, train_labels) = read_pair(read(&train_images)?, read(&train_labels)?)?;
        let (test_images, test_labels) = read_pair(read(&test_images)?, read(&test_labels)?)?;
        Ok(Self {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }

    /// Parses images and labels from IDX files that need not be the published ones (for tests
    /// and other data in the same format); no checksum is checked.
    pub fn from_idx_files(
        train_images: &Path,
        train_labels: &Path,
        test_images: &Path,
        test_labels: &Path,
    ) -> Result<Self> {
        let read = |p: &Path| -> Result<(PathBuf, Vec<u8>)> {
            Ok((p.to_path_buf(), idx::read_maybe_gzip(p, idx::MAX_BYTES)?))
        };
        let (train_images, train_labels) = read_pair(read(train_images)?, read(train_labels)?)?;
        let (test_images, test_labels) = read_pair(read(test_images)?, read(test_labels)?)?;
        Ok(Self {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }

    /// The data set from tensors as candle-datasets' vision `Dataset` holds it (images
    /// `[N, 784]` as `f32` in `[0, 1]`, the pixel bytes divided by 255; labels `[N]` of any
    /// integer type), so that a user of `candle_datasets::vision::mnist`-style loaders can hand
    /// its data to this crate's split and batches:
    ///
    /// ```ignore
    /// let d = candle_datasets::vision::mnist::load_fashion_mnist()?;
    /// let raw = FashionMnist::from_vision_tensors(
    ///     &d.train_images, &d.train_labels, &d.test_images, &d.test_labels)?;
    /// ```
    ///
    /// The pixels are turned back into bytes (`round(255 x)`), so the study's normalization and
    /// split apply exactly as to the IDX files.
    pub fn from_vision_tensors(
        train_images: &candle_core::Tensor,
        train_labels: &candle_core::Tensor,
        test_images: &candle_core::Tensor,
        test_labels: &candle_core::Tensor,
    ) -> Result<Self> {
        let (train_images, train_labels) = from_vision_pair(train_images, train_labels, "train")?;
        let (test_images, test_labels) = from_vision_pair(test_images, test_labels, "test")?;
        Ok(Self {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }

    /// Number of training images.
    pub fn train_len(&self) -> usize {
        self.train_labels.len()
    }

    /// Number of test images.
    pub fn test_len(&self) -> usize {
        self.test_labels.len()
    }
}

/// Parses an images file and a labels file and checks that they fit together.
fn read_pair(images: (PathBuf, Vec<u8>), labels: (PathBuf, Vec<u8>)) -> Result<(Vec<u8>, Vec<u8>)> {
    let (images_path, images) = images;
    let (labels_path, labels) = labels;
    let IdxArray { dims, data: pixels } = idx::parse(&images, 3, &images_path)?;
    let count = match dims[..] {
        [count, 28, 28] => count,
        _ => {
            return Err(Error::Malformed {
                path: images_path,
                fault: format!("images of shape {dims:?}, expected [N, 28, 28]"),
            });
        }
    };
    let IdxArray { data: labels, .. } = idx::parse(&labels, 1, &labels_path)?;
    if labels.len() != count {
        return Err(Error::Malformed {
            path: labels_path,
            fault: format!(
                "{} labels, but {} holds {count} images",
                labels.len(),
                images_path.display(),
            ),
        });
    }
    if let Some((i, label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= CLASS_NAMES.len())
    {
        return Err(Error::Malformed {
            path: labels_path,
            fault: format!("label {label} at index {i} is above 9"),
        });
    }
    debug_assert_eq!(pixels.len(), labels.len() * PIXELS);
    Ok((pixels, labels))
}

/// Pixel and label bytes from a vision data set's image and label tensors.
fn from_vision_pair(
    images: &candle_core::Tensor,
    labels: &candle_core::Tensor,
    which: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let bad = |reason: String| Error::InvalidArgument(format!("the {which} tensors: {reason}"));
    let count = labels.elem_count();
    if images.dims() != [count, PIXELS] {
        return Err(bad(format!(
            "images of shape {:?} for {count} labels, expected [{count}, {PIXELS}]",
            images.dims()
        )));
    }
    let values = images
        .to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    if let Some(v) = values.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(bad(format!(
            "a pixel of {v} is outside [0, 1]; pass the images divided by 255"
        )));
    }
    let pixels = values.iter().map(|&v| (v * 255.0).round() as u8).collect();
    let labels = labels
        .to_dtype(candle_core::DType::U32)?
        .flatten_all()?
        .to_vec1::<u32>()?;
    let labels = labels
        .iter()
        .map(|&l| {
            u8::try_from(l)
                .ok()
                .filter(|&l| usize::from(l) < CLASS_NAMES.len())
                .ok_or_else(|| bad(format!("label {l} is not a class (0 to 9)")))
        })
        .collect::<Result<Vec<u8>>>()?;
    Ok((pixels, labels))
}
