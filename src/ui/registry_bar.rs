//! The registry bar: pick or type a registry, connection state, open a layout folder.

use crate::state::{AppState, Loadable, UiAction};

pub const DOCKER_HUB: &str = "docker.io";
const SUGGESTED: [&str; 4] = ["docker.io", "ghcr.io", "quay.io", "127.0.0.1:5000"];

pub fn registry_bar_ui(ui: &mut egui::Ui, state: &mut AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        ui.strong("Archlens");
        ui.separator();
        let label = ui.label("Registry");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut state.registry_input)
                .hint_text("host[:port], e.g. ghcr.io or 127.0.0.1:5000")
                .desired_width(260.0),
        );
        let edit = edit.labelled_by(label.id);
        if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            actions.push(UiAction::Connect(state.registry_input.clone()));
        }
        if ui.button("Connect").clicked() {
            actions.push(UiAction::Connect(state.registry_input.clone()));
        }
        let mut recent: Vec<String> = state.settings.recent_registries.clone();
        for s in SUGGESTED {
            if !recent.iter().any(|r| r == s) {
                recent.push(s.to_string());
            }
        }
        egui::ComboBox::from_id_salt("recent_registries")
            .selected_text("Recent")
            .show_ui(ui, |ui| {
                for r in &recent {
                    if ui.selectable_label(false, r).clicked() {
                        actions.push(UiAction::Connect(r.clone()));
                    }
                }
            })
            .response
            .on_hover_text("Recent and well-known registries");
        if ui.button("Docker Hub").clicked() {
            actions.push(UiAction::Connect(DOCKER_HUB.to_string()));
        }
        if ui.button("Open folder…").on_hover_text("Open an OCI image layout folder").clicked() {
            if let Some(dir) = rfd::FileDialog::new().set_title("Open an OCI image layout").pick_folder() {
                actions.push(UiAction::OpenLayout(dir));
            }
        }
        ui.separator();
        match (&state.connection, &state.registry, &state.layout) {
            (_, _, Some((_, name))) => {
                ui.label(format!("Layout folder: {name}"));
            }
            (Loadable::Pending { .. }, Some(r), _) => {
                ui.spinner();
                ui.label(format!("Connecting to {r}…"));
            }
            (Loadable::Ready(signed_in), Some(r), _) => {
                let who = if *signed_in { "signed in" } else { "anonymous" };
                let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().circle_filled(rect.center(), 4.0, egui::Color32::from_rgb(60, 180, 90));
                ui.label(format!("{r} ({who})"));
            }
            (Loadable::Failed { .. }, Some(r), _) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("{r}: not connected"));
            }
            _ => {
                ui.weak("Not connected");
            }
        }
    });
    actions
}
