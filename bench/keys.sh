#!/usr/bin/env bash
#
# What a key that is not an integer costs (issue 14): the same 1 M rows
# with a bigint key, a text key of the form 'TX' + 16 digits, and a uuid
# key, each under the same segmentation (org x day).  Lineage holds the
# bigint key itself and the others as their 63-bit hash (segroll.key_hash).
#
#   bench/keys.sh
#
# Environment (defaults in brackets):
#   ROWS        source rows [1000000]
#   ORGS        organisations (cells per day) [20]
#   DAYS        days [30]
#   REPS        traces of one cell per key type [5]
#   BENCH_DB    database, created if missing [bench]
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#   PSQL        psql binary [$(pg_config --bindir)/psql]
#
# Per key type: the build (create_segmentation with its backfill, the key
# hash index included), the bytes of cells and lineage tables per source
# row, the size of the key hash index, and the median of REPS traces of one
# cell (in one session).  The ratios are against the bigint key of the same
# run.
set -euo pipefail

ROWS=${ROWS:-1000000}
ORGS=${ORGS:-20}
DAYS=${DAYS:-30}
REPS=${REPS:-5}
BENCH_DB=${BENCH_DB:-bench}
export PGHOST=${PGHOST:-/tmp/devpg} PGPORT=${PGPORT:-5499} PGUSER=${PGUSER:-postgres}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL=${PSQL:-$bindir/psql}

"$PSQL" -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1 ||
	"$PSQL" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segroll;
SELECT segroll.drop_segmentation(name) FROM segroll.segmentation WHERE name IN ('bk_bigint', 'bk_text', 'bk_uuid');
DROP TABLE IF EXISTS bk_bigint, bk_text, bk_uuid, bk_result;
-- the same rows three times: a bigint key that grows with random gaps (as
-- front-end transaction numbers do: other systems take numbers too), rows
-- spread at random over the organisations; the text key 'TX' and 16
-- digits of it; a uuid
SELECT setseed(0.14);
CREATE TABLE bk_bigint (k bigint PRIMARY KEY, at timestamptz NOT NULL, org int NOT NULL, amount numeric(12,2));
INSERT INTO bk_bigint
SELECT g * 8 + floor(random() * 8)::int, '2026-11-01 00:00+09'::timestamptz + (g - 1) * (interval '1 day' * $DAYS / $ROWS),
       floor(random() * $ORGS)::int, (g % 10000) / 100.0
FROM generate_series(1, $ROWS) g;
CREATE TABLE bk_text (k text PRIMARY KEY, at timestamptz NOT NULL, org int NOT NULL, amount numeric(12,2));
INSERT INTO bk_text SELECT 'TX' || lpad((20261101000000 + k)::text, 16, '0'), at, org, amount FROM bk_bigint;
CREATE TABLE bk_uuid (k uuid PRIMARY KEY, at timestamptz NOT NULL, org int NOT NULL, amount numeric(12,2));
INSERT INTO bk_uuid SELECT md5(k::text)::uuid, at, org, amount FROM bk_bigint;
VACUUM ANALYZE bk_bigint, bk_text, bk_uuid;
CREATE TABLE bk_result (key_type text, build_s numeric, cell_bytes_per_row numeric, segment_bytes bigint,
                        key_hash_index_bytes bigint, trace_ms numeric, traced bigint);
SQL

for t in bigint text uuid; do
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
SET client_min_messages = warning;
CHECKPOINT;
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
SELECT segroll.create_segmentation('bk_$t', 'bk_$t', 'k', 'at', 'day', 'Asia/Seoul', '{org}', '{amount}') IS NOT NULL;
INSERT INTO bk_result (key_type, build_s, cell_bytes_per_row, segment_bytes, key_hash_index_bytes)
SELECT '$t', round(extract(epoch FROM clock_timestamp() - (SELECT t FROM t0))::numeric, 2),
       round((pg_total_relation_size('segroll_data.bk_$t') + pg_total_relation_size('segroll_data.bk_${t}_lineage'))::numeric
             / $ROWS, 2),
       (SELECT sum(pg_column_size(seg)) FROM segroll_data.bk_$t)
         + coalesce((SELECT sum(pg_column_size(seg)) FROM segroll_data.bk_${t}_lineage), 0),
       coalesce((SELECT pg_relation_size(i.indexrelid) FROM pg_index i
                 WHERE i.indrelid = 'bk_$t'::regclass AND i.indexprs IS NOT NULL), 0);
-- trace of one cell (org 3, the 10th day): the median of REPS, one session
CREATE TEMP TABLE tr (ms numeric, n bigint);
DO \$\$
DECLARE
	t timestamptz;
	n bigint;
BEGIN
	FOR i IN 1 .. $REPS LOOP
		t := clock_timestamp();
		SELECT count(*) INTO n FROM segroll.trace('bk_$t', '{"org": 3}', '2026-11-10 00:00+09');
		INSERT INTO tr VALUES (extract(epoch FROM clock_timestamp() - t) * 1000, n);
	END LOOP;
END
\$\$;
UPDATE bk_result SET trace_ms = (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) FROM tr),
                     traced = (SELECT max(n) FROM tr)
WHERE key_type = '$t';
SQL
done

"$PSQL" -X -q -d "$BENCH_DB" -P footer=off <<'SQL'
SELECT r.key_type, r.build_s, round(r.build_s / b.build_s, 2) AS build_ratio,
       r.cell_bytes_per_row, round(r.cell_bytes_per_row / b.cell_bytes_per_row, 2) AS bytes_ratio,
       round(r.segment_bytes::numeric / (SELECT sum(segroll.count(seg)) FROM segroll_data.bk_bigint), 2) AS segment_bytes_per_row,
       pg_size_pretty(r.key_hash_index_bytes) AS key_hash_index,
       r.trace_ms, round(r.trace_ms / b.trace_ms, 2) AS trace_ratio, r.traced
FROM bk_result r, bk_result b WHERE b.key_type = 'bigint'
ORDER BY r.key_type = 'bigint' DESC, r.key_type;
SQL
