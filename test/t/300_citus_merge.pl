# segroll on Citus (issue 15): a coordinator and two workers on 127.0.0.1.
# Cells built with segment_agg() from a distributed source and merged with
# merge() are exact: they equal a from-scratch GROUP BY and the same merge
# on one node, whichever way Citus plans them.  Runs only when Citus is
# installed for the PostgreSQL under test (test/SegrollCitus.pm).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegrollCitus;

SegrollCitus::skip_unless_citus();

my ($coord, @workers) = SegrollCitus::start_cluster('merge', 2);

is($coord->safe_psql('app', q{SELECT count(*) FROM pg_dist_node WHERE isactive AND noderole = 'primary'}),
	'3', 'the coordinator and two workers are registered');
for my $w (@workers)
{
	is($w->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'segroll'}),
		$coord->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'segroll'}),
		'CREATE EXTENSION segroll reached worker ' . $w->name);
}

# a source distributed by org_id; cells co-located with it
$coord->safe_psql('app', q{
	SET TimeZone = 'UTC';
	CREATE TABLE sales (org_id int NOT NULL, txn_id bigint NOT NULL, sold_at timestamptz NOT NULL,
	                    channel int NOT NULL, amount numeric(12,2), qty int,
	                    PRIMARY KEY (org_id, txn_id));
	SELECT create_distributed_table('sales', 'org_id');
	INSERT INTO sales
	SELECT g % 10, g, '2026-01-01'::timestamptz + (g % 181) * interval '1 day' + (g % 97) * interval '1 minute',
	       (g / 7) % 4, CASE WHEN g % 13 = 0 THEN NULL ELSE round(((g * 7919) % 100003) / 100.0, 2) END, g % 7
	FROM generate_series(1, 30000) g;
	CREATE TABLE cells (org_id int NOT NULL, month timestamptz NOT NULL, channel int NOT NULL,
	                    seg segroll.segment NOT NULL);
	SELECT create_distributed_table('cells', 'org_id', colocate_with => 'sales');
	INSERT INTO cells
	SELECT org_id, date_trunc('month', sold_at, 'UTC'), channel, segroll.segment_agg(txn_id, sold_at, amount, qty)
	FROM sales GROUP BY 1, 2, 3;
	CREATE TABLE cells_local AS SELECT * FROM cells;
});
is($coord->safe_psql('app', q{SELECT count(*) FROM cells}), '240', '240 cells (10 orgs x 6 months x 4 channels)');

# Every query compared as text of (group, segment) rows, ordered.
sub rows
{
	my ($sql) = @_;
	return $coord->safe_psql('app', "SET TimeZone = 'UTC'; $sql");
}

# the oracle: a from-scratch GROUP BY of the source, on Citus
my $fresh_mc = rows(q{
	SELECT date_trunc('month', sold_at, 'UTC') AS month, channel,
	       segroll.segment_agg(txn_id, sold_at, amount, qty)::text
	FROM sales GROUP BY 1, 2 ORDER BY 1, 2});
# the same merge on one node (a local table of the coordinator)
my $single_mc = rows(q{SELECT month, channel, segroll.merge(seg)::text FROM cells_local GROUP BY 1, 2 ORDER BY 1, 2});
is($single_mc, $fresh_mc, 'one node: month x channel merged from cells equals the GROUP BY of the source');

my $citus_mc = rows(q{SELECT month, channel, segroll.merge(seg)::text FROM cells GROUP BY 1, 2 ORDER BY 1, 2});
is($citus_mc, $single_mc, 'Citus: month x channel merged from distributed cells equals the single-node merge');

my $single_org = rows(q{SELECT org_id, segroll.merge(seg)::text FROM cells_local GROUP BY 1 ORDER BY 1});
is(rows(q{SELECT org_id, segroll.merge(seg)::text FROM cells GROUP BY 1 ORDER BY 1}), $single_org,
	'Citus: merge() grouped by the distribution column equals the single-node merge');

my $single_all = rows(q{SELECT segroll.merge(seg)::text FROM cells_local});
is(rows(q{SELECT segroll.merge(seg)::text FROM cells}), $single_all,
	'Citus: the merge of all cells equals the single-node merge');
is(rows(q{SELECT segroll.merge(seg)::text FROM cells WHERE org_id = 3}),
	rows(q{SELECT segroll.merge(seg)::text FROM cells_local WHERE org_id = 3}),
	'Citus: a merge routed to one shard equals the single-node merge');

# merge()'s state is a segment: Citus runs it on the workers (a partial
# aggregate per shard, worker_partial_agg) and combines the partial states
# on the coordinator (coord_combine_agg), whatever the GROUP BY
for my $q (['month x channel', q{SELECT month, channel, segroll.merge(seg) FROM cells GROUP BY 1, 2}],
	['all cells', q{SELECT segroll.merge(seg) FROM cells}],
	['all cells, an accessor of the merge', q{SELECT segroll.sum(segroll.merge(seg), 1) FROM cells}])
{
	my $plan = $coord->safe_psql('app', "EXPLAIN (VERBOSE, COSTS OFF) $q->[1]");
	like($plan, qr/worker_partial_agg\(.*segroll\.merge/s, "EXPLAIN: the merge of $q->[0] runs on the workers");
	like($plan, qr/coord_combine_agg\(/, "EXPLAIN: the coordinator combines the partial merges of $q->[0]");
}
# with coordinator aggregation disabled, the merge still plans (it used to
# fail: unsupported aggregate function merge)
is(rows(q{SET citus.coordinator_aggregation_strategy = 'disabled';
	SELECT month, channel, segroll.merge(seg)::text FROM cells GROUP BY 1, 2 ORDER BY 1, 2}), $single_mc,
	'Citus: month x channel merged with coordinator aggregation disabled equals the single-node merge');

# a shard moved to the other worker, and a worker restarted: the merges
# on the workers are still exact
$coord->safe_psql('app', q{
	SELECT citus_move_shard_placement(s.shardid, n1.nodename, n1.nodeport, n2.nodename, n2.nodeport,
	                                  shard_transfer_mode => 'block_writes')
	FROM (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'cells'::regclass ORDER BY shardid LIMIT 1) s,
	     LATERAL (SELECT nodename, nodeport FROM pg_dist_shard_placement p WHERE p.shardid = s.shardid) n1,
	     LATERAL (SELECT nodename, nodeport FROM pg_dist_node d
	              WHERE d.noderole = 'primary' AND d.groupid <> 0 AND d.nodeport <> n1.nodeport LIMIT 1) n2});
is(rows(q{SELECT month, channel, segroll.merge(seg)::text FROM cells GROUP BY 1, 2 ORDER BY 1, 2}), $single_mc,
	'Citus: after a shard move, month x channel merged on the workers equals the single-node merge');
$workers[1]->restart;
is(rows(q{SELECT segroll.merge(seg)::text FROM cells}), $single_all,
	'Citus: after a worker restart, the merge of all cells equals the single-node merge');

# a key counted twice is refused across nodes as on one node
$coord->safe_psql('app', q{
	INSERT INTO cells SELECT (org_id + 1) % 10, month, 99, seg FROM cells WHERE org_id = 2 AND channel = 1});
my ($rc, $out, $err) = $coord->psql('app', q{SELECT segroll.merge(seg) FROM cells});
like($err, qr/would be counted twice in one segment/, 'Citus: a key present in cells on two nodes is refused by merge()');
$coord->safe_psql('app', q{DELETE FROM cells WHERE channel = 99});
is(rows(q{SELECT segroll.merge(seg)::text FROM cells}), $single_all, 'and the cells merge again once the copy is gone');

$_->stop for ($coord, @workers);
done_testing();
