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
cleanup() { [ "${PGRAG_CITUS_KEEP:-0}" = 1 ] && { echo "kept: $dir"; return; }; bash tests/citus/cluster.sh stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
if ! bash tests/citus/cluster.sh start "$dir" "$base" >"$dir/start.log" 2>&1; then
  cat "$dir/start.log"; tail -20 "$dir"/*/server.log
  echo "citus tests: 0 passed, 1 failed (the cluster did not start)"; exit 1
fi
single=$((base + 1)) coordinator=$((base + 10))
mkdir -p "$dir/files" && cp tests/data/* "$dir/files/" && chmod -R a+rX "$dir/files"
run() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p "$1" -d kb "${@:2}"; }
failed=0
# pg_rag 0.8.0 has the Citus functions (rag_distribute and the rest) on every node: CREATE EXTENSION
# made them; tests/citus/load_kb.sql distributes the knowledge base half-way through loading it.
for port in "$single" "$coordinator"; do
  run "$port" -v files="$dir/files" -f tests/citus/load_kb.sql >"$dir/load-$port.log" 2>&1 || failed=1
done
if [ "$failed" -ne 0 ]; then
  cat "$dir/setup.log" "$dir"/load-*.log | tail -40
  echo "citus tests: 0 passed, 1 failed (setting up the knowledge base failed)"; exit 1
fi
run "$single" -tA -v remote="host=127.0.0.1 port=$coordinator dbname=kb user=postgres" -f tests/citus/compare.sql \
  >"$dir/compare.out" 2>&1
# Then checks of the cluster itself (pushdown, policies on the shards, writes): they change its data.
run "$coordinator" -tA -f tests/citus/cluster_checks.sql >"$dir/checks.out" 2>&1
cat "$dir/compare.out" "$dir/checks.out" | grep -v '^$' >"$dir/all.out"
passed=$(grep -c '^PASS ' "$dir/all.out")
failed=$(grep -c '^FAIL ' "$dir/all.out")
grep -v '^PASS ' "$dir/all.out" | head -40
[ "${PGRAG_CITUS_VERBOSE:-0}" = 1 ] && grep '^PASS ' "$dir/all.out"
if [ "$passed" -eq 0 ]; then failed=$((failed + 1)); fi
echo "citus tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
