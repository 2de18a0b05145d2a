# A drifting script is caught: for every earlier version V from which an
# update path leads to the control file's default_version,
#   CREATE EXTENSION segroll VERSION 'V'; ALTER EXTENSION segroll UPDATE;
# must leave exactly the surface of a plain CREATE EXTENSION segroll: the
# same member objects, routine definitions and properties, privileges,
# tables (columns in order, defaults, constraints, indexes, triggers, RLS,
# policies), views, sequences, types, operators, operator classes, comments,
# extension configuration, rows the scripts insert, and the roles the
# extension creates.  Each install runs in a fresh database after the roles of
# the previous one were dropped, so role creation, membership and comments
# are compared too.  One assertion per version and category (routine,
# routine-acl, columns, policy, ...); a failure lists the objects only on one
# side and, for an object on both, its two values (diff -u for multi-line
# ones such as routine bodies: "-" is the updated install, "+" the fresh one).
# Each whole description is also written to tmp_check/log/004_surface_*.txt.
#
# Normalised away, as they legitimately differ: oids (objects are named by
# regprocedure / regclass / regtype / regoperator text and role names),
# attnum gaps left by dropped columns (columns are listed in order, without
# numbers), and NULL versus an explicit ACL equal to the owner's default (a
# GRANT later revoked).  Column order itself is compared.
#
# Then existing data crosses the update: a segmentation defined and rolled up
# at the newest earlier version that has create_segmentation keeps rolling up
# exactly after ALTER EXTENSION UPDATE (cells = a from-scratch GROUP BY of the
# source), and rebuild() / verify() agree.
#
# Nothing here names a version: it reads them from the catalogs, so it works
# unchanged when a new version gets a full install script of its own.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('drift');
$node->init;
$node->append_conf('postgresql.conf', q{
log_statement = none
log_min_messages = warning
});
$node->start;

# ------------------------------------------------------------ versions

my $default = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'segroll'});
ok($default ne '', "default_version is $default");

# Earlier versions: every installable version other than the default from
# which an update path to the default exists, oldest first.
my @earlier = split /\n/, $node->safe_psql('postgres', qq{
	SELECT v.version
	FROM pg_available_extension_versions v
	JOIN pg_extension_update_paths('segroll') p ON p.source = v.version AND p.target = '$default'
	WHERE v.name = 'segroll' AND v.version <> '$default' AND p.path IS NOT NULL
	ORDER BY string_to_array(v.version, '.')::int[]});
cmp_ok(scalar(@earlier), '>=', 1, 'update paths to the default: ' . join(', ', @earlier));

# ------------------------------------------------------------ the surface

# One JSON object: key => normalised text.  Keys name objects by role names,
# regclass / regprocedure / regtype / regoperator text, never oids; a key's
# first word is its category.  Values of one key from several rows are
# sorted and joined.
my $describe = q{
WITH ext AS (SELECT oid, extnamespace FROM pg_extension WHERE extname = 'segroll'),
mem AS (
	SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
relm AS (SELECT c.* FROM pg_class c JOIN mem ON mem.classid = 'pg_class'::regclass AND mem.objid = c.oid),
procm AS (SELECT p.* FROM pg_proc p JOIN mem ON mem.classid = 'pg_proc'::regclass AND mem.objid = p.oid),
items(k, v) AS (
	-- member objects
	SELECT 'member ' || pg_describe_object(classid, objid, objsubid), 'member' FROM mem
	-- routines
	UNION ALL
	SELECT 'routine ' || p.oid::regprocedure,
	       CASE WHEN p.prokind = 'a' THEN
	           'aggregate ' || p.oid::regprocedure || ' returns ' || p.prorettype::regtype
	       ELSE pg_get_functiondef(p.oid) END
	FROM procm p
	UNION ALL
	SELECT 'routine-props ' || p.oid::regprocedure,
	       format('kind=%s secdef=%s volatile=%s parallel=%s leakproof=%s strict=%s cost=%s rows=%s config=%s owner=%s lang=%s support=%s',
	              p.prokind, p.prosecdef, p.provolatile, p.proparallel, p.proleakproof, p.proisstrict,
	              p.procost, p.prorows, coalesce(p.proconfig::text, '-'), p.proowner::regrole,
	              (SELECT lanname FROM pg_language WHERE oid = p.prolang), p.prosupport)
	FROM procm p
	UNION ALL
	SELECT 'routine-acl ' || p.oid::regprocedure, x.line
	FROM procm p, LATERAL (SELECT string_agg(line, E'\n' ORDER BY line) AS line FROM (
		SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || '<-'
		       || a.grantor::regrole || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END AS line
		FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a) l) x
	UNION ALL
	SELECT 'aggregate ' || a.aggfnoid::regprocedure,
	       format(E'kind=%s direct_args=%s\ntransfn=%s finalfn=%s combinefn=%s serialfn=%s deserialfn=%s\n'
	              'mtransfn=%s minvtransfn=%s mfinalfn=%s finalextra=%s mfinalextra=%s finalmodify=%s mfinalmodify=%s\n'
	              'sortop=%s transtype=%s transspace=%s mtranstype=%s mtransspace=%s initval=%s minitval=%s',
	              a.aggkind, a.aggnumdirectargs,
	              a.aggtransfn::oid::regprocedure, nullif(a.aggfinalfn::oid, 0)::regprocedure,
	              nullif(a.aggcombinefn::oid, 0)::regprocedure, nullif(a.aggserialfn::oid, 0)::regprocedure,
	              nullif(a.aggdeserialfn::oid, 0)::regprocedure, nullif(a.aggmtransfn::oid, 0)::regprocedure,
	              nullif(a.aggminvtransfn::oid, 0)::regprocedure, nullif(a.aggmfinalfn::oid, 0)::regprocedure,
	              a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify, a.aggmfinalmodify,
	              nullif(a.aggsortop, 0)::regoperator, a.aggtranstype::regtype, a.aggtransspace,
	              nullif(a.aggmtranstype, 0)::regtype, a.aggmtransspace, a.agginitval, a.aggminitval)
	FROM pg_aggregate a JOIN procm p ON p.oid = a.aggfnoid
	-- relations
	UNION ALL
	SELECT 'relation ' || c.oid::regclass,
	       format('kind=%s persistence=%s rls=%s forced_rls=%s options=%s owner=%s',
	              c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
	              coalesce(c.reloptions::text, '-'), c.relowner::regrole)
	FROM relm c
	UNION ALL
	SELECT 'relation-acl ' || c.oid::regclass, x.line
	FROM relm c, LATERAL (SELECT string_agg(line, E'\n' ORDER BY line) AS line FROM (
		SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || '<-'
		       || a.grantor::regrole || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END AS line
		FROM aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a) l) x
	UNION ALL
	-- columns in order; attnum itself (gaps from dropped columns) is not compared
	SELECT 'columns ' || c.oid::regclass,
	       string_agg(format('%s %s%s%s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
	                         CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
	                         coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
	                         CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END,
	                         CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END,
	                         CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
	                              THEN ' COLLATE ' || a.attcollation::regcollation ELSE '' END),
	                  E'\n' ORDER BY a.attnum)
	FROM relm c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	JOIN pg_type t ON t.oid = a.atttypid
	LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	GROUP BY c.oid
	UNION ALL
	SELECT 'column-acl ' || c.oid::regclass || '.' || quote_ident(a.attname),
	       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || '<-'
	       || a.grantor::regrole || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
	FROM relm c, LATERAL (SELECT at.attname, (aclexplode(at.attacl)).* FROM pg_attribute at
	                      WHERE at.attrelid = c.oid AND at.attnum > 0 AND NOT at.attisdropped AND at.attacl IS NOT NULL) a
	UNION ALL
	SELECT 'constraint ' || c.oid::regclass || ' ' || quote_ident(k.conname),
	       pg_get_constraintdef(k.oid) || CASE WHEN k.condeferrable THEN ' (deferrable)' ELSE '' END
	FROM relm c JOIN pg_constraint k ON k.conrelid = c.oid
	UNION ALL
	SELECT 'index ' || c.oid::regclass || ' ' || quote_ident(i.relname),
	       pg_get_indexdef(i.oid) || CASE WHEN x.indisclustered THEN ' (clustered)' ELSE '' END
	       || CASE WHEN x.indisreplident THEN ' (replica identity)' ELSE '' END
	FROM relm c JOIN pg_index x ON x.indrelid = c.oid JOIN pg_class i ON i.oid = x.indexrelid
	UNION ALL
	SELECT 'trigger ' || c.oid::regclass || ' ' || quote_ident(t.tgname), pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
	FROM relm c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
	UNION ALL
	SELECT 'policy ' || quote_ident(p.schemaname) || '.' || quote_ident(p.tablename) || ' ' || quote_ident(p.policyname),
	       format('%s %s roles=%s using=%s check=%s', p.permissive, p.cmd, p.roles, p.qual, p.with_check)
	FROM pg_policies p JOIN relm c ON c.relname = p.tablename AND c.relnamespace::regnamespace::name = p.schemaname
	UNION ALL
	SELECT 'rule ' || c.oid::regclass || ' ' || quote_ident(r.rulename), pg_get_ruledef(r.oid)
	FROM relm c JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename <> '_RETURN'
	UNION ALL
	SELECT 'view ' || c.oid::regclass, pg_get_viewdef(c.oid, true) FROM relm c WHERE c.relkind IN ('v', 'm')
	UNION ALL
	SELECT 'sequence ' || c.oid::regclass,
	       format('type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
	              s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
	              coalesce((SELECT d.refobjid::regclass || '.' || quote_ident(a.attname)
	                        FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
	                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
	                          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')), '-'))
	FROM relm c JOIN pg_sequence s ON s.seqrelid = c.oid
	-- types
	UNION ALL
	SELECT 'type ' || t.oid::regtype,
	       format(E'type=%s len=%s byval=%s category=%s preferred=%s align=%s storage=%s delim=%s\n'
	              'in=%s out=%s recv=%s send=%s modin=%s modout=%s analyze=%s subscript=%s\n'
	              'elem=%s base=%s notnull=%s collation=%s default=%s owner=%s%s%s',
	              t.typtype, t.typlen, t.typbyval, t.typcategory, t.typispreferred, t.typalign, t.typstorage, t.typdelim,
	              t.typinput::oid::regprocedure, t.typoutput::oid::regprocedure,
	              nullif(t.typreceive::oid, 0)::regprocedure, nullif(t.typsend::oid, 0)::regprocedure,
	              nullif(t.typmodin::oid, 0)::regprocedure, nullif(t.typmodout::oid, 0)::regprocedure,
	              nullif(t.typanalyze::oid, 0)::regprocedure, nullif(t.typsubscript::oid, 0)::regprocedure,
	              nullif(t.typelem, 0)::regtype, nullif(t.typbasetype, 0)::regtype, t.typnotnull,
	              nullif(t.typcollation, 0)::regcollation, t.typdefault, t.typowner::regrole,
	              (SELECT E'\nattributes: ' || string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
	               FROM pg_attribute a WHERE a.attrelid = t.typrelid AND t.typrelid <> 0 AND a.attnum > 0 AND NOT a.attisdropped),
	              (SELECT E'\nlabels: ' || string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
	               FROM pg_enum e WHERE e.enumtypid = t.oid))
	FROM pg_type t JOIN mem ON mem.classid = 'pg_type'::regclass AND mem.objid = t.oid
	UNION ALL
	SELECT 'type-acl ' || t.oid::regtype,
	       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || '<-'
	       || a.grantor::regrole || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
	FROM pg_type t JOIN mem ON mem.classid = 'pg_type'::regclass AND mem.objid = t.oid,
	     aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
	UNION ALL
	SELECT 'domain-constraint ' || t.oid::regtype || ' ' || quote_ident(k.conname), pg_get_constraintdef(k.oid)
	FROM pg_type t JOIN mem ON mem.classid = 'pg_type'::regclass AND mem.objid = t.oid
	JOIN pg_constraint k ON k.contypid = t.oid
	-- operators, operator classes and families
	UNION ALL
	SELECT 'operator ' || o.oid::regoperator,
	       format('code=%s result=%s commutator=%s negator=%s restrict=%s join=%s merges=%s hashes=%s',
	              o.oprcode::oid::regprocedure, o.oprresult::regtype, nullif(o.oprcom, 0)::regoperator,
	              nullif(o.oprnegate, 0)::regoperator, nullif(o.oprrest::oid, 0)::regprocedure,
	              nullif(o.oprjoin::oid, 0)::regprocedure, o.oprcanmerge, o.oprcanhash)
	FROM pg_operator o JOIN mem ON mem.classid = 'pg_operator'::regclass AND mem.objid = o.oid
	UNION ALL
	SELECT 'opclass ' || am.amname || ' ' || quote_ident(n.nspname) || '.' || quote_ident(c.opcname),
	       format('for=%s default=%s family=%s.%s keytype=%s', c.opcintype::regtype, c.opcdefault,
	              quote_ident(fn.nspname), quote_ident(f.opfname), nullif(c.opckeytype, 0)::regtype)
	FROM pg_opclass c JOIN mem ON mem.classid = 'pg_opclass'::regclass AND mem.objid = c.oid
	JOIN pg_am am ON am.oid = c.opcmethod JOIN pg_namespace n ON n.oid = c.opcnamespace
	JOIN pg_opfamily f ON f.oid = c.opcfamily JOIN pg_namespace fn ON fn.oid = f.opfnamespace
	UNION ALL
	SELECT 'opfamily ' || am.amname || ' ' || quote_ident(n.nspname) || '.' || quote_ident(f.opfname),
	       coalesce((SELECT string_agg(format('operator %s %s (%s,%s) purpose=%s sortfamily=%s', o.amopstrategy,
	                                         o.amopopr::regoperator, o.amoplefttype::regtype, o.amoprighttype::regtype,
	                                         o.amoppurpose, nullif(o.amopsortfamily, 0)), E'\n' ORDER BY o.amopstrategy, o.amopopr::regoperator::text)
	                 FROM pg_amop o WHERE o.amopfamily = f.oid), '')
	       || E'\n' ||
	       coalesce((SELECT string_agg(format('function %s (%s,%s) %s', p.amprocnum, p.amproclefttype::regtype,
	                                         p.amprocrighttype::regtype, p.amproc::oid::regprocedure), E'\n' ORDER BY p.amprocnum, p.amproc::oid::regprocedure::text)
	                 FROM pg_amproc p WHERE p.amprocfamily = f.oid), '')
	FROM pg_opfamily f JOIN pg_am am ON am.oid = f.opfmethod JOIN pg_namespace n ON n.oid = f.opfnamespace
	WHERE f.oid IN (SELECT objid FROM mem WHERE classid = 'pg_opfamily'::regclass)
	   OR f.oid IN (SELECT c.opcfamily FROM pg_opclass c JOIN mem ON mem.classid = 'pg_opclass'::regclass AND mem.objid = c.oid)
	-- casts, event triggers
	UNION ALL
	SELECT 'cast ' || pg_describe_object(mem.classid, mem.objid, 0),
	       format('function=%s context=%s method=%s', nullif(c.castfunc, 0)::regprocedure, c.castcontext, c.castmethod)
	FROM pg_cast c JOIN mem ON mem.classid = 'pg_cast'::regclass AND mem.objid = c.oid
	UNION ALL
	SELECT 'event-trigger ' || quote_ident(e.evtname),
	       format('event=%s function=%s enabled=%s tags=%s', e.evtevent, e.evtfoid::regprocedure, e.evtenabled, e.evttags)
	FROM pg_event_trigger e JOIN mem ON mem.classid = 'pg_event_trigger'::regclass AND mem.objid = e.oid
	-- schemas: the extension's own and any member schema
	UNION ALL
	SELECT 'schema ' || quote_ident(n.nspname),
	       'owner=' || n.nspowner::regrole || E'\n' || coalesce((
	           SELECT string_agg(line, E'\n' ORDER BY line) FROM (
	               SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || '<-'
	                      || a.grantor::regrole || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END AS line
	               FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a) l), '')
	FROM pg_namespace n
	WHERE n.oid IN (SELECT extnamespace FROM ext)
	   OR n.oid IN (SELECT objid FROM mem WHERE classid = 'pg_namespace'::regclass)
	UNION ALL
	SELECT 'default-acl ' || coalesce(d.defaclnamespace::regnamespace::text, '*') || ' ' || d.defaclrole::regrole
	       || ' ' || d.defaclobjtype::text, d.defaclacl::text
	FROM pg_default_acl d
	-- comments on everything that is not built in (each install runs in a
	-- fresh database that holds nothing else), and on members' columns
	UNION ALL
	SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
	FROM pg_description d WHERE d.objoid >= 16384
	-- extension configuration: dumped tables and their conditions
	UNION ALL
	SELECT 'extension', format('version=%s schema=%s relocatable=%s owner=%s', e.extversion,
	                           e.extnamespace::regnamespace, e.extrelocatable, e.extowner::regrole)
	FROM pg_extension e WHERE e.extname = 'segroll'
	UNION ALL
	SELECT 'extconfig ' || c.rel::regclass, coalesce(quote_literal(c.cond), 'NULL')
	FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(rel, cond) WHERE e.extname = 'segroll'
	-- roles (created only by the extension: the test drops all others first)
	UNION ALL
	SELECT 'role ' || quote_ident(r.rolname),
	       format('super=%s inherit=%s createrole=%s createdb=%s login=%s replication=%s bypassrls=%s connlimit=%s config=%s',
	              r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication,
	              r.rolbypassrls, r.rolconnlimit, coalesce(r.rolconfig::text, '-'))
	       || coalesce(E'\ncomment: ' || shobj_description(r.oid, 'pg_authid'), '')
	FROM pg_roles r WHERE r.oid >= 16384
	UNION ALL
	SELECT 'role-membership ' || m.member::regrole || ' in ' || m.roleid::regrole,
	       'admin=' || m.admin_option || ' grantor=' || m.grantor::regrole
	FROM pg_auth_members m WHERE m.roleid >= 16384 OR m.member >= 16384
	UNION ALL
	SELECT 'role-setting ' || coalesce(s.setrole::regrole::text, '*'), s.setconfig::text
	FROM pg_db_role_setting s WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
	                             OR s.setrole >= 16384
)
SELECT coalesce(json_object_agg(k, v ORDER BY k), '{}') FROM (
	SELECT k, string_agg(coalesce(v, '<NULL>'), E'\n' ORDER BY v) AS v FROM items GROUP BY k) g
};

# Rows the scripts themselves put into member tables (a table of grains,
# say) are part of the surface too.  Each member table's rows as sorted text.
my $contents_sql = q{
	SELECT string_agg(format('SELECT %L AS k, (SELECT coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''') FROM %s t) AS v',
	                         'rows ' || c.oid::regclass, c.oid::regclass), ' UNION ALL ')
	FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segroll') AND c.relkind IN ('r', 'p')
};

my $json = JSON::PP->new->canonical;
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub drop_roles
{
	# roles are cluster-wide: each install must create its own
	my $roles = $node->safe_psql('postgres',
		q{SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE oid >= 16384});
	$node->safe_psql('postgres', "DROP ROLE $roles") if $roles ne '';
}

# surface(DB, SQL): run SQL (the install) in a new database DB, return the
# description, drop DB and the roles.
sub surface
{
	my ($db, $install) = @_;
	drop_roles();
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"});
	$node->safe_psql($db, $install);
	my $d = $json->decode($node->safe_psql($db, $describe));
	my $q = $node->safe_psql($db, $contents_sql);
	if ($q ne '')
	{
		my $rows = $json->decode($node->safe_psql($db,
			"SELECT coalesce(json_object_agg(k, v), '{}') FROM ($q) r"));
		$d->{$_} = $rows->{$_} for keys %$rows;
	}
	$node->safe_psql('postgres', qq{DROP DATABASE "$db"});
	drop_roles();
	# the whole description, for reading when a comparison fails
	open my $h, '>', "$PostgreSQL::Test::Utils::log_path/004_surface_$db.txt" or die $!;
	print $h "$_\n\t" . join("\n\t", split /\n/, $d->{$_}) . "\n" for sort keys %$d;
	close $h;
	return $d;
}

# Unified diff of two multi-line texts.
sub text_diff
{
	my ($label, $a, $b) = @_;
	my ($fa, $fb) = ("$tmp/a", "$tmp/b");
	open my $h, '>', $fa or die; print $h "$a\n"; close $h;
	open $h, '>', $fb or die; print $h "$b\n"; close $h;
	my $out = `diff -U2 --label "updated $label" --label "fresh $label" $fa $fb`;
	return $out;
}

my %last_report;

# Compares two descriptions category by category: one assertion each, and
# on failure the keys only on one side and a diff of each changed value.
sub compare_surfaces
{
	my ($what, $upd, $fresh) = @_;
	my %cats;
	for my $k (keys %$upd, keys %$fresh)
	{
		my ($c) = split / /, $k, 2;
		$cats{$c} = 1;
	}
	for my $c (sort keys %cats)
	{
		my @report;
		my %keys = map { $_ => 1 } grep { (split / /, $_, 2)[0] eq $c } (keys %$upd, keys %$fresh);
		for my $k (sort keys %keys)
		{
			if (!exists $fresh->{$k})
			{
				push @report, "only after update: $k" . ($upd->{$k} =~ /^member$/ ? '' : "\n    " . join("\n    ", split /\n/, $upd->{$k}));
			}
			elsif (!exists $upd->{$k})
			{
				push @report, "only in fresh install: $k" . ($fresh->{$k} =~ /^member$/ ? '' : "\n    " . join("\n    ", split /\n/, $fresh->{$k}));
			}
			elsif ($upd->{$k} ne $fresh->{$k})
			{
				if ($upd->{$k} =~ /\n/ || $fresh->{$k} =~ /\n/)
				{
					push @report, "differs: $k\n" . text_diff($k, $upd->{$k}, $fresh->{$k});
				}
				else
				{
					push @report, "differs: $k\n    after update:  $upd->{$k}\n    fresh install: $fresh->{$k}";
				}
			}
		}
		my $text = join("\n", @report);
		if (!ok(!@report, "$what: $c"))
		{
			# several versions usually share one drift: print it once
			if ($last_report{$c} && $last_report{$c}[0] eq $text)
			{
				diag("the same differences as for $last_report{$c}[1]");
			}
			else
			{
				diag($text);
				$last_report{$c} = [ $text, $what ];
			}
		}
	}
}

my $fresh = surface('fresh', 'CREATE EXTENSION segroll');
cmp_ok(scalar(grep { /^routine / } keys %$fresh), '>', 50, 'the description sees the routines');
cmp_ok(scalar(grep { /^columns / } keys %$fresh), '>', 5, 'the description sees the tables');
for my $v (@earlier)
{
	my $upd = surface("from_$v", qq{
		CREATE EXTENSION segroll VERSION '$v';
		ALTER EXTENSION segroll UPDATE;
	});
	compare_surfaces("$v updated to $default vs fresh $default", $upd, $fresh);
}

# ------------------------------------------------------------ data across the update

# The newest earlier version that can define a segmentation.
my $data_version;
for my $v (reverse @earlier)
{
	$node->safe_psql('postgres', 'CREATE DATABASE probe');
	my $has = $node->safe_psql('probe', qq{
		CREATE EXTENSION segroll VERSION '$v';
		SELECT count(*) FROM pg_proc WHERE proname = 'create_segmentation' AND pronamespace = 'segroll'::regnamespace});
	$node->safe_psql('postgres', 'DROP DATABASE probe');
	if ($has > 0) { $data_version = $v; last; }
}
drop_roles();

SKIP:
{
	skip 'no earlier version has create_segmentation', 1 unless defined $data_version;

	$node->safe_psql('postgres', 'CREATE DATABASE data');
	$node->safe_psql('data', qq{
		SET client_min_messages = warning;
		CREATE EXTENSION segroll VERSION '$data_version';
		CREATE SCHEMA ref;
		CREATE TABLE ref.item (item_id int PRIMARY KEY, brand_id int);
		INSERT INTO ref.item SELECT g, g % 5 FROM generate_series(1, 100) g;
		CREATE TABLE public.sales (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int,
		                           item_id int, amount numeric(12,2), qty int);
		INSERT INTO public.sales
		SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '7 minutes', g % 3,
		       g % 110, (g % 1000) / 10.0, g % 5
		FROM generate_series(1, 4000) g;
		SELECT segroll.create_segmentation(
			name => 'sales_daily', source => 'public.sales', key => 'txn_id', time_col => 'sold_at',
			grain => 'day', time_zone => 'Asia/Seoul',
			dimensions => '{org_id, brand_id=ref.item.brand_id ON item_id}', measures => '{amount, qty}');
		INSERT INTO public.sales SELECT g, '2026-11-03 00:00+09'::timestamptz + g * interval '3 minutes', g % 3,
		       g % 100 + 1, 1.25, 2 FROM generate_series(4001, 4300) g;
		UPDATE public.sales SET amount = amount + 1 WHERE txn_id BETWEEN 100 AND 150;
		DELETE FROM public.sales WHERE txn_id BETWEEN 400 AND 420;
	});
	# the oracle: cells vs a from-scratch GROUP BY, both ways, whole segments
	# (count, exact sums, min, max, lineage, checksum) ...
	my $oracle = q{
		WITH fresh AS (
			SELECT s.org_id, r.brand_id, date_trunc('day', s.sold_at, 'Asia/Seoul') AS period,
			       segroll.segment_agg(s.txn_id, s.sold_at, s.amount, s.qty) AS seg
			FROM public.sales s LEFT JOIN ref.item r ON r.item_id = s.item_id GROUP BY 1, 2, 3)
		SELECT count(*) FROM (
			(SELECT * FROM fresh EXCEPT ALL SELECT org_id, brand_id, period, seg FROM segroll_data.sales_daily)
			UNION ALL
			(SELECT org_id, brand_id, period, seg FROM segroll_data.sales_daily EXCEPT ALL SELECT * FROM fresh)) d};
	# ... and the figures read out of them, against plain aggregates
	my $figures = q{
		WITH fresh AS (
			SELECT s.org_id, r.brand_id, date_trunc('day', s.sold_at, 'Asia/Seoul') AS period,
			       count(*) AS n, sum(s.amount) AS amount_sum, min(s.amount) AS amount_min, max(s.amount) AS amount_max,
			       sum(s.qty)::numeric AS qty_sum, min(s.qty)::numeric AS qty_min, max(s.qty)::numeric AS qty_max
			FROM public.sales s LEFT JOIN ref.item r ON r.item_id = s.item_id GROUP BY 1, 2, 3),
		cells AS (
			SELECT org_id, brand_id, period, segroll.count(seg),
			       segroll.sum(seg, 1), segroll.min(seg, 1), segroll.max(seg, 1),
			       segroll.sum(seg, 2), segroll.min(seg, 2), segroll.max(seg, 2)
			FROM segroll_data.sales_daily)
		SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT * FROM cells)
		                      UNION ALL (SELECT * FROM cells EXCEPT ALL SELECT * FROM fresh)) d};
	my $fingerprint = q{
		SELECT count(*) || ':' || md5(string_agg(format('%s|%s|%s|%s', org_id, brand_id, period,
		                                                encode(segroll.segment_send(seg), 'hex')), ','
		                  ORDER BY org_id, brand_id, period))
		FROM segroll_data.sales_daily};
	my $has_verify = q{SELECT count(*) > 0 FROM pg_proc WHERE proname = 'verify' AND pronamespace = 'segroll'::regnamespace};
	my $verify = q{SELECT count(*) FROM segroll.verify('sales_daily', '2026-10-01', '2027-01-01')};

	cmp_ok($node->safe_psql('data', q{SELECT segroll.rollup('sales_daily')}), '>', 0, "$data_version: roll-up applies changes");
	is($node->safe_psql('data', $oracle), '0', "$data_version: cells equal a from-scratch GROUP BY");
	is($node->safe_psql('data', $figures), '0', "$data_version: count, sums, min and max of each measure are exact");
	if ($node->safe_psql('data', $has_verify) eq 't')
	{
		is($node->safe_psql('data', $verify), '0', "$data_version: verify finds nothing");
	}

	# pending at update time: changes captured by the old version's triggers
	$node->safe_psql('data', q{
		INSERT INTO public.sales VALUES (5001, '2026-11-02 10:00+09', 1, 7, 9.99, 3);
		UPDATE public.sales SET org_id = 2 WHERE txn_id BETWEEN 200 AND 210;
		DELETE FROM public.sales WHERE txn_id = 500;
	});
	$node->safe_psql('data', 'ALTER EXTENSION segroll UPDATE');
	is($node->safe_psql('data', q{SELECT extversion FROM pg_extension WHERE extname = 'segroll'}), $default,
		"ALTER EXTENSION segroll UPDATE from $data_version with a segmentation reaches $default");

	$node->safe_psql('data', q{
		INSERT INTO public.sales SELECT g, '2026-11-04 00:00+09'::timestamptz + g * interval '5 minutes', g % 3,
		       g % 110, (g % 77) / 4.0, g % 7 FROM generate_series(6001, 6500) g;
		INSERT INTO public.sales VALUES (6501, '2026-11-01 03:00+09', 0, 3, 123.45, 1);	-- late
		UPDATE public.sales SET amount = 99999 WHERE txn_id = 1000;	-- a new maximum
		UPDATE public.sales SET amount = amount - 1 WHERE txn_id BETWEEN 3000 AND 3100;
		UPDATE public.sales SET sold_at = sold_at - interval '2 days' WHERE txn_id BETWEEN 300 AND 305;
		UPDATE public.sales SET item_id = 7 WHERE txn_id = 101;	-- becomes mapped
		DELETE FROM public.sales WHERE txn_id BETWEEN 2000 AND 2100;
		DELETE FROM public.sales WHERE org_id = 1 AND sold_at < '2026-11-02 00:00+09';	-- whole cells
	});
	# the update gave the segmentation its live view (issue 16): with the
	# changes above pending, logged before and after the update, its counts
	# and sums equal a from-scratch GROUP BY
	my $live = q{
		WITH fresh AS (
			SELECT s.org_id, r.brand_id, date_trunc('day', s.sold_at, 'Asia/Seoul') AS period,
			       count(*)::numeric AS n, sum(s.amount) AS amount_sum, sum(s.qty)::numeric AS qty_sum
			FROM public.sales s LEFT JOIN ref.item r ON r.item_id = s.item_id GROUP BY 1, 2, 3),
		live AS (
			SELECT org_id, brand_id, period, sum(count), sum(amount_sum), sum(qty_sum)
			FROM segroll_data.sales_daily_live GROUP BY 1, 2, 3)
		SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT * FROM live)
		                      UNION ALL (SELECT * FROM live EXCEPT ALL SELECT * FROM fresh)) d};
	cmp_ok($node->safe_psql('data', q{SELECT pending_changes FROM segroll.status WHERE name = 'sales_daily'}), '>', 0,
		"$default: changes are pending");
	is($node->safe_psql('data', $live), '0', "$default: the live view made by the update equals a from-scratch GROUP BY");
	cmp_ok($node->safe_psql('data', q{SELECT segroll.rollup('sales_daily')}), '>', 0, "$default: roll-up applies changes after the update");
	is($node->safe_psql('data', q{SELECT pending_changes FROM segroll.status WHERE name = 'sales_daily'}), '0',
		"$default: nothing left pending");
	is($node->safe_psql('data', $oracle), '0', "$default: cells still equal a from-scratch GROUP BY");
	is($node->safe_psql('data', $figures), '0', "$default: count, sums, min and max of each measure still exact");
	$node->safe_psql('data', q{UPDATE public.sales SET amount = 1 WHERE txn_id = 1000});	# the maximum goes away
	$node->safe_psql('data', q{SELECT segroll.rollup('sales_daily')});
	is($node->safe_psql('data', $figures), '0', "$default: removing a cell's maximum recomputes it");
	if ($node->safe_psql('data', $has_verify) eq 't')
	{
		is($node->safe_psql('data', $verify), '0', "$default: verify finds nothing");
	}
	my $before = $node->safe_psql('data', $fingerprint);
	$node->safe_psql('data', q{SELECT segroll.rebuild('sales_daily')});
	is($node->safe_psql('data', $fingerprint), $before, "$default: rebuild() gives the very cells roll-up kept");
	is($node->safe_psql('data', $oracle), '0', "$default: and they equal a from-scratch GROUP BY");

	# the updated segmentation's cells move their lineage to blocks when they
	# grow past the limit (its lineage table was made by the update)
	$node->safe_psql('data', q{
		SET segroll.inline_lineage_limit = 20;
		SET segroll.lineage_block_keys = 4;
		INSERT INTO public.sales SELECT g, '2026-11-02 00:00+09'::timestamptz + g * interval '1 minute', g % 3,
		       g % 110, (g % 91) / 4.0, g % 6 FROM generate_series(7001, 7400) g;
		UPDATE public.sales SET qty = qty + 1 WHERE txn_id BETWEEN 3500 AND 3550;
		SELECT segroll.rollup('sales_daily');
	});
	is($node->safe_psql('data', q{SELECT count(*) > 0 FROM segroll_data.sales_daily WHERE NOT segroll.has_lineage(seg)}), 't',
		"$default: cells of the updated segmentation keep their lineage in blocks");
	(my $oracle_segments = $oracle) =~ s/segroll_data\.sales_daily\b/segroll_data.sales_daily_segments/g;
	is($node->safe_psql('data', $oracle_segments), '0', "$default: and, read whole, equal a from-scratch GROUP BY");
	is($node->safe_psql('data', $figures), '0', "$default: their heads' figures are exact");
	is($node->safe_psql('data', q{SELECT count(*) FROM segroll.verify('sales_daily', '-infinity', 'infinity', 'full')}), '0',
		"$default: verify (full) finds nothing");
}

$node->stop;
done_testing();
