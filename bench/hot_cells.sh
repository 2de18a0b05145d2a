#!/usr/bin/env bash
#
# segroll hot-cell benchmark (issue 13): what an incremental roll-up of a
# small batch costs when the cells it lands in are large.
#
#   bench/hot_cells.sh
#
# Environment (defaults in brackets):
#   REPS        measured roll-ups per size, after one warm-up [7]
#   SIZES       rows in the hot cells (all 8 together) at which to measure,
#               ascending [0 100000 500000 800000 1000000 2000000 5000000
#               10000000 16000000]: 800 000 and 16 000 000 are 100 000 and
#               2 000 000 rows per cell
#   OLD_MAX     largest size measured with everything inline
#               (segroll.inline_lineage_limit = 2147483647, the behaviour of
#               the engine before lineage blocks); 0 skips it [2000000]
#   BATCH       rows per measured roll-up [1000]
#   FILL_BATCH  rows per insert + roll-up while filling [1000000]
#   STALE       rows inserted and rolled up after the last size, with no
#               VACUUM of the source, before one more measurement (the BRIN
#               index on segroll_seq then has unsummarized ranges); 0 skips
#               it [1000000]
#   PLANS=1     log the plans of one more roll-up per engine at its largest
#               size, and after STALE (auto_explain, ANALYZE, BUFFERS), to
#               bench/out/hot_cells_plan_<engine>.txt [0]
#   BENCH_DB    database, dropped and created [hotbench]
#   PGBIN       PostgreSQL client binaries [pg_config --bindir]
#   PGHOST PGPORT PGUSER  [/tmp/benchC 5498 postgres]; a superuser, with
#               segroll installed in that server
#
# Data: a source hot.src (bigint key with random gaps, key = n*8 + 0..7;
# sold_at in ONE day, 1 ms apart, increasing with the key; org 0..3;
# channel 0..1; amount numeric(12,2); qty 1..8) and the segmentation 'hot'
# (org x channel x day, Asia/Seoul, sum(amount), qty, with lineage,
# schedule manual): 8 hot cells.  The cells are filled in FILL_BATCH steps
# (insert, then segroll.rollup) to each size N of SIZES; then VACUUM
# ANALYZE, CHECKPOINT, and 1 + REPS times:
#   - insert BATCH new rows into the same day (keys increasing), committed;
#   - time SELECT segroll.rollup('hot') alone (clock_timestamp() around the
#     statement, server side) and the WAL it writes
#     (pg_current_wal_insert_lsn() before and after: every record inserted,
#     commit included);
#   - the same for a hand-written summary table (org, channel, day, count,
#     sum amount, sum qty) kept with INSERT ... SELECT ... GROUP BY ... ON
#     CONFLICT DO UPDATE of the same BATCH rows (read by key range).
# The first round after the CHECKPOINT is reported apart (it writes full-page
# images); medians of the REPS rounds after it.  Autovacuum is off for the
# benchmark's tables (explicit VACUUM ANALYZE after each fill) so that no
# vacuum runs, or writes WAL, inside a measurement.  With OLD_MAX > 0 the
# same is done, interleaved size by size, for a second source hot.src_old
# and segmentation 'hot_old' rolled up with segroll.inline_lineage_limit =
# 2147483647 (every cell inline).  With STALE > 0, a last measurement of
# 'hot' after STALE more rows were inserted and rolled up with no VACUUM of
# the source since (what a roll-up reads depends on the rows appended since
# the BRIN index on segroll_seq was last summarized).  At the end:
# segroll.verify(..., 'full') of both segmentations, and the cells compared
# with the summary tables.  The defaults take 2.5-4.5 minutes on 2 cores.
# Results: bench/out/hot_cells_results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
REPS=${REPS:-7}
SIZES=${SIZES:-"0 100000 500000 800000 1000000 2000000 5000000 10000000 16000000"}
OLD_MAX=${OLD_MAX:-2000000}
BATCH=${BATCH:-1000}
FILL_BATCH=${FILL_BATCH:-1000000}
PLANS=${PLANS:-0}
STALE=${STALE:-1000000}
BENCH_DB=${BENCH_DB:-hotbench}
export PGHOST=${PGHOST:-/tmp/benchC} PGPORT=${PGPORT:-5498} PGUSER=${PGUSER:-postgres}
PGBIN=${PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -d $BENCH_DB"
OLD_LIMIT=2147483647
t_start=$(date +%s)

q() { $PSQL -At -c "$1"; }
log() { echo "[$(( $(date +%s) - t_start ))s] $*"; }

# ------------------------------------------------------------ setup
$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -d postgres <<EOF
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $BENCH_DB;
CREATE DATABASE $BENCH_DB;
EOF
$PSQL <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION segroll;
CREATE SCHEMA hot;
-- one row per timed statement; unlogged, so recording writes no WAL
CREATE UNLOGGED TABLE hot.timing (engine text, n bigint, rep int, what text, ms float8, wal bigint, applied bigint);
CREATE UNLOGGED TABLE hot.fill (engine text, n bigint, insert_ms float8, rollup_ms float8, vacuum_ms float8, analyze_ms float8);
CREATE UNLOGGED TABLE hot.sizes (engine text, n bigint, cells_bytes bigint, lineage_bytes bigint, lineage_rows bigint);

/* The next cnt rows of a source: key = g*8 + 0..7, sold_at 1 ms apart in
   2024-03-15 (Asia/Seoul), keys and times increasing; returns the key range. */
CREATE FUNCTION hot.add(src regclass, cnt bigint, OUT lo bigint, OUT hi bigint)
LANGUAGE plpgsql AS $$
DECLARE
	g0 bigint;
BEGIN
	EXECUTE format('SELECT coalesce(max(id) / 8, 0) + 1 FROM %s', src) INTO g0;
	EXECUTE format($i$INSERT INTO %s (id, sold_at, org, channel, amount, qty)
		SELECT g * 8 + floor(random() * 8)::int,
		       timestamptz '2024-03-15 00:00:00+09' + g * interval '1 ms',
		       floor(random() * 4)::int, floor(random() * 2)::int,
		       round((random() * 1000)::numeric, 2), 1 + floor(random() * 8)::int
		FROM generate_series($1, $2) g$i$, src) USING g0, g0 + cnt - 1;
	lo := g0 * 8;
	hi := (g0 + cnt - 1) * 8 + 7;
END $$;

CREATE FUNCTION hot.make(src text, seg text, summary text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE %s (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int NOT NULL,
	                channel int NOT NULL, amount numeric(12,2) NOT NULL, qty int NOT NULL)', src);
	EXECUTE format('CREATE TABLE %s (org int, channel int, day timestamptz, n bigint, amount numeric, qty bigint,
	                PRIMARY KEY (org, channel, day))', summary);
	PERFORM segroll.create_segmentation(name => seg, source => src::regclass, key => 'id', time_col => 'sold_at',
		grain => 'day', time_zone => 'Asia/Seoul', dimensions => '{org, channel}',
		measures => '{sum(amount), qty}', schedule => 'manual');
	-- no autovacuum inside a measurement: VACUUM ANALYZE after each fill
	EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', src);
	EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', summary);
	EXECUTE format('ALTER TABLE segroll_data.%I SET (autovacuum_enabled = false)', seg);
	EXECUTE format('ALTER TABLE segroll_data.%I SET (autovacuum_enabled = false)', seg || '_lineage');
	EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)',
	               (SELECT change_log FROM segroll.source WHERE relid = src::regclass));
END $$;
SELECT hot.make('hot.src', 'hot', 'hot.summary') \g /dev/null
EOF
[ "$OLD_MAX" -gt 0 ] && q "SELECT hot.make('hot.src_old', 'hot_old', 'hot.summary_old')" >/dev/null
version=$(q "SELECT extversion FROM pg_extension WHERE extname = 'segroll'")
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$here" status --porcelain -- ../sql ../src 2>/dev/null | head -1)
log "segroll $version (commit $commit${dirty:+, modified}), REPS=$REPS, BATCH=$BATCH, SIZES=$SIZES, OLD_MAX=$OLD_MAX"

# engine -> segmentation, source, summary, session settings
# (stale: the segmentation 'hot' again, measured without the VACUUM first)
seg_of() { [ "$1" = old ] && echo hot_old || echo hot; }
src_of() { [ "$1" = old ] && echo hot.src_old || echo hot.src; }
sum_of() { [ "$1" = old ] && echo hot.summary_old || echo hot.summary; }
set_of() {
	echo "SET client_min_messages = warning;"
	[ "$1" = old ] && echo "SET segroll.inline_lineage_limit = $OLD_LIMIT;"
	return 0
}
upsert_sql() {	# $1 summary, $2 source: the BATCH rows in :lo .. :hi
	echo "INSERT INTO $1 AS t (org, channel, day, n, amount, qty)
SELECT org, channel, date_trunc('day', sold_at, 'Asia/Seoul'), count(*), sum(amount), sum(qty)
FROM $2 WHERE id BETWEEN :lo AND :hi GROUP BY 1, 2, 3
ON CONFLICT (org, channel, day) DO UPDATE
SET n = t.n + excluded.n, amount = t.amount + excluded.amount, qty = t.qty + excluded.qty;"
}

# fill <engine> <N> [vacuum]: insert and roll up in FILL_BATCH steps until
# the source holds N rows, then VACUUM ANALYZE (unless vacuum = 0) and
# CHECKPOINT
fill() {
	local e=$1 n=$2 vac=${3:-1} seg src sum cur step
	seg=$(seg_of "$e"); src=$(src_of "$e"); sum=$(sum_of "$e")
	cur=$(q "SELECT count(*) FROM $src")
	while [ "$cur" -lt "$n" ]; do
		step=$(( n - cur < FILL_BATCH ? n - cur : FILL_BATCH ))
		$PSQL -At <<EOF
$(set_of "$e")
SELECT clock_timestamp() AS t0 \gset
SELECT lo, hi FROM hot.add('$src', $step) \gset
SELECT clock_timestamp() AS t1 \gset
SELECT segroll.rollup('$seg') AS applied \gset
SELECT clock_timestamp() AS t2 \gset
$(upsert_sql "$sum" "$src")
INSERT INTO hot.fill VALUES ('$e', $cur + $step, 1000 * extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
                             1000 * extract(epoch FROM :'t2'::timestamptz - :'t1'::timestamptz), NULL, NULL);
EOF
		cur=$(( cur + step ))
	done
	[ "$vac" = 1 ] && $PSQL -At <<EOF
SET client_min_messages = warning;
SELECT clock_timestamp() AS t0 \gset
VACUUM ANALYZE $src, $sum, segroll_data.$seg;
VACUUM segroll_data.${seg}_lineage;
SELECT clock_timestamp() AS t1 \gset
ANALYZE segroll_data.${seg}_lineage;
INSERT INTO hot.fill VALUES ('$e', $cur, NULL, NULL, 1000 * extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
                             1000 * extract(epoch FROM clock_timestamp() - :'t1'::timestamptz));
EOF
	$PSQL -At <<EOF
INSERT INTO hot.sizes SELECT '$e', $cur, pg_total_relation_size('segroll_data.$seg'),
	pg_total_relation_size('segroll_data.${seg}_lineage'), (SELECT count(*) FROM segroll_data.${seg}_lineage);
CHECKPOINT;
EOF
}

# measure <engine> <N>: 1 + REPS rounds of insert BATCH rows, rollup, upsert
measure() {
	local e=$1 n=$2 seg src sum r
	seg=$(seg_of "$e"); src=$(src_of "$e"); sum=$(sum_of "$e")
	{
		set_of "$e"
		for r in $(seq 0 "$REPS"); do
			cat <<EOF
SELECT lo, hi FROM hot.add('$src', $BATCH) \gset
SELECT pg_current_wal_insert_lsn() AS l0, clock_timestamp() AS t0 \gset
SELECT segroll.rollup('$seg') AS applied \gset
SELECT pg_current_wal_insert_lsn() AS l1, clock_timestamp() AS t1 \gset
INSERT INTO hot.timing VALUES ('$e', $n, $r, 'rollup', 1000 * extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
                               pg_wal_lsn_diff(:'l1', :'l0'), :applied);
SELECT pg_current_wal_insert_lsn() AS l0, clock_timestamp() AS t0 \gset
$(upsert_sql "$sum" "$src")
SELECT pg_current_wal_insert_lsn() AS l1, clock_timestamp() AS t1 \gset
INSERT INTO hot.timing VALUES ('$e', $n, $r, 'upsert', 1000 * extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
                               pg_wal_lsn_diff(:'l1', :'l0'), $BATCH);
SELECT pg_current_wal_insert_lsn() AS l0, clock_timestamp() AS t0 \gset
SELECT 1 \g /dev/null
SELECT pg_current_wal_insert_lsn() AS l1, clock_timestamp() AS t1 \gset
INSERT INTO hot.timing VALUES ('$e', $n, $r, 'noop', 1000 * extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz),
                               pg_wal_lsn_diff(:'l1', :'l0'), 0);
EOF
		done
	} | $PSQL -At
	q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ms, '
	          || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY wal)::numeric / 1024, 1) || ' kB WAL'
	   FROM hot.timing WHERE engine = '$e' AND n = $n AND what = 'rollup' AND rep > 0"
}

for n in $SIZES; do
	for e in new old; do
		[ "$e" = old ] && [ "$n" -gt "$OLD_MAX" ] && continue
		log "$e: filling to $n rows"
		fill "$e" "$n"
		log "$e: measuring at $n rows: $(measure "$e" "$n")"
	done
done

# ------------------------------------------------------------ plans (optional)
# plans <engine>: one warm-up round in a new session, then one more roll-up
# (and upsert) with auto_explain, every nested statement, ANALYZE, BUFFERS
plans() {
	local e=$1 seg src sum
	seg=$(seg_of "$e"); src=$(src_of "$e"); sum=$(sum_of "$e")
	$PSQL -At > "$out/hot_cells_plan_$e.txt" 2>&1 <<EOF
$(set_of "$e")
SELECT lo, hi FROM hot.add('$src', $BATCH) \gset
SELECT segroll.rollup('$seg') \g /dev/null
$(upsert_sql "$sum" "$src")
SELECT lo, hi FROM hot.add('$src', $BATCH) \gset
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET client_min_messages = log;
SELECT segroll.rollup('$seg');
$(upsert_sql "$sum" "$src")
EOF
	log "plans of one roll-up ($e) in bench/out/hot_cells_plan_$e.txt"
}
if [ "$PLANS" = 1 ]; then
	plans new
	[ "$OLD_MAX" -gt 0 ] && plans old
fi

# ------------------------------------------------------------ stale (optional)
if [ "$STALE" -gt 0 ]; then
	n=$(( $(q "SELECT count(*) FROM hot.src") + STALE ))
	log "stale: filling to $n rows, no VACUUM"
	fill stale "$n" 0
	log "stale: measuring at $n rows, $STALE of them since the last VACUUM: $(measure stale "$n")"
	[ "$PLANS" = 1 ] && plans stale
fi

# ------------------------------------------------------------ correctness
log "verify (full) and the cells against the summary tables"
bad_new=$(q "SELECT count(*) FROM segroll.verify('hot', '-infinity', 'infinity', 'full')")
diff_new=$(q "SELECT count(*) FROM ((SELECT org, channel, period, count, amount_sum, qty_sum FROM segroll_data.hot_v
                                    EXCEPT ALL SELECT org, channel, day, n, amount, qty FROM hot.summary)
                                   UNION ALL (SELECT org, channel, day, n, amount, qty FROM hot.summary
                                    EXCEPT ALL SELECT org, channel, period, count, amount_sum, qty_sum FROM segroll_data.hot_v)) d")
rows_new=$(q "SELECT count(*) FROM hot.src")
if [ "$OLD_MAX" -gt 0 ]; then
	bad_old=$(q "SET segroll.inline_lineage_limit = $OLD_LIMIT; SELECT count(*) FROM segroll.verify('hot_old', '-infinity', 'infinity', 'full')")
	rows_old=$(q "SELECT count(*) FROM hot.src_old")
fi
log "verify hot: $bad_new; cells vs summary: $diff_new rows differ${bad_old:+; verify hot_old: $bad_old}"

# ------------------------------------------------------------ report
res="$out/hot_cells_results.md"
{
	echo "# Hot cells (issue 13): bench/hot_cells.sh"
	echo
	echo "segroll $version, commit $commit${dirty:+ (sql/ or src/ modified)}; $($PSQL -At -c "SELECT split_part(version(), ' on ', 1)");"
	echo "shared_buffers $(q "SHOW shared_buffers"), max_wal_size $(q "SHOW max_wal_size"), checkpoint_timeout $(q "SHOW checkpoint_timeout");"
	echo "REPS=$REPS (after one warm-up round), BATCH=$BATCH rows per roll-up, FILL_BATCH=$FILL_BATCH; $(date -u +%Y-%m-%d), $(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "N = rows in the 8 hot cells together (one day, org 0..3 x channel 0..1), so a cell holds about N/8."
	echo "WAL: pg_current_wal_insert_lsn() before and after the one statement (commit record included)."
	echo "Times: clock_timestamp() in the statements just before and after, server side, in one session per size; the same bracket around \`SELECT 1\` takes $(q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) FROM hot.timing WHERE what = 'noop' AND rep > 0") ms (median), included in every figure."
	echo
	echo "## Roll-up of $BATCH rows into the 8 hot cells vs a hand-written summary upsert"
	echo
	$PSQL -At <<'EOF'
WITH s AS (
	SELECT engine, n, what,
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms, min(ms) AS lo, max(ms) AS hi,
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY wal) / 1024.0 AS kb
	FROM hot.timing WHERE rep > 0 AND what <> 'noop' GROUP BY 1, 2, 3
), r AS (
	SELECT x.engine, x.n, x.ms, x.lo, x.hi, x.kb, u.ms AS ums, u.kb AS ukb,
	       x.ms / nullif((SELECT b.ms FROM s b WHERE b.engine = replace(x.engine, 'stale', 'new') AND b.what = 'rollup' AND b.n = 100000), 0) AS rel,
	       x.ms / nullif((SELECT b.ms FROM s b WHERE b.engine = replace(x.engine, 'stale', 'new') AND b.what = 'rollup' AND b.n = 800000), 0) AS rel8
	FROM s x JOIN s u ON u.engine = x.engine AND u.n = x.n AND u.what = 'upsert'
	WHERE x.what = 'rollup'
)
SELECT line FROM (
	SELECT 0 AS o, '' AS e, 0 AS n, '| engine | N | rows per cell | rollup ms, median (min–max) | rollup WAL kB | upsert ms | upsert WAL kB | rollup / upsert (time) | rollup ms vs N = 100 000 | vs N = 800 000 (100 000 per cell) |' AS line
	UNION ALL SELECT 1, '', 0, '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
	UNION ALL
	SELECT 2, CASE engine WHEN 'old' THEN 'z' ELSE engine END, n,
	       '| ' || CASE engine WHEN 'new' THEN 'blocks (default)' WHEN 'old' THEN 'all inline'
	                           ELSE 'blocks, ' || to_char(n - (SELECT max(n) FROM hot.timing WHERE engine = 'new'), 'FM99G999G999')
	                                || ' rows since the last VACUUM' END
	       || ' | ' || to_char(n, 'FM99G999G999') || ' | ' || to_char(n / 8, 'FM99G999G999')
	       || ' | ' || round(ms::numeric, 1) || ' (' || round(lo::numeric, 1) || '–' || round(hi::numeric, 1) || ')'
	       || ' | ' || round(kb::numeric, 1) || ' | ' || round(ums::numeric, 2) || ' | ' || round(ukb::numeric, 1)
	       || ' | ' || round((ms / ums)::numeric, 1) || '×'
	       || ' | ' || coalesce(round(rel::numeric, 2) || '×', '–') || ' | ' || coalesce(round(rel8::numeric, 2) || '×', '–') || ' |'
	FROM r
) t ORDER BY o, e, n;
EOF
	echo
	# the upsert does the same work at every size: where its median is far
	# above its best, the machine was busy during that measurement
	$PSQL -At <<'EOF'
WITH u AS (
	SELECT engine, n, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
	FROM hot.timing WHERE rep > 0 AND what = 'upsert' GROUP BY 1, 2
)
SELECT 'Control: the upsert does the same work at every size (fastest median ' || round(min(ms)::numeric, 2) || ' ms). '
       || coalesce('Measurements where its median was over 1.5 times that, so the machine was busy (read the ratio column there): '
                   || string_agg(engine || ' at ' || to_char(n, 'FM99G999G999') || ' (' || round(ms::numeric, 2) || ' ms)', ', ' ORDER BY engine, n)
                   FILTER (WHERE ms > 1.5 * (SELECT min(ms) FROM u)) || '.',
                   'None was over 1.5 times that.')
FROM u;
EOF
	echo
	echo "## First round after the CHECKPOINT that follows each fill (not in the medians)"
	echo
	echo "| engine | N | rollup ms | rollup WAL kB | upsert ms | upsert WAL kB |"
	echo "|---|---:|---:|---:|---:|---:|"
	$PSQL -At <<'EOF'
SELECT '| ' || x.engine || ' | ' || to_char(x.n, 'FM99G999G999') || ' | ' || round(x.ms::numeric, 1) || ' | ' || round(x.wal / 1024.0, 1)
       || ' | ' || round(u.ms::numeric, 2) || ' | ' || round(u.wal / 1024.0, 1) || ' |'
FROM hot.timing x JOIN hot.timing u ON u.engine = x.engine AND u.n = x.n AND u.rep = 0 AND u.what = 'upsert'
WHERE x.rep = 0 AND x.what = 'rollup' ORDER BY x.engine, x.n;
EOF
	echo
	echo "## Every measured round (ms / WAL kB)"
	echo
	echo "| engine | N | what | rounds 1..$REPS |"
	echo "|---|---:|---|---|"
	$PSQL -At <<'EOF'
SELECT '| ' || engine || ' | ' || to_char(n, 'FM99G999G999') || ' | ' || what || ' | '
       || string_agg(round(ms::numeric, 1) || ' / ' || round(wal / 1024.0, 1), ', ' ORDER BY rep) || ' |'
FROM hot.timing WHERE rep > 0 AND what <> 'noop' GROUP BY engine, n, what ORDER BY engine, n, what;
EOF
	echo
	echo "## Fill (insert + roll-up in steps of $FILL_BATCH rows, then VACUUM ANALYZE) and sizes"
	echo
	echo "| engine | N | insert s | roll-up s | VACUUM (ANALYZE) s | ANALYZE of the lineage table s | cells table | lineage table | lineage blocks |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	$PSQL -At <<'EOF'
WITH f AS (
	SELECT engine, max(n) AS n, sum(insert_ms) / 1000 AS ins, sum(rollup_ms) / 1000 AS rol, sum(vacuum_ms) / 1000 AS vac,
	       sum(analyze_ms) / 1000 AS ana
	FROM (SELECT f.*, (SELECT min(z.n) FROM hot.sizes z WHERE z.engine = f.engine AND z.n >= f.n) AS step FROM hot.fill f) f
	GROUP BY engine, step
)
SELECT '| ' || f.engine || ' | ' || to_char(f.n, 'FM99G999G999') || ' | ' || coalesce(round(f.ins::numeric, 1)::text, '–')
       || ' | ' || coalesce(round(f.rol::numeric, 1)::text, '–') || ' | ' || coalesce(round(f.vac::numeric, 1)::text, '–') || ' | ' || coalesce(round(f.ana::numeric, 1)::text, '–')
       || ' | ' || pg_size_pretty(z.cells_bytes) || ' | ' || pg_size_pretty(z.lineage_bytes) || ' | ' || z.lineage_rows || ' |'
FROM f JOIN hot.sizes z ON z.engine = f.engine AND z.n = f.n ORDER BY f.engine, f.n;
EOF
	echo
	echo "## Correctness at the end"
	echo
	echo "- \`SELECT count(*) FROM segroll.verify('hot', '-infinity', 'infinity', 'full')\` = **$bad_new** ($rows_new source rows)"
	echo "- cells of 'hot' (\`segroll_data.hot_v\`) against the summary table: $diff_new rows differ"
	[ "$OLD_MAX" -gt 0 ] && echo "- \`segroll.verify('hot_old', ..., 'full')\` = **$bad_old** ($rows_old source rows)"
	if [ "$PLANS" = 1 ]; then
		echo
		echo "## Plans (PLANS=1): one roll-up per engine, auto_explain with ANALYZE and BUFFERS"
		echo
		echo "Full logs in bench/out/hot_cells_plan_<engine>.txt (not committed).  Statements over 1 ms, and how the"
		echo "window's new rows were read from the source:"
		for f in "$out"/hot_cells_plan_*.txt; do
			echo
			echo "$(basename "$f"):"
			echo
			echo '```'
			grep -A1 "duration: [1-9]" "$f" | grep -v "^--" | sed "s/  plan:$//" | sed "s/^Query Text: $/Query Text: (apply_sql, the generated window statement)/" | cut -c1-110
			grep -m1 -A7 "Bitmap Heap Scan on src" "$f" | grep "Bitmap\|Heap Blocks\|Rows Removed\|Buffers" | sed 's/^ *//' | cut -c1-160
			echo '```'
		done
	fi
	echo
	echo "Total run time: $(( $(date +%s) - t_start )) s."
} > "$res"
cat "$res"
[ "$bad_new" = 0 ] && [ "$diff_new" = 0 ] && [ "${bad_old:-0}" = 0 ] || { echo "verify found discrepancies" >&2; exit 1; }
