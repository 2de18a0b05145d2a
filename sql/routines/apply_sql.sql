/*
 * The roll-up SQL of a segmentation: _generate_apply() compiles one window
 * of changes into the statement stored as segroll.segmentation.apply_sql
 * (cells, lineage blocks, adjustments of closed periods), from the
 * compiler's fragments (compiler.sql) and the lineage blocks' (lineage.sql).
 */

/*
 * The SQL of one roll-up window of a segmentation ($1 = applied_upto, $2 =
 * upper, $3 = the end of the closed periods, -infinity when none is
 * closed, $4 = segroll.inline_lineage_limit).  The changes of closed
 * periods go to the adjustments table, not to the cells.  _rollup() runs
 * it with read_window_once false for a build from change 0 and for a
 * segmentation with no cell in blocks (why: at the end).
 *
 * Changes are aggregated per cell, then, for the cells kept in lineage
 * blocks and new cells past $4 rows, per lineage block (lineage.sql).  A cell
 * with its lineage inline is rewritten whole, as a small cell always was;
 * it moves its lineage to blocks when it grows past $4 rows.  A cell with
 * its lineage in blocks has its head and the blocks the changes fall in
 * rewritten, nothing else.  A retraction that leaves min or max unknown is
 * recomputed from the rows of the cell's (or the block's) own lineage,
 * found by the key index, never from a scan of the period; only a
 * segmentation without lineage, which knows no keys, scans its period.
 */
CREATE OR REPLACE FUNCTION @extschema@._generate_apply(def @extschema@.segmentation,
	adjustments pg_catalog.regclass, read_window_once pg_catalog.bool DEFAULT true)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	-- old versions: the change log's rows, as rows of the source (o)
	log text := segroll._old_versions_sql(def);
	blocks regclass := segroll._lineage_blocks(def);
	lin text := CASE WHEN def.lineage THEN 'true' ELSE 'false' END;
	d jsonb;
	i int := 0;
	dn text := '';			-- "d1, "
	x_dn text := '';		-- "x.d1, "
	eq_strict text := '';	-- over c (cells) and x
	eq_nulls text := '';
	all_notnull text := '';	-- over x
	k_strict text := '';	-- over k (blocks) and x
	k_nulls text := '';
	n_nulls text := '';		-- over n (new blocks) and x
	agg text := CASE WHEN def.lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END;
	key_s text := segroll._key_sql(def, format('s.%I', def.key_column));	-- the row's lineage key
	key_o text := segroll._key_sql(def, format('o.%I', def.key_column));
	args text := format('%s, %s%s', key_s, segroll._time_sql(def, format('s.%I', def.time_column)), q.meas);
	grouped text;			-- "segroll_d1 AS d1, "
	grouping text;			-- "segroll_d1, "
	blk text;				-- the block of row s in cell x: its key rounded down to x.span
	pos_rows text;
	neg_rows text;
	block_rows text[];
	lineage_rows text[];	-- the rows of x.b0's, x.seg0's lineage at $2
	by_keys text[];			-- recompute of x.b0, x.seg0 from their own lineage
	spill_blocks text;
	by_period text;			-- recompute of cell x from its period (no lineage)
	head_from_blocks text;
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		dn := dn || format('d%s, ', i);
		x_dn := x_dn || format('x.d%s, ', i);
		eq_strict := eq_strict || format('c.%I OPERATOR(pg_catalog.=) x.d%s AND ', d->>'name', i);
		eq_nulls := eq_nulls || format('c.%I IS NOT DISTINCT FROM x.d%s AND ', d->>'name', i);
		k_strict := k_strict || format('k.%I OPERATOR(pg_catalog.=) x.d%s AND ', d->>'name', i);
		k_nulls := k_nulls || format('k.%I IS NOT DISTINCT FROM x.d%s AND ', d->>'name', i);
		n_nulls := n_nulls || format('n.d%s IS NOT DISTINCT FROM x.d%s AND ', i, i);
		all_notnull := all_notnull || format('x.d%s IS NOT NULL AND ', i);
	END LOOP;
	grouped := regexp_replace(dn, '(d[0-9]+)', 'segroll_\1 AS \1', 'g');
	grouping := regexp_replace(dn, '(d[0-9]+)', 'segroll_\1', 'g');
	-- the row's block in cell x
	blk := segroll._block_sql(key_s, 'x.span');
	-- the rows of x.b0's and x.seg0's own lineage as they stood at $2,
	-- found by the key index
	FOR i IN 1 .. 2 LOOP
		lineage_rows[i] := format($r$(SELECT s.* FROM %1$s s
	                    WHERE %2$s OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT segroll.keys(%4$s)))
	                      AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	                    UNION ALL
	                    SELECT o.* FROM %3$s
	                    WHERE l.log_seq OPERATOR(pg_catalog.>) $2 AND l.old_seq OPERATOR(pg_catalog.<=) $2
	                      AND %5$s OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT segroll.keys(%4$s))))$r$,
			def.source, key_s, log, (ARRAY['x.b0', 'x.seg0'])[i], key_o);
		-- the segment recomputed from them (_recomputed_or)
		by_keys[i] := format($r$(SELECT segroll._recomputed_or(r.seg, %1$s)
	        FROM (SELECT segroll.segment_agg(%2$s) AS seg FROM %3$s s) r)$r$,
			(ARRAY['x.b0', 'x.seg0'])[i], args, lineage_rows[i]);
	END LOOP;
	-- the rows of a cell's lineage as they stood at $2, by block
	spill_blocks := format($r$(SELECT %1$s AS block, sp.span, segroll.segment_agg(%2$s) AS seg
	        FROM %3$s s
	        CROSS JOIN (SELECT segroll._block_span(pg_catalog.min(k), pg_catalog.max(k), pg_catalog.count(*)) AS span
	                    FROM segroll.keys(x.seg0) k) sp
	        GROUP BY 1, 2)$r$,
		segroll._block_sql(key_s, 'sp.span'), args, lineage_rows[2]);
	by_period := format($r$(SELECT %1$s(%2$s)
	     FROM (SELECT %3$s s.*
	           FROM (SELECT s.* FROM %4$s s
	                 WHERE %5$s
	                   AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	                 UNION ALL
	                 SELECT o.* FROM %7$s
	                 WHERE l.old_seq OPERATOR(pg_catalog.<=) $2 AND l.log_seq OPERATOR(pg_catalog.>) $2
	                   AND %6$s) s %8$s) s
	     WHERE %9$s true)$r$,
		agg, args, q.dim_exprs, def.source,
		segroll._time_range_sql(def, format('s.%I', def.time_column), 'x.period', segroll._next_period_sql(def, 'x.period')),
		segroll._time_range_sql(def, format('o.%I', def.time_column), 'x.period', segroll._next_period_sql(def, 'x.period')),
		log, q.joins,
		regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 IS NOT DISTINCT FROM x.\1', 'g'));
	-- the head of a cell in blocks whose min or max a retraction made
	-- unknown: the merge of its blocks as this run leaves them
	head_from_blocks := format($r$(SELECT segroll._recomputed_or(m.seg, x.seg0)
	        FROM (SELECT segroll.merge(segroll.without_lineage(z.seg)) AS seg
	              FROM (SELECT n.seg FROM nb n
	                    WHERE %1$s n.period OPERATOR(pg_catalog.=) x.period AND segroll.count(n.seg) OPERATOR(pg_catalog.>) 0
	                    UNION ALL
	                    SELECT k.seg FROM %2$s k
	                    WHERE %3$s k.period OPERATOR(pg_catalog.=) x.period
	                      AND NOT EXISTS (SELECT FROM nb n WHERE %1$s n.period OPERATOR(pg_catalog.=) x.period
	                                                         AND n.block OPERATOR(pg_catalog.=) k.block)) z) m)$r$,
		n_nulls, blocks, k_nulls);

	-- the rows of the window, and the old versions it retracts
	pos_rows := segroll._window_rows_sql(def, false);
	neg_rows := segroll._window_rows_sql(def, true);
	-- the rows of cells kept in blocks, with their cell's in_blocks: an
	-- equality join where no dimension is null (hashable), else null-safe;
	-- not even read when no cell is in blocks (the planner may have chosen
	-- to sort the whole window for a merge join before it finds that out)
	FOR i IN 1 .. 2 LOOP
		block_rows[i] := format($r$(SELECT s.*, x.in_blocks, x.span, %5$s AS segroll_block FROM %1$s s
	      JOIN (SELECT * FROM bigcells x WHERE %2$s true) x ON %3$s s.segroll_period OPERATOR(pg_catalog.=) x.period
	      WHERE EXISTS (SELECT FROM bigcells)
	      UNION ALL
	      SELECT s.*, x.in_blocks, x.span, %5$s AS segroll_block FROM %1$s s
	      JOIN (SELECT * FROM bigcells x WHERE NOT (%2$s true)) x ON %4$s s.segroll_period OPERATOR(pg_catalog.=) x.period
	      WHERE EXISTS (SELECT FROM bigcells x WHERE NOT (%2$s true)))$r$,
			(ARRAY['window_pos', 'window_neg'])[i], all_notnull,
			regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 OPERATOR(pg_catalog.=) x.\1', 'g'),
			regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 IS NOT DISTINCT FROM x.\1', 'g'),
			blk);
	END LOOP;

	RETURN format($f$
WITH window_pos AS %28$s (
	-- OFFSET 0 below: a subquery whose columns are computed (merge,
	-- subtract, a recompute) and used more than once above is kept apart,
	-- so each is computed once per row, not once per use
	SELECT * FROM %4$s s
), window_neg AS %28$s (
	SELECT * FROM %5$s s
), pos AS (
	SELECT %1$s s.segroll_period AS period, %2$s(%3$s) AS seg,
	       pg_catalog.min(%26$s) AS key_min, pg_catalog.max(%26$s) AS key_max
	FROM window_pos s
	GROUP BY %8$s s.segroll_period
), neg AS (
	SELECT %1$s s.segroll_period AS period, %2$s(%3$s) AS seg
	FROM window_neg s
	GROUP BY %8$s s.segroll_period
), delta AS (
	-- a cell's additions and retractions side by side: grouped, not joined
	-- (a join on dimensions that may be null hashes on the period alone)
	SELECT %9$s x.period,
	       (pg_catalog.array_agg(x.seg) FILTER (WHERE x.added))[1] AS pos,
	       (pg_catalog.array_agg(x.seg) FILTER (WHERE NOT x.added))[1] AS neg,
	       pg_catalog.min(x.key_min) AS key_min, pg_catalog.max(x.key_max) AS key_max
	FROM (SELECT %29$s p.period, p.seg, p.key_min, p.key_max, true AS added FROM pos p
	      UNION ALL
	      SELECT %30$s n.period, n.seg, NULL, NULL, false FROM neg n) x
	GROUP BY %9$s x.period
), adj AS (
	-- a closed period's cells stay as they were closed; its changes are
	-- kept beside them, with the window that brought them
	INSERT INTO %12$s (%13$s period, added, removed, from_seq, to_seq)
	SELECT %9$s x.period, x.pos, x.neg, $1, $2 FROM delta x WHERE x.period OPERATOR(pg_catalog.<) $3
	RETURNING 1
), matched AS (
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %14$s c ON %15$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE %16$s x.period OPERATOR(pg_catalog.>=) $3
	UNION ALL
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %14$s c ON %17$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE NOT (%16$s true) AND x.period OPERATOR(pg_catalog.>=) $3
), combined AS (
	-- retract first (an updated row's new version may land in the same cell),
	-- then add; retracting from a missing cell is an error, never a no-op
	SELECT m.*,
	       CASE WHEN m.pos IS NULL THEN kept WHEN kept IS NULL THEN m.pos
	            ELSE segroll.merge(kept, m.pos) END AS seg0,
	       %18$s AND m.old_seg IS NOT NULL AND NOT segroll.has_lineage(m.old_seg) AS in_blocks
	FROM (SELECT m.*, CASE WHEN m.neg IS NULL THEN m.old_seg
	                       ELSE segroll.subtract(coalesce(m.old_seg, segroll.subtract(m.neg, m.neg)), m.neg) END AS kept
	      FROM matched m OFFSET 0) m
), bigcells AS (
	-- cells whose changes are written to lineage blocks: those kept in
	-- blocks (with the span their blocks have), and new cells past $4 rows
	-- (with a span chosen from the density of their keys)
	SELECT %9$s x.period, x.in_blocks,
	       CASE WHEN NOT x.in_blocks THEN segroll._block_span(x.key_min, x.key_max, segroll.count(x.seg0))
	            WHEN %16$s true THEN (SELECT k.span FROM %19$s k WHERE %20$s k.period OPERATOR(pg_catalog.=) x.period LIMIT 1)
	            ELSE (SELECT k.span FROM %19$s k WHERE %21$s k.period OPERATOR(pg_catalog.=) x.period LIMIT 1) END AS span
	FROM combined x
	WHERE %18$s AND (x.in_blocks OR (x.old_seg IS NULL AND segroll.count(x.seg0) OPERATOR(pg_catalog.>) $4))
), bdelta AS (
	-- their changes per lineage block
	SELECT %10$s coalesce(p.period, n.period) AS period, coalesce(p.block, n.block) AS block,
	       coalesce(p.in_blocks, n.in_blocks) AS in_blocks, coalesce(p.span, n.span) AS span, p.seg AS pos, n.seg AS neg
	FROM (SELECT %1$s s.segroll_period AS period, s.segroll_block AS block, s.in_blocks, s.span, segroll.segment_agg(%3$s) AS seg
	      FROM %6$s s GROUP BY %8$s s.segroll_period, s.segroll_block, s.in_blocks, s.span) p
	FULL JOIN
	     (SELECT %1$s s.segroll_period AS period, s.segroll_block AS block, s.in_blocks, s.span, segroll.segment_agg(%3$s) AS seg
	      FROM %7$s s GROUP BY %8$s s.segroll_period, s.segroll_block, s.in_blocks, s.span) n
	  ON %11$s p.period OPERATOR(pg_catalog.=) n.period AND p.block OPERATOR(pg_catalog.=) n.block
), bm AS (
	-- block changes of cells kept in blocks, with the block
	SELECT x.*, k.ctid AS block_ctid, k.seg AS old_block
	FROM bdelta x LEFT JOIN %19$s k ON %20$s k.period OPERATOR(pg_catalog.=) x.period AND k.block OPERATOR(pg_catalog.=) x.block
	WHERE x.in_blocks AND %16$s true
	UNION ALL
	SELECT x.*, k.ctid AS block_ctid, k.seg AS old_block
	FROM bdelta x LEFT JOIN %19$s k ON %21$s k.period OPERATOR(pg_catalog.=) x.period AND k.block OPERATOR(pg_catalog.=) x.block
	WHERE x.in_blocks AND NOT (%16$s true)
), nb AS (
	-- the blocks as this run leaves them: retract, add, and recompute from
	-- the block's own keys when min or max became unknown
	SELECT x.*, CASE WHEN segroll.count(x.b0) OPERATOR(pg_catalog.>) 0 AND NOT (segroll.minmax_known(x.b0) AND segroll.distinct_known(x.b0))
	                 THEN %22$s ELSE x.b0 END AS seg
	FROM (SELECT x.*, CASE WHEN x.pos IS NULL THEN x.kept WHEN x.kept IS NULL THEN x.pos
	                       ELSE segroll.merge(x.kept, x.pos) END AS b0
	      FROM (SELECT x.*, CASE WHEN x.neg IS NULL THEN x.old_block
	                             ELSE segroll.subtract(coalesce(x.old_block, segroll.subtract(x.neg, x.neg)), x.neg) END AS kept
	            FROM bm x OFFSET 0) x OFFSET 0) x
), spill AS (
	-- cells with inline lineage growing past $4 rows: their blocks, from
	-- the rows of their own lineage (the keys of seg0) as they stood at $2
	SELECT %9$s x.period, x.cell_ctid, b.block, b.span, b.seg,
	       pg_catalog.sum(segroll.count(b.seg)) OVER (PARTITION BY x.cell_ctid) AS spilled
	FROM combined x
	CROSS JOIN LATERAL %27$s b
	WHERE %18$s AND NOT x.in_blocks AND x.old_seg IS NOT NULL AND segroll.count(x.seg0) OPERATOR(pg_catalog.>) $4
), result AS (
	-- seg1: seg0 with min/max recomputed when a retraction left them unknown;
	-- to_blocks: the cell moves to blocks (it passes $4 rows and, had it
	-- inline lineage, its own rows accounted for every key); seg: what the
	-- cells table gets
	SELECT x.*, CASE WHEN x.to_blocks THEN segroll.without_lineage(x.seg1) ELSE x.seg1 END AS seg
	FROM (SELECT x.*,
	             CASE WHEN segroll.count(x.seg0) OPERATOR(pg_catalog.=) 0 OR (segroll.minmax_known(x.seg0) AND segroll.distinct_known(x.seg0)) THEN x.seg0
	                  WHEN x.in_blocks THEN %23$s
	                  WHEN %18$s THEN %24$s
	                  ELSE %25$s END AS seg1,
	             %18$s AND NOT x.in_blocks AND segroll.count(x.seg0) OPERATOR(pg_catalog.>) $4
	             AND (x.old_seg IS NULL
	                  OR (SELECT pg_catalog.max(s.spilled) FROM spill s WHERE s.cell_ctid OPERATOR(pg_catalog.=) x.cell_ctid)
	                     OPERATOR(pg_catalog.=) segroll.count(x.seg0)) AS to_blocks
	      FROM combined x OFFSET 0) x
), del AS (
	DELETE FROM %14$s c USING result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.=) 0
	RETURNING 1
), upd AS (
	UPDATE %14$s c SET seg = x.seg FROM result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
), ins AS (
	INSERT INTO %14$s (%13$s period, seg)
	SELECT %9$s period, seg FROM result x
	WHERE x.cell_ctid IS NULL AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
), block_del AS (
	DELETE FROM %19$s k USING nb x
	WHERE x.block_ctid IS NOT NULL AND k.ctid OPERATOR(pg_catalog.=) x.block_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.=) 0
), block_upd AS (
	UPDATE %19$s k SET seg = x.seg FROM nb x
	WHERE x.block_ctid IS NOT NULL AND k.ctid OPERATOR(pg_catalog.=) x.block_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
), block_ins AS (
	INSERT INTO %19$s (%13$s period, block, span, seg)
	SELECT %9$s x.period, x.block, x.span, x.seg FROM nb x
	WHERE x.block_ctid IS NULL AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	UNION ALL
	-- a new cell past $4 rows: the blocks of its rows as aggregated
	SELECT %9$s x.period, x.block, x.span, x.pos FROM bdelta x
	WHERE NOT x.in_blocks AND x.pos IS NOT NULL
	UNION ALL
	SELECT %9$s x.period, x.block, x.span, x.seg FROM spill x
	WHERE EXISTS (SELECT FROM result f WHERE f.cell_ctid OPERATOR(pg_catalog.=) x.cell_ctid AND f.to_blocks)
)
SELECT (SELECT coalesce(pg_catalog.sum(segroll.count(pos)), 0) FROM delta WHERE pos IS NOT NULL)
     OPERATOR(pg_catalog.+) (SELECT coalesce(pg_catalog.sum(segroll.count(neg)), 0) FROM delta WHERE neg IS NOT NULL),
       (SELECT pg_catalog.count(*) FROM del), (SELECT pg_catalog.count(*) FROM upd), (SELECT pg_catalog.count(*) FROM ins)
$f$,
		grouped,                                          -- 1
		agg,                                              -- 2
		args,                                             -- 3
		pos_rows,                                         -- 4
		neg_rows,                                         -- 5
		block_rows[1],                                    -- 6
		block_rows[2],                                    -- 7
		grouping,                                         -- 8
		x_dn,                                             -- 9
		regexp_replace(dn, '(d[0-9]+)', 'coalesce(p.\1, n.\1) AS \1', 'g'),  -- 10
		regexp_replace(dn, '(d[0-9]+), ', 'p.\1 IS NOT DISTINCT FROM n.\1 AND ', 'g'), -- 11
		adjustments,                                      -- 12
		q.cell_cols,                                      -- 13
		def.cells,                                        -- 14
		eq_strict,                                        -- 15
		all_notnull,                                      -- 16
		eq_nulls,                                         -- 17
		lin,                                              -- 18
		blocks,                                           -- 19
		k_strict,                                         -- 20
		k_nulls,                                          -- 21
		by_keys[1],                                       -- 22: x.b0
		head_from_blocks,                                 -- 23
		by_keys[2],                                       -- 24: x.seg0
		by_period,                                        -- 25
		key_s,                                            -- 26
		spill_blocks,                                     -- 27
		-- 28: the window is read by the cells' pass and again by the lineage
		-- blocks' pass.  Its row estimate comes from statistics that end
		-- before the newest rows, so an incremental window looks like one
		-- row, and the planner may read it again for every large cell:
		-- read it once into a tuplestore.  A build (from change 0) is
		-- estimated right and is cheaper read twice than stored.
		CASE WHEN read_window_once THEN 'MATERIALIZED' ELSE 'NOT MATERIALIZED' END,
		regexp_replace(dn, '(d[0-9]+)', 'p.\1', 'g'),   -- 29
		regexp_replace(dn, '(d[0-9]+)', 'n.\1', 'g'));  -- 30
END
$$;
