#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need,
# then runs them. Called by CI (.ci/run) and by developers alike.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo is needed (https://rustup.rs)"; exit 1; }

cargo fmt --check
cargo test --locked
