#!/usr/bin/env bash
#
# What merge()'s new state costs on one node (issue 15): merge() keeps a
# segment, held as an expanded object (src/segment_expanded.c), so that
# Citus can push it down; before 0.5.0 its state was 'internal'.  The old
# aggregate is rebuilt here from the library's old C functions (which it
# still has for 0.4.0's SQL) as bench_merge_internal, and both run on the
# same cells in the same session, alternately.
#
#   bench/merge_state.sh
#
# Environment (defaults in brackets):
#   ROWS        source rows [1500000]
#   ORGS        organisations [20]
#   DAYS        days [120]
#   CHANNELS    channels [4]  (cells: ORGS x DAYS x CHANNELS)
#   REPS        runs of each query and aggregate [7]
#   PARALLEL    max_parallel_workers_per_gather [0]
#   BENCH_DB    database, created if missing [bench]
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#   PSQL        psql binary [$(pg_config --bindir)/psql]
#
# Per query: the median of REPS runs of each aggregate (ms) and the ratio
# new / old of the same run.  Each query sums segroll.count() of its
# merges, so every final function runs.
set -euo pipefail

ROWS=${ROWS:-1500000}
ORGS=${ORGS:-20}
DAYS=${DAYS:-120}
CHANNELS=${CHANNELS:-4}
REPS=${REPS:-7}
PARALLEL=${PARALLEL:-0}
BENCH_DB=${BENCH_DB:-bench}
export PGHOST=${PGHOST:-/tmp/devpg} PGPORT=${PGPORT:-5499} PGUSER=${PGUSER:-postgres}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL=${PSQL:-$bindir/psql}

"$PSQL" -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1 ||
	"$PSQL" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segroll;
DROP TABLE IF EXISTS ms_cells, ms_figures, ms_result;
DROP AGGREGATE IF EXISTS bench_merge_internal(segroll.segment);
DROP FUNCTION IF EXISTS bench_merge_transfn(internal, segroll.segment);
-- merge() as it was up to 0.4.0: an internal state, serialized for parallel query
CREATE FUNCTION bench_merge_transfn(internal, segroll.segment) RETURNS internal
	AS '\$libdir/segroll', 'segment_merge_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE bench_merge_internal(segroll.segment) (
	SFUNC = bench_merge_transfn, STYPE = internal, SSPACE = 256,
	FINALFUNC = segroll.segment_state_final, COMBINEFUNC = segroll.segment_state_combine,
	SERIALFUNC = segroll.segment_state_serialize, DESERIALFUNC = segroll.segment_state_deserialize,
	PARALLEL = SAFE);
SET TimeZone = 'UTC';
CREATE TABLE ms_cells AS
SELECT org, day, channel, segroll.segment_agg(id, at, amount, qty) AS seg
FROM (SELECT g AS id, '2026-01-01'::timestamptz + (g % $DAYS) * interval '1 day' AS at,
             (g / $DAYS) % $ORGS AS org, date_trunc('day', '2026-01-01'::timestamptz + (g % $DAYS) * interval '1 day') AS day,
             (g / ($DAYS * $ORGS)) % $CHANNELS AS channel,
             round(((g::bigint * 7919) % 100003) / 100.0, 2) AS amount, g % 7 AS qty
      FROM generate_series(1, $ROWS) g) s
GROUP BY 1, 2, 3;
-- the cells' figures alone, as a segmentation's heads or a BI table keep them
CREATE TABLE ms_figures AS SELECT org, day, channel, segroll.without_lineage(seg) AS seg FROM ms_cells;
VACUUM ANALYZE ms_cells, ms_figures;
CREATE TABLE ms_result (query text, old_ms numeric, new_ms numeric, ratio numeric, same bool);
SQL

"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
SET TimeZone = 'UTC';
SET max_parallel_workers_per_gather = $PARALLEL;
DO \$\$
DECLARE
	q record;
	t0 timestamptz;
	told numeric[];
	tnew numeric[];
	rold text;
	rnew text;
	same bool;
BEGIN
	FOR q IN SELECT * FROM (VALUES
		(1, 'all cells', 'SELECT %s(seg) AS m FROM ms_cells'),
		(2, 'month x channel', 'SELECT %s(seg) AS m FROM ms_cells GROUP BY date_trunc(''month'', day), channel'),
		(3, 'org x month', 'SELECT %s(seg) AS m FROM ms_cells GROUP BY org, date_trunc(''month'', day)'),
		(4, 'org x day, figures only', 'SELECT %s(segroll.without_lineage(seg)) AS m FROM ms_cells GROUP BY org, day'),
		(5, 'every cell alone, figures only', 'SELECT %s(segroll.without_lineage(seg)) AS m FROM ms_cells GROUP BY org, day, channel'),
		(6, 'every cell alone, figures stored', 'SELECT %s(seg) AS m FROM ms_figures GROUP BY org, day, channel')
	) v(n, name, sql) ORDER BY n LOOP
		told := '{}'; tnew := '{}'; same := true;
		FOR i IN 1 .. $REPS LOOP
			t0 := clock_timestamp();
			EXECUTE format('SELECT sum(segroll.count(m))::text || '':'' || count(*) FROM (%s) x',
			               format(q.sql, 'bench_merge_internal')) INTO rold;
			told := told || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
			t0 := clock_timestamp();
			EXECUTE format('SELECT sum(segroll.count(m))::text || '':'' || count(*) FROM (%s) x',
			               format(q.sql, 'segroll.merge')) INTO rnew;
			tnew := tnew || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
			same := same AND rold = rnew;
		END LOOP;
		INSERT INTO ms_result
		SELECT q.name, o, n, round(n / o, 3), same
		FROM (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x), 1) AS o FROM unnest(told) x) a,
		     (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x), 1) AS n FROM unnest(tnew) x) b;
	END LOOP;
END
\$\$;
-- the same segments, byte for byte
SELECT (SELECT bench_merge_internal(seg) FROM ms_cells) OPERATOR(segroll.=) (SELECT segroll.merge(seg) FROM ms_cells) AS all_cells_equal;
SELECT (SELECT count(*) FROM ms_cells) AS cells, $ROWS AS rows, $PARALLEL AS parallel_workers, $REPS AS reps;
SELECT query, old_ms AS "internal state (ms)", new_ms AS "segment state (ms)", ratio AS "new/old", same AS "same counts" FROM ms_result;
SQL
