# Security (issue 12, attack 1): a role with CREATEDB must not become
# superuser through the background workers.  The workers connect to every
# database as the bootstrap superuser; the owner of a database may set its
# search_path (ALTER DATABASE ... SET search_path = public, pg_catalog) and
# put in public operators, functions and types that shadow pg_catalog's.
# If a worker resolved any name of its SQL through that search_path, the
# attacker's code would run as the superuser.  Every trap below makes the
# attacker a superuser and logs itself when it runs; none may ever run.
#
# Variants: a database of the attacker's without segroll (probed by a
# short-lived worker every probe_interval); a database of the attacker's
# with segroll, where a worker runs continuously and rolls up a continuous
# segmentation owned by the attacker and one owned by the superuser (whose
# roll-up runs as the superuser in the attacker's database); a database
# where the attacker owns segroll's schema, renames it and puts its own
# schema segroll, with its own segroll.rollup(), in its place.  Shadowed: operators =, <>, <, >, <=, >=, ~~ on oid, name,
# text, bigint, integer, regclass and timestamptz; functions the worker and
# the roll-up call (now, pg_try_advisory_lock, current_setting, ...);
# types (domains public.text, public.name, public.oid, ... whose CHECK is a
# trap, so any cast to an unqualified type fires); ALTER DATABASE ... SET
# role = attacker, which would make the worker act as the attacker.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('security_worker');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'segroll'
segroll.naptime = 100ms
segroll.probe_interval = 1s
log_statement = none
});
$node->start;

# The test's own sessions never use the attacker's search_path (else the
# test itself, connected as the superuser, would spring the traps): startup
# options outrank ALTER DATABASE ... SET.  The workers get no such help.
$ENV{PGOPTIONS} = '-c search_path=pg_catalog,pg_temp -c role=none';

$node->safe_psql('postgres', q{
	CREATE ROLE attacker LOGIN CREATEDB;
});

# the attacker's two databases
$node->safe_psql('postgres', q{SET ROLE attacker; CREATE DATABASE evil_plain});
$node->safe_psql('postgres', q{SET ROLE attacker; CREATE DATABASE evil_seg});

# segroll in evil_seg, installed by a superuser; the attacker administers
# segmentations there
$node->safe_psql('evil_seg', q{
	CREATE EXTENSION segroll;
	GRANT segroll_admin TO attacker;
	CREATE TABLE public.dba_sales (txn_id bigserial PRIMARY KEY, sold_at timestamptz NOT NULL,
	                               org_id int, amount numeric(12,2));
	INSERT INTO public.dba_sales (sold_at, org_id, amount)
	SELECT '2026-11-01 00:00+00'::timestamptz + g * interval '7 minutes', g % 10, g / 100.0
	FROM generate_series(1, 500) g;
	SELECT segroll.create_segmentation('dba_live', 'public.dba_sales', 'txn_id', 'sold_at', 'day', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'continuous');
});
$node->safe_psql('evil_seg', q{
	SET ROLE attacker;
	CREATE TABLE public.sales (txn_id bigserial PRIMARY KEY, sold_at timestamptz NOT NULL,
	                           org_id int, amount numeric(12,2));
	INSERT INTO public.sales (sold_at, org_id, amount)
	SELECT '2026-11-01 00:00+00'::timestamptz + g * interval '11 minutes', g % 7, g / 10.0
	FROM generate_series(1, 500) g;
	SELECT segroll.create_segmentation('live', 'public.sales', 'txn_id', 'sold_at', 'day', 'UTC',
	                                   '{org_id}', '{amount}', schedule => 'continuous',
	                                   cells_schema => 'attacker_cells');
});
ok($node->poll_query_until('evil_seg', q{
	SELECT bool_and(pending_changes = 0) FROM segroll.status WHERE name IN ('live', 'dba_live')}),
	'before the attack, the worker rolls up both segmentations');

# The traps, planted by the attacker in each of its databases.
my @operators;
for my $type (qw(oid name text bigint integer regclass timestamptz))
{
	push @operators, [ $_, $type, $type ] for qw(= <> < > <= >=);
}
push @operators, [ '~~', 'text', 'text' ], [ '~~', 'name', 'text' ];
my %opname = ('=' => 'eq', '<>' => 'ne', '<' => 'lt', '>' => 'gt', '<=' => 'le', '>=' => 'ge', '~~' => 'like');

my $traps = q{
	SET ROLE attacker;
	SET search_path = pg_catalog, pg_temp;
	CREATE TABLE public.trap_log (fired_as name, session_as name, what text,
	                              at timestamptz DEFAULT pg_catalog.clock_timestamp());
	GRANT INSERT ON public.trap_log TO PUBLIC;
	CREATE FUNCTION public.trap(what text) RETURNS void LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp AS $$
	BEGIN
		INSERT INTO public.trap_log (fired_as, session_as, what) VALUES (current_user, session_user, what);
		BEGIN
			ALTER ROLE attacker SUPERUSER;
		EXCEPTION WHEN insufficient_privilege THEN
			NULL;
		END;
	END $$;
	CREATE FUNCTION public.trap_check(what text) RETURNS bool LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp AS $$
	BEGIN
		PERFORM public.trap(what);
		RETURN true;
	END $$;
};
for my $o (@operators)
{
	my ($op, $l, $r) = @$o;
	my $f = "public.trap_$opname{$op}_$l\_$r";
	$traps .= qq{
	CREATE FUNCTION $f(a $l, b $r) RETURNS bool LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp AS \$\$
	BEGIN
		PERFORM public.trap('$op($l, $r)');
		RETURN a OPERATOR(pg_catalog.$op) b;
	END \$\$;
	CREATE OPERATOR public.$op (LEFTARG = $l, RIGHTARG = $r, FUNCTION = $f);
	};
}
# functions the worker or a roll-up might call unqualified
for my $f (
	[ 'now()', 'timestamptz', 'pg_catalog.now()' ],
	[ 'clock_timestamp()', 'timestamptz', 'pg_catalog.clock_timestamp()' ],
	[ 'pg_try_advisory_lock(k bigint)', 'bool', 'pg_catalog.pg_try_advisory_lock(k)' ],
	[ 'pg_try_advisory_xact_lock(k bigint)', 'bool', 'pg_catalog.pg_try_advisory_xact_lock(k)' ],
	[ 'pg_advisory_xact_lock(k bigint)', 'void', 'pg_catalog.pg_advisory_xact_lock(k)' ],
	[ 'current_setting(s text)', 'text', 'pg_catalog.current_setting(s)' ],
	[ 'txid_current()', 'bigint', 'pg_catalog.txid_current()' ],
	[ 'lower(s text)', 'text', 'pg_catalog.lower(s)' ],
	[ 'format(s text)', 'text', 'pg_catalog.format(s)' ],
	[ 'quote_ident(s text)', 'text', 'pg_catalog.quote_ident(s)' ],
	[ 'date_trunc(u text, t timestamptz, z text)', 'timestamptz', 'pg_catalog.date_trunc(u, t, z)' ],
	[ 'to_regclass(s text)', 'regclass', 'pg_catalog.to_regclass(s)' ],
	[ 'has_table_privilege(r name, t text, p text)', 'bool', 'pg_catalog.has_table_privilege(r, t, p)' ],
	[ 'pg_has_role(r name, t name, p text)', 'bool', 'pg_catalog.pg_has_role(r, t, p)' ])
{
	my ($sig, $ret, $call) = @$f;
	my ($fname) = $sig =~ /^(\w+)/;
	my $perform = $ret eq 'void' ? "PERFORM $call; RETURN;" : "RETURN $call;";
	$traps .= qq{
	CREATE FUNCTION public.$sig RETURNS $ret LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp AS \$\$
	BEGIN
		PERFORM public.trap('$fname()');
		$perform
	END \$\$;
	};
}
# types: a cast to an unqualified type name would find these domains
for my $t (qw(text name oid regclass int8 int4 bool timestamptz numeric interval regproc))
{
	$traps .= qq{
	CREATE DOMAIN public.$t AS pg_catalog.$t CHECK (public.trap_check('::$t'));
	};
}
for my $db (qw(evil_plain evil_seg))
{
	# in evil_seg, also a role for every session: the worker would then run
	# as the attacker and could not roll up the superuser's segmentation
	my $role = $db eq 'evil_seg' ? "ALTER DATABASE $db SET role = attacker;" : '';
	$node->safe_psql($db, $traps . qq{
	ALTER DATABASE $db SET search_path = public, pg_catalog;
	$role
	});
	# the traps work: a session of the superuser with the database's search_path
	# would fire them (checked in a transaction that is rolled back)
	is($node->safe_psql($db, q{
		BEGIN;
		SET LOCAL search_path = public, pg_catalog;
		SELECT count(*) > 0 FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname = 'pg_catalog';
		SELECT count(*) > 0 FROM pg_catalog.pg_roles r, public.trap_log l
		WHERE r.rolname OPERATOR(pg_catalog.=) 'attacker' AND r.rolsuper;
		ROLLBACK;}), "t\nt", "$db: the traps fire for a superuser who uses the database's search_path");
}
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'attacker'}), 'f',
	'the attacker is not a superuser yet');

# A schema segroll that the attacker owns (as CREATE EXTENSION adopted a
# pre-created one, attack 3, or a superuser gave it away): renamed, and a
# schema segroll of the attacker's in its place, with a segmentation table
# listing a continuous segmentation and a segroll.rollup(text, bigint) that
# is a trap.  A worker that trusted the name segroll would call it.
$node->safe_psql('postgres', q{SET ROLE attacker; CREATE DATABASE evil_renamed});
$node->safe_psql('evil_renamed', q{
	CREATE EXTENSION segroll;
	ALTER SCHEMA segroll OWNER TO attacker;
});
$node->safe_psql('evil_renamed', $traps . q{
	ALTER SCHEMA segroll RENAME TO segroll_real;
	CREATE SCHEMA segroll;
	CREATE TABLE segroll.segmentation (name text, schedule text);
	INSERT INTO segroll.segmentation VALUES ('fake', 'continuous');
	CREATE TABLE segroll.progress (name text, last_error text, last_error_at timestamptz, failures int);
	INSERT INTO segroll.progress VALUES ('fake', NULL, NULL, 0);
	CREATE FUNCTION segroll.rollup(name text, max_changes bigint) RETURNS bigint LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp AS $$
	BEGIN
		PERFORM public.trap('segroll.rollup() of the attacker''s schema segroll');
		RETURN 0;
	END $$;
});

# new workers: the database settings now apply to every new connection
$node->safe_psql('postgres', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'segroll worker'});

# changes for both segmentations while the traps are set
$node->safe_psql('evil_seg', q{
	INSERT INTO public.dba_sales (sold_at, org_id, amount)
	SELECT '2026-11-02 00:00+00'::timestamptz + g * interval '13 minutes', g % 10, g / 100.0
	FROM generate_series(1, 200) g;
	SET ROLE attacker;
	INSERT INTO public.sales (sold_at, org_id, amount)
	SELECT '2026-11-03 00:00+00'::timestamptz + g * interval '17 minutes', g % 7, g / 10.0
	FROM generate_series(1, 200) g;
	DELETE FROM public.sales WHERE txn_id % 50 = 0;
	UPDATE public.sales SET amount = amount + 1 WHERE txn_id % 40 = 0;
});

ok($node->poll_query_until('evil_seg', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'segroll worker' AND datname = 'evil_seg'}),
	'a new worker runs in the attacker\'s database with segroll');
# several probe intervals with the workers running: evil_plain is probed
# about once a second, evil_seg is read every naptime
sleep 4;
ok($node->poll_query_until('evil_seg', q{
	SELECT bool_and(pending_changes = 0) FROM segroll.status WHERE name IN ('live', 'dba_live')}),
	'the worker rolls up both segmentations in the attacker\'s database');
sleep 1;

is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'attacker'}), 'f',
	'the attacker is still not a superuser');
for my $db (qw(evil_plain evil_seg evil_renamed))
{
	is($node->safe_psql($db, q{SELECT count(*) FROM public.trap_log}), '0', "$db: no trap ever fired")
	  or diag($node->safe_psql($db, q{
		SELECT string_agg(format('%s as %s (session %s): %s times', what, fired_as, session_as, n), E'\n')
		FROM (SELECT what, fired_as, session_as, count(*) AS n FROM public.trap_log GROUP BY 1, 2, 3) t}));
}

# the roll-ups stayed exact
for my $seg ([ 'live', 'public.sales', 'attacker_cells.live' ], [ 'dba_live', 'public.dba_sales', 'segroll_data.dba_live' ])
{
	my ($name, $src, $cells) = @$seg;
	is($node->safe_psql('evil_seg', qq{
		WITH fresh AS (SELECT org_id, date_trunc('day', sold_at, 'UTC') AS period,
		                      segroll.segment_agg(txn_id, sold_at, amount) AS seg
		               FROM $src GROUP BY 1, 2)
		SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM $cells)
		                      UNION ALL
		                      (SELECT org_id, period, seg FROM $cells EXCEPT ALL SELECT * FROM fresh)) d}),
		'0', "$name: cells equal a from-scratch GROUP BY");
}
is($node->safe_psql('evil_seg', q{
	SELECT string_agg(name || ': ' || coalesce(last_error, 'ok'), ', ' ORDER BY name)
	FROM segroll.progress WHERE name IN ('live', 'dba_live')}),
	'dba_live: ok, live: ok', 'no roll-up failed');

like(slurp_file($node->logfile), qr/WARNING:  segroll worker does not roll up in database "evil_renamed"/,
	'the worker refuses a schema segroll that is not the extension\'s or not a superuser\'s');
unlike(slurp_file($node->logfile), qr/could not roll up|TRAP:|terminated by signal/,
	'no failed roll-up or crash in the log');

$node->stop;
done_testing();
