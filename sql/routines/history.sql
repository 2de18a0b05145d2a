/*
 * The event log (who changed what, kept for segroll.history_retention),
 * its trimming, the trace log's purge, and segroll.history over both the
 * events and the recent roll-up runs.
 */

CREATE OR REPLACE FUNCTION @extschema@._log(seg_name pg_catalog.text, action pg_catalog.text, nrows pg_catalog.int8,
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

/* Retention, for both logs: entries older than segroll.history_retention go. */
CREATE OR REPLACE FUNCTION @extschema@._trim_logs() RETURNS trigger
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

CREATE OR REPLACE FUNCTION @extschema@.purge_trace_log(older_than pg_catalog.interval)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM segroll._require_arg(older_than, 'older_than', 'purge_trace_log');
	IF older_than < interval '1 day' THEN
		RAISE EXCEPTION 'argument "older_than" of purge_trace_log must be at least 1 day' USING ERRCODE = 'invalid_parameter_value',
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

CREATE OR REPLACE TRIGGER trim AFTER INSERT ON @extschema@.event_log
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._trim_logs();
CREATE OR REPLACE TRIGGER trim AFTER INSERT ON @extschema@.trace_log
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._trim_logs();

/*
 * segroll.history: every event in one place.  Definition changes, versions,
 * backfills, rebuilds, repairs, re-mappings, closes, re-opens, purges and
 * archive settings are in segroll.event_log, kept for
 * segroll.history_retention; roll-up runs come from segroll.run_history,
 * which keeps the last segroll.history_size runs of each segmentation (a
 * worker rolls up every second: keeping every run would not be bounded).
 */
CREATE OR REPLACE VIEW @extschema@.history AS
SELECT e.id, e.at, e.role_name, e.session_role, e.segmentation, e.action, e.rows, e.duration_ms, e.detail
FROM @extschema@.event_log e
UNION ALL
SELECT NULL::pg_catalog.int8, r.started_at, s.owner::pg_catalog.text::pg_catalog.name, NULL::pg_catalog.name,
       r.name, 'roll-up', r.applied, r.duration_ms,
       pg_catalog.jsonb_build_object('from_seq', r.from_seq, 'to_seq', r.to_seq)
FROM @extschema@.run_history r JOIN @extschema@.segmentation s ON s.name OPERATOR(pg_catalog.=) r.name;
COMMENT ON VIEW @extschema@.history IS
	'who did what and when: events (definitions, versions, backfills, repairs, closes, purges) and the recent roll-up runs';
