#!/usr/bin/env bash
#
# segroll.estimate() accuracy and cost (issue 6), on the data set of bench/run.sh.
#
#   bench/estimate.sh
#
# Environment (defaults in brackets):
#   REPS        timed repetitions of each estimate [3]
#   PGHOST PGPORT PGUSER PGDATABASE  [/tmp/devpg 5499 postgres bench]
#   DEV_LOAD    1 = load the governance section of sql/segroll--0.3.0--0.4.0.sql
#               into schema segroll for the run and drop it afterwards, for a
#               server whose installed segroll predates estimate() [0]
#
# For each candidate segmentation it times segroll.estimate() (median of
# REPS), then creates and backfills the same segmentation on a copy of
# bench.sales_txn, with lineage and without, and compares: cells, rows per
# cell, sum(segroll.stored_size(seg)) (segment bytes) and
# pg_total_relation_size(cells) (table bytes: heap, TOAST, both indexes).
# Results: bench/out/estimate_results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
REPS=${REPS:-3}
export PGHOST=${PGHOST:-/tmp/devpg} PGPORT=${PGPORT:-5499} PGUSER=${PGUSER:-postgres} PGDATABASE=${PGDATABASE:-bench}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL="$bindir/psql -X -q -v ON_ERROR_STOP=1"
q() { $PSQL -At -c "$1"; }

rows=$(q "SELECT count(*) FROM bench.sales_txn" 2>/dev/null || echo 0)
if [ "$rows" -lt 1000000 ]; then
	echo "bench.sales_txn is missing or small: run bench/run.sh first" >&2
	exit 1
fi

cleanup() {
	$PSQL <<'SQL' || true
SET client_min_messages = warning;
DO $$ DECLARE s text; BEGIN
	FOR s IN SELECT name FROM segroll.segmentation WHERE name LIKE 'estbench\_%' LOOP
		PERFORM segroll.drop_segmentation(s);
	END LOOP;
END $$;
DROP SCHEMA IF EXISTS estbench CASCADE;
SQL
	if [ "${DEV_LOAD:-0}" = 1 ]; then
		$PSQL -c "SET client_min_messages = warning" -c "DROP FUNCTION IF EXISTS segroll.estimate(regclass, text[], text, text, text, text[], text, float8),
		          segroll.estimate_candidates(regclass, jsonb, text, text, text[], text, float8),
		          segroll._estimate_one(regclass, regclass, float8, float8, text, text, jsonb),
		          segroll._estimate_candidate(regclass, jsonb, text, text[])" || true
	fi
}
trap cleanup EXIT

if [ "${DEV_LOAD:-0}" = 1 ]; then
	cleanup
	sed -n '/governance: what-if volume/,$p' "$here/../sql/segroll--0.3.0--0.4.0.sql" |
		sed 's/@extschema@/segroll/g' | $PSQL
fi
if [ -z "$(q "SELECT to_regproc('segroll.estimate_candidates')")" ]; then
	$PSQL -c "ALTER EXTENSION segroll UPDATE"
fi

# name | dimensions (create_segmentation syntax) ; every candidate is daily in
# Asia/Seoul with the measures amount and qty
candidates=(
	"coarse|{org_id, channel_id}"
	"org_brand|{org_id, brand_id=bench.item.brand_id ON item_id}"
	"org_channel_item|{org_id, channel_id, item_id}"
	"customer|{customer_id}"
)
TZ_=Asia/Seoul
MEAS='{amount, qty}'

$PSQL <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench.etiming;
CREATE TABLE bench.etiming (cand text, run int, ms float8);
DROP TABLE IF EXISTS bench.eresult;
CREATE TABLE bench.eresult (cand text, kind text, cells int8, "rows" int8, seg_l int8, seg_n int8,
                            table_l int8, table_n int8, cell_pct float8, row_pct float8);
SQL

echo "==> estimates (median of $REPS)"
for c in "${candidates[@]}"; do
	name=${c%%|*}; dims=${c#*|}
	for run in $(seq 1 "$REPS"); do
		$PSQL <<SQL
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE e AS SELECT * FROM segroll.estimate('bench.sales_txn', '$dims', 'day',
	time_col => 'sold_at', time_zone => '$TZ_', measures => '$MEAS', key => 'txn_id');
INSERT INTO bench.etiming VALUES ('$name', $run, 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
INSERT INTO bench.eresult SELECT '$name', 'estimate', cells, "rows", segment_bytes_with_lineage,
	segment_bytes_without_lineage, bytes_with_lineage, bytes_without_lineage, cell_sample_pct, row_sample_pct
FROM e WHERE $run = 1;
SQL
	done
	echo "$name: $(q "SELECT string_agg(round(ms)::text, ' ms, ' ORDER BY run) FROM bench.etiming WHERE cand = '$name'") ms"
done
side=$($PSQL -At <<SQL
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
SELECT * FROM segroll.estimate_candidates('bench.sales_txn', '[
	{"name": "coarse", "dimensions": ["org_id", "channel_id"], "grain": "day"},
	{"name": "org_brand", "dimensions": ["org_id", "brand_id=bench.item.brand_id ON item_id"], "grain": "day"},
	{"name": "org_channel_item", "dimensions": ["org_id", "channel_id", "item_id"], "grain": "day"},
	{"name": "customer", "dimensions": ["customer_id"], "grain": "day"}]',
	time_col => 'sold_at', time_zone => '$TZ_', measures => '$MEAS', key => 'txn_id');
\o
SELECT round(1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz));
SQL
)
echo "side by side, 4 candidates: $side ms"

echo "==> actuals: copy, create and backfill each segmentation"
$PSQL <<'SQL'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS estbench CASCADE;
CREATE SCHEMA estbench;
CREATE TABLE estbench.sales AS TABLE bench.sales_txn;
ALTER TABLE estbench.sales ADD PRIMARY KEY (txn_id), ALTER sold_at SET NOT NULL;
SQL
for c in "${candidates[@]}"; do
	name=${c%%|*}; dims=${c#*|}
	for lin in true false; do
		t0=$(date +%s)
		$PSQL <<SQL
SET client_min_messages = warning;
SELECT segroll.create_segmentation('estbench_$name', 'estbench.sales', 'txn_id', 'sold_at', 'day', '$TZ_',
	'$dims', '$MEAS', lineage => $lin) \g /dev/null
INSERT INTO bench.eresult (cand, kind, cells, "rows", seg_l, seg_n, table_l, table_n)
SELECT '$name', 'actual', count(*), sum(segroll.count(seg)),
	CASE WHEN $lin THEN sum(segroll.stored_size(seg)) END, CASE WHEN NOT $lin THEN sum(segroll.stored_size(seg)) END,
	CASE WHEN $lin THEN pg_total_relation_size('segroll_data.estbench_$name') END,
	CASE WHEN NOT $lin THEN pg_total_relation_size('segroll_data.estbench_$name') END
FROM segroll_data.estbench_$name;
SELECT segroll.drop_segmentation('estbench_$name') \g /dev/null
SQL
		echo "$name lineage=$lin: $(( $(date +%s) - t0 )) s"
	done
done

res="$out/estimate_results.md"
{
	echo "# segroll.estimate() vs created segmentations ($(date -u +%F), commit $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo '?'))"
	echo
	echo "bench.sales_txn: $rows rows; every candidate daily in $TZ_, measures $MEAS."
	echo "Side-by-side call with all four candidates: $side ms."
	echo
	$PSQL -A -F ' | ' -P footer=off <<'SQL' | sed -e 's/^/| /' -e 's/$/ |/' -e '2i| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |'
WITH e AS (SELECT * FROM bench.eresult WHERE kind = 'estimate'),
a AS (SELECT cand, max(cells) cells, max("rows") rws, max(seg_l) seg_l, max(seg_n) seg_n,
             max(table_l) table_l, max(table_n) table_n FROM bench.eresult WHERE kind = 'actual' GROUP BY cand),
t AS (SELECT cand, percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) ms FROM bench.etiming GROUP BY cand),
f(cand, figure, est, act, ord) AS (
	SELECT e.cand, x.figure, x.est, x.act, x.ord FROM e JOIN a USING (cand), LATERAL (VALUES
		('cells', e.cells::numeric, a.cells::numeric, 1),
		('rows per cell', round(e."rows"::numeric / e.cells, 3), round(a.rws::numeric / a.cells, 3), 2),
		('segment bytes, lineage', e.seg_l, a.seg_l, 3),
		('segment bytes, no lineage', e.seg_n, a.seg_n, 4),
		('table bytes, lineage', e.table_l, a.table_l, 5),
		('table bytes, no lineage', e.table_n, a.table_n, 6)) x(figure, est, act, ord))
SELECT f.cand AS candidate, f.figure, f.est AS estimate, f.act AS actual,
       to_char(100 * (f.est / f.act - 1), 'SG990.0') || ' %' AS error,
       CASE WHEN abs(f.est / f.act - 1) <= 0.10 THEN 'yes' ELSE '**no**' END AS "within ±10 %",
       CASE WHEN f.ord = 1 THEN round(t.ms)::text ELSE '' END AS "estimate ms (median)",
       CASE WHEN f.ord = 1 THEN round(e.row_pct::numeric, 2)::text ELSE '' END AS "row sample %",
       CASE WHEN f.ord = 1 THEN round(e.cell_pct::numeric, 2)::text ELSE '' END AS "cell sample %"
FROM f JOIN t USING (cand) JOIN e USING (cand)
ORDER BY array_position(ARRAY['coarse', 'org_brand', 'org_channel_item', 'customer'], f.cand), f.ord;
SQL
} > "$res"
cat "$res"
