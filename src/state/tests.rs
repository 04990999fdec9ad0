use super::*;
use crate::model::manifest::ManifestKind;
use crate::model::matrix::{CellSource, Child, TagOutcome, TagResult};
use crate::model::platform::MatchKind;
use crate::model::reference::Registry;

fn d(s: &str) -> Digest {
    Digest::sha256(s.as_bytes())
}

fn row(tag: &str, index: &str, platforms: &[&str]) -> TagResult {
    TagResult {
        pushed: None,
        tag: tag.into(),
        outcome: TagOutcome::Index {
            digest: d(index),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            kind: ManifestKind::OciIndex,
            children: platforms
                .iter()
                .map(|p| Child {
                    source: CellSource::Registry,
                    platform: Some(Platform::parse_key(p).unwrap()),
                    digest: d(&format!("{tag}{p}")),
                    size: 10,
                    compressed_size: Some(100),
                    error: None,
                    attestation: None,
                    verified: None,
                })
                .collect(),
            attestations: 0,
        },
    }
}

fn open(state: &mut AppState) -> RequestId {
    let cmds = state.handle(UiAction::OpenRepository("127.0.0.1:5000/team/app".into()));
    // A new registry is connected to first, then the matrix loads.
    assert!(matches!(cmds[0], Command::Connect { .. }), "{cmds:?}");
    match cmds.last() {
        Some(Command::LoadMatrix { id, repository, .. }) => {
            assert_eq!(repository.to_string(), "127.0.0.1:5000/team/app");
            *id
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rows_arrive_and_stale_events_are_ignored() {
    let mut s = AppState::new(Settings::default());
    let first = open(&mut s);
    s.apply(Event::Row { id: first, result: row("1.0", "a", &["linux/amd64"]) });
    // Switching repository cancels the old load; its late rows do not land.
    let cmds = s.handle(UiAction::OpenRepository("127.0.0.1:5000/team/other".into()));
    assert!(matches!(cmds[0], Command::Cancel { id } if id == first));
    let Command::LoadMatrix { id: second, .. } = cmds[1] else { panic!() };
    s.apply(Event::Row { id: first, result: row("stale", "x", &["linux/s390x"]) });
    s.apply(Event::Row { id: second, result: row("2.0", "b", &["linux/arm64"]) });
    let mv = s.matrix.as_ref().unwrap();
    assert_eq!(mv.matrix.rows.len(), 1);
    assert_eq!(mv.matrix.rows[0].tag, "2.0");
    assert!(s.is_loading());
    s.apply(Event::MatrixDone { id: second });
    assert!(!s.is_loading());
    assert_eq!(s.settings.recent_repositories[0], "127.0.0.1:5000/team/other");
}

#[test]
fn a_failed_refresh_keeps_what_is_on_screen() {
    let mut s = AppState::new(Settings::default());
    let id = open(&mut s);
    s.apply(Event::Row { id, result: row("1.0", "a", &["linux/amd64"]) });
    s.apply(Event::MatrixDone { id });
    let cmds = s.handle(UiAction::Refresh);
    let Command::LoadMatrix { id: again, .. } = cmds[0] else { panic!("{cmds:?}") };
    s.apply(Event::Failed { id: again, error: "cannot connect".into() });
    let mv = s.matrix.as_ref().unwrap();
    assert_eq!(mv.matrix.rows.len(), 1, "rows survive a failed refresh");
    assert_eq!(mv.error.as_deref(), Some("cannot connect"));
    assert_eq!(s.notice, None, "said once, in the matrix, not again as a notice");
}

#[test]
fn filters_sorting_missing_platform_and_shared_digests() {
    let mut s = AppState::new(Settings::default());
    let id = open(&mut s);
    for r in [
        row("1.9", "a", &["linux/amd64", "linux/arm64"]),
        row("1.10", "b", &["linux/amd64"]),
        row("latest", "b", &["linux/amd64"]),
        row("0.1", "c", &["linux/arm64"]),
    ] {
        s.apply(Event::Row { id, result: r });
    }
    s.derive();
    let tags = |s: &AppState| -> Vec<String> {
        let m = &s.matrix.as_ref().unwrap().matrix;
        s.derived.visible.iter().map(|&i| m.rows[i].tag.clone()).collect()
    };
    assert_eq!(tags(&s), ["latest", "1.10", "1.9", "0.1"], "newest version first");
    s.only_missing = Some("linux/arm64".into());
    s.derive();
    assert_eq!(tags(&s), ["latest", "1.10"]);
    s.only_missing = None;
    s.tag_filter = "1.*".into();
    s.derive();
    assert_eq!(tags(&s), ["1.10", "1.9"]);
    assert_eq!(s.derived.shared[&d("b")], ["1.10", "latest"]);
}

#[test]
fn keyboard_cursor_moves_over_visible_cells_and_enter_inspects() {
    let mut s = AppState::new(Settings::default());
    let id = open(&mut s);
    s.apply(Event::Row { id, result: row("2", "a", &["linux/amd64", "linux/arm64"]) });
    s.apply(Event::Row { id, result: row("1", "b", &["linux/amd64"]) });
    s.handle(UiAction::MoveCursor { rows: 1, cols: 0 });
    assert_eq!(s.selection, Some(Selection { tag: "2".into(), platform: None }));
    s.handle(UiAction::MoveCursor { rows: 0, cols: 2 });
    assert_eq!(s.selection, Some(Selection { tag: "2".into(), platform: Some("linux/arm64".into()) }));
    s.handle(UiAction::MoveCursor { rows: 5, cols: 0 });
    assert_eq!(s.selection.as_ref().unwrap().tag, "1");
    s.handle(UiAction::MoveCursor { rows: 0, cols: -1 });
    let cmds = s.handle(UiAction::OpenDetails);
    let Command::Inspect { reference, .. } = &cmds[0] else { panic!("{cmds:?}") };
    assert_eq!(reference.digest, Some(d("1linux/amd64")));
    assert!(s.details.shown.is_pending());
}

#[test]
fn host_pick_follows_containerd_rules() {
    let mut s = AppState::new(Settings::default());
    let id = open(&mut s);
    s.apply(Event::Row { id, result: row("arm", "a", &["linux/arm/v6", "linux/arm/v7"]) });
    s.apply(Event::Row { id, result: row("x86", "b", &["linux/amd64"]) });
    let m = s.matrix.as_ref().unwrap().matrix.clone();
    s.handle(UiAction::SetHost("rpi64".into()));
    assert_eq!(s.host_pick(&m.rows[0]), Some(("linux/arm/v7".to_string(), MatchKind::Fallback)));
    assert_eq!(s.host_pick(&m.rows[1]), None);
    s.handle(UiAction::SetHost("linux/arm/v6".into()));
    assert_eq!(s.host_pick(&m.rows[0]), Some(("linux/arm/v6".to_string(), MatchKind::Exact)));
    // The per-row picks computed for drawing agree with the direct computation.
    s.derive();
    for (i, r) in m.rows.iter().enumerate() {
        assert_eq!(s.derived.picks[i], s.host_pick(r), "{}", r.tag);
    }
    s.handle(UiAction::SetHost("not a platform".into()));
    assert_eq!(s.settings.host, "linux/arm/v6");
    assert!(s.notice.is_some());
}

#[test]
fn connect_lists_repositories_unless_the_catalog_is_hidden() {
    let mut s = AppState::new(Settings::default());
    let cmds = s.handle(UiAction::Connect("127.0.0.1:5000".into()));
    assert_eq!(cmds.len(), 2);
    let Command::ListRepos { id, .. } = cmds[1] else { panic!() };
    s.apply(Event::ReposPage { id, repos: vec!["a".into()], next: Some("n".into()) });
    let more = s.handle(UiAction::LoadMoreRepos);
    let Command::ListRepos { id: id2, page, .. } = &more[0] else { panic!() };
    assert_eq!(page.as_deref(), Some("n"));
    s.apply(Event::ReposPage { id: *id2, repos: vec!["b".into()], next: None });
    assert_eq!(s.repos.list.value().unwrap(), &["a", "b"]);
    // A matrix loading from this registry is left alone by reconnecting to it…
    let cmds = s.handle(UiAction::OpenRepository("127.0.0.1:5000/team/app".into()));
    let load = cmds
        .iter()
        .find_map(|c| match c {
            Command::LoadMatrix { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    let again = s.handle(UiAction::Connect("127.0.0.1:5000".into()));
    assert!(!again.iter().any(|c| matches!(c, Command::Cancel { id } if *id == load)), "{again:?}");
    // …and cancelled by switching to another registry, keeping its rows.
    let hub = s.handle(UiAction::Connect("docker.io".into()));
    assert!(hub.iter().any(|c| matches!(c, Command::Cancel { id } if *id == load)), "{hub:?}");
    assert!(!s.is_loading());
    let hub: Vec<Command> = hub.into_iter().filter(|c| !matches!(c, Command::Cancel { id } if *id == load)).collect();
    assert!(matches!(hub[0], Command::Cancel { .. }), "the pending connect is cancelled");
    assert!(matches!(hub.last(), Some(Command::Connect { .. })), "{hub:?}");
    assert!(!hub.iter().any(|c| matches!(c, Command::ListRepos { .. })), "Docker Hub hides its catalog");
    assert!(matches!(s.handle(UiAction::Connect("bad host!".into())).as_slice(), []));
    assert!(s.notice.is_some());
}

#[test]
fn composer_push_needs_a_checked_target_and_a_confirmed_overwrite_and_can_be_cancelled() {
    use super::composer::ComposerAction as A;
    let mut s = AppState::new(Settings::default());
    add_amd64_entry(&mut s);
    assert_eq!(s.composer.draft.entries.len(), 1);
    s.composer.target_input = "127.0.0.1:5000/a/release:1".into();
    assert!(s.composer.push_blocker().unwrap().contains("check the target"));
    assert!(s.handle(UiAction::Composer(A::Push)).is_empty());
    let cmds = s.handle(UiAction::Composer(A::CheckTarget));
    let Command::TargetStatus { id, target } = cmds[0].clone() else { panic!() };
    s.apply(Event::TargetState { id, target, current: Some(d("old")), bytes: None });
    assert!(s.composer.push_blocker().unwrap().contains("confirm the overwrite"));
    s.handle(UiAction::Composer(A::ConfirmOverwrite));
    // An entry annotation goes on the entry, not the index.
    s.composer.annotation_target = Some(0);
    s.composer.annotation_key = "org.example".into();
    s.composer.annotation_value = "v".into();
    s.handle(UiAction::Composer(A::AddAnnotation));
    assert_eq!(s.composer.draft.entries[0].annotations["org.example"], "v");
    assert!(s.composer.draft.annotations.is_empty());
    let cmds = s.handle(UiAction::Composer(A::Push));
    let Command::PushDraft { id: push, expect_previous, .. } = &cmds[0] else { panic!("{cmds:?}") };
    assert_eq!(expect_previous.as_ref(), Some(&d("old")));
    let cancel = s.handle(UiAction::Cancel);
    assert!(cancel.iter().any(|c| matches!(c, Command::Cancel { id } if id == push)), "{cancel:?}");
    // Cancelled: the tag is read again, so the panel says what it holds now.
    let again = s.apply(Event::Cancelled { id: *push });
    assert!(matches!(s.composer.push, Loadable::Failed { .. }));
    assert!(again.iter().any(|c| matches!(c, Command::TargetStatus { .. })), "{again:?}");
    // A failed push is said once, where the push is shown: not again as the composer's error.
    let Command::TargetStatus { id, target } = again.iter().find(|c| matches!(c, Command::TargetStatus { .. })).cloned().unwrap() else { unreachable!() };
    s.apply(Event::TargetState { id, target, current: Some(d("old")), bytes: None });
    s.handle(UiAction::Composer(A::ConfirmOverwrite));
    let cmds = s.handle(UiAction::Composer(A::Push));
    let Command::PushDraft { id: push, .. } = &cmds[0] else { panic!("{cmds:?}") };
    s.apply(Event::Failed { id: *push, error: "HTTP 500 from the registry".into() });
    assert!(matches!(&s.composer.push, Loadable::Failed { error, .. } if error.contains("HTTP 500")));
    assert_eq!(s.composer.error, None, "said once");
}

#[test]
fn composer_platform_text_round_trips_os_features() {
    use super::composer::editable_platform;
    let p = Platform::parse_key("windows(10.0.17763.5122+win32k)/amd64").unwrap();
    assert_eq!(p.os_features, ["win32k"]);
    let text = editable_platform(&p);
    assert_eq!(Platform::parse_key(&text).unwrap(), p.normalize(), "{text}");
    assert_eq!(editable_platform(&Platform::parse_key("linux/arm/v7").unwrap()), "linux/arm/v7");
    assert_eq!(editable_platform(&Platform::parse_key("windows/amd64:10.0.20348.1").unwrap()), "windows/amd64:10.0.20348.1");
}

#[test]
fn composer_short_names_resolve_against_the_connected_registry() {
    use super::composer::ComposerAction as A;
    let mut s = AppState::new(Settings::default());
    s.composer.connected = Some(Registry::parse("127.0.0.1:5000").unwrap());
    s.composer.add_input = "team/app:1.0".into();
    let cmds = s.handle(UiAction::Composer(A::AddTyped));
    let Command::DraftAdd { reference, .. } = &cmds[0] else { panic!("{cmds:?}") };
    assert_eq!(reference.to_string(), "127.0.0.1:5000/team/app:1.0");
    s.composer.target_input = "team/app".into();
    assert!(s.composer.target_reference().unwrap_err().contains("name the tag"), "no implied :latest");
    s.composer.target_input = "team/app:2".into();
    assert_eq!(s.composer.target_reference().unwrap().to_string(), "127.0.0.1:5000/team/app:2");
}

#[test]
fn composer_edit_tag_asks_before_replacing_a_draft_and_partial_platforms_are_invalid() {
    use super::composer::ComposerAction as A;
    let mut s = AppState::new(Settings::default());
    add_amd64_entry(&mut s);
    s.composer.platform_inputs[0] = "linux".into();
    s.handle(UiAction::Composer(A::PlatformEdited(0)));
    assert_eq!(s.composer.invalid_platforms(), vec![0], "a partial platform is never completed from the host");
    assert_eq!(s.composer.draft.entries[0].platform.key(), "linux/amd64", "the entry keeps its platform");
    let r = Reference::parse("127.0.0.1:5000/a/b:1").unwrap();
    assert!(s.handle(UiAction::Composer(A::EditReference(r.clone()))).is_empty(), "asks first");
    assert_eq!(s.composer.confirm_replace.as_ref(), Some(&r));
    s.handle(UiAction::Composer(A::KeepDraft));
    assert_eq!(s.composer.draft.entries.len(), 1);
    s.handle(UiAction::Composer(A::EditReference(r.clone())));
    let cmds = s.handle(UiAction::Composer(A::ConfirmReplace));
    assert!(matches!(cmds[0], Command::DraftBase { .. }), "{cmds:?}");
    assert!(s.composer.draft.entries.is_empty());
    s.handle(UiAction::Composer(A::ClearDraft));
    assert!(s.composer.draft.entries.is_empty());
}

/// Add one linux/amd64 entry to the composer through the worker protocol.
fn add_amd64_entry(s: &mut AppState) {
    use super::composer::ComposerAction as A;
    use crate::model::compose::DraftEntry;
    let entry = DraftEntry {
        source: Reference::parse(&format!("127.0.0.1:5000/a/b@{}", d("x"))).unwrap(),
        digest: d("x"),
        media_type: crate::model::manifest::OCI_MANIFEST.into(),
        size: 10,
        platform: Platform::parse_key("linux/amd64").unwrap(),
        config_platform: None,
        kind: ManifestKind::OciImage,
        annotations: Default::default(),
        compressed_size: 0,
        missing: false,
        raw: None,
    };
    let cmds =
        s.handle(UiAction::Composer(A::Add { source: SourceRef::Registry(Registry::parse("127.0.0.1:5000").unwrap()), reference: entry.source.clone() }));
    let Command::DraftAdd { id, .. } = cmds[0] else { panic!("{cmds:?}") };
    s.apply(Event::DraftEntries { id, entries: vec![entry] });
}

#[test]
fn shared_digest_groups_keep_their_colour_when_rows_are_filtered() {
    let mut s = AppState::new(Settings::default());
    let id = open(&mut s);
    for (tag, index) in [("1.0", "x"), ("latest", "x"), ("2.0", "y"), ("stable", "y"), ("3.0", "z")] {
        s.apply(Event::Row { id, result: row(tag, index, &["linux/amd64"]) });
    }
    s.derive();
    let before = (s.derived.shared_group(&d("x")), s.derived.shared_group(&d("y")));
    assert!(before.0.is_some() && before.1.is_some() && before.0 != before.1);
    assert_eq!(s.derived.shared_group(&d("z")), None, "a digest of one tag is no group");
    // Filtering the x group away leaves y's colour where it was.
    s.tag_filter = "2.0".into();
    s.derive();
    assert_eq!(s.derived.visible.len(), 1);
    assert_eq!((s.derived.shared_group(&d("x")), s.derived.shared_group(&d("y"))), before);
}

/// Rows folded in as they stream give exactly the view computed afresh, under every filter,
/// both orders and a host; a new column or a replaced row recomputes.
#[test]
fn streaming_rows_derive_the_same_view_as_computing_afresh() {
    use crate::state::matrix::{Derived, Filters};
    let platforms = [&["linux/amd64", "linux/arm64"][..], &["linux/amd64"], &["linux/arm/v7", "linux/arm64"], &["linux/arm64"]];
    let mut results = Vec::new();
    for n in 0..120 {
        // Tags in no order, some sharing an index digest, an error and an artifact now and then.
        let tag = format!("{}.{}", (n * 37) % 11, (n * 53) % 17);
        let tag = if n % 9 == 0 { format!("v{tag}-rc1") } else { tag };
        let r = match n % 23 {
            5 => TagResult { pushed: None, tag, outcome: TagOutcome::Failed { error: "500".into() } },
            7 => TagResult { pushed: None, tag, outcome: TagOutcome::Artifact { digest: d("sig"), media_type: "x".into(), artifact_type: None } },
            _ => row(&tag, &format!("idx{}", n % 31), platforms[n % platforms.len()]),
        };
        results.push(r);
    }
    // A late new column, then a refresh replacing a row.
    results.push(row("9.9", "late", &["linux/s390x"]));
    results.push(row("1.1", "replaced", &["linux/amd64"]));
    let host = Platform::parse_key("linux/arm64").ok();
    let missing = "linux/amd64".to_string();
    let views: [(&str, Option<&String>, bool); 4] = [("", None, true), ("", None, false), ("1", None, true), ("*.1*", Some(&missing), true)];
    for (tag, only_missing, by_version) in views {
        let f = Filters { tag, only_missing, by_version, host: host.clone() };
        let mut m = Matrix::new("r");
        let mut derived = Derived::default();
        for (batch, chunk) in results.chunks(7).enumerate() {
            for r in chunk {
                m.push(r.clone());
            }
            let key = (batch as u64 + 1, tag.to_string(), only_missing.cloned(), by_version, "r".to_string(), "h".to_string(), 1);
            derived.update(&m, &f, key.clone());
            let fresh = Derived::compute(&m, &f, key, 0);
            let what = format!("filter {tag:?}, missing {only_missing:?}, by version {by_version}, batch {batch}");
            assert_eq!(derived.visible, fresh.visible, "{what}");
            assert_eq!(derived.shared, fresh.shared, "{what}");
            assert_eq!(derived.missing, fresh.missing, "{what}");
            assert_eq!(derived.picks, fresh.picks, "{what}");
            assert_eq!(derived.host_no_match, fresh.host_no_match, "{what}");
            for dg in fresh.shared.keys() {
                assert_eq!(derived.shared_group(dg), fresh.shared_group(dg), "{what}");
            }
        }
    }
}

#[test]
fn a_partial_platform_is_no_host() {
    let mut s = AppState::new(Settings::default());
    s.handle(UiAction::SetHost("linux".into()));
    assert_eq!(s.settings.host, "apple-silicon", "unchanged");
    assert!(s.notice.as_deref().is_some_and(|n| n.contains("incomplete")), "{:?}", s.notice);
    s.handle(UiAction::SetHost("linux/riscv64".into()));
    assert_eq!(s.host_platform().map(|p| p.key()).as_deref(), Some("linux/riscv64"));
}

#[test]
fn a_tag_moved_by_a_push_or_an_undo_is_read_again_in_the_open_matrix() {
    let mut s = AppState::new(Settings::default());
    let id = open(&mut s);
    s.apply(Event::Row { id, result: row("1.0", "a", &["linux/amd64"]) });
    s.apply(Event::Row { id, result: row("2.0", "b", &["linux/amd64"]) });
    s.apply(Event::MatrixDone { id });
    // A push to a tag of this repository: that tag is read again; of another, nothing.
    let cmds = s.reread(&crate::model::Reference::parse("127.0.0.1:5000/team/app:3.0").unwrap());
    let Some(Command::ReadTag { tag, repository, .. }) = cmds.first() else { panic!("{cmds:?}") };
    assert_eq!((tag.as_str(), repository.to_string().as_str()), ("3.0", "127.0.0.1:5000/team/app"));
    assert!(s.reread(&crate::model::Reference::parse("127.0.0.1:5000/team/other:1").unwrap()).is_empty());
    let repository = s.matrix.as_ref().unwrap().repository.clone();
    // The new tag appears, an edited tag shows what it holds now, an undone new tag goes.
    s.apply(Event::TagRead { id: 90, repository: repository.clone(), tag: "3.0".into(), result: Some(row("3.0", "c", &["linux/arm64"])) });
    s.apply(Event::TagRead { id: 91, repository: repository.clone(), tag: "2.0".into(), result: Some(row("2.0", "b2", &["linux/arm64"])) });
    s.apply(Event::TagRead { id: 92, repository: repository.clone(), tag: "1.0".into(), result: None });
    let other = crate::model::Repository::parse("127.0.0.1:5000/team/other").unwrap();
    s.apply(Event::TagRead { id: 93, repository: other, tag: "9.9".into(), result: Some(row("9.9", "z", &["linux/amd64"])) });
    let m = &s.matrix.as_ref().unwrap().matrix;
    let tags: Vec<&str> = m.rows.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["2.0", "3.0"]);
    assert!(m.rows[0].cells.contains_key("linux/arm64") && !m.rows[0].cells.contains_key("linux/amd64"), "the edited row shows its new entries");
    // The diagnosis shown of a moved tag runs again (a pushed repair); of another tag, not.
    s.diagnose.result = Loadable::Ready(Box::new(crate::model::diagnose::Diagnosis {
        reference: "127.0.0.1:5000/team/app:2.0".into(),
        host: "linux/arm64".into(),
        verdict: crate::model::diagnose::Verdict::BinaryMismatch,
        selected: None,
        findings: Vec::new(),
        binary: None,
        chain: Vec::new(),
        bytes_read: 0,
        remedy: Vec::new(),
        partly_verified: Vec::new(),
        config: None,
    }));
    assert!(s.rediagnose(&crate::model::Reference::parse("127.0.0.1:5000/team/app:3.0").unwrap()).is_empty());
    let cmds = s.rediagnose(&crate::model::Reference::parse("127.0.0.1:5000/team/app:2.0").unwrap());
    let Some(Command::Diagnose { reference, .. }) = cmds.first() else { panic!("{cmds:?}") };
    assert_eq!(reference.to_string(), "127.0.0.1:5000/team/app:2.0");
}

#[test]
fn a_bare_tag_typed_as_the_target_is_a_tag_of_the_open_repository() {
    let mut s = AppState::new(Settings::default());
    open(&mut s);
    s.composer.target_input = "3.1".into();
    assert_eq!(s.composer.target_reference().unwrap().to_string(), "127.0.0.1:5000/team/app:3.1");
    s.composer.target_input = "127.0.0.1:5000/team/other:1".into();
    assert_eq!(s.composer.target_reference().unwrap().to_string(), "127.0.0.1:5000/team/other:1");
    s.composer.target_input = "team/other".into();
    assert!(s.composer.target_reference().unwrap_err().contains("name the tag"), "a repository without a tag is still refused");
}

#[test]
fn what_a_diagnosis_or_verify_spends_of_the_pull_limit_is_said_before_it_runs() {
    let mut s = AppState::new(Settings::default());
    let cmds = s.handle(UiAction::OpenRepository("docker.io/library/app".into()));
    let Some(Command::LoadMatrix { id, .. }) = cmds.last() else { panic!("{cmds:?}") };
    let id = *id;
    s.apply(Event::Row { id, result: row("1.0", "a", &["linux/amd64", "linux/arm64"]) });
    let single = row("solo", "s", &["linux/amd64"]);
    let TagOutcome::Index { children, .. } = single.outcome else { unreachable!() };
    let child = children.into_iter().next().unwrap();
    s.apply(Event::Row {
        id,
        result: TagResult { pushed: None, tag: "solo".into(), outcome: TagOutcome::Image { digest: d("solo"), media_type: "m".into(), child } },
    });
    // Nothing typed or selected: nothing to cost.
    assert_eq!(s.diagnose_cost(), None);
    // Docker Hub before it has said what is left: the count, and that each is a pull.
    s.diagnose.reference = "1.0".into();
    let cost = s.diagnose_cost().unwrap();
    assert!(cost.contains("up to 2 manifests, each a pull on Docker Hub"), "{cost}");
    // After it has: out of what is left.
    s.apply(Event::RateLimit { id: 0, registry: Registry::parse("docker.io").unwrap(), remaining: "37;w=21600".into() });
    assert_eq!(s.diagnose_cost().unwrap(), "reads up to 2 manifests: 2 of your 37 pulls left (window 6 h); those already read cost none");
    // A single image, by tag or as a cell's digest: one manifest.
    s.diagnose.reference = "solo".into();
    assert!(s.diagnose_cost().unwrap().starts_with("reads up to 1 manifest:"));
    s.diagnose.reference = format!("@{}", d("1.0linux/arm64"));
    assert!(s.diagnose_cost().unwrap().starts_with("reads up to 1 manifest:"));
    // Verify: every tag and every cell.
    assert!(s.verify_cost().unwrap().starts_with("reads up to 5 manifests: 5 of your 37"), "{:?}", s.verify_cost());
    // A registry that does not meter reads: nothing said.
    let mut local = AppState::new(Settings::default());
    let id = open(&mut local);
    local.apply(Event::Row { id, result: row("1.0", "a", &["linux/amd64"]) });
    local.diagnose.reference = "1.0".into();
    assert_eq!(local.diagnose_cost(), None);
    assert_eq!(local.verify_cost(), None);
}

#[test]
fn a_repository_typed_where_a_registry_is_asked_for_opens_it() {
    let mut s = AppState::new(Settings::default());
    let cmds = s.handle(UiAction::Connect("127.0.0.1:5000/team/app:1.0".into()));
    assert!(s.notice.is_none(), "{:?}", s.notice);
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadMatrix { repository, .. } if repository.to_string() == "127.0.0.1:5000/team/app")), "{cmds:?}");
    assert_eq!(s.selection.as_ref().map(|x| x.tag.as_str()), Some("1.0"));
    assert_eq!(s.registry.as_ref().map(|r| r.name()), Some("127.0.0.1:5000"));
    // Without a tag: the repository alone.
    let mut s = AppState::new(Settings::default());
    let cmds = s.handle(UiAction::Connect(" 127.0.0.1:5000/team/app ".into()));
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadMatrix { .. })), "{cmds:?}");
    assert!(s.selection.is_none());
}

#[test]
fn the_size_plot_follows_the_visible_rows_in_version_order_and_marks_jumps() {
    let sized = |tag: &str, platforms: &[(&str, u64)]| {
        let mut r = row(tag, tag, &platforms.iter().map(|(p, _)| *p).collect::<Vec<_>>());
        if let TagOutcome::Index { children, .. } = &mut r.outcome {
            for (c, (_, size)) in children.iter_mut().zip(platforms) {
                c.compressed_size = Some(*size);
            }
        }
        r
    };
    let mut s = AppState::new(Settings::default());
    let id = open(&mut s);
    s.apply(Event::Row { id, result: sized("1.10", &[("linux/amd64", 300), ("linux/arm64", 200)]) });
    s.apply(Event::Row { id, result: sized("1.2", &[("linux/amd64", 100)]) });
    s.apply(Event::Row { id, result: sized("1.9", &[("linux/amd64", 105), ("linux/arm64", 190)]) });
    s.derive();
    assert!(s.sizes.tags.is_empty(), "nothing is computed while the plot is closed");
    s.handle(UiAction::ToggleSizes);
    s.derive();
    assert_eq!(s.sizes.tags, ["1.2", "1.9", "1.10"], "oldest first, by version");
    let line = |s: &AppState, p: &str| s.sizes.lines.iter().find(|l| l.platform == p).cloned().unwrap();
    let amd = line(&s, "linux/amd64");
    assert_eq!(amd.points.iter().map(|(x, p)| (*x, p.size, p.jump)).collect::<Vec<_>>(), [(0, 100, false), (1, 105, false), (2, 300, true)]);
    // arm64 starts at 1.9: its points sit at those tags' places, and a shrink is no jump.
    let arm = line(&s, "linux/arm64");
    assert_eq!(arm.points.iter().map(|(x, p)| (*x, p.jump)).collect::<Vec<_>>(), [(1, false), (2, false)]);
    assert_eq!((amd.column, arm.column), (0, 1), "each line takes its column's place (its colour)");
    assert_eq!((s.sizes.tag_at(1.3), s.sizes.tag_at(2.6), s.sizes.tag_at(-3.0)), (Some("1.9"), None, None));
    // The tag filter narrows the plot as it narrows the matrix; a new row is plotted as it comes.
    s.tag_filter = "1.1".into();
    s.derive();
    assert_eq!(s.sizes.tags, ["1.10"]);
    s.tag_filter.clear();
    s.apply(Event::Row { id, result: sized("1.11", &[("linux/amd64", 310)]) });
    s.derive();
    assert_eq!(s.sizes.tags, ["1.2", "1.9", "1.10", "1.11"]);
}
