# A segment damaged on disk is reported as corrupted data (XX001) by every
# function that reads it; nothing crashes (amcheck's t/001_verify_heapam.pl
# does the same for heap pages).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegrollDisk;

my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->start;

# three rows with small, uncompressed lineage; one will be damaged per round
$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE TABLE cells (k int, s segroll.segment);
	INSERT INTO cells
	SELECT g, segroll.segment_agg(g * 1000 + i, '2026-11-01', (i * 1.5)::numeric(12,2))
	FROM generate_series(1, 3) g, generate_series(1, 5) i GROUP BY g;
	VACUUM FREEZE cells;
});
my $relpath = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('cells')});
my $file = $node->data_dir . '/' . $relpath;

# payload of row 2 as stored (segment_send appends a 4-byte CRC)
my $payload_hex = $node->safe_psql('postgres',
	q{SELECT encode(substring(w FROM 1 FOR length(w) - 4), 'hex')
	  FROM (SELECT segroll.segment_send(s) AS w FROM cells WHERE k = 2) x});
my $payload = pack('H*', $payload_hex);

sub corrupt_and_check
{
	my ($name, $offset, $byte, $query, $pattern) = @_;

	my $restore = SegrollDisk::patch_stored_value($node, $file, $payload, $offset, $byte);
	ok(defined $restore, "$name: stored value found on disk");

	my ($ret, $stdout, $stderr) = $node->psql('postgres', $query);
	isnt($ret, 0, "$name: query fails");
	like($stderr, $pattern, "$name: reported as corruption");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM cells WHERE k <> 2'), '2',
		"$name: server alive, other rows readable");

	# restore the byte for the next round
	$restore->() if $restore;
}

my $corrupt = qr/ERROR:  segment value is corrupted/;
corrupt_and_check('unknown version', 0, 9,
	'SELECT segroll.count(s) FROM cells WHERE k = 2', qr/format version is unknown/);
corrupt_and_check('unknown flag', 1, 0x81,
	'SELECT segroll.sum(s, 1) FROM cells WHERE k = 2', $corrupt);
# the last byte is the final key gap; a zero gap is a duplicate key
corrupt_and_check('duplicate key', length($payload) - 1, 0,
	'SELECT segroll.keys(s) FROM cells WHERE k = 2', qr/not strictly increasing/);
corrupt_and_check('duplicate key in merge', length($payload) - 1, 0,
	'SELECT segroll.merge(s) FROM cells', $corrupt);
corrupt_and_check('duplicate key in output', length($payload) - 1, 0,
	'SELECT s::text FROM cells WHERE k = 2', $corrupt);
corrupt_and_check('count above lineage', 2, 0x7f,
	'SELECT segroll.contains(s, 2001) FROM cells WHERE k = 2', $corrupt);

# undamaged again: everything reads
is($node->safe_psql('postgres', 'SELECT sum(segroll.count(s)) FROM cells'), '15', 'repaired file reads');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
