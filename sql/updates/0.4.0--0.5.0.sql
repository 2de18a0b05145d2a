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
