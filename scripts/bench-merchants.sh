#!/usr/bin/env bash
# Notify on PostgreSQL with the server configured for one merchant and for nine (eight
# made-up [[merchants]] beside [wechat]'s), alternating, two rounds (BENCHMARKS.md, "Many
# merchants"). Needs the release build and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
for round in 1 2; do
  for merchants in 1 9; do
    echo "### round $round merchants $merchants"
    ./target/release/wxpay-load notify --db postgres --concurrency 16 --seconds 15 --log warn \
      --merchants "$merchants" 2>&1 | tail -1
  done
done
