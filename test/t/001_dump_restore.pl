# pg_dump / pg_restore keep segment values identical, in custom and plain
# formats, and a restored database can keep merging them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION segroll;
	CREATE SCHEMA "has space";
	CREATE TABLE "has space".cells (k int PRIMARY KEY, s segroll.segment);
	INSERT INTO "has space".cells
	SELECT g % 50, segroll.segment_agg(g, '2026-11-01'::timestamptz + g * interval '1 minute',
	                                   (g * 1.25)::numeric(12,2), CASE WHEN g % 7 = 0 THEN NULL ELSE g END)
	FROM generate_series(1, 50000) g GROUP BY g % 50;
	INSERT INTO "has space".cells VALUES
		(100, (SELECT segroll.segment_agg_nolineage(g, '2026-11-01', g) FROM generate_series(1, 10) g)),
		(101, (SELECT segroll.segment_agg(g, '2026-11-01', CASE WHEN g = 1 THEN 1e60 ELSE 'NaN' END) FROM generate_series(1, 2) g)),
		(102, (SELECT segroll.retract(segroll.segment_agg(g, '2026-11-01', g), 1, '2026-11-01', 1) FROM generate_series(1, 3) g)),
		(103, (SELECT segroll.segment_agg(g, '2026-11-01') FROM generate_series(1, 200000) g)),
		(104, NULL);
});

my $fingerprint = q{
	SELECT count(*) || ':' || md5(string_agg(k || '=' || coalesce(encode(segroll.segment_send(s), 'hex'), 'null'), ',' ORDER BY k))
	FROM "has space".cells};
my $before = $node->safe_psql('src', $fingerprint);

my $tempdir = PostgreSQL::Test::Utils::tempdir;
my $port = $node->port;
my $host = $node->host;

# custom format
command_ok([ 'pg_dump', '-Fc', '-h', $host, '-p', $port, '-f', "$tempdir/src.dump", 'src' ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst_custom');
command_ok([ 'pg_restore', '-h', $host, '-p', $port, '-d', 'dst_custom', "$tempdir/src.dump" ], 'pg_restore');
is($node->safe_psql('dst_custom', $fingerprint), $before, 'custom dump restores identical values');

# plain format through psql
command_ok([ 'pg_dump', '-Fp', '-h', $host, '-p', $port, '-f', "$tempdir/src.sql", 'src' ], 'pg_dump -Fp');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $host, '-p', $port, '-d', 'dst_plain', '-f', "$tempdir/src.sql" ],
	'plain dump replays');
is($node->safe_psql('dst_plain', $fingerprint), $before, 'plain dump restores identical values');

# restored values still merge into the same totals as the raw rows
is($node->safe_psql('dst_custom', q{
	SELECT segroll.sum(segroll.merge(s), 1) = (SELECT sum((g * 1.25)::numeric(12,2)) FROM generate_series(1, 50000) g)
	FROM "has space".cells WHERE k < 50}), 't', 'restored cells merge to the exact total');

# a segmentation: definitions, progress, capture and cells survive, and
# roll-up continues where it stopped
$node->safe_psql('src', q{
	CREATE TABLE public.sales (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, amount numeric(12,2));
	INSERT INTO public.sales SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '5 minutes', g % 4, g / 10.0
	FROM generate_series(1, 3000) g;
	SELECT segroll.create_segmentation('sales_daily', 'public.sales', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	                                   '{org_id}', '{amount}');
	-- the same cells with their lineage in blocks (heads and <name>_lineage)
	SET segroll.inline_lineage_limit = 20;
	SET segroll.lineage_block_keys = 8;
	SELECT segroll.create_segmentation('sales_blocks', 'public.sales', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	                                   '{org_id}', '{amount}');
	INSERT INTO public.sales VALUES (5001, '2026-11-02 10:00+09', 1, 9.99);	-- pending at dump time
});
is($node->safe_psql('src', q{SELECT count(*) > 10 FROM segroll_data.sales_blocks_lineage}), 't',
	'cells in blocks before the dump');
my $oracle = q{
	WITH fresh AS (SELECT org_id, date_trunc('day', sold_at, 'Asia/Seoul') AS period,
	                      segroll.segment_agg(txn_id, sold_at, amount) AS seg FROM public.sales GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.sales_daily)
	                      UNION ALL (SELECT org_id, period, seg FROM segroll_data.sales_daily EXCEPT ALL SELECT * FROM fresh)) d};
command_ok([ 'pg_dump', '-Fc', '-h', $host, '-p', $port, '-f', "$tempdir/seg.dump", 'src' ], 'pg_dump with a segmentation');
$node->safe_psql('postgres', 'CREATE DATABASE dst_seg');
command_ok([ 'pg_restore', '-h', $host, '-p', $port, '-d', 'dst_seg', "$tempdir/seg.dump" ], 'pg_restore with a segmentation');
is($node->safe_psql('dst_seg', q{SELECT pending_changes FROM segroll.status WHERE name = 'sales_daily'}), '1',
	'progress restored: the pending change is still pending');
is($node->safe_psql('dst_seg', q{SELECT segroll.rollup('sales_daily')}), '1', 'roll-up resumes after restore');
$node->safe_psql('dst_seg', q{UPDATE public.sales SET amount = 0 WHERE txn_id = 7; DELETE FROM public.sales WHERE txn_id = 8;});
is($node->safe_psql('dst_seg', q{SELECT segroll.rollup('sales_daily')}), '3', 'capture triggers restored');
is($node->safe_psql('dst_seg', $oracle), '0', 'restored cells equal a from-scratch GROUP BY');
is($node->safe_psql('dst_seg', q{SELECT segroll.rollup('sales_blocks')}), '4', 'roll-up of cells in blocks resumes after restore');
(my $oracle_blocks = $oracle) =~ s/segroll_data\.sales_daily/segroll_data.sales_blocks_segments/g;
is($node->safe_psql('dst_seg', $oracle_blocks), '0', 'restored cells in blocks equal a from-scratch GROUP BY');
is($node->safe_psql('dst_seg', q{SELECT count(*) FROM segroll.verify('sales_blocks', '-infinity', 'infinity', 'full')}), '0',
	'verify (full) of the restored cells in blocks finds nothing');

$node->stop;
done_testing();
