/*
 * Trace runs as its caller: it returns only source rows the caller may
 * read, with row-level security and column privileges applied, because it
 * is an ordinary query in the caller's name.  locate() says where one
 * source row is counted.
 *
 * Because they run as the caller (often a superuser or an auditor), trace,
 * trace_rows, cell and locate evaluate nothing that the segmentation's owner
 * or another role wrote: they read only tables (never views), compare and
 * show values only through built-in types or as text (caller_values.sql,
 * _caller_eq_sql), and lock what they read before they look at its
 * columns' types, so that the types cannot change under them
 * (docs/security.md, "Trace runs as the caller").
 *
 * trace() and trace_rows() are C (src/trace.c): as the caller, trace()
 * runs _trace(), which checks what the trace reads and returns the
 * statement that finds the rows, then runs that statement batch by batch;
 * trace_rows() runs _trace_rows(), which returns the rows.  Then they
 * record the trace in segroll.trace_log as the log's owner.  Nobody else
 * writes the log, and the inner routines run only when a trace entry point
 * admitted them (_enter_trace()), so no role gets the rows without the
 * entry (docs/security.md, "The trace log").
 */

/*
 * True once after a trace entry point admitted its inner routine for the
 * current role, false otherwise (src/trace.c).
 */
CREATE OR REPLACE FUNCTION @extschema@._enter_trace()
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segroll_enter_trace'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._enter_trace() IS
	'whether a trace entry point admitted the inner routine calling it (once per trace)';

/*
 * Before a routine that runs as its caller reads rel: rel must be of one of
 * the given kinds (reading a view runs its owner's code as the reader), and
 * it is locked, ACCESS SHARE until the end of the transaction, so that
 * neither its kind nor its columns' types change until the caller's reads
 * are done.  The lock is taken in C (_lock_for_read), which evaluates
 * nothing and checks no privilege: the reads that follow check them.
 * A table turned into a view in place keeps its OID, so once rel is locked it
 * is checked again, from the relation cache rather than from a snapshot that
 * may predate the change: a view has no storage.
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_reads(rel pg_catalog.regclass, kinds pg_catalog."char"[],
	what pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	kind "char" := (SELECT c.relkind FROM pg_class c WHERE c.oid = rel);
	shown text := rel::text;	-- its name before the lock, for the error
BEGIN
	IF kind IS NULL OR NOT kind = ANY (kinds) THEN
		RAISE EXCEPTION '% % is not a table', what, rel USING ERRCODE = 'wrong_object_type',
			DETAIL = 'trace(), trace_rows(), cell() and locate() run as you, so they read only tables (plain or partitioned): reading a view would run its owner''s code as you.';
	END IF;
	PERFORM segroll._lock_for_read(rel);
	-- the same relation (by OID; a rename changes nothing the caller's
	-- queries read), still there and still a table
	IF to_regclass(rel::text) IS DISTINCT FROM rel
	   OR (kind IN ('r', 'm') AND pg_relation_filenode(rel) IS NULL) THEN
		RAISE EXCEPTION '% % changed while being read', what, shown USING ERRCODE = 'wrong_object_type',
			DETAIL = 'It was dropped or turned into a view.';
	END IF;
END
$$;

/*
 * The type of column col of rel as the queries about to run will see it:
 * from the relation cache, not from a snapshot (in a REPEATABLE READ
 * transaction pg_attribute may still show a type that ALTER TABLE changed
 * since).  Call it after _caller_reads(rel), whose lock keeps it so.
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_type(rel pg_catalog.regclass, col pg_catalog.text)
RETURNS pg_catalog.regtype AS 'MODULE_PATHNAME', 'segroll_caller_type'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

/* Locks rel for reading (C): see _caller_reads. */
CREATE OR REPLACE FUNCTION @extschema@._lock_for_read(rel pg_catalog.regclass)
RETURNS void AS 'MODULE_PATHNAME', 'segroll_lock_for_read'
LANGUAGE C VOLATILE STRICT;

/* An error unless rel.col (as _caller_type sees it) is of one of the given types. */
CREATE OR REPLACE FUNCTION @extschema@._caller_column(rel pg_catalog.regclass, col pg_catalog.text,
	types pg_catalog.regtype[], what pg_catalog.text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t regtype := segroll._caller_type(rel, col);
BEGIN
	IF NOT t = ANY (types) THEN
		RAISE EXCEPTION '% "%" of % is %, not %', what, col, rel, t, array_to_string(types, ' or ')
			USING ERRCODE = 'datatype_mismatch',
			      DETAIL = 'Its type was changed after the segmentation was defined.';
	END IF;
END
$$;

/*
 * The lineage key of rel's row alias (the source, or the archive) as the
 * caller computes it: the key column itself when it is bigint or integer,
 * else segroll.key_hash() of it, which hashes only built-in types (and
 * domains over them), so that it runs no code another role wrote.  An
 * error if the column's type (as _caller_type sees it) is neither.
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_key_sql(def @extschema@.segmentation, rel pg_catalog.regclass,
	alias pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t regtype := segroll._caller_type(rel, def.key_column);
BEGIN
	IF t IN ('int8'::regtype, 'int4'::regtype) THEN
		RETURN format('%s.%I', alias, def.key_column);
	END IF;
	IF segroll._builtin_base(t) IS NULL OR NOT segroll._key_hashed(def) THEN
		RAISE EXCEPTION 'key column "%" of % is %, not the type it had', def.key_column, rel, t
			USING ERRCODE = 'datatype_mismatch',
			      DETAIL = 'Its type was changed after the segmentation was defined.';
	END IF;
	RETURN format('segroll.key_hash(%s.%I)', alias, def.key_column);
END
$$;

/*
 * What trace and trace_rows read, checked and locked: the source (and the
 * archive, if any) and the cells, with the columns they compare.
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_reads_trace(def @extschema@.segmentation, archive pg_catalog.regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM segroll._caller_reads(def.source, '{r,p}', 'source');
	PERFORM segroll._caller_key_sql(def, def.source, 's');
	PERFORM segroll._caller_reads(def.cells, '{r}', 'cells table');
	PERFORM segroll._caller_column(def.cells, 'period', '{timestamptz}', 'column');
	PERFORM segroll._caller_column(def.cells, 'seg', ARRAY['segroll.segment'::regtype], 'column');
	PERFORM segroll._caller_reads_blocks(def);
	IF archive IS NOT NULL THEN
		PERFORM segroll._caller_reads(archive, '{r,p,f}', 'archive');
		PERFORM segroll._caller_key_sql(def, archive, 's');
	END IF;
END
$$;

/*
 * The lineage table as the caller will read it: a table, with the cells'
 * dimension types and a period and seg of the expected types, so that the
 * comparisons made on it are the ones made on the cells.
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_reads_blocks(def @extschema@.segmentation)
RETURNS pg_catalog.regclass
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	blocks regclass := segroll._lineage_blocks(def);
	d jsonb;
BEGIN
	IF blocks IS NULL THEN
		RAISE EXCEPTION 'the lineage table of segmentation "%" is missing', def.name USING ERRCODE = 'undefined_table',
			HINT = 'It is <name>_lineage beside the cells table.';
	END IF;
	PERFORM segroll._caller_reads(blocks, '{r}', 'lineage table');
	PERFORM segroll._caller_column(blocks, 'period', '{timestamptz}', 'column');
	PERFORM segroll._caller_column(blocks, 'seg', ARRAY['segroll.segment'::regtype], 'column');
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		PERFORM segroll._caller_column(blocks, d->>'name', ARRAY[segroll._caller_type(def.cells, d->>'name')], 'column');
	END LOOP;
	RETURN blocks;
END
$$;

/*
 * A row as json, exactly as pg_catalog.to_json(record) writes it, each
 * column's type looked up once per query instead of once per row
 * (src/trace.c); a column whose type is not built in is written as its
 * text, never through a cast to json.
 */
CREATE OR REPLACE FUNCTION @extschema@._trace_json(r pg_catalog.record)
RETURNS pg_catalog.json AS 'MODULE_PATHNAME', 'segroll_trace_json'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

/*
 * The columns of a source (or archive) row that the caller may read, as a
 * select list, in table order (segroll_seq left out): each value as itself
 * if its type is built in, else as its text (_shown_sql).  A caller who may
 * read no column gets the error a SELECT gives.  rel must have been
 * through _caller_reads().
 */
CREATE OR REPLACE FUNCTION @extschema@._visible_cols(rel pg_catalog.regclass, alias pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cols text;
BEGIN
	SELECT string_agg(format('%s AS %I', segroll._shown_sql(format('%s.%I', alias, a.attname), segroll._caller_type(rel, a.attname)),
	                         a.attname), ', ' ORDER BY a.attnum) INTO cols
	FROM pg_attribute a
	WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname <> 'segroll_seq' AND has_column_privilege(rel, a.attnum, 'SELECT');
	IF cols IS NULL THEN
		RAISE EXCEPTION 'permission denied for table %', rel USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN cols;
END
$$;

/*
 * The expression that shows a source (or archive) row to the caller: its
 * _visible_cols() as json (_trace_json).
 */
CREATE OR REPLACE FUNCTION @extschema@._visible_json(rel pg_catalog.regclass, alias pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('(SELECT segroll._trace_json(x) FROM (SELECT %s) x)', @extschema@._visible_cols(rel, alias))
$$;

/*
 * Keys in seg that a purge removed from the source: decided from the
 * segment's time span where it lies wholly before or after the purge
 * horizon, and from the lineage of the purged cells where it straddles it.
 */
CREATE OR REPLACE FUNCTION @extschema@._purged_filter(def @extschema@.segmentation, seg @extschema@.segment, key_expr pg_catalog.text)
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
	-- the keys of cells in blocks are in their lineage table, not in
	-- their heads
	RETURN format('%s IN (SELECT segroll.keys(c.seg) FROM (SELECT c.period, c.seg FROM %s c WHERE segroll.has_lineage(c.seg)
	                                                       UNION ALL SELECT c.period, c.seg FROM %s c) c
	                      WHERE c.period OPERATOR(pg_catalog.<) %L::pg_catalog.timestamptz%s)',
	              key_expr, def.cells, segroll._lineage_blocks(def), horizon,
	              CASE WHEN segroll.minmax_known(seg)
	                   THEN format(' AND c.period OPERATOR(pg_catalog.>=) (%L::pg_catalog.timestamptz OPERATOR(pg_catalog.-) %L::pg_catalog.interval)',
	                               segroll.first_time(seg), (segroll._sql(def)).bound)
	                   ELSE '' END);
END
$$;

/*
 * For the trace of one cell of a segmentation whose lineage holds key
 * hashes: the reference joins and the condition "source row s maps to the
 * cell named by cell_param" ({"dimensions": {...}, "period": ...}), as the
 * caller computes them (the dimensions compared as cell() compares them,
 * _caller_eq_sql; the period as the roll-up cuts it).  A row whose key
 * hash is in the cell's lineage but that maps to another cell has another
 * key with the same hash: the condition leaves it out.  Returns {joins,
 * condition}.  Reference tables are checked and locked (_caller_reads).
 */
/*
 * The LEFT JOIN of the reference table of lookup dimension d (aliased
 * alias) to the source rows s, for SQL that runs as the caller: the table
 * checked and locked (_caller_reads), the key compared as the caller's
 * types allow (_caller_eq_sql).
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_lookup_join(def @extschema@.segmentation, d pg_catalog.jsonb,
	alias pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	ref regclass := (d->>'table')::regclass;
	t regtype;
BEGIN
	PERFORM segroll._caller_reads(ref, '{r,p,m}', format('reference table of dimension "%s"', d->>'name'));
	t := segroll._caller_type(ref, d->>'key');
	IF t IS DISTINCT FROM segroll._caller_type(def.source, d->>'on') THEN
		RAISE EXCEPTION 'lookup column "%" is % but reference key "%" is %', d->>'on',
			segroll._caller_type(def.source, d->>'on'), d->>'key', t
			USING ERRCODE = 'datatype_mismatch';
	END IF;
	RETURN format(' LEFT JOIN %s %I ON %s', ref, alias,
	              segroll._caller_eq_sql(format('%I.%I', alias, d->>'key'), t, format('s.%I', d->>'on'), t, false));
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._caller_cell_sql(def @extschema@.segmentation, cell_param pg_catalog.text)
RETURNS pg_catalog.text[]
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	i int := 0;
	t regtype;
	expr text;
	joins text := '';
	cond text := '';
BEGIN
	PERFORM segroll._caller_column(def.source, def.time_column, ARRAY[segroll._time_type(def)], 'time column');
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		IF d ? 'column' THEN
			t := segroll._caller_type(def.source, d->>'column');
			expr := format('s.%I', d->>'column');
		ELSE
			joins := joins || segroll._caller_lookup_join(def, d, format('segroll_r%s', i));
			t := segroll._caller_type((d->>'table')::regclass, d->>'value');
			expr := format('segroll_r%s.%I', i, d->>'value');
		END IF;
		cond := cond || format('(%s) AND ', segroll._caller_eq_sql(expr, t,
			format('(%s OPERATOR(pg_catalog.->) %L OPERATOR(pg_catalog.->>) %L)', cell_param, 'dimensions', d->>'name'), 'text', true));
	END LOOP;
	RETURN ARRAY[joins, cond || format('%s OPERATOR(pg_catalog.=) (%s OPERATOR(pg_catalog.->>) %L)::pg_catalog.timestamptz',
	                                   (segroll._sql(def)).period, cell_param, 'period')];
END
$$;

/*
 * Whether rel is a plain table with a valid btree index without a
 * predicate whose first column is col: trace looks keys up through it.  C
 * (src/trace.c), from the relation cache; rel must have been through
 * _caller_reads().
 */
CREATE OR REPLACE FUNCTION @extschema@._key_index_leads(rel pg_catalog.regclass, col pg_catalog.text)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segroll_key_index_leads'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@._trace(seg_name pg_catalog.text, seg @extschema@.segment, cell pg_catalog.jsonb)
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	archive regclass;
	purged text;
	key_sql text;
	in_cell text[] := ARRAY['', 'true'];	-- joins, condition: the rows of the traced cell
BEGIN
	IF NOT segroll._enter_trace() THEN
		RAISE EXCEPTION 'segroll._trace() must be called through segroll.trace()'
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'segroll.trace() records every trace in segroll.trace_log.';
	END IF;
	def := segroll._definition(seg_name);
	archive := (SELECT s.archive FROM segroll.source s WHERE s.relid = def.source);
	IF seg IS NULL THEN
		RAISE EXCEPTION 'cannot trace a null segment' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM segroll._caller_reads_trace(def, archive);
	purged := segroll._purged_filter(def, seg, 'k.key');
	-- a cell's trace over key hashes: only rows of that cell (another key
	-- with the same hash maps elsewhere); so too on a distributed source,
	-- whose key may be unique only with the distribution column: the same
	-- key of another value of it is another cell's row (distributed.sql)
	IF cell IS NOT NULL AND (segroll._key_hashed(def) OR segroll._distribution_column(def.source) IS NOT NULL) THEN
		in_cell := segroll._caller_cell_sql(def, '$2');
	ELSIF cell IS NULL AND segroll._distribution_column(def.source) IS NOT NULL
	      AND NOT segroll._has_unique_index(def.source, def.key_column) THEN
		RAISE EXCEPTION 'cannot trace a segment of segmentation "%" by its keys alone', def.name
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = format('"%s" is unique in %s only together with the distribution column: a key may stand for rows of several cells.',
			                      def.key_column, def.source),
			      HINT = 'Trace each cell by its dimensions and period: segroll.trace(name, dimensions, period).';
	END IF;
	key_sql := segroll._caller_key_sql(def, def.source, 's');
	-- the caller's own query, run by segroll.trace() (src/trace.c) once per
	-- batch of keys ($1, ascending; $2 the cell): privileges and row-level
	-- security apply
	IF archive IS NULL AND purged = 'false' THEN
		/*
		 * Every row is local: one statement, the rows in key order.  An
		 * integer key of a plain table with a btree index that starts with
		 * it is looked up through that index, the batch handed to the index
		 * scan at run time ((SELECT $1)):
		 * one probe a key, in key order, so no sort, and the planner does
		 * not estimate each of the 10 000 keys as it does for a constant
		 * array.  Otherwise (a key hash, no such index, a partitioned
		 * source) the batch is a constant: the planner chooses per
		 * partition, and a scan without an index matches it by a hash table.
		 * The row is shown by _trace_json() (to_json() that looks the
		 * columns' types up once) of a LATERAL select list, not of a
		 * subquery run once a row.
		 */
		RETURN format('SELECT %1$s::pg_catalog.int8, ''source''::pg_catalog.text, segroll._trace_json(x)
		               FROM %3$s s%4$s CROSS JOIN LATERAL (SELECT %2$s) x
		               WHERE %1$s OPERATOR(pg_catalog.=) ANY (%6$s) AND %5$s ORDER BY %1$s',
		              key_sql, segroll._visible_cols(def.source, 's'), def.source, in_cell[1], in_cell[2],
		              CASE WHEN NOT segroll._key_hashed(def) AND segroll._key_index_leads(def.source, def.key_column)
		                   THEN '(SELECT $1)::pg_catalog.int8[]' ELSE '$1' END);
	END IF;
	RETURN format($f$
		WITH k AS MATERIALIZED (SELECT u.key FROM pg_catalog.unnest($1::pg_catalog.int8[]) u(key)),
		l AS MATERIALIZED (SELECT %1$s::pg_catalog.int8 AS key, %2$s AS r FROM %3$s s %6$s
		                   WHERE %1$s OPERATOR(pg_catalog.=) ANY ($1) AND %7$s)
		%4$s
		SELECT k.key, CASE WHEN l.key IS NOT NULL THEN 'source' WHEN a.key IS NOT NULL THEN 'archive' ELSE 'purged' END,
		       coalesce(l.r, a.r)
		FROM k LEFT JOIN l ON l.key OPERATOR(pg_catalog.=) k.key LEFT JOIN a ON a.key OPERATOR(pg_catalog.=) k.key
		WHERE l.key IS NOT NULL OR a.key IS NOT NULL OR %5$s
		ORDER BY k.key$f$,
		key_sql, segroll._visible_json(def.source, 's'), def.source,
		CASE WHEN archive IS NULL THEN ', a AS (SELECT NULL::pg_catalog.int8 AS key, NULL::pg_catalog.json AS r WHERE false)'
		     ELSE format(', a AS MATERIALIZED (SELECT s.%1$I::pg_catalog.int8 AS key, %2$s AS r FROM %3$s s
		                   WHERE s.%1$I OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT k.key FROM k WHERE NOT EXISTS
		                         (SELECT 1 FROM l WHERE l.key OPERATOR(pg_catalog.=) k.key))))',
		                 def.key_column, segroll._visible_json(archive, 's'), archive) END,
		purged, in_cell[1], in_cell[2]);
END
$$;
COMMENT ON FUNCTION @extschema@._trace(pg_catalog.text, @extschema@.segment, pg_catalog.jsonb) IS
	'the checks of a trace and the query that finds its rows, run as the caller by segroll.trace(), which runs the query and records it; refuses to run otherwise';

/*
 * segroll._trace(name, seg, NULL) as the caller, then the entry in
 * segroll.trace_log (src/trace.c).
 */
CREATE OR REPLACE FUNCTION @extschema@.trace(name pg_catalog.text, seg @extschema@.segment)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
AS 'MODULE_PATHNAME', 'segroll_trace_segment'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.trace(pg_catalog.text, @extschema@.segment) IS
	'the source rows behind a segment (a cell or any merge of cells), in key order, as the caller may see them; purged rows are marked';

/*
 * The segment of a cell, or null, looked up as the caller.  The caller's
 * values are never cast to a dimension's type (a domain's CHECK, or a cast
 * from text that the type's owner created, would run as the caller): each
 * is compared as the built-in base type of its column, or as text
 * (_caller_eq_sql).
 */
CREATE OR REPLACE FUNCTION @extschema@._cell_segment(def @extschema@.segmentation, dimensions pg_catalog.jsonb,
	period pg_catalog.timestamptz)
RETURNS @extschema@.segment
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cond text;
	seg segroll.segment;
	blocks regclass;
	full_seg segroll.segment;
BEGIN
	PERFORM segroll._caller_reads(def.cells, '{r}', 'cells table');
	PERFORM segroll._caller_column(def.cells, 'period', '{timestamptz}', 'column');
	PERFORM segroll._caller_column(def.cells, 'seg', ARRAY['segroll.segment'::regtype], 'column');
	SELECT string_agg(format('(%s) AND ',
	                         segroll._caller_eq_sql(format('c.%I', d->>'name'), segroll._caller_type(def.cells, d->>'name'),
	                                                format('($1 OPERATOR(pg_catalog.->>) %L)', d->>'name'), 'text', true)), '')
	INTO cond FROM jsonb_array_elements(def.dimensions) d;
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- cond: _caller_eq_sql() of %I, %L and format_type()
		IF NOT def.lineage THEN
			EXECUTE format('SELECT c.seg FROM %s c WHERE %s c.period OPERATOR(pg_catalog.=) $2', def.cells, cond)
				INTO seg USING dimensions, period;
		ELSE
			-- a large cell: its head in the cells table, its lineage in
			-- blocks (lineage.sql); both read in one statement, so from one
			-- snapshot, whatever roll-up commits meanwhile
			blocks := segroll._caller_reads_blocks(def);
			EXECUTE format('SELECT c.seg, CASE WHEN NOT segroll.has_lineage(c.seg) THEN
			                    (SELECT segroll.merge(c.seg) FROM %s c WHERE %s c.period OPERATOR(pg_catalog.=) $2) END
			                FROM %s c WHERE %s c.period OPERATOR(pg_catalog.=) $2', blocks, cond, def.cells, cond)
				INTO seg, full_seg USING dimensions, period;
		END IF;
	END;
	IF def.lineage AND seg IS NOT NULL AND NOT segroll.has_lineage(seg) THEN
		IF full_seg IS NULL OR segroll.without_lineage(full_seg) OPERATOR(segroll.<>) seg THEN
			RAISE EXCEPTION 'the lineage blocks of cell % at % of segmentation "%" do not match its figures',
				dimensions, period, def.name
				USING ERRCODE = 'data_corrupted',
				      HINT = format('Compare with SELECT * FROM segroll.verify(%L, ...); segroll.repair() rebuilds the cell.', def.name);
		END IF;
		seg := full_seg;
	END IF;
	RETURN seg;
END
$$;

/* The segment of one cell, looked up as the caller. */
CREATE OR REPLACE FUNCTION @extschema@.cell(name pg_catalog.text, dimensions pg_catalog.jsonb, period pg_catalog.timestamptz)
RETURNS @extschema@.segment
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	d jsonb;
	seg segroll.segment;
BEGIN
	PERFORM segroll._require_arg(name, 'name', 'cell');
	PERFORM segroll._require_arg(dimensions, 'dimensions', 'cell');
	PERFORM segroll._require_arg(period, 'period', 'cell');
	def := segroll._definition(name);
	IF jsonb_typeof(dimensions) <> 'object' THEN
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

/*
 * segroll._trace(name, segroll.cell(name, dimensions, period),
 * jsonb_build_object('dimensions', dimensions, 'period', period)) as the
 * caller, then the entry in segroll.trace_log (src/trace.c).
 */
CREATE OR REPLACE FUNCTION @extschema@.trace(name pg_catalog.text, dimensions pg_catalog.jsonb, period pg_catalog.timestamptz)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
AS 'MODULE_PATHNAME', 'segroll_trace_cell'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.trace(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'the source rows behind one cell, in key order, as the caller may see them; purged rows are marked';

/*
 * The same rows typed as the source table:
 *   SELECT * FROM segroll.trace_rows('sales_daily', seg, NULL::front.sales_txn)
 * Columns the caller may not read are null.  Purged rows that no archive
 * holds are not returned (trace() lists their keys).  Run as the caller by
 * segroll.trace_rows(), which records the trace.
 */
CREATE OR REPLACE FUNCTION @extschema@._trace_rows(name pg_catalog.text, seg @extschema@.segment, row_type anyelement)
RETURNS SETOF anyelement
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	archive regclass;
	cols text;
	acols text;
	acol text;
	col record;
	st regtype;
	at regtype;
	q text;
	batch int8[];
BEGIN
	IF NOT segroll._enter_trace() THEN
		RAISE EXCEPTION 'segroll._trace_rows() must be called through segroll.trace_rows()'
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'segroll.trace_rows() records every trace in segroll.trace_log.';
	END IF;
	def := segroll._definition(name);
	archive := (SELECT s.archive FROM segroll.source s WHERE s.relid = def.source);
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
	PERFORM segroll._caller_reads_trace(def, archive);
	/*
	 * A column the caller may not read is a null of its type taken from a
	 * null row (a cast of NULL to a domain would evaluate its CHECKs).  An
	 * archive column is cast to the source column's type only between
	 * built-in types (a domain's CHECK, or a cast another role created,
	 * would run); a column of any other type must have the source's type.
	 */
	SELECT string_agg(CASE WHEN has_column_privilege(def.source, a.attnum, 'SELECT')
	                       THEN format('s.%I', a.attname)
	                       ELSE format('(NULL::%s).%I', (SELECT c.reltype FROM pg_class c WHERE c.oid = def.source)::regtype,
	                                   a.attname) END, ', ' ORDER BY a.attnum)
	INTO cols
	FROM pg_attribute a WHERE a.attrelid = def.source AND a.attnum > 0 AND NOT a.attisdropped;
	IF archive IS NOT NULL THEN
		FOR col IN SELECT a.attname, a.atttypmod FROM pg_attribute a
		           WHERE a.attrelid = def.source AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum LOOP
			IF col.attname = 'segroll_seq' THEN
				acol := 'NULL::pg_catalog.int8';
			ELSE
				st := segroll._caller_type(def.source, col.attname);
				at := segroll._caller_type(archive, col.attname);
				IF segroll._builtin_base(st) = st AND segroll._builtin_base(at) IS NOT NULL THEN
					acol := format('s.%I::%s', col.attname, format_type(st, col.atttypmod));
				ELSIF st = at THEN
					acol := format('s.%I', col.attname);
				ELSE
					RAISE EXCEPTION 'column "%" of archive % is %, not % as in %', col.attname, archive, at, st, def.source
						USING ERRCODE = 'datatype_mismatch',
						      DETAIL = 'trace_rows() converts archive columns only between built-in types.';
				END IF;
			END IF;
			acols := concat_ws(', ', acols, acol);
		END LOOP;
	END IF;
	q := format('SELECT %s FROM %s s WHERE %s OPERATOR(pg_catalog.=) ANY ($1)', cols, def.source,
	            segroll._caller_key_sql(def, def.source, 's'));
	IF archive IS NOT NULL THEN
		q := q || format(' UNION ALL SELECT %s FROM %s s WHERE s.%I OPERATOR(pg_catalog.=) ANY ($1)
		                   AND NOT EXISTS (SELECT 1 FROM %s l WHERE l.%I OPERATOR(pg_catalog.=) s.%I)',
		                 acols, archive, def.key_column, def.source, def.key_column, def.key_column);
	END IF;
	-- in lineage key order, as trace() (the key itself, or its hash)
	q := q || format(' ORDER BY %s', regexp_replace(segroll._caller_key_sql(def, def.source, 's'), '\ms\.', '', 'g'));
	FOR batch IN SELECT b FROM segroll.key_batches(seg, 10000) b LOOP
		BEGIN
			-- q: identifiers by %I, relations and types by regclass and format_type()
			PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
			RETURN QUERY EXECUTE q USING batch;
		END;
	END LOOP;
	-- segroll.trace_rows() (src/trace.c) counts the rows, writes the trace
	-- log and the server log's line
END
$$;
COMMENT ON FUNCTION @extschema@._trace_rows(pg_catalog.text, @extschema@.segment, anyelement) IS
	'the rows of trace_rows(), run as the caller by segroll.trace_rows(), which records it; refuses to run otherwise';

/* segroll._trace_rows() as the caller, then the entry in segroll.trace_log (src/trace.c). */
CREATE OR REPLACE FUNCTION @extschema@.trace_rows(name pg_catalog.text, seg @extschema@.segment, row_type anyelement)
RETURNS SETOF anyelement AS 'MODULE_PATHNAME', 'segroll_trace_rows'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.trace_rows(pg_catalog.text, @extschema@.segment, anyelement) IS
	'the source rows behind a segment, typed as the source table, in key order, as the caller may see them';

/* ------------------------------------------------------------ locate */

/*
 * locate() of a key given as text (the key column's type reads it: a
 * built-in type's input function), as the caller.  The key is compared as
 * itself, with the column's own equality, never by its hash, so a row is
 * found exactly; its lineage key (_caller_key_sql) is what the cell's
 * lineage must contain.
 */
CREATE OR REPLACE FUNCTION @extschema@._locate(name pg_catalog.text, key pg_catalog.text)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, status pg_catalog.text, detail pg_catalog.text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	q segroll._segmentation_sql;
	found_row boolean;
	seq bigint;
	mapped boolean;
	seg segroll.segment;
	d jsonb;
	i int := 0;
	t regtype;
	joins text := '';
	fj text := '';
	kt regtype;
	lkey_sql text;
	lkey bigint;
BEGIN
	def := segroll._definition(name);
	q := segroll._sql(def);
	/*
	 * The source and reference tables, checked and locked; the reference
	 * lookups and the dimensions' json built from their columns' types as
	 * they are now (_caller_eq_sql, _shown_sql), not as the roll-up's
	 * fragments have them.
	 */
	PERFORM segroll._caller_reads(def.source, '{r,p}', 'source');
	lkey_sql := segroll._caller_key_sql(def, def.source, 's');
	kt := segroll._caller_type(def.source, def.key_column);
	PERFORM segroll._caller_column(def.source, def.time_column, ARRAY[segroll._time_type(def)], 'time column');
	PERFORM segroll._caller_column(def.source, 'segroll_seq', '{int8}', 'column');
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		IF d ? 'column' THEN
			t := segroll._caller_type(def.source, d->>'column');
		ELSE
			joins := joins || segroll._caller_lookup_join(def, d, format('r%s', i));
			t := segroll._caller_type((d->>'table')::regclass, d->>'value');
		END IF;
		fj := fj || format('%L, %s, ', d->>'name', segroll._shown_sql(format('f.segroll_d%s', i), t));
	END LOOP;
	-- the row as the caller sees it, mapped as the roll-up maps it
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- q: fragments of segroll._sql(); joins and fj: _caller_eq_sql(), _shown_sql()
		EXECUTE format($f$
			SELECT true, pg_catalog.jsonb_build_object(%1$s), f.segroll_period, f.segroll_seq, f.segroll_mapped, f.segroll_key
			FROM (SELECT %2$s %3$s AS segroll_period, s.segroll_seq, %4$s AS segroll_mapped, %8$s AS segroll_key
			      FROM %5$s s %6$s WHERE %7$s) f$f$,
			left(fj, -2), q.dim_exprs, q.period, q.mapped, def.source, joins,
			-- the key itself, compared as its column's type (an integer as bigint)
			CASE WHEN kt IN ('int8'::regtype, 'int4'::regtype)
			     THEN format('s.%I OPERATOR(pg_catalog.=) $1::pg_catalog.int8', def.key_column)
			     ELSE segroll._caller_eq_sql(format('s.%I', def.key_column), kt, '$1', 'text'::regtype, false) END,
			lkey_sql)
			INTO found_row, dimensions, period, seq, mapped, lkey USING key;
	END;
	IF found_row IS NULL THEN
		RETURN QUERY SELECT NULL::jsonb, NULL::timestamptz, 'not found'::text,
			format('no row with %s = %s in %s that you can see: never inserted, deleted, purged, or hidden from you',
			       def.key_column, key, def.source);
		RETURN;
	END IF;
	IF NOT segroll._is_applied(def, seq) THEN
		RETURN QUERY SELECT dimensions, period, 'pending'::text,
			'not rolled up yet: this version of the row was written after the last roll-up'::text;
		RETURN;
	END IF;
	seg := segroll._cell_segment(def, dimensions, period);
	IF seg IS NOT NULL AND (NOT segroll.has_lineage(seg) OR segroll.contains(seg, lkey)) THEN
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
COMMENT ON FUNCTION @extschema@._locate(pg_catalog.text, pg_catalog.text) IS
	'the body of locate(), run as the caller';

CREATE OR REPLACE FUNCTION @extschema@.locate(name pg_catalog.text, key pg_catalog.int8)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, status pg_catalog.text, detail pg_catalog.text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM segroll._require_arg(name, 'name', 'locate');
	PERFORM segroll._require_arg(key, 'key', 'locate');
	RETURN QUERY SELECT * FROM segroll._locate(name, key::pg_catalog.text);
END
$$;
COMMENT ON FUNCTION @extschema@.locate(pg_catalog.text, pg_catalog.int8) IS
	'the cell a source row is counted in, or why it is in none (not found, pending, missing)';

/*
 * locate() of a key that is not an integer, given as text:
 * segroll.locate('tx_daily', 'TX2026120600012345'), or a uuid as
 * '...'::text.  A text overload rather than anyelement: locate('x', 5)
 * stays the bigint one (an anyelement overload would make it ambiguous).
 */
CREATE OR REPLACE FUNCTION @extschema@.locate(name pg_catalog.text, key pg_catalog.text)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, status pg_catalog.text, detail pg_catalog.text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM segroll._require_arg(name, 'name', 'locate');
	PERFORM segroll._require_arg(key, 'key', 'locate');
	RETURN QUERY SELECT * FROM segroll._locate(name, key);
END
$$;
COMMENT ON FUNCTION @extschema@.locate(pg_catalog.text, pg_catalog.text) IS
	'the cell the source row with this key (as text: a text, varchar, uuid or numeric key) is counted in, or why it is in none';
