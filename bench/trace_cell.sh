#!/usr/bin/env bash
#
# Trace of one 10 000-row cell from a new session (issue 13 goal: <= 50 ms,
# also when the cell keeps its lineage in blocks), against the same rows
# fetched by a plain query on the source, in the same run.
#
#   bench/trace_cell.sh
#
# Environment (defaults in brackets):
#   REPS        new sessions per variant [15]
#   ROWS        rows per cell [10000]
#   BENCH_DB    database, created if missing [bench]
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#   PSQL        psql binary [$(pg_config --bindir)/psql]
#
# Four variants, each timed as a whole psql process (connect, trace,
# disconnect) by farm-bench-like medians computed here:
#   plain   SELECT the cell's rows from the source by its dimensions and day
#           (count(*) of row_to_json(s): the planner drops the unused json)
#   plain_json  the same rows as json, in key order, as trace returns them
#   inline  segroll.trace(name, dimensions, period) of a cell whose lineage
#           is inline (segroll.inline_lineage_limit above ROWS)
#   blocks  the same cell of a segmentation whose cells keep their lineage in
#           blocks (the default limit, 4 096 rows)
set -euo pipefail

REPS=${REPS:-15}
ROWS=${ROWS:-10000}
BENCH_DB=${BENCH_DB:-bench}
export PGHOST=${PGHOST:-/tmp/devpg} PGPORT=${PGPORT:-5499} PGUSER=${PGUSER:-postgres}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL=${PSQL:-$bindir/psql}

"$PSQL" -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1 ||
	"$PSQL" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segroll;
SELECT segroll.drop_segmentation(name) FROM segroll.segmentation WHERE name IN ('tc_inline', 'tc_blocks');
DROP TABLE IF EXISTS tc_src;
-- 8 cells (org x channel) of one day, ROWS rows each, keys with random gaps
CREATE TABLE tc_src (id bigint PRIMARY KEY, at timestamptz NOT NULL, org int, channel int, amount numeric(12,2));
SELECT setseed(0.13) \gset
-- (seeded: the same data every run, so that two builds compare on it)
INSERT INTO tc_src SELECT g::bigint * 8 + floor(random() * 8)::int,
       '2026-11-01 00:00+09'::timestamptz + g * (interval '20 hours' / ($ROWS * 8)), g % 4, (g / 4) % 2, (g % 10000) / 100.0
FROM generate_series(1, $ROWS * 8) g;
ANALYZE tc_src;
SET segroll.inline_lineage_limit = 2147483647;
SELECT segroll.create_segmentation('tc_inline', 'tc_src', 'id', 'at', 'day', 'Asia/Seoul', '{org, channel}', '{amount}') IS NOT NULL;
RESET segroll.inline_lineage_limit;
SELECT segroll.create_segmentation('tc_blocks', 'tc_src', 'id', 'at', 'day', 'Asia/Seoul', '{org, channel}', '{amount}') IS NOT NULL;
SELECT 'inline' AS variant, segroll.has_lineage(seg) AS lineage_inline, segroll.count(seg) FROM segroll_data.tc_inline WHERE org = 1 AND channel = 0
UNION ALL
SELECT 'blocks', segroll.has_lineage(seg), segroll.count(seg) FROM segroll_data.tc_blocks WHERE org = 1 AND channel = 0;
SELECT count(*) AS blocks_of_the_cell FROM segroll_data.tc_blocks_lineage WHERE org = 1 AND channel = 0;
SQL

q_plain="SELECT count(*) FROM (SELECT row_to_json(s) FROM tc_src s WHERE org = 1 AND channel = 0 AND at >= '2026-11-01 00:00+09' AND at < '2026-11-02 00:00+09') x"
q_plain_json="SELECT count(j) FROM (SELECT row_to_json(s) AS j FROM tc_src s WHERE org = 1 AND channel = 0 AND at >= '2026-11-01 00:00+09' AND at < '2026-11-02 00:00+09' ORDER BY id) x"
q_inline="SELECT count(*) FROM segroll.trace('tc_inline', '{\"org\": 1, \"channel\": 0}', '2026-11-01 00:00+09')"
q_blocks="SELECT count(*) FROM segroll.trace('tc_blocks', '{\"org\": 1, \"channel\": 0}', '2026-11-01 00:00+09')"

# each figure: one new session (connect, query, disconnect), in ms
time_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$PSQL" -X -q -tA -d "$BENCH_DB" -c "$1" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }

declare -A samples
for ((r = 0; r < REPS; r++)); do
	for v in plain plain_json inline blocks; do	# interleaved, so noise hits all alike
		q="q_$v"
		samples[$v]+="$(time_ms "${!q}")"$'\n'
	done
done
echo "| variant | median ms (new session, $REPS runs) |"
echo "| --- | --- |"
for v in plain plain_json inline blocks; do
	printf '| %s | %s |\n' "$v" "$(printf '%s' "${samples[$v]}" | grep . | median)"
done
