# Text and uuid keys under load (issue 14): front-end transaction numbers
# ('TX' and 16 digits) and uuids as keys, lineage holding their hashes.
# pgbench writers insert, correct (moving rows to another cell) and delete,
# late rows included, while a roll-up loop runs; afterwards the cells equal a
# from-scratch GROUP BY (keys hashed as segroll.key_hash does), verify is
# clean and a cell's trace returns exactly its source rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('text_keys_load');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 20
segroll.inline_lineage_limit = 16
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE SEQUENCE ids;
	CREATE TABLE tx (tx_no text PRIMARY KEY, sold_at timestamptz NOT NULL, channel int, amount numeric(12,2));
	CREATE TABLE pay (pay_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), paid_at timestamptz NOT NULL,
	                  channel int, amount numeric(12,2));
	INSERT INTO tx SELECT 'TX' || lpad(nextval('ids')::text, 16, '0'), now() - g * interval '1 minute', g % 4, g % 100
	FROM generate_series(1, 1000) g;
	INSERT INTO pay (paid_at, channel, amount) SELECT now() - g * interval '1 minute', g % 4, g % 100
	FROM generate_series(1, 1000) g;
	SELECT segroll.create_segmentation('tx', 'tx', 'tx_no', 'sold_at', 'hour', 'Asia/Seoul', '{channel}', '{amount}');
	SELECT segroll.create_segmentation('pay', 'pay', 'pay_id', 'paid_at', 'hour', 'Asia/Seoul', '{channel}', '{amount}');
});

sub oracle
{
	my ($name, $src, $key, $t) = @_;
	return qq{
	WITH fresh AS (SELECT channel, date_trunc('hour', $t, 'Asia/Seoul') AS period,
	                      segroll.segment_agg(segroll.key_hash($key), $t, amount) AS seg FROM $src GROUP BY 1, 2)
	SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'MISMATCH ' || count(*) END FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT channel, period, seg FROM segroll_data.${name}_segments)
		UNION ALL
		(SELECT channel, period, seg FROM segroll_data.${name}_segments EXCEPT ALL SELECT * FROM fresh)) d};
}

# writers: new transactions (some late), corrections of recent ones that
# move them to another channel and hour, deletes
my $dir = PostgreSQL::Test::Utils::tempdir;
open(my $fh, '>', "$dir/write.sql") or die;
print $fh q{
\set ch random(0, 3)
\set amt random(1, 100000)
\set r random(1, 20)
\set back random(0, 30)
INSERT INTO tx VALUES ('TX' || lpad(nextval('ids')::text, 16, '0'), now() - random() * interval '5 hours', :ch, :amt / 100.0);
INSERT INTO pay (paid_at, channel, amount) VALUES (now() - random() * interval '5 hours', :ch, :amt / 100.0);
\if :r <= 3
UPDATE tx SET channel = (channel + 1) % 4, sold_at = sold_at - interval '1 hour', amount = amount + 1
WHERE tx_no = 'TX' || lpad((currval('ids') - :back)::text, 16, '0');
UPDATE pay SET channel = (channel + 1) % 4, paid_at = paid_at - interval '1 hour'
WHERE pay_id = (SELECT pay_id FROM pay ORDER BY paid_at DESC LIMIT 1 OFFSET :back);
\elif :r = 4
DELETE FROM tx WHERE tx_no = 'TX' || lpad((currval('ids') - :back)::text, 16, '0');
DELETE FROM pay WHERE pay_id = (SELECT pay_id FROM pay ORDER BY paid_at DESC LIMIT 1 OFFSET :back);
\endif
};
close $fh;
open($fh, '>', "$dir/rollup.sql") or die;
print $fh q{
SELECT segroll.rollup('tx');
SELECT segroll.rollup('pay');
\sleep 20 ms
};
close $fh;

my (%w, %r);
my @conn = ('-h', $node->host, '-p', $node->port, 'postgres');
my $writers = IPC::Run::start([ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '5', '-f', "$dir/write.sql", @conn ],
	'>', \$w{stdout}, '2>', \$w{stderr});
my $rollups = IPC::Run::start([ 'pgbench', '-n', '-c', '1', '-T', '5', '-f', "$dir/rollup.sql", @conn ],
	'>', \$r{stdout}, '2>', \$r{stderr});
$writers->finish;
$rollups->finish;
is($writers->result(0), 0, 'writers finished without errors') or diag($w{stderr});
is($rollups->result(0), 0, 'every concurrent roll-up succeeded') or diag($r{stderr});

for my $s ([ 'tx', 'tx', 'tx_no', 'sold_at' ], [ 'pay', 'pay', 'pay_id', 'paid_at' ])
{
	my ($name, $src, $key, $t) = @$s;
	my ($rc, $out, $err) = $node->psql('postgres', qq{SELECT segroll.rollup('$name')});
	is($rc, 0, "$name: final roll-up succeeds") or diag($err);
	is($node->safe_psql('postgres', oracle($name, $src, $key, $t)), 'ok',
		"$name: cells = GROUP BY of the source, keys hashed");
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM segroll.verify('$name', now() - interval '2 days', now() + interval '1 day', 'full')}),
		'0', "$name: verify is clean");
	# the trace of the busiest cell returns exactly its source rows
	is($node->safe_psql('postgres', qq{
		WITH c AS (SELECT channel, period FROM segroll_data.${name}_v ORDER BY count DESC, period LIMIT 1),
		     traced AS (SELECT t.source_row->>'$key' AS k FROM c,
		                LATERAL segroll.trace('$name', jsonb_build_object('channel', c.channel), c.period) t),
		     truth AS (SELECT s.${key}::text AS k FROM $src s, c
		               WHERE s.channel = c.channel AND date_trunc('hour', s.$t, 'Asia/Seoul') = c.period)
		SELECT (SELECT count(*) FROM traced) > 0
		   AND NOT EXISTS (SELECT k FROM traced EXCEPT SELECT k FROM truth)
		   AND NOT EXISTS (SELECT k FROM truth EXCEPT SELECT k FROM traced)}),
		't', "$name: a cell's trace is exactly its source rows");
}

$node->stop;
done_testing();
