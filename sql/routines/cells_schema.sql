/*
 * segroll_data, the schema segmentations put their cells, views and change
 * logs in unless they name another: owned by the superuser who installed
 * segroll, so that no segmentation owner can drop or replace another's
 * objects in it (a schema's owner may drop anything in it).  segroll_admin
 * creates in it (privileges.sql).  It is not a member of the extension:
 * DROP EXTENSION leaves the cells, as it always did.
 */
DO $$
BEGIN
	IF pg_catalog.to_regnamespace('segroll_data') IS NULL THEN
		CREATE SCHEMA segroll_data;
		ALTER EXTENSION segroll DROP SCHEMA segroll_data;
		COMMENT ON SCHEMA segroll_data IS 'segroll: cells, views and change logs of segmentations';
	END IF;
END
$$;
