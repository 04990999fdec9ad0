//! Choosing a file or folder: a small window with a typed path, and a *Browse…* button that runs
//! the system's file dialog on a thread of its own, so the app keeps drawing while it is open.
//! Where the desktop offers no dialog (no xdg-desktop-portal, no zenity), the window says so and
//! the typed path is the way.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use crate::state::composer::ComposerAction;
use crate::state::{FilePrompt, FilePurpose, UiAction};

/// Shows a file dialog for a purpose and returns what was chosen (`None`: cancelled or no
/// dialog). Runs on a thread of its own, never on the UI thread.
pub type DialogRunner = Arc<dyn Fn(FilePurpose) -> Option<PathBuf> + Send + Sync>;

/// The system's dialogs, through rfd.
pub fn system_dialogs() -> DialogRunner {
    Arc::new(|purpose| match purpose {
        FilePurpose::OpenLayout => rfd::FileDialog::new().set_title("Open an OCI image layout").pick_folder(),
        FilePurpose::ExportDraft => rfd::FileDialog::new().set_title("Export the draft").set_file_name("draft.json").save_file(),
        FilePurpose::ImportDraft => rfd::FileDialog::new().set_title("Import a draft").add_filter("Archlens draft", &["json"]).pick_file(),
    })
}

/// Whether this desktop can show a file dialog: on Linux rfd asks xdg-desktop-portal over the
/// session bus, then falls back to `zenity`; with neither it shows nothing.
pub fn system_dialog_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
    let zenity = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("zenity").is_file()));
    bus || zenity
}

/// A dialog running on its own thread.
pub struct Browsing {
    purpose: FilePurpose,
    answer: Receiver<Option<PathBuf>>,
}

/// Start `runner` for `purpose` on a thread; the UI polls the answer with [`poll`].
pub fn browse(runner: &DialogRunner, purpose: FilePurpose, repaint: egui::Context) -> Option<Browsing> {
    let (tx, answer) = std::sync::mpsc::channel();
    let run = runner.clone();
    let started = std::thread::Builder::new().name("archlens-file-dialog".into()).spawn(move || {
        let _ = tx.send(run(purpose));
        repaint.request_repaint();
    });
    started.ok().map(|_| Browsing { purpose, answer })
}

/// What a finished dialog means: the action for a chosen path, or a note for the prompt.
pub fn poll(browsing: &mut Option<Browsing>, prompt: &mut Option<FilePrompt>) -> Option<UiAction> {
    let b = browsing.as_ref()?;
    let purpose = b.purpose;
    let answer = match b.answer.try_recv() {
        Err(TryRecvError::Empty) => return None,
        Ok(answer) => answer,
        Err(TryRecvError::Disconnected) => None,
    };
    *browsing = None;
    match answer {
        Some(path) => {
            *prompt = None;
            Some(action(purpose, path))
        }
        None => {
            if let Some(p) = prompt.as_mut() {
                p.note = Some("Nothing chosen. If no dialog appeared, type the path here.".into());
            }
            None
        }
    }
}

fn action(purpose: FilePurpose, path: PathBuf) -> UiAction {
    match purpose {
        FilePurpose::OpenLayout => UiAction::OpenLayout(path),
        FilePurpose::ExportDraft => UiAction::Composer(ComposerAction::Export(path)),
        FilePurpose::ImportDraft => UiAction::Composer(ComposerAction::Import(path)),
    }
}

fn title(purpose: FilePurpose) -> (&'static str, &'static str, &'static str) {
    match purpose {
        FilePurpose::OpenLayout => ("Open an OCI image layout", "Folder", "Open"),
        FilePurpose::ExportDraft => ("Export the draft", "Save as", "Export"),
        FilePurpose::ImportDraft => ("Import a draft", "Draft file", "Import"),
    }
}

/// What [`prompt_ui`] asks of the app.
pub enum PromptOutcome {
    Nothing,
    Act(UiAction),
    Browse(FilePurpose),
}

/// The path window. `available`: a system dialog can be shown; `browsing`: one is open now.
pub fn prompt_ui(ctx: &egui::Context, prompt: &mut Option<FilePrompt>, available: bool, browsing: bool) -> PromptOutcome {
    let Some(p) = prompt.as_mut() else { return PromptOutcome::Nothing };
    let (heading, field, verb) = title(p.purpose);
    let mut outcome = PromptOutcome::Nothing;
    let mut open = true;
    let window = egui::Window::new(heading).open(&mut open).collapsible(false).resizable(false).anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 80.0));
    window.show(ctx, |ui| {
        ui.horizontal(|ui| {
            let l = ui.label(field);
            let e = ui.add(egui::TextEdit::singleline(&mut p.path).hint_text("/path/to/…").desired_width(320.0)).labelled_by(l.id);
            // Ready to type into, unless the user is typing elsewhere.
            if p.path.is_empty() && ui.memory(|m| m.focused().is_none()) {
                e.request_focus();
            }
            let enter = e.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.add_enabled(!p.path.trim().is_empty(), egui::Button::new(verb)).clicked() || enter) && !p.path.trim().is_empty() {
                outcome = PromptOutcome::Act(action(p.purpose, expand(p.path.trim())));
            }
        });
        ui.horizontal_wrapped(|ui| {
            let b = ui.add_enabled(available && !browsing, egui::Button::new("Browse…"));
            if available {
                if b.clicked() {
                    outcome = PromptOutcome::Browse(p.purpose);
                }
            } else {
                b.on_disabled_hover_text("no file dialog on this desktop");
                ui.weak("This desktop offers no file dialog (no xdg-desktop-portal, no zenity): type the path.");
            }
            if browsing {
                ui.spinner();
                ui.label("A file dialog is open.");
            }
        });
        if let Some(note) = &p.note {
            ui.weak(note.as_str());
        }
    });
    if !open {
        *prompt = None;
    }
    if matches!(outcome, PromptOutcome::Act(_)) {
        *prompt = None;
    }
    outcome
}

/// `~/x` as the home folder's `x`, as a shell would read it.
fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
