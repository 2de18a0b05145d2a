# Where a roll-up window ends is never read ahead of the numbers given
# (CHANGELOG 0.5.0, "Fixed").  A nextval() that writes WAL puts the value
# 32 numbers ahead on the sequence's page while it logs it, under the
# page's exclusive lock.  A plain SELECT last_value FROM the sequence reads
# the page after letting go of its share lock, so it can see that value: a
# roll-up window ending there lost 29 rows under pgbench, once in about
# fifty runs of t/161.  gdb times the race exactly: a reader is held after
# it pinned the page and before it read the tuple, a writer inside
# nextval()'s WAL insert, then the reader goes on.
#   - control: the plain read sees the number 32 ahead (so the race is
#     reproduced here, and the next check means something);
#   - segroll._capture_last(), what roll-ups read, run the same way, never
#     reads a number the sequence has not given;
#   - a roll-up while a writer is held in nextval() applies the writer's
#     row once it commits, and the cells equal a GROUP BY.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $gdb = (grep { -x "$_/gdb" } split(/:/, $ENV{PATH} // ''))[0];
plan skip_all => 'gdb is not installed' unless $gdb;
$gdb .= '/gdb';

my $node = PostgreSQL::Test::Cluster->new('window_end');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE TABLE sales (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL,
	                    shop int NOT NULL, amount numeric NOT NULL);
	SELECT segroll.create_segmentation('daily', 'sales', 'id', 'at', 'day', 'UTC', '{shop}', '{amount}');
	INSERT INTO sales (at, shop, amount) SELECT '2026-12-01'::timestamptz + g * interval '1 minute', g % 4, g
	FROM generate_series(1, 500) g;
	SELECT segroll.rollup('daily');
});
my $seq = $node->safe_psql('postgres', q{SELECT seq FROM segroll.source WHERE relid = 'sales'::regclass});
my $dir = PostgreSQL::Test::Utils::tempdir;

# gdb must be allowed to attach to a backend (ptrace: same user, and no
# Yama or container rule against it)
{
	my $probe = $node->background_psql('postgres');
	my $pid = $probe->query_safe('SELECT pg_backend_pid()');
	my ($out, $err) = ('', '');
	IPC::Run::run([ $gdb, '-q', '-nx', '-batch', '-p', $pid, '-ex', 'detach' ], '<', \undef, '>', \$out, '2>', \$err);
	$probe->quit;
	if ("$out$err" =~ /ptrace|not permitted|Could not attach/i)
	{
		$node->stop;
		plan skip_all => "gdb cannot attach to a backend here: $err";
	}
}

# Attaches gdb to backend $pid with a breakpoint at $symbol.  When the
# breakpoint is hit gdb prints STOPPED and holds the backend until the file
# $release exists, then detaches.  Returns the harness and its output.
sub hold_at
{
	my ($pid, $symbol, $release) = @_;
	my $script = "$dir/gdb_${pid}_$symbol";
	open(my $fh, '>', $script) or die;
	# a backend gets SIGUSR1 (latches) and others while it waits: pass them
	print $fh qq{set pagination off
set confirm off
handle SIGUSR1 SIGUSR2 SIGINT SIGTERM SIGQUIT SIGALRM SIGPIPE SIGCHLD nostop noprint pass
break $symbol
commands 1
silent
echo STOPPED\\n
shell while [ ! -e '$release' ]; do sleep 0.02; done
detach
quit
end
echo READY\\n
continue
};
	close $fh;
	my %out = (out => '');
	my $h = IPC::Run::start([ $gdb, '-q', '-nx', '-batch', '-p', $pid, '-x', $script ],
		'<', \undef, '>', \$out{out}, '2>&1');
	return ($h, \%out);
}

sub wait_for
{
	my ($h, $out, $re, $what) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while ($out->{out} !~ $re)
	{
		die "timed out waiting for $what; gdb said:\n$out->{out}" if time > $deadline;
		$h->pump_nb;
		usleep(20_000);
	}
}

# One round: the reader runs $read_sql (it prints "read N") while a writer
# is held inside a nextval() that logs; returns (read, given, reader held).
sub race
{
	my ($read_sql) = @_;
	my $reader = $node->background_psql('postgres');
	my $writer = $node->background_psql('postgres');
	my $rpid = $reader->query_safe('SELECT pg_backend_pid()');
	my $wpid = $writer->query_safe('SELECT pg_backend_pid()');
	# warm caches: the reader's only tuple slot store below is its read
	$reader->query_safe($read_sql) for 1 .. 2;
	# the next nextval() writes WAL
	$writer->query_safe("SELECT setval('$seq', pg_sequence_last_value('$seq'))");

	my ($rh, $rout) = hold_at($rpid, 'ExecStoreBufferHeapTuple', "$dir/release_r_$rpid");
	my ($wh, $wout) = hold_at($wpid, 'XLogInsert', "$dir/release_w_$wpid");
	wait_for($rh, $rout, qr/READY/, 'gdb on the reader');
	wait_for($wh, $wout, qr/READY/, 'gdb on the writer');

	# the reader: held after pinning the page, or done
	$reader->{stdin} .= "$read_sql;\n";
	$reader->{run}->pump_nb;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	until ($rout->{out} =~ /STOPPED/ || $reader->{stdout} =~ /read \d+/)
	{
		die "the reader neither stopped nor answered" if time > $deadline;
		$rh->pump_nb;
		$reader->{run}->pump_nb;
		usleep(20_000);
	}
	my $reader_held = $rout->{out} =~ /STOPPED/;
	# the writer: held in nextval()'s WAL insert, the page 32 ahead
	$writer->{stdin} .= "SELECT 'given ' || nextval('$seq');\n";
	$writer->{run}->pump_nb;
	wait_for($wh, $wout, qr/STOPPED/, 'the writer in XLogInsert');

	# the reader goes on while the writer is held
	open(my $r, '>', "$dir/release_r_$rpid") or die;
	close $r;
	PostgreSQL::Test::Utils::pump_until($reader->{run}, $reader->{timeout}, \$reader->{stdout}, qr/read \d+/);
	my $read = $reader->{stdout};
	$reader->{stdout} = '';
	open(my $w, '>', "$dir/release_w_$wpid") or die;
	close $w;
	PostgreSQL::Test::Utils::pump_until($writer->{run}, $writer->{timeout}, \$writer->{stdout}, qr/given \d+/);
	my $given = $writer->{stdout};
	$writer->{stdout} = '';
	$wh->finish;
	# gdb still waits on a reader that never stopped: one more scan releases it
	$reader->query_safe('SELECT count(*) FROM pg_catalog.pg_am') unless $reader_held;
	$rh->finish;
	$reader->quit;
	$writer->quit;
	($read) = $read =~ /read (\d+)/;
	($given) = $given =~ /given (\d+)/;
	return ($read, $given, $reader_held);
}

# control: the plain read, held between its page and its tuple, sees the
# number the writer logs, 32 past the one it gives
my ($read, $given, $held) = race("SELECT 'read ' || last_value FROM $seq");
ok($held, 'control: gdb held the plain read after it pinned the page');
is($read, $given + 32, 'control: a plain SELECT last_value read a number 32 ahead of the one given');

# what roll-ups read, the same way: under the lock, never ahead
($read, $given, $held) = race("SELECT 'read ' || segroll._capture_last('$seq')");
ok(!$held, '_capture_last() stores no heap tuple of the sequence (it reads under the buffer lock)');
cmp_ok($read, '<', $given, '_capture_last() read a number already given, not one ahead');

# a roll-up beside a writer held in nextval() for a row of the source
$node->safe_psql('postgres', "SELECT setval('$seq', pg_sequence_last_value('$seq'))");
my $writer = $node->background_psql('postgres');
my $wpid = $writer->query_safe('SELECT pg_backend_pid()');
my ($wh, $wout) = hold_at($wpid, 'XLogInsert', "$dir/release_w_rollup");
wait_for($wh, $wout, qr/READY/, 'gdb on the writer');
$writer->query_until(qr/sent/, "\\echo sent\nBEGIN;\nINSERT INTO sales (at, shop, amount) VALUES ('2026-12-02', 9, 7.5);\n\\echo inserted\n");
wait_for($wh, $wout, qr/STOPPED/, 'the writer in XLogInsert');
my $roller = $node->background_psql('postgres');
$roller->query_until(qr/sent/, "\\echo sent\nSELECT 'applied ' || segroll.rollup('daily');\n");
ok($node->poll_query_until('postgres', q{
		SELECT wait_event FROM pg_stat_activity WHERE query LIKE '%segroll.rollup(''daily'')%' AND pid <> pg_backend_pid()},
		'BufferContent'),
	'the roll-up waits for the sequence page while the writer is held in nextval()');
open(my $w, '>', "$dir/release_w_rollup") or die;
close $w;
$wh->finish;
$writer->query_until(qr/inserted/, '');
$writer->query_safe('COMMIT');
my $applied = $roller->query_until(qr/applied \d+/, '');
like($applied, qr/applied [1-9]/, 'the roll-up waited for the held writer and applied its row');
$roller->quit;
$writer->quit;
$node->safe_psql('postgres', q{SELECT segroll.rollup('daily')});
is($node->safe_psql('postgres', q{
	WITH fresh AS (SELECT shop, date_trunc('day', at, 'UTC') AS period, segroll.segment_agg(id, at, amount) AS seg
	               FROM sales GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT shop, period, seg FROM segroll_data.daily)
	                      UNION ALL (SELECT shop, period, seg FROM segroll_data.daily EXCEPT ALL SELECT * FROM fresh)) d}),
	'0', 'cells = GROUP BY of the source, the held row included');

$node->stop;
done_testing();
