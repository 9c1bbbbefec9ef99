#![cfg(feature = "cli")]
//! Issue 23's "unhelpful" findings in the data layer, through the binary: file names near the
//! file system's limit, forced downloads beside a corrupt twin, concurrent downloads.

mod common;

use common::{stderr, tiny_data, train_args, twostage};

/// A 253-byte name is legal (NAME_MAX is 255): `--save` and `--metrics` must write it, although
/// the hidden temporary sibling `.NAME.tmp-PID` would be longer than the limit.
#[test]
fn names_near_name_max_are_written() {
    let (dir, data) = tiny_data("unhelpful-long-name");
    let model = dir.join(format!(
        "{}.safetensors",
        "m".repeat(253 - ".safetensors".len())
    ));
    let metrics = dir.join(format!("{}.jsonl", "j".repeat(253 - ".jsonl".len())));
    let extra = ["--no-verify", "--metrics", common::s(&metrics)];
    let out = twostage(&train_args(&data, ["1", "1"], &model, &extra));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(model.is_file() && metrics.is_file());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The smallest MNIST file, served by the tests' mirrors.
const LABELS: &str = "t10k-labels-idx1-ubyte";

/// The real `t10k-labels-idx1-ubyte.gz` from `MNIST_DIR`; `None` (skip) without it.
fn real_labels() -> Option<Vec<u8>> {
    let source = common::mnist_dir()?;
    Some(std::fs::read(source.join(format!("{LABELS}.gz"))).unwrap())
}

/// Two downloads into one directory: the slower one finds the file already in place. When that
/// file verifies, the set is complete and the slower download succeeds too (it used to fail with
/// "File exists"). The test's mirror plays the faster run: it puts the real file in place just
/// before it answers.
#[test]
fn a_concurrent_download_that_got_there_first_is_success() {
    let Some(real) = real_labels() else { return };
    let name = LABELS;
    let dir = common::temp_dir("unhelpful-concurrent");
    let data = dir.join("data");
    let target = data.join(format!("{name}.gz"));
    let body = real.clone();
    let mirror = serve_with("/t10k-labels-idx1-ubyte.gz", real.clone(), "", move || {
        std::fs::write(&target, &body).unwrap();
    });
    let options = twostage::data::download::DownloadOptions {
        mirrors: vec![mirror],
        ..Default::default()
    };
    twostage::data::download::ensure_mnist(&data, &[name], &options)
        .expect("the file another run put there verifies: success");
    assert_eq!(
        std::fs::read(data.join(format!("{name}.gz"))).unwrap(),
        real
    );
    let files = std::fs::read_dir(&data).unwrap().flatten().count();
    assert_eq!(files, 1, "only the one file is left, no temporary file");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A mirror that serves the one file `path` with `body` and the extra header lines `headers`
/// (each ending `\r\n`), to as many requests as come; any other path is a 404.
fn serve(path: &'static str, body: Vec<u8>, headers: &'static str) -> String {
    serve_with(path, body, headers, || {})
}

/// [`serve`], calling `before` on each request for `path` before answering it.
fn serve_with(
    path: &'static str,
    body: Vec<u8>,
    headers: &'static str,
    before: impl Fn() + Send + 'static,
) -> String {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mirror = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let asked = read_request(&mut stream).contains(&format!("GET {path} "));
            if asked {
                before();
            }
            let reply = if asked { &body[..] } else { &[][..] };
            let status = if asked { "200 OK" } else { "404 Not Found" };
            let header = format!(
                "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(header.as_bytes());
            let _ = stream.write_all(reply);
        }
    });
    mirror
}

/// The request line and headers from `stream`, up to the blank line.
fn read_request(stream: &mut impl std::io::Read) -> String {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        request.push(byte[0]);
    }
    String::from_utf8_lossy(&request).into_owned()
}

/// `download --force` beside a corrupt `.gz` *and* a corrupt plain twin: both go, one verified
/// `.gz` is left (the plain twin used to stay, to be read or to conflict).
#[test]
fn forced_download_leaves_one_verified_copy_of_each_file() {
    let Some(source) = common::mnist_dir() else { return };
    let dir = common::temp_dir("unhelpful-force-twin");
    for name in twostage::data::mnist::FILE_NAMES {
        let from = source.join(format!("{name}.gz"));
        std::fs::copy(&from, dir.join(format!("{name}.gz"))).unwrap();
    }
    let name = "t10k-labels-idx1-ubyte";
    let real = std::fs::read(source.join(format!("{name}.gz"))).unwrap();
    std::fs::write(dir.join(format!("{name}.gz")), b"corrupt").unwrap();
    std::fs::write(dir.join(name), b"corrupt too").unwrap();
    // And a verified `.gz` with a corrupt plain twin: the twin goes, the `.gz` stays.
    std::fs::write(dir.join("train-labels-idx1-ubyte"), b"corrupt").unwrap();
    let options = twostage::data::download::DownloadOptions {
        mirrors: vec![serve("/t10k-labels-idx1-ubyte.gz", real.clone(), "")],
        ..Default::default()
    };
    twostage::data::download::download_mnist(&dir, true, &options).unwrap();
    assert_eq!(std::fs::read(dir.join(format!("{name}.gz"))).unwrap(), real);
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let expected: Vec<_> = {
        let mut names: Vec<_> = twostage::data::mnist::FILE_NAMES
            .iter()
            .map(|n| format!("{n}.gz"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        left, expected,
        "one verified .gz of each file, nothing else"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A mirror that gzips the `.gz` once more for the transfer (`Content-Encoding: gzip`): the
/// encoding is undone, and the file kept is the real `.gz`, its checksum that of the real file.
#[test]
fn a_gzip_content_encoding_over_the_gz_is_decoded() {
    use std::io::Write;
    let Some(real) = real_labels() else { return };
    let name = LABELS;
    let mut twice = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    twice.write_all(&real).unwrap();
    let twice = twice.finish().unwrap();
    let dir = common::temp_dir("unhelpful-content-encoding");
    let data = dir.join("data");
    let options = twostage::data::download::DownloadOptions {
        mirrors: vec![serve(
            "/t10k-labels-idx1-ubyte.gz",
            twice,
            "Content-Encoding: gzip\r\n",
        )],
        ..Default::default()
    };
    twostage::data::download::ensure_mnist(&data, &[name], &options).unwrap();
    assert_eq!(
        std::fs::read(data.join(format!("{name}.gz"))).unwrap(),
        real
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A mirror trickling a byte at a time is given up on once a window of the read timeout passes
/// below the minimum rate, naming the rate, long before the file deadline; the next mirror is
/// tried. (The CLI's window is its 30 s read timeout; here it is 400 ms.)
#[test]
fn a_trickling_mirror_is_given_up_on_below_the_minimum_rate() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                read_request(&mut stream);
                let header = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
                let mut sent = stream.write_all(header.as_bytes());
                while sent.is_ok() {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    sent = stream.write_all(&[0x1f]).and_then(|()| stream.flush());
                }
            });
        }
    });
    let missing = serve("/nothing", Vec::new(), "");
    let dir = common::temp_dir("unhelpful-trickle");
    let options = twostage::data::download::DownloadOptions {
        mirrors: vec![slow.clone(), missing],
        read_timeout: std::time::Duration::from_millis(400),
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let error = twostage::data::download::ensure_mnist(
        &dir.join("data"),
        &["t10k-labels-idx1-ubyte"],
        &options,
    )
    .unwrap_err();
    let elapsed = start.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    let text = error.to_string();
    assert!(text.contains(&slow), "names the mirror: {text}");
    assert!(text.contains("bytes/s over the last"), "{text}");
    assert!(text.contains("below the minimum of 1024 bytes/s"), "{text}");
    assert!(text.contains("404"), "the next mirror was tried: {text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
