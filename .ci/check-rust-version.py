#!/usr/bin/env python3
"""Checks Cargo.toml's rust-version: it is declared, the toolchain here meets it, and no
dependency in Cargo.lock needs a newer Rust (the declared version would be a lie)."""
import json
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split("-")[0].split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


metadata = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
ours = next(p for p in metadata["packages"] if p["name"] == "ivr")
declared = ours.get("rust_version")
if not declared:
    sys.exit("Cargo.toml declares no rust-version")
rustc = subprocess.check_output(["rustc", "--version"], text=True).split()[1]
if version(rustc) < version(declared):
    sys.exit(f"rustc {rustc} is older than the declared rust-version {declared}")
needs_more = sorted(
    f"{p['name']} {p['version']} needs Rust {p['rust_version']}"
    for p in metadata["packages"]
    if p.get("rust_version") and version(p["rust_version"]) > version(declared)
)
if needs_more:
    sys.exit(f"rust-version {declared} is too low:\n  " + "\n  ".join(needs_more))
print(f"ok: rust-version {declared}; rustc {rustc}; no dependency needs more")
