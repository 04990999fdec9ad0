//! `archlens sizes REPO`: each platform's compressed size across the tags, in version order.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::ValueEnum;

use super::{NetArgs, output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SizesFormat {
    #[default]
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SizesArgs {
    /// Repository, e.g. `127.0.0.1:5000/team/app` or `oci:DIR`.
    pub repository: String,
    /// Only tags matching this glob (`1.*`).
    #[arg(long)]
    pub tags: Option<String>,
    /// A size more than this many percent above the previous tag's (same platform) is a jump.
    #[arg(long, default_value_t = 10.0)]
    pub jump: f64,
    #[arg(long, value_enum, default_value_t)]
    pub format: SizesFormat,
}

pub async fn run(a: SizesArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let (fetcher, repo) = super::open_repository(net, &a.repository)?;
    let glob = a.tags.as_deref();
    // The matrix's own reads (from Docker Hub's API there): no extra request per size.
    let m = fetcher
        .matrix_paged(&repo, |t| glob.is_none_or(|g| archlens::model::matrix::glob_match(g, t)), |_, _, _| {})
        .await
        .with_context(|| format!("reading the tags of {repo}"))?;
    for note in &m.notes {
        eprintln!("note: {note}");
    }
    if let Some(why) = &m.partial {
        eprintln!("error: {why}");
    }
    let series = archlens::model::diff::size_series(&m.rows, a.jump);
    match a.format {
        SizesFormat::Json => output::json(&serde_json::json!({ "repository": repo.to_string(), "jump_percent": a.jump, "platforms": series }))?,
        SizesFormat::Csv => {
            println!("platform,tag,compressed_size,pushed,jump");
            for (platform, points) in &series {
                for p in points {
                    println!("{platform},{},{},{},{}", p.tag, p.size, p.pushed.as_deref().unwrap_or(""), p.jump);
                }
            }
        }
    }
    super::pull_budget_note(&fetcher);
    Ok(if m.partial.is_some() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
