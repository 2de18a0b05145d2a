# pgbench's own pgbench_history as a source (issue 14): a key column added,
# mtime as pgbench made it (timestamp without time zone, made NOT NULL), read
# as local time in the segmentation's zone.  pgbench's built-in TPC-B-like
# transactions run with a roll-up loop beside them, in sessions of another
# TimeZone; afterwards the cells equal a from-scratch GROUP BY, exactly.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('pgbench_history');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 20
timezone = 'America/New_York'
});
$node->start;

$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', '-h', $node->host, '-p', $node->port, 'postgres' ],
	'pgbench -i');
$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	ALTER TABLE pgbench_history ADD COLUMN hid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
	ALTER TABLE pgbench_history ALTER COLUMN mtime SET NOT NULL;
	SELECT segroll.create_segmentation('history', 'pgbench_history', 'hid', 'mtime', 'hour', 'Asia/Seoul',
	                                   '{bid, tid}', '{delta}');
});

my $oracle = q{
	WITH fresh AS (SELECT bid, tid, date_trunc('hour', mtime AT TIME ZONE 'Asia/Seoul', 'Asia/Seoul') AS period,
	                      segroll.segment_agg(hid, mtime AT TIME ZONE 'Asia/Seoul', delta) AS seg
	               FROM pgbench_history GROUP BY 1, 2, 3)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT bid, tid, period, seg FROM segroll_data.history_segments)
		UNION ALL
		(SELECT bid, tid, period, seg FROM segroll_data.history_segments EXCEPT ALL SELECT * FROM fresh)) d};

my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/rollup.sql") or die;
print $fh q{
SET TimeZone = 'Europe/Berlin';
SELECT segroll.rollup('history');
\sleep 20 ms
};
close $fh;

my (%w, %r);
my $writers = IPC::Run::start(
	[ 'pgbench', '-n', '-b', 'tpcb-like', '-c', '2', '-j', '2', '-T', '5', '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$w{stdout}, '2>', \$w{stderr});
my $rollups = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '1', '-T', '5', '-f', "$dir/rollup.sql", '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$r{stdout}, '2>', \$r{stderr});
$writers->finish;
$rollups->finish;
is($writers->result(0), 0, 'pgbench finished without errors') or diag($w{stderr});
is($rollups->result(0), 0, 'every concurrent roll-up succeeded') or diag($r{stderr});

my ($rc, $out, $err) = $node->psql('postgres', q{SET TimeZone = 'Asia/Tokyo'; SELECT segroll.rollup('history')});
is($rc, 0, 'final roll-up succeeds') or diag($err);
is($node->safe_psql('postgres', $oracle), 'ok', 'cells = GROUP BY of pgbench_history, exactly');
is($node->safe_psql('postgres', q{SELECT count(*) > 100 FROM pgbench_history}), 't', 'pgbench wrote history');
is($node->safe_psql('postgres', q{
	SELECT sum(delta_sum) = (SELECT sum(delta) FROM pgbench_history) FROM segroll_data.history_v}), 't',
	'the BI view sums delta as sum() does');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM segroll.verify('history', now() - interval '1 day', now() + interval '1 day', 'full')}),
	'0', 'verify is clean');

$node->stop;
done_testing();
