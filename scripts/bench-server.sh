#!/usr/bin/env bash
# The server benchmarks of BENCHMARKS.md in one run: each backend's ceiling beside wxpay's
# notify path, order creation, status reads, the open-loop latency at half the measured
# maximum, and the growth check (1,000,000 pre-loaded orders) with its query plans.
# Needs PostgreSQL (WXPAY_BENCH_PG, default the local trust server) and pgbench.
# Prints one JSON line per run (and the plans); takes about 35 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
pg="${WXPAY_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
secs="${WXPAY_BENCH_SECONDS:-15}"
cargo build --release -p wxpay-server -p wxpay-load
load() { ./target/release/wxpay-load "$@" --pg-admin "$pg" 2>/dev/null; }
max_notify=()
for db in postgres sqlite; do
  echo "== $db: ceiling and closed loop, 16 clients"
  load ceiling --db "$db" --seconds "$secs"
  out=$(load notify --db "$db" --seconds "$secs"); echo "$out"
  max_notify+=("$(jq -r .throughput <<<"$out")")
  load notify --db "$db" --seconds "$secs" --log warn
  load orders --db "$db" --seconds "$secs"
  load status --db "$db" --seconds "$secs"
done
echo "== open loop at half the maximum notify rate"
load notify --db postgres --seconds "$secs" --rate "$(( ${max_notify[0]%.*} / 2 ))"
load notify --db sqlite --seconds "$secs" --rate "$(( ${max_notify[1]%.*} / 2 ))"
echo "== growth: the same open-loop rates on an empty database and on 1,000,000 orders (3 rounds)"
for round in 1 2 3; do
  for db in postgres sqlite; do
    for preload in 0 1000000; do
      load notify --db "$db" --seconds "$secs" --rate 500 --preload "$preload"
      load status --db "$db" --seconds "$secs" --rate 1000 --preload "$preload"
    done
  done
done
for db in postgres sqlite; do
  load plans --db "$db" --preload 0 | tail -2
  load plans --db "$db" --preload 1000000
done
echo "== API v3: notify beside the ceiling, and order creation beside the bare RSA signature (2 rounds)"
for round in 1 2; do
  for db in postgres sqlite; do
    load ceiling --db "$db" --seconds "$secs"
    load notify --db "$db" --api v3 --seconds "$secs"
    load orders --db "$db" --api v3 --seconds "$secs"
  done
done
