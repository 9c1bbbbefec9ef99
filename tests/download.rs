#![cfg(feature = "download")]
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
use twostage::data::dataset::{FASHION_MNIST, FASHION_MNIST_MIRRORS, MNIST};
use twostage::data::download::{
    DEFAULT_FILE_DEADLINE, DownloadOptions, default_data_dir, download_dataset, download_mnist,
    ensure_dataset, ensure_mnist, redact_url,
};
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
    /// 200 with the full Content-Length, then the body one byte per interval.
    Trickle(Vec<u8>, Duration),
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
        Some(Reply::Trickle(body, interval)) => {
            let mut result = stream.write_all(header(body.len()).as_bytes());
            for byte in body {
                if result.is_err() {
                    break;
                }
                thread::sleep(*interval);
                result = stream.write_all(&[*byte]).and_then(|()| stream.flush());
            }
            result
        }
    };
}

fn options(mirrors: Vec<String>) -> DownloadOptions {
    DownloadOptions {
        mirrors,
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        file_deadline: Duration::from_secs(20),
        progress: twostage::data::download::Reporter::silent(),
    }
}

/// Fails, naming them, if any file (a partial download, a temporary file) is left in `dir`.
fn assert_nothing_left(dir: &Path) {
    let left = listing(dir);
    assert!(
        left.is_empty(),
        "left behind in {}: {left:?}",
        dir.display()
    );
}

/// Every mirror's `(url, reason)` from a failed download.
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

use common::assert_matches;
use common::idx_u8 as idx;

/// A server holding the four real MNIST `.gz` files under `/good/`, when MNIST_DIR has them.
fn mnist_server() -> Option<Server> {
    let source = common::mnist_dir()?;
    let mut routes = HashMap::new();
    for name in FILE_NAMES {
        let path = find_file(&source, name).unwrap();
        routes.insert(
            format!("/good/{name}.gz"),
            Reply::Body(std::fs::read(path).unwrap()),
        );
    }
    Some(Server::start(routes))
}

/// Fashion-MNIST (same names and dimensions as MNIST, other content): `FASHION_MNIST_DIR`.
fn fashion_dir() -> Option<PathBuf> {
    common::fashion_mnist_dir()
}

/// The bytes of every file in `dir`, by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap_or_default();
            (name, bytes)
        })
        .collect()
}

#[test]
fn first_mirror_404_then_second_serves_all_four_files() {
    let Some(source) = common::mnist_dir() else { return };
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

    download_mnist(&dir, false, &opts).unwrap();
    assert_eq!(server.requests(), 8, "one 404 and one success per file");
    let mut expected: Vec<String> = FILE_NAMES.iter().map(|n| format!("{n}.gz")).collect();
    expected.sort();
    assert_eq!(listing(&dir), expected, "no temporary files left");
    assert_eq!(Mnist::load(&dir, Split::Train).unwrap().len(), 60000);
    assert_eq!(Mnist::load(&dir, Split::Test).unwrap().len(), 10000);

    // Present and valid: neither download_mnist nor ensure_mnist fetches again.
    download_mnist(&dir, false, &opts).unwrap();
    ensure_mnist(&dir, &FILE_NAMES, &opts).unwrap();
    assert_eq!(server.requests(), 8);

    // A local file that is not MNIST is the user's: refused without --force, nothing fetched.
    let labels = dir.join("t10k-labels-idx1-ubyte.gz");
    std::fs::write(&labels, wrong_content()).unwrap();
    let e = download_mnist(&dir, false, &opts).unwrap_err();
    assert_matches!(e => DataError::PresentNotMnist { .. });
    assert_eq!(server.requests(), 8);
    assert_eq!(std::fs::read(&labels).unwrap(), wrong_content());
    // With --force it is replaced (once, from the good mirror after the 404).
    download_mnist(&dir, true, &opts).unwrap();
    assert_eq!(server.requests(), 10);
    assert_eq!(Mnist::load(&dir, Split::Test).unwrap().len(), 10000);

    // A plain file that does not verify is replaced by its .gz and removed, when forced.
    let plain = dir.join("train-labels-idx1-ubyte");
    std::fs::remove_file(dir.join("train-labels-idx1-ubyte.gz")).unwrap();
    std::fs::write(&plain, idx(&[2], &[1, 2])).unwrap();
    download_mnist(&dir, true, &opts).unwrap();
    assert!(!plain.exists());
    assert_eq!(listing(&dir), expected);
    assert_eq!(Mnist::load(&dir, Split::Train).unwrap().len(), 60000);

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
    let tried =
        attempts(&download_mnist(&dir, false, &options(vec![server.mirror("m")])).unwrap_err());
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
    assert_nothing_left(&dir);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn wrong_or_corrupt_content_leaves_no_file() {
    // The right header, then a damaged and cut-off deflate stream.
    let mut corrupt = gzip(&idx(&[60000, 28, 28], &[1u8; 3000]));
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    corrupt.truncate(corrupt.len() - 4);
    // The right header and 10 × 28 × 28 bytes, not 60000: refused from the header alone.
    let short = gzip(&idx(&[10, 28, 28], &[0u8; 10 * 784]));
    let server = Server::start(HashMap::from([
        (
            "/wrong/train-images-idx3-ubyte.gz".to_string(),
            Reply::Body(wrong_content()),
        ),
        (
            "/corrupt/train-images-idx3-ubyte.gz".to_string(),
            Reply::Body(corrupt),
        ),
        (
            "/short/train-images-idx3-ubyte.gz".to_string(),
            Reply::Body(short),
        ),
    ]));
    let dir = common::temp_dir("wrong");
    let opts = options(vec![
        server.mirror("wrong"),
        server.mirror("corrupt"),
        server.mirror("short"),
    ]);
    let tried = attempts(&download_mnist(&dir, false, &opts).unwrap_err());
    assert_eq!(
        tried[0].1,
        "not MNIST train-images-idx3-ubyte: its header declares u8 (3), MNIST's is \
         u8 (60000, 28, 28)"
    );
    assert!(tried[1].1.starts_with("corrupt gzip: "), "{}", tried[1].1);
    assert!(
        tried[2].1.contains("declares u8 (10, 28, 28), MNIST's is"),
        "{}",
        tried[2].1
    );
    assert_nothing_left(&dir);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn checksum_mismatch_from_a_mirror_is_reported_and_leaves_no_file() {
    // The published header and size of t10k-labels-idx1-ubyte, other labels.
    let labels: Vec<u8> = (0..10000).map(|i| (i % 10) as u8).collect();
    let server = Server::start(HashMap::from([(
        "/m/t10k-labels-idx1-ubyte.gz".to_string(),
        Reply::Body(gzip(&idx(&[10000], &labels))),
    )]));
    let dir = common::temp_dir("checksum");
    let e = ensure_mnist(
        &dir,
        &["t10k-labels-idx1-ubyte"],
        &options(vec![server.mirror("m")]),
    )
    .unwrap_err();
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
            ", expected ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
        "{}",
        tried[0].1
    );
    assert_nothing_left(&dir);
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
    let e = download_mnist(&dir, false, &options(mirrors)).unwrap_err();
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
    // The advice to use a local copy (--data-dir) is the command line's, not the library's.
    assert!(!message.contains("--data-dir"), "{message}");
    assert_nothing_left(&dir);
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
    let e = download_mnist(&dir, false, &opts).unwrap_err();
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "took {elapsed:?}");
    let tried = attempts(&e);
    assert_eq!(tried[0].1, "no response within 1s (read timeout)");
    assert_nothing_left(&dir);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_mirrors_is_a_clear_error() {
    let dir = common::temp_dir("nomirrors");
    let e = download_mnist(&dir, false, &options(Vec::new())).unwrap_err();
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
    assert_eq!(defaults.file_deadline, DEFAULT_FILE_DEADLINE);
    assert_eq!(DEFAULT_FILE_DEADLINE, Duration::from_secs(600));
}

/// Issue 9, item 1: a directory holding another dataset's files under MNIST's names is never
/// completed with MNIST, and nothing in it is touched.
#[test]
fn ensure_mnist_refuses_to_complete_a_set_that_is_not_mnist() {
    // Served MNIST is never asked for: any request fails the test below.
    let server = Server::start(HashMap::new());
    let opts = options(vec![server.mirror("good")]);

    // Crafted files of other dimensions (refused from their headers alone).
    let dir = common::temp_dir("foreign-crafted");
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        idx(&[2, 28, 28], &[7; 2 * 784]),
    )
    .unwrap();
    let before = snapshot(&dir);
    let e = ensure_mnist(&dir, &Split::Test.file_names(), &opts).unwrap_err();
    let message = e.to_string();
    assert_matches!(e => DataError::IncompleteSet { .. });
    assert_eq!(
        message,
        format!(
            "t10k-labels-idx1-ubyte(.gz) is missing in {d}; {d} also holds t10k-images-idx3-ubyte \
             (its header declares u8 (2, 28, 28), MNIST's is u8 (10000, 28, 28)), which is not \
             MNIST, so nothing was downloaded",
            d = dir.display()
        )
    );
    assert_eq!(server.requests(), 0);
    assert_eq!(snapshot(&dir), before, "the user's files are untouched");
    std::fs::remove_dir_all(&dir).unwrap();

    // Three of the four Fashion-MNIST files: same names and dimensions, other content.
    let Some(fashion) = fashion_dir() else { return };
    let dir = common::temp_dir("foreign-fashion");
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ] {
        std::fs::copy(fashion.join(name), dir.join(name)).unwrap();
    }
    let before = snapshot(&dir);
    for needed in [&FILE_NAMES[..], &Split::Test.file_names()[..]] {
        let e = ensure_mnist(&dir, needed, &opts).unwrap_err();
        let message = e.to_string();
        assert!(
            message.starts_with(&format!(
                "t10k-labels-idx1-ubyte(.gz) is missing in {d}; {d} also holds \
                 train-images-idx3-ubyte.gz (its SHA-256 is not MNIST's), \
                 train-labels-idx1-ubyte.gz (its SHA-256 is not MNIST's) and \
                 t10k-images-idx3-ubyte.gz (its SHA-256 is not MNIST's), which are not MNIST, \
                 so nothing was downloaded",
                d = dir.display()
            )),
            "{message}"
        );
    }
    // `download` without --force refuses too, naming the three (the command line adds how to
    // replace them).
    let e = download_mnist(&dir, false, &opts).unwrap_err();
    let message = e.to_string();
    assert_matches!(e => DataError::PresentNotMnist { files, .. } if files.len() == 3);
    assert!(
        message.ends_with("are not MNIST and nothing was downloaded"),
        "{message}"
    );
    assert_eq!(server.requests(), 0);
    assert_eq!(
        snapshot(&dir),
        before,
        "the user's files are byte-identical"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 9, item 1: files that verify as MNIST are completed; only the missing one is fetched,
/// only the files needed are fetched, and a complete set means no network at all.
#[test]
fn ensure_mnist_fetches_only_missing_needed_files() {
    let Some(server) = mnist_server() else { return };
    let source = common::mnist_dir().unwrap();
    let dir = common::temp_dir("complete");
    let images = find_file(&source, "t10k-images-idx3-ubyte").unwrap();
    std::fs::copy(&images, dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
    let opts = options(vec![server.mirror("good")]);
    ensure_mnist(&dir, &Split::Test.file_names(), &opts).unwrap();
    assert_eq!(server.requests(), 1, "t10k-labels only");
    assert_eq!(
        listing(&dir),
        ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    );
    ensure_mnist(&dir, &Split::Test.file_names(), &opts).unwrap();
    assert_eq!(server.requests(), 1, "nothing fetched when all are present");
    assert_eq!(Mnist::load(&dir, Split::Test).unwrap().len(), 10000);

    // A directory that does not exist is created (with a line on stderr) and filled.
    let fresh = dir.join("fresh");
    ensure_mnist(&fresh, &Split::Train.file_names(), &opts).unwrap();
    assert_eq!(server.requests(), 3);
    assert_eq!(Mnist::load(&fresh, Split::Train).unwrap().len(), 60000);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 9: `--data-dir` naming a regular file is said so, not "File exists (os error 17)".
#[test]
fn data_dir_that_is_a_file_is_a_clear_error() {
    let server = Server::start(HashMap::new());
    let opts = options(vec![server.mirror("m")]);
    let dir = common::temp_dir("dir-is-file");
    let file = dir.join("mnist");
    std::fs::write(&file, b"my notes").unwrap();
    for e in [
        ensure_mnist(&file, &FILE_NAMES, &opts).unwrap_err(),
        download_mnist(&file, false, &opts).unwrap_err(),
    ] {
        assert_matches!(e => DataError::NotADirectory { kind: "a file", .. });
        assert!(
            e.to_string()
                .starts_with(&format!("{} is a file, not a directory", file.display())),
            "{e}"
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"my notes");
    assert_eq!(server.requests(), 0);
    // A name that is not an MNIST file is a caller's bug, said so.
    let e = ensure_mnist(&dir, &["t10k-images"], &opts).unwrap_err();
    assert_matches!(e => DataError::UnknownFileName { .. });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 9, unhelpful messages: a directory named like a data file is not "missing", and is
/// neither sent to the mirrors nor replaced.
#[test]
fn directory_named_like_a_data_file_is_not_downloaded_over() {
    let server = Server::start(HashMap::new());
    let opts = options(vec![server.mirror("m")]);
    let dir = common::temp_dir("dir-named-like-file");
    std::fs::create_dir(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let e = ensure_mnist(&dir, &Split::Test.file_names(), &opts).unwrap_err();
    let message = e.to_string();
    assert!(
        message.starts_with(&format!(
            "t10k-images-idx3-ubyte(.gz) is missing in {d}; {d} also holds \
             t10k-labels-idx1-ubyte.gz (it is a directory, not a file), which is not MNIST",
            d = dir.display()
        )),
        "{message}"
    );
    for force in [false, true] {
        let e = download_mnist(&dir, force, &opts).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is a directory, not a file: move it away, or put the IDX file there",
                dir.join("t10k-labels-idx1-ubyte.gz").display()
            )
        );
    }
    assert_eq!(server.requests(), 0);
    assert!(dir.join("t10k-labels-idx1-ubyte.gz").is_dir());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 9, item 5 (data side): temporary files of dead processes go before a download.
#[test]
fn stale_temporary_files_are_removed_before_downloading() {
    let dir = common::temp_dir("stale");
    // No process has this id (above any pid_max); ours is kept.
    let stale = dir.join(".train-images-idx3-ubyte.gz.part-4000000000");
    let ours = dir.join(format!(".model.safetensors.tmp-{}", std::process::id()));
    let user = dir.join(".notes-4000000000");
    for path in [&stale, &ours, &user] {
        std::fs::write(path, b"x").unwrap();
    }
    let e = download_mnist(&dir, false, &options(Vec::new())).unwrap_err();
    assert!(e.to_string().contains("(no mirrors configured)"), "{e}");
    assert!(!stale.exists());
    assert!(ours.exists() && user.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 9, item 10: a mirror that trickles is given up on at the file deadline and the next
/// mirror is tried.
#[test]
fn trickling_mirror_is_given_up_on_at_the_deadline() {
    let mnist = mnist_server();
    let body = gzip(&[0u8; 100]);
    let server = Server::start(HashMap::from([(
        "/slow/t10k-labels-idx1-ubyte.gz".to_string(),
        Reply::Trickle(body, Duration::from_millis(50)),
    )]));
    let dir = common::temp_dir("trickle");
    let mut opts = options(vec![server.mirror("slow"), server.mirror("missing")]);
    opts.file_deadline = Duration::from_millis(600);
    let start = Instant::now();
    let e = ensure_mnist(&dir, &["t10k-labels-idx1-ubyte"], &opts).unwrap_err();
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(600), "took {elapsed:?}");
    let tried = attempts(&e);
    assert_eq!(tried.len(), 2, "{tried:?}");
    assert!(
        tried[0]
            .1
            .starts_with("too slow: not complete within the file deadline of 600ms (after "),
        "{}",
        tried[0].1
    );
    assert_eq!(tried[1].1, "HTTP 404 Not Found");
    assert_nothing_left(&dir);

    // With a good mirror after the slow one, the file arrives.
    if let Some(good) = mnist {
        opts.mirrors = vec![server.mirror("slow"), good.mirror("good")];
        ensure_mnist(&dir, &["t10k-labels-idx1-ubyte"], &opts).unwrap();
        assert_eq!(listing(&dir), ["t10k-labels-idx1-ubyte.gz"]);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 9, unhelpful messages: a password in a mirror URL is never shown.
#[test]
fn password_in_a_mirror_url_is_redacted() {
    assert_eq!(
        redact_url("https://user:secret@host/mnist/"),
        "https://user:***@host/mnist/"
    );
    assert_eq!(
        redact_url("http://u:p@ss:w@rd@127.0.0.1:8080/m?x=a@b"),
        "http://u:***@127.0.0.1:8080/m?x=a@b"
    );
    for unchanged in [
        "https://host/mnist/",
        "https://token@host/",
        "https://host/a:b@c",
        "no url",
    ] {
        assert_eq!(redact_url(unchanged), unchanged);
    }

    let server = Server::start(HashMap::new());
    let port = closed_port();
    let dir = common::temp_dir("password");
    let mirrors = vec![
        server.mirror("m").replace("http://", "http://user:s3cr3t@"),
        format!("http://user:s3cr3t@127.0.0.1:{port}/m/"),
    ];
    let e = download_mnist(&dir, false, &options(mirrors)).unwrap_err();
    let tried = attempts(&e);
    assert_eq!(
        tried[0].0,
        format!(
            "{}train-images-idx3-ubyte.gz",
            server.mirror("m").replace("http://", "http://user:***@")
        )
    );
    assert_eq!(
        tried[1].0,
        format!("http://user:***@127.0.0.1:{port}/m/train-images-idx3-ubyte.gz")
    );
    let message = format!("{e} {e:?}");
    assert!(!message.contains("s3cr3t"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 11: Fashion-MNIST downloads from its own mirror table, on loopback like MNIST: a 404
/// mirror, then one serving MNIST's files under the same names (refused by checksum, nothing
/// kept), then the right one. The same safety rules hold: a set holding MNIST is never
/// completed with Fashion-MNIST.
#[test]
fn fashion_mnist_downloads_from_its_mirror_table_and_verifies() {
    let defaults = DownloadOptions::for_dataset(&FASHION_MNIST);
    assert_eq!(defaults.mirrors, FASHION_MNIST_MIRRORS);
    assert!(defaults.mirrors[0].contains("fashion-mnist.s3-website.eu-central-1.amazonaws.com"));
    assert_eq!(
        DownloadOptions::for_dataset(&MNIST),
        DownloadOptions::default()
    );

    let (Some(fashion), Some(mnist)) = (fashion_dir(), common::mnist_dir()) else {
        return;
    };
    let mut routes = HashMap::new();
    for name in FILE_NAMES {
        for (prefix, source) in [("fashion", &fashion), ("mnist", &mnist)] {
            let path = find_file(source, name).unwrap();
            routes.insert(
                format!("/{prefix}/{name}.gz"),
                Reply::Body(std::fs::read(path).unwrap()),
            );
        }
    }
    let server = Server::start(routes);
    let dir = common::temp_dir("fashion-download").join("fashion");

    // Only MNIST's files on offer: each is refused by its checksum, nothing kept.
    let wrong = options(vec![server.mirror("missing"), server.mirror("mnist")]);
    let e = download_dataset(&FASHION_MNIST, &dir, false, &wrong).unwrap_err();
    assert_matches!(e => DataError::DownloadFailed { dataset: "Fashion-MNIST", .. });
    let reasons = attempts(&e);
    assert_eq!(reasons[0].1, "HTTP 404 Not Found");
    assert!(
        reasons[1]
            .1
            .starts_with("checksum mismatch: decompressed content has SHA-256 "),
        "{reasons:?}"
    );
    assert_matches!(e => DataError::DownloadFailed { dataset: "Fashion-MNIST", .. });
    assert_nothing_left(&dir);

    let opts = options(vec![
        server.mirror("missing"),
        server.mirror("mnist"),
        server.mirror("fashion"),
    ]);
    download_dataset(&FASHION_MNIST, &dir, false, &opts).unwrap();
    let mut expected: Vec<String> = FILE_NAMES.iter().map(|n| format!("{n}.gz")).collect();
    expected.sort();
    assert_eq!(listing(&dir), expected);
    let test = Mnist::load_dataset(&dir, Split::Test, Some(&FASHION_MNIST)).unwrap();
    assert_eq!(test.len(), 10000);
    // Present and verified: nothing fetched again.
    let requests = server.requests();
    download_dataset(&FASHION_MNIST, &dir, false, &opts).unwrap();
    ensure_dataset(&FASHION_MNIST, &dir, &FILE_NAMES, &opts).unwrap();
    assert_eq!(server.requests(), requests);
    // As MNIST, these files are foreign: download refuses to replace them.
    let e = download_mnist(&dir, false, &options(vec![server.mirror("mnist")])).unwrap_err();
    assert_matches!(
        e => DataError::PresentNotMnist { dataset: "MNIST", files, .. } if files.len() == 4
    );
    assert_eq!(server.requests(), requests);

    // MNIST's test images, Fashion-MNIST's test labels missing: never completed.
    let mixed = common::temp_dir("fashion-mixed");
    std::fs::copy(
        find_file(&mnist, "t10k-images-idx3-ubyte").unwrap(),
        mixed.join("t10k-images-idx3-ubyte.gz"),
    )
    .unwrap();
    let e = ensure_dataset(&FASHION_MNIST, &mixed, &Split::Test.file_names(), &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "t10k-labels-idx1-ubyte(.gz) is missing in {d}; {d} also holds \
             t10k-images-idx3-ubyte.gz (its SHA-256 is not Fashion-MNIST's), which is not \
             Fashion-MNIST, so nothing was downloaded",
            d = mixed.display()
        )
    );
    assert_eq!(server.requests(), requests);
    std::fs::remove_dir_all(&mixed).unwrap();
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}
