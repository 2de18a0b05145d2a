# Metrics for a dashboard (issue 16, part 3): the real Prometheus PostgreSQL
# exporter, run as a monitoring role that is no superuser, with
# contrib/prometheus/segroll-queries.yaml, scrapes a server with two
# segmentations: one with changes pending, unmapped rows and lineage in
# blocks, one failing under the background worker.  Every segroll metric
# appears with the value the database holds, and moves after a roll-up.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use HTTP::Tiny;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use Time::HiRes qw(usleep);

my $exporter = $ENV{SEGROLL_PG_EXPORTER} // '/usr/bin/prometheus-postgres-exporter';
plan skip_all => "$exporter is not installed (Debian package prometheus-postgres-exporter)"
	unless -x $exporter;
my $queries = abs_path(dirname(__FILE__) . '/../../contrib/prometheus/segroll-queries.yaml');
die "no $queries" unless -f $queries;

my $node = PostgreSQL::Test::Cluster->new('prometheus');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'segroll'
segroll.naptime = 100ms
segroll.probe_interval = 1s
segroll.inline_lineage_limit = 20
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION segroll;
	CREATE SCHEMA ref;
	CREATE TABLE ref.item (item_id int PRIMARY KEY, brand_id int);
	INSERT INTO ref.item SELECT g, g % 3 FROM generate_series(1, 8) g;	-- items 0 and 9: no brand
	CREATE TABLE sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, item_id int,
	                    amount numeric(12,2));
	INSERT INTO sales SELECT g, '2026-11-01 00:00+00'::timestamptz + g * interval '37 minutes', g % 4, g % 10, g
	FROM generate_series(1, 600) g;
	SELECT segroll.create_segmentation('orders', 'sales', 'id', 'sold_at', 'month', 'UTC',
	                                   '{org_id, brand_id=ref.item.brand_id ON item_id}', '{amount}');
	CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, k int);
	INSERT INTO events SELECT g, '2026-11-01 00:00+00'::timestamptz + g * interval '1 hour', g % 3
	FROM generate_series(1, 100) g;
	SELECT segroll.create_segmentation('fragile', 'events', 'id', 'at', 'day', 'UTC', '{k}', '{}',
	                                   schedule => 'continuous');
	CREATE ROLE monitor LOGIN IN ROLE pg_monitor, segroll_reader;
	CREATE ROLE nobody LOGIN;
});
# lag in changes needs no privilege on the source's capture sequence
# (segroll._pending_changes): monitor is granted none
my $seq = $node->safe_psql('app', q{SELECT seq FROM segroll.source WHERE relid = 'sales'::regclass});
is($node->safe_psql('app', "SELECT has_sequence_privilege('monitor', '$seq', 'SELECT')"), 'f',
	'monitor may not read the capture sequence');

# orders: changes pending (30 inserts, 6 of them unmapped, and an update
# that unmaps a row), cells in lineage blocks
$node->safe_psql('app', q{
	INSERT INTO sales SELECT g, '2026-11-01 00:00+00'::timestamptz + g * interval '37 minutes', g % 4, g % 10, g
	FROM generate_series(601, 630) g;
	UPDATE sales SET item_id = 9 WHERE id = 5;
});
is($node->safe_psql('app', q{SELECT pending_changes FROM segroll.status WHERE name = 'orders'}), '31',
	'orders has 31 changes pending');
is($node->safe_psql('app', q{SELECT pending_changes || ' ' || (source_upto IS NULL) FROM segroll.status WHERE name = 'orders'},
		extra_params => [ '-U', 'monitor' ]),
	'31 true', 'monitor reads the pending changes in status, not the sequence (source_upto)');
cmp_ok($node->safe_psql('app', q{SELECT count(*) FROM segroll_data.orders_lineage}), '>', 0,
	'orders keeps lineage in blocks');

# fragile: its worker fails once a cells column is renamed under it
ok($node->poll_query_until('app', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'fragile'}),
	'the worker rolls fragile up');
$node->safe_psql('app', q{ALTER TABLE segroll_data.fragile RENAME COLUMN k TO k_renamed});
$node->safe_psql('app', q{INSERT INTO events VALUES (1001, '2026-11-02 10:00+00', 1)});
ok($node->poll_query_until('app', q{SELECT state = 'failing' FROM segroll.status WHERE name = 'fragile'}),
	'fragile is failing');

# the view as a role that may not read the cells: status figures, no counts
is($node->safe_psql('app', q{SELECT count(*) || ' ' || count(cells) || ' ' || count(lineage_bytes) FROM segroll.metrics},
		extra_params => [ '-U', 'nobody' ]),
	'2 0 2', 'a role without segroll_reader reads segroll.metrics: sizes, no cell counts');

# ---------------------------------------------------------------- exporter
my $port = PostgreSQL::Test::Cluster::get_free_port();
my ($out, $err) = ('', '');
my $dsn = sprintf('host=%s port=%d user=monitor dbname=app sslmode=disable', $node->host, $node->port);
my $exp = IPC::Run::start(
	[ $exporter, "--web.listen-address=127.0.0.1:$port", "--extend.query-path=$queries",
	  '--disable-default-metrics', '--disable-settings-metrics' ],
	'>', \$out, '2>', \$err,
	init => sub { $ENV{DATA_SOURCE_NAME} = $dsn; });
my $http = HTTP::Tiny->new(timeout => 10);

# the exposition text of one scrape that has the segroll metrics
sub scrape
{
	for (1 .. 100)
	{
		my $r = $http->get("http://127.0.0.1:$port/metrics");
		return $r->{content} if $r->{success} && $r->{content} =~ /^segroll_cells\{/m;
		usleep(100_000);
	}
	diag("exporter stdout: $out\nexporter stderr: $err");
	return '';
}

# the value of metric $name for segmentation $seg, and its labels
sub metric
{
	my ($text, $name, $seg) = @_;
	my @found;
	while ($text =~ /^\Q$name\E\{([^}]*)\} (\S+)$/mg)
	{
		my ($labels, $value) = ($1, $2);
		push @found, [ $value + 0, $labels ] if $labels =~ /(?:^|,)segmentation="\Q$seg\E"/;
	}
	return (undef, '') unless @found == 1;
	return @{ $found[0] };
}

my %db;
sub read_db
{
	my ($seg) = @_;
	my @v = split /\|/, $node->safe_psql('app', qq{
		SELECT pending_changes, total_applied, lag_seconds, failures,
		       (SELECT count(*) FROM segroll_data.$seg),
		       pg_total_relation_size('segroll_data.$seg'),
		       coalesce(pg_total_relation_size(to_regclass('segroll_data.${seg}_lineage')), 0),
		       coalesce(last_error, ''), extract(epoch FROM last_run_at), last_applied
		FROM segroll.status WHERE name = '$seg'});
	my %r;
	@r{qw(pending applied lag failures cells bytes lineage error last_run last_applied)} = @v;
	return \%r;
}

my $before = read_db('orders');
my $text = scrape();
my $after = read_db('orders');
ok($text ne '', 'the exporter serves the segroll metrics');
unlike($text, qr/^pg_exporter_user_queries_load_error\{[^}]*\} 1$/m, 'the queries file loads');

is((metric($text, 'segroll_pending_changes', 'orders'))[0], 31, 'lag in changes is pending_changes');
is((metric($text, 'segroll_rows_applied_total', 'orders'))[0], $after->{applied},
	'rows applied is total_applied');
like($text, qr/^# TYPE segroll_rows_applied_total counter$/m, 'rows applied is a counter');
my ($lag) = metric($text, 'segroll_lag_seconds', 'orders');
ok(defined $lag && $lag > 0 && $lag >= $before->{lag} && $lag <= $after->{lag},
	"lag in seconds lies between two reads of status ($before->{lag} <= $lag <= $after->{lag})");
is((metric($text, 'segroll_cells', 'orders'))[0], $after->{cells}, 'cells is the rows of the cells table');
is((metric($text, 'segroll_cells_bytes', 'orders'))[0], $after->{bytes}, 'cells_bytes is the cells table size');
my ($lineage_bytes) = metric($text, 'segroll_lineage_bytes', 'orders');
ok($lineage_bytes > 0 && $lineage_bytes == $after->{lineage}, 'lineage_bytes is the size of the lineage blocks');
# rolled up: the first 600 rows, those with items 0 and 9 (not row 5's update)
my $unmapped_rolled = $node->safe_psql('app', q{SELECT count(*) FROM generate_series(1, 600) g WHERE g % 10 IN (0, 9)});
is((metric($text, 'segroll_unmapped_rows', 'orders'))[0], $unmapped_rolled,
	'unmapped rows: those rolled up into the unmapped member, pending ones not yet');
ok(abs((metric($text, 'segroll_last_run_timestamp_seconds', 'orders'))[0] - $after->{last_run}) < 0.001,
	'last run time');
is((metric($text, 'segroll_last_run_applied', 'orders'))[0], $after->{last_applied}, 'last run applied');
my ($ok_failing, $ok_labels) = metric($text, 'segroll_error_failing', 'orders');
is($ok_failing, 0, 'orders is not failing');
like($ok_labels, qr/(?:^|,)error=""/, 'with an empty error label');

my $fragile = read_db('fragile');
my ($failing, $labels) = metric($text, 'segroll_error_failing', 'fragile');
is($failing, 1, 'the failing segmentation has segroll_error_failing 1');
like($fragile->{error}, qr/column c\.k does not exist/, 'status has the error');
like($labels, qr/(?:^|,)error="\Q$fragile->{error}\E"/, 'the error is in the label');
cmp_ok((metric($text, 'segroll_failures', 'fragile'))[0], '>=', 1, 'failures counts the failed attempts');
is((metric($text, 'segroll_cells', 'fragile'))[0], $fragile->{cells},
	'a segmentation broken by hand still reports its cells (its metrics do not fail the others)');
cmp_ok((metric($text, 'segroll_error_last_timestamp_seconds', 'fragile'))[0], '>', 0, 'when it failed');
cmp_ok($fragile->{pending}, '>', 0, 'fragile has changes pending');
is((metric($text, 'segroll_pending_changes', 'fragile'))[0], $fragile->{pending},
	'lag in changes of a source whose capture sequence monitor may not read');
like($text, qr/^segroll_anomalies_open\{[^}]*segmentation="fragile"[^}]*\} 0$/m,
	'open anomalies: none for the day-grain segmentation without history');
is((metric($text, 'segroll_anomalies_open', 'orders'))[0], 0,
	'open anomalies of a month-grain segmentation: none (no month before November has cells)');

# after a roll-up of orders the figures move
$node->safe_psql('app', q{SELECT segroll.rollup('orders')});
$after = read_db('orders');
# the exporter may serve a cached scrape for a moment: wait for the new one
my $moved;
for (1 .. 50)
{
	$text = scrape();
	$moved = (metric($text, 'segroll_pending_changes', 'orders'))[0];
	last if defined $moved && $moved == 0;
	usleep(100_000);
}
is($moved, 0, 'after a roll-up: no change pending');
is((metric($text, 'segroll_lag_seconds', 'orders'))[0], 0, 'lag 0 s');
is((metric($text, 'segroll_rows_applied_total', 'orders'))[0], $after->{applied},
	'rows applied grew to total_applied');
cmp_ok($after->{applied}, '>=', 600 + 31, 'by at least the pending changes');
is((metric($text, 'segroll_cells', 'orders'))[0], $after->{cells}, 'cells after the roll-up');
is((metric($text, 'segroll_unmapped_rows', 'orders'))[0],
	$node->safe_psql('app', q{SELECT count(*) FROM segroll_data.orders_unmapped}),
	'unmapped rows equal the _unmapped view once nothing is pending');
is((metric($text, 'segroll_last_run_applied', 'orders'))[0], $after->{last_applied}, 'last run applied, new');

$exp->kill_kill;
$node->stop;
done_testing();
