//! The download of Fashion-MNIST against a local HTTP server: a complete `.part` left by a kill
//! is verified and renamed without a request, a partial one is continued with a range request,
//! and one the server cannot continue (HTTP 416) is fetched anew.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The requests a server saw: `(path, range start)`.
type RequestLog = Arc<Mutex<Vec<(String, Option<u64>)>>>;

/// Serves the `.gz` files of `dir` over HTTP/1.1 with range requests, one request per
/// connection, recording each request.
fn serve(dir: PathBuf, log: RequestLog) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = value.trim().trim_end_matches('-').parse::<u64>().ok();
                }
            }
            log.lock().unwrap().push((path.clone(), range));
            let body = std::fs::read(dir.join(path.trim_start_matches('/'))).unwrap();
            let response = match range {
                Some(start) if start >= body.len() as u64 => {
                    b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                }
                Some(start) => {
                    let rest = &body[start as usize..];
                    let mut r = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                        rest.len(),
                        body.len() - 1,
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(rest);
                    r
                }
                None => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body);
                    r
                }
            };
            let _ = stream.write_all(&response);
        }
    });
    port
}

fn gz(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.gz"))
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn complete_partial_and_unusable_part_files_all_end_in_verified_files() {
    let source = actfn_data::locate(&actfn_data::default_search_dirs(
        &actfn_tests::project_root(),
    ))
    .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let port = serve(source.clone(), log.clone());

    let home = tempfile::tempdir().unwrap();
    let raw = home.path().join("FashionMNIST").join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let part = |name: &str| raw.join(format!("{name}.gz.part"));
    let [train_images, train_labels, test_images, test_labels] = actfn_data::FILES.map(|f| f.name);
    // Killed after the last byte, before the rename.
    std::fs::copy(gz(&source, train_images), part(train_images)).unwrap();
    // Killed halfway.
    let labels = std::fs::read(gz(&source, train_labels)).unwrap();
    std::fs::write(part(train_labels), &labels[..labels.len() / 2]).unwrap();
    // Not a prefix of the file: longer than it, so the server answers 416.
    let length = std::fs::metadata(gz(&source, test_images)).unwrap().len();
    std::fs::write(part(test_images), vec![7u8; length as usize + 10]).unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("data")
        .env("PATH_DATASETS", home.path())
        .env("ACTFN_SYSTEM_DATASETS", home.path().join("no-system-copy"))
        .env(
            "ACTFN_FASHION_MNIST_MIRROR",
            format!("http://127.0.0.1:{port}"),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut left: Vec<String> = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    let mut expected: Vec<String> = actfn_data::FILES
        .iter()
        .map(|f| format!("{}.gz", f.name))
        .collect();
    expected.sort();
    assert_eq!(left, expected, "every file in place, no .part left");

    let log = log.lock().unwrap().clone();
    let requests = |name: &str| -> Vec<Option<u64>> {
        log.iter()
            .filter(|(path, _)| path == &format!("/{name}.gz"))
            .map(|(_, range)| *range)
            .collect()
    };
    assert_eq!(
        requests(train_images),
        [],
        "a complete .part needs no request"
    );
    assert_eq!(requests(train_labels), [Some(labels.len() as u64 / 2)]);
    assert_eq!(requests(test_images), [Some(length + 10), None]);
    assert_eq!(requests(test_labels), [None]);
}
