# Background workers (issue 4): the launcher and a per-database worker run,
# keep a continuous segmentation fresh under a pgbench insert load while
# manual roll-ups race them, never apply a change twice, and leave manual
# segmentations alone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('workers');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'segroll'
segroll.naptime = 100ms
segroll.probe_interval = 1s
segroll.history_size = 20
log_statement = none
});
$node->start;

# the launcher is there from start-up, connected to no database
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE backend_type = 'segroll launcher' AND datname IS NULL}),
	'launcher appears in pg_stat_activity as "segroll launcher"');

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION segroll;
	CREATE TABLE sales (txn_id bigserial PRIMARY KEY, sold_at timestamptz NOT NULL,
	                    org_id int, amount numeric(12,2));
	INSERT INTO sales (sold_at, org_id, amount)
	SELECT '2026-11-01 00:00+00'::timestamptz + g * interval '7 minutes', g % 10, g / 100.0
	FROM generate_series(1, 2000) g;
	SELECT segroll.create_segmentation('live', 'sales', 'txn_id', 'sold_at', 'day', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'continuous');
	SELECT segroll.create_segmentation('by_hand', 'sales', 'txn_id', 'sold_at', 'month', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'manual');
});
is($node->safe_psql('app', 'SELECT segroll.workers_available()'), 't', 'workers_available() is true when preloaded');

ok($node->poll_query_until('app', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE backend_type = 'segroll worker' AND datname = 'app'}),
	'one worker for the database appears in pg_stat_activity as "segroll worker"');

my $oracle = q{
	WITH fresh AS (SELECT org_id, date_trunc('day', sold_at, 'UTC') AS period,
	                      segroll.segment_agg(txn_id, sold_at, amount) AS seg
	               FROM sales GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.live)
	                      UNION ALL
	                      (SELECT org_id, period, seg FROM segroll_data.live EXCEPT ALL SELECT * FROM fresh)) d};

# a change made now is rolled up by the worker alone
$node->safe_psql('app', q{INSERT INTO sales (sold_at, org_id, amount) VALUES ('2026-11-02 10:00+00', 3, 1.23)});
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'live'}),
	'worker applies a new change');
is($node->safe_psql('app', $oracle), '0', 'cells equal a from-scratch GROUP BY');

my $by_hand_before = $node->safe_psql('app',
	q{SELECT applied_upto || '/' || last_run_at FROM segroll.progress WHERE name = 'by_hand'});

# pgbench: two clients insert; one transaction in 21 is a manual roll-up
# that races the worker
my $dir = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$dir/insert.sql", q{
\set org random(0, 9)
\set m random(0, 43199)
\set a random(1, 100000)
INSERT INTO sales (sold_at, org_id, amount) VALUES ('2026-11-01 00:00+00'::timestamptz + :m * interval '1 minute', :org, :a / 100.0);
});
PostgreSQL::Test::Utils::append_to_file("$dir/rollup.sql", q{
SELECT segroll.rollup('live');
});
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '5',
	  '-f', "$dir/insert.sql\@20", '-f', "$dir/rollup.sql\@1",
	  '-h', $node->host, '-p', $node->port, 'app' ],
	'>', \$out, '2>', \$err);

# mid-load: the worker keeps up (lag is an upper bound on the age of the
# oldest unapplied change)
sleep 2;
my $applied1 = $node->safe_psql('app', q{SELECT total_applied FROM segroll.progress WHERE name = 'live'});
sleep 1;
my ($applied2, $lag) = split /\|/, $node->safe_psql('app',
	q{SELECT total_applied, lag_seconds FROM segroll.status WHERE name = 'live'});
cmp_ok($applied2, '>', $applied1, 'roll-ups keep applying changes during the load');
cmp_ok($lag, '<', 3, "lag stays small under load ($lag s)");

$bench->finish;
is($?, 0, 'pgbench completed') or diag($err);
note($out);
my ($inserts) = $out =~ /SQL script 1: .*insert\.sql\n.*\n\s+- (\d+) transactions/;
my ($manual_runs) = $out =~ /SQL script 2: .*rollup\.sql\n.*\n\s+- (\d+) transactions/;
cmp_ok($manual_runs // 0, '>', 0, 'manual roll-ups ran concurrently with the worker ('
	. ($manual_runs // 'none') . ' runs, ' . ($inserts // '?') . ' inserts)') or diag($out);

ok($node->poll_query_until('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'live'}),
	'worker catches up after the load');
is($node->safe_psql('app', $oracle), '0', 'after the load, cells equal a from-scratch GROUP BY');
is($node->safe_psql('app', q{
	SELECT p.total_applied = (SELECT count(*) FROM sales) AND p.applied_upto = (SELECT max(segroll_seq) FROM sales)
	FROM segroll.progress p WHERE p.name = 'live'}), 't',
	'every change was applied exactly once (total_applied = rows inserted)');

# no two recorded runs applied the same change number
is($node->safe_psql('app', q{
	SELECT count(*) FROM segroll.run_history a JOIN segroll.run_history b
	  ON a.name = b.name AND a.ctid < b.ctid AND a.from_seq < b.to_seq AND b.from_seq < a.to_seq
	WHERE a.name = 'live'}), '0', 'run_history windows never overlap')
  or diag($node->safe_psql('app', q{
	SELECT string_agg(format('%s (%s, %s] %s', started_at, from_seq, to_seq, applied), E'\n' ORDER BY to_seq)
	FROM segroll.run_history WHERE name = 'live'}));
is($node->safe_psql('app', q{SELECT count(*) BETWEEN 2 AND 20 FROM segroll.run_history WHERE name = 'live'}), 't',
	'run_history is bounded by segroll.history_size');

# the manual segmentation was left alone
is($node->safe_psql('app', q{SELECT applied_upto || '/' || last_run_at FROM segroll.progress WHERE name = 'by_hand'}),
	$by_hand_before, 'workers never roll up a manual segmentation');
is($node->safe_psql('app', q{SELECT state, pending_changes > 0 FROM segroll.status WHERE name = 'by_hand'}),
	"idle|t", 'the manual segmentation still has its changes pending');
is($node->safe_psql('app', q{SELECT schedule FROM segroll.status WHERE name = 'by_hand'}), 'manual', 'status shows the schedule');

# no continuous segmentation left: the worker exits; switching back brings it back
$node->safe_psql('app', q{SELECT segroll.alter_segmentation('live', 'manual')});
ok($node->poll_query_until('app', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = 'app'}),
	'worker exits when its database has no continuous segmentation');
$node->safe_psql('app', q{INSERT INTO sales (sold_at, org_id, amount) VALUES ('2026-11-03 10:00+00', 4, 2.5)});
usleep(1_500_000);	# longer than probe_interval: a probing worker would have come and gone
is($node->safe_psql('app', q{SELECT pending_changes FROM segroll.status WHERE name = 'live'}), '1',
	'a segmentation switched to manual is no longer rolled up');
$node->safe_psql('app', q{SELECT segroll.alter_segmentation('live', 'continuous')});
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'live'}),
	'switched back to continuous, a worker comes back and rolls it up');
ok($node->poll_query_until('app', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = 'app'}),
	'still one worker for the database');
is($node->safe_psql('app', $oracle), '0', 'cells still equal a from-scratch GROUP BY');

# a manual segmentation still rolls up on request
cmp_ok($node->safe_psql('app', q{SELECT segroll.rollup('by_hand')}), '>', 0, 'manual roll-up of the manual segmentation');

# no roll-up failed along the way
unlike(slurp_file($node->logfile), qr/could not roll up|TRAP:|terminated by signal/, 'no failed roll-up or crash in the log');

# Polls for up to $seconds (for checks expected to fail today: poll_query_until
# would wait three minutes).
sub poll_briefly
{
	my ($db, $query, $seconds) = @_;
	my $result = '';
	for (1 .. $seconds * 10)
	{
		$result = $node->safe_psql($db, $query);
		return $result if $result eq 't';
		usleep(100_000);
	}
	return $result;
}

# roll-ups run as the owner: code the owner controls (a trigger on the
# cells) runs as the owner and cannot get back to the worker's superuser
$node->safe_psql('app', q{
	CREATE ROLE analyst LOGIN;
	GRANT segroll_admin TO analyst;
	GRANT CREATE ON DATABASE app TO analyst;
	GRANT CREATE ON SCHEMA public TO analyst;
	CREATE TABLE public.seen_as (who name, super bool);
	GRANT INSERT ON public.seen_as TO PUBLIC;
});
$node->safe_psql('app', q{
	SET ROLE analyst;
	CREATE TABLE own_src (id bigint PRIMARY KEY, t timestamptz NOT NULL, k int);
	SELECT segroll.create_segmentation('owned', 'own_src', 'id', 't', 'day', 'UTC', '{k}',
	                                   schedule => 'continuous', cells_schema => 'analyst_cells');
	CREATE FUNCTION public.who_am_i() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.seen_as SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
		BEGIN
			RESET ROLE;
		EXCEPTION WHEN OTHERS THEN
			NULL;
		END;
		INSERT INTO public.seen_as SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
		RETURN NEW;
	END $$;
	CREATE TRIGGER who_am_i BEFORE INSERT ON analyst_cells.owned FOR EACH ROW EXECUTE FUNCTION public.who_am_i();
	INSERT INTO own_src VALUES (1, '2026-11-01 10:00+00', 1);
});
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'owned'}),
	'a segmentation of a non-superuser owner is rolled up by the worker');
is($node->safe_psql('app', q{SELECT who || '/' || super FROM public.seen_as LIMIT 1}), 'analyst/false',
	'its roll-up runs as the owner');
TODO:
{
	is($node->safe_psql('app', q{SELECT count(*) FROM public.seen_as WHERE super}), '0',
		'code run by a worker roll-up cannot become superuser');
}
$node->safe_psql('app', q{SELECT segroll.drop_segmentation('owned'); DROP FUNCTION public.who_am_i() CASCADE;});

# a database whose default isolation is not READ COMMITTED
$node->safe_psql('app', q{ALTER DATABASE app SET default_transaction_isolation = 'repeatable read'});
$node->safe_psql('app', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = 'app'});
ok($node->poll_query_until('app', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = 'app'}),
	'worker restarted with the database\'s settings');
$node->safe_psql('app', q{INSERT INTO sales (sold_at, org_id, amount) VALUES ('2026-11-04 10:00+00', 5, 3.5)});
TODO:
{
	is(poll_briefly('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'live'}, 2), 't',
		'the worker rolls up in a database whose default isolation is REPEATABLE READ');
}
$node->safe_psql('app', q{ALTER DATABASE app RESET default_transaction_isolation});
$node->safe_psql('app', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = 'app'});
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'live'}),
	'back to READ COMMITTED, a new worker rolls it up');
is($node->safe_psql('app', $oracle), '0', 'cells equal a from-scratch GROUP BY');

$node->stop;
done_testing();
