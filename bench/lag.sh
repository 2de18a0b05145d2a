#!/usr/bin/env bash
#
# segroll worker lag under a sustained insert load (issue 4).
#
#   bash bench/lag.sh            (as root or as the postgres user)
#
# Environment (defaults in brackets):
#   RATE       target rows per second [20000]
#   SECONDS_   duration of the load in seconds [60]
#   NAPTIME    segroll.naptime [1s]
#   PORT       port of the throw-away cluster [5510]
#   PGBIN      bin directory of the PostgreSQL 15 to run [/usr/lib/postgresql/15/bin]
#   EXTRA_CONF a line added to postgresql.conf (for profiling) []
#   BURST_SECONDS    when > 0, a burst after the steady run [0]
#   RECOVER_SECONDS  how long the load runs at RATE after the burst [120]
#   BURST_CLIENTS    pgbench clients of the burst [8]
#
# Starts its own throw-away cluster with shared_preload_libraries = 'segroll',
# a source of back-office transactions with an item -> brand reference table,
# and a continuous segmentation (organisation, channel, brand, day, with
# lineage).  pgbench inserts RATE rows/s (10 rows per transaction, -c 2)
# while segroll.status.lag_seconds is sampled every 250 ms; then it reports
# lag p50/p99/max, the achieved rate, and the CPU time of the segroll worker
# as a share of the CPU time of the backends serving the load (from
# /proc/PID/stat).  Results: bench/out/lag_results.md.
#
# With BURST_SECONDS, a burst follows the steady run (issue 13): pgbench
# with no -R and BURST_CLIENTS clients (the same script; two clients wait
# on their own commits and stay below RATE on a slow disk, eight share
# them), so the highest rate the machine sustains with the worker running
# beside them, for BURST_SECONDS; then RATE again (-c 2) for
# RECOVER_SECONDS.  lag_seconds is sampled every
# 250 ms throughout; the report gives the burst's rate, the peak lag, the
# time from the end of the burst until lag_seconds is first under 2 s and
# until it stays under 2 s (the first sample after which none reaches 2 s),
# and how many samples after the burst reached 2 s.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
RATE=${RATE:-20000}
DURATION=${SECONDS_:-60}
NAPTIME=${NAPTIME:-1s}
PORT=${PORT:-5510}
bin=${PGBIN:-/usr/lib/postgresql/15/bin}
dir=$(mktemp -d /tmp/segroll-lag.XXXXXX)
chmod 755 "$dir"
asuser() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
cleanup() { asuser "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; cp "$dir/log" "$out/lag_server.log" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

asuser "$bin/initdb" -D "$dir/data" -A trust >/dev/null
cat >> "$dir/data/postgresql.conf" <<EOF
shared_preload_libraries = 'segroll'
segroll.naptime = '$NAPTIME'
shared_buffers = '1GB'
listen_addresses = ''
unix_socket_directories = '$dir'
port = $PORT
${EXTRA_CONF:-}
EOF
asuser "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
PSQL="$bin/psql -X -q -h $dir -p $PORT -U postgres -d postgres -v ON_ERROR_STOP=1"

$PSQL <<'EOF'
CREATE EXTENSION segroll;
CREATE TABLE item (item_id int PRIMARY KEY, brand_id int NOT NULL);
INSERT INTO item SELECT i, 1 + (i * 211) % 500 FROM generate_series(1, 20000) i;
CREATE TABLE sales_txn (
	txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int NOT NULL,
	channel_id int NOT NULL, item_id int NOT NULL, customer_id int NOT NULL,
	amount numeric(12,2) NOT NULL, qty int NOT NULL);
CREATE SEQUENCE txn_key;
SELECT segroll.create_segmentation('sales', 'sales_txn', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	'{org_id, channel_id, brand_id=public.item.brand_id ON item_id}', '{amount, qty}',
	schedule => 'continuous');
EOF

cat > "$dir/insert.sql" <<'EOF'
INSERT INTO sales_txn (txn_id, sold_at, org_id, channel_id, item_id, customer_id, amount, qty)
SELECT nextval('txn_key'), now(), 1 + floor(50 * random() ^ 1.6)::int, 1 + floor(8 * random() ^ 3)::int,
       1 + floor(20000 * random() ^ 3)::int, 1 + floor(1000000 * random() ^ 2)::int,
       round((random() * 200)::numeric, 2), 1 + floor(6 * random() ^ 4)::int
FROM generate_series(1, 10);
EOF

cpu_of() {	# summed utime+stime (clock ticks) of the given pids
	local t=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}

# a database that had no continuous segmentation gets its worker within
# segroll.probe_interval; measure the steady state, not that start
for _ in $(seq 1 60); do
	[ "$($PSQL -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'segroll worker'")" -gt 0 ] && break
	sleep 0.5
done

tps=$((RATE / 10))
asuser "$bin/pgbench" -n -h "$dir" -p "$PORT" -U postgres -c 2 -j 2 -R "$tps" -T "$DURATION" \
	-f "$dir/insert.sql" postgres > "$dir/pgbench.out" 2>&1 &
pgb=$!
sleep 2
load_pids=$($PSQL -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'")
worker_pids=$($PSQL -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'segroll worker'")
load0=$(cpu_of $load_pids); work0=$(cpu_of $worker_pids)
load1=$load0; work1=$work0
: > "$dir/lag.txt"
while kill -0 "$pgb" 2>/dev/null; do
	$PSQL -At -c "SELECT lag_seconds FROM segroll.status WHERE name = 'sales'" >> "$dir/lag.txt" || true
	# the last reading taken while the load's backends still exist
	l=$(cpu_of $load_pids); w=$(cpu_of $worker_pids)
	if [ "$l" -ge "$load1" ]; then load1=$l; work1=$w; fi
	sleep 0.25
done
wait "$pgb" || true

rows=$($PSQL -At -c "SELECT count(*) FROM sales_txn")
burst_report=
if [ "${BURST_SECONDS:-0}" -gt 0 ]; then
	RECOVER=${RECOVER_SECONDS:-120}
	$PSQL -At -c "SELECT pg_sleep(3)" >/dev/null
	lastkey() { $PSQL -At -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM txn_key"; }
	now_s() { date +%s.%N; }
	sample() {	# appends "phase seconds-since-start lag" until pid $2 ends
		while kill -0 "$2" 2>/dev/null; do
			echo "$1 $(awk -v a="$(now_s)" -v b="$3" 'BEGIN { printf "%.2f", a - b }') $($PSQL -At -c "SELECT lag_seconds FROM segroll.status WHERE name = 'sales'" || echo NaN)" >> "$dir/burst_lag.txt"
			sleep 0.25
		done
	}
	: > "$dir/burst_lag.txt"
	k0=$(lastkey); b0=$(now_s)
	asuser "$bin/pgbench" -n -h "$dir" -p "$PORT" -U postgres -c "${BURST_CLIENTS:-8}" -j 2 -T "$BURST_SECONDS" \
		-f "$dir/insert.sql" postgres > "$dir/burst.out" 2>&1 &
	sample burst $! "$b0"
	wait $! || true
	k1=$(lastkey); b1=$(now_s)
	asuser "$bin/pgbench" -n -h "$dir" -p "$PORT" -U postgres -c 2 -j 2 -R "$tps" -T "$RECOVER" \
		-f "$dir/insert.sql" postgres > "$dir/recover.out" 2>&1 &
	sample recover $! "$b1"
	wait $! || true
	cp "$dir/burst_lag.txt" "$out/lag_burst_samples.txt"
	burst_rate=$(awk -v a="$k0" -v b="$k1" -v s="$b0" -v e="$b1" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
	burst_report=$(awk -v rec="$RECOVER" '
		$3 == "NaN" { next }
		{ if ($3 > peak) { peak = $3; peak_at = $1 " +" $2 " s" } }
		$1 == "recover" { n++; t[n] = $2; if ($3 >= 2) { lastover = n; over++ } else if (first == "") first = $2 }
		END {
			printf "peak lag %.2f s (%s); ", peak, peak_at
			if (n == 0) { print "no sample after the burst"; exit }
			if (first == "") printf "lag never under 2 s within %d s after the burst", rec
			else printf "lag first under 2 s %.2f s after the end of the burst", first
			if (lastover == n) printf ", not under 2 s for good within %d s", rec
			else printf ", for good from %.2f s", t[lastover + 1]
			printf " (%d of %d samples after the burst at 2 s or more)\n", over, n
		}' "$dir/burst_lag.txt")
	burst_report="burst: $BURST_SECONDS s of pgbench with no -R, -c ${BURST_CLIENTS:-8}: $burst_rate rows/s; then $RATE rows/s for $RECOVER s
$burst_report"
fi

# let it catch up, then check the cells against the source
$PSQL -At -c "SELECT pg_sleep(3)" >/dev/null
bad=$($PSQL -At <<'EOF'
WITH fresh AS (SELECT s.org_id, s.channel_id, i.brand_id, date_trunc('day', s.sold_at, 'Asia/Seoul') AS period,
                      count(*) AS n, sum(s.amount) AS amount FROM sales_txn s LEFT JOIN item i USING (item_id) GROUP BY 1, 2, 3, 4)
SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT org_id, channel_id, brand_id, period, count, amount_sum FROM segroll_data.sales_v)
                      UNION ALL (SELECT org_id, channel_id, brand_id, period, count, amount_sum FROM segroll_data.sales_v EXCEPT ALL SELECT * FROM fresh)) d;
EOF
)
achieved=$(awk -v r="$rows" -v d="$DURATION" 'BEGIN { printf "%.0f", r / d }')
stats=$(sort -g "$dir/lag.txt" | awk '{ a[NR] = $1 } END {
	p50 = a[int(NR * 0.50 + 0.5)]; p99 = a[int(NR * 0.99 + 0.5)]; if (p99 == "") p99 = a[NR];
	printf "%d samples | p50 %.3f s | p99 %.3f s | max %.3f s", NR, p50, p99, a[NR] }')
share=$(awk -v w=$((work1 - work0)) -v l=$((load1 - load0)) 'BEGIN { if (l > 0) printf "%.1f %%", 100 * w / l; else print "n/a" }')
{
	echo "target $RATE rows/s, achieved $achieved rows/s over ${DURATION} s (pgbench -c 2, 10 rows per INSERT), segroll.naptime = $NAPTIME"
	echo "lag_seconds: $stats"
	echo "worker CPU / load backends' CPU: $share ($((work1 - work0)) / $((load1 - load0)) ticks)"
	echo "oracle after catch-up: $bad differing rows"
	grep -E "^(tps|latency average)" "$dir/pgbench.out" || true
	[ -z "$burst_report" ] || echo "$burst_report"
} | tee "$out/lag_results.md"
[ "$bad" = 0 ]
