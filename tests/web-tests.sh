#!/usr/bin/env bash
# The chat page in a real browser: Debian's chromium driven by puppeteer-core (tests/web/), against
# pg_rag_server, a throwaway cluster and the fake provider, each on its own port: Postgres
# PGRAG_WEB_TEST_PORT (55570), the fake provider +1, servers +2..+5. Installs chromium (apt) and
# puppeteer-core (npm ci, no browser download) when missing. Screenshots go to $BUILD/web-screenshots.
# Prints "web tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
PG_PORT="${PGRAG_WEB_TEST_PORT:-55570}"
FAKE_PORT=$((PG_PORT + 1))
fail() { echo "web tests: 0 passed, 1 failed ($1)"; exit 1; }

if ! command -v chromium >/dev/null; then
  [ "$(id -u)" -eq 0 ] || fail "chromium is missing: apt-get install chromium"
  echo "installing chromium (Debian)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium fonts-dejavu-core >/dev/null; } || fail "apt-get install chromium"
fi
if ! command -v npm >/dev/null; then
  [ "$(id -u)" -eq 0 ] || fail "node and npm are missing: apt-get install nodejs npm"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; } ||
    fail "apt-get install nodejs npm"
fi
if [ ! -d tests/web/node_modules/puppeteer-core ]; then
  (cd tests/web && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in tests/web"
fi

WORK="$(mktemp -d /tmp/pg_rag_web_test.XXXXXX)"
chmod 755 "$WORK"
cleanup() {
  [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
  bash docker/pg-cluster.sh stop "$WORK/data" >/dev/null 2>&1; rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/fake_provider" "$FAKE_PORT" 900 >"$WORK/fake_provider.log" 2>&1 &
FAKE_PID=$!
bash docker/pg-cluster.sh start "$WORK/data" "$PG_PORT" || fail "cluster"
fake="http://127.0.0.1:$FAKE_PORT"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >/dev/null <<SQL || fail "setup"
CREATE DATABASE pg_rag_web;
\c pg_rag_web
CREATE EXTENSION pg_rag;
-- The page's server answers through the fake Ollama, 120 ms between tokens (tagged, to see cancellation).
CREATE ROLE web_chat LOGIN SUPERUSER;
ALTER ROLE web_chat SET pg_rag.llm_providers = 'ollama';
ALTER ROLE web_chat SET pg_rag.ollama_chat_url = '$fake/tag/web/gap/120';
-- A provider that fails.
CREATE ROLE web_down LOGIN SUPERUSER;
ALTER ROLE web_down SET pg_rag.llm_providers = 'ollama';
ALTER ROLE web_down SET pg_rag.ollama_chat_url = '$fake/fault/500always';
ALTER ROLE web_down SET pg_rag.max_retries = 0;
-- A server that requires sign-in logs in as a role that is neither superuser nor owner (row-level
-- security applies), with the README's grants; the extractive answerer; keys of two users.
CREATE ROLE web_auth LOGIN;
SELECT rag_grant_user_access('web_auth', sets_identity => true);
GRANT EXECUTE ON FUNCTION rag_chat_provider_credentials(), rag_verify_api_key(text), rag_record_usage(jsonb),
      rag_usage_summary(timestamptz, timestamptz, text) TO web_auth;
ALTER ROLE web_auth SET pg_rag.llm_providers = 'extractive';
SQL
for user in alice bob; do
  psql -X -qtA -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "SELECT rag_create_api_key('web test', 'web-$user')" \
    pg_rag_web >"$WORK/key-$user" || fail "key"
done

SHOTS="$BUILD/web-screenshots"
[[ "$SHOTS" = /* ]] || SHOTS="$PWD/$SHOTS"
mkdir -p "$SHOTS"
PGRAG_WEB_SERVER_BIN="$BUILD/pg_rag_server" PGRAG_WEB_PG_PORT="$PG_PORT" PGRAG_WEB_FAKE_PORT="$FAKE_PORT" \
  PGRAG_WEB_ROOT_DIR="$PWD/server/web" PGRAG_WEB_DATA="$PWD/tests/data" PGRAG_WEB_WORK="$WORK" \
  PGRAG_WEB_SCREENSHOTS="$SHOTS" PGRAG_WEB_KEYS="$WORK" \
  timeout -k 10 600 node tests/web/chat-page.test.mjs >"$WORK/web.log" 2>&1
# Output goes to a file, not a pipe: a browser left running must not hold the step open.
cat "$WORK/web.log"
line=$(grep -E '^web tests: [0-9]+ passed, [0-9]+ failed' "$WORK/web.log" | tail -1)
[ -n "$line" ] || fail "the browser test did not finish"
[[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]] && [ "${BASH_REMATCH[2]}" -eq 0 ]
