/*
 * Closing a period freezes its cells.  The roll-up then keeps a later
 * change to a source row of a closed period (a late insert, a correction,
 * a reversal) as an adjustment beside the cells: a row of
 * <name>_adjustments with the segments it adds and removes and the time it
 * was applied.  The BI view shows adjustments as rows of their own, so
 * closed figures never change silently and the current figure is their sum.
 */

/* The adjustments table of a segmentation, beside its cells. */
CREATE OR REPLACE FUNCTION @extschema@._adjustments(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._beside_cells(def, '_adjustments')
$$;

CREATE OR REPLACE FUNCTION @extschema@._create_adjustments(def @extschema@.segmentation)
RETURNS pg_catalog.regclass LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	sch text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells);
	cols text;
	adj regclass;
BEGIN
	SELECT string_agg(format('%I %s', d.name, d.type), ', ') INTO cols FROM segroll._cell_dimensions(def) d;
	BEGIN
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- cols: %I and format_type() only
		EXECUTE format('CREATE TABLE %I.%I (%s, period pg_catalog.timestamptz NOT NULL, added segroll.segment, removed segroll.segment,
		                adjusted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
		                from_seq pg_catalog.int8 NOT NULL, to_seq pg_catalog.int8 NOT NULL)',
		               sch, def.name || '_adjustments', cols);
	END;
	adj := format('%I.%I', sch, def.name || '_adjustments')::regclass;
	EXECUTE format('CREATE INDEX ON %s (period)', adj);
	EXECUTE format('GRANT SELECT ON %s TO segroll_reader', adj);
	RETURN adj;
END
$$;

/*
 * The BI view: a row per cell (kind 'cell'), and a row per adjustment of a
 * closed period (kind 'adjustment', with the time it was applied); the sum
 * over both is the figure as the source stands now.
 */
CREATE OR REPLACE FUNCTION @extschema@._replace_bi_view(def @extschema@.segmentation)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cdims text := '';
	adims text := '';
	cmeas text := '';
	ameas text := '';
	d jsonb;
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		cdims := cdims || format('c.%I, ', d->>'name');
		adims := adims || format('a.%I, ', d->>'name');
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
		cmeas := cmeas || format(', segroll.sum(c.seg, %s) AS %I, segroll.min(c.seg, %s) AS %I, segroll.max(c.seg, %s) AS %I',
		                         i, def.measures[i] || '_sum', i, def.measures[i] || '_min', i, def.measures[i] || '_max');
		ameas := ameas || format(', coalesce(segroll.sum(a.added, %s), 0) OPERATOR(pg_catalog.-) coalesce(segroll.sum(a.removed, %s), 0), NULL::pg_catalog.numeric, NULL::pg_catalog.numeric',
		                         i, i);
	END LOOP;
	-- distinct counts (issue 17): a cell's, unless a retraction left it
	-- unknown; an adjustment cannot add to a distinct count (NULL)
	FOR i IN 1 .. coalesce(array_length(def.distinct_measures, 1), 0) LOOP
		cmeas := cmeas || format(', CASE WHEN segroll.distinct_known(c.seg) THEN segroll.distinct(c.seg, %s) END AS %I',
		                         i, def.distinct_measures[i] || '_distinct');
		ameas := ameas || ', NULL::pg_catalog.int8';
	END LOOP;
	EXECUTE format($v$CREATE OR REPLACE VIEW %s AS
		SELECT %s c.period, segroll.count(c.seg) AS count%s,
		       'cell'::pg_catalog.text AS kind, NULL::pg_catalog.timestamptz AS adjusted_at
		FROM %s c
		UNION ALL
		SELECT %s a.period, coalesce(segroll.count(a.added), 0) OPERATOR(pg_catalog.-) coalesce(segroll.count(a.removed), 0)%s,
		       'adjustment', a.adjusted_at
		FROM %s a$v$,
		def.bi_view, cdims, cmeas, def.cells, adims, ameas, segroll._adjustments(def));
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.close_period(name pg_catalog.text, up_to pg_catalog.timestamptz)
RETURNS pg_catalog.timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	b timestamptz;
	previous timestamptz;
BEGIN
	PERFORM segroll._require_arg(name, 'name', 'close_period');
	PERFORM segroll._require_arg(up_to, 'up_to', 'close_period');
	IF NOT isfinite(up_to) THEN
		RAISE EXCEPTION 'argument "up_to" of close_period must be a finite time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	def := segroll._owned_definition(name);
	b := segroll._boundary(def, up_to);
	SELECT c.closed_upto INTO previous FROM segroll.closed_period c WHERE c.name = def.name;
	IF b <= previous THEN
		RAISE EXCEPTION 'periods of segmentation "%" are closed up to % already', name, previous
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Re-open with segroll.reopen_period() to move the close back.';
	END IF;
	-- everything received so far belongs in the cells being closed
	PERFORM segroll.rollup(name);
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	INSERT INTO segroll.closed_period AS c (name, closed_upto) VALUES (def.name, b)
	ON CONFLICT ON CONSTRAINT closed_period_pkey
	DO UPDATE SET closed_upto = excluded.closed_upto, closed_at = now(), closed_by = CURRENT_USER;
	PERFORM segroll._replace_bi_view(def);
	PERFORM segroll._log(def.name, 'close period', NULL, NULL,
	                     jsonb_build_object('closed_upto', b, 'previous', previous));
	RETURN b;
END
$$;
COMMENT ON FUNCTION @extschema@.close_period(pg_catalog.text, pg_catalog.timestamptz) IS
	'closes the periods that start before up_to (rounded up to a period start): their cells freeze, later changes become adjustments';

CREATE OR REPLACE FUNCTION @extschema@.reopen_period(name pg_catalog.text, period_from pg_catalog.timestamptz)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	b timestamptz;
	previous timestamptz;
	folded bigint;
	repaired bigint;
BEGIN
	-- period_from -infinity: every closed period
	PERFORM segroll._require_arg(name, 'name', 'reopen_period');
	PERFORM segroll._require_arg(period_from, 'period_from', 'reopen_period');
	def := segroll._owned_definition(name);
	SELECT c.closed_upto INTO previous FROM segroll.closed_period c WHERE c.name = def.name FOR UPDATE;
	b := segroll._boundary(def, period_from);
	IF previous IS NULL OR b IS NULL OR b >= previous THEN
		RAISE EXCEPTION 'segmentation "%" has no closed period from %', name, period_from
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	IF b = '-infinity' THEN
		DELETE FROM segroll.closed_period c WHERE c.name = def.name;
	ELSE
		UPDATE segroll.closed_period c SET closed_upto = b, closed_at = now(), closed_by = CURRENT_USER
		WHERE c.name = def.name;
	END IF;
	-- the re-opened cells take in their adjustments: rebuilt from the source
	EXECUTE format('DELETE FROM %s a WHERE a.period OPERATOR(pg_catalog.>=) $1', segroll._adjustments(def)) USING b;
	GET DIAGNOSTICS folded = ROW_COUNT;
	SELECT count(*) INTO repaired FROM segroll.repair(def.name, b, previous);
	PERFORM segroll._log(def.name, 'reopen period', repaired, NULL,
	                     jsonb_build_object('closed_upto', CASE WHEN b = '-infinity' THEN NULL ELSE b END,
	                                        'previous', previous, 'adjustments_folded', folded));
	RETURN repaired;
END
$$;
COMMENT ON FUNCTION @extschema@.reopen_period(pg_catalog.text, pg_catalog.timestamptz) IS
	're-opens the closed periods from period_from on: their cells are rebuilt from the source, adjustments included, and it is recorded';
