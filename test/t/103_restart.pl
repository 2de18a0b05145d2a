# Roll-up state survives a clean restart: cells, progress and pending
# changes are as they were, and the first roll-up after the restart applies
# exactly the changes made before it.  A prepared transaction that wrote
# into the source survives the restart too (as a recovered prepared
# transaction): the roll-up waits for it and counts its rows once it is
# committed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 10');
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE TABLE sales (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, amount numeric(12,2));
	INSERT INTO sales SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '3 minutes', g % 5, g % 89
	FROM generate_series(1, 5000) g;
	SELECT segroll.create_segmentation('daily', 'sales', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	                                   '{org_id}', '{amount}');
	UPDATE sales SET amount = amount + 1 WHERE txn_id % 7 = 0;
	SELECT segroll.rollup('daily');
});

my $oracle = q{
	WITH fresh AS (SELECT org_id, date_trunc('day', sold_at, 'Asia/Seoul') AS period,
	                      segroll.segment_agg(txn_id, sold_at, amount) AS seg FROM sales GROUP BY 1, 2)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.daily)
		UNION ALL
		(SELECT org_id, period, seg FROM segroll_data.daily EXCEPT ALL SELECT * FROM fresh)) d};
my $cells = q{
	SELECT count(*) || ':' || md5(string_agg(encode(segroll.segment_send(seg), 'hex'), ',' ORDER BY org_id, period))
	FROM segroll_data.daily};
my $status = q{
	SELECT applied_upto || '/' || source_upto || '/' || pending_changes || '/' || total_applied
	FROM segroll.status WHERE name = 'daily'};
is($node->safe_psql('postgres', $oracle), 'ok', 'oracle holds before the restart');

# pending changes: inserts, a late row, corrections, deletes; and a prepared
# transaction that inserted and corrected a row
$node->safe_psql('postgres', q{
	INSERT INTO sales SELECT g, now(), g % 5, 2 FROM generate_series(5001, 5200) g;
	INSERT INTO sales VALUES (5201, '2026-11-02 12:00+09', 1, 12.34);
	UPDATE sales SET org_id = 7 WHERE txn_id % 11 = 0;
	DELETE FROM sales WHERE txn_id % 13 = 0;
	BEGIN;
	INSERT INTO sales VALUES (6001, '2026-11-03 12:00+09', 2, 60.01);
	UPDATE sales SET amount = 0 WHERE txn_id = 1;
	PREPARE TRANSACTION 'before_restart';
});
my $cells_before = $node->safe_psql('postgres', $cells);
my $status_before = $node->safe_psql('postgres', $status);

$node->restart;

is($node->safe_psql('postgres', $cells), $cells_before, 'cells are unchanged by the restart');
is($node->safe_psql('postgres', $status), $status_before, 'progress and pending changes are unchanged');
is($node->safe_psql('postgres', q{SELECT gid FROM pg_prepared_xacts}), 'before_restart',
	'the prepared transaction survived');

# the roll-up waits for the recovered prepared transaction ...
my $bg = $node->background_psql('postgres');
$bg->query_until(qr/started/, "\\echo started\nSELECT 'applied ' || segroll.rollup('daily');\n");
ok( $node->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM pg_locks l JOIN pg_prepared_xacts p ON l.transactionid = p.transaction
		WHERE NOT l.granted}),
	'the roll-up waits for the recovered prepared transaction');
# ... which another session commits
$node->safe_psql('postgres', q{COMMIT PREPARED 'before_restart'});
my $out = $bg->query_until(qr/applied \d+/, '');
$bg->quit;
like($out, qr/applied [1-9]\d*/, 'the roll-up finished once the prepared transaction committed');

is($node->safe_psql('postgres', $oracle), 'ok', 'oracle holds after the restart and the roll-up');
is($node->safe_psql('postgres', q{SELECT pending_changes FROM segroll.status WHERE name = 'daily'}), '0',
	'nothing pending');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll_data.daily WHERE segroll.contains(seg, 6001)}), '1',
	'the prepared transaction\'s row is in exactly one cell');

$node->stop;
done_testing();
