#!/usr/bin/env bash
#
# segroll trace and reconcile benchmark (issue 5), on the data set of
# bench/run.sh (bench.sales_txn, 10 M rows, 30 days).
#
#   bench/trace.sh
#
# Environment (defaults in brackets):
#   REPS        repetitions of every timed step [5]
#   BENCH_DB    database with bench.sales_txn [bench]
#   KEEP=1      keep the copy (schema tb) for reruns; SETUP=0 reuses it
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#
# Setup: a copy tb.sales of bench.sales_txn with its primary key and a BRIN
# index on sold_at (what an append-only ledger would have), and two
# segmentations over it: tb_org_day (org_id x day) and tb_brand_day
# (brand x day, brand looked up through bench.item).  Medians of REPS runs,
# each beside plain PostgreSQL doing the same job on the same data:
#   1. trace of the org x day cell closest to 10 000 rows, to the last row
#      received by psql in a new session (as an auditor's one-off query
#      runs), and server side in one warm session; vs SELECT * of that org
#      and day (the query an auditor would write without lineage);
#   2. trace of merged month segments: the largest brand (about 0.4 M rows:
#      no brand has 1 M) and the organisation closest to 1 M rows; rows/s,
#      vs SELECT * of the same rows;
#   3. locate of one key (20 keys spread over the table, server-side time in
#      one warm session), vs SELECT * by key;
#   4. verify of one day, fast and full mode, vs the plain GROUP BY over
#      that day (dimensions, count, sum) that a reconciliation would run.
# Results: bench/out/trace_results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
REPS=${REPS:-5}
BENCH_DB=${BENCH_DB:-bench}
SETUP=${SETUP:-1}
export PGHOST=${PGHOST:-/tmp/devpg} PGPORT=${PGPORT:-5499} PGUSER=${PGUSER:-postgres}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL="$bindir/psql -X -q -v ON_ERROR_STOP=1 -d $BENCH_DB"

q() { $PSQL -At -c "$1"; }
ms() {	# ms "SQL": runs it, prints elapsed milliseconds (client side, last row received)
	$PSQL -At <<EOF
SET max_parallel_workers_per_gather = 0;
SET segroll.trace_audit = on;
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
$1;
\o
SELECT round((1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz))::numeric, 2);
EOF
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
timed() {	# timed "SQL": median of REPS runs, after one warm-up
	ms "$1" >/dev/null
	for _ in $(seq "$REPS"); do ms "$1"; done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

rows=$(q "SELECT count(*) FROM bench.sales_txn" 2>/dev/null || echo 0)
if [ "$rows" -lt "${MIN_ROWS:-1000000}" ]; then
	echo "bench.sales_txn is missing or small: run bench/run.sh first" >&2
	exit 1
fi
echo "==> $rows source rows, REPS=$REPS"
q "CREATE EXTENSION IF NOT EXISTS segroll" >/dev/null
q "ALTER EXTENSION segroll UPDATE" >/dev/null

if [ "$SETUP" = 1 ]; then
	echo "==> setup: copy, indexes, two segmentations (backfill)"
	$PSQL <<'EOF'
SET client_min_messages = warning;
SELECT segroll.drop_segmentation(name) FROM segroll.segmentation WHERE name IN ('tb_org_day', 'tb_brand_day');
DROP SCHEMA IF EXISTS tb CASCADE;
CREATE SCHEMA tb;
CREATE TABLE tb.sales AS SELECT * FROM bench.sales_txn ORDER BY txn_id;
ALTER TABLE tb.sales ADD PRIMARY KEY (txn_id), ALTER sold_at SET NOT NULL;
CREATE INDEX ON tb.sales USING brin (sold_at);
VACUUM ANALYZE tb.sales;
SELECT segroll.create_segmentation('tb_org_day', 'tb.sales', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	'{org_id}', '{amount, qty}', backfill => false);
SELECT segroll.create_segmentation('tb_brand_day', 'tb.sales', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	'{brand_id=bench.item.brand_id ON item_id}', '{amount, qty}', backfill => false);
CALL segroll.backfill('tb_org_day', 20000000);
CALL segroll.backfill('tb_brand_day', 20000000);
VACUUM ANALYZE segroll_data.tb_org_day, segroll_data.tb_brand_day;
EOF
fi

# the cell closest to 10 000 rows, and the brand closest to 1 M rows a month
read -r org day cell_rows <<<"$(q "SELECT org_id, period, segroll.count(seg) FROM segroll_data.tb_org_day
	ORDER BY abs(segroll.count(seg) - 10000), org_id, period LIMIT 1" | tr '|' ' ' | sed 's/ /T/2')"
day=${day/T/ }
read -r brand brand_rows <<<"$(q "SELECT brand_id, sum(segroll.count(seg)) FROM segroll_data.tb_brand_day
	GROUP BY 1 ORDER BY abs(sum(segroll.count(seg)) - 1000000), 1 LIMIT 1" | tr '|' ' ')"
read -r morg morg_rows <<<"$(q "SELECT org_id, sum(segroll.count(seg)) FROM segroll_data.tb_org_day
	GROUP BY 1 ORDER BY abs(sum(segroll.count(seg)) - 1000000), 1 LIMIT 1" | tr '|' ' ')"
echo "==> cell org $org at $day: $cell_rows rows; brand $brand: $brand_rows rows; org $morg: $morg_rows rows"

cell="'tb_org_day', jsonb_build_object('org_id', $org), '$day'::timestamptz"
t_trace=$(timed "SELECT * FROM segroll.trace($cell)")
t_trace_rows=$(timed "SELECT * FROM segroll.trace_rows('tb_org_day', segroll.cell($cell), NULL::tb.sales)")
t_plain_cell=$(timed "SELECT * FROM tb.sales WHERE org_id = $org AND sold_at >= '$day'::timestamptz AND sold_at < '$day'::timestamptz + interval '1 day' ORDER BY txn_id")
echo "trace 10k: $t_trace ms (typed $t_trace_rows ms), plain $t_plain_cell ms"
# the same, server side in one warm session (no connection, no plan cache miss, no client)
cellq=${cell//\'/\'\'}
read -r w_trace w_trace_rows w_plain <<<"$($PSQL -At <<EOF | tail -1
SET jit = off;
CREATE FUNCTION pg_temp.ms(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE q;
	RETURN 1000 * extract(epoch FROM clock_timestamp() - t0);
END \$\$;
SELECT pg_temp.ms('SELECT count(*) FROM segroll.trace($cellq)');
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms('SELECT count(*) FROM (SELECT * FROM segroll.trace($cellq)) t')
                                                         + 0 * g)::numeric, 2)
    || ' ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms('SELECT count(*) FROM (SELECT * FROM segroll.trace_rows(''tb_org_day'', segroll.cell($cellq), NULL::tb.sales)) t') + 0 * g)::numeric, 2)
    || ' ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms('SELECT count(*) FROM (SELECT * FROM tb.sales WHERE org_id = $org AND sold_at >= ''$day''::timestamptz AND sold_at < ''$day''::timestamptz + interval ''1 day'' ORDER BY txn_id) t') + 0 * g)::numeric, 2)
FROM generate_series(1, $REPS) g;
EOF
)"
echo "trace 10k, warm session, server side: $w_trace ms (typed $w_trace_rows ms), plain $w_plain ms"

brandseg="(SELECT segroll.merge(seg) FROM segroll_data.tb_brand_day WHERE brand_id = $brand)"
t_big=$(timed "SELECT * FROM segroll.trace('tb_brand_day', $brandseg)")
t_big_rows=$(timed "SELECT * FROM segroll.trace_rows('tb_brand_day', $brandseg, NULL::tb.sales)")
t_plain_big=$(timed "SELECT s.* FROM tb.sales s JOIN bench.item i USING (item_id) WHERE i.brand_id = $brand ORDER BY s.txn_id")
echo "trace brand month: $t_big ms (typed $t_big_rows ms), plain $t_plain_big ms"
orgseg="(SELECT segroll.merge(seg) FROM segroll_data.tb_org_day WHERE org_id = $morg)"
t_org=$(timed "SELECT * FROM segroll.trace('tb_org_day', $orgseg)")
t_org_rows=$(timed "SELECT * FROM segroll.trace_rows('tb_org_day', $orgseg, NULL::tb.sales)")
t_plain_org=$(timed "SELECT * FROM tb.sales WHERE org_id = $morg ORDER BY txn_id")
echo "trace org month: $t_org ms (typed $t_org_rows ms), plain $t_plain_org ms"

# locate: server-side time of each call in one warm session, median of 20 keys
read -r t_locate t_plain_key <<<"$($PSQL -At <<'EOF' | tail -1
SET jit = off;
CREATE FUNCTION pg_temp.ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE q;
	RETURN 1000 * extract(epoch FROM clock_timestamp() - t0);
END $$;
CREATE TEMP TABLE k AS SELECT txn_id FROM tb.sales TABLESAMPLE SYSTEM (0.01) REPEATABLE (7) LIMIT 20;
SELECT pg_temp.ms('SELECT * FROM segroll.locate(''tb_org_day'', 1)');	-- warm-up
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms(format('SELECT * FROM segroll.locate(%L, %s)', 'tb_org_day', txn_id)))::numeric, 3)
    || ' ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms(format('SELECT * FROM tb.sales WHERE txn_id = %s', txn_id)))::numeric, 3)
FROM k;
EOF
)"
echo "locate: $t_locate ms, plain $t_plain_key ms"

vday=$(q "SELECT min(period) + interval '14 days' FROM segroll_data.tb_org_day")
vrange="'$vday'::timestamptz, '$vday'::timestamptz + interval '1 day'"
declare -A vf vl vp
for s in tb_org_day tb_brand_day; do
	if [ "$s" = tb_org_day ]; then
		plain_gb="SELECT org_id, count(*), sum(amount), sum(qty) FROM tb.sales WHERE sold_at >= '$vday'::timestamptz AND sold_at < '$vday'::timestamptz + interval '1 day' GROUP BY 1"
	else
		plain_gb="SELECT i.brand_id, count(*), sum(s.amount), sum(s.qty) FROM tb.sales s LEFT JOIN bench.item i USING (item_id) WHERE s.sold_at >= '$vday'::timestamptz AND s.sold_at < '$vday'::timestamptz + interval '1 day' GROUP BY 1"
	fi
	n=$(q "SELECT count(*) FROM segroll.verify('$s', $vrange, 'full')")
	[ "$n" = 0 ] || { echo "verify of $s found $n discrepancies: the benchmark data is not clean" >&2; exit 1; }
	vf[$s]=$(timed "SELECT * FROM segroll.verify('$s', $vrange, 'fast')")
	vl[$s]=$(timed "SELECT * FROM segroll.verify('$s', $vrange, 'full')")
	vp[$s]=$(timed "$plain_gb")
	echo "verify $s: fast ${vf[$s]} ms, full ${vl[$s]} ms, plain GROUP BY ${vp[$s]} ms"
done
day_rows=$(q "SELECT count(*) FROM tb.sales WHERE sold_at >= '$vday'::timestamptz AND sold_at < '$vday'::timestamptz + interval '1 day'")

{
	echo "# Trace and reconcile (bench/trace.sh)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $rows source rows, medians of $REPS runs after a warm-up;"
	echo "commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown); $(q 'SELECT version()' | cut -d, -f1)."
	echo
	echo "| what | segroll | plain PostgreSQL | ratio | goal |"
	echo "|---|---:|---:|---:|---|"
	echo "| trace, org x day cell of $cell_rows rows, to the last row (json) | $t_trace ms | $t_plain_cell ms | $(ratio "$t_trace" "$t_plain_cell") | <= 50 ms |"
	echo "| trace_rows, same cell (typed) | $t_trace_rows ms | $t_plain_cell ms | $(ratio "$t_trace_rows" "$t_plain_cell") | |"
	echo "| trace, same cell, server side in a warm session (json) | $w_trace ms | $w_plain ms | $(ratio "$w_trace" "$w_plain") | <= 50 ms |"
	echo "| trace_rows, same cell, server side in a warm session (typed) | $w_trace_rows ms | $w_plain ms | $(ratio "$w_trace_rows" "$w_plain") | |"
	echo "| trace, merged month x brand of $brand_rows rows, the largest brand (json) | $t_big ms = $(awk -v n="$brand_rows" -v t="$t_big" 'BEGIN{printf "%.0f", n/t*1000}') rows/s | $t_plain_big ms | $(ratio "$t_big" "$t_plain_big") | report rows/s |"
	echo "| trace_rows, same segment (typed) | $t_big_rows ms = $(awk -v n="$brand_rows" -v t="$t_big_rows" 'BEGIN{printf "%.0f", n/t*1000}') rows/s | $t_plain_big ms | $(ratio "$t_big_rows" "$t_plain_big") | |"
	echo "| trace, merged month x org of $morg_rows rows (json) | $t_org ms = $(awk -v n="$morg_rows" -v t="$t_org" 'BEGIN{printf "%.0f", n/t*1000}') rows/s | $t_plain_org ms | $(ratio "$t_org" "$t_plain_org") | report rows/s |"
	echo "| trace_rows, same segment (typed) | $t_org_rows ms = $(awk -v n="$morg_rows" -v t="$t_org_rows" 'BEGIN{printf "%.0f", n/t*1000}') rows/s | $t_plain_org ms | $(ratio "$t_org_rows" "$t_plain_org") | |"
	echo "| locate of one key (server side, median of 20 keys in one session) | $t_locate ms | $t_plain_key ms | $(ratio "$t_locate" "$t_plain_key") | <= 5 ms |"
	for s in tb_org_day tb_brand_day; do
		echo "| verify $s, one day ($day_rows rows), fast | ${vf[$s]} ms | ${vp[$s]} ms | $(ratio "${vf[$s]}" "${vp[$s]}") | <= 1x |"
		echo "| verify $s, one day, full | ${vl[$s]} ms | ${vp[$s]} ms | $(ratio "${vl[$s]}" "${vp[$s]}") | <= 2x |"
	done
} | tee "$out/trace_results.md"

if [ "${KEEP:-0}" != 1 ]; then
	q "SELECT segroll.drop_segmentation(name) FROM segroll.segmentation WHERE name IN ('tb_org_day', 'tb_brand_day')" >/dev/null
	q "DROP SCHEMA tb CASCADE" >/dev/null
fi
