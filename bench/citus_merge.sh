#!/usr/bin/env bash
#
# merge() on Citus (issue 15): what the coordinator receives and how long
# the merges take, with merge() pushed down to the workers (its state is a
# segment since 0.5.0) and with the internal-state merge() of 0.4.0,
# rebuilt here from the library's old C functions as bench_merge_internal
# (Citus cannot push that one down: it ships every cell to the coordinator).
#
#   bench/citus_merge.sh        (as the postgres user; Citus installed, see docs/citus.md)
#
# Starts a coordinator and two workers on 127.0.0.1 in $DIR, ports PORT,
# PORT+1, PORT+2, and stops them at the end (KEEP=1 leaves them running).
#
# Environment (defaults in brackets):
#   ROWS      source rows [1500000]
#   ORGS      organisations, the distribution column [20]
#   DAYS      days [120]          CHANNELS  channels [4]
#   REPS      runs of each query [5]
#   DIR       cluster directory [/tmp/segroll-citus-bench]
#   PORT      coordinator port [5561]
#   PGBIN     PostgreSQL bin directory [$(pg_config --bindir)]
#
# Per query and aggregate: the bytes the coordinator receives from the
# workers (EXPLAIN ANALYZE's "Tuple data received from nodes" where Citus
# can explain the query; else the text of the partial states), the median
# time of REPS runs, and whether the result equals the same merge on one
# node.  Then the partial states' text form (what Citus 13 ships) against
# their binary form.
set -euo pipefail

ROWS=${ROWS:-1500000}
ORGS=${ORGS:-20}
DAYS=${DAYS:-120}
CHANNELS=${CHANNELS:-4}
REPS=${REPS:-5}
DIR=${DIR:-/tmp/segroll-citus-bench}
PORT=${PORT:-5561}
PGBIN=${PGBIN:-$(pg_config --bindir)}
unset PGHOST PGPORT PGDATABASE

. "$(dirname "$0")/citus_cluster.sh"
[ "${KEEP:-0}" = 1 ] || trap citus_stop EXIT

citus_start citus
psql_c <<SQL
SET client_min_messages = warning;
-- merge() as it was up to 0.4.0 (internal state), on every node
SET citus.create_object_propagation = 'immediate';
CREATE FUNCTION bench_merge_transfn(internal, segroll.segment) RETURNS internal
	AS '\$libdir/segroll', 'segment_merge_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE bench_merge_internal(segroll.segment) (
	SFUNC = bench_merge_transfn, STYPE = internal, SSPACE = 256,
	FINALFUNC = segroll.segment_state_final, COMBINEFUNC = segroll.segment_state_combine,
	SERIALFUNC = segroll.segment_state_serialize, DESERIALFUNC = segroll.segment_state_deserialize,
	PARALLEL = SAFE);
SET TimeZone = 'UTC';
CREATE TABLE sales (org_id int NOT NULL, txn_id bigint NOT NULL, sold_at timestamptz NOT NULL, channel int NOT NULL,
                    amount numeric(12,2), PRIMARY KEY (org_id, txn_id));
SELECT create_distributed_table('sales', 'org_id');
INSERT INTO sales
SELECT (g / $DAYS) % $ORGS, g, '2026-01-01'::timestamptz + (g % $DAYS) * interval '1 day' + (g % 1000) * interval '1 second',
       (g / ($DAYS * $ORGS)) % $CHANNELS, round(((g::bigint * 7919) % 100003) / 100.0, 2)
FROM generate_series(1, $ROWS) g;
CREATE TABLE cells (org_id int NOT NULL, day timestamptz NOT NULL, channel int NOT NULL, seg segroll.segment NOT NULL);
SELECT create_distributed_table('cells', 'org_id', colocate_with => 'sales');
INSERT INTO cells
SELECT org_id, date_trunc('day', sold_at, 'UTC'), channel, segroll.segment_agg(txn_id, sold_at, amount)
FROM sales GROUP BY 1, 2, 3;
-- the same cells on one node (a local table of the coordinator)
CREATE TABLE cells_local AS SELECT * FROM cells;
VACUUM ANALYZE cells, cells_local;
CREATE TABLE cm_result (query text, aggregate text, received_bytes bigint, measured_by text, median_ms numeric, equals_one_node bool);
SQL

psql_c <<SQL
SET TimeZone = 'UTC';
DO \$\$
DECLARE
	q record;
	a text;
	sql text;
	t0 timestamptz;
	times numeric[];
	plan text;
	line text;
	bytes bigint;
	how text;
	got text;
	want text;
BEGIN
	FOR q IN SELECT * FROM (VALUES
		(1, 'month x channel', 'seg', 'date_trunc(''month'', day), channel'),
		(2, 'all cells', 'seg', NULL),
		(3, 'month x channel, figures only', 'segroll.without_lineage(seg)', 'date_trunc(''month'', day), channel'),
		(4, 'org x month (distribution column)', 'seg', 'org_id, date_trunc(''month'', day)')
	) v(n, name, arg, groups) ORDER BY n LOOP
		sql := 'SELECT %s(' || q.arg || ') AS s FROM %s' || coalesce(' GROUP BY ' || q.groups, '');
		EXECUTE format('SELECT string_agg(s::text, '','' ORDER BY s::text) FROM (%s) x', format(sql, 'segroll.merge', 'cells_local')) INTO want;
		FOREACH a IN ARRAY ARRAY['bench_merge_internal', 'segroll.merge'] LOOP
			times := '{}';
			FOR i IN 1 .. $REPS LOOP
				t0 := clock_timestamp();
				EXECUTE format('SELECT string_agg(s::text, '','' ORDER BY s::text) FROM (%s) x', format(sql, a, 'cells')) INTO got;
				times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
			END LOOP;
			BEGIN
				plan := '';
				FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || format(sql, a, 'cells') LOOP
					plan := plan || line || E'\n';
				END LOOP;
				-- Citus prints "N bytes", "N kB" or "N MB"
				SELECT m[1]::bigint * CASE m[2] WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END INTO bytes
				FROM regexp_match(plan, 'Tuple data received from nodes: (\d+) (bytes|kB|MB)') m;
				how := 'EXPLAIN ANALYZE';
			EXCEPTION WHEN OTHERS THEN
				-- Citus 13 cannot EXPLAIN ANALYZE a pushed-down custom
				-- aggregate ("column has pseudo-type cstring"): what its
				-- workers send is the text of one partial state per shard
				-- and group (worker_partial_agg), computed here
				EXECUTE format('SELECT sum(octet_length(s::text)) FROM (SELECT segroll.merge(%s) AS s FROM cells_local GROUP BY %s) p',
				               q.arg, concat_ws(', ', 'get_shard_id_for_distribution_column(''cells'', org_id)', q.groups)) INTO bytes;
				how := 'text of the partial states';
			END;
			INSERT INTO cm_result
			SELECT q.name, a, bytes, how,
			       (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x), 1) FROM unnest(times) x), got = want;
		END LOOP;
	END LOOP;
END
\$\$;
SELECT (SELECT count(*) FROM cells) AS cells, $ROWS AS rows, 2 AS workers, 8 AS shards, $REPS AS reps;
SELECT * FROM cm_result;
-- what a partial state of month x channel weighs: one per shard and group
SELECT count(*) AS partial_states, sum(octet_length(s::text)) AS text_bytes, sum(segroll.stored_size(s)) AS binary_bytes,
       round(sum(octet_length(s::text))::numeric / sum(segroll.stored_size(s)), 1) AS text_over_binary,
       sum(octet_length(segroll.without_lineage(s)::text)) AS figures_only_text_bytes
FROM (SELECT segroll.merge(seg) AS s FROM cells_local
      GROUP BY get_shard_id_for_distribution_column('cells', org_id), date_trunc('month', day), channel) p;
-- and the cells themselves (what 0.4.0's merge() ships)
SELECT count(*) AS cells, sum(octet_length(seg::text)) AS text_bytes, sum(segroll.stored_size(seg)) AS binary_bytes FROM cells_local;
SQL
