#!/usr/bin/env bash
# Runs every example of README.md as written, against a cluster started exactly as `make run` starts one
# (same script, its own port and data directory). Fenced blocks marked `sql` run in order through psql in
# the `pg_rag` database (each block stops at its first error); blocks marked `sh` run with bash from a
# scratch folder holding a docs/ folder of sample files. Blocks marked otherwise (`console` for make
# commands, `sql provider` for calls that need a real provider's key, `sql upgrade` for upgrade steps, `sql citus` for steps on a Citus cluster, `text`) are shown, not run.
# Prints "readme examples: N passed, M failed"; exits non-zero when any block fails.
set -uo pipefail
cd "$(dirname "$0")/.."
PORT="${PGRAG_README_PORT:-55437}"
SERVER_PORT="${PGRAG_README_SERVER_PORT:-55438}"
WORK="$(mktemp -d /tmp/pg_rag_readme.XXXXXX)"
chmod 755 "$WORK"
# The server of the tree under test (the one on the PATH may be another build).
build_dir="${BUILD:-build}"; [[ "$build_dir" = /* ]] || build_dir="$PWD/$build_dir"
PGRAG_SERVER_BIN="${PGRAG_SERVER_BIN:-$build_dir/pg_rag_server}"
export PGRAG_DATADIR="$WORK/data" PGRAG_PORT="$PORT" PGRAG_SERVER_PORT="$SERVER_PORT" PGRAG_SERVER_BIN
cleanup() { bash docker/run-local.sh stop >/dev/null 2>&1; rm -rf "$WORK"; }
[ -n "${PGRAG_README_KEEP:-}" ] || trap cleanup EXIT
bash docker/run-local.sh start >/dev/null || { echo "readme examples: 0 passed, 1 failed (cluster)"; exit 1; }

# Split the README into numbered block files: NNN.sql / NNN.sh, with the README line they start on.
# Fences may be indented (inside a list item): the block's lines lose the fence's indentation.
awk -v dir="$WORK" '
  /^ *```/ && !inside { inside = 1; indent = match($0, /```/) - 1; lang = substr($0, indent + 4); n++; start = NR
                      file = (lang == "sql" ? sprintf("%s/%03d.sql", dir, n) : lang == "sh" ? sprintf("%s/%03d.sh", dir, n) : "")
                      if (file != "") print (lang == "sql" ? "-- " : "# ") "README.md line " start > file
                      next }
  /^ *```/ && inside  { inside = 0; if (file != "") close(file); file = ""; next }
  inside && file != "" { print substr($0, indent + 1) > file }
' README.md

# The scratch folder the shell examples run in: docs/ with the sample files and one larger than argv allows.
mkdir -p "$WORK/run/docs"
cp tests/data/guide.md tests/data/faq.json tests/data/refund-policy.pdf "$WORK/run/docs/"
for i in $(seq 1 3000); do echo "Line $i of a long handbook: returns, refunds and exchanges are explained here."; done >"$WORK/run/docs/handbook.md"

passed=0
failed=0
for block in $(ls "$WORK"/[0-9]*.sql "$WORK"/[0-9]*.sh 2>/dev/null | sort); do
  where=$(head -1 "$block" | sed 's/^\(--\|#\) //')
  case "$block" in
    *.sql) out=$(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -f "$block" pg_rag 2>&1) ;;
    *.sh) out=$(cd "$WORK/run" && sed -e "s/-p 55432/-p $PORT/g" -e "s/127.0.0.1:8080/127.0.0.1:$SERVER_PORT/g" "$block" | bash -e 2>&1) ;;
  esac
  if [ $? -eq 0 ] && ! grep -q 'ERROR:' <<<"$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: the example at $where"
    echo "$out" | grep -m5 -E 'ERROR|error|No such|not found' || echo "$out" | tail -5
  fi
done
echo "readme examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
