//! Human-readable figures.

/// Decimal units as Docker prints them: `950 B`, `12.3 kB`, `4.56 MB`, `1.20 GB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    // The loop stops at the last unit.
    let u = UNITS.get(unit).unwrap_or(&"PB");
    if v < 10.0 {
        format!("{v:.2} {u}")
    } else if v < 100.0 {
        format!("{v:.1} {u}")
    } else {
        format!("{v:.0} {u}")
    }
}

/// Docker Hub's `ratelimit-remaining` (`98;w=21600`) in words: `98 pulls left (window 6 h)`.
pub fn rate_limit_words(header: &str) -> String {
    let (left, rest) = header.split_once(';').unwrap_or((header, ""));
    let window = rest.trim().strip_prefix("w=").and_then(|w| w.trim().parse::<u64>().ok());
    match window {
        Some(secs) if secs % 3600 == 0 => format!("{} pulls left (window {} h)", left.trim(), secs / 3600),
        Some(secs) => format!("{} pulls left (window {secs} s)", left.trim()),
        None => format!("{} pulls left", left.trim()),
    }
}

/// `1 tag`, `2 tags`, `1 entry`, `3 entries`: a count with its noun agreeing.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rate_limits_in_words() {
        assert_eq!(super::rate_limit_words("98;w=21600"), "98 pulls left (window 6 h)");
        assert_eq!(super::rate_limit_words("5"), "5 pulls left");
        assert_eq!(super::rate_limit_words("0;w=90"), "0 pulls left (window 90 s)");
    }

    #[test]
    fn counts_agree() {
        use super::count;
        assert_eq!(count(1, "tag", "tags"), "1 tag");
        assert_eq!(count(0, "tag", "tags"), "0 tags");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn figures() {
        use super::human_bytes as h;
        assert_eq!(h(0), "0 B");
        assert_eq!(h(999), "999 B");
        assert_eq!(h(1000), "1.00 kB");
        assert_eq!(h(12_345), "12.3 kB");
        assert_eq!(h(4_560_000), "4.56 MB");
        assert_eq!(h(123_456_789), "123 MB");
    }
}
