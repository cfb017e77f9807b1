#!/usr/bin/env bash
# Retrieval and answer quality on a BEIR-layout data set, against a throwaway cluster.
#   bench/eval/run.sh [DATASET_DIR]     default: ../shared/eval/xquad-en beside the project
# The directory needs corpus.jsonl (_id, title, text), queries.jsonl (_id, text) and qrels/test.tsv
# (query-id, corpus-id, score); qa.jsonl (question, answers) enables the answer metrics.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="$(cd "${1:-../shared/eval/xquad-en}" && pwd)"
PORT="${PGRAG_EVAL_PORT:-55436}"
DIR="$(mktemp -d /tmp/pg_rag_eval.XXXXXX)"
chmod 755 "$DIR"
trap 'bash docker/pg-cluster.sh stop "$DIR/data" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
bash docker/pg-cluster.sh start "$DIR/data" "$PORT"
psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE eval" postgres
run() { psql -h 127.0.0.1 -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@" eval; }
# JSON lines load as CSV with characters that never occur, so backslash escapes stay intact.
json_copy="WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
run -c "CREATE TABLE corpus_raw (doc jsonb); CREATE TABLE queries_raw (q jsonb); CREATE TABLE qa_raw (q jsonb);
        CREATE TABLE qrels (query_id text, corpus_id text, score int);"
run -c "\\copy corpus_raw FROM '$DATA/corpus.jsonl' $json_copy"
run -c "\\copy queries_raw FROM '$DATA/queries.jsonl' $json_copy"
run -c "\\copy qrels FROM '$DATA/qrels/test.tsv' WITH (FORMAT csv, DELIMITER E'\\t', HEADER true)"
[ -f "$DATA/qa.jsonl" ] && run -c "\\copy qa_raw FROM '$DATA/qa.jsonl' $json_copy"
run -f bench/eval/retrieval.sql
# PGRAG_EVAL_EXPORT=DIR also writes each query's rankings there (bench/eval/fusion.py reads them).
if [ -n "${PGRAG_EVAL_EXPORT:-}" ]; then mkdir -p "$PGRAG_EVAL_EXPORT" && chmod 777 "$PGRAG_EVAL_EXPORT" && run -v out="$(cd "$PGRAG_EVAL_EXPORT" && pwd)" -f bench/eval/export.sql; fi
if [ -f "$DATA/qa.jsonl" ]; then run ${PGRAG_EVAL_EXPORT:+-v out="$(cd "$PGRAG_EVAL_EXPORT" && pwd)"} -f bench/eval/answers.sql; fi
