/* segroll 0.3.0 -> 0.4.0: trace and reconcile; segmentation governance */

\echo Use "ALTER EXTENSION segroll UPDATE TO '0.4.0'" to load this file. \quit

/*
 * A roll-up (worker, pg_cron) locks the progress table, then the
 * definitions (segroll.rollup() does so first thing).  Taking both in that
 * order before any other lock makes a roll-up either finish before this
 * update or wait for it, never deadlock with the DDL below.
 */
LOCK TABLE @extschema@.progress, @extschema@.segmentation IN ACCESS EXCLUSIVE MODE;

/* ==================================================== trace and reconcile */

/*
 * Trace runs as its caller: it returns only source rows the caller may
 * read, with row-level security and column privileges applied, because it
 * is an ordinary query in the caller's name.  Cells are totals computed
 * with the owner's visibility; verify, repair and purge_source compare and
 * change them as the owner (C entry points, like rollup()).
 */

/* ------------------------------------------------------------ history */

CREATE TABLE @extschema@.event_log (
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
CREATE INDEX ON @extschema@.event_log (at);
CREATE INDEX ON @extschema@.event_log (segmentation, at);
COMMENT ON TABLE @extschema@.event_log IS
	'who changed what and when: definitions, backfills, rebuilds, repairs, purges, period closes; kept for segroll.history_retention';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.event_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.event_log_id_seq', '');

/*
 * Entries are added only in the adder's own name (the columns default to
 * the roles in effect, and the policy checks them); nobody but the
 * extension's owner can change or remove entries, except through retention.
 * Who may read and add is narrowed to the segroll roles further down.
 */
GRANT SELECT, INSERT (segmentation, action, rows, duration_ms, detail) ON @extschema@.event_log TO PUBLIC;
ALTER TABLE @extschema@.event_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_log_read ON @extschema@.event_log FOR SELECT USING (true);
CREATE POLICY event_log_add ON @extschema@.event_log FOR INSERT
	WITH CHECK (role_name OPERATOR(pg_catalog.=) CURRENT_USER
	            AND session_role OPERATOR(pg_catalog.=) SESSION_USER
	            AND at OPERATOR(pg_catalog.=) pg_catalog.now());

CREATE FUNCTION @extschema@._log(seg_name pg_catalog.text, action pg_catalog.text, nrows pg_catalog.int8,
	started pg_catalog.timestamptz, detail pg_catalog.jsonb)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO segroll.event_log (segmentation, action, rows, duration_ms, detail)
	VALUES (seg_name, action, nrows,
	        CASE WHEN started IS NOT NULL
	             THEN 1000 OPERATOR(pg_catalog.*) pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started) END,
	        detail)
$$;
COMMENT ON FUNCTION @extschema@._log(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.jsonb) IS
	'records an event in segroll.event_log (read through segroll.history) in the name of the current role';

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
-- what a role traced is for administrators and auditors to read, not
-- PUBLIC (the roles section below grants it to them)
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
	IF TG_TABLE_NAME = 'event_log' THEN
		DELETE FROM segroll.event_log WHERE at < horizon;
	ELSE
		DELETE FROM segroll.trace_log WHERE at < horizon;
	END IF;
	RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._trim_logs() FROM PUBLIC;
CREATE TRIGGER trim AFTER INSERT ON @extschema@.event_log
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
GRANT INSERT ON @extschema@.purge_log TO PUBLIC;	-- until the roles section
ALTER TABLE @extschema@.purge_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY purge_log_read ON @extschema@.purge_log FOR SELECT USING (true);
CREATE POLICY purge_log_add ON @extschema@.purge_log FOR INSERT WITH CHECK (@extschema@._owns_table(source));

/* A foreign (or any) table that still has the rows a purge removed. */
ALTER TABLE @extschema@.source ADD COLUMN archive pg_catalog.regclass;
GRANT UPDATE (archive) ON @extschema@.source TO PUBLIC;	-- until the roles section
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

-- no trigger calls the shared capture functions of 0.2.0 any more
DROP FUNCTION @extschema@.capture_update(), @extschema@.capture_update_log(), @extschema@.capture_delete();

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

	EXECUTE format('CREATE TABLE %s.%I (%s period pg_catalog.timestamptz NOT NULL, added segroll.segment, removed segroll.segment,
	                adjusted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	                from_seq pg_catalog.int8 NOT NULL, to_seq pg_catalog.int8 NOT NULL)',
	               sch, seg_name || '_adjustments', cols);
	EXECUTE format('CREATE INDEX ON %s.%I (period)', sch, seg_name || '_adjustments');
	apply := segroll._generate_apply(seg_name, src, src_row.change_log, cells, key::name, time_col::name,
	                                 g, time_zone, dims, meas, lineage,
	                                 format('%s.%I', sch, seg_name || '_adjustments')::regclass);
	INSERT INTO segroll.segmentation (name, source, key_column, time_column, grain, time_zone, dimensions,
	                                  measures, lineage, cells, bi_view, unmapped_view, owner, schedule, apply_sql)
	VALUES (seg_name, src, key, time_col, g, time_zone, dims, meas, lineage, cells, bi, unmapped,
	        current_user::regrole, schedule, apply);
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
	IF segroll._adjustments(def) IS NOT NULL THEN
		EXECUTE format('DROP TABLE %s', segroll._adjustments(def));
	END IF;
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
 * The first period start at or after t: rows with times in [boundary(from),
 * boundary(to)) are exactly the rows of the periods that start in
 * [from, to), and a plain range on the time column finds them (its index
 * applies, and the planner estimates it well).
 */
CREATE FUNCTION @extschema@._boundary(def @extschema@.segmentation, t pg_catalog.timestamptz)
RETURNS pg_catalog.timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p timestamptz := date_trunc(def.grain, t, def.time_zone);
BEGIN
	IF p < t THEN
		p := ((p AT TIME ZONE def.time_zone) + ('1 ' || def.grain)::interval) AT TIME ZONE def.time_zone;
	END IF;
	RETURN p;
END
$$;

/*
 * The cells of the rows with times in [$4, $5) (period boundaries), as they
 * stood when the roll-up had applied every change numbered up to $1,
 * recomputed from the source and the change log: rows numbered <= $1, and
 * old versions that a later change replaced.  Columns segroll_d1.., period,
 * seg.  With one_period, [$4, $5) must be exactly one period.
 */
CREATE FUNCTION @extschema@._fresh_sql(def @extschema@.segmentation, with_lineage pg_catalog.bool,
	one_period pg_catalog.bool DEFAULT false)
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
	              AND s.%4$I OPERATOR(pg_catalog.>=) $4 AND s.%4$I OPERATOR(pg_catalog.<) $5
	            UNION ALL
	            SELECT (l.old).* FROM %9$s l
	            WHERE l.old_seq OPERATOR(pg_catalog.<=) $1 AND l.log_seq OPERATOR(pg_catalog.>) $1
	              AND (l.old).%4$I OPERATOR(pg_catalog.>=) $4 AND (l.old).%4$I OPERATOR(pg_catalog.<) $5) s
	      %10$s) s
	GROUP BY %1$s s.segroll_period$f$,
		q.dim_names, CASE WHEN with_lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END,
		def.key_column, def.time_column, q.meas, q.dim_exprs,
		-- [$4, $5) is one period: its start, without a time zone conversion per row
		CASE WHEN one_period THEN '$4::pg_catalog.timestamptz' ELSE q.period END,
		def.source, log, q.joins);
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
 * The expression that shows a source (or archive) row to the caller: the
 * columns the caller may read, in table order, as json (segroll_seq left
 * out).  A caller who may read no column gets the error a SELECT gives.
 */
CREATE FUNCTION @extschema@._visible_json(rel pg_catalog.regclass, alias pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cols text;
BEGIN
	SELECT string_agg(format('%s.%I', alias, a.attname), ', ' ORDER BY a.attnum) INTO cols
	FROM pg_attribute a
	WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname <> 'segroll_seq' AND has_column_privilege(rel, a.attnum, 'SELECT');
	IF cols IS NULL THEN
		RAISE EXCEPTION 'permission denied for table %', rel USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN format('(SELECT pg_catalog.to_json(x) FROM (SELECT %s) x)', cols);
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
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(seg_name);
	archive regclass := (SELECT s.archive FROM segroll.source s WHERE s.relid = def.source);
	purged text;
	q text;
	batch int8[];
	n bigint;
	nrows bigint := 0;
BEGIN
	IF seg IS NULL THEN
		RAISE EXCEPTION 'cannot trace a null segment' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	purged := segroll._purged_filter(def, seg, 'k.key');
	-- the caller's own query: privileges and row-level security apply
	IF archive IS NULL AND purged = 'false' THEN
		-- every row is local: one index scan per batch, in key order
		q := format('SELECT s.%1$I::pg_catalog.int8, ''source''::pg_catalog.text, %2$s FROM %3$s s
		             WHERE s.%1$I OPERATOR(pg_catalog.=) ANY ($1) ORDER BY s.%1$I',
		            def.key_column, segroll._visible_json(def.source, 's'), def.source);
	ELSE
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
			CASE WHEN archive IS NULL THEN ', a AS (SELECT NULL::pg_catalog.int8 AS key, NULL::pg_catalog.json AS r WHERE false)'
			     ELSE format(', a AS MATERIALIZED (SELECT s.%1$I::pg_catalog.int8 AS key, %2$s AS r FROM %3$s s
		                   WHERE s.%1$I OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT k.key FROM k WHERE NOT EXISTS
		                         (SELECT 1 FROM l WHERE l.key OPERATOR(pg_catalog.=) k.key))))',
			                 def.key_column, segroll._visible_json(archive, 's'), archive) END,
			purged);
	END IF;
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
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._trace(name, seg, NULL)
$$;
COMMENT ON FUNCTION @extschema@.trace(pg_catalog.text, @extschema@.segment) IS
	'the source rows behind a segment (a cell or any merge of cells), in key order, as the caller may see them; purged rows are marked';

/* The segment of a cell, or null, looked up as the caller. */
CREATE FUNCTION @extschema@._cell_segment(def @extschema@.segmentation, dimensions pg_catalog.jsonb,
	period pg_catalog.timestamptz)
RETURNS @extschema@.segment
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cond text;
	seg segroll.segment;
BEGIN
	SELECT string_agg(format('c.%I IS NOT DISTINCT FROM ($1 OPERATOR(pg_catalog.->>) %L)::%s AND ',
	                         d->>'name', d->>'name', format_type(segroll._column_type(def.cells, d->>'name'), NULL)), '')
	INTO cond FROM jsonb_array_elements(def.dimensions) d;
	EXECUTE format('SELECT c.seg FROM %s c WHERE %s c.period OPERATOR(pg_catalog.=) $2', def.cells, cond)
		INTO seg USING dimensions, period;
	RETURN seg;
END
$$;

/* The segment of one cell, looked up as the caller. */
CREATE FUNCTION @extschema@.cell(name pg_catalog.text, dimensions pg_catalog.jsonb, period pg_catalog.timestamptz)
RETURNS @extschema@.segment
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	d jsonb;
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
	END LOOP;
	IF (SELECT count(*) FROM jsonb_object_keys(dimensions)) <> jsonb_array_length(def.dimensions) THEN
		RAISE EXCEPTION '% names a dimension segmentation "%" does not have', dimensions, name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	seg := segroll._cell_segment(def, dimensions, period);
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
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
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
	seg := segroll._cell_segment(def, dimensions, period);
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

/*
 * A closed cell as the source stands now: the frozen segment with its
 * adjustments applied in the order the roll-up made them (each retracts
 * old versions, then adds new ones, as a roll-up window does).  Null when
 * nothing is left.
 */
CREATE FUNCTION @extschema@._adjusted(seg @extschema@.segment, added @extschema@.segment[], removed @extschema@.segment[])
RETURNS @extschema@.segment
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	FOR i IN 1 .. coalesce(cardinality(added), 0) LOOP
		IF removed[i] IS NOT NULL THEN
			BEGIN
				seg := segroll.subtract(coalesce(seg, segroll.subtract(removed[i], removed[i])), removed[i]);
			EXCEPTION WHEN data_exception THEN
				-- damaged adjustments: what cannot be retracted stays, and
				-- verify reports the difference from the source
				NULL;
			END;
		END IF;
		IF added[i] IS NOT NULL THEN
			BEGIN
				seg := CASE WHEN seg IS NULL OR segroll.count(seg) = 0 THEN added[i] ELSE segroll.merge(seg, added[i]) END;
			EXCEPTION WHEN unique_violation OR data_exception THEN
				NULL;	-- a key counted twice: likewise
			END;
		END IF;
	END LOOP;
	RETURN CASE WHEN segroll.count(seg) > 0 THEN seg END;
END
$$;


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
	q_text text;
	b_from timestamptz;
	b_to timestamptz;
	p timestamptz;
	nxt timestamptz;
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
				', (%1$L, segroll.sum(j.cs, %4$s), segroll.sum(j.fs, %4$s)), (%2$L, CASE WHEN segroll.minmax_known(j.cs) THEN segroll.min(j.cs, %4$s) ELSE segroll.min(j.fs, %4$s) END, segroll.min(j.fs, %4$s)), (%3$L, CASE WHEN segroll.minmax_known(j.cs) THEN segroll.max(j.cs, %4$s) ELSE segroll.max(j.fs, %4$s) END, segroll.max(j.fs, %4$s))',
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

	q_text := format($f$
	WITH fresh AS (%1$s),
	f AS (SELECT %2$s AS dims, f.period, f.seg FROM fresh f),
	c0 AS (SELECT %3$s AS dims, c.period, c.seg FROM %4$s c
	       WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3),
	a0 AS (SELECT %8$s AS dims, a.period, pg_catalog.array_agg(a.added ORDER BY a.to_seq) AS ad,
	              pg_catalog.array_agg(a.removed ORDER BY a.to_seq) AS rm
	       FROM %9$s a WHERE a.period OPERATOR(pg_catalog.>=) $2 AND a.period OPERATOR(pg_catalog.<) $3
	       GROUP BY 1, 2),
	c AS (SELECT x.* FROM (
	          SELECT coalesce(c0.dims, a0.dims) AS dims, coalesce(c0.period, a0.period) AS period,
	                 CASE WHEN a0.ad IS NULL THEN c0.seg ELSE segroll._adjusted(c0.seg, a0.ad, a0.rm) END AS seg
	          FROM c0 FULL JOIN a0 ON c0.dims OPERATOR(pg_catalog.=) a0.dims AND c0.period OPERATOR(pg_catalog.=) a0.period) x
	      WHERE segroll.count(x.seg) OPERATOR(pg_catalog.>) 0),
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
		'%1$s', q.fresh_json, q.cell_json, def.cells, differs,
		meas_rows, key_rows, replace(q.cell_json, ', c.', ', a.'), segroll._adjustments(def));
	b_from := segroll._boundary(def, period_from);
	b_to := segroll._boundary(def, period_to);
	IF isfinite(b_from) AND isfinite(b_to)
	   AND b_to - b_from <= (CASE def.grain WHEN 'hour' THEN interval '42 days' ELSE interval '3 years' END) THEN
		-- period by period: each knows its period without computing it per row
		q_text := format(q_text, segroll._fresh_sql(def, full_mode AND def.lineage, true));
		p := b_from;
		WHILE p < b_to LOOP
			nxt := ((p AT TIME ZONE def.time_zone) + ('1 ' || def.grain)::interval) AT TIME ZONE def.time_zone;
			RETURN QUERY EXECUTE q_text USING upto, p, nxt, p, nxt;
			p := nxt;
		END LOOP;
	ELSE
		RETURN QUERY EXECUTE format(q_text, segroll._fresh_sql(def, full_mode AND def.lineage))
			USING upto, period_from, period_to, b_from, b_to;
	END IF;
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

/*
 * Rebuilds from the source, under the current reference data, exactly the
 * open cells of [period_from, period_to) that differ from it, and records
 * what changed as the given history action.  repair() and resegment() are
 * this; an as-is segmentation's roll-up does it when reference data moved.
 */
CREATE FUNCTION @extschema@._rebuild_cells(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz, what pg_catalog.text, only_values pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	q segroll._segmentation_sql := segroll._sql(def);
	upto bigint;
	t0 timestamptz := clock_timestamp();
	changed jsonb;
	f_only text := 'true';		-- over fresh's segroll_dN
	c_only text := 'true';		-- over the cells' columns
	d jsonb;
	i int := 0;
	vals text[];
	with_null boolean;
BEGIN
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION 'segroll._rebuild_cells() must be called through segroll.repair() or segroll.resegment()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM segroll._check_range(period_from, period_to);
	-- queue behind any roll-up; cells are rebuilt as it left them
	SELECT p.applied_upto INTO upto FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	-- closed cells stay as they were closed (re-open them to rebuild them)
	period_from := greatest(period_from,
		(SELECT c.closed_upto FROM segroll.closed_period c WHERE c.name = def.name));
	IF period_from >= period_to THEN
		RETURN;
	END IF;
	/*
	 * Only the cells with these dimension values ({"dim": [values]}) can
	 * have gained or lost members: rebuild just those.  A filter on the
	 * grouping columns is pushed below the aggregation by the planner.
	 */
	IF only_values IS NOT NULL THEN
		f_only := 'false';
		c_only := 'false';
		FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
			i := i + 1;
			CONTINUE WHEN NOT only_values ? (d->>'name');
			vals := ARRAY(SELECT v FROM jsonb_array_elements_text(only_values->(d->>'name')) v WHERE v IS NOT NULL);
			with_null := EXISTS (SELECT 1 FROM jsonb_array_elements(only_values->(d->>'name')) v WHERE v = 'null');
			f_only := f_only || format(' OR f0.segroll_d%s::pg_catalog.text OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.text[])%s',
			                           i, vals, CASE WHEN with_null THEN format(' OR f0.segroll_d%s IS NULL', i) ELSE '' END);
			c_only := c_only || format(' OR c.%I::pg_catalog.text OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.text[])%s',
			                           d->>'name', vals, CASE WHEN with_null THEN format(' OR c.%I IS NULL', d->>'name') ELSE '' END);
		END LOOP;
	END IF;

	EXECUTE format($f$
	WITH fresh AS (SELECT f0.* FROM (%1$s) f0 WHERE %8$s),
	f AS (SELECT %2$s AS dims, f.* FROM fresh f),
	c AS (SELECT c.ctid AS cell_ctid, %3$s AS dims, c.period, c.seg FROM %4$s c
	      WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3 AND (%9$s)),
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
		left(regexp_replace(q.dim_names, '(segroll_d[0-9]+)', 'f.\1', 'g'), -2), q.cell_cols, q.dim_names,
		f_only, c_only)
	INTO changed USING upto, period_from, period_to, segroll._boundary(def, period_from), segroll._boundary(def, period_to);

	PERFORM segroll._log(def.name, what, jsonb_array_length(changed), t0,
	                     jsonb_strip_nulls(jsonb_build_object('period_from', period_from, 'period_to', period_to,
	                                        'applied_upto', upto, 'only', only_values, 'cells', changed)));
	RETURN QUERY
		SELECT x.dimensions, x.period, x.action, x.count_before, x.count_after
		FROM jsonb_to_recordset(changed) AS x(dimensions jsonb, period timestamptz, action text,
		                                      count_before bigint, count_after bigint);
END
$$;
CREATE FUNCTION @extschema@._repair(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._rebuild_cells(name, period_from, period_to, 'repair')
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

/* ==================================================== governance: roles */

/*
 * Three duties, three roles (cluster-wide, so created only if missing; DROP
 * EXTENSION leaves them):
 *	segroll_reader   reads cells and BI views;
 *	segroll_auditor  traces, locates and verifies, reads the trace log;
 *	segroll_admin    defines, rolls up, repairs, purges, and is both of
 *	                 the others.
 * Nothing that defines, changes or traces is executable by PUBLIC.  The
 * segment type, its aggregates and accessors, and the status views stay
 * public: they reveal only what the caller can already read.
 */
DO $$
BEGIN
	IF to_regrole('segroll_reader') IS NULL THEN
		CREATE ROLE segroll_reader NOLOGIN;
	END IF;
	IF to_regrole('segroll_auditor') IS NULL THEN
		CREATE ROLE segroll_auditor NOLOGIN;
	END IF;
	IF to_regrole('segroll_admin') IS NULL THEN
		CREATE ROLE segroll_admin NOLOGIN;
	END IF;
END
$$;
COMMENT ON ROLE segroll_reader IS 'segroll: reads cells and their views';
COMMENT ON ROLE segroll_auditor IS 'segroll: traces figures to source rows, verifies cells, reads the trace log';
COMMENT ON ROLE segroll_admin IS 'segroll: defines and operates segmentations';
GRANT segroll_reader TO segroll_auditor;
GRANT segroll_reader, segroll_auditor TO segroll_admin;

/*
 * Takes routines away from PUBLIC and gives them to one duty: one list, so
 * what is revoked and what is granted cannot drift apart.
 */
CREATE FUNCTION @extschema@._grant_duty(duty pg_catalog.name, routines pg_catalog.regprocedure[])
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r regprocedure;
BEGIN
	FOREACH r IN ARRAY routines LOOP
		EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', r);
		EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', r, duty);
	END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._grant_duty(pg_catalog.name, pg_catalog.regprocedure[]) FROM PUBLIC;

-- defining and operating
SELECT @extschema@._grant_duty('segroll_admin', ARRAY[
	'@extschema@.create_segmentation(pg_catalog.text, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.bool, pg_catalog.text, pg_catalog.bool, pg_catalog.name)',
	'@extschema@.alter_segmentation(pg_catalog.text, pg_catalog.text)',
	'@extschema@.drop_segmentation(pg_catalog.text)',
	'@extschema@.rollup(pg_catalog.text, pg_catalog.int8)',
	'@extschema@.rebuild(pg_catalog.text)',
	'@extschema@.repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
	'@extschema@.purge_source(pg_catalog.text, pg_catalog.interval)',
	'@extschema@.set_archive(pg_catalog.text, pg_catalog.regclass)',
	'@extschema@.wait_for_writers(pg_catalog.regclass)',
	'@extschema@._rollup(pg_catalog.text, pg_catalog.int8)',
	'@extschema@._rebuild(pg_catalog.text)',
	'@extschema@._verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text)',
	'@extschema@._repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
	'@extschema@._purge_source(pg_catalog.text, pg_catalog.interval)',
	'@extschema@._install_capture(pg_catalog.regclass)',
	'@extschema@._remove_capture(pg_catalog.regclass)',
	'@extschema@._generate_apply(pg_catalog.text, pg_catalog.regclass, pg_catalog.regclass, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.name[], pg_catalog.bool)',
	'@extschema@._parse_dimension(pg_catalog.regclass, pg_catalog.text)',
	'@extschema@._log(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.jsonb)',
	'@extschema@.backfill(pg_catalog.text, pg_catalog.int8)']::pg_catalog.regprocedure[]);

-- tracing and verifying
SELECT @extschema@._grant_duty('segroll_auditor', ARRAY[
	'@extschema@.trace(pg_catalog.text, @extschema@.segment)',
	'@extschema@.trace(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz)',
	'@extschema@.trace_rows(pg_catalog.text, @extschema@.segment, anyelement)',
	'@extschema@.cell(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz)',
	'@extschema@._cell_segment(@extschema@.segmentation, pg_catalog.jsonb, pg_catalog.timestamptz)',
	'@extschema@.locate(pg_catalog.text, pg_catalog.int8)',
	'@extschema@.verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text)',
	'@extschema@._trace(pg_catalog.text, @extschema@.segment, pg_catalog.jsonb)',
	'@extschema@._visible_json(pg_catalog.regclass, pg_catalog.text)',
	'@extschema@._purged_filter(@extschema@.segmentation, @extschema@.segment, pg_catalog.text)']::pg_catalog.regprocedure[]);

-- the logs: auditors read them, PUBLIC no longer writes them
REVOKE INSERT ON @extschema@.trace_log FROM PUBLIC;
GRANT INSERT (segmentation, cell, keys, rows_returned) ON @extschema@.trace_log TO segroll_auditor;
GRANT SELECT ON @extschema@.trace_log, @extschema@.event_log, @extschema@.purge_log TO segroll_auditor;
REVOKE SELECT ON @extschema@.event_log FROM PUBLIC;
REVOKE INSERT ON @extschema@.event_log FROM PUBLIC;
GRANT INSERT (segmentation, action, rows, duration_ms, detail) ON @extschema@.event_log TO segroll_admin;
REVOKE INSERT ON @extschema@.purge_log, @extschema@.purging FROM PUBLIC;
GRANT INSERT ON @extschema@.purge_log, @extschema@.purging TO segroll_admin;
REVOKE DELETE ON @extschema@.purging FROM PUBLIC;
GRANT DELETE ON @extschema@.purging TO segroll_admin;
-- catalog writes come from the functions above, run by admins (or as owners)
REVOKE INSERT, DELETE ON @extschema@.source, @extschema@.segmentation, @extschema@.progress,
	@extschema@.run_history FROM PUBLIC;
REVOKE UPDATE ON @extschema@.source, @extschema@.segmentation, @extschema@.progress FROM PUBLIC;
GRANT INSERT, DELETE ON @extschema@.source, @extschema@.segmentation, @extschema@.progress,
	@extschema@.run_history TO segroll_admin;
GRANT UPDATE (archive) ON @extschema@.source TO segroll_admin;
GRANT UPDATE (schedule) ON @extschema@.segmentation TO segroll_admin;
GRANT UPDATE (applied_upto, last_run_at, last_run_ms, last_applied, total_applied,
	caught_up_at, last_error, last_error_at, failures) ON @extschema@.progress TO segroll_admin;

-- existing segmentations: their owners keep operating them, readers read them
DO $$
DECLARE
	def record;
BEGIN
	FOR def IN SELECT s.owner, s.cells, s.bi_view, s.unmapped_view FROM @extschema@.segmentation s LOOP
		EXECUTE pg_catalog.format('GRANT segroll_admin TO %I', def.owner);
		EXECUTE pg_catalog.format('GRANT SELECT ON %s, %s, %s TO segroll_reader', def.cells, def.bi_view, def.unmapped_view);
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO segroll_reader',
			(SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			 WHERE c.oid = def.cells));
	END LOOP;
END
$$;

/* ==================================================== governance: period close */

/*
 * Closing a period freezes its cells.  The roll-up then keeps a later
 * change to a source row of a closed period (a late insert, a correction,
 * a reversal) as an adjustment beside the cells: a row of
 * <name>_adjustments with the segments it adds and removes and the time it
 * was applied.  The BI view shows adjustments as rows of their own, so
 * closed figures never change silently and the current figure is their sum.
 */
CREATE TABLE @extschema@.closed_period (
	name         pg_catalog.text PRIMARY KEY
	             REFERENCES @extschema@.segmentation (name) ON DELETE CASCADE,
	closed_upto  pg_catalog.timestamptz NOT NULL,
	closed_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	closed_by    pg_catalog.name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE @extschema@.closed_period IS
	'periods that start before closed_upto are closed: their cells are frozen, later changes are adjustments';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.closed_period', '');
GRANT SELECT ON @extschema@.closed_period TO PUBLIC;
ALTER TABLE @extschema@.closed_period ENABLE ROW LEVEL SECURITY;
CREATE POLICY closed_period_read ON @extschema@.closed_period FOR SELECT USING (true);
CREATE POLICY closed_period_owner ON @extschema@.closed_period
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) closed_period.name), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) closed_period.name), 'MEMBER'));

/* The adjustments table of a segmentation, beside its cells. */
CREATE FUNCTION @extschema@._adjustments(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.to_regclass(pg_catalog.format('%I.%I', n.nspname, def.name OPERATOR(pg_catalog.||) '_adjustments'))
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	WHERE c.oid OPERATOR(pg_catalog.=) def.cells
$$;

CREATE FUNCTION @extschema@._create_adjustments(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	sch text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells);
	cols text;
	adj regclass;
BEGIN
	SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
	INTO cols FROM pg_attribute a
	WHERE a.attrelid = def.cells AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN ('period', 'seg');
	EXECUTE format('CREATE TABLE %I.%I (%s, period pg_catalog.timestamptz NOT NULL, added segroll.segment, removed segroll.segment,
	                adjusted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	                from_seq pg_catalog.int8 NOT NULL, to_seq pg_catalog.int8 NOT NULL)',
	               sch, def.name || '_adjustments', cols);
	adj := format('%I.%I', sch, def.name || '_adjustments')::regclass;
	EXECUTE format('CREATE INDEX ON %s (period)', adj);
	EXECUTE format('GRANT SELECT ON %s TO segroll_reader', adj);
	RETURN adj;
END
$$;

/*
 * The BI view: a row per cell (kind 'cell'), and a row per adjustment of a
 * closed period (kind 'adjustment', with the time it was applied); the sum
 * over both is the figure as the source stands now.
 */
CREATE FUNCTION @extschema@._replace_bi_view(def @extschema@.segmentation)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cdims text := '';
	adims text := '';
	cmeas text := '';
	ameas text := '';
	d jsonb;
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		cdims := cdims || format('c.%I, ', d->>'name');
		adims := adims || format('a.%I, ', d->>'name');
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
		cmeas := cmeas || format(', segroll.sum(c.seg, %s) AS %I, segroll.min(c.seg, %s) AS %I, segroll.max(c.seg, %s) AS %I',
		                         i, def.measures[i] || '_sum', i, def.measures[i] || '_min', i, def.measures[i] || '_max');
		ameas := ameas || format(', coalesce(segroll.sum(a.added, %s), 0) OPERATOR(pg_catalog.-) coalesce(segroll.sum(a.removed, %s), 0), NULL::pg_catalog.numeric, NULL::pg_catalog.numeric',
		                         i, i);
	END LOOP;
	EXECUTE format($v$CREATE OR REPLACE VIEW %s AS
		SELECT %s c.period, segroll.count(c.seg) AS count%s,
		       'cell'::pg_catalog.text AS kind, NULL::pg_catalog.timestamptz AS adjusted_at
		FROM %s c
		UNION ALL
		SELECT %s a.period, coalesce(segroll.count(a.added), 0) OPERATOR(pg_catalog.-) coalesce(segroll.count(a.removed), 0)%s,
		       'adjustment', a.adjusted_at
		FROM %s a$v$,
		def.bi_view, cdims, cmeas, def.cells, adims, ameas, segroll._adjustments(def));
END
$$;

CREATE FUNCTION @extschema@.close_period(name pg_catalog.text, up_to pg_catalog.timestamptz)
RETURNS pg_catalog.timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	b timestamptz;
	previous timestamptz;
BEGIN
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be owner of segmentation "%"', name USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF up_to IS NULL OR NOT isfinite(up_to) THEN
		RAISE EXCEPTION 'up_to must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	b := segroll._boundary(def, up_to);
	SELECT c.closed_upto INTO previous FROM segroll.closed_period c WHERE c.name = def.name;
	IF b <= previous THEN
		RAISE EXCEPTION 'periods of segmentation "%" are closed up to % already', name, previous
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Re-open with segroll.reopen_period() to move the close back.';
	END IF;
	-- everything received so far belongs in the cells being closed
	PERFORM segroll.rollup(name);
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	INSERT INTO segroll.closed_period AS c (name, closed_upto) VALUES (def.name, b)
	ON CONFLICT ON CONSTRAINT closed_period_pkey
	DO UPDATE SET closed_upto = excluded.closed_upto, closed_at = now(), closed_by = CURRENT_USER;
	PERFORM segroll._replace_bi_view(def);
	PERFORM segroll._log(def.name, 'close period', NULL, NULL,
	                     jsonb_build_object('closed_upto', b, 'previous', previous));
	RETURN b;
END
$$;
COMMENT ON FUNCTION @extschema@.close_period(pg_catalog.text, pg_catalog.timestamptz) IS
	'closes the periods that start before up_to (rounded up to a period start): their cells freeze, later changes become adjustments';

CREATE FUNCTION @extschema@.reopen_period(name pg_catalog.text, period_from pg_catalog.timestamptz)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	b timestamptz;
	previous timestamptz;
	folded bigint;
	repaired bigint;
BEGIN
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be owner of segmentation "%"', name USING ERRCODE = 'insufficient_privilege';
	END IF;
	SELECT c.closed_upto INTO previous FROM segroll.closed_period c WHERE c.name = def.name FOR UPDATE;
	b := segroll._boundary(def, period_from);
	IF previous IS NULL OR b IS NULL OR b >= previous THEN
		RAISE EXCEPTION 'segmentation "%" has no closed period from %', name, period_from
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	IF b = '-infinity' THEN
		DELETE FROM segroll.closed_period c WHERE c.name = def.name;
	ELSE
		UPDATE segroll.closed_period c SET closed_upto = b, closed_at = now(), closed_by = CURRENT_USER
		WHERE c.name = def.name;
	END IF;
	-- the re-opened cells take in their adjustments: rebuilt from the source
	EXECUTE format('DELETE FROM %s a WHERE a.period OPERATOR(pg_catalog.>=) $1', segroll._adjustments(def)) USING b;
	GET DIAGNOSTICS folded = ROW_COUNT;
	SELECT count(*) INTO repaired FROM segroll.repair(def.name, b, previous);
	PERFORM segroll._log(def.name, 'reopen period', repaired, NULL,
	                     jsonb_build_object('closed_upto', CASE WHEN b = '-infinity' THEN NULL ELSE b END,
	                                        'previous', previous, 'adjustments_folded', folded));
	RETURN repaired;
END
$$;
COMMENT ON FUNCTION @extschema@.reopen_period(pg_catalog.text, pg_catalog.timestamptz) IS
	're-opens the closed periods from period_from on: their cells are rebuilt from the source, adjustments included, and it is recorded';

/*
 * Generates the SQL of one roll-up window ($1 = applied_upto, $2 = upper,
 * $3 = the end of the closed periods, -infinity when none is closed).  The
 * changes of closed periods go to the adjustments table, not to the cells.
 */
DROP FUNCTION @extschema@._generate_apply(pg_catalog.text, pg_catalog.regclass, pg_catalog.regclass,
	pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb,
	pg_catalog.name[], pg_catalog.bool);
CREATE FUNCTION @extschema@._generate_apply(
	seg_name pg_catalog.text, src pg_catalog.regclass, log pg_catalog.regclass,
	cells pg_catalog.regclass, key_col pg_catalog.name, time_col pg_catalog.name,
	grain pg_catalog.text, tz pg_catalog.text, dims pg_catalog.jsonb,
	measures pg_catalog.name[], lineage pg_catalog.bool, adjustments pg_catalog.regclass)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	i int := 0;
	dim_exprs text := '';		-- "expr AS dN, "
	dim_names text := '';		-- "dN, "
	dim_cols text := '';		-- quoted cell column names
	joins text := '';
	eq_strict text := '';
	eq_nulls text := '';
	all_notnull text := '';
	meas text := '';
	agg text;
	period text;
	period_end text;
	set_list text := '';
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(dims) LOOP
		i := i + 1;
		IF d ? 'column' THEN
			dim_exprs := dim_exprs || format('s.%I AS segroll_d%s, ', d->>'column', i);
		ELSE
			joins := joins || format(' LEFT JOIN %s r%s ON r%s.%I OPERATOR(pg_catalog.=) s.%I',
			                         (d->>'table')::regclass, i, i, d->>'key', d->>'on');
			dim_exprs := dim_exprs || format('r%s.%I AS segroll_d%s, ', i, d->>'value', i);
		END IF;
		dim_names := dim_names || format('d%s, ', i);
		dim_cols := dim_cols || format('%I, ', d->>'name');
		eq_strict := eq_strict || format('c.%I OPERATOR(pg_catalog.=) x.d%s AND ', d->>'name', i);
		eq_nulls := eq_nulls || format('c.%I IS NOT DISTINCT FROM x.d%s AND ', d->>'name', i);
		all_notnull := all_notnull || format('x.d%s IS NOT NULL AND ', i);
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(measures, 1), 0) LOOP
		meas := meas || format(', s.%I', measures[i]);
	END LOOP;
	agg := CASE WHEN lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END;
	period := format('pg_catalog.date_trunc(%L, s.%I, %L)', grain, time_col, tz);
	period_end := format('((x.period AT TIME ZONE %L) OPERATOR(pg_catalog.+) %L::pg_catalog.interval) AT TIME ZONE %L',
	                     tz, '1 ' || grain, tz);

	RETURN format($f$
WITH pos AS (
	-- the window as it stood at $2: versions numbered in it that are still
	-- current, and those that a later change (numbered after $2) already
	-- replaced or deleted; that later change retracts them in its window
	SELECT %21$s segroll_period AS period, %2$s(s.%3$I, s.%4$I%5$s) AS seg
	FROM (SELECT %6$s %7$s AS segroll_period, s.*
	      FROM (SELECT s.* FROM %8$s s
	            WHERE s.segroll_seq OPERATOR(pg_catalog.>) $1 AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	            UNION ALL
	            SELECT (l.old).* FROM %10$s l
	            WHERE l.old_seq OPERATOR(pg_catalog.>) $1 AND l.old_seq OPERATOR(pg_catalog.<=) $2
	              AND l.log_seq OPERATOR(pg_catalog.>) $2) s %9$s) s
	GROUP BY %22$s segroll_period
), neg AS (
	SELECT %21$s segroll_period AS period, %2$s(s.%3$I, s.%4$I%5$s) AS seg
	FROM (SELECT %6$s %7$s AS segroll_period, s.*
	      FROM (SELECT (l.old).* FROM %10$s l
	            WHERE l.log_seq OPERATOR(pg_catalog.>) $1 AND l.log_seq OPERATOR(pg_catalog.<=) $2
	              AND l.old_seq OPERATOR(pg_catalog.<=) $1) s %9$s) s
	GROUP BY %22$s segroll_period
), delta AS (
	SELECT %11$s coalesce(p.period, n.period) AS period, p.seg AS pos, n.seg AS neg
	FROM pos p FULL JOIN neg n ON %12$s p.period OPERATOR(pg_catalog.=) n.period
), adj AS (
	-- a closed period's cells stay as they were closed; its changes are
	-- kept beside them, with the window that brought them
	INSERT INTO %23$s (%19$s period, added, removed, from_seq, to_seq)
	SELECT %20$s x.period, x.pos, x.neg, $1, $2 FROM delta x WHERE x.period OPERATOR(pg_catalog.<) $3
	RETURNING 1
), matched AS (
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %13$s c ON %14$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE %15$s x.period OPERATOR(pg_catalog.>=) $3
	UNION ALL
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %13$s c ON %16$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE NOT (%15$s true) AND x.period OPERATOR(pg_catalog.>=) $3
), combined AS (
	-- retract first (an updated row's new version may land in the same cell),
	-- then add; retracting from a missing cell is an error, never a no-op
	SELECT m.*,
	       CASE WHEN m.pos IS NULL THEN kept WHEN kept IS NULL THEN m.pos
	            ELSE segroll.merge(kept, m.pos) END AS seg0
	FROM (SELECT m.*, CASE WHEN m.neg IS NULL THEN m.old_seg
	                       ELSE segroll.subtract(coalesce(m.old_seg, segroll.subtract(m.neg, m.neg)), m.neg) END AS kept
	      FROM matched m) m
), result AS (
	SELECT x.*,
	       CASE WHEN segroll.count(x.seg0) OPERATOR(pg_catalog.>) 0 AND NOT segroll.minmax_known(x.seg0) THEN
	            -- the cell as it stood at $2, from the source and the change log
	            (SELECT %2$s(s.%3$I, s.%4$I%5$s)
	             FROM (SELECT %6$s s.*
	                   FROM (SELECT s.* FROM %8$s s
	                         WHERE s.%4$I OPERATOR(pg_catalog.>=) x.period AND s.%4$I OPERATOR(pg_catalog.<) %17$s
	                           AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	                         UNION ALL
	                         SELECT (l.old).* FROM %10$s l
	                         WHERE l.old_seq OPERATOR(pg_catalog.<=) $2 AND l.log_seq OPERATOR(pg_catalog.>) $2
	                           AND (l.old).%4$I OPERATOR(pg_catalog.>=) x.period
	                           AND (l.old).%4$I OPERATOR(pg_catalog.<) %17$s) s %9$s) s
	             WHERE %18$s true)
	            ELSE x.seg0 END AS seg
	FROM combined x
), del AS (
	DELETE FROM %13$s c USING result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.=) 0
	RETURNING 1
), upd AS (
	UPDATE %13$s c SET seg = x.seg FROM result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
), ins AS (
	INSERT INTO %13$s (%19$s period, seg)
	SELECT %20$s period, seg FROM result x
	WHERE x.cell_ctid IS NULL AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
)
SELECT (SELECT coalesce(pg_catalog.sum(segroll.count(pos)), 0) FROM delta WHERE pos IS NOT NULL)
     OPERATOR(pg_catalog.+) (SELECT coalesce(pg_catalog.sum(segroll.count(neg)), 0) FROM delta WHERE neg IS NOT NULL),
       (SELECT pg_catalog.count(*) FROM del), (SELECT pg_catalog.count(*) FROM upd), (SELECT pg_catalog.count(*) FROM ins)
$f$,
		dim_names,                                        -- 1
		agg,                                              -- 2
		key_col,                                          -- 3
		time_col,                                         -- 4
		meas,                                             -- 5
		dim_exprs,                                        -- 6
		period,                                           -- 7
		src,                                              -- 8
		joins,                                            -- 9
		log,                                              -- 10
		regexp_replace(dim_names, '(d[0-9]+)', 'coalesce(p.\1, n.\1) AS \1', 'g'),  -- 11
		regexp_replace(dim_names, '(d[0-9]+), ', 'p.\1 IS NOT DISTINCT FROM n.\1 AND ', 'g'), -- 12
		cells,                                            -- 13
		eq_strict,                                        -- 14
		all_notnull,                                      -- 15
		eq_nulls,                                         -- 16
		period_end,                                       -- 17
		regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 IS NOT DISTINCT FROM x.\1', 'g'), -- 18
		dim_cols,                                         -- 19
		dim_names,                                        -- 20
		regexp_replace(dim_names, '(d[0-9]+)', 'segroll_\1 AS \1', 'g'),  -- 21
		regexp_replace(dim_names, '(d[0-9]+)', 'segroll_\1', 'g'),         -- 22
		adjustments);                                     -- 23
END
$$;


CREATE OR REPLACE FUNCTION @extschema@._rollup(name pg_catalog.text, max_changes pg_catalog.int8)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- compiling the window query costs more than it saves, run after run
SET jit = off
AS $$
DECLARE
	def segroll.segmentation;
	prog segroll.progress;
	seqrel regclass;
	logrel regclass;
	upper_seq bigint;
	applied bigint;
	n_del bigint;
	n_upd bigint;
	n_ins bigint;
	err_text text;
	upper_read_at timestamptz;
	whole boolean;
	fingerprint text;
	only_values jsonb;
	t0 timestamptz := clock_timestamp();
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'segroll.rollup must run at READ COMMITTED isolation'
			USING ERRCODE = 'active_sql_transaction',
			      HINT = 'It waits for concurrent writers and then needs a snapshot taken after they finished.';
	END IF;
	SELECT * INTO def FROM segroll.segmentation s WHERE s.name = _rollup.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', _rollup.name USING ERRCODE = 'undefined_object';
	END IF;
	-- segroll.rollup() (C) calls this as the owner, in a security-restricted
	-- operation that owner code cannot leave with SET or RESET ROLE
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION 'segroll._rollup() must be called through segroll.rollup()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;

	-- one roll-up at a time per segmentation
	SELECT * INTO prog FROM segroll.progress p WHERE p.name = _rollup.name FOR UPDATE;
	-- as-is: cells follow the reference data as it is now; when it moved,
	-- re-map the open cells as of applied_upto, then apply the window
	IF def.mapping = 'as-is' THEN
		fingerprint := segroll._reference_fingerprint(def);
		IF fingerprint IS DISTINCT FROM prog.mapping_fingerprint THEN
			IF prog.applied_upto > 0 AND prog.mapping_fingerprint IS NOT NULL THEN
				-- the cells of the values that moved, or all of them when the
				-- previous reference rows are not known
				only_values := segroll._moved_values(def);
				IF only_values IS NULL OR only_values <> '{}' THEN
					PERFORM count(*) FROM segroll._rebuild_cells(def.name, '-infinity', 'infinity',
					                                             'resegment (as-is)', only_values);
				END IF;
			END IF;
			PERFORM segroll._snapshot_reference(def);
			UPDATE segroll.progress p SET mapping_fingerprint = fingerprint WHERE p.name = def.name;
		END IF;
	END IF;
	SELECT seq INTO seqrel FROM segroll.source WHERE relid = def.source;
	upper_read_at := clock_timestamp();
	EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s', seqrel) INTO upper_seq;
	whole := true;
	IF max_changes IS NOT NULL AND upper_seq > prog.applied_upto + max_changes THEN
		upper_seq := prog.applied_upto + max_changes;
		whole := false;
	END IF;
	IF upper_seq <= prog.applied_upto THEN
		-- every change numbered before upper_read_at is applied
		UPDATE segroll.progress p SET last_run_at = now(), last_applied = 0,
			last_run_ms = 1000 * extract(epoch FROM clock_timestamp() - t0),
			caught_up_at = upper_read_at, failures = 0
		WHERE p.name = _rollup.name;
		RETURN 0;
	END IF;
	PERFORM segroll.wait_for_writers(def.source);

	-- a new snapshot: every number <= upper_seq is now committed or aborted
	BEGIN
		EXECUTE def.apply_sql INTO applied, n_del, n_upd, n_ins
			USING prog.applied_upto, upper_seq,
			      coalesce((SELECT c.closed_upto FROM segroll.closed_period c WHERE c.name = def.name), '-infinity');
	EXCEPTION WHEN invalid_parameter_value THEN
		GET STACKED DIAGNOSTICS err_text = MESSAGE_TEXT;
		IF err_text LIKE 'source key % is not in the segment it is subtracted from'
		   OR err_text LIKE 'cannot subtract % rows from a segment of %' THEN
			RAISE EXCEPTION 'segmentation "%" cannot retract a corrected row: %', _rollup.name, err_text
				USING ERRCODE = 'data_exception',
				      DETAIL = 'The row was rolled up into a different cell than its old version maps to now; the reference data it was mapped with has changed since.',
				      HINT = format('Rebuild the cells from the source with SELECT segroll.rebuild(%L).', _rollup.name);
		END IF;
		RAISE;
	END;

	-- log entries every segmentation of the source has applied are done with
	SELECT change_log INTO logrel FROM segroll.source WHERE relid = def.source;
	IF has_table_privilege(logrel, 'DELETE') THEN
		EXECUTE format('DELETE FROM %s WHERE log_seq OPERATOR(pg_catalog.<=) $1', logrel)
		USING (SELECT min(CASE WHEN s.name = _rollup.name THEN upper_seq ELSE p.applied_upto END)
		       FROM segroll.progress p JOIN segroll.segmentation s USING (name)
		       WHERE s.source = def.source);
	END IF;

	UPDATE segroll.progress p
	SET applied_upto = upper_seq, last_run_at = now(), last_applied = applied,
	    total_applied = p.total_applied + applied,
	    last_run_ms = 1000 * extract(epoch FROM clock_timestamp() - t0),
	    caught_up_at = CASE WHEN whole THEN upper_read_at ELSE p.caught_up_at END,
	    failures = 0
	WHERE p.name = _rollup.name;

	-- a bounded history of the runs that applied something
	INSERT INTO segroll.run_history (name, started_at, duration_ms, applied, from_seq, to_seq)
	VALUES (_rollup.name, t0, 1000 * extract(epoch FROM clock_timestamp() - t0), applied,
	        prog.applied_upto, upper_seq);
	DELETE FROM segroll.run_history h
	WHERE h.name = _rollup.name AND h.started_at < (
		SELECT k.started_at FROM segroll.run_history k WHERE k.name = _rollup.name
		ORDER BY k.started_at DESC
		OFFSET greatest(coalesce(nullif(current_setting('segroll.history_size', true), '')::int, 100), 1) - 1
		LIMIT 1);
	RETURN applied;
END
$$;


SELECT @extschema@._grant_duty('segroll_admin', ARRAY[
	'@extschema@._generate_apply(pg_catalog.text, pg_catalog.regclass, pg_catalog.regclass, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.name[], pg_catalog.bool, pg_catalog.regclass)']::pg_catalog.regprocedure[]);

SELECT @extschema@._grant_duty('segroll_admin', ARRAY[
	'@extschema@.close_period(pg_catalog.text, pg_catalog.timestamptz)',
	'@extschema@.reopen_period(pg_catalog.text, pg_catalog.timestamptz)',
	'@extschema@._create_adjustments(@extschema@.segmentation)',
	'@extschema@._replace_bi_view(@extschema@.segmentation)']::pg_catalog.regprocedure[]);
GRANT INSERT, UPDATE, DELETE ON @extschema@.closed_period TO segroll_admin;

-- Every segmentation gets its adjustments table and the SQL that fills it.
-- The tables belong to the segmentations' owners, not to the extension;
-- existing BI views gain their adjustment rows when a period is first
-- closed (a view can only be replaced outside the extension's script).
DO $$
DECLARE
	def @extschema@.segmentation;
	adj regclass;
BEGIN
	FOR def IN SELECT * FROM @extschema@.segmentation LOOP
		adj := @extschema@._create_adjustments(def);
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP TABLE %s', adj);
		EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', adj, def.owner);
		UPDATE @extschema@.segmentation s
		SET apply_sql = @extschema@._generate_apply(def.name, def.source,
		        (SELECT change_log FROM @extschema@.source WHERE relid = def.source), def.cells, def.key_column,
		        def.time_column, def.grain, def.time_zone, def.dimensions, def.measures, def.lineage, adj)
		WHERE s.name = def.name;
	END LOOP;
END
$$;

/* ==================================================== governance: reference changes */

/*
 * When an item moves to another brand, a segmentation either keeps its
 * cells as they were mapped when rolled up (as-was, the default) or follows
 * the reference data as it is now (as-is): its roll-up notices that the
 * reference rows changed (by a fingerprint of the rows it looks up) and
 * re-maps the open cells first.  resegment(name, from, to) re-maps a range
 * of any segmentation on demand.  Both rewrite only the cells whose members
 * changed.
 */
ALTER TABLE @extschema@.segmentation ADD COLUMN mapping pg_catalog.text NOT NULL DEFAULT 'as-was'
	CHECK (mapping OPERATOR(pg_catalog.=) ANY (ARRAY['as-was', 'as-is']));
ALTER TABLE @extschema@.progress ADD COLUMN mapping_fingerprint pg_catalog.text;
GRANT UPDATE (mapping) ON @extschema@.segmentation TO segroll_admin;
GRANT UPDATE (mapping_fingerprint) ON @extschema@.progress TO segroll_admin;

/* A digest of the reference rows a segmentation looks up; null without any. */
CREATE FUNCTION @extschema@._reference_fingerprint(def @extschema@.segmentation)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	part text;
	fp text;
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) WHERE NOT value ? 'column' LOOP
		EXECUTE format('SELECT pg_catalog.md5(pg_catalog.string_agg(r.%1$I::pg_catalog.text OPERATOR(pg_catalog.||) %3$L
		                    OPERATOR(pg_catalog.||) coalesce(r.%2$I::pg_catalog.text, %4$L), %5$L ORDER BY r.%1$I))
		                FROM %6$s r',
		               d->>'key', d->>'value', '=', '<null>', ',', (d->>'table')::regclass)
		INTO part;
		fp := coalesce(fp, '') || coalesce(part, 'empty') || ';';
	END LOOP;
	RETURN fp;
END
$$;

/*
 * The reference rows an as-is segmentation was last mapped with, so that a
 * change re-maps only the cells of the values that moved.
 */
CREATE TABLE @extschema@.reference_snapshot (
	name   pg_catalog.text NOT NULL
	       REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	dim    pg_catalog.int4 NOT NULL,
	key    pg_catalog.text NOT NULL,
	value  pg_catalog.text,
	PRIMARY KEY (name, dim, key)
);
COMMENT ON TABLE @extschema@.reference_snapshot IS
	'for as-is segmentations: the reference rows their cells are mapped with';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reference_snapshot', '');
GRANT SELECT ON @extschema@.reference_snapshot TO PUBLIC;
GRANT INSERT, DELETE ON @extschema@.reference_snapshot TO segroll_admin;
ALTER TABLE @extschema@.reference_snapshot ENABLE ROW LEVEL SECURITY;
CREATE POLICY reference_snapshot_read ON @extschema@.reference_snapshot FOR SELECT USING (true);
CREATE POLICY reference_snapshot_owner ON @extschema@.reference_snapshot
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) reference_snapshot.name), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) reference_snapshot.name), 'MEMBER'));

CREATE FUNCTION @extschema@._snapshot_reference(def @extschema@.segmentation)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	i int := 0;
BEGIN
	DELETE FROM segroll.reference_snapshot r WHERE r.name = def.name;
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		CONTINUE WHEN d ? 'column';
		EXECUTE format('INSERT INTO segroll.reference_snapshot (name, dim, key, value)
		                SELECT $1, $2, r.%I::pg_catalog.text, r.%I::pg_catalog.text FROM %s r',
		               d->>'key', d->>'value', (d->>'table')::regclass)
			USING def.name, i;
	END LOOP;
END
$$;

/*
 * {"dim": [old and new values of the keys whose value changed]} since the
 * snapshot; null when there is no snapshot (everything may have moved).
 */
CREATE FUNCTION @extschema@._moved_values(def @extschema@.segmentation)
RETURNS pg_catalog.jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	i int := 0;
	moved jsonb := '{}';
	vals jsonb;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM segroll.reference_snapshot r WHERE r.name = def.name) THEN
		RETURN NULL;
	END IF;
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		CONTINUE WHEN d ? 'column';
		EXECUTE format($q$
			SELECT pg_catalog.jsonb_agg(DISTINCT v.value)
			FROM (SELECT r.key, r.value FROM segroll.reference_snapshot r
			      WHERE r.name OPERATOR(pg_catalog.=) $1 AND r.dim OPERATOR(pg_catalog.=) $2) o
			FULL JOIN (SELECT n.%1$I::pg_catalog.text AS key, n.%2$I::pg_catalog.text AS value FROM %3$s n) n
			  ON n.key OPERATOR(pg_catalog.=) o.key
			CROSS JOIN LATERAL (VALUES (pg_catalog.to_jsonb(o.value)), (pg_catalog.to_jsonb(n.value))) v(value)
			WHERE o.key IS NULL OR n.key IS NULL OR o.value IS DISTINCT FROM n.value$q$,
			d->>'key', d->>'value', (d->>'table')::regclass)
			INTO vals USING def.name, i;
		IF vals IS NOT NULL THEN
			-- a key that vanished or appeared moves rows to or from the unmapped member
			vals := (SELECT jsonb_agg(DISTINCT coalesce(x, 'null'::jsonb)) FROM jsonb_array_elements(vals) x);
			moved := moved || jsonb_build_object(d->>'name', vals);
		END IF;
	END LOOP;
	RETURN moved;
END
$$;

SELECT @extschema@._grant_duty('segroll_admin', ARRAY[
	'@extschema@._snapshot_reference(@extschema@.segmentation)',
	'@extschema@._moved_values(@extschema@.segmentation)']::pg_catalog.regprocedure[]);

CREATE FUNCTION @extschema@._resegment(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._rebuild_cells(name, period_from, period_to, 'resegment')
$$;
COMMENT ON FUNCTION @extschema@._resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	'the re-mapping itself; called by segroll.resegment() as the segmentation''s owner';

CREATE FUNCTION @extschema@.resegment(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
AS 'MODULE_PATHNAME', 'segroll_resegment'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	're-maps the open cells of [period_from, period_to) under the current reference data, rewriting only those whose members changed';

DROP FUNCTION @extschema@.alter_segmentation(pg_catalog.text, pg_catalog.text);
CREATE FUNCTION @extschema@.alter_segmentation(name pg_catalog.text, schedule pg_catalog.text DEFAULT NULL,
	mapping pg_catalog.text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
BEGIN
	IF schedule IS NOT NULL AND schedule NOT IN ('manual', 'continuous') THEN
		RAISE EXCEPTION 'invalid schedule "%"', schedule USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use manual or continuous.';
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

SELECT @extschema@._grant_duty('segroll_admin', ARRAY[
	'@extschema@.alter_segmentation(pg_catalog.text, pg_catalog.text, pg_catalog.text)',
	'@extschema@.resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
	'@extschema@._resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
	'@extschema@._rebuild_cells(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.jsonb)',
	'@extschema@._reference_fingerprint(@extschema@.segmentation)']::pg_catalog.regprocedure[]);

/* ==================================================== governance: versions */

/*
 * Changing a segmentation's dimensions, grain, measures or lineage makes a
 * new version: a segmentation of its own over the same source, named
 * <name>__v<n>, built from the source in the background (its progress is
 * in segroll.status).  The current version keeps answering queries under
 * <name> until switch_version() swaps the names of the two, catalog rows
 * and tables alike, in one transaction.  The old version is kept under
 * <name>__v<n> (and keeps rolling up) or dropped.
 */
CREATE TABLE @extschema@.segmentation_version (
	name          pg_catalog.text NOT NULL,
	version       pg_catalog.int4 NOT NULL,
	segmentation  pg_catalog.text NOT NULL UNIQUE
	              REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	state         pg_catalog.text NOT NULL
	              CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['current', 'building', 'retired'])),
	created_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	switched_at   pg_catalog.timestamptz,
	PRIMARY KEY (name, version)
);
COMMENT ON TABLE @extschema@.segmentation_version IS
	'versions of a segmentation: which segmentation answers under the name (current), which is being built, which were retired';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segmentation_version', '');
GRANT SELECT ON @extschema@.segmentation_version TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON @extschema@.segmentation_version TO segroll_admin;
ALTER TABLE @extschema@.segmentation_version ENABLE ROW LEVEL SECURITY;
CREATE POLICY segmentation_version_read ON @extschema@.segmentation_version FOR SELECT USING (true);
CREATE POLICY segmentation_version_owner ON @extschema@.segmentation_version
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) segmentation_version.segmentation), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) segmentation_version.segmentation), 'MEMBER'));

-- a segmentation's name can change (switch_version); what refers to it follows
ALTER TABLE @extschema@.progress DROP CONSTRAINT progress_name_fkey,
	ADD FOREIGN KEY (name) REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE @extschema@.run_history DROP CONSTRAINT run_history_name_fkey,
	ADD FOREIGN KEY (name) REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE @extschema@.closed_period DROP CONSTRAINT closed_period_name_fkey,
	ADD FOREIGN KEY (name) REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE;
GRANT UPDATE (name, apply_sql) ON @extschema@.segmentation TO segroll_admin;

CREATE FUNCTION @extschema@.create_version(
	name pg_catalog.text,
	dimensions pg_catalog.text[] DEFAULT NULL,
	grain pg_catalog.text DEFAULT NULL,
	measures pg_catalog.text[] DEFAULT NULL,
	lineage pg_catalog.bool DEFAULT NULL,
	schedule pg_catalog.text DEFAULT 'continuous')
RETURNS pg_catalog.text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	n int;
	vname text;
	dims text[];
	meas text[];
BEGIN
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be owner of segmentation "%"', name USING ERRCODE = 'insufficient_privilege';
	END IF;
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
		            ELSE format('%s=%s.%s ON %s=%s', d->>'name', d->>'table', d->>'value', d->>'on', d->>'key') END
		FROM jsonb_array_elements(def.dimensions) d));
	meas := coalesce(measures, def.measures::text[]);
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
CREATE FUNCTION @extschema@._rename_segmentation(old_name pg_catalog.text, new_name pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(old_name);
	adj regclass := segroll._adjustments(def);
BEGIN
	EXECUTE format('ALTER TABLE %s RENAME TO %I', def.cells, new_name);
	EXECUTE format('ALTER VIEW %s RENAME TO %I', def.bi_view, new_name || '_v');
	EXECUTE format('ALTER VIEW %s RENAME TO %I', def.unmapped_view, new_name || '_unmapped');
	IF adj IS NOT NULL THEN
		EXECUTE format('ALTER TABLE %s RENAME TO %I', adj, new_name || '_adjustments');
	END IF;
	UPDATE segroll.segmentation s SET name = new_name WHERE s.name = old_name;
	-- the roll-up SQL names the tables
	UPDATE segroll.segmentation s
	SET apply_sql = segroll._generate_apply(s.name, s.source, (SELECT change_log FROM segroll.source WHERE relid = s.source),
	        s.cells, s.key_column, s.time_column, s.grain, s.time_zone, s.dimensions, s.measures, s.lineage,
	        segroll._adjustments(s))
	WHERE s.name = new_name;
END
$$;

CREATE FUNCTION @extschema@.switch_version(name pg_catalog.text, keep_old pg_catalog.bool DEFAULT true)
RETURNS pg_catalog.text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	cur segroll.segmentation_version;
	nxt segroll.segmentation_version;
	retired_name text;
	t0 timestamptz := clock_timestamp();
BEGIN
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be owner of segmentation "%"', name USING ERRCODE = 'insufficient_privilege';
	END IF;
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

SELECT @extschema@._grant_duty('segroll_admin', ARRAY[
	'@extschema@.create_version(pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.text[], pg_catalog.bool, pg_catalog.text)',
	'@extschema@.switch_version(pg_catalog.text, pg_catalog.bool)',
	'@extschema@._rename_segmentation(pg_catalog.text, pg_catalog.text)']::pg_catalog.regprocedure[]);


/*
 * segroll.history: every event in one place.  Definition changes, versions,
 * backfills, rebuilds, repairs, re-mappings, closes, re-opens, purges and
 * archive settings are in segroll.event_log, kept for
 * segroll.history_retention; roll-up runs come from segroll.run_history,
 * which keeps the last segroll.history_size runs of each segmentation (a
 * worker rolls up every second: keeping every run would not be bounded).
 */
-- roll-up runs are history too: a dump keeps them
SELECT pg_catalog.pg_extension_config_dump('@extschema@.run_history', '');

CREATE VIEW @extschema@.history AS
SELECT e.id, e.at, e.role_name, e.session_role, e.segmentation, e.action, e.rows, e.duration_ms, e.detail
FROM @extschema@.event_log e
UNION ALL
SELECT NULL::pg_catalog.int8, r.started_at, s.owner::pg_catalog.text::pg_catalog.name, NULL::pg_catalog.name,
       r.name, 'roll-up', r.applied, r.duration_ms,
       pg_catalog.jsonb_build_object('from_seq', r.from_seq, 'to_seq', r.to_seq)
FROM @extschema@.run_history r JOIN @extschema@.segmentation s ON s.name OPERATOR(pg_catalog.=) r.name;
COMMENT ON VIEW @extschema@.history IS
	'who did what and when: events (definitions, versions, backfills, repairs, closes, purges) and the recent roll-up runs';
GRANT SELECT ON @extschema@.history TO segroll_auditor;

/* Rebuilds and backfills are events too. */
CREATE OR REPLACE FUNCTION @extschema@._rebuild(name pg_catalog.text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	def segroll.segmentation;
	t0 timestamptz := clock_timestamp();
	n bigint;
BEGIN
	SELECT * INTO def FROM segroll.segmentation s WHERE s.name = _rebuild.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', _rebuild.name USING ERRCODE = 'undefined_object';
	END IF;
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION 'segroll._rebuild() must be called through segroll.rebuild()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- queue behind any roll-up, then start over from nothing
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	EXECUTE format('DELETE FROM %s', def.cells);
	UPDATE segroll.progress p SET applied_upto = 0 WHERE p.name = def.name;
	n := segroll._rollup(def.name, NULL);
	PERFORM segroll._log(def.name, 'rebuild', n, t0, NULL);
	RETURN n;
END
$$;

-- no SET clause: a procedure with one cannot COMMIT
CREATE OR REPLACE PROCEDURE @extschema@.backfill(name pg_catalog.text, batch pg_catalog.int8 DEFAULT 1000000)
LANGUAGE plpgsql AS $$
DECLARE
	target bigint := segroll.pending_upper(name);
	done bigint;
	started bigint := (SELECT p.applied_upto FROM segroll.progress p WHERE p.name = backfill.name);
	t0 timestamptz := clock_timestamp();
BEGIN
	IF batch IS NULL OR batch OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'batch must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	LOOP
		PERFORM segroll.rollup(name, batch);
		COMMIT;
		SELECT p.applied_upto INTO done FROM segroll.progress p WHERE p.name = backfill.name;
		EXIT WHEN done OPERATOR(pg_catalog.>=) target;
	END LOOP;
	PERFORM segroll._log(name, 'backfill', done OPERATOR(pg_catalog.-) started, t0,
	                     pg_catalog.jsonb_build_object('from_seq', started, 'to_seq', done, 'batch', batch));
END
$$;

/*
 * Auditors and administrators read the trace log; administrators purge it,
 * but never its last day, and purge_trace_log() records each purge in the
 * history, which they cannot change.
 */
CREATE POLICY trace_log_read ON @extschema@.trace_log FOR SELECT USING (true);
CREATE POLICY trace_log_purge ON @extschema@.trace_log FOR DELETE TO segroll_admin
	USING (at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) '1 day'::pg_catalog.interval));
GRANT DELETE ON @extschema@.trace_log TO segroll_admin;

CREATE FUNCTION @extschema@.purge_trace_log(older_than pg_catalog.interval)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	IF older_than IS NULL OR older_than < interval '1 day' THEN
		RAISE EXCEPTION 'older_than must be at least 1 day' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'The trace log keeps at least the last day.';
	END IF;
	DELETE FROM segroll.trace_log t WHERE t.at < now() - older_than;
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM segroll._log(NULL, 'purge trace log', n, NULL, jsonb_build_object('older_than', older_than));
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.purge_trace_log(pg_catalog.interval) IS
	'deletes trace log entries older than the given age (at least 1 day), and records that it did';
SELECT @extschema@._grant_duty('segroll_admin', ARRAY[
	'@extschema@.purge_trace_log(pg_catalog.interval)']::pg_catalog.regprocedure[]);

/* ============================================ governance: what-if volume */

/*
 * segroll.estimate(): the cells, rows per cell and bytes a segmentation
 * would produce, before it is created.  Two samples, neither a full GROUP BY:
 *
 * 1. A row sample (TABLESAMPLE BERNOULLI, fraction q) gives the row count and
 *    the cells it hits ("seen" cells).
 * 2. A cell sample: every row whose dimension values hash below a cut-off
 *    (fraction theta of the dimension tuples), with all its periods, so each
 *    selected cell is complete.  Its real segments, with and without lineage,
 *    give the bytes; its cells that the row sample missed estimate the cells
 *    no row sample can see (Horvitz-Thompson on the unseen part):
 *        cells = seen + unseen_in_cell_sample / theta
 *    Row-sample estimators alone (Duj1, Chao1) were 20-66 % low on the
 *    benchmark's fine segmentations, where most cells hold one row.
 * Step 2 reads every page of the source but aggregates only the selected
 * rows; both samples are exact at 100 %.
 */

/* Validates one candidate as create_segmentation would; returns its definition. */
CREATE FUNCTION @extschema@._estimate_candidate(src pg_catalog.regclass, cand pg_catalog.jsonb,
	time_zone pg_catalog.text, measures pg_catalog.text[])
RETURNS pg_catalog.jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	g text;
	tz text := coalesce(cand->>'time_zone', time_zone);
	meas text[] := measures;
	out_meas text[] := '{}';
	mcol text;
	mt regtype;
	dims jsonb := '[]';
	dj jsonb;
	d text;
	bad text;
BEGIN
	IF jsonb_typeof(cand) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'invalid candidate %', cand USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Each candidate is an object such as {"name": "daily", "dimensions": ["org_id"], "grain": "day"}.';
	END IF;
	SELECT string_agg(k, ', ') INTO bad FROM jsonb_object_keys(cand) k
	WHERE k NOT IN ('name', 'dimensions', 'grain', 'time_zone', 'measures');
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'unknown field % in candidate %', bad, cand USING ERRCODE = 'invalid_parameter_value',
			HINT = 'A candidate may have name, dimensions, grain, time_zone and measures.';
	END IF;
	IF jsonb_typeof(cand->'dimensions') IS DISTINCT FROM 'array'
	   OR (cand ? 'name' AND jsonb_typeof(cand->'name') <> 'string')
	   OR EXISTS (SELECT 1 FROM jsonb_array_elements(cand->'dimensions') e WHERE jsonb_typeof(e) <> 'string')
	   OR (cand ? 'time_zone' AND jsonb_typeof(cand->'time_zone') <> 'string')
	   OR (cand ? 'measures' AND (jsonb_typeof(cand->'measures') <> 'array'
	       OR EXISTS (SELECT 1 FROM jsonb_array_elements(cand->'measures') e WHERE jsonb_typeof(e) <> 'string'))) THEN
		RAISE EXCEPTION 'invalid candidate %', cand USING ERRCODE = 'invalid_parameter_value',
			HINT = 'dimensions and measures are arrays of strings; name and time_zone are strings.';
	END IF;
	IF cand ? 'measures' THEN
		meas := ARRAY(SELECT jsonb_array_elements_text(cand->'measures'));
	END IF;

	g := CASE lower(btrim(cand->>'grain'))
	     WHEN 'hour' THEN 'hour' WHEN '1 hour' THEN 'hour'
	     WHEN 'day' THEN 'day' WHEN '1 day' THEN 'day'
	     WHEN 'week' THEN 'week' WHEN '1 week' THEN 'week'
	     WHEN 'month' THEN 'month' WHEN '1 month' THEN 'month' END;
	IF g IS NULL THEN
		RAISE EXCEPTION 'invalid grain "%"', cand->>'grain' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use hour, day, week or month.';
	END IF;
	IF tz IS NULL OR (NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE pg_timezone_names.name = tz)
	                  AND upper(tz) <> 'UTC') THEN
		RAISE EXCEPTION 'invalid time zone "%"', tz USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use a name from pg_timezone_names, such as Asia/Seoul.';
	END IF;

	IF jsonb_array_length(cand->'dimensions') = 0 THEN
		RAISE EXCEPTION 'a segmentation needs at least one dimension' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR d IN SELECT jsonb_array_elements_text(cand->'dimensions') LOOP
		dj := segroll._parse_dimension(src, d);
		IF dj->>'name' IN ('period', 'seg') OR EXISTS (SELECT 1 FROM jsonb_array_elements(dims) e WHERE e->>'name' = dj->>'name') THEN
			RAISE EXCEPTION 'duplicate or reserved dimension name "%"', dj->>'name' USING ERRCODE = 'duplicate_column';
		END IF;
		dj := dj || jsonb_build_object('type', format_type(CASE WHEN dj ? 'column' THEN segroll._column_type(src, dj->>'column')
		                                                       ELSE segroll._column_type((dj->>'table')::regclass, dj->>'value') END, NULL));
		dims := dims || jsonb_build_array(dj);
	END LOOP;

	FOREACH d IN ARRAY coalesce(meas, '{}') LOOP
		mcol := btrim(d);
		IF lower(mcol) = 'count' OR lower(mcol) = 'count(*)' THEN
			CONTINUE;
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
		IF NOT mcol = ANY (out_meas) THEN
			out_meas := out_meas || mcol;
		END IF;
	END LOOP;

	RETURN jsonb_build_object('name', coalesce(cand->>'name',
	                                            array_to_string(ARRAY(SELECT jsonb_array_elements_text(cand->'dimensions')), ', ') || ' / ' || g),
	                          'dimensions', dims, 'grain', g, 'time_zone', tz, 'measures', to_jsonb(out_meas));
END
$$;

/*
 * Estimates one validated candidate.  sample is a temporary table holding the
 * row sample (fraction q of src); theta is the cell-sample fraction, NULL to
 * choose it from the row sample.
 */
CREATE FUNCTION @extschema@._estimate_one(src pg_catalog.regclass, sample pg_catalog.regclass,
	q pg_catalog.float8, theta pg_catalog.float8, key_col pg_catalog.text, time_col pg_catalog.text,
	def pg_catalog.jsonb,
	OUT periods pg_catalog.int8, OUT cells pg_catalog.int8, OUT "rows" pg_catalog.int8,
	OUT bytes_with_lineage pg_catalog.int8, OUT bytes_without_lineage pg_catalog.int8,
	OUT segment_bytes_with_lineage pg_catalog.int8, OUT segment_bytes_without_lineage pg_catalog.int8,
	OUT cells_rse pg_catalog.float8, OUT cell_sample pg_catalog.float8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	-- the cell sample aims at this many dimension tuples, within this many rows
	target_tuples CONSTANT float8 := 20000;
	row_budget CONSTANT float8 := 1000000;
	-- fewer sampled tuples than this: sample cells instead
	min_units CONSTANT float8 := 1000;
	-- the size model table holds at least this many cells (replicas if need be)
	model_cells CONSTANT float8 := 20000;
	by_cell bool;
	period_expr text;
	d jsonb;
	e text;
	i int := 0;
	raw text := '';			-- "expr, "
	exprs text := '';		-- "expr AS segroll_dN, "
	names text := '';		-- "segroll_dN, "
	ordinals text := '';	-- "N, "
	cols text := '';		-- model table columns
	uniq text := '';
	joins text := '';
	meas text := '';
	meas_args text := '';
	hash_fn text := 'pg_catalog.hash_record_extended(ROW(%s), 0)';
	seen_rows float8;
	seen_cells float8;
	n_tuples float8;
	f1 float8;
	f2 float8;
	sel_cells float8;
	sel_rows float8;
	unseen float8;
	unseen_sq float8;
	size_l float8;
	size_n float8;
	est_cells float8;
	est_rows float8;
	span interval;
	reps int;
	empty_size float8;
	model_n float8;
	model_l float8;
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def->'dimensions') LOOP
		i := i + 1;
		IF d ? 'column' THEN
			e := format('s.%I', d->>'column');
		ELSE
			joins := joins || format(' LEFT JOIN %s r%s ON r%s.%I OPERATOR(pg_catalog.=) s.%I',
			                         (d->>'table')::regclass, i, i, d->>'key', d->>'on');
			e := format('r%s.%I', i, d->>'value');
		END IF;
		raw := raw || e || ', ';
		exprs := exprs || format('%s AS segroll_d%s, ', e, i);
		names := names || format('segroll_d%s, ', i);
		ordinals := ordinals || format('%s, ', i);
		cols := cols || format('%I %s, ', d->>'name', d->>'type');
		uniq := uniq || format('%I, ', d->>'name');
		-- hash_record_extended needs an extended hash function for every field
		IF NOT EXISTS (
			SELECT 1 FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
			JOIN pg_type t ON t.oid = (d->>'type')::regtype
			WHERE a.amname = 'hash' AND c.opcdefault
			  AND c.opcintype = CASE WHEN t.typbasetype <> 0 THEN t.typbasetype ELSE t.oid END) THEN
			hash_fn := 'pg_catalog.hashtextextended(ROW(%s)::pg_catalog.text, 0)';
		END IF;
	END LOOP;
	FOR i IN 0 .. jsonb_array_length(def->'measures') - 1 LOOP
		meas := meas || format(', s.%I AS segroll_m%s', def->'measures'->>i, i);
		meas_args := meas_args || format(', s.segroll_m%s', i);
	END LOOP;

	period_expr := format('pg_catalog.date_trunc(%L, s.%I, %L)', def->>'grain', time_col, def->>'time_zone');

	-- 1. the cells the row sample hits
	EXECUTE format($q$
		CREATE TEMPORARY TABLE segroll_estimate_seen AS
		SELECT %1$s AS h_tuple, %2$s AS h_cell, x.segroll_period AS period, x.n
		FROM (SELECT %3$s %4$s AS segroll_period, pg_catalog.count(*) AS n
		      FROM %5$s s %6$s GROUP BY %7$s %8$s) x$q$,
		format(hash_fn, rtrim(names, ', ')), format(hash_fn, names || 'segroll_period'),
		exprs, period_expr, sample, joins, ordinals, i + 1);
	SELECT coalesce(sum(s.n), 0), count(*), count(DISTINCT s.period)
	INTO seen_rows, seen_cells, periods FROM segroll_estimate_seen s;
	est_rows := seen_rows / q;

	-- Chao1 on dimension tuples: a lower bound, so theta errs on the large side
	SELECT count(*), count(*) FILTER (WHERE t.n = 1), count(*) FILTER (WHERE t.n = 2)
	INTO n_tuples, f1, f2
	FROM (SELECT sum(s.n) AS n FROM segroll_estimate_seen s GROUP BY s.h_tuple) t;
	n_tuples := n_tuples + f1 * (f1 - 1) / (2 * (f2 + 1));
	IF theta IS NULL THEN
		theta := least(1.0, target_tuples / greatest(n_tuples, 1), row_budget / greatest(est_rows, 1));
	END IF;
	cell_sample := theta;
	-- Sampling whole tuples spares computing the period of rows left out, but
	-- a few large tuples (50 organisations x 8 channels) make a poor sample:
	-- then sample (tuple, period) cells.
	by_cell := theta < 1 AND theta * n_tuples < min_units;

	-- 2. the cell sample: complete cells of the tuples whose hash falls below
	-- theta; the period is computed only for those rows
	EXECUTE format($q$
		CREATE TEMPORARY TABLE segroll_estimate_cells AS
		SELECT %1$s AS unit, %2$s AS h_cell, x.*
		FROM (SELECT %3$s s.segroll_period AS period, pg_catalog.count(*) AS n,
		             segroll.segment_agg(s.segroll_key, s.segroll_time%4$s) AS seg_l,
		             segroll.segment_agg_nolineage(s.segroll_key, s.segroll_time%4$s) AS seg_n
		      FROM (SELECT %5$s %6$s AS segroll_period,
		                   s.%7$I AS segroll_key, s.%8$I AS segroll_time%9$s
		            FROM %10$s s %11$s WHERE %12$s) s
		      GROUP BY %13$s %14$s) x$q$,
		format(hash_fn, CASE WHEN by_cell THEN names || 'period' ELSE rtrim(names, ', ') END),
		format(hash_fn, names || 'period'),
		names, meas_args, exprs, period_expr, key_col, time_col, meas, src, joins,
		-- hashes are uniform over int8
		CASE WHEN theta >= 1 THEN 'true'
		     ELSE format('%s OPERATOR(pg_catalog.<) %s::pg_catalog.int8',
		                 format(hash_fn, CASE WHEN by_cell THEN raw || period_expr ELSE rtrim(raw, ', ') END),
		                 floor(-9223372036854775808::numeric + theta::numeric * 18446744073709551616::numeric)) END,
		ordinals, i + 1);

	-- cells the row sample missed, per sampled unit for the variance
	SELECT count(*), coalesce(sum(t.n), 0), coalesce(sum(t.unseen), 0), coalesce(sum(t.unseen ^ 2), 0),
	       coalesce(sum(t.size_l), 0), coalesce(sum(t.size_n), 0)
	INTO sel_cells, sel_rows, unseen, unseen_sq, size_l, size_n
	FROM (SELECT sum(c.n) AS n, count(*) FILTER (WHERE NOT c.seen)::float8 AS unseen,
	             sum(segroll.stored_size(c.seg_l)) AS size_l, sum(segroll.stored_size(c.seg_n)) AS size_n
	      FROM (SELECT c.*, c.h_cell IN (SELECT s.h_cell FROM segroll_estimate_seen s) AS seen
	            FROM segroll_estimate_cells c) c
	      GROUP BY c.unit) t;
	sel_cells := (SELECT count(*) FROM segroll_estimate_cells);
	periods := (SELECT count(*) FROM (SELECT s.period FROM segroll_estimate_seen s
	                                  UNION SELECT c.period FROM segroll_estimate_cells c) p);

	est_cells := seen_cells + unseen / theta;
	cells := round(est_cells);
	"rows" := round(est_rows);
	cells_rse := CASE WHEN est_cells > 0 THEN sqrt((1 - theta) / theta ^ 2 * unseen_sq) / est_cells ELSE 0 END;

	IF sel_cells = 0 AND seen_cells > 0 THEN
		NULL;	-- nothing to measure: bytes stay NULL
	ELSIF sel_cells = 0 THEN
		segment_bytes_without_lineage := 0;
		segment_bytes_with_lineage := 0;
	ELSE
		-- the fixed part scales with cells, the lineage with rows
		segment_bytes_without_lineage := round(est_cells * size_n / sel_cells);
		segment_bytes_with_lineage := round(est_cells * size_n / sel_cells + est_rows * (size_l - size_n) / sel_rows);
	END IF;

	-- 3. table bytes: the sampled cells in a table shaped like the cells
	-- table, inserted in hash order as a roll-up inserts them; replicas in
	-- later periods make small samples fill enough pages to scale
	EXECUTE format('CREATE TEMPORARY TABLE segroll_estimate_model (%s period pg_catalog.timestamptz NOT NULL, seg segroll.segment NOT NULL)', cols);
	EXECUTE format('CREATE UNIQUE INDEX ON segroll_estimate_model (%s period) NULLS NOT DISTINCT', uniq);
	CREATE INDEX ON segroll_estimate_model (period);
	empty_size := pg_total_relation_size('segroll_estimate_model');
	IF seen_cells = 0 AND sel_cells = 0 THEN
		bytes_without_lineage := round(empty_size);
		bytes_with_lineage := round(empty_size);
	ELSIF sel_cells > 0 THEN
		reps := ceil(model_cells / sel_cells);
		-- an absolute shift past the last period: replicas never collide
		span := (SELECT make_interval(secs => extract(epoch FROM max(c.period) - min(c.period)) + 32 * 86400)
		         FROM segroll_estimate_cells c);
		EXECUTE format($q$
			INSERT INTO segroll_estimate_model
			SELECT %s c.period OPERATOR(pg_catalog.+) (k OPERATOR(pg_catalog.*) $1), c.seg_n
			FROM segroll_estimate_cells c, pg_catalog.generate_series(0, $2 - 1) k
			ORDER BY pg_catalog.hashint8extended(c.h_cell, k)$q$, names) USING span, reps;
		model_n := pg_total_relation_size('segroll_estimate_model') - empty_size;
		TRUNCATE segroll_estimate_model;
		EXECUTE format($q$
			INSERT INTO segroll_estimate_model
			SELECT %s c.period OPERATOR(pg_catalog.+) (k OPERATOR(pg_catalog.*) $1), c.seg_l
			FROM segroll_estimate_cells c, pg_catalog.generate_series(0, $2 - 1) k
			ORDER BY pg_catalog.hashint8extended(c.h_cell, k)$q$, names) USING span, reps;
		model_l := pg_total_relation_size('segroll_estimate_model') - empty_size;
		bytes_without_lineage := round(empty_size + model_n / (sel_cells * reps) * est_cells);
		bytes_with_lineage := round(bytes_without_lineage + (model_l - model_n) / reps * est_rows / sel_rows);
	END IF;

	DROP TABLE segroll_estimate_model, segroll_estimate_cells, segroll_estimate_seen;
END
$$;

CREATE FUNCTION @extschema@.estimate_candidates(
	source pg_catalog.regclass,
	candidates pg_catalog.jsonb,
	time_col pg_catalog.text DEFAULT NULL,
	time_zone pg_catalog.text DEFAULT 'UTC',
	measures pg_catalog.text[] DEFAULT '{}',
	key pg_catalog.text DEFAULT NULL,
	sample_percent pg_catalog.float8 DEFAULT NULL)
RETURNS TABLE(candidate pg_catalog.text, periods pg_catalog.int8, cells_per_period pg_catalog.numeric,
              cells pg_catalog.int8, "rows" pg_catalog.int8, rows_per_cell pg_catalog.numeric,
              bytes_with_lineage pg_catalog.int8, bytes_without_lineage pg_catalog.int8,
              segment_bytes_with_lineage pg_catalog.int8, segment_bytes_without_lineage pg_catalog.int8,
              cells_stderr_pct pg_catalog.numeric, row_sample_pct pg_catalog.float8,
              cell_sample_pct pg_catalog.float8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	-- the row sample aims at this many rows
	target_rows CONSTANT float8 := 200000;
	src regclass := estimate_candidates.source;
	key_col text := estimate_candidates.key;
	tcol text := estimate_candidates.time_col;
	keytype regtype;
	timetype regtype;
	defs jsonb[] := '{}';
	def jsonb;
	cand jsonb;
	pages float8;
	density float8;
	q float8;
	r record;
BEGIN
	-- source: what create_segmentation accepts, readable by the caller
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
	IF NOT has_table_privilege(src, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', src USING ERRCODE = 'insufficient_privilege',
			HINT = 'Estimating reads a sample of the source: it needs SELECT on it.';
	END IF;

	-- key: given, or the single-column primary key
	IF key_col IS NULL THEN
		SELECT a.attname INTO key_col
		FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = src AND i.indisprimary AND i.indnkeyatts = 1;
		IF key_col IS NULL THEN
			RAISE EXCEPTION 'table "%" has no single-column primary key', src USING ERRCODE = 'undefined_column',
				HINT = 'Pass key => the column the segmentation will use as its key.';
		END IF;
	END IF;
	keytype := segroll._column_type(src, key_col);
	IF keytype IS NULL THEN
		RAISE EXCEPTION 'key column "%" does not exist in "%"', key_col, src USING ERRCODE = 'undefined_column';
	END IF;
	IF keytype NOT IN ('bigint'::regtype, 'integer'::regtype) THEN
		RAISE EXCEPTION 'key column "%" is %, not bigint or integer', key_col, keytype USING ERRCODE = 'datatype_mismatch';
	END IF;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = key_col) THEN
		RAISE EXCEPTION 'key column "%" is nullable', key_col USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare it NOT NULL (a primary key is).';
	END IF;
	IF NOT segroll._has_unique_index(src, key_col) THEN
		RAISE EXCEPTION 'key column "%" is not unique', key_col USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare a primary key or a unique index on the key column alone.';
	END IF;

	-- time: given, or the only NOT NULL timestamptz column
	IF tcol IS NULL THEN
		IF (SELECT count(*) FROM pg_attribute WHERE attrelid = src AND attnum > 0 AND NOT attisdropped
		      AND atttypid = 'timestamptz'::regtype AND attnotnull) <> 1 THEN
			RAISE EXCEPTION 'cannot choose the time column of "%"', src USING ERRCODE = 'undefined_column',
				HINT = 'Pass time_col => a NOT NULL timestamptz column.';
		END IF;
		SELECT attname INTO tcol FROM pg_attribute WHERE attrelid = src AND attnum > 0 AND NOT attisdropped
		  AND atttypid = 'timestamptz'::regtype AND attnotnull;
	END IF;
	timetype := segroll._column_type(src, tcol);
	IF timetype IS NULL THEN
		RAISE EXCEPTION 'time column "%" does not exist in "%"', tcol, src USING ERRCODE = 'undefined_column';
	END IF;
	IF timetype <> 'timestamptz'::regtype THEN
		RAISE EXCEPTION 'time column "%" is %, not timestamp with time zone', tcol, timetype
			USING ERRCODE = 'datatype_mismatch',
			      HINT = 'Periods are computed in the segmentation''s time zone from an absolute time.';
	END IF;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = tcol) THEN
		RAISE EXCEPTION 'time column "%" is nullable', tcol USING ERRCODE = 'invalid_table_definition',
			HINT = 'Every transaction needs a time to fall into a period: declare the column NOT NULL.';
	END IF;

	IF sample_percent IS NOT NULL AND NOT (sample_percent > 0 AND sample_percent <= 100) THEN
		RAISE EXCEPTION 'invalid sample_percent %', sample_percent USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use a percentage above 0 and at most 100, or NULL to let estimate choose.';
	END IF;
	IF jsonb_typeof(candidates) IS DISTINCT FROM 'array' OR jsonb_array_length(candidates) = 0 THEN
		RAISE EXCEPTION 'candidates must be a non-empty JSON array' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example [{"name": "daily", "dimensions": ["org_id"], "grain": "day"}].';
	END IF;
	-- every candidate is checked before any is estimated
	FOR cand IN SELECT * FROM jsonb_array_elements(candidates) LOOP
		defs := defs || segroll._estimate_candidate(src, cand, time_zone, measures);
	END LOOP;

	IF sample_percent IS NOT NULL THEN
		q := sample_percent / 100;
	ELSE
		-- rows per page from the statistics, else from about 100 pages
		pages := pg_relation_size(src) / current_setting('block_size')::float8;
		SELECT CASE WHEN c.reltuples >= 0 AND c.relpages > 0 THEN c.reltuples / c.relpages END
		INTO density FROM pg_class c WHERE c.oid = src;
		IF density IS NULL AND pages > 0 THEN
			EXECUTE format('SELECT pg_catalog.count(*) FROM %s TABLESAMPLE SYSTEM ($1)', src)
			INTO density USING least(100, 100 * 100 / pages);
			density := density / (least(100, 100 * 100 / pages) / 100 * pages);
		END IF;
		q := least(1.0, target_rows / greatest(coalesce(density, 0) * pages, 1));
	END IF;

	-- one row sample for every candidate; REPEATABLE makes an estimate
	-- reproducible on unchanged data
	IF q >= 1 THEN
		EXECUTE format('CREATE TEMPORARY TABLE segroll_estimate_sample AS SELECT * FROM %s', src);
	ELSE
		EXECUTE format('CREATE TEMPORARY TABLE segroll_estimate_sample AS SELECT * FROM %s TABLESAMPLE BERNOULLI ($1) REPEATABLE (0)', src)
		USING q * 100;
	END IF;

	FOREACH def IN ARRAY defs LOOP
		r := segroll._estimate_one(src, 'segroll_estimate_sample'::regclass, q,
		                           CASE WHEN sample_percent IS NOT NULL THEN q END, key_col, tcol, def);
		candidate := def->>'name';
		periods := r.periods;
		cells := r.cells;
		"rows" := r."rows";
		cells_per_period := round(r.cells::numeric / nullif(r.periods, 0), 1);
		rows_per_cell := round(r."rows"::numeric / nullif(r.cells, 0), 2);
		bytes_with_lineage := r.bytes_with_lineage;
		bytes_without_lineage := r.bytes_without_lineage;
		segment_bytes_with_lineage := r.segment_bytes_with_lineage;
		segment_bytes_without_lineage := r.segment_bytes_without_lineage;
		cells_stderr_pct := round((100 * r.cells_rse)::numeric, 1);
		row_sample_pct := 100 * q;
		cell_sample_pct := 100 * r.cell_sample;
		RETURN NEXT;
	END LOOP;
	DROP TABLE segroll_estimate_sample;
END
$$;
COMMENT ON FUNCTION @extschema@.estimate_candidates(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text,
	pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.float8) IS
	'estimates the cells, rows per cell and bytes of several candidate segmentations, side by side, from samples';

CREATE FUNCTION @extschema@.estimate(
	source pg_catalog.regclass,
	dimensions pg_catalog.text[],
	grain pg_catalog.text,
	time_col pg_catalog.text DEFAULT NULL,
	time_zone pg_catalog.text DEFAULT 'UTC',
	measures pg_catalog.text[] DEFAULT '{}',
	key pg_catalog.text DEFAULT NULL,
	sample_percent pg_catalog.float8 DEFAULT NULL)
RETURNS TABLE(candidate pg_catalog.text, periods pg_catalog.int8, cells_per_period pg_catalog.numeric,
              cells pg_catalog.int8, "rows" pg_catalog.int8, rows_per_cell pg_catalog.numeric,
              bytes_with_lineage pg_catalog.int8, bytes_without_lineage pg_catalog.int8,
              segment_bytes_with_lineage pg_catalog.int8, segment_bytes_without_lineage pg_catalog.int8,
              cells_stderr_pct pg_catalog.numeric, row_sample_pct pg_catalog.float8,
              cell_sample_pct pg_catalog.float8)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll.estimate_candidates($1,
		pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
			'dimensions', pg_catalog.to_jsonb(coalesce($2, '{}')), 'grain', $3)),
		$4, $5, $6, $7, $8)
$$;
COMMENT ON FUNCTION @extschema@.estimate(pg_catalog.regclass, pg_catalog.text[], pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.float8) IS
	'estimates the cells, rows per cell and bytes a segmentation would produce, from samples';

/* Choosing segmentations is the administrators' duty. */
SELECT @extschema@._grant_duty('segroll_admin', ARRAY(
	SELECT p.oid::pg_catalog.regprocedure FROM pg_catalog.pg_proc p
	WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
	  AND (p.proname OPERATOR(pg_catalog.~~) 'estimate%' OR p.proname OPERATOR(pg_catalog.~~) '\_estimate%')));
