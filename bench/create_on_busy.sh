#!/usr/bin/env bash
#
# Creating a segmentation on a large, busy table (issue 14): how long do
# writers stall?
#
#   bash bench/create_on_busy.sh        (as root or as the postgres user)
#
# Environment (defaults in brackets):
#   ROWS       sizes of the source table, in rows [1000000 3000000]
#   REPS       repetitions of each measurement per size [3]
#   RATE       insert transactions per second of the load (one row each) [1000]:
#              this machine's 2 cores do about 4 200 such inserts/s with
#              nothing else running, so at 2 000/s any statement that keeps
#              one core busy (a backfill) already makes the load fall behind
#              its schedule
#   WARM       seconds of load before each DDL, and between steps [4]
#   VARIANTS   which of segroll, identity, brin to run [segroll identity brin]
#   RESULTS    results file [bench/out/create_on_busy_results.md]
#   PORT       port of the throw-away cluster [5540]
#   PGBIN      bin directory of the PostgreSQL 15 to run [/usr/lib/postgresql/15/bin]
#
# Starts its own throw-away cluster (segroll installed in PGBIN's
# PostgreSQL), a reference table ref_item (item -> brand) and, per size, a
# master copy of a back-office transactions table (the demo's shape: bigint
# key from a sequence, sold_at timestamptz NOT NULL over 30 days, org_id,
# channel_id, item_id, customer_id int, amount numeric(12,2), qty int).
# For every repetition, three variants run in rotating order, each on a
# fresh copy `src` of the master (INSERT ... SELECT, primary key, VACUUM
# ANALYZE, CHECKPOINT; autovacuum off on the copy so that no vacuum takes a
# lock inside a measurement):
#   segroll  SELECT segroll.create_segmentation('busy', 'src', ...,
#            backfill => false)  (org, channel, brand via ref_item, day in
#            Asia/Seoul, amount and qty, with lineage), then, after WARM
#            seconds, CALL segroll.backfill('busy', 200000)
#   identity ALTER TABLE src ADD COLUMN x int8 GENERATED ALWAYS AS IDENTITY
#            (CACHE 1): what segroll 0.4.0 did to a source (a table rewrite)
#   brin     CREATE INDEX ON src USING brin (txn_id) WITH (pages_per_range
#            = 16): one scan of the table under a SHARE lock, as the BRIN
#            index on segroll_seq is built
# while pgbench (-c 2 -j 2, --rate RATE, one single-row INSERT per
# transaction, key from the table's sequence, -l) inserts into src.  The
# DDL's duration is clock_timestamp() before and after the statement in its
# own session (commit included).  The writers' latency is pgbench's
# per-transaction latency (with --rate, from the transaction's scheduled
# start, so time spent queued behind a blocked transaction counts); the
# window of a step is every transaction whose [scheduled start, end]
# overlaps the DDL; reported: the maximum and p99 in it, the p99 of the
# 3 s before the DDL (quiet), and the longest single INSERT statement in the
# window (latency minus schedule lag: the time a writer actually waited in
# the server, without the queueing behind it).  A third session samples pg_locks every 10 ms
# during each step: how long an ACCESS EXCLUSIVE and a SHARE lock on src
# were granted, the most sessions waiting for a lock on src, and the wait
# events of the inserting backends that are active (CPU if none).
# Medians (min - max) of REPS; ratios are medians over the identity
# baseline's medians.  Results: bench/out/create_on_busy_results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
ROWS=${ROWS:-"1000000 3000000"}
REPS=${REPS:-3}
RATE=${RATE:-1000}
WARM=${WARM:-4}
VARIANTS_SET=${VARIANTS:+yes}
VARIANTS=${VARIANTS:-"segroll identity brin"}
RESULTS=${RESULTS:-$out/create_on_busy_results.md}
PORT=${PORT:-5540}
bin=${PGBIN:-/usr/lib/postgresql/15/bin}
dir=$(mktemp -d /tmp/segroll-busy.XXXXXX)
chmod 755 "$dir"
t_start=$(date +%s)
log() { echo "[$(( $(date +%s) - t_start ))s] $*" >&2; }
asuser() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
pgb=
cleanup() {
	[ -n "$pgb" ] && kill "$pgb" 2>/dev/null || true
	asuser "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	cp "$dir/log" "$out/create_on_busy_server.log" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

asuser "$bin/initdb" -D "$dir/data" -A trust >/dev/null
cat >> "$dir/data/postgresql.conf" <<EOF
shared_buffers = '1GB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'
log_lock_waits = on
deadlock_timeout = '200ms'
log_line_prefix = '%m [%p] '
listen_addresses = ''
unix_socket_directories = '$dir'
port = $PORT
EOF
asuser "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
export PGHOST=$dir PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
PSQL="$bin/psql -X -q -v ON_ERROR_STOP=1"
q() { $PSQL -At -c "$1"; }

$PSQL <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION segroll;
CREATE TABLE ref_item (item_id int PRIMARY KEY, brand_id int NOT NULL);
INSERT INTO ref_item SELECT i, 1 + (i * 7) % 12 FROM generate_series(1, 2000) i;
CREATE UNLOGGED TABLE res (n bigint, rep int, variant text, step text, ddl_ms float8, max_ms float8,
	p99_ms float8, quiet_p99_ms float8, txns int, stmt_max_ms float8, ael_ms float8, share_ms float8, waiting int);
CREATE UNLOGGED TABLE lock_sample (step text, ts float8, ael bool, shr bool, waiting int, waits text[]);
CREATE UNLOGGED TABLE sampler_stop (step text);
EOF
version=$(q "SELECT extversion FROM pg_extension WHERE extname = 'segroll'")
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$here" status --porcelain -- ../sql ../src 2>/dev/null | head -1)
pgversion=$(q "SHOW server_version")

cat > "$dir/insert.sql" <<'EOF'
INSERT INTO src (sold_at, org_id, channel_id, item_id, customer_id, amount, qty)
VALUES (now(), 1 + floor(5 * random() ^ 1.5)::int, 1 + floor(4 * random() ^ 2)::int,
        1 + floor(2000 * random() ^ 2)::int, 1 + floor(100000 * random())::int,
        round((random() * 200)::numeric, 2), 1 + floor(4 * random() ^ 3)::int);
EOF

make_master() {	# $1 rows
	$PSQL <<EOF
SET client_min_messages = warning;
DROP TABLE IF EXISTS master;
SELECT setseed(0.14);
CREATE TABLE master AS
SELECT i::bigint AS txn_id,
       timestamptz '2026-10-17 00:00+09' + (i - 1) * (interval '30 days' / $1) AS sold_at,
       1 + floor(5 * random() ^ 1.5)::int AS org_id, 1 + floor(4 * random() ^ 2)::int AS channel_id,
       1 + floor(2000 * random() ^ 2)::int AS item_id, 1 + floor(100000 * random())::int AS customer_id,
       round((random() * 200)::numeric, 2)::numeric(12,2) AS amount, 1 + floor(4 * random() ^ 3)::int AS qty
FROM generate_series(1, $1) i;
VACUUM ANALYZE master;
EOF
}

make_copy() {	# $1 rows: a fresh src from master
	$PSQL <<EOF
SET client_min_messages = warning;
SELECT segroll.drop_segmentation('busy') FROM segroll.segmentation WHERE name = 'busy';
DROP TABLE IF EXISTS src;
CREATE TABLE src (txn_id bigint NOT NULL, sold_at timestamptz NOT NULL, org_id int NOT NULL,
	channel_id int NOT NULL, item_id int NOT NULL, customer_id int NOT NULL,
	amount numeric(12,2) NOT NULL, qty int NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO src SELECT * FROM master ORDER BY txn_id;
ALTER TABLE src ADD PRIMARY KEY (txn_id);
CREATE SEQUENCE src_key START $(( $1 + 1 )) OWNED BY src.txn_id;
ALTER TABLE src ALTER COLUMN txn_id SET DEFAULT nextval('src_key');
VACUUM ANALYZE src;
CHECKPOINT;
EOF
}

# one step: the sampler in the background, the statement timed in its own
# session; prints "t0 t1" (epoch seconds, server clock)
step() {	# $1 step label, $2 statement
	local oid; oid=$(q "SELECT 'src'::regclass::oid")
	$PSQL <<EOF &
DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '20 min';
BEGIN
	LOOP
		INSERT INTO lock_sample
		SELECT '$1', extract(epoch FROM clock_timestamp()),
		       coalesce(bool_or(mode = 'AccessExclusiveLock' AND granted), false),
		       coalesce(bool_or(mode = 'ShareLock' AND granted), false),
		       count(*) FILTER (WHERE NOT granted),
		       ARRAY(SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
		             WHERE application_name = 'pgbench' AND state = 'active')
		FROM pg_locks WHERE locktype = 'relation' AND relation = $oid
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database());
		EXIT WHEN EXISTS (SELECT FROM sampler_stop WHERE step = '$1') OR clock_timestamp() > deadline;
		PERFORM pg_sleep(0.01);
	END LOOP;
END \$\$;
EOF
	local sampler=$!
	sleep 0.3
	$PSQL -At <<EOF
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
\o /dev/null
$2;
\o
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
\echo :t0 :t1
INSERT INTO sampler_stop VALUES ('$1');
EOF
	wait "$sampler"
}

# writers' latency in a window, from pgbench's per-transaction logs
# (client, xact, latency us, script, epoch s, us, schedule lag)
window() {	# $1 t0, $2 t1: prints "max_ms p99_ms quiet_p99_ms txns stmt_max_ms"
	cat "$dir"/pgblog.* | awk -v t0="$1" -v t1="$2" '
		NF >= 7 { e = $5 + $6 / 1e6; l = $3 / 1e6; s = e - l
		  if (e >= t0 && s <= t1) print "w", $3 / 1000, ($3 - $7) / 1000
		  else if (e >= t0 - 3 && e < t0) print "q", $3 / 1000, 0 }' | sort -k1,1 -k2,2g | awk '
		$1 == "w" { w[++nw] = $2; if ($3 > sm) sm = $3 } $1 == "q" { qq[++nq] = $2 }
		function p(a, n, f,   i) { if (n == 0) return "NULL"; i = int(n * f + 0.999999); if (i < 1) i = 1; return a[i] }
		END { printf "%s %s %s %d %s\n", (nw ? w[nw] : "NULL"), p(w, nw, 0.99), p(qq, nq, 0.99), nw, (nw ? sm : "NULL") }'
}

record() {	# $1 rows, $2 rep, $3 variant, $4 step, $5 t0, $6 t1
	local stats; stats=$(window "$5" "$6")
	set -- "$@" $stats
	q "INSERT INTO res SELECT $1, $2, '$3', '$4', 1000 * ($6 - $5), $7, $8, $9, ${10}, ${11},
	     1000 * (max(ts) FILTER (WHERE ael) - min(ts) FILTER (WHERE ael)),
	     1000 * (max(ts) FILTER (WHERE shr) - min(ts) FILTER (WHERE shr)),
	     max(waiting) FROM lock_sample WHERE step = '$3.$4.$1.$2'"
	log "  $3 $4: $(q "SELECT format('ddl %s ms, writers max %s / p99 %s ms (quiet p99 %s), longest INSERT %s ms, AEL held %s ms, SHARE held %s ms, up to %s waiting',
		round(ddl_ms), round(max_ms), round(p99_ms), round(quiet_p99_ms::numeric, 1), round(stmt_max_ms), coalesce(round(ael_ms)::text, '-'),
		coalesce(round(share_ms)::text, '-'), waiting) FROM res WHERE n = $1 AND rep = $2 AND variant = '$3' AND step = '$4'")"
}

run_variant() {	# $1 rows, $2 rep, $3 variant
	local n=$1 rep=$2 v=$3 tt a b c d
	make_copy "$n" >/dev/null
	rm -f "$dir"/pgblog.*
	(cd "$dir" && exec "$bin/pgbench" -n -c 2 -j 2 -R "$RATE" -T 3600 -l --log-prefix=pgblog \
		-f "$dir/insert.sql" postgres > "$dir/pgbench.out" 2>&1) &
	pgb=$!
	sleep "$WARM"
	case $v in
	segroll)
		tt=$(step "$v.create.$n.$rep" "SELECT segroll.create_segmentation(name => 'busy', source => 'src', key => 'txn_id',
			time_col => 'sold_at', grain => 'day', time_zone => 'Asia/Seoul',
			dimensions => '{org_id, channel_id, brand_id=public.ref_item.brand_id ON item_id}',
			measures => '{amount, qty}', backfill => false)")
		read -r a b <<<"$tt"
		sleep "$WARM"
		tt=$(step "$v.backfill.$n.$rep" "CALL segroll.backfill('busy', 200000)")
		read -r c d <<<"$tt" ;;
	identity)
		tt=$(step "$v.ddl.$n.$rep" "ALTER TABLE src ADD COLUMN x int8 GENERATED ALWAYS AS IDENTITY (CACHE 1)")
		read -r a b <<<"$tt" ;;
	brin)
		tt=$(step "$v.ddl.$n.$rep" "CREATE INDEX ON src USING brin (txn_id) WITH (pages_per_range = 16)")
		read -r a b <<<"$tt" ;;
	esac
	sleep 3
	# (a background job ignores SIGINT; pgbench's last buffered log lines,
	# from after the window, are lost)
	kill -TERM "$pgb" 2>/dev/null || true
	wait "$pgb" 2>/dev/null || true
	pgb=
	if [ "$v" = segroll ]; then
		record "$n" "$rep" "$v" create "$a" "$b"
		record "$n" "$rep" "$v" backfill "$c" "$d"
		# after a last roll-up, every row of the source is in the cells once
		q "SELECT segroll.rollup('busy')" >/dev/null
		tt=$(q "SELECT (SELECT count(*) FROM src) || ' ' || (SELECT sum(segroll.count(seg)) FROM segroll_data.busy)")
		read -r a b <<<"$tt"
		[ "$a" = "$b" ] || { log "  cells hold $b rows, the source $a"; exit 1; }
	else
		record "$n" "$rep" "$v" ddl "$a" "$b"
	fi
}

log "segroll $version (commit $commit${dirty:+, modified}), PostgreSQL $pgversion, ROWS=$ROWS, REPS=$REPS, RATE=$RATE/s"
read -r -a variants <<<"$VARIANTS"
nv=${#variants[@]}
for n in $ROWS; do
	log "master of $n rows"
	make_master "$n"
	log "  $(q "SELECT pg_size_pretty(pg_total_relation_size('master'))") heap"
	for rep in $(seq 1 "$REPS"); do
		for k in $(seq 0 $(( nv - 1 ))); do
			v=${variants[$(( (k + rep - 1) % nv ))]}
			log "size $n, rep $rep: $v"
			run_variant "$n" "$rep" "$v"
		done
	done
done

# ------------------------------------------------------------ report
{
	echo "# Creating a segmentation on a busy table (issue 14)"
	echo
	echo "segroll $version (commit $commit${dirty:+, modified}), PostgreSQL $pgversion, $(date -u +%Y-%m-%d), $(nproc) cores;"
	echo "load: pgbench -c 2 -j 2 --rate $RATE, one single-row INSERT per transaction; REPS=$REPS, medians (min - max)."
	echo "Reproduce: \`${VARIANTS_SET:+VARIANTS=\"$VARIANTS\" }ROWS=\"$ROWS\" REPS=$REPS RATE=$RATE bash bench/create_on_busy.sh\`"
	echo
	$PSQL -At <<'EOF'
WITH m AS (
	SELECT n, variant, step,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY ddl_ms) AS ddl, min(ddl_ms) AS ddl_lo, max(ddl_ms) AS ddl_hi,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY max_ms) AS mx, min(max_ms) AS mx_lo, max(max_ms) AS mx_hi,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY p99_ms) AS p99, min(p99_ms) AS p99_lo, max(p99_ms) AS p99_hi,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY quiet_p99_ms) AS quiet,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY stmt_max_ms) AS sm, min(stmt_max_ms) AS sm_lo, max(stmt_max_ms) AS sm_hi,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY ael_ms) AS ael, min(ael_ms) AS ael_lo, max(ael_ms) AS ael_hi,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY share_ms) AS shr,
	       max(waiting) AS waiting, count(*) AS reps
	FROM res GROUP BY 1, 2, 3),
b AS (SELECT n, ddl AS b_ddl, mx AS b_mx FROM m WHERE variant = 'identity')
SELECT '| rows | what | DDL ms | ratio to identity | writers max ms | ratio to identity | writers p99 ms | quiet p99 ms | longest INSERT ms | ACCESS EXCLUSIVE held ms | SHARE held ms | waiting |'
UNION ALL SELECT '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
UNION ALL
SELECT * FROM (
SELECT format('| %s | %s | %s (%s - %s) | %s | %s (%s - %s) | %s | %s (%s - %s) | %s | %s (%s - %s) | %s | %s | %s |',
	to_char(m.n, 'FM999 999 999'),
	CASE m.variant WHEN 'segroll' THEN 'segroll ' || CASE m.step WHEN 'create' THEN 'create_segmentation(backfill => false)' ELSE 'backfill(name, 200000)' END
	               WHEN 'identity' THEN 'plain: ADD COLUMN ... GENERATED ALWAYS AS IDENTITY' ELSE 'plain: CREATE INDEX ... USING brin' END,
	round(ddl), round(ddl_lo), round(ddl_hi), to_char(ddl / b_ddl, 'FM990.00') || '×',
	round(mx), round(mx_lo), round(mx_hi), to_char(mx / b_mx, 'FM990.00') || '×',
	round(p99), round(p99_lo), round(p99_hi), round(quiet::numeric, 1), round(sm), round(sm_lo), round(sm_hi),
	coalesce(round(ael)::text || CASE WHEN ael_lo <> ael_hi THEN format(' (%s - %s)', round(ael_lo), round(ael_hi)) ELSE '' END, '0'),
	coalesce(round(shr)::text, '0'), waiting)
FROM m LEFT JOIN b USING (n)
ORDER BY m.n, CASE m.variant WHEN 'segroll' THEN 0 WHEN 'identity' THEN 2 ELSE 3 END, m.step DESC) t;
EOF
	echo
	echo "Per run:"
	echo
	echo '```'
	$PSQL -P footer=off -c "SELECT n, rep, variant, step, round(ddl_ms) AS ddl_ms, round(max_ms) AS max_ms, round(p99_ms) AS p99_ms,
		round(quiet_p99_ms::numeric, 1) AS quiet_p99_ms, txns, round(stmt_max_ms) AS stmt_max_ms, round(ael_ms) AS ael_ms, round(share_ms) AS share_ms, waiting
		FROM res ORDER BY n, rep, variant, step DESC"
	echo '```'
	echo
	echo "What the active inserting backends were doing, sampled every 10 ms during each step (all repetitions):"
	echo
	echo '```'
	$PSQL -P footer=off -c "SELECT n, what, wait_event, samples, round(100.0 * samples / sum(samples) OVER (PARTITION BY n, what), 1) AS pct
		FROM (SELECT split_part(step, '.', 3)::bigint AS n, split_part(step, '.', 1) || ' ' || split_part(step, '.', 2) AS what,
		             w AS wait_event, count(*) AS samples
		      FROM lock_sample, unnest(waits) w GROUP BY 1, 2, 3) t ORDER BY n, what, samples DESC"
	echo '```'
} > "$RESULTS"
cat "$RESULTS"
log "done"
