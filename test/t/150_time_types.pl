# Time columns without a time zone (timestamp, date) under concurrent
# writers whose sessions have different TimeZone settings, rolled up by
# sessions with yet other ones: the cells equal a GROUP BY of the source
# computed independently (the local time truncated, then read in the
# segmentation's time zone), whatever the session that checks them.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('time_types');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 20
# some cells keep their lineage in blocks
segroll.inline_lineage_limit = 8
segroll.lineage_block_keys = 4
});
$node->start;

$node->safe_psql('postgres', q{
	SET TimeZone = 'Pacific/Chatham';
	CREATE EXTENSION segroll;
	CREATE SEQUENCE ids;
	CREATE TABLE history (id bigint PRIMARY KEY, mtime timestamp NOT NULL, org int, amount numeric(12,2));
	CREATE TABLE ledger (id bigint PRIMARY KEY, booked date NOT NULL, org int, amount bigint);
	INSERT INTO history SELECT nextval('ids'), '2026-11-01 00:00'::timestamp + g * interval '1 minute', g % 5, g % 100
	FROM generate_series(1, 2000) g;
	INSERT INTO ledger SELECT id, mtime::date, org, amount FROM history;
	SELECT segroll.create_segmentation('hist_hourly', 'history', 'id', 'mtime', 'hour', 'Asia/Seoul', '{org}', '{amount}');
	SELECT segroll.create_segmentation('ledger_daily', 'ledger', 'id', 'booked', 'day', 'Asia/Seoul', '{org}', '{amount}');
});

# figures, keys and first/last times of every cell, against the source
sub oracle
{
	my ($name, $src, $col, $grain) = @_;
	my $fresh = qq{SELECT org, date_trunc('$grain', $col\::timestamp) AT TIME ZONE 'Asia/Seoul' AS period,
	                      count(*) AS n, sum(amount) AS s, min(amount) AS lo, max(amount) AS hi,
	                      array_agg(id ORDER BY id) AS keys,
	                      min($col\::timestamp AT TIME ZONE 'Asia/Seoul') AS t0, max($col\::timestamp AT TIME ZONE 'Asia/Seoul') AS t1
	               FROM $src GROUP BY 1, 2};
	my $cells = qq{SELECT org, period, segroll.count(seg), segroll.sum(seg, 1), segroll.min(seg, 1), segroll.max(seg, 1),
	                      ARRAY(SELECT k FROM segroll.keys(seg) k ORDER BY k), segroll.first_time(seg), segroll.last_time(seg)
	               FROM segroll_data.${name}_segments};
	return qq{SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		($fresh EXCEPT ALL $cells) UNION ALL ($cells EXCEPT ALL $fresh)) d};
}
my $oracle_hist = oracle('hist_hourly', 'history', 'mtime', 'hour');
my $oracle_ledger = oracle('ledger_daily', 'ledger', 'booked', 'day');

# Writers: local times from their own session (localtimestamp, current_date
# follow its TimeZone, as a back-office application's would), late rows,
# corrections that move a row to another hour or day, deletes.
my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/write.sql") or die;
print $fh q{
\set org random(0, 4)
\set amt random(1, 100000)
\set r random(1, 20)
\set back random(0, 40)
INSERT INTO history VALUES (nextval('ids'), localtimestamp - random() * interval '30 hours', :org, :amt / 100.0);
INSERT INTO ledger VALUES (currval('ids'), current_date - (random() * 3)::int, :org, :amt);
\if :r <= 3
UPDATE history SET amount = amount + 1, org = (org + 1) % 5, mtime = mtime - interval '50 minutes'
WHERE id = currval('ids') - :back;
UPDATE ledger SET amount = amount + 1, booked = booked - 1 WHERE id = currval('ids') - :back;
\elif :r = 4
DELETE FROM history WHERE id = currval('ids') - :back;
DELETE FROM ledger WHERE id = currval('ids') - :back;
\endif
};
close $fh;
open($fh, '>', "$dir/rollup.sql") or die;
print $fh q{
SELECT segroll.rollup('hist_hourly');
SELECT segroll.rollup('ledger_daily');
\sleep 10 ms
};
close $fh;

# a pgbench run whose sessions have the given TimeZone
sub pgbench_start
{
	my ($script, $tz, $seconds, $out) = @_;
	local $ENV{PGOPTIONS} = "-c TimeZone=$tz";
	my @cmd = ('pgbench', '-n', '-c', 1, '-j', 1, '-T', $seconds, '-f', "$dir/$script",
		'-h', $node->host, '-p', $node->port, 'postgres');
	return IPC::Run::start(\@cmd, '>', \$out->{stdout}, '2>', \$out->{stderr});
}

my (%w1, %w2, %w3, %r1, %r2);
my @runs = (
	[ pgbench_start('write.sql', 'America/New_York', 5, \%w1), 'writer (America/New_York)', \%w1 ],
	[ pgbench_start('write.sql', 'Asia/Seoul', 5, \%w2), 'writer (Asia/Seoul)', \%w2 ],
	[ pgbench_start('write.sql', 'UTC', 5, \%w3), 'writer (UTC)', \%w3 ],
	[ pgbench_start('rollup.sql', 'America/Los_Angeles', 5, \%r1), 'roll-up (America/Los_Angeles)', \%r1 ],
	[ pgbench_start('rollup.sql', 'Pacific/Chatham', 5, \%r2), 'roll-up (Pacific/Chatham)', \%r2 ]);
foreach my $run (@runs)
{
	$run->[0]->finish;
	is($run->[0]->result(0), 0, "$run->[1] finished without errors") or diag($run->[2]->{stderr});
}

$node->safe_psql('postgres', q{
	SET TimeZone = 'Europe/London';
	SELECT segroll.rollup('hist_hourly');
	SELECT segroll.rollup('ledger_daily');
});
ok($node->safe_psql('postgres', q{SELECT count(*) FROM history}) > 2000, 'the writers wrote');
foreach my $tz ('UTC', 'Asia/Seoul', 'America/New_York', 'Pacific/Chatham')
{
	is($node->safe_psql('postgres', "SET TimeZone = '$tz'; $oracle_hist"), 'ok',
		"timestamp source: cells are exact, checked in $tz");
	is($node->safe_psql('postgres', "SET TimeZone = '$tz'; $oracle_ledger"), 'ok',
		"date source: cells are exact, checked in $tz");
}
is($node->safe_psql('postgres', q{
	SET TimeZone = 'America/New_York';
	SELECT (SELECT count(*) FROM segroll.verify('hist_hourly', '-infinity', 'infinity', 'full'))
	     + (SELECT count(*) FROM segroll.verify('ledger_daily', '-infinity', 'infinity', 'full'))
	     + (SELECT count(*) FROM segroll.verify('hist_hourly', now() - interval '3 days', now() + interval '1 day', 'full'))
	     + (SELECT count(*) FROM segroll.verify('ledger_daily', now() - interval '10 days', now() + interval '2 days', 'full'))}),
	'0', 'verify finds nothing, over wide ranges and period by period');

done_testing();
