#!/usr/bin/env bash
# Benchmark anchor serve on PostgreSQL: a throwaway durable cluster on this machine
# (scripts/pg-cluster.sh), one replica and then two, then the cluster is removed.
# Usage: scripts/bench-pg.sh [extra anchor dev bench flags]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-cluster.sh
sleep 1 # challenges issued in the second PostgreSQL started are refused (IssuedNotBefore)
for replicas in ${BENCH_REPLICAS:-1 2}; do
	db="bench_r$replicas"
	$as "$bin/createdb" -h "$dir" -U anchor "$db"
	./bin/anchor dev bench --database-url "postgres:///$db?host=$dir&user=anchor" --replicas "$replicas" "$@"
done
