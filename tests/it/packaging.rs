//! The packaging files agree with the program and with each other: the macOS Info.plist (parsed
//! by Python's plistlib), the .icns, the icon sizes, the desktop entry and AppStream metadata.
//! (`packaging/check.sh` validates and installs the built .deb; the .app builds only on a Mac.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::PathBuf;

fn packaging() -> PathBuf {
    common::project_root().join("packaging")
}

const APP_ID: &str = "dev.archlens.Archlens";

fn plist() -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .args(["-c", "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))"])
        .arg(packaging().join("macos/Info.plist"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "Info.plist does not parse: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_macos_bundle_is_described_for_apple_silicon() {
    let p = plist();
    assert_eq!(p["CFBundleIdentifier"], APP_ID);
    assert_eq!(p["CFBundleExecutable"], "archlens", "the binary the bundle runs is the one Cargo builds");
    assert_eq!(p["CFBundlePackageType"], "APPL");
    assert_eq!(p["CFBundleShortVersionString"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["CFBundleVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["LSArchitecturePriority"], serde_json::json!(["arm64"]));
    let min: Vec<u32> = p["LSMinimumSystemVersion"].as_str().unwrap().split('.').map(|x| x.parse().unwrap()).collect();
    assert!(min[0] >= 11, "Apple silicon needs macOS 11 or later: {min:?}");
    assert_eq!(p["NSHighResolutionCapable"], true);
    let icon = packaging().join(format!("macos/{}.icns", p["CFBundleIconFile"].as_str().unwrap()));
    let icns = std::fs::read(&icon).unwrap_or_else(|e| panic!("{}: {e}", icon.display()));
    assert_eq!(&icns[..4], b"icns");
    assert_eq!(u32::from_be_bytes(icns[4..8].try_into().unwrap()) as usize, icns.len(), "the icns length field is the file's length");
    // Walk the chunks: each a type, a length, and a PNG of the size the type stands for.
    let mut at = 8;
    let mut kinds = Vec::new();
    while at < icns.len() {
        let kind = std::str::from_utf8(&icns[at..at + 4]).unwrap().to_string();
        let len = u32::from_be_bytes(icns[at + 4..at + 8].try_into().unwrap()) as usize;
        let (w, h) = png_size(&icns[at + 8..at + len]);
        let want = match kind.as_str() {
            "icp4" => 16,
            "icp5" | "ic11" => 32,
            "icp6" | "ic12" => 64,
            "ic07" => 128,
            "ic08" | "ic13" => 256,
            "ic09" | "ic14" => 512,
            "ic10" => 1024,
            other => panic!("unexpected icns chunk {other}"),
        };
        assert_eq!((w, h), (want, want), "{kind}");
        kinds.push(kind);
        at += len;
    }
    assert_eq!(at, icns.len());
    assert!(kinds.contains(&"ic10".to_string()) && kinds.contains(&"ic07".to_string()), "{kinds:?}");
    let script = std::fs::read_to_string(packaging().join("macos/build-app.sh")).unwrap();
    assert!(script.contains("aarch64-apple-darwin") && script.contains("Info.plist") && script.contains("Archlens.icns"));
}

fn png_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&b[12..16], b"IHDR");
    (u32::from_be_bytes(b[16..20].try_into().unwrap()), u32::from_be_bytes(b[20..24].try_into().unwrap()))
}

#[test]
fn linux_icons_come_in_the_usual_sizes_and_names_agree() {
    for size in [16u32, 24, 32, 48, 64, 128, 256, 512] {
        let path = packaging().join(format!("icons/hicolor/{size}x{size}/apps/{APP_ID}.png"));
        let png = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(png_size(&png), (size, size), "{}", path.display());
    }
    assert_eq!(
        std::fs::read(packaging().join(format!("icons/hicolor/scalable/apps/{APP_ID}.svg"))).unwrap(),
        std::fs::read(common::project_root().join("assets/icon.svg")).unwrap(),
        "the scalable icon is the source image"
    );
    let desktop = std::fs::read_to_string(packaging().join(format!("linux/{APP_ID}.desktop"))).unwrap();
    assert!(desktop.lines().any(|l| l == format!("Icon={APP_ID}")));
    assert!(desktop.lines().any(|l| l == format!("StartupWMClass={APP_ID}")), "the window's app id finds its desktop entry");
    assert!(desktop.lines().any(|l| l.starts_with("Exec=archlens ")));
    let gui = std::fs::read_to_string(common::project_root().join("src/cli/gui.rs")).unwrap();
    assert!(gui.contains(&format!(".with_app_id(\"{APP_ID}\")")));
    let meta = std::fs::read_to_string(packaging().join(format!("linux/{APP_ID}.metainfo.xml"))).unwrap();
    assert!(meta.contains(&format!("<id>{APP_ID}</id>")));
    assert!(meta.contains(&format!("<launchable type=\"desktop-id\">{APP_ID}.desktop</launchable>")));
    assert!(meta.contains(&format!("<release version=\"{}\"", env!("CARGO_PKG_VERSION"))), "the newest release listed is this version");
}
