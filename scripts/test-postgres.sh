#!/usr/bin/env bash
# Starts a PostgreSQL cluster of the tests' own on a loopback
# port (Debian's postgresql, as user postgres) and prints its URL.
# Usage: scripts/test-postgres.sh DIR [PORT]   stop: scripts/test-postgres.sh DIR stop
set -euo pipefail
DIR=$1
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${2:-}" = stop ]; then
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  exit 0
fi
PORT=${2:-55439}
mkdir -p "$DIR"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
if [ ! -d "$DIR/data" ]; then
  as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U bot -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1
fi
# Already running (a developer's earlier run): use it.
if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
fi
echo "postgres://bot@127.0.0.1:$PORT/postgres?sslmode=disable"
