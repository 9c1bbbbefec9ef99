#![cfg(feature = "data")]
//! The IDX parser on hand-built bytes: every dtype, every error, gzip, and property tests that
//! no input panics or makes the parser reserve more than the input justifies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use twostage::data::DataError;
use twostage::data::idx::{
    Available, Dtype, IdxData, IdxFile, IdxHeader, expected_data_len, idx_file_sha256, read_idx,
    read_idx_checked, read_idx_file, read_idx_file_checked,
};

mod common;

use common::assert_matches;
use common::idx_of as idx_bytes;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn parse(bytes: &[u8]) -> Result<IdxFile, DataError> {
    read_idx(bytes, Path::new("mem.idx"), Some(bytes.len() as u64))
}

fn parse_unsized(bytes: &[u8]) -> Result<IdxFile, DataError> {
    read_idx(bytes, Path::new("mem.idx"), None)
}

fn err(bytes: &[u8]) -> DataError {
    parse(bytes).expect_err("parse should fail")
}

/// A file in the temp dir with a name unique to this process and test.
fn temp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("twostage-idx-{}-{tag}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// (dtype code, dims, big-endian data, expected typed data) for every dtype.
fn samples() -> Vec<(u8, Vec<u32>, Vec<u8>, IdxData)> {
    let be = |chunks: Vec<Vec<u8>>| chunks.concat();
    vec![
        (
            0x08,
            vec![2, 3],
            vec![0, 1, 2, 253, 254, 255],
            IdxData::U8(vec![0, 1, 2, 253, 254, 255]),
        ),
        (
            0x09,
            vec![3],
            vec![0x80, 0xff, 0x7f],
            IdxData::I8(vec![-128, -1, 127]),
        ),
        (
            0x0b,
            vec![1, 2],
            be(vec![
                (-2i16).to_be_bytes().to_vec(),
                300i16.to_be_bytes().to_vec(),
            ]),
            IdxData::I16(vec![-2, 300]),
        ),
        (
            0x0c,
            vec![2],
            be(vec![
                i32::MIN.to_be_bytes().to_vec(),
                70000i32.to_be_bytes().to_vec(),
            ]),
            IdxData::I32(vec![i32::MIN, 70000]),
        ),
        (
            0x0d,
            vec![2, 1, 1],
            be(vec![
                1.5f32.to_be_bytes().to_vec(),
                (-0.25f32).to_be_bytes().to_vec(),
            ]),
            IdxData::F32(vec![1.5, -0.25]),
        ),
        (
            0x0e,
            vec![1],
            std::f64::consts::PI.to_be_bytes().to_vec(),
            IdxData::F64(vec![std::f64::consts::PI]),
        ),
    ]
}

#[test]
fn every_dtype_parses_plain_and_gzipped() {
    for (code, dims, data, expected) in samples() {
        let plain = idx_bytes(code, &dims, &data);
        for (bytes, gz) in [(plain.clone(), false), (gzip(&plain), true)] {
            for parsed in [parse(&bytes).unwrap(), parse_unsized(&bytes).unwrap()] {
                let want_dims: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
                assert_eq!(parsed.idx.dims, want_dims);
                assert_eq!(parsed.idx.data, expected);
                assert_eq!(parsed.idx.data.dtype(), Dtype::from_code(code).unwrap());
                assert_eq!(parsed.gzip, gz);
                // The hash is of the uncompressed content, header included.
                assert_eq!(parsed.sha256, <[u8; 32]>::from(Sha256::digest(&plain)));
            }
        }
    }
}

#[test]
fn dtype_codes_round_trip() {
    for code in 0..=255u8 {
        if let Some(dtype) = Dtype::from_code(code) {
            assert_eq!(dtype.code(), code);
        }
    }
}

#[test]
fn bad_magic_is_not_an_idx_file() {
    let mut bytes = idx_bytes(0x08, &[1], &[7]);
    bytes[1] = 0x03;
    let e = err(&bytes);
    assert_matches!(e => DataError::BadMagic { .. });
    assert_eq!(
        e.to_string(),
        "mem.idx: not an IDX file (magic bytes 00 03 08 01, expected 00 00 <dtype> <ndims>)"
    );
    // PNG and text are refused the same way; fewer than 4 bytes are too short to tell.
    assert_matches!(err(b"\x89PNG\r\n") => DataError::BadMagic { .. });
    assert_matches!(err(b"hello") => DataError::BadMagic { .. });
    assert_matches!(err(b"x") => DataError::TooShort { .. });
}

/// Issue 9: a 3-byte file showed zero padding as if it were magic bytes.
#[test]
fn too_short_shows_only_the_bytes_there_are() {
    let e = err(b"PK\x03");
    assert_matches!(e => DataError::TooShort { .. });
    assert_eq!(
        e.to_string(),
        "mem.idx: content is only 3 bytes (50 4b 03), too short to be an IDX file \
         (its header alone is at least 4 bytes)"
    );
    assert_eq!(
        err(b"x").to_string(),
        "mem.idx: content is only 1 byte (78), too short to be an IDX file \
         (its header alone is at least 4 bytes)"
    );
    // Decompressed content is said to be so.
    assert_eq!(
        err(&gzip(&[0, 0])).to_string(),
        "mem.idx: decompressed content is only 2 bytes (00 00), too short to be an IDX file \
         (its header alone is at least 4 bytes)"
    );
}

#[test]
fn unknown_dtype_is_named() {
    let e = err(&idx_bytes(0x0a, &[1], &[7]));
    assert_matches!(e => DataError::UnknownDtype { code: 0x0a, .. });
    assert!(
        e.to_string()
            .starts_with("mem.idx: unknown IDX data type 0x0a"),
        "{e}"
    );
}

#[test]
fn zero_dims_refused() {
    let e = err(&[0, 0, 0x08, 0]);
    assert_matches!(e => DataError::ZeroDims { .. });
    assert_eq!(
        e.to_string(),
        "mem.idx: IDX header declares zero dimensions"
    );
}

#[test]
fn truncated_data_reports_expected_and_found() {
    let bytes = idx_bytes(0x08, &[10], &[1, 2, 3, 4]);
    let want = "mem.idx: truncated IDX data: expected 10 bytes, found 4";
    assert_eq!(err(&bytes).to_string(), want);
    assert_eq!(parse_unsized(&bytes).unwrap_err().to_string(), want);
    // A complete gzip stream of a short file: the same report.
    assert_eq!(parse(&gzip(&bytes)).unwrap_err().to_string(), want);
    // Multi-byte elements count bytes.
    let bytes = idx_bytes(0x0e, &[2], &[0; 9]);
    assert_eq!(
        err(&bytes).to_string(),
        "mem.idx: truncated IDX data: expected 16 bytes, found 9"
    );
}

#[test]
fn truncated_header_reports_expected_and_found() {
    assert_eq!(
        err(&[]).to_string(),
        "mem.idx: content is only 0 bytes, too short to be an IDX file \
         (its header alone is at least 4 bytes)"
    );
    assert_eq!(
        err(&[0, 0, 8]).to_string(),
        "mem.idx: content is only 3 bytes (00 00 08), too short to be an IDX file \
         (its header alone is at least 4 bytes)"
    );
    let bytes = idx_bytes(0x08, &[1, 2, 3], &[]);
    assert_eq!(
        err(&bytes[..9]).to_string(),
        "mem.idx: truncated IDX header: expected 16 bytes, found 9"
    );
}

#[test]
fn trailing_bytes_refused() {
    let bytes = idx_bytes(0x08, &[2, 3], &[0; 9]);
    let want = "mem.idx: 3 trailing bytes after the 6 data bytes the IDX header declares";
    assert_eq!(err(&bytes).to_string(), want);
    assert_eq!(parse_unsized(&bytes).unwrap_err().to_string(), want);
    assert_eq!(err(&gzip(&bytes)).to_string(), want);
}

#[test]
fn corrupt_gzip_refused() {
    let plain = idx_bytes(0x08, &[100], &[42; 100]);
    let good = gzip(&plain);

    // A damaged CRC trailer.
    let mut bad_crc = good.clone();
    let crc_at = bad_crc.len() - 8;
    bad_crc[crc_at] ^= 0xff;
    let e = err(&bad_crc);
    assert_matches!(e => DataError::CorruptGzip { .. });
    assert!(
        e.to_string().starts_with("mem.idx: corrupt gzip data: "),
        "{e}"
    );

    // A cut-off stream.
    let e = err(&good[..good.len() / 2]);
    assert_matches!(e => DataError::CorruptGzip { .. });

    // Only the magic.
    let e = err(&[0x1f, 0x8b]);
    assert_matches!(e => DataError::CorruptGzip { .. });

    // Garbage in the deflate stream (invalid block type 3).
    let mut garbage = good[..10].to_vec();
    garbage.extend_from_slice(&[0xff; 32]);
    let e = err(&garbage);
    assert_matches!(e => DataError::CorruptGzip { .. });
}

#[test]
fn forged_huge_header_refused_by_arithmetic() {
    let forged = idx_bytes(0x08, &[u32::MAX; 3], &[1, 2, 3]);
    let start = Instant::now();
    for bytes in [forged.clone(), gzip(&forged)] {
        for result in [parse(&bytes), parse_unsized(&bytes)] {
            let e = result.unwrap_err();
            assert_matches!(e => DataError::SizeOverflow { .. });
            assert_eq!(
                e.to_string(),
                "mem.idx: IDX header claims dimensions [4294967295, 4294967295, 4294967295] \
                 of 1-byte elements, a size that overflows"
            );
        }
    }
    assert!(start.elapsed() < Duration::from_secs(1));

    // Large but representable claims are compared with the input before allocating.
    let forged = idx_bytes(0x0e, &[u32::MAX, 1 << 20], &[1, 2, 3]);
    assert_eq!(
        err(&forged).to_string(),
        "mem.idx: truncated IDX data: expected 36028797010575360 bytes, found 3"
    );
    let packed = gzip(&forged);
    let e = err(&packed);
    assert_matches!(e => DataError::TooLarge { claimed: 36028797010575360, .. });
    assert_eq!(
        e.to_string(),
        format!(
            "mem.idx: IDX header claims 36028797010575360 data bytes, more than the input can hold (at most {})",
            packed.len() as u64 * 1032
        )
    );
    // Unknown length: the buffer grows only with the data that arrives.
    assert_matches!(parse_unsized(&forged) => Err(DataError::Truncated { found: 3, .. }));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn expected_data_len_checks_the_bound() {
    let name = Path::new("h");
    let header = IdxHeader {
        dtype: Dtype::I32,
        dims: vec![3, 5],
    };
    assert_eq!(
        expected_data_len(&header, Available::Exactly(60), name).unwrap(),
        60
    );
    assert_eq!(
        expected_data_len(&header, Available::AtMost(60), name).unwrap(),
        60
    );
    assert_eq!(
        expected_data_len(&header, Available::Unknown, name).unwrap(),
        60
    );
    assert_matches!(
        expected_data_len(&header, Available::Exactly(59), name)
            => Err(DataError::Truncated { expected: 60, found: 59, .. })
    );
    assert_matches!(
        expected_data_len(&header, Available::AtMost(59), name)
            => Err(DataError::TooLarge { claimed: 60, limit: 59, .. })
    );
    let header = IdxHeader {
        dtype: Dtype::F64,
        dims: vec![u32::MAX; 3],
    };
    assert_matches!(
        expected_data_len(&header, Available::Unknown, name) => Err(DataError::SizeOverflow { .. })
    );
}

#[test]
fn path_errors_name_the_file() {
    let path = temp_file("bad-magic.idx", b"not idx at all");
    let e = read_idx_file(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: not an IDX file", path.display())),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();

    let path = temp_file("truncated.idx.gz", &gzip(&idx_bytes(0x08, &[10], &[1])));
    let e = read_idx_file(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: truncated IDX data: expected 10 bytes, found 1",
            path.display()
        )
    );
    std::fs::remove_file(&path).unwrap();

    let missing = std::env::temp_dir().join("twostage-idx-no-such-file");
    let e = read_idx_file(&missing).unwrap_err();
    assert_matches!(e => DataError::FileIo { .. });
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );
}

#[test]
fn gzip_is_recognised_by_content_not_name() {
    let plain = idx_bytes(0x08, &[2], &[5, 6]);
    // Compressed content under a plain name, plain content under a .gz name.
    let compressed = temp_file("content-gz.idx", &gzip(&plain));
    let uncompressed = temp_file("content-plain.idx.gz", &plain);
    let a = read_idx_file(&compressed).unwrap();
    let b = read_idx_file(&uncompressed).unwrap();
    assert!(a.gzip && !b.gzip);
    assert_eq!(a.idx, b.idx);
    assert_eq!(a.sha256, b.sha256);
    std::fs::remove_file(compressed).unwrap();
    std::fs::remove_file(uncompressed).unwrap();
}

#[test]
fn inspect_describes_a_file_and_refuses_a_bad_one() {
    let path = temp_file("inspect.idx", &gzip(&idx_bytes(0x0b, &[2, 2], &[0; 8])));
    let text = twostage::data::inspect(&path).unwrap();
    assert!(text.contains("gzip-compressed"), "{text}");
    assert!(text.contains("dtype:    i16"), "{text}");
    assert!(text.contains("dims:     (2, 2)"), "{text}");
    assert!(text.contains("elements: 4"), "{text}");
    assert!(
        text.contains("not a file of a known dataset (MNIST, Fashion-MNIST)"),
        "{text}"
    );
    std::fs::remove_file(&path).unwrap();

    let path = temp_file("inspect-bad.idx", &[0, 0, 0x08, 0]);
    assert_matches!(twostage::data::inspect(&path) => Err(DataError::ZeroDims { .. }));
    std::fs::remove_file(&path).unwrap();
}

/// Issue 9: bytes after the gzip stream read as "unexpected end of file".
#[test]
fn trailing_data_after_gzip_is_named() {
    let plain = idx_bytes(0x08, &[3], &[1, 2, 3]);
    for garbage in [
        &b"garbage!"[..],
        b"\0",
        b"\0\0\0\0\0\0\0\0\0\0\0\0",
        b"\x1fX",
    ] {
        let mut bytes = gzip(&plain);
        bytes.extend_from_slice(garbage);
        let e = err(&bytes);
        assert_matches!(e => DataError::GzipTrailingData { .. }, "{garbage:?}: {e:?}");
        assert!(
            e.to_string()
                .starts_with("mem.idx: trailing data after the gzip stream"),
            "{e}"
        );
        let e = parse_unsized(&bytes).unwrap_err();
        assert_matches!(e => DataError::GzipTrailingData { .. });
    }
    // Two members are one stream, as for `gzip -d`.
    let (first, second) = plain.split_at(5);
    let mut two = gzip(first);
    two.extend_from_slice(&gzip(second));
    assert_eq!(parse(&two).unwrap().idx.data, IdxData::U8(vec![1, 2, 3]));
    // A second member that is damaged is corrupt gzip, not trailing data.
    let mut damaged = gzip(first);
    damaged.extend_from_slice(&gzip(second)[..12]);
    assert_matches!(err(&damaged) => DataError::CorruptGzip { .. });
}

/// Issue 9, item 9: a known shape is checked before a single data byte is read or inflated.
#[test]
fn header_check_refuses_before_reading_data() {
    /// Counts the bytes read from the inner reader.
    struct Counting<'a> {
        inner: &'a [u8],
        read: usize,
    }
    impl std::io::Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n;
            Ok(n)
        }
    }
    // 64 MB of zeros behind a header claiming 60000 × 28 × 28 + more: a small bomb.
    let header = idx_bytes(0x08, &[82_000, 28, 28], &[]);
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&header).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let refuse = |h: &IdxHeader| {
        if h.dims[0] == 60000 {
            Ok(())
        } else {
            Err(DataError::WrongShape {
                file: PathBuf::from("bomb"),
                expected: "60000 images",
                found: h.describe(),
            })
        }
    };
    let mut counting = Counting {
        inner: &bomb,
        read: 0,
    };
    let start = Instant::now();
    let e = read_idx_checked(&mut counting, Path::new("bomb"), None, &refuse).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bomb: expected 60000 images, found u8 (82000, 28, 28)"
    );
    assert!(counting.read <= 64 << 10, "read {} bytes", counting.read);
    assert!(start.elapsed() < Duration::from_millis(500));

    let path = temp_file("bomb.idx.gz", &bomb);
    for e in [
        read_idx_file_checked(&path, &refuse).unwrap_err(),
        idx_file_sha256(&path, &refuse).unwrap_err(),
    ] {
        assert_matches!(e => DataError::WrongShape { .. });
    }
    // Hashing keeps nothing: a file as it should be hashes like a read.
    let good = temp_file("hashed.idx.gz", &gzip(&idx_bytes(0x08, &[2], &[4, 5])));
    let (header, hash) = idx_file_sha256(&good, &|_| Ok(())).unwrap();
    assert_eq!(header.describe(), "u8 (2)");
    assert_eq!(hash, read_idx_file(&good).unwrap().sha256);
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(&good).unwrap();
}

/// Issue 9, item 9: trailing bytes are counted only up to a bound, so a bomb hidden after valid
/// data is not inflated to count it.
#[test]
fn trailing_bomb_is_counted_only_up_to_a_bound() {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&idx_bytes(0x08, &[2], &[1, 2])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..16 {
        encoder.write_all(&zeros).unwrap();
    }
    let e = err(&encoder.finish().unwrap());
    assert_eq!(
        e.to_string(),
        "mem.idx: at least 1048576 trailing bytes after the 2 data bytes the IDX header declares"
    );
    // An uncompressed file of known length: the exact count, whatever its size.
    let mut plain = idx_bytes(0x08, &[2], &[1, 2]);
    plain.extend_from_slice(&vec![0u8; 3 << 20]);
    assert_eq!(
        err(&plain).to_string(),
        "mem.idx: 3145728 trailing bytes after the 2 data bytes the IDX header declares"
    );
}

/// Issue 9, item 9 and messages: a directory, FIFO or device is refused up front — never
/// opened (a FIFO would block, `/dev/zero` never ends).
#[test]
fn non_regular_files_are_refused_up_front() {
    let dir = std::env::temp_dir().join(format!("twostage-idx-{}-nonfile", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub.idx")).unwrap();
    let mut cases = vec![(dir.join("sub.idx"), "a directory")];
    if Path::new("/dev/zero").exists() {
        cases.push((PathBuf::from("/dev/zero"), "a character device"));
        #[cfg(unix)]
        {
            let link = dir.join("zero.idx.gz");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            cases.push((link, "a character device"));
        }
    }
    let fifo = dir.join("fifo.idx");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        cases.push((fifo, "a FIFO"));
    }
    let start = Instant::now();
    for (path, kind) in cases {
        for e in [
            read_idx_file(&path).unwrap_err(),
            idx_file_sha256(&path, &|_| Ok(())).unwrap_err(),
            twostage::data::inspect(&path).unwrap_err(),
        ] {
            assert_eq!(
                e.to_string(),
                format!(
                    "{} is {kind}, not a file: move it away, or put the IDX file there",
                    path.display()
                )
            );
        }
    }
    assert!(start.elapsed() < Duration::from_secs(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A valid file used as the seed for mutation tests: a little of every part.
fn seed_file() -> Vec<u8> {
    let data: Vec<u8> = (0..60u8).collect();
    idx_bytes(0x0c, &[3, 5], &data)
}

/// The parse must return, and an `Ok` must hold exactly product(dims) elements.
fn check_consistent(result: Result<IdxFile, DataError>) {
    if let Ok(parsed) = result {
        let product: usize = parsed.idx.dims.iter().product();
        assert_eq!(parsed.idx.data.len(), product);
    }
}

#[test]
fn every_cut_of_the_seed_is_refused() {
    let seed = seed_file();
    for bytes in [seed.clone(), gzip(&seed)] {
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut} accepted");
            assert!(
                parse_unsized(&bytes[..cut]).is_err(),
                "cut at {cut} accepted"
            );
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_consistent(parse(&bytes));
        check_consistent(parse_unsized(&bytes));
    }

    #[test]
    fn random_headers_never_panic(
        dtype in prop_oneof![Just(0x08u8), Just(0x09), Just(0x0b), Just(0x0c), Just(0x0d), Just(0x0e), any::<u8>()],
        dims in proptest::collection::vec(any::<u32>(), 0..5),
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = idx_bytes(dtype, &dims, &data);
        check_consistent(parse(&bytes));
        check_consistent(parse_unsized(&bytes));
        check_consistent(parse(&gzip(&bytes)));
    }

    #[test]
    fn flipped_bytes_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..6)) {
        for mut bytes in [seed_file(), gzip(&seed_file())] {
            for (at, mask) in &flips {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
            check_consistent(parse(&bytes));
            check_consistent(parse_unsized(&bytes));
        }
    }

    #[test]
    fn cut_files_never_panic(cut in 0usize..200) {
        for bytes in [seed_file(), gzip(&seed_file())] {
            let cut = cut.min(bytes.len());
            check_consistent(parse(&bytes[..cut]));
        }
    }

    #[test]
    fn reservation_never_exceeds_the_input(
        dtype in prop_oneof![Just(Dtype::U8), Just(Dtype::I8), Just(Dtype::I16), Just(Dtype::I32), Just(Dtype::F32), Just(Dtype::F64)],
        dims in proptest::collection::vec(any::<u32>(), 1..5),
        input in any::<u64>(),
    ) {
        let header = IdxHeader { dtype, dims };
        if let Ok(n) = expected_data_len(&header, Available::Exactly(input), Path::new("p")) {
            prop_assert!(n as u64 <= input);
        }
        if let Ok(n) = expected_data_len(&header, Available::AtMost(input), Path::new("p")) {
            prop_assert!(n as u64 <= input);
        }
    }
}
