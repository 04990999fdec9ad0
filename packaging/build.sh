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
bin=target/$dir/archlens
out=target/packaging
rm -rf "$out"
mkdir -p "$out/completions"
# The man page and completions come from the command line's own definition.
"$bin" manpage | gzip -9n >"$out/archlens.1.gz"
"$bin" completions bash >"$out/completions/archlens.bash"
"$bin" completions zsh >"$out/completions/_archlens"
"$bin" completions fish >"$out/completions/archlens.fish"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(uname -m)
cargo deb --no-build --profile "$profile" --output "$out/"

# The tarball: the .deb's files under a relocatable prefix.
root=$out/archlens-$version-$arch-linux
mkdir -p "$root/bin" "$root/share/applications" "$root/share/metainfo" "$root/share/man/man1" \
  "$root/share/bash-completion/completions" "$root/share/zsh/vendor-completions" \
  "$root/share/fish/vendor_completions.d" "$root/share/archlens" "$root/share/icons"
install -m 755 "$bin" "$root/bin/archlens"
install -m 644 packaging/linux/dev.archlens.Archlens.desktop "$root/share/applications/"
install -m 644 packaging/linux/dev.archlens.Archlens.metainfo.xml "$root/share/metainfo/"
install -m 644 "$out/archlens.1.gz" "$root/share/man/man1/"
install -m 644 "$out/completions/archlens.bash" "$root/share/bash-completion/completions/archlens"
install -m 644 "$out/completions/_archlens" "$root/share/zsh/vendor-completions/"
install -m 644 "$out/completions/archlens.fish" "$root/share/fish/vendor_completions.d/"
cp -r packaging/icons/hicolor "$root/share/icons/"
cp -r assets/demo-layout "$root/share/archlens/"
cp README.md "$root/"
tar -C "$out" -czf "$out/archlens-$version-$arch-linux.tar.gz" "archlens-$version-$arch-linux"
rm -rf "$root"
ls -l "$out"/*.deb "$out"/*.tar.gz
