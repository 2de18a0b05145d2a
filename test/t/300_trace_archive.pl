# Raw-data retention: purge_source() deletes old source rows once their cells
# verify clean; trace then follows the purged keys to the front-end system
# through postgres_fdw (a second database on the same server), and cells,
# lineage and later roll-ups stay exact.  A dump and restore keeps the purge
# and trace logs and the archive setting.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('archive');
$node->init;
$node->start;
my $host = $node->host;
my $port = $node->port;

# the front-end system keeps every transaction
$node->safe_psql('postgres', 'CREATE DATABASE front');
$node->safe_psql('front', q{
	CREATE TABLE sales_txn (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int NOT NULL, amount numeric(12,2) NOT NULL);
	INSERT INTO sales_txn
	SELECT g, '2026-11-01'::timestamptz + g * interval '1 minute', g % 5, (g % 1000) * 0.01
	FROM generate_series(1, 20000) g;	-- 2026-11-01 .. 2026-11-14
});

# the back office receives them, rolls them up and keeps raw rows for a while
$node->safe_psql('postgres', 'CREATE DATABASE back');
$node->safe_psql('back', qq{
	CREATE EXTENSION segroll;
	CREATE EXTENSION postgres_fdw;
	CREATE TABLE sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int NOT NULL, amount numeric(12,2) NOT NULL);
	CREATE SERVER front FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$host', port '$port', dbname 'front');
	CREATE USER MAPPING FOR CURRENT_USER SERVER front;
	CREATE SCHEMA archive;
	IMPORT FOREIGN SCHEMA public LIMIT TO (sales_txn) FROM SERVER front INTO archive;
	INSERT INTO sales SELECT * FROM archive.sales_txn;
	SELECT segroll.create_segmentation('sales_daily', 'sales', 'id', 'sold_at', 'day', 'UTC', '{org}', '{amount}');
});
is($node->safe_psql('back', q{SELECT count(*) FROM segroll.verify('sales_daily', '-infinity', 'infinity', 'full')}),
	'0', 'cells verify clean after the backfill');

my $oracle = q{
	WITH fresh AS (SELECT org, date_trunc('day', sold_at, 'UTC') AS period,
	                      segroll.segment_agg(id, sold_at, amount) AS seg
	               FROM archive.sales_txn GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT org, period, seg FROM segroll_data.sales_daily EXCEPT ALL SELECT * FROM fresh)
	                      UNION ALL (SELECT * FROM fresh EXCEPT ALL SELECT org, period, seg FROM segroll_data.sales_daily)) d};
is($node->safe_psql('back', $oracle), '0', 'cells equal a GROUP BY over the front-end system');

# purge everything before 2026-11-08
my $purge = $node->safe_psql('back', q{
	SELECT purged_before, rows_deleted FROM segroll.purge_source('sales_daily', now() - '2026-11-08 00:00+00'::timestamptz)});
like($purge, qr/^2026-11-0[78] 00:00:00\+00\|\d+$/, "purge_source deleted whole days ($purge)");
my ($horizon) = split /\|/, $purge;
is($node->safe_psql('back', qq{SELECT count(*) FROM sales WHERE sold_at < '$horizon'}), '0', 'no raw row older than the horizon is left');
is($node->safe_psql('back', $oracle), '0', 'cells and lineage are untouched by the purge');

# without an archive, purged keys are listed and marked
is($node->safe_psql('back', q{
	SELECT string_agg(origin || ':' || n, ',' ORDER BY origin) FROM (
		SELECT origin, count(*) AS n FROM segroll.trace('sales_daily', '{"org": 3}', '2026-11-02') GROUP BY 1) x}),
	'purged:288', 'trace of a purged cell lists every key as purged');

# with the front-end system as the archive, trace finds the rows there
$node->safe_psql('back', q{SELECT segroll.set_archive('sales_daily', 'archive.sales_txn')});
is($node->safe_psql('back', q{
	SELECT count(*), bool_and(origin = 'archive')
	FROM segroll.trace('sales_daily', '{"org": 3}', '2026-11-02')}), '288|t', 'trace follows purged keys to the archive');
is($node->safe_psql('back', q{
	SELECT count(*) FROM (
		SELECT key, source_row::jsonb FROM segroll.trace('sales_daily', '{"org": 3}', '2026-11-02')
		EXCEPT
		SELECT id, to_jsonb(f) FROM archive.sales_txn f
		WHERE org = 3 AND sold_at >= '2026-11-02 00:00+00' AND sold_at < '2026-11-03 00:00+00') d}),
	'0', 'the archived rows are the front-end rows');
is($node->safe_psql('back', q{
	SELECT string_agg(origin || ':' || n, ',' ORDER BY origin) FROM (
		SELECT origin, count(*) AS n FROM segroll.trace('sales_daily', (SELECT segroll.merge(seg) FROM segroll_data.sales_daily WHERE org = 1)) GROUP BY 1) x}),
	'archive:' . $node->safe_psql('front', qq{SELECT count(*) FROM sales_txn WHERE org = 1 AND sold_at < '$horizon'})
	. ',source:' . $node->safe_psql('front', qq{SELECT count(*) FROM sales_txn WHERE org = 1 AND sold_at >= '$horizon'}),
	'a segment across the horizon comes partly from the archive, partly from the source');
is($node->safe_psql('back', q{
	SELECT count(*), min(id), max(id), count(*) FILTER (WHERE segroll_seq IS NULL)
	FROM segroll.trace_rows('sales_daily', segroll.cell('sales_daily', '{"org": 3}', '2026-11-02'), NULL::sales)}),
	'288|1443|2878|288', 'trace_rows returns archived rows typed as the source (no capture number)');
is($node->safe_psql('back', q{
	SELECT array_agg(key) = array_agg(key ORDER BY key)
	FROM segroll.trace('sales_daily', (SELECT segroll.merge(seg) FROM segroll_data.sales_daily WHERE org = 1))}),
	't', 'in key order across source and archive');

# life goes on: changes after the horizon roll up exactly, late rows too
$node->safe_psql('back', q{
	UPDATE sales SET amount = amount + 1 WHERE id % 50 = 0;
	DELETE FROM sales WHERE id % 77 = 0;
	INSERT INTO sales VALUES (30000, '2026-11-03 12:00+00', 3, 9.99);	-- late, into a purged day
	SELECT segroll.rollup('sales_daily');
});
$node->safe_psql('front', qq{
	UPDATE sales_txn SET amount = amount + 1 WHERE id % 50 = 0 AND sold_at >= '$horizon';
	DELETE FROM sales_txn WHERE id % 77 = 0 AND sold_at >= '$horizon';
	INSERT INTO sales_txn VALUES (30000, '2026-11-03 12:00+00', 3, 9.99);
});
is($node->safe_psql('back', qq{SELECT count(*) FROM segroll.verify('sales_daily', '$horizon', 'infinity', 'full')}),
	'0', 'cells after the horizon verify clean after more changes');
is($node->safe_psql('back', $oracle), '0', 'all cells still equal a GROUP BY over the front-end system');
is($node->safe_psql('back', q{SELECT status FROM segroll.locate('sales_daily', 30000)}), 'counted', 'a late row in a purged day is counted');

# a second purge verifies only what it has not verified before
$purge = $node->safe_psql('back', q{
	SELECT purged_before, rows_deleted FROM segroll.purge_source('sales_daily', now() - '2026-11-10 00:00+00'::timestamptz)});
like($purge, qr/^2026-11-(09|10) 00:00:00\+00\|\d+$/, "a later purge moves the horizon ($purge)");
is($node->safe_psql('back', $oracle), '0', 'still exact');
is($node->safe_psql('back', q{SELECT count(*) FROM segroll.purge_log}), '2', 'both purges are logged');

# governance state that a dump must keep too: a closed period with an
# adjustment, and a second version switched in with the first one kept
$node->safe_psql('back', q{
	SELECT segroll.close_period('sales_daily', '2026-11-12 00:00+00');
	UPDATE sales SET amount = amount + 5 WHERE id = 15000;	-- 2026-11-11: a closed day
	SELECT segroll.rollup('sales_daily');
	SET client_min_messages = error;
	SELECT segroll.create_version('sales_daily', grain => 'week', schedule => 'manual');
	SELECT segroll.switch_version('sales_daily');
});
is($node->safe_psql('back', q{SELECT count(*) FROM segroll_data.sales_daily__v1_adjustments}), '1',
	'the late change to a closed day is an adjustment of the kept version');

# dump and restore keep the definitions, cells, logs, archive, versions,
# closed periods and adjustments
my $tempdir = PostgreSQL::Test::Utils::tempdir;
command_ok([ 'pg_dump', '-Fc', '-h', $host, '-p', $port, '-f', "$tempdir/back.dump", 'back' ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok([ 'pg_restore', '-h', $host, '-p', $port, '-d', 'restored', "$tempdir/back.dump" ], 'pg_restore');
my $state = q{SELECT (SELECT count(*) FROM segroll.purge_log) || '/' || (SELECT count(*) FROM segroll.trace_log)
	|| '/' || (SELECT count(*) FROM segroll.history) || '/' || (SELECT archive::text FROM segroll.source)
	|| '/' || (SELECT count(*) FROM segroll_data.sales_daily) || '/' || (SELECT count(*) FROM segroll_data.sales_daily__v1)
	|| '/' || (SELECT string_agg(segmentation || ':' || state, ',' ORDER BY version) FROM segroll.segmentation_version)
	|| '/' || (SELECT string_agg(name || ':' || closed_upto, ',' ORDER BY name) FROM segroll.closed_period)
	|| '/' || (SELECT count(*) FROM segroll_data.sales_daily__v1_adjustments)
	|| '/' || (SELECT md5(string_agg(kind || count || coalesce(amount_sum::text, ''), ',' ORDER BY org, period, kind, count))
	           FROM segroll_data.sales_daily__v1_v)};
my $before = $node->safe_psql('back', $state);
like($before, qr{^2/6/\d+/archive.sales_txn/\d+/\d+/sales_daily__v1:retired,sales_daily:current/sales_daily:.*,sales_daily__v1:.*/1/},
	"the state to keep ($before)");
is($node->safe_psql('restored', $state), $before,
	'purge log, trace log, history, archive, cells, versions, closed periods and adjustments survive');
is($node->safe_psql('restored', q{SELECT count(*) FROM segroll.trace('sales_daily__v1', '{"org": 3}', '2026-11-02')}),
	'288', 'a restored database traces purged cells of the kept version through the archive');
is($node->safe_psql('restored', q{SELECT count(*) FROM segroll_data.sales_daily WHERE period < '2026-11-09'}),
	'0', 'the new version, built after the purges, has no cells before the horizon');
$node->safe_psql('restored', q{
	UPDATE sales SET amount = amount + 2 WHERE id = 19999;
	DELETE FROM sales WHERE id = 19998;
	SELECT segroll.rollup('sales_daily');
});
is($node->safe_psql('restored', q{SELECT count(*) FROM segroll.verify('sales_daily', '2026-11-10', 'infinity', 'full')}),
	'0', 'and captures and rolls up changes exactly after the restore');
$node->safe_psql('restored', q{
	UPDATE sales SET amount = amount + 7 WHERE id = 15001;	-- a closed day again
	SELECT segroll.rollup('sales_daily__v1');
});
is($node->safe_psql('restored', q{SELECT count(*) FROM segroll_data.sales_daily__v1_adjustments}), '2',
	'closed days of the restored kept version take adjustments');
is($node->safe_psql('restored', q{SELECT count(*) FROM segroll.verify('sales_daily__v1', '2026-11-10', 'infinity', 'full')}),
	'0', 'which verify with the cells against the source');

done_testing();
