#!/usr/bin/env bash
# One path from a fresh Debian/Ubuntu machine to a running app or a test run.
# The Makefile, the README and .ci/run all go through here.
#
#   scripts/bootstrap.sh deps [demo|test|shifted]
#                                          apt packages: PostgreSQL + PostGIS (demo); + gdal-bin, chromium, CJK fonts
#                                          (test); + faketime and a C compiler (shifted)
#   scripts/bootstrap.sh venv              .venv with `pip install -e '.[test]'` (redone when pyproject.toml changes)
#   scripts/bootstrap.sh db                the database URL: $DATABASE_URL if set, else the local cluster in .pgdata/
#                                          (its owner; the app logs in as gridgov_web, made by `gridgov migrate`)
#   scripts/bootstrap.sh demo              db + migrate + load the demo county if empty + serve
#   scripts/bootstrap.sh serve             db + serve (no migration, no loading)
#   scripts/bootstrap.sh test [ARGS...]    pytest ARGS (exit 5, "no tests collected", is a failure)
#   scripts/bootstrap.sh test-shifted [ARGS...]
#                                          the same, with the clock of pytest and of its PostgreSQL moved to
#                                          GRID_TEST_SHIFT (default 2028-02-29T23:30:00+08:00) and running on
#   scripts/bootstrap.sh db-stop           stop the local cluster
#   scripts/bootstrap.sh clean [--all]     stop the cluster, delete .pgdata/ and caches (--all: .venv too)
#
# Env: DATABASE_URL (use that server, start nothing), GRID_API_HOST / GRID_API_PORT (default 127.0.0.1:8000),
#      PYTHON (interpreter for the venv), GRID_PGDATA (local cluster folder, default .pgdata),
#      GRID_TEST_SHIFT (test-shifted: any date and time GNU date reads; give the zone).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PGDATA_DIR=${GRID_PGDATA:-"$ROOT/.pgdata"}
export DEBIAN_FRONTEND=noninteractive
cd "$ROOT"

say() { echo "==> $*" >&2; }
die() { echo "bootstrap: $*" >&2; exit 1; }

# ---------------------------------------------------------------- system packages
SUDO=()
APT_UPDATED=""

use_sudo() {
  if [ "$(id -u)" = 0 ]; then SUDO=(); return; fi
  command -v sudo >/dev/null || die "not root and no sudo: install as root: apt-get install $*"
  SUDO=(sudo)
}

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

apt_install() {
  local missing=() pkg
  for pkg in "$@"; do installed "$pkg" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  use_sudo "${missing[@]}"
  if [ -z "$APT_UPDATED" ]; then
    say "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    APT_UPDATED=1
  fi
  say "apt-get install ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

pg_version() {
  # Major version of the newest installed server, the one scripts/pgcluster.sh will run (client-only: none).
  ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 | awk -F/ '{print $(NF-2)}'
}

deps_postgis() {
  local v
  v=$(pg_version)
  if [ -z "$v" ]; then
    apt_install postgresql
    v=$(pg_version)
    [ -n "$v" ] || die "installed postgresql but found no server under /usr/lib/postgresql/*/bin"
  fi
  apt_install "postgresql-$v-postgis-3"
}

deps() {
  local what=${1:-demo}
  if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    say "no apt here: install PostgreSQL with PostGIS 3 yourself (for tests also GDAL's ogrinfo, Chromium, Noto CJK fonts)"
    return 0
  fi
  # The app itself draws report maps and PDFs (WeasyPrint needs Pango) in Chinese (Noto CJK).
  local runtime="libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"
  case "$what" in
    demo)
      if [ -n "$(external_url)" ]; then say "DATABASE_URL is set: not installing a PostgreSQL server"; else deps_postgis; fi
      apt_install $runtime ;;
    test)
      [ -n "${GRID_TEST_DATABASE_URL:-}" ] || deps_postgis
      apt_install $runtime gdal-bin chromium ;;
    shifted)
      deps test
      apt_install faketime gcc libc6-dev ;;
    *) die "deps: unknown set '$what' (demo, test or shifted)" ;;
  esac
}

# ---------------------------------------------------------------- Python
find_python() {
  local py
  for py in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    command -v "$py" >/dev/null || continue
    if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo "$py"; return; fi
  done
  die "gridgov needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)"
}

venv() {
  local stamp="$VENV/.gridgov-installed" want
  want=$(cksum <pyproject.toml)
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating .venv"
    "$(find_python)" -m venv "$VENV" ||
      die "could not create .venv; on Debian/Ubuntu: apt-get install python3-venv"
  fi
  if [ -x "$VENV/bin/gridgov" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  say "pip install -e '.[test]' (a few minutes the first time)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]' </dev/null
  echo "$want" >"$stamp"
}

# ---------------------------------------------------------------- database
external_url() {
  # DATABASE_URL (or GRID_DB_URL) from the environment, else from .env; empty when neither says.
  local value=${DATABASE_URL:-${GRID_DB_URL:-}}
  if [ -z "$value" ] && [ -f .env ]; then
    value=$(sed -n -E 's/^[[:space:]]*(export[[:space:]]+)?(DATABASE_URL|GRID_DB_URL)[[:space:]]*=[[:space:]]*//p' .env |
      tail -n 1 | sed -E "s/^[\"']//; s/[\"'][[:space:]]*$//")
  fi
  echo "$value"
}

db_url() {
  local url
  url=$(external_url)
  if [ -n "$url" ]; then say "using DATABASE_URL (from the environment or .env): starting no local cluster"; echo "$url"; return; fi
  pgdata_reachable
  say "starting the local PostgreSQL cluster in ${PGDATA_DIR#"$ROOT/"}/ (loopback only)"
  bash scripts/pgcluster.sh start "$PGDATA_DIR"
}

pgdata_reachable() {
  # As root the server runs as `postgres`, which cannot enter a checkout under a private folder such as /root.
  [ "$(id -u)" = 0 ] && [ -z "${GRID_PGDATA:-}" ] && id postgres >/dev/null 2>&1 || return 0
  runuser -u postgres -- test -x "$ROOT" && return 0
  PGDATA_DIR="/var/lib/gridgov/pgdata-$(echo "$ROOT" | cksum | cut -d' ' -f1)"
  say "the postgres user cannot enter $ROOT; keeping the cluster in $PGDATA_DIR instead"
  mkdir -p "$PGDATA_DIR"
}

with_db() {
  # The local cluster: migrations, loaders and jobs run as its owner (GRID_DB_OWNER_URL), the app as its own
  # login (DATABASE_URL), which row-level security binds. An external DATABASE_URL is the app's login; its
  # owner comes from GRID_DB_OWNER_URL (environment or .env).
  if [ -n "$(external_url)" ]; then
    DATABASE_URL=$(db_url)
  else
    GRID_DB_OWNER_URL=$(db_url)
    DATABASE_URL=$(bash scripts/pgcluster.sh app-url "$PGDATA_DIR")
    export GRID_DB_OWNER_URL
  fi
  export DATABASE_URL
  say "database: $DATABASE_URL${GRID_DB_OWNER_URL:+ (owner: $GRID_DB_OWNER_URL)}"
}

serve() {
  local host=${GRID_API_HOST:-127.0.0.1} port=${GRID_API_PORT:-8000}
  "$VENV/bin/python" -c 'import socket, sys; socket.create_server((sys.argv[1], int(sys.argv[2]))).close()' \
    "$host" "$port" 2>/dev/null ||
    die "port $port on $host is taken (another gridgov?); stop it or choose one: make demo GRID_API_PORT=8001"
  say "serving on http://$host:$port (Ctrl-C stops the app; 'make db-stop' stops the database)"
  exec "$VENV/bin/gridgov" serve --host "$host" --port "$port"
}

demo() {
  with_db
  "$VENV/bin/gridgov" migrate
  say "loading the demo county (永登县) unless the database already has grids"
  "$VENV/bin/gridgov" demo --if-empty
  serve
}

# ---------------------------------------------------------------- tests and cleanup
run_tests() {
  local rc=0
  "$VENV/bin/python" -m pytest "$@" </dev/null || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "bootstrap: pytest collected no tests: that is a failure" >&2
    return 1
  fi
  return "$rc"
}

# ---------------------------------------------------------------- the time-shifted test pass
# The suite again under libfaketime, so that code which works only on some days fails here. Every process
# started by pytest, PostgreSQL included (scripts/pgcluster.sh), gets LD_PRELOAD and one relative
# FAKETIME="+Ns": each computes real time + N, so all agree and the clock runs on. (FAKETIME="@date" would
# restart the clock in every new process.) pip and apt never run under it: only pytest does.
SHIFT_DEFAULT="2028-02-29T23:30:00+08:00" # a leap day, half an hour before midnight in the county (15:30 UTC)

faketime_lib() {
  local lib
  lib=$(dpkg -L libfaketime 2>/dev/null | grep -m 1 '/libfaketime\.so\.1$' || true) # the folder names the arch
  [ -n "$lib" ] && [ -f "$lib" ] || die "libfaketime not found: scripts/bootstrap.sh deps shifted (apt-get install faketime)"
  echo "$lib"
}

run_shifted() {
  local to=${GRID_TEST_SHIFT:-$SHIFT_DEFAULT} target lib build offset
  [ -z "${GRID_TEST_DATABASE_URL:-}" ] ||
    die "the shifted pass moves the clock of its own throwaway PostgreSQL and cannot move another server's: unset GRID_TEST_DATABASE_URL"
  target=$(date -d "$to" +%s 2>/dev/null) || die "GRID_TEST_SHIFT='$to' is not a date and time (e.g. $SHIFT_DEFAULT)"
  lib=$(faketime_lib)
  # libfaketime 0.9.10 leaves the deadline of sem_clockwait (CPython's timed Lock.acquire) on the shifted clock:
  # this small library moves it back (see the C file). The postgres user loads it too, hence a 755 folder.
  build=$(mktemp -d)
  trap "rm -rf -- '$build'" EXIT
  chmod 755 "$build"
  "${CC:-cc}" -shared -fPIC -O2 -o "$build/faketime_clockwait.so" scripts/faketime_clockwait.c -ldl ||
    die "could not build scripts/faketime_clockwait.c (needs gcc and libc6-dev: scripts/bootstrap.sh deps shifted)"
  offset=$((target - $(date +%s)))
  say "shifted pass: pytest and PostgreSQL start at $to ($(date -u -d "@$target" '+%F %T') UTC), ${offset}s from now"
  (
    unset FAKETIME_SHARED FAKETIME_DONT_FAKE_MONOTONIC DONT_FAKE_MONOTONIC # the monotonic clock is shifted too
    LD_PRELOAD="$lib $build/faketime_clockwait.so${LD_PRELOAD:+ $LD_PRELOAD}"
    FAKETIME=$(printf '%+ds' "$offset")
    GRID_TEST_SHIFTED_TO=$(date -u -d "@$target" +%Y-%m-%dT%H:%M:%S+00:00) # tests/ops/test_clock_canary.py
    export LD_PRELOAD FAKETIME GRID_TEST_SHIFTED_TO
    run_tests "$@"
  )
}

clean() {
  pgdata_reachable
  bash scripts/pgcluster.sh stop "$PGDATA_DIR"
  rm -rf "$PGDATA_DIR" .pytest_cache .ruff_cache .mypy_cache build dist tests/artifacts
  find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
  if [ "${1:-}" = "--all" ]; then rm -rf "$VENV" ./*.egg-info; fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  deps) deps "$@" ;;
  venv) venv ;;
  db) db_url ;;
  demo) demo ;;
  serve) with_db; serve ;;
  test) run_tests "$@" ;;
  test-shifted) run_shifted "$@" ;;
  db-stop) pgdata_reachable; bash scripts/pgcluster.sh stop "$PGDATA_DIR"; say "local cluster stopped" ;;
  clean) clean "$@" ;;
  *) sed -n '2,21p' "$0" >&2; exit 2 ;;
esac
