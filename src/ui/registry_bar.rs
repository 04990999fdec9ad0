//! The registry bar: pick or type a registry, connection state, open a layout folder.

use crate::state::{AppState, Loadable, UiAction};

pub const DOCKER_HUB: &str = "docker.io";
const SUGGESTED: [&str; 4] = ["docker.io", "ghcr.io", "quay.io", "127.0.0.1:5000"];

pub fn registry_bar_ui(ui: &mut egui::Ui, state: &mut AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    // Wraps on a narrow window rather than clipping its buttons.
    ui.horizontal_wrapped(|ui| {
        ui.strong("Archlens");
        let shown = state.repos_shown();
        if ui.selectable_label(shown, "Repositories").on_hover_text("Show or hide the repositories panel (Ctrl+B)").clicked() {
            state.toggle_repos();
        }
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
        let covering = state.coverage.open;
        if ui
            .add(egui::Button::new("Coverage").selected(covering))
            .on_hover_text("Across repositories: which run on the chosen host, which lack a platform")
            .clicked()
        {
            actions.push(UiAction::Coverage(if covering {
                crate::state::coverage::CoverageAction::Close
            } else {
                crate::state::coverage::CoverageAction::Open
            }));
        }
        if ui.button("Open folder…").on_hover_text("Open an OCI image layout folder (or type oci:PATH under Open repository)").clicked() {
            state.file_prompt = Some(crate::state::FilePrompt::new(crate::state::FilePurpose::OpenLayout));
        }
        if state.signed_in_as.is_some() {
            if ui.button("Sign out").on_hover_text("Forget the login typed for this registry").clicked() {
                actions.push(UiAction::SignOut);
            }
        } else if state.registry.is_some() && ui.button("Sign in…").on_hover_text("Type a login for this registry").clicked() {
            actions.push(UiAction::OpenSignIn);
        }
        if let (Some(r), None) = (&state.registry, &state.layout) {
            let mut insecure = state.settings.insecure_registries.contains(r.name());
            if ui
                .checkbox(&mut insecure, "Skip TLS verification")
                .on_hover_text("Only for a registry whose certificate you cannot install (its identity is then unchecked). A CA goes in ~/.config/containers/certs.d/HOST/ca.crt instead.")
                .changed()
            {
                actions.push(UiAction::SetInsecure(insecure));
            }
            if insecure {
                ui.colored_label(ui.visuals().warn_fg_color, format!("TLS not verified for {r}"));
            }
        }
        if let Some(w) = &state.waiting {
            ui.colored_label(ui.visuals().warn_fg_color, w);
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
                let who = match &state.signed_in_as {
                    Some((user, kept)) => format!("signed in as {user}, {kept}"),
                    None if *signed_in => "signed in with stored credentials".to_string(),
                    None => "anonymous".to_string(),
                };
                let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().circle_filled(rect.center(), 4.0, egui::Color32::from_rgb(60, 180, 90));
                ui.label(format!("{r} ({who})"));
                if let Some((_, left)) = state.rate_limit.as_ref().filter(|(reg, _)| reg == r) {
                    ui.weak(left).on_hover_text("The registry's pull limit left, as it last said (ratelimit-remaining)");
                }
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

/// The sign-in window.
pub fn sign_in_ui(ctx: &egui::Context, state: &mut AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    let registry = state.registry.as_ref().map(|r| r.name().to_string()).unwrap_or_default();
    let mut open = state.sign_in.open;
    egui::Window::new(format!("Sign in to {registry}")).open(&mut open).collapsible(false).resizable(false).show(ctx, |ui| {
        let f = &mut state.sign_in;
        egui::Grid::new("sign_in").num_columns(2).show(ui, |ui| {
            let l = ui.label("User name");
            ui.add(egui::TextEdit::singleline(&mut f.username).desired_width(220.0)).labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Password or token");
            let pw = ui.add(egui::TextEdit::singleline(&mut f.password).password(true).desired_width(220.0)).labelled_by(l.id);
            if pw.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                actions.push(UiAction::SignIn);
            }
            ui.end_row();
        });
        ui.checkbox(&mut f.remember, "Remember in the OS keychain");
        ui.horizontal(|ui| {
            if f.is_pending() {
                ui.spinner();
                ui.label("Checking…");
            } else if ui.button("Sign in").clicked() {
                actions.push(UiAction::SignIn);
            }
        });
        if let Some(e) = &f.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    });
    if !open && state.sign_in.open {
        actions.push(UiAction::CloseSignIn);
    }
    actions
}
