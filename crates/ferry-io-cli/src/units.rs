//! Sizes, rates and durations as the user writes them on the command line,
//! and byte counts as ferry prints them.
//!
//! Sizes are plain bytes or a number with a suffix: `K`/`M`/`G`/`T` (also
//! `KiB`..`TiB`) are powers of 1024, as `head -c`, `dd` and `pv` read them;
//! `KB`/`MB`/`GB`/`TB` are powers of 1000. Rates are sizes per second, with an
//! optional `/s`. Durations are humantime-style: `500ms`, `30s`, `2m`, `1h`.

use std::fmt;
use std::time::Duration;

/// A byte count for people, in powers of 1024: `512 B`, `12.4 MiB`.
#[derive(Clone, Copy, Debug)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

/// `n` things, in the singular for one: `1 relay`, `3 relays`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// A byte count where the count is the point, exact and then for people:
/// `10,493,985 B (10.0 MiB)`, or `512 B` below 1 KiB.
#[derive(Clone, Copy, Debug)]
pub struct Exact(pub u64);

/// A number with its thousands grouped: `10,493,985`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grouped = grouped(self.0);
        if self.0 < 1024 {
            write!(f, "{grouped} B")
        } else {
            write!(f, "{grouped} B ({})", Bytes(self.0))
        }
    }
}

/// Parses a size such as `4096`, `512K`, `1G`, `1.5M` or `10MB`.
///
/// # Errors
///
/// A message saying what was expected, for clap to print with the value.
pub fn parse_size(text: &str) -> Result<u64, String> {
    const EXPECTED: &str =
        "expected a size in bytes like 4096, 512K, 1G (powers of 1024) or 10MB (powers of 1000)";
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(EXPECTED.to_string());
    }
    let multiplier: u64 = match suffix.trim() {
        "" | "B" | "b" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "m" | "MiB" => 1 << 20,
        "G" | "g" | "GiB" => 1 << 30,
        "T" | "t" | "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return Err(EXPECTED.to_string()),
    };
    if let Ok(whole) = number.parse::<u64>() {
        return whole
            .checked_mul(multiplier)
            .ok_or_else(|| "too large: at most 16 EiB".to_string());
    }
    let fractional: f64 = number.parse().map_err(|_| EXPECTED.to_string())?;
    let bytes = fractional * multiplier as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err("too large: at most 16 EiB".to_string());
    }
    Ok(bytes.round() as u64)
}

/// Parses a size that must be at least one byte (`--limit`, `--buffer-size`).
///
/// # Errors
///
/// As [`parse_size`], and for zero.
pub fn parse_positive_size(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err("must be at least 1 byte".to_string()),
        bytes => Ok(bytes),
    }
}

/// Parses a rate in bytes per second: a size with an optional `/s`, e.g. `10M`.
///
/// # Errors
///
/// As [`parse_size`], and for zero (a rate of nothing would never finish).
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let size = text.strip_suffix("/s").unwrap_or(text);
    match parse_size(size) {
        Ok(0) => Err("must be at least 1 byte per second".to_string()),
        Ok(rate) => Ok(rate),
        Err(_) => Err("expected bytes per second like 500K, 10M or 1GB/s".to_string()),
    }
}

/// The longest duration any flag takes: 100 years, longer than anything
/// is meant to wait, and short enough that no deadline built from it (now
/// plus a linger plus a timeout) can overflow a clock.
pub const LONGEST: Duration = Duration::from_secs(100 * 31_557_600);

/// Parses a duration such as `500ms`, `30s`, `2m` or `1h 30m`, at most
/// [`LONGEST`]; a bare number means seconds.
///
/// # Errors
///
/// A message saying what was expected, for clap to print with the value.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a duration like 500ms, 30s, 2m or 1h";
    let trimmed = text.trim();
    let duration = match trimmed.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(trimmed).map_err(|error| match error {
            humantime::DurationError::NumberOverflow => too_long(),
            _ => EXPECTED.to_string(),
        })?,
    };
    if duration > LONGEST {
        return Err(too_long());
    }
    Ok(duration)
}

fn too_long() -> String {
    "too long: at most 100 years".to_string()
}

/// The longest TCP keepalive idle time: Linux takes `TCP_KEEPIDLE` up to
/// 32767 seconds and refuses more.
pub const LONGEST_KEEPALIVE: Duration = Duration::from_secs(32_767);

/// Parses `--keepalive`: from 1 s (the kernel counts whole seconds) to
/// [`LONGEST_KEEPALIVE`].
///
/// # Errors
///
/// As [`parse_duration`], and outside that range.
pub fn parse_keepalive(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(1) {
        return Err("at least 1s".to_string());
    }
    if duration > LONGEST_KEEPALIVE {
        return Err(format!(
            "at most 32767s ({}), the longest TCP keepalive Linux takes",
            humantime::format_duration(LONGEST_KEEPALIVE)
        ));
    }
    Ok(duration)
}

/// A timeout that may be turned off: `off` or `none`, or a duration longer
/// than zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

/// Parses a timeout: a duration longer than zero, or `off`.
///
/// # Errors
///
/// As [`parse_positive_duration`], naming `off` too.
pub fn parse_timeout(text: &str) -> Result<Timeout, String> {
    match text.trim() {
        "off" | "none" => Ok(Timeout(None)),
        _ => parse_positive_duration(text)
            .map(|duration| Timeout(Some(duration)))
            .map_err(|why| format!("{why}, or off")),
    }
}

/// Parses a number of connections, at least one (`--max-connections`).
///
/// # Errors
///
/// A message saying what was expected, for clap to print with the value.
pub fn parse_connections(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a number of connections from 1 to 4294967295".to_string()),
    }
}

/// Parses a duration that must be longer than zero (`--idle-timeout`).
///
/// # Errors
///
/// As [`parse_duration`], and for zero.
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err("must be longer than zero".to_string()),
        duration => Ok(duration),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_group_digits_and_add_the_rounded_size() {
        assert_eq!(Exact(0).to_string(), "0 B");
        assert_eq!(Exact(1023).to_string(), "1,023 B");
        assert_eq!(Exact(10_493_985).to_string(), "10,493,985 B (10.0 MiB)");
        assert_eq!(Exact(1 << 30).to_string(), "1,073,741,824 B (1.0 GiB)");
    }

    #[test]
    fn sizes_use_1024_for_single_letters_and_1000_for_kb() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 * 1024));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("2KiB"), Ok(2048));
    }

    #[test]
    fn malformed_and_negative_sizes_are_refused() {
        for bad in ["", "-1", "1X", "K", "1.2.3M", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_positive_size("0").is_err());
    }

    #[test]
    fn rates_take_an_optional_per_second() {
        assert_eq!(parse_rate("10M"), Ok(10 << 20));
        assert_eq!(parse_rate("1GB/s"), Ok(1_000_000_000));
        assert!(parse_rate("0").is_err());
    }

    #[test]
    fn durations_are_humantime() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_positive_duration("0s").is_err());
        assert_eq!(parse_duration("100y"), Ok(LONGEST));
        for huge in ["101y", "300000000000y", "18446744073709551615"] {
            assert_eq!(parse_duration(huge), Err(too_long()), "{huge}");
        }
    }

    #[test]
    fn keepalive_is_what_tcp_takes() {
        assert_eq!(parse_keepalive("9h 6m 7s"), Ok(LONGEST_KEEPALIVE));
        assert_eq!(parse_keepalive("1s"), Ok(Duration::from_secs(1)));
        assert!(parse_keepalive("32768").is_err());
        assert!(parse_keepalive("999ms").is_err());
    }
}
