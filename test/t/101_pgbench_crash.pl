# Roll-ups under a pgbench load of inserts, corrections (UPDATE, some of
# them moving rows to another cell) and deletes, then crashes in the middle
# of the load: SIGKILL of the backend that rolls up (restart_after_crash =
# on, the whole server reinitializes), an immediate shutdown, and SIGKILL of
# the postmaster.  After each: no change lost, none counted twice -- the
# cells equal a from-scratch GROUP BY -- and nothing left pending.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('pgbench_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
restart_after_crash = on
max_connections = 20
# most cells keep their lineage in blocks
segroll.inline_lineage_limit = 4
segroll.lineage_block_keys = 2
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE SEQUENCE ids;
	CREATE TABLE src (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, amount numeric(12,2));
	INSERT INTO src SELECT nextval('ids'), '2026-11-01 00:00+09'::timestamptz + g * interval '1 minute', g % 10, g % 100
	FROM generate_series(1, 2000) g;
	SELECT segroll.create_segmentation('pg', 'src', 'txn_id', 'sold_at', 'hour', 'Asia/Seoul', '{org_id}', '{amount}');
});

my $oracle = q{
	WITH fresh AS (SELECT org_id, date_trunc('hour', sold_at, 'Asia/Seoul') AS period,
	                      segroll.segment_agg(txn_id, sold_at, amount) AS seg FROM src GROUP BY 1, 2)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.pg_segments)
		UNION ALL
		(SELECT org_id, period, seg FROM segroll_data.pg_segments EXCEPT ALL SELECT * FROM fresh)) d};
my $applied = q{SELECT total_applied FROM segroll.progress WHERE name = 'pg'};

# Writers: one insert per transaction; one in ten corrects a recent row
# (amount, org and time, so it may move to another cell), one in twenty
# deletes one -- corrections of recent transactions are the common case.
my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/write.sql") or die;
print $fh q{
\set org random(0, 9)
\set amt random(1, 100000)
\set r random(1, 20)
\set back random(0, 40)
INSERT INTO src VALUES (nextval('ids'), now() - random() * interval '6 hours', :org, :amt / 100.0);
\if :r <= 2
UPDATE src SET amount = amount + 1, org_id = (org_id + 1) % 10, sold_at = sold_at - interval '50 minutes'
WHERE txn_id = currval('ids') - :back;
\elif :r = 3
DELETE FROM src WHERE txn_id = currval('ids') - :back;
\endif
};
close $fh;
# the roll-up loop
open($fh, '>', "$dir/rollup.sql") or die;
print $fh q{
SELECT segroll.rollup('pg');
\sleep 10 ms
};
close $fh;

sub pgbench_start
{
	my ($script, $clients, $seconds, $out) = @_;
	my @cmd = ('pgbench', '-n', '-c', $clients, '-j', $clients, '-T', $seconds, '-f', "$dir/$script",
		'-h', $node->host, '-p', $node->port, 'postgres');
	return IPC::Run::start(\@cmd, '>', \$out->{stdout}, '2>', \$out->{stderr});
}

# Polls a query until it returns 't', for at most $seconds.
sub wait_until
{
	my ($sql, $seconds) = @_;
	for (1 .. 10 * $seconds)
	{
		my ($rc, $out) = $node->psql('postgres', $sql);
		return 1 if $rc == 0 && $out eq 't';
		usleep(100_000);
	}
	return 0;
}

# After a phase: a last roll-up, then the oracle.  Stops the test when the
# segmentation is broken: the later phases could only fail the same way.
sub final_checks
{
	my ($name) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', q{SELECT segroll.rollup('pg')});
	my $ok = is($rc, 0, "$name: final roll-up succeeds");
	diag($err) unless $ok;
	$ok &= is($node->safe_psql('postgres', $oracle), 'ok', "$name: oracle holds");
	$ok &= is($node->safe_psql('postgres', q{SELECT pending_changes FROM segroll.status WHERE name = 'pg'}),
		'0', "$name: nothing pending");
	return if $ok;
	diag('the segmentation is broken; the crash phases that follow are skipped');
	$node->stop('immediate');
	done_testing();
	exit;
}

# Starts the load and returns once at least 200 more changes were rolled up.
sub start_load
{
	my ($w, $r) = @_;
	my $before = $node->safe_psql('postgres', $applied);
	my $writers = pgbench_start('write.sql', 2, 60, $w);
	my $rollups = pgbench_start('rollup.sql', 1, 60, $r);
	ok(wait_until("SELECT ($applied) > $before + 200", 30), 'the load runs and is rolled up')
	  or diag("roll-up loop: $r->{stderr}");
	return ($writers, $rollups);
}

# 1. a clean run: 3 s of load with roll-ups every 10 ms; every roll-up succeeds
my (%w, %r);
my $writers = pgbench_start('write.sql', 2, 3, \%w);
my $rollups = pgbench_start('rollup.sql', 1, 3, \%r);
$writers->finish;
$rollups->finish;
is($writers->result(0), 0, 'load: writers finished without errors') or diag($w{stderr});
is($rollups->result(0), 0, 'load: every concurrent roll-up succeeded') or diag($r{stderr});
final_checks('after load');

# 2. SIGKILL of the backend that rolls up, in the middle of the load
%w = (); %r = ();
($writers, $rollups) = start_load(\%w, \%r);
my $pid = $node->safe_psql('postgres', q{
	SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT segroll.rollup%' AND pid <> pg_backend_pid()});
like($pid, qr/^\d+$/, 'found the roll-up backend');
kill 'KILL', $pid;
$writers->finish;
$rollups->finish;
ok(wait_until('SELECT true', 60), 'server is back after the backend crash');
final_checks('after SIGKILL of a backend');

# 3. immediate shutdown in the middle of the load
%w = (); %r = ();
($writers, $rollups) = start_load(\%w, \%r);
$node->stop('immediate');
$writers->finish;
$rollups->finish;
$node->start;
final_checks('after immediate shutdown');

# 4. SIGKILL of the postmaster in the middle of the load: its orphaned
# backends go away with their pgbench clients, then the server starts over
%w = (); %r = ();
($writers, $rollups) = start_load(\%w, \%r);
my @procs = split /\n/, $node->safe_psql('postgres', 'SELECT pid FROM pg_stat_activity');
$node->kill9;
$writers->kill_kill;
$rollups->kill_kill;
# a new postmaster refuses to start while an orphan holds the shared memory
for (1 .. 300)
{
	last unless grep { kill(0, $_) } @procs;
	usleep(100_000);
}
ok($node->start(fail_ok => 1), 'server restarts after SIGKILL of the postmaster');
final_checks('after SIGKILL of the postmaster');

is($node->safe_psql('postgres', q{SELECT count(*) > 2000 FROM src}), 't', 'the load did insert rows');
$node->stop;
done_testing();
