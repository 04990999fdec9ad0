//! `archlens tags REPO`

use std::process::ExitCode;

use anyhow::Context as _;

use archlens::model::matrix::glob_match;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
pub struct TagsArgs {
    /// Repository, e.g. `127.0.0.1:5000/team/app`, `alpine`, or `oci:DIR`.
    pub repository: String,
    /// Only tags matching this glob (`1.*`).
    #[arg(long)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(a: TagsArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let (fetcher, repo) = super::open_repository(net, &a.repository)?;
    let mut tags = fetcher.source().tags(&repo.name).await.with_context(|| format!("listing the tags of {repo}"))?;
    tags.sort();
    if let Some(g) = &a.filter {
        tags.retain(|t| glob_match(g, t));
    }
    match a.format {
        Format::Json => output::json(&serde_json::json!({ "repository": repo.to_string(), "tags": tags }))?,
        Format::Table => {
            for t in &tags {
                println!("{t}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
