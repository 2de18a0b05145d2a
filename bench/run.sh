#!/usr/bin/env bash
#
# segroll benchmark (issue 2): segments vs plain PostgreSQL on the same data.
#
#   bench/run.sh
#
# Environment (defaults in brackets):
#   ROWS        source rows to generate [10000000]
#   REPS        repetitions of every timed statement [3]
#   PARALLEL    max_parallel_workers_per_gather for every timed statement [0]
#   JIT         jit setting for every timed statement [server default]
#   BENCH_DB    database, created if missing [bench]
#   REGENERATE  1 = regenerate the data even if bench.sales_txn has ROWS rows
#   BUILDS_ONLY segmentations to time, e.g. "coarse": times only their builds
#               (REPS times) and reports only that; for a closer look at one
#               segmentation on a noisy machine [unset: the full benchmark]
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#   PSQL        psql binary [$(pg_config --bindir)/psql]
#
# What it does, in one go:
#   1. creates the database and the extension if missing, generates the data
#      (bench/generate.sql) unless it is already there with ROWS rows;
#   2. builds the three segmentations (coarse, medium, fine) REPS times, each
#      time as a plain summary table (count, sum(amount), sum(qty)), as
#      segments with lineage and as segments without lineage, in rotating
#      order, CHECKPOINT before each build; checks that all three agree;
#   3. builds two contiguous-key segmentations once, for bytes only;
#   4. measures table sizes;
#   5. runs the analyst queries on raw rows and on cells, checks that they
#      return the same rows (EXCEPT ALL both ways; any difference aborts),
#      then times them REPS times in rotating order after one warm-up;
#   6. prints medians and ratios and writes bench/out/results.md.
#
# Timings are taken inside one psql session as clock_timestamp() deltas
# around each statement (client round trip included, output discarded),
# together with the CPU time the backend used (from /proc, Linux only).
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"

ROWS=${ROWS:-10000000}
REPS=${REPS:-3}
PARALLEL=${PARALLEL:-0}
JIT=${JIT:-}
BENCH_DB=${BENCH_DB:-bench}
REGENERATE=${REGENERATE:-0}
BUILDS_ONLY=${BUILDS_ONLY:-}
export PGHOST=${PGHOST:-/tmp/devpg}
export PGPORT=${PGPORT:-5499}
export PGUSER=${PGUSER:-postgres}
PSQL=${PSQL:-$(pg_config --bindir)/psql}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# which build of the extension is measured: the library the server loads
# (its checksum is compared again at the end), whether it was built with
# assertions, and the commit of this checkout
SO="$(pg_config --pkglibdir)/segroll.so"
so_md5() { md5sum "$SO" 2>/dev/null | cut -c1-12; }
so_start=$(so_md5)
so_assert=$(nm -D "$SO" 2>/dev/null | grep -q ExceptionalCondition && echo "yes (slower)" || echo no)
git_head=$(git -C "$here/.." log -1 --format='%h %cd' --date=format:'%Y-%m-%d %H:%M' 2>/dev/null || echo unknown)
if [ -n "$(git -C "$here/.." status --porcelain -- src sql 2>/dev/null)" ]; then
	git_head="$git_head (src/ or sql/ modified)"
fi
psql_db() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ setup

if [ "$("$PSQL" -X -Atq -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$BENCH_DB'")" = 0 ]; then
	log "creating database $BENCH_DB"
	"$PSQL" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"
fi
psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS segroll"

have_rows=0
if [ "$(psql_db -At -c "SELECT to_regclass('bench.dataset') IS NOT NULL AND to_regclass('bench.sales_txn') IS NOT NULL")" = t ]; then
	have_rows=$(psql_db -At -c "SELECT rows FROM bench.dataset")
fi
if [ "$REGENERATE" = 1 ] || [ "$have_rows" != "$ROWS" ]; then
	log "generating $ROWS rows (bench/generate.sql)"
	t0=$(date +%s)
	psql_db -v rows="$ROWS" -f "$here/generate.sql" >/dev/null
	log "generated in $(( $(date +%s) - t0 )) s"
fi
psql_db -f "$here/setup.sql"

# ------------------------------------------------------------------ definitions

# the local (Asia/Seoul, UTC+9) calendar day of a transaction, as a date
day_expr="(s.sold_at AT TIME ZONE 'Asia/Seoul')::date"
declare -A SEL FROM GRP
SEL[coarse]="s.org_id, s.channel_id, $day_expr AS day"
FROM[coarse]="bench.sales_txn AS s"
GRP[coarse]="1, 2, 3"
SEL[medium]="s.org_id, s.channel_id, i.brand_id, $day_expr AS day"
FROM[medium]="bench.sales_txn AS s JOIN bench.item AS i USING (item_id)"
GRP[medium]="1, 2, 3, 4"
SEL[fine]="s.org_id, s.channel_id, i.brand_id, s.item_id, $day_expr AS day"
FROM[fine]="bench.sales_txn AS s JOIN bench.item AS i USING (item_id)"
GRP[fine]="1, 2, 3, 4, 5"
# contiguous key ranges: keys are assigned in time order, so the rows of one
# hour, or of one block of 1000 consecutive keys, have consecutive keys
SEL[hour]="date_trunc('hour', s.sold_at) AS hour"
FROM[hour]="bench.sales_txn AS s"
GRP[hour]="1"
SEL[block1000]="s.txn_id / 1000 AS block"
FROM[block1000]="bench.sales_txn AS s"
GRP[block1000]="1"

declare -A AGG
AGG[plain]="count(*) AS n, sum(s.amount) AS amount, sum(s.qty) AS qty"
AGG[lineage]="segroll.segment_agg(s.txn_id, s.sold_at, s.amount, s.qty) AS seg"
AGG[nolineage]="segroll.segment_agg_nolineage(s.txn_id, s.sold_at, s.amount, s.qty) AS seg"

VARIANTS=(plain lineage nolineage)
SEGS=(coarse medium fine)
if [ -n "$BUILDS_ONLY" ]; then
	read -r -a SEGS <<<"$BUILDS_ONLY"
	for seg in "${SEGS[@]}"; do
		case $seg in coarse | medium | fine) ;; *) echo "BUILDS_ONLY: unknown segmentation $seg" >&2; exit 2 ;; esac
	done
fi

select_sql() {	# segmentation variant -> the query a build runs
	printf 'SELECT %s, %s FROM %s GROUP BY %s' "${SEL[$1]}" "${AGG[$2]}" "${FROM[$1]}" "${GRP[$1]}"
}
build_sql() {	# segmentation variant -> CREATE TABLE statement
	printf 'CREATE TABLE bench.%s_%s AS %s' "$1" "$2" "$(select_sql "$1" "$2")"
}

dims() {	# segmentation -> its dimension column names
	case $1 in
	coarse) echo "org_id, channel_id, day" ;;
	medium) echo "org_id, channel_id, brand_id, day" ;;
	fine) echo "org_id, channel_id, brand_id, item_id, day" ;;
	hour) echo "hour" ;;
	block1000) echo "block" ;;
	esac
}

session_settings() {
	echo "SET max_parallel_workers_per_gather = $PARALLEL;"
	if [ -n "$JIT" ]; then echo "SET jit = $JIT;"; fi
	echo "SET client_min_messages = warning;"
}

TICKS=$(getconf CLK_TCK)

# timed <run> <section> <item> <variant> <statement> [discard]
timed() {
	echo "SELECT bench.cpu_ms($TICKS) AS c0, clock_timestamp() AS t0 \\gset"
	if [ "${6:-}" = discard ]; then
		echo "$5 \\g /dev/null"
	else
		echo "$5;"
	fi
	echo "INSERT INTO bench.timing VALUES ($1, '$2', '$3', '$4', bench.ms_since(:'t0'), bench.cpu_ms($TICKS) - :c0);"
}

# ------------------------------------------------------------------ builds

{
	session_settings
	cat <<EOF
INSERT INTO bench.run_info
SELECT 'rows', rows::text FROM bench.dataset
UNION ALL SELECT 'fingerprint', fingerprint FROM bench.dataset
UNION ALL SELECT 'reps', '$REPS'
UNION ALL SELECT 'started', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
UNION ALL SELECT 'server', version()
UNION ALL SELECT 'segroll', extversion || ' (default ' || default_version || '), segment_agg SSPACE '
  || (SELECT aggtransspace FROM pg_aggregate WHERE aggfnoid = 'segroll.segment_agg(int8, timestamptz, "any")'::regprocedure)
  FROM pg_extension JOIN pg_available_extensions ON name = extname WHERE extname = 'segroll'
UNION ALL SELECT 'library', '$SO md5 $so_start, assertions $so_assert'
UNION ALL SELECT 'commit', '$git_head'
UNION ALL SELECT 'setting ' || name, current_setting(name)
  FROM pg_settings
 WHERE name IN ('max_parallel_workers_per_gather', 'jit', 'work_mem', 'shared_buffers',
                'maintenance_work_mem', 'max_wal_size', 'synchronous_commit', 'wal_level',
                'effective_cache_size', 'random_page_cost');
EOF
	# plans, for the record
	echo "\\o $out/plans.txt"
	for seg in "${SEGS[@]}"; do
		for v in "${VARIANTS[@]}"; do
			echo "\\qecho '--- build $seg $v'"
			echo "EXPLAIN $(select_sql "$seg" "$v");"
		done
	done
	echo "\\o"
	for ((run = 1; run <= REPS; run++)); do
		for seg in "${SEGS[@]}"; do
			for ((k = 0; k < 3; k++)); do
				v=${VARIANTS[$(( (k + run - 1) % 3 ))]}
				echo "\\echo build run $run/$REPS $seg $v"
				echo "DROP TABLE IF EXISTS bench.${seg}_$v;"
				echo "CHECKPOINT;"
				timed "$run" build "$seg" "$v" "$(build_sql "$seg" "$v")"
			done
		done
	done
} >"$out/builds.sql"

log "builds: ${#SEGS[@]} segmentations x ${#VARIANTS[@]} variants x $REPS runs"
psql_db -f "$out/builds.sql" 2>&1 | while read -r line; do log "$line"; done
test "${PIPESTATUS[0]}" = 0

report() {	# builds_only(true/false) output-file
	psql_db -At -v builds_only="$1" -f "$here/report.sql" >"$2"
	{
		echo
		echo "Reproduce: \`${BUILDS_ONLY:+BUILDS_ONLY=\"$BUILDS_ONLY\" }BENCH_DB=$BENCH_DB ROWS=$ROWS REPS=$REPS PARALLEL=$PARALLEL${JIT:+ JIT=$JIT} bench/run.sh\`"
		echo "Generated: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM;" \
			"load average (1/5/15 min) at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)."
		if [ "$(so_md5)" != "$so_start" ]; then
			echo
			echo "**WARNING: $SO changed during this run (md5 $so_start at the start, $(so_md5) at the end): backends started after the change ran another build. Run again.**"
		fi
	} >>"$2"
	cat "$2"
	log "written $2"
}

if [ -n "$BUILDS_ONLY" ]; then
	report true "$out/results_builds.md"
	exit 0
fi

# ------------------------------------------------------------------ checks and sizes

{
	session_settings
	for seg in coarse medium fine hour block1000; do
		if [ "$seg" = hour ] || [ "$seg" = block1000 ]; then
			for v in "${VARIANTS[@]}"; do
				echo "DROP TABLE IF EXISTS bench.${seg}_$v;"
				echo "$(build_sql "$seg" "$v");"
			done
		fi
		d=$(dims "$seg")
		for v in lineage nolineage; do
			echo "SELECT bench.check_same('build $seg: $v = plain',
				'SELECT $d, n, amount, qty FROM bench.${seg}_plain',
				'SELECT $d, segroll.count(seg), segroll.sum(seg, 1), segroll.sum(seg, 2) FROM bench.${seg}_$v') \\g /dev/null"
		done
		echo "INSERT INTO bench.sizes SELECT '$seg', 'plain', count(*), pg_total_relation_size('bench.${seg}_plain'),
			sum(pg_column_size(n) + pg_column_size(amount) + pg_column_size(qty)), NULL, NULL FROM bench.${seg}_plain;"
		for v in lineage nolineage; do
			echo "INSERT INTO bench.sizes SELECT '$seg', '$v', count(*), pg_total_relation_size('bench.${seg}_$v'),
				sum(pg_column_size(seg)), sum(segroll.stored_size(seg)), sum(segroll.raw_size(seg)) FROM bench.${seg}_$v;"
		done
	done
	cat <<'EOF'
INSERT INTO bench.sizes SELECT 'raw', 'sales_txn + primary key', count(*), pg_total_relation_size('bench.sales_txn'), NULL, NULL, NULL FROM bench.sales_txn;
-- lineage: every source key exactly once across the coarse cells, and one
-- cell's keys are exactly its rows' keys
SELECT bench.check_same('lineage: coarse cells hold every key once',
	'SELECT txn_id FROM bench.sales_txn',
	'SELECT segroll.keys(seg) FROM bench.coarse_lineage') \g /dev/null
SELECT bench.check_same('lineage: keys of the largest fine cell',
	$$SELECT s.txn_id FROM bench.sales_txn s JOIN bench.item i USING (item_id)
	   WHERE (s.org_id, s.channel_id, i.brand_id, s.item_id, (s.sold_at AT TIME ZONE 'Asia/Seoul')::date) =
	         (SELECT org_id, channel_id, brand_id, item_id, day FROM bench.fine_lineage ORDER BY segroll.count(seg) DESC, 1, 2, 3, 4, 5 LIMIT 1)$$,
	$$SELECT segroll.keys(seg) FROM bench.fine_lineage
	   WHERE (org_id, channel_id, brand_id, item_id, day) =
	         (SELECT org_id, channel_id, brand_id, item_id, day FROM bench.fine_lineage ORDER BY segroll.count(seg) DESC, 1, 2, 3, 4, 5 LIMIT 1)$$) \g /dev/null
EOF
	for seg in "${SEGS[@]}"; do
		for v in "${VARIANTS[@]}"; do
			echo "VACUUM ANALYZE bench.${seg}_$v;"
		done
	done
} >"$out/checks.sql"

log "correctness checks of the builds, contiguous-key builds, sizes"
psql_db -f "$out/checks.sql"

# ------------------------------------------------------------------ analyst queries

week="s.sold_at >= '2024-03-11 00:00+09' AND s.sold_at < '2024-03-18 00:00+09'"
cweek="day >= '2024-03-11' AND day < '2024-03-18'"
QUERIES=(q1_month_org_channel q2_month_brand q3_week_top20_brands q4_week_top20_items)
declare -A QSEG QRAW QCELL
QSEG[q1_month_org_channel]=coarse
QRAW[q1_month_org_channel]="SELECT s.org_id, s.channel_id, date_trunc('month', s.sold_at AT TIME ZONE 'Asia/Seoul')::date AS month, sum(s.amount) AS revenue FROM bench.sales_txn AS s GROUP BY 1, 2, 3"
QCELL[q1_month_org_channel]="SELECT org_id, channel_id, date_trunc('month', day)::date AS month, @REV@ AS revenue FROM @TABLE@ GROUP BY 1, 2, 3"
QSEG[q2_month_brand]=medium
QRAW[q2_month_brand]="SELECT date_trunc('month', s.sold_at AT TIME ZONE 'Asia/Seoul')::date AS month, i.brand_id, sum(s.amount) AS revenue FROM bench.sales_txn AS s JOIN bench.item AS i USING (item_id) GROUP BY 1, 2"
QCELL[q2_month_brand]="SELECT date_trunc('month', day)::date AS month, brand_id, @REV@ AS revenue FROM @TABLE@ GROUP BY 1, 2"
QSEG[q3_week_top20_brands]=medium
QRAW[q3_week_top20_brands]="SELECT i.brand_id, sum(s.amount) AS revenue FROM bench.sales_txn AS s JOIN bench.item AS i USING (item_id) WHERE $week GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20"
QCELL[q3_week_top20_brands]="SELECT brand_id, @REV@ AS revenue FROM @TABLE@ WHERE $cweek GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20"
QSEG[q4_week_top20_items]=fine
QRAW[q4_week_top20_items]="SELECT s.item_id, sum(s.amount) AS revenue FROM bench.sales_txn AS s WHERE $week GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20"
QCELL[q4_week_top20_items]="SELECT item_id, @REV@ AS revenue FROM @TABLE@ WHERE $cweek GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20"

# query variants: raw rows; the plain summary table (reference only); cells
# with lineage summed through the accessor (the analyst's form); the same
# cells re-rolled with merge() (the form that keeps lineage); cells without
# lineage through the accessor
QVARIANTS=(raw summary cells cells_merge cells_nolineage)
query_sql() {	# query variant
	local q=$1 v=$2 seg=${QSEG[$1]} tmpl=${QCELL[$1]} table rev
	case $v in
	raw) echo "${QRAW[$q]}"; return ;;
	summary) table=bench.${seg}_plain rev="sum(amount)" ;;
	cells) table=bench.${seg}_lineage rev="sum(segroll.sum(seg, 1))" ;;
	cells_merge) table=bench.${seg}_lineage rev="segroll.sum(segroll.merge(seg), 1)" ;;
	cells_nolineage) table=bench.${seg}_nolineage rev="sum(segroll.sum(seg, 1))" ;;
	esac
	tmpl=${tmpl//@REV@/$rev}
	echo "${tmpl//@TABLE@/$table}"
}

{
	session_settings
	for q in "${QUERIES[@]}"; do
		echo "\\echo check $q"
		echo "DROP TABLE IF EXISTS pg_temp.expected;"
		echo "CREATE TEMP TABLE expected AS $(query_sql "$q" raw);"
		for v in "${QVARIANTS[@]:1}"; do
			sql=$(query_sql "$q" "$v")
			echo "SELECT bench.check_same('query $q: $v = raw', 'TABLE pg_temp.expected', \$q\$$sql\$q\$) \\g /dev/null"
		done
	done
	echo "\\o $out/query_plans.txt"
	for q in "${QUERIES[@]}"; do
		for v in "${QVARIANTS[@]}"; do
			echo "\\qecho '--- $q $v'"
			echo "EXPLAIN $(query_sql "$q" "$v");"
		done
	done
	echo "\\o"
	echo "\\echo warm-up"
	for q in "${QUERIES[@]}"; do
		for v in "${QVARIANTS[@]}"; do
			echo "$(query_sql "$q" "$v") \\g /dev/null"
		done
	done
	nv=${#QVARIANTS[@]}
	for ((run = 1; run <= REPS; run++)); do
		echo "\\echo query run $run/$REPS"
		for q in "${QUERIES[@]}"; do
			for ((k = 0; k < nv; k++)); do
				v=${QVARIANTS[$(( (k + run - 1) % nv ))]}
				timed "$run" query "$q" "$v" "$(query_sql "$q" "$v")" discard
			done
		done
	done
} >"$out/queries.sql"

log "analyst queries: checks, warm-up, $REPS timed runs"
psql_db -f "$out/queries.sql" 2>&1 | while read -r line; do log "$line"; done
test "${PIPESTATUS[0]}" = 0

# ------------------------------------------------------------------ report

report false "$out/results.md"
log "plans: $out/plans.txt, $out/query_plans.txt"
