#!/usr/bin/env bash
#
# What segment_agg()'s state costs on one node (issue 15): segment_agg and
# segment_agg_nolineage with the state merge() has since 0.5.0 (a segment
# held as an expanded object, src/segment_expanded.c: rows folded into the
# wrapped SegState in place, merge()'s combine, flattened by the final
# function and when a parallel worker sends its partial state) against the
# 'internal' state (SegState, serialized for parallel query).  Both
# variants are built here from the library's C functions, whatever
# segroll.segment_agg currently is, and run alternately in one session on
# the same rows.
#
#   bench/segagg_state.sh
#
# Environment (defaults in brackets):
#   ROWS        source rows [2000000]
#   REPS        runs of each query and variant [5]
#   GROUPINGS   which groupings to run ["coarse fine"]
#   BENCH_DB    database, created if missing [bench]
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#   PSQL        psql binary [$(pg_config --bindir)/psql]
#
# Groupings: coarse (org x channel: 80 cells of 25 000 rows) and fine
# (org x day x channel x item % 50: 120 000 cells of about 17 rows); with
# and without lineage; each as
#   serial    SELECT sum(count(agg)) FROM (SELECT agg(...) GROUP BY ...),
#             max_parallel_workers_per_gather = 0;
#   parallel  the same with 2 workers per gather (parallel costs set to 0,
#             so that the plan is a Partial/Finalize aggregate);
#   build     INSERT INTO an empty table SELECT dims, agg(...) GROUP BY
#             dims, serial: the statement a roll-up of a new segmentation
#             runs (sql/routines/build_sql.sql, _generate_build).
# Per line: the median of REPS runs of each variant (ms) and new / old.
set -euo pipefail

ROWS=${ROWS:-2000000}
REPS=${REPS:-5}
GROUPINGS=${GROUPINGS:-coarse fine}
BENCH_DB=${BENCH_DB:-bench}
export PGHOST=${PGHOST:-/tmp/devpg} PGPORT=${PGPORT:-5499} PGUSER=${PGUSER:-postgres}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL=${PSQL:-$bindir/psql}

"$PSQL" -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1 ||
	"$PSQL" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segroll;
DROP TABLE IF EXISTS sa_rows, sa_result, sa_out;
DROP AGGREGATE IF EXISTS bsa_old(int8, timestamptz, VARIADIC "any"), bsa_old_nl(int8, timestamptz, VARIADIC "any"),
	bsa_new(int8, timestamptz, VARIADIC "any"), bsa_new_nl(int8, timestamptz, VARIADIC "any");
DROP FUNCTION IF EXISTS bsa_old_t(internal, int8, timestamptz, VARIADIC "any"), bsa_old_nl_t(internal, int8, timestamptz, VARIADIC "any"),
	bsa_new_t(segroll.segment, int8, timestamptz, VARIADIC "any"), bsa_new_nl_t(segroll.segment, int8, timestamptz, VARIADIC "any");
-- the internal state (segment_agg up to 0.4.0)
CREATE FUNCTION bsa_old_t(internal, int8, timestamptz, VARIADIC "any") RETURNS internal
	AS '\$libdir/segroll', 'segment_build_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION bsa_old_nl_t(internal, int8, timestamptz, VARIADIC "any") RETURNS internal
	AS '\$libdir/segroll', 'segment_build_nolineage_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE bsa_old(int8, timestamptz, VARIADIC "any") (
	SFUNC = bsa_old_t, STYPE = internal, SSPACE = 256,
	FINALFUNC = segroll.segment_state_final, COMBINEFUNC = segroll.segment_state_combine,
	SERIALFUNC = segroll.segment_state_serialize, DESERIALFUNC = segroll.segment_state_deserialize,
	PARALLEL = SAFE);
CREATE AGGREGATE bsa_old_nl(int8, timestamptz, VARIADIC "any") (
	SFUNC = bsa_old_nl_t, STYPE = internal, SSPACE = 256,
	FINALFUNC = segroll.segment_state_final, COMBINEFUNC = segroll.segment_state_combine,
	SERIALFUNC = segroll.segment_state_serialize, DESERIALFUNC = segroll.segment_state_deserialize,
	PARALLEL = SAFE);
-- the segment state (an expanded object, as merge()'s)
CREATE FUNCTION bsa_new_t(segroll.segment, int8, timestamptz, VARIADIC "any") RETURNS segroll.segment
	AS '\$libdir/segroll', 'segment_build_state' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION bsa_new_nl_t(segroll.segment, int8, timestamptz, VARIADIC "any") RETURNS segroll.segment
	AS '\$libdir/segroll', 'segment_build_nolineage_state' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE bsa_new(int8, timestamptz, VARIADIC "any") (
	SFUNC = bsa_new_t, STYPE = segroll.segment, SSPACE = 256,
	FINALFUNC = segroll.segment_merge_final, COMBINEFUNC = segroll.segment_merge_state,
	PARALLEL = SAFE);
CREATE AGGREGATE bsa_new_nl(int8, timestamptz, VARIADIC "any") (
	SFUNC = bsa_new_nl_t, STYPE = segroll.segment, SSPACE = 256,
	FINALFUNC = segroll.segment_merge_final, COMBINEFUNC = segroll.segment_merge_state,
	PARALLEL = SAFE);
SET TimeZone = 'UTC';
CREATE TABLE sa_rows AS
SELECT g::bigint AS id, '2026-01-01'::timestamptz + (g % 120) * interval '1 day' + (g % 86399) * interval '1 s' AS at,
       (g / 120) % 20 AS org, date_trunc('day', '2026-01-01'::timestamptz + (g % 120) * interval '1 day') AS day,
       (g / 2400) % 4 AS channel, (g * 7919) % 50 AS item,
       round(((g::bigint * 7919) % 100003) / 100.0, 2) AS amount, g % 7 AS qty
FROM generate_series(1::bigint, $ROWS) g;
VACUUM ANALYZE sa_rows;
CREATE UNLOGGED TABLE sa_out (org int, day timestamptz, channel int, item int, seg segroll.segment);
CREATE TABLE sa_result (grouping text, lineage bool, mode text, old_ms numeric, new_ms numeric, ratio numeric, same bool);
SQL

"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
SET TimeZone = 'UTC';
SET work_mem = '256MB';
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
DO \$\$
DECLARE
	g record;
	lin bool;
	mode text;
	sel text;
	t0 timestamptz;
	told numeric[];
	tnew numeric[];
	rold text;
	rnew text;
	same bool;
	variant text;
	agg text;
BEGIN
	FOR g IN SELECT * FROM (VALUES
		(1, 'coarse', 'org, ''2026-01-01''::timestamptz AS day, channel, 0 AS item', 'org, channel'),
		(2, 'fine', 'org, day, channel, item', 'org, day, channel, item')
	) v(n, name, cols, grp)
	WHERE name = ANY (string_to_array('$GROUPINGS', ' ')) ORDER BY n LOOP
		FOREACH lin IN ARRAY ARRAY[true, false] LOOP
			FOREACH mode IN ARRAY ARRAY['serial', 'parallel', 'build'] LOOP
				PERFORM set_config('max_parallel_workers_per_gather', CASE mode WHEN 'parallel' THEN '2' ELSE '0' END, false);
				told := '{}'; tnew := '{}'; same := true;
				FOR i IN 1 .. $REPS LOOP
					FOREACH variant IN ARRAY ARRAY['old', 'new'] LOOP
						agg := 'bsa_' || variant || CASE WHEN lin THEN '' ELSE '_nl' END;
						sel := format('SELECT %s, %s(id, at, amount, qty) AS seg FROM sa_rows GROUP BY %s', g.cols, agg, g.grp);
						IF mode = 'build' THEN
							TRUNCATE sa_out;
							t0 := clock_timestamp();
							EXECUTE 'INSERT INTO sa_out ' || sel;
						ELSE
							t0 := clock_timestamp();
							EXECUTE format('SELECT sum(segroll.count(seg))::text || '':'' || count(*) FROM (%s) x', sel) INTO rnew;
						END IF;
						IF variant = 'old' THEN
							told := told || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
							rold := rnew;
						ELSE
							tnew := tnew || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
							same := same AND rold IS NOT DISTINCT FROM rnew;
						END IF;
					END LOOP;
				END LOOP;
				IF mode <> 'build' THEN
					-- the same segments, byte for byte, cell by cell
					EXECUTE format('SELECT count(*) FROM (SELECT %1\$s, %2\$s(id, at, amount, qty) AS seg FROM sa_rows GROUP BY %3\$s) a
					                FULL JOIN (SELECT %1\$s, %4\$s(id, at, amount, qty) AS seg FROM sa_rows GROUP BY %3\$s) b
					                USING (org, day, channel, item)
					                WHERE a.seg IS NULL OR b.seg IS NULL OR NOT segroll.segment_send(a.seg) OPERATOR(pg_catalog.=) segroll.segment_send(b.seg)',
					               g.cols, CASE WHEN lin THEN 'bsa_old' ELSE 'bsa_old_nl' END, g.grp,
					               CASE WHEN lin THEN 'bsa_new' ELSE 'bsa_new_nl' END) INTO rold;
					same := same AND rold = '0';
				END IF;
				INSERT INTO sa_result
				SELECT g.name, lin, mode, o, n, round(n / o, 3), CASE WHEN mode = 'build' THEN NULL ELSE same END
				FROM (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x), 1) AS o FROM unnest(told) x) a,
				     (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x), 1) AS n FROM unnest(tnew) x) b;
				RAISE NOTICE '% lineage=% %: old % ms, new % ms', g.name, lin, mode,
					(SELECT old_ms FROM sa_result ORDER BY ctid DESC LIMIT 1), (SELECT new_ms FROM sa_result ORDER BY ctid DESC LIMIT 1);
			END LOOP;
		END LOOP;
	END LOOP;
END
\$\$;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT org, channel, bsa_new(id, at, amount, qty) FROM sa_rows GROUP BY org, channel;
SELECT $ROWS AS rows, $REPS AS reps;
SELECT grouping, lineage, mode, old_ms AS "internal state (ms)", new_ms AS "segment state (ms)", ratio AS "new/old", same AS "same segments" FROM sa_result;
SQL
