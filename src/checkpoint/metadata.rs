//! The checkpoint's metadata: one `__metadata__` key whose value holds `key=value` pairs.

use super::TensorFile;

/// The one `__metadata__` key twostage writes. safetensors writes the metadata map in hash
/// order, so a single key keeps same-seed checkpoints byte-identical; everything is encoded in
/// its value as space-separated `key=value` pairs (see [`metadata_value`]).
pub const METADATA_KEY: &str = "twostage";

/// `key=value` pairs joined by spaces, e.g. `stage1=autoencoder seed=0 dataset=mnist`. Values
/// must not hold spaces: lists go through [`encode_list`].
pub fn metadata_value(pairs: &[(&str, String)]) -> String {
    let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(" ")
}

/// The `key=value` pairs of a checkpoint's [`METADATA_KEY`], in order (empty when the file has
/// none, e.g. one written by PyTorch). Words without `=` are skipped.
pub fn metadata_pairs(file: &TensorFile) -> Vec<(String, String)> {
    let Some(value) = file.metadata.get(METADATA_KEY) else {
        return Vec::new();
    };
    value
        .split(' ')
        .filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A list of names as one metadata value without spaces: each name percent-encoded (`%`,
/// space, `,`, `=` and control characters), joined by commas. [`decode_list`] reverses it.
pub fn encode_list(names: &[String]) -> String {
    let encoded: Vec<String> = names
        .iter()
        .map(|name| {
            let mut out = String::new();
            for c in name.chars() {
                if matches!(c, '%' | ' ' | ',' | '=') || c.is_control() {
                    let mut buf = [0u8; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{byte:02X}"));
                    }
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect();
    encoded.join(",")
}

/// The names of an [`encode_list`] value. A malformed escape is kept as written.
pub fn decode_list(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    value
        .split(',')
        .map(|name| {
            let bytes = name.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                let escaped = (bytes[i] == b'%')
                    .then(|| name.get(i + 1..i + 3))
                    .flatten()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match escaped {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect()
}
