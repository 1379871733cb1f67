#!/usr/bin/env bash
# A throwaway or project-local PostgreSQL + PostGIS cluster, loopback only, on a free port.
#   scripts/pgcluster.sh start DIR [PORT]   init (first time) and start; prints the database URL
#   scripts/pgcluster.sh stop DIR           stop it (no error when it is not running)
#   scripts/pgcluster.sh status DIR         exit 0 when it runs
#   scripts/pgcluster.sh url DIR            the database URL (of the last start), as the owner (superuser)
#   scripts/pgcluster.sh app-url DIR        the same database as the app's own login, gridgov_web (made by
#                                           `gridgov migrate`: neither superuser nor owner)
#   scripts/pgcluster.sh replica DIR PRIMARY_DIR [PORT]
#                                           a streaming replica (hot standby) of the running cluster in
#                                           PRIMARY_DIR: pg_basebackup -R (first time), then start; its URL
# Env: PGCLUSTER_FAST=1 trades durability for speed (fsync off), for test clusters only.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
# Only the URL goes to stdout; messages go to stderr.
set -euo pipefail

usage="usage: pgcluster.sh start|stop|status|url|app-url|replica DIR [PRIMARY_DIR] [PORT]"
cmd=${1:?$usage}
dir=${2:?$usage}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

die() { echo "pgcluster: $*" >&2; exit 1; }

pgbin() {
  local bin
  # The newest installed server (a client-only folder has psql but no initdb).
  bin=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 | xargs -r dirname || true)
  if [ -z "$bin" ] && command -v pg_config >/dev/null; then bin=$(pg_config --bindir); fi
  if [ -z "$bin" ] && command -v initdb >/dev/null; then bin=$(dirname "$(command -v initdb)"); fi
  [ -n "$bin" ] && [ -x "$bin/initdb" ] ||
    die "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); run: scripts/bootstrap.sh deps"
  echo "$bin"
}

as_owner() {
  if [ "$(id -u)" != 0 ]; then "$@"; return; fi
  if [ -z "${LD_PRELOAD:-}" ]; then runuser -u postgres -- "$@"; return; fi
  # Under libfaketime (the shifted test pass) runuser passes LD_PRELOAD and FAKETIME on: it resets only HOME,
  # SHELL, USER and LOGNAME. But FAKETIME_SHARED names a semaphore in /dev/shm that only root may open, and a
  # postgres process handed it exits when it cannot make its own ("sem_open failed ... Permission denied").
  # So runuser itself runs without the preload, and the command gets it back, with no FAKETIME_SHARED.
  env -u LD_PRELOAD -u FAKETIME_SHARED runuser -u postgres -- env LD_PRELOAD="$LD_PRELOAD" "$@"
}

check_owner() {
  [ "$(id -u)" = 0 ] || return 0
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (it comes with Debian's postgresql package)"
  chown postgres: "$dir"
  runuser -u postgres -- test -w "$dir" ||
    die "the postgres user cannot reach $dir (a parent folder is private, e.g. /root); move the checkout or set DATABASE_URL"
}

port_free() {
  python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pick_port() {
  # An explicit port wins; else keep the port of the last start so the URL stays the same.
  if [ -n "${1:-}" ]; then echo "$1"; return; fi
  if [ -f "$dir/port" ] && port_free "$(cat "$dir/port")"; then cat "$dir/port"; return; fi
  free_port
}

url() {
  [ -f "$dir/port" ] || die "no cluster has been started in $dir"
  echo "postgresql://${1:-gridgov}@127.0.0.1:$(cat "$dir/port")/gridgov"
}

running() {
  as_owner "$(pgbin)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start() {
  local bin port fast=""
  bin=$(pgbin)
  check_owner
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir/data" -U gridgov --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" ||
      die "initdb failed; see $dir/initdb.log"
  fi
  if running; then url; return; fi
  port=$(pick_port "${1:-}")
  echo "$port" >"$dir/port"
  [ -n "${PGCLUSTER_FAST:-}" ] && fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $fast" >/dev/null ||
    die "PostgreSQL did not start; see $dir/server.log"
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U gridgov -d postgres -qtA \
    -c "SELECT 1 FROM pg_database WHERE datname = 'gridgov'" | grep -q 1 ||
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U gridgov gridgov
  url
}

replica() {
  local bin primary=${1:?usage: pgcluster.sh replica DIR PRIMARY_DIR [PORT]} port
  bin=$(pgbin)
  primary=$(cd "$primary" && pwd)
  [ -f "$primary/port" ] || die "no cluster has been started in $primary"
  check_owner
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    # -R writes standby.signal and primary_conninfo: the copy starts as a hot standby that streams.
    as_owner "$bin/pg_basebackup" -D "$dir/data" -h 127.0.0.1 -p "$(cat "$primary/port")" -U gridgov \
      -X stream -R -c fast >"$dir/basebackup.log" 2>&1 || die "pg_basebackup failed; see $dir/basebackup.log"
  fi
  if running; then url; return; fi
  port=$(pick_port "${2:-}")
  echo "$port" >"$dir/port"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c hot_standby=on" >/dev/null ||
    die "the replica did not start; see $dir/server.log"
  url
}

stop() {
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_owner "$(pgbin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "$cmd" in
  start) shift 2; start "$@" ;;
  stop) stop ;;
  status) running ;;
  url) url ;;
  app-url) url gridgov_web ;;
  replica) shift 2; replica "$@" ;;
  *) echo "unknown command $cmd; $usage" >&2; exit 2 ;;
esac
