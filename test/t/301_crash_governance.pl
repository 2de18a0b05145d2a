# A crash (immediate shutdown) in the middle of repair, purge_source,
# close_period and switch_version: each is one transaction, so after
# recovery nothing of it is left, the same call then succeeds, and the cells
# still equal a from-scratch GROUP BY.  To crash at the worst moment, a
# statement trigger sleeps right after the step has written what it writes
# (cells, deleted source rows, the closed period, the swapped names); the
# test waits until it sleeps there, then stops the server.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash_gov');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE TABLE sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int, amount numeric(12,2));
	INSERT INTO sales SELECT g, '2026-11-01 00:00+00'::timestamptz + g * interval '30 seconds', g % 5, (g % 1000) / 10.0
	FROM generate_series(1, 100000) g;	-- 2026-11-01 .. 2026-12-05
	SELECT segroll.create_segmentation('gov', 'sales', 'id', 'sold_at', 'day', 'UTC', '{org}', '{amount}');
	CREATE TABLE pause (armed boolean NOT NULL DEFAULT false);
	INSERT INTO pause VALUES (false);
	CREATE FUNCTION public.pause() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF (SELECT armed FROM public.pause) THEN
			PERFORM pg_catalog.pg_sleep(300);
		END IF;
		RETURN NULL;
	END $$;
	-- damage: a row deleted behind the capture's back
	ALTER TABLE sales DISABLE TRIGGER USER;
	DELETE FROM sales WHERE id = 500;
	ALTER TABLE sales ENABLE TRIGGER USER;
});

my $oracle = q{
	WITH fresh AS (SELECT org, date_trunc('day', sold_at, 'UTC') AS period,
	                      segroll.segment_agg(id, sold_at, amount) AS seg FROM sales GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT org, period, seg FROM segroll_data.gov EXCEPT ALL SELECT * FROM fresh)
	                      UNION ALL (SELECT * FROM fresh EXCEPT ALL SELECT org, period, seg FROM segroll_data.gov)) d};
my $problems = q{SELECT count(*) FROM segroll.verify('gov', '-infinity', 'infinity', 'full')};

sub crash_during
{
	my ($sql, $name) = @_;
	$node->safe_psql('postgres', 'UPDATE pause SET armed = true');
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	$bg->query_until(qr/started/, "\\echo started\n$sql;\n");
	ok($node->poll_query_until('postgres', q{
			SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query ~ 'segroll\.'}),
		"$name: running, its writes done, not committed");
	$node->stop('immediate');
	eval { $bg->quit; };
	$node->start;
	$node->safe_psql('postgres', 'UPDATE pause SET armed = false');
}

# ---------------------------------------------------------------- repair
my $damage = $node->safe_psql('postgres', $problems);
cmp_ok($damage, '>', 0, "verify finds the damage ($damage rows)");
$node->safe_psql('postgres', q{
	CREATE TRIGGER pause AFTER UPDATE ON segroll_data.gov FOR EACH STATEMENT EXECUTE FUNCTION public.pause()});
crash_during(q{SELECT * FROM segroll.repair('gov', '-infinity', 'infinity')}, 'repair');
is($node->safe_psql('postgres', $problems), $damage, 'repair: after the crash the damage is still there, untouched');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.history WHERE action = 'repair'}), '0',
	'repair: and no repair is on record');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.repair('gov', '-infinity', 'infinity')}), '1',
	'repair: the same call then repairs the one damaged cell');
is($node->safe_psql('postgres', $oracle), '0', 'repair: oracle holds');
$node->safe_psql('postgres', 'DROP TRIGGER pause ON segroll_data.gov');

# ---------------------------------------------------------------- purge_source
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM sales');
$node->safe_psql('postgres', q{
	CREATE TRIGGER pause AFTER DELETE ON sales FOR EACH STATEMENT EXECUTE FUNCTION public.pause()});
crash_during(q{SELECT * FROM segroll.purge_source('gov', now() - '2026-11-03 00:00+00'::timestamptz)}, 'purge_source');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sales'), $rows, 'purge_source: every raw row is still there');
is($node->safe_psql('postgres', 'SELECT count(*) FROM segroll.purge_log'), '0', 'purge_source: no purge on record');
is($node->safe_psql('postgres', 'SELECT count(*) FROM segroll.purging'), '0', 'purge_source: no purge in progress');
$node->safe_psql('postgres', 'DROP TRIGGER pause ON sales');
like($node->safe_psql('postgres', q{SELECT purged_before || '|' || rows_deleted
		FROM segroll.purge_source('gov', now() - '2026-11-03 00:00+00'::timestamptz)}),
	qr/^2026-11-0[23] 00:00:00\+00\|\d+$/, 'purge_source: the same call then purges');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.verify('gov', '2026-11-03', 'infinity', 'full')}), '0',
	'purge_source: the cells after the horizon verify clean');

# ---------------------------------------------------------------- close_period
$node->safe_psql('postgres', q{
	CREATE TRIGGER pause AFTER INSERT ON segroll.closed_period FOR EACH STATEMENT EXECUTE FUNCTION public.pause()});
crash_during(q{SELECT segroll.close_period('gov', '2026-11-04 00:00+00')}, 'close_period');
is($node->safe_psql('postgres', 'SELECT count(*) FROM segroll.closed_period'), '0', 'close_period: nothing is closed');
$node->safe_psql('postgres', 'DROP TRIGGER pause ON segroll.closed_period');
$node->safe_psql('postgres', q{SELECT segroll.close_period('gov', '2026-11-04 00:00+00')});
$node->safe_psql('postgres', q{
	UPDATE sales SET amount = amount + 1 WHERE id = 6000;	-- 2026-11-03 02:00, org 0: a closed day
	INSERT INTO sales VALUES (200000, '2026-11-03 12:00+00', 1, 5);	-- org 1, the same closed day
	SELECT segroll.rollup('gov');
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM segroll_data.gov_adjustments'), '2',
	'close_period: the same call then closes; late changes become adjustments');

# ---------------------------------------------------------------- switch_version
$node->safe_psql('postgres', q{
	SET client_min_messages = error;
	SELECT segroll.create_version('gov', grain => 'week', schedule => 'manual');
	CREATE TRIGGER pause AFTER UPDATE ON segroll.segmentation_version FOR EACH STATEMENT EXECUTE FUNCTION public.pause();
});
my $versions = q{SELECT string_agg(segmentation || ':' || state, ',' ORDER BY version) FROM segroll.segmentation_version};
crash_during(q{SELECT segroll.switch_version('gov')}, 'switch_version');
is($node->safe_psql('postgres', $versions), 'gov:current,gov__v2:building', 'switch_version: the names are as they were');
is($node->safe_psql('postgres', q{SELECT grain FROM segroll.segmentation WHERE name = 'gov'}), 'day',
	'switch_version: gov is still the daily version');
$node->safe_psql('postgres', 'DROP TRIGGER pause ON segroll.segmentation_version');
$node->safe_psql('postgres', q{SELECT segroll.switch_version('gov')});
is($node->safe_psql('postgres', $versions), 'gov__v1:retired,gov:current', 'switch_version: the same call then switches');
is($node->safe_psql('postgres', q{SELECT grain FROM segroll.segmentation WHERE name = 'gov'}), 'week',
	'switch_version: gov is the weekly version now');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.verify('gov', '2026-11-03', 'infinity', 'full')}), '0',
	'switch_version: the new version verifies clean after the purge horizon');

$node->stop;
done_testing();
