//! The downloader against a real HTTP/1.1 server on 127.0.0.1 started by each test.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use twostage::data::DataError;
use twostage::data::download::{DownloadOptions, default_data_dir, download_mnist, ensure_mnist};
use twostage::data::mnist::{FILE_NAMES, Mnist, Split, find_file};

/// Names of everything in `dir` (temporary files included).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// What the test server does for a path.
#[derive(Clone)]
enum Reply {
    /// 200 with the body and its Content-Length.
    Body(Vec<u8>),
    /// 200 announcing the full length, sending half, then closing.
    Truncated(Vec<u8>),
    /// Accept the request and never answer.
    Silent,
}

/// A tiny HTTP/1.1 server: each path gets its [`Reply`], any other path a 404.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
}

impl Server {
    fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let routes = Arc::new(routes);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let routes = Arc::clone(&routes);
                let counter = Arc::clone(&counter);
                thread::spawn(move || handle(stream, &routes, &counter));
            }
        });
        Server { base, requests }
    }

    fn mirror(&self, prefix: &str) -> String {
        format!("{}/{prefix}/", self.base)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn handle(mut stream: TcpStream, routes: &HashMap<String, Reply>, counter: &AtomicUsize) {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => return,
        }
    }
    counter.fetch_add(1, Ordering::SeqCst);
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
    let header = |len: usize| {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    let _ = match routes.get(&path) {
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        Some(Reply::Body(body)) => stream
            .write_all(header(body.len()).as_bytes())
            .and_then(|()| stream.write_all(body)),
        Some(Reply::Truncated(body)) => stream
            .write_all(header(body.len()).as_bytes())
            .and_then(|()| stream.write_all(&body[..body.len() / 2])),
        Some(Reply::Silent) => {
            thread::sleep(Duration::from_secs(60));
            Ok(())
        }
    };
}

fn options(mirrors: Vec<String>) -> DownloadOptions {
    DownloadOptions {
        mirrors,
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        progress: false,
    }
}

fn attempts(error: &DataError) -> Vec<(String, String)> {
    match error {
        DataError::DownloadFailed { attempts, .. } => attempts
            .iter()
            .map(|a| (a.url.clone(), a.reason.clone()))
            .collect(),
        other => panic!("expected DownloadFailed, got {other:?}"),
    }
}

/// Something that is valid gzip but not train-images-idx3-ubyte.
fn wrong_content() -> Vec<u8> {
    gzip(&[0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3])
}

#[test]
fn first_mirror_404_then_second_serves_all_four_files() {
    let Some(source) = common::mnist_dir() else {
        return;
    };
    let mut routes = HashMap::new();
    for name in FILE_NAMES {
        let path = find_file(&source, name).unwrap();
        assert!(
            path.to_string_lossy().ends_with(".gz"),
            "the real files are served gzipped"
        );
        routes.insert(
            format!("/good/{name}.gz"),
            Reply::Body(std::fs::read(path).unwrap()),
        );
    }
    let server = Server::start(routes);
    let dir = common::temp_dir("mirrors").join("nested");
    let opts = options(vec![server.mirror("missing"), server.mirror("good")]);

    download_mnist(&dir, &opts).unwrap();
    assert_eq!(server.requests(), 8, "one 404 and one success per file");
    let mut expected: Vec<String> = FILE_NAMES.iter().map(|n| format!("{n}.gz")).collect();
    expected.sort();
    assert_eq!(listing(&dir), expected, "no temporary files left");
    assert_eq!(Mnist::load(&dir, Split::Train, true).unwrap().len(), 60000);
    assert_eq!(Mnist::load(&dir, Split::Test, true).unwrap().len(), 10000);

    // Present and valid: neither download_mnist nor ensure_mnist fetches again.
    download_mnist(&dir, &opts).unwrap();
    ensure_mnist(&dir, &opts).unwrap();
    assert_eq!(server.requests(), 8);

    // A corrupted local file is fetched again (once, from the good mirror after the 404).
    let labels = dir.join("t10k-labels-idx1-ubyte.gz");
    std::fs::write(&labels, wrong_content()).unwrap();
    download_mnist(&dir, &opts).unwrap();
    assert_eq!(server.requests(), 10);
    assert_eq!(Mnist::load(&dir, Split::Test, true).unwrap().len(), 10000);

    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn truncated_body_leaves_no_file() {
    let body = gzip(&[7u8; 5000]);
    let server = Server::start(HashMap::from([(
        "/m/train-images-idx3-ubyte.gz".to_string(),
        Reply::Truncated(body.clone()),
    )]));
    let dir = common::temp_dir("truncated");
    let e = download_mnist(&dir, &options(vec![server.mirror("m")])).unwrap_err();
    let tried = attempts(&e);
    assert_eq!(tried.len(), 1);
    let total = body.len();
    assert!(
        tried[0].1.starts_with(&format!(
            "body failed after {} of {total} announced bytes",
            total / 2
        )) || tried[0].1 == format!("body ended after {} of {total} announced bytes", total / 2),
        "{}",
        tried[0].1
    );
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn wrong_or_corrupt_content_leaves_no_file() {
    let mut corrupt = gzip(&[1u8; 3000]);
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    corrupt.truncate(corrupt.len() - 4);
    let server = Server::start(HashMap::from([
        (
            "/wrong/train-images-idx3-ubyte.gz".to_string(),
            Reply::Body(wrong_content()),
        ),
        (
            "/corrupt/train-images-idx3-ubyte.gz".to_string(),
            Reply::Body(corrupt),
        ),
    ]));
    let dir = common::temp_dir("wrong");
    let opts = options(vec![server.mirror("wrong"), server.mirror("corrupt")]);
    let e = download_mnist(&dir, &opts).unwrap_err();
    let tried = attempts(&e);
    assert!(
        tried[0]
            .1
            .starts_with("checksum mismatch: decompressed content has SHA-256 "),
        "{}",
        tried[0].1
    );
    assert!(
        tried[0].1.ends_with(
            ", expected ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "{}",
        tried[0].1
    );
    assert!(tried[1].1.starts_with("corrupt gzip: "), "{}", tried[1].1);
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A port on which nothing listens.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn connection_refused_fails_fast_over_http_and_https() {
    let port = closed_port();
    let mirrors = vec![
        format!("http://127.0.0.1:{port}/mnist/"),
        // https exercises the rustls client set-up (the ring provider must be installed).
        format!("https://127.0.0.1:{port}/mnist"),
    ];
    let dir = common::temp_dir("refused");
    let start = Instant::now();
    let e = download_mnist(&dir, &options(mirrors)).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    let tried = attempts(&e);
    assert_eq!(
        tried[0].0,
        format!("http://127.0.0.1:{port}/mnist/train-images-idx3-ubyte.gz")
    );
    assert_eq!(
        tried[1].0,
        format!("https://127.0.0.1:{port}/mnist/train-images-idx3-ubyte.gz")
    );
    for (_, reason) in &tried {
        assert!(reason.to_lowercase().contains("refused"), "{reason}");
    }
    let message = e.to_string();
    assert!(
        message.starts_with("could not download train-images-idx3-ubyte.gz from any mirror:\n"),
        "{message}"
    );
    assert!(message.contains("--data-dir DIR"), "{message}");
    assert!(listing(&dir).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn silent_server_times_out_within_the_bound() {
    let server = Server::start(HashMap::from([(
        "/m/train-images-idx3-ubyte.gz".to_string(),
        Reply::Silent,
    )]));
    let dir = common::temp_dir("silent");
    let mut opts = options(vec![server.mirror("m")]);
    opts.read_timeout = Duration::from_secs(1);
    let start = Instant::now();
    let e = download_mnist(&dir, &opts).unwrap_err();
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "took {elapsed:?}");
    let tried = attempts(&e);
    assert_eq!(tried[0].1, "no response within 1s (read timeout)");
    assert!(listing(&dir).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_mirrors_is_a_clear_error() {
    let dir = common::temp_dir("nomirrors");
    let e = download_mnist(&dir, &options(Vec::new())).unwrap_err();
    assert!(e.to_string().contains("(no mirrors configured)"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn default_data_dir_follows_mnist_dir() {
    match std::env::var_os("MNIST_DIR") {
        Some(dir) => assert_eq!(default_data_dir(), PathBuf::from(dir)),
        None => assert_eq!(default_data_dir(), PathBuf::from("data/mnist")),
    }
    let defaults = DownloadOptions::default();
    assert_eq!(defaults.mirrors.len(), 3);
    assert!(defaults.mirrors[0].starts_with("https://"));
}
