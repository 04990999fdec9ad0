#!/usr/bin/env python3
"""Validate a JSON document against one of the OCI image-spec JSON schemas.

usage: validate-schema.py SCHEMA_DIR SCHEMA_FILE DOCUMENT

The schemas $ref each other by relative name and by their `id` URIs; every file of SCHEMA_DIR
is made resolvable under both. Exit 0 when valid, 1 with the errors when not.
"""
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import jsonschema  # noqa: E402

BASE = "urn:oci:"


def localise(node):
    """Drop the `id` URIs (they move the resolution scope to the web) and point relative
    `$ref`s at the local files."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "id" and isinstance(v, str) and v.startswith("http"):
                continue
            if k == "$ref" and isinstance(v, str) and not v.startswith("#"):
                v = BASE + v
            out[k] = localise(v)
        return out
    if isinstance(node, list):
        return [localise(x) for x in node]
    return node


schema_dir, schema_file, document = sys.argv[1:4]
store = {}
for name in os.listdir(schema_dir):
    if name.endswith(".json"):
        with open(os.path.join(schema_dir, name)) as f:
            store[BASE + name] = localise(json.load(f))
schema = store[BASE + schema_file]
with open(document) as f:
    instance = json.load(f)
resolver = jsonschema.RefResolver(BASE + schema_file, schema, store=store)
validator = jsonschema.Draft4Validator(schema, resolver=resolver)
errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
for e in errors:
    print(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}")
sys.exit(1 if errors else 0)
