/*
 * Changing a segmentation's dimensions, grain, measures or lineage makes a
 * new version: a segmentation of its own over the same source, named
 * <name>__v<n>, built from the source in the background (its progress is
 * in segroll.status).  The current version keeps answering queries under
 * <name> until switch_version() swaps the names of the two, catalog rows
 * and tables alike, in one transaction.  The old version is kept under
 * <name>__v<n> (and keeps rolling up) or dropped.
 */

CREATE OR REPLACE FUNCTION @extschema@.create_version(
	name pg_catalog.text,
	dimensions pg_catalog.text[] DEFAULT NULL,
	grain pg_catalog.text DEFAULT NULL,
	measures pg_catalog.text[] DEFAULT NULL,
	lineage pg_catalog.bool DEFAULT NULL,
	schedule pg_catalog.text DEFAULT 'continuous')
RETURNS pg_catalog.text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	n int;
	vname text;
	dims text[];
	meas text[];
BEGIN
	-- NULL dimensions, grain, measures or lineage: the current version's
	PERFORM segroll._require_arg(name, 'name', 'create_version');
	PERFORM segroll._require_arg(schedule, 'schedule', 'create_version');
	def := segroll._owned_definition(name);
	IF EXISTS (SELECT 1 FROM segroll.segmentation_version v WHERE v.segmentation = def.name AND v.state <> 'current') THEN
		RAISE EXCEPTION '"%" is itself a version of a segmentation', name USING ERRCODE = 'wrong_object_type',
			HINT = 'Make new versions of the segmentation that answers under the name.';
	END IF;
	IF EXISTS (SELECT 1 FROM segroll.segmentation_version v WHERE v.name = def.name AND v.state = 'building') THEN
		RAISE EXCEPTION 'segmentation "%" already has a version being built', name USING ERRCODE = 'object_in_use',
			HINT = 'Switch to it with segroll.switch_version(), or drop it with segroll.drop_segmentation().';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM segroll.segmentation_version v WHERE v.name = def.name) THEN
		INSERT INTO segroll.segmentation_version (name, version, segmentation, state, created_at)
		VALUES (def.name, 1, def.name, 'current', def.created_at);
	END IF;
	IF EXISTS (SELECT 1 FROM segroll.purge_log l WHERE l.source = def.source) THEN
		RAISE WARNING 'rows of % before % were purged: version % of segmentation "%" will have no cells for them',
			def.source, (SELECT max(l.purged_before) FROM segroll.purge_log l WHERE l.source = def.source),
			(SELECT max(v.version) + 1 FROM segroll.segmentation_version v WHERE v.name = def.name), name
			USING HINT = 'Keep the current version (switch_version keeps it by default) to keep those periods.';
	END IF;
	n := (SELECT max(v.version) + 1 FROM segroll.segmentation_version v WHERE v.name = def.name);
	vname := def.name || '__v' || n;
	dims := coalesce(dimensions, ARRAY(
		SELECT CASE WHEN d ? 'column' THEN d->>'column'
		            ELSE format('%I=%s.%I ON %I=%I', d->>'name', d->>'table', d->>'value', d->>'on', d->>'key') END
		FROM jsonb_array_elements(def.dimensions) d));
	meas := coalesce(measures, def.measures::text[]
	                 || ARRAY(SELECT format('distinct(%s)', d) FROM unnest(def.distinct_measures) d));
	-- the new version starts empty and is built by the roll-up
	PERFORM segroll.create_segmentation(vname, def.source, def.key_column, def.time_column,
		coalesce(grain, def.grain), def.time_zone, dims, meas, coalesce(lineage, def.lineage),
		schedule, false,
		(SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells));
	UPDATE segroll.segmentation s SET mapping = def.mapping WHERE s.name = vname;
	INSERT INTO segroll.segmentation_version (name, version, segmentation, state) VALUES (def.name, n, vname, 'building');
	PERFORM segroll._log(def.name, 'create version', NULL, NULL,
		jsonb_build_object('version', n, 'segmentation', vname, 'dimensions', to_jsonb(dims),
		                   'grain', coalesce(grain, def.grain), 'measures', to_jsonb(meas),
		                   'lineage', coalesce(lineage, def.lineage)));
	RETURN vname;
END
$$;
COMMENT ON FUNCTION @extschema@.create_version(pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.text[],
	pg_catalog.bool, pg_catalog.text) IS
	'starts a new version of a segmentation with other dimensions, grain, measures or lineage, built in the background; returns its name';

/* Renames a segmentation and everything that carries its name. */
CREATE OR REPLACE FUNCTION @extschema@._rename_segmentation(old_name pg_catalog.text, new_name pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(old_name);
	adj regclass := segroll._adjustments(def);
	blocks regclass := segroll._lineage_blocks(def);
	segments regclass := segroll._segments_view(def);
	live regclass := segroll._live_view(def);
BEGIN
	EXECUTE format('ALTER TABLE %s RENAME TO %I', def.cells, new_name);
	EXECUTE format('ALTER VIEW %s RENAME TO %I', def.bi_view, new_name || '_v');
	EXECUTE format('ALTER VIEW %s RENAME TO %I', def.unmapped_view, new_name || '_unmapped');
	IF adj IS NOT NULL THEN
		EXECUTE format('ALTER TABLE %s RENAME TO %I', adj, new_name || '_adjustments');
	END IF;
	IF blocks IS NOT NULL THEN
		EXECUTE format('ALTER TABLE %s RENAME TO %I', blocks, new_name || '_lineage');
	END IF;
	IF segments IS NOT NULL THEN
		EXECUTE format('ALTER VIEW %s RENAME TO %I', segments, new_name || '_segments');
	END IF;
	IF live IS NOT NULL THEN
		EXECUTE format('ALTER VIEW %s RENAME TO %I', live, new_name || '_live');
	END IF;
	UPDATE segroll.segmentation s SET name = new_name WHERE s.name = old_name;
	-- the roll-up SQL names the tables
	UPDATE segroll.segmentation s
	SET apply_sql = segroll._generate_apply(s, segroll._adjustments(s))
	WHERE s.name = new_name;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.switch_version(name pg_catalog.text, keep_old pg_catalog.bool DEFAULT true)
RETURNS pg_catalog.text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	cur segroll.segmentation_version;
	nxt segroll.segmentation_version;
	retired_name text;
	t0 timestamptz := clock_timestamp();
BEGIN
	PERFORM segroll._require_arg(name, 'name', 'switch_version');
	PERFORM segroll._require_arg(keep_old, 'keep_old', 'switch_version');
	def := segroll._owned_definition(name);
	SELECT * INTO nxt FROM segroll.segmentation_version v WHERE v.name = def.name AND v.state = 'building' FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" has no version being built', name USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Start one with segroll.create_version().';
	END IF;
	SELECT * INTO cur FROM segroll.segmentation_version v WHERE v.name = def.name AND v.state = 'current' FOR UPDATE;
	-- the new version must hold every change the current one holds
	PERFORM segroll.rollup(nxt.segmentation);
	IF (SELECT p.applied_upto FROM segroll.progress p WHERE p.name = nxt.segmentation)
	   < (SELECT p.applied_upto FROM segroll.progress p WHERE p.name = cur.segmentation) THEN
		RAISE EXCEPTION 'version % of segmentation "%" is not built yet', nxt.version, name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Wait until segroll.status shows it idle, or CALL segroll.backfill() on it.';
	END IF;
	-- no roll-up of either meanwhile; readers see one version or the other
	PERFORM 1 FROM segroll.progress p WHERE p.name IN (cur.segmentation, nxt.segmentation) ORDER BY p.name FOR UPDATE;
	retired_name := def.name || '__v' || cur.version;
	PERFORM segroll._rename_segmentation(cur.segmentation, retired_name);
	PERFORM segroll._rename_segmentation(nxt.segmentation, def.name);
	-- the closed periods stay closed
	INSERT INTO segroll.closed_period (name, closed_upto)
	SELECT def.name, c.closed_upto FROM segroll.closed_period c WHERE c.name = retired_name;
	UPDATE segroll.segmentation_version v SET state = 'retired', switched_at = now()
	WHERE v.name = def.name AND v.version = cur.version;
	UPDATE segroll.segmentation_version v SET state = 'current', switched_at = now()
	WHERE v.name = def.name AND v.version = nxt.version;
	PERFORM segroll._log(def.name, 'switch version', NULL, t0,
		jsonb_build_object('from_version', cur.version, 'to_version', nxt.version, 'kept_as', CASE WHEN keep_old THEN retired_name END));
	IF NOT keep_old THEN
		PERFORM segroll.drop_segmentation(retired_name);
	END IF;
	RETURN def.name;
END
$$;
COMMENT ON FUNCTION @extschema@.switch_version(pg_catalog.text, pg_catalog.bool) IS
	'makes the version being built answer under the segmentation''s name, atomically; the old one is kept as <name>__v<n> or dropped';
