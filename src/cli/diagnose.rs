//! `archlens diagnose REF --host PRESET|PLATFORM [--shallow]`

use std::process::ExitCode;

use anyhow::Context as _;

use archlens::model::diagnose::{Host, Verdict};
use archlens::model::units::human_bytes;
use archlens::registry::diagnose::{DiagnoseOptions, run as diagnose};
use archlens::registry::layers::DEFAULT_MAX_BYTES;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
#[command(after_help = "Exit status: 0 when ok, 1 when a problem is found, 2 on error.")]
pub struct DiagnoseArgs {
    /// Image reference, e.g. `127.0.0.1:5000/team/app:1.0`, or `oci:DIR:TAG` in a layout folder.
    pub reference: String,
    /// The host: a preset (apple-silicon, rpi32, rpi-zero, rpi64, arm64-server, x86-64,
    /// x86-64-binfmt, windows-2019, windows-2022) or a platform such as linux/arm/v7.
    #[arg(long, default_value = "apple-silicon")]
    pub host: String,
    /// Read the layers to find the entrypoint binary and its real architecture (the default).
    #[arg(long, conflicts_with = "shallow")]
    pub deep: bool,
    /// Skip reading the layers: labels and selection only (an `ok` then says binaries were
    /// not read).
    #[arg(long)]
    pub shallow: bool,
    /// Write the fix the findings propose as a compose draft to FILE (push it with
    /// `archlens compose --draft FILE --target REF`).
    #[arg(long, value_name = "FILE")]
    pub repair_draft: Option<std::path::PathBuf>,
    /// Stop reading layers after this many compressed bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES)]
    pub max_bytes: u64,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(a: DiagnoseArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let host = Host::parse(&a.host).map_err(|e| anyhow::anyhow!("--host: {e}"))?;
    let (fetcher, reference) = super::open_reference(net, &a.reference)?;
    // Progress on a terminal: layer bytes read so far.
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let ticker = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let read = read.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                let n = read.load(std::sync::atomic::Ordering::Relaxed);
                if n > 0 {
                    eprint!("\rreading layers: {}   ", human_bytes(n));
                }
            }
        })
    });
    // --timeout bounds the whole diagnosis too, not only each request.
    let d = tokio::time::timeout(
        std::time::Duration::from_secs(net.timeout.max(1)),
        diagnose(&fetcher, &reference, &host, DiagnoseOptions { deep: !a.shallow, max_bytes: a.max_bytes }, Some(read.clone())),
    )
    .await
    .map_err(|_| {
        anyhow::anyhow!("the diagnosis took longer than --timeout {} s and was stopped; raise --timeout for big layers or slow registries", net.timeout)
    })?
    .with_context(|| format!("diagnosing {reference}"));
    if let Some(t) = ticker {
        t.abort();
        eprint!("\r\x1b[K");
    }
    super::pull_budget_note(&fetcher);
    let d = d?;
    if let Some(file) = &a.repair_draft {
        match archlens::registry::diagnose::repair_draft(&fetcher, &reference, &d).await.with_context(|| format!("preparing the repair of {reference}"))? {
            Some((draft, done)) => {
                std::fs::write(file, serde_json::to_vec_pretty(&draft)?).with_context(|| format!("writing {}", file.display()))?;
                eprintln!("repair draft written to {}: {}", file.display(), done.join("; "));
                eprintln!("review it with `archlens compose --draft {} --target {reference} --dry-run`", file.display());
            }
            None => eprintln!("no repair draft: nothing in this diagnosis has a fix that a draft of {reference} can make"),
        }
    }
    match a.format {
        Format::Json => output::json(&serde_json::to_value(&d)?)?,
        Format::Table => {
            println!("Reference:  {}", d.reference);
            println!("Host:       {} ({})", host.label, d.host);
            println!("Verdict:    {}", d.verdict.as_str());
            match &d.selected {
                Some(s) => println!(
                    "Selected:   {} {} ({})",
                    s.platform,
                    s.digest,
                    serde_json::to_value(s.selection).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
                ),
                None => println!("Selected:   nothing"),
            }
            if let Some(b) = &d.binary {
                let via = if b.via.is_empty() { String::new() } else { format!(" (via {})", b.via.join(" → ")) };
                let format = serde_json::to_value(&b.format).ok().and_then(|v| v.as_str().map(str::to_uppercase)).unwrap_or_default();
                println!(
                    "Binary:     {} ({format}, {}){}",
                    output::printable(&b.path),
                    b.architecture.as_deref().unwrap_or("unknown architecture"),
                    output::printable(&via)
                );
            }
            if !a.shallow {
                println!("Read:       {} of layers", human_bytes(d.bytes_read));
            }
            for p in &d.partly_verified {
                println!("Verified:   not fully: {p}");
            }
            for f in &d.findings {
                println!();
                println!("[{}] {}", f.kind, output::printable(&f.message));
                println!("    evidence: {}", output::printable(&f.evidence));
            }
            if !d.remedy.is_empty() {
                println!();
                for r in &d.remedy {
                    println!("Remedy: {r}");
                }
            }
        }
    }
    Ok(if d.verdict == Verdict::Ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
