//! The size plot under the matrix: one line per platform in the colour of its column's mark,
//! tags in version order along x, compressed size up y; a point that grew by more than
//! [`JUMP_PERCENT`] over the tag before is drawn large. Hover says tag, platform and size; a
//! click selects that tag in the matrix.

use egui_plot::{HoverPosition, Legend, Line, MarkerShape, Plot, PlotPoints, Points, VLine};

use crate::model::units::human_bytes;
use crate::state::sizes::JUMP_PERCENT;
use crate::state::{AppState, UiAction};

use super::matrix::group_color;

/// The plot's id, the same wherever the panel is (tests read its transform from egui's memory).
pub const PLOT_ID: &str = "archlens_sizes_plot";

/// The y axis's unit for sizes up to `max` bytes: sizes read as numbers people know.
fn unit(max: u64) -> (f64, &'static str) {
    match max {
        0..1_024 => (1.0, "bytes"),
        1_024..1_048_576 => (1024.0, "KiB"),
        1_048_576..1_073_741_824 => (1_048_576.0, "MiB"),
        _ => (1_073_741_824.0, "GiB"),
    }
}

pub fn sizes_ui(ui: &mut egui::Ui, state: &AppState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    let plot = &state.sizes;
    ui.horizontal_wrapped(|ui| {
        ui.strong("Compressed size over versions");
        ui.weak(format!("oldest tag on the left; large points grew over {JUMP_PERCENT:.0} % since the tag before; click a point to select its tag"));
        if ui.small_button("Close").clicked() {
            actions.push(UiAction::ToggleSizes);
        }
    });
    if plot.lines.is_empty() {
        ui.weak("No sizes among the tags shown: sizes come with the rows as they are read (a layout folder or a registry's manifests, or Docker Hub's API).");
        return actions;
    }
    let (tags, lines) = (&plot.tags, &plot.lines);
    let max = lines.iter().flat_map(|l| &l.points).map(|(_, p)| p.size).max().unwrap_or(0);
    let (per, unit_name) = unit(max);
    let selected = state.selection.as_ref().and_then(|s| tags.iter().position(|t| *t == s.tag));
    let response = Plot::new(PLOT_ID)
        .id(egui::Id::unique(PLOT_ID))
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .allow_scroll(false)
        .y_axis_label(unit_name)
        .height(ui.available_height().max(80.0))
        .include_y(0.0)
        .x_axis_formatter(move |mark, _| {
            let x = mark.value;
            if (x - x.round()).abs() > 1e-6 || x < 0.0 {
                return String::new();
            }
            tags.get(x as usize).cloned().unwrap_or_default()
        })
        .label_formatter(move |pos: &HoverPosition<'_>| match pos {
            HoverPosition::NearDataPoint { plot_name, position, .. } if !plot_name.is_empty() => {
                let x = position.x.round().max(0.0) as usize;
                let tag = tags.get(x).map(String::as_str).unwrap_or("");
                let size = human_bytes((position.y * per).round() as u64);
                Some(match plot.pushed.get(x).and_then(Option::as_deref) {
                    Some(when) => format!("{tag}\n{plot_name}\n{size}\npushed {}", crate::model::units::when(when)),
                    None => format!("{tag}\n{plot_name}\n{size}"),
                })
            }
            _ => None,
        })
        .show(ui, |p| {
            for line in lines {
                let color = group_color(line.column);
                let points: Vec<[f64; 2]> = line.points.iter().map(|(x, pt)| [*x as f64, pt.size as f64 / per]).collect();
                let jumps: Vec<[f64; 2]> = line.points.iter().filter(|(_, pt)| pt.jump).map(|(x, pt)| [*x as f64, pt.size as f64 / per]).collect();
                p.line(Line::new(line.platform.clone(), PlotPoints::from(points)).color(color).width(1.5));
                if !jumps.is_empty() {
                    p.points(Points::new(line.platform.clone(), PlotPoints::from(jumps)).color(color).radius(4.5).shape(MarkerShape::Circle).filled(true));
                }
            }
            if let Some(x) = selected {
                p.vline(VLine::new("", x as f64).color(ui_selection_color(p.ctx())).width(1.0));
            }
            p.pointer_coordinate()
        });
    if response.response.clicked()
        && let Some(at) = response.inner
        && let Some(tag) = state.sizes.tag_at(at.x)
    {
        actions.push(UiAction::Select { tag: tag.to_string(), platform: None });
    }
    actions
}

fn ui_selection_color(ctx: &egui::Context) -> egui::Color32 {
    ctx.global_style().visuals.selection.stroke.color
}
