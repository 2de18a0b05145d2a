/*
 * Anomaly flags per segment (issue 16, part 2).  anomalies() compares each
 * cell's count and measure sums with the same segment's own recent
 * history: the same weekday (day grain), or the same hour of the same
 * weekday (hour grain), in each of the last `weeks` weeks, weekdays and
 * hours taken in the segmentation's time zone; for the coarser grains the
 * `weeks` periods just before it (the last 8 weeks, months or quarters).
 * threshold, weeks and min_history, when not given (NULL), are those the
 * DBA set for the segmentation (segroll.anomaly_setting,
 * set_anomaly_detection()), or else 3.5, 8 and 4.  The score is robust:
 *
 *     score = (x - median) / (1.4826 * greatest(MAD, 5 % of |median|, 1))
 *
 * The floor on the MAD keeps a flat history (MAD 0) from dividing by zero
 * and from flagging a change of one row; 1 is one row for counts, one unit
 * of the measure for sums.  A cell is flagged on a figure whose |score|
 * reaches the threshold; it needs at least min_history comparable periods.
 *
 * What counts as history: a comparable period counts for a segment when
 * the segmentation has any cell in that period and the segment had its
 * first cell at or before it.  A segment with no cell in such a period had
 * count 0 and sums 0 there (a cell with no rows does not exist), so a
 * channel that stops is flagged in the periods where other segments still
 * have cells.  Periods where no segment has a cell (not rolled up yet, or
 * before the data begins) are not history.
 *
 * Only periods that have ended are flagged: a period still in progress
 * holds part of its rows and would look low against whole ones.
 *
 * The cells are read through the BI view <name>_v (adjustments of closed
 * periods included), as the caller: anomalies() shows only what the caller
 * may read there.
 */
CREATE OR REPLACE FUNCTION @extschema@.anomalies(name pg_catalog.text, since pg_catalog.timestamptz,
	threshold pg_catalog.float8 DEFAULT NULL, weeks pg_catalog.int4 DEFAULT NULL, min_history pg_catalog.int4 DEFAULT NULL)
RETURNS TABLE (period pg_catalog.timestamptz, dimensions pg_catalog.jsonb, figure pg_catalog.text,
	value pg_catalog.numeric, median pg_catalog.float8, mad pg_catalog.float8, score pg_catalog.float8,
	history pg_catalog.int4, reason pg_catalog.text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	dims text := '';
	groups text := '';
	figures text := 'pg_catalog.sum(b.count)::pg_catalog.numeric';
	names text[] := ARRAY['count'];
	d jsonb;
	setting segroll.anomaly_setting;
	back interval;	-- between a period and the comparable one a step back
BEGIN
	/*
	 * Every row comes from RETURN QUERY EXECUTE, which plpgsql_check cannot
	 * see filling the OUT columns ("OUT variable ... is maybe unmodified").
	 * @plpgsql_check_options: extra_warnings = false
	 */
	PERFORM segroll._require_arg(name, 'name', 'anomalies');
	PERFORM segroll._require_arg(since, 'since', 'anomalies');
	def := segroll._definition(name);
	-- NULL: the segmentation's setting (read as the caller: its row shows
	-- to whoever may read the cells), or the built-in default
	SELECT * INTO setting FROM segroll.anomaly_setting a WHERE a.segmentation = def.name;
	threshold := coalesce(threshold, setting.threshold, 3.5);
	weeks := coalesce(weeks, setting.weeks, 8);
	min_history := coalesce(min_history, least(coalesce(setting.min_history, 4), weeks));
	PERFORM segroll._check_anomaly_parameters('anomalies', threshold, weeks, min_history);
	-- hours and days against the same weekday (and hour) of past weeks;
	-- weeks, months and quarters against the periods just before
	back := CASE WHEN def.grain IN ('hour', 'day') THEN interval '7 days'
	             ELSE (SELECT g.step FROM segroll.grain g WHERE g.name = def.grain) END;
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		dims := dims || format('%L, b.%I, ', d->>'name', d->>'name');
		groups := groups || format('b.%I, ', d->>'name');
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
		figures := figures || format(', COALESCE(pg_catalog.sum(b.%I), 0)::pg_catalog.numeric', def.measures[i] || '_sum');
		names := names || (def.measures[i] || '_sum');
	END LOOP;
	dims := rtrim(dims, ', ');
	-- $1 since, $2 time zone, $3 weeks, $4 min_history, $5 figure names, $6 threshold, $7 grain,
	-- $8 the step back to a comparable period
	RETURN QUERY EXECUTE format($q$
		WITH cv AS (
			SELECT x.dims, x.period, u.i::pg_catalog.int4 AS i, u.v
			FROM (SELECT pg_catalog.jsonb_build_object(%s) AS dims, b.period, ARRAY[%s] AS f
			      FROM %s b GROUP BY %s b.period) x
			CROSS JOIN LATERAL pg_catalog.unnest(x.f) WITH ORDINALITY u (v, i)
		), periods AS (
			SELECT DISTINCT cv.period FROM cv
		), seen AS (
			SELECT cv.dims, pg_catalog.min(cv.period) AS first FROM cv GROUP BY cv.dims
		), target AS (
			SELECT s.dims, p.period, s.first FROM seen s
			JOIN periods p ON p.period OPERATOR(pg_catalog.>=) s.first AND p.period OPERATOR(pg_catalog.>=) $1
			-- a period still in progress is not compared with whole ones
			WHERE pg_catalog.timezone($2, pg_catalog.timezone($2, p.period) OPERATOR(pg_catalog.+)
			          (SELECT g.step FROM segroll.grain g WHERE g.name OPERATOR(pg_catalog.=) $7))
			      OPERATOR(pg_catalog.<=) pg_catalog.now()
		), hist AS (
			SELECT t.dims, t.period, m.i, COALESCE(cv.v, 0) AS v
			FROM target t
			CROSS JOIN pg_catalog.generate_series(1, $3) k
			JOIN periods q ON q.period OPERATOR(pg_catalog.=) pg_catalog.timezone($2,
				pg_catalog.timezone($2, t.period) OPERATOR(pg_catalog.-) ($8 OPERATOR(pg_catalog.*) k))
			              AND q.period OPERATOR(pg_catalog.>=) t.first
			CROSS JOIN pg_catalog.generate_series(1, pg_catalog.cardinality($5)) m (i)
			LEFT JOIN cv ON cv.dims OPERATOR(pg_catalog.=) t.dims AND cv.period OPERATOR(pg_catalog.=) q.period
			            AND cv.i OPERATOR(pg_catalog.=) m.i
		), med AS (
			SELECT h.dims, h.period, h.i, pg_catalog.count(*)::pg_catalog.int4 AS n,
			       pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY h.v::pg_catalog.float8) AS median
			FROM hist h GROUP BY h.dims, h.period, h.i
			HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>=) $4
		), scored AS (
			SELECT m.dims, m.period, m.i, m.n, m.median, a.mad, COALESCE(cv.v, 0) AS v,
			       (COALESCE(cv.v, 0)::pg_catalog.float8 OPERATOR(pg_catalog.-) m.median)
			       OPERATOR(pg_catalog./) (1.4826::pg_catalog.float8 OPERATOR(pg_catalog.*)
			           GREATEST(a.mad, 0.05::pg_catalog.float8 OPERATOR(pg_catalog.*) pg_catalog.abs(m.median), 1::pg_catalog.float8)) AS score
			FROM med m
			CROSS JOIN LATERAL (
				SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP (
				           ORDER BY pg_catalog.abs(h.v::pg_catalog.float8 OPERATOR(pg_catalog.-) m.median)) AS mad
				FROM hist h
				WHERE h.dims OPERATOR(pg_catalog.=) m.dims AND h.period OPERATOR(pg_catalog.=) m.period
				  AND h.i OPERATOR(pg_catalog.=) m.i) a
			LEFT JOIN cv ON cv.dims OPERATOR(pg_catalog.=) m.dims AND cv.period OPERATOR(pg_catalog.=) m.period
			            AND cv.i OPERATOR(pg_catalog.=) m.i
		)
		SELECT s.period, s.dims, ($5)[s.i], s.v, s.median, s.mad, s.score, s.n,
		       pg_catalog.format('%%s %%s the median of the last %%s %%s',
		           ($5)[s.i],
		           CASE WHEN s.median OPERATOR(pg_catalog.=) 0
		                THEN pg_catalog.format('%%s against', s.v)
		                ELSE pg_catalog.format('%%s %%%% %%s',
		                         pg_catalog.round(pg_catalog.abs(s.v::pg_catalog.float8 OPERATOR(pg_catalog.-) s.median)
		                             OPERATOR(pg_catalog./) pg_catalog.abs(s.median) OPERATOR(pg_catalog.*) 100),
		                         CASE WHEN s.v::pg_catalog.float8 OPERATOR(pg_catalog.<) s.median THEN 'below' ELSE 'above' END) END,
		           s.n,
		           CASE WHEN $7 OPERATOR(pg_catalog.=) ANY (ARRAY['hour', 'day'])
		                THEN pg_catalog.to_char(pg_catalog.timezone($2, s.period), 'FMDay') OPERATOR(pg_catalog.||) 's'
		                     OPERATOR(pg_catalog.||) CASE WHEN $7 OPERATOR(pg_catalog.=) 'hour'
		                         THEN pg_catalog.to_char(pg_catalog.timezone($2, s.period), ' "at" HH24:MI') ELSE '' END
		                ELSE $7 OPERATOR(pg_catalog.||) 's' END)
		FROM scored s
		WHERE pg_catalog.abs(s.score) OPERATOR(pg_catalog.>=) $6
		ORDER BY s.period, s.dims::pg_catalog.text, s.i
	$q$, dims, figures, def.bi_view, groups)
	USING since, def.time_zone, weeks, min_history, names, threshold, def.grain, back;
END
$$;
COMMENT ON FUNCTION @extschema@.anomalies(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4) IS
	'the cells from since on whose count or a measure sum departs from the same weekday (hour) of the last weeks, or the last weeks, months or quarters: robust score (median, MAD), the reason in words; NULL arguments: the segmentation''s setting';

/*
 * The ranges of anomalies()' parameters, for anomalies() and
 * set_anomaly_detection() (routine: the one to name in the error).
 */
CREATE OR REPLACE FUNCTION @extschema@._check_anomaly_parameters(routine pg_catalog.text,
	threshold pg_catalog.float8, weeks pg_catalog.int4, min_history pg_catalog.int4)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT (threshold > 0 AND threshold <= 1000) THEN	-- NaN and infinity too
		RAISE EXCEPTION 'argument "threshold" of % must be greater than 0 and at most 1000, not %', routine, threshold
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'A robust score of 3.5 is the usual threshold; lower flags more.';
	END IF;
	IF weeks NOT BETWEEN 1 AND 520 THEN
		RAISE EXCEPTION 'argument "weeks" of % must be between 1 and 520, not %', routine, weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF min_history NOT BETWEEN 1 AND weeks THEN
		RAISE EXCEPTION 'argument "min_history" of % must be between 1 and weeks (%), not %', routine, weeks, min_history
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;

/*
 * The DBA's setting for a segmentation: the threshold and history
 * anomalies() uses when its arguments are not given, and whether each
 * roll-up evaluates the periods that ended since the last one, records the
 * flags in segroll.anomaly_history and (notify) announces them with
 * NOTIFY segroll_anomaly.  Runs as its caller, who must own the
 * segmentation (row-level security on anomaly_setting says the same).
 * Every argument is set each call: one left out takes its default.
 */
CREATE OR REPLACE FUNCTION @extschema@.set_anomaly_detection(name pg_catalog.text,
	threshold pg_catalog.float8 DEFAULT 3.5, weeks pg_catalog.int4 DEFAULT 8, min_history pg_catalog.int4 DEFAULT 4,
	evaluate_after_rollup pg_catalog.bool DEFAULT false, notify pg_catalog.bool DEFAULT false)
RETURNS @extschema@.anomaly_setting
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	r segroll.anomaly_setting;
BEGIN
	PERFORM segroll._require_arg(name, 'name', 'set_anomaly_detection');
	PERFORM segroll._require_arg(threshold, 'threshold', 'set_anomaly_detection');
	PERFORM segroll._require_arg(weeks, 'weeks', 'set_anomaly_detection');
	PERFORM segroll._require_arg(min_history, 'min_history', 'set_anomaly_detection');
	PERFORM segroll._require_arg(evaluate_after_rollup, 'evaluate_after_rollup', 'set_anomaly_detection');
	PERFORM segroll._require_arg(notify, 'notify', 'set_anomaly_detection');
	PERFORM segroll._check_anomaly_parameters('set_anomaly_detection', threshold, weeks, min_history);
	IF notify AND NOT evaluate_after_rollup THEN
		RAISE EXCEPTION 'argument "notify" of set_anomaly_detection needs evaluate_after_rollup'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'The roll-up that evaluates the flags is what announces them: pass evaluate_after_rollup => true too.';
	END IF;
	def := segroll._owned_definition(name);
	INSERT INTO segroll.anomaly_setting AS a (segmentation, threshold, weeks, min_history, evaluate_after_rollup, notify)
	VALUES (def.name, threshold, weeks, min_history, evaluate_after_rollup, notify)
	ON CONFLICT (segmentation) DO UPDATE
	SET threshold = excluded.threshold, weeks = excluded.weeks, min_history = excluded.min_history,
	    evaluate_after_rollup = excluded.evaluate_after_rollup, notify = excluded.notify,
	    -- evaluation starts afresh with the period that ends next
	    evaluated_upto = CASE WHEN a.evaluate_after_rollup THEN a.evaluated_upto END,
	    set_at = now(), set_by = CURRENT_USER
	RETURNING * INTO r;
	PERFORM segroll._log(def.name, 'set anomaly detection', NULL, NULL,
	                     jsonb_build_object('threshold', threshold, 'weeks', weeks, 'min_history', min_history,
	                                        'evaluate_after_rollup', evaluate_after_rollup, 'notify', notify));
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.set_anomaly_detection(pg_catalog.text, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.bool, pg_catalog.bool) IS
	'sets a segmentation''s anomaly threshold and history, and whether each roll-up records the flags and announces them with NOTIFY segroll_anomaly';

/*
 * After a roll-up (_rollup, as the segmentation's owner, in its
 * transaction): when the setting asks for it and a period has ended since
 * the last evaluation, flags the periods from evaluated_upto (or, the first
 * time, the last period that ended) to the period in progress, records each
 * flagged figure once in anomaly_history, and sends one NOTIFY
 * segroll_anomaly per roll-up that recorded new flags: {"segmentation",
 * "flags" (how many new), "newest_period"}, delivered when the roll-up
 * commits.  A failure here does not fail the roll-up: it is caught (the
 * cells are applied), kept in anomaly_setting.last_error and raised as a
 * WARNING, and the same periods are evaluated again by the next roll-up.
 * Returns how many flags it recorded (NULL if it failed).
 */
CREATE OR REPLACE FUNCTION @extschema@._evaluate_anomalies(def @extschema@.segmentation)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	setting segroll.anomaly_setting;
	step interval := (SELECT g.step FROM segroll.grain g WHERE g.name = def.grain);
	current_start timestamptz;
	since timestamptz;
	n bigint;
	newest timestamptz;
	err text;
BEGIN
	SELECT * INTO setting FROM segroll.anomaly_setting a WHERE a.segmentation = def.name;
	IF NOT FOUND OR NOT setting.evaluate_after_rollup THEN
		RETURN 0;
	END IF;
	-- the period in progress, in the segmentation's time zone
	current_start := timezone(def.time_zone, date_trunc(def.grain, timezone(def.time_zone, now())));
	since := coalesce(setting.evaluated_upto, timezone(def.time_zone, timezone(def.time_zone, current_start) - step));
	IF since >= current_start THEN
		RETURN 0;	-- no period has ended since the last evaluation
	END IF;
	BEGIN
		WITH flagged AS (
			INSERT INTO segroll.anomaly_history AS h (segmentation, period, dimensions, figure, value, median, score, reason)
			SELECT def.name, a.period, a.dimensions, a.figure, a.value, a.median, a.score, a.reason
			FROM segroll.anomalies(def.name, since) a
			WHERE a.period < current_start
			ON CONFLICT (segmentation, period, dimensions, figure) DO NOTHING
			RETURNING h.period)
		SELECT count(*), max(f.period) INTO n, newest FROM flagged f;
		UPDATE segroll.anomaly_setting a SET evaluated_upto = current_start, last_error = NULL
		WHERE a.segmentation = def.name;
		IF n > 0 AND setting.notify THEN
			PERFORM pg_notify('segroll_anomaly',
			                  json_build_object('segmentation', def.name, 'flags', n, 'newest_period', newest)::text);
		END IF;
		RETURN n;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
		UPDATE segroll.anomaly_setting a SET last_error = err, last_error_at = now()
		WHERE a.segmentation = def.name;
		RAISE WARNING 'segmentation "%": the anomaly evaluation after the roll-up failed: %', def.name, err
			USING HINT = 'The roll-up is applied; the next one evaluates the same periods again. The error is in segroll.anomaly_setting.last_error.';
		RETURN NULL;
	END;
END
$$;
COMMENT ON FUNCTION @extschema@._evaluate_anomalies(@extschema@.segmentation) IS
	'after a roll-up: records the figures flagged in the periods that ended since the last evaluation, and announces them with NOTIFY segroll_anomaly';

/*
 * The recorded flags for a dashboard, one row per flagged figure, newest
 * first when ordered by detected_at.  Shows a segmentation's flags to
 * whoever may read its cells (SELECT on the BI view) and to its owner, as
 * the row-level security of anomaly_history does for direct reads (this
 * view reads the table as its owner, whom policies do not filter).
 */
CREATE OR REPLACE VIEW @extschema@.anomaly_log WITH (security_barrier) AS
SELECT h.segmentation, h.period, h.dimensions, h.figure, h.value, h.median, h.score, h.reason, h.detected_at
FROM @extschema@.anomaly_history h
JOIN @extschema@.segmentation s ON s.name OPERATOR(pg_catalog.=) h.segmentation
WHERE pg_catalog.has_table_privilege(s.bi_view, 'SELECT') OR pg_catalog.pg_has_role(s.owner, 'MEMBER');
COMMENT ON VIEW @extschema@.anomaly_log IS
	'the figures roll-ups flagged and recorded (segroll.anomaly_history), for whoever may read the segmentation''s cells';
