#!/usr/bin/env bash
# Fuzzes post parsing and rendering (facets and lengths) with cargo-fuzz:
# each target runs for SECONDS (default 30), seeded with the shipped posts
# and the bad-input corpus. A crash leaves its input in
# fuzz/artifacts/TARGET/ and fails the script.
#   scripts/fuzz.sh [SECONDS] [--dev]
#   scripts/fuzz.sh build [--dev]     only installs cargo-fuzz and builds
# The test script runs it with 30 --dev: a development build (no
# optimisation) is several times quicker to compile, which is most of a
# short run; longer runs (BENCHMARKS.md) leave --dev out.
# libFuzzer needs the nightly toolchain (on this machine's image); cargo-fuzz
# is installed from crates.io if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
PROFILE=()
[ "${2:-}" = "--dev" ] && PROFILE=(--dev)

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION …"
  cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

mkdir -p fuzz/corpus/post_file fuzz/corpus/render
cp posts/rotation/*.toml posts/queue/*.toml fuzz/corpus/post_file/
find tests/bad-input/posts -name '*.toml' -size -64k -exec cp {} fuzz/corpus/post_file/ \;
# Render seeds: each shipped text, then NUL and a few tags.
python3 - fuzz/corpus/render posts/rotation <<'EOF'
import pathlib, sys, tomllib
out, src = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sorted(src.glob("*.toml")):
    post = tomllib.loads(f.read_text())
    for lang, text in post.get("text", {}).items():
        (out / f"{f.stem}-{lang}").write_bytes((text + "\0" + " ".join(post.get("tags", []))).encode())
EOF

# Inputs are bounded by what a post can be: a post file with three
# languages, short texts and alt texts is a few KB (the longest shipped one
# is under 4 KB); a rendered text is at most Facebook's 63,206 characters,
# but every counting rule and facet is exercised within the 4 KB that
# the other networks allow. Unbounded (libFuzzer grows inputs to 64 KB),
# an unoptimised twitter-text managed about 50 executions in 30 s.
declare -A MAX_LEN=([post_file]=8192 [render]=4096)

cd fuzz && mkdir -p logs
cargo +nightly fuzz build "${PROFILE[@]}"
[ "$SECONDS_EACH" = build ] && exit 0
for target in post_file render; do
  echo "fuzzing $target for $SECONDS_EACH s (inputs up to ${MAX_LEN[$target]} bytes) …"
  cargo +nightly fuzz run "${PROFILE[@]}" "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -max_len="${MAX_LEN[$target]}" -print_final_stats=1 2>"logs/$target.log" \
    || { tail -n 40 "logs/$target.log" >&2; exit 1; }
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "logs/$target.log" || true
done
