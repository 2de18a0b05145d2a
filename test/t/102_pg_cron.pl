# segroll.rollup() scheduled with the real pg_cron: the job runs in another
# database as the segmentation's (non-superuser) owner, the cells advance to
# the source, the oracle holds and cron.job_run_details records the runs as
# succeeded.  Debian 12's pg_cron is 1.4, whose finest schedule is one
# minute ('N seconds' came in 1.5), so the first run waits for the next
# minute boundary: the data changes are made before it and checked after.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
# jobs run in background workers: the test server has no TCP listener
cron.use_background_workers = on
max_worker_processes = 16
});
$node->start;

my $version = $node->safe_psql('postgres', q{
	CREATE EXTENSION pg_cron;
	SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'});
note("pg_cron $version");

$node->safe_psql('postgres', q{
	CREATE ROLE shop_owner LOGIN;
	CREATE DATABASE shop OWNER shop_owner;
});
$node->safe_psql('shop', q{
	CREATE EXTENSION segroll;
	GRANT segroll_admin TO shop_owner;
	SET ROLE shop_owner;
	CREATE TABLE sales (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, amount numeric(12,2));
	INSERT INTO sales SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '5 minutes', g % 4, g % 97
	FROM generate_series(1, 3000) g;
	SELECT segroll.create_segmentation('shop_daily', 'sales', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	                                   '{org_id}', '{amount}');
});

my $oracle = q{
	WITH fresh AS (SELECT org_id, date_trunc('day', sold_at, 'Asia/Seoul') AS period,
	                      segroll.segment_agg(txn_id, sold_at, amount) AS seg FROM sales GROUP BY 1, 2)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.shop_daily)
		UNION ALL
		(SELECT org_id, period, seg FROM segroll_data.shop_daily EXCEPT ALL SELECT * FROM fresh)) d};
my $pending = q{SELECT pending_changes FROM segroll.status WHERE name = 'shop_daily'};
is($node->safe_psql('shop', $oracle), 'ok', 'backfilled at creation');

# changes the job must roll up: new rows, late rows, corrections, deletes
$node->safe_psql('shop', q{
	SET ROLE shop_owner;
	INSERT INTO sales SELECT g, now() - (g % 50) * interval '1 hour', g % 4, 1 FROM generate_series(3001, 3500) g;
	UPDATE sales SET amount = amount + 100 WHERE txn_id % 10 = 0;
	UPDATE sales SET org_id = 9 WHERE txn_id % 17 = 0;
	DELETE FROM sales WHERE txn_id % 23 = 0;
});
isnt($node->safe_psql('shop', $pending), '0', 'changes are pending before the job runs');
isnt($node->safe_psql('shop', $oracle), 'ok', 'cells are behind before the job runs');

$node->safe_psql('postgres', q{
	SELECT cron.schedule_in_database('shop_daily rollup', '* * * * *',
	                                 $$SELECT segroll.rollup('shop_daily')$$, 'shop', 'shop_owner')});

# the first run starts at the next minute boundary
ok( $node->poll_query_until('postgres', q{
		SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
		WHERE j.jobname = 'shop_daily rollup' AND d.status IN ('succeeded', 'failed')}),
	'the scheduled job ran');
is( $node->safe_psql('postgres', q{
		SELECT string_agg(DISTINCT d.status || ': ' || d.return_message, ', ')
		FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'shop_daily rollup'}),
	'succeeded: SELECT 1', 'cron.job_run_details: the run succeeded');
is( $node->safe_psql('postgres', q{
		SELECT DISTINCT d.username || '@' || d.database
		FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'shop_daily rollup'}),
	'shop_owner@shop', 'the job ran as the owner in the segmentation\'s database');
is($node->safe_psql('shop', $pending), '0', 'the job applied every pending change');
is($node->safe_psql('shop', $oracle), 'ok', 'oracle holds after the scheduled roll-up');
is( $node->safe_psql('shop', q{SELECT last_applied > 0 FROM segroll.status WHERE name = 'shop_daily'}),
	't', 'segroll.status shows what the scheduled run applied');

$node->safe_psql('postgres', q{SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'shop_daily rollup'});
$node->stop;
done_testing();
