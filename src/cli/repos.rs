//! `archlens repos HOST`

use std::process::ExitCode;

use anyhow::Context as _;

use archlens::model::reference::Registry;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
pub struct ReposArgs {
    /// Registry host, e.g. `127.0.0.1:5000`, `ghcr.io`.
    pub host: String,
    /// Only repositories matching this glob (`team/*`).
    #[arg(long)]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(a: ReposArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::parse(&a.host)?;
    let fetcher = net.fetcher(&registry)?;
    let client = fetcher.client().context("the catalog needs a registry")?;
    let mut repos = client.catalog_all().await.with_context(|| {
        if registry.hides_catalog() {
            format!("{registry} does not publish its catalog; name a repository directly, e.g. `archlens tags {registry}/OWNER/NAME`")
        } else {
            format!("listing the repositories of {registry}")
        }
    })?;
    if let Some(g) = &a.filter {
        repos.retain(|r| archlens::model::matrix::glob_match(g, r));
    }
    match a.format {
        Format::Json => output::json(&serde_json::json!({ "registry": registry.name(), "repositories": repos }))?,
        Format::Table => {
            for r in &repos {
                println!("{r}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
