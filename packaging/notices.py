#!/usr/bin/env python3
"""Write THIRD-PARTY-NOTICES.md: every crate Archlens is built from (as Cargo.lock pins it,
from `cargo metadata`), with its licence and home, and the fonts the app draws with, each with
its licence text.

    packaging/notices.py OUT.md

Works offline once the crates are fetched (what any build needs anyway).
"""
import json
import pathlib
import subprocess
import sys

out = pathlib.Path(sys.argv[1])
host = next(l.split(": ", 1)[1] for l in subprocess.check_output(["rustc", "-vV"], text=True).splitlines() if l.startswith("host: "))
# Only what this platform's build links (not the Windows or macOS crates).
meta = json.loads(subprocess.check_output(["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform", host], text=True))
root = meta["resolve"]["root"]
# Only what the shipped binary links: the resolve graph from the root, without dev-only edges.
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
packages = {p["id"]: p for p in meta["packages"]}
seen, todo = set(), [root]
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    for d in nodes[i]["deps"]:
        if any(k.get("kind") in (None, "build") for k in d["dep_kinds"]):
            todo.append(d["pkg"])
seen.discard(root)
crates = sorted((packages[i] for i in seen), key=lambda p: (p["name"], p["version"]))

lines = [
    "# Third-party notices",
    "",
    "Archlens is licensed under the Apache License 2.0 (see LICENSE). It is built from these",
    f"{len(crates)} crates, each under the licence its authors chose, and draws its text with the",
    "fonts listed after them.",
    "",
    "| Crate | Version | Licence | Home |",
    "| --- | --- | --- | --- |",
]
for p in crates:
    home = p.get("repository") or p.get("homepage") or f"https://crates.io/crates/{p['name']}"
    lic = p.get("license") or (f"see {p['license_file']}" if p.get("license_file") else "unstated")
    lines.append(f"| {p['name']} | {p['version']} | {lic} | {home} |")

# The fonts egui bundles, with their licence texts as the font package ships them.
fonts_pkg = next((p for p in crates if p["name"] == "epaint_default_fonts"), None)
if fonts_pkg:
    fonts_dir = pathlib.Path(fonts_pkg["manifest_path"]).parent / "fonts"
    lines += ["", "## Fonts", "",
              "Ubuntu Light (Ubuntu Font Licence 1.0), Hack (MIT, with the Bitstream Vera licence),",
              "Noto Emoji (SIL Open Font Licence 1.1) and emoji-icon-font (MIT), bundled by egui:", ""]
    for f in sorted(fonts_dir.glob("*.txt")):
        lines += [f"### {f.name}", "", "```", f.read_text(errors="replace").rstrip(), "```", ""]
else:
    sys.exit("notices.py: epaint_default_fonts is not among the crates: where do the fonts come from?")

out.write_text("\n".join(lines) + "\n")
print(f"{out}: {len(crates)} crates and the fonts' licences")
