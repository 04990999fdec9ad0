//! Cancel during a push, through the app's worker: once the index is being written the push is
//! no longer cancelled, and the app hears its real outcome. One test in this file: it sets the
//! fault-injection variable for the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

mod common;

use std::time::{Duration, Instant};

use archlens::model::Reference;
use archlens::registry::ClientOptions;
use archlens::testkit::{Flavour, image, p};
use archlens::worker::{Command, Event};

#[test]
fn a_cancel_once_the_index_is_being_written_reports_the_real_outcome() {
    let c = common::client();
    let repo = format!("cancel-{}", std::process::id());
    let img = image(&p("linux/amd64"), Flavour::Oci, "cancel amd64");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, &repo, &img).await.unwrap();
        c.put_manifest(&repo, "amd", img.media_type, &img.manifest).await.unwrap();
    });
    let reg = common::registry_addr();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("at-index-written");
    // SAFETY: the only test in this binary sets the variable before the worker's threads start.
    unsafe {
        std::env::set_var("ARCHLENS_FAULT_WAIT", format!("index-written:{}", marker.display()));
    }
    let worker = archlens::worker::spawn_with(ClientOptions::default(), None, Some(dir.path().join("journal.jsonl")), std::sync::Arc::new(|| {})).unwrap();
    let draft_ref = Reference::parse(&format!("{reg}/{repo}:amd")).unwrap();
    worker.send(Command::DraftAdd { id: 1, source: archlens::worker::SourceRef::of(draft_ref.registry()), reference: draft_ref, keep_attestations: false });
    let wait = |want: &dyn Fn(&Event) -> bool| -> Event {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for e in worker.drain() {
                if want(&e) {
                    return e;
                }
            }
            assert!(Instant::now() < deadline, "no answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let Event::DraftEntries { entries, .. } = wait(&|e| matches!(e, Event::DraftEntries { id: 1, .. } | Event::Failed { id: 1, .. })) else {
        panic!("no entries")
    };
    let draft = archlens::model::compose::IndexDraft { entries, ..Default::default() };
    let target = Reference::parse(&format!("{reg}/{repo}:1")).unwrap();
    worker.send(Command::PushDraft { id: 2, target: target.clone(), draft: Box::new(draft), expect_previous: None });
    let t = Instant::now();
    while !marker.exists() {
        assert!(t.elapsed() < Duration::from_secs(60), "the push never wrote its index");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The index is written; the user presses Cancel; then the push goes on.
    worker.send(Command::Cancel { id: 2 });
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(format!("{}.go", marker.display()), b"").unwrap();
    let outcome = wait(&|e| matches!(e, Event::Pushed { id: 2, .. } | Event::Cancelled { id: 2 } | Event::Failed { id: 2, .. }));
    let Event::Pushed { digest, .. } = outcome else { panic!("the app was told {outcome:?}, not the push's real outcome") };
    assert_eq!(archlens::model::Digest::sha256(&common::skopeo_raw(&target.to_string())), digest, "the tag holds the pushed index");
}
