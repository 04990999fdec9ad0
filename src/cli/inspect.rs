//! `archlens inspect REF`

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};

use archlens::model::units::human_bytes;
use archlens::registry::fetch::Inspection;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Image reference, e.g. `127.0.0.1:5000/team/app:1.0`, `alpine@sha256:…`, `oci:DIR:TAG`.
    pub reference: String,
    /// Print the manifest's exact bytes and nothing else.
    #[arg(long)]
    pub raw: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(a: InspectArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let (fetcher, reference) = super::open_reference(net, &a.reference)?;
    if a.raw {
        let m = fetcher.resolve_reference(&reference).await.with_context(|| format!("reading {reference}"))?;
        let mut out = std::io::stdout().lock();
        out.write_all(&m.bytes)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let i = fetcher.inspect(&reference).await.with_context(|| format!("inspecting {reference}"))?;
    match a.format {
        Format::Json => output::json(&to_json(&i))?,
        Format::Table => print(&i),
    }
    super::pull_budget_note(&fetcher);
    Ok(ExitCode::SUCCESS)
}

fn to_json(i: &Inspection) -> Value {
    let v = &i.manifest.view;
    let entries: Vec<Value> = i
        .entries
        .iter()
        .map(|e| {
            json!({
                "platform": e.descriptor.platform.as_ref().map(|p| p.key()),
                "digest": e.descriptor.digest,
                "media_type": e.descriptor.media_type,
                "size": e.descriptor.size,
                "compressed_size": e.compressed_size,
                "annotations": e.descriptor.annotations,
                "attestation": e.is_attestation,
                "attests": e.attests,
                "error": e.error,
            })
        })
        .collect();
    let config = i.config.as_ref().map(|(d, bytes, c)| {
        json!({
            "digest": d,
            "size": bytes.len(),
            "platform": c.platform.key(),
            "created": c.created,
            "entrypoint": c.entrypoint,
            "cmd": c.cmd,
            "env": c.env,
            "labels": c.labels,
            "user": c.user,
            "working_dir": c.working_dir,
        })
    });
    let layers: Vec<Value> = v.layers.iter().map(|l| json!({ "digest": l.digest, "media_type": l.media_type, "size": l.size })).collect();
    json!({
        "reference": i.reference.to_string(),
        "digest": i.manifest.digest,
        "media_type": v.media_type,
        "kind": v.kind,
        "size": i.manifest.bytes.len(),
        "compressed_size": if v.kind.is_index() { Value::Null } else { json!(v.compressed_size()) },
        "annotations": v.annotations,
        "entries": entries,
        "config": config,
        "layers": layers,
    })
}

fn print(i: &Inspection) {
    let v = &i.manifest.view;
    println!("Reference:   {}", i.reference);
    println!("Digest:      {}", i.manifest.digest);
    println!("Media type:  {} ({})", output::printable(&v.media_type), v.kind.label());
    println!("Size:        {} bytes", i.manifest.bytes.len());
    for (k, val) in &v.annotations {
        println!("Annotation:  {}={}", output::printable(k), output::printable(val));
    }
    if v.kind.is_index() {
        println!();
        let rows: Vec<Vec<String>> = i
            .entries
            .iter()
            .map(|e| {
                let platform = if e.is_attestation {
                    format!("attestation → {}", e.attests.as_ref().map(|d| d.short()).unwrap_or_else(|| "?".into()))
                } else {
                    e.descriptor.platform.as_ref().map(|p| p.key()).unwrap_or_else(|| "(none)".into())
                };
                let ann = e
                    .descriptor
                    .annotations
                    .iter()
                    .filter(|(k, _)| !k.starts_with("vnd.docker.reference."))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                vec![
                    platform,
                    e.descriptor.digest.to_string(),
                    e.descriptor.size.to_string(),
                    match (&e.compressed_size, &e.error) {
                        (_, Some(err)) => format!("error: {err}"),
                        (Some(s), None) => human_bytes(*s),
                        (None, None) => "?".into(),
                    },
                    ann,
                ]
            })
            .collect();
        output::table(&["PLATFORM", "DIGEST", "SIZE", "COMPRESSED", "ANNOTATIONS"], &rows);
        return;
    }
    if let Some((d, _, c)) = &i.config {
        println!("Platform:    {} (from config {})", output::printable(&c.platform.key()), d.short());
        if let Some(created) = &c.created {
            println!("Created:     {}", output::printable(created));
        }
        if !c.entrypoint.is_empty() {
            println!("Entrypoint:  {:?}", c.entrypoint);
        }
        if !c.cmd.is_empty() {
            println!("Cmd:         {:?}", c.cmd);
        }
    }
    println!("Compressed:  {}", human_bytes(v.compressed_size()));
    if !v.layers.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = v.layers.iter().map(|l| vec![l.digest.to_string(), human_bytes(l.size), l.media_type.clone()]).collect();
        output::table(&["LAYER", "SIZE", "MEDIA TYPE"], &rows);
    }
}
