#!/usr/bin/env python3
"""The module graph of ivr/ has no circle: lists which top-level module refers to which
(`use crate::X`, `crate::X::`, grouped `use crate::{X, Y}`), outside tests, and fails on a cycle.

Tests are left out: `#[cfg(test)]` modules (inline or in their own file), files named tests.rs
and files under a tests/ directory. Exit status 1 when a cycle exists; `-v` prints every edge.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "ivr"
ROOT_FILES = {"lib.rs", "main.rs"}


def top_module(path):
    rel = path.relative_to(ROOT)
    if len(rel.parts) == 1:
        return None if rel.name in ROOT_FILES else rel.stem
    return rel.parts[0]


def strip_tests(text):
    """Drops `#[cfg(test)]` items: inline `mod tests { ... }` bodies and `mod x;` lines."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        semi, brace = text.find(";", j), text.find("{", j)
        if brace == -1 or (semi != -1 and semi < brace):
            i = semi + 1
            continue
        depth, k = 0, brace
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        i = k + 1
    out.append(text[i:])
    return "".join(out)


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


def test_files():
    """Files that are test modules by a `#[cfg(test)] mod x;` declaration in their parent."""
    found = set()
    for path in ROOT.rglob("*.rs"):
        text = path.read_text()
        for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text):
            base = path.parent if path.name in ("mod.rs", "lib.rs", "main.rs") else path.with_suffix("")
            found.add(base / f"{m.group(1)}.rs")
            found.add(base / m.group(1) / "mod.rs")
    return found


def referenced(text):
    names = set(re.findall(r"\bcrate::(\w+)", text))
    for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
        names.update(re.findall(r"(?:^|[,{\s])(\w+)", group))
    return names


def edges():
    skip = test_files()
    modules = {top_module(p) for p in ROOT.rglob("*.rs")} - {None}
    graph = {}
    for path in sorted(ROOT.rglob("*.rs")):
        rel = path.relative_to(ROOT)
        if path in skip or path.name == "tests.rs" or "tests" in rel.parts[:-1]:
            continue
        src = top_module(path)
        if src is None:
            continue
        text = strip_tests(strip_comments(path.read_text()))
        for dst in referenced(text) & modules:
            if dst != src:
                graph.setdefault(src, {}).setdefault(dst, set()).add(str(rel))
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    graph = edges()
    if "-v" in sys.argv:
        for src in sorted(graph):
            for dst in sorted(graph[src]):
                print(f"{src} -> {dst}: {', '.join(sorted(graph[src][dst]))}")
    found = cycles(graph)
    for comp in found:
        print("cycle among:", ", ".join(comp))
        for a in comp:
            for b in sorted(graph.get(a, {})):
                if b in comp:
                    print(f"  {a} -> {b}: {', '.join(sorted(graph[a][b]))}")
    if found:
        sys.exit(1)
    print("module graph of ivr/: no cycle")


if __name__ == "__main__":
    main()
