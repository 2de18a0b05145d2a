/*
 * Metrics for monitoring: segroll.metrics, one row per segmentation with
 * the figures a dashboard or an exporter reads (lag, changes applied, last
 * run, last error, cells and their size, unmapped rows), every one a number
 * or a label.  contrib/prometheus/segroll-queries.yaml reads it for the
 * Prometheus PostgreSQL exporter; docs/operations.md lists the metrics.
 *
 * The view reads segroll.status and the catalog, and counts each
 * segmentation's cells in the caller's name (_cell_metrics): a role that
 * may not read a cells table (not segroll_reader) gets NULL there, as it
 * gets NULL for source_upto in status.  Nothing here reads the source: the
 * unmapped rows are those rolled up into the unmapped member.
 */

/*
 * The cells of a segmentation, and the source rows rolled up into its
 * unmapped member (a cell or adjustment whose dimension is NULL), as the
 * caller sees them; NULLs if the caller may not read the cells.  Reads the
 * cells table once and the adjustments of closed periods, never the source.
 * The size of the lineage blocks for every caller: it is found in
 * pg_class, since to_regclass() (_lineage_blocks) fails for a role
 * without USAGE on the cells schema.
 */
CREATE OR REPLACE FUNCTION @extschema@._cell_metrics(def @extschema@.segmentation,
                                                     OUT cells pg_catalog.int8, OUT unmapped_rows pg_catalog.int8,
                                                     OUT lineage_bytes pg_catalog.int8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	adj regclass;
	unmapped text;
	adjusted bigint;
BEGIN
	SELECT coalesce(sum(pg_total_relation_size(l.oid)), 0)::bigint INTO lineage_bytes
	FROM pg_class c JOIN pg_class l ON l.relnamespace = c.relnamespace
	WHERE c.oid = def.cells AND l.relname = def.name || '_lineage' AND l.relkind = 'r';
	IF NOT has_table_privilege(def.cells, 'SELECT') THEN
		RETURN;
	END IF;
	adj := segroll._adjustments(def);
	-- a dimension is NULL only in the unmapped member: the roll-up maps a
	-- row only when all its dimensions have a value (_sql: mapped)
	SELECT string_agg(format('c.%I IS NULL', d.name), ' OR ') INTO unmapped FROM segroll._cell_dimensions(def) d;
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- unmapped: quoted column names (%I)
	-- a segmentation broken by hand (a cells or adjustments column renamed
	-- or dropped) fails its roll-ups, and status says so; what cannot be
	-- counted is NULL here, so that every other figure still reads
	BEGIN
		EXECUTE format('SELECT pg_catalog.count(*), pg_catalog.sum(segroll.count(c.seg)) FILTER (WHERE %s) FROM %s c',
		               coalesce(unmapped, 'false'), def.cells)
		INTO cells, unmapped_rows;
	EXCEPTION WHEN undefined_column OR undefined_function OR datatype_mismatch THEN
		EXECUTE format('SELECT pg_catalog.count(*) FROM %s c', def.cells) INTO cells;
		RETURN;
	END;
	unmapped_rows := coalesce(unmapped_rows, 0);
	IF unmapped IS NOT NULL AND adj IS NOT NULL AND has_table_privilege(adj, 'SELECT') THEN
		BEGIN
			EXECUTE format('SELECT pg_catalog.sum(coalesce(segroll.count(c.added), 0) OPERATOR(pg_catalog.-) coalesce(segroll.count(c.removed), 0))
			                FROM %s c WHERE %s', adj, unmapped)
			INTO adjusted;
			unmapped_rows := unmapped_rows + coalesce(adjusted, 0);
		EXCEPTION WHEN undefined_column OR undefined_function OR datatype_mismatch THEN
			unmapped_rows := NULL;
		END;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._cell_metrics(@extschema@.segmentation) IS
	'the cells of a segmentation and the rows in its unmapped member, as the caller may read them (NULL otherwise), and the size of its lineage blocks';

CREATE OR REPLACE VIEW @extschema@.metrics AS
SELECT st.name, st.schedule, st.state,
       st.lag_seconds, st.pending_changes, st.applied_upto, st.source_upto,
       st.total_applied AS rows_applied_total,
       pg_catalog.date_part('epoch', st.last_run_at) AS last_run_timestamp_seconds,
       st.last_run_ms OPERATOR(pg_catalog./) 1000 AS last_run_duration_seconds,
       st.last_applied AS last_run_applied,
       (st.failures OPERATOR(pg_catalog.>) 0)::pg_catalog.int4 AS failing,
       st.failures, st.last_error,
       pg_catalog.date_part('epoch', st.last_error_at) AS last_error_timestamp_seconds,
       m.cells,
       pg_catalog.pg_total_relation_size(s.cells) AS cells_bytes,
       m.lineage_bytes,
       m.unmapped_rows
FROM @extschema@.status st
JOIN @extschema@.segmentation s USING (name)
CROSS JOIN LATERAL @extschema@._cell_metrics(s) m;
COMMENT ON VIEW @extschema@.metrics IS
	'one row per segmentation, in numbers for monitoring: lag, changes applied, last run, last error, cells, bytes, unmapped rows';

/*
 * The figures segroll.anomalies() flags (with the segmentation's setting,
 * or its defaults) in the periods of segmentation name that ended in the
 * last day, or for a grain of a week or more in the last period that
 * ended, for a dashboard; null when the caller may not read the BI view.
 */
CREATE OR REPLACE FUNCTION @extschema@._open_anomalies(name pg_catalog.text)
RETURNS pg_catalog.int8 LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	-- the start of the period holding the earlier of a day ago and the end
	-- of the last period that ended, in the segmentation's time zone
	since timestamptz := timezone(def.time_zone, date_trunc(def.grain, timezone(def.time_zone,
		least(now() - interval '1 day',
		      timezone(def.time_zone, date_trunc(def.grain, timezone(def.time_zone, now()))) - interval '1 microsecond'))));
BEGIN
	RETURN (SELECT count(*) FROM segroll.anomalies(_open_anomalies.name, since));
EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_table OR undefined_column THEN
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._open_anomalies(pg_catalog.text) IS
	'how many figures segroll.anomalies() flags in the periods that ended in the last day, or in the last period that ended (null if it cannot say)';
