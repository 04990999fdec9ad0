//! The diagnose panel: a reference (or the selection), the chosen host, run; then the verdict,
//! the evidence and the remedy.

use egui::{Color32, RichText};

use crate::model::diagnose::Verdict;
use crate::model::units::human_bytes;
use crate::state::{AppState, Loadable, UiAction};

fn verdict_color(ui: &egui::Ui, v: Verdict) -> Color32 {
    match v {
        Verdict::Ok => Color32::from_rgb(60, 170, 90),
        Verdict::Fallback | Verdict::Emulation | Verdict::Unknown => ui.visuals().warn_fg_color,
        _ => ui.visuals().error_fg_color,
    }
}

pub fn diagnose_ui(ui: &mut egui::Ui, state: &mut AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.strong("Diagnose");
        let l = ui.label("Reference");
        let edit = ui
            .add(egui::TextEdit::singleline(&mut state.diagnose.reference).hint_text("tag, @digest or full reference").desired_width(320.0))
            .labelled_by(l.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Use selection").clicked() {
            actions.push(UiAction::DiagnoseSelection);
        }
        super::matrix::host_picker(ui, state, &mut actions, true);
        ui.checkbox(&mut state.diagnose.deep, "Read layers (entrypoint binary)");
        if state.diagnose.is_running() {
            ui.spinner();
            ui.label(format!("{} of layers read", human_bytes(state.diagnose.bytes)));
            if ui.button("Stop").clicked() {
                actions.push(UiAction::Cancel);
            }
        } else {
            // The pull limit it spends, said before it is spent.
            let cost = state.diagnose_cost();
            let run = ui.button("Run");
            let run = match &cost {
                Some(c) => run.on_hover_text(format!("This diagnosis {c}")),
                None => run,
            };
            if run.clicked() || enter {
                actions.push(UiAction::RunDiagnose);
            }
            if let Some(c) = cost {
                ui.weak(format!("Run {c}"));
            }
        }
    });
    let d = match &state.diagnose.result {
        Loadable::NotRequested | Loadable::Pending { previous: None } => return actions,
        Loadable::Failed { error, previous } => {
            ui.colored_label(ui.visuals().error_fg_color, error);
            match previous {
                Some(p) => p,
                None => return actions,
            }
        }
        Loadable::Pending { previous: Some(p) } => p,
        Loadable::Ready(d) => d,
    };
    // A result for another host than the one now chosen is marked, not passed off as current.
    let now = state.host_platform().map(|p| p.key());
    if now.as_deref().is_some_and(|h| h != d.host) {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, format!("stale: diagnosed for {}; the host is now {}", d.host, now.unwrap_or_default()));
            if ui.button("Run again").clicked() {
                actions.push(UiAction::RunDiagnose);
            }
        });
    }
    egui::ScrollArea::vertical().id_salt("diagnose_scroll").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label(RichText::new(d.verdict.as_str()).strong().size(16.0).color(verdict_color(ui, d.verdict)));
            ui.label(RichText::new(&d.reference).monospace());
            ui.label(format!("on {}", d.host));
            // The fix, where a draft can make it: first in view, not below the findings.
            let fixable = d.findings.iter().any(|f| f.kind.repairable());
            if fixable
                && let Ok(reference) = crate::model::Reference::parse(&d.reference)
                && ui.button("Repair…").on_hover_text("Open the fix as a draft in the composer: review the diff, then push").clicked()
            {
                actions.push(UiAction::Composer(crate::state::composer::ComposerAction::Repair { reference, diagnosis: d.clone() }));
            }
        });
        // The remedy right under the verdict: on a small screen both are in view without
        // scrolling; the evidence follows.
        for r in &d.remedy {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("Remedy:").strong());
                ui.label(super::drawable(r));
                if ui.small_button("Copy").clicked() {
                    ui.ctx().copy_text(r.clone());
                }
            });
        }
        match &d.selected {
            Some(s) => {
                let how = serde_json::to_value(s.selection).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                ui.horizontal(|ui| {
                    ui.label(format!("Selected {} ({how}):", s.platform));
                    if ui.link(RichText::new(s.digest.short()).monospace()).on_hover_text(s.digest.to_string()).clicked() {
                        actions.push(UiAction::OpenDigest(s.digest.clone()));
                    }
                });
            }
            None => {
                ui.label("Selected: nothing this host can run");
            }
        }
        if let Some(b) = &d.binary {
            let via = if b.via.is_empty() { String::new() } else { format!(", via {}", b.via.join(" -> ")) };
            ui.label(format!(
                "Entrypoint binary: {} ({:?}, {}){via}; {} of layers read",
                b.path,
                b.format,
                b.architecture.as_deref().unwrap_or("unknown architecture"),
                human_bytes(d.bytes_read)
            ));
        }
        for p in &d.partly_verified {
            ui.label(RichText::new(format!("Not fully verified: {p}")).small().weak());
        }
        for f in &d.findings {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("[{}]", f.kind)).monospace().strong());
                ui.label(super::drawable(&f.message));
            });
            ui.label(RichText::new(format!("evidence: {}", super::drawable(&f.evidence))).weak());
        }
    });
    actions
}
