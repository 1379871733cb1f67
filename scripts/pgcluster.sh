#!/usr/bin/env bash
# A throwaway or project-local PostgreSQL + PostGIS cluster, loopback only, on a free port.
#   scripts/pgcluster.sh start DIR [PORT]   init (first time) and start; prints the database URL
#   scripts/pgcluster.sh stop DIR
#   scripts/pgcluster.sh url DIR
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
set -euo pipefail

cmd=${1:?usage: pgcluster.sh start|stop|url DIR [PORT]}
dir=${2:?usage: pgcluster.sh start|stop|url DIR [PORT]}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pgbin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
  echo "$bin"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
  echo "postgresql://gridgov@127.0.0.1:$(cat "$dir/port")/gridgov"
}

start() {
  local bin port
  bin=$(pgbin)
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir/data" -U gridgov --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  fi
  if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    url; return
  fi
  port=${1:-$(free_port)}
  echo "$port" >"$dir/port"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir ${PGCLUSTER_FAST:+-c fsync=off -c synchronous_commit=off -c full_page_writes=off}" >/dev/null
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U gridgov -d postgres -qtA \
    -c "SELECT 1 FROM pg_database WHERE datname = 'gridgov'" | grep -q 1 ||
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U gridgov gridgov
  url
}

stop() {
  local bin
  bin=$(pgbin)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "$cmd" in
  start) shift 2; start "$@" ;;
  stop) stop ;;
  url) url ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
