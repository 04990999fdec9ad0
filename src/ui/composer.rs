//! The composer panel (beside the matrix): build or edit an index, see every check, the exact
//! bytes and their digest, then push with confirmation, progress and undo.

use egui::{Color32, RichText};

use crate::model::compose::{HELPER_ANNOTATIONS, IndexType, Severity};
use crate::model::units::human_bytes;
use crate::state::composer::ComposerAction as A;
use crate::state::{AppState, Loadable, UiAction};

fn severity_color(ui: &egui::Ui, s: Severity) -> Color32 {
    match s {
        Severity::Error => ui.visuals().error_fg_color,
        Severity::Warning => ui.visuals().warn_fg_color,
        Severity::Info => ui.visuals().weak_text_color(),
    }
}

pub fn composer_ui(ui: &mut egui::Ui, state: &mut AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        ui.heading("Compose an index");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Close").on_hover_text("Hide the composer; the draft is kept").clicked() {
                actions.push(UiAction::Composer(A::Close));
            }
            if ui.add_enabled(!state.composer.draft_is_empty() && !state.composer.is_busy(), egui::Button::new("Clear draft")).clicked() {
                actions.push(UiAction::Composer(A::ClearDraft));
            }
        });
    });
    if let Some(r) = state.composer.confirm_replace.clone() {
        ui.group(|ui| {
            ui.label(format!("Replace the current draft ({}) with {r}?", crate::model::units::count(state.composer.draft.entries.len(), "entry", "entries")));
            ui.horizontal(|ui| {
                if ui.button("Replace").clicked() {
                    actions.push(UiAction::Composer(A::ConfirmReplace));
                }
                if ui.button("Keep my draft").clicked() {
                    actions.push(UiAction::Composer(A::KeepDraft));
                }
            });
        });
    }
    egui::Panel::bottom("composer_push").resizable(false).show(ui, |ui| push_ui(ui, state, &mut actions));
    // Rows wrap to the panel's width, so every button stays on screen. Tags and cells dragged
    // from the matrix and dropped anywhere on it are added.
    let (_, dropped) = ui.dnd_drop_zone::<Vec<crate::model::Reference>, ()>(egui::Frame::new(), |ui| {
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            body(ui, state, &mut actions);
        });
    });
    if let Some(references) = dropped {
        actions.push(UiAction::AddToDraft(references.to_vec()));
    }
    actions
}

fn body(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Vec<UiAction>) {
    let marked = state.marked.len();
    let c = &mut state.composer;
    notes_ui(ui, c);
    target_ui(ui, c, actions);
    add_ui(ui, c, actions, marked);
    entries_ui(ui, c, actions);
    index_ui(ui, c, actions);
    preview_ui(ui, c);
}

/// What the draft will do (a repair's notes) and its warnings.
fn notes_ui(ui: &mut egui::Ui, c: &mut crate::state::composer::ComposerState) {
    if !c.notes.is_empty() || !c.draft.warnings.is_empty() {
        ui.group(|ui| {
            ui.label(RichText::new("This draft will:").strong());
            for n in &c.notes {
                ui.label(format!("• {n}"));
            }
            for w in &c.draft.warnings {
                ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {w}"));
            }
        });
    }
}

/// The target tag: typed, checked, and what it holds now.
fn target_ui(ui: &mut egui::Ui, c: &mut crate::state::composer::ComposerState, actions: &mut Vec<UiAction>) {
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Target tag");
        let e = ui.add(egui::TextEdit::singleline(&mut c.target_input).hint_text("host/repo:tag").desired_width(260.0)).labelled_by(l.id);
        if e.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) || ui.button("Check target").clicked() {
            actions.push(UiAction::Composer(A::CheckTarget));
        }
    });
    match &c.target {
        Loadable::Pending { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the target…");
            });
        }
        Loadable::Ready(t) => match &t.current {
            None => {
                ui.label(format!("{} does not exist yet: it will be created.", t.target));
                ui.add(
                    egui::Label::new(RichText::new(
                        "Undo can remove a new tag only where the registry deletes tags (distribution 3, Harbor, most hosted registries). Distribution 2.x (registry:2) cannot: there the tag stays after Undo, and only the registry's operator can remove it.",
                    ).color(ui.visuals().warn_fg_color))
                    .wrap(),
                );
            }
            Some(d) if matches!(&c.push, Loadable::Ready(p) if !p.undone && &p.digest == d) => {
                ui.label(format!("{} is the pushed index {}.", t.target, d.short()));
            }
            Some(d) => {
                ui.colored_label(ui.visuals().warn_fg_color, format!("{} exists: {}", t.target, d));
                let changes = match &t.bytes {
                    Some(old) => crate::model::compose::index_diff(old, &c.draft.to_bytes()),
                    None => vec!["(the current index could not be read)".to_string()],
                };
                if changes.is_empty() {
                    ui.label("The draft is exactly what the tag holds: nothing to push.");
                }
                for line in &changes {
                    ui.label(RichText::new(super::drawable(line)).monospace());
                }
                if changes.is_empty() {
                    // Nothing to overwrite with: no confirmation to give.
                } else if c.confirmed_overwrite == Some(Some(d.clone())) {
                    ui.label("Overwrite confirmed.");
                } else if ui.button("Confirm overwrite").clicked() {
                    actions.push(UiAction::Composer(A::ConfirmOverwrite));
                }
            }
        },
        Loadable::Failed { error, .. } => {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        Loadable::NotRequested => {}
    }
}

/// Adding images: the selection, a typed reference.
fn add_ui(ui: &mut egui::Ui, c: &mut crate::state::composer::ComposerState, actions: &mut Vec<UiAction>, marked: usize) {
    ui.separator();
    ui.horizontal_wrapped(|ui| {
        let label = match marked {
            0 => "Add selected tag or cell".to_string(),
            n => format!("Add the {} selected", n + 1),
        };
        if ui.button(label).on_hover_text("Ctrl- or Shift-click selects several; or drag tags and cells here").clicked() {
            actions.push(UiAction::AddSelectionToDraft);
        }
        let l = ui.label("or reference");
        let e = ui.add(egui::TextEdit::singleline(&mut c.add_input).hint_text("host/repo:tag or @digest").desired_width(260.0)).labelled_by(l.id);
        let enter = e.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Add").clicked() || enter) && !c.add_input.trim().is_empty() {
            actions.push(UiAction::Composer(A::AddTyped));
        }
        ui.checkbox(&mut c.keep_attestations, "Keep attestations");
        if c.is_busy() {
            ui.spinner();
        }
    });
}

/// The entries, each on two lines.
fn entries_ui(ui: &mut egui::Ui, c: &mut crate::state::composer::ComposerState, actions: &mut Vec<UiAction>) {
    let invalid = c.invalid_platforms();
    // One entry, two lines: platform and Remove, then digest, size and source. It fits any
    // panel width without scrolling sideways.
    for (i, e) in c.draft.entries.clone().into_iter().enumerate() {
        let fill = if i % 2 == 1 { ui.visuals().faint_bg_color } else { Color32::TRANSPARENT };
        egui::Frame::new().fill(fill).inner_margin(egui::Margin::symmetric(4, 2)).show(ui, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label(format!("#{}", i + 1));
                if e.attests().is_some() {
                    ui.label(format!("attestation of {}", e.attests().map(|d| d.short()).unwrap_or_default()));
                } else if let Some(text) = c.platform_inputs.get_mut(i) {
                    let width = (ui.available_width() - 80.0).clamp(100.0, 220.0);
                    let r = ui.add(egui::TextEdit::singleline(text).desired_width(width)).labelled_by(l.id);
                    if r.changed() {
                        actions.push(UiAction::Composer(A::PlatformEdited(i)));
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.small_button("Remove").clicked() {
                        actions.push(UiAction::Composer(A::Remove(i)));
                    }
                });
            });
            if invalid.contains(&i) {
                ui.colored_label(ui.visuals().error_fg_color, "not a platform").on_hover_text("os/arch[/variant], e.g. linux/arm64 or linux/arm/v7");
            }
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(e.digest.short()).monospace()).on_hover_text(e.digest.to_string());
                ui.label(human_bytes(e.compressed_size)).on_hover_text("compressed: config and layers, as the matrix shows it");
                ui.weak(format!("from {}", e.source.repository));
            });
        });
    }
    if c.draft.entries.is_empty() {
        ui.add(
            egui::Label::new(
                "The draft is empty. Select a tag or a cell in the matrix and press Add selected tag or cell, or type a reference (host/repo:tag or @digest) and press Add.",
            )
            .wrap(),
        );
    }
}

/// The index's media type and annotations.
fn index_ui(ui: &mut egui::Ui, c: &mut crate::state::composer::ComposerState, actions: &mut Vec<UiAction>) {
    ui.horizontal(|ui| {
        let l = ui.label("Media type");
        let current = match c.draft.index_type {
            None => format!("Auto ({})", if c.draft.effective_type() == IndexType::Docker { "Docker list" } else { "OCI index" }),
            Some(IndexType::Oci) => "OCI index".into(),
            Some(IndexType::Docker) => "Docker manifest list".into(),
        };
        egui::ComboBox::from_id_salt("index_type")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (t, name) in [(None, "Auto"), (Some(IndexType::Oci), "OCI index"), (Some(IndexType::Docker), "Docker manifest list")] {
                    if ui.selectable_label(c.draft.index_type == t, name).clicked() {
                        actions.push(UiAction::Composer(A::SetType(t)));
                    }
                }
            })
            .response
            .labelled_by(l.id);
    });
    let entry_annotations: usize = c.draft.entries.iter().filter(|e| e.attests().is_none()).map(|e| e.annotations.len()).sum();
    ui.collapsing(format!("Annotations ({} on the index, {entry_annotations} on entries)", c.draft.annotations.len()), |ui| {
        for (k, v) in c.draft.annotations.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("index: {k}={v}")).monospace());
                if ui.small_button("Remove").clicked() {
                    actions.push(UiAction::Composer(A::RemoveAnnotation(k.clone())));
                }
            });
        }
        for (i, e) in c.draft.entries.iter().enumerate().filter(|(_, e)| e.attests().is_none()) {
            for (k, v) in &e.annotations {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(format!("#{}: {k}={v}", i + 1)).monospace());
                    if ui.small_button("Remove").clicked() {
                        actions.push(UiAction::Composer(A::RemoveEntryAnnotation { entry: i, key: k.clone() }));
                    }
                });
            }
        }
        ui.horizontal(|ui| {
            let l = ui.label("On");
            let shown = match c.annotation_target {
                None => "the index".to_string(),
                Some(i) => format!("entry #{}", i + 1),
            };
            egui::ComboBox::from_id_salt("annotation_target")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut c.annotation_target, None, "the index");
                    for i in 0..c.draft.entries.len() {
                        ui.selectable_value(&mut c.annotation_target, Some(i), format!("entry #{}", i + 1));
                    }
                })
                .response
                .labelled_by(l.id);
        });
        ui.horizontal_wrapped(|ui| {
            for k in HELPER_ANNOTATIONS {
                if ui.small_button(k.trim_start_matches("org.opencontainers.image.")).on_hover_text(k).clicked() {
                    c.annotation_key = k.to_string();
                }
            }
        });
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Key");
            ui.add(egui::TextEdit::singleline(&mut c.annotation_key).desired_width(260.0)).labelled_by(l.id);
            let l = ui.label("Value");
            ui.add(egui::TextEdit::singleline(&mut c.annotation_value).desired_width(160.0)).labelled_by(l.id);
            if ui.button("Set").clicked() {
                actions.push(UiAction::Composer(A::AddAnnotation));
            }
        });
    });
}

/// The checks, the exact bytes and their digest, and the equivalent commands.
fn preview_ui(ui: &mut egui::Ui, c: &mut crate::state::composer::ComposerState) {
    ui.separator();
    let target = c.target_reference().ok();
    // An empty draft is no error: what to do is said beside the entries.
    if !c.draft.entries.is_empty() {
        for check in c.draft.checks(target.as_ref().map(|t| &t.repository)) {
            ui.colored_label(severity_color(ui, check.severity), format!("{:?}: {}", check.severity, check.message));
        }
    }
    let (bytes, digest) = c.preview();
    ui.horizontal_wrapped(|ui| {
        ui.label("Preview digest");
        ui.label(RichText::new(digest.to_string()).monospace());
        if ui.small_button("Copy").clicked() {
            ui.ctx().copy_text(digest.to_string());
        }
    });
    ui.collapsing(format!("Preview: the exact {} bytes to push", bytes.len()), |ui| {
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        let l = ui.label("Index JSON");
        ui.add(egui::TextEdit::multiline(&mut text).code_editor().desired_width(f32::INFINITY).interactive(false)).labelled_by(l.id);
    });
    if let Some(t) = &target {
        ui.collapsing("Equivalent commands", |ui| {
            for (tool, cmd) in c.draft.commands(t) {
                ui.horizontal(|ui| {
                    if ui.small_button("Copy").on_hover_text(tool).clicked() {
                        ui.ctx().copy_text(cmd.clone());
                    }
                    ui.add(egui::Label::new(RichText::new(cmd).monospace().small()).wrap());
                });
            }
        });
    }
}
/// Push, its progress and its result, with Export and Import: pinned below the draft, so they
/// stay in view whatever is expanded above.
fn push_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Vec<UiAction>) {
    let file_prompt = &mut state.file_prompt;
    let c = &mut state.composer;
    ui.horizontal_wrapped(|ui| {
        let blocker = c.push_blocker();
        let pushing = c.push.is_pending();
        let r = ui.add_enabled(blocker.is_none() && !pushing, egui::Button::new("Push"));
        if let Some(why) = &blocker {
            r.on_disabled_hover_text(why);
            ui.weak(why);
        } else if r.clicked() {
            actions.push(UiAction::Composer(A::Push));
        }
        if pushing {
            let (done, total, what) = &c.progress;
            let frac = if *total > 0 { *done as f32 / *total as f32 } else { 0.0 };
            ui.add(egui::ProgressBar::new(frac).desired_width(160.0).text(format!("{done}/{total} {what}")));
            if ui.button("Cancel").clicked() {
                actions.push(UiAction::Cancel);
            }
        }
        if ui.button("Export…").on_hover_text("Save the draft to a file").clicked() {
            *file_prompt = Some(crate::state::FilePrompt::new(crate::state::FilePurpose::ExportDraft));
        }
        if ui.button("Import…").on_hover_text("Load a draft from a file").clicked() {
            *file_prompt = Some(crate::state::FilePrompt::new(crate::state::FilePurpose::ImportDraft));
        }
    });
    match &c.push {
        Loadable::Ready(p) => {
            // Wrapped: on a small screen Copy digest and Undo stay inside the panel.
            ui.horizontal_wrapped(|ui| {
                if p.undone {
                    let now = match &c.target {
                        Loadable::Ready(t) => t.current.as_ref().map(|d| format!("points at {} again", d.short())).unwrap_or_else(|| "was deleted".into()),
                        _ => "was restored".into(),
                    };
                    ui.label(format!("Undone: {} {now}.", p.target));
                } else if p.journal_id.is_none() {
                    ui.label(format!("{} already was {}: nothing to change, nothing pushed.", p.target, p.digest.short()));
                } else {
                    ui.colored_label(Color32::from_rgb(60, 170, 90), format!("Pushed {} = {}", p.target, p.digest.short()));
                    if ui.small_button("Copy digest").clicked() {
                        ui.ctx().copy_text(p.digest.to_string());
                    }
                    if ui.button("Undo").on_hover_text(format!("journal entry {}", p.journal_id.clone().unwrap_or_default())).clicked() {
                        actions.push(UiAction::Composer(A::Undo));
                    }
                }
            });
        }
        Loadable::Failed { error, .. } => {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        _ => {}
    }
    if let Some(e) = &c.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}
