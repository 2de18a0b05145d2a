#!/usr/bin/env bash
#
# segroll benchmark, issue 13: incremental batches and corrections, the
# previous roll-up engine against the current one, side by side on
# identical data.
#
#   bench/corrections.sh
#
# Needs two PostgreSQL 15 clusters, each with its build of segroll
# installed (the script builds nothing), run as a superuser:
#   OLD  the engine that recomputes a cell whose min/max a retraction made
#        unknown by scanning the source for the cell's whole period
#        (commit 984af4a);
#   NEW  the engine under test (main): recomputed from the rows of the
#        cell's own lineage, found by the key index.
# For example (what produced bench/out/corrections_results.md):
#   git worktree add ../wt-old 984af4a
#   (cd ../wt-old && make PG_CONFIG=$OLDPG/pg_config && make install PG_CONFIG=$OLDPG/pg_config)
#   make PG_CONFIG=$NEWPG/pg_config && make install PG_CONFIG=$NEWPG/pg_config
#   initdb each into its own directory; shared_buffers = 1GB,
#   max_wal_size = 8GB, checkpoint_timeout = 30min, other settings default
#
# Environment (defaults in brackets):
#   REPS        repetitions of every timed step [5]
#   ROWS        source rows [3000000]
#   DAYS        days they cover [60]
#   BATCH       inserts per batch [100000], 20 % of them late
#   UPDATES     updates of amount and qty per mixed batch [5000]
#   DELETES     deletes per mixed batch [2000]
#   SPAN_HOURS  time the on-time rows of a batch cover, the clock moving on
#               as much [the history's rate: 0.8 x BATCH rows at
#               ROWS / DAYS a day, 38.4 h by default; 2 gives a "hot day"
#               that grows by 80 000 rows a batch]
#   RESULTS     the results file [bench/out/corrections_results.md]
#   BENCH_DB    database created (dropped first) in both clusters [corrbench]
#   OLD_HOST OLD_PORT   the old engine's cluster [/tmp/corrF 5494]
#   NEW_HOST NEW_PORT   the new engine's cluster [/tmp/corrE 5495]
#   PGUSER      [postgres]
#   PSQL_BIN    psql [first of pg_config --bindir, /usr/lib/postgresql/15/bin]
#   EXPLAIN     engines ("new", "old new") whose roll-ups are explained at
#               the end: one more batch A, then one more batch B, each
#               grain's roll-up run under auto_explain (analyze, buffers);
#               plans in bench/out/corrections_plan_<engine>_<A|B>_<grain>.txt
#               (timings with analyze, not comparable with the table) []
#   PLANS_ONLY  1: skip the measured run, only the EXPLAIN step on the
#               databases a previous run left [0]
#
# The data (the same rows in both clusters, seeded): ROWS rows over DAYS
# days (days cut in UTC), bigint keys in time order with gaps
# (4i + i % 3), org 0..29 and channel 0..5 uniform, item 0..4999
# log-uniform (item 0 ~8 % of rows), qty 1..8 uniform (few distinct
# values, so a retraction often hits a cell's min or max), amount =
# price(item) x qty.  Segmentations with lineage, schedule 'manual':
#   coarse  org x channel x day (about 10 800 cells, ~280 rows each)
#   medium  org x item x day (about 1.3 M cells, ~2.3 rows each)
# Beside each, in the same cluster: a materialized view with the same
# GROUP BY (count, sum/min/max of amount, sum/min/max of qty) and a summary
# table (count and sums) kept by a hand-written upsert.
#
# Each repetition applies, in each cluster in turn (old, new; never at the
# same time), two batches, and times the steps after each:
#   A  BATCH inserts: 80 % on time, spread over the SPAN_HOURS after the
#      clock, which then moves on as much; 20 % late (a random time of an
#      earlier day, 1..30 days before the clock's);
#      timed: segroll.rollup() of each grain, REFRESH MATERIALIZED VIEW of
#      each, and the hand-written INSERT ... SELECT ... GROUP BY ... ON
#      CONFLICT DO UPDATE of count and sums of the batch rows (read from
#      the source by key) into each summary table;
#   B  BATCH inserts as in A, UPDATES updates of amount/qty and DELETES
#      deletes of random rows that existed before the batch; timed:
#      rollup() and REFRESH of each grain (the upsert cannot apply these).
# CHECKPOINT before every timed statement; serial plans on every side
# (max_parallel_workers_per_gather = 0); autovacuum off on the benchmark's
# tables, VACUUM ANALYZE after every batch's timings instead, so no
# autovacuum runs inside a timing.  The grains are rolled up in turn,
# coarse first in odd repetitions, medium first in even ones.
#
# At the end, for each engine and grain: segroll.verify(name, '-infinity',
# 'infinity', 'full') must return no row, and the cells' BI view must equal
# the materialized view (counts, sums, min and max); the two clusters'
# sources must have the same fingerprint.
#
# Every figure is a ratio against plain PostgreSQL in the same cluster and
# the same repetition (REFRESH / rollup, rollup / upsert), or against the
# other engine on the same data (old / new); medians of REPS.
# Results: bench/out/corrections_results.md (RESULTS).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
REPS=${REPS:-5}
ROWS=${ROWS:-3000000}
DAYS=${DAYS:-60}
BATCH=${BATCH:-100000}
UPDATES=${UPDATES:-5000}
DELETES=${DELETES:-2000}
SPAN_HOURS=${SPAN_HOURS:-$(awk "BEGIN { print 0.8 * $BATCH * 24 * $DAYS / $ROWS }")}
BENCH_DB=${BENCH_DB:-corrbench}
OLD_HOST=${OLD_HOST:-/tmp/corrF} OLD_PORT=${OLD_PORT:-5494}
NEW_HOST=${NEW_HOST:-/tmp/corrE} NEW_PORT=${NEW_PORT:-5495}
EXPLAIN=${EXPLAIN:-}
PLANS_ONLY=${PLANS_ONLY:-0}
export PGUSER=${PGUSER:-postgres}
PSQL_BIN=${PSQL_BIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)/psql}
RESULTS=${RESULTS:-$out/corrections_results.md}
timings="$out/corrections_timings.tsv"
t_start=$(date +%s)

psql_e() {	# psql_e old|new [psql args]: psql on that engine's cluster
	local e=$1; shift
	if [ "$e" = old ]; then
		"$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -h "$OLD_HOST" -p "$OLD_PORT" "$@"
	else
		"$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -h "$NEW_HOST" -p "$NEW_PORT" "$@"
	fi
}
q() { local e=$1; shift; psql_e "$e" -d "$BENCH_DB" -At -c "$1"; }
ms() {	# ms old|new "SQL": CHECKPOINT, then runs it; prints elapsed milliseconds
	psql_e "$1" -d "$BENCH_DB" -At <<EOF
SET max_parallel_workers_per_gather = 0;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
\o /dev/null
$2;
\o
SELECT round((1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz))::numeric, 1);
EOF
}
record() {	# record engine rep batch grain step ms
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$timings"
	printf '  %-3s rep %s %-6s %-6s %-8s %10s ms\n' "$1" "$2" "$3" "$4" "$5" "$6"
}
elapsed() { echo "$(( $(date +%s) - t_start )) s"; }

# ------------------------------------------------------------ the SQL

dims_of() { case $1 in coarse) echo "org_id, channel_id" ;; medium) echo "org_id, item_id" ;; esac; }
group_sql() {	# $1 grain: the plain roll-up (the materialized view's query)
	echo "SELECT $(dims_of "$1"), date_trunc('day', sold_at, 'UTC') AS period, count(*) AS n,
	       sum(amount) AS amount_sum, min(amount) AS amount_min, max(amount) AS amount_max,
	       sum(qty) AS qty_sum, min(qty) AS qty_min, max(qty) AS qty_max
	FROM bench.corr_src GROUP BY $(dims_of "$1"), 3"
}
upsert_sql() {	# $1 grain, $2 the batch's rows are the keys above it
	echo "INSERT INTO bench.corr_sum_$1 AS t
	SELECT $(dims_of "$1"), date_trunc('day', sold_at, 'UTC'), count(*), sum(amount), sum(qty)
	FROM bench.corr_src WHERE txn_id > $2 GROUP BY $(dims_of "$1"), 3
	ON CONFLICT ($(dims_of "$1"), period) DO UPDATE
	SET n = t.n + EXCLUDED.n, amount_sum = t.amount_sum + EXCLUDED.amount_sum, qty_sum = t.qty_sum + EXCLUDED.qty_sum"
}
sum_cols() {
	case $1 in
	coarse) echo "org_id int, channel_id int" ;;
	medium) echo "org_id int, item_id int" ;;
	esac
}

setup() {	# $1 engine: database, source, segmentations, views, summary tables
	local e=$1
	psql_e "$e" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB"
	psql_e "$e" -d "$BENCH_DB" <<EOF
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
CREATE EXTENSION segroll;
CREATE SCHEMA bench;
CREATE TABLE bench.corr_src (
	txn_id		bigint PRIMARY KEY,
	sold_at		timestamptz NOT NULL,
	org_id		int NOT NULL,
	channel_id	int NOT NULL,
	item_id		int NOT NULL,
	amount		numeric(12,2) NOT NULL,
	qty			int NOT NULL
);
-- the batch clock: the current time and the next row number
CREATE TABLE bench.corr_clock (now timestamptz NOT NULL, next_i bigint NOT NULL);
SELECT setseed(0.13) \g /dev/null
INSERT INTO bench.corr_src
SELECT i * 4 + i % 3, t, org_id, channel_id, item_id, (1 + item_id % 97) * 1.25 * qty, qty
FROM (SELECT i, timestamptz '2024-01-01 00:00:00+00'
                + (i - 1 + random()) * (interval '1 day' * $DAYS / $ROWS) AS t,
             floor(30 * random())::int AS org_id, floor(6 * random())::int AS channel_id,
             floor(exp(random() * ln(5001)))::int - 1 AS item_id, 1 + floor(8 * random())::int AS qty
      FROM generate_series(1, $ROWS) AS i OFFSET 0) r;
CREATE INDEX ON bench.corr_src (sold_at);
INSERT INTO bench.corr_clock VALUES (timestamptz '2024-01-01 00:00:00+00' + interval '1 day' * $DAYS, $ROWS + 1);
VACUUM ANALYZE bench.corr_src;
EOF
	local g t
	for g in coarse medium; do
		t=$(ms "$e" "CREATE MATERIALIZED VIEW bench.corr_mv_$g AS $(group_sql $g)")
		record "$e" 0 build "$g" create_mv "$t"
		t=$(ms "$e" "SELECT segroll.create_segmentation('corr_$g', 'bench.corr_src', 'txn_id', 'sold_at', 'day', 'UTC',
		       '{$(dims_of $g)}', '{amount, qty}', lineage => true, schedule => 'manual', backfill => true)")
		record "$e" 0 build "$g" create_seg "$t"
		q "$e" "CREATE TABLE bench.corr_sum_$g ($(sum_cols $g), period timestamptz, n bigint, amount_sum numeric, qty_sum bigint,
		        PRIMARY KEY ($(dims_of $g), period));
		        INSERT INTO bench.corr_sum_$g SELECT $(dims_of $g), period, n, amount_sum, qty_sum FROM bench.corr_mv_$g"
	done
	# no autovacuum inside a timing: the script vacuums after each batch
	psql_e "$e" -d "$BENCH_DB" -At <<'EOF' >/dev/null
SELECT format('ALTER TABLE %s SET (autovacuum_enabled = off)', c.oid::regclass)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('bench', 'segroll_data') AND c.relkind IN ('r', 'm') \gexec
VACUUM ANALYZE;
EOF
}

apply_batch() {	# $1 engine, $2 A|B, $3 seed: applies a batch, untimed
	local e=$1 kind=$2 seed=$3
	local fixes=0
	[ "$kind" = B ] && fixes=1
	psql_e "$e" -d "$BENCH_DB" <<EOF
SET max_parallel_workers_per_gather = 0;
SELECT setseed($seed) \g /dev/null
-- corrections: random rows that exist before the batch
CREATE TEMP TABLE corr_fix AS
SELECT s.txn_id, x.q, row_number() OVER (ORDER BY x.g) AS nr
FROM (SELECT DISTINCT ON (i) g, i, q
      FROM (SELECT g, 1 + floor(random() * (c.next_i - 1))::bigint AS i, 1 + floor(8 * random())::int AS q
            FROM bench.corr_clock c, generate_series(1, ($UPDATES + $DELETES) * 13 / 10 * $fixes) AS g OFFSET 0) x
      ORDER BY i, g) x
JOIN bench.corr_src s ON s.txn_id = x.i * 4 + x.i % 3;
-- inserts: 80 % for now, 20 % for a random earlier day
INSERT INTO bench.corr_src
SELECT i * 4 + i % 3,
       CASE WHEN late THEN date_trunc('day', now, 'UTC') - back * interval '1 day' + r * interval '1 day'
            ELSE now + (i - next_i + 1) * (interval '1 hour' * $SPAN_HOURS / $BATCH) END,
       org_id, channel_id, item_id, (1 + item_id % 97) * 1.25 * qty, qty
FROM (SELECT c.next_i + g - 1 AS i, c.next_i, c.now, random() < 0.2 AS late, 1 + floor(30 * random())::int AS back,
             random() AS r, floor(30 * random())::int AS org_id, floor(6 * random())::int AS channel_id,
             floor(exp(random() * ln(5001)))::int - 1 AS item_id, 1 + floor(8 * random())::int AS qty
      FROM bench.corr_clock c, generate_series(1, $BATCH) AS g OFFSET 0) r;
UPDATE bench.corr_clock SET now = now + interval '1 hour' * $SPAN_HOURS, next_i = next_i + $BATCH;
UPDATE bench.corr_src s SET qty = f.q, amount = (1 + s.item_id % 97) * 1.25 * f.q
FROM corr_fix f WHERE f.txn_id = s.txn_id AND f.nr <= $UPDATES;
DELETE FROM bench.corr_src s USING corr_fix f
WHERE f.txn_id = s.txn_id AND f.nr > $UPDATES AND f.nr <= $UPDATES + $DELETES;
EOF
}

# ------------------------------------------------------------ run
measured_run() {

echo "==> old engine: $OLD_HOST:$OLD_PORT, new engine: $NEW_HOST:$NEW_PORT; ROWS=$ROWS DAYS=$DAYS BATCH=$BATCH" \
     "UPDATES=$UPDATES DELETES=$DELETES SPAN_HOURS=$SPAN_HOURS REPS=$REPS"
: > "$timings"
for e in old new; do
	echo "==> $e: setup ($(elapsed))"
	setup "$e"
	for g in coarse medium; do
		echo "  $e $g: $(q "$e" "SELECT count(*) FROM segroll_data.corr_$g") cells"
	done
done

for rep in $(seq 1 "$REPS"); do
	if [ $((rep % 2)) = 1 ]; then grains="coarse medium"; else grains="medium coarse"; fi
	for kind in A B; do
		for e in old new; do
			from=$(q "$e" "SELECT max(txn_id) FROM bench.corr_src")
			if [ "$kind" = A ]; then seed=0.${rep}1; else seed=0.${rep}2; fi
			apply_batch "$e" "$kind" "$seed"
			for g in $grains; do
				record "$e" "$rep" "$kind" "$g" rollup "$(ms "$e" "SELECT segroll.rollup('corr_$g')")"
			done
			for g in $grains; do
				record "$e" "$rep" "$kind" "$g" refresh "$(ms "$e" "REFRESH MATERIALIZED VIEW bench.corr_mv_$g")"
			done
			if [ "$kind" = A ]; then
				for g in $grains; do
					record "$e" "$rep" "$kind" "$g" upsert "$(ms "$e" "$(upsert_sql "$g" "$from")")"
				done
			fi
			q "$e" "VACUUM ANALYZE" >/dev/null
		done
		echo "==> rep $rep batch $kind done ($(elapsed))"
	done
done

# ------------------------------------------------------------ exactness
checks="$out/corrections_checks.txt"
: > "$checks"
fp_sql="SELECT md5(concat_ws('|', count(*), sum(txn_id), sum(amount), sum(qty), sum(org_id), sum(channel_id),
               sum(item_id), sum(extract(epoch FROM sold_at)))) FROM bench.corr_src"
fp_old=$(q old "$fp_sql"); fp_new=$(q new "$fp_sql")
echo "source fingerprint: old $fp_old, new $fp_new" | tee -a "$checks"
[ "$fp_old" = "$fp_new" ] || { echo "the two sources differ" >&2; exit 1; }
bad_total=0
for e in old new; do
	for g in coarse medium; do
		t0=$(date +%s%N)
		bad=$(q "$e" "SELECT count(*) FROM segroll.verify('corr_$g', '-infinity', 'infinity', 'full')")
		t1=$(date +%s%N)
		# the BI view (which refuses an unknown min or max) equals the materialized view
		diff=$(q "$e" "SELECT count(*) FROM (
		          (SELECT * FROM bench.corr_mv_$g EXCEPT ALL
		           SELECT $(dims_of $g), period, count, amount_sum, amount_min, amount_max, qty_sum, qty_min, qty_max
		           FROM segroll_data.corr_${g}_v)
		          UNION ALL
		          (SELECT $(dims_of $g), period, count, amount_sum, amount_min, amount_max, qty_sum, qty_min, qty_max
		           FROM segroll_data.corr_${g}_v EXCEPT ALL SELECT * FROM bench.corr_mv_$g)) d")
		cells=$(q "$e" "SELECT count(*) FROM segroll_data.corr_$g")
		blocks=none
		if [ -n "$(q "$e" "SELECT to_regclass('segroll_data.corr_${g}_lineage')")" ]; then
			blocks=$(q "$e" "SELECT count(*) || ' blocks of ' || count(DISTINCT ($(dims_of $g), period)) || ' cells'
			                 FROM segroll_data.corr_${g}_lineage")
		fi
		line="$e $g: verify full -> $bad rows ($(( (t1 - t0) / 1000000 )) ms); BI view vs matview -> $diff rows differ; $cells cells, lineage blocks: $blocks"
		echo "$line" | tee -a "$checks"
		bad_total=$((bad_total + bad + diff))
	done
done

# ------------------------------------------------------------ report
report="$RESULTS"
psql_e new -d "$BENCH_DB" -At > "$report" <<EOF
SET client_min_messages = warning;
CREATE TEMP TABLE t (engine text, rep int, batch text, grain text, step text, ms float8);
\copy t FROM '$timings'
CREATE TEMP TABLE m AS
SELECT engine, batch, grain, step, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS med,
       string_agg(round(ms::numeric)::text, ' / ' ORDER BY rep) AS runs
FROM t GROUP BY 1, 2, 3, 4;
CREATE FUNCTION pg_temp.f(x float8) RETURNS text LANGUAGE sql AS
\$\$ SELECT CASE WHEN x IS NULL THEN '' WHEN x >= 100 THEN to_char(round(x), 'FM999G999G990') ELSE round(x::numeric, 1)::text END \$\$;
CREATE FUNCTION pg_temp.r(x float8) RETURNS text LANGUAGE sql AS
\$\$ SELECT CASE WHEN x IS NULL THEN '' WHEN x >= 10 THEN round(x::numeric)::text || '×' ELSE round(x::numeric, 2)::text || '×' END \$\$;
SELECT '# Issue 13: corrections and incremental batches, old engine (984af4a) vs new';
SELECT '';
SELECT 'Medians of $REPS repetitions, ms; REFRESH and upsert timed in the same cluster right after the roll-up.';
SELECT '';
SELECT '| grain | batch | engine | rollup | REFRESH MV | REFRESH / rollup | upsert | rollup / upsert | rollup runs |';
SELECT '|---|---|---|---:|---:|---:|---:|---:|---|';
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s |', r.grain,
              CASE r.batch WHEN 'A' THEN 'A: $BATCH inserts' ELSE 'B: mixed' END, r.engine,
              pg_temp.f(r.med), pg_temp.f(f.med), pg_temp.r(f.med / r.med),
              pg_temp.f(u.med), pg_temp.r(r.med / u.med), r.runs)
FROM m r JOIN m f ON (f.engine, f.batch, f.grain, f.step) = (r.engine, r.batch, r.grain, 'refresh')
LEFT JOIN m u ON (u.engine, u.batch, u.grain, u.step) = (r.engine, r.batch, r.grain, 'upsert')
WHERE r.step = 'rollup'
ORDER BY r.grain, r.batch, r.engine DESC;
SELECT '';
SELECT '| grain | batch | rollup old / new | goal | new |';
SELECT '|---|---|---:|---|---|';
SELECT format('| %s | %s | %s | %s | %s |', o.grain, o.batch, pg_temp.r(o.med / n.med),
              CASE o.batch WHEN 'A' THEN 'REFRESH / rollup ≥ 50×, rollup / upsert ≤ 2×' ELSE 'REFRESH / rollup ≥ 20×' END,
              CASE o.batch
              WHEN 'A' THEN format('%s, %s', CASE WHEN nf.med / n.med >= 50 THEN 'met' ELSE 'missed' END || ' (' || pg_temp.r(nf.med / n.med) || ')',
                                   CASE WHEN n.med / nu.med <= 2 THEN 'met' ELSE 'missed' END || ' (' || pg_temp.r(n.med / nu.med) || ')')
              ELSE CASE WHEN nf.med / n.med >= 20 THEN 'met' ELSE 'missed' END || ' (' || pg_temp.r(nf.med / n.med) || ')' END)
FROM m o JOIN m n ON (n.engine, n.batch, n.grain, n.step) = ('new', o.batch, o.grain, 'rollup')
JOIN m nf ON (nf.engine, nf.batch, nf.grain, nf.step) = ('new', o.batch, o.grain, 'refresh')
LEFT JOIN m nu ON (nu.engine, nu.batch, nu.grain, nu.step) = ('new', o.batch, o.grain, 'upsert')
WHERE o.engine = 'old' AND o.step = 'rollup'
ORDER BY o.grain, o.batch;
SELECT '';
SELECT 'Build (once, before the repetitions): CREATE MATERIALIZED VIEW vs create_segmentation with backfill, ms.';
SELECT '';
SELECT '| grain | engine | CREATE MATERIALIZED VIEW | create_segmentation | ratio |';
SELECT '|---|---|---:|---:|---:|';
SELECT format('| %s | %s | %s | %s | %s |', v.grain, v.engine, pg_temp.f(v.med), pg_temp.f(s.med), pg_temp.r(s.med / v.med))
FROM m v JOIN m s ON (s.engine, s.batch, s.grain, s.step) = (v.engine, 'build', v.grain, 'create_seg')
WHERE v.step = 'create_mv' ORDER BY v.grain, v.engine DESC;
SELECT '';
SELECT 'All runs (ms), in repetition order:';
SELECT '';
SELECT '| grain | batch | step | old | new |';
SELECT '|---|---|---|---|---|';
SELECT format('| %s | %s | %s | %s | %s |', o.grain, o.batch, o.step, o.runs, n.runs)
FROM m o JOIN m n ON (n.engine, n.batch, n.grain, n.step) = ('new', o.batch, o.grain, o.step)
WHERE o.engine = 'old' AND o.batch <> 'build' ORDER BY o.grain, o.batch, o.step;
EOF
{
	echo
	echo "Exactness at the end:"
	echo
	sed 's/^/    /' "$checks"
	echo
	echo "ROWS=$ROWS DAYS=$DAYS BATCH=$BATCH UPDATES=$UPDATES DELETES=$DELETES SPAN_HOURS=$SPAN_HOURS REPS=$REPS;" \
	     "$($PSQL_BIN --version | head -1); whole run $(elapsed)"
} >> "$report"
cat "$report"
}

# ------------------------------------------------------------ plans (optional)
plans() {
	local e kind g seed f
	for kind in A B; do
		if [ "$kind" = A ]; then seed=0.97; else seed=0.98; fi
		for e in $EXPLAIN; do
			apply_batch "$e" "$kind" "$seed"
			for g in coarse medium; do
				f="$out/corrections_plan_${e}_${kind}_$g.txt"
				psql_e "$e" -d "$BENCH_DB" > "$f" 2>&1 <<EOF
SET max_parallel_workers_per_gather = 0;
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_level = notice;
CHECKPOINT;
\timing on
SELECT segroll.rollup('corr_$g');
EOF
				echo "plan of a roll-up of batch $kind, $e engine, $g: $f ($(grep -o 'Time: [0-9.]* ms' "$f" | tail -1))"
			done
			q "$e" "VACUUM ANALYZE" >/dev/null
		done
	done
}

bad_total=0
if [ "$PLANS_ONLY" != 1 ]; then
	measured_run
fi
if [ -n "$EXPLAIN" ]; then
	plans
fi
[ "$bad_total" = 0 ] || { echo "EXACTNESS CHECK FAILED" >&2; exit 1; }
