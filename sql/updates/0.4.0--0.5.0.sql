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
