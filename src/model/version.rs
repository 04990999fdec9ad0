//! Which tags are versions, and how they order: an optional `v`, one to four dot-separated
//! numbers, then an optional pre-release part (after `-`: `-rc.1`, `-alpine`) and build part
//! (after `+`), as SemVer reads them; `1.10` and `v1.10` are the same version. Not versions:
//! hex strings of 7 to 40 characters (commit SHAs, `8c3f2a1`, and long numbers such as the
//! build date `20240115`), dates written `2024-01-15`, and every other word.

use std::cmp::Ordering;

/// A tag read as a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version<'a> {
    numbers: Vec<u64>,
    pre: Option<&'a str>,
}

impl<'a> Version<'a> {
    pub fn parse(tag: &'a str) -> Option<Version<'a>> {
        let bare = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
        // A commit SHA, or a long number (a date as a build number): not a version.
        if (7..=40).contains(&bare.len()) && bare.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let b = bare.as_bytes();
        let date = b.len() >= 10 && b.iter().take(10).enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
        if date {
            return None;
        }
        let without_build = bare.split_once('+').map(|(v, _)| v).unwrap_or(bare);
        let (core, pre) = match without_build.split_once('-') {
            Some((c, p)) if !p.is_empty() => (c, Some(p)),
            Some(_) => return None,
            None => (without_build, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.is_empty() || p.len() > 19 || !p.bytes().all(|c| c.is_ascii_digit())) {
            return None;
        }
        let numbers = parts.iter().map(|p| p.parse().ok()).collect::<Option<Vec<u64>>>()?;
        Some(Version { numbers, pre })
    }

    /// A release, not a pre-release (`1.2`, not `1.2-rc.1`).
    pub fn is_stable(&self) -> bool {
        self.pre.is_none()
    }
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.numbers.len().max(other.numbers.len());
        for i in 0..n {
            let (a, b) = (self.numbers.get(i).copied().unwrap_or(0), other.numbers.get(i).copied().unwrap_or(0));
            match a.cmp(&b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match (self.pre, other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => super::matrix::version_order(a, b),
        }
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version<'_> {
        Version::parse(s).unwrap_or_else(|| panic!("{s} is a version"))
    }

    #[test]
    fn what_is_a_version() {
        for yes in ["1", "1.10", "v1.10", "1.4.10", "3.18.3.1", "1.0-rc.1", "3.18-alpine", "2.0.0+build.5", "V2", "123456"] {
            assert!(Version::parse(yes).is_some(), "{yes}");
        }
        for no in [
            "8c3f2a1",
            "1a2b3c4",
            "0123456789abcdef0123",
            "20240115",
            "2024-01-15",
            "2024-01-15.1",
            "latest",
            "stable",
            "main",
            "v",
            "1..2",
            "1.2.3.4.5",
            "1.2-",
            "",
        ] {
            assert!(Version::parse(no).is_none(), "{no}");
        }
    }

    #[test]
    fn versions_order_as_semver_does() {
        assert!(v("1.4.10") > v("1.4.9"));
        assert!(v("1.10") > v("1.9"));
        assert_eq!(v("1.10").cmp(&v("v1.10")), Ordering::Equal);
        assert_eq!(v("1.10").cmp(&v("1.10.0")), Ordering::Equal);
        assert!(v("1.0") > v("1.0-rc.2") && v("1.0-rc.2") > v("1.0-rc.1"));
        assert!(v("1.0").is_stable() && !v("1.0-rc.1").is_stable());
    }
}
