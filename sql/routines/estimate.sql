/* What-if volume of candidate segmentations, before they are created. */

/*
 * segroll.estimate(): the cells, rows per cell and bytes a segmentation
 * would produce, before it is created.  Two samples, neither a full GROUP BY:
 *
 * 1. A row sample (TABLESAMPLE BERNOULLI, fraction q) gives the row count and
 *    the cells it hits ("seen" cells).
 * 2. A cell sample: every row whose dimension values hash below a cut-off
 *    (fraction theta of the dimension tuples), with all its periods, so each
 *    selected cell is complete.  Its real segments, with and without lineage,
 *    give the bytes; its cells that the row sample missed estimate the cells
 *    no row sample can see (Horvitz-Thompson on the unseen part):
 *        cells = seen + unseen_in_cell_sample / theta
 *    Row-sample estimators alone (Duj1, Chao1) were 20-66 % low on the
 *    benchmark's fine segmentations, where most cells hold one row.
 * Step 2 reads every page of the source but aggregates only the selected
 * rows; both samples are exact at 100 %.
 */

/* Validates one candidate as create_segmentation would; returns its definition. */
CREATE OR REPLACE FUNCTION @extschema@._estimate_candidate(src pg_catalog.regclass, cand pg_catalog.jsonb,
	time_zone pg_catalog.text, measures pg_catalog.text[])
RETURNS pg_catalog.jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	g text;
	tz text := coalesce(cand->>'time_zone', time_zone);
	meas text[] := measures;
	compiled jsonb;
	dims jsonb := '[]'::jsonb;
	dj jsonb;
	bad text;
BEGIN
	IF jsonb_typeof(cand) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'invalid candidate %', cand USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Each candidate is an object such as {"name": "daily", "dimensions": ["org_id"], "grain": "day"}.';
	END IF;
	SELECT string_agg(k, ', ') INTO bad FROM jsonb_object_keys(cand) k
	WHERE k NOT IN ('name', 'dimensions', 'grain', 'time_zone', 'measures');
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'unknown field % in candidate %', bad, cand USING ERRCODE = 'invalid_parameter_value',
			HINT = 'A candidate may have name, dimensions, grain, time_zone and measures.';
	END IF;
	IF jsonb_typeof(cand->'dimensions') IS DISTINCT FROM 'array'
	   OR (cand ? 'name' AND jsonb_typeof(cand->'name') <> 'string')
	   OR EXISTS (SELECT 1 FROM jsonb_array_elements(cand->'dimensions') e WHERE jsonb_typeof(e) <> 'string')
	   OR (cand ? 'time_zone' AND jsonb_typeof(cand->'time_zone') <> 'string')
	   OR (cand ? 'measures' AND (jsonb_typeof(cand->'measures') <> 'array'
	       OR EXISTS (SELECT 1 FROM jsonb_array_elements(cand->'measures') e WHERE jsonb_typeof(e) <> 'string'))) THEN
		RAISE EXCEPTION 'invalid candidate %', cand USING ERRCODE = 'invalid_parameter_value',
			HINT = 'dimensions and measures are arrays of strings; name and time_zone are strings.';
	END IF;
	IF cand ? 'measures' THEN
		meas := ARRAY(SELECT jsonb_array_elements_text(cand->'measures'));
	END IF;

	compiled := segroll._compile_definition(src, cand->>'grain', tz,
		ARRAY(SELECT jsonb_array_elements_text(cand->'dimensions')), meas);
	g := compiled->>'grain';
	FOR dj IN SELECT * FROM jsonb_array_elements(compiled->'dimensions') LOOP
		dims := dims || jsonb_build_array(dj || jsonb_build_object('type', format_type(segroll._dimension_type(src, dj), NULL)));
	END LOOP;

	RETURN jsonb_build_object('name', coalesce(cand->>'name',
	                                            array_to_string(ARRAY(SELECT jsonb_array_elements_text(cand->'dimensions')), ', ') || ' / ' || g),
	                          'dimensions', dims, 'grain', g, 'time_zone', tz, 'measures', compiled->'measures');
END
$$;

/*
 * Estimates one validated candidate.  sample is a temporary table holding the
 * row sample (fraction q of src); theta is the cell-sample fraction, NULL to
 * choose it from the row sample.
 */
CREATE OR REPLACE FUNCTION @extschema@._estimate_one(src pg_catalog.regclass, sample pg_catalog.regclass,
	q pg_catalog.float8, theta pg_catalog.float8, key_col pg_catalog.text, time_col pg_catalog.text,
	def pg_catalog.jsonb,
	OUT periods pg_catalog.int8, OUT cells pg_catalog.int8, OUT "rows" pg_catalog.int8,
	OUT bytes_with_lineage pg_catalog.int8, OUT bytes_without_lineage pg_catalog.int8,
	OUT segment_bytes_with_lineage pg_catalog.int8, OUT segment_bytes_without_lineage pg_catalog.int8,
	OUT cells_rse pg_catalog.float8, OUT cell_sample pg_catalog.float8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	-- the cell sample aims at this many dimension tuples, within this many rows
	target_tuples CONSTANT float8 := 20000;
	row_budget CONSTANT float8 := 1000000;
	-- fewer sampled tuples than this: sample cells instead
	min_units CONSTANT float8 := 1000;
	-- the size model table holds at least this many cells (replicas if need be)
	model_cells CONSTANT float8 := 20000;
	by_cell bool;
	shape segroll.segmentation;
	shape_sql segroll._segmentation_sql;
	period_expr text;
	d jsonb;
	e text;
	i int := 0;
	raw text := '';			-- "expr, "
	exprs text;				-- "expr AS segroll_dN, "
	names text;				-- "segroll_dN, "
	ordinals text := '';	-- "N, "
	cols text := '';		-- model table columns
	uniq text := '';
	joins text;
	meas text := '';
	meas_args text := '';
	hash_fn text := 'pg_catalog.hash_record_extended(ROW(%s), 0)';
	seen_rows float8;
	seen_cells float8;
	n_tuples float8;
	f1 float8;
	f2 float8;
	sel_cells float8;
	sel_rows float8;
	unseen float8;
	unseen_sq float8;
	size_l float8;
	size_n float8;
	est_cells float8;
	est_rows float8;
	span interval;
	reps int;
	empty_size float8;
	model_n float8;
	model_l float8;
BEGIN
	-- reference joins, dimension expressions and period as a segmentation's
	shape.source := src; shape.key_column := key_col; shape.time_column := time_col; shape.grain := def->>'grain';
	shape.time_zone := def->>'time_zone'; shape.dimensions := def->'dimensions';
	shape.measures := ARRAY(SELECT jsonb_array_elements_text(def->'measures'))::name[];
	shape_sql := segroll._sql(shape);
	joins := shape_sql.joins;
	exprs := shape_sql.dim_exprs;
	names := shape_sql.dim_names;
	period_expr := shape_sql.period;
	FOR d IN SELECT * FROM jsonb_array_elements(def->'dimensions') LOOP
		i := i + 1;
		-- the same expression, for a WHERE clause over s and the joins
		e := CASE WHEN d ? 'column' THEN format('s.%I', d->>'column') ELSE format('r%s.%I', i, d->>'value') END;
		raw := raw || e || ', ';
		ordinals := ordinals || format('%s, ', i);
		cols := cols || format('%I %s, ', d->>'name', d->>'type');
		uniq := uniq || format('%I, ', d->>'name');
		-- hash_record_extended needs an extended hash function for every field
		IF NOT EXISTS (
			SELECT 1 FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
			JOIN pg_type t ON t.oid = (d->>'type')::regtype
			WHERE a.amname = 'hash' AND c.opcdefault
			  AND c.opcintype = CASE WHEN t.typbasetype <> 0 THEN t.typbasetype ELSE t.oid END) THEN
			hash_fn := 'pg_catalog.hashtextextended(ROW(%s)::pg_catalog.text, 0)';
		END IF;
	END LOOP;
	FOR i IN 0 .. jsonb_array_length(def->'measures') - 1 LOOP
		meas := meas || format(', s.%I AS segroll_m%s', def->'measures'->>i, i);
		meas_args := meas_args || format(', s.segroll_m%s', i);
	END LOOP;

	-- 1. the cells the row sample hits
	BEGIN
		-- fragments of segroll._sql(); hash_fn one of two constants; sample a regclass
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
		EXECUTE format($q$
			CREATE TEMPORARY TABLE segroll_estimate_seen AS
			SELECT %1$s AS h_tuple, %2$s AS h_cell, x.segroll_period AS period, x.n
			FROM (SELECT %3$s %4$s AS segroll_period, pg_catalog.count(*) AS n
			      FROM %5$s s %6$s GROUP BY %7$s %8$s) x$q$,
			format(hash_fn, rtrim(names, ', ')), format(hash_fn, names || 'segroll_period'),
			exprs, period_expr, sample, joins, ordinals, i + 1);
	END;
	-- the columns the static statements below read (for plpgsql_check)
	PERFORM 'PRAGMA:TABLE: segroll_estimate_seen (h_tuple int8, h_cell int8, period timestamptz, n int8)';
	SELECT coalesce(sum(s.n), 0), count(*), count(DISTINCT s.period)
	INTO seen_rows, seen_cells, periods FROM segroll_estimate_seen s;
	est_rows := seen_rows / q;

	-- Chao1 on dimension tuples: a lower bound, so theta errs on the large side
	SELECT count(*), count(*) FILTER (WHERE t.n = 1), count(*) FILTER (WHERE t.n = 2)
	INTO n_tuples, f1, f2
	FROM (SELECT sum(s.n) AS n FROM segroll_estimate_seen s GROUP BY s.h_tuple) t;
	n_tuples := n_tuples + f1 * (f1 - 1) / (2 * (f2 + 1));
	IF theta IS NULL THEN
		theta := least(1.0, target_tuples / greatest(n_tuples, 1), row_budget / greatest(est_rows, 1));
	END IF;
	cell_sample := theta;
	-- Sampling whole tuples spares computing the period of rows left out, but
	-- a few large tuples (50 organisations x 8 channels) make a poor sample:
	-- then sample (tuple, period) cells.
	by_cell := theta < 1 AND theta * n_tuples < min_units;

	-- 2. the cell sample: complete cells of the tuples whose hash falls below
	-- theta; the period is computed only for those rows
	BEGIN
		-- hash_fn: one of two constants; the rest by %I, regclass, or built above by %I
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
		EXECUTE format($q$
			CREATE TEMPORARY TABLE segroll_estimate_cells AS
			SELECT %1$s AS unit, %2$s AS h_cell, x.*
			FROM (SELECT %3$s s.segroll_period AS period, pg_catalog.count(*) AS n,
			             segroll.segment_agg(s.segroll_key, s.segroll_time%4$s) AS seg_l,
			             segroll.segment_agg_nolineage(s.segroll_key, s.segroll_time%4$s) AS seg_n
			      FROM (SELECT %5$s %6$s AS segroll_period,
			                   %7$s AS segroll_key, %8$s AS segroll_time%9$s
			            FROM %10$s s %11$s WHERE %12$s) s
			      GROUP BY %13$s %14$s) x$q$,
			format(hash_fn, CASE WHEN by_cell THEN names || 'period' ELSE rtrim(names, ', ') END),
			format(hash_fn, names || 'period'),
			names, meas_args, exprs, period_expr, segroll._key_sql(shape, format('s.%I', key_col)), segroll._time_sql(shape, format('s.%I', time_col)), meas, src, joins,
			-- hashes are uniform over int8
			CASE WHEN theta >= 1 THEN 'true'
			     ELSE format('%s OPERATOR(pg_catalog.<) %s::pg_catalog.int8',
			                 format(hash_fn, CASE WHEN by_cell THEN raw || period_expr ELSE rtrim(raw, ', ') END),
			                 floor(-9223372036854775808::numeric + theta::numeric * 18446744073709551616::numeric)) END,
			ordinals, i + 1);
	END;
	PERFORM 'PRAGMA:TABLE: segroll_estimate_cells (unit int8, h_cell int8, period timestamptz, n int8, seg_l segroll.segment, seg_n segroll.segment)';

	-- cells the row sample missed, per sampled unit for the variance
	SELECT count(*), coalesce(sum(t.n), 0), coalesce(sum(t.unseen), 0), coalesce(sum(t.unseen ^ 2), 0),
	       coalesce(sum(t.size_l), 0), coalesce(sum(t.size_n), 0)
	INTO sel_cells, sel_rows, unseen, unseen_sq, size_l, size_n
	FROM (SELECT sum(c.n) AS n, count(*) FILTER (WHERE NOT c.seen)::float8 AS unseen,
	             sum(segroll.stored_size(c.seg_l)) AS size_l, sum(segroll.stored_size(c.seg_n)) AS size_n
	      FROM (SELECT c.*, c.h_cell IN (SELECT s.h_cell FROM segroll_estimate_seen s) AS seen
	            FROM segroll_estimate_cells c) c
	      GROUP BY c.unit) t;
	sel_cells := (SELECT count(*) FROM segroll_estimate_cells);
	periods := (SELECT count(*) FROM (SELECT s.period FROM segroll_estimate_seen s
	                                  UNION SELECT c.period FROM segroll_estimate_cells c) p);

	est_cells := seen_cells + unseen / theta;
	cells := round(est_cells);
	"rows" := round(est_rows);
	cells_rse := CASE WHEN est_cells > 0 THEN sqrt((1 - theta) / theta ^ 2 * unseen_sq) / est_cells ELSE 0 END;

	IF sel_cells = 0 AND seen_cells > 0 THEN
		NULL;	-- nothing to measure: bytes stay NULL
	ELSIF sel_cells = 0 THEN
		segment_bytes_without_lineage := 0;
		segment_bytes_with_lineage := 0;
	ELSE
		-- the fixed part scales with cells, the lineage with rows
		segment_bytes_without_lineage := round(est_cells * size_n / sel_cells);
		segment_bytes_with_lineage := round(est_cells * size_n / sel_cells + est_rows * (size_l - size_n) / sel_rows);
	END IF;

	-- 3. table bytes: the sampled cells in a table shaped like the cells
	-- table, inserted in hash order as a roll-up inserts them; replicas in
	-- later periods make small samples fill enough pages to scale
	EXECUTE format('CREATE TEMPORARY TABLE segroll_estimate_model (%s period pg_catalog.timestamptz NOT NULL, seg segroll.segment NOT NULL)', cols);
	PERFORM 'PRAGMA:TABLE: segroll_estimate_model (period timestamptz, seg segroll.segment)';
	EXECUTE format('CREATE UNIQUE INDEX ON segroll_estimate_model (%s period) NULLS NOT DISTINCT', uniq);
	CREATE INDEX ON segroll_estimate_model (period);
	empty_size := pg_total_relation_size('segroll_estimate_model');
	IF seen_cells = 0 AND sel_cells = 0 THEN
		bytes_without_lineage := round(empty_size);
		bytes_with_lineage := round(empty_size);
	ELSIF sel_cells > 0 THEN
		reps := ceil(model_cells / sel_cells);
		-- an absolute shift past the last period: replicas never collide
		span := (SELECT make_interval(secs => extract(epoch FROM max(c.period) - min(c.period)) + 32 * 86400)
		         FROM segroll_estimate_cells c);
		BEGIN
			-- names: segroll._sql()'s dimension list
			PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
			EXECUTE format($q$
				INSERT INTO segroll_estimate_model
				SELECT %s c.period OPERATOR(pg_catalog.+) (k OPERATOR(pg_catalog.*) $1), c.seg_n
				FROM segroll_estimate_cells c, pg_catalog.generate_series(0, $2 - 1) k
				ORDER BY pg_catalog.hashint8extended(c.h_cell, k)$q$, names) USING span, reps;
		END;
		model_n := pg_total_relation_size('segroll_estimate_model') - empty_size;
		TRUNCATE segroll_estimate_model;
		BEGIN
			-- names: segroll._sql()'s dimension list
			PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';
			EXECUTE format($q$
				INSERT INTO segroll_estimate_model
				SELECT %s c.period OPERATOR(pg_catalog.+) (k OPERATOR(pg_catalog.*) $1), c.seg_l
				FROM segroll_estimate_cells c, pg_catalog.generate_series(0, $2 - 1) k
				ORDER BY pg_catalog.hashint8extended(c.h_cell, k)$q$, names) USING span, reps;
		END;
		model_l := pg_total_relation_size('segroll_estimate_model') - empty_size;
		bytes_without_lineage := round(empty_size + model_n / (sel_cells * reps) * est_cells);
		bytes_with_lineage := round(bytes_without_lineage + (model_l - model_n) / reps * est_rows / sel_rows);
	END IF;

	DROP TABLE segroll_estimate_model, segroll_estimate_cells, segroll_estimate_seen;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.estimate_candidates(
	source pg_catalog.regclass,
	candidates pg_catalog.jsonb,
	time_col pg_catalog.text DEFAULT NULL,
	time_zone pg_catalog.text DEFAULT 'UTC',
	measures pg_catalog.text[] DEFAULT '{}',
	key pg_catalog.text DEFAULT NULL,
	sample_percent pg_catalog.float8 DEFAULT NULL)
RETURNS TABLE(candidate pg_catalog.text, periods pg_catalog.int8, cells_per_period pg_catalog.numeric,
              cells pg_catalog.int8, "rows" pg_catalog.int8, rows_per_cell pg_catalog.numeric,
              bytes_with_lineage pg_catalog.int8, bytes_without_lineage pg_catalog.int8,
              segment_bytes_with_lineage pg_catalog.int8, segment_bytes_without_lineage pg_catalog.int8,
              cells_stderr_pct pg_catalog.numeric, row_sample_pct pg_catalog.float8,
              cell_sample_pct pg_catalog.float8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	-- the row sample aims at this many rows
	target_rows CONSTANT float8 := 200000;
	src regclass := estimate_candidates.source;
	key_col text := estimate_candidates.key;
	tcol text := estimate_candidates.time_col;
	defs jsonb[] := '{}'::jsonb[];
	def jsonb;
	cand jsonb;
	pages float8;
	density float8;
	q float8;
	r record;
BEGIN
	-- NULL time_col, key or sample_percent: chosen below
	PERFORM segroll._require_arg(src, 'source', 'estimate_candidates');
	PERFORM segroll._require_arg(candidates, 'candidates', 'estimate_candidates');
	PERFORM segroll._require_arg(time_zone, 'time_zone', 'estimate_candidates');
	PERFORM segroll._require_arg(measures, 'measures', 'estimate_candidates');
	-- source: what create_segmentation accepts, readable by the caller
	PERFORM segroll._check_source_kind(src);
	IF NOT has_table_privilege(src, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', src USING ERRCODE = 'insufficient_privilege',
			HINT = 'Estimating reads a sample of the source: it needs SELECT on it.';
	END IF;

	-- key: given, or the single-column primary key (on a partitioned table,
	-- the one primary key column that is not a partition key column)
	IF key_col IS NULL THEN
		SELECT a.attname INTO key_col
		FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = src AND i.indisprimary AND i.indnkeyatts = 1;
		IF key_col IS NULL THEN
			SELECT min(a.attname) INTO key_col
			FROM pg_index i
			JOIN pg_partitioned_table pt ON pt.partrelid = i.indrelid
			JOIN pg_attribute a ON a.attrelid = i.indrelid
			 AND a.attnum = ANY ((i.indkey::int2[])[0 : i.indnkeyatts - 1])
			 AND a.attnum <> ALL (pt.partattrs::int2[])
			WHERE i.indrelid = src AND i.indisprimary
			HAVING count(*) = 1;
		END IF;
		IF key_col IS NULL THEN
			RAISE EXCEPTION 'table "%" has no single-column primary key', src USING ERRCODE = 'undefined_column',
				HINT = 'Pass key => the column the segmentation will use as its key.';
		END IF;
	END IF;

	-- time: given, or the only NOT NULL timestamptz column
	IF tcol IS NULL THEN
		IF (SELECT count(*) FROM pg_attribute WHERE attrelid = src AND attnum > 0 AND NOT attisdropped
		      AND atttypid = 'timestamptz'::regtype AND attnotnull) <> 1 THEN
			RAISE EXCEPTION 'cannot choose the time column of "%"', src USING ERRCODE = 'undefined_column',
				HINT = 'Pass time_col => a NOT NULL timestamptz column.';
		END IF;
		SELECT attname INTO tcol FROM pg_attribute WHERE attrelid = src AND attnum > 0 AND NOT attisdropped
		  AND atttypid = 'timestamptz'::regtype AND attnotnull;
	END IF;
	-- given as written or double-quoted (_column_named)
	key_col := coalesce(segroll._column_named(src, key_col), key_col);
	tcol := coalesce(segroll._column_named(src, tcol), tcol);
	PERFORM segroll._check_key_and_time(src, key_col, tcol);

	IF sample_percent IS NOT NULL AND NOT (sample_percent > 0 AND sample_percent <= 100) THEN
		RAISE EXCEPTION 'invalid sample_percent %', sample_percent USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use a percentage above 0 and at most 100, or NULL to let estimate choose.';
	END IF;
	IF jsonb_typeof(candidates) IS DISTINCT FROM 'array' OR jsonb_array_length(candidates) = 0 THEN
		RAISE EXCEPTION 'candidates must be a non-empty JSON array' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example [{"name": "daily", "dimensions": ["org_id"], "grain": "day"}].';
	END IF;
	-- every candidate is checked before any is estimated
	FOR cand IN SELECT * FROM jsonb_array_elements(candidates) LOOP
		defs := defs || segroll._estimate_candidate(src, cand, time_zone, measures);
		PERFORM segroll._check_time_grain(src, tcol, defs[cardinality(defs)]->>'grain');
	END LOOP;

	IF sample_percent IS NOT NULL THEN
		q := sample_percent / 100;
	ELSE
		-- rows per page from the statistics, else from about 100 pages
		-- (of a partitioned table: of its partitions)
		SELECT sum(pg_relation_size(c.oid)) / current_setting('block_size')::float8,
		       CASE WHEN bool_and(c.reltuples >= 0) AND sum(c.relpages) > 0 THEN sum(c.reltuples) / sum(c.relpages) END
		INTO pages, density
		FROM pg_class c
		WHERE c.oid = src AND c.relkind = 'r'
		   OR c.oid IN (SELECT t.relid FROM pg_partition_tree(src) t WHERE t.isleaf) AND c.relkind = 'r';
		IF density IS NULL AND pages > 0 THEN
			EXECUTE format('SELECT pg_catalog.count(*) FROM %s TABLESAMPLE SYSTEM ($1)', src)
			INTO density USING least(100, 100 * 100 / pages);
			density := density / (least(100, 100 * 100 / pages) / 100 * pages);
		END IF;
		q := least(1.0, target_rows / greatest(coalesce(density, 0) * pages, 1));
	END IF;

	-- one row sample for every candidate; REPEATABLE makes an estimate
	-- reproducible on unchanged data
	IF q >= 1 THEN
		EXECUTE format('CREATE TEMPORARY TABLE segroll_estimate_sample AS SELECT * FROM %s', src);
	ELSE
		EXECUTE format('CREATE TEMPORARY TABLE segroll_estimate_sample AS SELECT * FROM %s TABLESAMPLE BERNOULLI ($1) REPEATABLE (0)', src)
		USING q * 100;
	END IF;

	FOREACH def IN ARRAY defs LOOP
		r := segroll._estimate_one(src, 'pg_temp.segroll_estimate_sample'::text::regclass, q,
		                           CASE WHEN sample_percent IS NOT NULL THEN q END, key_col, tcol, def);
		candidate := def->>'name';
		periods := r.periods;
		cells := r.cells;
		"rows" := r."rows";
		cells_per_period := round(r.cells::numeric / nullif(r.periods, 0), 1);
		rows_per_cell := round(r."rows"::numeric / nullif(r.cells, 0), 2);
		bytes_with_lineage := r.bytes_with_lineage;
		bytes_without_lineage := r.bytes_without_lineage;
		segment_bytes_with_lineage := r.segment_bytes_with_lineage;
		segment_bytes_without_lineage := r.segment_bytes_without_lineage;
		cells_stderr_pct := round((100 * r.cells_rse)::numeric, 1);
		row_sample_pct := 100 * q;
		cell_sample_pct := 100 * r.cell_sample;
		RETURN NEXT;
	END LOOP;
	DROP TABLE segroll_estimate_sample;
END
$$;
COMMENT ON FUNCTION @extschema@.estimate_candidates(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text,
	pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.float8) IS
	'estimates the cells, rows per cell and bytes of several candidate segmentations, side by side, from samples';

CREATE OR REPLACE FUNCTION @extschema@.estimate(
	source pg_catalog.regclass,
	dimensions pg_catalog.text[],
	grain pg_catalog.text,
	time_col pg_catalog.text DEFAULT NULL,
	time_zone pg_catalog.text DEFAULT 'UTC',
	measures pg_catalog.text[] DEFAULT '{}',
	key pg_catalog.text DEFAULT NULL,
	sample_percent pg_catalog.float8 DEFAULT NULL)
RETURNS TABLE(candidate pg_catalog.text, periods pg_catalog.int8, cells_per_period pg_catalog.numeric,
              cells pg_catalog.int8, "rows" pg_catalog.int8, rows_per_cell pg_catalog.numeric,
              bytes_with_lineage pg_catalog.int8, bytes_without_lineage pg_catalog.int8,
              segment_bytes_with_lineage pg_catalog.int8, segment_bytes_without_lineage pg_catalog.int8,
              cells_stderr_pct pg_catalog.numeric, row_sample_pct pg_catalog.float8,
              cell_sample_pct pg_catalog.float8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- NULL time_col, key or sample_percent: chosen by estimate_candidates
	PERFORM segroll._require_arg($1, 'source', 'estimate');
	PERFORM segroll._require_arg($2, 'dimensions', 'estimate');
	PERFORM segroll._require_arg($3, 'grain', 'estimate');
	PERFORM segroll._require_arg($5, 'time_zone', 'estimate');
	PERFORM segroll._require_arg($6, 'measures', 'estimate');
	RETURN QUERY SELECT * FROM segroll.estimate_candidates($1,
		jsonb_build_array(jsonb_build_object('dimensions', to_jsonb($2), 'grain', $3)),
		$4, $5, $6, $7, $8);
END
$$;
COMMENT ON FUNCTION @extschema@.estimate(pg_catalog.regclass, pg_catalog.text[], pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.float8) IS
	'estimates the cells, rows per cell and bytes a segmentation would produce, from samples';
