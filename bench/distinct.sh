#!/usr/bin/env bash
#
# segroll benchmark, issue 17: distinct measures (distinct_hash(column) in a
# segment) side by side with postgresql-hll (Debian postgresql-15-hll, for
# this comparison only: segroll does not depend on it) and exact
# count(DISTINCT).
#
#   bench/distinct.sh
#
# Needs a PostgreSQL 15 cluster with segroll and hll installed, run as a
# superuser.  Measures:
#   1. relative error (median and 99th percentile over CELLS cells) and
#      bytes per cell at each size N, segroll against hll at log2m 14 and
#      regwidth 5 (relative standard error 1.04 / sqrt(2^14) = 0.81 %, the
#      same as segroll's 2^14 registers); cells of one size draw disjoint
#      values, so they are independent;
#   2. merging a month of day cells per group (segroll.merge against
#      hll_union_agg), medians over REPS runs, and the ratio of each run;
#   3. building day cells with one distinct measure against the same build
#      without it (segment_agg(id, ts, amount[, distinct_hash(customer)])),
#      as planned, in one process (as segroll's build, an INSERT ... SELECT,
#      runs), with hash aggregation for all three (enable_sort off) and
#      with sorting for all three (enable_hashagg off): the planner
#      overestimates the groups, 200 000 for 1 500, expects the hash table
#      to spill, and as the input gets wider it picks a sort (see
#      docs/benchmarks.md); each repetition runs the variants in turn.
# Times are measured in the server (clock_timestamp around EXECUTE).
#
# Environment (defaults in brackets):
#   SIZES     distinct values per cell ["100 1000 10000 100000 1000000 10000000"]
#   CELLS     cells per size, for sizes up to 100 000 [200]; 1 000 000: 20;
#             10 000 000: 3
#   REPS      repetitions of each timed query [5]
#   NGROUPS   groups of the merge test [200], DAYROWS rows a day and group [5000]
#   BUILDROWS rows of the build test [2000000]
#   BENCH_DB  database (dropped and created) [distinctbench]
#   PGHOST PGPORT PGUSER   the cluster [/tmp/t17-sock 5542 postgres]
#   PSQL      psql [psql]
#   RESULTS   results file [bench/out/distinct_results.md]
#   SECTIONS  which of the sections above to run ["1 2 3"]
set -euo pipefail
SIZES=${SIZES:-"100 1000 10000 100000 1000000 10000000"}
CELLS=${CELLS:-200}
REPS=${REPS:-5}
NGROUPS=${NGROUPS:-200}
DAYROWS=${DAYROWS:-5000}
BUILDROWS=${BUILDROWS:-2000000}
BENCH_DB=${BENCH_DB:-distinctbench}
export PGHOST=${PGHOST:-/tmp/t17-sock} PGPORT=${PGPORT:-5542} PGUSER=${PGUSER:-postgres}
PSQL=${PSQL:-psql}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RESULTS=${RESULTS:-$HERE/out/distinct_results.md}
SECTIONS=" ${SECTIONS:-1 2 3} "
section() { [[ $SECTIONS == *" $1 "* ]]; }
mkdir -p "$(dirname "$RESULTS")"

q() { "$PSQL" -X -v ON_ERROR_STOP=1 -qAt -d "$BENCH_DB" "$@"; }

"$PSQL" -X -qAt -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB"
q <<'SQL'
CREATE EXTENSION segroll;
CREATE EXTENSION hll;
SET hll.force_groupagg = off;
-- milliseconds one statement takes in the server
CREATE FUNCTION bench_ms(stmt text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE stmt;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
CREATE TABLE err (n bigint, cell int, seg_est bigint, seg_bytes int, base_bytes int, hll_est float8, hll_bytes int);
SQL

{
echo "# Issue 17: distinct counts ($(date -u +%Y-%m-%d), $(q -c 'SELECT version()' | cut -d, -f1))"
echo
} > "$RESULTS"

if section 1; then
{
echo '## 1. Relative error and bytes per cell'
echo
} >> "$RESULTS"
for n in $SIZES; do
	cells=$CELLS
	[ "$n" -ge 1000000 ] && cells=20
	[ "$n" -ge 10000000 ] && cells=3
	q <<SQL
INSERT INTO err
SELECT $n, c, segroll.distinct(s, 1), segroll.stored_size(s)::int, segroll.stored_size(b)::int, hll_cardinality(h), pg_column_size(h)
FROM generate_series(1, $cells) c
CROSS JOIN LATERAL (
	SELECT segroll.segment_agg_nolineage(g, '2026-01-01', segroll.distinct_hash(v)) AS s,
	       segroll.segment_agg_nolineage(g, '2026-01-01') AS b,
	       hll_add_agg(hll_hash_bigint(v), 14, 5) AS h
	FROM (SELECT g, c::bigint * 100000000000 + g AS v FROM generate_series(1, $n) g) x) y;
SQL
done
{
echo '| distinct values | cells | segroll median error | segroll p99 error | hll median error | hll p99 error | segroll bytes (median) | of which the distinct measure | hll bytes (median) |'
echo '|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
q -F' | ' <<'SQL'
SELECT '| ' || n, count(*),
       round(100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(seg_est - n)::float8 / n)::numeric, 3) || ' %',
       round(100 * percentile_cont(0.99) WITHIN GROUP (ORDER BY abs(seg_est - n)::float8 / n)::numeric, 3) || ' %',
       round(100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(hll_est - n) / n)::numeric, 3) || ' %',
       round(100 * percentile_cont(0.99) WITHIN GROUP (ORDER BY abs(hll_est - n) / n)::numeric, 3) || ' %',
       percentile_disc(0.5) WITHIN GROUP (ORDER BY seg_bytes),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY seg_bytes - base_bytes),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY hll_bytes) || ' |'
FROM err GROUP BY n ORDER BY n;
SQL
echo
echo "Over all sizes from 1 000 up: segroll median $(q -c "SELECT round(100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(seg_est - n)::float8 / n)::numeric, 3) FROM err WHERE n >= 1000") %, p99 $(q -c "SELECT round(100 * percentile_cont(0.99) WITHIN GROUP (ORDER BY abs(seg_est - n)::float8 / n)::numeric, 3) FROM err WHERE n >= 1000") %; hll median $(q -c "SELECT round(100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(hll_est - n) / n)::numeric, 3) FROM err WHERE n >= 1000") %, p99 $(q -c "SELECT round(100 * percentile_cont(0.99) WITHIN GROUP (ORDER BY abs(hll_est - n) / n)::numeric, 3) FROM err WHERE n >= 1000") %."
echo
} >> "$RESULTS"
fi

# 2. merge of a month of day cells
if section 2; then
q <<SQL
CREATE TABLE days AS
SELECT grp, day, segroll.segment_agg_nolineage(g, '2026-01-01', segroll.distinct_hash(v)) AS seg,
       hll_add_agg(hll_hash_bigint(v), 14, 5) AS h
FROM (SELECT g, g % $NGROUPS AS grp, (g / $NGROUPS) % 30 AS day, (g % ($NGROUPS * 30 * $DAYROWS / 3))::bigint AS v
      FROM generate_series(1, $NGROUPS * 30 * $DAYROWS) g) x
GROUP BY grp, day;
VACUUM ANALYZE days;
CREATE TABLE merge_ms (rep int, seg_ms float8, hll_ms float8);
SQL
for r in $(seq 1 "$REPS"); do
	q -c "INSERT INTO merge_ms SELECT $r,
	        bench_ms('SELECT count(*) FROM (SELECT grp, segroll.merge(seg) AS m FROM days GROUP BY grp) x WHERE m IS NOT NULL'),
	        bench_ms('SELECT count(*) FROM (SELECT grp, hll_union_agg(h) AS m FROM days GROUP BY grp) x WHERE m IS NOT NULL')"
done
{
echo "## 2. Merge of a month of day cells"
echo
echo "$NGROUPS groups x 30 day cells, $DAYROWS rows a day and group; day cells mostly sketches of $(q -c "SELECT round(avg(segroll.distinct(seg, 1))) FROM days") distinct values (segroll: $(q -c "SELECT round(avg(segroll.stored_size(seg))) FROM days") bytes, hll: $(q -c "SELECT round(avg(pg_column_size(h))) FROM days") bytes a cell); the month of a group has about $(q -c "SELECT round(avg(segroll.distinct(m, 1))) FROM (SELECT segroll.merge(seg) m FROM days GROUP BY grp) x") distinct values."
echo
echo '| | segroll.merge | hll_union_agg | ratio (segroll / hll, same run) |'
echo '|---|---:|---:|---:|'
q -F' | ' -c "SELECT '| median of $REPS runs (ms)', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seg_ms)::numeric, 1),
                      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY hll_ms)::numeric, 1),
                      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seg_ms / hll_ms)::numeric, 2) || ' |' FROM merge_ms"
echo
echo "The months agree: segroll's estimate and hll's differ by at most $(q -c "SELECT round(100 * max(abs(segroll.distinct(m, 1) - c) / c)::numeric, 2) FROM (SELECT segroll.merge(seg) m, hll_cardinality(hll_union_agg(h)) c FROM days GROUP BY grp) x") % of hll's."
echo
} >> "$RESULTS"
fi

# 3. build with and without a distinct measure
if section 3; then
q <<SQL
CREATE TABLE sales AS
SELECT g AS id, '2026-11-01'::timestamptz + (g % 30) * interval '1 day' + (g % 86400) * interval '1 second' AS ts,
       (g / 30) % 50 AS store, (g % 100)::numeric(12,2) AS amount, (hashint8(g) % 200000)::bigint AS customer, g % 97 AS regular
FROM generate_series(1, $BUILDROWS) g;
VACUUM ANALYZE sales;
CREATE TABLE build_ms (rep int, plan text, plain_ms float8, distinct_ms float8, exact_ms float8);
SQL
# $2: as planned (a), in one process (p: as segroll's build runs, an INSERT ... SELECT
# having no parallel plan), hash aggregation (h: enable_sort off) or sorting
# (s: enable_hashagg off) for all three
build_rep() {
	q -c "SET enable_sort = $([ "$2" = h ] && echo off || echo on)" -c "SET enable_hashagg = $([ "$2" = s ] && echo off || echo on)" \
	  -c "SET max_parallel_workers_per_gather = $([ "$2" = p ] && echo 0 || echo 2)" \
	  -c "INSERT INTO build_ms SELECT $1, CASE '$2' WHEN 'a' THEN '1. as planned' WHEN 'p' THEN '2. as planned, one process (max_parallel_workers_per_gather 0)'
	                                               WHEN 'h' THEN '3. hash aggregation (enable_sort off)' ELSE '4. sorting (enable_hashagg off)' END,
	        bench_ms('SELECT count(*) FROM (SELECT store, date_trunc(''day'', ts), segroll.segment_agg(id, ts, amount) AS s FROM sales GROUP BY 1, 2) x WHERE s IS NOT NULL'),
	        bench_ms('SELECT count(*) FROM (SELECT store, date_trunc(''day'', ts), segroll.segment_agg(id, ts, amount, segroll.distinct_hash(customer)) AS s FROM sales GROUP BY 1, 2) x WHERE s IS NOT NULL'),
	        bench_ms('SELECT count(*) FROM (SELECT store, date_trunc(''day'', ts), segroll.segment_agg(id, ts, amount, segroll.distinct_hash(regular)) AS s FROM sales GROUP BY 1, 2) x WHERE s IS NOT NULL')"
}
for r in $(seq 1 "$REPS"); do
	build_rep "$r" a
	build_rep "$r" p
	build_rep "$r" h
	build_rep "$r" s
done
plan_of() {
	q -c "SET enable_sort = $1" -c "SET enable_hashagg = ${3:-on}" -c "SET max_parallel_workers_per_gather = ${4:-2}" -c "EXPLAIN (COSTS OFF) SELECT count(*) FROM (SELECT store, date_trunc('day', ts), segroll.segment_agg(id, ts, amount$2) AS s FROM sales GROUP BY 1, 2) x WHERE s IS NOT NULL" |
		grep -Eo '(Partial |Finalize )?(HashAggregate|GroupAggregate)$|Sort$' | paste -sd';' | sed 's/;/ > /g'
}
{
echo "## 3. Building cells with one distinct measure"
echo
echo "$BUILDROWS rows into 50 stores x 30 days ($(q -c "SELECT round(avg(n)) FROM (SELECT count(*) n FROM sales GROUP BY store, date_trunc('day', ts)) x") rows and about as many distinct customers a cell: sketches), with lineage; the planner estimates $(q -c "EXPLAIN SELECT store, date_trunc('day', ts) FROM sales GROUP BY 1, 2" | grep -m1 -Eo 'rows=[0-9]+' | cut -d= -f2) groups."
echo
echo '| | without | with distinct(customer): sketches | ratio (same run) | with distinct(regular): 97 values, exact sets | ratio (same run) |'
echo '|---|---:|---:|---:|---:|---:|'
q -F' | ' -c "SELECT '| ' || plan || ', median of $REPS runs (ms)', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY plain_ms)::numeric, 1),
                      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY distinct_ms)::numeric, 1),
                      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY distinct_ms / plain_ms)::numeric, 2),
                      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY exact_ms)::numeric, 1),
                      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY exact_ms / plain_ms)::numeric, 2) || ' |' FROM build_ms GROUP BY plan ORDER BY plan"
echo
echo "Plans (top down): as planned, without: $(plan_of on ''); with distinct(customer): $(plan_of on ', segroll.distinct_hash(customer)'); with distinct(regular): $(plan_of on ', segroll.distinct_hash(regular)'). In one process, all three: $(plan_of on '' on 0) (with distinct(customer): $(plan_of on ', segroll.distinct_hash(customer)' on 0)). With enable_sort off, all three: $(plan_of off ''); with enable_hashagg off: $(plan_of on '' off)."
echo
} >> "$RESULTS"
fi
cat "$RESULTS"
