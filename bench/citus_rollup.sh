#!/usr/bin/env bash
#
# Roll-ups of a segmentation of a Citus-distributed source (issue 15),
# against the same segmentation of the same rows in a plain table on one
# node, in the same run: the build at creation, and incremental roll-ups of
# BATCH new rows, at each source size of SIZES.
#
#   bench/citus_rollup.sh        (as the postgres user; Citus installed, see docs/citus.md)
#
# Starts a coordinator and two workers on 127.0.0.1 in $DIR, ports PORT,
# PORT+1, PORT+2 (8 shards), and stops them at the end (KEEP=1 leaves them
# running).  The single-node twin is a plain table of the coordinator.
#
# Environment (defaults in brackets):
#   SIZES     source rows before the batches, one run each [1000000 4000000]
#   BATCHES   rows per incremental roll-up [10000 100000]
#   ORGS      organisations, the distribution column [20]
#   DAYS      days [120]          CHANNELS  channels [4]
#   REPS      roll-ups measured per batch size [5]
#   DIR       cluster directory [/tmp/segroll-citus-rollup]
#   PORT      coordinator port [5571]
#   PGBIN     PostgreSQL bin directory [$(pg_config --bindir)]
#
# Prints, per size: the build (create_segmentation) on Citus and on one
# node; per batch size the median roll-up time of REPS runs on each, with
# the ratio Citus / one node; for corrections (1 500 updates and 500
# deletes a run) the writes' median time, against the same writes into a
# distributed table without segmentation, and the roll-up's; and checks
# that the cells of both are equal and verify() finds nothing.
set -euo pipefail

SIZES=${SIZES:-"1000000 4000000"}
BATCHES=${BATCHES:-"10000 100000"}
ORGS=${ORGS:-20}
DAYS=${DAYS:-120}
CHANNELS=${CHANNELS:-4}
REPS=${REPS:-5}
DIR=${DIR:-/tmp/segroll-citus-rollup}
PORT=${PORT:-5571}
PGBIN=${PGBIN:-$(pg_config --bindir)}
unset PGHOST PGPORT PGDATABASE

. "$(dirname "$0")/citus_cluster.sh"
[ "${KEEP:-0}" = 1 ] || trap citus_stop EXIT

# milliseconds of one statement, from psql's \timing
time_ms() {
	psql_c -At -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# rows [$1, $2) of the data set, into both sources (the same rows)
load() {
	psql_c <<SQL
INSERT INTO sales (org_id, txn_id, sold_at, channel, amount, qty)
SELECT g % $ORGS, g, '2026-01-01'::timestamptz + ((g * 7) % ($DAYS * 24 * 60)) * interval '1 minute',
       (g / 7) % $CHANNELS, round(((g * 7919) % 100003) / 100.0, 2), g % 7
FROM generate_series($1::bigint, $2::bigint - 1) g;
INSERT INTO sales_local SELECT org_id, txn_id, sold_at, channel, amount, qty FROM sales_stage($1, $2);
INSERT INTO sales_plain SELECT org_id, txn_id, sold_at, channel, amount, qty FROM sales_stage($1, $2);
SQL
}

for size in $SIZES; do
	citus_start citus,segroll 'shared_buffers = 1GB' 'max_wal_size = 8GB'
	psql_c <<SQL
SET client_min_messages = warning;
CREATE TABLE sales (org_id int NOT NULL, txn_id bigint NOT NULL, sold_at timestamptz NOT NULL,
                    channel int NOT NULL, amount numeric(12,2), qty int, PRIMARY KEY (org_id, txn_id));
SELECT create_distributed_table('sales', 'org_id');
-- one node: the key alone is unique (a local source needs that)
CREATE TABLE sales_local (org_id int NOT NULL, txn_id bigint NOT NULL PRIMARY KEY, sold_at timestamptz NOT NULL,
                          channel int NOT NULL, amount numeric(12,2), qty int);
-- the same rows, distributed, with no segmentation: what corrections cost on Citus without capture
CREATE TABLE sales_plain (org_id int NOT NULL, txn_id bigint NOT NULL, sold_at timestamptz NOT NULL,
                          channel int NOT NULL, amount numeric(12,2), qty int, PRIMARY KEY (org_id, txn_id));
SELECT create_distributed_table('sales_plain', 'org_id', colocate_with => 'sales');
-- the same rows as load() inserts into sales
CREATE FUNCTION sales_stage(lo bigint, hi bigint) RETURNS TABLE (org_id int, txn_id bigint, sold_at timestamptz,
	channel int, amount numeric(12,2), qty int) LANGUAGE sql AS \$\$
	SELECT (g % $ORGS)::int, g, '2026-01-01'::timestamptz + ((g * 7) % ($DAYS * 24 * 60)) * interval '1 minute',
	       ((g / 7) % $CHANNELS)::int, round(((g * 7919) % 100003) / 100.0, 2), (g % 7)::int
	FROM generate_series(lo, hi - 1) g \$\$;
SQL
	load 1 $((size + 1))
	psql_c -c 'VACUUM ANALYZE sales' -c 'VACUUM ANALYZE sales_local'
	build_citus=$(time_ms "SELECT segroll.create_segmentation('dist', 'sales', 'txn_id', 'sold_at', 'day', dimensions => '{org_id,channel}', measures => '{amount,qty}')")
	build_local=$(time_ms "SELECT segroll.create_segmentation('one', 'sales_local', 'txn_id', 'sold_at', 'day', dimensions => '{org_id,channel}', measures => '{amount,qty}')")
	echo "size $size: build  citus ${build_citus} ms  one node ${build_local} ms  ratio $(echo "$build_citus $build_local" | awk '{printf "%.2f", $1/$2}')"
	next=$((size + 1))
	for batch in $BATCHES; do
		: >"$DIR/c" ; : >"$DIR/l"
		for r in $(seq 1 "$REPS"); do
			load $next $((next + batch))
			next=$((next + batch))
			time_ms "SELECT segroll.rollup('dist')" >>"$DIR/c"
			time_ms "SELECT segroll.rollup('one')" >>"$DIR/l"
		done
		c=$(median <"$DIR/c"); l=$(median <"$DIR/l")
		echo "size $size: batch $batch  citus ${c} ms  one node ${l} ms  ratio $(echo "$c $l" | awk '{printf "%.2f", $1/$2}')  (runs: citus $(paste -sd' ' "$DIR/c"); one node $(paste -sd' ' "$DIR/l"))"
	done
	# corrections: 1 500 rows updated and 500 deleted in both sources,
	# then a roll-up of that window; the writes are timed too (on Citus each
	# changed row's trigger looks its log shard up)
	: >"$DIR/c" ; : >"$DIR/l"; : >"$DIR/wc" ; : >"$DIR/wl"; : >"$DIR/wp"
	lo=1
	for r in $(seq 1 "$REPS"); do
		upd="UPDATE %s SET amount = amount + 1 WHERE txn_id > $lo AND txn_id <= $((lo + 1500))"
		del="DELETE FROM %s WHERE txn_id > $((lo + 1500)) AND txn_id <= $((lo + 2000))"
		lo=$((lo + 2000))
		wc=$(time_ms "$(printf "$upd" sales); $(printf "$del" sales)")
		wl=$(time_ms "$(printf "$upd" sales_local); $(printf "$del" sales_local)")
		wp=$(time_ms "$(printf "$upd" sales_plain); $(printf "$del" sales_plain)")
		echo "$wc" >>"$DIR/wc"; echo "$wl" >>"$DIR/wl"; echo "$wp" >>"$DIR/wp"
		time_ms "SELECT segroll.rollup('dist')" >>"$DIR/c"
		time_ms "SELECT segroll.rollup('one')" >>"$DIR/l"
	done
	c=$(median <"$DIR/c"); l=$(median <"$DIR/l"); wc=$(median <"$DIR/wc"); wl=$(median <"$DIR/wl"); wp=$(median <"$DIR/wp")
	echo "size $size: corrections (1500 updates, 500 deletes)  write: citus ${wc} ms  citus without segroll ${wp} ms  ratio $(echo "$wc $wp" | awk '{printf "%.2f", $1/$2}')  one node ${wl} ms"
	echo "size $size: corrections roll-up  citus ${c} ms  one node ${l} ms  ratio $(echo "$c $l" | awk '{printf "%.2f", $1/$2}')  (runs: citus $(paste -sd' ' "$DIR/c"); one node $(paste -sd' ' "$DIR/l"))"
	# both exact
	psql_c -At <<'SQL'
SET TimeZone = 'UTC';
SELECT 'exact: ' || (
	(SELECT count(*) FROM (SELECT org_id, channel, period, seg::text FROM segroll_data.dist
	                      EXCEPT SELECT org_id, channel, period, seg::text FROM segroll_data.one) d) = 0
	AND (SELECT sum(segroll.count(seg)) FROM segroll_data.dist) = (SELECT count(*) FROM sales)
	AND (SELECT count(*) FROM segroll.verify('dist', '2026-01-01', '2026-05-01')) = 0);
SQL
done
