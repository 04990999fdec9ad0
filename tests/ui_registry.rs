//! End to end: the desktop app with its real worker opens a seeded repository on the local
//! registry, the matrix fills, and the cells show what was seeded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use archlens::registry::ClientOptions;
use archlens::settings::Settings;
use archlens::ui::{ArchlensApp, StartTarget};
use common::seed::Seeded1;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

#[test]
fn the_app_fills_the_matrix_from_a_real_registry() {
    let s = common::seeded();
    let cache = tempfile::tempdir().unwrap();
    let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), Some(archlens::registry::Cache::at(cache.path())), Arc::new(|| {})).unwrap();
    let app = ArchlensApp::new(Some(Settings::default()), worker, StartTarget::Repository(s.repository.clone()), None);
    let mut harness = Harness::builder().with_size(egui::vec2(1600.0, 900.0)).build_ui_state(
        |ui, app: &mut ArchlensApp| {
            app.pump();
            app.frame_ui(ui);
        },
        app,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        harness.run_steps(1);
        let st = &harness.state().state;
        let rows = st.matrix.as_ref().map(|m| m.matrix.rows.len()).unwrap_or(0);
        if !st.is_loading() && rows > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the matrix did not fill in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.run_steps(2);
    let mv = harness.state().state.matrix.as_ref().unwrap();
    assert_eq!(mv.matrix.rows.len(), s.tags.len());
    assert!(mv.error.is_none(), "{:?}", mv.error);
    for key in ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386", common::seed::WINDOWS_KEY] {
        harness.get_by_label(key);
    }
    for (tag, seeded) in &s.tags {
        harness.get_by_label(tag);
        if let Seeded1::Index(idx) = seeded {
            for img in idx.children.values() {
                let short = &img.digest.encoded()[..8];
                let n = harness.get_all_by_label_contains(short).count();
                assert!(n >= 1, "{tag}: no cell shows {short}");
            }
        }
    }
}

#[test]
fn the_app_diagnoses_through_its_worker() {
    let repo = common::diag::seeded_diag().to_string();
    let cache = tempfile::tempdir().unwrap();
    let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), Some(archlens::registry::Cache::at(cache.path())), Arc::new(|| {})).unwrap();
    let settings = Settings { host: "arm64-server".into(), ..Settings::default() };
    let mut app = ArchlensApp::new(Some(settings), worker, StartTarget::Repository(repo), None);
    app.state.diagnose.reference = "binary-mismatch".into();
    app.dispatch(archlens::state::UiAction::RunDiagnose);
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.state.diagnose.is_running() {
        app.pump();
        assert!(Instant::now() < deadline, "the diagnosis did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    let d = app.state.diagnose.result.value().expect("a diagnosis");
    assert_eq!(d.verdict, archlens::model::diagnose::Verdict::BinaryMismatch);
    assert_eq!(d.binary.as_ref().and_then(|b| b.architecture.as_deref()), Some("amd64"));
    assert!(d.bytes_read > 0);
}

#[test]
fn the_app_composes_pushes_and_undoes_through_its_worker() {
    use archlens::state::UiAction;
    use archlens::state::composer::ComposerAction as A;
    use archlens::testkit::{Flavour, image, p};
    use archlens::worker::SourceRef;

    let c = common::client();
    let amd = image(&p("linux/amd64"), Flavour::Oci, "gui compose amd64");
    let arm = image(&p("linux/arm64"), Flavour::Oci, "gui compose arm64");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for (repo, img) in [("guic/amd", &amd), ("guic/arm", &arm)] {
            common::seed::push_image(&c, repo, img).await.unwrap();
            c.put_manifest(repo, "1", img.media_type, &img.manifest).await.unwrap();
        }
        // The target exists already, so the push must be confirmed and can be undone.
        common::seed::push_image(&c, "guic/release", &amd).await.unwrap();
        c.put_manifest("guic/release", "1", amd.media_type, &amd.manifest).await.unwrap();
    });
    let reg = common::registry_addr().to_string();
    let (mut app, [_cache, data]) = app_with_journal(Settings::default(), StartTarget::Nothing);
    // The target's matrix is open while composing: it follows the push and the undo.
    app.dispatch(UiAction::OpenRepository(format!("{reg}/guic/release")));
    let cells_of_1 = |a: &ArchlensApp| a.state.matrix.as_ref().and_then(|m| m.matrix.rows.iter().find(|r| r.tag == "1").map(|r| r.cells.len()));
    wait(&mut app, "the matrix", &|a| cells_of_1(a) == Some(1) && !a.state.is_loading());
    for r in ["guic/amd:1", "guic/arm:1"] {
        let reference = archlens::model::Reference::parse(&format!("{reg}/{r}")).unwrap();
        app.dispatch(UiAction::Composer(A::Add { source: SourceRef::Registry(reference.registry().clone()), reference }));
    }
    wait(&mut app, "the entries", &|a| a.state.composer.draft.entries.len() == 2);
    let target = format!("{reg}/guic/release:1");
    app.state.composer.target_input = target.clone();
    app.dispatch(UiAction::Composer(A::CheckTarget));
    wait(&mut app, "the target", &|a| matches!(a.state.composer.target, archlens::state::Loadable::Ready(_)));
    assert!(app.state.composer.push_blocker().unwrap().contains("confirm the overwrite"));
    app.dispatch(UiAction::Composer(A::ConfirmOverwrite));
    assert_eq!(app.state.composer.push_blocker(), None);
    let preview = app.state.composer.preview();
    app.dispatch(UiAction::Composer(A::Push));
    wait(&mut app, "the push", &|a| !a.state.composer.push.is_pending());
    let pushed = app.state.composer.push.value().cloned().unwrap_or_else(|| panic!("{:?}", app.state.composer.push));
    assert_eq!(pushed.digest, preview.1);
    assert_eq!(pushed.previous.as_ref(), Some(&amd.digest));
    assert_eq!(common::skopeo_raw(&target), preview.0, "the registry holds the previewed bytes");
    wait(&mut app, "the matrix row after the push", &|a| cells_of_1(a) == Some(2));
    app.dispatch(UiAction::Composer(A::Undo));
    wait(&mut app, "the undo", &|a| a.state.composer.push.value().is_some_and(|p| p.undone));
    wait(&mut app, "the matrix row after the undo", &|a| cells_of_1(a) == Some(1));
    assert_eq!(common::skopeo_raw(&target), amd.manifest, "undo re-pointed the tag");
    let journal = archlens::registry::journal::Journal::at(data.path().join("journal.jsonl")).read().unwrap();
    assert_eq!(journal.entries.len(), 2, "{journal:?}");
    assert_eq!(journal.entries[1].undoes.as_deref(), Some(journal.entries[0].id.as_str()), "the undo names the push it undid");
    assert!(journal.entries.iter().all(|e| e.outcome == archlens::registry::journal::Outcome::Done), "{journal:?}");
    // After the undo, the composer knows what the tag holds without another check.
    let archlens::state::Loadable::Ready(t) = &app.state.composer.target else { panic!("{:?}", app.state.composer.target) };
    assert_eq!(t.current.as_ref(), Some(&amd.digest));
    assert_eq!(t.bytes.as_deref(), Some(amd.manifest.as_slice()));
}

#[test]
fn a_draft_exported_through_the_worker_loads_back_the_same() {
    use archlens::model::compose::IndexDraft;
    use archlens::worker::{Command, Event};
    let dir = tempfile::tempdir().unwrap();
    let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), None, Arc::new(|| {})).unwrap();
    let mut draft = IndexDraft::default();
    draft.annotations.insert("org.opencontainers.image.version".into(), "9".into());
    draft.index_type = Some(archlens::model::compose::IndexType::Docker);
    let path = dir.path().join("draft.json");
    worker.send(Command::SaveDraft { id: 1, path: path.clone(), draft: Box::new(draft.clone()) });
    worker.send(Command::LoadDraft { id: 2, path: dir.path().join("missing.json") });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut saved = false;
    let mut missing_error = None;
    while !(saved && missing_error.is_some()) {
        for e in worker.drain() {
            match e {
                Event::DraftSaved { id: 1, .. } => saved = true,
                Event::Failed { id: 2, error } => missing_error = Some(error),
                _ => {}
            }
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(missing_error.unwrap().contains("missing.json"));
    std::fs::write(dir.path().join("bad.json"), b"{ not json").unwrap();
    worker.send(Command::LoadDraft { id: 3, path: path.clone() });
    worker.send(Command::LoadDraft { id: 4, path: dir.path().join("bad.json") });
    let mut loaded = None;
    let mut bad = None;
    while loaded.is_none() || bad.is_none() {
        for e in worker.drain() {
            match e {
                Event::DraftLoaded { id: 3, draft, .. } => loaded = Some(draft),
                Event::Failed { id: 4, error } => bad = Some(error),
                _ => {}
            }
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(*loaded.unwrap(), draft);
    assert!(bad.unwrap().contains("not an Archlens draft"));
}

#[test]
fn the_app_shows_coverage_read_by_its_worker() {
    let addr = common::registry_addr();
    // A prefix of this run's own, so a registry shared between runs holds other repositories too.
    let prefix = format!("uicov{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seed = rt.block_on(common::seed::seed_coverage(&common::client(), &prefix)).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), Some(archlens::registry::Cache::at(cache.path())), Arc::new(|| {})).unwrap();
    let app = ArchlensApp::new(Some(Settings::default()), worker, StartTarget::Registry(addr.to_string()), None);
    let mut harness = Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui_state(
        |ui, app: &mut ArchlensApp| {
            app.pump();
            app.frame_ui(ui);
        },
        app,
    );
    harness.run_steps(2);
    harness.state_mut().state.coverage.repos_input = format!("{prefix}/*");
    harness.get_by_label("Coverage").click();
    harness.run_steps(2);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        harness.run_steps(1);
        let c = &harness.state().state.coverage;
        if !c.is_running() && c.coverage.as_ref().is_some_and(|x| !x.rows.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "coverage did not arrive in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.run_steps(2);
    let c = harness.state().state.coverage.clone();
    assert!(c.error.is_none() && !c.partial, "{:?}", c.error);
    let cov = c.coverage.unwrap();
    assert_eq!(cov.rows.len(), seed.len(), "one row per seeded repository");
    let multi = cov.rows.iter().find(|r| r.repository == format!("{prefix}/multi")).unwrap();
    assert_eq!(multi.row.as_ref().unwrap().digest.as_ref(), Some(&seed[&format!("{prefix}/multi")]["latest"]));
    // In the coverage table and in the repository list beside it.
    assert_eq!(harness.get_all_by_label(&format!("{prefix}/amd-only")).count(), 2);
    harness.get_by_label("emulation (linux/amd64)");
    harness.get_by_label("linux/arm64: 2 of 4");
}

/// A web server on 127.0.0.1 that answers every request with `status` and an HTML page: a
/// fault no real registry produces. Returns its address.
fn web_server(status: u16) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let body = "<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>";
            let reply =
                format!("HTTP/1.1 {status} X\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    addr
}

#[test]
fn a_web_server_that_is_not_a_registry_is_said_once_in_plain_words() {
    // A 404 page, and a catch-all that says 200 to everything.
    for status in [404, 200] {
        let addr = web_server(status);
        let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), None, Arc::new(|| {})).unwrap();
        let app = ArchlensApp::new(Some(Settings::default()), worker, StartTarget::Registry(addr.clone()), None);
        let mut harness = Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui_state(
            |ui, app: &mut ArchlensApp| {
                app.pump();
                app.frame_ui(ui);
            },
            app,
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(harness.state().state.connection, archlens::state::Loadable::Failed { .. }) {
            assert!(Instant::now() < deadline, "HTTP {status}: the connection did not fail in time");
            harness.run_steps(1);
            std::thread::sleep(Duration::from_millis(20));
        }
        harness.run_steps(3);
        let notice = harness.state().state.notice.clone().unwrap_or_default();
        assert!(
            notice.contains(&format!("{addr} answers HTTP but is not a container registry")) && notice.contains("Check the host and port"),
            "HTTP {status}: {notice}"
        );
        assert_eq!(harness.query_all_by_label_contains("is not a container registry").count(), 1, "HTTP {status}: said once");
        // The repository list does not pile a second, rawer error on top.
        assert!(harness.query_all_by_label_contains("unreadable JSON").next().is_none(), "HTTP {status}");
    }
}

/// A layout folder's details copy its `oci:DIR@digest` and the digest, and offer no
/// `docker pull` (docker cannot pull from a folder).
#[test]
fn a_layout_folders_details_offer_no_docker_pull() {
    let layout = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-layout"));
    let cache = tempfile::tempdir().unwrap();
    let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), Some(archlens::registry::Cache::at(cache.path())), Arc::new(|| {})).unwrap();
    let app = ArchlensApp::new(Some(Settings::default()), worker, StartTarget::Layout(layout.clone()), None);
    let mut harness = Harness::builder().with_size(egui::vec2(1200.0, 800.0)).build_ui_state(
        |ui, app: &mut ArchlensApp| {
            app.pump();
            app.frame_ui(ui);
        },
        app,
    );
    let wait = |harness: &mut Harness<ArchlensApp>, done: &dyn Fn(&ArchlensApp) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(harness.state()) {
            assert!(Instant::now() < deadline, "timed out");
            harness.run_steps(1);
            std::thread::sleep(Duration::from_millis(10));
        }
        harness.run_steps(2);
    };
    wait(&mut harness, &|app| app.state.matrix.as_ref().is_some_and(|m| !m.matrix.rows.is_empty()) && !app.state.is_loading());
    for key in [egui::Key::ArrowDown, egui::Key::Enter] {
        harness.key_press(key);
        harness.run_steps(2);
    }
    wait(&mut harness, &|app| matches!(app.state.details.shown, archlens::state::Loadable::Ready(_)));
    let digest = match &harness.state().state.details.shown {
        archlens::state::Loadable::Ready(d) => d.digest.to_string(),
        _ => unreachable!(),
    };
    harness.get_by_label("Copy repo@digest").click();
    harness.run_steps(1);
    let copied: Vec<String> = common::ui::copied(harness.output());
    assert_eq!(copied, [format!("oci:{}@{digest}", layout.display())]);
    assert!(harness.query_by_label("Copy docker pull").is_none(), "docker cannot pull from a folder");
}

/// Diagnose a tag, repair it, push the repair: the diagnosis of that tag runs again by itself and
/// says what the tag is now (the real worker, a copy of the diagnosis images of its own).
#[test]
fn a_pushed_repair_diagnoses_the_tag_again_through_the_worker() {
    use archlens::state::UiAction;
    use archlens::state::composer::ComposerAction as A;
    let c = common::client();
    tokio::runtime::Runtime::new().unwrap().block_on(common::diag::push_scenarios(&c, "repairflow/app")).unwrap();
    let repo = format!("{}/repairflow/app", common::registry_addr());
    let settings = Settings { host: "arm64-server".into(), ..Settings::default() };
    let (mut app, _dirs) = app_with_journal(settings, StartTarget::Repository(repo.clone()));
    wait(&mut app, "the matrix", &|a| !a.state.is_loading() && a.state.matrix.as_ref().is_some_and(|m| !m.matrix.rows.is_empty()));
    app.state.diagnose.reference = "binary-mismatch".into();
    app.dispatch(UiAction::RunDiagnose);
    wait(&mut app, "the diagnosis", &|a| !a.state.diagnose.is_running());
    let before = app.state.diagnose.result.value().cloned().expect("a diagnosis");
    assert_eq!(before.verdict, archlens::model::diagnose::Verdict::BinaryMismatch);
    app.dispatch(UiAction::Composer(A::Repair {
        reference: archlens::model::Reference::parse(&format!("{repo}:binary-mismatch")).unwrap(),
        diagnosis: before.clone(),
    }));
    wait(&mut app, "the repair draft", &|a| !a.state.composer.draft.entries.is_empty() && !a.state.composer.is_busy());
    app.state.composer.target_input = format!("{repo}:binary-mismatch");
    app.dispatch(UiAction::Composer(A::CheckTarget));
    wait(&mut app, "the target", &|a| matches!(a.state.composer.target, archlens::state::Loadable::Ready(_)));
    app.dispatch(UiAction::Composer(A::ConfirmOverwrite));
    assert_eq!(app.state.composer.push_blocker(), None);
    app.dispatch(UiAction::Composer(A::Push));
    wait(&mut app, "the push", &|a| !a.state.composer.push.is_pending());
    assert!(app.state.composer.push.value().is_some(), "{:?}", app.state.composer.push);
    // The diagnosis ran again by itself, for the tag as it is now.
    wait(&mut app, "the diagnosis after the push", &|a| {
        !a.state.diagnose.is_running() && a.state.diagnose.result.value().is_some_and(|d| d.verdict != archlens::model::diagnose::Verdict::BinaryMismatch)
    });
    let after = app.state.diagnose.result.value().unwrap();
    assert!(!after.findings.iter().any(|f| f.kind == archlens::model::diagnose::FindingKind::BinaryMismatch), "{after:?}");
}

/// The app with the real worker, its cache and its journal in directories of their own (kept
/// alive by the second value).
fn app_with_journal(settings: Settings, start: StartTarget) -> (ArchlensApp, [tempfile::TempDir; 2]) {
    let (cache, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let worker = archlens::worker::spawn_with(
        ClientOptions::default(),
        Some(archlens::registry::Cache::at(cache.path())),
        Some(data.path().join("journal.jsonl")),
        Arc::new(|| {}),
    )
    .unwrap();
    (ArchlensApp::new(Some(settings), worker, start, None), [cache, data])
}

/// Take the worker's events until `done` holds (at most 60 s; a timeout says what the composer
/// and the notice line say).
fn wait(app: &mut ArchlensApp, what: &str, done: &dyn Fn(&ArchlensApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(app) {
        app.pump();
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {:?} {:?}", app.state.composer.error, app.state.notice);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_app_compares_two_releases_and_their_files_through_its_worker() {
    use archlens::state::UiAction;
    use archlens::state::compare::CompareAction;
    use archlens::testkit::{Compression, Entry, Flavour, image_with_layers, index, p};
    let c = common::client();
    let repo = "ui/compare";
    let base = vec![Entry::file("bin/sh", b"shell")];
    let image = |app: &[u8], env: &str| {
        let cfg = serde_json::json!({ "Entrypoint": ["/app"], "Env": [env] });
        image_with_layers(&p("linux/amd64"), &[(base.clone(), Compression::Gzip), (vec![Entry::file("app", app)], Compression::Gzip)], cfg)
    };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for (tag, img) in [("1.0", image(b"app one", "V=1")), ("1.1", image(b"app one, then two", "V=2"))] {
            let (idx, extra) = index(&[img], &[], Flavour::Oci);
            common::seed::push_index(&c, repo, tag, &idx, &extra).await.unwrap();
        }
    });
    let (mut app, _dirs) = app_with_journal(Settings::default(), StartTarget::Repository(format!("{}/{repo}", common::registry_addr())));
    wait(&mut app, "the matrix", &|a| !a.state.is_loading() && a.state.matrix.as_ref().is_some_and(|m| m.matrix.rows.len() == 2));
    app.dispatch(UiAction::Select { tag: "1.1".into(), platform: None });
    app.dispatch(UiAction::Compare(CompareAction::WithPrevious));
    wait(&mut app, "the comparison", &|a| !a.state.compare.is_running());
    let d = app.state.compare.result.value().cloned().unwrap_or_else(|| panic!("{:?}", app.state.compare.result));
    let amd = &d.platforms[0];
    assert_eq!((amd.layers.shared.len(), amd.layers.added.len(), amd.layers.removed.len()), (1, 1, 1));
    assert_eq!(amd.config.changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["Env.V"]);
    app.dispatch(UiAction::Compare(CompareAction::Files));
    wait(&mut app, "the files", &|a| !a.state.compare.is_running());
    let d = app.state.compare.result.value().cloned().unwrap();
    let files = d.platforms[0].files.as_ref().expect("files compared");
    assert_eq!(files.changes.iter().map(|c| (c.path.as_str(), c.change)).collect::<Vec<_>>(), [("app", archlens::model::files::ChangeKind::Changed)]);
    assert_eq!(d.files_read.as_ref().map(|r| (r.layers, r.bytes > 0)), Some((2, true)));
}
