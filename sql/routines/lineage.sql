/*
 * Lineage blocks.  A cell keeps its lineage inline, in its segment, while
 * it has at most segroll.inline_lineage_limit rows.  A larger cell keeps in
 * the cells table only its head (the segment without lineage: count, sums,
 * min/max, checksum, times), and its lineage in <name>_lineage: one row per
 * block, each an exact segment of the cell's rows whose keys fall in the
 * block's key range [block, block + span).  The span is the cell's own,
 * chosen when the cell moves to blocks so that a block holds about
 * segroll.lineage_block_keys (1024) of its keys (cells share the key space:
 * a cell with a tenth of the rows gets a span of about 10240 key values),
 * and kept for the cell's life, so a row's block is arithmetic on its key.
 * A roll-up then rewrites the head and the blocks its changes fall in,
 * never the whole lineage: its cost follows the change, not the size of
 * the cell (issue 13).  The roll-up SQL is _generate_apply() in
 * apply_sql.sql.
 *
 * A cell's full segment is the merge of its blocks: _full_cells_sql()
 * (verify, repair, the <name>_segments view) and _cell_segment() in
 * trace.sql (cell, locate, trace) give readers that segment, so they see
 * what they always saw.
 */

/*
 * The SQL of a key's block: the key rounded down to a multiple of span
 * (written into the roll-up SQL, where a function call per row would cost
 * more than the arithmetic).
 */
CREATE OR REPLACE FUNCTION @extschema@._block_sql(key_expr pg_catalog.text, span_expr pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('(%1$s::pg_catalog.int8 OPERATOR(pg_catalog.-) ((%1$s::pg_catalog.int8 OPERATOR(pg_catalog.%%) %2$s'
	                         ' OPERATOR(pg_catalog.+) %2$s) OPERATOR(pg_catalog.%%) %2$s))', key_expr, span_expr)
$$;

/*
 * A segment whose min/max a retraction left unknown, recomputed from its
 * rows: the recomputation if it accounts for every row (same count and
 * checksum), else the segment as it was, min/max still unknown (a purged
 * row is never dropped from a cell this way).
 */
CREATE OR REPLACE FUNCTION @extschema@._recomputed_or(recomputed @extschema@.segment, seg @extschema@.segment)
RETURNS @extschema@.segment LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN @extschema@.count(recomputed) OPERATOR(pg_catalog.=) @extschema@.count(seg)
	             AND @extschema@.checksum(recomputed) OPERATOR(pg_catalog.=) @extschema@.checksum(seg)
	            THEN recomputed ELSE seg END
$$;

/*
 * The span of a cell's blocks: n keys spread over [key_min, key_max],
 * segroll.lineage_block_keys keys a block; at most 2^62, so that
 * _block_sql's arithmetic stays within int8 for keys in [-2^62, 2^62)
 * (every hashed key, segroll.key_hash).
 */
CREATE OR REPLACE FUNCTION @extschema@._block_span(key_min pg_catalog.int8, key_max pg_catalog.int8, n pg_catalog.int8)
RETURNS pg_catalog.int8 LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT LEAST(GREATEST(b, pg_catalog.ceil(((key_max::pg_catalog.numeric OPERATOR(pg_catalog.-) key_min
	                                            OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.*) b)
	                                          OPERATOR(pg_catalog./) GREATEST(n, 1))),
	             4611686018427387904)::pg_catalog.int8
	FROM (SELECT pg_catalog.current_setting('segroll.lineage_block_keys')::pg_catalog.int8 AS b) s
$$;

/* The lineage table of a segmentation, beside its cells. */
CREATE OR REPLACE FUNCTION @extschema@._lineage_blocks(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._beside_cells(def, '_lineage')
$$;

/*
 * Creates the lineage table: the cells' dimension columns, period, block,
 * span and seg, owned by the cells' owner and readable by whoever the roll-up
 * grants the cells to (segroll_reader).
 */
CREATE OR REPLACE FUNCTION @extschema@._create_lineage_blocks(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	sch text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells);
	cols text;
	uniq text;
	blocks regclass;
BEGIN
	SELECT string_agg(format('%I %s', d.name, d.type), ', '), string_agg(format('%I', d.name), ', ')
	INTO cols, uniq FROM segroll._cell_dimensions(def) d;
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- cols, uniq: %I and format_type() only
		EXECUTE format('CREATE TABLE %I.%I (%s period pg_catalog.timestamptz NOT NULL, block pg_catalog.int8 NOT NULL,
		                span pg_catalog.int8 NOT NULL, seg segroll.segment NOT NULL)',
		               sch, def.name || '_lineage', coalesce(cols || ', ', ''));
		blocks := format('%I.%I', sch, def.name || '_lineage')::regclass;
		EXECUTE format('CREATE UNIQUE INDEX ON %s (%s period, block) NULLS NOT DISTINCT', blocks, coalesce(uniq || ', ', ''));
	END;
	-- no planner statistics on segments: no query filters on them, and
	-- ANALYZE would compare every sampled value (seconds per table)
	EXECUTE format('ALTER TABLE %s ALTER COLUMN seg SET STATISTICS 0', blocks);
	EXECUTE format('COMMENT ON TABLE %s IS %L', blocks,
	               format('segroll: lineage blocks of the cells of segmentation %s larger than segroll.inline_lineage_limit', def.name));
	RETURN segroll._like_cells(def, blocks);
END
$$;

/*
 * The SQL of the cells table as readers that need lineage see it: the
 * cells' columns, with seg the full segment (the merge of its blocks for a
 * cell whose lineage is in blocks), and cell_ctid.  Run as the
 * segmentation's owner (verify, repair); a cell is matched to its blocks
 * by its dimensions as jsonb, which is null-safe and hashable.  For one
 * cell looked up as the caller, see _cell_segment().
 */
CREATE OR REPLACE FUNCTION @extschema@._full_cells_sql(def @extschema@.segmentation, cond pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	blocks regclass := segroll._lineage_blocks(def);
	cols text;
BEGIN
	SELECT string_agg(format('c.%I', d.name), ', ') INTO cols FROM segroll._cell_dimensions(def) d;
	IF NOT def.lineage OR blocks IS NULL THEN
		RETURN format('(SELECT c.*, c.ctid AS cell_ctid FROM %s c WHERE %s)', def.cells, cond);
	END IF;
	-- cond: over c.period only, so it applies to the blocks as well
	RETURN format($f$(SELECT %1$s c.period,
	        CASE WHEN segroll.has_lineage(c.seg) OR b.seg IS NULL THEN c.seg
	             WHEN segroll.without_lineage(b.seg) OPERATOR(segroll.=) c.seg THEN b.seg
	             -- head and blocks disagree: the cell shows no lineage, so verify reports it
	             ELSE c.seg END AS seg,
	        c.ctid AS cell_ctid
	  FROM %2$s c
	  LEFT JOIN (SELECT %3$s AS dims, c.period, segroll.merge(c.seg) AS seg
	             FROM %4$s c WHERE %5$s GROUP BY 1, 2) b
	    ON b.dims OPERATOR(pg_catalog.=) %3$s AND b.period OPERATOR(pg_catalog.=) c.period
	  WHERE %5$s)$f$,
		coalesce(cols || ', ', ''), def.cells, q.cell_json, blocks, cond);
END
$$;

/*
 * <name>_segments: every cell with its full segment, lineage included,
 * whether the lineage is inline or in blocks: what to merge and trace when
 * the cells table's seg is a large cell's head.
 */
CREATE OR REPLACE FUNCTION @extschema@._create_segments_view(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	sch text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells);
	cols text;
	v regclass;
BEGIN
	SELECT string_agg(format('c.%I, ', d.name), '') INTO cols FROM segroll._cell_dimensions(def) d;
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- cols: %I; _full_cells_sql(): %I, %L and regclass
		EXECUTE format('CREATE OR REPLACE VIEW %I.%I AS SELECT %s c.period, c.seg FROM %s c',
		               sch, def.name || '_segments', coalesce(cols, ''), segroll._full_cells_sql(def, 'true'));
	END;
	v := format('%I.%I', sch, def.name || '_segments')::regclass;
	EXECUTE format('COMMENT ON VIEW %s IS %L', v,
	               format('segroll: the cells of segmentation %s with their full segments, lineage included', def.name));
	RETURN segroll._like_cells(def, v);
END
$$;

/* The segments view of a segmentation, beside its cells. */
CREATE OR REPLACE FUNCTION @extschema@._segments_view(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._beside_cells(def, '_segments')
$$;
