#!/usr/bin/env bash
# Check the Linux packages packaging/build.sh made: the desktop entry and AppStream metadata
# validate, the .deb holds what it should, installs with apt, and the installed `archlens`
# runs (version, and a matrix of the demo layout it ships); the tarball holds the same files.
# Needs desktop-file-utils, appstream, lintian, and root (or sudo) to install the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
out=target/packaging
deb=$(ls "$out"/archlens_*.deb)
tarball=$(ls "$out"/archlens-*-linux.tar.gz)

desktop-file-validate packaging/linux/dev.archlens.Archlens.desktop
# Errors fail the check; warnings are said and pass (appstream 1.0, Debian 13's, exits non-zero
# on warnings such as url-homepage-missing, which needs a homepage the project does not have yet).
set +e
said=$(appstreamcli validate --no-net packaging/linux/dev.archlens.Archlens.metainfo.xml 2>&1)
rc=$?
set -e
echo "$said"
if grep -q '^E:' <<<"$said"; then
  echo "check.sh: the AppStream metadata has errors" >&2; exit 1
elif [ "$rc" -ne 0 ]; then
  echo "check.sh: AppStream warnings (not errors) above; the metadata is valid"
fi

dpkg-deb --info "$deb"
# lintian: errors fail the check, warnings are said. The one expected is
# initial-upload-closes-no-bugs: Archlens is not uploaded to Debian, so no ITP bug is closed.
command -v lintian >/dev/null || { echo "check.sh: lintian is needed (apt-get install lintian)" >&2; exit 1; }
said=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' || true)
echo "lintian: ${said:-no tags}"
if grep -q '^E:' <<<"$said"; then
  echo "check.sh: lintian reports errors" >&2; exit 1
fi
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for path in ./usr/bin/archlens ./usr/share/applications/dev.archlens.Archlens.desktop \
  ./usr/share/metainfo/dev.archlens.Archlens.metainfo.xml ./usr/share/man/man1/archlens.1.gz \
  ./usr/share/bash-completion/completions/archlens ./usr/share/zsh/vendor-completions/_archlens \
  ./usr/share/fish/vendor_completions.d/archlens.fish ./usr/share/archlens/demo-layout/index.json \
  ./usr/share/icons/hicolor/48x48/apps/dev.archlens.Archlens.png \
  ./usr/share/icons/hicolor/256x256/apps/dev.archlens.Archlens.png \
  ./usr/share/icons/hicolor/scalable/apps/dev.archlens.Archlens.svg \
  ./usr/share/doc/archlens/copyright ./usr/share/doc/archlens/THIRD-PARTY-NOTICES.md; do
  grep -qxF "$path" <<<"$contents" || { echo "check.sh: $deb lacks $path" >&2; exit 1; }
done

$sudo apt-get install -y "./$deb"
trap '$sudo apt-get remove -y archlens >/dev/null 2>&1 || true' EXIT
/usr/bin/archlens --version | grep -E '^archlens [0-9]+\.[0-9]+\.[0-9]+ \([0-9a-f]{7,}' \
  || { echo "check.sh: archlens --version does not name a version and a git revision" >&2; exit 1; }
/usr/bin/archlens matrix oci:/usr/share/archlens/demo-layout
/usr/bin/archlens matrix oci:/usr/share/archlens/demo-layout --format json | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert "linux/arm64" in m["platforms"] and len(m["tags"]) >= 5, m["platforms"]'
# The licence and the third-party notices (crates and fonts) are shipped.
grep -q '/usr/share/common-licenses/Apache-2.0' /usr/share/doc/archlens/copyright || { echo "check.sh: the copyright file does not point at the licence" >&2; exit 1; }
zcat /usr/share/doc/archlens/changelog.Debian.gz | head -1 | grep -q "^archlens ($(dpkg-query -W -f '${Version}' archlens))" \
  || { echo "check.sh: the Debian changelog does not name the package's version" >&2; exit 1; }
grep -q '^| reqwest |' /usr/share/doc/archlens/THIRD-PARTY-NOTICES.md && grep -q 'UFL.txt' /usr/share/doc/archlens/THIRD-PARTY-NOTICES.md \
  || { echo "check.sh: the notices miss the crates or the fonts" >&2; exit 1; }
zcat /usr/share/man/man1/archlens.1.gz | grep -q '^\.TH archlens 1' || { echo "check.sh: no man page" >&2; exit 1; }
grep -q 'complete -F _archlens' /usr/share/bash-completion/completions/archlens

listing=$(tar -tzf "$tarball")
for path in bin/archlens share/applications/dev.archlens.Archlens.desktop share/man/man1/archlens.1.gz \
  share/archlens/demo-layout/index.json share/icons/hicolor/128x128/apps/dev.archlens.Archlens.png \
  share/doc/archlens/README.md share/doc/archlens/LICENSE share/doc/archlens/THIRD-PARTY-NOTICES.md; do
  grep -q "/$path\$" <<<"$listing" || { echo "check.sh: $tarball lacks $path" >&2; exit 1; }
done
# Nothing at the top of the prefix but bin/ and share/ (it is unpacked into ~/.local).
top=$(tar -tzf "$tarball" | awk -F/ 'NF>1 && $2!="" {print $2}' | sort -u | tr '\n' ' ')
[ "$top" = "bin share " ] || { echo "check.sh: the tarball's prefix holds more than bin/ and share/: $top" >&2; exit 1; }
echo "packages check out: $deb, $tarball"
