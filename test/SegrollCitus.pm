# SegrollCitus: a Citus cluster for segroll's TAP tests (test/t/3*_citus_*.pl).
#
# Citus is not a Debian package and is never part of this repository: the
# Citus tests run when a Citus build is installed for the PostgreSQL under
# test, found through pg_config ($(pg_config --pkglibdir)/citus.so), and
# skip themselves otherwise (docs/citus.md says how to build one).
#
#   use SegrollCitus;
#   SegrollCitus::skip_unless_citus();          # plan skip_all without Citus
#   my ($coord, @workers) = SegrollCitus::start_cluster('merge', 2);
#
# start_cluster initialises a coordinator and N workers, each listening on
# 127.0.0.1 only, with shared_preload_libraries = 'citus,segroll' (Citus
# must come first), creates the extensions citus and segroll in the
# database "app" on the coordinator (segroll propagates to the workers),
# and registers the nodes (citus_set_coordinator_host, citus_add_node).
package SegrollCitus;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The directory where citus.so would be for the PostgreSQL under test.
sub pkglibdir
{
	my $pg_config = $ENV{PG_CONFIG} || 'pg_config';
	my $dir = `$pg_config --pkglibdir`;
	chomp $dir;
	return $dir;
}

# Whether Citus is installed for the PostgreSQL under test.
sub citus_installed
{
	my $dir = pkglibdir();
	return $dir ne '' && -e "$dir/citus.so";
}

# plan skip_all unless Citus is installed.
sub skip_unless_citus
{
	return if citus_installed();
	plan skip_all => 'Citus not installed (no citus.so in ' . pkglibdir() . ')';
}

# Settings of every node; extra lines may be given.
sub node_conf
{
	my (@extra) = @_;
	return join("\n",
		"listen_addresses = '127.0.0.1'",
		"shared_preload_libraries = 'citus,segroll'",
		"max_connections = 100",
		"max_prepared_transactions = 20",
		"wal_level = logical",		# shard moves use logical replication
		"max_replication_slots = 10",
		"max_wal_senders = 10",
		"segroll.naptime = 200ms",
		"log_min_messages = warning",
		"citus.shard_count = 8",
		@extra) . "\n";
}

# A coordinator and $nworkers workers, started, the database "app" created
# with citus and segroll on every node and the nodes registered.
sub start_cluster
{
	my ($name, $nworkers, @extra) = @_;
	my @nodes;
	for my $i (0 .. $nworkers)
	{
		my $node = PostgreSQL::Test::Cluster->new(
			$i == 0 ? "${name}_coord" : "${name}_worker$i");
		$node->init;
		$node->append_conf('postgresql.conf', node_conf(@extra));
		$node->start;
		# Citus connects to the other nodes over TCP as this same user
		$node->safe_psql('postgres', 'CREATE DATABASE app');
		$node->safe_psql('app', 'CREATE EXTENSION citus');
		push @nodes, $node;
	}
	my $coord = $nodes[0];
	$coord->safe_psql('app', sprintf(
		q{SELECT citus_set_coordinator_host('127.0.0.1', %d)}, $coord->port));
	for my $w (@nodes[1 .. $#nodes])
	{
		$coord->safe_psql('app', sprintf(
			q{SELECT citus_add_node('127.0.0.1', %d)}, $w->port));
	}
	$coord->safe_psql('app', 'CREATE EXTENSION segroll');
	return @nodes;
}

1;
