#!/usr/bin/env bash
# Build Archlens.app for Apple silicon (aarch64-apple-darwin), on a Mac with Xcode's command
# line tools and a Rust toolchain:
#
#   rustup target add aarch64-apple-darwin
#   packaging/macos/build-app.sh          → target/macos/Archlens.app (and a zip of it)
#
# The bundle is Info.plist, the icon (packaging/icons.sh renders it from assets/icon.svg) and
# the one `archlens` binary, whose no-argument start is the desktop app. The bundle gets an
# ad-hoc signature (`codesign --sign -`): Apple silicon runs no unsigned code, and a downloaded
# zip with an ad-hoc signature can be opened with right-click → Open instead of being refused
# outright. To ship it without that step, sign with a Developer ID instead
# (ARCHLENS_CODESIGN_IDENTITY="Developer ID Application: …") and notarise it (`xcrun notarytool`).
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(uname -s) == Darwin ]] || { echo "build-app.sh: builds on macOS only (it links against macOS frameworks)" >&2; exit 1; }
target=aarch64-apple-darwin
cargo build --release --target "$target" --bin archlens
app=target/macos/Archlens.app
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp packaging/macos/Info.plist "$app/Contents/"
cp packaging/macos/Archlens.icns "$app/Contents/Resources/"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cp "$target_dir/$target/release/archlens" "$app/Contents/MacOS/archlens"
# The demo layout the first run opens (the app looks in Contents/Resources).
cp -R assets/demo-layout "$app/Contents/Resources/"
identity=${ARCHLENS_CODESIGN_IDENTITY:--}
# Notarisation needs Apple's timestamp; an ad-hoc signature cannot have one.
timestamp=--timestamp; [[ $identity == - ]] && timestamp=--timestamp=none
codesign --force --deep --options runtime "$timestamp" --sign "$identity" "$app"
codesign --verify --deep --strict "$app"
version=$(/usr/libexec/PlistBuddy -c 'Print CFBundleShortVersionString' "$app/Contents/Info.plist")
(cd target/macos && ditto -c -k --keepParent Archlens.app "Archlens-$version-arm64.zip")
echo "built $app"
