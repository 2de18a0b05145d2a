/*
 * segroll installs only into a schema nobody else can have prepared.
 * CREATE EXTENSION adopts an existing schema named in the control file; a
 * role that made it first, or that may create objects in it, could add
 * overloads (verify(text, text, text, text), ...) that a caller's literals
 * of type unknown resolve to, and so run its code as that caller, a
 * superuser included (the shape of CVE-2023-39417).  So the schema must be
 * owned by a superuser (CREATE EXTENSION made it, or a superuser did, as a
 * pg_dump restore does), be empty, and let no other role create in it.
 */
DO $$
DECLARE
	nsp pg_catalog.regnamespace := '@extschema@'::pg_catalog.regnamespace;
	owner_role pg_catalog.regrole;
	creator pg_catalog.text;
BEGIN
	SELECT n.nspowner INTO owner_role FROM pg_catalog.pg_namespace n WHERE n.oid OPERATOR(pg_catalog.=) nsp;
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) owner_role) THEN
		RAISE EXCEPTION 'schema % belongs to %, who is not a superuser', nsp, owner_role
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Its owner could have put objects in it that segroll''s callers would run.',
			      HINT = 'Drop the schema (after checking what is in it), or let a superuser own it, then CREATE EXTENSION segroll again.';
	END IF;
	SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE a.grantee::pg_catalog.regrole::pg_catalog.text END
	INTO creator
	FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
	WHERE n.oid OPERATOR(pg_catalog.=) nsp AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
	  AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'role % may create objects in schema %', creator, nsp
			USING ERRCODE = 'insufficient_privilege',
			      HINT = pg_catalog.format('REVOKE CREATE ON SCHEMA %s FROM %s, then CREATE EXTENSION segroll again.',
			                               nsp, creator);
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_depend d
	           WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
	             AND d.refobjid OPERATOR(pg_catalog.=) nsp AND d.deptype OPERATOR(pg_catalog.=) 'n'
	             -- the extension being created depends on its schema too
	             AND d.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_extension'::pg_catalog.regclass) THEN
		RAISE EXCEPTION 'schema % is not empty', nsp
			USING ERRCODE = 'invalid_schema_definition',
			      DETAIL = 'segroll installs only into a schema it has to itself.',
			      HINT = 'Move or drop what is in it, then CREATE EXTENSION segroll again.';
	END IF;
END
$$;

/*
 * The same for segroll_data, where segmentations keep their objects: its
 * owner could drop or replace any of them.  It may exist already (a pg_dump
 * restore creates it first), owned by a superuser.
 */
DO $$
DECLARE
	owner_role pg_catalog.regrole;
BEGIN
	SELECT n.nspowner INTO owner_role FROM pg_catalog.pg_namespace n
	WHERE n.nspname OPERATOR(pg_catalog.=) 'segroll_data';
	IF FOUND AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) owner_role) THEN
		RAISE EXCEPTION 'schema segroll_data belongs to %, who is not a superuser', owner_role
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Its owner could drop or replace every segmentation''s cells, views and capture functions.',
			      HINT = 'Let a superuser own it (ALTER SCHEMA segroll_data OWNER TO ...), then CREATE EXTENSION segroll again.';
	END IF;
END
$$;
