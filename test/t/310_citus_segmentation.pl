# Segmentations of a Citus-distributed source (issue 15): a coordinator and
# two workers on 127.0.0.1.  Rows are numbered on the node of their shard,
# roll-ups run on the shard groups (pushed down), and the cells equal a
# from-scratch GROUP BY of the source after concurrent writers through the
# coordinator and through both workers, aborted transactions, roll-ups
# running all along, a shard moved in the middle, and a worker restarted.
# Runs only when Citus is installed for the PostgreSQL under test
# (test/SegrollCitus.pm).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use SegrollCitus;

SegrollCitus::skip_unless_citus();

my ($coord, @workers) = SegrollCitus::start_cluster('seg', 2);

# txn_id from a sequence Citus copies to every node (a range per node), so
# that writers through any node insert distinct keys
$coord->safe_psql('app', q{
	SET TimeZone = 'UTC';
	CREATE SEQUENCE txn_ids;
	CREATE TABLE sales (org_id int NOT NULL, txn_id bigint NOT NULL DEFAULT nextval('txn_ids'),
	                    sold_at timestamptz NOT NULL, channel int NOT NULL, amount numeric(12,2), qty int,
	                    PRIMARY KEY (org_id, txn_id));
	SELECT create_distributed_table('sales', 'org_id');
	INSERT INTO sales (org_id, sold_at, channel, amount, qty)
	SELECT g % 20, '2026-01-01'::timestamptz + (g % 30) * interval '1 day' + (g % 97) * interval '1 minute',
	       (g / 7) % 4, CASE WHEN g % 13 = 0 THEN NULL ELSE round(((g * 7919) % 100003) / 100.0, 2) END, g % 7
	FROM generate_series(1, 5000) g;
});

my $created = $coord->safe_psql('app', q{
	SELECT segroll.create_segmentation('sales_day', 'sales', 'txn_id', 'sold_at', 'day',
	                                   dimensions => '{org_id,channel}', measures => '{amount,qty}')});
is($created, 'segroll_data.sales_day', 'create_segmentation over a distributed source');

is($coord->safe_psql('app', q{
	SELECT count(DISTINCT p.colocationid) || ' ' || count(*) FROM pg_dist_partition p
	WHERE p.logicalrelid IN ('sales'::regclass, 'segroll_data.sales_day'::regclass,
	                         'segroll_data.sales_day_adjustments'::regclass, 'segroll_data.sales_day_lineage'::regclass)}),
	'1 4', 'cells, adjustments and lineage blocks are distributed, co-located with the source');
is($coord->safe_psql('app', q{
	SELECT string_agg(DISTINCT result, ',') FROM run_command_on_shards('sales',
	    $$SELECT count(*) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND tgname LIKE 'segroll_capture%%'$$)}),
	'3', 'every shard has the capture triggers (number; log of updates, of deletes)');

# The oracle: every figure of every cell equals a from-scratch GROUP BY of
# the source with PostgreSQL's own aggregates (count, sum, min, max, first
# and last time), and its checksum (a sum of hashes of each row's key, time
# and values) that of segment_agg() over the same rows.  (A segment from
# which every non-null value of a measure was retracted keeps that
# measure's scale, where a fresh one has none: its text and = differ,
# its figures do not.)
my $oracle_sql = q{SET TimeZone = 'UTC';
	WITH fresh AS (
	    SELECT org_id, channel, date_trunc('day', sold_at, 'UTC') AS period, count(*) AS n,
	           sum(amount) AS sa, min(amount) AS mina, max(amount) AS maxa, sum(qty) AS sq, min(qty) AS minq, max(qty) AS maxq,
	           min(sold_at) AS ft, max(sold_at) AS lt, segroll.checksum(segroll.segment_agg(txn_id, sold_at, amount, qty)) AS ck
	    FROM sales GROUP BY 1, 2, 3),
	cells AS (
	    SELECT org_id, channel, period, segroll.count(seg), segroll.sum(seg, 1), segroll.min(seg, 1), segroll.max(seg, 1),
	           segroll.sum(seg, 2), segroll.min(seg, 2), segroll.max(seg, 2), segroll.first_time(seg), segroll.last_time(seg),
	           segroll.checksum(seg)
	    FROM segroll_data.sales_day)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) || ': ' || string_agg(d, '; ') END
	FROM ((SELECT 'fresh ' || x::text AS d FROM (SELECT * FROM fresh EXCEPT ALL SELECT * FROM cells) x)
	      UNION ALL
	      (SELECT 'cells ' || y::text FROM (SELECT * FROM cells EXCEPT ALL SELECT * FROM fresh) y)) z};
sub oracle
{
	my ($name) = @_;
	is($coord->safe_psql('app', $oracle_sql), 'ok', "$name: the cells equal a from-scratch GROUP BY of the source");
	is($coord->safe_psql('app', q{SELECT pending_changes FROM segroll.status WHERE name = 'sales_day'}),
		'0', "$name: nothing pending");
}
oracle('built at creation');

# rows inserted through each worker are numbered in that node's range
for my $w (@workers)
{
	$w->safe_psql('app', q{
		INSERT INTO sales (org_id, sold_at, channel, amount, qty)
		SELECT g % 20, '2026-01-02'::timestamptz + g * interval '1 minute', g % 4, g, 1
		FROM generate_series(1, 200) g});
}
$coord->safe_psql('app', q{
	INSERT INTO sales (org_id, sold_at, channel, amount, qty)
	SELECT g % 20, '2026-01-03'::timestamptz + g * interval '1 minute', g % 4, g, 2 FROM generate_series(1, 200) g});
is($coord->safe_psql('app', q{
	SELECT string_agg(DISTINCT (segroll_seq >> 48)::text, ',' ORDER BY (segroll_seq >> 48)::text) FROM sales
	WHERE segroll_seq > 1}),
	'1,2', 'new rows carry numbers of the range of their shard\'s node (groups 1 and 2)');
is($coord->safe_psql('app', q{SELECT pending_changes > 0 FROM segroll.status WHERE name = 'sales_day'}),
	't', 'the status counts the pending changes of every node');
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll_data.sales_day_live l}) > 0 ? 1 : 0, 1,
	'the live view reads');
is($coord->safe_psql('app', q{SET TimeZone = 'UTC';
	SELECT sum(count) FROM segroll_data.sales_day_live}),
	$coord->safe_psql('app', q{SELECT count(*) FROM sales}), 'the live view counts every row, rolled up or not');
is($coord->safe_psql('app', q{
	SELECT status FROM segroll.locate('sales_day', (SELECT max(txn_id) FROM sales WHERE qty = 2))}),
	'pending', 'locate: a row not rolled up yet is pending');

# the roll-up runs on the shard groups: the INSERT ... SELECT goes to each
# worker with shard names, never through the coordinator
my ($rc, $out, $err) = $coord->psql('app', q{
	SET citus.log_remote_commands = on; SET client_min_messages = log;
	SELECT segroll.rollup('sales_day')});
is($rc, 0, 'the roll-up succeeds');
like($err, qr/INSERT INTO segroll_data\.sales_day_\d+ AS c .*FROM public\.sales_\d+ s/s,
	'the roll-up statement is pushed down to the shards');
unlike($err, qr/INSERT INTO segroll_data\.sales_day AS c/, 'no roll-up statement on the distributed table itself');
oracle('after writes through the coordinator and both workers');
is($coord->safe_psql('app', q{
	SELECT status FROM segroll.locate('sales_day', (SELECT max(txn_id) FROM sales WHERE qty = 2))}),
	'counted', 'locate: the row is counted after the roll-up');

# the roll-up waits, on the worker, for a writer that took a number there
# and has not committed: the number is below the node's upper, so the row
# must be in the window once its transaction ends
my $org_w1 = $coord->safe_psql('app', sprintf(q{
	SELECT g FROM generate_series(0, 19) g
	WHERE get_shard_id_for_distribution_column('sales', g) IN (
	      SELECT s.shardid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid)
	      WHERE s.logicalrelid = 'sales'::regclass AND n.nodeport = %d)
	ORDER BY g LIMIT 1}, $workers[0]->port));
my $writer = $workers[0]->background_psql('app');
$writer->query_safe(qq{BEGIN; INSERT INTO sales (org_id, sold_at, channel, amount, qty)
	VALUES ($org_w1, '2026-01-09', 0, 7, 77)});
my $roller = $coord->background_psql('app');
$roller->query_until(qr/started/, "\\echo started\nSELECT 'applied ' || segroll.rollup('sales_day');\n");
ok($workers[0]->poll_query_until('app', q{
	SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'virtualxid' AND query LIKE '%_node_capture_upper%'}),
	'the roll-up waits on the worker for the uncommitted writer');
$writer->query_safe('COMMIT');
$writer->quit;
my $applied = $roller->query_until(qr/applied \d+/, '');
$roller->quit;
like($applied, qr/applied [1-9]/, 'the roll-up goes on once the writer committed');
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll_data.sales_day
	WHERE segroll.contains(seg, (SELECT txn_id FROM sales WHERE qty = 77))}), '1', 'the waited-for row is in one cell');
oracle('after waiting for a writer on a worker');

# trace and verify across shards
my ($t_org, $t_ch, $t_day) = split /\|/, $coord->safe_psql('app', q{SET TimeZone = 'UTC';
	SELECT org_id, channel, period FROM segroll_data.sales_day ORDER BY segroll.count(seg) DESC, 1, 2, 3 LIMIT 1});
# the key is unique with the distribution column only: the same txn_id in
# another organisation (another shard, another cell) is not the cell's row
$coord->safe_psql('app', qq{SET TimeZone = 'UTC';
	INSERT INTO sales (org_id, txn_id, sold_at, channel, amount, qty)
	SELECT ($t_org + 1) % 20, txn_id, sold_at, channel, 1, 1 FROM sales
	WHERE org_id = $t_org AND channel = $t_ch AND date_trunc('day', sold_at, 'UTC') = '$t_day' ORDER BY txn_id LIMIT 3;
	SELECT segroll.rollup('sales_day')});
is($coord->safe_psql('app', qq{SET TimeZone = 'UTC';
	SELECT string_agg(key::text, ',' ORDER BY key)
	FROM segroll.trace('sales_day', '{"org_id": $t_org, "channel": $t_ch}', '$t_day')}),
	$coord->safe_psql('app', qq{SET TimeZone = 'UTC';
	SELECT string_agg(txn_id::text, ',' ORDER BY txn_id) FROM sales
	WHERE org_id = $t_org AND channel = $t_ch AND date_trunc('day', sold_at, 'UTC') = '$t_day'}),
	'trace returns the rows of the largest cell, found across the shards');
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll.verify('sales_day', '2026-01-01', '2026-02-01')}),
	'0', 'verify finds every cell equal to its source rows');
my $merged = $coord->safe_psql('app', q{SELECT segroll.merge(seg) FROM segroll_data.sales_day WHERE org_id = 3});
($rc, $out, $err) = $coord->psql('app', qq{SELECT count(*) FROM segroll.trace('sales_day', '$merged'::segroll.segment)});
like($err, qr/cannot trace a segment of segmentation "sales_day" by its keys alone/,
	'a trace by keys alone is refused: a key may stand for rows of several organisations');
# a query on one shard is sent whole to its worker, where the catalog is not
($rc, $out, $err) = $coord->psql('app', q{
	SELECT count(*) FROM segroll.trace('sales_day', (SELECT segroll.merge(seg) FROM segroll_data.sales_day WHERE org_id = 3))});
like($err, qr/does not exist on this Citus worker.*HINT:  Call the segroll function in a query of its own/s,
	'a segroll call that Citus sends to a worker says so and what to do');

# corrections through any node: an UPDATE within a cell, an UPDATE that
# moves a row to another cell, a DELETE; TRUNCATE is refused
for my $n ($coord, @workers)
{
	my ($rc2, $o2, $e2) = $n->psql('app', q{TRUNCATE sales});
	like($e2, qr/cannot truncate "sales(_\d+)?": segmentations roll up its rows/, 'TRUNCATE refused through ' . $n->name);
}
($rc, $out, $err) = $workers[0]->psql('app', q{UPDATE sales SET txn_id = txn_id + 1000000 WHERE org_id = 1 AND qty = 3});
like($err, qr/cannot change the key of a row of a distributed source of segmentations/, 'a change of key is refused');
$workers[0]->safe_psql('app', q{UPDATE sales SET amount = amount + 1 WHERE org_id IN (1, 2) AND qty = 3});
$coord->safe_psql('app', q{UPDATE sales SET channel = (channel + 1) % 4 WHERE org_id = 5 AND qty = 4});
$workers[1]->safe_psql('app', q{DELETE FROM sales WHERE org_id IN (6, 7) AND qty = 6});
is($coord->safe_psql('app', q{SELECT count(*) > 0 FROM segroll_data.} .
	$coord->safe_psql('app', q{SELECT c.relname FROM segroll.source s JOIN pg_class c ON c.oid = s.change_log})),
	't', 'the corrections are logged in the distributed change log');
($rc, $out, $err) = $coord->psql('app', q{
	SET citus.log_remote_commands = on; SET client_min_messages = log;
	SELECT segroll.rollup('sales_day')});
is($rc, 0, 'the roll-up of the corrections succeeds');
like($err, qr/UPDATE segroll_data\.sales_day_\d+ c SET seg = segroll\.subtract/,
	'the retraction is pushed down to the shards');
like($err, qr/INSERT INTO segroll_data\.sales_day_\d+ AS c .*UNION ALL SELECT l\.segroll_shard_key/s,
	'the rows of the source and of the change log are read by one statement on each shard group');
unlike($err, qr/(INSERT INTO|UPDATE) segroll_data\.sales_day_\d+[^\n]*read_intermediate_result/,
	'no statement that writes cells reads a part planned apart (each reads the source and the log in one snapshot)');
oracle('after UPDATEs within and across cells and DELETEs through every node');
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll_data.} .
	$coord->safe_psql('app', q{SELECT c.relname FROM segroll.source s JOIN pg_class c ON c.oid = s.change_log})),
	'0', 'the applied log entries are removed');

# every row of a cell deleted: the cell goes
my ($e_org, $e_ch, $e_day) = split /\|/, $coord->safe_psql('app', q{SET TimeZone = 'UTC';
	SELECT org_id, channel, period FROM segroll_data.sales_day ORDER BY segroll.count(seg), 1, 2, 3 LIMIT 1});
$workers[1]->safe_psql('app', qq{SET TimeZone = 'UTC';
	DELETE FROM sales WHERE org_id = $e_org AND channel = $e_ch
	  AND sold_at >= '$e_day' AND sold_at < timestamptz '$e_day' + interval '1 day'});
$coord->safe_psql('app', q{SELECT segroll.rollup('sales_day')});
is($coord->safe_psql('app', qq{SET TimeZone = 'UTC';
	SELECT count(*) FROM segroll_data.sales_day WHERE org_id = $e_org AND channel = $e_ch AND period = '$e_day'}),
	'0', 'a cell whose every row was deleted is deleted');
oracle('after deleting every row of a cell');

# the last row at a cell's maximum deleted: the cell is recomputed
my ($m_org, $m_ch, $m_day, $m_key) = split /\|/, $coord->safe_psql('app', q{SET TimeZone = 'UTC';
	SELECT org_id, channel, date_trunc('day', sold_at, 'UTC'), txn_id FROM sales
	WHERE amount IS NOT NULL ORDER BY amount DESC, txn_id LIMIT 1});
$coord->safe_psql('app', qq{DELETE FROM sales WHERE org_id = $m_org AND txn_id = $m_key});
$coord->safe_psql('app', q{SELECT segroll.rollup('sales_day')});
is($coord->safe_psql('app', qq{SET TimeZone = 'UTC';
	SELECT segroll.max(seg, 1) = (SELECT max(amount) FROM sales WHERE org_id = $m_org AND channel = $m_ch
	                              AND date_trunc('day', sold_at, 'UTC') = '$m_day')
	FROM segroll_data.sales_day WHERE org_id = $m_org AND channel = $m_ch AND period = '$m_day'}),
	't', 'the maximum of a cell whose maximum row was deleted is recomputed');
oracle('after deleting the row at a maximum');

# concurrent writers through the coordinator and both workers (inserts,
# updates that move rows between cells, deletes), a third of the
# transactions aborted, roll-ups all along, a shard moved in between
my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/write.sql") or die;
print $fh q{
\set org random(0, 19)
\set ch random(0, 3)
\set r random(1, 3)
BEGIN;
INSERT INTO sales (org_id, sold_at, channel, amount, qty)
VALUES (:org, '2026-01-01'::timestamptz + random() * interval '30 days', :ch, round((random() * 1000)::numeric, 2), 100 + :r),
       ((:org + 1) % 20, '2026-01-01'::timestamptz + random() * interval '30 days', :ch, NULL, 100 + :r);
UPDATE sales SET amount = amount + 1, channel = :ch
WHERE org_id = :org AND txn_id = (SELECT max(txn_id) FROM sales WHERE org_id = :org AND qty >= 100);
\if :r = 2
DELETE FROM sales WHERE org_id = (:org + 1) % 20
  AND txn_id = (SELECT min(txn_id) FROM sales WHERE org_id = (:org + 1) % 20 AND qty >= 100);
\endif
\if :r = 1
ROLLBACK;
\else
COMMIT;
\endif
};
close $fh;
open($fh, '>', "$dir/rollup.sql") or die;
print $fh q{
SELECT segroll.rollup('sales_day');
\sleep 20 ms
};
close $fh;

my %runs;
sub pgbench_start
{
	my ($node, $script, $clients, $seconds) = @_;
	my $key = $node->name . " $script";
	$runs{$key} = { stdout => '', stderr => '' };
	# a transaction touches two organisations: Citus may cancel one in a
	# distributed deadlock, which pgbench retries
	my @cmd = ('pgbench', '-n', '-c', $clients, '-j', $clients, '-T', $seconds, '--max-tries', 10, '-f', "$dir/$script",
		'-h', $node->host, '-p', $node->port, 'app');
	return IPC::Run::start(\@cmd, '>', \$runs{$key}{stdout}, '2>', \$runs{$key}{stderr});
}

my $applied_before = $coord->safe_psql('app', q{SELECT total_applied FROM segroll.progress WHERE name = 'sales_day'});
my @load = (pgbench_start($coord, 'write.sql', 2, 12), pgbench_start($workers[0], 'write.sql', 1, 12),
	pgbench_start($workers[1], 'write.sql', 1, 12), pgbench_start($coord, 'rollup.sql', 1, 12));
sleep 3;
my $shard = $coord->safe_psql('app', sprintf(q{
	SELECT s.shardid FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid)
	WHERE s.logicalrelid = 'sales'::regclass AND n.nodeport = %d ORDER BY s.shardid LIMIT 1}, $workers[0]->port));
($rc, $out, $err) = $coord->psql('app', sprintf(q{
	SELECT citus_move_shard_placement(%s, '127.0.0.1', %d, '127.0.0.1', %d, shard_transfer_mode => 'force_logical')},
	$shard, $workers[0]->port, $workers[1]->port));
is($rc, 0, 'a shard of the source (and its co-located cells) moved to the other worker under load');
diag($err) if $rc;
$_->finish for @load;
for my $k (sort keys %runs)
{
	unlike($runs{$k}{stderr}, qr/aborted|ERROR/i, "no client failed: $k");
	diag($runs{$k}{stderr}) if $runs{$k}{stderr} =~ /aborted|ERROR/i;
}
ok($coord->safe_psql('app', q{SELECT total_applied FROM segroll.progress WHERE name = 'sales_day'}) > $applied_before,
	'roll-ups applied changes while the writers ran');
is($coord->safe_psql('app', q{SELECT count(*) FROM sales WHERE qty = 101}),
	'0', 'aborted transactions left no rows');
$coord->safe_psql('app', q{SELECT segroll.rollup('sales_day')});
oracle('after concurrent writers, aborts, roll-ups and a shard move');

# rows written into the moved shard after the move are numbered on its new node
my $moved_org = $coord->safe_psql('app', sprintf(q{
	SELECT g FROM generate_series(0, 1000) g WHERE get_shard_id_for_distribution_column('sales', g) = %s LIMIT 1}, $shard));
$coord->safe_psql('app', qq{
	INSERT INTO sales (org_id, sold_at, channel, amount, qty) VALUES ($moved_org, '2026-01-05', 0, 1, 55)});
is($coord->safe_psql('app', qq{SELECT segroll_seq >> 48 FROM sales WHERE org_id = $moved_org AND qty = 55}),
	$coord->safe_psql('app', sprintf(q{SELECT groupid FROM pg_dist_node WHERE nodeport = %d}, $workers[1]->port)),
	'a row inserted into the moved shard is numbered in its new node\'s range');
$coord->safe_psql('app', q{SELECT segroll.rollup('sales_day')});
oracle('after writing into the moved shard');

# a worker down: the roll-up applies nothing and says why; after its
# restart, the roll-up catches up
$coord->safe_psql('app', q{
	INSERT INTO sales (org_id, sold_at, channel, amount, qty)
	SELECT g % 20, '2026-01-07'::timestamptz + g * interval '1 minute', g % 4, g, 6 FROM generate_series(1, 100) g});
my $upto = $coord->safe_psql('app', q{SELECT applied_upto FROM segroll.progress WHERE name = 'sales_day'});
$workers[1]->stop('immediate');
($rc, $out, $err) = $coord->psql('app', q{SELECT segroll.rollup('sales_day')});
like($err, qr/did not give the capture numbers/, 'with a worker down the roll-up stops and says why');
is($coord->safe_psql('app', q{SELECT applied_upto FROM segroll.progress WHERE name = 'sales_day'}), $upto,
	'with a worker down nothing is applied');
$workers[1]->start;
my $ok = 0;
for (1 .. 50)
{
	($rc) = $coord->psql('app', q{SELECT segroll.rollup('sales_day')});
	if ($rc == 0) { $ok = 1; last; }
	usleep(200_000);
}
ok($ok, 'the roll-up succeeds once the worker is back');
oracle('after a worker restart');

# a closed period: its corrections go to its adjustments, the cells stay as
# closed; re-opening it folds them in (a rebuild pushed down); repair
# rebuilds a damaged cell
$coord->safe_psql('app', q{SELECT segroll.close_period('sales_day', '2026-01-03')});
my $closed_cells = q{SET TimeZone = 'UTC';
	SELECT org_id, channel, period, seg::text FROM segroll_data.sales_day WHERE period < '2026-01-03' ORDER BY 1, 2, 3};
my $closed_before = $coord->safe_psql('app', $closed_cells);
$workers[0]->safe_psql('app', q{
	INSERT INTO sales (org_id, sold_at, channel, amount, qty) VALUES (2, '2026-01-02 12:00', 1, 9, 9)});
$workers[1]->safe_psql('app', q{
	DELETE FROM sales WHERE org_id = 7 AND txn_id = (SELECT min(txn_id) FROM sales WHERE org_id = 7 AND sold_at < '2026-01-03')});
$coord->safe_psql('app', q{SELECT segroll.rollup('sales_day')});
is($coord->safe_psql('app', $closed_cells), $closed_before, 'a closed period\'s cells stay as they were closed');
is($coord->safe_psql('app', q{
	SELECT count(added) || ' ' || count(removed) FROM segroll_data.sales_day_adjustments}),
	'1 1', 'its insert and its delete are kept as adjustments');
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll.verify('sales_day', '2026-01-01', '2026-02-01')}),
	'0', 'verify counts the adjustments of the closed period');
$coord->safe_psql('app', q{SELECT segroll.reopen_period('sales_day', '-infinity')});
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll_data.sales_day_adjustments}), '0',
	're-opening folds the adjustments into the cells');
oracle('after re-opening the closed period');
$coord->safe_psql('app', q{SET TimeZone = 'UTC';
	UPDATE segroll_data.sales_day SET seg = segroll.without_lineage(seg) WHERE org_id = 3 AND period = '2026-01-04'});
is($coord->safe_psql('app', q{SELECT string_agg(action, ',') FROM segroll.repair('sales_day', '2026-01-04', '2026-01-05')
	WHERE dimensions->>'org_id' = '3'}) =~ /^replaced(,replaced)*$/ ? 1 : 0, 1, 'repair rebuilds the damaged cells');
is($coord->safe_psql('app', q{SELECT bool_and(segroll.has_lineage(seg)) FROM segroll_data.sales_day}), 't',
	'every cell has its lineage again');
oracle('after repair');

# continuous: segroll's background worker on the coordinator rolls up
# what is written through the workers
$coord->safe_psql('app', q{SELECT segroll.alter_segmentation('sales_day', schedule => 'continuous')});
$workers[0]->safe_psql('app', q{
	INSERT INTO sales (org_id, sold_at, channel, amount, qty)
	SELECT g % 20, '2026-01-08'::timestamptz + g * interval '1 minute', g % 4, g, 8 FROM generate_series(1, 300) g;
	UPDATE sales SET amount = amount + 1 WHERE qty = 8 AND org_id < 10});
$workers[1]->safe_psql('app', q{DELETE FROM sales WHERE qty = 8 AND org_id >= 15});
ok($coord->poll_query_until('app', q{SELECT pending_changes = 0 AND failures = 0 FROM segroll.status WHERE name = 'sales_day'}),
	'the background worker rolls up a distributed segmentation');
oracle('after the background worker');
$coord->safe_psql('app', q{SELECT segroll.alter_segmentation('sales_day', schedule => 'manual')});

# what a segmentation of a distributed source needs, refused with a reason
$coord->safe_psql('app', q{
	CREATE TABLE ref_src (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, channel int NOT NULL);
	SELECT create_reference_table('ref_src');
	CREATE TABLE by_channel (org_id int NOT NULL, txn_id bigint NOT NULL, sold_at timestamptz NOT NULL,
	                         channel int NOT NULL, PRIMARY KEY (channel, txn_id));
	SELECT create_distributed_table('by_channel', 'channel');
	SET citus.shard_replication_factor = 2;
	CREATE TABLE twice (org_id int NOT NULL, txn_id bigint NOT NULL, sold_at timestamptz NOT NULL,
	                    PRIMARY KEY (org_id, txn_id));
	SELECT create_distributed_table('twice', 'org_id');
});
for my $case (
	[q{SELECT segroll.create_segmentation('r', 'ref_src', 'txn_id', 'sold_at', 'day', dimensions => '{channel}')},
		qr/is a Citus reference or local table/, 'a reference table'],
	[q{SELECT segroll.create_segmentation('c', 'by_channel', 'txn_id', 'sold_at', 'day', dimensions => '{org_id}')},
		qr/distribution column "channel" of "public.by_channel" must be a dimension/, 'distribution column not a dimension'],
	[q{SELECT segroll.create_segmentation('t', 'twice', 'txn_id', 'sold_at', 'day', dimensions => '{org_id}')},
		qr/have more than one placement/, 'replicated shards'])
{
	($rc, $out, $err) = $coord->psql('app', $case->[0]);
	like($err, $case->[1], "refused: $case->[2]");
}
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll.segmentation}), '1', 'nothing was left of the refused ones');

# roles that are not superusers: an owner (segroll_admin) whose roll-ups
# Citus runs as that role on every node, and a writer with no privilege on
# segroll's objects, writing through the coordinator and a worker
$coord->safe_psql('app', q{
	CREATE ROLE owner1 LOGIN IN ROLE segroll_admin;
	CREATE ROLE writer1 LOGIN;
	-- the capture sequence goes beside the source: in a schema of the owner's
	CREATE SCHEMA shopping AUTHORIZATION owner1;
	GRANT USAGE ON SCHEMA shopping TO writer1;
	SET search_path = shopping;
	CREATE TABLE shop (org_id int NOT NULL, txn_id bigint NOT NULL, sold_at timestamptz NOT NULL,
	                   amount numeric(12,2), PRIMARY KEY (org_id, txn_id));
	SELECT create_distributed_table('shop', 'org_id');
	ALTER TABLE shop OWNER TO owner1;
	GRANT SELECT, INSERT, UPDATE, DELETE ON shop TO writer1;
	INSERT INTO shop SELECT g % 5, g, '2026-02-01'::timestamptz + g * interval '1 minute', g FROM generate_series(1, 300) g;
});
($rc, $out, $err) = $coord->psql('app', q{
	SELECT segroll.create_segmentation('shop_day', 'shopping.shop', 'txn_id', 'sold_at', 'day', dimensions => '{org_id}',
	                                   measures => '{amount}')}, extra_params => [ '-U', 'owner1' ]);
is($rc, 0, 'a segroll_admin creates a segmentation of the distributed table it owns');
diag($err) if $rc;
for my $n ($coord, $workers[0])
{
	($rc, $out, $err) = $n->psql('app', q{
		SET search_path = shopping;
		INSERT INTO shop SELECT g % 5, g, '2026-02-02'::timestamptz + g * interval '1 minute', g FROM generate_series(1001, 1100) g
		ON CONFLICT DO NOTHING;
		UPDATE shop SET amount = amount + 1 WHERE txn_id % 7 = 0;
		DELETE FROM shop WHERE txn_id % 11 = 0}, extra_params => [ '-U', 'writer1' ]);
	is($rc, 0, 'a writer with privileges on the table alone writes through ' . $n->name);
	diag($err) if $rc;
}
($rc, $out, $err) = $coord->psql('app', q{SELECT segroll.rollup('shop_day')}, extra_params => [ '-U', 'owner1' ]);
is($rc, 0, 'the owner rolls up (Citus connects to every node as the owner)');
diag($err) if $rc;
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll.verify('shop_day', '2026-02-01', '2026-02-05')},
	extra_params => [ '-U', 'owner1' ]), '0', 'and the cells equal their rows');
is($coord->safe_psql('app', q{SET TimeZone = 'UTC';
	SELECT (SELECT sum(segroll.count(seg)) FROM segroll_data.shop_day) = (SELECT count(*) FROM shopping.shop)}), 't',
	'every row of the writers is counted once');
# renaming a column the segmentation reads is refused, and changes nothing
($rc, $out, $err) = $coord->psql('app', q{ALTER TABLE shopping.shop RENAME COLUMN txn_id TO txn_no},
	extra_params => [ '-U', 'owner1' ]);
like($err, qr/renaming a column of a distributed source of segmentations is not supported/,
	'renaming a column of a distributed source is refused');
is($coord->safe_psql('app', q{SELECT count(*) FROM segroll.verify('shop_day', '2026-02-01', '2026-02-05')},
	extra_params => [ '-U', 'owner1' ]), '0', 'the segmentation is as it was');
$coord->safe_psql('app', q{SELECT segroll.drop_segmentation('shop_day')}, extra_params => [ '-U', 'owner1' ]);

# drop: the capture leaves the source and every node
$coord->safe_psql('app', q{SELECT segroll.drop_segmentation('sales_day')});
is($coord->safe_psql('app', q{
	SELECT string_agg(DISTINCT result, ',') FROM run_command_on_shards('sales',
	    $$SELECT count(*) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND tgname LIKE 'segroll%%'$$)}),
	'0', 'drop_segmentation removes the triggers from every shard');
is($coord->safe_psql('app', q{
	SELECT string_agg(result, ',') FROM run_command_on_all_nodes(
	    $$SELECT count(*) FROM pg_class WHERE relname LIKE 'segroll_seq%'$$)}),
	'0,0,0', 'and the capture sequence from every node');
is($coord->safe_psql('app', q{SELECT count(*) FROM information_schema.columns WHERE table_name = 'sales' AND column_name = 'segroll_seq'}),
	'0', 'and the capture column');

$_->stop for ($coord, @workers);
done_testing();
