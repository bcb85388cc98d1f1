#!/usr/bin/env python3
"""Draws the import graph of src/ and checks the layout's claims (issue 28).

A node is a file of src/, except that a network's folder under
src/publish/<name>/ is one node (a network is one unit, its files may use
each other). An edge A -> B means A names an item of B: a `use crate::…` or
`use super::…` line, or a `crate::…`/`super::…` path in the code. Module
declarations (`mod x;`) and re-exports are not uses. Comments and strings
are ignored.

Prints the nodes in layers (a node's layer is one more than the highest
layer it uses), every circle (a set of files that use each other round), the
arrows that run back up (the fewest edges whose removal leaves no circle,
found greedily), and, with --dot FILE, a Graphviz drawing.

Usage: scripts/import-graph.py [SRC_DIR] [--dot FILE] [--check]
  --check: exit 1 if there is a circle or more than one arrow back up.
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

args = [a for a in sys.argv[1:]]
check = "--check" in args
dot = None
if "--dot" in args:
    dot = args[args.index("--dot") + 1]
    args.remove("--dot")
    args.remove(dot)
args = [a for a in args if a != "--check"]
SRC = Path(args[0] if args else Path(__file__).resolve().parent.parent / "src")

# module path (tuple) -> file
modules = {}
for f in sorted(SRC.rglob("*.rs")):
    rel = f.relative_to(SRC)
    parts = list(rel.with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    if rel.as_posix() == "main.rs":
        continue  # the binary: above everything
    modules[tuple(parts)] = f


def node_of(f: Path) -> str:
    rel = f.relative_to(SRC).as_posix()
    m = re.match(r"publish/([a-z_]+)/", rel)
    if m:
        return f"publish/{m.group(1)}/"
    return rel


def strip(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand_use(tree: str):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.replace(" ", "").replace("\n", "")
    out = []

    def walk(prefix, t):
        depth, start, items = 0, 0, []
        i = t.find("{")
        if i < 0:
            out.append(prefix + t)
            return
        head, body = t[:i], t[i + 1:-1]
        for j, c in enumerate(body):
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == "," and depth == 0:
                items.append(body[start:j])
                start = j + 1
        items.append(body[start:])
        for it in items:
            if it:
                walk(prefix + head, it)

    walk("", tree)
    return out


def resolve(path_parts, here):
    """The module file a path names an item of: the longest module prefix."""
    if path_parts[0] == "crate":
        parts = path_parts[1:]
    elif path_parts[0] in ("super", "self"):
        parts = list(here)
        while path_parts and path_parts[0] in ("super", "self"):
            if path_parts[0] == "super":
                parts = parts[:-1]
            path_parts = path_parts[1:]
        parts = parts + list(path_parts)
    else:
        return None
    for n in range(len(parts), -1, -1):
        key = tuple(parts[:n])
        if key in modules:
            return modules[key]
    return None


edges = defaultdict(set)
for mod, f in modules.items():
    here = mod if f.name == "mod.rs" or f.name == "lib.rs" else mod  # module of the file
    # `super` in a.rs is the parent of a; in a/mod.rs also the parent of a.
    text = strip(f.read_text())
    paths = []
    for m in re.finditer(r"(?<![\w:])(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
        if m.group(0).lstrip().startswith("pub"):
            continue  # a re-export is not a use
        paths.extend(expand_use(m.group(1)))
    text_wo_use = re.sub(r"(?<![\w:])(?:pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", "", text)
    paths.extend(re.findall(r"(?<![\w:])((?:crate|super)(?:::\w+)+)", text_wo_use))
    for p in paths:
        parts = [x for x in p.split("::") if x and x not in ("*",)]
        parts = [re.sub(r"\s+as\s+\w+$", "", x) for x in parts]
        parts = [x.split("as")[0] if False else x for x in parts]
        if not parts or parts[0] not in ("crate", "super", "self"):
            continue
        target = resolve(parts, mod)
        if target is None:
            continue
        a, b = node_of(f), node_of(target)
        if a != b and b != "lib.rs":
            edges[a].add(b)

nodes = sorted({node_of(f) for f in modules.values()} - {"lib.rs"})

# Circles: strongly connected components (Tarjan).
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def strongconnect(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            strongconnect(w)
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
        sccs.append(comp)


sys.setrecursionlimit(10000)
for v in nodes:
    if v not in index:
        strongconnect(v)
circles = [sorted(c) for c in sccs if len(c) > 1]

# Arrows back up: greedily, the edge of a circle whose removal leaves the
# least in circles, until none is left.
removed = set()


def circled(removed):
    """The nodes in circles, with `removed` edges left out."""
    idx, lo, st, on_st, comps, cnt = {}, {}, [], set(), [], [0]

    def sc(v):
        idx[v] = lo[v] = cnt[0]
        cnt[0] += 1
        st.append(v)
        on_st.add(v)
        for w in edges[v]:
            if (v, w) in removed:
                continue
            if w not in idx:
                sc(w)
                lo[v] = min(lo[v], lo[w])
            elif w in on_st:
                lo[v] = min(lo[v], idx[w])
        if lo[v] == idx[v]:
            comp = []
            while True:
                w = st.pop()
                on_st.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    for v in nodes:
        if v not in idx:
            sc(v)
    return [set(c) for c in comps if len(c) > 1]


back = []
while True:
    comps = circled(removed)
    if not comps:
        break
    candidates = [(a, b) for c in comps for a in c for b in edges[a] if b in c and (a, b) not in removed]
    best = min(candidates, key=lambda e: (sum(len(c) for c in circled(removed | {e})), e))
    removed.add(best)
    back.append(best)

# Layers on what is left.
layer = {}


def depth(v, seen=()):
    if v in layer:
        return layer[v]
    d = 0
    for w in edges[v]:
        if (v, w) in removed or w in seen:
            continue
        d = max(d, depth(w, seen + (v,)) + 1)
    layer[v] = d
    return d


for v in nodes:
    depth(v)
by_layer = defaultdict(list)
for v in nodes:
    by_layer[layer[v]].append(v)
print(f"{len(nodes)} nodes, {sum(len(s) for s in edges.values())} arrows, {len(by_layer)} layers")
for l in sorted(by_layer, reverse=True):
    print(f"  layer {l:2}: {', '.join(sorted(by_layer[l]))}")
print(f"circles: {len(circles)}")
for c in circles:
    print(f"  {len(c)} files: {', '.join(c)}")
print(f"arrows back up: {len(back)}")
for a, b in back:
    print(f"  {a} -> {b}")
if dot:
    with open(dot, "w") as out:
        out.write("digraph src {\n  rankdir=BT;\n")
        for a in nodes:
            for b in sorted(edges[a]):
                style = ' [color=red]' if (a, b) in removed else ""
                out.write(f'  "{a}" -> "{b}"{style};\n')
        out.write("}\n")
if check and (circles or len(back) > 1):
    sys.exit(1)
