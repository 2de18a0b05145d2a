#!/usr/bin/env bash
#
# segroll benchmark, issue 16: reading today's figures for one channel
# through the live view (<name>_live: cells plus the changes not rolled up
# yet) with P changes pending, against the same query (count and sum per
# cell) on the raw rows, and the plain BI view (rolled-up figures only).
#
#   bench/live.sh
#
# Needs a PostgreSQL 15 cluster with segroll installed, run as a superuser.
# For each P the source is rolled up completely, then P changes are made
# and left pending: 90 % inserts into today (the live tail), 5 % updates
# (amount) and 5 % deletes of rows of the last three days.  Every query runs
# REPS times; the medians are reported (milliseconds, measured in the
# server around each execution, so no client round trip is counted).
#
# Environment (defaults in brackets):
#   ROWS      history rows [1000000], over DAYS days [30], CHANNELS [8]
#             channels x ORGS [50] organisations
#   PENDING   the pending-change counts measured ["10000 100000 1000000"]
#   REPS      repetitions of each query [7]
#   BENCH_DB  database (dropped and created) [livebench]
#   PGHOST PGPORT PGUSER   the cluster [/tmp/tlive-sock 5537 postgres]
#   PSQL      psql [psql]
#   RESULTS   results file [bench/out/live_results.md]
set -euo pipefail
ROWS=${ROWS:-1000000}
DAYS=${DAYS:-30}
CHANNELS=${CHANNELS:-8}
ORGS=${ORGS:-50}
PENDING=${PENDING:-"10000 100000 1000000"}
REPS=${REPS:-7}
BENCH_DB=${BENCH_DB:-livebench}
export PGHOST=${PGHOST:-/tmp/tlive-sock} PGPORT=${PGPORT:-5537} PGUSER=${PGUSER:-postgres}
PSQL=${PSQL:-psql}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RESULTS=${RESULTS:-$HERE/out/live_results.md}
mkdir -p "$(dirname "$RESULTS")"

q() { "$PSQL" -X -v ON_ERROR_STOP=1 -qAt -d "$BENCH_DB" "$@"; }

"$PSQL" -X -qAt -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB"
q <<SQL
CREATE EXTENSION segroll;
SET TimeZone = 'Asia/Seoul';
CREATE TABLE sales (id bigint PRIMARY KEY, at timestamptz NOT NULL, channel int NOT NULL, org int NOT NULL,
                    amount numeric(12,2) NOT NULL);
-- the history: ROWS rows over DAYS days ending at the end of "today"
INSERT INTO sales
SELECT g, date_trunc('day', now()) + interval '1 day' - $DAYS * interval '1 day'
          + (g::float8 / $ROWS) * $DAYS * interval '1 day',
       g % $CHANNELS, (g / 7) % $ORGS, (g % 9973) / 100.0
FROM generate_series(1, $ROWS) g;
CREATE INDEX ON sales (at);
VACUUM ANALYZE sales;
SELECT segroll.create_segmentation('live_daily', 'sales', 'id', 'at', 'day', 'Asia/Seoul',
                                   '{channel, org}', '{amount}') IS NOT NULL;
VACUUM ANALYZE sales;

-- the median of REPS runs of a query, in ms, timed in the server
CREATE FUNCTION bench_median(sql text, reps int) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
	t timestamptz;
	times float8[] := '{}';
	r record;
BEGIN
	FOR i IN 1 .. reps + 1 LOOP
		t := clock_timestamp();
		FOR r IN EXECUTE sql LOOP END LOOP;
		IF i > 1 THEN	-- the first run warms the cache
			times := times || extract(epoch FROM clock_timestamp() - t) * 1000;
		END IF;
	END LOOP;
	RETURN (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 2) FROM unnest(times) x);
END
\$\$;
SQL

TODAY="date_trunc('day', now(), 'Asia/Seoul')"
LIVE_Q="SELECT org, count, amount_sum FROM segroll_data.live_daily_live WHERE channel = 3 AND period = $TODAY"
BI_Q="SELECT org, count, amount_sum FROM segroll_data.live_daily_v WHERE channel = 3 AND period = $TODAY"
RAW_Q="SELECT org, count(*), sum(amount) FROM sales WHERE channel = 3 AND at >= $TODAY AND at < $TODAY + interval '1 day' GROUP BY org"
ORACLE="SELECT count(*) FROM ((SELECT org, count, amount_sum FROM segroll_data.live_daily_live WHERE channel = 3 AND period = $TODAY
                              EXCEPT ALL ($RAW_Q))
                             UNION ALL (($RAW_Q) EXCEPT ALL
                              SELECT org, count, amount_sum FROM segroll_data.live_daily_live WHERE channel = 3 AND period = $TODAY)) d"

{
	echo "# Live figures (issue 16): results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; $ROWS history rows over $DAYS days, $CHANNELS channels x $ORGS orgs,"
	echo "day cells; today's figures for one channel ($ORGS cells); medians of $REPS runs, ms, timed in the server."
	echo
	echo "| pending changes | live view | raw rows (GROUP BY) | BI view (rolled up only) | live = raw | live plan: source scan |"
	echo "|---:|---:|---:|---:|---|---|"
} > "$RESULTS"

for P in $PENDING; do
	INS=$((P * 90 / 100)); UPD=$((P * 5 / 100)); DEL=$((P - INS - UPD))
	q <<SQL
SELECT segroll.rollup('live_daily') IS NOT NULL;
VACUUM ANALYZE sales;
-- P changes, left pending: inserts into today, updates and deletes of recent rows
INSERT INTO sales
SELECT m + g, date_trunc('day', now(), 'Asia/Seoul') + (g::float8 / $INS) * interval '23 hours',
       g % $CHANNELS, g % $ORGS, (g % 5003) / 100.0
FROM (SELECT coalesce(max(id), 0) AS m FROM sales) x, generate_series(1, $INS) g;
UPDATE sales SET amount = amount + 1
WHERE id IN (SELECT id FROM sales WHERE at >= now() - interval '3 days' ORDER BY id % 7919, id LIMIT $UPD);
DELETE FROM sales
WHERE id IN (SELECT id FROM sales WHERE at >= now() - interval '3 days' ORDER BY id % 7907 DESC, id LIMIT $DEL);
SQL
	pending=$(q -c "SELECT pending_changes FROM segroll.status WHERE name = 'live_daily'")
	live=$(q -c "SELECT bench_median(\$q\$$LIVE_Q\$q\$, $REPS)")
	raw=$(q -c "SELECT bench_median(\$q\$$RAW_Q\$q\$, $REPS)")
	bi=$(q -c "SELECT bench_median(\$q\$$BI_Q\$q\$, $REPS)")
	diff=$(q -c "$ORACLE")
	plan=$(q -c "EXPLAIN $LIVE_Q" | grep -o -E "(Seq Scan|Bitmap Heap Scan|Index Scan|Index Only Scan)[a-z ]* on sales" | head -1)
	echo "| $P ($pending in status) | $live | $raw | $bi | $([ "$diff" = 0 ] && echo yes || echo "NO: $diff rows differ") | $plan |" >> "$RESULTS"
	echo "P=$P live=$live raw=$raw bi=$bi diff=$diff plan=$plan" >&2
done
{
	echo
	echo "Plan of the live query at the last step:"
	echo
	echo '```'
	q -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) $LIVE_Q"
	echo '```'
} >> "$RESULTS"
cat "$RESULTS"
