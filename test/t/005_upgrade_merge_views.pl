# The update to 0.5.0 changes merge()'s state type (issue 15), which means
# DROP AGGREGATE and CREATE AGGREGATE.  A user's views that call merge()
# (segroll's own views of 0.4.0 call none) must cross the update as they
# were: same rows, owner, options, privileges and comment, and not members
# of the extension.  A materialized view that calls it stops the update,
# naming it, and leaves everything as it was.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('merge_views');
$node->init;
$node->append_conf('postgresql.conf', "log_min_messages = warning\n");
$node->start;

my $setup = q{
	CREATE EXTENSION segroll VERSION '0.4.0';
	CREATE TABLE cells_t (org int, month date, seg segroll.segment);
	INSERT INTO cells_t
	SELECT g % 5, date '2026-01-01' + (g % 3) * 31, segroll.segment_agg(g, '2026-01-01'::timestamptz + g * interval '1 hour', g::numeric)
	FROM generate_series(1, 600) g GROUP BY g % 5, g % 3, g / 50;
};

$node->safe_psql('postgres', q{
	CREATE ROLE bi_owner;
	CREATE ROLE bi_reader;
	CREATE DATABASE app;
	CREATE DATABASE app_mat;
});
$node->safe_psql('app', $setup . q{
	GRANT SELECT ON cells_t TO bi_owner;
	CREATE VIEW public.by_org AS
		SELECT org, segroll.merge(seg) AS seg, segroll.count(segroll.merge(seg)) AS n FROM cells_t GROUP BY org;
	ALTER VIEW public.by_org OWNER TO bi_owner;
	GRANT SELECT ON public.by_org TO bi_reader;
	COMMENT ON VIEW public.by_org IS 'segments per organisation';
	CREATE VIEW public.total WITH (security_barrier = true) AS
		SELECT segroll.merge(seg) AS seg FROM public.by_org;
	CREATE VIEW public.plain AS SELECT org FROM cells_t;
});

my $describe = q{
	SELECT c.relname, pg_get_userbyid(c.relowner), c.relacl::text, c.reloptions::text,
	       obj_description(c.oid, 'pg_class'),
	       EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
	FROM pg_class c WHERE c.relname IN ('by_org', 'total', 'plain') ORDER BY 1};
my $rows = q{
	SELECT 'by_org', org, seg::text, n FROM public.by_org
	UNION ALL SELECT 'total', NULL, seg::text, NULL FROM public.total ORDER BY 1, 2};
my $before_desc = $node->safe_psql('app', $describe);
my $before_rows = $node->safe_psql('app', $rows);

my ($rc, $out, $err) = $node->psql('app', 'ALTER EXTENSION segroll UPDATE');
is($rc, 0, 'ALTER EXTENSION segroll UPDATE succeeds with views that call merge()') or diag($err);
like($err, qr/views that call segroll\.merge\(\) are created again by the update: public\.by_org, public\.total/,
	'the update says which views it re-creates, in dependency order');
is($node->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'segroll'}), '0.5.0', 'now at 0.5.0');
is($node->safe_psql('app', q{SELECT aggtranstype::regtype FROM pg_aggregate WHERE aggfnoid = 'segroll.merge(segroll.segment)'::regprocedure}),
	'segroll.segment', "merge()'s state is a segment");
is($node->safe_psql('app', $describe), $before_desc,
	'the views keep their owner, privileges, options and comment, outside the extension');
is($node->safe_psql('app', $rows), $before_rows, 'and return the same rows');
is($node->safe_psql('app', q{SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
	WHERE d.refobjid = 'segroll.merge(segroll.segment)'::regprocedure AND r.ev_class = 'public.by_org'::regclass}),
	'1', 'and call the new merge()');

# a materialized view calling merge(): the update stops, nothing changes
$node->safe_psql('app_mat', $setup . q{
	CREATE MATERIALIZED VIEW public.by_org_m AS SELECT org, segroll.merge(seg) AS seg FROM cells_t GROUP BY org;
});
($rc, $out, $err) = $node->psql('app_mat', 'ALTER EXTENSION segroll UPDATE', extra_params => ['-v', 'VERBOSITY=verbose']);
isnt($rc, 0, 'the update refuses a materialized view that calls merge()');
like($err, qr/2BP01: .*materialized view public\.by_org_m/, 'naming it, with SQLSTATE 2BP01 (dependent_objects_still_exist)');
is($node->safe_psql('app_mat', q{SELECT extversion FROM pg_extension WHERE extname = 'segroll'}), '0.4.0', 'segroll stays at 0.4.0');
is($node->safe_psql('app_mat', q{SELECT count(*) FROM public.by_org_m}), '5', 'and the materialized view is still there');

$node->stop;
done_testing();
