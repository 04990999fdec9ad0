//! The registry layer against a real local registry: pagination, single fetch per digest,
//! the warm cache, and pushes checked by skopeo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::sync::atomic::Ordering;

use archlens::model::reference::Repository;
use archlens::registry::{Cache, Fetcher};
use common::{client, seeded};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn catalog_pages_follow_link_headers() {
    let c = client();
    rt().block_on(async {
        for r in ["page/a", "page/b", "page/c", "page/d", "page/e"] {
            let img = common::seed::image(&common::seed::p("linux/amd64"), common::seed::Flavour::Oci, r);
            common::seed::push_image(&c, r, &img).await.unwrap();
            c.put_manifest(r, "t", img.media_type, &img.manifest).await.unwrap();
        }
        let mut all = Vec::new();
        let mut next = None;
        let mut pages = 0;
        loop {
            let p = c.catalog_page(next.as_deref(), 2).await.unwrap();
            assert!(p.items.len() <= 2);
            pages += 1;
            all.extend(p.items);
            match p.next {
                Some(n) => next = Some(n),
                None => break,
            }
            assert!(pages < 100, "pagination does not end");
        }
        assert!(pages >= 3, "five repositories at two per page take at least three pages");
        for r in ["page/a", "page/b", "page/c", "page/d", "page/e"] {
            assert!(all.iter().any(|x| x == r), "{r} missing from {all:?}");
        }
        assert_eq!(all, c.catalog_all().await.unwrap());
    });
}

#[test]
fn each_digest_is_fetched_once_and_a_warm_run_reads_only_tags() {
    let s = seeded();
    let repo = Repository::parse(&s.repository).unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let tags = client().tags_all(&repo.name).await.unwrap();
        let cold = Fetcher::new(client(), Some(Cache::at(dir.path())));
        let m1 = cold.matrix(&repo, tags.clone(), |_, _, _| {}).await;
        // Below the tags (each resolved by one GET): every distinct child manifest once, and
        // the config of each single-arch image; the attestation is not needed for the matrix.
        let mut distinct = std::collections::BTreeSet::new();
        for t in s.tags.values() {
            match t {
                common::seed::Seeded1::Index(i) => distinct.extend(i.children.values().map(|c| c.digest.clone())),
                common::seed::Seeded1::Image(i) => {
                    distinct.insert(archlens::model::Digest::sha256(&i.blobs[0]));
                }
            }
        }
        assert_eq!(cold.stats.network_fetches.load(Ordering::Relaxed) as usize, distinct.len());
        assert_eq!(cold.stats.tag_resolutions.load(Ordering::Relaxed) as usize, tags.len());

        let warm = Fetcher::new(client(), Some(Cache::at(dir.path())));
        let m2 = warm.matrix(&repo, tags.clone(), |_, _, _| {}).await;
        assert_eq!(warm.stats.network_fetches.load(Ordering::Relaxed), 0, "warm run fetched from the network");
        assert_eq!(warm.stats.tag_resolutions.load(Ordering::Relaxed) as usize, tags.len());
        assert_eq!(m1, m2);
    });
}

#[test]
fn a_tag_moved_under_a_warm_cache_is_seen() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let repo = Repository::parse(&format!("{}/moving/app", c.registry())).unwrap();
        let a = common::seed::image(&common::seed::p("linux/amd64"), common::seed::Flavour::Oci, "moving a");
        let b = common::seed::image(&common::seed::p("linux/arm64"), common::seed::Flavour::Oci, "moving b");
        for img in [&a, &b] {
            common::seed::push_image(&c, &repo.name, img).await.unwrap();
        }
        c.put_manifest(&repo.name, "t", a.media_type, &a.manifest).await.unwrap();
        let f = Fetcher::new(c.clone(), Some(Cache::at(dir.path())));
        let m = f.matrix(&repo, vec!["t".into()], |_, _, _| {}).await;
        assert!(m.rows[0].cells.contains_key("linux/amd64"));
        c.put_manifest(&repo.name, "t", b.media_type, &b.manifest).await.unwrap();
        let f = Fetcher::new(c.clone(), Some(Cache::at(dir.path())));
        let m = f.matrix(&repo, vec!["t".into()], |_, _, _| {}).await;
        assert!(m.rows[0].cells.contains_key("linux/arm64"), "the moved tag is re-resolved");
        assert_eq!(m.rows[0].digest.as_ref(), Some(&b.digest));
    });
}

#[test]
fn a_failed_tag_does_not_fail_the_matrix() {
    let s = seeded();
    let repo = Repository::parse(&s.repository).unwrap();
    rt().block_on(async {
        let f = Fetcher::new(client(), None);
        let m = f.matrix(&repo, vec!["1.0".into(), "gone".into()], |_, _, _| {}).await;
        assert_eq!(m.rows.len(), 2);
        assert!(m.rows[0].error.is_none());
        let err = m.rows[1].error.as_deref().unwrap();
        assert!(err.contains("not found"), "{err}");
    });
}

#[test]
fn pushed_manifests_are_what_skopeo_reads() {
    let s = seeded();
    let common::seed::Seeded1::Index(idx) = &s.tags["1.1"] else { panic!() };
    let raw = common::skopeo_raw(&format!("{}:1.1", s.repository));
    assert_eq!(raw, idx.bytes);
    // skopeo picks the arm/v6 child of the Docker list for an arm/v6 host.
    let out = std::process::Command::new("skopeo")
        .args(["--override-arch", "arm", "--override-variant", "v6", "inspect", "--tls-verify=false"])
        .arg(format!("docker://{}:1.1", s.repository))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // `Digest` is the list's own; the chosen child shows in its architecture and layers.
    assert_eq!(v["Digest"], idx.digest.to_string());
    assert_eq!(v["Architecture"], "arm");
    let child = &idx.children["linux/arm/v6"];
    assert_eq!(v["Layers"][0], archlens::model::Digest::sha256(&child.blobs[1]).to_string());
}

#[test]
fn head_resolution_spares_manifest_gets_on_a_warm_cache() {
    use archlens::model::reference::Registry;
    use archlens::registry::{ClientOptions, RegistryClient};
    let s = seeded();
    let repo = Repository::parse(&s.repository).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let head_client = || {
        let opts = ClientOptions { resolve_with_head: Some(true), ..ClientOptions::default() };
        std::sync::Arc::new(RegistryClient::new(Registry::parse(common::registry_addr()).unwrap(), None, opts).unwrap())
    };
    assert!(!client().resolves_with_head(), "a local registry resolves with one GET by default");
    assert!(RegistryClient::new(Registry::parse("docker.io").unwrap(), None, ClientOptions::default()).unwrap().resolves_with_head());
    rt().block_on(async {
        let tags = client().tags_all(&repo.name).await.unwrap();
        let cold = Fetcher::new(head_client(), Some(Cache::at(dir.path())));
        let m1 = cold.matrix(&repo, tags.clone(), |_, _, _| {}).await;
        assert_eq!(cold.stats.tag_gets.load(Ordering::Relaxed), 0, "tags were resolved with HEAD");
        let warm = Fetcher::new(head_client(), Some(Cache::at(dir.path())));
        let m2 = warm.matrix(&repo, tags.clone(), |_, _, _| {}).await;
        assert_eq!(warm.stats.tag_gets.load(Ordering::Relaxed), 0);
        assert_eq!(warm.stats.network_fetches.load(Ordering::Relaxed), 0, "a warm run makes no manifest GET at all");
        assert_eq!(m1, m2);
        let get = Fetcher::new(client(), None);
        get.matrix(&repo, tags.clone(), |_, _, _| {}).await;
        assert_eq!(get.stats.tag_gets.load(Ordering::Relaxed) as usize, tags.len());
    });
}

#[test]
fn a_warm_cache_resolves_tags_with_head_and_still_sees_a_tag_that_moved() {
    use archlens::testkit::{Flavour, image, p};
    let repo = Repository::parse(&format!("{}/warm/head", common::registry_addr())).unwrap();
    let (a, b) = (image(&p("linux/amd64"), Flavour::Oci, "warm a"), image(&p("linux/arm64"), Flavour::Oci, "warm b"));
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let c = client();
        for img in [&a, &b] {
            common::seed::push_image(&c, &repo.name, img).await.unwrap();
        }
        for tag in ["1", "2"] {
            c.put_manifest(&repo.name, tag, a.media_type, &a.manifest).await.unwrap();
        }
        let tags = vec!["1".to_string(), "2".to_string()];
        // Cold (no --head): one GET per tag.
        let cold = Fetcher::new(client(), Some(Cache::at(dir.path())));
        cold.matrix(&repo, tags.clone(), |_, _, _| {}).await;
        assert_eq!(cold.stats.tag_gets.load(Ordering::Relaxed), 2);
        // Warm: the cache knows each tag's last digest and holds its bytes, so a HEAD each.
        let warm = Fetcher::new(client(), Some(Cache::at(dir.path())));
        warm.matrix(&repo, tags.clone(), |_, _, _| {}).await;
        assert_eq!(warm.stats.tag_gets.load(Ordering::Relaxed), 0, "tags were checked with HEAD");
        assert_eq!(warm.stats.network_fetches.load(Ordering::Relaxed), 0, "nothing else was read");
        // Tag 2 moves: the HEAD says so and the new manifest is read, by its digest.
        c.put_manifest(&repo.name, "2", b.media_type, &b.manifest).await.unwrap();
        let moved = Fetcher::new(client(), Some(Cache::at(dir.path())));
        let m = moved.matrix(&repo, tags, |_, _, _| {}).await;
        let digest_of = |tag: &str| m.rows.iter().find(|r| r.tag == tag).and_then(|r| r.digest.clone());
        assert_eq!(digest_of("1"), Some(a.digest.clone()));
        assert_eq!(digest_of("2"), Some(b.digest.clone()), "the moved tag shows what it holds now");
    });
}
