//! Shared output helpers: aligned tables and JSON.

use std::io::Write as _;

/// Columns wider than this are not padded to: a 70,000-character value overflows its
/// column instead of widening every line.
const MAX_COLUMN: usize = 80;

pub use archlens::model::units::printable;

/// A line for the terminal: control characters other than line breaks and tabs, and
/// bidirectional overrides, escaped ([`printable`] per line).
pub(super) fn terminal_safe(text: &str) -> String {
    text.split('\n').map(|line| line.split('\t').map(printable).collect::<Vec<_>>().join("\t")).collect::<Vec<_>>().join("\n")
}

/// Print one line (the `println!`/`eprintln!` of the command line): made terminal-safe, and
/// a reader that went away (a closed pipe) ends the program quietly.
pub fn say_line(to_stderr: bool, text: &str) {
    let safe = terminal_safe(text);
    let written = if to_stderr { writeln!(std::io::stderr().lock(), "{safe}") } else { writeln!(std::io::stdout().lock(), "{safe}") };
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Print rows as left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| printable(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count().min(MAX_COLUMN));
            }
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let line = |cells: Vec<String>| {
        let n = cells.len();
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(c.chars().count());
                if i + 1 == n { c } else { c + &" ".repeat(pad) }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line(header.iter().map(|s| s.to_string()).collect()));
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
}

pub fn json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
