#!/usr/bin/env python3
"""Writes N rotation post files of real length into DIR/rotation (and copies
posts/media beside them): the shipped messages' texts in en, fr and ar,
each file with its own id and its own words (the shipped text, short text
and alt texts, numbered: a campaign's posts are not copies of each other,
and copies would each draw a "word for word" warning), as long as the real
ones. For the benchmarks of `validate` and of the memory of loaded posts.

Usage: scripts/gen-posts.py DIR N
"""
import json
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def value(v):
    """A TOML string, or an inline table of strings (per language)."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
    return json.dumps(v, ensure_ascii=False)


def main():
    out, n = Path(sys.argv[1]), int(sys.argv[2])
    rotation = out / "rotation"
    rotation.mkdir(parents=True, exist_ok=True)
    (out / "queue").mkdir(exist_ok=True)
    if (ROOT / "posts/media").is_dir() and not (out / "media").exists():
        shutil.copytree(ROOT / "posts/media", out / "media")
    shipped = [tomllib.load(open(p, "rb")) for p in sorted((ROOT / "posts/rotation").glob("*.toml"))]
    for i in range(n):
        src = shipped[i % len(shipped)]
        lines = [f'id = "{src["id"]}-{i}"', f'commitment = {src.get("commitment", 1)}',
                 f'tags = {json.dumps(src.get("tags", []))}', "", "[text]"]
        own = lambda text: f"{text.strip()} ({i})"
        for lang, text in src["text"].items():
            lines.append(f"{lang} = {json.dumps(own(text), ensure_ascii=False)}")
        if src.get("short"):
            lines += ["", "[short]"]
            for lang, text in src["short"].items():
                lines.append(f"{lang} = {json.dumps(own(text), ensure_ascii=False)}")
        for m in src.get("media", []):
            alt = {lang: own(a) for lang, a in m["alt"].items()}
            lines += ["", "[[media]]", f"path = {value(m['path'])}", f"alt = {value(alt)}"]
        (rotation / f"m{i:05}.toml").write_text("\n".join(lines) + "\n")


main()
