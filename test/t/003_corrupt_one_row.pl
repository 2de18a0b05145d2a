# A segment in the one-row form (issue 13) damaged on disk is reported as
# corrupted data (XX001), as 002_corrupt_value.pl checks for the full form;
# a damaged value byte, which the form cannot see (its checksum is
# recomputed), is still found by verify(), which compares the cell's
# checksum with the source rows'.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SegrollDisk;

my $node = PostgreSQL::Test::Cluster->new('corrupt_one_row');
$node->init;
$node->start;

# a fine segmentation: one row per cell; key 2's value is damaged per round
$node->safe_psql('postgres', q{
	SET client_min_messages = warning;
	CREATE EXTENSION segroll;
	CREATE TABLE src (id bigint PRIMARY KEY, ts timestamptz NOT NULL, item int, amount numeric(12,2));
	INSERT INTO src SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', g, g * 1.25
	FROM generate_series(1, 3) g;
	SELECT segroll.create_segmentation('fine', 'public.src', 'id', 'ts', 'hour', 'UTC', '{item}', '{amount}');
	VACUUM FREEZE segroll_data.fine;
});
my $relpath = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('segroll_data.fine')});
my $file = $node->data_dir . '/' . $relpath;

# the stored payload of item 2's cell (segment_send appends a 4-byte CRC)
my $payload_hex = $node->safe_psql('postgres',
	q{SELECT encode(substring(w FROM 1 FOR length(w) - 4), 'hex')
	  FROM (SELECT segroll.segment_send(seg) AS w FROM segroll_data.fine WHERE item = 2) x});
my $payload = pack('H*', $payload_hex);
ok(ord(substr($payload, 1, 1)) & 0x10, 'the cell is stored in the one-row form');
# ... ending in the value 2.50 (zz varint f4 03), the empty distinct section
# and the key 2 (zz 04): no checksum
like($payload_hex, qr/f4030004$/, 'value, distinct section and key end the value');

sub damage_and_check
{
	my ($name, $offset, $byte, $query, $pattern) = @_;

	my $restore = SegrollDisk::patch_stored_value($node, $file, $payload, $offset, $byte);
	ok(defined $restore, "$name: stored value found on disk");

	my ($ret, $stdout, $stderr) = $node->psql('postgres', $query);
	if (defined $pattern)
	{
		isnt($ret, 0, "$name: query fails");
		like($stderr, $pattern, "$name: reported as corruption");
	}
	else
	{
		is($ret, 0, "$name: query runs");
		is($stdout, '1', "$name: verify reports the cell");
	}
	is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll_data.fine WHERE item <> 2}), '2',
		"$name: server alive, other cells readable");

	$restore->() if $restore;
}

my $corrupt = qr/ERROR:  segment value is corrupted/;
my $cell = 'SELECT %s FROM segroll_data.fine WHERE item = 2';
# flags: the one-row form with the zstd or the bounds flag cannot exist
damage_and_check('one-row with zstd flag', 1, 0x13, sprintf($cell, 'segroll.count(seg)'),
	qr/flags field has unknown or inconsistent bits/);
damage_and_check('one-row with bounds flag', 1, 0x15, sprintf($cell, 'segroll.sum(seg, 1)'), $corrupt);
# the key is the last byte: a continuation bit leaves it unfinished
damage_and_check('key cut short', length($payload) - 1, 0x84, sprintf($cell, 'segroll.keys(seg)'),
	qr/ends inside a field/);
damage_and_check('key cut short, in merge', length($payload) - 1, 0x84,
	'SELECT segroll.merge(seg) FROM segroll_data.fine', $corrupt);
damage_and_check('key cut short, in output', length($payload) - 1, 0x84, sprintf($cell, 'seg::text'), $corrupt);
# the value: decodes (its checksum is recomputed), verify finds it
my $value_at = length($payload) - 4;	# f4 -> f6: 2.50 becomes 2.51
damage_and_check('value changed', $value_at, 0xf6,
	q{SELECT count(*) FROM segroll.verify('fine', '2026-11-01', '2026-12-01')}, undef);

is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.verify('fine', '2026-11-01', '2026-12-01')}),
	'0', 'repaired file verifies clean');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
