#!/usr/bin/env bash
# The identity settings (pg_rag.user_id, pg_rag.tenant_id, pg_rag.user_admin) in a cluster that does NOT
# preload pg_rag: a value set before the library loads is a placeholder, and loading the library (the
# first call of a pg_rag function, e.g. by a row-level security policy) must throw it away unless the
# role that set it may set it. Starts a throwaway cluster on a Unix socket only (no TCP port), prints one
# line per check; tests/regress/sql/identity.sql runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$(mktemp -d /tmp/pg_rag_nopreload.XXXXXX)"
chmod 755 "$DIR"
mkdir "$DIR/socket" && chmod 777 "$DIR/socket"   # the server (postgres, when run by root) writes it
trap 'bash docker/pg-cluster.sh stop "$DIR/data" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
PGRAG_PG_OPTS="-c shared_preload_libraries= -c listen_addresses= -c unix_socket_directories=$DIR/socket" \
  bash docker/pg-cluster.sh start "$DIR/data" 5432 >/dev/null
# Each call is a new session (the library not loaded yet); prints "label: rows", warnings included.
run() {
  local label="$1" user="$2" sql="$3"
  local out
  out=$(PGOPTIONS="${OPTS:-}" psql -X -qAt -h "$DIR/socket" -p 5432 -U "$user" -v ON_ERROR_STOP=1 -c "$sql" pg_rag 2>&1 |
        sed -e 's/^psql:[^:]*:[0-9]*: //' | tr '\n' ' ')
  echo "$label: ${out% }"
}
psql -X -q -h "$DIR/socket" -p 5432 -U postgres -v ON_ERROR_STOP=1 postgres >/dev/null <<'SQL'
CREATE DATABASE pg_rag;
\c pg_rag
CREATE EXTENSION pg_rag;
SELECT rag_ingest('Shared', 'Everyone may read this.');
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE rag_server LOGIN;
SELECT rag_grant_user_access('alice'), rag_grant_user_access('bob'), rag_grant_user_access('rag_server', sets_identity => true);
SET ROLE bob;
SELECT rag_ingest('Bob only', 'Bob''s private notes.');
RESET ROLE;
SQL
run "library loaded at start" alice "SELECT count(*) FROM pg_settings WHERE name = 'pg_rag.user_id'"
run "alice sets pg_rag.user_id before the library loads, then reads" alice \
  "SET pg_rag.user_id = 'bob'; SELECT rag_current_user(), string_agg(title, ', ' ORDER BY title) FROM rag_documents"
run "alice's placeholder is gone once loaded" alice \
  "SET pg_rag.user_id = 'bob'; SELECT rag_current_user(); SELECT quote_literal(current_setting('pg_rag.user_id'))"
run "alice's set_config, then a policy loads the library" alice \
  "SELECT set_config('pg_rag.user_id', 'bob', false) IS NOT NULL; SELECT string_agg(title, ', ' ORDER BY title) FROM rag_documents"
run "alice's admin flag before the library loads" alice \
  "SET pg_rag.user_admin = on; SELECT rag_is_admin()"
OPTS="-c pg_rag.user_id=bob" run "alice connects with PGOPTIONS=-c pg_rag.user_id=bob" alice \
  "SELECT rag_current_user(), string_agg(title, ', ' ORDER BY title) FROM rag_documents"
run "the granted server role, per transaction, before the library loads" rag_server \
  "BEGIN; SELECT set_config('pg_rag.user_id', 'bob', true) IS NOT NULL; SELECT rag_current_user(), string_agg(title, ', ' ORDER BY title) FROM rag_documents; COMMIT; SELECT rag_current_user()"
run "the granted server role, after the library loaded" rag_server \
  "SELECT rag_current_user(); BEGIN; SELECT set_config('pg_rag.user_id', 'bob', true) IS NOT NULL; SELECT rag_current_user(); COMMIT; SELECT rag_current_user()"
