# Sourced by the PostgreSQL bench scripts: starts a throwaway cluster on this machine (a unix
# socket in a temporary directory, no TCP; durable settings: fsync and synchronous_commit on, as
# in production) and removes it on exit. Sets bin (the server binaries), dir (the socket's
# directory) and as (the command prefix that runs PostgreSQL's tools as its owner).
# Needs Debian's postgresql package.
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "$(basename "$0"): no PostgreSQL server binaries; install the Debian package postgresql" >&2; exit 1; }
dir=$(mktemp -d /tmp/anchor-bench-pg-XXXXXX)
as=""
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; chmod 755 "$dir"; as="runuser -u postgres --"; fi
cleanup() { $as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
$as "$bin/initdb" -D "$dir/data" -U anchor -A trust -E UTF8 >/dev/null
$as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-k $dir -c listen_addresses='' -c max_connections=300 -c shared_buffers=256MB" -w start >/dev/null
