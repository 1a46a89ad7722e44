#!/usr/bin/env bash
# W3 / W4 of BENCHMARKS.md in one run: OpenSSL's RSA-2048 speed (the W4 ceiling, and the
# W3 verification peer) right before wxpay-core's v3 benches (which measure their own
# aws-lc-rs and ring ceilings in the same process).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== openssl speed -seconds 3 rsa2048 ($(openssl version))"
openssl speed -seconds 3 rsa2048 2>/dev/null | grep -E "sign/s|^rsa 2048"
echo "== cargo bench -p wxpay-core --bench v3"
cargo bench -p wxpay-core --bench v3 -- --warm-up-time 2 --measurement-time 6 2>&1 \
  | grep -E "^W[34]|time:|thrpt:"
echo "== openssl speed -seconds 3 rsa2048 (again, after)"
openssl speed -seconds 3 rsa2048 2>/dev/null | grep -E "^rsa 2048"
