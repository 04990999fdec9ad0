//! `archlens login REGISTRY -u USER --password-stdin` and `archlens logout REGISTRY`: a login
//! checked against the registry and kept in the OS keychain (the same entry the app's
//! *Sign in…* keeps), read back by every later run before credentials files.

use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use archlens::model::reference::Registry;
use archlens::registry::RegistryClient;
use archlens::registry::auth::{self, Credentials};

use super::NetArgs;

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The registry, e.g. ghcr.io or 127.0.0.1:5000.
    pub registry: String,
    #[arg(long, short = 'u')]
    pub username: String,
    /// Read the password or token from standard input (the only way: never on the command line).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry whose kept login is forgotten.
    pub registry: String,
}

pub async fn login(a: LoginArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::parse(&a.registry)?;
    if !a.password_stdin {
        bail!(
            "give the password on standard input with --password-stdin, e.g. `printf %s \"$TOKEN\" | archlens login {registry} -u {} --password-stdin`",
            a.username
        );
    }
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("the password on standard input is empty");
    }
    let creds = Credentials::Basic { username: a.username.clone(), password: password.clone() };
    let client = Arc::new(RegistryClient::new(registry.clone(), Some(creds), net.options())?);
    client.ping().await.with_context(|| format!("signing in to {registry} as {}", a.username))?;
    let (r, u) = (registry.clone(), a.username.clone());
    tokio::task::spawn_blocking(move || auth::keychain_store(&r, &u, &password))
        .await?
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("the login to {registry} is correct but could not be kept in the OS keychain"))?;
    println!("signed in to {registry} as {}; kept in the OS keychain", a.username);
    Ok(ExitCode::SUCCESS)
}

pub async fn logout(a: LogoutArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::parse(&a.registry)?;
    let r = registry.clone();
    tokio::task::spawn_blocking(move || auth::keychain_forget(&r))
        .await?
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("forgetting the login to {registry}"))?;
    println!("forgot the login to {registry} (credentials files such as ~/.docker/config.json still apply)");
    Ok(ExitCode::SUCCESS)
}
