#!/usr/bin/env bash
#
# segroll roll-up benchmark (issue 3), on the data set of bench/run.sh.
#
#   bench/rollup.sh
#
# Environment (defaults in brackets):
#   REPS        repetitions of every timed step [3]
#   COPY_ROWS   rows per COPY in the ingest test [1000000]
#   PGBENCH_T   seconds per pgbench run [10]
#   BENCH_DB    database with bench.sales_txn (run bench/run.sh first) [bench]
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#   SECTIONS    which of the sections below to run ["1 2 3 4"]
#
# Every figure is a ratio against plain PostgreSQL on the same data in the
# same run; medians of REPS runs:
#   1. ingest cost of capture: COPY of COPY_ROWS rows into a table with an
#      active segmentation, vs the same table without; beside it the two
#      alternatives measured for the design decision: a statement-level
#      AFTER INSERT trigger with a transition table that appends per-cell
#      delta segments, and the hand-written per-row trigger that keeps a
#      summary table with INSERT ... ON CONFLICT DO UPDATE;
#   2. single-row INSERT latency under pgbench -c 2, same four variants;
#   3. roll-up throughput: segroll.rollup() applying the whole 10 M-row
#      source into empty cells (coarse, medium, fine; with and without
#      lineage) vs INSERT INTO summary SELECT ... GROUP BY;
#   4. an incremental roll-up of 100 000 new rows (20 % of them late, for
#      earlier days) vs REFRESH MATERIALIZED VIEW of the same roll-up.
# Results: bench/out/rollup_results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
REPS=${REPS:-3}
COPY_ROWS=${COPY_ROWS:-1000000}
PGBENCH_T=${PGBENCH_T:-10}
BENCH_DB=${BENCH_DB:-bench}
SECTIONS=" ${SECTIONS:-1 2 3 4} "
section() { [[ $SECTIONS == *" $1 "* ]]; }
export PGHOST=${PGHOST:-/tmp/devpg} PGPORT=${PGPORT:-5499} PGUSER=${PGUSER:-postgres}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL="$bindir/psql -X -q -v ON_ERROR_STOP=1 -d $BENCH_DB"
PGBENCH="$bindir/pgbench"

q() { $PSQL -At -c "$1"; }
ms() {	# ms "SQL": runs it, prints elapsed milliseconds
	$PSQL -At <<EOF
SET max_parallel_workers_per_gather = 0;
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
$1;
\o
SELECT round((1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz))::numeric, 1);
EOF
}

rows=$(q "SELECT count(*) FROM bench.sales_txn" 2>/dev/null || echo 0)
if [ "$rows" -lt "${MIN_ROWS:-1000000}" ]; then
	echo "bench.sales_txn is missing or small: run bench/run.sh first" >&2
	exit 1
fi
echo "==> $rows source rows, REPS=$REPS"

$PSQL <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segroll;
ALTER EXTENSION segroll UPDATE;
DROP TABLE IF EXISTS bench.rtiming;
CREATE TABLE bench.rtiming (run int, section text, item text, variant text, ms float8);
EOF

record() { q "INSERT INTO bench.rtiming VALUES ($1, '$2', '$3', '$4', $5)"; }

# ------------------------------------------------------------ 1. COPY ingest
if section 1 || section 2; then
csv=/tmp/segroll_bench_copy.csv
q "COPY (SELECT txn_id, sold_at, org_id, channel_id, item_id, customer_id, amount, qty
         FROM bench.sales_txn ORDER BY txn_id LIMIT $COPY_ROWS) TO '$csv' (FORMAT csv)"

make_ingest_table() {	# $1 = variant
	$PSQL <<EOF
SET client_min_messages = warning;
DO \$\$ BEGIN
	IF EXISTS (SELECT 1 FROM segroll.segmentation WHERE name = 'ing') THEN
		PERFORM segroll.drop_segmentation('ing');
	END IF;
END \$\$;
DROP TABLE IF EXISTS bench.ing CASCADE;
DROP TABLE IF EXISTS bench.ing_delta, bench.ing_summary;
CREATE TABLE bench.ing (LIKE bench.sales_txn INCLUDING DEFAULTS);
ALTER TABLE bench.ing ADD PRIMARY KEY (txn_id);
EOF
	case $1 in
	segroll)
		q "SELECT segroll.create_segmentation('ing', 'bench.ing', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
		       '{org_id, channel_id, brand_id=bench.item.brand_id ON item_id}', '{amount, qty}')" >/dev/null ;;
	stmt_trigger)
		$PSQL <<'EOF'
CREATE TABLE bench.ing_delta (org_id int, channel_id int, brand_id int, period timestamptz, seg segroll.segment);
CREATE OR REPLACE FUNCTION bench.ing_stmt_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO bench.ing_delta
	SELECT n.org_id, n.channel_id, i.brand_id, date_trunc('day', n.sold_at, 'Asia/Seoul'),
	       segroll.segment_agg(n.txn_id, n.sold_at, n.amount, n.qty)
	FROM new_rows n LEFT JOIN bench.item i USING (item_id) GROUP BY 1, 2, 3, 4;
	RETURN NULL;
END $$;
CREATE TRIGGER cap AFTER INSERT ON bench.ing REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION bench.ing_stmt_capture();
EOF
		;;
	row_trigger)
		$PSQL <<'EOF'
CREATE TABLE bench.ing_summary (org_id int, channel_id int, brand_id int, period timestamptz,
                                n bigint, amount numeric, qty bigint,
                                PRIMARY KEY (org_id, channel_id, brand_id, period));
CREATE OR REPLACE FUNCTION bench.ing_row_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO bench.ing_summary
	VALUES (NEW.org_id, NEW.channel_id, (SELECT brand_id FROM bench.item WHERE item_id = NEW.item_id),
	        date_trunc('day', NEW.sold_at, 'Asia/Seoul'), 1, NEW.amount, NEW.qty)
	ON CONFLICT (org_id, channel_id, brand_id, period) DO UPDATE
	SET n = bench.ing_summary.n + 1, amount = bench.ing_summary.amount + EXCLUDED.amount,
	    qty = bench.ing_summary.qty + EXCLUDED.qty;
	RETURN NULL;
END $$;
CREATE TRIGGER cap AFTER INSERT ON bench.ing FOR EACH ROW EXECUTE FUNCTION bench.ing_row_capture();
EOF
		;;
	esac
	q "CHECKPOINT"
}

variants="plain segroll stmt_trigger row_trigger"
section 1 && for run in $(seq 1 "$REPS"); do
	for v in $variants; do
		make_ingest_table "$v"
		t=$(ms "COPY bench.ing (txn_id, sold_at, org_id, channel_id, item_id, customer_id, amount, qty) FROM '$csv' (FORMAT csv)")
		record "$run" copy "${COPY_ROWS}_rows" "$v" "$t"
		echo "copy run $run $v: $t ms"
	done
done

fi

# ------------------------------------------------------------ 2. pgbench inserts
if section 2; then
cat > /tmp/segroll_bench_insert.sql <<'EOF'
\set org random(1, 50)
\set ch random(1, 8)
\set item random(1, 20000)
\set cust random(1, 1000000)
INSERT INTO bench.ing (txn_id, sold_at, org_id, channel_id, item_id, customer_id, amount, qty)
VALUES (nextval('bench.ing_key'), now(), :org, :ch, :item, :cust, (random() * 100)::numeric(12,2), 1);
EOF
for run in $(seq 1 "$REPS"); do
	for v in $variants; do
		make_ingest_table "$v"
		q "SET client_min_messages = warning; DROP SEQUENCE IF EXISTS bench.ing_key; CREATE SEQUENCE bench.ing_key START 100000000"
		lat=$($PGBENCH -n -c 2 -j 2 -T "$PGBENCH_T" -f /tmp/segroll_bench_insert.sql "$BENCH_DB" 2>/dev/null |
			awk '/latency average/ {print $4}')
		record "$run" pgbench insert_latency "$v" "$lat"
		echo "pgbench run $run $v: $lat ms"
	done
done
fi
if section 1 || section 2; then
make_ingest_table plain
q "DROP TABLE bench.ing; DROP SEQUENCE IF EXISTS bench.ing_key; DROP FUNCTION IF EXISTS bench.ing_stmt_capture(), bench.ing_row_capture()"

fi

# ------------------------------------------------------------ 3. roll-up throughput
# A copy of the source carries the capture; one anchor segmentation keeps it
# in place while the timed segmentations come and go.
if [ "$(q "SELECT count(*) FROM segroll.segmentation WHERE name = 'rs_anchor'")" = 0 ]; then
	echo "==> copying the source for the roll-up tests"
	$PSQL <<'EOF'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench.rs_src CASCADE;
CREATE TABLE bench.rs_src (LIKE bench.sales_txn INCLUDING ALL);
INSERT INTO bench.rs_src SELECT * FROM bench.sales_txn ORDER BY txn_id;
SELECT segroll.create_segmentation('rs_anchor', 'bench.rs_src', 'txn_id', 'sold_at', 'month', 'Asia/Seoul',
                                   '{org_id}', '{}', lineage => false, backfill => false);
VACUUM ANALYZE bench.rs_src;
EOF
fi

dims_of() {
	case $1 in
	coarse) echo "org_id, channel_id" ;;
	medium) echo "org_id, channel_id, brand_id=bench.item.brand_id ON item_id" ;;
	fine)   echo "org_id, channel_id, brand_id=bench.item.brand_id ON item_id, item_id" ;;
	esac
}
plain_sql() {
	case $1 in
	coarse) echo "SELECT s.org_id, s.channel_id, date_trunc('day', s.sold_at, 'Asia/Seoul'), count(*) AS n, sum(s.amount) AS amount, sum(s.qty) AS qty
	              FROM bench.rs_src s GROUP BY 1, 2, 3" ;;
	medium) echo "SELECT s.org_id, s.channel_id, i.brand_id, date_trunc('day', s.sold_at, 'Asia/Seoul'), count(*) AS n, sum(s.amount) AS amount, sum(s.qty) AS qty
	              FROM bench.rs_src s LEFT JOIN bench.item i USING (item_id) GROUP BY 1, 2, 3, 4" ;;
	fine)   echo "SELECT s.org_id, s.channel_id, i.brand_id, s.item_id, date_trunc('day', s.sold_at, 'Asia/Seoul'), count(*) AS n, sum(s.amount) AS amount, sum(s.qty) AS qty
	              FROM bench.rs_src s LEFT JOIN bench.item i USING (item_id) GROUP BY 1, 2, 3, 4, 5" ;;
	esac
}
plain_cols() {
	case $1 in
	coarse) echo "org_id int, channel_id int, period timestamptz, n bigint, amount numeric, qty bigint" ;;
	medium) echo "org_id int, channel_id int, brand_id int, period timestamptz, n bigint, amount numeric, qty bigint" ;;
	fine)   echo "org_id int, channel_id int, brand_id int, item_id int, period timestamptz, n bigint, amount numeric, qty bigint" ;;
	esac
}

view_cols() {
	case $1 in
	coarse) echo "org_id, channel_id, period, count, amount_sum, qty_sum" ;;
	medium) echo "org_id, channel_id, brand_id, period, count, amount_sum, qty_sum" ;;
	fine)   echo "org_id, channel_id, brand_id, item_id, period, count, amount_sum, qty_sum" ;;
	esac
}

q "SELECT segroll.drop_segmentation(name) FROM segroll.segmentation WHERE name IN ('rs_coarse', 'rs_medium', 'rs_fine', 'rs_inc')" >/dev/null
section 3 && for run in $(seq 1 "$REPS"); do
	for s in coarse medium fine; do
		q "SET client_min_messages = warning; DROP TABLE IF EXISTS bench.rs_plain; CREATE TABLE bench.rs_plain ($(plain_cols $s)); CHECKPOINT"
		t=$(ms "INSERT INTO bench.rs_plain $(plain_sql $s)")
		record "$run" rollup "$s" plain "$t"
		echo "rollup run $run $s plain: $t ms"
		for lin in true false; do
			v=$([ $lin = true ] && echo lineage || echo nolineage)
			q "SELECT segroll.create_segmentation('rs_$s', 'bench.rs_src', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
			       '{$(dims_of $s)}', '{amount, qty}', lineage => $lin, backfill => false)" >/dev/null
			q "CHECKPOINT"
			t=$(ms "SELECT segroll.rollup('rs_$s')")
			record "$run" rollup "$s" "$v" "$t"
			echo "rollup run $run $s $v: $t ms"
			if [ "$run" = 1 ]; then
				# the cells equal the plain roll-up
				bad=$(q "SELECT count(*) FROM (SELECT * FROM bench.rs_plain EXCEPT ALL
				          SELECT $(view_cols $s) FROM segroll_data.rs_${s}_v) d")
				[ "$bad" = 0 ] || { echo "MISMATCH rs_$s $v: $bad rows" >&2; exit 1; }
			fi
			q "SELECT segroll.drop_segmentation('rs_$s')" >/dev/null
		done
	done
done

# ------------------------------------------------------------ 4. incremental vs REFRESH
if section 4; then
q "SELECT segroll.create_segmentation('rs_inc', 'bench.rs_src', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
       '{$(dims_of medium)}', '{amount, qty}')" >/dev/null
$PSQL <<EOF
SET client_min_messages = warning;
DROP MATERIALIZED VIEW IF EXISTS bench.rs_mv;
CREATE MATERIALIZED VIEW bench.rs_mv AS $(plain_sql medium);
EOF
for run in $(seq 1 "$REPS"); do
	base=$(q "SELECT max(txn_id) FROM bench.rs_src")
	# 100 000 new rows, 20 % of them late (for days up to three weeks back)
	q "INSERT INTO bench.rs_src (txn_id, sold_at, org_id, channel_id, item_id, customer_id, amount, qty)
	   SELECT $base + g, CASE WHEN g % 5 = 0 THEN t.last - (g % 21) * interval '1 day' ELSE t.last + g * interval '10 ms' END,
	          1 + g % 50, 1 + g % 8, 1 + (g * 7919) % 20000, g, (g % 10000) / 100.0, 1 + g % 3
	   FROM generate_series(1, 100000) g, (SELECT max(sold_at) AS last FROM bench.rs_src) t"
	q "CHECKPOINT"
	t=$(ms "SELECT segroll.rollup('rs_inc')")
	record "$run" incremental 100k_rows rollup "$t"
	t=$(ms "REFRESH MATERIALIZED VIEW bench.rs_mv")
	record "$run" incremental 100k_rows refresh_mv "$t"
	echo "incremental run $run: rollup vs refresh recorded"
done
bad=$(q "SELECT count(*) FROM (SELECT * FROM bench.rs_mv EXCEPT ALL
          SELECT org_id, channel_id, brand_id, period, count, amount_sum, qty_sum FROM segroll_data.rs_inc_v) d")
[ "$bad" = 0 ] || { echo "MISMATCH incremental: $bad rows" >&2; exit 1; }
q "SELECT segroll.drop_segmentation('rs_inc')" >/dev/null
fi

# ------------------------------------------------------------ report
$PSQL -At <<'EOF' > "$out/rollup_results.md"
WITH med AS (
	SELECT section, item, variant,
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median, count(*) AS runs,
	       string_agg(round(ms::numeric, 1)::text, ' / ' ORDER BY run) AS all_runs
	FROM bench.rtiming GROUP BY 1, 2, 3
), base AS (
	SELECT section, item, median AS plain FROM med
	WHERE variant IN ('plain', 'refresh_mv')
)
SELECT '| ' || m.section || ' | ' || m.item || ' | ' || m.variant || ' | ' || round(m.median::numeric, 1)
       || ' | ' || CASE WHEN m.section = 'incremental' THEN round((b.plain / m.median)::numeric, 1) || '× faster'
                        ELSE round((m.median / b.plain)::numeric, 2) || '×' END
       || ' | ' || m.all_runs || ' |'
FROM med m JOIN base b USING (section, item)
ORDER BY m.section, m.item, m.variant;
EOF
{
	echo
	echo "rows: $rows; COPY rows: $COPY_ROWS; pgbench -c 2 -T $PGBENCH_T; REPS=$REPS"
} >> "$out/rollup_results.md"
cat "$out/rollup_results.md"
