//! The desktop app: an eframe::App over [`AppState`]. Each panel is a `*_ui` function that
//! draws from the state and returns the user's actions; the reducer turns those into worker
//! commands. Nothing here waits on I/O.

mod compare;
mod composer;
mod coverage;
mod details;
mod diagnose;
pub mod files;
mod matrix;
mod registry_bar;
mod repos;
pub mod sizes;

use std::path::PathBuf;

use crate::protocol::Command;
use crate::settings::Settings;
use crate::state::{AppState, UiAction};
use crate::worker::WorkerHandle;

pub use matrix::{CELL_WIDTH, cursor_stroke, pick_fill};

/// How many sent commands the app remembers: a long session must not grow without bound.
pub const SENT_KEPT: usize = 256;

/// The longest a frame spends folding in worker events.
const PUMP_BUDGET: std::time::Duration = std::time::Duration::from_millis(4);

/// Text from the model as the app's bundled fonts can draw it: arrows and the like they lack
/// become ASCII, so no missing-glyph boxes appear.
pub fn drawable(s: &str) -> std::borrow::Cow<'_, str> {
    const SWAPS: [(char, &str); 6] = [('→', "->"), ('←', "<-"), ('≠', "!="), ('≤', "<="), ('≥', ">="), ('✓', "ok")];
    if !s.chars().any(|c| SWAPS.iter().any(|(g, _)| *g == c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match SWAPS.iter().find(|(g, _)| *g == c) {
            Some((_, ascii)) => out.push_str(ascii),
            None => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// What the app opens on.
#[derive(Debug, Clone, PartialEq)]
pub enum StartTarget {
    Nothing,
    Registry(String),
    Repository(String),
    /// `repository:tag` or `repository@digest`: open the repository and show that manifest.
    Reference(String),
    Layout(PathBuf),
    /// A registry host, opened on the coverage view.
    Coverage(String),
    /// A reference (`repo:tag`, `repo@digest`): open its repository and diagnose it for the
    /// chosen host.
    Diagnose(String),
    /// Two references compared (`before`, `after`), beside the repository of `after`.
    Compare {
        before: String,
        after: String,
    },
    /// A draft file (the app's Export, `diagnose --repair-draft`) opened in the composer,
    /// beside a repository if one is named.
    Draft {
        path: PathBuf,
        repository: Option<String>,
    },
}

/// From this width on, the details panel stays open beside the matrix.
const WIDE: f32 = 1000.0;
/// The details panel's width to begin with.
const DETAILS_WIDTH: f32 = 360.0;
/// The least width side panels leave the matrix.
const MATRIX_MIN: f32 = 400.0;

pub struct ArchlensApp {
    pub state: AppState,
    worker: WorkerHandle,
    /// The last commands sent (at most [`SENT_KEPT`]), for tests and diagnostics.
    pub sent: std::collections::VecDeque<Command>,
    persist_settings: bool,
    /// Settings as last written, so changes are saved as they happen.
    saved_settings: Option<Settings>,
    focus_filter: bool,
    exit_after_first_frame: bool,
    /// The window was asked to close while a push ran: ask first.
    pub confirm_quit: bool,
    /// The user chose to quit although a push runs; the next close goes through.
    pub quit_confirmed: bool,
    /// The file dialogs, and whether this desktop can show one.
    dialogs: files::DialogRunner,
    dialogs_available: bool,
    /// A file dialog open on its own thread.
    browsing: Option<files::Browsing>,
    /// Events were left for the next frame by [`ArchlensApp::pump`].
    backlog: bool,
    /// The app's own style (readable secondary text) is set on the context.
    styled: bool,
}

impl ArchlensApp {
    /// `settings` is `None` on a first run: the app then opens the demo layout.
    pub fn new(settings: Option<Settings>, worker: WorkerHandle, start: StartTarget, demo: Option<PathBuf>) -> ArchlensApp {
        let first_run = settings.is_none();
        let mut app = ArchlensApp {
            state: AppState::new(settings.unwrap_or_default()),
            worker,
            sent: std::collections::VecDeque::new(),
            persist_settings: false,
            saved_settings: None,
            focus_filter: false,
            exit_after_first_frame: false,
            confirm_quit: false,
            quit_confirmed: false,
            dialogs: files::system_dialogs(),
            dialogs_available: files::system_dialog_available(),
            browsing: None,
            backlog: false,
            styled: false,
        };
        let start = match (start, demo) {
            (StartTarget::Nothing, Some(d)) if first_run => {
                app.state.demo = Some(d.clone());
                StartTarget::Layout(d)
            }
            (s, _) => s,
        };
        match start {
            StartTarget::Nothing => {}
            StartTarget::Registry(h) => app.dispatch(UiAction::Connect(h)),
            StartTarget::Repository(r) => app.dispatch(UiAction::OpenRepository(r)),
            StartTarget::Reference(r) => app.open_reference(&r),
            StartTarget::Layout(p) => app.dispatch(UiAction::OpenLayout(p)),
            StartTarget::Diagnose(r) => {
                app.open_reference(&r);
                app.state.diagnose.reference = r;
                app.dispatch(UiAction::RunDiagnose);
            }
            StartTarget::Draft { path, repository } => {
                // A tag names where the draft goes as well as the repository to show.
                match repository.as_deref().map(crate::model::reference::Reference::parse) {
                    Some(Ok(reference)) if reference.tag.is_some() => {
                        app.dispatch(UiAction::OpenRepository(reference.repository.to_string()));
                        app.state.composer.target_input = reference.to_string();
                        app.dispatch(UiAction::Composer(crate::state::composer::ComposerAction::CheckTarget));
                    }
                    _ => {
                        if let Some(r) = repository {
                            app.dispatch(UiAction::OpenRepository(r));
                        }
                    }
                }
                app.dispatch(UiAction::Composer(crate::state::composer::ComposerAction::Open));
                app.dispatch(UiAction::Composer(crate::state::composer::ComposerAction::Import(path)));
            }
            StartTarget::Compare { before, after } => {
                app.open_reference(&after);
                let cmds = app.state.compare_references(&before, &after);
                app.send(cmds);
            }
            StartTarget::Coverage(h) => {
                app.dispatch(UiAction::Connect(h));
                app.dispatch(UiAction::Coverage(crate::state::coverage::CoverageAction::Open));
            }
        }
        app
    }

    /// Print a line and close after the first frame (start-up measurement).
    pub fn exit_after_first_frame(mut self) -> Self {
        self.exit_after_first_frame = true;
        self
    }

    /// Show these file dialogs instead of the system's (`available`: whether there are any).
    pub fn with_dialogs(mut self, dialogs: files::DialogRunner, available: bool) -> Self {
        self.dialogs = dialogs;
        self.dialogs_available = available;
        self
    }

    /// Save settings on exit (the real app; tests leave the disk alone).
    pub fn with_persistence(mut self) -> Self {
        self.persist_settings = true;
        self
    }

    /// Hand changed settings to the worker to write (never on the UI thread).
    fn persist_if_changed(&mut self) {
        if self.persist_settings && self.saved_settings.as_ref() != Some(&self.state.settings) {
            self.saved_settings = Some(self.state.settings.clone());
            self.send(vec![Command::SaveSettings { id: crate::protocol::SETTINGS_REQUEST, settings: Box::new(self.state.settings.clone()) }]);
        }
    }

    fn open_reference(&mut self, r: &str) {
        let cmds = self.state.open_reference(r);
        self.send(cmds);
    }

    /// Keep a command in the bounded record of what was sent.
    fn record(&mut self, c: Command) {
        if self.sent.len() >= SENT_KEPT {
            self.sent.pop_front();
        }
        self.sent.push_back(c);
    }

    pub fn dispatch(&mut self, action: UiAction) {
        for c in self.state.handle(action) {
            self.worker.send(c.clone());
            self.record(c);
        }
    }

    fn send(&mut self, cmds: Vec<Command>) {
        for c in cmds {
            self.worker.send(c.clone());
            self.record(c);
        }
    }

    /// Fold worker events into the state, for at most [`PUMP_BUDGET`] per frame: when rows
    /// pour in faster, the rest wait for the next frame (asked for at once), so no frame
    /// stalls. Returns whether events were left waiting.
    pub fn pump(&mut self) -> bool {
        let started = std::time::Instant::now();
        while let Some(e) = self.worker.try_next() {
            let cmds = self.state.apply(e);
            self.send(cmds);
            if started.elapsed() >= PUMP_BUDGET {
                self.backlog = true;
                return true;
            }
        }
        self.backlog = false;
        false
    }

    fn keyboard(&mut self, ctx: &egui::Context) -> Vec<UiAction> {
        let mut actions = Vec::new();
        let typing = ctx.memory(|m| m.focused().is_some());
        // An open menu or combo box closes on Esc by itself: leave the key to it.
        let popup = egui::Popup::is_any_open(ctx);
        // Ctrl+C (Cmd+C) outside a text field copies the selection's digest.
        if !typing
            && ctx.input(|i| i.events.iter().any(|e| matches!(e, egui::Event::Copy)))
            && let Some(d) = self.state.selected_digest()
        {
            ctx.copy_text(d.to_string());
        }
        ctx.input_mut(|i| {
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::F) {
                self.focus_filter = true;
            }
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::B) {
                self.state.toggle_repos();
            }
            if i.consume_key(egui::Modifiers::COMMAND, egui::Key::R) {
                actions.push(UiAction::Refresh);
            }
            if i.consume_key(egui::Modifiers::ALT, egui::Key::ArrowLeft) {
                actions.push(UiAction::DetailsBack);
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::F1) {
                self.state.legend_open = !self.state.legend_open;
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::F2) {
                actions.push(UiAction::ToggleSizes);
            }
            if !popup && i.consume_key(egui::Modifiers::NONE, egui::Key::Escape) {
                // Esc closes the topmost window (a path prompt, sign-in, the legend) first;
                // otherwise it stops what runs.
                if self.state.file_prompt.is_some() {
                    self.state.file_prompt = None;
                } else if self.state.sign_in.open {
                    actions.push(UiAction::CloseSignIn);
                } else if self.state.legend_open {
                    self.state.legend_open = false;
                } else {
                    actions.push(UiAction::Cancel);
                }
            }
            if typing {
                return;
            }
            for (key, rows, cols) in [
                (egui::Key::ArrowDown, 1, 0),
                (egui::Key::ArrowUp, -1, 0),
                (egui::Key::ArrowRight, 0, 1),
                (egui::Key::ArrowLeft, 0, -1),
                (egui::Key::PageDown, 20, 0),
                (egui::Key::PageUp, -20, 0),
                // The first and the last row (the move is clamped to the rows shown).
                (egui::Key::Home, -1_000_000, 0),
                (egui::Key::End, 1_000_000, 0),
            ] {
                if i.consume_key(egui::Modifiers::NONE, key) {
                    actions.push(UiAction::MoveCursor { rows, cols });
                }
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::Enter) {
                actions.push(UiAction::OpenDetails);
            }
        });
        actions
    }

    /// Closing the window while a push runs asks first (the tag move itself is journalled
    /// before it happens, so even quitting leaves a journal `undo` understands).
    fn close_guard(&mut self, ctx: &egui::Context) {
        let pushing = self.state.composer.push.is_pending();
        if ctx.input(|i| i.viewport().close_requested()) && pushing && !self.quit_confirmed {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = true;
        }
        if !self.confirm_quit {
            return;
        }
        if !pushing {
            self.confirm_quit = false;
            return;
        }
        egui::Window::new("A push is running").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label("Quit now and the push stops where it is. If the index was being written, the journal keeps the intent and `archlens undo` settles it.");
            ui.horizontal(|ui| {
                if ui.button("Keep running").clicked() {
                    self.confirm_quit = false;
                }
                if ui.button("Quit anyway").clicked() {
                    self.quit_confirmed = true;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
        });
    }

    /// Draw one frame; returns the actions taken (already dispatched).
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        if !self.styled {
            ui.ctx().all_styles_mut(|s| matrix::readable_weak_text(&mut s.visuals));
            self.styled = true;
        }
        self.state.narrow = ui.available_width() < WIDE;
        let mut actions = self.keyboard(ui.ctx());
        self.state.derive();
        egui::Panel::top("registry_bar").show(ui, |ui| actions.extend(registry_bar::registry_bar_ui(ui, &mut self.state)));
        if let Some(notice) = self.state.notice.clone() {
            egui::Panel::bottom("notice").show(ui, |ui| {
                // Dismiss first, always in view; the message wraps in the rest of the line.
                ui.horizontal_top(|ui| {
                    if ui.button("Dismiss").clicked() {
                        actions.push(UiAction::ClearNotice);
                    }
                    ui.add(egui::Label::new(egui::RichText::new(notice).color(ui.visuals().error_fg_color)).wrap());
                });
            });
        }
        if self.state.repos_shown() {
            egui::Panel::left("repositories").resizable(true).default_size(230.0).show(ui, |ui| {
                actions.extend(repos::repos_ui(ui, &mut self.state));
            });
        }
        let coverage = self.state.coverage.open;
        if self.state.matrix.is_some() && !coverage {
            // Room for the verdict, findings and remedy once there is a diagnosis to show.
            let shown = !matches!(self.state.diagnose.result, crate::state::Loadable::NotRequested);
            let min = if shown { (ui.available_height() * 0.3).clamp(90.0, 260.0) } else { 40.0 };
            egui::Panel::bottom("diagnose").resizable(true).default_size(240.0).min_size(min).show(ui, |ui| {
                actions.extend(diagnose::diagnose_ui(ui, &mut self.state));
            });
            if self.state.settings.show_sizes {
                // Above the diagnosis, under the matrix whose rows it plots.
                let height = (ui.available_height() * 0.3).clamp(120.0, 260.0);
                egui::Panel::bottom("sizes").resizable(true).default_size(height).min_size(120.0).show(ui, |ui| {
                    // The panel keeps its height (it shrinks to its content otherwise).
                    ui.set_min_height(ui.available_height());
                    actions.extend(sizes::sizes_ui(ui, &self.state));
                });
            }
        }
        if self.state.composer.open {
            // Beside the matrix, in place of details: the matrix stays usable to pick images.
            // Leave the matrix room on small screens; wide content scrolls inside the panel.
            let max = (ui.available_width() - MATRIX_MIN).max(280.0);
            egui::Panel::right("composer").resizable(true).default_size(440.0_f32.min(max)).min_size(280.0).max_size(max).show(ui, |ui| {
                ui.set_min_width(ui.available_width());
                actions.extend(composer::composer_ui(ui, &mut self.state));
            });
        } else if self.state.compare.open && !coverage && self.state.matrix.is_some() {
            // In place of details; wide enough for two columns of layers.
            let max = (ui.available_width() - MATRIX_MIN).max(280.0);
            egui::Panel::right("compare").resizable(true).default_size(520.0_f32.min(max)).min_size(280.0).max_size(max).show(ui, |ui| {
                ui.set_min_width(ui.available_width());
                actions.extend(compare::compare_ui(ui, &self.state));
            });
        } else if !coverage
            && !self.state.details.closed
            && self.state.matrix.is_some()
            && (ui.available_width() >= WIDE.max(matrix::full_width(&self.state) + DETAILS_WIDTH)
                || !matches!(self.state.details.shown, crate::state::Loadable::NotRequested))
        {
            // Selecting never moves the matrix: where the whole matrix fits beside the panel it
            // is always there; where it does not, the panel opens only when details are asked
            // for (Enter, a double-click), and it never leaves the matrix less than MATRIX_MIN.
            let max = (ui.available_width() - MATRIX_MIN).max(200.0);
            egui::Panel::right("details").resizable(true).default_size(DETAILS_WIDTH.min(max)).max_size(max).show(ui, |ui| {
                // The panel keeps its width whatever it shows (a panel shrinks to its content
                // otherwise, and the matrix beside it would move).
                ui.set_min_width(ui.available_width());
                actions.extend(details::details_ui(ui, &self.state));
            });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if coverage {
                actions.extend(coverage::coverage_ui(ui, &mut self.state));
            } else {
                let focus = std::mem::take(&mut self.focus_filter);
                actions.extend(matrix::matrix_ui(ui, &mut self.state, focus));
            }
        });
        if self.state.sign_in.open {
            actions.extend(registry_bar::sign_in_ui(ui.ctx(), &mut self.state));
        }
        actions.extend(files::poll(&mut self.browsing, &mut self.state.file_prompt));
        match files::prompt_ui(ui.ctx(), &mut self.state.file_prompt, self.dialogs_available, self.browsing.is_some()) {
            files::PromptOutcome::Nothing => {}
            files::PromptOutcome::Act(a) => actions.push(a),
            files::PromptOutcome::Browse(purpose) => self.browsing = files::browse(&self.dialogs, purpose, ui.ctx().clone()),
        }
        self.close_guard(ui.ctx());
        for a in actions {
            self.dispatch(a);
        }
        self.persist_if_changed();
        if self.backlog {
            ui.ctx().request_repaint();
        }
        if self.state.is_loading() || self.state.diagnose.is_running() || self.state.coverage.is_running() {
            // Progress keeps moving while rows arrive; the worker also wakes us per event.
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(250));
        }
    }
}

impl eframe::App for ArchlensApp {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.pump();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
        if self.exit_after_first_frame {
            self.exit_after_first_frame = false;
            println!("archlens: first frame");
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn save(&mut self, _storage: &mut dyn eframe::Storage) {
        // Window geometry goes to eframe's storage; settings are written by the worker as they
        // change.
        self.persist_if_changed();
    }
}

#[cfg(test)]
mod tests {
    /// Every character `drawable` leaves is one the bundled fonts draw.
    #[test]
    fn drawable_text_has_glyphs_in_the_bundled_fonts() {
        let ctx = egui::Context::default();
        let mut out = ctx.run_ui(Default::default(), |_| {});
        out.textures_delta.clear();
        let samples = ["entry sha256:abc → config os=linux", "~ mediaType a → b", "a ≠ b ≤ c ≥ d ✓", "Reading… — · 1.2"];
        for s in samples {
            let shown = super::drawable(s);
            for font in [egui::FontId::proportional(14.0), egui::FontId::monospace(14.0)] {
                for c in shown.chars() {
                    assert!(ctx.fonts_mut(|f| f.has_glyph(&font, c)), "no glyph for {c:?} ({font:?}) in {shown:?}");
                }
            }
        }
        assert!(!ctx.fonts_mut(|f| f.has_glyph(&egui::FontId::proportional(14.0), '→')), "the bundled fonts lack →: if they gain it, drop the swap");
    }
}
