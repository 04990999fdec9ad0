//! `archlens` with no arguments, or `archlens gui [HOST|REPO|REF|oci:DIR]`: the desktop app.

#[cfg(feature = "gui")]
pub use app::*;

#[derive(Debug, Default, clap::Args)]
pub struct GuiArgs {
    /// What to open: a registry host, a repository, a reference (tag or digest), or an OCI
    /// layout folder (`oci:DIR` or a path).
    pub target: Option<String>,
    /// Open on the coverage view of this registry host (every repository's `latest`).
    #[arg(long, value_name = "HOST", conflicts_with_all = ["target", "diagnose", "draft"])]
    pub coverage: Option<String>,
    /// Open on this reference and diagnose it for the host last chosen in the app.
    #[arg(long, value_name = "REF", conflicts_with_all = ["target", "draft"])]
    pub diagnose: Option<String>,
    /// Open this draft file (the app's Export, or `archlens diagnose --repair-draft`) in the
    /// composer, beside the repository TARGET names if given (a TARGET with a tag is also
    /// where the draft would be pushed).
    #[arg(long, value_name = "FILE")]
    pub draft: Option<std::path::PathBuf>,
    /// Open on what changed between two references (tags or digests), as `archlens diff`
    /// says it, beside the second one's repository.
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"], conflicts_with_all = ["target", "diagnose", "draft", "coverage"])]
    pub compare: Option<Vec<String>>,
    /// The window's size, `WIDTHxHEIGHT` in points (default: as last closed, else 1360x860).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(f32, f32)>,
}

fn parse_size(s: &str) -> Result<(f32, f32), String> {
    let bad = || format!("`{s}` is not a size: use WIDTHxHEIGHT, e.g. 800x600");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u16, u16) = (w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?);
    if w < 320 || h < 240 {
        return Err(format!("{s} is smaller than the app can use (320x240)"));
    }
    Ok((f32::from(w), f32::from(h)))
}

/// Without the `gui` feature, `archlens` is the command line only.
#[cfg(not(feature = "gui"))]
pub fn run(_args: GuiArgs, _options: archlens::registry::ClientOptions) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!(
        "this build of Archlens is the command line only (built without the `gui` feature): run a verb, e.g. `archlens matrix REPOSITORY`, or see `archlens --help`"
    )
}

#[cfg(feature = "gui")]
mod app {
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::Arc;

    use archlens::registry::ClientOptions;
    use archlens::ui::{ArchlensApp, StartTarget};

    use super::GuiArgs;

    /// Decide what a command-line target names.
    pub fn start_target(target: Option<&str>) -> StartTarget {
        let Some(t) = target.map(str::trim).filter(|t| !t.is_empty()) else { return StartTarget::Nothing };
        if let Some(p) = t.strip_prefix("oci:") {
            return StartTarget::Layout(PathBuf::from(p));
        }
        // A file manager's `file://` URI, or a path: a layout folder, or a draft file.
        let local = t.strip_prefix("file://").map(archlens::model::units::percent_decode);
        let path = std::path::Path::new(local.as_deref().unwrap_or(t));
        if path.is_dir() {
            return StartTarget::Layout(path.to_path_buf());
        }
        if path.is_file() || local.is_some() {
            return StartTarget::Draft { path: path.to_path_buf(), repository: None };
        }
        match archlens::model::reference::classify(t) {
            archlens::model::reference::Named::Registry => StartTarget::Registry(t.to_string()),
            archlens::model::reference::Named::Reference => StartTarget::Reference(t.to_string()),
            archlens::model::reference::Named::Repository => StartTarget::Repository(t.to_string()),
        }
    }

    /// When the window system's libraries (loaded at run time, so no package manager saw them)
    /// are missing: which to install, by the error the toolkit gives.
    pub fn missing_library_hint(error: &str) -> Option<&'static str> {
        let e = error.to_ascii_lowercase();
        if e.contains("xlib") || e.contains("libx11") || e.contains("xcursor") || e.contains("xkbcommon-x11") || e.contains("libxi") {
            Some(
                "An X11 library is missing: install libx11-xcb1 libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 libgl1 (Debian/Ubuntu: sudo apt install …; they are the package's Recommends)",
            )
        } else if e.contains("wayland library") || e.contains("libwayland") {
            // Not any mention of Wayland: "neither WAYLAND_DISPLAY nor DISPLAY is set" is no
            // display at all.
            Some(
                "A Wayland library is missing: install libwayland-client0 libwayland-egl1 libwayland-cursor0 libxkbcommon0 libegl1 (Debian/Ubuntu: sudo apt install …; they are the package's Recommends)",
            )
        } else if e.contains("egl") || e.contains("libgl") || e.contains("opengl") || e.contains("glutin") {
            Some("No OpenGL: install libegl1 libgl1 (Debian/Ubuntu: sudo apt install …) and check the graphics driver (Mesa)")
        } else {
            None
        }
    }

    /// Why the app did not start, and what to do: the packages of a missing library, else the
    /// display to check (asking about the display when one is there would mislead).
    pub fn start_failure(said: &str) -> String {
        match missing_library_hint(said) {
            Some(hint) => format!("the desktop app could not start: a library it loads is missing ({said})\n{hint}"),
            None => format!("the desktop app could not start (is a display available? DISPLAY or WAYLAND_DISPLAY): {said}"),
        }
    }

    /// The demo layout: next to the executable when installed, else the source tree's assets/.
    fn demo_layout() -> Option<PathBuf> {
        let mut candidates = Vec::new();
        if let Ok(exe) = std::env::current_exe()
            && let Some(dir) = exe.parent()
        {
            candidates.push(dir.join("assets/demo-layout"));
            candidates.push(dir.join("../share/archlens/demo-layout"));
            // Archlens.app/Contents/MacOS/archlens → Contents/Resources
            candidates.push(dir.join("../Resources/demo-layout"));
        }
        candidates.push(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-layout")));
        candidates.into_iter().find(|p| p.join("index.json").exists())
    }

    /// The app's icon, as the packages install it (64×64).
    pub fn window_icon() -> egui::IconData {
        // The PNG is part of the source tree and decoded in a unit test; a bad one gives the
        // window no icon rather than no window.
        eframe::icon_data::from_png_bytes(include_bytes!("../../packaging/icons/hicolor/64x64/apps/dev.archlens.Archlens.png")).unwrap_or_default()
    }

    pub fn run(args: GuiArgs, options: ClientOptions) -> anyhow::Result<ExitCode> {
        let settings = archlens::settings::load();
        let start = match (args.coverage, args.diagnose, args.draft) {
            _ if args.compare.as_ref().is_some_and(|c| c.len() == 2) => {
                let mut pair = args.compare.unwrap_or_default().into_iter();
                StartTarget::Compare { before: pair.next().unwrap_or_default(), after: pair.next().unwrap_or_default() }
            }
            (Some(host), _, _) => StartTarget::Coverage(host),
            (_, Some(reference), _) => StartTarget::Diagnose(reference),
            (_, _, Some(path)) => StartTarget::Draft { path, repository: args.target },
            _ => start_target(args.target.as_deref()),
        };
        let demo = demo_layout();
        // A size asked for wins over the one remembered from the last run.
        let window_state = archlens::settings::config_dir().map(|d| d.join("window.ron")).filter(|_| args.size.is_none());
        let (w, h) = args.size.unwrap_or((1360.0, 860.0));
        let native = eframe::NativeOptions {
            viewport: egui::ViewportBuilder::default()
                .with_title("Archlens")
                .with_app_id("dev.archlens.Archlens")
                .with_inner_size([w, h])
                .with_min_inner_size([w.min(720.0), h.min(420.0)])
                // X11 window managers take the icon from the window (_NET_WM_ICON); Wayland
                // takes it from the desktop entry the app id names.
                .with_icon(std::sync::Arc::new(window_icon())),
            persistence_path: window_state,
            ..Default::default()
        };
        eframe::run_native(
            "Archlens",
            native,
            Box::new(move |cc| {
                let ctx = cc.egui_ctx.clone();
                let worker = archlens::worker::spawn(options, Arc::new(move || ctx.request_repaint()))?;
                let app = ArchlensApp::new(settings, worker, start, demo).with_persistence();
                let probe = std::env::var_os("ARCHLENS_EXIT_AFTER_FIRST_FRAME").is_some();
                Ok(Box::new(if probe { app.exit_after_first_frame() } else { app }))
            }),
        )
        .map_err(|e| anyhow::anyhow!(start_failure(&e.to_string())))?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(all(test, feature = "gui"))]
mod tests {
    use super::*;
    use archlens::ui::StartTarget;

    #[test]
    fn the_window_icon_decodes() {
        let icon = window_icon();
        assert_eq!((icon.width, icon.height, icon.rgba.len()), (64, 64, 64 * 64 * 4));
        assert!(icon.rgba.chunks(4).any(|p| p[3] > 0), "not a blank icon");
    }

    #[test]
    fn targets() {
        assert_eq!(start_target(None), StartTarget::Nothing);
        assert_eq!(start_target(Some("ghcr.io")), StartTarget::Registry("ghcr.io".into()));
        // A missing window-system library is named with its packages.
        assert!(missing_library_hint("Failed to load one of xlib's shared libraries -> attempted to load libXcursor.so.1").unwrap().contains("libxcursor1"));
        assert!(missing_library_hint("The wayland library could not be loaded").unwrap().contains("libwayland-client0"));
        assert!(missing_library_hint("no display").is_none());
        let missing = start_failure("Failed to load one of xlib's shared libraries");
        assert!(missing.contains("libxkbcommon-x11-0") && !missing.contains("is a display available"), "{missing}");
        assert!(start_failure("neither WAYLAND_DISPLAY nor DISPLAY is set").contains("is a display available"));
        // What a file manager passes: a folder is a layout, a file a draft, `file://` decoded.
        let dir = tempfile::tempdir().unwrap();
        let spaced = dir.path().join("my layout");
        std::fs::create_dir(&spaced).unwrap();
        let uri = format!("file://{}", spaced.display().to_string().replace(' ', "%20"));
        assert_eq!(start_target(Some(&uri)), StartTarget::Layout(spaced.clone()));
        let draft = dir.path().join("fix.json");
        std::fs::write(&draft, "{}").unwrap();
        assert_eq!(start_target(Some(draft.to_str().unwrap())), StartTarget::Draft { path: draft.clone(), repository: None });
        assert_eq!(start_target(Some("127.0.0.1:5000")), StartTarget::Registry("127.0.0.1:5000".into()));
        assert_eq!(start_target(Some("127.0.0.1:5000/team/app")), StartTarget::Repository("127.0.0.1:5000/team/app".into()));
        assert_eq!(start_target(Some("alpine")), StartTarget::Repository("alpine".into()));
        assert_eq!(start_target(Some("alpine:3.20")), StartTarget::Reference("alpine:3.20".into()));
        assert_eq!(start_target(Some("library/alpine:3.20")), StartTarget::Reference("library/alpine:3.20".into()));
        assert_eq!(start_target(Some("oci:/tmp/x")), StartTarget::Layout("/tmp/x".into()));
        assert_eq!(start_target(Some("node:20")), StartTarget::Reference("node:20".into()));
        assert_eq!(parse_size("800x600"), Ok((800.0, 600.0)));
        assert!(parse_size("800").is_err() && parse_size("10x10").is_err() && parse_size("99999x600").is_err());
    }
}
