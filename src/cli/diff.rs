//! `archlens diff BEFORE AFTER`

use std::process::ExitCode;

use anyhow::Context as _;

use archlens::model::diff::Diff;
use archlens::model::units::human_bytes;
use archlens::registry::diff::DiffOptions;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier tag or image: `127.0.0.1:5000/team/app:1.2`, `…@sha256:…`, `oci:DIR:TAG`.
    pub before: String,
    /// The later one (any registry or folder).
    pub after: String,
    /// Compare only this platform (each side's entry as a host of it would pick).
    #[arg(long, conflicts_with = "all_platforms")]
    pub platform: Option<String>,
    /// Compare every platform the two have (the default; for scripts that say so).
    #[arg(long)]
    pub all_platforms: bool,
    /// Also compare the files: added, removed and changed paths (size, mode, link target,
    /// content), reading only the layers the two sides do not share, each once.
    #[arg(long)]
    pub files: bool,
    /// Stop reading layers for `--files` after this many compressed bytes.
    #[arg(long, default_value_t = archlens::registry::layers::DEFAULT_MAX_BYTES)]
    pub max_bytes: u64,
    /// Exit 1 when a platform's compressed size grew by more than PCT percent (a CI gate).
    #[arg(long, value_name = "PCT")]
    pub fail_on_growth: Option<f64>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(a: DiffArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let (fa, ra) = super::open_reference(net, &a.before)?;
    let (fb, rb) = super::open_reference(net, &a.after)?;
    let platform = a.platform.as_deref().map(archlens::model::Platform::parse_key).transpose().map_err(|e| anyhow::anyhow!("--platform: {e}"))?;
    if let Some(pct) = a.fail_on_growth
        && !(pct.is_finite() && pct >= 0.0)
    {
        anyhow::bail!("--fail-on-growth takes a percentage of 0 or more, such as 10");
    }
    let options = DiffOptions { platform, files: a.files, max_bytes: a.max_bytes };
    let d = archlens::registry::diff::diff(&fa, &ra, &fb, &rb, &options).await.with_context(|| format!("comparing {ra} with {rb}"))?;
    let grown = a.fail_on_growth.map(|pct| d.grown_over(pct)).unwrap_or_default();
    match a.format {
        Format::Json => output::json(&serde_json::to_value(&d)?)?,
        Format::Table => print(&d),
    }
    super::pull_budget_note(&fa);
    if let Some(pct) = a.fail_on_growth {
        for (platform, growth) in &grown {
            eprintln!("{platform} grew by {growth:.1} %, more than --fail-on-growth {pct}");
        }
    }
    Ok(if grown.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A changed value as JSON, safe for a terminal; `(none)` when absent.
fn value_text(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map_or("(none)".to_string(), |v| output::terminal_safe(&v.to_string()))
}

fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

fn print(d: &Diff) {
    println!("{} → {}", d.before, d.after);
    for p in &d.platforms {
        let l = &p.layers;
        let sign = if l.delta() < 0 { "-" } else { "+" };
        println!();
        println!("{}: {} → {}", p.platform, short(&p.before), short(&p.after));
        println!(
            "  layers: {} shared, {} added, {} removed; {} → {} ({sign}{})",
            l.shared.len(),
            l.added.len(),
            l.removed.len(),
            human_bytes(l.size_before),
            human_bytes(l.size_after),
            human_bytes(l.delta().unsigned_abs().try_into().unwrap_or(u64::MAX))
        );
        for x in &l.added {
            println!("    + {} {}", short(&x.digest), human_bytes(x.size));
        }
        for x in &l.removed {
            println!("    - {} {}", short(&x.digest), human_bytes(x.size));
        }
        if p.config.changes.is_empty() {
            println!("  config keys: unchanged");
        }
        for c in &p.config.changes {
            println!("  {}: {} → {}", c.key, value_text(&c.before), value_text(&c.after));
        }
        for h in &p.config.history_added {
            println!("  history + {}", output::terminal_safe(h));
        }
        for c in &p.annotations {
            println!("  entry annotation {}: {} → {}", c.key, value_text(&c.before), value_text(&c.after));
        }
        if let Some(f) = &p.files {
            println!("  files: {}", f.summary());
            for c in &f.changes {
                println!("    {}", c.line("  [the other side: the shared layers, not read]"));
            }
        }
    }
    for k in &d.removed_platforms {
        println!("\nonly in {}: {k}", d.before);
    }
    for k in &d.added_platforms {
        println!("\nonly in {}: {k}", d.after);
    }
    for c in &d.annotations {
        println!("\nindex annotation {}: {} → {}", c.key, value_text(&c.before), value_text(&c.after));
    }
    if let Some(r) = &d.files_read {
        println!(
            "\nfiles: {} of layers read ({} needed; {} of {} layers kept from an earlier comparison)",
            human_bytes(r.bytes),
            human_bytes(r.layer_bytes),
            r.from_cache,
            r.layers
        );
    }
}
