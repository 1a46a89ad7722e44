#!/usr/bin/env bash
# The one test command (README): sets up what the tests need on a fresh machine, then runs
# every test. CI (.ci/run) calls exactly this, plus fmt and clippy.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== setup: wasm32 target"
rustup target add wasm32-unknown-unknown

echo "== setup: the OpenSSL and curl command lines (legacy .p12 files, OpenSSL clients of /secapi)"
if ! command -v openssl >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl curl >/dev/null
  else
    echo "the tests need the openssl and curl commands (apt-get install openssl curl)" >&2
    exit 1
  fi
fi

echo "== wxpay-core builds for WebAssembly"
cargo build -p wxpay-core --target wasm32-unknown-unknown

echo "== PostgreSQL for the server suite"
pg_url="${WXPAY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_hostport="${pg_url#*@}"
pg_hostport="${pg_hostport%%/*}"
pg_host="${pg_hostport%%:*}"
pg_port="${pg_hostport##*:}"
[ "$pg_port" = "$pg_hostport" ] && pg_port=5432
pg_skipped=""
if (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  export WXPAY_TEST_POSTGRES_URL="$pg_url"
  echo "PostgreSQL at $pg_host:$pg_port: the server suite runs on SQLite and PostgreSQL"
elif [ "${WXPAY_REQUIRE_POSTGRES:-}" = "1" ]; then
  echo "PostgreSQL is required (WXPAY_REQUIRE_POSTGRES=1) but nothing answers at $pg_host:$pg_port" >&2
  exit 1
else
  pg_skipped="no PostgreSQL at $pg_host:$pg_port (set WXPAY_TEST_POSTGRES_URL)"
  echo "!! PostgreSQL suite SKIPPED: $pg_skipped; the server suite runs on SQLite only"
fi

echo "== every Rust test (unit, golden vectors, property, differential, simulator, server API on both databases, black-box)"
cargo test --workspace --all-features

echo "== wxpay-sign (npm package): install, build (wasm-bindgen CLI at the pinned version), test"
(cd wasm-pkg && npm ci --no-audit --no-fund && npm run build && npm test)

echo "== the example mini program, its pages run by a wx double against real sandboxes (v2, v3)"
(cd examples/miniprogram && npm test)

echo "== the example merchant backend: its order paid in a real sandbox, the webhook verified by the official standardwebhooks library"
(cd examples/merchant-backend && npm ci --no-audit --no-fund && npm test)

echo "== schemathesis against the sandbox: every route of server/openapi.json (v3 on PostgreSQL, v2 on SQLite)"
./scripts/schemathesis.sh

echo "== the /debug page in headless Chromium (Debian's chromium; nothing downloaded)"
browser_skipped=""
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  elif [ "${WXPAY_REQUIRE_BROWSER:-}" = "1" ]; then
    echo "Chromium is required (WXPAY_REQUIRE_BROWSER=1) but missing, and apt-get needs root" >&2
    exit 1
  else
    browser_skipped="no chromium, and installing it needs root (apt-get install chromium fonts-noto-cjk)"
  fi
fi
if [ -z "$browser_skipped" ]; then
  (cd wasm-pkg && CHROMIUM="$(command -v chromium)" npm run test:browser)
  echo "screenshot: ${CARGO_TARGET_DIR:-target}/debug-page.png"
else
  echo "!! browser test SKIPPED: $browser_skipped"
fi

if [ -n "$pg_skipped" ]; then
  echo "!! Reminder: the PostgreSQL suite was SKIPPED ($pg_skipped)."
fi
if [ -n "$browser_skipped" ]; then
  echo "!! Reminder: the browser test was SKIPPED ($browser_skipped)."
fi
