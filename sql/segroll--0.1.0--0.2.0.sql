/* segroll 0.1.0 -> 0.2.0: segmentations and exact, incremental roll-up */

\echo Use "ALTER EXTENSION segroll UPDATE TO '0.2.0'" to load this file. \quit

/*
 * Change capture, per source table (shared by every segmentation over it):
 *	- an identity column segroll_seq (GENERATED ALWAYS, CACHE 1) numbers
 *	  every row version in ingest order; inserts pay only nextval();
 *	- UPDATE gives the new version a new number and logs the old version
 *	  with the same number; DELETE logs the old version with a new number;
 *	- TRUNCATE is refused.
 * A roll-up applies the window (applied_upto, U] where U is the sequence's
 * last value, after segroll.wait_for_writers() has waited out every writer
 * that could still hold a number <= U.  Cells and progress are updated in
 * one transaction: a change is applied exactly once.
 */

CREATE FUNCTION @extschema@.wait_for_writers(pg_catalog.regclass)
RETURNS pg_catalog.int4 AS 'MODULE_PATHNAME', 'segroll_wait_for_writers'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.wait_for_writers(pg_catalog.regclass) IS
	'waits until every transaction that could still write into the table has ended';

CREATE TABLE @extschema@.source (
	relid        pg_catalog.regclass PRIMARY KEY,
	key_column   pg_catalog.name NOT NULL,
	seq          pg_catalog.regclass NOT NULL,
	change_log   pg_catalog.regclass NOT NULL
);
COMMENT ON TABLE @extschema@.source IS 'tables whose changes segroll captures';

CREATE TABLE @extschema@.segmentation (
	name         pg_catalog.text PRIMARY KEY
	             CHECK (name OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]{0,39}$'),
	source       pg_catalog.regclass NOT NULL REFERENCES @extschema@.source (relid),
	key_column   pg_catalog.name NOT NULL,
	time_column  pg_catalog.name NOT NULL,
	grain        pg_catalog.text NOT NULL
	             CHECK (grain OPERATOR(pg_catalog.=) ANY (ARRAY['hour', 'day', 'week', 'month'])),
	time_zone    pg_catalog.text NOT NULL,
	dimensions   pg_catalog.jsonb NOT NULL,
	measures     pg_catalog.name[] NOT NULL,
	lineage      pg_catalog.bool NOT NULL,
	cells        pg_catalog.regclass NOT NULL,
	bi_view      pg_catalog.regclass NOT NULL,
	unmapped_view pg_catalog.regclass NOT NULL,
	owner        pg_catalog.regrole NOT NULL,
	schedule     pg_catalog.text NOT NULL DEFAULT 'manual'
	             CHECK (schedule OPERATOR(pg_catalog.=) ANY (ARRAY['manual', 'continuous'])),
	apply_sql    pg_catalog.text NOT NULL,
	created_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.segmentation IS 'segmentation definitions';

/* Progress lives apart from definitions so that owners can update it. */
CREATE TABLE @extschema@.progress (
	name          pg_catalog.text PRIMARY KEY
	              REFERENCES @extschema@.segmentation (name) ON DELETE CASCADE,
	owner         pg_catalog.regrole NOT NULL,
	applied_upto  pg_catalog.int8 NOT NULL DEFAULT 0,
	last_run_at   pg_catalog.timestamptz,
	last_run_ms   pg_catalog.float8,
	last_applied  pg_catalog.int8,
	total_applied pg_catalog.int8 NOT NULL DEFAULT 0
);
COMMENT ON TABLE @extschema@.progress IS 'roll-up progress: changes up to applied_upto are in the cells';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.source', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segmentation', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.progress', '');

/*
 * Anyone may read definitions.  Rows are written by the defining functions,
 * which run as their caller: row-level security lets a role register only
 * sources it owns and segmentations it owns, and no role can change the
 * generated SQL of a segmentation after the fact.
 */
CREATE FUNCTION @extschema@._owns_table(rel pg_catalog.regclass)
RETURNS pg_catalog.bool LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.pg_has_role((SELECT relowner FROM pg_catalog.pg_class WHERE oid = rel), 'USAGE')
$$;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.source, @extschema@.segmentation, @extschema@.progress TO PUBLIC;
GRANT INSERT, DELETE ON @extschema@.source, @extschema@.segmentation, @extschema@.progress TO PUBLIC;
GRANT UPDATE (schedule) ON @extschema@.segmentation TO PUBLIC;
GRANT UPDATE (applied_upto, last_run_at, last_run_ms, last_applied, total_applied)
	ON @extschema@.progress TO PUBLIC;

ALTER TABLE @extschema@.source ENABLE ROW LEVEL SECURITY;
CREATE POLICY source_read ON @extschema@.source FOR SELECT USING (true);
CREATE POLICY source_add ON @extschema@.source FOR INSERT WITH CHECK (@extschema@._owns_table(relid));
CREATE POLICY source_remove ON @extschema@.source FOR DELETE USING (@extschema@._owns_table(relid));

ALTER TABLE @extschema@.segmentation ENABLE ROW LEVEL SECURITY;
CREATE POLICY segmentation_read ON @extschema@.segmentation FOR SELECT USING (true);
CREATE POLICY segmentation_add ON @extschema@.segmentation FOR INSERT
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER') AND @extschema@._owns_table(source));
CREATE POLICY segmentation_change ON @extschema@.segmentation FOR UPDATE
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY segmentation_remove ON @extschema@.segmentation FOR DELETE
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));

ALTER TABLE @extschema@.progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY progress_read ON @extschema@.progress FOR SELECT USING (true);
CREATE POLICY progress_owner ON @extschema@.progress
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));

/* ------------------------------------------------------------ capture triggers */

CREATE FUNCTION @extschema@.capture_update() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- the new version is a new change (harmless if a later trigger cancels)
	NEW.segroll_seq := pg_catalog.nextval(TG_ARGV[0]::pg_catalog.regclass);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_update() IS 'capture trigger: numbers the new version of an updated source row';

CREATE FUNCTION @extschema@.capture_update_log() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- AFTER, so only updates that happened retract their old version; it is
	-- retracted in the window of the new version's number
	EXECUTE pg_catalog.format('INSERT INTO %s (log_seq, old_seq, old) VALUES ($1, $2, $3)', TG_ARGV[1])
		USING NEW.segroll_seq, OLD.segroll_seq, OLD;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_update_log() IS 'capture trigger: logs the old version of an updated source row';

CREATE FUNCTION @extschema@.capture_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	EXECUTE pg_catalog.format(
		'INSERT INTO %s (log_seq, old_seq, old) SELECT pg_catalog.nextval(%L::pg_catalog.regclass), o.segroll_seq, ROW(o.*)::%I.%I FROM segroll_old_rows o',
		TG_ARGV[1], TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_delete() IS 'capture trigger: DELETE of source rows';

CREATE FUNCTION @extschema@.capture_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'cannot truncate "%": segmentations roll up its rows', TG_TABLE_NAME
		USING ERRCODE = 'object_in_use',
		      HINT = 'Delete rows instead, or drop the segmentations first.';
END
$$;
COMMENT ON FUNCTION @extschema@.capture_truncate() IS 'capture trigger: refuses TRUNCATE of a source';

/* ------------------------------------------------------------ definitions */

/* Unique single-column index on rel(col)? */
CREATE FUNCTION @extschema@._has_unique_index(rel pg_catalog.regclass, col pg_catalog.name)
RETURNS pg_catalog.bool LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT EXISTS (
		SELECT 1 FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = rel AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL
		  AND i.indexprs IS NULL AND a.attname = col)
$$;

/* type of rel.col, or NULL */
CREATE FUNCTION @extschema@._column_type(rel pg_catalog.regclass, col pg_catalog.text)
RETURNS pg_catalog.regtype LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT atttypid::pg_catalog.regtype FROM pg_catalog.pg_attribute
	WHERE attrelid = rel AND attname = col AND attnum > 0 AND NOT attisdropped
$$;

/*
 * Parses and validates one dimension:
 *	'col'                                  a source column
 *	'name=schema.table.value ON col'       value looked up in a reference
 *	'name=schema.table.value ON col=refcol' table by a unique key
 */
CREATE FUNCTION @extschema@._parse_dimension(src pg_catalog.regclass, spec pg_catalog.text)
RETURNS pg_catalog.jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m text[];
	ref regclass;
	reftype regtype;
	srctype regtype;
BEGIN
	spec := btrim(spec);
	IF spec ~ '^[A-Za-z_][A-Za-z0-9_$]*$' THEN
		IF segroll._column_type(src, spec) IS NULL THEN
			RAISE EXCEPTION 'dimension column "%" does not exist in "%"', spec, src
				USING ERRCODE = 'undefined_column';
		END IF;
		RETURN jsonb_build_object('name', spec, 'column', spec);
	END IF;
	m := regexp_match(spec,
		'^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)\.([A-Za-z_][A-Za-z0-9_]*)\s+ON\s+([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*([A-Za-z_][A-Za-z0-9_]*))?$', 'i');
	IF m IS NULL THEN
		RAISE EXCEPTION 'invalid dimension "%"', spec
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Write a source column name, or name=schema.table.column ON source_column[=table_key] for a reference lookup.';
	END IF;
	BEGIN
		ref := m[2]::regclass;
	EXCEPTION WHEN undefined_table OR invalid_name OR syntax_error THEN
		RAISE EXCEPTION 'reference table "%" of dimension "%" does not exist', m[2], m[1]
			USING ERRCODE = 'undefined_table';
	END;
	IF segroll._column_type(ref, m[3]) IS NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in reference table "%"', m[3], ref
			USING ERRCODE = 'undefined_column';
	END IF;
	srctype := segroll._column_type(src, m[4]);
	IF srctype IS NULL THEN
		RAISE EXCEPTION 'lookup column "%" of dimension "%" does not exist in "%"', m[4], m[1], src
			USING ERRCODE = 'undefined_column';
	END IF;
	m[6] := coalesce(m[6], m[4]);
	reftype := segroll._column_type(ref, m[6]);
	IF reftype IS NULL THEN
		RAISE EXCEPTION 'key column "%" does not exist in reference table "%"', m[6], ref
			USING ERRCODE = 'undefined_column';
	END IF;
	IF NOT segroll._has_unique_index(ref, m[6]) THEN
		RAISE EXCEPTION 'reference table "%" has no unique index on "%"', ref, m[6]
			USING ERRCODE = 'invalid_object_definition',
			      HINT = 'A lookup must find at most one row: add a primary key or unique index on the key column.';
	END IF;
	IF reftype <> srctype THEN
		RAISE EXCEPTION 'lookup column "%" is % but reference key "%" is %', m[4], srctype, m[6], reftype
			USING ERRCODE = 'datatype_mismatch';
	END IF;
	-- names, not OIDs: definitions must survive pg_dump and restore
	RETURN jsonb_build_object('name', m[1], 'table', ref::text, 'value', m[3],
	                          'on', m[4], 'key', m[6]);
END
$$;

/* Generates the SQL of one roll-up window ($1 = applied_upto, $2 = upper). */
CREATE FUNCTION @extschema@._generate_apply(
	seg_name pg_catalog.text, src pg_catalog.regclass, log pg_catalog.regclass,
	cells pg_catalog.regclass, key_col pg_catalog.name, time_col pg_catalog.name,
	grain pg_catalog.text, tz pg_catalog.text, dims pg_catalog.jsonb,
	measures pg_catalog.name[], lineage pg_catalog.bool)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	i int := 0;
	dim_exprs text := '';		-- "expr AS dN, "
	dim_names text := '';		-- "dN, "
	dim_cols text := '';		-- quoted cell column names
	joins text := '';
	eq_strict text := '';
	eq_nulls text := '';
	all_notnull text := '';
	meas text := '';
	agg text;
	period text;
	period_end text;
	set_list text := '';
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(dims) LOOP
		i := i + 1;
		IF d ? 'column' THEN
			dim_exprs := dim_exprs || format('s.%I AS segroll_d%s, ', d->>'column', i);
		ELSE
			joins := joins || format(' LEFT JOIN %s r%s ON r%s.%I OPERATOR(pg_catalog.=) s.%I',
			                         (d->>'table')::regclass, i, i, d->>'key', d->>'on');
			dim_exprs := dim_exprs || format('r%s.%I AS segroll_d%s, ', i, d->>'value', i);
		END IF;
		dim_names := dim_names || format('d%s, ', i);
		dim_cols := dim_cols || format('%I, ', d->>'name');
		eq_strict := eq_strict || format('c.%I OPERATOR(pg_catalog.=) x.d%s AND ', d->>'name', i);
		eq_nulls := eq_nulls || format('c.%I IS NOT DISTINCT FROM x.d%s AND ', d->>'name', i);
		all_notnull := all_notnull || format('x.d%s IS NOT NULL AND ', i);
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(measures, 1), 0) LOOP
		meas := meas || format(', s.%I', measures[i]);
	END LOOP;
	agg := CASE WHEN lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END;
	period := format('pg_catalog.date_trunc(%L, s.%I, %L)', grain, time_col, tz);
	period_end := format('((x.period AT TIME ZONE %L) OPERATOR(pg_catalog.+) %L::pg_catalog.interval) AT TIME ZONE %L',
	                     tz, '1 ' || grain, tz);

	RETURN format($f$
WITH pos AS (
	-- the window as it stood at $2: versions numbered in it that are still
	-- current, and those that a later change (numbered after $2) already
	-- replaced or deleted; that later change retracts them in its window
	SELECT %21$s segroll_period AS period, %2$s(s.%3$I, s.%4$I%5$s) AS seg
	FROM (SELECT %6$s %7$s AS segroll_period, s.*
	      FROM (SELECT s.* FROM %8$s s
	            WHERE s.segroll_seq OPERATOR(pg_catalog.>) $1 AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	            UNION ALL
	            SELECT (l.old).* FROM %10$s l
	            WHERE l.old_seq OPERATOR(pg_catalog.>) $1 AND l.old_seq OPERATOR(pg_catalog.<=) $2
	              AND l.log_seq OPERATOR(pg_catalog.>) $2) s %9$s) s
	GROUP BY %22$s segroll_period
), neg AS (
	SELECT %21$s segroll_period AS period, %2$s(s.%3$I, s.%4$I%5$s) AS seg
	FROM (SELECT %6$s %7$s AS segroll_period, s.*
	      FROM (SELECT (l.old).* FROM %10$s l
	            WHERE l.log_seq OPERATOR(pg_catalog.>) $1 AND l.log_seq OPERATOR(pg_catalog.<=) $2
	              AND l.old_seq OPERATOR(pg_catalog.<=) $1) s %9$s) s
	GROUP BY %22$s segroll_period
), delta AS (
	SELECT %11$s coalesce(p.period, n.period) AS period, p.seg AS pos, n.seg AS neg
	FROM pos p FULL JOIN neg n ON %12$s p.period OPERATOR(pg_catalog.=) n.period
), matched AS (
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %13$s c ON %14$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE %15$s true
	UNION ALL
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %13$s c ON %16$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE NOT (%15$s true)
), combined AS (
	-- retract first (an updated row's new version may land in the same cell),
	-- then add; retracting from a missing cell is an error, never a no-op
	SELECT m.*,
	       CASE WHEN m.pos IS NULL THEN kept WHEN kept IS NULL THEN m.pos
	            ELSE segroll.merge(kept, m.pos) END AS seg0
	FROM (SELECT m.*, CASE WHEN m.neg IS NULL THEN m.old_seg
	                       ELSE segroll.subtract(coalesce(m.old_seg, segroll.subtract(m.neg, m.neg)), m.neg) END AS kept
	      FROM matched m) m
), result AS (
	SELECT x.*,
	       CASE WHEN segroll.count(x.seg0) OPERATOR(pg_catalog.>) 0 AND NOT segroll.minmax_known(x.seg0) THEN
	            -- the cell as it stood at $2, from the source and the change log
	            (SELECT %2$s(s.%3$I, s.%4$I%5$s)
	             FROM (SELECT %6$s s.*
	                   FROM (SELECT s.* FROM %8$s s
	                         WHERE s.%4$I OPERATOR(pg_catalog.>=) x.period AND s.%4$I OPERATOR(pg_catalog.<) %17$s
	                           AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	                         UNION ALL
	                         SELECT (l.old).* FROM %10$s l
	                         WHERE l.old_seq OPERATOR(pg_catalog.<=) $2 AND l.log_seq OPERATOR(pg_catalog.>) $2
	                           AND (l.old).%4$I OPERATOR(pg_catalog.>=) x.period
	                           AND (l.old).%4$I OPERATOR(pg_catalog.<) %17$s) s %9$s) s
	             WHERE %18$s true)
	            ELSE x.seg0 END AS seg
	FROM combined x
), del AS (
	DELETE FROM %13$s c USING result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.=) 0
	RETURNING 1
), upd AS (
	UPDATE %13$s c SET seg = x.seg FROM result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
), ins AS (
	INSERT INTO %13$s (%19$s period, seg)
	SELECT %20$s period, seg FROM result x
	WHERE x.cell_ctid IS NULL AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
)
SELECT (SELECT coalesce(pg_catalog.sum(segroll.count(pos)), 0) FROM delta WHERE pos IS NOT NULL)
     OPERATOR(pg_catalog.+) (SELECT coalesce(pg_catalog.sum(segroll.count(neg)), 0) FROM delta WHERE neg IS NOT NULL),
       (SELECT pg_catalog.count(*) FROM del), (SELECT pg_catalog.count(*) FROM upd), (SELECT pg_catalog.count(*) FROM ins)
$f$,
		dim_names,                                        -- 1
		agg,                                              -- 2
		key_col,                                          -- 3
		time_col,                                         -- 4
		meas,                                             -- 5
		dim_exprs,                                        -- 6
		period,                                           -- 7
		src,                                              -- 8
		joins,                                            -- 9
		log,                                              -- 10
		regexp_replace(dim_names, '(d[0-9]+)', 'coalesce(p.\1, n.\1) AS \1', 'g'),  -- 11
		regexp_replace(dim_names, '(d[0-9]+), ', 'p.\1 IS NOT DISTINCT FROM n.\1 AND ', 'g'), -- 12
		cells,                                            -- 13
		eq_strict,                                        -- 14
		all_notnull,                                      -- 15
		eq_nulls,                                         -- 16
		period_end,                                       -- 17
		regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 IS NOT DISTINCT FROM x.\1', 'g'), -- 18
		dim_cols,                                         -- 19
		dim_names,                                        -- 20
		regexp_replace(dim_names, '(d[0-9]+)', 'segroll_\1 AS \1', 'g'),  -- 21
		regexp_replace(dim_names, '(d[0-9]+)', 'segroll_\1', 'g'));        -- 22
END
$$;

CREATE FUNCTION @extschema@.create_segmentation(
	name pg_catalog.text,
	source pg_catalog.regclass,
	key pg_catalog.text,
	time_col pg_catalog.text,
	grain pg_catalog.text,
	time_zone pg_catalog.text DEFAULT 'UTC',
	dimensions pg_catalog.text[] DEFAULT '{}',
	measures pg_catalog.text[] DEFAULT '{}',
	lineage pg_catalog.bool DEFAULT true,
	schedule pg_catalog.text DEFAULT 'manual',
	backfill pg_catalog.bool DEFAULT true,
	cells_schema pg_catalog.name DEFAULT 'segroll_data')
RETURNS pg_catalog.regclass
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	seg_name text := create_segmentation.name;
	src regclass := create_segmentation.source;
	g text;
	keytype regtype;
	timetype regtype;
	dims jsonb := '[]';
	d text;
	dj jsonb;
	meas name[] := '{}';
	mt regtype;
	mcol text;
	src_row segroll.source;
	seq regclass;
	log regclass;
	cells regclass;
	bi regclass;
	unmapped regclass;
	cols text := '';
	bi_cols text := '';
	bi_meas text := '';
	uniq text := '';
	unmapped_where text := '';
	unmapped_joins text := '';
	i int;
	apply text;
	sch text := quote_ident(cells_schema);
BEGIN
	-- name
	IF seg_name IS NULL OR seg_name !~ '^[a-z_][a-z0-9_]{0,39}$' THEN
		RAISE EXCEPTION 'invalid segmentation name "%"', seg_name
			USING ERRCODE = 'invalid_name',
			      HINT = 'Use 1 to 40 lower-case letters, digits and underscores, starting with a letter.';
	END IF;
	IF EXISTS (SELECT 1 FROM segroll.segmentation s WHERE s.name = seg_name) THEN
		RAISE EXCEPTION 'segmentation "%" already exists', seg_name USING ERRCODE = 'duplicate_object';
	END IF;
	-- source: a table the caller owns
	IF (SELECT relkind FROM pg_class WHERE oid = src) = 'p' THEN
		RAISE EXCEPTION 'partitioned table "%" cannot be a source yet', src USING ERRCODE = 'feature_not_supported',
			HINT = 'Define the segmentation over each partition, or over a plain table.';
	END IF;
	IF (SELECT relkind FROM pg_class WHERE oid = src) <> 'r' THEN
		RAISE EXCEPTION '"%" is not a table', src USING ERRCODE = 'wrong_object_type';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = src) THEN
		RAISE EXCEPTION 'partition "%" cannot be a source yet', src USING ERRCODE = 'feature_not_supported',
			HINT = 'Attach the segmentation to a plain table.';
	END IF;
	IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = src), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', src USING ERRCODE = 'insufficient_privilege',
			HINT = 'Segmentations add a capture column and triggers to their source.';
	END IF;
	-- key: unique, not null bigint
	keytype := segroll._column_type(src, key);
	IF keytype IS NULL THEN
		RAISE EXCEPTION 'key column "%" does not exist in "%"', key, src USING ERRCODE = 'undefined_column';
	END IF;
	IF keytype NOT IN ('bigint'::regtype, 'integer'::regtype) THEN
		RAISE EXCEPTION 'key column "%" is %, not bigint or integer', key, keytype USING ERRCODE = 'datatype_mismatch';
	END IF;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = key) THEN
		RAISE EXCEPTION 'key column "%" is nullable', key USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare it NOT NULL (a primary key is).';
	END IF;
	IF NOT segroll._has_unique_index(src, key) THEN
		RAISE EXCEPTION 'key column "%" is not unique', key USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare a primary key or a unique index on the key column alone.';
	END IF;
	-- time: timestamptz, not null
	timetype := segroll._column_type(src, time_col);
	IF timetype IS NULL THEN
		RAISE EXCEPTION 'time column "%" does not exist in "%"', time_col, src USING ERRCODE = 'undefined_column';
	END IF;
	IF timetype <> 'timestamptz'::regtype THEN
		RAISE EXCEPTION 'time column "%" is %, not timestamp with time zone', time_col, timetype
			USING ERRCODE = 'datatype_mismatch',
			      HINT = 'Periods are computed in the segmentation''s time zone from an absolute time.';
	END IF;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = time_col) THEN
		RAISE EXCEPTION 'time column "%" is nullable', time_col USING ERRCODE = 'invalid_table_definition',
			HINT = 'Every transaction needs a time to fall into a period: declare the column NOT NULL.';
	END IF;
	-- grain and time zone
	g := CASE lower(btrim(grain))
	     WHEN 'hour' THEN 'hour' WHEN '1 hour' THEN 'hour'
	     WHEN 'day' THEN 'day' WHEN '1 day' THEN 'day'
	     WHEN 'week' THEN 'week' WHEN '1 week' THEN 'week'
	     WHEN 'month' THEN 'month' WHEN '1 month' THEN 'month' END;
	IF g IS NULL THEN
		RAISE EXCEPTION 'invalid grain "%"', grain USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use hour, day, week or month.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE pg_timezone_names.name = time_zone)
	   AND upper(time_zone) <> 'UTC' THEN
		RAISE EXCEPTION 'invalid time zone "%"', time_zone USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use a name from pg_timezone_names, such as Asia/Seoul.';
	END IF;
	-- dimensions and measures
	IF coalesce(array_length(dimensions, 1), 0) = 0 THEN
		RAISE EXCEPTION 'a segmentation needs at least one dimension' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH d IN ARRAY dimensions LOOP
		dj := segroll._parse_dimension(src, d);
		IF dj->>'name' IN ('period', 'seg') OR EXISTS (SELECT 1 FROM jsonb_array_elements(dims) e WHERE e->>'name' = dj->>'name') THEN
			RAISE EXCEPTION 'duplicate or reserved dimension name "%"', dj->>'name' USING ERRCODE = 'duplicate_column';
		END IF;
		dims := dims || jsonb_build_array(dj);
	END LOOP;
	FOREACH d IN ARRAY coalesce(measures, '{}') LOOP
		mcol := btrim(d);
		IF lower(mcol) = 'count' OR lower(mcol) = 'count(*)' THEN
			CONTINUE;	-- every segment counts its rows
		END IF;
		mcol := coalesce((regexp_match(mcol, '^(?:sum|min|max|avg)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$', 'i'))[1], mcol);
		mt := segroll._column_type(src, mcol);
		IF mt IS NULL THEN
			RAISE EXCEPTION 'measure column "%" does not exist in "%"', mcol, src USING ERRCODE = 'undefined_column';
		END IF;
		IF (SELECT typbasetype FROM pg_type WHERE oid = mt) <> 0 THEN
			mt := (SELECT typbasetype FROM pg_type WHERE oid = mt);
		END IF;
		IF mt NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'numeric'::regtype) THEN
			RAISE EXCEPTION 'measure column "%" is %', mcol, mt USING ERRCODE = 'datatype_mismatch',
				HINT = 'Measures must be smallint, integer, bigint or numeric.';
		END IF;
		IF NOT mcol::name = ANY (meas) THEN
			meas := meas || mcol::name;
		END IF;
	END LOOP;
	IF schedule NOT IN ('manual', 'continuous') THEN
		RAISE EXCEPTION 'invalid schedule "%"', schedule USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use manual (pg_cron or a DBA calls segroll.rollup) or continuous (background workers).';
	END IF;

	-- capture, once per source
	SELECT * INTO src_row FROM segroll.source WHERE relid = src;
	IF NOT FOUND THEN
		IF segroll._column_type(src, 'segroll_seq') IS NOT NULL THEN
			RAISE EXCEPTION 'table "%" already has a column "segroll_seq"', src USING ERRCODE = 'duplicate_column',
				HINT = 'A column left behind by DROP EXTENSION segroll can be dropped with ALTER TABLE ... DROP COLUMN segroll_seq.';
		END IF;
		IF to_regnamespace(sch) IS NULL THEN
			EXECUTE format('CREATE SCHEMA %s', sch);
		END IF;
		-- existing rows are numbered in physical order by the rewrite
		EXECUTE format('ALTER TABLE %s ADD COLUMN segroll_seq pg_catalog.int8 GENERATED ALWAYS AS IDENTITY (CACHE 1)', src);
		seq := pg_get_serial_sequence(src::text, 'segroll_seq')::regclass;
		-- BRIN: numbers follow the physical order of appended rows, so a
		-- window is a few block ranges, and inserts pay almost nothing
		EXECUTE format('CREATE INDEX ON %s USING brin (segroll_seq) WITH (pages_per_range = 16)', src);
		EXECUTE format('CREATE TABLE %s.%I (log_seq pg_catalog.int8 NOT NULL, old_seq pg_catalog.int8 NOT NULL, old %s NOT NULL)',
		               sch, 'changes_' || (SELECT relname FROM pg_class WHERE oid = src) || '_' || src::oid, src);
		log := format('%s.%I', sch, 'changes_' || (SELECT relname FROM pg_class WHERE oid = src) || '_' || src::oid)::regclass;
		EXECUTE format('CREATE INDEX ON %s (log_seq)', log);
		EXECUTE format('CREATE TRIGGER segroll_capture_update BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION segroll.capture_update(%L, %L)',
		               src, seq::text, log::text);
		EXECUTE format('CREATE TRIGGER segroll_capture_update_log AFTER UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION segroll.capture_update_log(%L, %L)',
		               src, seq::text, log::text);
		EXECUTE format('CREATE TRIGGER segroll_capture_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS segroll_old_rows FOR EACH STATEMENT EXECUTE FUNCTION segroll.capture_delete(%L, %L)',
		               src, seq::text, log::text);
		EXECUTE format('CREATE TRIGGER segroll_capture_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION segroll.capture_truncate()', src);
		INSERT INTO segroll.source VALUES (src, key, seq, log) RETURNING * INTO src_row;
	END IF;

	-- cells: one row per dimension values x period
	i := 0;
	FOR dj IN SELECT * FROM jsonb_array_elements(dims) LOOP
		i := i + 1;
		cols := cols || format('%I %s, ', dj->>'name',
			CASE WHEN dj ? 'column' THEN format_type(segroll._column_type(src, dj->>'column'), NULL)
			     ELSE format_type(segroll._column_type((dj->>'table')::regclass, dj->>'value'), NULL) END);
		uniq := uniq || format('%I, ', dj->>'name');
		bi_cols := bi_cols || format('c.%I, ', dj->>'name');
		IF NOT dj ? 'column' THEN
			unmapped_joins := unmapped_joins || format(' LEFT JOIN %s r%s ON r%s.%I OPERATOR(pg_catalog.=) s.%I',
				(dj->>'table')::regclass, i, i, dj->>'key', dj->>'on');
			unmapped_where := unmapped_where || format('r%s.%I IS NULL OR ', i, dj->>'value');
		ELSE
			unmapped_where := unmapped_where || format('s.%I IS NULL OR ', dj->>'column');
		END IF;
	END LOOP;
	IF to_regnamespace(sch) IS NULL THEN
		EXECUTE format('CREATE SCHEMA %s', sch);
	END IF;
	EXECUTE format('CREATE TABLE %s.%I (%s period pg_catalog.timestamptz NOT NULL, seg segroll.segment NOT NULL)',
	               sch, seg_name, cols);
	cells := format('%s.%I', sch, seg_name)::regclass;
	EXECUTE format('CREATE UNIQUE INDEX ON %s (%s period) NULLS NOT DISTINCT', cells, uniq);
	EXECUTE format('CREATE INDEX ON %s (period)', cells);

	-- the plain view BI tools read
	FOR i IN 1 .. coalesce(array_length(meas, 1), 0) LOOP
		bi_meas := bi_meas || format(', segroll.sum(c.seg, %s) AS %I, segroll.min(c.seg, %s) AS %I, segroll.max(c.seg, %s) AS %I',
		                             i, meas[i] || '_sum', i, meas[i] || '_min', i, meas[i] || '_max');
	END LOOP;
	EXECUTE format('CREATE VIEW %s.%I AS SELECT %s c.period, segroll.count(c.seg) AS count%s FROM %s c',
	               sch, seg_name || '_v', bi_cols, bi_meas, cells);
	bi := format('%s.%I', sch, seg_name || '_v')::regclass;
	EXECUTE format('CREATE VIEW %s.%I AS SELECT s.* FROM %s s %s WHERE %s false',
	               sch, seg_name || '_unmapped', src, unmapped_joins, unmapped_where);
	unmapped := format('%s.%I', sch, seg_name || '_unmapped')::regclass;

	apply := segroll._generate_apply(seg_name, src, src_row.change_log, cells, key::name, time_col::name,
	                                 g, time_zone, dims, meas, lineage);
	INSERT INTO segroll.segmentation (name, source, key_column, time_column, grain, time_zone, dimensions,
	                                  measures, lineage, cells, bi_view, unmapped_view, owner, schedule, apply_sql)
	VALUES (seg_name, src, key, time_col, g, time_zone, dims, meas, lineage, cells, bi, unmapped,
	        current_user::regrole, schedule, apply);
	INSERT INTO segroll.progress (name, owner) VALUES (seg_name, current_user::regrole);

	IF backfill THEN
		PERFORM segroll.rollup(seg_name);
	END IF;
	RETURN cells;
END
$$;
COMMENT ON FUNCTION @extschema@.create_segmentation(pg_catalog.text, pg_catalog.regclass, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.bool, pg_catalog.text,
	pg_catalog.bool, pg_catalog.name) IS
	'defines a segmentation over a source table, creates its cells and views, and backfills existing rows';

/*
 * Applies pending changes of one segmentation, at most max_changes sequence
 * numbers of them, and returns how many source changes it applied.  Runs as
 * the segmentation's owner; concurrent calls for one segmentation queue on
 * its progress row.
 */
CREATE FUNCTION @extschema@._rollup(name pg_catalog.text, max_changes pg_catalog.int8)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- compiling the window query costs more than it saves, run after run
SET jit = off
AS $$
DECLARE
	def segroll.segmentation;
	prog segroll.progress;
	seqrel regclass;
	logrel regclass;
	upper_seq bigint;
	applied bigint;
	n_del bigint;
	n_upd bigint;
	n_ins bigint;
	err_text text;
	t0 timestamptz := clock_timestamp();
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'segroll.rollup must run at READ COMMITTED isolation'
			USING ERRCODE = 'active_sql_transaction',
			      HINT = 'It waits for concurrent writers and then needs a snapshot taken after they finished.';
	END IF;
	SELECT * INTO def FROM segroll.segmentation s WHERE s.name = _rollup.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', _rollup.name USING ERRCODE = 'undefined_object';
	END IF;
	-- segroll.rollup() (C) calls this as the owner, in a security-restricted
	-- operation that owner code cannot leave with SET or RESET ROLE
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION 'segroll._rollup() must be called through segroll.rollup()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;

	-- one roll-up at a time per segmentation
	SELECT * INTO prog FROM segroll.progress p WHERE p.name = _rollup.name FOR UPDATE;
	SELECT seq INTO seqrel FROM segroll.source WHERE relid = def.source;
	EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s', seqrel) INTO upper_seq;
	IF max_changes IS NOT NULL AND upper_seq > prog.applied_upto + max_changes THEN
		upper_seq := prog.applied_upto + max_changes;
	END IF;
	IF upper_seq <= prog.applied_upto THEN
		UPDATE segroll.progress p SET last_run_at = now(), last_applied = 0,
			last_run_ms = 1000 * extract(epoch FROM clock_timestamp() - t0)
		WHERE p.name = _rollup.name;
		RETURN 0;
	END IF;
	PERFORM segroll.wait_for_writers(def.source);

	-- a new snapshot: every number <= upper_seq is now committed or aborted
	BEGIN
		EXECUTE def.apply_sql INTO applied, n_del, n_upd, n_ins USING prog.applied_upto, upper_seq;
	EXCEPTION WHEN invalid_parameter_value THEN
		GET STACKED DIAGNOSTICS err_text = MESSAGE_TEXT;
		IF err_text LIKE 'source key % is not in the segment it is subtracted from'
		   OR err_text LIKE 'cannot subtract % rows from a segment of %' THEN
			RAISE EXCEPTION 'segmentation "%" cannot retract a corrected row: %', _rollup.name, err_text
				USING ERRCODE = 'data_exception',
				      DETAIL = 'The row was rolled up into a different cell than its old version maps to now; the reference data it was mapped with has changed since.',
				      HINT = format('Rebuild the cells from the source with SELECT segroll.rebuild(%L).', _rollup.name);
		END IF;
		RAISE;
	END;

	-- log entries every segmentation of the source has applied are done with
	SELECT change_log INTO logrel FROM segroll.source WHERE relid = def.source;
	IF has_table_privilege(logrel, 'DELETE') THEN
		EXECUTE format('DELETE FROM %s WHERE log_seq OPERATOR(pg_catalog.<=) $1', logrel)
		USING (SELECT min(CASE WHEN s.name = _rollup.name THEN upper_seq ELSE p.applied_upto END)
		       FROM segroll.progress p JOIN segroll.segmentation s USING (name)
		       WHERE s.source = def.source);
	END IF;

	UPDATE segroll.progress p
	SET applied_upto = upper_seq, last_run_at = now(), last_applied = applied,
	    total_applied = p.total_applied + applied,
	    last_run_ms = 1000 * extract(epoch FROM clock_timestamp() - t0)
	WHERE p.name = _rollup.name;
	RETURN applied;
END
$$;
COMMENT ON FUNCTION @extschema@._rollup(pg_catalog.text, pg_catalog.int8) IS
	'the roll-up itself; called by segroll.rollup() as the segmentation''s owner';

CREATE FUNCTION @extschema@.rollup(name pg_catalog.text, max_changes pg_catalog.int8 DEFAULT NULL)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segroll_rollup'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rollup(pg_catalog.text, pg_catalog.int8) IS
	'applies pending source changes to the cells, exactly once, as the segmentation''s owner; what pg_cron calls';

CREATE FUNCTION @extschema@.pending_upper(name pg_catalog.text)
RETURNS pg_catalog.int8 LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	seqrel regclass;
	v bigint;
BEGIN
	SELECT s.seq INTO seqrel FROM segroll.source s JOIN segroll.segmentation g ON g.source = s.relid
	WHERE g.name = pending_upper.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', pending_upper.name USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT has_sequence_privilege(seqrel, 'SELECT') THEN
		RETURN NULL;	-- another role's source: not ours to read
	END IF;
	EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s', seqrel) INTO v;
	RETURN v;
END
$$;
COMMENT ON FUNCTION @extschema@.pending_upper(pg_catalog.text) IS
	'the newest change number of the segmentation''s source; applied_upto reaches it when the cells are current';

/* Backfills (or catches up) in batches, committing after each. */
CREATE PROCEDURE @extschema@.backfill(name pg_catalog.text, batch pg_catalog.int8 DEFAULT 1000000)
LANGUAGE plpgsql AS $$
DECLARE
	target bigint := segroll.pending_upper(name);
	done bigint;
BEGIN
	IF batch IS NULL OR batch OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'batch must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	LOOP
		PERFORM segroll.rollup(name, batch);
		COMMIT;
		SELECT p.applied_upto INTO done FROM segroll.progress p WHERE p.name = backfill.name;
		EXIT WHEN done OPERATOR(pg_catalog.>=) target;
	END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.backfill(pg_catalog.text, pg_catalog.int8) IS
	'rolls up pending changes in batches, committing after each: resumable, progress in segroll.status';

CREATE FUNCTION @extschema@.drop_segmentation(name pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation;
	src segroll.source;
BEGIN
	SELECT * INTO def FROM segroll.segmentation s WHERE s.name = drop_segmentation.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', drop_segmentation.name USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT pg_has_role(def.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be owner of segmentation "%"', drop_segmentation.name USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	EXECUTE format('DROP VIEW IF EXISTS %s, %s', def.bi_view, def.unmapped_view);
	EXECUTE format('DROP TABLE IF EXISTS %s', def.cells);
	DELETE FROM segroll.progress p WHERE p.name = def.name;
	DELETE FROM segroll.segmentation s WHERE s.name = def.name;
	-- the last segmentation of a source takes its capture with it
	IF NOT EXISTS (SELECT 1 FROM segroll.segmentation s WHERE s.source = def.source) THEN
		SELECT * INTO src FROM segroll.source WHERE relid = def.source;
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update ON %s', def.source);
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update_log ON %s', def.source);
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_delete ON %s', def.source);
		EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_truncate ON %s', def.source);
		EXECUTE format('DROP TABLE IF EXISTS %s', src.change_log);
		EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS segroll_seq', def.source);
		DELETE FROM segroll.source WHERE relid = def.source;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_segmentation(pg_catalog.text) IS
	'drops a segmentation, its cells and views; the last one of a source also removes the capture column and triggers';

CREATE FUNCTION @extschema@.alter_segmentation(name pg_catalog.text, schedule pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF schedule IS NULL OR schedule NOT IN ('manual', 'continuous') THEN
		RAISE EXCEPTION 'invalid schedule "%"', schedule USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use manual or continuous.';
	END IF;
	UPDATE segroll.segmentation s SET schedule = alter_segmentation.schedule WHERE s.name = alter_segmentation.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist or is not yours', alter_segmentation.name
			USING ERRCODE = 'undefined_object';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.alter_segmentation(pg_catalog.text, pg_catalog.text) IS
	'changes how a segmentation is rolled up: manual (pg_cron or a DBA) or continuous (workers)';

CREATE VIEW @extschema@.segmentations AS
SELECT s.name, s.source, s.key_column, s.time_column, s.grain, s.time_zone,
       ARRAY(SELECT d->>'name' FROM pg_catalog.jsonb_array_elements(s.dimensions) d) AS dimensions,
       s.measures, s.lineage, s.cells, s.bi_view, s.unmapped_view, s.owner, s.schedule, s.created_at
FROM @extschema@.segmentation s;
COMMENT ON VIEW @extschema@.segmentations IS 'segmentation definitions, one row each';

CREATE VIEW @extschema@.status AS
SELECT s.name, s.schedule, p.applied_upto, @extschema@.pending_upper(s.name) AS source_upto,
       @extschema@.pending_upper(s.name) OPERATOR(pg_catalog.-) p.applied_upto AS pending_changes,
       p.last_run_at, p.last_run_ms, p.last_applied, p.total_applied
FROM @extschema@.segmentation s JOIN @extschema@.progress p USING (name);
COMMENT ON VIEW @extschema@.status IS 'roll-up progress of each segmentation';
GRANT SELECT ON @extschema@.segmentations, @extschema@.status TO PUBLIC;

/*
 * Recomputes every cell from the source, atomically: the remedy when cells
 * and reference data have drifted apart.  Runs as the owner, like rollup().
 */
CREATE FUNCTION @extschema@._rebuild(name pg_catalog.text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	def segroll.segmentation;
BEGIN
	SELECT * INTO def FROM segroll.segmentation s WHERE s.name = _rebuild.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'segmentation "%" does not exist', _rebuild.name USING ERRCODE = 'undefined_object';
	END IF;
	IF def.owner::oid <> current_user::regrole::oid THEN
		RAISE EXCEPTION 'segroll._rebuild() must be called through segroll.rebuild()'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- queue behind any roll-up, then start over from nothing
	PERFORM 1 FROM segroll.progress p WHERE p.name = def.name FOR UPDATE;
	EXECUTE format('DELETE FROM %s', def.cells);
	UPDATE segroll.progress p SET applied_upto = 0 WHERE p.name = def.name;
	RETURN segroll._rollup(def.name, NULL);
END
$$;
COMMENT ON FUNCTION @extschema@._rebuild(pg_catalog.text) IS
	'the rebuild itself; called by segroll.rebuild() as the segmentation''s owner';

CREATE FUNCTION @extschema@.rebuild(name pg_catalog.text)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segroll_rebuild'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rebuild(pg_catalog.text) IS
	'recomputes every cell of a segmentation from its source, in one transaction';
