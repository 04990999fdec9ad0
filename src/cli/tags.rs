//! `archlens tags REPO`

use std::process::ExitCode;

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
    let tags = super::list_tags(&fetcher, &repo, a.filter.as_deref()).await?;
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
