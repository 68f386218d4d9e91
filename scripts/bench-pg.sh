#!/usr/bin/env bash
# Benchmark anchor serve on PostgreSQL: a throwaway cluster on this machine (a unix socket in a
# temporary directory; durable settings: fsync and synchronous_commit on, as in production),
# one replica and then two, then the cluster is removed. Needs Debian's postgresql package.
# Usage: scripts/bench-pg.sh [extra anchor dev bench flags]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "bench-pg: no PostgreSQL server binaries; install the Debian package postgresql" >&2; exit 1; }
dir=$(mktemp -d /tmp/anchor-bench-pg-XXXXXX)
as=""
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as="runuser -u postgres --"; fi
cleanup() { $as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
$as "$bin/initdb" -D "$dir/data" -U anchor -A trust -E UTF8 >/dev/null
$as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-k $dir -c listen_addresses='' -c max_connections=300 -c shared_buffers=256MB" -w start >/dev/null
sleep 1 # challenges issued in the second PostgreSQL started are refused (IssuedNotBefore)
for replicas in ${BENCH_REPLICAS:-1 2}; do
	db="bench_r$replicas"
	$as "$bin/createdb" -h "$dir" -U anchor "$db"
	./bin/anchor dev bench --database-url "postgres:///$db?host=$dir&user=anchor" --replicas "$replicas" "$@"
done
