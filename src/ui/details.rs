//! Details of the selected tag or cell: the raw manifest, its entries, the config summary,
//! layers and history. Every digest is a link; copy buttons give the usual commands.

use egui::RichText;

use crate::model::units::human_bytes;
use crate::state::{AppState, Loadable, UiAction};

pub fn details_ui(ui: &mut egui::Ui, state: &AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        ui.heading("Details");
        if state.selection.is_some() && ui.button("Show").on_hover_text("Enter").clicked() {
            actions.push(UiAction::OpenDetails);
        }
        let back = ui.add_enabled(!state.details.back.is_empty(), egui::Button::new("Back"));
        if back.on_hover_text("Back to what was shown before following a digest (Alt+Left)").clicked() {
            actions.push(UiAction::DetailsBack);
        }
        if ui.button("Close").on_hover_text("Esc").clicked() {
            actions.push(UiAction::CloseDetails);
        }
        if state.compare.sides.is_some() && ui.button("Comparison").on_hover_text("Back to the comparison").clicked() {
            actions.push(UiAction::Compare(crate::state::compare::CompareAction::Show));
        }
    });
    if let Some(sel) = &state.selection {
        let what = match &sel.platform {
            Some(p) => format!("{} · {p}", sel.tag),
            None => sel.tag.clone(),
        };
        ui.label(RichText::new(what).monospace());
    }
    if state.selection_is_gap() {
        ui.weak("No entry for this platform: the tag has no image for it.");
        return actions;
    }
    // What Verify found out about the selected cell, said before anything else.
    if let Some(v) = state.selected_cell().and_then(|c| c.verified.as_ref()).filter(|v| v.refuses()) {
        let (fill, text) = super::matrix::refused_colors(ui.visuals());
        let said = match v {
            crate::model::matrix::Verified::ConfigMismatch { config } => {
                format!("Mislabelled: the image's config says {config}, not the platform its entry names")
            }
            crate::model::matrix::Verified::BinaryMismatch { binary, path } => format!("Mislabelled: its entrypoint {path} is built for {binary}"),
            crate::model::matrix::Verified::CannotStart { reason } => format!("Cannot start: {reason}"),
            _ => String::new(),
        };
        egui::Frame::new().fill(fill).inner_margin(4.0).show(ui, |ui| {
            ui.add(egui::Label::new(RichText::new(said).color(text).strong()).wrap());
        });
    }
    let d = match &state.details.shown {
        Loadable::NotRequested if state.selection.is_none() => {
            ui.add(egui::Label::new(RichText::new("Select a tag or a cell, then press Enter or double-click it to read its manifest.").weak()).wrap());
            return actions;
        }
        Loadable::NotRequested => {
            ui.weak("Press Enter or double-click a tag or cell to read its manifest.");
            return actions;
        }
        Loadable::Pending { previous } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading…");
            });
            match previous {
                Some(p) => p,
                None => return actions,
            }
        }
        Loadable::Failed { error, previous } => {
            ui.colored_label(ui.visuals().error_fg_color, error);
            match previous {
                Some(p) => p,
                None => return actions,
            }
        }
        Loadable::Ready(d) => d,
    };
    let repo = d.reference.repository.to_string();
    egui::ScrollArea::vertical().id_salt("details_scroll").show(ui, |ui| {
        egui::Grid::new("details_summary").num_columns(2).show(ui, |ui| {
            ui.label("Reference");
            ui.add(egui::Label::new(RichText::new(d.reference.to_string()).monospace()).truncate()).on_hover_text(d.reference.to_string());
            ui.end_row();
            ui.label("Digest");
            ui.add(egui::Label::new(RichText::new(d.digest.to_string()).monospace()).truncate())
                .on_hover_text(format!("{}\nsha256 of the original bytes", d.digest));
            ui.end_row();
            ui.label("Media type");
            ui.add(egui::Label::new(format!("{} ({})", d.media_type, d.kind.label())).truncate()).on_hover_text(&d.media_type);
            ui.end_row();
            ui.label("Size");
            ui.label(format!("{} bytes", d.size));
            ui.end_row();
            if let Some(c) = d.compressed_size {
                ui.label("Compressed");
                ui.label(human_bytes(c));
                ui.end_row();
            }
        });
        ui.horizontal_wrapped(|ui| {
            // A layout folder's `oci:DIR@digest` is what archlens reads; docker cannot pull
            // from a folder, so there is no pull command to copy.
            let layout = d.reference.registry().layout_path().is_some();
            let hint = if layout { "oci:DIR@digest, as archlens inspect reads it" } else { "repository@digest, pinned to these bytes" };
            if ui.button("Copy repo@digest").on_hover_text(hint).clicked() {
                ui.ctx().copy_text(format!("{repo}@{}", d.digest));
            }
            if ui.button("Copy digest").clicked() {
                ui.ctx().copy_text(d.digest.to_string());
            }
            if layout {
                return;
            }
            let platform = state.selection.as_ref().and_then(|s| s.platform.clone()).or_else(|| d.config.as_ref().map(|(_, c)| c.platform.docker_flag()));
            let pull = match &platform {
                Some(p) => format!("docker pull --platform {} {repo}@{}", p.split(':').next().unwrap_or(p), d.digest),
                None => format!("docker pull {repo}@{}", d.digest),
            };
            if ui.button("Copy docker pull").on_hover_text(&pull).clicked() {
                ui.ctx().copy_text(pull);
            }
        });
        if !d.entries.is_empty() {
            egui::CollapsingHeader::new(format!("Entries ({})", d.entries.len())).default_open(true).show(ui, |ui| {
                egui::Grid::new("entries").striped(true).num_columns(3).show(ui, |ui| {
                    for (desc, compressed) in &d.entries {
                        let label = if desc.is_attestation() {
                            "attestation".to_string()
                        } else {
                            desc.platform.as_ref().map(|p| p.key()).unwrap_or_else(|| "(no platform)".into())
                        };
                        ui.label(label);
                        if ui.link(RichText::new(desc.digest.short()).monospace()).on_hover_text(desc.digest.to_string()).clicked() {
                            actions.push(UiAction::OpenDigest(desc.digest.clone()));
                        }
                        ui.label(compressed.map(human_bytes).unwrap_or_default());
                        ui.end_row();
                    }
                });
            });
        }
        if let Some((cd, c)) = &d.config {
            egui::CollapsingHeader::new("Config").default_open(true).show(ui, |ui| {
                egui::Grid::new("config").num_columns(2).show(ui, |ui| {
                    ui.label("Digest");
                    ui.label(RichText::new(cd.short()).monospace()).on_hover_text(cd.to_string());
                    ui.end_row();
                    ui.label("Platform");
                    ui.label(c.platform.key()).on_hover_text("what the image's config claims");
                    ui.end_row();
                    if let Some(created) = &c.created {
                        ui.label("Created");
                        ui.label(created);
                        ui.end_row();
                    }
                    if !c.entrypoint.is_empty() {
                        ui.label("Entrypoint");
                        ui.label(RichText::new(format!("{:?}", c.entrypoint)).monospace());
                        ui.end_row();
                    }
                    if !c.cmd.is_empty() {
                        ui.label("Cmd");
                        ui.label(RichText::new(format!("{:?}", c.cmd)).monospace());
                        ui.end_row();
                    }
                    for e in &c.env {
                        ui.label("Env");
                        ui.label(RichText::new(e).monospace());
                        ui.end_row();
                    }
                    for (k, v) in &c.labels {
                        ui.label("Label");
                        ui.label(RichText::new(format!("{k}={v}")).monospace());
                        ui.end_row();
                    }
                });
            });
            if !c.history.is_empty() {
                egui::CollapsingHeader::new(format!("History ({})", c.history.len())).show(ui, |ui| {
                    for h in &c.history {
                        ui.label(RichText::new(h.created_by.as_deref().unwrap_or("")).monospace().small());
                    }
                });
            }
        }
        if !d.layers.is_empty() {
            egui::CollapsingHeader::new(format!("Layers ({})", d.layers.len())).default_open(true).show(ui, |ui| {
                egui::Grid::new("layers").striped(true).num_columns(3).show(ui, |ui| {
                    for l in &d.layers {
                        ui.label(RichText::new(l.digest.short()).monospace()).on_hover_text(l.digest.to_string());
                        ui.label(human_bytes(l.size));
                        ui.label(RichText::new(&l.media_type).small());
                        ui.end_row();
                    }
                });
            });
        }
        egui::CollapsingHeader::new("Raw JSON").default_open(false).show(ui, |ui| {
            let l = ui.weak(format!("pretty-printed; the digest {} is over the original {} bytes", d.digest.short(), d.size));
            let mut text = d.pretty.as_str();
            ui.add(egui::TextEdit::multiline(&mut text).code_editor().desired_width(f32::INFINITY)).labelled_by(l.id);
        });
    });
    actions
}
