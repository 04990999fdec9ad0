//! The desktop app driven through egui_kittest on prepared state: no network, no display.
//! The worker's channels are held by the test, which plays the worker's part.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "common/ui.rs"]
mod clip;

use archlens::model::digest::Digest;
use archlens::model::manifest::{ManifestKind, OCI_INDEX};
use archlens::model::matrix::{CellSource, Child, TagOutcome, TagResult};
use archlens::model::platform::Platform;
use archlens::settings::Settings;
use archlens::ui::{ArchlensApp, StartTarget};
use archlens::worker::{Command, Details, Event, WorkerHandle};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tokio::sync::mpsc::UnboundedReceiver;

type Events = std::sync::mpsc::Sender<Event>;

fn d(s: &str) -> Digest {
    Digest::sha256(s.as_bytes())
}

fn index_row(tag: &str, index: &str, platforms: &[&str]) -> TagResult {
    TagResult {
        pushed: None,
        tag: tag.into(),
        outcome: TagOutcome::Index {
            digest: d(index),
            media_type: OCI_INDEX.into(),
            kind: ManifestKind::OciIndex,
            children: platforms
                .iter()
                .map(|p| Child {
                    source: CellSource::Registry,
                    platform: Some(Platform::parse_key(p).unwrap()),
                    digest: d(&format!("{tag} {p}")),
                    size: 500,
                    compressed_size: Some(2_500_000),
                    error: None,
                    attestation: None,
                    verified: None,
                })
                .collect(),
            attestations: 0,
        },
    }
}

fn short(s: &str) -> String {
    d(s).encoded()[..8].to_string()
}

struct Rig {
    harness: Harness<'static, ArchlensApp>,
    commands: UnboundedReceiver<Command>,
    events: Events,
}

impl Rig {
    fn new(start: StartTarget) -> Rig {
        Rig::sized(start, egui::vec2(1400.0, 900.0))
    }

    fn sized(start: StartTarget, size: egui::Vec2) -> Rig {
        Rig::with(start, size, |app| app)
    }

    /// A rig whose app is adjusted by `adjust` before the first frame.
    fn with(start: StartTarget, size: egui::Vec2, adjust: impl FnOnce(ArchlensApp) -> ArchlensApp) -> Rig {
        let (handle, commands, events): (WorkerHandle, _, _) = WorkerHandle::detached();
        let app = adjust(ArchlensApp::new(Some(Settings::default()), handle, start, None));
        let harness = Harness::builder().with_size(size).build_ui_state(
            |ui, app: &mut ArchlensApp| {
                app.pump();
                app.frame_ui(ui);
            },
            app,
        );
        Rig { harness, commands, events }
    }

    fn sent(&mut self) -> Vec<Command> {
        let mut v = Vec::new();
        while let Ok(c) = self.commands.try_recv() {
            v.push(c);
        }
        v
    }

    /// The first command sent since the last look that `pick` takes; a failure lists them.
    fn first_sent<T>(&mut self, what: &str, pick: impl FnMut(Command) -> Option<T>) -> T {
        let sent = self.sent();
        match sent.iter().cloned().find_map(pick) {
            Some(found) => found,
            None => panic!("{what}: {sent:?}"),
        }
    }

    fn load_id(&mut self) -> u64 {
        self.first_sent("a LoadMatrix command", |c| match c {
            Command::LoadMatrix { id, .. } => Some(id),
            _ => None,
        })
    }

    /// The two sides of the Compare command sent since the last look.
    fn compare_sent(&mut self, what: &str) -> (String, String) {
        self.first_sent(what, |c| match c {
            Command::Compare { before, after, .. } => Some((before.to_string(), after.to_string())),
            _ => None,
        })
    }

    /// A matrix of `rows`, loaded (1400×900).
    fn loaded(rows: Vec<TagResult>) -> Rig {
        let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
        rig.steps(2);
        let id = rig.load_id();
        for result in rows {
            rig.events.send(Event::Row { id, result }).unwrap();
        }
        rig.events.send(Event::MatrixDone { id }).unwrap();
        rig.steps(3);
        rig
    }

    /// A matrix of one tag (1.0, linux/amd64), loaded, with the tag selected.
    fn with_tag_selected() -> Rig {
        let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
        rig.steps(2);
        let id = rig.load_id();
        rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64"]) }).unwrap();
        rig.events.send(Event::MatrixDone { id }).unwrap();
        rig.steps(3);
        rig.harness.get_by_label("1.0").click();
        rig.steps(2);
        rig
    }

    fn steps(&mut self, n: usize) {
        self.harness.run_steps(n);
    }

    /// Run frames until `done` holds (at most 10 s).
    fn until(&mut self, what: &str, mut done: impl FnMut(&mut Rig) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !done(self) {
            assert!(std::time::Instant::now() < deadline, "in time: {what}");
            self.steps(1);
        }
    }

    /// Turn the mouse wheel over `at`, `times` notches of `dy` points (negative: down).
    fn wheel(&mut self, at: egui::Pos2, dy: f32, times: usize) {
        self.harness.hover_at(at);
        for _ in 0..times {
            self.harness.event(egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta: egui::vec2(0.0, dy),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: egui::Modifiers::NONE,
            });
            self.steps(1);
        }
    }

    /// What the last frame put on the clipboard.
    fn copied(&self) -> Vec<String> {
        clip::copied(self.harness.output())
    }
}

#[test]
fn whole_app_fills_the_matrix_from_worker_events_and_cancels() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::TagsListed { id, tags: vec!["1.0".into(), "1.1".into(), "latest".into()] }).unwrap();
    rig.events.send(Event::Progress { id, done: 0, total: 3 }).unwrap();
    rig.events.send(Event::Row { id, result: index_row("1.0", "idx-a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::Progress { id, done: 1, total: 3 }).unwrap();
    rig.steps(3);
    // Rows appear as they arrive, with progress and a cancel button.
    rig.harness.get_by_label("1.0");
    rig.harness.get_by_label_contains("1/3 tags");
    rig.harness.get_by_label(&format!("{} 2.50 MB", short("1.0 linux/arm64")));
    rig.events.send(Event::Row { id, result: index_row("latest", "idx-a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("latest");
    rig.harness.get_by_label("Cancel").click();
    rig.steps(2);
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::Cancel { id: x } if *x == id)), "{sent:?}");
    // Events for a cancelled load no longer land.
    rig.events.send(Event::Row { id, result: index_row("1.1", "idx-b", &["linux/s390x"]) }).unwrap();
    rig.steps(3);
    assert!(rig.harness.query_by_label("1.1").is_none());
    assert!(rig.harness.query_by_label("linux/s390x").is_none());
    rig.harness.get_by_label("cancelled after 1 of 3 tags: the matrix is partial");
}

#[test]
fn matrix_panel_shows_gaps_errors_and_filters() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::Row { id, result: index_row("0.9", "b", &["linux/amd64"]) }).unwrap();
    rig.events
        .send(Event::Row { id, result: TagResult { pushed: None, tag: "broken".into(), outcome: TagOutcome::Failed { error: "digest mismatch".into() } } })
        .unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    assert_eq!(rig.harness.get_all_by_label("—").count(), 1, "0.9 lacks linux/arm64: one gap");
    rig.harness.get_by_label("error");
    // Filter the tags by glob.
    rig.harness.get_by_label("Tags").focus();
    rig.harness.get_by_label("Tags").type_text("1.*");
    rig.steps(3);
    assert!(rig.harness.query_by_label("0.9").is_none());
    rig.harness.get_by_label("1.0");
    rig.harness.get_by_label("1 of 3 tags");
    // Only tags missing a platform.
    rig.harness.state_mut().state.tag_filter.clear();
    rig.harness.state_mut().state.only_missing = Some("linux/arm64".into());
    rig.steps(3);
    rig.harness.get_by_label("0.9");
    assert!(rig.harness.query_by_label("1.0").is_none());
}

#[test]
fn keyboard_moves_through_cells_and_enter_opens_details() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("2.0", "a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    rig.harness.key_press(egui::Key::ArrowDown);
    rig.steps(1);
    rig.harness.key_press(egui::Key::ArrowRight);
    rig.steps(1);
    rig.harness.key_press(egui::Key::ArrowRight);
    rig.steps(1);
    rig.harness.key_press(egui::Key::Enter);
    rig.steps(2);
    let sent = rig.sent();
    let inspected = sent.iter().find_map(|c| match c {
        Command::Inspect { reference, .. } => Some(reference.clone()),
        _ => None,
    });
    assert_eq!(inspected.and_then(|r| r.digest), Some(d("2.0 linux/arm64")));
}

#[test]
fn details_panel_shows_the_manifest_and_digest_links_navigate() {
    let mut rig = Rig::with_tag_selected();
    rig.harness.get_by_label("Show").click();
    rig.steps(2);
    let inspect_id = rig.first_sent("Show asks for details", |c| match c {
        Command::Inspect { id, .. } => Some(id),
        _ => None,
    });
    let child = d("1.0 linux/amd64");
    let reference = archlens::model::Reference::parse("127.0.0.1:5000/team/app:1.0").unwrap();
    let desc: archlens::model::Descriptor = archlens::model::Descriptor {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest: child.clone(),
        size: 500,
        platform: Some(Platform::parse_key("linux/amd64").unwrap()),
        annotations: Default::default(),
        artifact_type: None,
        urls: vec![],
    };
    let details = Details {
        reference,
        digest: d("a"),
        media_type: OCI_INDEX.into(),
        kind: ManifestKind::OciIndex,
        size: 321,
        pretty: "{\n  \"schemaVersion\": 2\n}".into(),
        entries: vec![(desc, Some(2_500_000))],
        layers: vec![],
        config: None,
        compressed_size: None,
    };
    rig.events.send(Event::Inspected { id: inspect_id, details: Box::new(details) }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label(&d("a").to_string());
    // Each copy button copies what it says.
    let index = d("a").to_string();
    for (button, want) in [
        ("Copy repo@digest", format!("127.0.0.1:5000/team/app@{index}")),
        ("Copy digest", index.clone()),
        ("Copy docker pull", format!("docker pull 127.0.0.1:5000/team/app@{index}")),
    ] {
        rig.harness.get_by_label(button).click();
        rig.harness.step();
        assert_eq!(rig.copied(), [want], "{button}");
    }
    rig.harness.get_by_label(&child.short()).click();
    rig.steps(2);
    let sent = rig.sent();
    assert!(
        sent.iter().any(|c| matches!(c, Command::Inspect { reference, .. } if reference.digest.as_ref() == Some(&child))),
        "clicking a digest navigates to it: {sent:?}"
    );
    // The way back: the Back button (and Alt+Left) reads what was shown before.
    rig.harness.get_by_label("Back").click();
    rig.steps(2);
    let sent = rig.sent();
    assert!(
        sent.iter().any(|c| matches!(c, Command::Inspect { reference, .. } if reference.to_string() == "127.0.0.1:5000/team/app:1.0")),
        "Back reads the tag again: {sent:?}"
    );
    assert!(rig.harness.state().state.details.back.is_empty());
}

#[test]
fn details_follow_the_selection_a_gap_says_so_and_ctrl_c_copies_the_digest() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::Row { id, result: index_row("1.1", "b", &["linux/amd64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    // Nothing is read until details are asked for.
    rig.harness.get_by_label("1.1").click();
    rig.steps(2);
    assert!(!rig.sent().iter().any(|c| matches!(c, Command::Inspect { .. })));
    rig.harness.get_by_label("Show").click();
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Inspect { reference, .. } if reference.to_string() == "127.0.0.1:5000/team/app:1.1")));
    // Another tag, then a cell: the body follows, not only the heading.
    rig.harness.get_by_label("1.0").click();
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Inspect { reference, .. } if reference.to_string() == "127.0.0.1:5000/team/app:1.0")));
    let cell = d("1.0 linux/arm64");
    rig.harness.state_mut().state.selection = None;
    rig.harness.state_mut().dispatch(archlens::state::UiAction::Select { tag: "1.0".into(), platform: Some("linux/arm64".into()) });
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Inspect { reference, .. } if reference.digest.as_ref() == Some(&cell))));
    // Ctrl+C copies the selected cell's digest.
    rig.harness.event(egui::Event::Copy);
    rig.harness.step();
    let copied = rig.copied();
    assert_eq!(copied, [cell.to_string()]);
    // A gap says there is no entry, and reads nothing.
    rig.harness.state_mut().dispatch(archlens::state::UiAction::Select { tag: "1.1".into(), platform: Some("linux/arm64".into()) });
    rig.steps(2);
    assert!(!rig.sent().iter().any(|c| matches!(c, Command::Inspect { .. })));
    rig.harness.get_by_label("No entry for this platform: the tag has no image for it.");
}

#[test]
fn registry_bar_and_repositories_panel() {
    let mut rig = Rig::new(StartTarget::Nothing);
    rig.steps(2);
    rig.harness.get_by_label("Registry").focus();
    rig.harness.get_by_label("Registry").type_text("127.0.0.1:5000");
    rig.steps(1);
    rig.harness.get_by_label("Connect").click();
    rig.steps(2);
    let sent = rig.sent();
    let connect = sent.iter().find_map(|c| match c {
        Command::Connect { id, registry, .. } => Some((*id, registry.clone())),
        _ => None,
    });
    let (cid, registry) = connect.expect("Connect sent");
    assert_eq!(registry.name(), "127.0.0.1:5000");
    let list = sent.iter().find_map(|c| match c {
        Command::ListRepos { id, .. } => Some(*id),
        _ => None,
    });
    let lid = list.expect("the catalog is asked for");
    rig.events.send(Event::Connected { id: cid, registry, signed_in: false }).unwrap();
    rig.events.send(Event::ReposPage { id: lid, repos: vec!["team/app".into(), "team/web".into()], next: None }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label_contains("anonymous");
    // A pull limit, where the registry says it, is shown beside the connection.
    let hub_limit = Event::RateLimit { id: 999, registry: archlens::model::Registry::parse("127.0.0.1:5000").unwrap(), remaining: "98;w=21600".into() };
    rig.events.send(hub_limit).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("98 pulls left (window 6 h)");
    // Waiting out a rate limit is said while it lasts.
    rig.events.send(Event::Waiting { id: archlens::protocol::RATE_LIMIT_WAIT, message: "rate limited by 127.0.0.1:5000, retrying in 7 s".into() }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("rate limited by 127.0.0.1:5000, retrying in 7 s");
    rig.harness.get_by_label("Filter").focus();
    rig.harness.get_by_label("Filter").type_text("web");
    rig.steps(2);
    assert!(rig.harness.query_by_label("team/app").is_none());
    rig.harness.get_by_label("team/web").click();
    rig.steps(2);
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::LoadMatrix { repository, .. } if repository.to_string() == "127.0.0.1:5000/team/web")), "{sent:?}");
    // Skipping TLS verification is an explicit, visible, remembered choice that reconnects.
    assert!(rig.harness.query_by_label_contains("TLS not verified").is_none());
    rig.harness.get_by_label("Skip TLS verification").click();
    rig.steps(2);
    rig.harness.get_by_label("TLS not verified for 127.0.0.1:5000");
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::Connect { insecure: true, .. })), "{sent:?}");
    assert!(rig.harness.state().state.settings.insecure_registries.contains("127.0.0.1:5000"));
    rig.harness.get_by_label("Skip TLS verification").click();
    rig.steps(2);
    assert!(rig.harness.query_by_label_contains("TLS not verified").is_none());
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Connect { insecure: false, .. })));
}

#[test]
fn first_run_opens_the_demo_layout() {
    let (handle, mut commands, _events) = WorkerHandle::detached();
    let demo = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-layout"));
    let _app = ArchlensApp::new(None, handle, StartTarget::Nothing, Some(demo.clone()));
    match commands.try_recv() {
        Ok(Command::OpenLayout { path, .. }) => assert_eq!(path, demo),
        other => panic!("{other:?}"),
    }
    // With settings (not a first run) nothing opens by itself.
    let (handle, mut commands, _events) = WorkerHandle::detached();
    let _app = ArchlensApp::new(Some(Settings::default()), handle, StartTarget::Nothing, Some(demo));
    assert!(commands.try_recv().is_err());
}

#[test]
fn the_demo_says_it_is_a_demo_and_what_to_do_next() {
    let demo = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-layout"));
    let d2 = demo.clone();
    let mut rig = Rig::with(StartTarget::Layout(demo.clone()), egui::vec2(1440.0, 900.0), move |mut app| {
        app.state.demo = Some(d2);
        app
    });
    rig.steps(2);
    let id = rig.first_sent("OpenLayout sent", |c| match c {
        Command::OpenLayout { id, .. } => Some(id),
        _ => None,
    });
    rig.events.send(Event::LayoutOpened { id, path: demo.clone(), name: "demo-layout".into() }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("This is a demo:");
    rig.harness.get_by_label_contains("type a registry above");
    // Another folder is no demo.
    rig.harness.state_mut().state.layout = Some((std::path::PathBuf::from("/elsewhere"), "elsewhere".into()));
    rig.steps(2);
    assert!(rig.harness.query_by_label("This is a demo:").is_none());
}

#[test]
fn at_800x600_the_diagnosis_shows_verdict_remedy_and_repair_without_scrolling() {
    use archlens::model::diagnose::{Diagnosis, Finding, FindingKind, Selected, Selection, Verdict};
    let mut rig = Rig::sized(StartTarget::Repository("127.0.0.1:5000/team/app".into()), egui::vec2(800.0, 600.0));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("Reference").focus();
    rig.harness.get_by_label("Reference").type_text("1.0");
    rig.harness.get_by_label("Run").click();
    rig.steps(2);
    let did = rig.first_sent("Diagnose sent", |c| match c {
        Command::Diagnose { id, .. } => Some(id),
        _ => None,
    });
    let finding = |n: usize| Finding {
        kind: FindingKind::BinaryMismatch,
        message: format!("finding {n}: /app is built for amd64"),
        evidence: "ELF e_machine 62 ".repeat(8),
    };
    let diagnosis = Diagnosis {
        reference: "127.0.0.1:5000/team/app:1.0".into(),
        host: "linux/arm64".into(),
        verdict: Verdict::BinaryMismatch,
        selected: Some(Selected { digest: d("1.0 linux/arm64"), platform: "linux/arm64".into(), selection: Selection::Exact }),
        findings: (0..4).map(finding).collect(),
        binary: None,
        chain: Vec::new(),
        bytes_read: 1,
        remedy: vec!["rebuild the linux/arm64 image so its binaries are built for arm64".into()],
        partly_verified: Vec::new(),
        config: None,
    };
    rig.events.send(Event::Diagnosed { id: did, diagnosis: Box::new(diagnosis) }).unwrap();
    rig.steps(4);
    for what in ["binary-mismatch", "Repair…", "Remedy:"] {
        let r = rig.harness.get_by_label(what).rect();
        assert!(r.bottom() <= 600.0 && r.right() <= 800.0, "{what} in view without scrolling: {r:?}");
    }
}

#[test]
fn diagnose_panel_runs_for_the_selection_and_shows_the_verdict() {
    use archlens::model::diagnose::{Diagnosis, Finding, Selected, Selection, Verdict};
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label(&format!("{} 2.50 MB", short("1.0 linux/arm64"))).click();
    rig.steps(2);
    rig.harness.get_by_label("Use selection").click();
    rig.steps(2);
    rig.harness.get_by_label("Run").click();
    rig.steps(2);
    let sent = rig.sent();
    let (did, reference, host) = sent
        .iter()
        .find_map(|c| match c {
            Command::Diagnose { id, reference, host, deep: true, .. } => Some((*id, reference.clone(), host.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("Run sends a deep Diagnose: {sent:?}"));
    assert_eq!(reference.to_string(), "127.0.0.1:5000/team/app:1.0", "the tag, as it would be pulled, not the cell's digest");
    assert_eq!(host, "apple-silicon");
    rig.events.send(Event::DiagnoseProgress { id: did, bytes: 123_000 }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("123 kB of layers read");
    rig.harness.get_by_label("Stop");
    let diagnosis = Diagnosis {
        reference: reference.to_string(),
        host: "linux/arm64".into(),
        verdict: Verdict::BinaryMismatch,
        selected: Some(Selected { digest: d("1.0 linux/arm64"), platform: "linux/arm64".into(), selection: Selection::Exact }),
        findings: vec![Finding {
            kind: archlens::model::diagnose::FindingKind::BinaryMismatch,
            message: "/app is built for amd64".into(),
            evidence: "ELF e_machine 62".into(),
        }],
        binary: None,
        chain: Vec::new(),
        bytes_read: 123_000,
        remedy: vec!["rebuild it".into()],
        partly_verified: vec!["layer sha256:0123456789ab was read in part".into()],
        config: Some("linux/arm64".into()),
    };
    rig.events.send(Event::Diagnosed { id: did, diagnosis: Box::new(diagnosis) }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("binary-mismatch");
    rig.harness.get_by_label("/app is built for amd64");
    rig.harness.get_by_label("rebuild it");
    rig.harness.get_by_label("Not fully verified: layer sha256:0123456789ab was read in part");
    rig.harness.get_by_label("Run");
    // The finding's fix opens as a draft in the composer.
    rig.sent();
    rig.harness.get_by_label("Repair…").click();
    rig.steps(2);
    let sent = rig.sent();
    let rid = sent
        .iter()
        .find_map(|c| match c {
            Command::RepairDraft { id, reference: r, .. } if r.to_string() == reference.to_string() => Some(*id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a repair request: {sent:?}"));
    let draft = archlens::model::compose::IndexDraft {
        entries: vec![draft_entry("linux/amd64", "amd")],
        warnings: vec!["the pushed tag mixes versions across architectures".into()],
        ..Default::default()
    };
    let notes = vec!["replace the linux/arm64 entry 0123 with 4567 from tag 1.1".to_string()];
    rig.events.send(Event::DraftLoaded { id: rid, draft: Box::new(draft), notes }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("Compose an index");
    // What the repair does, and its warning, are shown before anything is pushed.
    rig.harness.get_by_label("• replace the linux/arm64 entry 0123 with 4567 from tag 1.1");
    rig.harness.get_by_label("Warning: the pushed tag mixes versions across architectures");
    assert_eq!(rig.harness.state().state.composer.draft.entries.len(), 1);
    assert_eq!(rig.harness.state().state.composer.target_input, reference.to_string());
    // Another host makes the result stale, and says so.
    assert!(rig.harness.query_by_label_contains("stale:").is_none());
    rig.harness.state_mut().dispatch(archlens::state::UiAction::SetHost("x86-64".into()));
    rig.steps(2);
    rig.harness.get_by_label("stale: diagnosed for linux/arm64; the host is now linux/amd64");
    rig.harness.get_by_label("Run again").click();
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Diagnose { host, .. } if host == "x86-64")));
}

fn draft_entry(platform: &str, name: &str) -> archlens::model::compose::DraftEntry {
    archlens::model::compose::DraftEntry {
        source: archlens::model::Reference::parse(&format!("127.0.0.1:5000/team/{name}@{}", d(name))).unwrap(),
        digest: d(name),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: 400,
        platform: Platform::parse_key(platform).unwrap(),
        config_platform: Some(Platform::parse_key(platform).unwrap()),
        kind: ManifestKind::OciImage,
        annotations: Default::default(),
        compressed_size: 1_000_000,
        missing: false,
        raw: None,
    }
}

#[test]
fn composer_shows_duplicate_platforms_and_the_preview_digest_follows_edits() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("Compose…").click();
    rig.steps(3);
    let add = |rig: &mut Rig, reference: &str, platform: &str, name: &str| {
        rig.harness.get_by_label("or reference").focus();
        rig.harness.get_by_label("or reference").type_text(reference);
        rig.steps(1);
        rig.harness.get_by_label("Add").click();
        rig.steps(2);
        let add_id = rig.first_sent("Add asks the worker for the image", |c| match c {
            Command::DraftAdd { id, reference: r, .. } if r.to_string().contains(name) => Some(id),
            _ => None,
        });
        rig.events.send(Event::DraftEntries { id: add_id, entries: vec![draft_entry(platform, name)] }).unwrap();
        rig.steps(3);
    };
    add(&mut rig, "127.0.0.1:5000/team/amd:1", "linux/amd64", "amd");
    add(&mut rig, "127.0.0.1:5000/team/arm:1", "linux/arm64", "arm");
    assert!(rig.harness.query_by_label_contains("duplicate platform").is_none());
    add(&mut rig, "127.0.0.1:5000/team/other:1", "linux/amd64", "other");
    rig.harness.get_by_label_contains("duplicate platform linux/amd64");
    let before = rig.harness.state().state.composer.preview().1;
    rig.harness.get_by_label(before.as_str());
    // Fix the third entry's platform in place.
    rig.harness.get_by_label("#3").focus();
    rig.steps(1);
    rig.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    rig.harness.get_by_label("#3").type_text("linux/s390x");
    rig.steps(3);
    assert!(rig.harness.query_by_label_contains("duplicate platform").is_none(), "the error goes away");
    let after = rig.harness.state().state.composer.preview().1;
    assert_ne!(before, after, "the preview digest follows the edit");
    rig.harness.get_by_label(after.as_str());
    assert!(rig.harness.query_by_label(before.as_str()).is_none());
    assert_eq!(rig.harness.state().state.composer.draft.entries[2].platform.key(), "linux/s390x");
}

#[test]
fn host_view_flags_tags_the_chosen_host_cannot_run() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("arm", "a", &["linux/arm/v6", "linux/arm/v7"]) }).unwrap();
    rig.events.send(Event::Row { id, result: index_row("x86", "b", &["linux/amd64"]) }).unwrap();
    // An artifact (a signature) is neither flagged nor counted: it is not meant to run.
    let sig = TagResult {
        pushed: None,
        tag: "sha256-abc.sig".into(),
        outcome: TagOutcome::Artifact { digest: d("sig"), media_type: archlens::model::manifest::OCI_MANIFEST.into(), artifact_type: None },
    };
    rig.events.send(Event::Row { id, result: sig }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    // Apple silicon by default: nothing native in x86 (arm/v7 is a fallback).
    rig.harness.get_by_label("1 tag has nothing Apple-silicon Mac (Docker Desktop) runs natively");
    let derived = &rig.harness.state().state.derived;
    let m = &rig.harness.state().state.matrix.as_ref().unwrap().matrix;
    let flagged = (0..m.rows.len()).filter(|&i| m.rows[i].is_runnable_kind() && derived.picks[i].is_none()).count();
    assert_eq!(flagged, derived.host_no_match, "the count and the highlighted tags agree");
    rig.harness.get_by_label("Host").click();
    rig.steps(2);
    rig.harness.get_by_label("x86-64 server").click();
    rig.steps(3);
    rig.harness.get_by_label("1 tag has nothing x86-64 server runs natively");
    assert_eq!(rig.harness.state().state.settings.host, "x86-64");
    // A typed platform works as a host too.
    rig.harness.get_by_label("or platform").focus();
    rig.harness.get_by_label("or platform").type_text("linux/s390x");
    rig.harness.key_press(egui::Key::Enter);
    rig.steps(3);
    rig.harness.get_by_label("2 tags have nothing linux/s390x runs natively");
}

#[test]
fn sign_in_form_sends_the_login_and_forgets_the_password() {
    let mut rig = Rig::new(StartTarget::Registry("127.0.0.1:5000".into()));
    rig.steps(2);
    rig.sent();
    rig.harness.get_by_label("Sign in…").click();
    rig.steps(2);
    assert!(rig.harness.state().state.sign_in.open, "notice: {:?}", rig.harness.state().state.notice);
    // A new window takes a sizing pass before it shows.
    rig.steps(2);
    rig.harness.get_by_label("User name").focus();
    rig.harness.get_by_label("User name").type_text("alice");
    rig.harness.get_by_label("Password or token").focus();
    rig.harness.get_by_label("Password or token").type_text("s3cret");
    rig.steps(1);
    rig.harness.get_by_label("Sign in").click();
    rig.steps(2);
    let sent = rig.sent();
    let (id, registry) = sent
        .iter()
        .find_map(|c| match c {
            Command::SignIn { id, registry, username, password, remember: true } if username == "alice" && password == "s3cret" => {
                Some((*id, registry.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sent:?}"));
    assert!(rig.harness.state().state.sign_in.password.is_empty(), "the password is not kept in the app state");
    rig.events.send(Event::SignedIn { id, registry, username: "alice".into(), kept: "for this session only (no keychain)".into() }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label_contains("signed in as alice, for this session only");
    assert!(rig.harness.query_by_label("User name").is_none(), "the form closes");
    rig.harness.get_by_label("Sign out").click();
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::SignOut { .. })));
}

#[test]
fn composer_panel_at_800x600_asks_before_replacing_clears_and_ends_calm_after_a_push() {
    use archlens::state::UiAction;
    use archlens::state::composer::ComposerAction as A;
    let mut rig = Rig::sized(StartTarget::Repository("127.0.0.1:5000/team/app".into()), egui::vec2(800.0, 600.0));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("Compose…").click();
    rig.steps(3);
    // A panel beside the matrix: the matrix's own controls stay reachable.
    rig.harness.get_by_label("Compose an index");
    rig.harness.get_by_label("Compose…");
    // Empty: what to do, not an error.
    rig.harness.get_by_label_contains("The draft is empty. Select a tag or a cell");
    assert!(rig.harness.query_by_label_contains("Error:").is_none(), "an empty draft is no error");
    rig.harness.get_by_label("or reference").focus();
    rig.harness.get_by_label("or reference").type_text("127.0.0.1:5000/team/amd:1");
    rig.steps(1);
    rig.harness.get_by_label("Add").click();
    rig.steps(2);
    let sent = rig.sent();
    let add_id = sent.iter().find_map(|c| match c {
        Command::DraftAdd { id, .. } => Some(*id),
        _ => None,
    });
    assert!(add_id.is_some(), "{sent:?} {:?} {:?}", rig.harness.state().state.composer.add_input, rig.harness.state().state.composer.error);
    rig.events.send(Event::DraftEntries { id: add_id.unwrap(), entries: vec![draft_entry("linux/amd64", "amd")] }).unwrap();
    rig.steps(3);
    // The entry fits the panel: platform, digest, size, source and Remove, no sideways scroll.
    for what in ["Remove", "#1"] {
        let r = rig.harness.get_by_label(what).rect();
        assert!(r.right() <= 800.0 && r.left() >= 0.0, "{what} inside the window: {r:?}");
    }
    for part in ["from 127.0.0.1:5000/team/amd".to_string(), d("amd").short()] {
        let r = rig.harness.get_by_label(&part).rect();
        assert!(r.right() <= 800.0, "{part} inside the window: {r:?}");
    }
    // A partial platform is marked, never completed.
    rig.harness.get_by_label("#1").focus();
    rig.steps(1);
    rig.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    rig.harness.get_by_label("#1").type_text("linux");
    rig.steps(3);
    rig.harness.get_by_label("not a platform");
    // Edit tag on a non-empty draft asks first; keeping the draft keeps it.
    rig.harness.state_mut().dispatch(UiAction::Composer(A::EditReference(archlens::model::Reference::parse("127.0.0.1:5000/team/app:1.0").unwrap())));
    rig.steps(2);
    rig.harness.get_by_label_contains("Replace the current draft (1 entry)");
    rig.harness.get_by_label("Keep my draft").click();
    rig.steps(2);
    assert!(rig.harness.query_by_label_contains("Replace the current draft").is_none());
    assert_eq!(rig.harness.state().state.composer.draft.entries.len(), 1);
    // After a push: a calm state with the digest, no overwrite prompt.
    let target = archlens::model::Reference::parse("127.0.0.1:5000/team/app:2").unwrap();
    let digest;
    {
        let app = rig.harness.state_mut();
        app.state.composer.target_input = target.to_string();
        let cmds = app.state.handle(UiAction::Composer(A::CheckTarget));
        let Command::TargetStatus { id, .. } = cmds[0] else { panic!() };
        app.state.apply(Event::TargetState { id, target: target.clone(), current: None, bytes: None });
        app.state.composer.platform_inputs[0] = "linux/amd64".into();
        app.state.handle(UiAction::Composer(A::PlatformEdited(0)));
        let cmds = app.state.handle(UiAction::Composer(A::Push));
        let Command::PushDraft { id, .. } = cmds[0] else { panic!("{cmds:?}") };
        digest = app.state.composer.preview().1;
        app.state.apply(Event::Pushed { id, target: target.clone(), digest: digest.clone(), previous: None, journal_id: Some("1".into()) });
    }
    rig.steps(3);
    rig.harness.get_by_label(&format!("Pushed {target} = {}", digest.short()));
    // Each of the composer's copy buttons copies what it stands beside.
    // At 800x600 the composer scrolls: the wheel over it brings its end into view.
    let panel = rig.harness.get_by_label("Compose an index").rect();
    rig.wheel(panel.center() + egui::vec2(0.0, 200.0), -200.0, 5);
    rig.steps(5);
    for button in ["Copy digest", "Undo"] {
        let r = rig.harness.get_by_label(button).rect();
        assert!(r.right() <= 800.0 && r.bottom() <= 600.0, "{button} is inside the 800x600 window: {r:?}");
    }
    rig.harness.get_by_label("Copy digest").click();
    rig.harness.step();
    assert_eq!(rig.copied(), [digest.to_string()], "Copy digest after the push");
    rig.harness.get_by_label("Copy").click();
    rig.harness.step();
    assert_eq!(rig.copied(), [digest.to_string()], "Copy beside the preview digest");
    // The preview expanded: Push stays in the window, pinned below the draft.
    rig.harness.get_by_label_contains("Preview: the exact").click();
    rig.steps(3);
    let push = rig.harness.get_by_label("Push").rect();
    assert!(push.bottom() <= 600.0 && push.right() <= 800.0, "Push in view with the preview open: {push:?}");
    rig.harness.get_by_label_contains("Preview: the exact").click();
    rig.steps(2);
    rig.harness.get_by_label("Equivalent commands").click();
    rig.steps(2);
    // Push stays pinned below; the draft above scrolls to the commands.
    rig.wheel(panel.center() + egui::vec2(0.0, 150.0), -200.0, 5);
    rig.steps(5);
    let commands = rig.harness.state().state.composer.draft.commands(&target);
    assert!(commands.len() >= 2, "{commands:?}");
    for (i, (tool, cmd)) in commands.iter().enumerate() {
        rig.harness.query_all_by_label("Copy").nth(i + 1).unwrap_or_else(|| panic!("a Copy button for {tool}")).click();
        rig.harness.step();
        assert_eq!(rig.copied(), std::slice::from_ref(cmd), "Copy beside the {tool} command");
    }
    assert!(rig.harness.query_by_label_contains("confirm").is_none(), "no overwrite prompt for what was just pushed");
    assert!(rig.harness.query_by_label("Confirm overwrite").is_none());
    rig.harness.get_by_label("Clear draft").click();
    rig.steps(2);
    assert!(rig.harness.state().state.composer.draft.entries.is_empty());
}

#[test]
fn closing_the_window_during_a_push_asks_first() {
    use archlens::state::UiAction;
    use archlens::state::composer::ComposerAction as A;
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let close = |rig: &mut Rig| {
        rig.harness.input_mut().viewports.entry(egui::ViewportId::ROOT).or_default().events.push(egui::ViewportEvent::Close);
        rig.steps(2);
    };
    // Nothing running: closing just closes, no question.
    close(&mut rig);
    assert!(rig.harness.query_by_label("A push is running").is_none());
    // A push running: the close is held and the user asked.
    let target = archlens::model::Reference::parse("127.0.0.1:5000/team/app:2").unwrap();
    {
        let app = rig.harness.state_mut();
        app.state.composer.draft.entries.push(draft_entry("linux/amd64", "amd"));
        app.state.composer.target_input = target.to_string();
        let cmds = app.state.handle(UiAction::Composer(A::CheckTarget));
        let Command::TargetStatus { id, .. } = cmds[0] else { panic!() };
        app.state.apply(Event::TargetState { id, target: target.clone(), current: None, bytes: None });
        let cmds = app.state.handle(UiAction::Composer(A::Push));
        assert!(matches!(cmds[0], Command::PushDraft { .. }), "{cmds:?}");
    }
    close(&mut rig);
    rig.harness.get_by_label("A push is running");
    assert!(!rig.harness.state().quit_confirmed);
    rig.harness.get_by_label("Keep running").click();
    rig.steps(2);
    assert!(rig.harness.query_by_label("A push is running").is_none(), "keep running dismisses the question");
    close(&mut rig);
    rig.harness.get_by_label("Quit anyway").click();
    rig.steps(2);
    assert!(rig.harness.state().quit_confirmed, "quitting anyway is the user's choice");
}

#[test]
fn a_matrix_whose_every_tag_failed_has_no_columns_and_does_not_panic() {
    use archlens::model::matrix::{TagOutcome, TagResult};
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    for t in ["1.0", "2.0"] {
        rig.events
            .send(Event::Row { id, result: TagResult { pushed: None, tag: t.into(), outcome: TagOutcome::Failed { error: "registry answered 500".into() } } })
            .unwrap();
    }
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(4);
    rig.harness.get_by_label("1.0");
    // Keyboard movement over a matrix without columns stays put.
    rig.harness.key_press(egui::Key::ArrowRight);
    rig.harness.key_press(egui::Key::ArrowDown);
    rig.harness.key_press(egui::Key::Enter);
    rig.steps(3);
}

#[test]
fn verify_marks_a_mislabelled_cell_and_reloads_with_verification() {
    use archlens::model::matrix::Verified;
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.harness.get_by_label("Verify").click();
    rig.steps(2);
    let sent = rig.sent();
    let id2 = sent
        .iter()
        .find_map(|c| match c {
            Command::LoadMatrix { id, verify: true, .. } => Some(*id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a verified reload: {sent:?} (first load {id})"));
    let mut row = index_row("1.0", "a", &["linux/amd64", "linux/arm64"]);
    if let TagOutcome::Index { children, .. } = &mut row.outcome {
        children[0].verified = Some(Verified::Ok);
        children[1].verified = Some(Verified::ConfigMismatch { config: "linux/amd64".into() });
    }
    rig.events.send(Event::Row { id: id2, result: row }).unwrap();
    rig.events.send(Event::MatrixDone { id: id2 }).unwrap();
    rig.steps(3);
    // Only the lying cell says so; the other keeps its digest and size.
    assert_eq!(rig.harness.query_all_by_label("mislabelled").count(), 1);
    rig.harness.get_by_label_contains(&short("1.0 linux/amd64"));
    assert!(rig.harness.query_by_label_contains(&short("1.0 linux/arm64")).is_none());
    assert!(rig.harness.state().state.settings.verify_cells, "remembered");
}

#[test]
fn details_close_with_their_button_and_with_esc_and_open_again_with_enter() {
    let mut rig = Rig::with_tag_selected();
    rig.harness.get_by_label("Details");
    rig.harness.get_by_label("Close").click();
    rig.steps(2);
    assert!(rig.harness.query_by_label("Details").is_none(), "closed by its button");
    rig.harness.key_press(egui::Key::Enter);
    rig.steps(2);
    rig.harness.get_by_label("Details");
    // Esc first stops the reading Enter started; with nothing left to stop, it closes the panel.
    rig.harness.key_press(egui::Key::Escape);
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Cancel { .. })), "the first Esc cancels the read");
    rig.harness.get_by_label("Details");
    rig.harness.key_press(egui::Key::Escape);
    rig.steps(2);
    assert!(rig.harness.query_by_label("Details").is_none(), "closed by Esc");
}

fn coverage_row(repo: &str, result: TagResult) -> Box<archlens::model::coverage::CoverageRow> {
    Box::new(archlens::model::coverage::CoverageRow {
        repository: repo.into(),
        tags: 4,
        tag: Some(result.tag.clone()),
        row: Some(archlens::model::matrix::Row::from_result(result)),
        error: None,
        empty: false,
        latest_lags: None,
        supply: None,
        supply_error: None,
    })
}

#[test]
fn coverage_view_reads_the_catalog_progressively_and_opens_a_row_in_the_matrix() {
    use archlens::model::coverage::{CoverageRow, TagPolicy};
    use archlens::worker::RepoSelection;
    let mut rig = Rig::new(StartTarget::Registry("127.0.0.1:5000".into()));
    rig.steps(2);
    rig.sent();
    rig.harness.get_by_label("Coverage").click();
    rig.steps(2);
    // Opened on a registry with a public catalog: read at once, every repository, tag `latest`.
    let (id, repos, policy) = rig.first_sent("LoadCoverage sent", |c| match c {
        Command::LoadCoverage { id, repos, policy, .. } => Some((id, repos, policy)),
        _ => None,
    });
    assert_eq!(repos, RepoSelection::Catalog { glob: None });
    assert_eq!(policy, TagPolicy::Latest);
    rig.events.send(Event::CoverageStarted { id, total: 3 }).unwrap();
    rig.events.send(Event::CoverageRow { id, row: coverage_row("team/api", index_row("latest", "api", &["linux/amd64", "linux/arm64"])) }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label_contains("1 of 3 repositories");
    rig.harness.get_by_label("Cancel");
    rig.harness.get_by_label("native (linux/arm64)");
    let old = TagResult {
        pushed: None,
        tag: "latest".into(),
        outcome: TagOutcome::Image {
            digest: d("old"),
            media_type: archlens::model::manifest::OCI_MANIFEST.into(),
            child: Child {
                source: CellSource::Registry,
                platform: Some(Platform::parse_key("linux/amd64").unwrap()),
                digest: d("old"),
                size: 400,
                compressed_size: Some(1_000),
                error: None,
                attestation: None,
                verified: None,
            },
        },
    };
    rig.events.send(Event::CoverageRow { id, row: coverage_row("team/old", old) }).unwrap();
    let broken = CoverageRow::failed("team/broken", 0, None, "its tags could not be listed: denied".into());
    rig.events.send(Event::CoverageRow { id, row: Box::new(broken) }).unwrap();
    rig.events.send(Event::CoverageDone { id }).unwrap();
    rig.steps(3);
    assert!(rig.harness.query_by_label("Cancel").is_none());
    rig.harness.get_by_label("emulation (linux/amd64)");
    rig.harness.get_by_label("its tags could not be listed: denied");
    rig.harness.get_by_label("linux/arm64: 1 of 2");
    rig.harness.get_by_label("1 native, 0 by fallback, 1 by emulation, 0 not at all");
    rig.harness.get_by_label("missing");
    // By name, then with what needs attention first.
    let names = |rig: &mut Rig| -> Vec<String> {
        let host = archlens::model::diagnose::Host::parse("apple-silicon").unwrap();
        let cov = &mut rig.harness.state_mut().state.coverage;
        let order = cov.order("apple-silicon", &host).to_vec();
        order.iter().map(|&i| cov.coverage.as_ref().unwrap().rows[i].repository.clone()).collect()
    };
    assert_eq!(names(&mut rig), ["team/api", "team/broken", "team/old"]);
    rig.harness.get_by_label("Needs attention first").click();
    rig.steps(2);
    assert_eq!(names(&mut rig), ["team/old", "team/broken", "team/api"]);
    // Export goes to the clipboard.
    rig.harness.get_by_label("Copy Markdown").click();
    rig.harness.step();
    let copied = rig.copied();
    assert!(copied.iter().any(|t| t.contains("| `team/old` | `latest` | emulation (linux/amd64) |")), "{copied:?}");
    // A glob and another policy; Enter runs it.
    rig.harness.get_by_label("Repositories to cover").focus();
    rig.harness.get_by_label("Repositories to cover").type_text("team/*");
    rig.harness.get_by_label("Tag policy").focus();
    rig.harness.get_by_label("Tag policy").type_text("newest");
    rig.harness.get_by_label("Run").click();
    rig.steps(2);
    let (id2, repos, policy) = rig.first_sent("LoadCoverage sent again", |c| match c {
        Command::LoadCoverage { id, repos, policy, .. } => Some((id, repos, policy)),
        _ => None,
    });
    assert_eq!(repos, RepoSelection::Catalog { glob: Some("team/*".into()) });
    assert_eq!(policy, TagPolicy::Newest);
    // Cancelled midway: the view says it is partial, and late rows do not land.
    rig.events.send(Event::CoverageStarted { id: id2, total: 2 }).unwrap();
    rig.events.send(Event::CoverageRow { id: id2, row: coverage_row("team/api", index_row("1.2", "api", &["linux/arm64"])) }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("Cancel").click();
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Cancel { id } if *id == id2)));
    rig.events.send(Event::CoverageRow { id: id2, row: coverage_row("team/web", index_row("1.0", "web", &["linux/arm64"])) }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("partial: not every repository has been read");
    assert!(rig.harness.query_by_label("team/web").is_none());
    // A repository opens in the matrix.
    rig.harness.get_by_label("team/api").click();
    rig.steps(2);
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::LoadMatrix { repository, .. } if repository.to_string() == "127.0.0.1:5000/team/api")), "{sent:?}");
    assert!(!rig.harness.state().state.coverage.open);
    rig.harness.get_by_label("Refresh");
}

#[test]
fn coverage_says_no_tag_matches_reruns_on_another_policy_has_a_legend_and_marks_favourites() {
    use archlens::model::coverage::CoverageRow;
    let mut rig = Rig::new(StartTarget::Registry("127.0.0.1:5000".into()));
    rig.steps(2);
    rig.harness.get_by_label("Coverage").click();
    rig.steps(2);
    let id = rig.first_sent("LoadCoverage sent", |c| match c {
        Command::LoadCoverage { id, .. } => Some(id),
        _ => None,
    });
    rig.events.send(Event::CoverageStarted { id, total: 2 }).unwrap();
    rig.events.send(Event::CoverageRow { id, row: coverage_row("team/api", index_row("latest", "api", &["linux/arm/v7"])) }).unwrap();
    rig.events.send(Event::CoverageRow { id, row: Box::new(CoverageRow::empty("team/tools", 3, "no tag `latest`".into())) }).unwrap();
    rig.events.send(Event::CoverageDone { id }).unwrap();
    rig.steps(3);
    // Nothing to check is said as such, not as a read that failed.
    rig.harness.get_by_label("No tag matches: no tag `latest`");
    rig.harness.get_by_label("1 repository has no tag the policy picks");
    assert!(rig.harness.query_by_label_contains("could not be read").is_none());
    // arm/v7 on an Apple-silicon Mac: the runtime's fallback, run emulated.
    rig.harness.get_by_label("fallback (emulated) (linux/arm/v7)");
    rig.harness.get_by_label("0 native, 0 by fallback, 1 by emulation, 0 not at all");
    // F1: the coverage view's own legend.
    rig.harness.key_press(egui::Key::F1);
    rig.steps(2);
    rig.harness.get_by_label("the repository has no tag the policy picks: nothing to check");
    rig.harness.key_press(egui::Key::F1);
    rig.steps(2);
    assert!(rig.harness.query_by_label("the repository has no tag the policy picks: nothing to check").is_none());
    // Another policy from the list reads again.
    rig.sent();
    rig.harness.get_by_label("Tag policy").focus();
    rig.harness.get_by_label("Tag policy").type_text("newest");
    rig.harness.key_press(egui::Key::Enter);
    rig.steps(3);
    let policy = rig.sent().into_iter().find_map(|c| match c {
        Command::LoadCoverage { policy, .. } => Some(policy),
        _ => None,
    });
    assert_eq!(policy, Some(archlens::model::coverage::TagPolicy::Newest), "Enter in the policy re-runs");
}

#[test]
fn the_favourite_marker_shows_and_toggles_a_favourite() {
    let mut rig = Rig::new(StartTarget::Registry("127.0.0.1:5000".into()));
    rig.steps(2);
    let id = rig.first_sent("ListRepos sent", |c| match c {
        Command::ListRepos { id, .. } => Some(id),
        _ => None,
    });
    rig.events.send(Event::ReposPage { id, repos: vec!["team/api".into()], next: None }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("Not a favourite").click();
    rig.steps(2);
    assert!(rig.harness.state().state.settings.favourites.contains("127.0.0.1:5000/team/api"));
    // Listed among the favourites and in the list, both marked.
    assert_eq!(rig.harness.query_all_by_label("Favourite").count(), 2);
    assert!(rig.harness.query_by_label("Not a favourite").is_none());
    rig.harness.query_all_by_label("Favourite").next().unwrap().click();
    rig.steps(2);
    assert!(!rig.harness.state().state.settings.favourites.contains("127.0.0.1:5000/team/api"));
    rig.harness.get_by_label("Not a favourite");
}

#[test]
fn coverage_where_the_catalog_is_hidden_asks_for_names() {
    use archlens::worker::RepoSelection;
    let mut rig = Rig::new(StartTarget::Registry("ghcr.io".into()));
    rig.steps(2);
    rig.sent();
    rig.harness.get_by_label("Coverage").click();
    rig.steps(2);
    assert!(!rig.sent().iter().any(|c| matches!(c, Command::LoadCoverage { .. })), "nothing to read without names");
    rig.harness.get_by_label("Run").click();
    rig.steps(2);
    rig.harness.get_by_label_contains("ghcr.io does not publish its catalog");
    // Favourites of this registry are one click away.
    rig.harness.state_mut().state.settings.favourites.extend(["ghcr.io/owner/fav".to_string(), "quay.io/other/x".to_string()]);
    rig.steps(1);
    rig.harness.get_by_label("Cover favourites").click();
    rig.steps(2);
    let repos = rig.sent().into_iter().find_map(|c| match c {
        Command::LoadCoverage { repos, .. } => Some(repos),
        _ => None,
    });
    assert_eq!(repos, Some(RepoSelection::Named { repos: vec!["owner/fav".into()] }));
    rig.harness.state_mut().state.coverage.repos_input.clear();
    rig.harness.get_by_label("Cancel").click();
    rig.steps(2);
    rig.harness.get_by_label("Repositories to cover").focus();
    rig.harness.get_by_label("Repositories to cover").type_text("owner/a, ghcr.io/owner/b owner/a");
    rig.harness.get_by_label("Run").click();
    rig.steps(2);
    let repos = rig.sent().into_iter().find_map(|c| match c {
        Command::LoadCoverage { repos, .. } => Some(repos),
        _ => None,
    });
    assert_eq!(repos, Some(RepoSelection::Named { repos: vec!["owner/a".into(), "owner/b".into()] }));
}

#[test]
fn the_app_can_open_on_the_coverage_of_a_registry() {
    let mut rig = Rig::new(StartTarget::Coverage("127.0.0.1:5000".into()));
    rig.steps(2);
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::Connect { .. })), "{sent:?}");
    assert!(sent.iter().any(|c| matches!(c, Command::LoadCoverage { registry, .. } if registry.name() == "127.0.0.1:5000")), "{sent:?}");
    rig.harness.get_by_label("Back to matrix");
}

#[test]
fn the_app_can_open_on_a_diagnosis_or_a_draft() {
    let mut rig = Rig::new(StartTarget::Diagnose("127.0.0.1:5000/team/app:1.2".into()));
    rig.steps(2);
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::LoadMatrix { repository, .. } if repository.to_string() == "127.0.0.1:5000/team/app")), "{sent:?}");
    assert!(
        sent.iter().any(
            |c| matches!(c, Command::Diagnose { reference, host, .. } if reference.to_string() == "127.0.0.1:5000/team/app:1.2" && host == "apple-silicon")
        ),
        "{sent:?}"
    );
    let mut rig = Rig::new(StartTarget::Draft { path: "/tmp/fix.json".into(), repository: Some("127.0.0.1:5000/team/app:1.2".into()) });
    rig.steps(2);
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::TargetStatus { target, .. } if target.to_string() == "127.0.0.1:5000/team/app:1.2")), "{sent:?}");
    assert!(sent.iter().any(|c| matches!(c, Command::LoadDraft { path, .. } if path.to_str() == Some("/tmp/fix.json"))), "{sent:?}");
    assert!(sent.iter().any(|c| matches!(c, Command::LoadMatrix { .. })), "{sent:?}");
    assert!(rig.harness.state().state.composer.open);
}

#[test]
fn the_record_of_sent_commands_is_bounded() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(1);
    for _ in 0..2000 {
        rig.harness.state_mut().dispatch(archlens::state::UiAction::Refresh);
    }
    let app = rig.harness.state();
    assert_eq!(app.sent.len(), archlens::ui::SENT_KEPT);
    assert!(matches!(app.sent.back(), Some(Command::LoadMatrix { .. })), "the newest are kept");
}

#[test]
fn a_registry_gone_midway_is_said_once_with_retry_and_a_cancelled_load_says_it_is_partial() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let sent = rig.sent();
    let (cid, registry) = sent
        .iter()
        .find_map(|c| match c {
            Command::Connect { id, registry, .. } => Some((*id, registry.clone())),
            _ => None,
        })
        .unwrap();
    let id = sent.iter().find_map(|c| if let Command::LoadMatrix { id, .. } = c { Some(*id) } else { None }).unwrap();
    rig.events.send(Event::Connected { id: cid, registry, signed_in: false }).unwrap();
    rig.events.send(Event::Progress { id, done: 0, total: 2000 }).unwrap();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64"]) }).unwrap();
    let why = "127.0.0.1:5000 stopped answering after 1031 of 2000 tags, so the rest were not read and the matrix is partial (last error: cannot connect). Retry when it is back";
    rig.events.send(Event::MatrixStopped { id, reason: why.into() }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label(why);
    assert!(rig.harness.state().state.notice.is_none(), "said once, in the matrix, not again as a notice");
    assert!(matches!(rig.harness.state().state.connection, archlens::state::Loadable::Failed { .. }), "the status dot shows it");
    rig.harness.get_by_label("1.0");
    rig.harness.get_by_label("Retry").click();
    rig.steps(2);
    let sent = rig.sent();
    assert!(sent.iter().any(|c| matches!(c, Command::Connect { .. })), "Retry checks the registry again: {sent:?}");
    let id2 = sent.iter().find_map(|c| if let Command::LoadMatrix { id, .. } = c { Some(*id) } else { None }).expect("and reads the matrix");
    assert!(rig.harness.query_by_label(why).is_none());
    // Cancelled midway: partial, and said so.
    rig.events.send(Event::Progress { id: id2, done: 3, total: 10 }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("Cancel").click();
    rig.steps(2);
    rig.harness.get_by_label("cancelled after 3 of 10 tags: the matrix is partial");
}

/// Every rectangle the last frame painted with `stroke`, with nested shapes opened.
fn stroked_rects(out: &egui::FullOutput, stroke: egui::Stroke) -> Vec<egui::Rect> {
    fn walk(shape: &egui::Shape, stroke: egui::Stroke, found: &mut Vec<egui::Rect>) {
        match shape {
            egui::Shape::Rect(r) if r.stroke == stroke => found.push(r.rect),
            egui::Shape::Vec(v) => v.iter().for_each(|s| walk(s, stroke, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for c in &out.shapes {
        walk(&c.shape, stroke, &mut found);
    }
    found
}

#[test]
fn the_cursor_outlines_every_kind_of_cell_in_light_and_dark_themes() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    // On the default host (Apple silicon, linux/arm64): "both" has a green arm64 cell and a
    // plain amd64 one; "old" has an amber arm/v7 fallback and a gap under amd64 and arm64.
    rig.events.send(Event::Row { id, result: index_row("both", "a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::Row { id, result: index_row("old", "b", &["linux/arm/v7"]) }).unwrap();
    rig.events
        .send(Event::Row {
            id,
            result: TagResult { pushed: None, tag: "broken".into(), outcome: TagOutcome::Failed { error: "registry answered 500".into() } },
        })
        .unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    let cases: [(&str, Option<&str>, &str); 7] = [
        ("both", Some("linux/arm64"), "green (the host's exact pick)"),
        ("old", Some("linux/arm/v7"), "amber (a fallback)"),
        ("both", Some("linux/amd64"), "plain"),
        ("old", Some("linux/amd64"), "a gap"),
        ("old", Some("linux/arm64"), "a gap beside the pick"),
        ("broken", Some("linux/arm64"), "a failed tag"),
        ("both", None, "the tag"),
    ];
    for theme in [egui::Theme::Light, egui::Theme::Dark] {
        rig.harness.ctx.set_theme(theme);
        rig.steps(2);
        let stroke = archlens::ui::cursor_stroke(&rig.harness.ctx.style_of(theme).visuals);
        for (tag, platform, what) in cases {
            rig.harness.state_mut().dispatch(archlens::state::UiAction::Select { tag: tag.into(), platform: platform.map(String::from) });
            rig.steps(2);
            let rects = stroked_rects(rig.harness.output(), stroke);
            assert_eq!(rects.len(), 1, "{theme:?}, {what}: one cursor outline, found {rects:?}");
            let cursor = rects[0];
            // It sits in the tag's row, under the platform's column header (or on the tag).
            // The matrix's own label: the leftmost (details on the right may repeat it).
            let leftmost =
                |label: &str| rig.harness.query_all_by_label(label).map(|n| n.rect()).min_by(|a, b| a.left().total_cmp(&b.left())).expect("a label on screen");
            let row = leftmost(tag);
            assert!(cursor.center().y > row.top() - 4.0 && cursor.center().y < row.bottom() + 4.0, "{theme:?}, {what}: {cursor:?} not in row {row:?}");
            let column = match platform {
                Some(k) => leftmost(k),
                None => row,
            };
            assert!(cursor.left() <= column.left() + 4.0 && cursor.right() >= column.left(), "{theme:?}, {what}: {cursor:?} not in column {column:?}");
            assert!(cursor.width() >= 20.0 && cursor.height() >= 14.0, "{theme:?}, {what}: the outline spans the cell: {cursor:?}");
        }
    }
}

#[test]
fn the_legend_opens_with_its_button_and_f1_and_esc_closes_it_before_cancelling() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64"]) }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("Legend").click();
    rig.steps(2);
    rig.harness.get_by_label("no image for this platform");
    rig.harness.get_by_label("Apple-silicon Mac (Docker Desktop) pulls this image");
    // Esc closes the legend and leaves the load running.
    rig.sent();
    rig.harness.key_press(egui::Key::Escape);
    rig.steps(2);
    assert!(rig.harness.query_by_label("no image for this platform").is_none());
    assert!(rig.sent().iter().all(|c| !matches!(c, Command::Cancel { .. })), "Esc closed the legend only");
    assert!(rig.harness.state().state.is_loading());
    rig.harness.key_press(egui::Key::F1);
    rig.steps(2);
    rig.harness.get_by_label("no image for this platform");
    rig.harness.key_press(egui::Key::F1);
    rig.steps(2);
    assert!(rig.harness.query_by_label("no image for this platform").is_none());
    // An open combo box takes Esc for itself: it closes, the load goes on.
    rig.harness.get_by_label("Only missing").click();
    rig.steps(2);
    assert!(egui::Popup::is_any_open(&rig.harness.ctx), "the combo box is open");
    rig.harness.key_press(egui::Key::Escape);
    rig.steps(2);
    assert!(!egui::Popup::is_any_open(&rig.harness.ctx), "Esc closed the combo box");
    assert!(rig.sent().iter().all(|c| !matches!(c, Command::Cancel { .. })), "and did not cancel the load");
    // With nothing open, Esc stops the load.
    rig.harness.key_press(egui::Key::Escape);
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::Cancel { .. })));
}

#[test]
fn file_dialogs_run_off_the_ui_thread_and_a_typed_path_always_works() {
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};
    // A dialog that stays open until the test answers for the user.
    let (answer, answers) = std::sync::mpsc::channel::<Option<PathBuf>>();
    let answers = Arc::new(Mutex::new(answers));
    let runner: archlens::ui::files::DialogRunner = Arc::new(move |_| answers.lock().unwrap().recv().ok().flatten());
    let mut rig = Rig::with(StartTarget::Repository("127.0.0.1:5000/team/app".into()), egui::vec2(1400.0, 900.0), |app| app.with_dialogs(runner, true));
    rig.steps(2);
    let id = rig.load_id();
    rig.harness.get_by_label("Open folder…").click();
    rig.steps(2);
    rig.harness.get_by_label("Open an OCI image layout");
    rig.harness.get_by_label("Browse…").click();
    rig.steps(2);
    rig.harness.get_by_label("A file dialog is open.");
    // The app goes on drawing and taking events while the dialog is open.
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64"]) }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label("1.0");
    rig.sent();
    answer.send(Some(PathBuf::from("/srv/layouts/app"))).unwrap();
    let mut sent = Vec::new();
    rig.until("the chosen folder opens", |rig| {
        sent.extend(rig.sent());
        sent.iter().any(|c| matches!(c, Command::OpenLayout { .. }))
    });
    assert!(sent.iter().any(|c| matches!(c, Command::OpenLayout { path, .. } if path == &PathBuf::from("/srv/layouts/app"))), "{sent:?}");
    assert!(rig.harness.query_by_label("Open an OCI image layout").is_none(), "the prompt closed");
    // A dialog that comes back with nothing leaves the prompt, which says to type the path.
    rig.harness.get_by_label("Compose…").click();
    // The pinned push bar takes its height in the frame after it first shows.
    rig.steps(3);
    rig.harness.get_by_label("Import…").click();
    rig.steps(2);
    rig.harness.get_by_label("Browse…").click();
    rig.steps(2);
    answer.send(None).unwrap();
    rig.until("a note after an empty answer", |rig| rig.harness.query_by_label("Nothing chosen. If no dialog appeared, type the path here.").is_some());
    rig.harness.get_by_label("Draft file").focus();
    rig.harness.get_by_label("Draft file").type_text("/srv/drafts/fix.json");
    rig.harness.key_press(egui::Key::Enter);
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::LoadDraft { path, .. } if path == &PathBuf::from("/srv/drafts/fix.json"))));
    // Esc closes the prompt.
    rig.harness.get_by_label("Export…").click();
    rig.steps(2);
    rig.harness.get_by_label("Export the draft");
    rig.harness.key_press(egui::Key::Escape);
    rig.steps(2);
    assert!(rig.harness.query_by_label("Export the draft").is_none());
}

#[test]
fn without_a_file_dialog_the_app_says_so_and_takes_a_typed_path() {
    use std::path::PathBuf;
    let runner: archlens::ui::files::DialogRunner = std::sync::Arc::new(|_| panic!("no dialog may be started where there is none"));
    let mut rig = Rig::with(StartTarget::Nothing, egui::vec2(800.0, 600.0), |app| app.with_dialogs(runner, false));
    rig.steps(2);
    rig.harness.get_by_label("Open folder…").click();
    rig.steps(2);
    rig.harness.get_by_label("This desktop offers no file dialog (no xdg-desktop-portal, no zenity): type the path.");
    rig.harness.get_by_label("Browse…").click();
    rig.steps(2);
    rig.harness.get_by_label("Folder").focus();
    rig.harness.get_by_label("Folder").type_text("/srv/layouts/app");
    rig.harness.key_press(egui::Key::Enter);
    rig.steps(2);
    assert!(rig.sent().iter().any(|c| matches!(c, Command::OpenLayout { path, .. } if path == &PathBuf::from("/srv/layouts/app"))));
}

#[test]
fn rows_arriving_in_version_order_do_not_move_the_row_being_read() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    let tag = |n: usize| format!("1.{n}");
    for n in (0..400).step_by(2) {
        rig.events.send(Event::Row { id, result: index_row(&tag(n), &tag(n), &["linux/amd64"]) }).unwrap();
    }
    rig.steps(3);
    assert!(rig.harness.state().state.settings.sort_by_version, "version order is the default");
    // Scroll into the middle, the pointer over the rows.
    let header = rig.harness.get_by_label("Tag").rect();
    let pointer = header.center() + egui::vec2(0.0, 300.0);
    rig.wheel(pointer, -300.0, 6);
    // Until the wheel's smooth scrolling has settled.
    rig.steps(60);
    // The row under the pointer.
    let read = (0..400)
        .step_by(2)
        .map(tag)
        .find(|t| rig.harness.query_by_label(t).is_some_and(|n| n.rect().top() <= pointer.y && n.rect().bottom() >= pointer.y))
        .expect("a row under the pointer");
    let before = rig.harness.get_by_label(&read).rect().top();
    assert!(read != "1.398", "scrolled away from the top");
    // Rows land everywhere: between those shown and above them all.
    for n in (1..400).step_by(2) {
        rig.events.send(Event::Row { id, result: index_row(&tag(n), &tag(n), &["linux/amd64"]) }).unwrap();
    }
    for n in 0..20 {
        rig.events.send(Event::Row { id, result: index_row(&format!("2.{n}"), "new", &["linux/amd64"]) }).unwrap();
    }
    rig.steps(4);
    let after = rig.harness.get_by_label(&read).rect().top();
    assert!((after - before).abs() < 1.0, "{read} stayed under the reader: {before} then {after}");
    // Once the pointer leaves the rows, the top row holds its place instead.
    rig.harness.hover_at(egui::pos2(5.0, 5.0));
    rig.steps(2);
    let top_before = rig.harness.get_by_label(&read).rect().top();
    for n in 20..40 {
        rig.events.send(Event::Row { id, result: index_row(&format!("2.{n}"), "new", &["linux/amd64"]) }).unwrap();
    }
    rig.steps(4);
    let top_after = rig.harness.get_by_label(&read).rect().top();
    assert!((top_after - top_before).abs() < 1.0, "with the pointer elsewhere, {read} moved from {top_before} to {top_after}");
}

#[test]
fn at_the_top_the_view_stays_at_the_top_while_newer_rows_stream_in() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    for n in 0..50 {
        rig.events.send(Event::Row { id, result: index_row(&format!("1.{n}"), "a", &["linux/amd64"]) }).unwrap();
    }
    rig.steps(3);
    // The pointer resting over the rows, a row selected, nothing scrolled.
    let header = rig.harness.get_by_label("Tag").rect();
    let first = rig.harness.get_by_label("1.49").rect().top();
    rig.harness.get_by_label("1.45").click();
    rig.steps(2);
    // Selecting does not move the matrix under the pointer.
    assert_eq!(rig.harness.get_by_label("1.49").rect().top(), first, "the grid stayed put on selection");
    rig.harness.hover_at(header.center() + egui::vec2(0.0, 200.0));
    rig.steps(2);
    // Newer tags arrive; in version order they go above everything shown.
    for n in 0..100 {
        rig.events.send(Event::Row { id, result: index_row(&format!("2.{n}"), "b", &["linux/amd64"]) }).unwrap();
    }
    rig.steps(6);
    let newest = rig.harness.get_by_label("2.99").rect();
    assert!((newest.top() - first).abs() < 1.0, "the newest tag is the first row in view: {newest:?}, the first row was at {first}");
}

#[test]
fn a_flood_of_rows_is_folded_in_over_several_frames_not_one() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    let total = 20_000;
    for n in 0..total {
        rig.events.send(Event::Row { id, result: index_row(&format!("1.{n}"), "a", &["linux/amd64"]) }).unwrap();
    }
    let rows = |rig: &Rig| rig.harness.state().state.matrix.as_ref().map(|m| m.matrix.rows.len()).unwrap_or(0);
    rig.harness.step();
    let after_one = rows(&rig);
    assert!(after_one > 0 && after_one < total, "one frame takes a budget's worth, not all: {after_one} of {total}");
    // The rest come in the frames that follow, without any other input.
    rig.until("every row is in", |rig| rows(rig) == total);
}

#[test]
fn the_repositories_panel_folds_away_and_back_for_a_small_screen() {
    let mut rig = Rig::sized(StartTarget::Repository("127.0.0.1:5000/team/app".into()), egui::vec2(800.0, 600.0));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64", "linux/arm64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    let column = |rig: &Rig| rig.harness.get_by_label("linux/amd64").rect().left();
    // Under 1000 px with a matrix open, the panel starts folded: the matrix keeps its room.
    assert!(rig.harness.query_by_label("Open repository").is_none(), "folded on a small screen");
    let folded = column(&rig);
    // The toggle in the registry bar unfolds it (the panel's heading says the same, lower down).
    rig.harness.get_by_label("Repositories").click();
    rig.steps(3);
    rig.harness.get_by_label("Open repository");
    assert!(column(&rig) > folded + 100.0, "the panel takes its room: {} then {}", folded, column(&rig));
    assert!(!rig.harness.state().state.settings.hide_repositories, "a small screen's fold is not a setting");
    rig.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::B);
    rig.steps(3);
    assert!(rig.harness.query_by_label("Open repository").is_none(), "folded again");
    // On a wide window the toggle is the remembered setting.
    let mut wide = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    wide.steps(2);
    wide.harness.get_by_label("Open repository");
    wide.harness.query_all_by_label("Repositories").min_by(|a, b| a.rect().top().total_cmp(&b.rect().top())).unwrap().click();
    wide.steps(3);
    assert!(wide.harness.query_by_label("Open repository").is_none());
    assert!(wide.harness.state().state.settings.hide_repositories, "remembered in the settings");
}

#[test]
fn home_and_end_go_to_the_first_and_the_last_row() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    for t in ["1.0", "1.1", "1.2", "2.0"] {
        rig.events.send(Event::Row { id, result: index_row(t, t, &["linux/amd64"]) }).unwrap();
    }
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    let selected = |rig: &Rig| rig.harness.state().state.selection.as_ref().map(|s| s.tag.clone());
    rig.harness.key_press(egui::Key::End);
    rig.steps(1);
    let last = selected(&rig).expect("End selects a row");
    rig.harness.key_press(egui::Key::Home);
    rig.steps(1);
    let first = selected(&rig).expect("Home selects a row");
    assert_ne!(first, last);
    // Whatever order the view shows, Home and End are its ends: one step further stays put.
    rig.harness.key_press(egui::Key::ArrowUp);
    rig.steps(1);
    assert_eq!(selected(&rig), Some(first));
    rig.harness.key_press(egui::Key::End);
    rig.steps(1);
    rig.harness.key_press(egui::Key::ArrowDown);
    rig.steps(1);
    assert_eq!(selected(&rig), Some(last));
}

#[test]
fn a_mislabelled_pick_reads_clearly_flags_its_tag_and_is_said_in_the_details() {
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    let id = rig.load_id();
    let mut lying = index_row("1.0", "a", &["linux/amd64", "linux/arm64"]);
    if let TagOutcome::Index { children, .. } = &mut lying.outcome {
        children[1].verified = Some(archlens::model::matrix::Verified::ConfigMismatch { config: "linux/amd64".into() });
    }
    rig.events.send(Event::Row { id, result: lying }).unwrap();
    rig.events.send(Event::Row { id, result: index_row("2.0", "b", &["linux/arm64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(3);
    // The whole word, not cut; the digest is in the tooltip.
    rig.harness.get_by_label("mislabelled");
    // Its tag counts as having nothing that runs natively on the Mac.
    rig.harness.get_by_label_contains("1 tag has nothing Apple-silicon Mac (Docker Desktop) runs natively");
    rig.harness.get_by_label("mislabelled").click();
    rig.steps(2);
    rig.harness.get_by_label_contains("Mislabelled: the image's config says linux/amd64");
}

#[test]
fn several_cells_are_selected_with_ctrl_and_shift_and_added_at_once_or_dragged_onto_the_composer() {
    let mut rig = Rig::loaded(["1.0", "1.1", "1.2", "1.3"].iter().map(|t| index_row(t, t, &["linux/amd64", "linux/arm64"])).collect());
    let cell = |t: &str, p: &str| format!("{} 2.50 MB", short(&format!("{t} {p}")));
    // A click, then Shift-click: the arm64 cells of 1.3 down to 1.1 (version order).
    rig.harness.get_by_label(&cell("1.3", "linux/arm64")).click();
    rig.steps(2);
    rig.harness.get_by_label(&cell("1.1", "linux/arm64")).click_modifiers(egui::Modifiers::SHIFT);
    rig.steps(2);
    // Ctrl-click adds one more from another column.
    rig.harness.get_by_label(&cell("1.0", "linux/amd64")).click_modifiers(egui::Modifiers::COMMAND);
    rig.steps(2);
    let refs: Vec<String> = rig.harness.state().state.selected_references().iter().map(|r| r.to_string()).collect();
    let digest_ref = |t: &str, p: &str| format!("127.0.0.1:5000/team/app@{}", d(&format!("{t} {p}")));
    assert_eq!(refs, [digest_ref("1.3", "linux/arm64"), digest_ref("1.2", "linux/arm64"), digest_ref("1.1", "linux/arm64"), digest_ref("1.0", "linux/amd64")]);
    rig.sent();
    rig.harness.get_by_label("Add to draft").click();
    rig.steps(2);
    let adds = rig.sent().into_iter().filter(|c| matches!(c, Command::DraftAdd { .. })).count();
    assert_eq!(adds, 4, "one add per selected cell");
    // A plain click selects one again; dragging an unselected cell onto the composer adds it.
    rig.harness.get_by_label(&cell("1.2", "linux/amd64")).click();
    rig.steps(2);
    assert!(rig.harness.state().state.marked.is_empty());
    let from = rig.harness.get_by_label(&cell("1.0", "linux/arm64")).rect().center();
    let to = rig.harness.get_by_label("Compose an index").rect().center() + egui::vec2(0.0, 200.0);
    rig.harness.hover_at(from);
    rig.harness.event(egui::Event::PointerButton { pos: from, button: egui::PointerButton::Primary, pressed: true, modifiers: egui::Modifiers::NONE });
    rig.steps(1);
    for k in 1..=10 {
        rig.harness.hover_at(from + (to - from) * (k as f32 / 10.0));
        rig.steps(1);
    }
    rig.harness.event(egui::Event::PointerButton { pos: to, button: egui::PointerButton::Primary, pressed: false, modifiers: egui::Modifiers::NONE });
    rig.steps(2);
    let sent = rig.sent();
    let dropped: Vec<String> = sent
        .iter()
        .filter_map(|c| match c {
            Command::DraftAdd { reference, .. } => Some(reference.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [digest_ref("1.0", "linux/arm64")], "{sent:?}");
}

#[test]
fn the_composer_entries_fit_their_panel_at_1440x900() {
    let mut rig = Rig::sized(StartTarget::Repository("127.0.0.1:5000/team/app".into()), egui::vec2(1440.0, 900.0));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    rig.steps(2);
    rig.harness.get_by_label("1.0").click();
    rig.steps(2);
    rig.harness.get_by_label("Add to draft").click();
    rig.steps(3);
    let add = rig.first_sent("DraftAdd sent", |c| match c {
        Command::DraftAdd { id, .. } => Some(id),
        _ => None,
    });
    let entries = vec![draft_entry("linux/amd64", "amd"), draft_entry("linux/arm64/v8", "arm")];
    rig.events.send(Event::DraftEntries { id: add, entries }).unwrap();
    rig.steps(4);
    let panel = rig.harness.get_by_label("Compose an index").rect();
    for remove in rig.harness.query_all_by_label("Remove") {
        let r = remove.rect();
        assert!(r.left() >= panel.left() && r.right() <= 1440.0, "Remove inside the composer: {r:?} (panel from {})", panel.left());
    }
    for part in ["from 127.0.0.1:5000/team/arm".to_string(), d("arm").short(), "#2".to_string()] {
        let r = rig.harness.get_by_label(&part).rect();
        assert!(r.left() >= panel.left() && r.right() <= 1440.0, "{part} inside the composer: {r:?}");
    }
}

#[test]
fn a_long_error_wraps_with_dismiss_in_view_and_labels_wrap_with_their_fields() {
    let mut rig = Rig::sized(StartTarget::Repository("127.0.0.1:5000/team/app".into()), egui::vec2(800.0, 600.0));
    rig.steps(2);
    let id = rig.load_id();
    rig.events.send(Event::Row { id, result: index_row("1.0", "a", &["linux/amd64"]) }).unwrap();
    rig.events.send(Event::MatrixDone { id }).unwrap();
    let long = format!("undo failed: {} (the registry answered 405 Unsupported to DELETE of a tag)", "x".repeat(300));
    rig.harness.state_mut().state.notice = Some(long.clone());
    rig.steps(3);
    let dismiss = rig.harness.get_by_label("Dismiss").rect();
    assert!(dismiss.right() <= 800.0 && dismiss.bottom() <= 600.0, "Dismiss in view: {dismiss:?}");
    let text = rig.harness.get_by_label(&long).rect();
    assert!(text.right() <= 800.0 && text.height() > 30.0, "the message wraps in the window: {text:?}");
    // Each label stays on the line of its field when the toolbar wraps.
    for (label, field) in [("Tags", "Tags"), ("Only missing", "Only missing"), ("Host", "Host"), ("or platform", "or platform")] {
        let l = rig.harness.query_all_by_label(label).next().unwrap().rect();
        let f = rig.harness.query_all_by_label(field).last().unwrap().rect();
        assert!((l.center().y - f.center().y).abs() < 12.0, "{label} beside its field: {l:?} {f:?}");
        assert!(f.right() <= 800.0, "{label}'s field inside the window, not clipped at its edge: {f:?}");
    }
    // It stays put from frame to frame.
    let at = rig.harness.get_by_label("Dismiss").rect();
    rig.steps(2);
    assert_eq!(rig.harness.get_by_label("Dismiss").rect(), at);
    rig.harness.get_by_label("Dismiss").click();
    rig.steps(2);
    assert!(rig.harness.state().state.notice.is_none());
}

#[test]
fn no_overwrite_to_confirm_when_the_draft_is_what_the_tag_holds() {
    use archlens::state::UiAction;
    use archlens::state::composer::ComposerAction as A;
    let mut rig = Rig::new(StartTarget::Repository("127.0.0.1:5000/team/app".into()));
    rig.steps(2);
    {
        let app = rig.harness.state_mut();
        app.state.composer.open = true;
        let reference = archlens::model::Reference::parse("127.0.0.1:5000/team/amd:1").unwrap();
        let source = archlens::worker::SourceRef::Registry(reference.registry().clone());
        let cmds = app.state.handle(UiAction::Composer(A::Add { source, reference }));
        let Command::DraftAdd { id, .. } = cmds[0] else { panic!("{cmds:?}") };
        app.state.apply(Event::DraftEntries { id, entries: vec![draft_entry("linux/amd64", "amd")] });
        let target = archlens::model::Reference::parse("127.0.0.1:5000/team/app:2").unwrap();
        app.state.composer.target_input = target.to_string();
        let cmds = app.state.handle(UiAction::Composer(A::CheckTarget));
        let Command::TargetStatus { id, .. } = cmds[0] else { panic!("{cmds:?}") };
        let (bytes, digest) = app.state.composer.preview();
        app.state.apply(Event::TargetState { id, target, current: Some(digest), bytes: Some(bytes) });
    }
    rig.steps(3);
    rig.harness.get_by_label("The draft is exactly what the tag holds: nothing to push.");
    assert!(rig.harness.query_by_label("Confirm overwrite").is_none(), "nothing to confirm");
}

#[test]
fn the_size_plot_opens_under_the_matrix_and_a_click_on_a_point_selects_its_tag() {
    let sized = |tag: &str, mb: u64| {
        let mut r = index_row(tag, tag, &["linux/amd64", "linux/arm64"]);
        if let TagOutcome::Index { children, .. } = &mut r.outcome {
            for c in children.iter_mut() {
                c.compressed_size = Some(mb * 1024 * 1024);
            }
        }
        r
    };
    let mut rig = Rig::loaded(vec![sized("1.0", 10), sized("1.1", 11), sized("2.0", 30)]);
    assert!(rig.harness.query_by_label_contains("Compressed size over versions").is_none());
    rig.harness.get_by_label("Sizes").click();
    rig.steps(3);
    rig.harness.get_by_label_contains("Compressed size over versions");
    // The point of 1.1 on the amd64 line, where the plot drew it.
    let memory = egui_plot::PlotMemory::load(&rig.harness.ctx, egui::Id::unique(archlens::ui::sizes::PLOT_ID)).expect("the plot was drawn");
    let at = memory.transform().position_from_point(&egui_plot::PlotPoint::new(1.0, 11.0));
    rig.harness.hover_at(at);
    rig.steps(1);
    rig.harness.event(egui::Event::PointerButton { pos: at, button: egui::PointerButton::Primary, pressed: true, modifiers: egui::Modifiers::NONE });
    rig.steps(1);
    rig.harness.event(egui::Event::PointerButton { pos: at, button: egui::PointerButton::Primary, pressed: false, modifiers: egui::Modifiers::NONE });
    rig.steps(2);
    let selected = rig.harness.state().state.selection.clone().map(|s| s.tag);
    assert_eq!(selected.as_deref(), Some("1.1"));
    // F2 closes it again (the matrix has the keyboard, no text field is focused).
    rig.harness.key_press(egui::Key::F2);
    rig.steps(2);
    assert!(rig.harness.query_by_label_contains("Compressed size over versions").is_none());
}

/// A comparison of `before` and `after` as the worker would answer it: amd64 with one layer
/// shared and one replaced, `Env.MODE` changed; riscv64 only after.
fn compared(before: &str, after: &str, files: bool) -> archlens::model::diff::Diff {
    use archlens::model::diff::{Change, ConfigDiff, Layer, LayerDiff};
    use archlens::model::diff::{Diff, FilesDiff, FilesRead, PlatformDiff};
    use archlens::model::files::{ChangeKind, FileChange, FileKind, FileMeta};
    let layer = |n: &str, size: u64| Layer { digest: d(n).to_string(), size };
    let file = |size: u64| FileMeta { kind: FileKind::File, mode: 0o755, size, link: None, sha256: Some(d("x").to_string()) };
    Diff {
        before: before.into(),
        after: after.into(),
        platforms: vec![PlatformDiff {
            platform: "linux/amd64".into(),
            before: d(&format!("{before} linux/amd64")).to_string(),
            after: d(&format!("{after} linux/amd64")).to_string(),
            layers: LayerDiff {
                shared: vec![layer("base", 1_000_000)],
                added: vec![layer("app v2", 600_000)],
                removed: vec![layer("app v1", 500_000)],
                size_before: 1_500_000,
                size_after: 1_600_000,
            },
            config: ConfigDiff {
                changes: vec![Change { key: "Env.MODE".into(), before: Some(serde_json::json!("1")), after: Some(serde_json::json!("2")) }],
                history_added: vec!["COPY app /app".into()],
            },
            annotations: Vec::new(),
            files: files.then(|| FilesDiff {
                shared_layers: 1,
                changes: vec![
                    FileChange { path: "app/server".into(), change: ChangeKind::Changed, before: Some(file(9)), after: Some(file(18)), base_unread: false },
                    FileChange { path: "app/new.txt".into(), change: ChangeKind::Added, before: None, after: Some(file(3)), base_unread: true },
                ],
            }),
        }],
        removed_platforms: Vec::new(),
        added_platforms: vec!["linux/riscv64".into()],
        annotations: Vec::new(),
        files_read: files.then_some(FilesRead { layers: 2, from_cache: 0, bytes: 1_100_000, layer_bytes: 1_100_000 }),
    }
}

#[test]
fn two_tags_are_compared_older_first_with_layers_side_by_side_and_files_on_demand() {
    let mut rig = Rig::loaded(["1.0", "1.1", "2.0"].iter().map(|t| index_row(t, t, &["linux/amd64"])).collect());
    // One tag alone is not two: the panel says what to do.
    rig.harness.get_by_label("2.0").click();
    rig.steps(2);
    rig.harness.get_by_label("Compare").click();
    rig.steps(2);
    rig.harness.get_by_label_contains("Compare takes two tags or cells");
    rig.harness.get_by_label("Dismiss").click();
    // The newer picked first, the older Ctrl-clicked: still compared older → newer.
    rig.harness.get_by_label("1.0").click_modifiers(egui::Modifiers::COMMAND);
    rig.steps(2);
    rig.sent();
    rig.harness.get_by_label("Compare").click();
    rig.steps(2);
    let (cid, before, after, files) = rig.first_sent("a Compare command", |c| match c {
        Command::Compare { id, before, after, files, .. } => Some((id, before.to_string(), after.to_string(), files)),
        _ => None,
    });
    assert_eq!((before.as_str(), after.as_str(), files), ("127.0.0.1:5000/team/app:1.0", "127.0.0.1:5000/team/app:2.0", false));
    rig.harness.get_by_label("Reading manifests and configs…");
    rig.events.send(Event::Compared { id: cid, diff: Box::new(compared(&before, &after, false)) }).unwrap();
    rig.steps(3);
    // Layers side by side: the shared one in both columns, the replaced one left and right.
    let cell = |name: &str, size: &str| format!("{} {size}", &d(name).encoded()[..12]);
    assert_eq!(rig.harness.get_all_by_label(&cell("base", "1.00 MB")).count(), 2);
    let (left, right) = (rig.harness.get_by_label(&cell("app v1", "500 kB")).rect(), rig.harness.get_by_label(&cell("app v2", "600 kB")).rect());
    assert!(left.right() <= right.left() && (left.center().y - right.center().y).abs() < 2.0, "removed left of added, on one row: {left:?} {right:?}");
    rig.harness.get_by_label("Env.MODE");
    rig.harness.get_by_label_contains("linux/riscv64");
    rig.harness.get_by_label_contains("+100 kB");
    // The files, on demand: the same two again.
    rig.harness.get_by_label_contains("Compare files (reads about 1.10 MB)").click();
    rig.steps(2);
    let (fid, files) = rig.first_sent("a Compare command with files", |c| match c {
        Command::Compare { id, files, .. } => Some((id, files)),
        _ => None,
    });
    assert!(files);
    rig.harness.get_by_label("Env.MODE");
    rig.events.send(Event::Compared { id: fid, diff: Box::new(compared(&before, &after, true)) }).unwrap();
    rig.steps(3);
    rig.harness.get_by_label_contains("~ /app/server: file 0755 9 B -> file 0755 18 B");
    rig.harness.get_by_label_contains("+ /app/new.txt (file 0755 3 B) *");
    // A manifest digest opens in details; details bring the comparison back.
    rig.harness.get_by_label(&d(&format!("{after} linux/amd64")).encoded()[..12]).click();
    rig.steps(2);
    rig.first_sent("an Inspect of the digest", |c| matches!(c, Command::Inspect { .. }).then_some(()));
    rig.harness.get_by_label("Comparison").click();
    rig.steps(2);
    rig.harness.get_by_label("Env.MODE");
    // "vs previous" on 1.1 compares 1.0 with it.
    rig.harness.get_by_label("1.1").click();
    rig.steps(2);
    rig.harness.get_by_label("vs previous").click();
    rig.steps(2);
    let pair = rig.compare_sent("a Compare with the previous tag");
    assert_eq!(pair, ("127.0.0.1:5000/team/app:1.0".to_string(), "127.0.0.1:5000/team/app:1.1".to_string()));
    // The same from a row's context menu; and "Compare with" the selected tag.
    rig.harness.get_by_label("2.0").click_secondary();
    rig.steps(2);
    rig.harness.get_by_label("Compare with previous version").click();
    rig.steps(2);
    let pair = rig.compare_sent("a Compare from the context menu");
    assert_eq!(pair, ("127.0.0.1:5000/team/app:1.1".to_string(), "127.0.0.1:5000/team/app:2.0".to_string()));
    rig.harness.get_by_label("1.0").click_secondary();
    rig.steps(2);
    rig.harness.get_by_label("Compare with 2.0").click();
    rig.steps(2);
    let pair = rig.compare_sent("a Compare with the selected tag");
    assert_eq!(pair, ("127.0.0.1:5000/team/app:1.0".to_string(), "127.0.0.1:5000/team/app:2.0".to_string()));
}
