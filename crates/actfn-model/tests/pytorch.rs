//! Tests of the PyTorch checkpoint reader on files the tests write: the legacy format (valid,
//! truncated anywhere, a foreign class) and the zip format.

use std::io::Write;

use actfn_model::pytorch::read_state_dict;
use candle_core::Device;

/// Pickle opcodes as `torch.save` (protocol 2) writes them.
fn unicode(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn global(out: &mut Vec<u8>, module: &str, name: &str) {
    out.push(b'c');
    out.extend_from_slice(format!("{module}\n{name}\n").as_bytes());
}

fn int(out: &mut Vec<u8>, v: u32) {
    out.push(b'J');
    out.extend_from_slice(&v.to_le_bytes());
}

/// A tensor entry `name -> _rebuild_tensor_v2(storage key, 0, size, contiguous stride, False, {})`,
/// as the pickle of a state dict holds it; `persid_len` is 6 in the legacy format, 5 in zip.
fn tensor_entry(
    out: &mut Vec<u8>,
    name: &str,
    key: &str,
    size: &[usize],
    class: (&str, &str),
    persid_len: usize,
) {
    unicode(out, name);
    global(out, "torch._utils", "_rebuild_tensor_v2");
    out.push(b'(');
    out.push(b'(');
    unicode(out, "storage");
    global(out, class.0, class.1);
    unicode(out, key);
    unicode(out, "cpu");
    int(out, size.iter().product::<usize>() as u32);
    if persid_len == 6 {
        out.push(b'N');
    }
    out.extend_from_slice(b"tQ");
    int(out, 0);
    out.push(b'(');
    size.iter().for_each(|&d| int(out, d as u32));
    out.push(b't');
    out.push(b'(');
    let mut stride = 1;
    let mut strides = vec![0; size.len()];
    for i in (0..size.len()).rev() {
        strides[i] = stride;
        stride *= size[i];
    }
    strides.iter().for_each(|&s| int(out, s as u32));
    out.push(b't');
    out.push(0x89);
    global(out, "collections", "OrderedDict");
    out.extend_from_slice(b")R");
    out.extend_from_slice(b"tR");
    out.push(b's');
}

/// The pickle of an OrderedDict of tensors, with the `_metadata` BUILD torch adds.
fn state_dict_pickle(
    tensors: &[(&str, &[usize])],
    class: (&str, &str),
    persid_len: usize,
) -> Vec<u8> {
    let mut out = vec![0x80, 0x02];
    global(&mut out, "collections", "OrderedDict");
    out.extend_from_slice(b")R");
    for (i, (name, size)) in tensors.iter().enumerate() {
        tensor_entry(&mut out, name, &i.to_string(), size, class, persid_len);
    }
    out.extend_from_slice(b"}b.");
    out
}

const TENSORS: [(&str, &[usize]); 2] = [("layers.0.weight", &[3, 2]), ("layers.0.bias", &[3])];

fn values(i: usize, n: usize) -> Vec<f32> {
    (0..n).map(|j| (10 * i + j) as f32 * 0.5 - 1.0).collect()
}

/// A legacy-format file and the byte offsets where its sections end.
fn legacy_file(class: (&str, &str)) -> (Vec<u8>, Vec<usize>) {
    let mut out = vec![
        0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
    ];
    let mut boundaries = vec![out.len()];
    out.extend_from_slice(&[0x80, 0x02, b'M', 0xe9, 0x03, b'.']);
    boundaries.push(out.len());
    out.extend_from_slice(&[0x80, 0x02, b'}', b'(']);
    unicode(&mut out, "little_endian");
    out.extend_from_slice(&[0x88, b'u', b'.']);
    boundaries.push(out.len());
    out.extend_from_slice(&state_dict_pickle(&TENSORS, class, 6));
    boundaries.push(out.len());
    out.extend_from_slice(&[0x80, 0x02, b']', b'(']);
    (0..TENSORS.len()).for_each(|i| unicode(&mut out, &i.to_string()));
    out.extend_from_slice(b"e.");
    boundaries.push(out.len());
    for (i, (_, size)) in TENSORS.iter().enumerate() {
        let n: usize = size.iter().product();
        out.extend_from_slice(&(n as u64).to_le_bytes());
        boundaries.push(out.len());
        values(i, n)
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        boundaries.push(out.len());
    }
    (out, boundaries)
}

/// A tensor read back: name, values, shape.
type ReadTensor = (String, Vec<f32>, Vec<usize>);

fn read(bytes: &[u8]) -> Result<Vec<ReadTensor>, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.tar");
    std::fs::write(&path, bytes).unwrap();
    let tensors = read_state_dict(&path, &Device::Cpu).map_err(|e| e.to_string())?;
    Ok(tensors
        .into_iter()
        .map(|(name, t)| {
            (
                name,
                t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                t.dims().to_vec(),
            )
        })
        .collect())
}

#[test]
fn a_valid_legacy_file_reads_in_order() {
    let (bytes, _) = legacy_file(("torch", "FloatStorage"));
    let tensors = read(&bytes).unwrap();
    assert_eq!(tensors.len(), 2);
    assert_eq!(
        (tensors[0].0.as_str(), tensors[0].2.as_slice()),
        ("layers.0.weight", &[3usize, 2][..])
    );
    assert_eq!(tensors[0].1, values(0, 6));
    assert_eq!(
        (tensors[1].0.as_str(), tensors[1].1.clone()),
        ("layers.0.bias", values(1, 3))
    );
}

#[test]
fn a_truncated_legacy_file_is_an_error_at_every_length() {
    let (bytes, boundaries) = legacy_file(("torch", "FloatStorage"));
    assert_eq!(*boundaries.last().unwrap(), bytes.len());
    for cut in 0..bytes.len() {
        let err = read(&bytes[..cut]).unwrap_err();
        assert!(err.contains("net.tar"), "cut at {cut}: {err}");
        if boundaries.contains(&cut) {
            eprintln!("cut at section boundary {cut}: {err}");
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(read(&longer).unwrap_err().contains("1 unexpected bytes"));
}

#[test]
fn a_foreign_class_is_refused_by_name_and_not_run() {
    let (bytes, _) = legacy_file(("os", "system"));
    let err = read(&bytes).unwrap_err();
    assert!(err.contains("refused pickled object os.system"), "{err}");
    let (bytes, _) = legacy_file(("torch", "LongStorage"));
    assert!(
        read(&bytes)
            .unwrap_err()
            .contains("LongStorage is not supported")
    );
}

#[test]
fn a_huge_declared_length_is_refused_without_allocating() {
    let (mut bytes, boundaries) = legacy_file(("torch", "FloatStorage"));
    // The first storage's element count, claiming 2^60 values.
    let at = boundaries[4];
    bytes[at..at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(
        read(&bytes)
            .unwrap_err()
            .contains("claims 1152921504606846976 float32 values")
    );
    // A string claiming 4 GiB inside the state dict.
    let (mut bytes, boundaries) = legacy_file(("torch", "FloatStorage"));
    let x = boundaries[2]
        + bytes[boundaries[2]..]
            .iter()
            .position(|&b| b == b'X')
            .unwrap();
    bytes[x + 1..x + 5].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(read(&bytes).unwrap_err().contains("truncated"));
}

/// A zip-format checkpoint of [`TENSORS`] with the given pickle.
fn zip_file(pickle: &[u8]) -> Vec<u8> {
    let mut zip_bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("archive/data.pkl", stored).unwrap();
        zip.write_all(pickle).unwrap();
        for (i, (_, size)) in TENSORS.iter().enumerate() {
            zip.start_file(format!("archive/data/{i}"), stored).unwrap();
            for v in values(i, size.iter().product()) {
                zip.write_all(&v.to_le_bytes()).unwrap();
            }
        }
        zip.start_file("archive/version", stored).unwrap();
        zip.write_all(b"3\n").unwrap();
        zip.finish().unwrap();
    }
    zip_bytes
}

#[test]
fn a_zip_format_file_reads_too() {
    let zip_bytes = zip_file(&state_dict_pickle(&TENSORS, ("torch", "FloatStorage"), 5));
    let tensors = read(&zip_bytes).unwrap();
    assert_eq!(tensors.len(), 2);
    assert_eq!(
        (tensors[0].1.clone(), tensors[0].2.clone()),
        (values(0, 6), vec![3, 2])
    );
    assert_eq!(tensors[1].1, values(1, 3));
    assert!(
        read(&zip_bytes[..zip_bytes.len() / 2])
            .unwrap_err()
            .contains("zip")
    );
}

#[test]
fn a_zip_file_is_read_from_its_bytes_alone() {
    // The bytes are checked and read; nothing is read again from the path, which here does not
    // even exist.
    let zip_bytes = zip_file(&state_dict_pickle(&TENSORS, ("torch", "FloatStorage"), 5));
    let path = std::path::Path::new("/nonexistent/actfn/net.pt");
    let tensors =
        actfn_model::pytorch::state_dict_from_bytes(&zip_bytes, path, &Device::Cpu).unwrap();
    assert_eq!(tensors.len(), 2);
}

#[test]
fn a_zip_storage_size_that_overflows_is_refused() {
    // The first tensor's storage claims 2^62 + 6 values: 4 times that wraps around to 24 bytes,
    // the size of its entry, in 64-bit arithmetic.
    let pickle = state_dict_pickle(&TENSORS, ("torch", "FloatStorage"), 5);
    let numel = b"J\x06\x00\x00\x00";
    let at = pickle.windows(5).position(|w| w == numel).unwrap();
    let mut patched = pickle[..at].to_vec();
    patched.extend_from_slice(&[0x8a, 0x08]);
    patched.extend_from_slice(&((1u64 << 62) + 6).to_le_bytes());
    patched.extend_from_slice(&pickle[at + 5..]);
    let err = read(&zip_file(&patched)).unwrap_err();
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn a_zip_whose_pickle_nests_200000_tuples_is_refused_by_name() {
    // Issue 26: `None` wrapped in 200,000 one-tuples (TUPLE1) once overflowed the stack when the
    // value was freed, aborting `import`; it is refused with one line naming the file.
    let mut pickle = b"\x80\x02N".to_vec();
    pickle.extend(std::iter::repeat_n(0x85, 200_000));
    pickle.push(b'.');
    let err = read(&zip_file(&pickle)).unwrap_err();
    assert!(err.contains("net.tar"), "{err}");
    assert!(err.contains("archive/data.pkl"), "{err}");
    assert!(err.contains("nests deeper than"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}
