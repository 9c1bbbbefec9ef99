//! The value parsers of every numeric flag: each says the flag's range in words, so `-1`,
//! `nan`, `inf` or a number past the range is refused by clap before any work with
//! `invalid value '-1' for '--batch-size <N>': must be a whole number from 1 to …` — never
//! "invalid digit found in string", never a panic deeper down. For that, every numeric flag
//! carries `allow_hyphen_values = true` beside its parser: without it, clap would take `-1`
//! for a flag and never show it to the parser.

/// The most epochs of one stage: far past any useful run, small enough to end.
pub const MOST_EPOCHS: u64 = 1000;

/// A whole number in `MIN..=MAX`.
fn whole_in(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let range = if max == u64::MAX {
        format!("must be a whole number, {min} or more (at most {max})")
    } else {
        format!("must be a whole number from {min} to {max}")
    };
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(range);
    }
    match digits.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(range),
    }
}

/// A count in `MIN..=MAX` (`usize`).
pub fn count<const MIN: u64, const MAX: u64>(text: &str) -> Result<usize, String> {
    let max = MAX.min(usize::MAX as u64);
    whole_in(text, MIN, max).map(|n| n as usize)
}

/// A count from `MIN` up to the largest `usize` (what the data allows is checked later).
pub fn at_least<const MIN: u64>(text: &str) -> Result<usize, String> {
    whole_in(text, MIN, usize::MAX as u64).map(|n| n as usize)
}

/// Epochs of one stage: 0 to [`MOST_EPOCHS`].
pub fn epochs(text: &str) -> Result<usize, String> {
    whole_in(text, 0, MOST_EPOCHS).map(|n| n as usize)
}

/// A seed: any `u64`.
pub fn seed(text: &str) -> Result<u64, String> {
    whole_in(text, 0, u64::MAX)
}

/// A learning rate: positive and a normal `f32` (`1e39` would train with an infinite rate,
/// `1e-320` with zero).
pub fn learning_rate(text: &str) -> Result<f64, String> {
    let range = format!(
        "must be a positive number between {:e} and {:e}",
        f32::MIN_POSITIVE,
        f32::MAX
    );
    match text.trim().parse::<f64>() {
        Ok(lr) if lr > 0.0 && (lr as f32).is_normal() => Ok(lr),
        _ => Err(range),
    }
}

/// The most seconds a timeout may be: a day.
pub const MOST_SECONDS: f64 = 86_400.0;

/// Seconds: more than 0, at most [`MOST_SECONDS`].
pub fn seconds(text: &str) -> Result<f64, String> {
    let range = format!("must be a number of seconds above 0 and at most {MOST_SECONDS}");
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= MOST_SECONDS => Ok(s),
        _ => Err(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_named() {
        assert_eq!(count::<1, 8>("8"), Ok(8));
        assert!(count::<1, 8>("9").unwrap_err().contains("from 1 to 8"));
        assert!(count::<1, 8>("-1").unwrap_err().contains("from 1 to 8"));
        assert!(seed("-1").unwrap_err().contains("0 or more"));
        assert_eq!(seed("18446744073709551615"), Ok(u64::MAX));
        assert!(learning_rate("nan").is_err() && learning_rate("inf").is_err());
        assert!(seconds("1e308").is_err() && seconds("0").is_err());
        assert_eq!(epochs("1000"), Ok(1000));
        assert!(epochs("1001").is_err());
    }
}
