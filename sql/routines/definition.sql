/*
 * Defining, changing and dropping segmentations: their catalog rows, cells,
 * adjustments table and views.  What a definition may say is checked by the
 * compiler (compiler.sql).
 */

/* a continuous schedule without workers deserves a word */
CREATE OR REPLACE FUNCTION @extschema@._warn_without_workers(schedule pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF schedule = 'continuous' AND NOT segroll.workers_available() THEN
		RAISE WARNING 'segroll background workers are not running, so nothing rolls this segmentation up continuously'
			USING HINT = 'Add segroll to shared_preload_libraries and restart, or schedule SELECT segroll.rollup(...) with pg_cron.';
	END IF;
END
$$;

/*
 * The view of the source rows a dimension of def has no value for, with the
 * columns def reads (not s.*: the view would pin every column of the
 * source, and no unused column could be dropped or retyped).  With replace,
 * an existing view is dropped and created again, owned and granted as before.
 */
CREATE OR REPLACE FUNCTION @extschema@._create_unmapped_view(def @extschema@.segmentation, replace pg_catalog.bool)
RETURNS pg_catalog.regclass LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	sch name := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells);
	v name := def.name || '_unmapped';
BEGIN
	IF replace THEN
		EXECUTE format('DROP VIEW %s', def.unmapped_view);
	END IF;
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- q: fragments of segroll._sql()
		EXECUTE format('CREATE VIEW %I.%I AS SELECT %s FROM %s s %s WHERE NOT (%s)',
		               sch, v, segroll._used_columns_sql(def, 's'), def.source, q.joins, q.mapped);
	END;
	IF replace THEN
		EXECUTE format('ALTER VIEW %I.%I OWNER TO %s', sch, v, def.owner);
		EXECUTE format('GRANT SELECT ON %I.%I TO segroll_reader', sch, v);
	END IF;
	RETURN format('%I.%I', sch, v)::regclass;
END
$$;
COMMENT ON FUNCTION @extschema@._create_unmapped_view(@extschema@.segmentation, pg_catalog.bool) IS
	'creates (or re-creates) the view of the source rows a segmentation''s dimensions have no value for';

/*
 * The index on segroll.key_hash(key) of src, or null: how a roll-up,
 * trace and locate find the rows of a segmentation whose lineage holds its
 * keys as hashes.
 */
CREATE OR REPLACE FUNCTION @extschema@._key_hash_index(src pg_catalog.regclass, key pg_catalog.text)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT i.indexrelid::pg_catalog.regclass FROM pg_catalog.pg_index i
	WHERE i.indrelid OPERATOR(pg_catalog.=) src AND i.indnatts OPERATOR(pg_catalog.=) 1 AND i.indpred IS NULL
	  AND i.indexprs IS NOT NULL
	  AND pg_catalog.pg_get_expr(i.indexprs, i.indrelid) OPERATOR(pg_catalog.=) pg_catalog.format('segroll.key_hash(%I)', key)
	ORDER BY i.indexrelid LIMIT 1
$$;

CREATE OR REPLACE FUNCTION @extschema@.create_segmentation(
	name pg_catalog.text,
	source pg_catalog.regclass,
	key pg_catalog.text,
	time_col pg_catalog.text,
	grain pg_catalog.text,
	time_zone pg_catalog.text DEFAULT 'UTC',
	dimensions pg_catalog.text[] DEFAULT '{}',
	measures pg_catalog.text[] DEFAULT '{}',
	lineage pg_catalog.bool DEFAULT true,
	schedule pg_catalog.text DEFAULT 'manual',
	backfill pg_catalog.bool DEFAULT true,
	cells_schema pg_catalog.name DEFAULT 'segroll_data')
RETURNS pg_catalog.regclass
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	seg_name text := create_segmentation.name;
	src regclass := create_segmentation.source;
	compiled jsonb;
	g text;
	dims jsonb := '[]'::jsonb;
	dj jsonb;
	meas name[];
	cells regclass;
	bi regclass;
	unmapped regclass;
	cols text := '';
	bi_cols text := '';
	bi_meas text := '';
	uniq text := '';
	def segroll.segmentation;
	sch text;
	dist_dim text;		-- the dimension cells are distributed by, on a Citus-distributed source
	old_level text;
BEGIN
	-- every argument, before anything runs (arguments.sql)
	PERFORM segroll._require_arg(seg_name, 'name', 'create_segmentation');
	PERFORM segroll._require_arg(src, 'source', 'create_segmentation');
	PERFORM segroll._require_arg(key, 'key', 'create_segmentation');
	PERFORM segroll._require_arg(time_col, 'time_col', 'create_segmentation');
	PERFORM segroll._require_arg(grain, 'grain', 'create_segmentation');
	PERFORM segroll._require_arg(time_zone, 'time_zone', 'create_segmentation');
	PERFORM segroll._require_arg(dimensions, 'dimensions', 'create_segmentation');
	PERFORM segroll._require_arg(measures, 'measures', 'create_segmentation');
	PERFORM segroll._require_arg(lineage, 'lineage', 'create_segmentation');
	PERFORM segroll._require_arg(schedule, 'schedule', 'create_segmentation');
	PERFORM segroll._require_arg(backfill, 'backfill', 'create_segmentation');
	PERFORM segroll._require_arg(cells_schema, 'cells_schema', 'create_segmentation');
	-- name
	IF seg_name IS NULL OR seg_name !~ '^[a-z_][a-z0-9_]{0,39}$' THEN
		RAISE EXCEPTION 'invalid segmentation name "%"', seg_name
			USING ERRCODE = 'invalid_name',
			      HINT = 'Use 1 to 40 lower-case letters, digits and underscores, starting with a letter.';
	END IF;
	IF EXISTS (SELECT 1 FROM segroll.segmentation s WHERE s.name = seg_name) THEN
		RAISE EXCEPTION 'segmentation "%" already exists', seg_name USING ERRCODE = 'duplicate_object';
	END IF;
	-- source: a table the caller owns
	PERFORM segroll._check_source_kind(src);
	IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = src), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', src USING ERRCODE = 'insufficient_privilege',
			HINT = 'Segmentations add a capture column and triggers to their source.';
	END IF;
	-- key and time columns, given as written or double-quoted (_column_named)
	key := coalesce(segroll._column_named(src, key), key);
	time_col := coalesce(segroll._column_named(src, time_col), time_col);
	PERFORM segroll._check_key_and_time(src, key, time_col);
	-- grain, time zone, dimensions and measures
	compiled := segroll._compile_definition(src, grain, time_zone, dimensions, measures);
	g := compiled->>'grain';
	PERFORM segroll._check_time_grain(src, time_col, g);
	dims := compiled->'dimensions';
	meas := ARRAY(SELECT jsonb_array_elements_text(compiled->'measures'))::name[];
	def.distinct_measures := ARRAY(SELECT jsonb_array_elements_text(compiled->'distinct'))::name[];
	PERFORM segroll._check_schedule(schedule);
	IF segroll._distribution_column(src) IS NOT NULL THEN
		dist_dim := segroll._check_distributed_source(src, dims);
	END IF;
	-- the cells schema: one the caller owns, or segroll_data (a superuser's)
	sch := segroll._cells_schema(cells_schema)::text;

	-- capture, once per source
	IF NOT EXISTS (SELECT FROM segroll.source WHERE relid = src) THEN
		PERFORM segroll._add_capture(src, key, sch::regnamespace);
	END IF;

	-- the indexes that find the source's rows (capture index; the key's
	-- hash for a key lineage holds hashed); without a backfill they are left
	-- to backfill() when this transaction holds ADD COLUMN's lock to commit
	IF create_segmentation.backfill OR segroll._capture_index(src) IS NOT NULL THEN
		PERFORM segroll._build_capture_index(src, key);
	ELSE
		RAISE NOTICE 'the capture index of % is built by segroll.backfill(), or now without blocking writers', src
			USING HINT = format('CREATE INDEX CONCURRENTLY ON %s USING brin (segroll_seq) WITH (pages_per_range = 16)', src);
	END IF;

	-- cells: one row per dimension values x period
	FOR dj IN SELECT * FROM jsonb_array_elements(dims) LOOP
		-- on a distributed source, a dimension whose column is NOT NULL is
		-- NOT NULL in the cells: their unique index is then their replica
		-- identity (_distribute_with_source)
		cols := cols || format('%I %s%s, ', dj->>'name', format_type(segroll._dimension_type(src, dj), NULL),
		                       CASE WHEN dist_dim IS NOT NULL AND (SELECT a.attnotnull FROM pg_attribute a
		                                                            WHERE a.attrelid = src AND a.attname = dj->>'column')
		                            THEN ' NOT NULL' ELSE '' END);
		uniq := uniq || format('%I, ', dj->>'name');
		bi_cols := bi_cols || format('c.%I, ', dj->>'name');
	END LOOP;
	-- the definition so far, for the compiler's SQL fragments
	def.name := seg_name; def.source := src; def.key_column := key; def.time_column := time_col;
	def.grain := g; def.time_zone := time_zone; def.dimensions := dims; def.measures := meas;
	def.lineage := lineage; def.owner := current_user::regrole; def.schedule := schedule;
	EXECUTE format('CREATE TABLE %s.%I (%s period pg_catalog.timestamptz NOT NULL, seg segroll.segment NOT NULL)',
	               sch, seg_name, cols);
	cells := format('%s.%I', sch, seg_name)::regclass;
	EXECUTE format('CREATE UNIQUE INDEX ON %s (%s period) NULLS NOT DISTINCT', cells, uniq);
	EXECUTE format('CREATE INDEX ON %s (period)', cells);
	-- no planner statistics on segments (see _create_lineage_blocks)
	EXECUTE format('ALTER TABLE %s ALTER COLUMN seg SET STATISTICS 0', cells);
	IF dist_dim IS NOT NULL THEN
		PERFORM segroll._distribute_with_source(cells, src, dist_dim);
	END IF;

	-- the plain view BI tools read
	FOR i IN 1 .. coalesce(array_length(meas, 1), 0) LOOP
		bi_meas := bi_meas || format(', segroll.sum(c.seg, %s) AS %I, segroll.min(c.seg, %s) AS %I, segroll.max(c.seg, %s) AS %I',
		                             i, meas[i] || '_sum', i, meas[i] || '_min', i, meas[i] || '_max');
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(def.distinct_measures, 1), 0) LOOP
		bi_meas := bi_meas || format(', CASE WHEN segroll.distinct_known(c.seg) THEN segroll.distinct(c.seg, %s) END AS %I',
		                             i, def.distinct_measures[i] || '_distinct');
	END LOOP;
	EXECUTE format('CREATE VIEW %s.%I AS SELECT %s c.period, segroll.count(c.seg) AS count%s FROM %s c',
	               sch, seg_name || '_v', bi_cols, bi_meas, cells);
	bi := format('%s.%I', sch, seg_name || '_v')::regclass;
	def.cells := cells;
	unmapped := segroll._create_unmapped_view(def, false);

	EXECUTE format('CREATE TABLE %s.%I (%s period pg_catalog.timestamptz NOT NULL, added segroll.segment, removed segroll.segment,
	                adjusted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	                from_seq pg_catalog.int8 NOT NULL, to_seq pg_catalog.int8 NOT NULL)',
	               sch, seg_name || '_adjustments', cols);
	EXECUTE format('CREATE INDEX ON %s.%I (period)', sch, seg_name || '_adjustments');
	def.cells := cells; def.bi_view := bi; def.unmapped_view := unmapped;
	IF dist_dim IS NOT NULL THEN
		PERFORM segroll._distribute_with_source(segroll._adjustments(def), src, dist_dim);
		PERFORM segroll._distribute_with_source(segroll._create_lineage_blocks(def), src, dist_dim);
	ELSE
		PERFORM segroll._create_lineage_blocks(def);
	END IF;
	PERFORM segroll._create_segments_view(def);
	IF dist_dim IS NULL THEN
		PERFORM segroll._create_live_view(def);
	ELSE
		-- Citus warns that it keeps the view on the coordinator only, as
		-- it reads segroll's catalog there (node_progress): that is where
		-- it is read
		old_level := current_setting('client_min_messages');
		PERFORM set_config('client_min_messages', 'error', true);
		PERFORM segroll._create_live_view(def);
		PERFORM set_config('client_min_messages', old_level, true);
	END IF;
	def.apply_sql := segroll._generate_apply(def, format('%s.%I', sch, seg_name || '_adjustments')::regclass);
	INSERT INTO segroll.segmentation (name, source, key_column, time_column, grain, time_zone, dimensions,
	                                  measures, lineage, cells, bi_view, unmapped_view, owner, schedule, apply_sql,
	                                  distinct_measures)
	VALUES (def.name, def.source, def.key_column, def.time_column, def.grain, def.time_zone, def.dimensions,
	        def.measures, def.lineage, def.cells, def.bi_view, def.unmapped_view, def.owner, def.schedule,
	        def.apply_sql, def.distinct_measures);
	INSERT INTO segroll.progress (name, owner) VALUES (seg_name, current_user::regrole);

	IF backfill THEN
		PERFORM segroll.rollup(seg_name);
	END IF;
	PERFORM segroll._replace_bi_view(s) FROM segroll.segmentation s WHERE s.name = seg_name;
	-- readers read every segmentation's cells and views
	IF pg_has_role((SELECT nspowner FROM pg_namespace WHERE oid = to_regnamespace(sch)), 'USAGE') THEN
		EXECUTE format('GRANT USAGE ON SCHEMA %s TO segroll_reader', sch);
	END IF;
	EXECUTE format('GRANT SELECT ON %s, %s, %s, %s.%I TO segroll_reader', cells, bi, unmapped, sch, seg_name || '_adjustments');
	-- readers of a cell's lineage read its blocks too (_create_lineage_blocks)
	PERFORM segroll._log(seg_name, 'create segmentation', NULL, NULL,
		jsonb_build_object('source', src::text, 'key', key, 'time_column', time_col, 'grain', g,
		                   'time_zone', time_zone, 'dimensions', dims, 'measures', to_jsonb(meas),
		                   'distinct', to_jsonb(def.distinct_measures),
		                   'lineage', lineage, 'schedule', schedule, 'cells', cells::text));
	PERFORM segroll._warn_without_workers(create_segmentation.schedule);
	RETURN cells;
END
$$;
COMMENT ON FUNCTION @extschema@.create_segmentation(pg_catalog.text, pg_catalog.regclass, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.bool, pg_catalog.text,
	pg_catalog.bool, pg_catalog.name) IS
	'defines a segmentation over a source table, creates its cells and views, and backfills existing rows';

/* DROP VIEW or DROP TABLE of a relation given by OID, if it still exists. */
CREATE OR REPLACE FUNCTION @extschema@._drop_if_exists(kind pg_catalog.text, rel pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF rel IS NULL OR NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = rel) THEN
		RETURN;
	ELSIF kind = 'VIEW' THEN
		EXECUTE format('DROP VIEW %s', rel);
	ELSIF kind = 'TABLE' THEN
		EXECUTE format('DROP TABLE %s', rel);
	ELSE
		RAISE EXCEPTION 'unknown relation kind %', kind USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._drop_if_exists(pg_catalog.text, pg_catalog.regclass) IS
	'drops a view or table named by OID when it still exists (drop_segmentation)';

CREATE OR REPLACE FUNCTION @extschema@.drop_segmentation(name pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	src segroll.source;
BEGIN
	PERFORM segroll._require_arg(drop_segmentation.name, 'name', 'drop_segmentation');
	def := segroll._owned_definition(drop_segmentation.name);
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	-- the views and the cells by OID: only those that still exist (a source
	-- dropped with its schema before segroll guarded it took its views along)
	PERFORM segroll._drop_if_exists('VIEW', def.bi_view);
	PERFORM segroll._drop_if_exists('VIEW', def.unmapped_view);
	IF segroll._live_view(def) IS NOT NULL THEN
		EXECUTE format('DROP VIEW %s', segroll._live_view(def));
	END IF;
	IF segroll._adjustments(def) IS NOT NULL THEN
		EXECUTE format('DROP TABLE %s', segroll._adjustments(def));
	END IF;
	IF segroll._segments_view(def) IS NOT NULL THEN
		EXECUTE format('DROP VIEW %s', segroll._segments_view(def));
	END IF;
	IF segroll._lineage_blocks(def) IS NOT NULL THEN
		EXECUTE format('DROP TABLE %s', segroll._lineage_blocks(def));
	END IF;
	PERFORM segroll._drop_if_exists('TABLE', def.cells);
	DELETE FROM segroll.progress p WHERE p.name = def.name;
	DELETE FROM segroll.segmentation s WHERE s.name = def.name;
	PERFORM segroll._log(def.name, 'drop segmentation', NULL, NULL, jsonb_build_object('source', def.source::text));
	-- the last segmentation of a source takes its capture with it
	IF NOT EXISTS (SELECT 1 FROM segroll.segmentation s WHERE s.source = def.source) THEN
		SELECT * INTO src FROM segroll.source WHERE relid = def.source;
		PERFORM segroll._remove_capture(def.source);
		IF segroll._key_hash_index(def.source, def.key_column) IS NOT NULL THEN
			EXECUTE format('DROP INDEX %s', segroll._key_hash_index(def.source, def.key_column));
		END IF;
		EXECUTE format('DROP TABLE IF EXISTS %s', src.change_log);
		IF segroll._distribution_column(def.source) IS NOT NULL THEN
			-- Citus drops the nodes' copies of the sequence only when the
			-- sequence itself is dropped (distributed.sql)
			EXECUTE format('ALTER TABLE %s ALTER COLUMN segroll_seq DROP DEFAULT', def.source);
			EXECUTE format('DROP SEQUENCE %s', src.seq);
		END IF;
		EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS segroll_seq', def.source);
		DELETE FROM segroll.source WHERE relid = def.source;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_segmentation(pg_catalog.text) IS
	'drops a segmentation, its cells and views; the last one of a source also removes the capture column and triggers';

CREATE OR REPLACE FUNCTION @extschema@.alter_segmentation(name pg_catalog.text, schedule pg_catalog.text DEFAULT NULL,
	mapping pg_catalog.text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
BEGIN
	-- NULL schedule or mapping: unchanged
	PERFORM segroll._require_arg(name, 'name', 'alter_segmentation');
	def := segroll._definition(name);
	IF schedule IS NOT NULL THEN
		PERFORM segroll._check_schedule(schedule);
	END IF;
	IF mapping IS NOT NULL AND mapping NOT IN ('as-was', 'as-is') THEN
		RAISE EXCEPTION 'invalid mapping "%"', mapping USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use as-was (cells keep the mapping of their roll-up) or as-is (cells follow the reference data).';
	END IF;
	UPDATE segroll.segmentation s
	SET schedule = coalesce(alter_segmentation.schedule, s.schedule),
	    mapping = coalesce(alter_segmentation.mapping, s.mapping)
	WHERE s.name = def.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist or is not yours', name USING ERRCODE = 'undefined_object';
	END IF;
	IF mapping IS DISTINCT FROM def.mapping AND mapping = 'as-is' THEN
		-- the next roll-up compares the reference data with the cells' mapping
		UPDATE segroll.progress p SET mapping_fingerprint = 'unknown' WHERE p.name = def.name;
	END IF;
	PERFORM segroll._log(def.name, 'alter segmentation', NULL, NULL,
		jsonb_strip_nulls(jsonb_build_object('schedule', schedule, 'mapping', mapping)));
	IF schedule IS NOT NULL THEN
		PERFORM segroll._warn_without_workers(schedule);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.alter_segmentation(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'changes how a segmentation is rolled up (manual or continuous) and whether its cells follow reference data (as-is) or keep their mapping (as-was)';

CREATE OR REPLACE VIEW @extschema@.segmentations AS
SELECT s.name, s.source, s.key_column, s.time_column, s.grain, s.time_zone,
       ARRAY(SELECT d->>'name' FROM pg_catalog.jsonb_array_elements(s.dimensions) d) AS dimensions,
       s.measures, s.lineage, s.cells, s.bi_view, s.unmapped_view, s.owner, s.schedule, s.created_at,
       s.distinct_measures
FROM @extschema@.segmentation s;
COMMENT ON VIEW @extschema@.segmentations IS 'segmentation definitions, one row each';
