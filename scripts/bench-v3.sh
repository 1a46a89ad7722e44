#!/usr/bin/env bash
# W3 / W4 of BENCHMARKS.md in one run. Each against its ceiling, interleaved round by
# round in one process (examples/v3_ratio.rs: these machines share cores, and a slow
# minute must slow both sides): W3 beside aws-lc-rs's bare RSA verification + AES-GCM,
# W4 beside aws-lc-rs's bare RSA signature. W4 also beside `openssl speed rsa2048`, which
# runs alternately with wxpay's W4 (three times each). Then aws-lc-rs against ring, the
# other constant-time RSA backend, the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
# The bench profile (fat LTO, as criterion's); its binaries land in target/release.
cargo build --profile bench -q -p wxpay-core --example v3_ratio
ratio=target/release/examples/v3_ratio
echo "== $(openssl version); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs"
echo "== W3 (interleaved, 3 runs of 300 rounds)"
for _ in 1 2 3; do "$ratio" w3 300; done
echo "== W4 (interleaved with its aws-lc-rs ceiling; alternating with openssl speed)"
for _ in 1 2 3; do
  "$ratio" w4 30
  openssl speed -seconds 3 rsa2048 2>/dev/null | grep -E "^rsa 2048"
done
echo "== the RSA backends (ring's time / aws-lc-rs's, so below 1 means ring is slower)"
"$ratio" backends 300
