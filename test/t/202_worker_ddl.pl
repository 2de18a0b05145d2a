# DDL while background workers run (issue 4): DROP EXTENSION, CREATE
# EXTENSION again, ALTER EXTENSION UPDATE from 0.2.0 and DROP DATABASE
# neither hang nor leave error loops in the log; without preloading the SQL
# API works and says that workers are unavailable.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('ddl');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'segroll'
segroll.naptime = 100ms
segroll.probe_interval = 1s
log_statement = none
});
$node->start;

my $schema = q{
	CREATE TABLE sales (txn_id bigserial PRIMARY KEY, sold_at timestamptz NOT NULL,
	                    org_id int, amount numeric(12,2));
	INSERT INTO sales (sold_at, org_id, amount)
	SELECT '2026-11-01 00:00+00'::timestamptz + g * interval '7 minutes', g % 10, g / 100.0
	FROM generate_series(1, 1000) g;
};
my $oracle = q{
	WITH fresh AS (SELECT org_id, date_trunc('day', sold_at, 'UTC') AS period,
	                      segroll.segment_agg(txn_id, sold_at, amount) AS seg
	               FROM sales GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.live)
	                      UNION ALL
	                      (SELECT org_id, period, seg FROM segroll_data.live EXCEPT ALL SELECT * FROM fresh)) d};
sub workers_in
{
	my ($db) = @_;
	return qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = '$db'};
}
sub workers_are
{
	my ($db, $n) = @_;
	return qq{SELECT count(*) = $n FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = '$db'};
}
sub count_matches
{
	my ($text, $re) = @_;
	my $n = () = $text =~ /$re/g;
	return $n;
}

my $dir = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$dir/insert.sql", q{
\set org random(0, 9)
\set m random(0, 43199)
INSERT INTO sales (sold_at, org_id, amount) VALUES ('2026-11-01 00:00+00'::timestamptz + :m * interval '1 minute', :org, 1.5);
});
sub start_load
{
	my ($db, $seconds) = @_;
	my ($out, $err) = ('', '');
	return IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', $seconds, '-f', "$dir/insert.sql",
		  '-h', $node->host, '-p', $node->port, $db ],
		'>', \$out, '2>', \$err);
}

# ---------------------------------------------------------------- DROP EXTENSION
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', qq{
	CREATE EXTENSION segroll;
	$schema
	SELECT segroll.create_segmentation('live', 'sales', 'txn_id', 'sold_at', 'day', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'continuous');
});
ok($node->poll_query_until('app', workers_are('app', 1)), 'worker running');

my $load = start_load('app', 4);
sleep 1;
my $log_offset = -s $node->logfile;
my $t0 = time;
my ($ret, $stdout, $stderr) = $node->psql('app', 'DROP EXTENSION segroll CASCADE', timeout => 30);
my $took = time - $t0;
is($ret, 0, 'DROP EXTENSION segroll CASCADE under load with a worker running') or diag($stderr);
cmp_ok($took, '<', 10, sprintf('and it does not hang (%.1f s)', $took));
$load->finish;
is($?, 0, 'the insert load went on undisturbed');
ok($node->poll_query_until('app', workers_are('app', 0)), 'the worker exits');
sleep 2;	# two probe intervals: a probing worker finds no segroll and leaves
is($node->safe_psql('app', workers_in('app')), '0', 'no worker comes back for good');
my $log = slurp_file($node->logfile, $log_offset);
# A worker that read the catalogs just as the drop committed may fail once
# (ERROR: relation "segroll.segmentation" does not exist, exit code 1);
# a loop would repeat it every probe interval.
cmp_ok(count_matches($log, qr/could not roll up|ERROR: /), '<=', 1, 'at most one error after DROP EXTENSION');
cmp_ok(count_matches($log, qr/exited with exit code 1/), '<=', 1, 'no error loop in the log after DROP EXTENSION');

# what DROP EXTENSION leaves behind on the source
is($node->safe_psql('app', q{
	SELECT count(*) FROM pg_attribute WHERE attrelid = 'sales'::regclass AND attname = 'segroll_seq' AND NOT attisdropped}),
	'1', 'the capture column segroll_seq stays on the source');

is($node->safe_psql('app', q{
	SELECT string_agg(regexp_replace(relname, '_[0-9]+$', '_OID') || ':' || relkind::text, ' ' ORDER BY relname)
	FROM pg_class WHERE relnamespace = 'segroll_data'::regnamespace AND relkind IN ('r', 'v')}),
	'changes_sales_OID:r live:r live_adjustments:r live_lineage:r live_unmapped:v',
	'segroll_data keeps the change log, the cells, adjustments and lineage tables (without segments) and the _unmapped view');
is($node->safe_psql('app', q{
	SELECT count(*) FROM pg_attribute WHERE attrelid = 'segroll_data.live'::regclass AND attname = 'seg' AND NOT attisdropped}),
	'0', 'the cells lose their segment column');

# CREATE EXTENSION again: the old source says what is in the way
$node->safe_psql('app', q{CREATE EXTENSION segroll});
($ret, $stdout, $stderr) = $node->psql('app', q{
	SELECT segroll.create_segmentation('again', 'sales', 'txn_id', 'sold_at', 'day', 'UTC', '{org_id}')});
like($stderr, qr/already has a column "segroll_seq".*\n.*ALTER TABLE \.\.\. DROP COLUMN segroll_seq/,
	'the old source is refused with a hint about the leftover column');
# the clean-up docs/operations.md gives
$node->safe_psql('app', q{
	DROP VIEW segroll_data.live_unmapped;
	DROP TABLE segroll_data.live, segroll_data.live_adjustments, segroll_data.live_lineage;
	DO $$ BEGIN
		EXECUTE (SELECT format('DROP TABLE segroll_data.%I', relname) FROM pg_class
		         WHERE relnamespace = 'segroll_data'::regnamespace AND relkind = 'r' AND relname LIKE 'changes\_sales\_%');
	END $$;
	ALTER TABLE sales DROP COLUMN segroll_seq;
	DO $$ BEGIN
		EXECUTE (SELECT 'DROP FUNCTION ' || string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p
		         WHERE p.pronamespace = 'segroll_data'::regnamespace AND p.proname LIKE 'segroll\_capture\_%');
	END $$;
});
is($node->safe_psql('app', q{
	SELECT FROM segroll.create_segmentation('live', 'sales', 'txn_id', 'sold_at', 'day', 'UTC', '{org_id}', '{amount}');
	SELECT total_applied = (SELECT count(*) FROM sales) FROM segroll.progress WHERE name = 'live'}), 't',
	'after the clean-up the old source can be segmented again');
is($node->safe_psql('app', $oracle), '0', 'and its cells equal a from-scratch GROUP BY');
$node->safe_psql('app', q{
	CREATE TABLE sales2 (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, amount numeric(12,2));
	SELECT segroll.create_segmentation('fresh', 'sales2', 'txn_id', 'sold_at', 'day', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'continuous');
	INSERT INTO sales2 VALUES (1, '2026-11-01 10:00+00', 1, 2.5), (2, '2026-11-01 11:00+00', 2, 3.5);
});
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 AND total_applied = 2 FROM segroll.status WHERE name = 'fresh'}),
	'after CREATE EXTENSION again, a worker rolls up a new segmentation');

# ---------------------------------------------------------------- ALTER EXTENSION UPDATE
$node->safe_psql('postgres', 'CREATE DATABASE upg');
$node->safe_psql('upg', qq{
	CREATE EXTENSION segroll VERSION '0.2.0';
	$schema
	SELECT segroll.create_segmentation('live', 'sales', 'txn_id', 'sold_at', 'day', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'continuous');
});
ok($node->poll_query_until('upg', workers_are('upg', 1)), 'a worker runs for a database at 0.2.0');
$node->safe_psql('upg', q{INSERT INTO sales (sold_at, org_id, amount) VALUES ('2026-11-02 10:00+00', 1, 1)});
ok($node->poll_query_until('upg', q{
	SELECT p.applied_upto = (SELECT max(segroll_seq) FROM sales) FROM segroll.progress p WHERE name = 'live'}),
	'and rolls up with the 0.2.0 SQL');

$load = start_load('upg', 4);
sleep 1;
$log_offset = -s $node->logfile;
$t0 = time;
($ret, $stdout, $stderr) = $node->psql('upg', 'ALTER EXTENSION segroll UPDATE', timeout => 30);
$took = time - $t0;
is($ret, 0, 'ALTER EXTENSION segroll UPDATE under load with a worker running') or diag($stderr);
cmp_ok($took, '<', 10, sprintf('and it does not hang (%.1f s)', $took));
$load->finish;
is($?, 0, 'the insert load went on undisturbed');
is($node->safe_psql('upg', q{SELECT extversion = default_version FROM pg_extension, pg_available_extensions
                              WHERE extname = 'segroll' AND name = 'segroll'}), 't', 'now at the default version');
ok($node->poll_query_until('upg', q{SELECT pending_changes = 0 AND state = 'idle' FROM segroll.status WHERE name = 'live'}),
	'the worker keeps rolling up after the update');
is($node->safe_psql('upg', $oracle), '0', 'cells equal a from-scratch GROUP BY');
is($node->safe_psql('upg', q{SELECT count(*) > 0 FROM segroll.run_history WHERE name = 'live'}), 't',
	'runs after the update are recorded in run_history');
$log = slurp_file($node->logfile, $log_offset);
is(count_matches($log, qr/could not roll up|exited with exit code 1|ERROR: /), 0, 'no error in the log during the update');

# ---------------------------------------------------------------- DROP DATABASE
ok($node->poll_query_until('postgres', workers_are('upg', 1)), 'a worker is connected to the database');
# without FORCE, DROP DATABASE waits 5 s for the worker, then gives up
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE upg');
like($stderr, qr/database "upg" is being accessed by other users\nDETAIL:  There is 1 other session using the database/,
	'DROP DATABASE without FORCE fails while a worker is connected');
# a database owner who is not a superuser cannot terminate the worker
$node->safe_psql('postgres', q{CREATE ROLE owner_role LOGIN CREATEDB; ALTER DATABASE upg OWNER TO owner_role});
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE upg WITH (FORCE)', extra_params => [ '-U', 'owner_role' ]);
like($stderr, qr/must be a member of the role whose process is being terminated or member of pg_signal_backend/,
	'a non-superuser owner needs pg_signal_backend to DROP DATABASE WITH (FORCE) while a worker is connected');

$log_offset = -s $node->logfile;
$t0 = time;
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE upg WITH (FORCE)', timeout => 30);
$took = time - $t0;
is($ret, 0, 'DROP DATABASE WITH (FORCE) with a worker connected') or diag($stderr);
cmp_ok($took, '<', 5, sprintf('and it does not hang (%.1f s)', $took));
is($node->safe_psql('postgres', workers_in('upg')), '0', 'the worker is gone');
sleep 2;	# two probe intervals
$log = slurp_file($node->logfile, $log_offset);
cmp_ok(count_matches($log, qr/database (\d+|"upg") does not exist|could not roll up/), '<=', 1,
	'no repeated connection errors for the dropped database');
cmp_ok(count_matches($log, qr/exited with exit code 1/), '<=', 2, 'no worker error loop');	# the terminated worker
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'fresh'}),
	'the other database is still served');
$node->safe_psql('app', q{INSERT INTO sales2 VALUES (3, '2026-11-01 12:00+00', 3, 4.5)});
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 AND total_applied = 3 FROM segroll.status WHERE name = 'fresh'}),
	'and keeps being rolled up');

# switched to manual, the worker leaves and a plain DROP DATABASE succeeds
$node->safe_psql('postgres', 'CREATE DATABASE calm');
$node->safe_psql('calm', qq{
	CREATE EXTENSION segroll;
	$schema
	SELECT segroll.create_segmentation('live', 'sales', 'txn_id', 'sold_at', 'day', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'continuous');
});
ok($node->poll_query_until('postgres', workers_are('calm', 1)), 'a worker is connected to another database');
$node->safe_psql('calm', q{SELECT segroll.alter_segmentation('live', 'manual')});
ok($node->poll_query_until('postgres', workers_are('calm', 0)), 'its segmentations made manual, the worker leaves');
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE calm');
is($ret, 0, 'then DROP DATABASE without FORCE succeeds') or diag($stderr);

$node->stop;

# ---------------------------------------------------------------- no preloading
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', qq{CREATE EXTENSION segroll; $schema});
is($plain->safe_psql('postgres', 'SELECT segroll.workers_available()'), 'f', 'workers_available() is false without preloading');
is($plain->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'segroll%'}), '0',
	'no launcher without preloading');
($ret, $stdout, $stderr) = $plain->psql('postgres', q{
	SELECT segroll.create_segmentation('live', 'sales', 'txn_id', 'sold_at', 'day', 'UTC', '{org_id}', '{amount}')});
is($stderr, '', 'a manual segmentation is created without a word');
($ret, $stdout, $stderr) = $plain->psql('postgres', q{SELECT segroll.alter_segmentation('live', 'continuous')});
is($ret, 0, 'alter_segmentation to continuous works without preloading');
like($stderr, qr/WARNING:  segroll background workers are not running, so nothing rolls this segmentation up continuously\nHINT:  Add segroll to shared_preload_libraries and restart, or schedule SELECT segroll.rollup\(\.\.\.\) with pg_cron\./,
	'and warns that nothing rolls it up');
($ret, $stdout, $stderr) = $plain->psql('postgres', q{SELECT segroll.alter_segmentation('live', 'manual')});
is($stderr, '', 'no warning for manual');
$plain->safe_psql('postgres', q{INSERT INTO sales (sold_at, org_id, amount) VALUES ('2026-11-02 10:00+00', 1, 1)});
is($plain->safe_psql('postgres', q{SELECT segroll.rollup('live')}), '1', 'the SQL API works without preloading');
is($plain->safe_psql('postgres', $oracle), '0', 'cells equal a from-scratch GROUP BY');
$plain->stop;

done_testing();
