#!/usr/bin/env bash
# pg_rag_server against the official openai npm client (tests/openai/client.test.mjs, openai 6.x pinned
# by tests/openai/package-lock.json; `npm ci` installs it when node_modules is missing). A throwaway
# cluster on PGRAG_OPENAI_TEST_PG_PORT (55560), the fake provider on +1, the servers on +2 (extractive
# answers) and +3 (a fake Ollama that fails mid-stream). Prints "openai client: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
PG_PORT="${PGRAG_OPENAI_TEST_PG_PORT:-55560}"
FAKE_PORT=$((PG_PORT + 1))
SERVER_PORT=$((PG_PORT + 2))
MIDSTREAM_PORT=$((PG_PORT + 3))
WORK="$(mktemp -d /tmp/pg_rag_openai_test.XXXXXX)"
chmod 755 "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  bash docker/pg-cluster.sh stop "$WORK/data" >/dev/null 2>&1; rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "openai client: 0 passed, 1 failed ($1)"; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed: bash docker/install-deps.sh"
if [ ! -d tests/openai/node_modules/openai ]; then
  (cd tests/openai && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 || { tail -5 "$WORK/npm.log"; fail "npm ci"; }
fi

"$BUILD/fake_provider" "$FAKE_PORT" 600 >"$WORK/fake_provider.log" 2>&1 &
pids+=($!)
bash docker/pg-cluster.sh start "$WORK/data" "$PG_PORT" || fail "cluster"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >/dev/null <<SQL || fail "setup"
CREATE DATABASE pg_rag;
\c pg_rag
CREATE EXTENSION pg_rag;
SELECT rag_ingest('Refund policy', 'Refunds are processed within five business days. Digital goods cannot be refunded after download.',
                  source => 'kb/refunds');
SELECT rag_ingest('Shipping', 'Shipping to Europe takes seven to ten days. Express shipping takes two days.', source => 'kb/shipping');
CREATE ROLE srv_midstream LOGIN SUPERUSER;
ALTER ROLE srv_midstream SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_midstream SET pg_rag.ollama_chat_url = 'http://127.0.0.1:$FAKE_PORT/fault/midstream';
SQL

start_server() {  # port user
  "$BUILD/pg_rag_server" --listen "127.0.0.1:$1" \
    --database-url "host=127.0.0.1 port=$PG_PORT dbname=pg_rag user=$2" >"$WORK/server-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -5 "$WORK/server-$1.log"
  fail "pg_rag_server on $1 did not start"
}
start_server "$SERVER_PORT" postgres
start_server "$MIDSTREAM_PORT" srv_midstream

PGRAG_OPENAI_BASE_URL="http://127.0.0.1:$SERVER_PORT/v1" PGRAG_OPENAI_MIDSTREAM_URL="http://127.0.0.1:$MIDSTREAM_PORT/v1" \
  PGRAG_OPENAI_PG_PORT="$PG_PORT" timeout -k 10 120 node tests/openai/client.test.mjs >"$WORK/node.log" 2>&1
cat "$WORK/node.log"
grep -qE '^openai client: [0-9]+ passed, [0-9]+ failed' "$WORK/node.log" || fail "the node test did not finish"
grep -qE '^openai client: [0-9]+ passed, 0 failed' "$WORK/node.log"
