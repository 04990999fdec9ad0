//! Docker Hub without spending pulls: the matrix from Docker Hub's API, against a fake of that
//! API serving the documented JSON shapes for images held by the real registry (which plays
//! registry-1.docker.io). The fake is built from what was seeded, not from what Archlens reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use archlens::model::Repository;
use archlens::model::matrix::CellSource;
use archlens::registry::{ClientOptions, Fetcher, RegistryClient};
use archlens::testkit::{Flavour, image, p};
use common::hub::fake_hub;

fn client_with(hub_api: Option<String>) -> Arc<RegistryClient> {
    let reg = archlens::model::Registry::parse(common::registry_addr()).unwrap();
    Arc::new(RegistryClient::new(reg, None, ClientOptions { hub_api, ..ClientOptions::default() }).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_matrix_of_2000_tags_reads_docker_hubs_api_and_no_manifest() {
    let name = "hub/app";
    let hub_json = common::hub::seed_tags(&common::client(), name, 2000).await;
    let (hub_url, hub_hits) = fake_hub(name, hub_json).await;
    let repo = Repository::parse(&format!("{}/{name}", common::registry_addr())).unwrap();
    let keep = |t: &str| t.starts_with('t');

    let hub_client = client_with(Some(hub_url.clone()));
    let from_hub = Fetcher::new(hub_client.clone(), None).matrix_paged(&repo, keep, |_, _, _| {}).await.unwrap();
    assert_eq!(from_hub.rows.len(), 2000);
    assert!(hub_hits.load(Ordering::SeqCst) <= 21, "{} requests to Docker Hub's API", hub_hits.load(Ordering::SeqCst));
    assert_eq!(hub_client.transport().requests(), 0, "not one request to the registry: no manifest GET, no pull");
    assert!(from_hub.notes.iter().any(|n| n.contains("Docker Hub's API")), "{:?}", from_hub.notes);

    // The same tags through the registry's manifests agree on platforms and digests.
    let from_registry = Fetcher::new(client_with(Some("none".into())), None).matrix_paged(&repo, keep, |_, _, _| {}).await.unwrap();
    assert_eq!(from_registry.rows.len(), 2000);
    assert_eq!(from_hub.platform_keys(), from_registry.platform_keys());
    for (h, r) in from_hub.rows.iter().zip(&from_registry.rows) {
        assert_eq!((&h.tag, &h.digest, h.attestations), (&r.tag, &r.digest, r.attestations));
        let cells = |row: &archlens::model::matrix::Row| row.cells.iter().map(|(k, c)| (k.clone(), c.digest.clone())).collect::<Vec<_>>();
        assert_eq!(cells(h), cells(r), "{}", h.tag);
        assert!(h.cells.values().all(|c| c.source == CellSource::DockerHubApi), "cells from the API say so");
        assert!(r.cells.values().all(|c| c.source == CellSource::Registry));
        assert_eq!(h.pushed.as_deref(), Some("2026-11-20T08:00:01.000000Z"));
        // Sizes: Docker Hub's are the compressed layers; the matrix's add the config.
        for (k, c) in &h.cells {
            let theirs = r.cells[k].compressed_size.unwrap();
            assert!(c.compressed_size.unwrap() < theirs, "Docker Hub's size leaves the config out");
        }
    }
}

#[tokio::test]
async fn a_repository_docker_hubs_api_does_not_list_is_read_from_the_registry_and_said() {
    let c = common::client();
    let img = image(&p("linux/arm64"), Flavour::Oci, "hub private");
    common::seed::push_image(&c, "hub/private", &img).await.unwrap();
    c.put_manifest("hub/private", "1", img.media_type, &img.manifest).await.unwrap();
    let (hub_url, hits) = fake_hub("hub/app", Vec::new()).await;
    let repo = Repository::parse(&format!("{}/hub/private", common::registry_addr())).unwrap();
    let m = Fetcher::new(client_with(Some(hub_url)), None).matrix_paged(&repo, |_| true, |_, _, _| {}).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(m.rows.len(), 1);
    assert!(m.rows[0].cells.values().all(|c| c.source == CellSource::Registry));
    let note = m.notes.join(" ");
    assert!(note.contains("could not list") && note.contains("counts as a pull"), "{note}");
}

#[tokio::test]
async fn pages_without_a_count_are_followed_by_their_links() {
    let name = "hub/links";
    let json = common::hub::seed_tags(&common::client(), name, 250).await;
    let (hub_url, hits) = common::hub::fake_hub_with(name, json, false, None).await;
    let repo = Repository::parse(&format!("{}/{name}", common::registry_addr())).unwrap();
    let m = Fetcher::new(client_with(Some(hub_url)), None).matrix_paged(&repo, |t| t.starts_with('t'), |_, _, _| {}).await.unwrap();
    assert_eq!(m.rows.len(), 250);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "three pages of 100, each by the link of the one before");
    assert!(m.rows.iter().all(|r| r.cells.values().all(|c| c.source == CellSource::DockerHubApi)));
}

#[tokio::test]
async fn coverage_reads_the_chosen_tag_from_docker_hubs_api() {
    let name = "hub/cover";
    let json = common::hub::seed_tags(&common::client(), name, 5).await;
    let (hub_url, hits) = fake_hub(name, json).await;
    let client = client_with(Some(hub_url));
    let fetcher = Fetcher::new(client.clone(), None);
    let policy = archlens::model::coverage::TagPolicy::parse("t0004").unwrap();
    let row = archlens::registry::coverage::repository_row(&fetcher, name, &policy, &[]).await;
    let cells = &row.row.as_ref().unwrap().cells;
    assert_eq!(cells.len(), 2, "{row:?}");
    assert!(cells.values().all(|c| c.source == CellSource::DockerHubApi));
    // The tag's last push, as the API gave it.
    assert_eq!(row.row.as_ref().unwrap().pushed.as_deref(), Some("2026-11-20T08:00:01.000000Z"));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "one request for the one tag");
    // The registry was asked for its tag list and the referrers of the chosen image (the
    // supply-chain column; a 404 here): no manifest, so no pull.
    assert_eq!(client.transport().requests(), 2, "the tag list and the referrers only");
    assert!(row.supply.is_some(), "{row:?}");
}

#[tokio::test]
async fn a_private_repository_is_listed_with_the_docker_io_login() {
    use archlens::registry::auth::Credentials;
    let name = "hub/secret";
    let json = common::hub::seed_tags(&common::client(), name, 3).await;
    let (hub_url, _) = common::hub::fake_hub_with(name, json, true, Some(("alice", "pat-123"))).await;
    let repo = Repository::parse(&format!("{}/{name}", common::registry_addr())).unwrap();
    let reg = archlens::model::Registry::parse(common::registry_addr()).unwrap();
    let with = |creds: Option<Credentials>| {
        let opts = ClientOptions { hub_api: Some(hub_url.clone()), ..ClientOptions::default() };
        Arc::new(RegistryClient::new(reg.clone(), creds, opts).unwrap())
    };
    // Signed in: the login becomes Docker Hub's token and the pages come from the API.
    let alice = with(Some(Credentials::Basic { username: "alice".into(), password: "pat-123".into() }));
    let m = Fetcher::new(alice.clone(), None).matrix_paged(&repo, |t| t.starts_with('t'), |_, _, _| {}).await.unwrap();
    assert_eq!(m.rows.len(), 3);
    assert!(m.rows.iter().all(|r| r.cells.values().all(|c| c.source == CellSource::DockerHubApi)), "{:?}", m.notes);
    assert_eq!(alice.hub().unwrap().requests(), 3, "a refused page, the login, the page again");
    // Without a login: the registry's manifests, and the note says why and what it costs.
    let m = Fetcher::new(with(None), None).matrix_paged(&repo, |t| t.starts_with('t'), |_, _, _| {}).await.unwrap();
    assert!(m.rows.iter().all(|r| r.cells.values().all(|c| c.source == CellSource::Registry)));
    let note = m.notes.join(" ");
    assert!(note.contains("asks for a login") && note.contains("counts as a pull"), "{note}");
}
