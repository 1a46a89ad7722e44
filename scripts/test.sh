#!/usr/bin/env bash
# The one test command (README): sets up what the tests need on a fresh machine, then runs
# every test. CI (.ci/run) calls exactly this, plus fmt and clippy.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== setup: wasm32 target"
rustup target add wasm32-unknown-unknown

echo "== wxpay-core builds for WebAssembly"
cargo build -p wxpay-core --target wasm32-unknown-unknown

echo "== every Rust test (unit, golden vectors, property, differential, doc)"
cargo test --workspace --all-features
