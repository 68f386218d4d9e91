#!/usr/bin/env bash
# PostgreSQL's own ceiling on this machine, without anchor: pgbench (PostgreSQL's C client, which
# does nothing else) sends the statements of a SEP-12 PUT /customer exactly as anchor's store
# does (internal/store/postgres: kycTx.CustomerID, PutCustomer, AppendEvent, emit, MarkChanged),
# in anchor's two round trips (BEGIN with the customer's read; the writes with the COMMIT), on
# anchor's schema and on the same throwaway durable cluster as scripts/bench-pg.sh. What anchor
# reaches on PostgreSQL is bounded by this less the CPU anchor and the load generator take on the
# same cores. Also: the latency of one SEP-10 replay mark (synchronous_commit off, as anchor's),
# which a round at 1 client waits for.
# Usage: scripts/pg-ceiling.sh [connections (16: anchor's pool on <= 4 CPUs)] [seconds (10)]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-16}
secs=${2:-10}
case $conns$secs in *[!0-9]*) echo "pg-ceiling: connections and seconds are whole numbers (got $conns, $secs)" >&2; exit 2 ;; esac
. scripts/pg-cluster.sh
$as "$bin/createdb" -h "$dir" -U anchor ceiling
cat internal/store/postgres/migrations/*.sql | $as "$bin/psql" -h "$dir" -U anchor -d ceiling -q -v ON_ERROR_STOP=1 >/dev/null

# One customer per connection (:client_id), updated again and again, as anchor dev bench's
# kyc-put mode does; keys and bodies are the bench's. (pgbench reads :name as a variable even
# inside quotes, so no literal has a letter after a colon: the JSON has a space there.)
id=8e29851d-29ed-4058-80fd-
account=GB753TOECN2B2JJGIAKMCDSMUCXGJF7VCF525Q5VQAHRJTFUWKXMDS
customer_id=${id}070e57a32f6c
account_id=${account}75
customer="{\"v\":1,\"id\":\"$customer_id\",\"account\":\"$account_id\",\"type\":\"sep6-deposit\",\"values\":{\"address\":\"1 Main Street\",\"address_country_code\":\"USA\",\"birth_date\":\"1990-01-02\",\"city\":\"Springfield\",\"email_address\":\"jane376@example.com\",\"first_name\":\"Jane\",\"last_name\":\"Doe\",\"mobile_number\":\"+14155552671\",\"occupation\":\"2511\",\"postal_code\":\"12345\"},\"files\":{},\"fields\":{\"address\":{\"status\":\"PROCESSING\"},\"address_country_code\":{\"status\":\"PROCESSING\"},\"birth_date\":{\"status\":\"PROCESSING\"},\"city\":{\"status\":\"PROCESSING\"},\"email_address\":{\"status\":\"PROCESSING\"},\"first_name\":{\"status\":\"PROCESSING\"},\"last_name\":{\"status\":\"PROCESSING\"},\"mobile_number\":{\"status\":\"PROCESSING\"},\"occupation\":{\"status\":\"PROCESSING\"},\"postal_code\":{\"status\":\"PROCESSING\"}},\"file_bytes\":0,\"created_at\":\"2026-12-02T00:49:25.203795158Z\",\"updated_at\":\"2026-12-02T00:49:26.162631627Z\"}"
event="{\"v\":1,\"seq\":0,\"customer_id\":\"$customer_id\",\"at\":\"2026-12-02T00:49:26.162631627Z\",\"by\":\"$account_id\",\"action\":\"submit\",\"field\":\"email_address\"}"
business="{\"v\":1,\"id\":0,\"type\":\"customer.submitted\",\"subject\":\"customer:$customer_id\",\"seq\":0,\"at\":\"2026-12-02T00:49:26.162938299Z\",\"status\":\"PROCESSING\",\"data\":{\"id\":\"$customer_id\",\"account\":\"$account_id\",\"memo\":\"\",\"type\":\"sep6-deposit\",\"status\":\"PROCESSING\",\"previously_rejected\": false,\"updated_at\":\"2026-12-02T00:49:26Z\"}}"
cat > "$dir/put.sql" <<SQL
\startpipeline
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT k.id, c.body FROM kyc_customer_keys k LEFT JOIN kyc_customers c ON c.id = k.id WHERE k.account = '$account' || lpad(:client_id::text, 4, '0') AND k.memo = '';
\endpipeline
\startpipeline
INSERT INTO kyc_customers (id, body) VALUES ('$id' || lpad(:client_id::text, 12, '0'), '$customer') ON CONFLICT (id) DO UPDATE SET body = excluded.body;
INSERT INTO kyc_customer_order (id, updated_ns, in_review) VALUES ('$id' || lpad(:client_id::text, 12, '0'), (extract(epoch FROM clock_timestamp()) * 1e9)::bigint, false) ON CONFLICT (id) DO UPDATE SET updated_ns = excluded.updated_ns, in_review = excluded.in_review WHERE (kyc_customer_order.updated_ns, kyc_customer_order.in_review) IS DISTINCT FROM (excluded.updated_ns, excluded.in_review);
INSERT INTO kyc_customer_keys (account, memo, id) VALUES ('$account' || lpad(:client_id::text, 4, '0'), '', '$id' || lpad(:client_id::text, 12, '0')) ON CONFLICT (account, memo) DO UPDATE SET id = excluded.id WHERE kyc_customer_keys.id <> excluded.id;
INSERT INTO kyc_events (customer_id, body) VALUES ('$id' || lpad(:client_id::text, 12, '0'), '$event');
WITH s AS (INSERT INTO event_subjects (subject, seq) VALUES ('customer:$id' || lpad(:client_id::text, 12, '0'), 1) ON CONFLICT (subject) DO UPDATE SET seq = event_subjects.seq + 1 RETURNING seq) INSERT INTO events (subject, seq, at_ns, body) SELECT 'customer:$id' || lpad(:client_id::text, 12, '0'), s.seq, (extract(epoch FROM clock_timestamp()) * 1e9)::bigint, '$business' FROM s;
INSERT INTO kyc_changed (account, memo, mark) VALUES ('$account' || lpad(:client_id::text, 4, '0'), '', int8send((extract(epoch FROM clock_timestamp()) * 1e9)::bigint)) ON CONFLICT (account, memo) DO UPDATE SET mark = excluded.mark;
COMMIT;
\endpipeline
SQL
cat > "$dir/mark.sql" <<'SQL'
INSERT INTO used_challenges (hash, expires) SELECT * FROM unnest(ARRAY[sha256(random()::text::bytea)], ARRAY[now() + interval '5 minutes']) ON CONFLICT (hash) DO NOTHING RETURNING hash;
SQL
chmod 644 "$dir"/*.sql
pgbench() { $as env PGOPTIONS="${PGOPTIONS:-}" "$bin/pgbench" -h "$dir" -U anchor -n -M prepared -T "$secs" "$@" ceiling; }
# ticks is the CPU time, in clock ticks, of the cluster's processes: the live ones and, through
# the postmaster, the backends that have ended.
ticks() {
	local pm t=0 f
	pm=$(head -1 "$dir/data/postmaster.pid")
	for p in $(pgrep -P "$pm") "$pm"; do
		read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
		t=$((t + f[13] + f[14]))
		[ "$p" = "$pm" ] && t=$((t + f[15] + f[16]))
	done
	echo "$t"
}
# run runs pgbench and prints its rate, latency, retries and PostgreSQL's CPU per transaction on
# one line, or its first error.
run() {
	local t0 out
	t0=$(ticks)
	out=$(pgbench "$@" 2>&1) || true
	sleep 1 # the backends end, and the postmaster collects their times
	echo "$out" | awk -v ticks=$(($(ticks) - t0)) -v hz="$(getconf CLK_TCK)" '
		/^number of transactions actually processed/ {n=$6} /^tps/ {tps=$3} /^latency average/ {lat=$4}
		/^number of transactions retried/ {retried=$5} /error/ && err == "" {err=$0}
		END {
			if (tps == "" || err != "") {print "failed: " err; exit 1}
			printf "%.0f/s, latency %s ms, %d retried (serialization), PostgreSQL CPU %.0f µs per transaction\n", tps, lat, retried, ticks * 1e6 / hz / n
		}'
}
# measure prints a run's line under its label, and exits non-zero when pgbench failed.
measure() {
	local label=$1 line
	shift
	if ! line=$(run "$@"); then
		echo "pg-ceiling: $label: $line" >&2
		exit 1
	fi
	echo "$label (pgbench, no anchor): $line"
}
measure "PUT /customer's statements, $conns connections" -c "$conns" -j 2 --max-tries 10 -f "$dir/put.sql"
PGOPTIONS='-c synchronous_commit=off' measure "SEP-10 mark, 1 connection" -c 1 -f "$dir/mark.sql"
