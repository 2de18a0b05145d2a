/*
 * The window of inserts (issue 13, the worker): when a roll-up's window
 * retracts nothing (no change numbered in it replaced or deleted a row
 * applied before it) and no cell keeps its lineage in blocks, _rollup()
 * runs this one INSERT ... ON CONFLICT DO UPDATE instead of the general
 * window statement of apply_sql.sql.  That is the steady state of a
 * continuous segmentation fed by inserts: the worker's share of the CPU
 * the inserting backends use was twice the statement's own cost (a lookup,
 * a tuplestore and a filter pass per touched cell for each of the general
 * statement's steps: matched, combined, result, upd, ins).
 *
 * It writes what the general statement writes for such a window: each
 * touched cell becomes merge(old segment, the window's segment of the
 * cell) (combined), a new cell the window's segment (ins), and a closed
 * period's changes go to the adjustments table (adj).  The cases where the
 * general statement writes something else are refused after the fact, and
 * _rollup() undoes the statement (a subtransaction) and runs the general
 * one: a cell with lineage past segroll.inline_lineage_limit rows, whose
 * lineage moves to blocks, and a segment whose min, max or distinct count
 * is not known, which the general statement recomputes.  On any error of
 * this statement _rollup() runs the general one too, which reports its own.
 * test/sql/upsert_window.sql compares the two, segment for segment.
 */

/*
 * $1 = applied_upto, $2 = upper, $3 = the end of the closed periods
 * (-infinity when none is closed), $4 = segroll.inline_lineage_limit, as
 * for the general statement.  Returns the rows applied, the cells updated
 * and inserted, and whether the window was one this statement may apply:
 * when false the caller must undo it (it may have written cells).
 */
CREATE OR REPLACE FUNCTION @extschema@._generate_upsert(def @extschema@.segmentation,
	adjustments pg_catalog.regclass)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	dn text := '';			-- "d1, "
	x_dn text := '';		-- "x.d1, "
BEGIN
	FOR i IN 1 .. jsonb_array_length(def.dimensions) LOOP
		dn := dn || format('d%s, ', i);
		x_dn := x_dn || format('x.d%s, ', i);
	END LOOP;
	-- the rows of the window as the general statement reads them
	-- (_window_rows_sql); retractions: old versions that changes numbered
	-- in it replaced, when there is one the window is refused and nothing
	-- is written (only whether there is one: no need to read them)
	RETURN format($f$
WITH retracts AS MATERIALIZED (
	SELECT EXISTS (SELECT FROM %1$s
	               WHERE l.log_seq OPERATOR(pg_catalog.>) $1 AND l.log_seq OPERATOR(pg_catalog.<=) $2
	                 AND l.old_seq OPERATOR(pg_catalog.<=) $1) AS yes
), pos AS (
	SELECT %2$s s.segroll_period AS period, %3$s(%4$s, %5$s%6$s) AS seg
	FROM %7$s s
	WHERE NOT (SELECT r.yes FROM retracts r)
	GROUP BY %8$s s.segroll_period
), adj AS (
	-- a closed period's cells stay as they were closed (as in apply_sql.sql)
	INSERT INTO %9$s (%10$s period, added, removed, from_seq, to_seq)
	SELECT %11$s x.period, x.seg, NULL, $1, $2 FROM pos x WHERE x.period OPERATOR(pg_catalog.<) $3
	RETURNING 1
), up AS (
	-- the cells' unique index (dimensions, period) NULLS NOT DISTINCT
	-- (definition.sql) matches a cell as the general statement's null-safe
	-- join does; xmax is 0 in the version an INSERT made, not in one an
	-- ON CONFLICT UPDATE made (for the counts only)
	INSERT INTO %12$s AS c (%10$s period, seg)
	SELECT %11$s x.period, x.seg FROM pos x WHERE x.period OPERATOR(pg_catalog.>=) $3
	ON CONFLICT (%10$s period) DO UPDATE SET seg = segroll.merge(c.seg, excluded.seg)
	RETURNING c.xmax OPERATOR(pg_catalog.=) '0'::pg_catalog.xid AS inserted, segroll.count(c.seg) AS n,
	          segroll.minmax_known(c.seg) AND segroll.distinct_known(c.seg) AS known
)
SELECT (SELECT coalesce(pg_catalog.sum(segroll.count(x.seg)), 0) FROM pos x)::pg_catalog.int8,
       pg_catalog.count(*) FILTER (WHERE NOT u.inserted), pg_catalog.count(*) FILTER (WHERE u.inserted),
       NOT (SELECT r.yes FROM retracts r)
       AND coalesce(pg_catalog.bool_and(u.known AND NOT (%13$s AND u.n OPERATOR(pg_catalog.>) $4)), true)
FROM up u$f$,
		segroll._old_versions_sql(def),                                 -- 1
		regexp_replace(dn, '(d[0-9]+)', 'segroll_\1 AS \1', 'g'),       -- 2
		CASE WHEN def.lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END,  -- 3
		segroll._key_sql(def, format('s.%I', def.key_column)),         -- 4
		segroll._time_sql(def, format('s.%I', def.time_column)),       -- 5
		q.meas,                                                         -- 6
		segroll._window_rows_sql(def, false),                           -- 7
		regexp_replace(dn, '(d[0-9]+)', 'segroll_\1', 'g'),             -- 8
		adjustments,                                                    -- 9
		q.cell_cols,                                                    -- 10
		x_dn,                                                           -- 11
		def.cells,                                                      -- 12
		CASE WHEN def.lineage THEN 'true' ELSE 'false' END);           -- 13
END
$$;
COMMENT ON FUNCTION @extschema@._generate_upsert(@extschema@.segmentation, pg_catalog.regclass) IS
	'the roll-up statement of a window of inserts into cells with inline lineage (an upsert); see _rollup()';
