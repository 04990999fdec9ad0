//! The command line: one file per verb, table or JSON output.

/// Every line the command line prints goes through these two (they stand in for std's in the
/// whole `cli` tree): text that came from outside is made safe for a terminal, and a closed
/// pipe (`archlens matrix … | head -1`) ends the program quietly instead of panicking.
macro_rules! println {
    () => {
        $crate::cli::output::say_line(false, "")
    };
    ($($t:tt)*) => {
        $crate::cli::output::say_line(false, &format!($($t)*))
    };
}

macro_rules! eprintln {
    () => {
        $crate::cli::output::say_line(true, "")
    };
    ($($t:tt)*) => {
        $crate::cli::output::say_line(true, &format!($($t)*))
    };
}

mod compose;
mod coverage;
mod demo;
mod diagnose;
mod diff;
mod gui;
mod inspect;
mod login;
mod matrix;
mod output;
mod repos;
mod sizes;
mod tags;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use archlens::model::reference::Registry;
use archlens::registry::{self, ClientOptions, Fetcher};

#[derive(Debug, Parser)]
#[command(
    name = "archlens",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("ARCHLENS_GIT_REV"), ")"),
    about = "Inspect multi-architecture container images in OCI and Docker registries"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log every registry request (method, URL, status, bytes, time, retries, auth scope; never
    /// a secret) to standard error; the app writes its log to `archlens.log` in its data
    /// folder. `ARCHLENS_LOG` (e.g. `debug`, `archlens=trace`) sets the filter instead.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, clap::Args)]
pub struct NetArgs {
    /// Total seconds allowed for one registry request.
    #[arg(long, global = true, default_value_t = 30)]
    pub timeout: u64,
    /// Most registry requests in flight at once: the limit adapts below it (halved on 429, 503
    /// and resets), and a registry that speaks only HTTP/1.1 gets at most 64 connections.
    #[arg(long, global = true, default_value_t = registry::client::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Retries for 408/429/5xx answers and dropped connections.
    #[arg(long, global = true, default_value_t = 3)]
    pub retries: u32,
    /// Do not read or write the on-disk cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Speak plain HTTP to a non-loopback registry (loopback hosts always may).
    #[arg(long, global = true)]
    pub plain_http: bool,
    /// Raise or lower a read limit: `manifest=16MiB`, `config=`, `token=`, `error-body=`,
    /// `page=` (sizes in B, KiB, MiB, GiB) or `pages=N` (repeatable). Defaults: manifest 8 MiB,
    /// config 32 MiB, token 1 MiB, error body 64 KiB, page 16 MiB, 10000 pages.
    #[arg(long = "limit", global = true, value_parser = parse_limit)]
    pub limits: Vec<String>,
    /// Skip TLS certificate verification (the registry's identity is then unchecked).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Resolve tags with HEAD requests, as is always done on Docker Hub (its pull limits
    /// count manifest GETs).
    #[arg(long, global = true)]
    pub head: bool,
    /// Docker Hub's API, read for docker.io's tags and platforms (no pulls spent):
    /// https://hub.docker.com by default; `none` to read only the registry's manifests; another
    /// URL for a mirror of it, which then serves the registry named.
    #[arg(long, global = true, value_name = "URL")]
    pub hub_api: Option<String>,
    /// The one session of this run: clients made once, shared by every verb's reads and writes.
    #[arg(skip)]
    session: std::sync::OnceLock<registry::Session>,
}

fn parse_limit(s: &str) -> Result<String, String> {
    registry::client::Limits::default().set(s).map(|()| s.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the repositories of a registry (its catalog).
    Repos(repos::ReposArgs),
    /// List the tags of a repository.
    Tags(tags::TagsArgs),
    /// Show an index's entries or an image's platform and layers.
    Inspect(inspect::InspectArgs),
    /// Tags × platforms: which tag covers which platform, with digests and sizes.
    Matrix(matrix::MatrixArgs),
    /// Across repositories: which platforms each one's chosen tag covers, and what a host runs.
    Coverage(coverage::CoverageArgs),
    /// Why would a host fail with "exec format error"? Selection, config label and binary checks.
    Diagnose(diagnose::DiagnoseArgs),
    /// What changed between two tags or images, per platform: layers, config, history.
    Diff(diff::DiffArgs),
    /// Each platform's compressed size across the tags, in version order, with jumps marked.
    Sizes(sizes::SizesArgs),
    /// Compose an index from existing images and push it safely.
    Compose(compose::ComposeArgs),
    /// Undo the last push (re-point its tag to the previous digest), or list the journal.
    Undo(compose::UndoArgs),
    /// Check a login and keep it in the OS keychain.
    Login(login::LoginArgs),
    /// Forget a login kept in the OS keychain.
    Logout(login::LogoutArgs),
    /// Open the desktop app (the default with no arguments).
    Gui(gui::GuiArgs),
    /// Print a shell completion script: `archlens completions bash > /etc/bash_completion.d/archlens`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from this command line's definition.
    #[command(hide = true)]
    Manpage,
    /// Write the demo OCI layout (as shipped in assets/).
    #[command(hide = true)]
    MakeDemo(demo::DemoArgs),
}

impl NetArgs {
    fn options(&self) -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(self.timeout.max(1)),
            max_retries: self.retries,
            concurrency: self.concurrency.max(1),
            plain_http: self.plain_http,
            insecure: self.insecure,
            limits: {
                let mut l = registry::client::Limits::default();
                for spec in &self.limits {
                    // Checked when the arguments were parsed (parse_limit).
                    let _ = l.set(spec);
                }
                l
            },
            resolve_with_head: self.head.then_some(true),
            hub_api: self.hub_api.clone(),
            ..ClientOptions::default()
        }
    }

    /// This run's session, made on first use.
    fn session(&self) -> &registry::Session {
        self.session.get_or_init(|| registry::Session::new(self.options(), if self.no_cache { None } else { registry::Cache::default_location() }))
    }

    /// A fetcher over `registry`: a registry, or an `oci:` layout folder.
    fn fetcher(&self, registry: &Registry) -> anyhow::Result<Fetcher> {
        self.session().fetcher(registry).with_context(|| format!("cannot read {registry}"))
    }
}

/// A repository to read: `oci:DIR` (an OCI image-layout folder) or a registry repository.
pub fn open_repository(net: &NetArgs, arg: &str) -> anyhow::Result<(Fetcher, archlens::model::Repository)> {
    let repo = match arg.strip_prefix("oci:") {
        Some(dir) => archlens::model::Repository { registry: Registry::layout_dir(dir), name: archlens::registry::OciDir::at(dir).name() },
        None => archlens::model::Repository::parse(arg)?,
    };
    Ok((net.fetcher(&repo.registry)?, repo))
}

/// The tags of `repo`, sorted, keeping those matching `glob` if given.
pub async fn list_tags(fetcher: &Fetcher, repo: &archlens::model::Repository, glob: Option<&str>) -> anyhow::Result<Vec<String>> {
    let mut tags = fetcher.store().tags(&repo.name).await.with_context(|| format!("listing the tags of {repo}"))?;
    tags.sort();
    if let Some(g) = glob {
        tags.retain(|t| archlens::model::matrix::glob_match(g, t));
    }
    Ok(tags)
}

/// What a run spent of a registry's pull limit: the manifests it read (each one a pull on
/// Docker Hub) and what the registry says is left.
pub fn pull_budget_note(fetcher: &Fetcher) {
    let Some(client) = fetcher.client() else { return };
    let read = fetcher.stats.manifest_gets.load(std::sync::atomic::Ordering::Relaxed);
    let left = client.rate_limit_remaining().map(|l| archlens::model::units::rate_limit_words(&l));
    match (client.registry().is_docker_hub(), left) {
        (true, left) => eprintln!(
            "note: {}: {read} manifest read{} (each counts as a pull){}",
            client.registry(),
            if read == 1 { "" } else { "s" },
            left.map(|l| format!("; {l}")).unwrap_or_default()
        ),
        (false, Some(left)) => eprintln!("note: {}: {left}", client.registry()),
        (false, None) => {}
    }
}

/// A reference to read: `oci:DIR:TAG`, `oci:DIR@DIGEST`, or a registry reference.
pub fn open_reference(net: &NetArgs, arg: &str) -> anyhow::Result<(Fetcher, archlens::model::Reference)> {
    let reference = archlens::model::Reference::parse(arg)?;
    Ok((net.fetcher(reference.registry())?, reference))
}

/// Logging through `tracing`: the CLI to standard error (warnings, such as waiting out a rate
/// limit, by default; every request with `--verbose`), the app to `archlens.log` in its data
/// folder (requests included).
fn init_logging(verbose: bool, gui: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose || gui { "archlens=debug" } else { "archlens=warn" };
    let filter =
        std::env::var("ARCHLENS_LOG").ok().filter(|s| !s.is_empty()).and_then(|s| EnvFilter::try_new(s).ok()).unwrap_or_else(|| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let log_file = gui.then(archlens::registry::journal::data_dir).flatten().and_then(|dir| {
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join("archlens.log")).ok()
    });
    let _ = match log_file {
        Some(file) => builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).try_init(),
        None => builder.with_writer(std::io::stderr).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
    };
}

pub fn run(args: Args) -> ExitCode {
    if args.net.insecure {
        eprintln!("warning: --insecure: TLS certificates are not verified, so the registry's identity is unchecked");
    }
    let command = args.command.unwrap_or(Command::Gui(gui::GuiArgs::default()));
    init_logging(args.verbose, matches!(command, Command::Gui(_)));
    if let Command::Gui(g) = command {
        let ran = gui::run(g, args.net.options());
        archlens::registry::cache::flush_writes(Duration::from_secs(10));
        return match ran {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Repos(a) => repos::run(a, &args.net).await,
            Command::Tags(a) => tags::run(a, &args.net).await,
            Command::Inspect(a) => inspect::run(a, &args.net).await,
            Command::Matrix(a) => matrix::run(a, &args.net).await,
            Command::Coverage(a) => coverage::run(a, &args.net).await,
            Command::Diagnose(a) => diagnose::run(a, &args.net).await,
            Command::Diff(a) => diff::run(a, &args.net).await,
            Command::Sizes(a) => sizes::run(a, &args.net).await,
            Command::MakeDemo(a) => demo::run(a),
            Command::Completions { shell } => {
                let mut cmd = <Args as clap::CommandFactory>::command();
                clap_complete::generate(shell, &mut cmd, "archlens", &mut std::io::stdout());
                Ok(ExitCode::SUCCESS)
            }
            Command::Manpage => {
                let cmd = <Args as clap::CommandFactory>::command();
                clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Compose(a) => compose::run(a, &args.net).await,
            Command::Undo(a) => compose::undo(a, &args.net).await,
            Command::Login(a) => login::login(a, &args.net).await,
            Command::Logout(a) => login::logout(a).await,
            Command::Gui(_) => Ok(ExitCode::SUCCESS),
        }
    });
    // Cache entries are written off the request path; let them land before exiting.
    archlens::registry::cache::flush_writes(Duration::from_secs(10));
    match result {
        Ok(code) => code,
        // The reader went away (`archlens inspect --raw … | head`): not an error.
        Err(e) if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // A tag moved by someone else since the preview: refused, as an overwrite without
            // --yes is.
            let moved =
                e.chain().any(|c| matches!(c.downcast_ref::<archlens::registry::RegistryError>(), Some(archlens::registry::RegistryError::TagMoved { .. })));
            ExitCode::from(if moved { compose::EXIT_REFUSED } else { 2 })
        }
    }
}
