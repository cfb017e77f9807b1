#!/usr/bin/env bash
# make docker-test: the container deployment end to end, offline, with Docker.
#   Docker engine (installed from Debian and started when missing) -> local debian:bookworm base image
#   (docker/base-image.sh) -> both images (docker/Dockerfile) -> compose up (docker/compose.yaml) ->
#   healthy -> a PDF uploaded over HTTP with an API key -> a cited answer -> db container restarted ->
#   the answer again from the volume -> pg_dump, dropdb, pg_restore -> the answer again -> compose down -v.
# Exits non-zero on the first failure; every step's status is its command's own (no `compose run`).
# PGRAG_DOCKER_HTTP_PORT (default 8080) is the host port; PGRAG_DOCKER_KEEP=1 leaves the stack up.
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=pgrag_dockertest
HTTP_PORT="${PGRAG_DOCKER_HTTP_PORT:-8080}"
BASE_URL="http://127.0.0.1:$HTTP_PORT"
T0=$(date +%s)
step() { echo "docker-test: [$(($(date +%s) - T0))s] $*"; }
fail() {
  echo "docker-test: FAILED: $*" >&2
  exit 1
}

# --- the engine: Docker's daemon, started here when nothing runs it (no systemd on CI machines) ---
ensure_docker() {
  if ! command -v dockerd >/dev/null || ! { command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1; }; then
    [ "$(id -u)" -eq 0 ] || fail "Docker is not installed (as root this script installs docker.io and docker-compose)"
    step "installing docker.io and docker-compose from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io docker-compose iptables >/dev/null
  fi
  docker info >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || fail "no Docker daemon runs and only root can start one"
  step "starting dockerd (log: /var/log/pg_rag-dockerd.log)"
  setsid nohup dockerd >>/var/log/pg_rag-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  tail -20 /var/log/pg_rag-dockerd.log >&2
  fail "dockerd did not start"
}
ensure_docker
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi

# The stack under test: its own project (never a user's pg_rag project or volume), a fresh password,
# and the settings that matter pinned so a docker/.env cannot change what is tested.
export COMPOSE_FILE=docker/compose.yaml COMPOSE_PROJECT_NAME="$PROJECT"
PGRAG_DB_PASSWORD="test-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export PGRAG_DB_PASSWORD
export PGRAG_HTTP_BIND=127.0.0.1 PGRAG_HTTP_PORT="$HTTP_PORT" PGRAG_AUTH=required PGRAG_ALLOW_UNAUTHENTICATED=
export PGRAG_DATABASE_URL="host=db port=5432 dbname=pg_rag user=rag_server"
compose() { "${COMPOSE[@]}" "$@"; }

WORK="$(mktemp -d /tmp/pg_rag_docker_test.XXXXXX)"
DUMP="$WORK/pg_rag.dump"
cleanup() {
  local rc=$?
  rm -rf "$WORK"
  if [ "$rc" -ne 0 ]; then
    echo "docker-test: the containers' last log lines:" >&2
    compose logs --no-color --tail=40 >&2 2>/dev/null || true
  fi
  if [ "${PGRAG_DOCKER_KEEP:-}" = 1 ]; then
    echo "docker-test: left running (project $PROJECT); remove with: COMPOSE_FILE=docker/compose.yaml COMPOSE_PROJECT_NAME=$PROJECT ${COMPOSE[*]} down -v"
  else
    compose down -v --remove-orphans >/dev/null 2>&1 || { echo "docker-test: compose down -v failed" >&2; rc=1; }
  fi
  step "total $(($(date +%s) - T0)) s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT

# --- images ---
step "base image"
bash docker/base-image.sh
# Builds use the default bridge when it reaches Debian's mirror, else the host's network.
NETWORK=default
docker run --rm debian:bookworm timeout 10 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null || NETWORK=host
for target in db server; do
  step "building pg_rag-$target:local (network: $NETWORK)"
  t=$(date +%s)
  docker build --network "$NETWORK" -f docker/Dockerfile --target "$target" -t "pg_rag-$target:local" . \
    >"$WORK/build-$target.log" 2>&1 || {
    tail -40 "$WORK/build-$target.log" >&2
    fail "building pg_rag-$target:local"
  }
  step "pg_rag-$target:local built in $(($(date +%s) - t)) s"
done
# No secret in an image: their configured environment names no password or key.
for image in pg_rag-db:local pg_rag-server:local; do
  if docker image inspect -f '{{join .Config.Env "\n"}}' "$image" | grep -iE 'PASSWORD|API_KEY|SECRET'; then
    fail "$image has a secret-looking variable in its configuration"
  fi
done
[ "$(docker image inspect -f '{{.Config.User}}' pg_rag-server:local)" = pg_rag ] || fail "the server image does not run as pg_rag"

# --- the stack ---
compose down -v --remove-orphans >/dev/null 2>&1 || true
step "compose up"
compose up -d --no-build

# Running and healthy (the engine's own health checks), or the reason it is not.
wait_healthy() {
  local service="$1" id state
  id="$(compose ps -q "$service")"
  [ -n "$id" ] || fail "no container for $service"
  for _ in $(seq 1 120); do
    state="$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")"
    [ "$state" = "running healthy" ] && return 0
    case "$state" in exited* | dead*) fail "$service stopped ($state)" ;; esac
    sleep 1
  done
  fail "$service not healthy after 120 s ($state)"
}
wait_healthy db
wait_healthy server
step "db and server healthy"

# In the db: the extension in the default database, preloaded; the server's role is no superuser.
sql() { compose exec -T -u postgres db psql -X -qtA -v ON_ERROR_STOP=1 -d pg_rag -c "$1"; }
[ "$(sql "SELECT extname FROM pg_extension WHERE extname = 'pg_rag'")" = pg_rag ] || fail "extension not created"
[ "$(sql "SHOW shared_preload_libraries")" = pg_rag ] || fail "pg_rag not preloaded"
[ "$(sql "SELECT rolsuper FROM pg_roles WHERE rolname = 'rag_server'")" = f ] || fail "rag_server missing or a superuser"
[ "$(compose exec -T server id -u | tr -d '\r')" = 10001 ] || fail "the server does not run as uid 10001"

# --- over HTTP, as a browser or client would ---
# (Read whole before grep: `curl | grep -q` fails under pipefail when grep stops reading first.)
page="$(curl -sf "$BASE_URL/")" || fail "GET / failed"
grep -q '<script type="module" src="app.js"></script>' <<<"$page" || fail "no chat page at /"
code="$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/api/documents")"
[ "$code" = 401 ] || fail "an API call without a key got $code, not 401"
key="$(sql "SELECT rag_create_api_key('docker-test', 'docker-test', '{read,write,admin}')")"
[[ "$key" =~ ^prag_[0-9a-f]{12}_[0-9a-f]{64}$ ]] || fail "rag_create_api_key gave \"$key\""
auth=(-H "Authorization: Bearer $key")

upload="$(curl -sf "${auth[@]}" "$BASE_URL/api/documents" -F file=@tests/data/refund-policy.pdf -F title='Refund policy')" ||
  fail "uploading refund-policy.pdf"
doc_id="$(python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["chunks"] > 0, d; print(d["id"])' <<<"$upload")" ||
  fail "upload answered $upload"
step "uploaded refund-policy.pdf as document $doc_id"

# A cited answer from the extractive answerer (no provider, no network): it quotes the PDF and cites [n]
# for a source that is the uploaded document.
ask() {
  local body="$1" answer=""
  for _ in $(seq 1 30); do # a restarted database: 503 until the pool has a connection again
    answer="$(curl -s -w '\n%{http_code}' "${auth[@]}" "$BASE_URL/api/chat" -H 'Content-Type: application/json' -d "$body")"
    [ "${answer##*$'\n'}" != 503 ] && break
    sleep 1
  done
  [ "${answer##*$'\n'}" = 200 ] || fail "POST /api/chat $body: ${answer//$'\n'/ }"
  DOC_ID="$doc_id" python3 -c '
import json, os, re, sys
r = json.load(sys.stdin)
answer, sources = r["answer"], r["sources"]
assert "five business days" in answer, answer
cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
assert cited, "no citation in: " + answer
by_n = {s["n"]: s for s in sources}
assert all(by_n[n]["document_id"] == int(os.environ["DOC_ID"]) for n in cited), sources
print(answer)' <<<"${answer%$'\n'*}" || fail "the answer was not cited from document $doc_id: ${answer%$'\n'*}"
}
ask '{"question": "How long do refunds take?"}'
step "cited answer"

# --- the data outlives the database container ---
step "restarting db"
compose restart db >/dev/null
wait_healthy db
ask '{"question": "How long do refunds take?", "session_id": "after-restart"}'
total="$(curl -sf "${auth[@]}" "$BASE_URL/api/documents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
[ "$total" = 1 ] || fail "after the restart the knowledge base holds $total documents, not 1"
step "answered again after the restart (data kept in the volume)"

# --- pg_dump keeps the knowledge base: dump, drop the database, restore, the same key and answer ---
compose exec -T -u postgres db pg_dump -Fc pg_rag >"$DUMP"
[ -s "$DUMP" ] || fail "pg_dump wrote nothing"
compose stop server >/dev/null
compose exec -T -u postgres db sh -c 'dropdb pg_rag && createdb pg_rag && pg_restore -d pg_rag --exit-on-error' <"$DUMP" ||
  fail "restoring the dump"
compose start server >/dev/null
wait_healthy server
ask '{"question": "How long do refunds take?", "session_id": "after-restore"}'
step "answered again after pg_dump, dropdb and pg_restore"
echo "docker-test: passed"
