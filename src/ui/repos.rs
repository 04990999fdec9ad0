//! The repositories panel: the catalog (loading pages as you scroll), a filter, a typed
//! repository name where a registry hides its catalog, favourites and recents.

use crate::state::{AppState, Loadable, UiAction};

pub fn repos_ui(ui: &mut egui::Ui, state: &mut AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    ui.heading("Repositories");
    let label = ui.label("Open repository");
    ui.horizontal(|ui| {
        let edit = ui.add(egui::TextEdit::singleline(&mut state.repos.input).hint_text("team/app or host/team/app").desired_width(150.0)).labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Open").clicked() || enter) && !state.repos.input.trim().is_empty() {
            actions.push(UiAction::OpenRepository(state.repos.input.trim().to_string()));
        }
    });
    ui.separator();
    if !state.settings.favourites.is_empty() {
        ui.label("Favourites");
        for f in state.settings.favourites.clone() {
            ui.horizontal(|ui| {
                if fav_marker(ui, true).on_hover_text("A favourite: click to remove it from favourites").clicked() {
                    actions.push(UiAction::ToggleFavourite(f.clone()));
                }
                if ui.link(&f).clicked() {
                    actions.push(UiAction::OpenRepository(f.clone()));
                }
            });
        }
        ui.separator();
    }
    let filter_label = ui.label("Filter");
    ui.add(egui::TextEdit::singleline(&mut state.repos.filter).hint_text("part of a name").desired_width(f32::INFINITY)).labelled_by(filter_label.id);
    let registry = state.registry.as_ref().map(|r| r.name().to_string());
    match &state.repos.list {
        Loadable::NotRequested => {
            if let Some(r) = &registry {
                ui.weak(format!("{r} does not list its repositories: type a name above."));
            } else {
                ui.weak("Connect to a registry, or open a recent repository.");
            }
        }
        // The registry did not answer: the notice says why, once.
        Loadable::Failed { .. } if matches!(state.connection, Loadable::Failed { .. }) => {
            ui.weak("No repository list: not connected.");
        }
        Loadable::Failed { error, .. } => {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        _ => {}
    }
    let names: Vec<String> = state
        .repos
        .list
        .value()
        .map(|v| v.iter().filter(|n| state.repos.filter.is_empty() || n.contains(state.repos.filter.trim())).cloned().collect())
        .unwrap_or_default();
    let has_more = state.repos.next.is_some();
    let pending = state.repos.list.is_pending();
    let current = state.matrix.as_ref().map(|m| m.title.clone());
    egui::ScrollArea::vertical().id_salt("repo_list").max_height(ui.available_height() * 0.6).show(ui, |ui| {
        for name in &names {
            let full = registry.as_ref().map(|r| format!("{r}/{name}")).unwrap_or_else(|| name.clone());
            ui.horizontal(|ui| {
                let fav = state.settings.favourites.contains(&full);
                let tip = if fav { "A favourite: click to remove it from favourites" } else { "Not a favourite: click to add it" };
                if fav_marker(ui, fav).on_hover_text(tip).clicked() {
                    actions.push(UiAction::ToggleFavourite(full.clone()));
                }
                let selected = current.as_deref() == Some(full.as_str());
                if ui.selectable_label(selected, name).clicked() {
                    actions.push(UiAction::OpenRepository(full.clone()));
                }
            });
        }
        if pending {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Loading…");
            });
        } else if has_more {
            // Reaching the end of the list loads the next page.
            let r = ui.button("Load more");
            if r.clicked() || ui.is_rect_visible(r.rect) {
                actions.push(UiAction::LoadMoreRepos);
            }
        }
    });
    if !state.settings.recent_repositories.is_empty() {
        ui.separator();
        ui.label("Recent");
        for r in state.settings.recent_repositories.clone() {
            if ui.link(&r).clicked() {
                actions.push(UiAction::OpenRepository(r.clone()));
            }
        }
    }
    actions
}

/// The favourite marker: a filled star for a favourite, an outline for the rest (drawn, so
/// no font needs the glyph); clicking toggles it. Screen readers hear "Favourite" or "Not a
/// favourite".
fn fav_marker(ui: &mut egui::Ui, fav: bool) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(18.0, 18.0), egui::Sense::click());
    let name = if fav { "Favourite" } else { "Not a favourite" };
    response.widget_info(|| egui::WidgetInfo::selected(egui::accesskit::Role::CheckBox, ui.is_enabled(), fav, name));
    if ui.is_rect_visible(rect) {
        let visuals = ui.style().interact(&response);
        let c = rect.center();
        let (outer, inner) = (7.5_f32, 3.2_f32);
        let point = |k: usize| {
            let r = if k.is_multiple_of(2) { outer } else { inner };
            let a = std::f32::consts::PI * (k as f32) / 5.0 - std::f32::consts::FRAC_PI_2;
            c + egui::vec2(r * a.cos(), r * a.sin())
        };
        let gold = egui::Color32::from_rgb(230, 170, 20);
        let stroke = egui::Stroke::new(1.2, if fav { gold } else { visuals.fg_stroke.color });
        if fav {
            // A star is not convex: filled as five triangles and the centre pentagon.
            for i in 0..5 {
                ui.painter().add(egui::Shape::convex_polygon(vec![point((2 * i + 9) % 10), point(2 * i), point(2 * i + 1)], gold, egui::Stroke::NONE));
            }
            ui.painter().add(egui::Shape::convex_polygon((0..5).map(|i| point(2 * i + 1)).collect(), gold, egui::Stroke::NONE));
        }
        ui.painter().add(egui::Shape::Path(egui::epaint::PathShape::closed_line((0..10).map(point).collect(), stroke)));
    }
    response
}
