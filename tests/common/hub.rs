//! A fake of Docker Hub's API serving the documented JSON shapes for images seeded into the
//! real registry (which plays registry-1.docker.io), built from what was seeded.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use archlens::registry::RegistryClient;
use archlens::testkit::{Flavour, Image, Index, image, index, p};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Docker Hub's JSON for one tag holding `idx` (fields as Docker's API reference lists them).
pub fn hub_tag(name: &str, idx: &Index, attestations: &[Image]) -> Value {
    let image = |i: &Image, arch: &str, os: &str, variant: &str| {
        // Docker Hub's size: the image's compressed layers.
        let size: u64 = i.blobs.iter().skip(1).map(|b| b.len() as u64).sum();
        json!({ "architecture": arch, "features": "", "variant": if variant.is_empty() { Value::Null } else { json!(variant) },
                "digest": i.digest, "os": os, "os_features": "", "os_version": null, "size": size, "status": "active",
                "last_pulled": null, "last_pushed": "2026-11-20T08:00:00.000000Z" })
    };
    let mut images: Vec<Value> = idx.children.values().map(|i| image(i, &i.platform.architecture, &i.platform.os, &i.platform.variant)).collect();
    images.extend(attestations.iter().map(|a| image(a, "unknown", "unknown", "")));
    json!({ "creator": 1, "id": 1, "images": images, "last_updated": "2026-11-20T08:00:01.000000Z", "last_updater": 1,
            "last_updater_username": "archlens", "name": name, "repository": 1, "full_size": 1, "v2": true,
            "tag_status": "active", "tag_last_pulled": null, "tag_last_pushed": "2026-11-20T08:00:01.000000Z",
            "media_type": idx.media_type, "content_type": "image", "digest": idx.digest })
}

/// A fake of Docker Hub's API: `GET /v2/namespaces/NS/repositories/REPO/tags?page_size=N&page=K`
/// over `tags` (name → JSON), 404 for any other repository. Counts requests.
pub async fn fake_hub(repo: &'static str, tags: Vec<Value>) -> (String, Arc<AtomicUsize>) {
    fake_hub_with(repo, tags, true, None).await
}

/// [`fake_hub`], whose pages leave out the tag count when `count` is false (then only `next`
/// links lead on), and which lists the repository only to a login when `login` (user name,
/// password) is given: `POST /v2/users/login` answers a token, asked for as a Bearer token.
pub async fn fake_hub_with(repo: &'static str, tags: Vec<Value>, count: bool, login: Option<(&'static str, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits = Arc::new(AtomicUsize::new(0));
    let (tags, h, me) = (Arc::new(tags), hits.clone(), addr.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (tags, h, me) = (tags.clone(), h.clone(), me.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
                let mut body = head.split_off(end);
                let head = String::from_utf8_lossy(&head).to_string();
                let length =
                    head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok())).unwrap_or(0);
                while body.len() < length {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&buf[..n]),
                    }
                }
                let signed_in = head.to_ascii_lowercase().contains("authorization: bearer hub-jwt");
                // Links name the host the request was sent to (a proxy in front, say).
                let me = head.lines().find_map(|l| l.strip_prefix("Host: ").or_else(|| l.strip_prefix("host: "))).map(|h| h.trim().to_string()).unwrap_or(me);
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let url = url::Url::parse(&format!("http://{me}{target}")).unwrap();
                let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
                let (ns, name) = repo.split_once('/').unwrap();
                let path = format!("/v2/namespaces/{ns}/repositories/{name}/tags");
                let one = url.path().strip_prefix(&format!("{path}/")).map(str::to_string);
                let (status, body) = if url.path() == "/v2/users/login" {
                    let sent: Value = serde_json::from_slice(&body).unwrap_or_default();
                    match login {
                        Some((u, p)) if sent["username"] == u && sent["password"] == p => (200, json!({ "token": "hub-jwt" }).to_string()),
                        _ => (401, json!({ "detail": "Incorrect authentication credentials" }).to_string()),
                    }
                } else if login.is_some() && !signed_in {
                    (401, json!({ "detail": "authentication credentials were not provided" }).to_string())
                } else if let Some(tag) = one {
                    match tags.iter().find(|t| t["name"] == tag.as_str()) {
                        Some(t) => (200, t.to_string()),
                        None => (404, json!({ "message": "object not found", "errinfo": {} }).to_string()),
                    }
                } else if url.path() == path {
                    let size: usize = q.get("page_size").and_then(|s| s.parse().ok()).unwrap_or(10).min(100);
                    let page: usize = q.get("page").and_then(|s| s.parse().ok()).unwrap_or(1);
                    let results: Vec<Value> = tags.iter().skip((page - 1) * size).take(size).cloned().collect();
                    let next = (page * size < tags.len()).then(|| format!("http://{me}{path}?page={}&page_size={size}", page + 1));
                    let mut page = json!({ "count": tags.len(), "next": next, "previous": null, "results": results });
                    if !count {
                        page.as_object_mut().map(|o| o.remove("count"));
                    }
                    (200, page.to_string())
                } else {
                    (404, json!({ "message": "object not found", "errinfo": {} }).to_string())
                };
                let resp =
                    format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

/// Seed `name` with three indexes (two platforms and an attestation each) behind `count` tags
/// `t0000`…, and return Docker Hub's JSON for those tags.
pub async fn seed_tags(c: &RegistryClient, name: &str, count: usize) -> Vec<Value> {
    let mut held = Vec::new();
    for k in 0..3 {
        let imgs = [image(&p("linux/amd64"), Flavour::Oci, &format!("hub {k} a")), image(&p("linux/arm/v7"), Flavour::Oci, &format!("hub {k} b"))];
        let att = image(&p("unknown/unknown"), Flavour::Oci, &format!("hub {k} att"));
        let (idx, extra) = index(&imgs, std::slice::from_ref(&att), Flavour::Oci);
        super::seed::push_index(c, name, &format!("seed{k}"), &idx, &extra).await.unwrap();
        held.push((idx, extra));
    }
    let tags: Vec<String> = (0..count).map(|i| format!("t{i:04}")).collect();
    let puts = tags.iter().enumerate().map(|(i, t)| {
        let (idx, _) = &held[i % 3];
        async move { c.put_manifest(name, t, idx.media_type, &idx.bytes).await }
    });
    for r in futures::StreamExt::collect::<Vec<_>>(futures::StreamExt::buffer_unordered(futures::stream::iter(puts), 32)).await {
        r.unwrap();
    }
    tags.iter().enumerate().map(|(i, t)| hub_tag(t, &held[i % 3].0, &held[i % 3].1)).collect()
}
