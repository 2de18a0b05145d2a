#!/usr/bin/env bash
#
# Bytes of cells beyond a plain summary table, per build of the extension
# (docs/benchmarks.md, "Bytes: what cells cost beyond a plain summary
# table"; issue 13's one-row form).
#
#   LABEL=before bench/bytes.sh     # with one build of segroll installed
#   LABEL=after  bench/bytes.sh     # after installing another
#
# Each call builds the segmentations once as a plain summary table (count,
# sum(amount), sum(qty)), as segments with lineage and without, by the same
# CREATE TABLE ... AS SELECT ... GROUP BY as bench/run.sh, records their
# sizes under LABEL in bench.bytes, drops the tables and prints the table
# for every label recorded so far, so that builds compare on the same data.
# Only sizes: nothing is timed (bench/run.sh times the builds).
#
# Environment (defaults in brackets):
#   LABEL       name of this measurement [the library's md5]
#   SEGS        segmentations [coarse medium fine]
#   ROWS        source rows; generated (bench/generate.sql) if the data set
#               has another size [10000000]
#   BENCH_DB    database, created if missing [bench]
#   PGHOST PGPORT PGUSER  [/tmp/devpg 5499 postgres]
#   PSQL        psql binary [$(pg_config --bindir)/psql]
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ROWS=${ROWS:-10000000}
BENCH_DB=${BENCH_DB:-bench}
SEGS=${SEGS:-coarse medium fine}
export PGHOST=${PGHOST:-/tmp/devpg}
export PGPORT=${PGPORT:-5499}
export PGUSER=${PGUSER:-postgres}
PSQL=${PSQL:-$(pg_config --bindir)/psql}
SO="$(pg_config --pkglibdir)/segroll.so"
LABEL=${LABEL:-$(md5sum "$SO" | cut -c1-12)}
psql_db() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "$("$PSQL" -X -Atq -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$BENCH_DB'")" = 0 ]; then
	"$PSQL" -X -q -d postgres -c "CREATE DATABASE $BENCH_DB"
fi
psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS segroll"
have_rows=0
if [ "$(psql_db -At -c "SELECT to_regclass('bench.dataset') IS NOT NULL AND to_regclass('bench.sales_txn') IS NOT NULL")" = t ]; then
	have_rows=$(psql_db -At -c "SELECT rows FROM bench.dataset")
fi
if [ "$have_rows" != "$ROWS" ]; then
	log "generating $ROWS rows (bench/generate.sql)"
	psql_db -v rows="$ROWS" -f "$here/generate.sql" >/dev/null
fi

# the segmentations of bench/run.sh
day_expr="(s.sold_at AT TIME ZONE 'Asia/Seoul')::date"
declare -A SEL FROM
SEL[coarse]="s.org_id, s.channel_id, $day_expr AS day"
FROM[coarse]="bench.sales_txn AS s"
SEL[medium]="s.org_id, s.channel_id, i.brand_id, $day_expr AS day"
FROM[medium]="bench.sales_txn AS s JOIN bench.item AS i USING (item_id)"
SEL[fine]="s.org_id, s.channel_id, i.brand_id, s.item_id, $day_expr AS day"
FROM[fine]="bench.sales_txn AS s JOIN bench.item AS i USING (item_id)"
declare -A GRP=([coarse]="1, 2, 3" [medium]="1, 2, 3, 4" [fine]="1, 2, 3, 4, 5")
declare -A AGG
AGG[plain]="count(*) AS n, sum(s.amount) AS amount, sum(s.qty) AS qty"
AGG[lineage]="segroll.segment_agg(s.txn_id, s.sold_at, s.amount, s.qty) AS seg"
AGG[nolineage]="segroll.segment_agg_nolineage(s.txn_id, s.sold_at, s.amount, s.qty) AS seg"

psql_db <<'EOF'
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS bench.bytes (
	label text, segmentation text, variant text, source_rows bigint, cells bigint,
	total_bytes bigint,		-- pg_total_relation_size: heap + TOAST
	value_bytes bigint,		-- sum of pg_column_size of the measure columns / segment
	one_row_cells bigint,	-- cells of one source row
	one_row_value_bytes bigint,
	measured_at timestamptz DEFAULT now());
EOF
psql_db -c "DELETE FROM bench.bytes WHERE label = '$LABEL'"

for seg in $SEGS; do
	for v in plain lineage nolineage; do
		log "$LABEL: $seg $v"
		if [ "$v" = plain ]; then
			sizes="sum(pg_column_size(n) + pg_column_size(amount) + pg_column_size(qty)),
				count(*) FILTER (WHERE n = 1),
				sum(pg_column_size(n) + pg_column_size(amount) + pg_column_size(qty)) FILTER (WHERE n = 1)"
		else
			sizes="sum(pg_column_size(seg)), count(*) FILTER (WHERE segroll.count(seg) = 1),
				sum(pg_column_size(seg)) FILTER (WHERE segroll.count(seg) = 1)"
		fi
		psql_db <<EOF
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS bench.bytes_${seg}_$v;
CHECKPOINT;
CREATE TABLE bench.bytes_${seg}_$v AS
	SELECT ${SEL[$seg]}, ${AGG[$v]} FROM ${FROM[$seg]} GROUP BY ${GRP[$seg]};
INSERT INTO bench.bytes (label, segmentation, variant, source_rows, cells, total_bytes,
                         value_bytes, one_row_cells, one_row_value_bytes)
SELECT '$LABEL', '$seg', '$v', (SELECT rows FROM bench.dataset), count(*),
       pg_total_relation_size('bench.bytes_${seg}_$v'), $sizes
FROM bench.bytes_${seg}_$v;
DROP TABLE bench.bytes_${seg}_$v;
EOF
	done
done

psql_db -At <<'EOF'
SELECT '| build | segmentation | cells | one-row cells | plain summary | cells with lineage | extra per source row | one-row segment with lineage | cells without lineage | extra per source row | one-row segment without lineage |';
SELECT '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
SELECT format('| %s | %s | %s | %s %% | %s MiB | %s MiB | **%s B** | %s | %s MiB | %s B | %s |',
              p.label, p.segmentation, l.cells,
              to_char(100.0 * l.one_row_cells / l.cells, 'FM990.0'),
              to_char(p.total_bytes / 1048576.0, 'FM99990.0'),
              to_char(l.total_bytes / 1048576.0, 'FM99990.0'),
              to_char((l.total_bytes - p.total_bytes)::numeric / p.source_rows, 'FM990.00'),
              coalesce(to_char(l.one_row_value_bytes::numeric / nullif(l.one_row_cells, 0), 'FM990.0'), '–'),
              to_char(n.total_bytes / 1048576.0, 'FM99990.0'),
              to_char((n.total_bytes - p.total_bytes)::numeric / p.source_rows, 'FM990.00'),
              coalesce(to_char(n.one_row_value_bytes::numeric / nullif(n.one_row_cells, 0), 'FM990.0'), '–'))
FROM bench.bytes p
JOIN bench.bytes l ON (l.label, l.segmentation, l.variant) = (p.label, p.segmentation, 'lineage')
JOIN bench.bytes n ON (n.label, n.segmentation, n.variant) = (p.label, p.segmentation, 'nolineage')
WHERE p.variant = 'plain'
ORDER BY array_position(ARRAY['coarse', 'medium', 'fine'], p.segmentation), min(p.measured_at) OVER (PARTITION BY p.label);
EOF
echo
echo "Reproduce: \`LABEL='$LABEL' SEGS=\"$SEGS\" BENCH_DB=$BENCH_DB ROWS=$ROWS bench/bytes.sh\` (source rows: $(psql_db -At -c 'SELECT rows FROM bench.dataset'))"
