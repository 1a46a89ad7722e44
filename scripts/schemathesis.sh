#!/usr/bin/env bash
# schemathesis (PyPI, pinned) against real sandboxes, every route of server/openapi.json
# including the admin ones: no 5xx, every status, content type, header and body as the
# document says, bad input refused, auth enforced. v3 on PostgreSQL (when
# WXPAY_TEST_POSTGRES_URL is set) and v2 on SQLite. Bounded: --max-examples per operation.
#
#   scripts/schemathesis.sh            (after `cargo build -p wxpay-server`)
#   SCHEMATHESIS_EXAMPLES=200 scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.32.5
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-100}"
target="${CARGO_TARGET_DIR:-target}"
binary="$target/debug/wxpay"
venv="$target/schemathesis-$VERSION"
[ -x "$binary" ] || { echo "$binary is missing: cargo build -p wxpay-server" >&2; exit 1; }
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A sandbox on free ports (its SQLite file, or --database-url, in its own directory);
# sets API and SIM.
start_sandbox() {
  local name="$1"
  shift
  mkdir -p "$work/$name"
  # High limits: the run is about what the handlers answer, not the rate limiter (its
  # 429 is documented and tested in the API suite).
  (cd "$work/$name" && exec env RUST_LOG=warn \
    WXPAY_LIMITS__LOGIN_PER_IP_PER_MINUTE=1000000 \
    WXPAY_LIMITS__ORDERS_PER_USER_PER_MINUTE=1000000 \
    WXPAY_LIMITS__ORDERS_PER_IP_PER_MINUTE=1000000 \
    WXPAY_LIMITS__PHONE_PER_USER_PER_MINUTE=1000000 \
    WXPAY_LIMITS__PHONE_PER_IP_PER_MINUTE=1000000 \
    "$OLDPWD/$binary" serve --sandbox --bind 127.0.0.1:0 --sim-bind 127.0.0.1:0 "$@" \
    >"$work/$name/log" 2>&1) &
  pids+=("$!")
  for _ in $(seq 1 300); do
    API="$(sed -n 's/^ *API: *\(http[^ ]*\).*/\1/p' "$work/$name/log")"
    SIM="$(sed -n 's/^ *WeChat simulator: *\(http[^ ]*\).*/\1/p' "$work/$name/log")"
    [ -n "$API" ] && [ -n "$SIM" ] && return 0
    sleep 0.1
  done
  echo "the $name sandbox did not start:" >&2
  cat "$work/$name/log" >&2
  exit 1
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -X POST "$@" -H 'content-type: application/json'; }

# What the run needs to reach past "not found": a user's token and orders, a paid order
# to refund, an event, a day to reconcile.
prepare() {
  local appid wx code
  appid="$(curl -sf "$API/v1/payment-config" | json "['appid']")"
  wx="$(post "$SIM/sim/login" -d "{\"appid\":\"$appid\"}")"
  code="$(echo "$wx" | json "['code']")"
  OPENID="$(echo "$wx" | json "['openid']")"
  USER_TOKEN="$(post "$API/v1/login" -d "{\"code\":\"$code\"}" | json "['token']")"
  local cart='{"items":[{"sku":"latte","quantity":1}]}'
  OPEN_ORDER="$(post "$API/v1/orders" -H "authorization: Bearer $USER_TOKEN" -d "$cart" | json "['order_no']")"
  CANCEL_ORDER="$(post "$API/v1/orders" -H "authorization: Bearer $USER_TOKEN" -d "$cart" | json "['order_no']")"
  local paid
  paid="$(post "$API/v1/orders" -H "authorization: Bearer $USER_TOKEN" -d "$cart")"
  PAID_ORDER="$(echo "$paid" | json "['order_no']")"
  echo "$paid" | python3 -c "
import json, sys
order = json.load(sys.stdin)
print(json.dumps({**order['payment'], 'appid': '$appid', 'openid': '$OPENID'}))" \
    | post "$SIM/sim/pay" -d @- >/dev/null
  for _ in $(seq 1 100); do
    status="$(curl -sf "$API/v1/orders/$PAID_ORDER" -H "authorization: Bearer $USER_TOKEN" | json "['status']")"
    [ "$status" = paid ] && break
    sleep 0.1
  done
  [ "$status" = paid ] || { echo "the order to refund was not paid ($status)" >&2; exit 1; }
  EVENT_ID="$(curl -sf "$API/v1/admin/events" -H 'authorization: Bearer sandbox-admin' | json "['events'][0]['id']")"
  TODAY="$(TZ=Asia/Shanghai date +%F)"
}

config() {
  cat <<EOF
[auth.openapi.user_token]
bearer = "$USER_TOKEN"
[auth.openapi.admin_token]
bearer = "sandbox-admin"

[[operations]]
include-name = ["GET /v1/orders/{order_no}", "POST /v1/orders/{order_no}/payment"]
parameters = { order_no = "$OPEN_ORDER" }
[[operations]]
include-name = "POST /v1/orders/{order_no}/cancel"
parameters = { order_no = "$CANCEL_ORDER" }
# A body over server.max_body_bytes is refused with 413 (a shipping upload of 15 long
# parcels can be): a rejection like the others.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5XX"]

[[operations]]
include-path-regex = "^/v1/admin/orders/[{]order_no[}]/(refunds|shipping)$"
parameters = { order_no = "$PAID_ORDER" }
[[operations]]
include-path-regex = "^/v1/admin/events/[{]id[}]"
parameters = { id = "$EVENT_ID" }
[[operations]]
include-path-regex = "^/v1/admin/reconciliation/"
parameters = { date = "$TODAY" }
EOF
}

# One run: every operation but logout (it would end the token the others use), then
# logout alone. positive_data_acceptance is left out: a request can fit the schema and
# still be refused by design (a code WeChat never issued, a notify WeChat did not sign).
# One worker: hypothesis parses sources with `ast` from its threads, and CPython 3.11.7's
# parser is not thread-safe there ("AST constructor recursion depth mismatch").
run() {
  local name="$1"
  shift
  config >"$work/$name/schemathesis.toml"
  local common=(--url "$API" --checks all --exclude-checks positive_data_acceptance
    --max-examples "$EXAMPLES" --phases examples,coverage,fuzzing --workers 1
    --request-timeout 10 --seed 20261207 "$@")
  echo "== schemathesis: $name ($API)"
  "$venv/bin/schemathesis" --config-file "$work/$name/schemathesis.toml" run \
    server/openapi.json "${common[@]}" --exclude-operation-id logout
  "$venv/bin/schemathesis" --config-file "$work/$name/schemathesis.toml" run \
    server/openapi.json "${common[@]}" --include-operation-id logout
}

pg_args=()
if [ -n "${WXPAY_TEST_POSTGRES_URL:-}" ] && ! command -v psql >/dev/null 2>&1; then
  if [ "${WXPAY_REQUIRE_POSTGRES:-}" = "1" ]; then
    echo "the PostgreSQL run needs psql (apt-get install postgresql-client)" >&2
    exit 1
  fi
  echo "!! no psql: the v3 run uses SQLite too"
elif [ -n "${WXPAY_TEST_POSTGRES_URL:-}" ]; then
  db="wxpay_schemathesis_$$"
  admin_url="$WXPAY_TEST_POSTGRES_URL"
  psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
  trap 'cleanup; psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  pg_args=(--database-url "${admin_url%/*}/$db")
fi

start_sandbox v3 --api v3 "${pg_args[@]}"
prepare
run v3

# On v2 the v3 notify routes answer 503 by design (WeChat retries until v3 is
# configured): they are held to the document on the v3 sandbox above.
start_sandbox v2
prepare
run v2 --exclude-operation-id pay_notify_v3 --exclude-operation-id refund_notify_v3
