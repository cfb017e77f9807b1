#!/usr/bin/env bash
# Starts or stops a private PostgreSQL 15 cluster in a given data directory on a given port.
# PostgreSQL refuses to run as root: when called as root, the server runs as the unprivileged
# 'postgres' user (created by Debian's postgresql-common) and the data directory is given to it.
#   pg-cluster.sh start DATADIR PORT     (idempotent; initdb on first use; TCP on 127.0.0.1 only)
#   pg-cluster.sh stop DATADIR
# pg_rag is preloaded, so its settings exist in every session (a typo in a pg_rag.* name is an error).
set -euo pipefail

PGBIN="$(pg_config --bindir)"
[ -x "$PGBIN/initdb" ] || PGBIN=/usr/lib/postgresql/15/bin

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd="${1:?usage: pg-cluster.sh start|stop DATADIR [PORT]}"
datadir="${2:?data directory required}"

case "$cmd" in
  start)
    port="${3:?port required}"
    mkdir -p "$datadir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$datadir" && chmod 700 "$datadir"
    if [ ! -f "$datadir/PG_VERSION" ]; then
      as_server_user "$PGBIN/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if as_server_user "$PGBIN/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then exit 0; fi
    as_server_user "$PGBIN/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp -c shared_preload_libraries=pg_rag ${PGRAG_PG_OPTS:-}" start >/dev/null
    ;;
  stop)
    if as_server_user "$PGBIN/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
      as_server_user "$PGBIN/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null
    fi
    ;;
  *) echo "usage: pg-cluster.sh start|stop DATADIR [PORT]" >&2; exit 2 ;;
esac
