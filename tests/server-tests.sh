#!/usr/bin/env bash
# Integration tests of pg_rag_server (tests/server/*_test.cpp) over real HTTP, against a throwaway
# cluster and the fake provider, each on its own port: Postgres PGRAG_SERVER_TEST_PG_PORT (55550), the
# fake provider +2 (55552), servers from +3 (55553..55557). Roles carry per-role provider settings, as
# SQL users configure them. PGRAG_SERVER_TEST_FILTER runs some (a --gtest_filter). Prints "server
# tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
PG_PORT="${PGRAG_SERVER_TEST_PG_PORT:-55550}"
FAKE_PORT=$((PG_PORT + 2))
WORK="$(mktemp -d /tmp/pg_rag_server_test.XXXXXX)"
chmod 755 "$WORK"
cleanup() {
  [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
  pkill -f "pg_rag_server --listen 127.0.0.1:$((PG_PORT + 3))" 2>/dev/null
  for p in 4 5 6 7; do pkill -f "pg_rag_server --listen 127.0.0.1:$((PG_PORT + p))" 2>/dev/null; done
  bash docker/pg-cluster.sh stop "$WORK/data" >/dev/null 2>&1; rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "server tests: 0 passed, 1 failed ($1)"; exit 1; }

"$BUILD/fake_provider" "$FAKE_PORT" 600 >"$WORK/fake_provider.log" 2>&1 &
FAKE_PID=$!
bash docker/pg-cluster.sh start "$WORK/data" "$PG_PORT" || fail "cluster"
fake="http://127.0.0.1:$FAKE_PORT"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >/dev/null <<SQL || fail "setup"
CREATE DATABASE pg_rag_server;
\c pg_rag_server
CREATE EXTENSION pg_rag;
-- One role per provider set-up (superusers for brevity; srv_noaccess has no rights at all).
CREATE ROLE srv_stream LOGIN SUPERUSER;
ALTER ROLE srv_stream SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_stream SET pg_rag.ollama_chat_url = '$fake/tag/stream/gap/150';
CREATE ROLE srv_stream_long LOGIN SUPERUSER;
ALTER ROLE srv_stream_long SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_stream_long SET pg_rag.ollama_chat_url = '$fake/gap/100/tokens/60';
CREATE ROLE srv_slow LOGIN SUPERUSER;
ALTER ROLE srv_slow SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_slow SET pg_rag.ollama_chat_url = '$fake/latency/3000';
-- Keyed providers: the key lives in the database; non-superuser server roles read it only when granted
-- EXECUTE on rag_chat_provider_credentials (srv_keyed is, srv_unkeyed is not).
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', '$fake/v1');
CREATE ROLE srv_tables;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO srv_tables;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO srv_tables;
REVOKE ALL ON rag_provider_keys FROM srv_tables;
CREATE ROLE srv_keyed LOGIN IN ROLE srv_tables;
GRANT EXECUTE ON FUNCTION rag_chat_provider_credentials() TO srv_keyed;
CREATE ROLE srv_unkeyed LOGIN IN ROLE srv_tables;
ALTER ROLE srv_keyed SET pg_rag.llm_providers = 'openai';
ALTER ROLE srv_keyed SET pg_rag.openai_chat_url = '$fake/v1';
ALTER ROLE srv_unkeyed SET pg_rag.llm_providers = 'openai';
ALTER ROLE srv_unkeyed SET pg_rag.openai_chat_url = '$fake/v1';
CREATE ROLE srv_fallback LOGIN SUPERUSER;
ALTER ROLE srv_fallback SET pg_rag.llm_providers = 'openai, extractive';
CREATE ROLE srv_down LOGIN SUPERUSER;
ALTER ROLE srv_down SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_down SET pg_rag.ollama_chat_url = '$fake/fault/500always';
ALTER ROLE srv_down SET pg_rag.max_retries = 0;
CREATE ROLE srv_unreachable LOGIN SUPERUSER;
ALTER ROLE srv_unreachable SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_unreachable SET pg_rag.ollama_chat_url = 'http://127.0.0.1:$((PG_PORT + 9))';
ALTER ROLE srv_unreachable SET pg_rag.max_retries = 0;
CREATE ROLE srv_ollama LOGIN SUPERUSER;
ALTER ROLE srv_ollama SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_ollama SET pg_rag.ollama_chat_url = '$fake';
CREATE ROLE srv_midstream LOGIN SUPERUSER;
ALTER ROLE srv_midstream SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_midstream SET pg_rag.ollama_chat_url = '$fake/fault/midstream';
CREATE ROLE srv_noaccess LOGIN;
-- Tests ask the same questions under different set-ups: answers are cached only for srv_cache's tests.
ALTER DATABASE pg_rag_server SET pg_rag.answer_cache = off;
CREATE ROLE srv_cache LOGIN SUPERUSER;
ALTER ROLE srv_cache SET pg_rag.answer_cache = on;
-- Users (auth_test.cpp): server roles that are neither superuser nor owner, with the README's grants
-- ("Users and tenants over HTTP"); srv_auth answers extractively, srv_auth_slow streams slowly.
CREATE ROLE srv_auth LOGIN;
SELECT rag_grant_user_access('srv_auth', sets_identity => true);
GRANT EXECUTE ON FUNCTION rag_enqueue_question(text, text, integer, text, jsonb), rag_question(uuid),
      rag_claim_question(text, interval, integer), rag_extend_question_lease(uuid, text, interval),
      rag_finish_question(uuid, text, jsonb), rag_fail_question(uuid, text, jsonb, integer, interval),
      rag_release_question(uuid, text), rag_prune_questions(interval), rag_question_counts(),
      rag_prune_all_sessions(interval) TO srv_auth;
GRANT EXECUTE ON FUNCTION rag_chat_provider_credentials(), rag_verify_api_key(text), rag_record_usage(jsonb),
      rag_usage_summary(timestamptz, timestamptz, text) TO srv_auth;
GRANT EXECUTE ON FUNCTION rag_create_api_key(text, text, text[], timestamptz, text), rag_revoke_api_key(bigint),
      rag_api_keys() TO srv_auth;
CREATE ROLE srv_auth_slow LOGIN IN ROLE srv_auth;
ALTER ROLE srv_auth_slow SET pg_rag.llm_providers = 'ollama';
ALTER ROLE srv_auth_slow SET pg_rag.ollama_chat_url = '$fake/gap/150';
-- srv_auth with the answer cache on: two users asking the same question never share an answer.
CREATE ROLE srv_auth_cache LOGIN IN ROLE srv_auth;
ALTER ROLE srv_auth_cache SET pg_rag.answer_cache = on;
SQL

PGRAG_TEST_SERVER_BIN="$BUILD/pg_rag_server" PGRAG_TEST_PG_PORT="$PG_PORT" PGRAG_TEST_PG_DATADIR="$WORK/data" PGRAG_TEST_LOG_DIR="$WORK" \
  PGRAG_TEST_ROOT="$PWD" PGRAG_TEST_SERVER_PORT=$((PG_PORT + 3)) PGRAG_TEST_FAKE_PORT="$FAKE_PORT" \
  timeout -k 10 300 "$BUILD/server_tests" --gtest_brief=1 --gtest_filter="${PGRAG_SERVER_TEST_FILTER:-${GTEST_FILTER:-*}}" >"$WORK/gtest.log" 2>&1
# Output goes to a file, not a pipe: a server a failed test left running must not hold the step open.
cat "$WORK/gtest.log"
total=$(sed -n 's/^\[==========\] \([0-9]*\) tests\? from .* ran.*/\1/p' "$WORK/gtest.log" | tail -1)
passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\..*/\1/p' "$WORK/gtest.log" | tail -1)
[ -z "$total" ] && fail "server_tests did not run"
# Skipped tests (waiting for a feature, with the reason in the log) count as neither.
skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\?[.,].*/\1/p' "$WORK/gtest.log" | tail -1)
failed=$((total - ${passed:-0} - ${skipped:-0}))
echo "server tests: ${passed:-0} passed, $failed failed${skipped:+ ($skipped skipped)}"
[ "$failed" -eq 0 ]
