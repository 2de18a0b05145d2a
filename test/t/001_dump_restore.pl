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

$node->stop;
done_testing();
