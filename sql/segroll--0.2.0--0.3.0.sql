/* segroll 0.2.0 -> 0.3.0: background workers and roll-up observability */

\echo Use "ALTER EXTENSION segroll UPDATE TO '0.3.0'" to load this file. \quit

CREATE FUNCTION @extschema@.workers_available()
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segroll_workers_available_sql'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.workers_available() IS
	'whether segroll is preloaded, so that background workers roll up continuous segmentations';

-- what workers and status need to know about each segmentation
ALTER TABLE @extschema@.progress
	ADD COLUMN caught_up_at pg_catalog.timestamptz,
	ADD COLUMN last_error pg_catalog.text,
	ADD COLUMN last_error_at pg_catalog.timestamptz,
	ADD COLUMN failures pg_catalog.int4 NOT NULL DEFAULT 0;
GRANT UPDATE (caught_up_at, last_error, last_error_at, failures) ON @extschema@.progress TO PUBLIC;

CREATE TABLE @extschema@.run_history (
	name         pg_catalog.text NOT NULL
	             REFERENCES @extschema@.segmentation (name) ON DELETE CASCADE,
	started_at   pg_catalog.timestamptz NOT NULL,
	duration_ms  pg_catalog.float8 NOT NULL,
	applied      pg_catalog.int8 NOT NULL,
	from_seq     pg_catalog.int8 NOT NULL,
	to_seq       pg_catalog.int8 NOT NULL
);
CREATE INDEX ON @extschema@.run_history (name, started_at);
COMMENT ON TABLE @extschema@.run_history IS
	'the last segroll.history_size roll-ups of each segmentation that applied changes';
GRANT SELECT, INSERT, DELETE ON @extschema@.run_history TO PUBLIC;
ALTER TABLE @extschema@.run_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_history_read ON @extschema@.run_history FOR SELECT USING (true);
CREATE POLICY run_history_owner ON @extschema@.run_history
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) run_history.name), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) run_history.name), 'MEMBER'));

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
		EXECUTE def.apply_sql INTO applied, n_del, n_upd, n_ins USING prog.applied_upto, upper_seq;
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

/* a continuous schedule without workers deserves a word */
CREATE FUNCTION @extschema@._warn_without_workers(schedule pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF schedule = 'continuous' AND NOT segroll.workers_available() THEN
		RAISE WARNING 'segroll background workers are not running, so nothing rolls this segmentation up continuously'
			USING HINT = 'Add segroll to shared_preload_libraries and restart, or schedule SELECT segroll.rollup(...) with pg_cron.';
	END IF;
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
		EXECUTE format('CREATE TRIGGER segroll_capture_update BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION segroll.capture_update(%L, %L)',
		               src, seq::text, log::text);
		EXECUTE format('CREATE TRIGGER segroll_capture_update_log AFTER UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION segroll.capture_update_log(%L, %L)',
		               src, seq::text, log::text);
		EXECUTE format('CREATE TRIGGER segroll_capture_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS segroll_old_rows FOR EACH STATEMENT EXECUTE FUNCTION segroll.capture_delete(%L, %L)',
		               src, seq::text, log::text);
		EXECUTE format('CREATE TRIGGER segroll_capture_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION segroll.capture_truncate()', src);
		INSERT INTO segroll.source VALUES (src, key, seq, log) RETURNING * INTO src_row;
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
	PERFORM segroll._warn_without_workers(create_segmentation.schedule);
	RETURN cells;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.alter_segmentation(name pg_catalog.text, schedule pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF schedule IS NULL OR schedule NOT IN ('manual', 'continuous') THEN
		RAISE EXCEPTION 'invalid schedule "%"', schedule USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use manual or continuous.';
	END IF;
	UPDATE segroll.segmentation s SET schedule = alter_segmentation.schedule WHERE s.name = alter_segmentation.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist or is not yours', alter_segmentation.name
			USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM segroll._warn_without_workers(schedule);
END
$$;

DROP VIEW @extschema@.status;
CREATE VIEW @extschema@.status AS
SELECT s.name, s.schedule,
       CASE WHEN p.failures OPERATOR(pg_catalog.>) 0 THEN 'failing'
            WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                         WHERE a.state OPERATOR(pg_catalog.=) 'active'
                           AND ((a.backend_type OPERATOR(pg_catalog.=) 'segroll worker'
                                 AND a.query OPERATOR(pg_catalog.=) s.name)
                                OR a.query OPERATOR(pg_catalog.~~)
                                   ('%segroll.rollup(''' OPERATOR(pg_catalog.||) s.name OPERATOR(pg_catalog.||) '''%')))
                 THEN 'running'
            WHEN u.upto OPERATOR(pg_catalog.-) p.applied_upto OPERATOR(pg_catalog.>)
                 coalesce(NULLIF(pg_catalog.current_setting('segroll.batch_size', true), '')::pg_catalog.int8, 1000000)
                 THEN 'backfilling'
            ELSE 'idle' END AS state,
       p.applied_upto, u.upto AS source_upto,
       u.upto OPERATOR(pg_catalog.-) p.applied_upto AS pending_changes,
       CASE WHEN u.upto OPERATOR(pg_catalog.=) p.applied_upto THEN 0::pg_catalog.float8
            ELSE pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) coalesce(p.caught_up_at, s.created_at))
       END AS lag_seconds,
       p.last_run_at, p.last_run_ms, p.last_applied, p.total_applied,
       CASE WHEN p.last_run_ms OPERATOR(pg_catalog.>) 0
            THEN p.last_applied OPERATOR(pg_catalog./) (p.last_run_ms OPERATOR(pg_catalog./) 1000) END AS rows_per_second,
       p.failures, p.last_error, p.last_error_at
FROM @extschema@.segmentation s
JOIN @extschema@.progress p USING (name)
CROSS JOIN LATERAL (SELECT @extschema@.pending_upper(s.name) AS upto) u;
COMMENT ON VIEW @extschema@.status IS
	'one row per segmentation: schedule, state, progress, lag (an upper bound on the age of the oldest unapplied change), last run, last error';
GRANT SELECT ON @extschema@.status TO PUBLIC;
