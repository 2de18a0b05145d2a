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

/* A segmentation's definition, for a caller that must own it (be a member of its owner). */
CREATE OR REPLACE FUNCTION @extschema@._owned_definition(seg_name pg_catalog.text)
RETURNS @extschema@.segmentation
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(seg_name);
BEGIN
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be owner of segmentation "%"', seg_name USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN def;
END
$$;

/*
 * The inner routines of the C entry points (rollup(), rebuild(), repair(),
 * purge_source()) run as the segmentation's owner, in a security-restricted
 * operation that owner code cannot leave with SET or RESET ROLE; called any
 * other way, they refuse.
 */
CREATE OR REPLACE FUNCTION @extschema@._require_owner_context(def @extschema@.segmentation,
	inner_routine pg_catalog.text, entry_point pg_catalog.text)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION '% must be called through %', inner_routine, entry_point
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;
