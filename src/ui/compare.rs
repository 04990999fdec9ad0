//! The compare panel: what changed between two tags or cells, per platform, as `archlens diff`
//! says it: the layers side by side (shared in both columns, removed left, added right), the
//! config key by key, history lines added, annotations, and the files on demand.

use egui::RichText;

use crate::model::diff::{Diff, PlatformDiff};
use crate::model::files::ChangeKind;
use crate::model::units::human_bytes;
use crate::state::compare::CompareAction;
use crate::state::{AppState, Loadable, UiAction};

/// File changes listed per platform before "… and N more".
const FILES_SHOWN: usize = 300;

pub fn compare_ui(ui: &mut egui::Ui, state: &AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    let c = &state.compare;
    ui.horizontal(|ui| {
        ui.heading("Compare");
        if ui.small_button("Close").clicked() {
            actions.push(UiAction::Compare(CompareAction::Close));
        }
    });
    if let Some((before, after)) = &c.sides {
        ui.horizontal_wrapped(|ui| {
            ui.strong(&before.label);
            ui.label("->");
            ui.strong(&after.label);
        });
    }
    let shown: Option<&Diff> = match &c.result {
        Loadable::NotRequested => None,
        Loadable::Pending { previous } => {
            ui.horizontal_wrapped(|ui| {
                ui.spinner();
                ui.label(if c.files { "Reading the layers the two do not share…" } else { "Reading manifests and configs…" });
                if ui.small_button("Cancel").on_hover_text("Esc").clicked() {
                    actions.push(UiAction::Cancel);
                }
            });
            previous.as_deref()
        }
        Loadable::Failed { error, previous } => {
            ui.add(egui::Label::new(RichText::new(error).color(ui.visuals().error_fg_color)).wrap());
            previous.as_deref()
        }
        Loadable::Ready(d) => Some(d),
    };
    let Some(d) = shown else { return actions };
    ui.separator();
    // Anything wider than the panel scrolls inside it rather than widening it.
    egui::ScrollArea::both().auto_shrink([false, false]).show(ui, |ui| {
        summary_ui(ui, d, c.is_running(), &mut actions);
        let open = d.platforms.len() <= 3;
        for p in &d.platforms {
            egui::CollapsingHeader::new(RichText::new(&p.platform).strong()).id_salt(("compare", &p.platform)).default_open(open).show(ui, |ui| {
                platform_ui(ui, p, &mut actions);
            });
        }
    });
    actions
}

/// Platforms on one side only, index annotations, and the files: read or offered.
fn summary_ui(ui: &mut egui::Ui, d: &Diff, running: bool, actions: &mut Vec<UiAction>) {
    if d.platforms.is_empty() {
        ui.label("No platform is on both sides.");
    }
    for (keys, side) in [(&d.removed_platforms, "only before"), (&d.added_platforms, "only after")] {
        if !keys.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("{side}:")).color(ui.visuals().warn_fg_color));
                for k in keys {
                    ui.monospace(k);
                }
            });
        }
    }
    for ch in &d.annotations {
        ui.label(format!("index annotation {}: {} -> {}", ch.key, value_text(&ch.before), value_text(&ch.after)));
    }
    match &d.files_read {
        Some(r) => {
            ui.weak(format!(
                "Files: {} of layers read ({} needed; {} of {} layers kept from an earlier comparison).",
                human_bytes(r.bytes),
                human_bytes(r.layer_bytes),
                r.from_cache,
                r.layers
            ));
        }
        None => {
            let needed = tail_bytes(&d.platforms);
            let hover = "Reads the layers the two do not share, each once, whole and checked against its digest; what was read is kept for the next comparison";
            let button = ui.add_enabled(!running, egui::Button::new(format!("Compare files (reads about {})", human_bytes(needed))));
            if button.on_hover_text(hover).clicked() {
                actions.push(UiAction::Compare(CompareAction::Files));
            }
        }
    }
}

/// About the compressed size a files comparison reads: each layer one side has and the other
/// lacks, once (a shared layer out of place is read too, and one read before is not).
fn tail_bytes(platforms: &[PlatformDiff]) -> u64 {
    let mut seen = std::collections::HashSet::new();
    platforms.iter().flat_map(|p| p.layers.added.iter().chain(&p.layers.removed)).filter(|l| seen.insert(l.digest.as_str())).map(|l| l.size).sum()
}

fn value_text(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map_or("(none)".to_string(), |v| super::drawable(&v.to_string()).into_owned())
}

/// A digest as the matrix shows one: its first 12 hex digits (the whole is on hover).
fn hex12(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.get(..12).unwrap_or(hex)
}

/// A manifest digest: a click opens it in details; the button copies it.
fn digest_link(ui: &mut egui::Ui, digest: &str, actions: &mut Vec<UiAction>) {
    let short = hex12(digest);
    if ui.link(RichText::new(short).monospace()).on_hover_text(format!("{digest}\nclick: show in details")).clicked()
        && let Ok(d) = crate::model::digest::Digest::parse(digest)
    {
        actions.push(UiAction::OpenDigest(d));
    }
    if ui.small_button("copy").on_hover_text("Copy the digest").clicked() {
        ui.ctx().copy_text(digest.to_string());
    }
}

/// A layer: its short digest (a click copies it) and its size.
fn layer_cell(ui: &mut egui::Ui, l: Option<&crate::model::diff::Layer>) {
    match l {
        Some(l) => {
            let short = hex12(&l.digest);
            if ui.link(RichText::new(format!("{short} {}", human_bytes(l.size))).monospace()).on_hover_text(format!("{}\nclick: copy", l.digest)).clicked() {
                ui.ctx().copy_text(l.digest.clone());
            }
        }
        None => {
            ui.label("");
        }
    }
}

fn platform_ui(ui: &mut egui::Ui, p: &PlatformDiff, actions: &mut Vec<UiAction>) {
    ui.horizontal_wrapped(|ui| {
        digest_link(ui, &p.before, actions);
        ui.label("->");
        digest_link(ui, &p.after, actions);
    });
    let l = &p.layers;
    let delta = l.delta();
    let sign = if delta < 0 { "-" } else { "+" };
    let grew = human_bytes(u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX));
    ui.label(format!(
        "Layers: {} shared, {} added, {} removed; {} -> {} ({sign}{grew})",
        l.shared.len(),
        l.added.len(),
        l.removed.len(),
        human_bytes(l.size_before),
        human_bytes(l.size_after)
    ));
    // Side by side: shared layers in both columns, then removed (left) beside added (right).
    egui::Grid::new(("compare_layers", &p.platform)).striped(true).num_columns(2).show(ui, |ui| {
        ui.weak("before");
        ui.weak("after");
        ui.end_row();
        for s in &l.shared {
            layer_cell(ui, Some(s));
            layer_cell(ui, Some(s));
            ui.end_row();
        }
        for i in 0..l.removed.len().max(l.added.len()) {
            ui.scope(|ui| {
                ui.visuals_mut().hyperlink_color = ui.visuals().error_fg_color;
                layer_cell(ui, l.removed.get(i));
            });
            ui.scope(|ui| {
                ui.visuals_mut().hyperlink_color = ui.visuals().warn_fg_color;
                layer_cell(ui, l.added.get(i));
            });
            ui.end_row();
        }
    });
    if p.config.changes.is_empty() {
        ui.weak("Config keys: unchanged");
    } else {
        egui::Grid::new(("compare_config", &p.platform)).striped(true).num_columns(3).show(ui, |ui| {
            ui.weak("config");
            ui.weak("before");
            ui.weak("after");
            ui.end_row();
            for ch in &p.config.changes {
                ui.monospace(&ch.key);
                ui.add(egui::Label::new(RichText::new(value_text(&ch.before)).monospace()).wrap());
                ui.add(egui::Label::new(RichText::new(value_text(&ch.after)).monospace()).wrap());
                ui.end_row();
            }
        });
    }
    for h in &p.config.history_added {
        ui.add(egui::Label::new(RichText::new(format!("history + {}", super::drawable(h))).monospace()).wrap());
    }
    for ch in &p.annotations {
        ui.label(format!("entry annotation {}: {} -> {}", ch.key, value_text(&ch.before), value_text(&ch.after)));
    }
    if let Some(f) = &p.files {
        ui.separator();
        ui.label(format!("Files: {}", f.summary()));
        for ch in f.changes.iter().take(FILES_SHOWN) {
            let color = match ch.change {
                ChangeKind::Added => ui.visuals().warn_fg_color,
                ChangeKind::Removed => ui.visuals().error_fg_color,
                ChangeKind::Changed => ui.visuals().text_color(),
            };
            let line = ui.add(egui::Label::new(RichText::new(super::drawable(&ch.line(" *")).into_owned()).monospace().color(color)).wrap());
            if ch.base_unread {
                line.on_hover_text("Only one side's own layers touch this path; the other side has what the shared layers hold there, which were not read");
            }
        }
        if f.changes.len() > FILES_SHOWN {
            ui.weak(format!("… and {} more (archlens diff --files lists them all)", f.changes.len() - FILES_SHOWN));
        }
    }
}
