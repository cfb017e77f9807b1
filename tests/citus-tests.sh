#!/usr/bin/env bash
# The Citus equivalence test: one knowledge base loaded into a single node and into a local cluster
# (coordinator and two workers on 127.0.0.1), then every search mode, filter, kind of caller and
# rag_answer compared: the same rows, order and scores. Builds Citus from ../shared/anchors into the
# PostgreSQL of pg_config when it is missing; skipped (with a message) when the anchors are absent.
# Ports: PGRAG_CITUS_PORT_BASE (default 56400) + 1, 10, 11, 12. Prints "citus tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
base="${PGRAG_CITUS_PORT_BASE:-56400}"
anchors="${PGRAG_ANCHORS:-$repo/../shared/anchors}"
[ -d "$anchors" ] || anchors="$repo/../../shared/anchors"
if [ ! -f "$anchors/citus-13.2.2.tar.gz" ]; then
  echo "citus tests: skipped (no Citus source: ../shared/anchors/citus-13.2.2.tar.gz is absent)"
  exit 0
fi
if ! PGRAG_ANCHORS="$anchors" bash tests/citus/build-citus.sh; then
  echo "citus tests: 0 passed, 1 failed (Citus did not build)"; exit 1
fi
if [ ! -f "$(pg_config --pkglibdir)/pg_rag.so" ]; then
  echo "citus tests: 0 passed, 1 failed (pg_rag is not installed into $(pg_config --pkglibdir))"; exit 1
fi
dir="$(mktemp -d /tmp/pg_rag_citus.XXXXXX)"
chmod 755 "$dir"
# PGRAG_CITUS_KEEP=1 leaves the cluster running and its directory in place, for a look after a failure.
cleanup() { for pid in "${server_pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done; [ "${PGRAG_CITUS_KEEP:-0}" = 1 ] && { echo "kept: $dir"; return; }; bash tests/citus/cluster.sh stop "$dir"; rm -rf "$dir"; }
server_pids=()
trap cleanup EXIT
# The cluster starts on the previous release and is updated once loaded (ALTER EXTENSION ... UPDATE on
# a distributed knowledge base); the single node runs the current one.
# PGRAG_CITUS_FROM_VERSION=current distributes with the current release instead (no update).
current="$(sed -n "s/^default_version = '\(.*\)'/\1/p" pg_rag.control)"
from_version="${PGRAG_CITUS_FROM_VERSION:-0.8.0}"
[ "$from_version" = current ] && from_version="$current"
if ! PGRAG_CITUS_VERSION="$from_version" bash tests/citus/cluster.sh start "$dir" "$base" >"$dir/start.log" 2>&1; then
  cat "$dir/start.log"; tail -20 "$dir"/*/server.log
  echo "citus tests: 0 passed, 1 failed (the cluster did not start)"; exit 1
fi
single=$((base + 1)) coordinator=$((base + 10))
mkdir -p "$dir/files" && cp tests/data/* "$dir/files/" && chmod -R a+rX "$dir/files"
run() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p "$1" -d kb "${@:2}"; }
failed=0
# pg_rag has the Citus functions (rag_distribute and the rest) on every node since 0.8.0: CREATE
# EXTENSION made them; tests/citus/load_kb.sql distributes the knowledge base half-way through loading it.
for port in "$single" "$coordinator"; do
  run "$port" -v files="$dir/files" -f tests/citus/load_kb.sql >"$dir/load-$port.log" 2>&1 || failed=1
done
# The distributed knowledge base updated to the current version on every node (from the coordinator).
run "$coordinator" -c "ALTER EXTENSION pg_rag UPDATE" >"$dir/update.log" 2>&1 || failed=1
if [ "$failed" -ne 0 ]; then
  cat "$dir"/load-*.log "$dir/update.log" | tail -40
  echo "citus tests: 0 passed, 1 failed (setting up or updating the knowledge base failed)"; exit 1
fi
versions="$(for port in "$coordinator" $((base + 11)) $((base + 12)); do
  run "$port" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'pg_rag'"; done | sort -u | tr '\n' ' ')"
if [ "$versions" = "$current " ]; then
  echo "PASS ALTER EXTENSION pg_rag UPDATE from $from_version reaches $current on the coordinator and both workers" >"$dir/update.out"
else
  echo "FAIL ALTER EXTENSION pg_rag UPDATE from $from_version: versions on the nodes: $versions (want $current)" >"$dir/update.out"
fi
run "$single" -tA -v remote="host=127.0.0.1 port=$coordinator dbname=kb user=postgres" -f tests/citus/compare.sql \
  >"$dir/compare.out" 2>&1 || echo "FAIL tests/citus/compare.sql stopped: $(grep -m1 ERROR "$dir/compare.out")" >>"$dir/compare.out"
# pg_rag_server against the single node and against the coordinator, as two signed-in users (API keys,
# row-level security through the server's non-superuser role rag_srv): the same search rows and scores
# (to 1e-9) and the same answers with the same sources.
server_bin="$(command -v pg_rag_server || echo "$repo/build/pg_rag_server")"
: >"$dir/server.out"
declare -A alice_key bob_key server_port
for port in "$single" "$coordinator"; do
  run "$port" -tA >"$dir/keys-$port" 2>&1 <<'SQL' || echo "FAIL server setup on port $port: $(tail -3 "$dir/keys-$port")" >>"$dir/server.out"
GRANT EXECUTE ON FUNCTION rag_chat_provider_credentials(), rag_verify_api_key(text), rag_record_usage(jsonb) TO rag_srv;
SELECT rag_create_api_key('alice', 'rag_alice');
SELECT rag_create_api_key('bob', 'rag_bob');
SQL
  alice_key[$port]="$(sed -n 1p "$dir/keys-$port")"
  bob_key[$port]="$(sed -n 2p "$dir/keys-$port")"
  server_port[$port]=$((port + 100))
  "$server_bin" --listen "127.0.0.1:${server_port[$port]}" --pool-size 2 --auth required \
    --database-url "host=127.0.0.1 port=$port dbname=kb user=rag_srv" 2>"$dir/server-$port.log" &
  server_pids+=($!)
done
for port in "$single" "$coordinator"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${server_port[$port]}/readyz" >/dev/null && break; sleep 0.1; done
done
# The request through one node's server, normalized: ids and scores rounded to 1e-9 (search), or the
# answer and its sources' chunk ids (chat).
through() {  # PORT USER KIND ARGS...
  local port=$1 user=$2 kind=$3 key
  [ "$user" = alice ] && key="${alice_key[$port]}" || key="${bob_key[$port]}"
  if [ "$kind" = search ]; then
    curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:${server_port[$port]}/api/search?$4" |
      jq -c '[.results[] | {chunk_id, document_id, score: ((.score * 1e9) | round)}]'
  else
    curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      "http://127.0.0.1:${server_port[$port]}/api/chat" -d "$4" | jq -c '{answer, sources: [.sources[] | .chunk_id]}'
  fi
}
for user in alice bob; do
  for q in 'refund%20shipping' 'warranty%20battery%20w12' 'invoice'; do
    for mode in vector keyword hybrid; do
      a="$(through "$single" $user search "q=$q&k=10&mode=$mode")"
      b="$(through "$coordinator" $user search "q=$q&k=10&mode=$mode")"
      if [ -n "$a" ] && [ "$a" != "[]" ] && [ "$a" = "$b" ]; then echo "PASS server /api/search as $user, $mode, $q: the same rows and scores"
      else echo "FAIL server /api/search as $user, $mode, $q: single $a, cluster $b"; fi
    done
  done
  body='{"question": "How do refunds and shipping work?", "k": 5}'
  a="$(through "$single" $user chat "$body")"
  b="$(through "$coordinator" $user chat "$body")"
  if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "PASS server /api/chat as $user: the same answer and sources"
  else echo "FAIL server /api/chat as $user: single $a, cluster $b"; fi
done >>"$dir/server.out"
for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null; done
wait "${server_pids[@]}" 2>/dev/null

# Then checks of the cluster itself (pushdown, policies on the shards, writes): they change its data.
run "$coordinator" -tA -f tests/citus/cluster_checks.sql >"$dir/checks.out" 2>&1 ||
  echo "FAIL tests/citus/cluster_checks.sql stopped: $(grep -m1 ERROR "$dir/checks.out")" >>"$dir/checks.out"
cat "$dir/update.out" "$dir/compare.out" "$dir/server.out" "$dir/checks.out" | grep -v '^$' >"$dir/all.out"
passed=$(grep -c '^PASS ' "$dir/all.out")
failed=$(grep -c '^FAIL ' "$dir/all.out")
grep -v '^PASS ' "$dir/all.out" | head -40
[ "${PGRAG_CITUS_VERBOSE:-0}" = 1 ] && grep '^PASS ' "$dir/all.out"
if [ "$passed" -eq 0 ]; then failed=$((failed + 1)); fi
echo "citus tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
