//! The coverage view: repositories × platforms for one tag each, what the chosen host runs,
//! a summary per platform, and CSV / Markdown export.

use egui::{Color32, RichText};
use egui_extras::{Column, TableBuilder};

use crate::model::coverage::{Coverage, CoverageRow};
use crate::model::diagnose::Host;
use crate::model::units::{count, human_bytes};
use crate::state::coverage::CoverageAction;
use crate::state::{AppState, UiAction};

const ROW_HEIGHT: f32 = 22.0;

/// The matrix's colours for the host's pick, and red for nothing to run.
fn fit_color(ui: &egui::Ui, word: &str) -> Option<Color32> {
    Some(match (word, ui.visuals().dark_mode) {
        ("native", _) => super::matrix::pick_color(ui, true),
        ("fallback", _) => super::matrix::pick_color(ui, false),
        // Emulated (picked for emulation, or a fallback the CPU cannot run): apart from the
        // native fallback's amber.
        ("emulation" | "fallback-emulated", true) => Color32::from_rgb(60, 50, 100),
        ("emulation" | "fallback-emulated", false) => Color32::from_rgb(225, 215, 245),
        ("none", true) => Color32::from_rgb(110, 40, 40),
        ("none", false) => Color32::from_rgb(250, 205, 205),
        _ => return None,
    })
}

pub fn coverage_ui(ui: &mut egui::Ui, state: &mut AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    let act = |a: CoverageAction| UiAction::Coverage(a);
    ui.horizontal(|ui| {
        ui.heading("Coverage");
        match &state.registry {
            Some(r) if state.layout.is_none() => ui.weak(format!("across the repositories of {r}")),
            _ => ui.weak("connect to a registry to compare its repositories"),
        };
        if ui.button("Back to matrix").on_hover_text("Close the coverage view").clicked() {
            actions.push(act(CoverageAction::Close));
        }
    });
    form_ui(ui, state, &mut actions);
    let host = Host::parse(&state.settings.host).ok();
    let cov = &mut state.coverage;
    if let Some(e) = &cov.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let (Some(host), Some(c)) = (host, cov.coverage.as_ref()) else {
        if cov.coverage.is_none() {
            ui.add_space(20.0);
            ui.label("Which of these repositories' images run on the chosen host, and which lack a platform?");
            ui.weak("Leave Repositories empty for the whole catalog, type a glob (team/*), or list names where the catalog is hidden.");
        } else {
            ui.colored_label(ui.visuals().warn_fg_color, "the chosen host is not a preset or a platform: pick one above");
        }
        return actions;
    };
    summary_ui(ui, c, &host, cov.running().is_some() || cov.partial);
    ui.separator();
    let host_key = state.settings.host.clone();
    let order = cov.order(&host_key, &host).to_vec();
    if let Some(c) = cov.coverage.as_ref() {
        table_ui(ui, c, &order, &host, &mut actions);
    }
    super::matrix::legend_window(ui.ctx(), &mut state.legend_open, |ui| legend_ui(ui, &host.label));
    actions
}

/// What the coverage view's colours and words mean (F1), drawn with its own colours.
fn legend_ui(ui: &mut egui::Ui, host: &str) {
    let words = [
        ("native", format!("{host} runs the image made for it")),
        ("fallback", format!("{host} runs it by the runtime's fallback, natively (arm/v7 on a CPU with 32-bit mode)")),
        ("fallback-emulated", format!("the runtime falls back to it, but {host}'s CPU cannot run it: emulated")),
        ("emulation", format!("{host} runs it only through emulation (QEMU, Rosetta)")),
        ("none", format!("nothing in the tag runs on {host}")),
    ];
    for (word, meaning) in words {
        ui.horizontal(|ui| {
            let mut t = RichText::new(word.replace("-emulated", " (emulated)"));
            if let Some(bg) = fit_color(ui, word) {
                t = t.background_color(bg);
            }
            ui.add_sized([150.0, 16.0], egui::Label::new(t));
            ui.label(meaning);
        });
    }
    ui.separator();
    ui.horizontal(|ui| {
        ui.add_sized([150.0, 16.0], egui::Label::new(RichText::new("mislabelled").color(ui.visuals().error_fg_color)));
        ui.label("the entry picked is not what its label says (its config names another platform)");
    });
    ui.horizontal(|ui| {
        ui.add_sized([150.0, 16.0], egui::Label::new(RichText::new("missing").color(ui.visuals().error_fg_color)));
        ui.label("the tag has no image for this platform");
    });
    ui.horizontal(|ui| {
        ui.add_sized([150.0, 16.0], egui::Label::new("12.3 MB"));
        ui.label("the platform's compressed image size");
    });
    ui.horizontal(|ui| {
        ui.add_sized([150.0, 16.0], egui::Label::new("signed, attested"));
        ui.label("signatures / attestations / SBOMs attached to the chosen image");
    });
    ui.horizontal(|ui| {
        ui.add_sized([150.0, 16.0], egui::Label::new("No tag matches"));
        ui.label("the repository has no tag the policy picks: nothing to check");
    });
    ui.separator();
    ui.strong("Keys");
    super::matrix::keys_ui(ui);
}

fn form_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Vec<UiAction>) {
    let act = UiAction::Coverage;
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Repositories to cover");
        let hint = if state.registry.as_ref().is_some_and(|r| r.hides_catalog()) { "library/nginx library/redis" } else { "all, a glob (team/*) or names" };
        let repos = ui.add(egui::TextEdit::singleline(&mut state.coverage.repos_input).hint_text(hint).desired_width(220.0)).labelled_by(l.id);
        let favourites: Vec<String> = match &state.registry {
            Some(r) => {
                let prefix = format!("{}/", r.name());
                state.settings.favourites.iter().filter_map(|f| f.strip_prefix(&prefix).map(str::to_string)).collect()
            }
            None => Vec::new(),
        };
        if !favourites.is_empty() && ui.button("Cover favourites").on_hover_text("Cover the favourite repositories of this registry").clicked() {
            state.coverage.repos_input = favourites.join(" ");
            actions.push(act(CoverageAction::Run));
        }
        let l = ui.label("Tag policy");
        let policy = ui
            .add(egui::TextEdit::singleline(&mut state.coverage.policy_input).hint_text("latest").desired_width(90.0))
            .labelled_by(l.id)
            .on_hover_text("latest, newest (the highest version tag), or a glob such as v* or release-*");
        egui::ComboBox::from_id_salt("coverage_policy").selected_text("").width(24.0).show_ui(ui, |ui| {
            for p in ["latest", "newest", "v*", "release-*"] {
                if ui.selectable_label(state.coverage.policy_input == p, p).clicked() && state.coverage.policy_input != p {
                    state.coverage.policy_input = p.to_string();
                    // Another policy means other tags: read again.
                    actions.push(act(CoverageAction::Run));
                }
            }
        });
        let enter = (repos.lost_focus() || policy.lost_focus()) && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if state.coverage.is_running() {
            let (done, total) = (state.coverage.done, state.coverage.total);
            let frac = if total > 0 { done as f32 / total as f32 } else { 0.0 };
            ui.add(egui::ProgressBar::new(frac).desired_width(200.0).text(format!("{done} of {}", count(total, "repository", "repositories"))));
            if ui.button("Cancel").on_hover_text("Esc").clicked() {
                actions.push(act(CoverageAction::Cancel));
            }
        } else if ui.button("Run").on_hover_text("Read each repository's tag (Enter)").clicked() || enter {
            actions.push(act(CoverageAction::Run));
        }
        ui.separator();
        super::matrix::host_picker_ui(ui, state, actions);
        let mut first = state.coverage.missing_first;
        if ui.checkbox(&mut first, "Needs attention first").on_hover_text("Repositories the host cannot run natively, then failures, first").changed() {
            actions.push(act(CoverageAction::SetMissingFirst(first)));
        }
    });
}

fn summary_ui(ui: &mut egui::Ui, c: &Coverage, host: &Host, partial: bool) {
    let n = c.host_tally(host);
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("{}:", host.label));
        ui.label(format!("{} native, {} by fallback, {} by emulation, {} not at all", n[0], n[1], n[2], n[3]));
        // Nothing to check is its own outcome, not a failure to read.
        let failed = c.rows.iter().filter(|r| r.problem().is_some() && !r.empty).count();
        let empty = c.rows.iter().filter(|r| r.empty).count();
        if failed > 0 {
            ui.colored_label(ui.visuals().warn_fg_color, format!("{} could not be read", count(failed, "repository", "repositories")));
        }
        if empty > 0 {
            ui.label(format!("{} no tag the policy picks", count(empty, "repository has", "repositories have")));
        }
        if partial {
            ui.colored_label(ui.visuals().warn_fg_color, "partial: not every repository has been read");
        }
        ui.separator();
        if ui.button("Copy Markdown").on_hover_text("The table as Markdown, for an issue or a wiki page").clicked() {
            ui.ctx().copy_text(c.to_markdown(host, &|_| true));
        }
        if ui.button("Copy CSV").on_hover_text("The table as comma-separated values, sizes in bytes").clicked() {
            ui.ctx().copy_text(c.to_csv(host, &|_| true));
        }
    });
    ui.horizontal_wrapped(|ui| {
        for k in c.keys() {
            let t = c.tally(k);
            let text = format!("{k}: {} of {}", t.have, t.of);
            let color = if t.have < t.of { ui.visuals().warn_fg_color } else { ui.visuals().text_color() };
            ui.add(egui::Label::new(RichText::new(text).color(color)).extend()).on_hover_text(c.summary_line(k));
        }
    });
}

fn table_ui(ui: &mut egui::Ui, c: &Coverage, order: &[usize], host: &Host, actions: &mut Vec<UiAction>) {
    if order.is_empty() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Reading repositories…");
        });
        return;
    }
    let keys = c.keys();
    egui::ScrollArea::horizontal().id_salt("coverage_h").show(ui, |ui| {
        let mut table = TableBuilder::new(ui)
            .id_salt("coverage_table")
            .striped(true)
            .column(Column::initial(220.0).at_least(120.0).resizable(true).clip(true))
            .column(Column::initial(90.0).resizable(true).clip(true))
            .column(Column::initial(170.0).resizable(true).clip(true))
            .column(Column::initial(110.0).resizable(true).clip(true));
        for k in keys {
            table = table.column(Column::exact(super::matrix::column_width(k).min(130.0)));
        }
        table
            .header(ROW_HEIGHT, |mut h| {
                h.col(|ui| {
                    ui.strong("Repository");
                });
                h.col(|ui| {
                    ui.strong("Tag");
                });
                h.col(|ui| {
                    ui.strong("On host").on_hover_text(&host.label);
                });
                h.col(|ui| {
                    ui.strong("Signed").on_hover_text(
                        "Signatures, attestations and SBOMs attached to the chosen image: the referrers API, or cosign's sha256-….sig / .att / .sbom tags",
                    );
                });
                for k in keys {
                    h.col(|ui| {
                        ui.strong(k);
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, order.len(), |mut row| {
                    let Some(r) = order.get(row.index()).and_then(|&i| c.rows.get(i)) else { return };
                    row_ui(&mut row, r, keys, host, actions);
                });
            });
    });
}

fn row_ui(row: &mut egui_extras::TableRow<'_, '_>, r: &CoverageRow, keys: &[String], host: &Host, actions: &mut Vec<UiAction>) {
    row.col(|ui| {
        let link = ui.link(&r.repository).on_hover_text(format!("Open the matrix of {} ({})", r.repository, count(r.tags, "tag", "tags")));
        if link.clicked() {
            actions.push(UiAction::Coverage(CoverageAction::Close));
            actions.push(UiAction::OpenRepository(r.repository.clone()));
        }
    });
    row.col(|ui| {
        ui.label(r.tag.as_deref().unwrap_or("—"));
    });
    if let Some(e) = r.problem() {
        row.col(|ui| {
            if r.empty {
                // "No tag matches `latest`": nothing to check, not a read that failed.
                let said = format!("No tag matches: {e}");
                ui.label(&said).on_hover_text(format!("{said}. Change the tag policy to check another tag"));
            } else {
                ui.colored_label(ui.visuals().error_fg_color, first_line(e)).on_hover_text(e);
            }
        });
        row.col(|_| {});
        for _ in keys {
            row.col(|_| {});
        }
        return;
    }
    let fit = r.host_fit(host);
    row.col(|ui| {
        let word = fit.word();
        let text = match &fit.platform {
            Some(p) => format!("{} ({p})", fit.label()),
            None => fit.label().to_string(),
        };
        let mut label = RichText::new(text);
        if let Some(bg) = fit_color(ui, word) {
            label = label.background_color(bg);
        }
        ui.label(label);
    });
    row.col(|ui| match (&r.supply, &r.supply_error) {
        (Some(sc), _) => {
            let text = sc.words();
            let r = if sc.signed() { ui.label(text) } else { ui.weak(text) };
            r.on_hover_text(format!(
                "{} signatures, {} attestations, {} SBOMs, {} others ({}), from {}",
                sc.signatures,
                sc.attestations,
                sc.sboms,
                sc.others,
                human_bytes(sc.size),
                if sc.via.is_empty() { "nothing attached".to_string() } else { sc.via.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ") }
            ));
        }
        (None, Some(e)) => {
            ui.weak("?").on_hover_text(e);
        }
        (None, None) => {
            ui.weak("—");
        }
    });
    for k in keys {
        row.col(|ui| match r.cell(k) {
            Some((key, cell, rev)) => {
                let text = cell.compressed_size.map(human_bytes).unwrap_or_else(|| "present".into());
                let mut t = RichText::new(format!("{text}{}", crate::model::coverage::revision_words(rev.as_deref())));
                if fit.platform.as_deref() == Some(key)
                    && let Some(bg) = fit_color(ui, fit.word())
                {
                    t = t.background_color(bg);
                }
                ui.label(t).on_hover_text(format!("{key}: {}", cell.digest));
            }
            None if r.is_image() => {
                ui.colored_label(ui.visuals().error_fg_color, "missing");
            }
            None => {
                ui.weak("—");
            }
        });
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 90 { format!("{}…", line.chars().take(90).collect::<String>()) } else { line.to_string() }
}
