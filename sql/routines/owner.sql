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
	IF NOT FOUND AND segroll._on_citus_worker() THEN
		-- Citus sends a whole query to the worker of the one shard it reads,
		-- segroll's calls in it included; the catalog is on the coordinator
		RAISE EXCEPTION 'segmentation "%" does not exist on this Citus worker', seg_name USING ERRCODE = 'undefined_object',
			DETAIL = 'segroll''s catalog is on the coordinator; Citus ran this call on a worker, with the query on one shard that contains it.',
			HINT = 'Call the segroll function in a query of its own, with the segment or cell it needs read by another query first.';
	ELSIF NOT FOUND THEN
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

/*
 * The schema a segmentation's objects go to (cells, views, adjustments;
 * for a new source also its change log and capture functions), created
 * for the caller if missing.  Its owner may drop or replace anything in
 * it, so it must be the caller (or a role the caller is a member of) or a
 * superuser: segroll_data belongs to the superuser who installed segroll,
 * and segroll_admin may create in it.
 */
CREATE OR REPLACE FUNCTION @extschema@._cells_schema(sch pg_catalog.name)
RETURNS pg_catalog.regnamespace
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	nsp regnamespace;
	owner_role regrole;
BEGIN
	IF sch IS NULL THEN
		RAISE EXCEPTION 'cells_schema must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF sch = '' THEN
		RAISE EXCEPTION 'invalid cells schema name ""' USING ERRCODE = 'invalid_name';
	END IF;
	nsp := to_regnamespace(quote_ident(sch));
	IF nsp IS NULL THEN
		EXECUTE format('CREATE SCHEMA %I', sch);
		nsp := to_regnamespace(quote_ident(sch));
	END IF;
	SELECT n.nspowner INTO owner_role FROM pg_namespace n WHERE n.oid = nsp;
	IF NOT pg_has_role(owner_role, 'MEMBER') AND NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = owner_role) THEN
		RAISE EXCEPTION 'schema % belongs to %, who could drop or replace this segmentation''s objects', nsp, owner_role
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Use segroll_data (owned by a superuser) or a schema you own as cells_schema.';
	END IF;
	RETURN nsp;
END
$$;

/*
 * The companions of a segmentation's cells table, named <name><suffix> in
 * its schema (_adjustments, _lineage, _segments): where they are, and who
 * they belong to.
 */
CREATE OR REPLACE FUNCTION @extschema@._beside_cells(def @extschema@.segmentation, suffix pg_catalog.text)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.to_regclass(pg_catalog.format('%I.%I', n.nspname, def.name OPERATOR(pg_catalog.||) suffix))
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	WHERE c.oid OPERATOR(pg_catalog.=) def.cells
$$;

/* A new companion: the cells' owner owns it, and readers read it. */
CREATE OR REPLACE FUNCTION @extschema@._like_cells(def @extschema@.segmentation, rel pg_catalog.regclass)
RETURNS pg_catalog.regclass LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF (SELECT relowner FROM pg_class WHERE oid = rel) <> (SELECT relowner FROM pg_class WHERE oid = def.cells) THEN
		EXECUTE format('ALTER TABLE %s OWNER TO %s', rel, (SELECT relowner::regrole FROM pg_class WHERE oid = def.cells));
	END IF;
	EXECUTE format('GRANT SELECT ON %s TO segroll_reader', rel);
	RETURN rel;
END
$$;

/* The cells table's dimension columns, in table order, with their types. */
CREATE OR REPLACE FUNCTION @extschema@._cell_dimensions(def @extschema@.segmentation)
RETURNS TABLE (name pg_catalog.name, type pg_catalog.text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
	FROM pg_catalog.pg_attribute a
	WHERE a.attrelid OPERATOR(pg_catalog.=) def.cells AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
	  AND a.attname OPERATOR(pg_catalog.<>) ALL (ARRAY['period', 'seg']::pg_catalog.name[])
	ORDER BY a.attnum
$$;
