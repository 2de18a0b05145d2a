/*
 * Trace runs as its caller: it returns only source rows the caller may
 * read, with row-level security and column privileges applied, because it
 * is an ordinary query in the caller's name.  locate() says where one
 * source row is counted.
 */

/*
 * The expression that shows a source (or archive) row to the caller: the
 * columns the caller may read, in table order, as json (segroll_seq left
 * out).  A caller who may read no column gets the error a SELECT gives.
 */
CREATE OR REPLACE FUNCTION @extschema@._visible_json(rel pg_catalog.regclass, alias pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cols text;
BEGIN
	SELECT string_agg(format('%s.%I', alias, a.attname), ', ' ORDER BY a.attnum) INTO cols
	FROM pg_attribute a
	WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname <> 'segroll_seq' AND has_column_privilege(rel, a.attnum, 'SELECT');
	IF cols IS NULL THEN
		RAISE EXCEPTION 'permission denied for table %', rel USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN format('(SELECT pg_catalog.to_json(x) FROM (SELECT %s) x)', cols);
END
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
	RETURN format('%s IN (SELECT segroll.keys(c.seg) FROM %s c WHERE c.period OPERATOR(pg_catalog.<) %L::pg_catalog.timestamptz%s)',
	              key_expr, def.cells, horizon,
	              CASE WHEN segroll.minmax_known(seg)
	                   THEN format(' AND c.period OPERATOR(pg_catalog.>=) (%L::pg_catalog.timestamptz OPERATOR(pg_catalog.-) %L::pg_catalog.interval)',
	                               segroll.first_time(seg), (segroll._sql(def)).bound)
	                   ELSE '' END);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._trace(seg_name pg_catalog.text, seg @extschema@.segment, cell pg_catalog.jsonb)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(seg_name);
	archive regclass := (SELECT s.archive FROM segroll.source s WHERE s.relid = def.source);
	purged text;
	q text;
	batch int8[];
	n bigint;
	nrows bigint := 0;
BEGIN
	/*
	 * Every row comes from RETURN QUERY EXECUTE, which plpgsql_check cannot
	 * see filling the OUT columns ("OUT variable ... is maybe unmodified").
	 * @plpgsql_check_options: extra_warnings = false
	 */
	IF seg IS NULL THEN
		RAISE EXCEPTION 'cannot trace a null segment' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	purged := segroll._purged_filter(def, seg, 'k.key');
	-- the caller's own query: privileges and row-level security apply
	IF archive IS NULL AND purged = 'false' THEN
		-- every row is local: one index scan per batch, in key order
		q := format('SELECT s.%1$I::pg_catalog.int8, ''source''::pg_catalog.text, %2$s FROM %3$s s
		             WHERE s.%1$I OPERATOR(pg_catalog.=) ANY ($1) ORDER BY s.%1$I',
		            def.key_column, segroll._visible_json(def.source, 's'), def.source);
	ELSE
		q := format($f$
		WITH k AS MATERIALIZED (SELECT u.key FROM pg_catalog.unnest($1::pg_catalog.int8[]) u(key)),
		l AS MATERIALIZED (SELECT s.%1$I::pg_catalog.int8 AS key, %2$s AS r FROM %3$s s
		                   WHERE s.%1$I OPERATOR(pg_catalog.=) ANY ($1))
		%4$s
		SELECT k.key, CASE WHEN l.key IS NOT NULL THEN 'source' WHEN a.key IS NOT NULL THEN 'archive' ELSE 'purged' END,
		       coalesce(l.r, a.r)
		FROM k LEFT JOIN l ON l.key OPERATOR(pg_catalog.=) k.key LEFT JOIN a ON a.key OPERATOR(pg_catalog.=) k.key
		WHERE l.key IS NOT NULL OR a.key IS NOT NULL OR %5$s
		ORDER BY k.key$f$,
			def.key_column, segroll._visible_json(def.source, 's'), def.source,
			CASE WHEN archive IS NULL THEN ', a AS (SELECT NULL::pg_catalog.int8 AS key, NULL::pg_catalog.json AS r WHERE false)'
			     ELSE format(', a AS MATERIALIZED (SELECT s.%1$I::pg_catalog.int8 AS key, %2$s AS r FROM %3$s s
		                   WHERE s.%1$I OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT k.key FROM k WHERE NOT EXISTS
		                         (SELECT 1 FROM l WHERE l.key OPERATOR(pg_catalog.=) k.key))))',
			                 def.key_column, segroll._visible_json(archive, 's'), archive) END,
			purged);
	END IF;
	FOR batch IN SELECT b FROM segroll.key_batches(seg, 10000) b LOOP
		BEGIN
			-- q: identifiers by %I, relations and types by regclass and format_type()
			PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
			RETURN QUERY EXECUTE q USING batch;
		END;
		GET DIAGNOSTICS n = ROW_COUNT;
		nrows := nrows + n;
	END LOOP;
	IF current_setting('segroll.trace_audit')::bool THEN
		INSERT INTO segroll.trace_log (segmentation, cell, keys, rows_returned)
		VALUES (seg_name,
		        coalesce(cell, jsonb_build_object('count', segroll.count(seg), 'checksum', segroll.checksum(seg),
		                                          'first_time', segroll.first_time(seg), 'last_time', segroll.last_time(seg))),
		        segroll.count(seg), nrows);
	END IF;
	RAISE LOG 'segroll: % traced % keys of segmentation "%" (%), % rows returned',
		current_user, segroll.count(seg), seg_name, coalesce(cell::text, 'a segment'), nrows;
END
$$;
COMMENT ON FUNCTION @extschema@._trace(pg_catalog.text, @extschema@.segment, pg_catalog.jsonb) IS
	'the trace itself, run as the caller; see segroll.trace()';

CREATE OR REPLACE FUNCTION @extschema@.trace(name pg_catalog.text, seg @extschema@.segment)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._trace(name, seg, NULL)
$$;
COMMENT ON FUNCTION @extschema@.trace(pg_catalog.text, @extschema@.segment) IS
	'the source rows behind a segment (a cell or any merge of cells), in key order, as the caller may see them; purged rows are marked';

/* The segment of a cell, or null, looked up as the caller. */
CREATE OR REPLACE FUNCTION @extschema@._cell_segment(def @extschema@.segmentation, dimensions pg_catalog.jsonb,
	period pg_catalog.timestamptz)
RETURNS @extschema@.segment
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cond text;
	seg segroll.segment;
BEGIN
	SELECT string_agg(format('c.%I IS NOT DISTINCT FROM ($1 OPERATOR(pg_catalog.->>) %L)::%s AND ',
	                         d->>'name', d->>'name', format_type(segroll._column_type(def.cells, d->>'name'), NULL)), '')
	INTO cond FROM jsonb_array_elements(def.dimensions) d;
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- cond: %I, %L and format_type() only
		EXECUTE format('SELECT c.seg FROM %s c WHERE %s c.period OPERATOR(pg_catalog.=) $2', def.cells, cond)
			INTO seg USING dimensions, period;
	END;
	RETURN seg;
END
$$;

/* The segment of one cell, looked up as the caller. */
CREATE OR REPLACE FUNCTION @extschema@.cell(name pg_catalog.text, dimensions pg_catalog.jsonb, period pg_catalog.timestamptz)
RETURNS @extschema@.segment
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	d jsonb;
	seg segroll.segment;
BEGIN
	IF dimensions IS NULL OR jsonb_typeof(dimensions) <> 'object' OR period IS NULL THEN
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

CREATE OR REPLACE FUNCTION @extschema@.trace(name pg_catalog.text, dimensions pg_catalog.jsonb, period pg_catalog.timestamptz)
RETURNS TABLE (key pg_catalog.int8, origin pg_catalog.text, source_row pg_catalog.json)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._trace(name, segroll.cell(name, dimensions, period),
	                             pg_catalog.jsonb_build_object('dimensions', dimensions, 'period', period))
$$;
COMMENT ON FUNCTION @extschema@.trace(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz) IS
	'the source rows behind one cell, in key order, as the caller may see them; purged rows are marked';

/*
 * The same rows typed as the source table:
 *   SELECT * FROM segroll.trace_rows('sales_daily', seg, NULL::front.sales_txn)
 * Columns the caller may not read are null.  Purged rows that no archive
 * holds are not returned (trace() lists their keys).
 */
CREATE OR REPLACE FUNCTION @extschema@.trace_rows(name pg_catalog.text, seg @extschema@.segment, row_type anyelement)
RETURNS SETOF anyelement
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	archive regclass := (SELECT s.archive FROM segroll.source s WHERE s.relid = def.source);
	cols text;
	acols text;
	q text;
	batch int8[];
	n bigint;
	nrows bigint := 0;
BEGIN
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
	SELECT string_agg(CASE WHEN has_column_privilege(def.source, a.attnum, 'SELECT')
	                       THEN format('s.%I', a.attname)
	                       ELSE format('NULL::%s', format_type(a.atttypid, a.atttypmod)) END, ', ' ORDER BY a.attnum),
	       string_agg(CASE WHEN a.attname = 'segroll_seq' THEN 'NULL::pg_catalog.int8'
	                       ELSE format('s.%I::%s', a.attname, format_type(a.atttypid, a.atttypmod)) END, ', ' ORDER BY a.attnum)
	INTO cols, acols
	FROM pg_attribute a WHERE a.attrelid = def.source AND a.attnum > 0 AND NOT a.attisdropped;
	q := format('SELECT %s FROM %s s WHERE s.%I OPERATOR(pg_catalog.=) ANY ($1)', cols, def.source, def.key_column);
	IF archive IS NOT NULL THEN
		q := q || format(' UNION ALL SELECT %s FROM %s s WHERE s.%I OPERATOR(pg_catalog.=) ANY ($1)
		                   AND NOT EXISTS (SELECT 1 FROM %s l WHERE l.%I OPERATOR(pg_catalog.=) s.%I)',
		                 acols, archive, def.key_column, def.source, def.key_column, def.key_column);
	END IF;
	q := q || format(' ORDER BY %I', def.key_column);
	FOR batch IN SELECT b FROM segroll.key_batches(seg, 10000) b LOOP
		BEGIN
			-- q: identifiers by %I, relations and types by regclass and format_type()
			PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
			RETURN QUERY EXECUTE q USING batch;
		END;
		GET DIAGNOSTICS n = ROW_COUNT;
		nrows := nrows + n;
	END LOOP;
	IF current_setting('segroll.trace_audit')::bool THEN
		INSERT INTO segroll.trace_log (segmentation, cell, keys, rows_returned)
		VALUES (name, jsonb_build_object('count', segroll.count(seg), 'checksum', segroll.checksum(seg),
		                                 'first_time', segroll.first_time(seg), 'last_time', segroll.last_time(seg)),
		        segroll.count(seg), nrows);
	END IF;
	RAISE LOG 'segroll: % traced % keys of segmentation "%" (a segment), % rows returned',
		current_user, segroll.count(seg), name, nrows;
END
$$;
COMMENT ON FUNCTION @extschema@.trace_rows(pg_catalog.text, @extschema@.segment, anyelement) IS
	'the source rows behind a segment, typed as the source table, in key order, as the caller may see them';

/* ------------------------------------------------------------ locate */

CREATE OR REPLACE FUNCTION @extschema@.locate(name pg_catalog.text, key pg_catalog.int8)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, status pg_catalog.text, detail pg_catalog.text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	q segroll._segmentation_sql := segroll._sql(def);
	applied bigint := (SELECT p.applied_upto FROM segroll.progress p WHERE p.name = locate.name);
	found_row boolean;
	seq bigint;
	mapped boolean;
	seg segroll.segment;
BEGIN
	IF key IS NULL THEN
		RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the row as the caller sees it, mapped as the roll-up maps it
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- q: fragments of segroll._sql()
		EXECUTE format($f$
			SELECT true, %1$s, f.segroll_period, f.segroll_seq, f.segroll_mapped
			FROM (SELECT %2$s %3$s AS segroll_period, s.segroll_seq, %4$s AS segroll_mapped
			      FROM %5$s s %6$s WHERE s.%7$I OPERATOR(pg_catalog.=) $1) f$f$,
			q.fresh_json, q.dim_exprs, q.period, q.mapped, def.source, q.joins, def.key_column)
			INTO found_row, dimensions, period, seq, mapped USING key;
	END;
	IF found_row IS NULL THEN
		RETURN QUERY SELECT NULL::jsonb, NULL::timestamptz, 'not found'::text,
			format('no row with %s = %s in %s that you can see: never inserted, deleted, purged, or hidden from you',
			       def.key_column, key, def.source);
		RETURN;
	END IF;
	IF seq > applied THEN
		RETURN QUERY SELECT dimensions, period, 'pending'::text,
			'not rolled up yet: this version of the row was written after the last roll-up'::text;
		RETURN;
	END IF;
	seg := segroll._cell_segment(def, dimensions, period);
	IF seg IS NOT NULL AND (NOT segroll.has_lineage(seg) OR segroll.contains(seg, key)) THEN
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
COMMENT ON FUNCTION @extschema@.locate(pg_catalog.text, pg_catalog.int8) IS
	'the cell a source row is counted in, or why it is in none (not found, pending, missing)';
