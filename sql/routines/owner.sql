/*
 * Anyone may read definitions.  Rows are written by the defining functions,
 * which run as their caller: row-level security lets a role register only
 * sources it owns and segmentations it owns, and no role can change the
 * generated SQL of a segmentation after the fact.
 */
CREATE OR REPLACE FUNCTION @extschema@._owns_table(rel pg_catalog.regclass)
RETURNS pg_catalog.bool LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.pg_has_role((SELECT relowner FROM pg_catalog.pg_class WHERE oid = rel), 'USAGE')
$$;

CREATE OR REPLACE FUNCTION @extschema@._definition(seg_name pg_catalog.text)
RETURNS @extschema@.segmentation
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
BEGIN
	SELECT * INTO def FROM segroll.segmentation s WHERE s.name = seg_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', seg_name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN def;
END
$$;
