//! The push journal: one JSON line per push or undo, under the app's data dir
//! (`~/.local/share/archlens/journal.jsonl`, or `$ARCHLENS_DATA_DIR`).

use std::io::Write as _;
use std::path::PathBuf;

use crate::model::digest::Digest;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalEntry {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// `push` or `undo`.
    pub action: String,
    pub target: String,
    pub previous: Option<Digest>,
    pub digest: Digest,
}

pub fn path() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("ARCHLENS_DATA_DIR") {
        if !d.is_empty() {
            return Some(PathBuf::from(d).join("journal.jsonl"));
        }
    }
    directories::ProjectDirs::from("dev", "archlens", "archlens").map(|d| d.data_dir().join("journal.jsonl"))
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Append to the default journal.
pub fn append(entry: &JournalEntry) -> std::io::Result<()> {
    let Some(p) = path() else { return Err(std::io::Error::other("no data directory for the journal")) };
    append_to(&p, entry)
}

pub fn append_to(p: &std::path::Path, entry: &JournalEntry) -> std::io::Result<()> {
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p)?;
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    f.write_all(&line)?;
    f.sync_data()
}

/// All entries, oldest first; unreadable lines are skipped.
pub fn read() -> Vec<JournalEntry> {
    let Some(p) = path() else { return Vec::new() };
    let Ok(text) = std::fs::read_to_string(p) else { return Vec::new() };
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a Unix time.
pub fn format_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, (rem / 60) % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_795_398_000), "2026-11-23 01:40:00 UTC");
    }
}
