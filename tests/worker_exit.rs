//! Quitting right after a change keeps it: dropping the worker's handle (the app closing)
//! waits until the settings sent last are on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use archlens::protocol::{Command, SETTINGS_REQUEST};
use archlens::registry::ClientOptions;
use archlens::settings::Settings;

#[test]
fn settings_sent_just_before_quitting_are_written_before_the_worker_goes() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: the only test in this binary sets the environment before any thread of its own
    // (the worker) starts.
    unsafe {
        std::env::set_var("ARCHLENS_CONFIG_DIR", dir.path());
    }
    let worker = archlens::worker::spawn_with(ClientOptions::default(), None, None, std::sync::Arc::new(|| {})).unwrap();
    let mut last = Settings::default();
    for round in 0..40 {
        last.favourites = (0..500).map(|i| format!("team/app-{round}-{i}")).collect();
        worker.send(Command::SaveSettings { id: SETTINGS_REQUEST, settings: Box::new(last.clone()) });
    }
    drop(worker);
    let saved = archlens::settings::load_from(&dir.path().join("settings.json")).expect("the settings file is written before the handle is gone");
    assert_eq!(saved, last, "the file holds the settings sent last");
}
