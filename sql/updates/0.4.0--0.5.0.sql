/*
 * segroll 0.4.0 -> 0.5.0: what changes besides the routines.  The update
 * script is this file followed by every file of sql/routines/, re-applied
 * (see the Makefile), so a routine is never written twice.
 */

/*
 * A roll-up (worker, pg_cron) locks the progress table, then the
 * definitions (segroll.rollup() does so first thing).  Taking both in that
 * order before any other lock makes a roll-up either finish before this
 * update or wait for it, never deadlock with it.
 */
LOCK TABLE @extschema@.progress, @extschema@.segmentation IN ACCESS EXCLUSIVE MODE;

-- grants are declared in sql/routines/privileges.sql now
DROP FUNCTION @extschema@._grant_duty(pg_catalog.name, pg_catalog.regprocedure[]);
-- generated from a definition row now (sql/routines/compiler.sql)
DROP FUNCTION @extschema@._generate_apply(pg_catalog.text, pg_catalog.regclass, pg_catalog.regclass,
	pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb,
	pg_catalog.name[], pg_catalog.bool, pg_catalog.regclass);

-- grains are rows of a table now (filled by sql/routines/compiler.sql); the
-- foreign key that replaces the CHECK is added once they are there (.post)
CREATE TABLE @extschema@.grain (
	name         pg_catalog.text PRIMARY KEY,	-- a date_trunc() field
	step         pg_catalog.interval NOT NULL,	-- one period, in local time
	bound        pg_catalog.interval NOT NULL,	-- no period lasts this long (DST included)
	verify_span  pg_catalog.interval NOT NULL	-- verify() goes period by period over ranges up to this
);
COMMENT ON TABLE @extschema@.grain IS 'the periods a segmentation can cut time into';
ALTER TABLE @extschema@.segmentation DROP CONSTRAINT segmentation_grain_check;

-- segroll_data belonged to the first role that created a segmentation, who
-- could drop any other owner's objects in it: it belongs to the superuser
-- running this update now (the objects in it keep their owners)
DO $$
DECLARE
	owner_role pg_catalog.regrole;
BEGIN
	SELECT n.nspowner INTO owner_role FROM pg_catalog.pg_namespace n
	WHERE n.nspname OPERATOR(pg_catalog.=) 'segroll_data';
	IF FOUND AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) owner_role) THEN
		EXECUTE pg_catalog.format('ALTER SCHEMA segroll_data OWNER TO %I', CURRENT_USER);
		EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA segroll_data FROM %s', owner_role);	-- regrole: quoted already
		RAISE WARNING 'schema segroll_data belonged to %; it now belongs to %', owner_role, CURRENT_USER
			USING DETAIL = 'A schema''s owner may drop any object in it, other segmentation owners'' too.',
			      HINT = 'Segmentation owners keep their objects; segroll_admin may create in the schema.';
	END IF;
END
$$;

-- the trace log is written only by the trace entry points, as its owner
-- (src/trace.c): nobody may add entries in their own name any more (the
-- INSERT privilege is revoked by sql/routines/privileges.sql)
DROP POLICY trace_log_add ON @extschema@.trace_log;

-- Distinct measures (issue 17): the dhash type, as sql/install/dhash_type.sql
-- creates it.
CREATE TYPE @extschema@.dhash;
CREATE FUNCTION @extschema@.dhash_in(pg_catalog.cstring)
RETURNS @extschema@.dhash
AS 'MODULE_PATHNAME', 'dhash_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dhash_out(@extschema@.dhash)
RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'dhash_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.dhash (
	INPUT = @extschema@.dhash_in,
	OUTPUT = @extschema@.dhash_out,
	INTERNALLENGTH = 8,
	PASSEDBYVALUE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.dhash IS
	'a value''s 64-bit hash as a segment''s distinct measure holds it (segroll.distinct_hash)';
COMMENT ON FUNCTION @extschema@.dhash_in(pg_catalog.cstring) IS 'input function of dhash: 16 lower-case hexadecimal digits';
COMMENT ON FUNCTION @extschema@.dhash_out(@extschema@.dhash) IS 'output function of dhash: 16 lower-case hexadecimal digits';

-- distinct(column) measures (issue 17), as sql/install/catalog.sql has them
ALTER TABLE @extschema@.segmentation ADD COLUMN distinct_measures pg_catalog.name[] NOT NULL DEFAULT '{}';
