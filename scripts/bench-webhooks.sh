#!/usr/bin/env bash
# Notify on PostgreSQL with the outbox off, on (recorded, no endpoint), and on with
# every event delivered to a local receiver answering 204; alternating, two rounds
# (BENCHMARKS.md, "Webhooks"). Needs the release build, PostgreSQL and node.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e "require('http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(204).end()); }).listen(9911, '127.0.0.1')" &
receiver=$!
trap 'kill $receiver' EXIT
sleep 1
for round in 1 2; do
  for mode in off recorded delivered; do
    case $mode in
      off) env="WXPAY_EVENTS__RECORD=false" ;;
      recorded) env="WXPAY_EVENTS__RECORD=true" ;;
      delivered) env="WXPAY_EVENTS__RECORD=true WXPAY_WEBHOOKS__URL=http://127.0.0.1:9911/hooks WXPAY_WEBHOOKS__SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Tm8Sm2tfS0=" ;;
    esac
    echo "### round $round mode $mode"
    # shellcheck disable=SC2086
    env $env ./target/release/wxpay-load notify --db postgres --concurrency 16 --seconds 15 --log warn 2>&1 | tail -1
  done
done
