# A partitioned source under load (issue 14): pg_partman keeps daily
# partitions (premade ahead, old ones detached by its retention), pgbench
# writers insert, correct (moving rows to another day, so to another
# partition) and delete, a roll-up loop runs, and meanwhile tables loaded
# apart are attached as partitions and detached again, and columns are
# added to and dropped from the source.  Every row that ever
# left the source with a partition is kept aside in "gone": the cells must
# equal a from-scratch GROUP BY of the source and "gone" together, and the
# purge log must record the horizon that retention left.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('partitioned_load');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 20
segroll.inline_lineage_limit = 64
});
$node->start;

my ($rc, $out, $err) = $node->psql('postgres', 'CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman');
if ($rc != 0)
{
	plan skip_all => "pg_partman is not installed: $err";
}

$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE SEQUENCE ids;
	CREATE TABLE pay (pay_id bigint NOT NULL, paid_at timestamptz NOT NULL, channel int, amount numeric(12,2),
	                  PRIMARY KEY (pay_id, paid_at)) PARTITION BY RANGE (paid_at);
	SELECT partman.create_parent('public.pay', 'paid_at', 'native', 'daily',
	                             p_start_partition := (date_trunc('day', now()) - interval '10 days')::text,
	                             p_premake := 4);
	INSERT INTO pay SELECT nextval('ids'), date_trunc('day', now()) - interval '10 days' + g * interval '7 minutes',
	                       g % 5, g % 1000 / 10.0
	FROM generate_series(1, 2800) g;
	-- what leaves the source with a partition
	CREATE TABLE gone (LIKE pay);
	SELECT segroll.create_segmentation('pay', 'pay', 'pay_id', 'paid_at', 'day', 'UTC', '{channel}', '{amount}');
});

my $oracle = q{
	WITH src AS (SELECT pay_id, paid_at, channel, amount FROM pay
	             UNION ALL SELECT pay_id, paid_at, channel, amount FROM gone),
	     fresh AS (SELECT channel, date_trunc('day', paid_at, 'UTC') AS period,
	                      segroll.segment_agg(pay_id, paid_at, amount) AS seg FROM src GROUP BY 1, 2)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT channel, period, seg FROM segroll_data.pay_segments)
		UNION ALL
		(SELECT channel, period, seg FROM segroll_data.pay_segments EXCEPT ALL SELECT * FROM fresh)) d};

# Writers: recent transactions; one in eight moves a recent row back a day
# (another partition), one in twenty deletes one.
my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/write.sql") or die;
print $fh q{
\set ch random(0, 4)
\set amt random(1, 100000)
\set r random(1, 40)
\set back random(0, 30)
INSERT INTO pay VALUES (nextval('ids'), now() - random() * interval '3 days', :ch, :amt / 100.0);
\if :r <= 5
UPDATE pay SET paid_at = paid_at - interval '1 day', channel = (channel + 1) % 5, amount = amount + 1
WHERE pay_id = currval('ids') - :back;
\elif :r <= 7
DELETE FROM pay WHERE pay_id = currval('ids') - :back;
\endif
};
close $fh;
open($fh, '>', "$dir/rollup.sql") or die;
print $fh q{
SELECT segroll.rollup('pay');
\sleep 20 ms
};
close $fh;

sub pgbench_start
{
	my ($script, $clients, $seconds, $out) = @_;
	my @cmd = ('pgbench', '-n', '-c', $clients, '-j', $clients, '-T', $seconds, '-f', "$dir/$script",
		'-h', $node->host, '-p', $node->port, 'postgres');
	return IPC::Run::start(\@cmd, '>', \$out->{stdout}, '2>', \$out->{stderr});
}

my (%w, %r);
my $writers = pgbench_start('write.sql', 2, 8, \%w);
my $rollups = pgbench_start('rollup.sql', 1, 8, \%r);

# Meanwhile: tables loaded apart (with copied capture numbers) attached as
# partitions far ahead, rolled up, and detached again.
for my $i (1 .. 4)
{
	my $day = sprintf('2031-01-%02d', $i);
	my $next = sprintf('2031-01-%02d', $i + 1);
	$node->safe_psql('postgres', qq{
		CREATE TABLE loaded_$i (LIKE pay INCLUDING DEFAULTS);
		INSERT INTO loaded_$i (pay_id, paid_at, channel, amount, segroll_seq)
		SELECT 10000000 * $i + g, '$day'::timestamptz + g * interval '1 minute', g % 5, g, 1
		FROM generate_series(1, 300) g;
		ALTER TABLE pay ATTACH PARTITION loaded_$i FOR VALUES FROM ('$day') TO ('$next');
	});
	# the source's schema changes under the load: a column added with a
	# default (the change log keeps old versions as jsonb), the previous
	# one dropped
	$node->safe_psql('postgres', qq{ALTER TABLE pay ADD COLUMN extra_$i int DEFAULT $i});
	$node->safe_psql('postgres', 'ALTER TABLE pay DROP COLUMN extra_' . ($i - 1)) if $i > 1;
	usleep(300_000);
	$node->safe_psql('postgres', q{SELECT segroll.rollup('pay')});
	if ($i % 2 == 0)
	{
		$node->safe_psql('postgres', qq{
			ALTER TABLE pay DETACH PARTITION loaded_$i;
			INSERT INTO gone SELECT pay_id, paid_at, channel, amount FROM loaded_$i;
			DROP TABLE loaded_$i;
		});
	}
}

# pg_partman's maintenance: new partitions ahead, and retention detaching
# the partitions older than 7 days (kept as tables, which go to "gone")
$node->safe_psql('postgres', q{
	UPDATE partman.part_config SET retention = '7 days', retention_keep_table = true WHERE parent_table = 'public.pay';
	SELECT partman.run_maintenance('public.pay');
	DO $$
	DECLARE
		t regclass;
	BEGIN
		FOR t IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		         WHERE n.nspname = 'public' AND c.relname LIKE 'pay\_p%' AND c.relkind = 'r'
		           AND NOT c.relispartition LOOP
			EXECUTE format('INSERT INTO gone SELECT pay_id, paid_at, channel, amount FROM %s', t);
			EXECUTE format('DROP TABLE %s', t);
		END LOOP;
	END
	$$;
});

$writers->finish;
$rollups->finish;
is($writers->result(0), 0, 'writers finished without errors') or diag($w{stderr});
is($rollups->result(0), 0, 'every concurrent roll-up succeeded') or diag($r{stderr});

($rc, $out, $err) = $node->psql('postgres', q{SELECT segroll.rollup('pay')});
is($rc, 0, 'final roll-up succeeds') or diag($err);
is($node->safe_psql('postgres', $oracle), 'ok', 'cells = GROUP BY of the source and the rows that left it');
is($node->safe_psql('postgres', q{SELECT count(*) >= 500 FROM gone}), 't', 'partitions did leave the source');
is($node->safe_psql('postgres', q{
	SELECT max(purged_before) = date_trunc('day', now() - interval '7 days', 'UTC')
	FROM segroll.purge_log WHERE source = 'pay'::regclass}), 't',
	'retention recorded its horizon in the purge log');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM segroll.verify('pay', (SELECT max(purged_before) FROM segroll.purge_log), '2031-01-01', 'full')}),
	'0', 'verify is clean after the horizon');
is($node->safe_psql('postgres', q{SELECT pending_changes FROM segroll.status WHERE name = 'pay'}), '0', 'nothing pending');
is($node->safe_psql('postgres', q{SELECT count(*) > 2800 FROM pay}), 't', 'the load did insert rows');

$node->stop;
done_testing();
