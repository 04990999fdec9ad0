//! The platform matrix: rows are tags, columns are platforms. Virtualised rows with a sticky
//! header; gaps, shared digests, single-arch tags, per-cell errors and the host's pick are
//! visible at a glance.

use egui::{Color32, RichText, Sense};
use egui_extras::{Column, TableBuilder};

use crate::model::matrix::RowKind;
use crate::model::platform::{HOST_PRESETS, MatchKind};
use crate::model::units::human_bytes;
use crate::state::{AppState, UiAction};

pub const CELL_WIDTH: f32 = 150.0;
const ROW_HEIGHT: f32 = 22.0;

/// The background of the host's pick: green when exact, amber for a fallback (coverage uses it
/// for emulation too).
pub(super) fn pick_color(ui: &egui::Ui, exact: bool) -> Color32 {
    pick_fill(ui.visuals(), exact)
}

/// [`pick_color`] for a theme.
pub fn pick_fill(visuals: &egui::Visuals, exact: bool) -> Color32 {
    match (exact, visuals.dark_mode) {
        (true, true) => Color32::from_rgb(30, 90, 50),
        (true, false) => Color32::from_rgb(200, 240, 205),
        (false, true) => Color32::from_rgb(100, 80, 20),
        (false, false) => Color32::from_rgb(250, 230, 170),
    }
}

/// Secondary ("weak") text that reads at 4.5:1 or better on the panel, its stripes and windows
/// in either theme (egui's default, the text colour at half strength, reads at 2.7:1).
pub fn readable_weak_text(visuals: &mut egui::Visuals) {
    visuals.weak_text_color = Some(if visuals.dark_mode { Color32::from_rgb(160, 160, 160) } else { Color32::from_rgb(96, 96, 96) });
}

/// The fill and the text of a cell that cannot run as labelled, or could not be read: dark red
/// on pale red (7.3:1) in a light theme, white on dark red (11.2:1) in a dark one.
pub fn refused_colors(visuals: &egui::Visuals) -> (Color32, Color32) {
    if visuals.dark_mode { (Color32::from_rgb(110, 30, 30), Color32::WHITE) } else { (Color32::from_rgb(253, 222, 222), Color32::from_rgb(150, 0, 0)) }
}

/// The outline of the selected cell or tag (the keyboard cursor). It is drawn on every kind
/// of cell (the host's green or amber pick, a plain cell, a gap, an error) and must stand out
/// from all their backgrounds in either theme.
pub fn cursor_stroke(visuals: &egui::Visuals) -> egui::Stroke {
    let color = if visuals.dark_mode { Color32::from_rgb(255, 255, 255) } else { Color32::from_rgb(0, 40, 120) };
    egui::Stroke::new(2.0, color)
}

/// Outline `ui`'s whole cell as the cursor.
/// A click on a tag or a cell: selects it; with Ctrl (Cmd) adds it to the selection or takes
/// it out; with Shift selects the rows from the cursor to it.
fn click_action(ui: &egui::Ui, tag: &str, platform: Option<&String>) -> UiAction {
    let m = ui.input(|i| i.modifiers);
    let (tag, platform) = (tag.to_string(), platform.cloned());
    if m.shift {
        UiAction::Mark { tag, platform, range: true }
    } else if m.command {
        UiAction::Mark { tag, platform, range: false }
    } else {
        UiAction::Select { tag, platform }
    }
}

/// The outline of a tag or cell selected beside the cursor (Ctrl- or Shift-click).
fn paint_mark(ui: &egui::Ui) {
    let rect = ui.max_rect().shrink(1.0);
    let stroke = egui::Stroke::new(1.5, cursor_stroke(ui.visuals()).color.gamma_multiply(0.8));
    ui.painter().rect_stroke(rect, 2.0, stroke, egui::StrokeKind::Inside);
}

/// What dragging a tag or cell onto the composer adds: the whole selection when it is part of
/// it, else itself.
fn drag_payload(state: &AppState, tag: &str, platform: Option<&str>) -> Vec<crate::model::Reference> {
    let in_selection = state.selection.as_ref().is_some_and(|s| s.tag == tag && s.platform.as_deref() == platform) || state.is_marked(tag, platform);
    if in_selection {
        return state.selected_references();
    }
    let Some(mv) = state.matrix.as_ref() else { return Vec::new() };
    let Some(row) = mv.matrix.row(tag) else { return Vec::new() };
    match platform {
        Some(k) => row.cells.get(k).map(|c| vec![mv.repository.digest_reference(&c.digest)]).unwrap_or_default(),
        None => vec![mv.repository.reference(tag)],
    }
}

fn paint_cursor(ui: &egui::Ui) {
    let rect = ui.max_rect().shrink(1.0);
    ui.painter().rect_stroke(rect, 2.0, cursor_stroke(ui.visuals()), egui::StrokeKind::Inside);
}

/// The width the open matrix needs to show every column: the tag table and each platform.
pub fn full_width(state: &AppState) -> f32 {
    let Some(mv) = state.matrix.as_ref() else { return 0.0 };
    let tags = 150.0 + 26.0 + if state.settings.show_attestations { 34.0 } else { 0.0 };
    tags + mv.matrix.platform_keys().iter().map(|k| column_width(k) + 8.0).sum::<f32>() + 24.0
}

/// Width of a platform column: room for the key and for `digest size`.
pub fn column_width(key: &str) -> f32 {
    CELL_WIDTH.max(key.chars().count() as f32 * 7.6 + 12.0)
}

// `i % C.len()` is in range.
pub(super) fn group_color(i: usize) -> Color32 {
    const C: [Color32; 6] = [
        Color32::from_rgb(66, 133, 244),
        Color32::from_rgb(219, 68, 55),
        Color32::from_rgb(244, 180, 0),
        Color32::from_rgb(15, 157, 88),
        Color32::from_rgb(171, 71, 188),
        Color32::from_rgb(0, 172, 193),
    ];
    C.get(i % C.len()).copied().unwrap_or(Color32::GRAY)
}

pub fn matrix_ui(ui: &mut egui::Ui, state: &mut AppState, focus_filter: bool) -> Vec<UiAction> {
    let mut actions = Vec::new();
    let Some(mv) = &state.matrix else {
        ui.vertical_centered(|ui| {
            ui.add_space(80.0);
            ui.heading("No repository open");
            ui.label("Connect to a registry and pick a repository, type one on the left, or open an OCI layout folder.");
        });
        return actions;
    };
    if state.showing_demo() {
        // A first run: say what this is and where to go from here.
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.strong("This is a demo:");
                ui.label("sample multi-architecture images from a folder shipped with Archlens.");
                ui.label("To see your own, type a registry above (docker.io, ghcr.io, localhost:5000) and press Enter, or");
                ui.label("use Open folder… for an OCI image-layout folder.");
            });
        });
    }
    let title = mv.title.clone();
    let (done, total, loading) = (mv.done, mv.total, mv.request.is_some());
    let verify_cost = state.verify_cost();
    ui.horizontal_wrapped(|ui| {
        ui.heading(&title);
        if ui.button("Refresh").on_hover_text("Ctrl+R").clicked() {
            actions.push(UiAction::Refresh);
        }
        if loading {
            let frac = if total > 0 { done as f32 / total as f32 } else { 0.0 };
            ui.add(egui::ProgressBar::new(frac).desired_width(180.0).text(format!("{done}/{total} tags")));
            if ui.button("Cancel").on_hover_text("Esc").clicked() {
                actions.push(UiAction::Cancel);
            }
        } else {
            let total = mv.matrix.rows.len();
            let shown = state.derived.visible.len();
            if shown == total {
                ui.weak(crate::model::units::count(total, "tag", "tags"));
            } else {
                ui.weak(format!("{shown} of {}", crate::model::units::count(total, "tag", "tags")));
            }
        }
        let mut verify = state.settings.verify_cells;
        let why = "Check each cell's config against its index entry, so a mislabelled image shows in red (one config read per image, cached)";
        // Where manifest reads are metered, what turning it on spends is said before.
        let hover = match verify_cost.filter(|_| !verify) {
            Some(cost) => format!("{why}. Turning it on {cost}"),
            None => why.to_string(),
        };
        if ui.checkbox(&mut verify, "Verify").on_hover_text(hover).changed() {
            actions.push(UiAction::SetVerify(verify));
        }
        if ui.selectable_label(state.legend_open, "Legend").on_hover_text("What the colours and marks mean (F1)").clicked() {
            state.legend_open = !state.legend_open;
        }
        if ui
            .selectable_label(state.settings.show_sizes, "Sizes")
            .on_hover_text("Plot each platform's compressed size across the tags in version order (F2)")
            .clicked()
        {
            actions.push(UiAction::ToggleSizes);
        }
        ui.separator();
        if ui.button("Compose…").on_hover_text("Build an index from images").clicked() {
            actions.push(UiAction::Composer(crate::state::composer::ComposerAction::Open));
        }
        if ui.button("Add to draft").on_hover_text("Add the selected tag or cell to the draft index").clicked() {
            actions.push(UiAction::AddSelectionToDraft);
        }
        if ui.button("Edit tag").on_hover_text("Start a draft from the selected tag's index").clicked() {
            actions.push(UiAction::EditSelectedTag);
        }
        ui.separator();
        let compare = crate::state::compare::CompareAction::Selected;
        if ui.button("Compare").on_hover_text("What changed between the two selected tags or cells (select one, Ctrl-click the other)").clicked() {
            actions.push(UiAction::Compare(compare));
        }
        if ui.button("vs previous").on_hover_text("What changed since the tag before the selected one, in version order").clicked() {
            actions.push(UiAction::Compare(crate::state::compare::CompareAction::WithPrevious));
        }
    });
    // Why the rows on screen are not the whole story: a partial read, or a refresh that failed
    // (with no rows, the table says it instead).
    let banner = state.matrix.as_ref().and_then(|m| m.partial.clone().or_else(|| m.error.clone().filter(|_| !m.matrix.rows.is_empty())));
    if let Some(why) = banner {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, why);
            if ui.button("Retry").on_hover_text("Read the whole matrix again (Ctrl+R)").clicked() {
                actions.push(UiAction::Refresh);
            }
        });
    }
    // Where the rows come from, when it is not the registry's manifests alone.
    for note in state.matrix.iter().flat_map(|m| &m.matrix.notes) {
        ui.weak(note);
    }
    toolbar_ui(ui, state, focus_filter, &mut actions);
    ui.separator();
    table_ui(ui, state, &mut actions);
    let host = state.host_label();
    legend_window(ui.ctx(), &mut state.legend_open, |ui| legend_ui(ui, &host));
    actions
}

/// The legend (F1, or its button) at the top right of the view, while `open`.
pub fn legend_window(ctx: &egui::Context, open: &mut bool, contents: impl FnOnce(&mut egui::Ui)) {
    if *open {
        egui::Window::new("Legend").open(open).collapsible(false).resizable(false).anchor(egui::Align2::RIGHT_TOP, egui::vec2(-12.0, 90.0)).show(ctx, contents);
    }
}

/// What the matrix's colours and marks mean, drawn with the same colours the matrix uses.
pub fn legend_ui(ui: &mut egui::Ui, host: &str) {
    let v = ui.visuals().clone();
    let swatch = |ui: &mut egui::Ui, fill: Color32, stroke: egui::Stroke| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(28.0, 14.0), Sense::hover());
        ui.painter().rect(rect, 2.0, fill, stroke, egui::StrokeKind::Inside);
    };
    let entry = |ui: &mut egui::Ui, mark: &dyn Fn(&mut egui::Ui), text: &str| {
        ui.horizontal(|ui| {
            ui.allocate_ui_with_layout(egui::vec2(40.0, 16.0), egui::Layout::left_to_right(egui::Align::Center), mark);
            ui.label(text);
        });
    };
    entry(ui, &|ui| swatch(ui, pick_fill(&v, true), egui::Stroke::NONE), &format!("{host} pulls this image"));
    entry(ui, &|ui| swatch(ui, pick_fill(&v, false), egui::Stroke::NONE), &format!("{host} falls back to this (no exact match)"));
    entry(ui, &|ui| swatch(ui, Color32::TRANSPARENT, cursor_stroke(&v)), "the selected cell (arrow keys move it)");
    entry(
        ui,
        &|ui| {
            ui.monospace("ab12");
        },
        "digest (first digits) and compressed size",
    );
    entry(
        ui,
        &|ui| {
            ui.weak("—");
        },
        "no image for this platform",
    );
    entry(
        ui,
        &|ui| {
            ui.colored_label(v.warn_fg_color, "tag");
        },
        &format!("nothing in this tag runs natively on {host}"),
    );
    entry(
        ui,
        &|ui| {
            ui.colored_label(v.error_fg_color, "red");
        },
        "error, or mislabelled: the config or binary says another platform",
    );
    entry(
        ui,
        &|ui| {
            ui.label(RichText::new("tag").italics());
        },
        "italic tag, 1: a single-arch image, not an index",
    );
    entry(
        ui,
        &|ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), Sense::hover());
            ui.painter().circle_filled(rect.center(), 5.0, group_color(0));
        },
        "dot: tags sharing one digest (one colour per digest)",
    );
    entry(
        ui,
        &|ui| {
            ui.label(RichText::new("Att.").strong());
        },
        "attestation manifests in the index (Attestations shows them)",
    );
    entry(
        ui,
        &|ui| {
            ui.label(RichText::new("linux/…").underline());
        },
        "the host's own platform",
    );
    ui.separator();
    ui.strong("Keys");
    keys_ui(ui);
}

/// The keyboard, as the legends list it.
pub fn keys_ui(ui: &mut egui::Ui) {
    egui::Grid::new("legend_keys").num_columns(2).spacing([12.0, 2.0]).show(ui, |ui| {
        for (keys, what) in [
            ("Arrows, PgUp/PgDn, Home/End", "move the cursor over the matrix"),
            ("Enter", "details of the cell or tag under the cursor"),
            ("Ctrl+F", "filter tags"),
            ("Ctrl+R", "read again"),
            ("Esc", "close this, or stop what runs"),
            ("Ctrl+Plus / Ctrl+Minus / Ctrl+0", "zoom in, out, back to 100 %"),
            ("F1", "this legend"),
            ("F2", "sizes over versions, under the matrix"),
        ] {
            ui.monospace(keys);
            ui.label(what);
            ui.end_row();
        }
    });
}

fn toolbar_ui(ui: &mut egui::Ui, state: &mut AppState, focus_filter: bool, actions: &mut Vec<UiAction>) {
    let keys = state.matrix.as_ref().map(|m| m.matrix.platform_keys()).unwrap_or_default();
    // Each label and its control wrap as one, so a label never ends a line without its field.
    ui.horizontal_wrapped(|ui| {
        labelled(ui, 190.0, |ui| {
            let l = ui.label("Tags");
            let edit = ui
                .add(egui::TextEdit::singleline(&mut state.tag_filter).hint_text("filter or glob (1.*)").desired_width(140.0))
                .labelled_by(l.id)
                .on_hover_text("Ctrl+F");
            if focus_filter {
                edit.request_focus();
            }
        });
        labelled(ui, 230.0, |ui| {
            let l = ui.label("Only missing");
            let missing_text = state.only_missing.clone().unwrap_or_else(|| "any platform".to_string());
            egui::ComboBox::from_id_salt("only_missing")
                .selected_text(missing_text)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut state.only_missing, None, "any platform");
                    for k in &keys {
                        ui.selectable_value(&mut state.only_missing, Some(k.clone()), k);
                    }
                })
                .response
                .labelled_by(l.id);
        });
        ui.checkbox(&mut state.settings.sort_by_version, "Version order");
        ui.checkbox(&mut state.settings.show_attestations, "Attestations");
        ui.separator();
        host_picker_ui(ui, state, actions);
    });
}

/// A label and its control as one piece of a wrapping row: on the next line when `width` does
/// not fit in what is left of this one, so a label never ends a line without its field.
pub(super) fn labelled(ui: &mut egui::Ui, width: f32, add: impl FnOnce(&mut egui::Ui)) {
    if ui.available_size_before_wrap().x < width {
        ui.end_row();
    }
    ui.horizontal(add);
}

/// The host whose view the matrix and coverage show: a preset, or a typed platform. The
/// diagnose panel's `compact` picker (presets only) sets the same host.
pub(super) fn host_picker_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Vec<UiAction>) {
    host_picker(ui, state, actions, false);
}

pub(super) fn host_picker(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Vec<UiAction>, compact: bool) {
    labelled(ui, 300.0, |ui| {
        let l = ui.label(if compact { "for host" } else { "Host" });
        let current = state.host_label();
        egui::ComboBox::from_id_salt(if compact { "diagnose_host" } else { "host" })
            .selected_text(current)
            .width(230.0)
            .show_ui(ui, |ui| {
                for p in HOST_PRESETS {
                    if ui.selectable_label(state.settings.host == p.id, p.label).on_hover_text(p.platform).clicked() {
                        actions.push(UiAction::SetHost(p.id.to_string()));
                    }
                }
            })
            .response
            .labelled_by(l.id);
    });
    if compact {
        return;
    }
    labelled(ui, 200.0, |ui| {
        let l = ui.label("or platform");
        let e = ui.add(egui::TextEdit::singleline(&mut state.host_input).hint_text("linux/riscv64").desired_width(110.0)).labelled_by(l.id);
        if e.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) && !state.host_input.trim().is_empty() {
            actions.push(UiAction::SetHost(state.host_input.trim().to_string()));
        }
    });
}

fn table_ui(ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<UiAction>) {
    let Some(mv) = &state.matrix else { return };
    let visible = &state.derived.visible;
    if visible.is_empty() {
        if mv.request.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading tags…");
            });
        } else if let Some(e) = &mv.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        } else {
            ui.weak("No tags match.");
        }
        return;
    }
    // Two tables side by side: tags on the left stay put while the platform columns scroll
    // sideways; their vertical offsets are kept equal.
    let sync = ui.scope_id().with("matrix_scroll_y");
    let anchor_id = ui.scope_id().with("matrix_anchor");
    let stored: f32 = ui.ctx().data(|d| d.get_temp(sync)).unwrap_or(0.0);
    // Rows arriving (in version order they land anywhere) or a filter change move rows: keep
    // the row the reader is on where it was on screen.
    let anchor: Option<Anchor> = ui.ctx().data(|d| d.get_temp(anchor_id));
    let kept = anchor.filter(|a| a.generation != state.derived.generation || a.hold > 0).and_then(|a| {
        let at = visible.iter().position(|&i| mv.matrix.rows.get(i).is_some_and(|r| r.tag == a.tag))?;
        Some(((at as f32 * row_stride(ui) - a.offset).max(0.0), a))
    });
    let y = kept.as_ref().map(|(y, _)| *y).unwrap_or(stored);
    let footer = ROW_HEIGHT + 6.0;
    let height = (ui.available_height() - footer).max(ROW_HEIGHT * 3.0);
    let mut new_y = y;
    // Past the end of last frame's rows (more arrived since) the tables clamp rather than
    // spring back, so a kept place is not carried off by the spring.
    ui.spacing_mut().scroll.kinetic.rubber_band = false;
    let area = ui
        .horizontal_top(|ui| {
            ui.set_height(height);
            let left = ui.vertical(|ui| tag_table_ui(ui, state, actions, y)).inner;
            let moved = (y - stored).abs() > 0.5;
            let forced = ((left - y).abs() > 0.5 || moved).then_some(left);
            let right =
                egui::ScrollArea::horizontal().id_salt("matrix_h").show(ui, |ui| ui.vertical(|ui| cells_table_ui(ui, state, actions, forced)).inner).inner;
            new_y = forced.unwrap_or(right);
        })
        .response
        .rect;
    // A table may clamp the offset to last frame's (shorter) content: keep the one wanted.
    if kept.is_some() {
        new_y = y;
    }
    if (new_y - stored).abs() > 0.5 {
        ui.ctx().data_mut(|d| d.insert_temp(sync, new_y));
        ui.ctx().request_repaint();
    }
    let anchor = match kept {
        // Held for a few more frames: the table clamps (and springs back) to the height of
        // the rows it drew last, so the place is set again once it knows the new height.
        Some((_, a)) => {
            ui.ctx().request_repaint();
            let hold = if a.generation != state.derived.generation { HOLD_FRAMES } else { a.hold.saturating_sub(1) };
            Some(Anchor { generation: state.derived.generation, hold, ..a })
        }
        None => reading_anchor(ui, state, area, new_y),
    };
    ui.ctx().data_mut(|d| match anchor {
        Some(a) => {
            d.insert_temp(anchor_id, a);
        }
        None => d.remove::<Anchor>(anchor_id),
    });
    let host = state.host_platform();
    if host.is_some() {
        let no_match = state.derived.host_no_match;
        if no_match > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{} nothing {} runs natively", crate::model::units::count(no_match, "tag has", "tags have"), state.host_label()),
            );
        }
    }
}

/// The row the reader is on, and how far below the top of the rows it is drawn.
#[derive(Debug, Clone, PartialEq)]
struct Anchor {
    tag: String,
    offset: f32,
    /// The `Derived::generation` the anchor was taken in.
    generation: u64,
    /// Frames left in which the anchor is set again after rows moved.
    hold: u8,
}

const HOLD_FRAMES: u8 = 2;

/// Which row to keep in place when rows move, once the reader has scrolled: the row under the
/// pointer, else the top row. At the top the view stays at the top (the newest tags, in version
/// order, arrive there), wherever the pointer rests and whatever is selected.
fn reading_anchor(ui: &egui::Ui, state: &AppState, area: egui::Rect, y: f32) -> Option<Anchor> {
    if y <= 0.5 {
        return None;
    }
    let mv = state.matrix.as_ref()?;
    let visible = &state.derived.visible;
    let stride = row_stride(ui);
    let body_top = area.top() + stride;
    let pointer = ui.ctx().pointer_hover_pos().filter(|p| area.contains(*p) && p.y >= body_top);
    let index = match pointer {
        Some(p) => ((p.y - body_top + y) / stride).floor() as usize,
        None => (y / stride).floor() as usize,
    };
    let row = mv.matrix.rows.get(*visible.get(index)?)?;
    Some(Anchor { tag: row.tag.clone(), offset: index as f32 * stride - y, generation: state.derived.generation, hold: 0 })
}

/// How far apart rows are drawn: their height and the spacing the table adds.
fn row_stride(ui: &egui::Ui) -> f32 {
    ROW_HEIGHT + ui.spacing().item_spacing.y
}

/// The left table: tag, shared-digest marker, attestation count. Returns its scroll offset.
fn tag_table_ui(ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<UiAction>, y: f32) -> f32 {
    let Some(mv) = &state.matrix else { return y };
    let m = &mv.matrix;
    let visible = &state.derived.visible;
    let show_att = state.settings.show_attestations;
    let selection = state.selection.clone();
    let host = state.host_platform().map(|p| p.key());
    let mut table = TableBuilder::new(ui)
        .id_salt("matrix_tags")
        .striped(true)
        .vertical_scroll_offset(y)
        .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysHidden)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(150.0).at_least(80.0).resizable(true).clip(true))
        .column(Column::exact(26.0));
    if show_att {
        table = table.column(Column::exact(34.0));
    }
    let out = table
        .header(ROW_HEIGHT, |mut header| {
            header.col(|ui| {
                ui.strong("Tag");
            });
            header.col(|ui| {
                ui.strong("").on_hover_text("Tags sharing a digest");
            });
            if show_att {
                header.col(|ui| {
                    ui.strong("Att.").on_hover_text("Attestation manifests in the index");
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, visible.len(), |mut row_ui| {
                let Some((row_index, row)) = visible.get(row_ui.index()).and_then(|&i| Some((i, m.rows.get(i)?))) else { return };
                let picked = state.derived.picks.get(row_index).cloned().flatten();
                let row_selected = selection.as_ref().is_some_and(|s| s.tag == row.tag && s.platform.is_none());
                // No pick, or a pick that cannot run as labelled (Verify found it out).
                let no_match = host.is_some() && row.nothing_runs(picked.as_ref().map(|(k, _)| k.as_str()));
                row_ui.col(|ui| {
                    let mut text = RichText::new(&row.tag).monospace();
                    if row.kind == RowKind::Image {
                        text = text.italics();
                    }
                    if no_match {
                        text = text.color(ui.visuals().warn_fg_color);
                    }
                    let r = ui.add(egui::Button::selectable(row_selected, text).frame(false).sense(Sense::click_and_drag()));
                    let r = if no_match {
                        r.on_hover_ui(|ui| {
                            ui.label(format!("Nothing in {} runs natively on {}", row.tag, state.host_label()));
                            if picked.is_some() {
                                ui.label("The entry it would pick is mislabelled: its config or binary says another platform");
                            }
                        })
                    } else {
                        r
                    };
                    let r = match row.kind {
                        RowKind::Image => r.on_hover_text("Single-arch image: not an index"),
                        RowKind::Artifact => r.on_hover_ui(|ui| {
                            ui.label(format!("Artifact: {}", row.artifact_type.as_deref().unwrap_or("not an image")));
                        }),
                        _ => r.on_hover_ui(|ui| {
                            ui.label(row.digest.as_ref().map(|d| d.to_string()).unwrap_or_default());
                        }),
                    };
                    let r = match &row.pushed {
                        Some(when) => r.on_hover_text(format!("Last pushed {}", crate::model::units::when(when))),
                        None => r,
                    };
                    if r.clicked() {
                        actions.push(click_action(ui, &row.tag, None));
                    }
                    if r.double_clicked() {
                        actions.push(UiAction::OpenDetails);
                    }
                    if r.drag_started() {
                        r.dnd_set_drag_payload(drag_payload(state, &row.tag, None));
                    }
                    r.context_menu(|ui| {
                        use crate::state::compare::CompareAction;
                        if ui.button("Compare with previous version").clicked() {
                            actions.push(UiAction::Select { tag: row.tag.clone(), platform: None });
                            actions.push(UiAction::Compare(CompareAction::WithPrevious));
                        }
                        if let Some(sel) = selection.as_ref().filter(|s| s.tag != row.tag)
                            && ui.button(format!("Compare with {}", sel.tag)).clicked()
                        {
                            actions.push(UiAction::Select { tag: sel.tag.clone(), platform: None });
                            actions.push(UiAction::Mark { tag: row.tag.clone(), platform: None, range: false });
                            actions.push(UiAction::Compare(CompareAction::Selected));
                        }
                    });
                    if row_selected {
                        paint_cursor(ui);
                    } else if state.is_marked(&row.tag, None) {
                        paint_mark(ui);
                    }
                });
                row_ui.col(|ui| {
                    if let Some(d) = &row.digest
                        && let Some(tags) = state.derived.shared.get(d)
                    {
                        // The group's place among all shared digests of the matrix (not of the
                        // rows on screen): its colour stays put while scrolling and filtering.
                        let i = state.derived.shared_group(d).unwrap_or(0);
                        let what = if row.kind == RowKind::Index { "index" } else { "manifest" };
                        let (rect, r) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), Sense::hover());
                        ui.painter().circle_filled(rect.center(), 5.0, group_color(i));
                        r.on_hover_ui(|ui| {
                            ui.label(format!("{} tags point at this {what}: {}", tags.len(), tags.join(", ")));
                        });
                    }
                    if row.kind == RowKind::Image {
                        ui.weak("1").on_hover_text("Single-arch image");
                    }
                });
                if show_att {
                    row_ui.col(|ui| {
                        if row.attestations > 0 {
                            ui.label(row.attestations.to_string()).on_hover_text("Attestation manifests");
                        }
                    });
                }
            });
        });
    out.state.clamped_offset().y
}

/// The right table: one column per platform. Returns its scroll offset.
fn cells_table_ui(ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<UiAction>, forced_y: Option<f32>) -> f32 {
    let Some(mv) = &state.matrix else { return 0.0 };
    let m = &mv.matrix;
    let keys = m.platform_keys();
    if keys.is_empty() {
        // Every tag failed or is an artifact: no platform to show a column for.
        ui.weak("No platform columns: no tag resolved to an image (hover a tag's error for why).");
        return forced_y.unwrap_or(0.0);
    }
    let visible = &state.derived.visible;
    let show_att = state.settings.show_attestations;
    let selection = state.selection.clone();
    let host = state.host_platform().map(|p| p.key());
    // The view follows the cursor when it moves (keys, a click), not on every frame: rows
    // streaming in above a selected row leave the view where the reader has it.
    let seen_id = ui.scope_id().with("matrix_cursor_seen");
    let now = selection.as_ref().map(|s| (s.tag.clone(), s.platform.clone()));
    let seen: Option<Option<(String, Option<String>)>> = ui.ctx().data(|d| d.get_temp(seen_id));
    let cursor_moved = seen.as_ref() != Some(&now);
    if cursor_moved {
        ui.ctx().data_mut(|d| d.insert_temp(seen_id, now));
    }
    let mut table = TableBuilder::new(ui).id_salt("matrix_cells").striped(true).cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for k in &keys {
        table = table.column(Column::exact(column_width(k)));
    }
    match forced_y {
        Some(y) => table = table.vertical_scroll_offset(y),
        None => {
            if cursor_moved && let Some(r) = selection.as_ref().and_then(|s| visible.iter().position(|&i| m.rows.get(i).is_some_and(|r| r.tag == s.tag))) {
                table = table.scroll_to_row(r, None);
            }
        }
    }
    let out = table
        .header(ROW_HEIGHT, |mut header| {
            for k in &keys {
                header.col(|ui| {
                    let text = RichText::new(k).strong();
                    let text = if host.as_deref() == Some(k.as_str()) { text.underline() } else { text };
                    let lacking = state.derived.missing.get(k).copied().unwrap_or(0);
                    let r = ui.label(text).on_hover_text(format!("{lacking} tags lack {k}"));
                    if state.settings.show_sizes {
                        // The column's colour in the size plot, under its name.
                        let y = r.rect.bottom() + 1.0;
                        let color = keys.iter().position(|c| c == k).map(group_color).unwrap_or(egui::Color32::GRAY);
                        ui.painter().hline(r.rect.x_range(), y, egui::Stroke::new(2.5, color));
                    }
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, visible.len(), |mut row_ui| {
                let Some((row_index, row)) = visible.get(row_ui.index()).and_then(|&i| Some((i, m.rows.get(i)?))) else { return };
                let picked = state.derived.picks.get(row_index).cloned().flatten();
                let exact = picked.as_ref().is_some_and(|(_, kind)| *kind == MatchKind::Exact);
                let pick = picked.as_ref().map(|(k, _)| k.clone());
                let is_selected = |k: &str| selection.as_ref().is_some_and(|s| s.tag == row.tag && s.platform.as_deref() == Some(k));
                if let Some(e) = &row.error {
                    for (i, k) in keys.iter().enumerate() {
                        row_ui.col(|ui| {
                            if i == 0 {
                                ui.colored_label(ui.visuals().error_fg_color, "error").on_hover_text(e);
                            }
                            if is_selected(k) {
                                paint_cursor(ui);
                            }
                        });
                    }
                    return;
                }
                for k in &keys {
                    let selected = is_selected(k);
                    row_ui.col(|ui| {
                        // Columns scrolled out of sight sideways are not laid out.
                        if !ui.is_rect_visible(ui.max_rect()) {
                            return;
                        }
                        match row.cells.get(k) {
                            None => {
                                // Clickable like any cell: details then say there is no entry.
                                let text = RichText::new("—").color(ui.visuals().weak_text_color());
                                let r = ui.add(egui::Button::selectable(selected, text).frame(false)).on_hover_ui(|ui| {
                                    ui.label(format!("{} has no {k} image", row.tag));
                                });
                                if r.clicked() {
                                    actions.push(UiAction::Select { tag: row.tag.clone(), platform: Some(k.clone()) });
                                }
                            }
                            Some(c) => {
                                let short = &c.digest.encoded()[..8.min(c.digest.encoded().len())];
                                let mislabelled = match &c.verified {
                                    Some(crate::model::matrix::Verified::ConfigMismatch { config }) => Some(config.clone()),
                                    Some(crate::model::matrix::Verified::BinaryMismatch { binary, .. }) => Some(binary.clone()),
                                    Some(crate::model::matrix::Verified::CannotStart { .. }) => Some(String::new()),
                                    _ => None,
                                };
                                let cannot_start = matches!(c.verified, Some(crate::model::matrix::Verified::CannotStart { .. }));
                                // A refused cell says so in words that fit the column (the
                                // digest is in the tooltip and the details), in a red that
                                // reads at 4.5:1 or better on its own fill.
                                let refused = refused_colors(ui.visuals());
                                let text = match (&c.error, &mislabelled) {
                                    (Some(_), _) => RichText::new(format!("{short} error")).color(refused.1),
                                    (None, Some(_)) if cannot_start => RichText::new("won't start").monospace().strong().color(refused.1),
                                    (None, Some(_)) => RichText::new("mislabelled").monospace().strong().color(refused.1),
                                    (None, None) => {
                                        let size = c.compressed_size.map(human_bytes).unwrap_or_else(|| "?".into());
                                        RichText::new(format!("{short} {size}")).monospace()
                                    }
                                };
                                let is_pick = pick.as_deref() == Some(k.as_str());
                                let host_label = if is_pick { state.host_label() } else { String::new() };
                                let tip = |ui: &mut egui::Ui| {
                                    ui.label(RichText::new(c.digest.to_string()).monospace());
                                    match &c.error {
                                        Some(e) => {
                                            ui.colored_label(ui.visuals().error_fg_color, e);
                                        }
                                        None => {
                                            let size = c.compressed_size.map(human_bytes).unwrap_or_else(|| "?".into());
                                            ui.label(format!("compressed {size}, manifest {} B", c.size));
                                        }
                                    }
                                    match &c.verified {
                                        Some(crate::model::matrix::Verified::ConfigMismatch { config }) => {
                                            ui.colored_label(
                                                ui.visuals().error_fg_color,
                                                format!("config-mismatch: the image's config says {config}, not {k}"),
                                            );
                                        }
                                        Some(crate::model::matrix::Verified::Ok) => {
                                            ui.label("verified: its config says the same platform");
                                        }
                                        Some(crate::model::matrix::Verified::Unknown { reason }) => {
                                            ui.label(format!("not verified: {reason}"));
                                        }
                                        Some(crate::model::matrix::Verified::BinaryMismatch { binary, path }) => {
                                            ui.colored_label(ui.visuals().error_fg_color, format!("binary-mismatch: {path} is built for {binary}"));
                                        }
                                        Some(crate::model::matrix::Verified::CannotStart { reason }) => {
                                            ui.colored_label(ui.visuals().error_fg_color, format!("broken-entrypoint: {reason}"));
                                        }
                                        None => {}
                                    }
                                    if c.attestation.is_some() && show_att {
                                        ui.label("has an attestation");
                                    }
                                    if c.duplicates > 0 {
                                        ui.label(format!("{} more entries for this platform", c.duplicates));
                                    }
                                    if is_pick && exact {
                                        ui.label(format!("{host_label} would pull this"));
                                    } else if is_pick {
                                        ui.label(format!("{host_label} would fall back to this (no exact match)"));
                                    }
                                };
                                // The host's pick is filled behind its text: a slot painted
                                // once the text's place is known (cheaper than a frame per cell).
                                let fill = ui.painter().add(egui::Shape::Noop);
                                ui.add_space(3.0);
                                let r = ui.add(egui::Button::selectable(selected, text).frame(false).sense(Sense::click_and_drag()));
                                if mislabelled.is_some() || c.error.is_some() {
                                    // Never red on the pick's green or amber.
                                    ui.painter().set(fill, egui::epaint::RectShape::filled(r.rect.expand2(egui::vec2(3.0, 1.0)), 0.0, refused.0));
                                } else if is_pick {
                                    ui.painter().set(fill, egui::epaint::RectShape::filled(r.rect.expand2(egui::vec2(3.0, 1.0)), 0.0, pick_color(ui, exact)));
                                }
                                let r = r.on_hover_ui(tip);
                                if r.clicked() {
                                    actions.push(click_action(ui, &row.tag, Some(k)));
                                }
                                if r.double_clicked() {
                                    actions.push(UiAction::OpenDetails);
                                }
                                // Dragged onto the composer, it is added to the draft.
                                if r.drag_started() {
                                    r.dnd_set_drag_payload(drag_payload(state, &row.tag, Some(k)));
                                }
                            }
                        }
                        if selected {
                            paint_cursor(ui);
                        } else if state.is_marked(&row.tag, Some(k)) {
                            paint_mark(ui);
                        }
                    });
                }
            });
        });
    out.state.clamped_offset().y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG 2 contrast ratio of two opaque colours.
    fn contrast(a: Color32, b: Color32) -> f32 {
        let lum = |c: Color32| {
            let lin = |v: u8| {
                let v = v as f32 / 255.0;
                if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
            };
            0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b())
        };
        let (x, y) = (lum(a) + 0.05, lum(b) + 0.05);
        x.max(y) / x.min(y)
    }

    /// `top` (premultiplied, possibly translucent or additive) painted over opaque `bottom`.
    fn over(bottom: Color32, top: Color32) -> Color32 {
        let a = top.a() as f32 / 255.0;
        let mix = |b: u8, t: u8| (t as f32 + b as f32 * (1.0 - a)).min(255.0) as u8;
        Color32::from_rgb(mix(bottom.r(), top.r()), mix(bottom.g(), top.g()), mix(bottom.b(), top.b()))
    }

    /// Secondary text and refused cells read at WCAG's 4.5:1 for text in both themes.
    #[test]
    fn secondary_text_and_refused_cells_are_readable_in_both_themes() {
        for mut v in [egui::Visuals::light(), egui::Visuals::dark()] {
            readable_weak_text(&mut v);
            let weak = v.weak_text_color();
            for (what, bg) in
                [("panel", v.panel_fill), ("stripe", over(v.panel_fill, v.faint_bg_color)), ("window", v.window_fill), ("extreme", v.extreme_bg_color)]
            {
                let ratio = contrast(weak, bg);
                assert!(ratio >= 4.5, "dark={}: weak text {weak:?} on {what} {bg:?} has contrast {ratio:.2}", v.dark_mode);
            }
            let (fill, text) = refused_colors(&v);
            assert!(contrast(text, fill) >= 4.5, "dark={}: refused cell {:.2}", v.dark_mode, contrast(text, fill));
            // The error colour used for short messages on the panel itself.
            assert!(contrast(v.error_fg_color, v.panel_fill) >= 3.0);
        }
    }

    /// The cursor stands out (WCAG's 3:1 for outlines) from every background a cell can have.
    #[test]
    fn the_cursor_contrasts_with_every_cell_background_in_both_themes() {
        for v in [egui::Visuals::light(), egui::Visuals::dark()] {
            let stroke = cursor_stroke(&v).color;
            let backgrounds = [
                ("exact pick", pick_fill(&v, true)),
                ("fallback pick", pick_fill(&v, false)),
                ("panel", v.panel_fill),
                ("stripe", over(v.panel_fill, v.faint_bg_color)),
                ("selected", v.selection.bg_fill),
                ("window", v.window_fill),
            ];
            for (what, bg) in backgrounds {
                let ratio = contrast(stroke, bg);
                assert!(ratio >= 3.0, "dark={}: cursor {stroke:?} on {what} {bg:?} has contrast {ratio:.2}", v.dark_mode);
            }
        }
    }
}
