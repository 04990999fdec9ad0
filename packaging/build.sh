#!/usr/bin/env bash
# Build the Linux packages into target/packaging/: a .deb (cargo-deb) and a .tar.gz holding the
# same files under a prefix (bin/, share/), to unpack into ~/.local or /usr/local.
#
#   packaging/build.sh                 release build (what is shipped)
#   packaging/build.sh --profile dev   package the debug build (CI checks the packaging this way)
#
# Needs cargo-deb (`cargo install cargo-deb`) for the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
while (($#)); do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$profile" in
  release) dir=release ;;
  dev) dir=debug ;;
  *) echo "build.sh: profile is release or dev" >&2; exit 2 ;;
esac

cargo build --profile "$profile" --bin archlens
# Where cargo puts its builds (CARGO_TARGET_DIR or the build config may move it).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/$dir/archlens
out=target/packaging
rm -rf "$out"
# Everything but the .deb's control data, under a prefix: the tarball's contents, and the
# files the .deb's assets (Cargo.toml) take the man page and completions from.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(uname -m)
root=$out/archlens-$version-$arch-linux
# The crates and fonts it is built from, with their licences (shipped beside LICENSE).
mkdir -p "$out"
python3 packaging/notices.py "$out/THIRD-PARTY-NOTICES.md"
# The Debian changelog of this version, dated by the commit it is built from (reproducible).
maintainer=$(sed -n 's/^maintainer = "\(.*\)"/\1/p' Cargo.toml | head -1)
when=$(git log -1 --format=%cD 2>/dev/null || date -R)
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf 'archlens (%s-1) unstable; urgency=medium\n\n  * Built from revision %s; see README.md for what Archlens does.\n\n -- %s  %s\n' \
  "$version" "$revision" "$maintainer" "$when" >"$out/changelog"
packaging/stage.sh "$bin" "$root" "$out/THIRD-PARTY-NOTICES.md"
mkdir -p "$out/completions"
cp "$root/share/man/man1/archlens.1.gz" "$out/"
cp "$root/share/bash-completion/completions/archlens" "$out/completions/archlens.bash"
cp "$root/share/zsh/vendor-completions/_archlens" "$out/completions/"
cp "$root/share/fish/vendor_completions.d/archlens.fish" "$out/completions/"

cargo deb --no-build --profile "$profile" --output "$out/"

# The tarball: the same files under a relocatable prefix.
tar -C "$out" -czf "$out/archlens-$version-$arch-linux.tar.gz" "archlens-$version-$arch-linux"
rm -rf "$root"
ls -l "$out"/*.deb "$out"/*.tar.gz
