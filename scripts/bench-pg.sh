#!/usr/bin/env bash
# Benchmark anchor serve on PostgreSQL: a throwaway durable cluster on this machine
# (scripts/pg-cluster.sh), one replica and then two, then the cluster is removed.
# Usage: scripts/bench-pg.sh [extra anchor dev bench flags]
# BENCH_REPLICAS lists the runs' replica counts in order (default "1 2"; e.g. "1 2 2 1 1 2" for
# alternating pairs). The replicas share the machine's cores, so they share its connections as
# docs/scale-out.md advises: BENCH_POOL (default 4, the pool of one replica on 2 cores) divided
# among them, given to each as pool_max_conns.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-cluster.sh
sleep 1 # challenges issued in the second PostgreSQL started are refused (IssuedNotBefore)
run=0
for replicas in ${BENCH_REPLICAS:-1 2}; do
	run=$((run + 1))
	db="bench_${run}_r$replicas"
	pool=$(( ${BENCH_POOL:-4} / replicas )); [ "$pool" -ge 1 ] || pool=1
	$as "$bin/createdb" -h "$dir" -U anchor "$db"
	echo "pool_max_conns=$pool per replica"
	./bin/anchor dev bench --database-url "postgres:///$db?host=$dir&user=anchor&pool_max_conns=$pool" --replicas "$replicas" "$@"
done
