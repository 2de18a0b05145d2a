# SegrollDisk: damaging a stored segment on disk, for the corruption tests
# (test/t/002_corrupt_value.pl, 003_corrupt_one_row.pl).
#
#   use SegrollDisk;
#   my $restore = SegrollDisk::patch_stored_value($node, $file, $payload, $offset, $byte);
#   ... queries that must report the damage ...
#   $restore->();
#
# patch_stored_value stops the server, finds $payload (the bytes of a
# stored value, e.g. segment_send's output without its CRC) in the relation
# file $file, replaces the byte at $offset into it with $byte, and starts
# the server again.  It returns a function that puts the old byte back the
# same way, or undef when the payload is not in the file.
package SegrollDisk;

use strict;
use warnings;

sub write_byte
{
	my ($file, $at, $byte) = @_;

	open(my $fh, '+<', $file) or die "open $file: $!";
	binmode $fh;
	seek($fh, $at, 0);
	print $fh $byte;
	close $fh;
	return;
}

sub patch_stored_value
{
	my ($node, $file, $payload, $offset, $byte) = @_;

	$node->stop;
	open(my $fh, '<', $file) or die "open $file: $!";
	binmode $fh;
	my $data = do { local $/; <$fh> };
	close $fh;
	my $at = index($data, $payload);
	if ($at < 0)
	{
		$node->start;
		return undef;
	}
	my $saved = substr($data, $at + $offset, 1);
	write_byte($file, $at + $offset, chr($byte));
	$node->start;
	return sub {
		$node->stop;
		write_byte($file, $at + $offset, $saved);
		$node->start;
	};
}

1;
