//! Settings remembered across runs, as JSON under the platform config dir
//! (`~/.config/archlens/settings.json` on Linux, or `$ARCHLENS_CONFIG_DIR`).

use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Most recent first.
    pub recent_registries: Vec<String>,
    /// `registry/repository`, or `oci:PATH` for a layout folder; most recent first.
    pub recent_repositories: Vec<String>,
    pub favourites: BTreeSet<String>,
    /// A host preset id, or a typed platform.
    pub host: String,
    pub show_attestations: bool,
    /// The size plot is shown under the matrix.
    pub show_sizes: bool,
    pub sort_by_version: bool,
    /// Registries reached without TLS verification, by the user's explicit choice.
    pub insecure_registries: BTreeSet<String>,
    /// Check each matrix cell's config against its index entry.
    pub verify_cells: bool,
    /// The repositories panel is folded away (its toggle in the registry bar, Ctrl+B).
    pub hide_repositories: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recent_registries: Vec::new(),
            recent_repositories: Vec::new(),
            favourites: BTreeSet::new(),
            host: "apple-silicon".to_string(),
            show_attestations: false,
            show_sizes: false,
            sort_by_version: true,
            insecure_registries: BTreeSet::new(),
            verify_cells: false,
            hide_repositories: false,
        }
    }
}

const MAX_RECENT: usize = 12;

pub fn remember(list: &mut Vec<String>, item: &str) {
    list.retain(|x| x != item);
    list.insert(0, item.to_string());
    list.truncate(MAX_RECENT);
}

pub fn config_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("ARCHLENS_CONFIG_DIR")
        && !d.is_empty()
    {
        return Some(PathBuf::from(d));
    }
    directories::ProjectDirs::from("dev", "archlens", "archlens").map(|d| d.config_dir().to_path_buf())
}

/// Where settings are kept: `settings.json` in [`config_dir`].
pub fn path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("settings.json"))
}

/// `None` on a first run (no settings file yet). A damaged file is set aside, not lost.
pub fn load() -> Option<Settings> {
    load_from(&path()?)
}

/// [`load`] from `p`.
pub fn load_from(p: &std::path::Path) -> Option<Settings> {
    let p = p.to_path_buf();
    let bytes = std::fs::read(&p).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(s) => Some(s),
        Err(_) => {
            // Set aside under a name not taken yet: an earlier damaged copy is never replaced.
            let aside =
                (0..1000).map(|n| if n == 0 { p.with_extension("json.damaged") } else { p.with_extension(format!("json.damaged.{n}")) }).find(|c| !c.exists());
            if let Some(aside) = aside {
                let _ = std::fs::rename(&p, aside);
            }
            None
        }
    }
}

pub fn save(s: &Settings) -> std::io::Result<()> {
    match path() {
        Some(p) => save_to(&p, s),
        None => Ok(()),
    }
}

/// Write `s` to `p` whole: a temporary file renamed over it, so a reader never sees half.
pub fn save_to(p: &std::path::Path, s: &Settings) -> std::io::Result<()> {
    crate::registry::files::write_by_rename(p, &serde_json::to_vec_pretty(s).map_err(std::io::Error::other)?, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_settings_are_set_aside_without_replacing_an_earlier_copy() {
        let dir = std::env::temp_dir().join(format!("archlens-settings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("settings.json");
        std::fs::write(&p, b"{ first damage").unwrap();
        assert!(load_from(&p).is_none());
        std::fs::write(&p, b"{ second damage").unwrap();
        assert!(load_from(&p).is_none());
        assert_eq!(std::fs::read(dir.join("settings.json.damaged")).unwrap(), b"{ first damage");
        assert_eq!(std::fs::read(dir.join("settings.json.damaged.1")).unwrap(), b"{ second damage");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
