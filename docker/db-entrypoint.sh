#!/usr/bin/env bash
# The database image's entrypoint. On the first start (an empty $PGDATA) it creates the cluster with
# pg_rag preloaded, the database $POSTGRES_DB with the extension, and the role the HTTP server logs in
# as (rag_server, password $PGRAG_DB_PASSWORD, the README's grants: neither superuser nor owner, so
# row-level security applies to it); then it runs PostgreSQL in the foreground as postgres.
# Later starts reuse the volume as it is (settings, roles and passwords are not touched again).
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}" "${POSTGRES_DB:=pg_rag}"
SERVER_ROLE="${PGRAG_DB_USER:-rag_server}"

# Root only fixes the ownership of the data directory (a bind mount may be root's), then steps down.
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  [ "$(stat -c %U "$PGDATA")" = postgres ] || chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

# Any other command (bash, psql, pg_dump...) runs as given.
if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi

first_start() {
  if [ -z "${PGRAG_DB_PASSWORD:-}" ]; then
    echo "pg_rag-db: set PGRAG_DB_PASSWORD (the password of role $SERVER_ROLE) for the first start" >&2
    exit 1
  fi
  echo "pg_rag-db: first start: creating the cluster, database $POSTGRES_DB and role $SERVER_ROLE"
  # The socket: peer (only the container's postgres user is the superuser); TCP: passwords (SCRAM).
  initdb -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  cat >>"$PGDATA/postgresql.conf" <<'EOF'

# pg_rag container defaults (docker/db-entrypoint.sh): reachable from the compose network, pg_rag
# preloaded so its settings exist in every session.
listen_addresses = '*'
shared_preload_libraries = 'pg_rag'
EOF
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"

  # A setup server on the socket only: the TCP health check stays unhealthy until the setup is done.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -t 60 start >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" -v role="$SERVER_ROLE" -v password="$PGRAG_DB_PASSWORD" \
    -U postgres -d postgres >/dev/null <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') \gexec
\c :"db"
CREATE EXTENSION pg_rag;
CREATE ROLE :"role" LOGIN PASSWORD :'password';
-- The server's role: the README's grants ("Users and tenants over HTTP").
SELECT rag_grant_user_access(:'role', sets_identity => true);
GRANT EXECUTE ON FUNCTION rag_chat_provider_credentials(), rag_verify_api_key(text), rag_record_usage(jsonb),
      rag_usage_summary(timestamptz, timestamptz, text) TO :"role";
GRANT EXECUTE ON FUNCTION rag_create_api_key(text, text, text[], timestamptz, text), rag_revoke_api_key(bigint),
      rag_api_keys() TO :"role";
GRANT EXECUTE ON FUNCTION rag_enqueue_question(text, text, integer, text, jsonb), rag_question(uuid),
      rag_claim_question(text, interval, integer), rag_extend_question_lease(uuid, text, interval),
      rag_finish_question(uuid, text, jsonb), rag_fail_question(uuid, text, jsonb, integer, interval),
      rag_release_question(uuid, text), rag_prune_questions(interval), rag_question_counts(),
      rag_prune_all_sessions(interval) TO :"role";
SQL
  # Site-specific setup, as in other Postgres images: *.sql run in $POSTGRES_DB, *.sh are sourced.
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "pg_rag-db: running $f"; psql -X -q -v ON_ERROR_STOP=1 -U postgres -d "$POSTGRES_DB" -f "$f" ;;
      *.sh)
        echo "pg_rag-db: running $f"
        # shellcheck source=/dev/null
        . "$f"
        ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "pg_rag-db: set up"
}

[ -s "$PGDATA/PG_VERSION" ] || first_start
exec "$@"
