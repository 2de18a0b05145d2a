/*
 * Rolling up: rollup() (C) runs _rollup() as the segmentation's owner in a
 * security-restricted operation; backfill() in committed batches;
 * rebuild() from scratch; segroll.status shows the progress.
 */

CREATE OR REPLACE FUNCTION @extschema@.rollup(name pg_catalog.text, max_changes pg_catalog.int8 DEFAULT NULL)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segroll_rollup'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rollup(pg_catalog.text, pg_catalog.int8) IS
	'applies pending source changes to the cells, exactly once, as the segmentation''s owner; what pg_cron calls';

CREATE OR REPLACE FUNCTION @extschema@.pending_upper(name pg_catalog.text)
RETURNS pg_catalog.int8 LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	seqrel regclass;
BEGIN
	PERFORM segroll._require_arg(pending_upper.name, 'name', 'pending_upper');
	SELECT s.seq INTO seqrel FROM segroll.source s JOIN segroll.segmentation g ON g.source = s.relid
	WHERE g.name = pending_upper.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', pending_upper.name USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT has_sequence_privilege(seqrel, 'SELECT') THEN
		RETURN NULL;	-- another role's source: not ours to read
	END IF;
	IF segroll._distribution_column((SELECT g.source FROM segroll.segmentation g WHERE g.name = pending_upper.name)) IS NOT NULL THEN
		-- summed over the node ranges (distributed.sql)
		RETURN segroll._distributed_upper(segroll._definition(pending_upper.name));
	END IF;
	RETURN segroll._capture_last(seqrel);
END
$$;
COMMENT ON FUNCTION @extschema@.pending_upper(pg_catalog.text) IS
	'the newest change number of the segmentation''s source; applied_upto reaches it when the cells are current';

CREATE OR REPLACE FUNCTION @extschema@.rebuild(name pg_catalog.text)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segroll_rebuild'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rebuild(pg_catalog.text) IS
	'recomputes every cell of a segmentation from its source, in one transaction';

CREATE OR REPLACE FUNCTION @extschema@.workers_available()
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segroll_workers_available_sql'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.workers_available() IS
	'whether segroll is preloaded, so that background workers roll up continuous segmentations';

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
	read_once boolean;
	closed_end timestamptz;
	build boolean := false;
	upserted boolean := false;
	n_big bigint;
	t0 timestamptz := clock_timestamp();
BEGIN
	-- NULL: everything pending (the name is checked by rollup(), C)
	IF max_changes < 1 THEN
		RAISE EXCEPTION 'argument "max_changes" of rollup must be positive, not %', max_changes
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass NULL (the default) to apply every pending change.';
	END IF;
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'segroll.rollup must run at READ COMMITTED isolation'
			USING ERRCODE = 'active_sql_transaction',
			      HINT = 'It waits for concurrent writers and then needs a snapshot taken after they finished.';
	END IF;
	def := segroll._definition(_rollup.name);
	PERFORM segroll._require_owner_context(def, 'segroll._rollup()', 'segroll.rollup()');

	-- a Citus-distributed source: node range by node range (distributed.sql)
	IF segroll._distribution_column(def.source) IS NOT NULL THEN
		PERFORM FROM segroll.progress p WHERE p.name = _rollup.name FOR UPDATE;
		applied := segroll._rollup_distributed(def, max_changes, t0);
		IF applied > 0 THEN
			PERFORM segroll._evaluate_anomalies(def);
			PERFORM segroll._trim_run_history(def.name);
		END IF;
		RETURN applied;
	END IF;

	SELECT seq INTO seqrel FROM segroll.source WHERE relid = def.source;

	-- An idle round writes nothing, not even a row lock (which would take a
	-- transaction id): with nothing new, no failure to clear and, as-is,
	-- reference rows as they were mapped, it returns before locking.  A
	-- roll-up running meanwhile has not committed its applied_upto yet; this
	-- one then takes the long way, and waits for it.
	SELECT * INTO prog FROM segroll.progress p WHERE p.name = _rollup.name;
	upper_seq := segroll._capture_last(seqrel);
	IF upper_seq <= prog.applied_upto AND prog.failures = 0
	   AND (def.mapping <> 'as-is'
	        OR segroll._reference_fingerprint(def) IS NOT DISTINCT FROM prog.mapping_fingerprint) THEN
		RETURN 0;
	END IF;

	-- one roll-up at a time per segmentation
	SELECT * INTO prog FROM segroll.progress p WHERE p.name = _rollup.name FOR UPDATE;
	upper_read_at := clock_timestamp();
	upper_seq := segroll._capture_last(seqrel);
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
	whole := true;
	IF max_changes IS NOT NULL AND upper_seq > prog.applied_upto + max_changes THEN
		upper_seq := prog.applied_upto + max_changes;
		whole := false;
	END IF;
	IF upper_seq <= prog.applied_upto THEN
		-- nothing to apply: clear a failure (every change numbered before
		-- upper_read_at is applied); an as-is re-map was written above
		IF prog.failures <> 0 THEN
			UPDATE segroll.progress p SET last_run_at = now(), last_applied = 0,
				last_run_ms = 1000 * extract(epoch FROM clock_timestamp() - t0),
				caught_up_at = upper_read_at, failures = 0
			WHERE p.name = _rollup.name;
		END IF;
		RETURN 0;
	END IF;
	PERFORM segroll.wait_for_writers(def.source);

	-- a new snapshot: every number <= upper_seq is now committed or aborted
	BEGIN
		-- apply_sql: written by segroll._generate_apply() only (%I, %L, regclass).
		-- It reads the window once into a tuplestore, which pays off when
		-- cells are kept in lineage blocks (their pass reads it again); a
		-- build from change 0, or a segmentation with no cell in blocks,
		-- reads it twice at most, cheaper than storing it
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
		EXECUTE format('SELECT EXISTS (SELECT FROM %s)', segroll._lineage_blocks(def)) INTO read_once;
		closed_end := coalesce((SELECT c.closed_upto FROM segroll.closed_period c WHERE c.name = def.name), '-infinity');
		-- a build from change 0 into nothing (build_sql.sql): one GROUP BY
		-- of the rows as of upper_seq, inserted as is
		IF prog.applied_upto = 0 AND NOT read_once AND closed_end = '-infinity' THEN
			EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s) AND NOT EXISTS (SELECT FROM %s)',
			               def.cells, segroll._adjustments(def)) INTO build;
		END IF;
		IF build THEN
			EXECUTE segroll._generate_build(def) INTO applied, n_ins, n_big
				USING upper_seq, current_setting('segroll.inline_lineage_limit')::bigint;
			IF n_big > 0 THEN
				EXECUTE segroll._generate_build_blocks(def)
					USING upper_seq, current_setting('segroll.inline_lineage_limit')::bigint;
			END IF;
			n_del := 0;
			n_upd := 0;
		ELSE
			-- a window of inserts while no cell is in blocks (upsert_sql.sql):
			-- one INSERT ... ON CONFLICT, undone (SQLSTATE SRU01, raised here
			-- only) when a cell it wrote needs the general statement, and on
			-- any error, which the general statement then reports as it
			-- always has (a cells column renamed under it, say).  Not from
			-- change 0, whose cells likely grow past the limit: that window
			-- is a build's, or the general statement's
			IF prog.applied_upto > 0 AND NOT read_once THEN
				BEGIN
					EXECUTE segroll._generate_upsert(def, segroll._adjustments(def))
						INTO applied, n_upd, n_ins, upserted
						USING prog.applied_upto, upper_seq, closed_end,
						      current_setting('segroll.inline_lineage_limit')::bigint;
					IF NOT upserted THEN
						RAISE EXCEPTION 'the window needs the general roll-up statement' USING ERRCODE = 'SRU01';
					END IF;
					n_del := 0;
				EXCEPTION WHEN OTHERS THEN
					upserted := false;
				END;
			END IF;
			IF NOT upserted THEN
				EXECUTE CASE WHEN prog.applied_upto > 0 AND read_once THEN def.apply_sql
				             ELSE segroll._generate_apply(def, segroll._adjustments(def), false) END
					INTO applied, n_del, n_upd, n_ins
					USING prog.applied_upto, upper_seq, closed_end,
					      current_setting('segroll.inline_lineage_limit')::bigint;
			END IF;
		END IF;
	-- 22S01 (C: ERRCODE_SEGROLL_NOT_CONTAINED): a retraction found its row
	-- missing from the cell it should be in
	EXCEPTION WHEN SQLSTATE '22S01' THEN
		GET STACKED DIAGNOSTICS err_text = MESSAGE_TEXT;
		RAISE EXCEPTION 'segmentation "%" cannot retract a corrected row: %', _rollup.name, err_text
			USING ERRCODE = 'data_exception',
			      DETAIL = 'The row was rolled up into a different cell than its old version maps to now; the reference data it was mapped with has changed since.',
			      HINT = format('Rebuild the cells from the source with SELECT segroll.rebuild(%L).', _rollup.name);
	END;
	RAISE DEBUG 'segroll: segmentation "%" applied % changes: % cells deleted, % updated, % inserted%',
		_rollup.name, applied, n_del, n_upd, n_ins,
		CASE WHEN build THEN ' (built into empty cells)' WHEN upserted THEN ' (inserts only, upserted)' ELSE '' END;

	-- the next window is found through the capture index: keep it summarized
	PERFORM segroll._summarize_capture(def.source);

	-- log entries every segmentation of the source has applied are done with
	SELECT change_log INTO logrel FROM segroll.source WHERE relid = def.source;
	IF has_table_privilege(logrel, 'DELETE') THEN
		EXECUTE format('DELETE FROM %s WHERE log_seq OPERATOR(pg_catalog.<=) $1', logrel)
		USING (SELECT min(CASE WHEN s.name = _rollup.name THEN upper_seq ELSE p.applied_upto END)
		       FROM segroll.progress p JOIN segroll.segmentation s USING (name)
		       WHERE s.source = def.source);
	END IF;

	-- the anomaly flags of the periods that ended since the last evaluation,
	-- when the DBA asked for them (anomalies.sql: a failure there is caught
	-- and kept, it does not fail the roll-up)
	PERFORM segroll._evaluate_anomalies(def);

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
	PERFORM segroll._trim_run_history(_rollup.name);
	RETURN applied;
END
$$;
COMMENT ON FUNCTION @extschema@._rollup(pg_catalog.text, pg_catalog.int8) IS
	'the roll-up itself; called by segroll.rollup() as the segmentation''s owner';

/* Keeps the last segroll.history_size runs of segmentation name in segroll.run_history. */
CREATE OR REPLACE FUNCTION @extschema@._trim_run_history(name pg_catalog.text)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	DELETE FROM @extschema@.run_history h
	WHERE h.name OPERATOR(pg_catalog.=) _trim_run_history.name AND h.started_at OPERATOR(pg_catalog.<) (
		SELECT k.started_at FROM @extschema@.run_history k WHERE k.name OPERATOR(pg_catalog.=) _trim_run_history.name
		ORDER BY k.started_at DESC
		OFFSET GREATEST(COALESCE(NULLIF(pg_catalog.current_setting('segroll.history_size', true), '')::pg_catalog.int4, 100), 1)
		       OPERATOR(pg_catalog.-) 1
		LIMIT 1)
$$;

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
	def := segroll._definition(_rebuild.name);
	PERFORM segroll._require_owner_context(def, 'segroll._rebuild()', 'segroll.rebuild()');
	-- queue behind any roll-up, then start over from nothing
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	EXECUTE format('DELETE FROM %s', def.cells);
	EXECUTE format('DELETE FROM %s', segroll._lineage_blocks(def));
	UPDATE segroll.progress p SET applied_upto = 0 WHERE p.name = def.name;
	DELETE FROM segroll.node_progress n WHERE n.name = def.name;
	n := segroll._rollup(def.name, NULL);
	PERFORM segroll._log(def.name, 'rebuild', n, t0, NULL);
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@._rebuild(pg_catalog.text) IS
	'the rebuild itself; called by segroll.rebuild() as the segmentation''s owner';

/*
 * Gives up to batch of the rows that were in the source of segmentation
 * name before its capture (number 1) a fresh number, while no segmentation
 * of the source has rolled them up: then no old version needs logging
 * (_number_rows), and a first backfill can take them batch by batch.
 * Returns how many (0 when they are all numbered, or some segmentation has
 * rolled them up already: then they are one window).
 */
CREATE OR REPLACE FUNCTION @extschema@._number_before_capture(name pg_catalog.text, batch pg_catalog.int8)
RETURNS pg_catalog.int8 LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._owned_definition(name);
	rel regclass;
	total int8 := 0;
BEGIN
	IF EXISTS (SELECT FROM segroll.segmentation s JOIN segroll.progress p ON p.name = s.name
	           WHERE s.source = def.source AND p.applied_upto >= 1) THEN
		RETURN 0;
	END IF;
	FOR rel IN SELECT t.relid FROM pg_partition_tree(def.source) t
	           WHERE t.isleaf AND (SELECT relkind FROM pg_class WHERE oid = t.relid) = 'r'
	           UNION ALL SELECT def.source WHERE (SELECT relkind FROM pg_class WHERE oid = def.source) = 'r' LOOP
		EXIT WHEN total >= batch;
		total := total + segroll._number_rows(rel, batch - total);
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@._number_before_capture(pg_catalog.text, pg_catalog.int8) IS
	'numbers afresh up to batch rows that were in the source before its capture, while none is rolled up; for backfill()';

/* Builds the capture index of the source of segmentation name, if missing (for backfill()). */
CREATE OR REPLACE FUNCTION @extschema@._build_capture_index_of(name pg_catalog.text)
RETURNS pg_catalog.bool LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._build_capture_index(d.source, d.key_column) FROM @extschema@._owned_definition(name) d
$$;

-- no SET clause: a procedure with one cannot COMMIT
-- A procedure that commits cannot pin its search_path with SET, so every
-- name in it is qualified: it runs under its caller's search_path.
CREATE OR REPLACE PROCEDURE @extschema@.backfill(name pg_catalog.text, batch pg_catalog.int8 DEFAULT 1000000)
LANGUAGE plpgsql AS $$
DECLARE
	target pg_catalog.int8;
	done pg_catalog.int8;
	started pg_catalog.int8;
	t0 pg_catalog.timestamptz := pg_catalog.clock_timestamp();
BEGIN
	PERFORM segroll._require_arg(name, 'name', 'backfill');
	PERFORM segroll._require_arg(batch, 'batch', 'backfill');
	IF batch OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'argument "batch" of backfill must be positive, not %', batch USING ERRCODE = 'invalid_parameter_value';
	END IF;
	target := segroll.pending_upper(name);
	started := (SELECT p.applied_upto FROM segroll.progress p WHERE p.name OPERATOR(pg_catalog.=) backfill.name);
	-- the rows that were there before the capture all carry number 1, one
	-- window: before a first roll-up, they are numbered afresh in batches
	-- (committed each), so that the roll-ups below go batch by batch too
	-- the capture index, if create_segmentation left it to us: in a
	-- transaction of its own (a SHARE lock while the BRIN index is built)
	IF segroll._build_capture_index_of(name) THEN
		COMMIT;
	END IF;
	IF started OPERATOR(pg_catalog.<) 1 THEN
		LOOP
			EXIT WHEN segroll._number_before_capture(name, batch) OPERATOR(pg_catalog.=) 0;
			COMMIT;
		END LOOP;
		target := segroll.pending_upper(name);
	END IF;
	LOOP
		PERFORM segroll.rollup(name, batch);
		COMMIT;
		SELECT p.applied_upto INTO done FROM segroll.progress p WHERE p.name OPERATOR(pg_catalog.=) backfill.name;
		EXIT WHEN done OPERATOR(pg_catalog.>=) target;
	END LOOP;
	PERFORM segroll._log(name, 'backfill', done OPERATOR(pg_catalog.-) started, t0,
	                     pg_catalog.jsonb_build_object('from_seq', started, 'to_seq', done, 'batch', batch));
END
$$;
COMMENT ON PROCEDURE @extschema@.backfill(pg_catalog.text, pg_catalog.int8) IS
	'rolls up pending changes in batches, committing after each: resumable, progress in segroll.status';

/*
 * How many change numbers of segmentation name's source are not applied
 * yet, for every caller: segroll.status and the exporter's role (pg_monitor,
 * segroll_reader) need the lag in changes without SELECT on another owner's
 * capture sequence.  SECURITY DEFINER (the extension's owner) to read the
 * sequence; it returns one number and takes nothing from the caller but a
 * segmentation name compared as a value.  The number tells no more than
 * pg_stat_all_tables already tells every role (rows inserted, updated and
 * deleted per table).
 */
CREATE OR REPLACE FUNCTION @extschema@._pending_changes(name pg_catalog.text)
RETURNS pg_catalog.int8 LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	seqrel regclass;
	applied bigint;
BEGIN
	SELECT s.seq, p.applied_upto INTO seqrel, applied
	FROM segroll.segmentation g JOIN segroll.source s ON s.relid = g.source JOIN segroll.progress p ON p.name = g.name
	WHERE g.name = _pending_changes.name;
	-- only a sequence is read (a catalog row names its own, but check)
	IF NOT FOUND OR (SELECT c.relkind FROM pg_class c WHERE c.oid = seqrel) IS DISTINCT FROM 'S' THEN
		RETURN NULL;
	END IF;
	IF segroll._distribution_column((SELECT g.source FROM segroll.segmentation g WHERE g.name = _pending_changes.name)) IS NOT NULL THEN
		RETURN segroll._distributed_upper(segroll._definition(_pending_changes.name)) - applied;
	END IF;
	RETURN segroll._capture_last(seqrel) - applied;
END
$$;
COMMENT ON FUNCTION @extschema@._pending_changes(pg_catalog.text) IS
	'the number of change numbers of a segmentation''s source not rolled up yet, for any role (segroll.status.pending_changes)';

CREATE OR REPLACE VIEW @extschema@.status AS
SELECT s.name, s.schedule,
       CASE WHEN p.failures OPERATOR(pg_catalog.>) 0 THEN 'failing'
            WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                         WHERE a.state OPERATOR(pg_catalog.=) 'active'
                           AND ((a.backend_type OPERATOR(pg_catalog.=) 'segroll worker'
                                 AND a.query OPERATOR(pg_catalog.=) s.name)
                                OR a.query OPERATOR(pg_catalog.~~)
                                   ('%segroll.rollup(''' OPERATOR(pg_catalog.||) s.name OPERATOR(pg_catalog.||) '''%')))
                 THEN 'running'
            WHEN u.pending OPERATOR(pg_catalog.>)
                 coalesce(NULLIF(pg_catalog.current_setting('segroll.batch_size', true), '')::pg_catalog.int8, 1000000)
                 THEN 'backfilling'
            ELSE 'idle' END AS state,
       p.applied_upto, u.upto AS source_upto,
       u.pending AS pending_changes,
       CASE WHEN u.pending OPERATOR(pg_catalog.=) 0 THEN 0::pg_catalog.float8
            ELSE pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) coalesce(p.caught_up_at, s.created_at))
       END AS lag_seconds,
       p.last_run_at, p.last_run_ms, p.last_applied, p.total_applied,
       CASE WHEN p.last_run_ms OPERATOR(pg_catalog.>) 0
            THEN p.last_applied OPERATOR(pg_catalog./) (p.last_run_ms OPERATOR(pg_catalog./) 1000) END AS rows_per_second,
       p.failures, p.last_error, p.last_error_at
FROM @extschema@.segmentation s
JOIN @extschema@.progress p USING (name)
CROSS JOIN LATERAL (SELECT @extschema@.pending_upper(s.name) AS upto, @extschema@._pending_changes(s.name) AS pending) u;
COMMENT ON VIEW @extschema@.status IS
	'one row per segmentation: schedule, state, progress, lag (an upper bound on the age of the oldest unapplied change), last run, last error';
