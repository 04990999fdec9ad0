//! Where the details panel's copy buttons sit, and what each copies, for
//! `scripts/clipboard-check.sh`: the app is driven as the script drives the real window (open
//! the layout, Ctrl+F, type the tag, Enter, Down, Enter), in a window of the same size, and
//! each button is clicked here too. One line per button on stdout:
//! `X<TAB>Y<TAB>LABEL<TAB>COPIED TEXT`, X and Y the button's centre in window pixels.
//!
//!   cargo run --example copy_buttons -- LAYOUT WIDTHxHEIGHT TAG SETTINGS_JSON
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/ui.rs"]
mod clip;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use archlens::registry::ClientOptions;
use archlens::settings::Settings;
use archlens::state::Loadable;
use archlens::ui::{ArchlensApp, StartTarget};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The copy buttons of a layout folder's details (docker cannot pull from a folder, so there
/// is no *Copy docker pull* there).
const BUTTONS: [&str; 2] = ["Copy repo@digest", "Copy digest"];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [layout, size, tag, settings] = args.as_slice() else {
        bail!("usage: copy_buttons LAYOUT WIDTHxHEIGHT TAG SETTINGS_JSON");
    };
    let (w, h) = size.split_once('x').context("size: WIDTHxHEIGHT")?;
    let (w, h): (f32, f32) = (w.parse()?, h.parse()?);
    let settings: Settings = serde_json::from_str(&std::fs::read_to_string(settings)?)?;
    let layout = PathBuf::from(layout);
    let cache = tempfile::tempdir()?;
    let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), Some(archlens::registry::Cache::at(cache.path())), Arc::new(|| {}))?;
    let app = ArchlensApp::new(Some(settings), worker, StartTarget::Layout(layout.clone()), Some(layout));
    let mut harness = Harness::builder().with_size(egui::vec2(w, h)).build_ui_state(
        |ui, app: &mut ArchlensApp| {
            app.pump();
            app.frame_ui(ui);
        },
        app,
    );
    let until = |harness: &mut Harness<ArchlensApp>, what: &str, done: &dyn Fn(&ArchlensApp) -> bool| -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(harness.state()) {
            if Instant::now() > deadline {
                bail!("{what} did not happen in 30 s");
            }
            harness.run_steps(1);
            std::thread::sleep(Duration::from_millis(10));
        }
        harness.run_steps(3);
        Ok(())
    };
    until(&mut harness, "the matrix loading", &|app| app.state.matrix.as_ref().is_some_and(|m| !m.matrix.rows.is_empty()) && !app.state.is_loading())?;
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    harness.run_steps(2);
    harness.event(egui::Event::Text(tag.clone()));
    harness.run_steps(2);
    for key in [egui::Key::Enter, egui::Key::ArrowDown, egui::Key::Enter] {
        harness.key_press(key);
        harness.run_steps(2);
    }
    until(
        &mut harness,
        "the details of the tag",
        &|app| matches!(&app.state.details.shown, Loadable::Ready(d) if d.reference.to_string().ends_with(&format!(":{tag}"))),
    )?;
    // Panels settle their widths over a few frames: wait until the buttons stay put.
    let mut last = None;
    let mut still = 0;
    for _ in 0..200 {
        harness.run_steps(1);
        let at: Vec<egui::Rect> = BUTTONS.iter().map(|l| harness.get_by_label(l).rect()).collect();
        still = if last.as_ref() == Some(&at) { still + 1 } else { 0 };
        last = Some(at);
        if still == 10 {
            break;
        }
    }
    if still < 10 {
        bail!("the copy buttons kept moving");
    }
    for label in BUTTONS {
        let rect = harness.get_by_label(label).rect();
        harness.get_by_label(label).click();
        harness.run_steps(1);
        let copied: Vec<String> = clip::copied(harness.output());
        let [text] = copied.as_slice() else { bail!("{label} copied {copied:?}") };
        let c = rect.center();
        println!("{:.0}\t{:.0}\t{label}\t{text}", c.x, c.y);
        harness.run_steps(1);
    }
    Ok(())
}
