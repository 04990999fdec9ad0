//! End to end: the desktop app with its real worker opens a seeded repository on the local
//! registry, the matrix fills, and the cells show what was seeded.

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
    let mut settings = Settings::default();
    settings.host = "arm64-server".into();
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
