/*
 * Anomaly flags per segment (issue 16, part 2).  anomalies() compares each
 * cell's count and measure sums with the same segment's own recent
 * history: the same weekday (day grain), or the same hour of the same
 * weekday (hour grain), in each of the last `weeks` weeks, weekdays and
 * hours taken in the segmentation's time zone.  The score is robust:
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
	threshold pg_catalog.float8 DEFAULT 3.5, weeks pg_catalog.int4 DEFAULT 8, min_history pg_catalog.int4 DEFAULT 4)
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
BEGIN
	/*
	 * Every row comes from RETURN QUERY EXECUTE, which plpgsql_check cannot
	 * see filling the OUT columns ("OUT variable ... is maybe unmodified").
	 * @plpgsql_check_options: extra_warnings = false
	 */
	PERFORM segroll._require_arg(name, 'name', 'anomalies');
	PERFORM segroll._require_arg(since, 'since', 'anomalies');
	PERFORM segroll._require_arg(threshold, 'threshold', 'anomalies');
	PERFORM segroll._require_arg(weeks, 'weeks', 'anomalies');
	PERFORM segroll._require_arg(min_history, 'min_history', 'anomalies');
	IF NOT (threshold > 0 AND threshold <= 1000) THEN	-- NaN and infinity too
		RAISE EXCEPTION 'argument "threshold" of anomalies must be greater than 0 and at most 1000, not %', threshold
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'A robust score of 3.5 is the usual threshold; lower flags more.';
	END IF;
	IF weeks NOT BETWEEN 1 AND 520 THEN
		RAISE EXCEPTION 'argument "weeks" of anomalies must be between 1 and 520, not %', weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF min_history NOT BETWEEN 1 AND weeks THEN
		RAISE EXCEPTION 'argument "min_history" of anomalies must be between 1 and weeks (%), not %', weeks, min_history
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	def := segroll._definition(name);
	IF def.grain NOT IN ('day', 'hour') THEN
		RAISE EXCEPTION 'anomalies compares days and hours, not the % periods of segmentation "%"', def.grain, name
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'Flag the cells of a segmentation by day or by hour.';
	END IF;
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		dims := dims || format('%L, b.%I, ', d->>'name', d->>'name');
		groups := groups || format('b.%I, ', d->>'name');
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
		figures := figures || format(', COALESCE(pg_catalog.sum(b.%I), 0)::pg_catalog.numeric', def.measures[i] || '_sum');
		names := names || (def.measures[i] || '_sum');
	END LOOP;
	dims := rtrim(dims, ', ');
	-- $1 since, $2 time zone, $3 weeks, $4 min_history, $5 figure names, $6 threshold, $7 grain
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
				pg_catalog.timezone($2, t.period) OPERATOR(pg_catalog.-) pg_catalog.make_interval(weeks => k))
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
		           pg_catalog.to_char(pg_catalog.timezone($2, s.period), 'FMDay') OPERATOR(pg_catalog.||) 's'
		           OPERATOR(pg_catalog.||) CASE WHEN $7 OPERATOR(pg_catalog.=) 'hour'
		               THEN pg_catalog.to_char(pg_catalog.timezone($2, s.period), ' "at" HH24:MI') ELSE '' END)
		FROM scored s
		WHERE pg_catalog.abs(s.score) OPERATOR(pg_catalog.>=) $6
		ORDER BY s.period, s.dims::pg_catalog.text, s.i
	$q$, dims, figures, def.bi_view, groups)
	USING since, def.time_zone, weeks, min_history, names, threshold, def.grain;
END
$$;
COMMENT ON FUNCTION @extschema@.anomalies(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4) IS
	'the cells from since on whose count or a measure sum departs from the same weekday (hour) of the last weeks: robust score (median, MAD), the reason in words';
