//! `archlens diff BEFORE AFTER`

use std::process::ExitCode;

use anyhow::Context as _;

use archlens::model::units::human_bytes;
use archlens::registry::diff::Diff;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier tag or image: `127.0.0.1:5000/team/app:1.2`, `…@sha256:…`, `oci:DIR:TAG`.
    pub before: String,
    /// The later one (any registry or folder).
    pub after: String,
    /// Compare only this platform (each side's entry as a host of it would pick).
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(a: DiffArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let (fa, ra) = super::open_reference(net, &a.before)?;
    let (fb, rb) = super::open_reference(net, &a.after)?;
    let platform = a.platform.as_deref().map(archlens::model::Platform::parse_key).transpose().map_err(|e| anyhow::anyhow!("--platform: {e}"))?;
    let d = archlens::registry::diff::diff(&fa, &ra, &fb, &rb, platform.as_ref()).await.with_context(|| format!("comparing {ra} with {rb}"))?;
    match a.format {
        Format::Json => output::json(&serde_json::to_value(&d)?)?,
        Format::Table => print(&d),
    }
    super::pull_budget_note(&fa);
    Ok(ExitCode::SUCCESS)
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
}
