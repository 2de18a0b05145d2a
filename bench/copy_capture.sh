#!/usr/bin/env bash
#
# COPY into a captured source (issue 14): the cost of the capture_number
# trigger against a plain table, an identity column (0.4.0's capture) and a
# column DEFAULT nextval() (the alternative without a trigger), same data,
# same run.  Two more variants show where the cost of any per-row capture
# number lies (issue 13): `const`, the capture column and its BRIN index
# with a constant default (no numbering at all: the floor of a design that
# stores a number per row), and `nobrin`, DEFAULT nextval() without the
# BRIN index.
#
#   PSQL="psql -h HOST -p PORT -d DB" bash bench/copy_capture.sh
#
# Environment: PSQL (a psql command line for a database where segroll can be
# created; the server must be able to read /tmp), ROWS [1000000], REPS [5],
# VARIANTS [plain segroll identity dflt const nobrin].
# Prints one line per COPY: rep, variant, seconds (wall clock of the psql
# process).  segroll must be installed in the server.
set -euo pipefail
PSQL=${PSQL:?set PSQL to a psql command line}
ROWS=${ROWS:-1000000}
REPS=${REPS:-5}
VARIANTS=${VARIANTS:-plain segroll identity dflt const nobrin}
csv=/tmp/segroll_copy_capture.csv
P="$PSQL -q -At -v ON_ERROR_STOP=1"
cols="(txn_id, sold_at, org_id, channel_id, amount, qty)"
$P -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS segroll" \
   -c "DROP TABLE IF EXISTS copy_src" \
   -c "CREATE TABLE copy_src AS SELECT g::bigint AS txn_id, '2026-11-01'::timestamptz + g * interval '2 s' AS sold_at,
                  (g % 20)::int AS org_id, (g % 5)::int AS channel_id, ((g % 10000) / 100.0)::numeric(12,2) AS amount,
                  (g % 8)::int AS qty FROM generate_series(1, $ROWS) g" \
   -c "COPY copy_src TO '$csv' (FORMAT csv)"
for r in $(seq "$REPS"); do
	for v in $VARIANTS; do
		$P -c "SET client_min_messages = warning" \
		   -c "SELECT segroll.drop_segmentation('copy_seg') FROM segroll.segmentation WHERE name = 'copy_seg'" \
		   -c "DROP TABLE IF EXISTS copy_t" -c "DROP SEQUENCE IF EXISTS copy_s" >/dev/null
		$P -c "CREATE TABLE copy_t (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, channel_id int, amount numeric(12,2), qty int)"
		case $v in
		segroll)  $P -c "SET client_min_messages = warning" -c "SELECT segroll.create_segmentation('copy_seg', 'copy_t', 'txn_id', 'sold_at', 'day', 'Asia/Seoul', '{org_id, channel_id}', '{amount, qty}')" >/dev/null ;;
		identity) $P -c "ALTER TABLE copy_t ADD COLUMN segroll_seq int8 GENERATED ALWAYS AS IDENTITY (CACHE 1)" \
		             -c "CREATE INDEX ON copy_t USING brin (segroll_seq) WITH (pages_per_range = 16)" ;;
		const)    $P -c "ALTER TABLE copy_t ADD COLUMN segroll_seq int8 DEFAULT 1" \
		             -c "CREATE INDEX ON copy_t USING brin (segroll_seq) WITH (pages_per_range = 16)" ;;
		nobrin)   $P -c "CREATE SEQUENCE copy_s CACHE 1" -c "ALTER TABLE copy_t ADD COLUMN segroll_seq int8 DEFAULT nextval('copy_s')" ;;
		dflt)     $P -c "CREATE SEQUENCE copy_s CACHE 1" -c "ALTER TABLE copy_t ADD COLUMN segroll_seq int8 DEFAULT nextval('copy_s')" \
		             -c "CREATE INDEX ON copy_t USING brin (segroll_seq) WITH (pages_per_range = 16)" ;;
		esac
		$P -c "CHECKPOINT"
		s=$(date +%s.%N)
		$P -c "COPY copy_t $cols FROM '$csv' (FORMAT csv)"
		e=$(date +%s.%N)
		echo "$r $v $(echo "$e - $s" | bc)"
	done
done
