/*
 * Live figures (issue 16): <name>_live, beside the BI view <name>_v and
 * with its columns, gives the cells as they will be once every committed
 * change is rolled up.  It reads, in the reader's snapshot and in one
 * statement, the cells, segroll.progress.applied_upto (A) and the changes
 * not applied yet: the window (A, infinity) of _generate_apply() in
 * apply_sql.sql, that is the source rows numbered after A (new versions in)
 * and the old versions logged after A that were numbered up to A (updated
 * and deleted rows out; old versions both numbered and replaced after A
 * cancel out and are not read).  A roll-up commits the cells and A
 * together, and every number up to A belongs to a transaction that had
 * ended when it ran (wait_for_writers), so the cells and the window seen in
 * one snapshot add up to a GROUP BY of the source in that snapshot.
 *
 *	- Open periods: one row per cell, kind 'cell', the cell's head minus the
 *	  pending old versions plus the pending new ones (subtract and merge on
 *	  segments without lineage: the arithmetic of the roll-up).  A cell
 *	  left with no row is not shown.  min/max: when a pending retraction
 *	  removed a value at a bound, the roll-up would recompute them from the
 *	  cell's rows; the view does not read them, and shows null.
 *	- Closed periods: the cells as closed, the adjustments applied so far,
 *	  and one row per cell with pending changes, as the roll-up will add
 *	  it: kind 'adjustment', adjusted_at null (not applied yet).
 *
 * The view is a plain view owned by the segmentation's owner, like the
 * cells and <name>_v: it reads the source and its change log with the
 * owner's rights, and segroll_reader reads it (docs/security.md).  It names
 * the cells, source, change log and reference tables by OID, and finds its
 * progress row through segroll.segmentation.cells, so renamed tables and
 * schemas need nothing; switch_version renames the view with the cells,
 * and a renamed source column the segmentation uses regenerates it
 * (_follow_source: old versions are read from jsonb by column name).
 */

/* The live view of a segmentation, beside its cells. */
CREATE OR REPLACE FUNCTION @extschema@._live_view(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._beside_cells(def, '_live')
$$;

/*
 * Creates (or replaces) <name>_live, owned like the cells and read by
 * segroll_reader.  Every condition a reader puts on the dimensions or the
 * period reaches the cells' index and the pending rows (the view groups by
 * them), so one channel's day reads that cell and the pending rows.
 */
CREATE OR REPLACE FUNCTION @extschema@._create_live_view(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	sch text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells);
	-- the source and its change log read through the columns def uses only
	-- (s.* or the source's row type would pin every column, and a column
	-- could no longer be added, dropped or retyped); old versions are read
	-- from jsonb by column name, so a rename regenerates the view
	-- (_follow_source)
	cols text := segroll._used_columns_sql(def, 's');
	old_cols text := segroll._used_columns_sql(def, 'o');
	coldefs text;
	log regclass := (SELECT x.change_log FROM segroll.source x WHERE x.relid = def.source);
	-- the key as the lineage holds it (a hash for a key that is not an integer)
	args text := format('%s, %s%s', segroll._key_sql(def, format('s.%I', def.key_column)),
	                    segroll._time_sql(def, format('s.%I', def.time_column)), q.meas);
	d record;
	i int := 0;
	cdims text := '';		-- c."dim", (cells)
	pdims text := '';		-- s.segroll_d1::type AS "dim", (pending rows)
	sdims text := '';		-- s."dim",
	udims text := '';		-- u."dim",
	xdims text := '';		-- x."dim",
	adims text := '';		-- a."dim",
	positions text := '1';	-- GROUP BY 1, 2, .. (the pending rows' dimensions and period)
	cell_meas text := '';
	adj_meas text := '';
	old_meas text := '';
	r_meas text := '';
	-- the segmentation's progress and closed periods, found by its cells
	-- (renaming the segmentation renames those rows, not the cells' OID)
	applied text := format('(SELECT p.applied_upto FROM segroll.progress p JOIN segroll.segmentation g ON g.name OPERATOR(pg_catalog.=) p.name
	                         WHERE g.cells OPERATOR(pg_catalog.=) %L::pg_catalog.regclass)', def.cells::text);
	closed text := format('coalesce((SELECT c.closed_upto FROM segroll.closed_period c JOIN segroll.segmentation g ON g.name OPERATOR(pg_catalog.=) c.name
	                         WHERE g.cells OPERATOR(pg_catalog.=) %L::pg_catalog.regclass), ''-infinity''::pg_catalog.timestamptz)', def.cells::text);
	v regclass;
BEGIN
	SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
	INTO coldefs
	FROM pg_attribute a
	WHERE a.attrelid = def.source AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname = ANY (ARRAY[def.key_column, def.time_column]::text[] || def.measures::text[]
	                       || def.distinct_measures::text[]
	                       || ARRAY(SELECT coalesce(e->>'column', e->>'on') FROM jsonb_array_elements(def.dimensions) e));
	FOR d IN SELECT * FROM segroll._cell_dimensions(def) LOOP
		i := i + 1;
		cdims := cdims || format('c.%I, ', d.name);
		pdims := pdims || format('s.segroll_d%s::%s AS %I, ', i, d.type, d.name);
		sdims := sdims || format('s.%I, ', d.name);
		udims := udims || format('u.%I, ', d.name);
		xdims := xdims || format('x.%I, ', d.name);
		adims := adims || format('a.%I, ', d.name);
		positions := positions || format(', %s', i + 1);
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
		-- a cell: its figures; min/max null where a retraction left them unknown
		cell_meas := cell_meas || format(', segroll.sum(r.seg, %1$s) AS %2$I,'
		    ' CASE WHEN segroll.minmax_known(r.seg) THEN segroll.min(r.seg, %1$s) END AS %3$I,'
		    ' CASE WHEN segroll.minmax_known(r.seg) THEN segroll.max(r.seg, %1$s) END AS %4$I',
		    i, def.measures[i] || '_sum', def.measures[i] || '_min', def.measures[i] || '_max');
		r_meas := r_meas || format(', r.%I, r.%I, r.%I',
		    def.measures[i] || '_sum', def.measures[i] || '_min', def.measures[i] || '_max');
		-- an adjustment: what it adds minus what it removes, as in <name>_v
		adj_meas := adj_meas || format(', coalesce(segroll.sum(x.pos, %1$s), 0) OPERATOR(pg_catalog.-) coalesce(segroll.sum(x.neg, %1$s), 0),'
		    ' NULL::pg_catalog.numeric, NULL::pg_catalog.numeric', i);
		old_meas := old_meas || format(', coalesce(segroll.sum(a.added, %1$s), 0) OPERATOR(pg_catalog.-) coalesce(segroll.sum(a.removed, %1$s), 0),'
		    ' NULL::pg_catalog.numeric, NULL::pg_catalog.numeric', i);
	END LOOP;
	-- distinct counts (issue 17): exact pending rows merge into the cell's
	-- set or sketch; a pending retraction from a sketch cannot be applied
	-- without the cell's rows, so the count is NULL until the roll-up has
	-- recomputed the cell; an adjustment has none
	FOR i IN 1 .. coalesce(array_length(def.distinct_measures, 1), 0) LOOP
		cell_meas := cell_meas || format(', CASE WHEN segroll.distinct_known(r.seg) THEN segroll.distinct(r.seg, %1$s) END AS %2$I',
		    i, def.distinct_measures[i] || '_distinct');
		r_meas := r_meas || format(', r.%I', def.distinct_measures[i] || '_distinct');
		adj_meas := adj_meas || ', NULL::pg_catalog.int8';
		old_meas := old_meas || ', NULL::pg_catalog.int8';
	END LOOP;

	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- %I, %s of OIDs and regclass, fragments of segroll._sql()
		EXECUTE format($v$CREATE OR REPLACE VIEW %1$I.%2$I AS
SELECT %3$s x.period, r.count%4$s, r.kind, r.adjusted_at
FROM (
	-- every cell (dimensions, period) with its head and the segments (no
	-- lineage) of its pending new versions (pos) and old versions (neg)
	SELECT %5$s u.period,
	       (pg_catalog.array_agg(u.seg) FILTER (WHERE u.part OPERATOR(pg_catalog.=) 0))[1] AS head,
	       (pg_catalog.array_agg(u.seg) FILTER (WHERE u.part OPERATOR(pg_catalog.=) 1))[1] AS pos,
	       (pg_catalog.array_agg(u.seg) FILTER (WHERE u.part OPERATOR(pg_catalog.=) 2))[1] AS neg,
	       u.period OPERATOR(pg_catalog.<) %6$s AS closed
	FROM (SELECT %7$s c.period, c.seg, 0 AS part FROM %8$s c
	      UNION ALL
	      SELECT %9$s s.period, s.seg, 1 FROM (
	          SELECT %10$s s.segroll_period AS period, segroll.segment_agg_nolineage(%11$s) AS seg
	          FROM (SELECT %12$s %13$s AS segroll_period, s.*
	                FROM (SELECT %24$s FROM %14$s s WHERE NOT %27$s) s %16$s) s
	          GROUP BY %17$s) s
	      UNION ALL
	      SELECT %9$s s.period, s.seg, 2 FROM (
	          SELECT %10$s s.segroll_period AS period, segroll.segment_agg_nolineage(%11$s) AS seg
	          FROM (SELECT %12$s %13$s AS segroll_period, s.*
	                FROM (SELECT %25$s FROM %18$s l CROSS JOIN LATERAL pg_catalog.jsonb_to_record(l.old) AS o(%26$s)
	                      WHERE NOT %28$s AND %29$s) s %16$s) s
	          GROUP BY %17$s) s) u
	GROUP BY %5$s u.period
) x
CROSS JOIN LATERAL (
	-- a cell: as closed, or as the roll-up will leave it: retract, then add
	SELECT segroll.count(r.seg) AS count%19$s, 'cell'::pg_catalog.text AS kind,
	       NULL::pg_catalog.timestamptz AS adjusted_at
	FROM (SELECT CASE WHEN x.closed OR (x.pos IS NULL AND x.neg IS NULL) THEN x.head
	                  WHEN x.pos IS NULL THEN k.seg
	                  WHEN k.seg IS NULL THEN x.pos
	                  ELSE segroll.merge(k.seg, x.pos) END AS seg
	      FROM (SELECT CASE WHEN x.neg IS NULL THEN segroll.without_lineage(x.head)
	                        -- retracting from a missing cell is an error, as in the roll-up
	                        ELSE segroll.subtract(coalesce(segroll.without_lineage(x.head), segroll.subtract(x.neg, x.neg)), x.neg)
	                   END AS seg) k
	      -- computed once per cell, not once per column that reads it
	      OFFSET 0) r
	WHERE r.seg IS NOT NULL AND segroll.count(r.seg) OPERATOR(pg_catalog.>) 0
	UNION ALL
	-- a closed period's pending changes: the adjustment the roll-up will add
	SELECT coalesce(segroll.count(x.pos), 0) OPERATOR(pg_catalog.-) coalesce(segroll.count(x.neg), 0)%20$s,
	       'adjustment', NULL
	WHERE x.closed AND (x.pos IS NOT NULL OR x.neg IS NOT NULL)
) r
UNION ALL
-- the adjustments applied so far, as in <name>_v
SELECT %21$s a.period, coalesce(segroll.count(a.added), 0) OPERATOR(pg_catalog.-) coalesce(segroll.count(a.removed), 0)%22$s,
       'adjustment', a.adjusted_at
FROM %23$s a$v$,
			sch, def.name || '_live',                         -- 1, 2
			xdims, r_meas, udims, closed,                     -- 3 .. 6
			cdims, def.cells, sdims, pdims, args,             -- 7 .. 11
			q.dim_exprs, q.period, def.source, applied,       -- 12 .. 15
			q.joins, positions, log,                          -- 16 .. 18
			cell_meas, adj_meas, adims, old_meas,             -- 19 .. 22
			segroll._adjustments(def),                        -- 23
			cols, old_cols, coldefs,                          -- 24 .. 26
			segroll._applied_sql(def, 's.segroll_seq', applied),   -- 27
			segroll._applied_sql(def, 'l.log_seq', applied),       -- 28
			segroll._applied_sql(def, 'l.old_seq', applied));      -- 29
	END;
	v := format('%I.%I', sch, def.name || '_live')::regclass;
	EXECUTE format('COMMENT ON VIEW %s IS %L', v,
	               format('segroll: the figures of segmentation %s as they will be once every committed change is rolled up', def.name));
	RETURN segroll._like_cells(def, v);
END
$$;
