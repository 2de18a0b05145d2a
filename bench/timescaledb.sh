#!/usr/bin/env bash
#
# segroll's incremental roll-up of a mixed batch against a TimescaleDB
# continuous-aggregate refresh of the same batch (issue 13), side by side on
# the same data in the same database and run.
#
#   bench/timescaledb.sh
#
# Environment (defaults in brackets):
#   REPS        batches applied and rolled up [5]
#   ROWS        source rows [3000000]
#   BENCH_DB    database, created if missing [tsdb]
#   PGHOST PGPORT PGUSER  [/tmp/tsdbG 5493 postgres]
#   PG_CONFIG   pg_config of the server's installation, for psql [pg_config]
#
# TimescaleDB is not part of this repository and nothing here fetches or
# builds it: build it outside the repository (docs/benchmarks.md, "Issue 13 —
# against TimescaleDB continuous aggregates", says what was built for the
# figures there), install it and segroll into the same PostgreSQL 15, and run
# the server with shared_preload_libraries = 'timescaledb' (continuous
# aggregates are in TimescaleDB's TSL part: an APACHE_ONLY build has none).
#
# Data: ROWS rows over 60 days (bigint key with gaps, timestamptz, org 0..29,
# channel 0..5, amount numeric(12,2), qty 1..8), in two copies:
#   tb.src_h  a hypertable (chunks of 1 day) with a continuous aggregate
#             tb.cagg: org x channel x time_bucket('1 day', at, 'Asia/Seoul'),
#             count, sum/min/max(amount), sum/min/max(qty),
#             materialized_only, no refresh policy;
#   tb.src_p  a plain table with segmentation 'tsdb_oc' (org x channel x day
#             in Asia/Seoul, measures amount and qty, with lineage, schedule
#             'manual').
# Side figure, once: the initial build of each (CREATE MATERIALIZED VIEW ...
# WITH DATA vs create_segmentation(..., backfill => true)).
# Then REPS times the same mixed batch is applied to both copies:
#   100 000 INSERTs (20 % of them late: 1 to 21 days before the newest row),
#   5 000 UPDATEs of amount or qty of existing rows (among them 300 that
#   lower a cell's maximum amount, raise its minimum amount or lower its
#   maximum qty, and 100 that set a new maximum),
#   2 000 DELETEs of existing rows (among them 100 that delete the row with
#   a cell's maximum or minimum amount);
# and CALL refresh_continuous_aggregate('tb.cagg', NULL, NULL) (the whole
# range: TimescaleDB re-materializes what its invalidation log says changed)
# is timed against SELECT segroll.rollup('tsdb_oc'), their order alternating.
# The time to apply the batch to each copy is recorded too (capture and
# invalidation triggers run then).
# At the end both are compared with a from-scratch GROUP BY of their own
# source (count, sums, minima and maxima equal) and with each other, and
# segroll.verify(..., 'full') must return no row.
# Results: bench/out/timescaledb_results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
REPS=${REPS:-5}
ROWS=${ROWS:-3000000}
BENCH_DB=${BENCH_DB:-tsdb}
export PGHOST=${PGHOST:-/tmp/tsdbG} PGPORT=${PGPORT:-5493} PGUSER=${PGUSER:-postgres}
bindir=$(${PG_CONFIG:-pg_config} --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL="$bindir/psql -X -q -v ON_ERROR_STOP=1 -d $BENCH_DB"

q() { $PSQL -At -c "$1"; }
ms() {	# ms "SQL": runs it, prints elapsed milliseconds
	$PSQL -At <<EOF
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
$1;
\o
SELECT round((1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz))::numeric, 1);
EOF
}

"$bindir/psql" -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1 ||
	"$bindir/psql" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"

$PSQL <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE EXTENSION IF NOT EXISTS segroll;
DO $$ BEGIN
	IF EXISTS (SELECT 1 FROM segroll.segmentation WHERE name = 'tsdb_oc') THEN
		PERFORM segroll.drop_segmentation('tsdb_oc');
	END IF;
END $$;
DROP SCHEMA IF EXISTS tb CASCADE;
CREATE SCHEMA tb;
CREATE TABLE tb.timing (run int, item text, variant text, ms float8);
EOF
tsdb_version=$(q "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
segroll_version=$(q "SELECT extversion FROM pg_extension WHERE extname = 'segroll'")
pg_version=$(q "SHOW server_version")
echo "==> PostgreSQL $pg_version, TimescaleDB $tsdb_version, segroll $segroll_version; ROWS=$ROWS REPS=$REPS"

record() { q "INSERT INTO tb.timing VALUES ($1, '$2', '$3', $4)"; }

# ------------------------------------------------------------ data
# Keys in time order with gaps of 1 to 4; times spread evenly over 60 days
# (from 2024-03-01 00:00 in Seoul) with a jitter of up to a minute.
echo "==> generating $ROWS rows"
$PSQL <<EOF
SET client_min_messages = warning;
SELECT setseed(0.13) \gset
CREATE TABLE tb.src_p (id bigint PRIMARY KEY, at timestamptz NOT NULL, org int NOT NULL, channel int NOT NULL,
                       amount numeric(12,2) NOT NULL, qty int NOT NULL);
INSERT INTO tb.src_p
SELECT g * 4 + floor(random() * 4)::int,
       '2024-03-01 00:00+09'::timestamptz + (g - 1) * (interval '60 days' / $ROWS) + random() * interval '1 minute',
       floor(30 * random() ^ 1.5)::int, floor(6 * random() ^ 2)::int,
       round((1 + 499 * random() ^ 3)::numeric, 2), 1 + floor(8 * random() ^ 2)::int
FROM generate_series(1, $ROWS) g;
CREATE TABLE tb.src_h (LIKE tb.src_p);
SELECT create_hypertable('tb.src_h', by_range('at', interval '1 day')) AS ht \gset
INSERT INTO tb.src_h SELECT * FROM tb.src_p ORDER BY at;
-- the hypertable cannot have a unique key without its time column: an index
-- on the key serves the batch's UPDATEs and DELETEs
CREATE INDEX ON tb.src_h (id);
VACUUM ANALYZE tb.src_p;
VACUUM ANALYZE tb.src_h;
CHECKPOINT;
EOF
echo "chunks: $(q "SELECT count(*) FROM show_chunks('tb.src_h')")"

# ------------------------------------------------------------ initial build
t=$(ms "CREATE MATERIALIZED VIEW tb.cagg WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
        SELECT org, channel, time_bucket(interval '1 day', at, 'Asia/Seoul') AS period,
               count(*) AS n, sum(amount) AS amount_sum, min(amount) AS amount_min, max(amount) AS amount_max,
               sum(qty) AS qty_sum, min(qty) AS qty_min, max(qty) AS qty_max
        FROM tb.src_h GROUP BY org, channel, time_bucket(interval '1 day', at, 'Asia/Seoul')
        WITH DATA")
record 0 initial_build timescaledb "$t"
echo "initial build, continuous aggregate WITH DATA: $t ms"
q "CHECKPOINT"
t=$(ms "SELECT segroll.create_segmentation('tsdb_oc', 'tb.src_p', 'id', 'at', 'day', 'Asia/Seoul',
        '{org, channel}', '{amount, qty}', lineage => true, schedule => 'manual', backfill => true)")
record 0 initial_build segroll "$t"
echo "initial build, create_segmentation with backfill: $t ms"
q "VACUUM ANALYZE tb.src_p"
q "CHECKPOINT"

# ------------------------------------------------------------ checks
# a from-scratch GROUP BY of a source, cell by cell, with what the roll-up
# holds; prints the number of cells that differ (both directions)
mismatch() {	# $1 = source, $2 = roll-up relation, $3 = its period column
	q "WITH truth AS (
	       SELECT org, channel, date_trunc('day', at, 'Asia/Seoul') AS period, count(*)::numeric AS n,
	              sum(amount)::numeric AS a_sum, min(amount)::numeric AS a_min, max(amount)::numeric AS a_max,
	              sum(qty)::numeric AS q_sum, min(qty)::numeric AS q_min, max(qty)::numeric AS q_max
	       FROM $1 GROUP BY 1, 2, 3),
	   r AS (
	       SELECT org, channel, $3 AS period, n::numeric, amount_sum::numeric, amount_min::numeric, amount_max::numeric,
	              qty_sum::numeric, qty_min::numeric, qty_max::numeric
	       FROM $2)
	   SELECT (SELECT count(*) FROM (TABLE truth EXCEPT ALL TABLE r) a) + (SELECT count(*) FROM (TABLE r EXCEPT ALL TABLE truth) b)"
}
seg_view="(SELECT org, channel, period, count AS n, amount_sum, amount_min, amount_max, qty_sum, qty_min, qty_max
           FROM segroll_data.tsdb_oc_v) s"
check() {	# $1 = label
	local c s v x
	c=$(mismatch tb.src_h tb.cagg period)
	s=$(mismatch tb.src_p "$seg_view" period)
	v=$(q "SELECT count(*) FROM segroll.verify('tsdb_oc', '-infinity', 'infinity', 'full')")
	x=$(q "SELECT (SELECT count(*) FROM (SELECT org, channel, period, n, amount_sum, amount_min, amount_max, qty_sum, qty_min, qty_max FROM tb.cagg
	                                     EXCEPT ALL SELECT * FROM $seg_view) a)
	            + (SELECT count(*) FROM (SELECT * FROM $seg_view
	                                     EXCEPT ALL SELECT org, channel, period, n, amount_sum, amount_min, amount_max, qty_sum, qty_min, qty_max FROM tb.cagg) b)")
	echo "check $1: cells $(q "SELECT count(*) FROM tb.cagg") (cagg) / $(q "SELECT count(*) FROM segroll_data.tsdb_oc") (segroll);" \
	     "differ from GROUP BY: cagg $c, segroll $s; verify rows $v; cagg vs segroll $x"
	[ "$c" = 0 ] && [ "$s" = 0 ] && [ "$v" = 0 ] && [ "$x" = 0 ] || { echo "MISMATCH ($1)" >&2; exit 1; }
}
check "after the initial build"

# ------------------------------------------------------------ the batches
apply() {	# $1 = table: the batch of tb.b_ins, tb.b_upd, tb.b_del, one transaction
	ms "BEGIN;
	    INSERT INTO $1 (id, at, org, channel, amount, qty) SELECT id, at, org, channel, amount, qty FROM tb.b_ins;
	    UPDATE $1 t SET amount = coalesce(u.amount, t.amount), qty = coalesce(u.qty, t.qty) FROM tb.b_upd u WHERE t.id = u.id;
	    DELETE FROM $1 t USING tb.b_del d WHERE t.id = d.id;
	    COMMIT"
}
for run in $(seq 1 "$REPS"); do
	# the batch, drawn from tb.src_p (both copies hold the same rows)
	$PSQL <<EOF
SET client_min_messages = warning;
SELECT setseed(0.5 + $run / 100.0) \gset
DROP TABLE IF EXISTS tb.b_ins, tb.b_upd, tb.b_del, tb.b_cells;
-- 100 000 new rows: 80 % after the newest row (a second apart), 20 % late,
-- 1 to 21 days back
CREATE TABLE tb.b_ins AS
SELECT m.id + g * 2 + floor(random() * 2)::int AS id,
       CASE WHEN g % 5 = 0 THEN m.at - (1 + floor(random() * 21)) * interval '1 day' - random() * interval '1 day'
            ELSE m.at + g * interval '1 s' END AS at,
       floor(30 * random() ^ 1.5)::int AS org, floor(6 * random() ^ 2)::int AS channel,
       round((1 + 499 * random() ^ 3)::numeric, 2) AS amount, 1 + floor(8 * random() ^ 2)::int AS qty
FROM generate_series(1, 100000) g, (SELECT max(id) AS id, max(at) AS at FROM tb.src_p) m;
-- corrections aimed at the extremes of 300 random cells
CREATE TABLE tb.b_cells AS
SELECT org, channel, date_trunc('day', at, 'Asia/Seoul') AS period, row_number() OVER (ORDER BY random()) AS r
FROM tb.src_p GROUP BY 1, 2, 3;
CREATE TABLE tb.b_upd (id bigint PRIMARY KEY, amount numeric(12,2), qty int);
CREATE TABLE tb.b_del (id bigint PRIMARY KEY);
-- cells 1-100: the row with the maximum amount gets a lower one; 101-200:
-- the row with the minimum amount a higher one; 201-300: the row with the
-- maximum qty qty 1
INSERT INTO tb.b_upd
SELECT DISTINCT ON (c.r) s.id,
       CASE WHEN c.r <= 100 THEN round(s.amount / 3, 2) WHEN c.r <= 200 THEN s.amount + 40 END,
       CASE WHEN c.r > 200 THEN 1 END
FROM tb.b_cells c JOIN tb.src_p s ON s.org = c.org AND s.channel = c.channel
     AND date_trunc('day', s.at, 'Asia/Seoul') = c.period
WHERE c.r <= 300
ORDER BY c.r, CASE WHEN c.r <= 100 THEN -s.amount WHEN c.r <= 200 THEN s.amount ELSE -s.qty END, s.id;
-- cells 301-350: the row with the maximum amount is deleted; 351-400: the
-- row with the minimum amount
INSERT INTO tb.b_del
SELECT DISTINCT ON (c.r) s.id
FROM tb.b_cells c JOIN tb.src_p s ON s.org = c.org AND s.channel = c.channel
     AND date_trunc('day', s.at, 'Asia/Seoul') = c.period
WHERE c.r > 300 AND c.r <= 400
ORDER BY c.r, CASE WHEN c.r <= 350 THEN -s.amount ELSE s.amount END, s.id
ON CONFLICT DO NOTHING;
-- 100 UPDATEs set a new maximum amount; the rest of the 5 000 UPDATEs and
-- 2 000 DELETEs hit random existing rows (half the UPDATEs amount, half qty)
CREATE TEMP TABLE pick AS
SELECT id, row_number() OVER () AS r
FROM (SELECT id FROM tb.src_p ORDER BY random() LIMIT 10000) x
WHERE id NOT IN (SELECT id FROM tb.b_upd UNION ALL SELECT id FROM tb.b_del);
INSERT INTO tb.b_upd
SELECT id, CASE WHEN r <= 100 THEN 9000 + r WHEN r % 2 = 0 THEN round((1 + 499 * random() ^ 3)::numeric, 2) END,
       CASE WHEN r > 100 AND r % 2 = 1 THEN 1 + floor(8 * random() ^ 2)::int END
FROM pick WHERE r <= 5000 - (SELECT count(*) FROM tb.b_upd);
INSERT INTO tb.b_del
SELECT id FROM pick WHERE r > 5000 AND r <= 5000 + 2000 - (SELECT count(*) FROM tb.b_del);
ANALYZE tb.b_ins, tb.b_upd, tb.b_del;
EOF
	echo "batch $run: $(q "SELECT (SELECT count(*) FROM tb.b_ins) || ' inserts (' || (SELECT count(*) FILTER (WHERE at < (SELECT max(at) FROM tb.src_p)) FROM tb.b_ins) || ' late), '
	                        || (SELECT count(*) FROM tb.b_upd) || ' updates, ' || (SELECT count(*) FROM tb.b_del) || ' deletes'")"
	t=$(apply tb.src_h); record "$run" apply_batch timescaledb "$t"
	t=$(apply tb.src_p); record "$run" apply_batch segroll "$t"
	q "CHECKPOINT"
	if [ $((run % 2)) = 1 ]; then order="timescaledb segroll"; else order="segroll timescaledb"; fi
	for v in $order; do
		case $v in
		timescaledb) t=$(ms "CALL refresh_continuous_aggregate('tb.cagg', NULL, NULL)") ;;
		segroll)     t=$(ms "SELECT segroll.rollup('tsdb_oc')") ;;
		esac
		record "$run" refresh "$v" "$t"
		echo "run $run $v: $t ms"
		q "CHECKPOINT"
	done
done
check "after $REPS batches"

# ------------------------------------------------------------ report
cells=$(q "SELECT count(*) FROM segroll_data.tsdb_oc")
rows=$(q "SELECT count(*) FROM tb.src_p")
{
	echo "# segroll roll-up vs TimescaleDB continuous-aggregate refresh (issue 13)"
	echo
	echo "PostgreSQL $pg_version, TimescaleDB $tsdb_version, segroll $segroll_version;" \
	     "$ROWS rows initially ($rows after $REPS batches), $cells cells (org × channel × day in Asia/Seoul)."
	echo "Each batch: 100 000 INSERTs (20 % late), 5 000 UPDATEs, 2 000 DELETEs, extremes of 400 cells among them."
	echo
	echo "| step | TimescaleDB (ms) | segroll (ms) | TimescaleDB / segroll |"
	echo "|---|---:|---:|---:|"
	$PSQL -At <<'EOF'
WITH med AS (
	SELECT item, variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median, min(ms) AS lo, max(ms) AS hi, count(*) AS runs
	FROM tb.timing GROUP BY 1, 2
), fmt AS (
	SELECT item, variant, median,
	       CASE WHEN runs = 1 THEN round(median::numeric)::text
	            ELSE round(median::numeric) || ' (' || round(lo::numeric) || '–' || round(hi::numeric) || ')' END AS txt
	FROM med
)
SELECT '| ' || CASE t.item WHEN 'refresh' THEN '**refresh of a mixed batch** (median, min–max)'
                           WHEN 'apply_batch' THEN 'applying the batch (INSERT, UPDATE, DELETE; one transaction)'
                           ELSE 'initial build on the source (once)' END
       || ' | ' || t.txt || ' | ' || s.txt || ' | ' || round((t.median / s.median)::numeric, 2) || '× |'
FROM fmt t JOIN fmt s USING (item)
WHERE t.variant = 'timescaledb' AND s.variant = 'segroll'
ORDER BY CASE t.item WHEN 'refresh' THEN 1 WHEN 'apply_batch' THEN 2 ELSE 3 END;
EOF
	echo
	echo "Per batch, refresh / rollup (each pair timed back to back): $(q "SELECT string_agg(round((t.ms / s.ms)::numeric, 2) || '×', ' / ' ORDER BY run)
	     || '; median ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms / s.ms)::numeric, 2) || '×'
	     FROM tb.timing t JOIN tb.timing s USING (run, item) WHERE item = 'refresh' AND t.variant = 'timescaledb' AND s.variant = 'segroll'")"
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "Runs (ms):"
	echo
	$PSQL -At <<'EOF'
SELECT '- ' || item || ', ' || variant || ': ' || string_agg(round(ms::numeric, 1)::text, ' / ' ORDER BY run)
FROM tb.timing GROUP BY item, variant ORDER BY item, variant;
EOF
	echo
	echo "TimescaleDB: \`CALL refresh_continuous_aggregate('tb.cagg', NULL, NULL)\`; segroll: \`SELECT segroll.rollup('tsdb_oc')\`;"
	echo "order alternating per batch; CHECKPOINT before each. Checks after the last batch: both equal a"
	echo "from-scratch GROUP BY of their source and each other; segroll.verify(..., 'full') returned no row."
} > "$out/timescaledb_results.md"
cat "$out/timescaledb_results.md"
