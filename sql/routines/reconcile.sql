/*
 * Reconcile: verify() compares cells with their source rows, repair()
 * rebuilds the cells that differ, purge_source() deletes the raw rows of
 * old periods once their cells verify clean, set_archive() names where
 * purged rows still are.  Cells are totals computed with the owner's visibility, so
 * these compare and change them as the owner (C entry points, like
 * rollup()).
 */

/* ------------------------------------------------------------ verify */

/*
 * A closed cell as the source stands now: the frozen segment with its
 * adjustments applied in the order the roll-up made them (each retracts
 * old versions, then adds new ones, as a roll-up window does).  Null when
 * nothing is left.
 */
CREATE OR REPLACE FUNCTION @extschema@._adjusted(seg @extschema@.segment, added @extschema@.segment[], removed @extschema@.segment[])
RETURNS @extschema@.segment
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	FOR i IN 1 .. coalesce(cardinality(added), 0) LOOP
		IF removed[i] IS NOT NULL THEN
			BEGIN
				seg := segroll.subtract(coalesce(seg, segroll.subtract(removed[i], removed[i])), removed[i]);
			EXCEPTION WHEN data_exception THEN
				-- damaged adjustments: what cannot be retracted stays, and
				-- verify reports the difference from the source
				NULL;
			END;
		END IF;
		IF added[i] IS NOT NULL THEN
			BEGIN
				seg := CASE WHEN seg IS NULL OR segroll.count(seg) = 0 THEN added[i] ELSE segroll.merge(seg, added[i]) END;
			EXCEPTION WHEN unique_violation OR data_exception THEN
				NULL;	-- a key counted twice: likewise
			END;
		END IF;
	END LOOP;
	RETURN CASE WHEN segroll.count(seg) > 0 THEN seg END;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._check_range(period_from pg_catalog.timestamptz, period_to pg_catalog.timestamptz)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF period_from IS NULL OR period_to IS NULL OR period_from >= period_to THEN
		RAISE EXCEPTION 'invalid period range [%, %)', period_from, period_to
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Give the start of the first period and the end of the range, start before end.';
	END IF;
END
$$;

/* Called as the owner by segroll.verify(); see there. */
CREATE OR REPLACE FUNCTION @extschema@._verify(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz, mode pg_catalog.text)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, problem pg_catalog.text,
	key pg_catalog.int8, in_cells pg_catalog.numeric, in_source pg_catalog.numeric)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	q segroll._segmentation_sql := segroll._sql(def);
	full_mode boolean;
	upto bigint;
	differs text;
	q_text text;
	b_from timestamptz;
	b_to timestamptz;
	p timestamptz;
	nxt timestamptz;
	meas_rows text := '';
	key_rows text := '';
	per_period boolean;
BEGIN
	/*
	 * Every row comes from RETURN QUERY EXECUTE, which plpgsql_check cannot
	 * see filling the OUT columns ("OUT variable ... is maybe unmodified").
	 * @plpgsql_check_options: extra_warnings = false
	 */
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'segroll._verify() must be called through segroll.verify()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM segroll._check_range(period_from, period_to);
	full_mode := CASE lower(mode) WHEN 'fast' THEN false WHEN 'full' THEN true END;
	IF full_mode IS NULL THEN
		RAISE EXCEPTION 'invalid verify mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use fast (counts and checksums) or full (every figure and every key).';
	END IF;
	-- compare with the cells as the last roll-up left them; none runs meanwhile
	SELECT p.applied_upto INTO upto FROM segroll.progress p WHERE p.name = def.name FOR SHARE;

	IF full_mode THEN
		differs := 'c.seg OPERATOR(segroll.<>) f.seg';
		FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
			meas_rows := meas_rows || format(
				', (%1$L, segroll.sum(j.cs, %4$s), segroll.sum(j.fs, %4$s)), (%2$L, CASE WHEN segroll.minmax_known(j.cs) THEN segroll.min(j.cs, %4$s) ELSE segroll.min(j.fs, %4$s) END, segroll.min(j.fs, %4$s)), (%3$L, CASE WHEN segroll.minmax_known(j.cs) THEN segroll.max(j.cs, %4$s) ELSE segroll.max(j.fs, %4$s) END, segroll.max(j.fs, %4$s))',
				format('sum(%s)', def.measures[i]), format('min(%s)', def.measures[i]), format('max(%s)', def.measures[i]), i);
		END LOOP;
		IF def.lineage THEN
			-- a cell whose lineage blocks do not match its head shows none
			-- (_full_cells_sql): one problem, not every key
			key_rows := $k$
			UNION ALL
			SELECT 'lineage blocks', NULL, NULL, NULL
			WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL AND NOT segroll.has_lineage(j.cs)
			UNION ALL
			SELECT 'extra key', x.k, NULL, NULL
			FROM (SELECT segroll.keys(j.cs) EXCEPT SELECT segroll.keys(j.fs)) x(k)
			WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL AND segroll.has_lineage(j.cs)
			UNION ALL
			SELECT 'missing key', x.k, NULL, NULL
			FROM (SELECT segroll.keys(j.fs) EXCEPT SELECT segroll.keys(j.cs)) x(k)
			WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL AND segroll.has_lineage(j.cs)$k$;
		END IF;
	ELSE
		differs := 'segroll.count(c.seg) OPERATOR(pg_catalog.<>) segroll.count(f.seg) OR segroll.checksum(c.seg) OPERATOR(pg_catalog.<>) segroll.checksum(f.seg)';
	END IF;

	-- period by period when the range is short: each query then knows its
	-- period without computing it per row
	b_from := segroll._boundary(def, period_from);
	b_to := segroll._boundary(def, period_to);
	per_period := isfinite(b_from) AND isfinite(b_to)
	              AND b_to - b_from <= (SELECT g.verify_span FROM segroll.grain g WHERE g.name = def.grain);

	-- one format(): names with a % in them stay names
	q_text := format($f$
	WITH fresh AS (%1$s),
	f AS (SELECT %2$s AS dims, f.period, f.seg FROM fresh f),
	c0 AS (SELECT %3$s AS dims, c.period, c.seg FROM %4$s c
	       WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3),
	a0 AS (SELECT %8$s AS dims, a.period, pg_catalog.array_agg(a.added ORDER BY a.to_seq) AS ad,
	              pg_catalog.array_agg(a.removed ORDER BY a.to_seq) AS rm
	       FROM %9$s a WHERE a.period OPERATOR(pg_catalog.>=) $2 AND a.period OPERATOR(pg_catalog.<) $3
	       GROUP BY 1, 2),
	c AS (SELECT x.* FROM (
	          SELECT coalesce(c0.dims, a0.dims) AS dims, coalesce(c0.period, a0.period) AS period,
	                 CASE WHEN a0.ad IS NULL THEN c0.seg ELSE segroll._adjusted(c0.seg, a0.ad, a0.rm) END AS seg
	          FROM c0 FULL JOIN a0 ON c0.dims OPERATOR(pg_catalog.=) a0.dims AND c0.period OPERATOR(pg_catalog.=) a0.period) x
	      WHERE segroll.count(x.seg) OPERATOR(pg_catalog.>) 0),
	j AS (SELECT coalesce(c.dims, f.dims) AS dims, coalesce(c.period, f.period) AS period, c.seg AS cs, f.seg AS fs
	      FROM c FULL JOIN f ON c.dims OPERATOR(pg_catalog.=) f.dims AND c.period OPERATOR(pg_catalog.=) f.period
	      WHERE c.seg IS NULL OR f.seg IS NULL OR %5$s)
	SELECT j.dims, j.period, p.problem, p.key, p.in_cells, p.in_source
	FROM j CROSS JOIN LATERAL (
		SELECT 'missing cell'::pg_catalog.text AS problem, NULL::pg_catalog.int8 AS key,
		       NULL::pg_catalog.numeric AS in_cells, segroll.count(j.fs)::pg_catalog.numeric AS in_source
		WHERE j.cs IS NULL
		UNION ALL
		SELECT 'extra cell', NULL, segroll.count(j.cs), NULL WHERE j.fs IS NULL
		UNION ALL
		SELECT v.problem, NULL, v.a, v.b
		FROM (VALUES ('count', segroll.count(j.cs)::pg_catalog.numeric, segroll.count(j.fs)::pg_catalog.numeric),
		             ('checksum', segroll.checksum(j.cs)::pg_catalog.numeric, segroll.checksum(j.fs)::pg_catalog.numeric)
		             %6$s) v(problem, a, b)
		WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL AND v.a IS DISTINCT FROM v.b
		%7$s) p
	ORDER BY j.period, j.dims::pg_catalog.text, p.problem, p.key$f$,
		segroll._fresh_sql(def, full_mode AND def.lineage, per_period), q.fresh_json, q.cell_json,
		-- every key is compared in full mode: cells whose lineage is in blocks are read whole
		CASE WHEN full_mode THEN segroll._full_cells_sql(def, 'c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3')
		     ELSE def.cells::text END,
		differs,
		-- %8$s: cell_json over the adjustments (alias a) instead of the cells (alias c)
		meas_rows, key_rows, regexp_replace(q.cell_json, '\mc\.', 'a.', 'g'), segroll._adjustments(def));
	-- q_text: fragments of segroll._sql() and _fresh_sql(), %I and %L
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
	IF per_period THEN
		p := b_from;
		WHILE p < b_to LOOP
			nxt := segroll._next_period(def, p);
			RETURN QUERY EXECUTE q_text USING upto, p, nxt, p, nxt;
			p := nxt;
		END LOOP;
	ELSE
		RETURN QUERY EXECUTE q_text USING upto, period_from, period_to, b_from, b_to;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text) IS
	'the comparison itself; called by segroll.verify() as the segmentation''s owner';

CREATE OR REPLACE FUNCTION @extschema@.verify(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz, mode pg_catalog.text DEFAULT 'fast')
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, problem pg_catalog.text,
	key pg_catalog.int8, in_cells pg_catalog.numeric, in_source pg_catalog.numeric)
AS 'MODULE_PATHNAME', 'segroll_verify'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text) IS
	'compares the cells of periods [period_from, period_to) with their source rows: one row per discrepancy, none when they agree';

/* ------------------------------------------------------------ repair */

/*
 * Rebuilds from the source, under the current reference data, exactly the
 * open cells of [period_from, period_to) that differ from it, and records
 * what changed as the given history action.  repair() and resegment() are
 * this; an as-is segmentation's roll-up does it when reference data moved.
 */
CREATE OR REPLACE FUNCTION @extschema@._rebuild_cells(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz, what pg_catalog.text, only_values pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	q segroll._segmentation_sql := segroll._sql(def);
	upto bigint;
	t0 timestamptz := clock_timestamp();
	changed jsonb;
	f_only text := 'true';		-- over fresh's segroll_dN
	c_only text := 'true';		-- over the cells' columns
	d jsonb;
	i int := 0;
	vals text[];
	with_null boolean;
BEGIN
	PERFORM segroll._require_owner_context(def, 'segroll._rebuild_cells()', 'segroll.repair() or segroll.resegment()');
	PERFORM segroll._check_range(period_from, period_to);
	-- queue behind any roll-up; cells are rebuilt as it left them
	SELECT p.applied_upto INTO upto FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	-- closed cells stay as they were closed (re-open them to rebuild them)
	period_from := greatest(period_from,
		(SELECT c.closed_upto FROM segroll.closed_period c WHERE c.name = def.name));
	IF period_from >= period_to THEN
		RETURN;
	END IF;
	/*
	 * Only the cells with these dimension values ({"dim": [values]}) can
	 * have gained or lost members: rebuild just those.  A filter on the
	 * grouping columns is pushed below the aggregation by the planner.
	 */
	IF only_values IS NOT NULL THEN
		f_only := 'false';
		c_only := 'false';
		FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
			i := i + 1;
			CONTINUE WHEN NOT only_values ? (d->>'name');
			vals := ARRAY(SELECT v FROM jsonb_array_elements_text(only_values->(d->>'name')) v WHERE v IS NOT NULL);
			with_null := EXISTS (SELECT 1 FROM jsonb_array_elements(only_values->(d->>'name')) v WHERE v = 'null');
			f_only := f_only || format(' OR f0.segroll_d%s::pg_catalog.text OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.text[])%s',
			                           i, vals, CASE WHEN with_null THEN format(' OR f0.segroll_d%s IS NULL', i) ELSE '' END);
			c_only := c_only || format(' OR c.%I::pg_catalog.text OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.text[])%s',
			                           d->>'name', vals, CASE WHEN with_null THEN format(' OR c.%I IS NULL', d->>'name') ELSE '' END);
		END LOOP;
	END IF;

	IF segroll._distribution_column(def.source) IS NOT NULL THEN
		/*
		 * A Citus-distributed source (distributed.sql): the cells of the range
		 * are compared with their rebuild (read, and compared on the
		 * coordinator), then deleted and inserted from the source by two
		 * statements that Citus runs on every shard group.  Its cells keep
		 * their lineage inline: no blocks to rewrite.
		 */
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- fragments of segroll._sql() and _fresh_sql(); %I and %L
		EXECUTE format($f$
		SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
		           'dimensions', x.dims, 'period', x.period,
		           'action', CASE WHEN x.cs IS NULL THEN 'inserted' WHEN x.fs IS NULL THEN 'deleted' ELSE 'replaced' END,
		           'count_before', segroll.count(x.cs), 'count_after', segroll.count(x.fs))
		           ORDER BY x.period, x.dims::pg_catalog.text), '[]')
		FROM (SELECT u.dims, u.period, (pg_catalog.array_agg(u.seg) FILTER (WHERE u.cell))[1] AS cs,
		             (pg_catalog.array_agg(u.seg) FILTER (WHERE NOT u.cell))[1] AS fs
		      FROM (SELECT %1$s AS dims, c.period, c.seg, true AS cell FROM %2$s c
		            WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3
		            UNION ALL
		            SELECT %3$s, f.period, f.seg, false FROM (%4$s) f) u
		      GROUP BY u.dims, u.period) x
		WHERE x.cs IS NULL OR x.fs IS NULL OR x.cs OPERATOR(segroll.<>) x.fs$f$,
			q.cell_json, def.cells, q.fresh_json, segroll._fresh_sql(def, def.lineage))
		INTO changed USING upto, period_from, period_to, segroll._boundary(def, period_from), segroll._boundary(def, period_to);
		IF jsonb_array_length(changed) > 0 THEN
			EXECUTE format($f$DELETE FROM %s c WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3$f$,
			               def.cells)
				USING upto, period_from, period_to;
			EXECUTE format($f$INSERT INTO %s (%s period, seg) SELECT %s f.period, f.seg FROM (%s) f$f$,
			               def.cells, q.cell_cols, regexp_replace(q.dim_names, '(segroll_d[0-9]+)', 'f.\1', 'g'),
			               segroll._fresh_sql(def, def.lineage))
				USING upto, period_from, period_to, segroll._boundary(def, period_from), segroll._boundary(def, period_to);
		END IF;
		PERFORM segroll._log(def.name, what, jsonb_array_length(changed), t0,
		                     jsonb_strip_nulls(jsonb_build_object('period_from', period_from, 'period_to', period_to,
		                                        'applied_upto', upto, 'cells', changed)));
		RETURN QUERY
			SELECT x.dimensions, x.period, x.action, x.count_before, x.count_after
			FROM jsonb_to_recordset(changed) AS x(dimensions jsonb, period timestamptz, action text,
			                                      count_before bigint, count_after bigint);
		RETURN;
	END IF;

	BEGIN
		-- fragments of segroll._sql() and _fresh_sql(); f_only and c_only by %I and %L
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
		EXECUTE format($f$
		WITH fresh AS (SELECT f0.* FROM (%1$s) f0 WHERE %8$s),
		f AS (SELECT %2$s AS dims, f.* FROM fresh f),
		c AS (SELECT c.cell_ctid, %3$s AS dims, c.period, c.seg FROM %10$s c
		      WHERE c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3 AND (%9$s)),
		j AS MATERIALIZED (
		      SELECT c.cell_ctid, coalesce(c.dims, f.dims) AS dims, coalesce(c.period, f.period) AS period,
		             c.seg AS cs, f.seg AS fs, %5$s
		      FROM c FULL JOIN f ON c.dims OPERATOR(pg_catalog.=) f.dims AND c.period OPERATOR(pg_catalog.=) f.period
		      WHERE c.seg IS NULL OR f.seg IS NULL OR c.seg OPERATOR(segroll.<>) f.seg),
		del AS (DELETE FROM %4$s x USING j WHERE j.fs IS NULL AND x.ctid OPERATOR(pg_catalog.=) j.cell_ctid),
		upd AS (UPDATE %4$s x SET seg = j.fs FROM j
		        WHERE j.cs IS NOT NULL AND j.fs IS NOT NULL AND x.ctid OPERATOR(pg_catalog.=) j.cell_ctid),
		ins AS (INSERT INTO %4$s (%6$s period, seg) SELECT %7$s j.period, j.fs FROM j WHERE j.cs IS NULL),
		-- a rebuilt cell keeps its lineage inline: its blocks go
		blocks_del AS (DELETE FROM %11$s k USING j
		               WHERE j.cs IS NOT NULL AND k.period OPERATOR(pg_catalog.=) j.period AND %12$s OPERATOR(pg_catalog.=) j.dims)
		SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
		           'dimensions', j.dims, 'period', j.period,
		           'action', CASE WHEN j.cs IS NULL THEN 'inserted' WHEN j.fs IS NULL THEN 'deleted' ELSE 'replaced' END,
		           'count_before', segroll.count(j.cs), 'count_after', segroll.count(j.fs))
		           ORDER BY j.period, j.dims::pg_catalog.text), '[]')
		FROM j$f$,
			segroll._fresh_sql(def, def.lineage), q.fresh_json, q.cell_json, def.cells,
			left(regexp_replace(q.dim_names, '(segroll_d[0-9]+)', 'f.\1', 'g'), -2), q.cell_cols, q.dim_names,
			f_only, c_only,
			segroll._full_cells_sql(def, 'c.period OPERATOR(pg_catalog.>=) $2 AND c.period OPERATOR(pg_catalog.<) $3'),
			segroll._lineage_blocks(def), regexp_replace(q.cell_json, '\mc\.', 'k.', 'g'))
		INTO changed USING upto, period_from, period_to, segroll._boundary(def, period_from), segroll._boundary(def, period_to);
	END;

	PERFORM segroll._log(def.name, what, jsonb_array_length(changed), t0,
	                     jsonb_strip_nulls(jsonb_build_object('period_from', period_from, 'period_to', period_to,
	                                        'applied_upto', upto, 'only', only_values, 'cells', changed)));
	RETURN QUERY
		SELECT x.dimensions, x.period, x.action, x.count_before, x.count_after
		FROM jsonb_to_recordset(changed) AS x(dimensions jsonb, period timestamptz, action text,
		                                      count_before bigint, count_after bigint);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._repair(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._rebuild_cells(name, period_from, period_to, 'repair')
$$;
COMMENT ON FUNCTION @extschema@._repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	'the repair itself; called by segroll.repair() as the segmentation''s owner';

CREATE OR REPLACE FUNCTION @extschema@.repair(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
AS 'MODULE_PATHNAME', 'segroll_repair'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	'recomputes from the source exactly the cells of [period_from, period_to) that differ from it, in one transaction, and records each in segroll.history';

/* ------------------------------------------------------------ raw-data retention */

CREATE OR REPLACE FUNCTION @extschema@._purge_source(name pg_catalog.text, older_than pg_catalog.interval)
RETURNS TABLE (source pg_catalog.regclass, purged_before pg_catalog.timestamptz, rows_deleted pg_catalog.int8)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	def segroll.segmentation := segroll._definition(name);
	other segroll.segmentation;
	horizon timestamptz;
	previous timestamptz;
	upto bigint;
	problems bigint;
	first_problem text;
	deleted bigint;
	t0 timestamptz := clock_timestamp();
BEGIN
	PERFORM segroll._require_owner_context(def, 'segroll._purge_source()', 'segroll.purge_source()');
	IF older_than IS NULL OR older_than <= '0'::interval THEN
		RAISE EXCEPTION 'argument "older_than" of purge_source must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- every segmentation of the source loses the rows: all must agree on periods
	FOR other IN SELECT * FROM segroll.segmentation s WHERE s.source = def.source ORDER BY s.name LOOP
		IF NOT pg_has_role(other.owner, 'MEMBER') THEN
			RAISE EXCEPTION 'segmentation "%" over % belongs to %', other.name, def.source, other.owner
				USING ERRCODE = 'insufficient_privilege',
				      HINT = 'Purging a source needs membership in the owner of every segmentation over it.';
		END IF;
		IF other.time_column <> def.time_column OR other.time_zone <> def.time_zone THEN
			RAISE EXCEPTION 'segmentations "%" and "%" cut periods differently', def.name, other.name
				USING ERRCODE = 'feature_not_supported',
				      DETAIL = 'Purging needs every segmentation over a source to use the same time column and time zone.';
		END IF;
		horizon := least(horizon, date_trunc(other.grain, now() - older_than, other.time_zone));
	END LOOP;
	FOR other IN SELECT * FROM segroll.segmentation s WHERE s.source = def.source LOOP
		IF date_trunc(other.grain, horizon, other.time_zone) <> horizon THEN
			RAISE EXCEPTION 'segmentations over % have periods that do not nest (%)', def.source,
				(SELECT string_agg(DISTINCT s.grain, ', ') FROM segroll.segmentation s WHERE s.source = def.source)
				USING ERRCODE = 'feature_not_supported',
				      DETAIL = 'A purge deletes whole periods of every segmentation over the source.';
		END IF;
	END LOOP;
	-- no roll-up of the source meanwhile; rows it has not applied stay
	SELECT min(p.applied_upto) INTO upto FROM (
		SELECT p.applied_upto FROM segroll.progress p JOIN segroll.segmentation s USING (name)
		WHERE s.source = def.source ORDER BY p.name FOR UPDATE OF p) p;
	SELECT coalesce(max(l.purged_before), '-infinity') INTO previous FROM segroll.purge_log l
	WHERE l.source = def.source;
	IF horizon <= previous THEN
		RETURN QUERY SELECT def.source, previous, 0::bigint;
		RETURN;
	END IF;

	FOR other IN SELECT * FROM segroll.segmentation s WHERE s.source = def.source ORDER BY s.name LOOP
		SELECT count(*), min(format('%s %s %s: %s in cells, %s in source', v.period, v.dimensions, v.problem, v.in_cells, v.in_source))
		INTO problems, first_problem
		FROM segroll._verify(other.name, previous, horizon, 'fast') v;
		IF problems > 0 THEN
			RAISE EXCEPTION 'segmentation "%" does not verify clean before %: % discrepancies', other.name, horizon, problems
				USING ERRCODE = 'data_exception',
				      DETAIL = format('First: %s.', first_problem),
				      HINT = format('Inspect with segroll.verify(%L, %L, %L) and fix with segroll.repair(); raw rows are kept until cells agree with them.',
				                    other.name, previous, horizon);
		END IF;
	END LOOP;

	INSERT INTO segroll.purging VALUES (def.source, pg_current_xact_id());
	EXECUTE format('DELETE FROM %s s WHERE %s AND s.segroll_seq OPERATOR(pg_catalog.<=) $2',
	               def.source, segroll._time_range_sql(def, format('s.%I', def.time_column), NULL, '$1'))
		USING horizon, upto;
	GET DIAGNOSTICS deleted = ROW_COUNT;
	DELETE FROM segroll.purging p WHERE p.relid = def.source;

	INSERT INTO segroll.purge_log (source, time_column, purged_before, rows_deleted)
	VALUES (def.source, def.time_column, horizon, deleted);
	PERFORM segroll._log(def.name, 'purge source', deleted, t0,
	                     jsonb_build_object('source', def.source::text, 'purged_before', horizon,
	                                        'verified_from', previous));
	RETURN QUERY SELECT def.source, horizon, deleted;
END
$$;
COMMENT ON FUNCTION @extschema@._purge_source(pg_catalog.text, pg_catalog.interval) IS
	'the purge itself; called by segroll.purge_source() as the segmentation''s owner';

CREATE OR REPLACE FUNCTION @extschema@.purge_source(name pg_catalog.text, older_than pg_catalog.interval)
RETURNS TABLE (source pg_catalog.regclass, purged_before pg_catalog.timestamptz, rows_deleted pg_catalog.int8)
AS 'MODULE_PATHNAME', 'segroll_purge_source'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.purge_source(pg_catalog.text, pg_catalog.interval) IS
	'deletes source rows of whole periods older than the given age, once their cells verify clean; cells and lineage stay';

CREATE OR REPLACE FUNCTION @extschema@.set_archive(name pg_catalog.text, archive pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	t regtype;
BEGIN
	-- archive NULL: none, trace shows purged rows as purged
	PERFORM segroll._require_arg(name, 'name', 'set_archive');
	def := segroll._definition(name);
	IF archive IS NOT NULL AND segroll._key_hashed(def) THEN
		RAISE EXCEPTION 'segmentation "%" has a key that is not an integer', name USING ERRCODE = 'feature_not_supported',
			DETAIL = 'trace finds archived rows by their integer key; a key held in lineage as its hash has no archive.';
	END IF;
	IF archive IS NOT NULL THEN
		t := segroll._column_type(archive, def.key_column);
		IF t IS NULL OR t NOT IN ('bigint'::regtype, 'integer'::regtype) THEN
			RAISE EXCEPTION 'archive % has no integer key column "%"', archive, def.key_column
				USING ERRCODE = 'undefined_column';
		END IF;
	END IF;
	UPDATE segroll.source s SET archive = set_archive.archive WHERE s.relid = def.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'must be owner of table %', def.source USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM segroll._log(name, 'set archive', NULL, NULL,
	                     jsonb_build_object('source', def.source::text, 'archive', archive::text));
END
$$;
COMMENT ON FUNCTION @extschema@.set_archive(pg_catalog.text, pg_catalog.regclass) IS
	'names a table (such as a postgres_fdw foreign table of the front-end system) where trace finds source rows no longer kept locally';
