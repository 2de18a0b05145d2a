/*
 * The build into empty cells (issue 13): when a roll-up starts from change
 * 0 with no cell, no lineage block, no adjustment and no closed period
 * (a new segmentation, rebuild(), the first batch of backfill(), a new
 * version), _rollup() runs these two statements instead of the general
 * window statement of apply_sql.sql.  The cells as of the window's upper
 * end are then one GROUP BY over the rows as of that end
 * (_as_of_rows_sql, compiler.sql), inserted as they come out of the
 * aggregate: no delta, no lookup of cells, no retraction.  They are what
 * the window statement writes into empty cells, byte for byte: the same
 * rows and the same aggregate give the same segments, and a cell past
 * segroll.inline_lineage_limit rows gets its head and the blocks that
 * the window statement gives a new cell that size (test/sql/build.sql
 * compares the two).
 */

/*
 * The cells: $1 = the window's upper end, $2 =
 * segroll.inline_lineage_limit.  Returns the rows applied, the cells
 * inserted and how many of them are past $2 rows with lineage (they keep
 * their full segment until _generate_build_blocks moves it to blocks).
 */
CREATE OR REPLACE FUNCTION @extschema@._generate_build(def @extschema@.segmentation)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
BEGIN
	-- no condition on the rows but the window's end: every row of the
	-- source is read, which the planner estimates from reltuples
	RETURN format($f$
WITH ins AS (
	INSERT INTO %1$s (%2$s period, seg)
	SELECT %3$s s.segroll_period, %4$s(%5$s, %6$s%7$s)
	FROM %8$s s
	GROUP BY %3$s s.segroll_period
	-- in the order of the cells' unique index: its entries are appended,
	-- not scattered over the index (a quarter of a fine build's time)
	ORDER BY %3$s s.segroll_period
	RETURNING segroll.count(seg) AS n
)
SELECT coalesce(pg_catalog.sum(n), 0)::pg_catalog.int8, pg_catalog.count(*),
       pg_catalog.count(*) FILTER (WHERE %9$s AND n OPERATOR(pg_catalog.>) $2)
FROM ins$f$,
		def.cells, q.cell_cols, q.dim_names,
		CASE WHEN def.lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END,
		segroll._key_sql(def, format('s.%I', def.key_column)), segroll._time_sql(def, format('s.%I', def.time_column)),
		q.meas, segroll._as_of_rows_sql(def, NULL, 'true', 'true'),
		CASE WHEN def.lineage THEN 'true' ELSE 'false' END);
END
$$;

/*
 * The lineage blocks of the cells _generate_build left past $2 rows
 * (same parameters): each gets the span the window statement gives a new
 * cell that size (_block_span of its keys' range and count), its blocks
 * (the rows as of $1, aggregated per block) and, in the cells table, its
 * head (the segment without lineage).  Returns the blocks and heads
 * written.
 */
CREATE OR REPLACE FUNCTION @extschema@._generate_build_blocks(def @extschema@.segmentation)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	d jsonb;
	i int := 0;
	x_cols text := '';		-- "c.name AS d1, "
	x_dn text := '';		-- "x.d1, "
	all_notnull text := '';	-- over x
	key_s text := segroll._key_sql(def, format('s.%I', def.key_column));
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		x_cols := x_cols || format('c.%I AS d%s, ', d->>'name', i);
		x_dn := x_dn || format('x.d%s, ', i);
		all_notnull := all_notnull || format('x.d%s IS NOT NULL AND ', i);
	END LOOP;
	-- the rows are matched to their cell by an equality join where no
	-- dimension is null (hashable), else null-safely, as the window
	-- statement matches them (apply_sql.sql)
	RETURN format($f$
WITH big AS MATERIALIZED (
	SELECT %1$s c.period, c.ctid AS cell_ctid,
	       segroll._block_span(k.key_min, k.key_max, segroll.count(c.seg)) AS span
	FROM %2$s c
	CROSS JOIN LATERAL (SELECT pg_catalog.min(k) AS key_min, pg_catalog.max(k) AS key_max
	                    FROM segroll.keys(c.seg) k) k
	WHERE segroll.count(c.seg) OPERATOR(pg_catalog.>) $2 AND segroll.has_lineage(c.seg)
), r AS (
	SELECT s.*, x.span FROM %3$s s
	JOIN (SELECT * FROM big x WHERE %4$s true) x ON %5$s s.segroll_period OPERATOR(pg_catalog.=) x.period
	UNION ALL
	SELECT s.*, x.span FROM %3$s s
	JOIN (SELECT * FROM big x WHERE NOT (%4$s true)) x ON %6$s s.segroll_period OPERATOR(pg_catalog.=) x.period
	WHERE EXISTS (SELECT FROM big x WHERE NOT (%4$s true))
), blocks AS (
	INSERT INTO %7$s (%8$s period, block, span, seg)
	SELECT %9$s s.segroll_period, %10$s, s.span, segroll.segment_agg(%11$s, %12$s%13$s)
	FROM r s
	GROUP BY %9$s s.segroll_period, %10$s, s.span
	RETURNING 1
), heads AS (
	UPDATE %2$s c SET seg = segroll.without_lineage(c.seg)
	FROM big x WHERE c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	RETURNING 1
)
SELECT (SELECT pg_catalog.count(*) FROM blocks), (SELECT pg_catalog.count(*) FROM heads)$f$,
		x_cols, def.cells, segroll._as_of_rows_sql(def, NULL, 'true', 'true'), all_notnull,
		regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 OPERATOR(pg_catalog.=) x.\1', 'g'),
		regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 IS NOT DISTINCT FROM x.\1', 'g'),
		segroll._lineage_blocks(def), q.cell_cols, q.dim_names,
		segroll._block_sql(key_s, 's.span'),
		key_s, segroll._time_sql(def, format('s.%I', def.time_column)), q.meas);
END
$$;
