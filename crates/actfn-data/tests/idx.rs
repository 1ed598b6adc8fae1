//! Tests of the IDX reader on small files the tests write: round trip and every malformed input.

use std::io::Write;
use std::path::{Path, PathBuf};

use actfn_data::idx::{MAX_BYTES, encode, parse, read_maybe_gzip};
use actfn_data::{FashionMnist, Split};
use candle_core::Device;
use rand::SeedableRng;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `n` images whose pixels count up, and labels cycling through the ten classes.
fn images_and_labels(n: usize) -> (Vec<u8>, Vec<u8>) {
    let images = encode(
        &[n, 28, 28],
        &(0..n * 784).map(|i| (i % 256) as u8).collect::<Vec<_>>(),
    );
    let labels = encode(&[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>());
    (images, labels)
}

/// Loads a data set whose training files are `train_images`/`train_labels` and whose test files
/// are valid, and returns the error message.
fn load_error(dir: &Path, train_images: &[u8], train_labels: &[u8]) -> String {
    let (good_images, good_labels) = images_and_labels(3);
    let paths = [
        write(dir, "ti", train_images),
        write(dir, "tl", train_labels),
        write(dir, "vi", &good_images),
        write(dir, "vl", &good_labels),
    ];
    FashionMnist::from_idx_files(&paths[0], &paths[1], &paths[2], &paths[3])
        .unwrap_err()
        .to_string()
}

#[test]
fn round_trip_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = images_and_labels(5);
    let plain = [
        write(dir.path(), "a", &images),
        write(dir.path(), "b", &labels),
    ];
    let zipped = [
        write(dir.path(), "a.gz", &gzip(&images)),
        write(dir.path(), "b.gz", &gzip(&labels)),
    ];
    let data = FashionMnist::from_idx_files(&plain[0], &plain[1], &zipped[0], &zipped[1]).unwrap();
    assert_eq!(data.train_images, data.test_images);
    assert_eq!(data.train_labels, [0, 1, 2, 3, 4]);
    assert_eq!(read_maybe_gzip(&zipped[0], MAX_BYTES).unwrap(), images);
    let split = Split::from_bytes(
        &data.train_images,
        &data.train_labels,
        Some(&[4, 0]),
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(split.labels.to_vec1::<u32>().unwrap(), [4, 0]);
    let first = split.images.get(1).unwrap().to_vec1::<f32>().unwrap();
    assert_eq!((first[0], first[255]), (-1.0, 1.0));
}

/// (what, training images, training labels, the file at fault, the fault).
type Case = (&'static str, Vec<u8>, Vec<u8>, &'static str, &'static str);

#[test]
fn every_malformed_file_is_an_error_naming_the_file_and_fault() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = images_and_labels(3);
    let mut wrong_magic = images.clone();
    wrong_magic[2] = 0x0d;
    let mut bad_label = labels.clone();
    *bad_label.last_mut().unwrap() = 10;
    let mut corrupt_gzip = gzip(&images);
    let middle = corrupt_gzip.len() / 2;
    corrupt_gzip.truncate(middle);
    let cases: Vec<Case> = vec![
        (
            "wrong magic",
            wrong_magic,
            labels.clone(),
            "ti",
            "wrong magic number",
        ),
        (
            "wrong dimensions",
            encode(&[3, 784], &images[12..]),
            labels.clone(),
            "ti",
            "2 dimensions, expected 3",
        ),
        (
            "counts differ",
            images.clone(),
            encode(&[2], &[0, 1]),
            "tl",
            "2 labels, but",
        ),
        (
            "truncated data",
            images[..images.len() - 1].to_vec(),
            labels.clone(),
            "ti",
            "truncated",
        ),
        (
            "truncated header",
            images[..9].to_vec(),
            labels.clone(),
            "ti",
            "truncated in the header",
        ),
        (
            "empty file",
            Vec::new(),
            labels.clone(),
            "ti",
            "no IDX header",
        ),
        (
            "label above 9",
            images.clone(),
            bad_label,
            "tl",
            "label 10 at index 2 is above 9",
        ),
        (
            "corrupt gzip",
            corrupt_gzip,
            labels.clone(),
            "ti",
            "corrupt gzip stream",
        ),
        (
            "wrong image size",
            encode(&[3, 14, 56], &images[16..]),
            labels.clone(),
            "ti",
            "shape [3, 14, 56]",
        ),
        (
            "a byte past the declared data",
            [images.as_slice(), &[7]].concat(),
            labels.clone(),
            "ti",
            "too long: dimensions [3, 28, 28] need 2352 data bytes",
        ),
    ];
    for (what, train_images, train_labels, file, fault) in cases {
        let message = load_error(dir.path(), &train_images, &train_labels);
        assert!(message.contains(fault), "{what}: {message}");
        let path = dir.path().join(file).display().to_string();
        assert!(
            message.starts_with(&format!("{path}:")),
            "{what} should name {path}: {message}"
        );
    }
    let huge = encode(
        &[u32::MAX as usize, u32::MAX as usize, u32::MAX as usize],
        &[],
    );
    let message = parse(&huge, 3, Path::new("huge")).unwrap_err().to_string();
    assert!(
        message.contains("huge") && message.contains("overflow"),
        "{message}"
    );
}

#[test]
fn a_gzip_bomb_is_refused_quickly_without_inflating_it() {
    let dir = tempfile::tempdir().unwrap();
    // A valid header for 60,000 images, then a gigabyte of zeros: about a megabyte of gzip.
    let header = encode(&[60_000, 28, 28], &[]);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&header).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = write(dir.path(), "bomb.gz", &encoder.finish().unwrap());
    assert!(std::fs::metadata(&bomb).unwrap().len() < 8 << 20);
    let started = std::time::Instant::now();
    // Reading stops one byte past the 47 MB the header declares, and the parser refuses it.
    let bytes = read_maybe_gzip(&bomb, MAX_BYTES).unwrap();
    assert_eq!(bytes.len() as u64, MAX_BYTES + 1);
    let err = parse(&bytes, 3, &bomb).unwrap_err().to_string();
    assert!(err.contains("bomb.gz") && err.contains("too long"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // A header that declares more than any Fashion-MNIST file is refused before its data.
    let huge = encode(&[4_000_000_000, 1000, 1000], &[]);
    let claim = write(dir.path(), "claim.gz", &gzip(&huge));
    let err = read_maybe_gzip(&claim, MAX_BYTES).unwrap_err().to_string();
    assert!(err.contains("declares"), "{err}");
}

#[test]
fn split_indices_past_the_data_are_refused_naming_them() {
    let (images, labels) = images_and_labels(3);
    let images = parse(&images, 3, Path::new("i")).unwrap().data;
    let labels = parse(&labels, 1, Path::new("l")).unwrap().data;
    let err = Split::from_bytes(&images, &labels, Some(&[0, 3]), &Device::Cpu).unwrap_err();
    assert!(
        matches!(err, actfn_data::Error::InvalidArgument(_)),
        "{err}"
    );
    assert!(err.to_string().contains("index 3 at position 1"), "{err}");
    let err = Split::from_bytes(&images[1..], &labels, None, &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("pixels for 3 labels"), "{err}");
}

#[test]
fn a_missing_folder_lists_what_was_tried_and_the_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = images_and_labels(1);
    write(dir.path(), "train-images-idx3-ubyte.gz", &gzip(&images));
    let message = actfn_data::locate(&[dir.path().join("nothing"), dir.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(message.contains("no Fashion-MNIST files"), "{message}");
    assert!(
        message.contains("missing train-labels-idx1-ubyte, t10k-images"),
        "{message}"
    );
    assert!(
        message.contains("apt-get install dataset-fashion-mnist"),
        "{message}"
    );
    assert!(message.contains("data/FashionMNIST/raw/"), "{message}");
}

#[test]
fn a_file_with_the_wrong_checksum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = images_and_labels(2);
    let path = write(dir.path(), "train-images-idx3-ubyte", &images);
    let message = actfn_data::verify_file(&path, &actfn_data::FILES[0])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("SHA-256") && message.contains(&actfn_data::FILES[0].sha256[..16]),
        "{message}"
    );
}

#[test]
fn batches_cover_the_split_with_and_without_drop_last() {
    let (images, labels) = images_and_labels(10);
    let images = parse(&images, 3, Path::new("i")).unwrap().data;
    let labels = parse(&labels, 1, Path::new("l")).unwrap().data;
    let split = Split::from_bytes(&images, &labels, None, &Device::Cpu).unwrap();
    let sizes = |batches: actfn_data::Batches| -> Vec<usize> {
        batches.map(|b| b.unwrap().1.dims()[0]).collect()
    };
    assert_eq!(sizes(split.batches(4, None, false).unwrap()), [4, 4, 2]);
    assert_eq!(sizes(split.batches(4, None, true).unwrap()), [4, 4]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut seen: Vec<u32> = split
        .batches(3, Some(&mut rng), false)
        .unwrap()
        .flat_map(|b| b.unwrap().1.to_vec1::<u32>().unwrap())
        .collect();
    assert_ne!(
        seen,
        (0..10).collect::<Vec<u32>>(),
        "a shuffled epoch came out in order"
    );
    seen.sort();
    assert_eq!(seen, (0..10).collect::<Vec<u32>>());
    assert!(
        split
            .batches(0, None, false)
            .unwrap_err()
            .to_string()
            .contains("at least 1")
    );
}

#[test]
fn tensors_as_candle_datasets_holds_them_give_back_the_same_bytes() {
    // candle-datasets' vision Dataset: images [N, 784] f32 = bytes / 255, labels u8.
    let (images, labels) = images_and_labels(4);
    let pixels = parse(&images, 3, Path::new("i")).unwrap().data;
    let classes = parse(&labels, 1, Path::new("l")).unwrap().data;
    let as_f32: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let images_tensor = candle_core::Tensor::from_vec(as_f32, (4, 784), &Device::Cpu).unwrap();
    let labels_tensor = candle_core::Tensor::new(classes.as_slice(), &Device::Cpu).unwrap();
    let data = FashionMnist::from_vision_tensors(
        &images_tensor,
        &labels_tensor,
        &images_tensor,
        &labels_tensor,
    )
    .unwrap();
    assert_eq!(data.train_images, pixels);
    assert_eq!(data.test_labels, classes);
    let err = FashionMnist::from_vision_tensors(
        &(images_tensor.clone() * 255.0).unwrap(),
        &labels_tensor,
        &images_tensor,
        &labels_tensor,
    )
    .unwrap_err();
    assert!(err.to_string().contains("divided by 255"), "{err}");
}
