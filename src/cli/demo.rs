//! `archlens make-demo DIR` (hidden): writes the demo OCI layout shipped in `assets/`.

use std::process::ExitCode;

use archlens::registry::layout::{LayoutRef, write_layout};
use archlens::testkit::{Built, standard_set};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder to write the layout into (created if missing).
    pub dir: std::path::PathBuf,
}

pub fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    let set = standard_set();
    let mut blobs: Vec<&[u8]> = Vec::new();
    for (_, built) in &set {
        for img in built.images() {
            blobs.extend(img.blobs.iter().map(Vec::as_slice));
            blobs.push(&img.manifest);
        }
        if let Built::Index { index, .. } = built {
            blobs.push(&index.bytes);
        }
    }
    let refs: Vec<LayoutRef<'_>> =
        set.iter().map(|(tag, b)| LayoutRef { tag, media_type: b.media_type(), digest: b.digest(), size: b.bytes().len() as u64 }).collect();
    write_layout(&a.dir, blobs, &refs)?;
    println!("wrote {} tags to {}", refs.len(), a.dir.display());
    Ok(ExitCode::SUCCESS)
}
