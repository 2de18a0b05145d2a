# Immediate shutdown (a crash) in the middle of a roll-up: after restart the
# cells hold exactly the batches that committed, nothing of the batch that
# was running, and the next roll-up finishes the job exactly once
# (TimescaleDB's tsl/test/t/006_granular_refresh_restart.pl does the same
# for continuous aggregates).
#
# To crash at the worst moment, not at a random one, a statement trigger on
# the cells table sleeps once the roll-up has written its cells (and before
# it records its progress) when progress has reached test_pause.after; the
# test waits until the roll-up sleeps there, then stops the server with
# mode immediate.  (The trigger runs under the roll-up's pinned search_path,
# hence the qualified names.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = 300_000;
my $node = PostgreSQL::Test::Cluster->new('crash_rollup');
$node->init;
# cells past 100 rows keep their lineage in blocks: the crash also hits a
# roll-up that writes heads and lineage blocks
$node->append_conf('postgresql.conf', "segroll.inline_lineage_limit = 100\nsegroll.lineage_block_keys = 16");
$node->start;

$node->safe_psql('postgres', qq{
	CREATE EXTENSION segroll;
	CREATE TABLE big (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, amount numeric(12,2));
	INSERT INTO big SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '13 seconds', g % 7, (g % 1000) / 10.0
	FROM generate_series(1, $rows) g;
	SELECT segroll.create_segmentation('big', 'big', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	                                   '{org_id}', '{amount}', backfill => false);
	CREATE TABLE test_pause (after bigint);
	INSERT INTO test_pause VALUES (NULL);
	CREATE FUNCTION test_pause() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		IF (SELECT applied_upto FROM segroll.progress WHERE name = 'big') >= (SELECT after FROM public.test_pause) THEN
			PERFORM pg_sleep(300);
		END IF;
		RETURN NULL;
	END \$\$;
	CREATE TRIGGER test_pause AFTER INSERT OR UPDATE ON segroll_data.big
	FOR EACH STATEMENT EXECUTE FUNCTION public.test_pause();
});

# cells = GROUP BY over the source rows up to applied_upto (only inserts are
# pending, so that is exact), both ways
my $oracle_upto = q{
	WITH upto AS (SELECT applied_upto FROM segroll.progress WHERE name = 'big'),
	fresh AS (SELECT org_id, date_trunc('day', sold_at, 'Asia/Seoul') AS period,
	                 segroll.segment_agg(txn_id, sold_at, amount) AS seg
	          FROM big WHERE segroll_seq <= (SELECT applied_upto FROM upto) GROUP BY 1, 2)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.big_segments)
		UNION ALL
		(SELECT org_id, period, seg FROM segroll_data.big_segments EXCEPT ALL SELECT * FROM fresh)) d};
# cells = GROUP BY over the whole source, both ways
my $oracle = q{
	WITH fresh AS (SELECT org_id, date_trunc('day', sold_at, 'Asia/Seoul') AS period,
	                      segroll.segment_agg(txn_id, sold_at, amount) AS seg FROM big GROUP BY 1, 2)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.big_segments)
		UNION ALL
		(SELECT org_id, period, seg FROM segroll_data.big_segments EXCEPT ALL SELECT * FROM fresh)) d};
my $progress = q{SELECT applied_upto || '/' || total_applied FROM segroll.progress WHERE name = 'big'};

# Start SQL in a background psql and crash the server once the roll-up
# sleeps after writing its cells.
sub crash_during
{
	my ($sql, $name) = @_;
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	$bg->query_until(qr/started/, "\\echo started\n$sql;\n");
	ok( $node->poll_query_until('postgres', q{
			SELECT count(*) = 1 FROM pg_stat_activity
			WHERE wait_event = 'PgSleep' AND query ~ '^(CALL|SELECT) segroll\.'}),
		"$name: roll-up is running, cells written, progress not yet recorded");
	$node->stop('immediate');
	eval { $bg->quit; };
	$node->start;
}

# 1. one roll-up of every row, in one transaction
$node->safe_psql('postgres', 'UPDATE test_pause SET after = 0');
crash_during("SELECT segroll.rollup('big')", 'single roll-up');
is($node->safe_psql('postgres', $progress), '0/0', 'single roll-up: no progress recorded');
is($node->safe_psql('postgres', 'SELECT count(*) FROM segroll_data.big'), '0',
	'single roll-up: no cell survived');
is($node->safe_psql('postgres', $oracle_upto), 'ok', 'single roll-up: oracle up to applied_upto');

# 2. a batched backfill: two batches commit, the third is running
$node->safe_psql('postgres', 'UPDATE test_pause SET after = 100000');
crash_during("CALL segroll.backfill('big', 50000)", 'backfill');
# (backfill first numbers the rows that predate the capture, which all
# carry number 1, in batches: from 2 up, so 2 batches are 99 999 rows)
is($node->safe_psql('postgres', $progress), '100000/99999',
	'backfill: exactly the two committed batches are recorded');
is($node->safe_psql('postgres', $oracle_upto), 'ok',
	'backfill: cells hold the committed batches, nothing of the third');

# 3. no more pauses: corrections of applied and pending rows, new rows; the
# next roll-ups finish the job exactly once
$node->safe_psql('postgres', q{
	UPDATE test_pause SET after = NULL;
	UPDATE big SET org_id = org_id + 10 WHERE txn_id % 1000 = 0;
	UPDATE big SET amount = amount + 1 WHERE txn_id % 1000 = 1;
	DELETE FROM big WHERE txn_id % 997 = 0;
	INSERT INTO big SELECT g, '2026-11-20 00:00+09'::timestamptz + g * interval '1 minute', g % 3, 1
	FROM generate_series(300001, 301000) g;
});
my ($rc, $out, $err) = $node->psql('postgres', "CALL segroll.backfill('big', 50000)");
is($rc, 0, 'after recovery: backfill of the corrected rows succeeds') or diag($err);
is($node->safe_psql('postgres', $oracle), 'ok', 'after recovery and backfill: oracle holds');
is($node->safe_psql('postgres', q{SELECT pending_changes FROM segroll.status WHERE name = 'big'}), '0',
	'after recovery and backfill: nothing pending');
($rc, $out, $err) = $node->psql('postgres', q{SELECT segroll.rollup('big')});
is($out, '0', 'a further roll-up applies nothing') or diag($err);
is($node->safe_psql('postgres', $oracle), 'ok', 'oracle still holds');
is($node->safe_psql('postgres', q{SELECT count(*) > 0 FROM segroll_data.big_lineage}), 't',
	'cells keep their lineage in blocks');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.verify('big', '-infinity', 'infinity', 'full')}), '0',
	'verify (full) finds nothing');

$node->stop;
done_testing();
