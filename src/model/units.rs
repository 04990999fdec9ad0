//! Human-readable figures, and text that came from outside made safe to print.

/// Bidirectional overrides and isolates: they reorder what a terminal shows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// What came from outside (a registry's error text, a tag of a layout folder, a helper's
/// output) shown on a terminal: control characters (ESC, BEL, CR …) and bidirectional
/// overrides are escaped, so nothing in it can act on the terminal or reorder the line.
pub fn printable(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return s.to_string();
    }
    s.chars().map(|c| if c.is_control() || is_bidi_control(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

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

/// An RFC 3339 time as registries and Docker Hub's API give it (`2026-11-01T10:00:01.123Z`),
/// to the minute (`2026-11-01 10:00 UTC`); anything else as given.
pub fn when(rfc3339: &str) -> String {
    let b = rfc3339.as_bytes();
    let shaped = b.len() >= 17
        && b.iter().take(16).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    let utc = rfc3339.ends_with('Z') || rfc3339.ends_with("+00:00");
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) if shaped && utc => format!("{day} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// `%XX` escapes decoded to their bytes (a `%` not followed by two hex digits is kept as is);
/// bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) if b == b'%' => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn times_to_the_minute() {
        assert_eq!(super::when("2026-11-01T10:00:01.000000Z"), "2026-11-01 10:00 UTC");
        assert_eq!(super::when("2026-11-01T10:00:01+00:00"), "2026-11-01 10:00 UTC");
        // Another zone or another shape: as given, not guessed at.
        assert_eq!(super::when("2026-11-01T10:00:01+02:00"), "2026-11-01T10:00:01+02:00");
        assert_eq!(super::when("yesterday"), "yesterday");
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

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(printable("plain tag 1.2"), "plain tag 1.2");
        assert_eq!(printable("a\x1b]0;pwned\x07b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(printable("evil\u{202E}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert!(!printable("x\r\ny\u{2066}").chars().any(|c| c.is_control() || c == '\u{2066}'));
    }
}
