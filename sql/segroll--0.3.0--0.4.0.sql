/* segroll 0.3.0 -> 0.4.0: trace and reconcile; segmentation governance */

\echo Use "ALTER EXTENSION segroll UPDATE TO '0.4.0'" to load this file. \quit

/* ==================================================== trace and reconcile */

/*
 * Trace runs as its caller: it returns only source rows the caller may
 * read, with row-level security and column privileges applied, because it
 * is an ordinary query in the caller's name.  Cells are totals computed
 * with the owner's visibility; verify, repair and purge_source compare and
 * change them as the owner (C entry points, like rollup()).
 */

/* ------------------------------------------------------------ history */

CREATE TABLE @extschema@.history (
	id           pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at           pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	role_name    pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	session_role pg_catalog.name NOT NULL DEFAULT SESSION_USER,
	segmentation pg_catalog.text,
	action       pg_catalog.text NOT NULL,
	rows         pg_catalog.int8,
	duration_ms  pg_catalog.float8,
	detail       pg_catalog.jsonb
);
CREATE INDEX ON @extschema@.history (at);
CREATE INDEX ON @extschema@.history (segmentation, at);
COMMENT ON TABLE @extschema@.history IS
	'who changed what and when: definitions, backfills, rebuilds, repairs, purges, period closes; kept for segroll.history_retention';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_id_seq', '');

/*
 * Anyone may add an entry, but only in their own name (the columns default
 * to the roles in effect, and the policy checks them); nobody but the
 * extension's owner can change or remove entries, except through retention.
 */
GRANT SELECT, INSERT (segmentation, action, rows, duration_ms, detail) ON @extschema@.history TO PUBLIC;
ALTER TABLE @extschema@.history ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_read ON @extschema@.history FOR SELECT USING (true);
CREATE POLICY history_add ON @extschema@.history FOR INSERT
	WITH CHECK (role_name OPERATOR(pg_catalog.=) CURRENT_USER
	            AND session_role OPERATOR(pg_catalog.=) SESSION_USER
	            AND at OPERATOR(pg_catalog.=) pg_catalog.now());

CREATE FUNCTION @extschema@._log(seg_name pg_catalog.text, action pg_catalog.text, nrows pg_catalog.int8,
	started pg_catalog.timestamptz, detail pg_catalog.jsonb)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO segroll.history (segmentation, action, rows, duration_ms, detail)
	VALUES (seg_name, action, nrows,
	        CASE WHEN started IS NOT NULL
	             THEN 1000 OPERATOR(pg_catalog.*) pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started) END,
	        detail)
$$;
COMMENT ON FUNCTION @extschema@._log(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.jsonb) IS
	'records an event in segroll.history in the name of the current role';

/* ------------------------------------------------------------ trace log */

CREATE TABLE @extschema@.trace_log (
	at           pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	role_name    pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	session_role pg_catalog.name NOT NULL DEFAULT SESSION_USER,
	segmentation pg_catalog.text NOT NULL,
	cell         pg_catalog.jsonb NOT NULL,
	keys         pg_catalog.int8 NOT NULL,
	rows_returned pg_catalog.int8 NOT NULL
);
CREATE INDEX ON @extschema@.trace_log (at);
COMMENT ON TABLE @extschema@.trace_log IS
	'every trace: who traced which cell or segment, when, and how many rows it returned';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.trace_log', '');
-- what a role traced is for administrators and auditors to read, not PUBLIC
REVOKE ALL ON @extschema@.trace_log FROM PUBLIC;
GRANT INSERT (segmentation, cell, keys, rows_returned) ON @extschema@.trace_log TO PUBLIC;
ALTER TABLE @extschema@.trace_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY trace_log_add ON @extschema@.trace_log FOR INSERT
	WITH CHECK (role_name OPERATOR(pg_catalog.=) CURRENT_USER
	            AND session_role OPERATOR(pg_catalog.=) SESSION_USER
	            AND at OPERATOR(pg_catalog.=) pg_catalog.now());

/* Retention, for both logs: entries older than segroll.history_retention go. */
CREATE FUNCTION @extschema@._trim_logs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	horizon timestamptz;
BEGIN
	-- load the library first: it defines the setting, and discards a value
	-- an unprivileged role gave its placeholder
	PERFORM segroll.workers_available();
	horizon := now() - current_setting('segroll.history_retention')::interval;
	IF TG_TABLE_NAME = 'history' THEN
		DELETE FROM segroll.history WHERE at < horizon;
	ELSE
		DELETE FROM segroll.trace_log WHERE at < horizon;
	END IF;
	RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._trim_logs() FROM PUBLIC;
CREATE TRIGGER trim AFTER INSERT ON @extschema@.history
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._trim_logs();
CREATE TRIGGER trim AFTER INSERT ON @extschema@.trace_log
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._trim_logs();

/* ------------------------------------------------------------ purges */

CREATE TABLE @extschema@.purge_log (
	source         pg_catalog.regclass NOT NULL REFERENCES @extschema@.source (relid) ON DELETE CASCADE,
	time_column    pg_catalog.name NOT NULL,
	purged_before  pg_catalog.timestamptz NOT NULL,
	purged_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	rows_deleted   pg_catalog.int8 NOT NULL,
	role_name      pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	PRIMARY KEY (source, purged_before)
);
COMMENT ON TABLE @extschema@.purge_log IS
	'raw-data purges: rows of the source older than purged_before were deleted; their cells and lineage remain';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.purge_log', '');
GRANT SELECT ON @extschema@.purge_log TO PUBLIC;
GRANT INSERT ON @extschema@.purge_log TO PUBLIC;
ALTER TABLE @extschema@.purge_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY purge_log_read ON @extschema@.purge_log FOR SELECT USING (true);
CREATE POLICY purge_log_add ON @extschema@.purge_log FOR INSERT WITH CHECK (@extschema@._owns_table(source));

/* A foreign (or any) table that still has the rows a purge removed. */
ALTER TABLE @extschema@.source ADD COLUMN archive pg_catalog.regclass;
GRANT UPDATE (archive) ON @extschema@.source TO PUBLIC;
CREATE POLICY source_change ON @extschema@.source FOR UPDATE
	USING (@extschema@._owns_table(relid)) WITH CHECK (@extschema@._owns_table(relid));

/* ------------------------------------------------------------ capture as the table's owner */

/*
 * Roles that may UPDATE or DELETE a source without owning it (the
 * front-end's application role) need their changes captured too, into a
 * change log and with a sequence they have no rights on.  Each source gets
 * its own capture functions, owned by the table's owner and SECURITY
 * DEFINER with a pinned search_path: they run as the owner, who owns the
 * log and the sequence anyway, so they grant nobody anything new.  Their
 * SQL names the log and the sequence once, statically, so it is planned
 * once per session rather than per row.  The triggers name an extension
 * function in their WHEN clause, so that DROP EXTENSION ... CASCADE drops
 * them as it dropped the triggers on the generic functions before 0.4.0.
 */
CREATE TABLE @extschema@.purging (
	relid  pg_catalog.regclass NOT NULL,
	xid    pg_catalog.xid8 NOT NULL
);
COMMENT ON TABLE @extschema@.purging IS
	'sources segroll.purge_source() is deleting from in a running transaction; their deletes are not captured';
GRANT SELECT, INSERT, DELETE ON @extschema@.purging TO PUBLIC;
ALTER TABLE @extschema@.purging ENABLE ROW LEVEL SECURITY;
CREATE POLICY purging_read ON @extschema@.purging FOR SELECT USING (true);
CREATE POLICY purging_owner ON @extschema@.purging FOR INSERT WITH CHECK (@extschema@._owns_table(relid));
CREATE POLICY purging_done ON @extschema@.purging FOR DELETE USING (@extschema@._owns_table(relid));

CREATE FUNCTION @extschema@._capture_on() RETURNS pg_catalog.bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT true';
COMMENT ON FUNCTION @extschema@._capture_on() IS
	'the WHEN clause of capture triggers: ties them to the extension';

CREATE FUNCTION @extschema@._capture_function(src pg_catalog.regclass, what pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('%I.%I', n.nspname, 'segroll_capture_' OPERATOR(pg_catalog.||) what
	                         OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) src::pg_catalog.oid)
	FROM @extschema@.source s JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.change_log
	JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	WHERE s.relid OPERATOR(pg_catalog.=) src
$$;

CREATE FUNCTION @extschema@._install_capture(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $install$
DECLARE
	r segroll.source;
	owner name := (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = src);
	f_update text := segroll._capture_function(src, 'update');
	f_update_log text := segroll._capture_function(src, 'update_log');
	f_delete text := segroll._capture_function(src, 'delete');
	f text;
BEGIN
	SELECT * INTO r FROM segroll.source WHERE relid = src;
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION %s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	-- the new version is a new change (harmless if a later trigger cancels)
	NEW.segroll_seq := pg_catalog.nextval(%L::pg_catalog.regclass);
	RETURN NEW;
END
$body$$f$, f_update, r.seq::text);
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION %s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	-- AFTER, so only updates that happened retract their old version
	INSERT INTO %s (log_seq, old_seq, old) VALUES (NEW.segroll_seq, OLD.segroll_seq, OLD);
	RETURN NULL;
END
$body$$f$, f_update_log, r.change_log);
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION %1$s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	IF EXISTS (SELECT 1 FROM segroll.purging p
	              WHERE p.relid OPERATOR(pg_catalog.=) %2$L::pg_catalog.regclass
	                AND p.xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()) THEN
		RETURN NULL;	-- a purge: the cells keep what they summarise
	END IF;
	INSERT INTO %3$s (log_seq, old_seq, old)
	SELECT pg_catalog.nextval(%4$L::pg_catalog.regclass), o.segroll_seq, ROW(o.*)::%2$s FROM segroll_old_rows o;
	RETURN NULL;
END
$body$$f$, f_delete, src, r.change_log, r.seq::text);
	FOREACH f IN ARRAY ARRAY[f_update, f_update_log, f_delete] LOOP
		EXECUTE format('ALTER FUNCTION %s() OWNER TO %I', f, owner);
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s() FROM PUBLIC', f);
	END LOOP;
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update_log ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_delete ON %s', src);
	EXECUTE format('CREATE TRIGGER segroll_capture_update BEFORE UPDATE ON %s FOR EACH ROW WHEN (segroll._capture_on()) EXECUTE FUNCTION %s()',
	               src, f_update);
	EXECUTE format('CREATE TRIGGER segroll_capture_update_log AFTER UPDATE ON %s FOR EACH ROW WHEN (segroll._capture_on()) EXECUTE FUNCTION %s()',
	               src, f_update_log);
	EXECUTE format('CREATE TRIGGER segroll_capture_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS segroll_old_rows FOR EACH STATEMENT WHEN (segroll._capture_on()) EXECUTE FUNCTION %s()',
	               src, f_delete);
END
$install$;
COMMENT ON FUNCTION @extschema@._install_capture(pg_catalog.regclass) IS
	'(re)creates the capture functions and triggers of a source, owned by its owner';

CREATE FUNCTION @extschema@._remove_capture(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update_log ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_delete ON %s', src);
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'update'));
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'update_log'));
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'delete'));
END
$$;

-- Sources defined before 0.4.0 get their own capture functions now.  They
-- belong to the source's owner, not to the extension (pg_dump dumps them
-- with the source, as it does for sources defined from now on).
DO $$
DECLARE
	src regclass;
BEGIN
	FOR src IN SELECT relid FROM @extschema@.source LOOP
		PERFORM @extschema@._install_capture(src);
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP FUNCTION %s()', @extschema@._capture_function(src, 'update'));
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP FUNCTION %s()', @extschema@._capture_function(src, 'update_log'));
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP FUNCTION %s()', @extschema@._capture_function(src, 'delete'));
	END LOOP;
END
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
	g text;
	keytype regtype;
	timetype regtype;
	dims jsonb := '[]';
	d text;
	dj jsonb;
	meas name[] := '{}';
	mt regtype;
	mcol text;
	src_row segroll.source;
	seq regclass;
	log regclass;
	cells regclass;
	bi regclass;
	unmapped regclass;
	cols text := '';
	bi_cols text := '';
	bi_meas text := '';
	uniq text := '';
	unmapped_where text := '';
	unmapped_joins text := '';
	i int;
	apply text;
	sch text := quote_ident(cells_schema);
BEGIN
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
	IF (SELECT relkind FROM pg_class WHERE oid = src) = 'p' THEN
		RAISE EXCEPTION 'partitioned table "%" cannot be a source yet', src USING ERRCODE = 'feature_not_supported',
			HINT = 'Define the segmentation over each partition, or over a plain table.';
	END IF;
	IF (SELECT relkind FROM pg_class WHERE oid = src) <> 'r' THEN
		RAISE EXCEPTION '"%" is not a table', src USING ERRCODE = 'wrong_object_type';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = src) THEN
		RAISE EXCEPTION 'partition "%" cannot be a source yet', src USING ERRCODE = 'feature_not_supported',
			HINT = 'Attach the segmentation to a plain table.';
	END IF;
	IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = src), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', src USING ERRCODE = 'insufficient_privilege',
			HINT = 'Segmentations add a capture column and triggers to their source.';
	END IF;
	-- key: unique, not null bigint
	keytype := segroll._column_type(src, key);
	IF keytype IS NULL THEN
		RAISE EXCEPTION 'key column "%" does not exist in "%"', key, src USING ERRCODE = 'undefined_column';
	END IF;
	IF keytype NOT IN ('bigint'::regtype, 'integer'::regtype) THEN
		RAISE EXCEPTION 'key column "%" is %, not bigint or integer', key, keytype USING ERRCODE = 'datatype_mismatch';
	END IF;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = key) THEN
		RAISE EXCEPTION 'key column "%" is nullable', key USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare it NOT NULL (a primary key is).';
	END IF;
	IF NOT segroll._has_unique_index(src, key) THEN
		RAISE EXCEPTION 'key column "%" is not unique', key USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare a primary key or a unique index on the key column alone.';
	END IF;
	-- time: timestamptz, not null
	timetype := segroll._column_type(src, time_col);
	IF timetype IS NULL THEN
		RAISE EXCEPTION 'time column "%" does not exist in "%"', time_col, src USING ERRCODE = 'undefined_column';
	END IF;
	IF timetype <> 'timestamptz'::regtype THEN
		RAISE EXCEPTION 'time column "%" is %, not timestamp with time zone', time_col, timetype
			USING ERRCODE = 'datatype_mismatch',
			      HINT = 'Periods are computed in the segmentation''s time zone from an absolute time.';
	END IF;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = time_col) THEN
		RAISE EXCEPTION 'time column "%" is nullable', time_col USING ERRCODE = 'invalid_table_definition',
			HINT = 'Every transaction needs a time to fall into a period: declare the column NOT NULL.';
	END IF;
	-- grain and time zone
	g := CASE lower(btrim(grain))
	     WHEN 'hour' THEN 'hour' WHEN '1 hour' THEN 'hour'
	     WHEN 'day' THEN 'day' WHEN '1 day' THEN 'day'
	     WHEN 'week' THEN 'week' WHEN '1 week' THEN 'week'
	     WHEN 'month' THEN 'month' WHEN '1 month' THEN 'month' END;
	IF g IS NULL THEN
		RAISE EXCEPTION 'invalid grain "%"', grain USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use hour, day, week or month.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE pg_timezone_names.name = time_zone)
	   AND upper(time_zone) <> 'UTC' THEN
		RAISE EXCEPTION 'invalid time zone "%"', time_zone USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use a name from pg_timezone_names, such as Asia/Seoul.';
	END IF;
	-- dimensions and measures
	IF coalesce(array_length(dimensions, 1), 0) = 0 THEN
		RAISE EXCEPTION 'a segmentation needs at least one dimension' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH d IN ARRAY dimensions LOOP
		dj := segroll._parse_dimension(src, d);
		IF dj->>'name' IN ('period', 'seg') OR EXISTS (SELECT 1 FROM jsonb_array_elements(dims) e WHERE e->>'name' = dj->>'name') THEN
			RAISE EXCEPTION 'duplicate or reserved dimension name "%"', dj->>'name' USING ERRCODE = 'duplicate_column';
		END IF;
		dims := dims || jsonb_build_array(dj);
	END LOOP;
	FOREACH d IN ARRAY coalesce(measures, '{}') LOOP
		mcol := btrim(d);
		IF lower(mcol) = 'count' OR lower(mcol) = 'count(*)' THEN
			CONTINUE;	-- every segment counts its rows
		END IF;
		mcol := coalesce((regexp_match(mcol, '^(?:sum|min|max|avg)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$', 'i'))[1], mcol);
		mt := segroll._column_type(src, mcol);
		IF mt IS NULL THEN
			RAISE EXCEPTION 'measure column "%" does not exist in "%"', mcol, src USING ERRCODE = 'undefined_column';
		END IF;
		IF (SELECT typbasetype FROM pg_type WHERE oid = mt) <> 0 THEN
			mt := (SELECT typbasetype FROM pg_type WHERE oid = mt);
		END IF;
		IF mt NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'numeric'::regtype) THEN
			RAISE EXCEPTION 'measure column "%" is %', mcol, mt USING ERRCODE = 'datatype_mismatch',
				HINT = 'Measures must be smallint, integer, bigint or numeric.';
		END IF;
		IF NOT mcol::name = ANY (meas) THEN
			meas := meas || mcol::name;
		END IF;
	END LOOP;
	IF schedule NOT IN ('manual', 'continuous') THEN
		RAISE EXCEPTION 'invalid schedule "%"', schedule USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use manual (pg_cron or a DBA calls segroll.rollup) or continuous (background workers).';
	END IF;

	-- capture, once per source
	SELECT * INTO src_row FROM segroll.source WHERE relid = src;
	IF NOT FOUND THEN
		IF segroll._column_type(src, 'segroll_seq') IS NOT NULL THEN
			RAISE EXCEPTION 'table "%" already has a column "segroll_seq"', src USING ERRCODE = 'duplicate_column',
				HINT = 'A column left behind by DROP EXTENSION segroll can be dropped with ALTER TABLE ... DROP COLUMN segroll_seq.';
		END IF;
		IF to_regnamespace(sch) IS NULL THEN
			EXECUTE format('CREATE SCHEMA %s', sch);
		END IF;
		-- existing rows are numbered in physical order by the rewrite
		EXECUTE format('ALTER TABLE %s ADD COLUMN segroll_seq pg_catalog.int8 GENERATED ALWAYS AS IDENTITY (CACHE 1)', src);
		seq := pg_get_serial_sequence(src::text, 'segroll_seq')::regclass;
		-- BRIN: numbers follow the physical order of appended rows, so a
		-- window is a few block ranges, and inserts pay almost nothing
		EXECUTE format('CREATE INDEX ON %s USING brin (segroll_seq) WITH (pages_per_range = 16)', src);
		EXECUTE format('CREATE TABLE %s.%I (log_seq pg_catalog.int8 NOT NULL, old_seq pg_catalog.int8 NOT NULL, old %s NOT NULL)',
		               sch, 'changes_' || (SELECT relname FROM pg_class WHERE oid = src) || '_' || src::oid, src);
		log := format('%s.%I', sch, 'changes_' || (SELECT relname FROM pg_class WHERE oid = src) || '_' || src::oid)::regclass;
		EXECUTE format('CREATE INDEX ON %s (log_seq)', log);
		EXECUTE format('CREATE TRIGGER segroll_capture_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION segroll.capture_truncate()', src);
		INSERT INTO segroll.source VALUES (src, key, seq, log) RETURNING * INTO src_row;
		PERFORM segroll._install_capture(src);
	END IF;

	-- cells: one row per dimension values x period
	i := 0;
	FOR dj IN SELECT * FROM jsonb_array_elements(dims) LOOP
		i := i + 1;
		cols := cols || format('%I %s, ', dj->>'name',
			CASE WHEN dj ? 'column' THEN format_type(segroll._column_type(src, dj->>'column'), NULL)
			     ELSE format_type(segroll._column_type((dj->>'table')::regclass, dj->>'value'), NULL) END);
		uniq := uniq || format('%I, ', dj->>'name');
		bi_cols := bi_cols || format('c.%I, ', dj->>'name');
		IF NOT dj ? 'column' THEN
			unmapped_joins := unmapped_joins || format(' LEFT JOIN %s r%s ON r%s.%I OPERATOR(pg_catalog.=) s.%I',
				(dj->>'table')::regclass, i, i, dj->>'key', dj->>'on');
			unmapped_where := unmapped_where || format('r%s.%I IS NULL OR ', i, dj->>'value');
		ELSE
			unmapped_where := unmapped_where || format('s.%I IS NULL OR ', dj->>'column');
		END IF;
	END LOOP;
	IF to_regnamespace(sch) IS NULL THEN
		EXECUTE format('CREATE SCHEMA %s', sch);
	END IF;
	EXECUTE format('CREATE TABLE %s.%I (%s period pg_catalog.timestamptz NOT NULL, seg segroll.segment NOT NULL)',
	               sch, seg_name, cols);
	cells := format('%s.%I', sch, seg_name)::regclass;
	EXECUTE format('CREATE UNIQUE INDEX ON %s (%s period) NULLS NOT DISTINCT', cells, uniq);
	EXECUTE format('CREATE INDEX ON %s (period)', cells);

	-- the plain view BI tools read
	FOR i IN 1 .. coalesce(array_length(meas, 1), 0) LOOP
		bi_meas := bi_meas || format(', segroll.sum(c.seg, %s) AS %I, segroll.min(c.seg, %s) AS %I, segroll.max(c.seg, %s) AS %I',
		                             i, meas[i] || '_sum', i, meas[i] || '_min', i, meas[i] || '_max');
	END LOOP;
	EXECUTE format('CREATE VIEW %s.%I AS SELECT %s c.period, segroll.count(c.seg) AS count%s FROM %s c',
	               sch, seg_name || '_v', bi_cols, bi_meas, cells);
	bi := format('%s.%I', sch, seg_name || '_v')::regclass;
	EXECUTE format('CREATE VIEW %s.%I AS SELECT s.* FROM %s s %s WHERE %s false',
	               sch, seg_name || '_unmapped', src, unmapped_joins, unmapped_where);
	unmapped := format('%s.%I', sch, seg_name || '_unmapped')::regclass;

	apply := segroll._generate_apply(seg_name, src, src_row.change_log, cells, key::name, time_col::name,
	                                 g, time_zone, dims, meas, lineage);
	INSERT INTO segroll.segmentation (name, source, key_column, time_column, grain, time_zone, dimensions,
	                                  measures, lineage, cells, bi_view, unmapped_view, owner, schedule, apply_sql)
	VALUES (seg_name, src, key, time_col, g, time_zone, dims, meas, lineage, cells, bi, unmapped,
	        current_user::regrole, schedule, apply);
	INSERT INTO segroll.progress (name, owner) VALUES (seg_name, current_user::regrole);

	IF backfill THEN
		PERFORM segroll.rollup(seg_name);
	END IF;
	PERFORM segroll._log(seg_name, 'create segmentation', NULL, NULL,
		jsonb_build_object('source', src::text, 'key', key, 'time_column', time_col, 'grain', g,
		                   'time_zone', time_zone, 'dimensions', dims, 'measures', to_jsonb(meas),
		                   'lineage', lineage, 'schedule', schedule, 'cells', cells::text));
	PERFORM segroll._warn_without_workers(create_segmentation.schedule);
	RETURN cells;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.drop_segmentation(name pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	src segroll.source;
BEGIN
	SELECT * INTO def FROM segroll.segmentation s WHERE s.name = drop_segmentation.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', drop_segmentation.name USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be owner of segmentation "%"', drop_segmentation.name USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	EXECUTE format('DROP VIEW IF EXISTS %s, %s', def.bi_view, def.unmapped_view);
	EXECUTE format('DROP TABLE IF EXISTS %s', def.cells);
	DELETE FROM segroll.progress p WHERE p.name = def.name;
	DELETE FROM segroll.segmentation s WHERE s.name = def.name;
	PERFORM segroll._log(def.name, 'drop segmentation', NULL, NULL, jsonb_build_object('source', def.source::text));
	-- the last segmentation of a source takes its capture with it
	IF NOT EXISTS (SELECT 1 FROM segroll.segmentation s WHERE s.source = def.source) THEN
		SELECT * INTO src FROM segroll.source WHERE relid = def.source;
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update ON %s', def.source);
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update_log ON %s', def.source);
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_delete ON %s', def.source);
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_truncate ON %s', def.source);
		PERFORM segroll._remove_capture(def.source);
		EXECUTE format('DROP TABLE IF EXISTS %s', src.change_log);
		EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS segroll_seq', def.source);
		DELETE FROM segroll.source WHERE relid = def.source;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_segmentation(pg_catalog.text) IS
	'drops a segmentation, its cells and views; the last one of a source also removes the capture column and triggers';

/* ------------------------------------------------------------ SQL fragments */

/* The pieces of a segmentation's SQL that trace, locate and verify share. */
CREATE TYPE @extschema@._segmentation_sql AS (
	dim_exprs   pg_catalog.text,	-- "expr AS segroll_dN, " over source alias s
	joins       pg_catalog.text,	-- reference lookups, aliases rN
	dim_names   pg_catalog.text,	-- "segroll_dN, "
	period      pg_catalog.text,	-- the period of source row s
	cell_json   pg_catalog.text,	-- jsonb of the dimensions of cell row c
	cell_cols   pg_catalog.text,	-- "name, " of the cells table
	fresh_json  pg_catalog.text,	-- jsonb of the dimensions of a row of "fresh"
	meas        pg_catalog.text,	-- ", s.measure"
	mapped      pg_catalog.text,	-- true when every reference lookup found a row
	bound       pg_catalog.interval	-- a period lasts less than this
);

CREATE FUNCTION @extschema@._sql(def @extschema@.segmentation)
RETURNS @extschema@._segmentation_sql
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r segroll._segmentation_sql;
	d jsonb;
	i int := 0;
	cj text := '';
	fj text := '';
BEGIN
	r.dim_exprs := ''; r.joins := ''; r.dim_names := ''; r.cell_cols := ''; r.meas := '';
	r.mapped := 'true';
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		IF d ? 'column' THEN
			r.dim_exprs := r.dim_exprs || format('s.%I AS segroll_d%s, ', d->>'column', i);
			r.mapped := r.mapped || format(' AND s.%I IS NOT NULL', d->>'column');
		ELSE
			r.joins := r.joins || format(' LEFT JOIN %s r%s ON r%s.%I OPERATOR(pg_catalog.=) s.%I',
			                             (d->>'table')::regclass, i, i, d->>'key', d->>'on');
			r.dim_exprs := r.dim_exprs || format('r%s.%I AS segroll_d%s, ', i, d->>'value', i);
			r.mapped := r.mapped || format(' AND r%s.%I IS NOT NULL', i, d->>'value');
		END IF;
		r.dim_names := r.dim_names || format('segroll_d%s, ', i);
		r.cell_cols := r.cell_cols || format('%I, ', d->>'name');
		cj := cj || format('%L, c.%I, ', d->>'name', d->>'name');
		fj := fj || format('%L, f.segroll_d%s, ', d->>'name', i);
	END LOOP;
	r.cell_json := format('pg_catalog.jsonb_build_object(%s)', left(cj, -2));
	r.fresh_json := format('pg_catalog.jsonb_build_object(%s)', left(fj, -2));
	FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
		r.meas := r.meas || format(', s.%I', def.measures[i]);
	END LOOP;
	r.period := format('pg_catalog.date_trunc(%L, s.%I, %L)', def.grain, def.time_column, def.time_zone);
	-- generous: a month is at most 31 days, plus a daylight-saving hour
	r.bound := CASE def.grain WHEN 'hour' THEN '2 hours' WHEN 'day' THEN '26 hours'
	                          WHEN 'week' THEN '7 days 2 hours' ELSE '31 days 2 hours' END;
	RETURN r;
END
$$;

/*
 * The cells of periods [$2, $3) as they stood when the roll-up had applied
 * every change numbered up to $1, recomputed from the source and the change
 * log: rows numbered <= $1, and old versions that a later change replaced.
 * Columns segroll_d1.., period, seg.
 */
CREATE FUNCTION @extschema@._fresh_sql(def @extschema@.segmentation, with_lineage pg_catalog.bool)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	log regclass := (SELECT change_log FROM segroll.source WHERE relid = def.source);
BEGIN
	RETURN format($f$
	SELECT %1$s s.segroll_period AS period, %2$s(s.%3$I, s.%4$I%5$s) AS seg
	FROM (SELECT %6$s %7$s AS segroll_period, s.*
	      FROM (SELECT s.* FROM %8$s s
	            WHERE s.segroll_seq OPERATOR(pg_catalog.<=) $1
	              AND s.%4$I OPERATOR(pg_catalog.>=) $2 AND s.%4$I OPERATOR(pg_catalog.<) ($3 OPERATOR(pg_catalog.+) %9$L::pg_catalog.interval)
	            UNION ALL
	            SELECT (l.old).* FROM %10$s l
	            WHERE l.old_seq OPERATOR(pg_catalog.<=) $1 AND l.log_seq OPERATOR(pg_catalog.>) $1
	              AND (l.old).%4$I OPERATOR(pg_catalog.>=) $2 AND (l.old).%4$I OPERATOR(pg_catalog.<) ($3 OPERATOR(pg_catalog.+) %9$L::pg_catalog.interval)) s
	      %11$s) s
	WHERE s.segroll_period OPERATOR(pg_catalog.>=) $2 AND s.segroll_period OPERATOR(pg_catalog.<) $3
	GROUP BY %1$s s.segroll_period$f$,
		q.dim_names, CASE WHEN with_lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END,
		def.key_column, def.time_column, q.meas, q.dim_exprs, q.period, def.source, q.bound, log, q.joins);
END
$$;

/* ------------------------------------------------------------ trace */

CREATE FUNCTION @extschema@.key_batches(@extschema@.segment, pg_catalog.int4)
RETURNS SETOF pg_catalog.int8[] AS 'MODULE_PATHNAME', 'segment_key_batches'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.key_batches(@extschema@.segment, pg_catalog.int4) IS
	'the source keys of a segment in ascending order, as arrays of at most the given number of keys';

CREATE FUNCTION @extschema@._definition(seg_name pg_catalog.text)
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

/*
 * The select list that shows a source (or archive) row to the caller: the
 * columns the caller may read, as jsonb.  A caller who may read no column
 * gets the same error a SELECT would give.
 */
CREATE FUNCTION @extschema@._visible_json(rel pg_catalog.regclass, alias pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cols text[];
	parts text[] := '{}';
BEGIN
	IF has_table_privilege(rel, 'SELECT') THEN
		RETURN format('(pg_catalog.to_jsonb(%s) OPERATOR(pg_catalog.-) ''segroll_seq'')', alias);
	END IF;
	cols := ARRAY(SELECT format('%L, %s.%I', a.attname, alias, a.attname)
	              FROM pg_attribute a
	              WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
	                AND a.attname <> 'segroll_seq' AND has_column_privilege(rel, a.attnum, 'SELECT')
	              ORDER BY a.attnum);
	IF cardinality(cols) = 0 THEN
		RAISE EXCEPTION 'permission denied for table %', rel USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- jsonb_build_object takes at most 100 arguments
	FOR i IN 0 .. (cardinality(cols) - 1) / 40 LOOP
		parts := parts || format('pg_catalog.jsonb_build_object(%s)', array_to_string(cols[i * 40 + 1 : i * 40 + 40], ', '));
	END LOOP;
	RETURN '(' || array_to_string(parts, ' OPERATOR(pg_catalog.||) ') || ')';
END
$$;

/*
 * Keys in seg that a purge removed from the source: decided from the
 * segment's time span where it lies wholly before or after the purge
 * horizon, and from the lineage of the purged cells where it straddles it.
 */
CREATE FUNCTION @extschema@._purged_filter(def @extschema@.segmentation, seg @extschema@.segment, key_expr pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	horizon timestamptz;
BEGIN
	SELECT max(p.purged_before) INTO horizon FROM segroll.purge_log p
	WHERE p.source = def.source AND p.time_column = def.time_column;
	IF horizon IS NULL OR segroll.count(seg) = 0 THEN
		RETURN 'false';
	END IF;
	IF segroll.minmax_known(seg) AND segroll.last_time(seg) < horizon THEN
		RETURN 'true';
	END IF;
	IF segroll.minmax_known(seg) AND segroll.first_time(seg) >= horizon THEN
		RETURN 'false';
	END IF;
	RETURN format('%s IN (SELECT segroll.keys(c.seg) FROM %s c WHERE c.period OPERATOR(pg_catalog.<) %L::pg_catalog.timestamptz%s)',
	              key_expr, def.cells, horizon,
	              CASE WHEN segroll.minmax_known(seg)
	                   THEN format(' AND c.period OPERATOR(pg_catalog.>=) (%L::pg_catalog.timestamptz OPERATOR(pg_catalog.-) %L::pg_catalog.interval)',
	                               segroll.first_time(seg), (segroll._sql(def)).bound)
	                   ELSE '' END);
END
$$;

CREATE FUNCTION @extschema@._trace(seg_name pg_catalog.text, seg @extschema@.segment, cell pg_catalog.jsonb)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.jsonb)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(seg_name);
	archive regclass := (SELECT s.archive FROM segroll.source s WHERE s.relid = def.source);
	q text;
	batch int8[];
	n bigint;
	nrows bigint := 0;
BEGIN
	IF seg IS NULL THEN
		RAISE EXCEPTION 'cannot trace a null segment' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the caller's own query: privileges and row-level security apply
	q := format($f$
	WITH k AS MATERIALIZED (SELECT u.key FROM pg_catalog.unnest($1::pg_catalog.int8[]) u(key)),
	l AS MATERIALIZED (SELECT s.%1$I::pg_catalog.int8 AS key, %2$s AS r FROM %3$s s
	                   WHERE s.%1$I OPERATOR(pg_catalog.=) ANY ($1))
	%4$s
	SELECT k.key, CASE WHEN l.key IS NOT NULL THEN 'source' WHEN a.key IS NOT NULL THEN 'archive' ELSE 'purged' END,
	       coalesce(l.r, a.r)
	FROM k LEFT JOIN l ON l.key OPERATOR(pg_catalog.=) k.key LEFT JOIN a ON a.key OPERATOR(pg_catalog.=) k.key
	WHERE l.key IS NOT NULL OR a.key IS NOT NULL OR %5$s
	ORDER BY k.key$f$,
		def.key_column, segroll._visible_json(def.source, 's'), def.source,
		CASE WHEN archive IS NULL THEN ', a AS (SELECT NULL::pg_catalog.int8 AS key, NULL::pg_catalog.jsonb AS r WHERE false)'
		     ELSE format(', a AS MATERIALIZED (SELECT s.%1$I::pg_catalog.int8 AS key, %2$s AS r FROM %3$s s
	                   WHERE s.%1$I OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT k.key FROM k WHERE NOT EXISTS
	                         (SELECT 1 FROM l WHERE l.key OPERATOR(pg_catalog.=) k.key))))',
		                 def.key_column, segroll._visible_json(archive, 's'), archive) END,
		segroll._purged_filter(def, seg, 'k.key'));
	FOR batch IN SELECT b FROM segroll.key_batches(seg, 10000) b LOOP
		RETURN QUERY EXECUTE q USING batch;
		GET DIAGNOSTICS n = ROW_COUNT;
		nrows := nrows + n;
	END LOOP;
	IF current_setting('segroll.trace_audit')::bool THEN
		INSERT INTO segroll.trace_log (segmentation, cell, keys, rows_returned)
		VALUES (seg_name,
		        coalesce(cell, jsonb_build_object('count', segroll.count(seg), 'checksum', segroll.checksum(seg),
		                                          'first_time', segroll.first_time(seg), 'last_time', segroll.last_time(seg))),
		        segroll.count(seg), nrows);
	END IF;
	RAISE LOG 'segroll: % traced % keys of segmentation "%" (%), % rows returned',
		current_user, segroll.count(seg), seg_name, coalesce(cell::text, 'a segment'), nrows;
END
$$;
COMMENT ON FUNCTION @extschema@._trace(pg_catalog.text, @extschema@.segment, pg_catalog.jsonb) IS
	'the trace itself, run as the caller; see segroll.trace()';

CREATE FUNCTION @extschema@.trace(name pg_catalog.text, seg @extschema@.segment)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.jsonb)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._trace(name, seg, NULL)
$$;
COMMENT ON FUNCTION @extschema@.trace(pg_catalog.text, @extschema@.segment) IS
	'the source rows behind a segment (a cell or any merge of cells), in key order, as the caller may see them; purged rows are marked';

/* The segment of one cell, looked up as the caller. */
CREATE FUNCTION @extschema@.cell(name pg_catalog.text, dimensions pg_catalog.jsonb, period pg_catalog.timestamptz)
RETURNS @extschema@.segment
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	d jsonb;
	cond text := '';
	seg segroll.segment;
BEGIN
	IF dimensions IS NULL OR jsonb_typeof(dimensions) <> 'object' OR period IS NULL THEN
		RAISE EXCEPTION 'a cell is named by a jsonb object of its dimensions and its period'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		IF NOT dimensions ? (d->>'name') THEN
			RAISE EXCEPTION 'dimension "%" of segmentation "%" is missing from %', d->>'name', name, dimensions
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'Give every dimension; use null for the unmapped member.';
		END IF;
		cond := cond || format('c.%I IS NOT DISTINCT FROM ($1 OPERATOR(pg_catalog.->>) %L)::%s AND ',
		                       d->>'name', d->>'name', format_type(segroll._column_type(def.cells, d->>'name'), NULL));
	END LOOP;
	IF (SELECT count(*) FROM jsonb_object_keys(dimensions)) <> jsonb_array_length(def.dimensions) THEN
		RAISE EXCEPTION '% names a dimension segmentation "%" does not have', dimensions, name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	EXECUTE format('SELECT c.seg FROM %s c WHERE %s c.period OPERATOR(pg_catalog.=) $2', def.cells, cond)
		INTO seg USING dimensions, period;
	IF seg IS NULL THEN
		RAISE EXCEPTION 'segmentation "%" has no cell % at %', name, dimensions, period
			USING ERRCODE = 'no_data_found';
	END IF;
	RETURN seg;
END
$$;
COMMENT ON FUNCTION @extschema@.cell(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'the segment of one cell, named by its dimensions (a jsonb object) and period';

CREATE FUNCTION @extschema@.trace(name pg_catalog.text, dimensions pg_catalog.jsonb, period pg_catalog.timestamptz)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.jsonb)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._trace(name, segroll.cell(name, dimensions, period),
	                             pg_catalog.jsonb_build_object('dimensions', dimensions, 'period', period))
$$;
COMMENT ON FUNCTION @extschema@.trace(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'the source rows behind one cell, in key order, as the caller may see them; purged rows are marked';

/*
 * The same rows typed as the source table:
 *   SELECT * FROM segroll.trace_rows('sales_daily', seg, NULL::front.sales_txn)
 * Columns the caller may not read are null.  Purged rows that no archive
 * holds are not returned (trace() lists their keys).
 */
CREATE FUNCTION @extschema@.trace_rows(name pg_catalog.text, seg @extschema@.segment, row_type anyelement)
RETURNS SETOF anyelement
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	archive regclass := (SELECT s.archive FROM segroll.source s WHERE s.relid = def.source);
	cols text;
	acols text;
	q text;
	batch int8[];
	n bigint;
	nrows bigint := 0;
BEGIN
	IF (SELECT typrelid FROM pg_type WHERE oid = pg_typeof(row_type)) IS DISTINCT FROM def.source::oid THEN
		RAISE EXCEPTION 'row_type must be the row type of %, not %', def.source, pg_typeof(row_type)
			USING ERRCODE = 'datatype_mismatch',
			      HINT = format('Pass NULL::%s.', def.source);
	END IF;
	IF seg IS NULL THEN
		RAISE EXCEPTION 'cannot trace a null segment' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT has_table_privilege(def.source, 'SELECT')
	   AND NOT has_any_column_privilege(def.source, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', def.source USING ERRCODE = 'insufficient_privilege';
	END IF;
	SELECT string_agg(CASE WHEN has_column_privilege(def.source, a.attnum, 'SELECT')
	                       THEN format('s.%I', a.attname)
	                       ELSE format('NULL::%s', format_type(a.atttypid, a.atttypmod)) END, ', ' ORDER BY a.attnum),
	       string_agg(CASE WHEN a.attname = 'segroll_seq' THEN 'NULL::pg_catalog.int8'
	                       ELSE format('s.%I::%s', a.attname, format_type(a.atttypid, a.atttypmod)) END, ', ' ORDER BY a.attnum)
	INTO cols, acols
	FROM pg_attribute a WHERE a.attrelid = def.source AND a.attnum > 0 AND NOT a.attisdropped;
	q := format('SELECT %s FROM %s s WHERE s.%I OPERATOR(pg_catalog.=) ANY ($1)', cols, def.source, def.key_column);
	IF archive IS NOT NULL THEN
		q := q || format(' UNION ALL SELECT %s FROM %s s WHERE s.%I OPERATOR(pg_catalog.=) ANY ($1)
		                   AND NOT EXISTS (SELECT 1 FROM %s l WHERE l.%I OPERATOR(pg_catalog.=) s.%I)',
		                 acols, archive, def.key_column, def.source, def.key_column, def.key_column);
	END IF;
	q := q || format(' ORDER BY %I', def.key_column);
	FOR batch IN SELECT b FROM segroll.key_batches(seg, 10000) b LOOP
		RETURN QUERY EXECUTE q USING batch;
		GET DIAGNOSTICS n = ROW_COUNT;
		nrows := nrows + n;
	END LOOP;
	IF current_setting('segroll.trace_audit')::bool THEN
		INSERT INTO segroll.trace_log (segmentation, cell, keys, rows_returned)
		VALUES (name, jsonb_build_object('count', segroll.count(seg), 'checksum', segroll.checksum(seg),
		                                 'first_time', segroll.first_time(seg), 'last_time', segroll.last_time(seg)),
		        segroll.count(seg), nrows);
	END IF;
	RAISE LOG 'segroll: % traced % keys of segmentation "%" (a segment), % rows returned',
		current_user, segroll.count(seg), name, nrows;
END
$$;
COMMENT ON FUNCTION @extschema@.trace_rows(pg_catalog.text, @extschema@.segment, anyelement) IS
	'the source rows behind a segment, typed as the source table, in key order, as the caller may see them';

/* ------------------------------------------------------------ locate */

CREATE FUNCTION @extschema@.locate(name pg_catalog.text, key pg_catalog.int8)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, status pg_catalog.text, detail pg_catalog.text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	q segroll._segmentation_sql := segroll._sql(def);
	applied bigint := (SELECT p.applied_upto FROM segroll.progress p WHERE p.name = locate.name);
	found_row boolean;
	seq bigint;
	mapped boolean;
	cells_where text;
	seg segroll.segment;
BEGIN
	IF key IS NULL THEN
		RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the row as the caller sees it, mapped as the roll-up maps it
	EXECUTE format($f$
		SELECT true, %1$s, f.segroll_period, f.segroll_seq, f.segroll_mapped
		FROM (SELECT %2$s %3$s AS segroll_period, s.segroll_seq, %4$s AS segroll_mapped
		      FROM %5$s s %6$s WHERE s.%7$I OPERATOR(pg_catalog.=) $1) f$f$,
		q.fresh_json, q.dim_exprs, q.period, q.mapped, def.source, q.joins, def.key_column)
		INTO found_row, dimensions, period, seq, mapped USING key;
	IF found_row IS NULL THEN
		RETURN QUERY SELECT NULL::jsonb, NULL::timestamptz, 'not found'::text,
			format('no row with %s = %s in %s that you can see: never inserted, deleted, purged, or hidden from you',
			       def.key_column, key, def.source);
		RETURN;
	END IF;
	IF seq > applied THEN
		RETURN QUERY SELECT dimensions, period, 'pending'::text,
			'not rolled up yet: this version of the row was written after the last roll-up'::text;
		RETURN;
	END IF;
	SELECT string_agg(format('c.%I IS NOT DISTINCT FROM ($1 OPERATOR(pg_catalog.->>) %L)::%s AND ',
	                         d->>'name', d->>'name', format_type(segroll._column_type(def.cells, d->>'name'), NULL)), '')
	INTO cells_where FROM jsonb_array_elements(def.dimensions) d;
	EXECUTE format('SELECT c.seg FROM %s c WHERE %s c.period OPERATOR(pg_catalog.=) $2', def.cells, cells_where)
		INTO seg USING dimensions, period;
	IF seg IS NOT NULL AND (NOT segroll.has_lineage(seg) OR segroll.contains(seg, key)) THEN
		RETURN QUERY SELECT dimensions, period,
			CASE WHEN mapped THEN 'counted' ELSE 'unmapped' END,
			CASE WHEN NOT segroll.has_lineage(seg) THEN 'in this cell (the segmentation keeps no lineage to confirm it)'
			     WHEN mapped THEN 'counted in this cell'
			     ELSE 'counted in the unmapped member: a reference lookup found no row' END;
		RETURN;
	END IF;
	RETURN QUERY SELECT dimensions, period, 'missing'::text,
		'rolled up, but not in the cell it maps to: run segroll.verify() and segroll.repair() for this period'::text;
END
$$;
COMMENT ON FUNCTION @extschema@.locate(pg_catalog.text, pg_catalog.int8) IS
	'the cell a source row is counted in, or why it is in none (not found, pending, missing)';

/* ------------------------------------------------------------ verify */

CREATE FUNCTION @extschema@._check_range(period_from pg_catalog.timestamptz, period_to pg_catalog.timestamptz)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF period_from IS NULL OR period_to IS NULL OR period_from >= period_to THEN
		RAISE EXCEPTION 'invalid period range [%, %)', period_from, period_to
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Give the start of the first period and the end of the range, start before end.';
	END IF;
END
$$;

/* Called as the owner by segroll.verify(); see there. */
CREATE FUNCTION @extschema@._verify(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz, mode pg_catalog.text)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, problem pg_catalog.text,
	key pg_catalog.int8, in_cells pg_catalog.numeric, in_source pg_catalog.numeric)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	q segroll._segmentation_sql := segroll._sql(def);
	full_mode boolean;
	upto bigint;
	differs text;
	meas_rows text := '';
	key_rows text := '';
BEGIN
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'segroll._verify() must be called through segroll.verify()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM segroll._check_range(period_from, period_to);
	full_mode := CASE lower(mode) WHEN 'fast' THEN false WHEN 'full' THEN true END;
	IF full_mode IS NULL THEN
		RAISE EXCEPTION 'invalid verify mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use fast (counts and checksums) or full (every figure and every key).';
	END IF;
	-- compare with the cells as the last roll-up left them; none runs meanwhile
	SELECT p.applied_upto INTO upto FROM segroll.progress p WHERE p.name = def.name FOR SHARE;

	IF full_mode THEN
		differs := 'c.seg OPERATOR(segroll.<>) f.seg';
		FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
			meas_rows := meas_rows || format(
				', (%1$L, segroll.sum(j.cs, %4$s), segroll.sum(j.fs, %4$s)), (%2$L, segroll.min(j.cs, %4$s), segroll.min(j.fs, %4$s)), (%3$L, segroll.max(j.cs, %4$s), segroll.max(j.fs, %4$s))',
				format('sum(%s)', def.measures[i]), format('min(%s)', def.measures[i]), format('max(%s)', def.measures[i]), i);
		END LOOP;
		IF def.lineage THEN
			key_rows := $k$
			UNION ALL
			SELECT 'extra key', x.k, NULL, NULL
			FROM (SELECT segroll.keys(j.cs) EXCEPT SELECT segroll.keys(j.fs)) x(k)
			WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL
			UNION ALL
			SELECT 'missing key', x.k, NULL, NULL
			FROM (SELECT segroll.keys(j.fs) EXCEPT SELECT segroll.keys(j.cs)) x(k)
			WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL$k$;
		END IF;
	ELSE
		differs := 'segroll.count(c.seg) OPERATOR(pg_catalog.<>) segroll.count(f.seg) OR segroll.checksum(c.seg) OPERATOR(pg_catalog.<>) segroll.checksum(f.seg)';
	END IF;

	RETURN QUERY EXECUTE format($f$
	WITH fresh AS (%1$s),
	f AS (SELECT %2$s AS dims, f.period, f.seg FROM fresh f),
	c AS (SELECT %3$s AS dims, c.period, c.seg FROM %4$s c
	      WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3),
	j AS (SELECT coalesce(c.dims, f.dims) AS dims, coalesce(c.period, f.period) AS period, c.seg AS cs, f.seg AS fs
	      FROM c FULL JOIN f ON c.dims OPERATOR(pg_catalog.=) f.dims AND c.period OPERATOR(pg_catalog.=) f.period
	      WHERE c.seg IS NULL OR f.seg IS NULL OR %5$s)
	SELECT j.dims, j.period, p.problem, p.key, p.in_cells, p.in_source
	FROM j CROSS JOIN LATERAL (
		SELECT 'missing cell'::pg_catalog.text AS problem, NULL::pg_catalog.int8 AS key,
		       NULL::pg_catalog.numeric AS in_cells, segroll.count(j.fs)::pg_catalog.numeric AS in_source
		WHERE j.cs IS NULL
		UNION ALL
		SELECT 'extra cell', NULL, segroll.count(j.cs), NULL WHERE j.fs IS NULL
		UNION ALL
		SELECT v.problem, NULL, v.a, v.b
		FROM (VALUES ('count', segroll.count(j.cs)::pg_catalog.numeric, segroll.count(j.fs)::pg_catalog.numeric),
		             ('checksum', segroll.checksum(j.cs)::pg_catalog.numeric, segroll.checksum(j.fs)::pg_catalog.numeric)
		             %6$s) v(problem, a, b)
		WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL AND v.a IS DISTINCT FROM v.b
		%7$s) p
	ORDER BY j.period, j.dims::pg_catalog.text, p.problem, p.key$f$,
		segroll._fresh_sql(def, full_mode AND def.lineage), q.fresh_json, q.cell_json, def.cells, differs,
		meas_rows, key_rows)
	USING upto, period_from, period_to;
END
$$;
COMMENT ON FUNCTION @extschema@._verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text) IS
	'the comparison itself; called by segroll.verify() as the segmentation''s owner';

CREATE FUNCTION @extschema@.verify(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz, mode pg_catalog.text DEFAULT 'fast')
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, problem pg_catalog.text,
	key pg_catalog.int8, in_cells pg_catalog.numeric, in_source pg_catalog.numeric)
AS 'MODULE_PATHNAME', 'segroll_verify'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text) IS
	'compares the cells of periods [period_from, period_to) with their source rows: one row per discrepancy, none when they agree';

/* ------------------------------------------------------------ repair */

CREATE FUNCTION @extschema@._repair(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	q segroll._segmentation_sql := segroll._sql(def);
	upto bigint;
	t0 timestamptz := clock_timestamp();
	changed jsonb;
BEGIN
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION 'segroll._repair() must be called through segroll.repair()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM segroll._check_range(period_from, period_to);
	-- queue behind any roll-up; cells are rebuilt as it left them
	SELECT p.applied_upto INTO upto FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;

	EXECUTE format($f$
	WITH fresh AS (%1$s),
	f AS (SELECT %2$s AS dims, f.* FROM fresh f),
	c AS (SELECT c.ctid AS cell_ctid, %3$s AS dims, c.period, c.seg FROM %4$s c
	      WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3),
	j AS MATERIALIZED (
	      SELECT c.cell_ctid, coalesce(c.dims, f.dims) AS dims, coalesce(c.period, f.period) AS period,
	             c.seg AS cs, f.seg AS fs, %5$s
	      FROM c FULL JOIN f ON c.dims OPERATOR(pg_catalog.=) f.dims AND c.period OPERATOR(pg_catalog.=) f.period
	      WHERE c.seg IS NULL OR f.seg IS NULL OR c.seg OPERATOR(segroll.<>) f.seg),
	del AS (DELETE FROM %4$s x USING j WHERE j.fs IS NULL AND x.ctid OPERATOR(pg_catalog.=) j.cell_ctid),
	upd AS (UPDATE %4$s x SET seg = j.fs FROM j
	        WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL AND x.ctid OPERATOR(pg_catalog.=) j.cell_ctid),
	ins AS (INSERT INTO %4$s (%6$s period, seg) SELECT %7$s j.period, j.fs FROM j WHERE j.cs IS NULL)
	SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
	           'dimensions', j.dims, 'period', j.period,
	           'action', CASE WHEN j.cs IS NULL THEN 'inserted' WHEN j.fs IS NULL THEN 'deleted' ELSE 'replaced' END,
	           'count_before', segroll.count(j.cs), 'count_after', segroll.count(j.fs))
	           ORDER BY j.period, j.dims::pg_catalog.text), '[]')
	FROM j$f$,
		segroll._fresh_sql(def, def.lineage), q.fresh_json, q.cell_json, def.cells,
		left(regexp_replace(q.dim_names, '(segroll_d[0-9]+)', 'f.\1', 'g'), -2), q.cell_cols, q.dim_names)
	INTO changed USING upto, period_from, period_to;

	PERFORM segroll._log(def.name, 'repair', jsonb_array_length(changed), t0,
	                     jsonb_build_object('period_from', period_from, 'period_to', period_to,
	                                        'applied_upto', upto, 'cells', changed));
	RETURN QUERY
		SELECT x.dimensions, x.period, x.action, x.count_before, x.count_after
		FROM jsonb_to_recordset(changed) AS x(dimensions jsonb, period timestamptz, action text,
		                                      count_before bigint, count_after bigint);
END
$$;
COMMENT ON FUNCTION @extschema@._repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	'the repair itself; called by segroll.repair() as the segmentation''s owner';

CREATE FUNCTION @extschema@.repair(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
AS 'MODULE_PATHNAME', 'segroll_repair'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	'recomputes from the source exactly the cells of [period_from, period_to) that differ from it, in one transaction, and records each in segroll.history';

/* ------------------------------------------------------------ raw-data retention */

CREATE FUNCTION @extschema@._purge_source(name pg_catalog.text, older_than pg_catalog.interval)
RETURNS TABLE (source pg_catalog.regclass, purged_before pg_catalog.timestamptz, rows_deleted pg_catalog.int8)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	other segroll.segmentation;
	horizon timestamptz;
	previous timestamptz;
	upto bigint;
	problems bigint;
	first_problem text;
	deleted bigint;
	t0 timestamptz := clock_timestamp();
BEGIN
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION 'segroll._purge_source() must be called through segroll.purge_source()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF older_than IS NULL OR older_than < '0'::interval THEN
		RAISE EXCEPTION 'older_than must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- every segmentation of the source loses the rows: all must agree on periods
	FOR other IN SELECT * FROM segroll.segmentation s WHERE s.source = def.source ORDER BY s.name LOOP
		IF NOT pg_has_role(other.owner, 'MEMBER') THEN
			RAISE EXCEPTION 'segmentation "%" over % belongs to %', other.name, def.source, other.owner
				USING ERRCODE = 'insufficient_privilege',
				      HINT = 'Purging a source needs membership in the owner of every segmentation over it.';
		END IF;
		IF other.time_column <> def.time_column OR other.time_zone <> def.time_zone THEN
			RAISE EXCEPTION 'segmentations "%" and "%" cut periods differently', def.name, other.name
				USING ERRCODE = 'feature_not_supported',
				      DETAIL = 'Purging needs every segmentation over a source to use the same time column and time zone.';
		END IF;
		horizon := least(horizon, date_trunc(other.grain, now() - older_than, other.time_zone));
	END LOOP;
	FOR other IN SELECT * FROM segroll.segmentation s WHERE s.source = def.source LOOP
		IF date_trunc(other.grain, horizon, other.time_zone) <> horizon THEN
			RAISE EXCEPTION 'segmentations over % have periods that do not nest (%)', def.source,
				(SELECT string_agg(DISTINCT s.grain, ', ') FROM segroll.segmentation s WHERE s.source = def.source)
				USING ERRCODE = 'feature_not_supported',
				      DETAIL = 'A purge deletes whole periods of every segmentation over the source.';
		END IF;
	END LOOP;
	-- no roll-up of the source meanwhile; rows it has not applied stay
	SELECT min(p.applied_upto) INTO upto FROM (
		SELECT p.applied_upto FROM segroll.progress p JOIN segroll.segmentation s USING (name)
		WHERE s.source = def.source ORDER BY p.name FOR UPDATE OF p) p;
	SELECT coalesce(max(l.purged_before), '-infinity') INTO previous FROM segroll.purge_log l
	WHERE l.source = def.source;
	IF horizon <= previous THEN
		RETURN QUERY SELECT def.source, previous, 0::bigint;
		RETURN;
	END IF;

	FOR other IN SELECT * FROM segroll.segmentation s WHERE s.source = def.source ORDER BY s.name LOOP
		SELECT count(*), min(format('%s %s %s: %s in cells, %s in source', v.period, v.dimensions, v.problem, v.in_cells, v.in_source))
		INTO problems, first_problem
		FROM segroll._verify(other.name, previous, horizon, 'fast') v;
		IF problems > 0 THEN
			RAISE EXCEPTION 'segmentation "%" does not verify clean before %: % discrepancies', other.name, horizon, problems
				USING ERRCODE = 'data_exception',
				      DETAIL = format('First: %s.', first_problem),
				      HINT = format('Inspect with segroll.verify(%L, %L, %L) and fix with segroll.repair(); raw rows are kept until cells agree with them.',
				                    other.name, previous, horizon);
		END IF;
	END LOOP;

	INSERT INTO segroll.purging VALUES (def.source, pg_current_xact_id());
	EXECUTE format('DELETE FROM %s s WHERE s.%I OPERATOR(pg_catalog.<) $1 AND s.segroll_seq OPERATOR(pg_catalog.<=) $2',
	               def.source, def.time_column)
		USING horizon, upto;
	GET DIAGNOSTICS deleted = ROW_COUNT;
	DELETE FROM segroll.purging p WHERE p.relid = def.source;

	INSERT INTO segroll.purge_log (source, time_column, purged_before, rows_deleted)
	VALUES (def.source, def.time_column, horizon, deleted);
	PERFORM segroll._log(def.name, 'purge source', deleted, t0,
	                     jsonb_build_object('source', def.source::text, 'purged_before', horizon,
	                                        'verified_from', previous));
	RETURN QUERY SELECT def.source, horizon, deleted;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_source(pg_catalog.text, pg_catalog.interval) IS
	'the purge itself; called by segroll.purge_source() as the segmentation''s owner';

CREATE FUNCTION @extschema@.purge_source(name pg_catalog.text, older_than pg_catalog.interval)
RETURNS TABLE (source pg_catalog.regclass, purged_before pg_catalog.timestamptz, rows_deleted pg_catalog.int8)
AS 'MODULE_PATHNAME', 'segroll_purge_source'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.purge_source(pg_catalog.text, pg_catalog.interval) IS
	'deletes source rows of whole periods older than the given age, once their cells verify clean; cells and lineage stay';

CREATE FUNCTION @extschema@.set_archive(name pg_catalog.text, archive pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	t regtype;
BEGIN
	IF archive IS NOT NULL THEN
		t := segroll._column_type(archive, def.key_column);
		IF t IS NULL OR t NOT IN ('bigint'::regtype, 'integer'::regtype) THEN
			RAISE EXCEPTION 'archive % has no integer key column "%"', archive, def.key_column
				USING ERRCODE = 'undefined_column';
		END IF;
	END IF;
	UPDATE segroll.source s SET archive = set_archive.archive WHERE s.relid = def.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'must be owner of table %', def.source USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM segroll._log(name, 'set archive', NULL, NULL,
	                     jsonb_build_object('source', def.source::text, 'archive', archive::text));
END
$$;
COMMENT ON FUNCTION @extschema@.set_archive(pg_catalog.text, pg_catalog.regclass) IS
	'names a table (such as a postgres_fdw foreign table of the front-end system) where trace finds source rows no longer kept locally';

/* ============================================ governance: what-if volume */
