//! One store interface: a registry and a layout folder answer the same calls the same way, and
//! both check every blob read against its declared size and digest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::sync::Arc;

use archlens::model::Digest;
use archlens::registry::store::{BlobBody, Written};
use archlens::registry::{OciDir, Store};
use archlens::testkit::{Compression, Entry, image_with_layers, p};

fn sample() -> archlens::testkit::Image {
    image_with_layers(
        &p("linux/arm64"),
        &[(vec![Entry::file("app", &common::diag::elf_for("arm64"))], Compression::Gzip)],
        serde_json::json!({ "Entrypoint": ["/app"] }),
    )
}

/// Read everything of `img` back through `store` as `repo:tag`, as any caller would.
async fn read_back(store: &dyn Store, repo: &str, tag: &str, img: &archlens::testkit::Image) {
    assert!(store.tags(repo).await.unwrap().contains(&tag.to_string()), "{}", store.name());
    assert_eq!(store.tag_digest(repo, tag).await.unwrap().as_ref(), Some(&img.digest), "{}", store.name());
    let m = store.manifest(repo, tag, None).await.unwrap();
    assert_eq!((m.digest.clone(), m.bytes.clone()), (img.digest.clone(), img.manifest.clone()), "{}", store.name());
    let config = Digest::sha256(&img.blobs[0]);
    assert_eq!(store.blob(repo, &config, Some(img.blobs[0].len() as u64)).await.unwrap(), img.blobs[0]);
    let layer = &img.blobs[1];
    let mut r = store.open_blob(repo, &Digest::sha256(layer), layer.len() as u64).await.unwrap();
    let mut got = Vec::new();
    while let Some(c) = r.next_chunk().await.unwrap() {
        got.extend_from_slice(&c);
    }
    assert_eq!(&got, layer, "{}", store.name());
    assert!(store.has_blob(repo, &Digest::sha256(layer)).await.unwrap());
    assert!(!store.has_blob(repo, &Digest::sha256(b"not there")).await.unwrap());
}

/// Copy `img` from `from` into `to` through the interface alone: blobs streamed, manifest
/// bytes exact, then the tag.
async fn copy(from: Arc<dyn Store>, from_repo: &str, to: &dyn Store, to_repo: &str, tag: &str, img: &archlens::testkit::Image) {
    to.prepare().await.unwrap();
    for b in &img.blobs {
        let body = BlobBody::From { store: from.clone(), repo: from_repo.to_string() };
        let w = to.put_blob(to_repo, &Digest::sha256(b), b.len() as u64, body, None).await.unwrap();
        assert!(matches!(w, Written::Copied { .. } | Written::Present), "{w:?}");
    }
    to.put_manifest(to_repo, tag, img.media_type, &img.manifest).await.unwrap();
}

#[tokio::test]
async fn a_registry_and_a_folder_answer_the_same_calls_alike() {
    let img = sample();
    let registry: Arc<dyn Store> = common::client();
    let dir = tempfile::tempdir().unwrap();
    let folder: Arc<dyn Store> = Arc::new(OciDir::at(dir.path()));
    // Registry → folder → registry (another repository), each step through `Store` only.
    common::seed::push_image(&common::client(), "store/src", &img).await.unwrap();
    registry.put_manifest("store/src", "1", img.media_type, &img.manifest).await.unwrap();
    read_back(&*registry, "store/src", "1", &img).await;
    copy(registry.clone(), "store/src", &*folder, "store", "1", &img).await;
    let reopened: Arc<dyn Store> = Arc::new(OciDir::open(dir.path()).unwrap());
    read_back(&*reopened, "store", "1", &img).await;
    copy(reopened.clone(), "store", &*registry, "store/back", "2", &img).await;
    read_back(&*registry, "store/back", "2", &img).await;
    // A second copy finds every blob there.
    let b = &img.blobs[1];
    let again = folder.put_blob("store", &Digest::sha256(b), b.len() as u64, BlobBody::Bytes(b.clone().into()), None).await.unwrap();
    assert_eq!(again, Written::Present);
    // Deleting a tag is the same call; the folder drops it from index.json.
    folder.delete_tag("store", "1").await.unwrap();
    assert_eq!(folder.tag_digest("store", "1").await.unwrap(), None);
}

#[tokio::test]
async fn a_folder_blob_is_checked_against_its_size_and_digest_as_a_registry_blob_is() {
    let img = sample();
    let dir = tempfile::tempdir().unwrap();
    let folder = OciDir::at(dir.path());
    let src: Arc<dyn Store> = common::client();
    common::seed::push_image(&common::client(), "store/check", &img).await.unwrap();
    copy(src, "store/check", &folder, "x", "1", &img).await;
    let layer = &img.blobs[1];
    let d = Digest::sha256(layer);
    let path = dir.path().join("blobs").join(d.algorithm()).join(d.encoded());
    let read_all = |store: OciDir| {
        let d = d.clone();
        let n = layer.len() as u64;
        async move {
            let mut r = Store::open_blob(&store, "x", &d, n).await?;
            while r.next_chunk().await?.is_some() {}
            Ok::<(), archlens::registry::RegistryError>(())
        }
    };
    // Same size, one byte changed: the end is a digest mismatch.
    let mut tampered = layer.clone();
    *tampered.last_mut().unwrap() ^= 1;
    std::fs::write(&path, &tampered).unwrap();
    let e = read_all(OciDir::open(dir.path()).unwrap()).await.unwrap_err();
    assert!(matches!(e, archlens::registry::RegistryError::DigestMismatch { .. }), "{e}");
    // Longer than declared: refused once the declared size is passed.
    let mut longer = layer.clone();
    longer.extend_from_slice(&[0; 4096]);
    std::fs::write(&path, &longer).unwrap();
    let e = read_all(OciDir::open(dir.path()).unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
    // A config read whole is capped by its declared size on both.
    let config = Digest::sha256(&img.blobs[0]);
    let short = Some(img.blobs[0].len() as u64 - 1);
    assert!(Store::blob(&OciDir::open(dir.path()).unwrap(), "x", &config, short).await.is_err());
    assert!(Store::blob(&*common::client(), "store/check", &config, short).await.is_err());
}
