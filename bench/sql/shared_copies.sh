#!/usr/bin/env bash
# Shared search copies (0.8.0): the first vector search of a new backend (as after a server restart),
# and the first search after a 1-row change (warm backend and new backend), against a full reload
# into private memory (what every new backend paid before 0.8.0) and against building the base, all in
# the same run on the same data. Medians of 3; ratios against the full reload.
#   bench/sql/shared_copies.sh PORT DATADIR [ROWS] [DIMS]   (a running cluster with pg_rag installed,
#   DATADIR its data directory, to remove the base files between rounds; needs dblink; REUSE=1 keeps
#   the data of a previous run)
set -euo pipefail
PORT=${1:?port}; DATADIR=${2:?data directory}; ROWS=${3:-100000}; DIMS=${4:-768}
DB=bench_shared_copies
q() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
if [ "${REUSE:-0}" != 1 ]; then
q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q -d $DB -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_rag" -c "CREATE EXTENSION dblink"
echo "loading $ROWS x $DIMS ..."
q -d $DB <<SQL
INSERT INTO rag_documents (title, content, content_hash, chunking) VALUES ('bench', '', '\x00', '{}');
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
SELECT (SELECT min(id) FROM rag_documents), i, '', 0, 0,
       (SELECT array_agg(random()::real) FROM generate_series(1, $DIMS) WHERE i > 0)::embedding, 'bench', ''::tsvector
FROM generate_series(1, $ROWS) i;
CREATE TABLE bench_probe AS SELECT embedding AS e FROM rag_chunks LIMIT 1;
VACUUM ANALYZE;
SQL
fi
OID=$(q -d $DB -At -c "SELECT oid FROM pg_database WHERE datname = '$DB'")
SEARCH="SELECT count(*) FROM rag_search_vector((SELECT e FROM bench_probe), 10)"
CHANGE="SELECT dblink_exec('host=127.0.0.1 port=$PORT user=postgres dbname=$DB', 'UPDATE rag_chunks SET embedding = embedding WHERE seq = ' || (random() * $ROWS)::int)"
# The time of the last statement of a fresh backend running the given statements.
last_ms() {
  local args=(-c '\timing on'); for s in "$@"; do args+=(-c "$s"); done
  q -d $DB -At "${args[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
drop_bases() { rm -rf "$DATADIR/pg_rag/$OID"; }
declare -a reload build build_plain fresh warm_change fresh_change
for round in 1 2 3; do
  drop_bases
  # Before 0.8.0 every new backend loaded everything; now a transaction that has written and finds no
  # base does the same (private copy).
  reload+=("$(last_ms "BEGIN" "SELECT pg_current_xact_id()" "$SEARCH")")
  build+=("$(last_ms "SET pg_rag.search = approximate" "$SEARCH")")  # no base yet: writes it, with the index
  drop_bases
  build_plain+=("$(last_ms "$SEARCH")")           # no base yet: this search writes it (no index inline)
  fresh+=("$(last_ms "$SEARCH")")                 # a new backend maps it (as after a restart)
  warm_change+=("$(last_ms "$SEARCH" "$CHANGE" "$SEARCH")")  # same backend, after 1 committed change
  fresh_change+=("$(last_ms "$CHANGE" "$SEARCH")")           # new backend, base + 1 changed row
done
# After a real restart (the file persists; the page cache may still hold it).
bash "$(dirname "$0")/../../docker/pg-cluster.sh" stop "$DATADIR" >/dev/null
bash "$(dirname "$0")/../../docker/pg-cluster.sh" start "$DATADIR" "$PORT" >/dev/null
restart=$(last_ms "$SEARCH")
R=$(median "${reload[@]}")
row() { printf '| %-52s | %9.1f | %6.2fx |\n' "$1" "$2" "$(echo "$R / $2" | bc -l)"; }
echo "| first search of a backend, $ROWS x $DIMS                 | ms (median of 3) | vs full reload |"
echo "|---|---|---|"
row "full reload into private memory (0.7.0 path)" "$R"
row "no base yet: write the base file (no index) and map it" "$(median "${build_plain[@]}")"
row "no base yet: write it with the index (search = approximate)" "$(median "${build[@]}")"
row "new backend, base present (maps it, catches up)" "$(median "${fresh[@]}")"
row "after a server restart (one run)" "$restart"
row "same backend, after a 1-row committed change" "$(median "${warm_change[@]}")"
row "new backend, after a 1-row committed change" "$(median "${fresh_change[@]}")"
q -d $DB -At -c "$SEARCH" -c "SELECT state, generation, base_rows, overlay_rows FROM rag_search_copies() WHERE copy = 'vector'"
du -h "$DATADIR/pg_rag/$OID"
