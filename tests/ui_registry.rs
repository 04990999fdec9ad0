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
    // SAFETY: set before the worker thread starts; no other thread reads the environment yet.
    unsafe { std::env::set_var("ARCHLENS_CACHE_DIR", cache.path()) };
    let worker = archlens::worker::spawn(ClientOptions::default(), Arc::new(|| {})).unwrap();
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
