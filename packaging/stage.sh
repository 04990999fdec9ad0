#!/usr/bin/env bash
# Lay out an installed Archlens under a prefix: bin/archlens, the desktop entry, AppStream
# metadata, icons, man page, shell completions and the demo layout under share/.
#
#   packaging/stage.sh BINARY PREFIX [NOTICES]
#
# The README, the licence and NOTICES (THIRD-PARTY-NOTICES.md, made by packaging/notices.py)
# go to share/doc/archlens/.
# Used for the tarball (packaging/build.sh) and for installing from source (install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
root=$2
notices=${3:-}
mkdir -p "$root/bin" "$root/share/applications" "$root/share/metainfo" "$root/share/man/man1" \
  "$root/share/bash-completion/completions" "$root/share/zsh/vendor-completions" \
  "$root/share/fish/vendor_completions.d" "$root/share/archlens" "$root/share/icons" "$root/share/doc/archlens"
# Stripped: the symbols are a quarter of the binary and no user needs them.
install -s -m 755 "$bin" "$root/bin/archlens"
install -m 644 packaging/linux/dev.archlens.Archlens.desktop "$root/share/applications/"
install -m 644 packaging/linux/dev.archlens.Archlens.metainfo.xml "$root/share/metainfo/"
# The man page and completions come from the command line's own definition.
"$bin" manpage | gzip -9n >"$root/share/man/man1/archlens.1.gz"
"$bin" completions bash >"$root/share/bash-completion/completions/archlens"
"$bin" completions zsh >"$root/share/zsh/vendor-completions/_archlens"
"$bin" completions fish >"$root/share/fish/vendor_completions.d/archlens.fish"
cp -r packaging/icons/hicolor "$root/share/icons/"
rm -rf "$root/share/archlens/demo-layout"
cp -r assets/demo-layout "$root/share/archlens/"
install -m 644 README.md LICENSE "$root/share/doc/archlens/"
if [ -n "$notices" ]; then
  install -m 644 "$notices" "$root/share/doc/archlens/"
fi
