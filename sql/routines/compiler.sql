/*
 * The segmentation compiler: what a definition may say (grains, dimensions,
 * measures) and the SQL it compiles to (period expression, reference
 * joins, dimension lists), for roll-up, verify, trace, the views and
 * estimate alike.  To add a grain, add a row to the grains below.
 */

/* ------------------------------------------------------------ grains */

/*
 * Every grain, and all that differs between grains: the step from one
 * period to the next (local time), a bound on a period's length that holds
 * across daylight-saving changes, and up to what range verify() walks
 * period by period (hours: six weeks; longer grains: three years).
 */
INSERT INTO @extschema@.grain AS g (name, step, bound, verify_span) VALUES
	('hour',    '1 hour',   '2 hours',         '42 days'),
	('day',     '1 day',    '26 hours',        '3 years'),
	('week',    '7 days',   '7 days 2 hours',  '3 years'),
	('month',   '1 month',  '31 days 2 hours', '3 years'),
	('quarter', '3 months', '92 days 2 hours', '3 years')
ON CONFLICT (name) DO UPDATE
SET step = excluded.step, bound = excluded.bound, verify_span = excluded.verify_span;

/* A grain by name ("day", "1 day", " Day "); an error for anything else. */
CREATE OR REPLACE FUNCTION @extschema@._grain(grain pg_catalog.text)
RETURNS @extschema@.grain LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	g segroll.grain;
BEGIN
	SELECT * INTO g FROM segroll.grain x
	WHERE x.name = regexp_replace(lower(btrim(_grain.grain)), '^1 ', '');
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invalid grain "%"', grain USING ERRCODE = 'invalid_parameter_value',
			HINT = format('Use %s.', (SELECT regexp_replace(string_agg(x.name, ', ' ORDER BY x.step), ', ([^,]+)$', ' or \1')
			                           FROM segroll.grain x));
	END IF;
	RETURN g;
END
$$;

/* The period of a row: its absolute time (_time_sql) truncated to the grain in the time zone. */
CREATE OR REPLACE FUNCTION @extschema@._period_sql(grain pg_catalog.text, time_zone pg_catalog.text,
	time_expr pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('pg_catalog.date_trunc(%L, %s, %L)', grain, time_expr, time_zone)
$$;

/*
 * The time column: timestamptz, an absolute time; or timestamp or date, a
 * local time in the segmentation's time zone (a date is its local
 * midnight), whatever the session's TimeZone.  A local time in an hour that
 * a daylight-saving change skips or repeats is read as AT TIME ZONE reads
 * it.  These three give the type, the absolute time of a row and a range
 * condition on the column; every statement takes the time column through
 * them.
 */

/* The type of the time column of def: timestamptz, timestamp or date. */
CREATE OR REPLACE FUNCTION @extschema@._time_type(def @extschema@.segmentation)
RETURNS pg_catalog.regtype LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t regtype := segroll._column_type(def.source, def.time_column);
BEGIN
	IF t IS NULL OR t NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
		RAISE EXCEPTION 'time column "%" of % is %, not timestamp with time zone, timestamp or date',
			def.time_column, def.source, coalesce(t::text, 'missing')
			USING ERRCODE = 'datatype_mismatch',
			      DETAIL = 'Its type was changed after the segmentation was defined.';
	END IF;
	RETURN t;
END
$$;

/* The absolute time (timestamptz) of a row whose time column's value is expr. */
CREATE OR REPLACE FUNCTION @extschema@._time_sql(def @extschema@.segmentation, expr pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE @extschema@._time_type(def)
	       WHEN 'timestamptz'::pg_catalog.regtype THEN expr
	       WHEN 'timestamp'::pg_catalog.regtype THEN pg_catalog.format('(%s AT TIME ZONE %L)', expr, def.time_zone)
	       ELSE pg_catalog.format('(%s::pg_catalog.timestamp AT TIME ZONE %L)', expr, def.time_zone) END
$$;

/*
 * The condition "the absolute time of the row whose time column is col lies
 * in [lower, upper)" (lower, upper: timestamptz expressions; a null one is
 * no bound).  It compares col with values of col's own type, so an index on
 * the time column serves it: for timestamptz, with lower and upper
 * themselves.  A local time column is compared with the bounds read as
 * local times, widened across a UTC offset change within two days of the
 * bound (the earlier of the local times under the offsets of two days
 * before and after, for the lower bound; the later, for the upper), because
 * a local time in a skipped hour reads as an absolute time after the change
 * while it sorts before local times that read as earlier ones; then the
 * absolute time itself is compared, which makes the condition exact.  (This
 * assumes no two offset changes of the zone lie within two days of each
 * other, and no zone's offsets differ by 48 hours.)
 */
CREATE OR REPLACE FUNCTION @extschema@._time_range_sql(def @extschema@.segmentation, col pg_catalog.text,
	lower pg_catalog.text, upper pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t regtype := segroll._time_type(def);
	abs_time text := segroll._time_sql(def, col);
	-- lower and upper read as local times under the offsets of two days before and after
	-- (hours, not days: timestamptz plus days would count days in the session's TimeZone)
	local_sql CONSTANT text := $s$%1$s(((%2$s) OPERATOR(pg_catalog.-) '48 hours'::pg_catalog.interval) AT TIME ZONE %3$L OPERATOR(pg_catalog.+) '48 hours'::pg_catalog.interval, ((%2$s) OPERATOR(pg_catalog.+) '48 hours'::pg_catalog.interval) AT TIME ZONE %3$L OPERATOR(pg_catalog.-) '48 hours'::pg_catalog.interval)$s$;
	lo text;
	hi text;
	conds text[] := '{}'::text[];
BEGIN
	IF t = 'timestamptz'::regtype THEN
		IF lower IS NOT NULL THEN
			conds := conds || format('%s OPERATOR(pg_catalog.>=) %s', col, lower);
		END IF;
		IF upper IS NOT NULL THEN
			conds := conds || format('%s OPERATOR(pg_catalog.<) %s', col, upper);
		END IF;
	ELSE
		IF lower IS NOT NULL THEN
			lo := format(local_sql, 'LEAST', lower, def.time_zone);
			conds := conds || CASE WHEN t = 'date'::regtype
			                       THEN format('%s OPERATOR(pg_catalog.>=) (%s)::pg_catalog.date', col, lo)
			                       ELSE format('%s OPERATOR(pg_catalog.>=) %s', col, lo) END
			               || format('%s OPERATOR(pg_catalog.>=) %s', abs_time, lower);
		END IF;
		IF upper IS NOT NULL THEN
			hi := format(local_sql, 'GREATEST', upper, def.time_zone);
			-- a date before the later local bound: at most the date of the instant before it
			conds := conds || CASE WHEN t = 'date'::regtype
			                       THEN format('%s OPERATOR(pg_catalog.<=) (%s OPERATOR(pg_catalog.-) ''00:00:00.000001''::pg_catalog.interval)::pg_catalog.date', col, hi)
			                       ELSE format('%s OPERATOR(pg_catalog.<) %s', col, hi) END
			               || format('%s OPERATOR(pg_catalog.<) %s', abs_time, upper);
		END IF;
	END IF;
	RETURN coalesce(array_to_string(conds, ' AND '), 'true');
END
$$;

/* The start of the period after the one that starts at p (an expression). */
CREATE OR REPLACE FUNCTION @extschema@._next_period_sql(def @extschema@.segmentation, p pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('((%s AT TIME ZONE %L) OPERATOR(pg_catalog.+) %L::pg_catalog.interval) AT TIME ZONE %L',
	                         p, def.time_zone, g.step, def.time_zone)
	FROM segroll.grain g WHERE g.name OPERATOR(pg_catalog.=) def.grain
$$;

/* The start of the period after the one that starts at p. */
CREATE OR REPLACE FUNCTION @extschema@._next_period(def @extschema@.segmentation, p pg_catalog.timestamptz)
RETURNS pg_catalog.timestamptz LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ((p AT TIME ZONE def.time_zone) OPERATOR(pg_catalog.+) g.step) AT TIME ZONE def.time_zone
	FROM segroll.grain g WHERE g.name OPERATOR(pg_catalog.=) def.grain
$$;

/* ------------------------------------------------------------ definitions */

/* Unique single-column index on rel(col)? */
CREATE OR REPLACE FUNCTION @extschema@._has_unique_index(rel pg_catalog.regclass, col pg_catalog.name)
RETURNS pg_catalog.bool LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT EXISTS (
		SELECT 1 FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = rel AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL
		  AND i.indexprs IS NULL AND a.attname = col)
$$;

/* type of rel.col, or NULL */
CREATE OR REPLACE FUNCTION @extschema@._column_type(rel pg_catalog.regclass, col pg_catalog.text)
RETURNS pg_catalog.regtype LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT atttypid::pg_catalog.regtype FROM pg_catalog.pg_attribute
	WHERE attrelid = rel AND attname = col AND attnum > 0 AND NOT attisdropped
$$;

/*
 * The column of src that spec names, or null: a name is taken exactly as
 * written (Korean, mixed case, spaces: what %I quotes), or, written as one
 * double-quoted identifier ("Mixed Case", "say ""hi"""), as what it quotes.
 */
CREATE OR REPLACE FUNCTION @extschema@._column_named(src pg_catalog.regclass, spec pg_catalog.text)
RETURNS pg_catalog.name LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.attname FROM pg_catalog.pg_attribute a
	WHERE a.attrelid OPERATOR(pg_catalog.=) src AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
	  AND a.attname::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[spec, pg_catalog.btrim(spec),
	        pg_catalog.replace((pg_catalog.regexp_match(spec, '^\s*"((?:[^"]|"")+)"\s*$'))[1], '""', '"')])
	ORDER BY a.attname::pg_catalog.text OPERATOR(pg_catalog.=) spec DESC,
	         a.attname::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.btrim(spec) DESC
	LIMIT 1
$$;

/*
 * The tokens of a dimension spec, in order: {kind, value, as written}, kind
 * 'i' for an identifier (double-quoted: what it quotes; otherwise as
 * written, which is what a name with no space, dot, "=" or quote in it
 * needs), '.' or '='.  Null when the spec is not a sequence of these
 * (an unterminated quote, say).
 */
CREATE OR REPLACE FUNCTION @extschema@._dimension_tokens(spec pg_catalog.text)
RETURNS pg_catalog.text[] LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	m text[];
	seen text := '';
	toks text[] := '{}'::text[];
BEGIN
	FOR m IN SELECT x.m FROM regexp_matches(spec, '(\s*(?:("(?:[^"]|"")+")|([.=])|([^\s.="]+)))', 'g') AS x(m) LOOP
		seen := seen || m[1];
		toks := toks || CASE WHEN m[2] IS NOT NULL THEN ARRAY['i', replace(substr(m[2], 2, length(m[2]) - 2), '""', '"'), m[2]]
		                     WHEN m[3] IS NOT NULL THEN ARRAY[m[3], m[3], m[3]]
		                     ELSE ARRAY['i', m[4], m[4]] END;
	END LOOP;
	IF seen IS DISTINCT FROM rtrim(spec, E' \t\n\r\f\v') THEN
		RETURN NULL;
	END IF;
	RETURN toks;
END
$$;

/*
 * Parses and validates one dimension:
 *	'col'                                  a source column (_column_named)
 *	'name=schema.table.value ON col'       value looked up in a reference
 *	'name=schema.table.value ON col=refcol' table by a unique key
 * In the lookup form every name may be double-quoted ("거래 채널"=ref."채널
 * 표".이름 ON 채널코드); a column or dimension name is taken as written,
 * the table's name as SQL reads it (pg_catalog.parse_ident: unquoted is
 * lower-cased).
 */
CREATE OR REPLACE FUNCTION @extschema@._parse_dimension(src pg_catalog.regclass, spec pg_catalog.text)
RETURNS pg_catalog.jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	col name := segroll._column_named(src, spec);
	t text[] := segroll._dimension_tokens(spec);
	n int := coalesce(array_length(t, 1) / 3, 0);
	j int;
	m text[];				-- name, table (as written), value, on, key
	parts text[];
	ref regclass;
	reftype regtype;
	srctype regtype;
BEGIN
	IF col IS NOT NULL THEN
		RETURN jsonb_build_object('name', col, 'column', col);
	END IF;
	spec := btrim(spec);
	IF n = 1 AND t[1] = 'i' THEN
		RAISE EXCEPTION 'dimension column "%" does not exist in "%"', t[2], src
			USING ERRCODE = 'undefined_column';
	END IF;
	-- name = ident (. ident)+ ON ident [= ident]; token k is t[3k-2 .. 3k]
	IF n >= 7 AND t[1] = 'i' AND t[4] = '=' AND t[7] = 'i' THEN
		j := 3;				-- the chain's last identifier so far
		WHILE j + 2 <= n AND t[3 * j + 1] = '.' AND t[3 * j + 4] = 'i' LOOP
			j := j + 2;
		END LOOP;
		IF j > 3 AND j + 2 <= n AND t[3 * j + 1] = 'i' AND t[3 * j + 3] ~* '^on$' AND t[3 * j + 4] = 'i'
		   AND (j + 2 = n OR (j + 4 = n AND t[3 * j + 7] = '=' AND t[3 * j + 10] = 'i')) THEN
			m[1] := t[2];
			-- the table as written, for parse_ident: identifiers 3, 5, .. j - 2
			m[2] := array_to_string(ARRAY(SELECT t[3 * k] FROM generate_series(3, j - 2, 2) k), '.');
			m[3] := t[3 * j - 1];
			m[4] := t[3 * j + 5];
			m[5] := coalesce(t[3 * j + 11], m[4]);
		END IF;
	END IF;
	IF m[5] IS NOT NULL THEN
		BEGIN
			parts := parse_ident(m[2]);
		EXCEPTION WHEN invalid_parameter_value THEN
			m := NULL;
		END;
	END IF;
	IF m[5] IS NULL OR array_length(parts, 1) > 3 THEN
		RAISE EXCEPTION 'invalid dimension "%"', spec
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Write a source column name, or name=schema.table.column ON source_column[=table_key] for a reference lookup; double-quote a name with spaces, dots, "=" or quotes in it.';
	END IF;
	ref := to_regclass(array_to_string(ARRAY(SELECT quote_ident(p) FROM unnest(parts) p), '.'));
	IF ref IS NULL THEN
		RAISE EXCEPTION 'reference table "%" of dimension "%" does not exist', m[2], m[1]
			USING ERRCODE = 'undefined_table';
	END IF;
	IF segroll._column_type(ref, m[3]) IS NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in reference table "%"', m[3], ref
			USING ERRCODE = 'undefined_column';
	END IF;
	srctype := segroll._column_type(src, m[4]);
	IF srctype IS NULL THEN
		RAISE EXCEPTION 'lookup column "%" of dimension "%" does not exist in "%"', m[4], m[1], src
			USING ERRCODE = 'undefined_column';
	END IF;
	reftype := segroll._column_type(ref, m[5]);
	IF reftype IS NULL THEN
		RAISE EXCEPTION 'key column "%" does not exist in reference table "%"', m[5], ref
			USING ERRCODE = 'undefined_column';
	END IF;
	IF NOT segroll._has_unique_index(ref, m[5]) THEN
		RAISE EXCEPTION 'reference table "%" has no unique index on "%"', ref, m[5]
			USING ERRCODE = 'invalid_object_definition',
			      HINT = 'A lookup must find at most one row: add a primary key or unique index on the key column.';
	END IF;
	IF reftype <> srctype THEN
		RAISE EXCEPTION 'lookup column "%" is % but reference key "%" is %', m[4], srctype, m[5], reftype
			USING ERRCODE = 'datatype_mismatch';
	END IF;
	-- names, not OIDs: definitions must survive pg_dump and restore
	RETURN jsonb_build_object('name', m[1], 'table', ref::text, 'value', m[3],
	                          'on', m[4], 'key', m[5]);
END
$$;

/*
 * What a source can be: a plain or a partitioned table (any partitioning
 * method, any depth), not a partition of one (its parent is the source).
 */
CREATE OR REPLACE FUNCTION @extschema@._check_source_kind(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF (SELECT relkind FROM pg_class WHERE oid = src) NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', src USING ERRCODE = 'wrong_object_type';
	END IF;
	IF (SELECT relispartition FROM pg_class WHERE oid = src) THEN
		RAISE EXCEPTION '"%" is a partition of "%"', src,
			(SELECT pg_catalog.pg_partition_root(src)) USING ERRCODE = 'feature_not_supported',
			HINT = 'Define the segmentation over the partitioned table: its capture covers every partition.';
	END IF;
END
$$;

/*
 * Is key unique in src?  A unique index on the key alone, or, on a
 * partitioned table, a unique index on the key and partition key columns
 * (PostgreSQL cannot enforce more), or on a Citus-distributed table, a
 * unique index on the key and the distribution column (Citus cannot
 * enforce more; cells are by that column: distributed.sql).  segroll assumes the key alone is
 * unique (a transaction number); a duplicate within a cell stops the
 * roll-up (docs/rollup.md).
 */
CREATE OR REPLACE FUNCTION @extschema@._key_is_unique(src pg_catalog.regclass, key pg_catalog.text)
RETURNS pg_catalog.bool LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._has_unique_index(src, key) OR EXISTS (
		SELECT 1
		FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid OPERATOR(pg_catalog.=) i.indrelid
		CROSS JOIN LATERAL (SELECT (i.indkey::pg_catalog.int2[])[0 : i.indnkeyatts - 1] AS cols) k
		WHERE i.indrelid OPERATOR(pg_catalog.=) src AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
		  AND (SELECT a.attnum FROM pg_catalog.pg_attribute a
		       WHERE a.attrelid OPERATOR(pg_catalog.=) src AND a.attname OPERATOR(pg_catalog.=) key)
		      OPERATOR(pg_catalog.=) ANY (k.cols)
		  AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(k.cols) c(attnum)
		                  WHERE c.attnum OPERATOR(pg_catalog.<>) ALL (pt.partattrs::pg_catalog.int2[])
		                    AND c.attnum OPERATOR(pg_catalog.<>) (SELECT a.attnum FROM pg_catalog.pg_attribute a
		                        WHERE a.attrelid OPERATOR(pg_catalog.=) src AND a.attname OPERATOR(pg_catalog.=) key)))
	OR EXISTS (
		SELECT 1
		FROM pg_catalog.pg_index i
		CROSS JOIN LATERAL (SELECT (i.indkey::pg_catalog.int2[])[0 : i.indnkeyatts - 1] AS cols) k
		WHERE i.indrelid OPERATOR(pg_catalog.=) src AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
		  AND @extschema@._distribution_column(src) IS NOT NULL
		  AND ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a
		            WHERE a.attrelid OPERATOR(pg_catalog.=) src AND a.attnum OPERATOR(pg_catalog.=) ANY (k.cols))
		      OPERATOR(pg_catalog.<@) ARRAY[key, @extschema@._distribution_column(src)]
		  AND key OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a
		            WHERE a.attrelid OPERATOR(pg_catalog.=) src AND a.attnum OPERATOR(pg_catalog.=) ANY (k.cols))))
$$;

/*
 * The key and time columns a segmentation needs in its source: a unique,
 * NOT NULL key (bigint or integer, or another built-in type that lineage
 * holds as its hash: _key_sql), and a NOT NULL time: timestamptz, or a
 * timestamp or date read in the segmentation's time zone (_time_sql).
 */
CREATE OR REPLACE FUNCTION @extschema@._check_key_and_time(src pg_catalog.regclass, key pg_catalog.text,
	time_col pg_catalog.text)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	keytype regtype := segroll._column_type(src, key);
	timetype regtype := segroll._column_type(src, time_col);
BEGIN
	IF keytype IS NULL THEN
		RAISE EXCEPTION 'key column "%" does not exist in "%"', key, src USING ERRCODE = 'undefined_column';
	END IF;
	IF keytype = 'smallint'::regtype THEN
		RAISE EXCEPTION 'key column "%" is %, not bigint or integer', key, keytype USING ERRCODE = 'datatype_mismatch';
	END IF;
	-- any other type: one whose values lineage can hold as their hash
	-- (key_hash: built in, with an extended hash, a deterministic collation)
	BEGIN
		PERFORM segroll._check_key_type(keytype,
			(SELECT a.attcollation FROM pg_attribute a WHERE a.attrelid = src AND a.attname = key));
	EXCEPTION WHEN feature_not_supported OR undefined_function OR indeterminate_collation THEN
		RAISE EXCEPTION 'key column "%" is %: %', key, keytype, SQLERRM USING ERRCODE = 'datatype_mismatch',
			HINT = 'A key is bigint or integer (held as itself) or of another built-in type with a btree equality and a hash, such as text, varchar, uuid or numeric (held as its 64-bit hash, segroll.key_hash).';
	END;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = key) THEN
		RAISE EXCEPTION 'key column "%" is nullable', key USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare it NOT NULL (a primary key is).';
	END IF;
	IF NOT segroll._key_is_unique(src, key) THEN
		RAISE EXCEPTION 'key column "%" is not unique', key USING ERRCODE = 'invalid_table_definition',
			HINT = 'Declare a primary key or a unique index on the key column alone (on a partitioned table, on the key and the partition key; on a Citus-distributed table, on the key and the distribution column).';
	END IF;
	IF timetype IS NULL THEN
		RAISE EXCEPTION 'time column "%" does not exist in "%"', time_col, src USING ERRCODE = 'undefined_column';
	END IF;
	IF timetype NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
		RAISE EXCEPTION 'time column "%" is %, not timestamp with time zone, timestamp or date', time_col, timetype
			USING ERRCODE = 'datatype_mismatch',
			      HINT = 'A timestamp or date column is read as local time in the segmentation''s time zone.';
	END IF;
	IF NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = src AND attname = time_col) THEN
		RAISE EXCEPTION 'time column "%" is nullable', time_col USING ERRCODE = 'invalid_table_definition',
			HINT = 'Every transaction needs a time to fall into a period: declare the column NOT NULL.';
	END IF;
END
$$;

/*
 * The key of the source row whose key column is expr, as lineage holds it
 * (issue 14): expr itself for a bigint or integer key, its 64-bit hash
 * (segroll.key_hash) for a key of another type.  Everything that puts a
 * key into a segment or compares a row with lineage keys takes the key
 * through this; an index on segroll.key_hash(key) (create_segmentation)
 * finds a row by its hashed key.
 */
CREATE OR REPLACE FUNCTION @extschema@._key_sql(def @extschema@.segmentation, expr pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN @extschema@._key_hashed(def) THEN pg_catalog.format('segroll.key_hash(%s)', expr)
	            ELSE expr END
$$;

/* Whether def's lineage holds its keys as hashes (a key that is not bigint or integer). */
CREATE OR REPLACE FUNCTION @extschema@._key_hashed(def @extschema@.segmentation)
RETURNS pg_catalog.bool LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._column_type(def.source, def.key_column)
	       OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog.int8'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype])
$$;

/* A date time column has no time of day: periods of a day or longer only. */
CREATE OR REPLACE FUNCTION @extschema@._check_time_grain(src pg_catalog.regclass, time_col pg_catalog.text,
	grain pg_catalog.text)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	g segroll.grain := segroll._grain(grain);
BEGIN
	IF segroll._column_type(src, time_col) = 'date'::regtype AND g.step < '1 day'::interval THEN
		RAISE EXCEPTION 'grain "%" is finer than a day, and time column "%" is a date', g.name, time_col
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'A date column takes grain day, week, month or quarter; for hours use a timestamp column.';
	END IF;
END
$$;

/* The type of a parsed dimension's values: its column's, or its reference value's. */
CREATE OR REPLACE FUNCTION @extschema@._dimension_type(src pg_catalog.regclass, dim pg_catalog.jsonb)
RETURNS pg_catalog.regtype LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN dim OPERATOR(pg_catalog.?) 'column' THEN @extschema@._column_type(src, dim->>'column')
	            ELSE @extschema@._column_type((dim->>'table')::pg_catalog.regclass, dim->>'value') END
$$;

/*
 * What a definition says about its source, checked as create_segmentation,
 * create_version and estimate all need it: grain, time zone, dimensions and
 * measures.  Returns them normalized: {"grain": "day", "time_zone": ...,
 * "dimensions": [parsed dimensions], "measures": [column names],
 * "distinct": [column names of distinct(column) measures]}.
 */
CREATE OR REPLACE FUNCTION @extschema@._compile_definition(src pg_catalog.regclass, grain pg_catalog.text,
	time_zone pg_catalog.text, dimensions pg_catalog.text[], measures pg_catalog.text[])
RETURNS pg_catalog.jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	g segroll.grain := segroll._grain(grain);
	dims jsonb := '[]'::jsonb;
	dj jsonb;
	d text;
	meas text[] := '{}'::text[];
	dist text[] := '{}'::text[];
	mcol text;
	mt regtype;
	dcol text;
BEGIN
	IF time_zone IS NULL OR (NOT EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = time_zone)
	                         AND upper(time_zone) <> 'UTC') THEN
		RAISE EXCEPTION 'invalid time zone "%"', time_zone USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use a name from pg_timezone_names, such as Asia/Seoul.';
	END IF;

	IF coalesce(array_length(dimensions, 1), 0) = 0 THEN
		RAISE EXCEPTION 'a segmentation needs at least one dimension' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH d IN ARRAY dimensions LOOP
		dj := segroll._parse_dimension(src, d);
		IF octet_length(dj->>'name') > current_setting('max_identifier_length')::int THEN
			RAISE EXCEPTION 'dimension name "%" is too long', dj->>'name' USING ERRCODE = 'name_too_long',
				DETAIL = format('It is %s bytes; the cells'' column would be truncated to %s bytes (NAMEDATALEN - 1).',
				                octet_length(dj->>'name'), current_setting('max_identifier_length'));
		END IF;
		IF dj->>'name' IN ('period', 'seg') OR EXISTS (SELECT 1 FROM jsonb_array_elements(dims) e WHERE e->>'name' = dj->>'name') THEN
			RAISE EXCEPTION 'duplicate or reserved dimension name "%"', dj->>'name' USING ERRCODE = 'duplicate_column';
		END IF;
		dims := dims || jsonb_build_array(dj);
	END LOOP;

	FOREACH d IN ARRAY coalesce(measures, '{}') LOOP
		IF d IS NULL THEN
			RAISE EXCEPTION 'a measure must not be null' USING ERRCODE = 'null_value_not_allowed';
		END IF;
		mcol := btrim(d);
		IF lower(mcol) = 'count' OR lower(mcol) = 'count(*)' THEN
			CONTINUE;	-- every segment counts its rows
		END IF;
		-- distinct(column): the number of distinct values (issue 17)
		dcol := btrim(coalesce((regexp_match(mcol, '^distinct\s*\((.+)\)$', 'i'))[1],
		                       (regexp_match(mcol, '^count\s*\(\s*distinct\s+(.+)\)$', 'i'))[1]));
		IF dcol IS NOT NULL AND segroll._column_named(src, d) IS NULL THEN
			dcol := coalesce(segroll._column_named(src, dcol), dcol);
			mt := segroll._column_type(src, dcol);
			IF mt IS NULL THEN
				RAISE EXCEPTION 'distinct measure column "%" does not exist in "%"', dcol, src USING ERRCODE = 'undefined_column';
			END IF;
			IF octet_length(dcol || '_distinct') > current_setting('max_identifier_length')::int THEN
				RAISE EXCEPTION 'distinct measure column "%" is too long a name for the BI view''s column "%_distinct"', dcol, dcol
					USING ERRCODE = 'name_too_long',
					      HINT = format('Rename the column to at most %s bytes.', current_setting('max_identifier_length')::int - 9);
			END IF;
			-- the rule is distinct_hash's own (C): a hash opclass, a deterministic collation
			PERFORM segroll._check_distinct_type(mt, (SELECT a.attcollation FROM pg_attribute a
			                                          WHERE a.attrelid = src AND a.attname = dcol));
			IF NOT dcol = ANY (dist) THEN
				dist := dist || dcol;
			END IF;
			CONTINUE;
		END IF;
		-- a column by its name, or sum(name), min(name), ..
		mcol := coalesce(segroll._column_named(src, d),
		                 segroll._column_named(src, (regexp_match(mcol, '^(?:sum|min|max|avg)\s*\((.+)\)$', 'i'))[1]),
		                 mcol);
		mt := segroll._column_type(src, mcol);
		IF mt IS NULL THEN
			RAISE EXCEPTION 'measure column "%" does not exist in "%"', mcol, src USING ERRCODE = 'undefined_column';
		END IF;
		-- the BI view's columns <measure>_sum, _min and _max are names too
		IF octet_length(mcol || '_sum') > current_setting('max_identifier_length')::int THEN
			RAISE EXCEPTION 'measure column "%" is too long a name for the BI view''s column "%_sum"', mcol, mcol
				USING ERRCODE = 'name_too_long',
				      DETAIL = format('"%s_sum" would be %s bytes; PostgreSQL names are at most %s bytes (NAMEDATALEN - 1) and would be truncated.',
				                      mcol, octet_length(mcol || '_sum'), current_setting('max_identifier_length')),
				      HINT = format('Rename the column to at most %s bytes (a Korean character takes 3).',
				                    current_setting('max_identifier_length')::int - 4);
		END IF;
		-- the rule is the aggregates' own (C)
		IF NOT segroll.measure_type_ok(mt) THEN
			RAISE EXCEPTION 'measure column "%" is %', mcol, mt USING ERRCODE = 'datatype_mismatch',
				HINT = 'Measures must be smallint, integer, bigint or numeric.';
		END IF;
		IF NOT mcol = ANY (meas) THEN
			meas := meas || mcol;
		END IF;
	END LOOP;

	RETURN jsonb_build_object('grain', g.name, 'time_zone', time_zone, 'dimensions', dims,
	                          'measures', to_jsonb(meas), 'distinct', to_jsonb(dist));
END
$$;

/* Checks a schedule. */
CREATE OR REPLACE FUNCTION @extschema@._check_schedule(schedule pg_catalog.text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF schedule IS NULL OR schedule NOT IN ('manual', 'continuous') THEN
		RAISE EXCEPTION 'invalid schedule "%"', schedule USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use manual (pg_cron or a DBA calls segroll.rollup) or continuous (background workers).';
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._sql(def @extschema@.segmentation)
RETURNS @extschema@._segmentation_sql
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r segroll._segmentation_sql;
	d jsonb;
	i int := 0;
	t regtype;
	cj text := '';
	fj text := '';
BEGIN
	r.dim_exprs := ''; r.joins := ''; r.dim_names := ''; r.cell_cols := ''; r.meas := '';
	r.mapped := 'true';
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		IF d ? 'column' THEN
			r.dim_exprs := r.dim_exprs || format('s.%I AS segroll_d%s, ', d->>'column', i);
			r.mapped := r.mapped || format(' AND s.%I IS NOT NULL', d->>'column');
		ELSE
			r.joins := r.joins || format(' LEFT JOIN %s r%s ON r%s.%I OPERATOR(pg_catalog.=) s.%I',
			                             (d->>'table')::regclass, i, i, d->>'key', d->>'on');
			r.dim_exprs := r.dim_exprs || format('r%s.%I AS segroll_d%s, ', i, d->>'value', i);
			r.mapped := r.mapped || format(' AND r%s.%I IS NOT NULL', i, d->>'value');
		END IF;
		r.dim_names := r.dim_names || format('segroll_d%s, ', i);
		r.cell_cols := r.cell_cols || format('%I, ', d->>'name');
		-- dimensions as trace and locate show them (_shown_sql)
		t := CASE WHEN d ? 'column' THEN segroll._column_type(def.source, d->>'column')
		          ELSE segroll._column_type((d->>'table')::regclass, d->>'value') END;
		cj := cj || format('%L, %s, ', d->>'name', segroll._shown_sql(format('c.%I', d->>'name'), t));
		fj := fj || format('%L, %s, ', d->>'name', segroll._shown_sql(format('f.segroll_d%s', i), t));
	END LOOP;
	r.cell_json := format('pg_catalog.jsonb_build_object(%s)', left(cj, -2));
	r.fresh_json := format('pg_catalog.jsonb_build_object(%s)', left(fj, -2));
	FOR i IN 1 .. coalesce(array_length(def.measures, 1), 0) LOOP
		r.meas := r.meas || format(', s.%I', def.measures[i]);
	END LOOP;
	-- distinct measures after the numeric ones, as values of segroll.dhash
	FOR i IN 1 .. coalesce(array_length(def.distinct_measures, 1), 0) LOOP
		r.meas := r.meas || format(', segroll.distinct_hash(s.%I)', def.distinct_measures[i]);
	END LOOP;
	r.period := segroll._period_sql(def.grain, def.time_zone, segroll._time_sql(def, format('s.%I', def.time_column)));
	r.bound := (SELECT g.bound FROM segroll.grain g WHERE g.name = def.grain);
	RETURN r;
END
$$;

/*
 * The source columns def reads (key, time, dimension and lookup columns,
 * measures), in table order, as a select list of alias's columns.
 */
CREATE OR REPLACE FUNCTION @extschema@._used_columns_sql(def @extschema@.segmentation, alias pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', alias, a.attname), ', ' ORDER BY a.attnum)
	FROM pg_catalog.pg_attribute a
	WHERE a.attrelid OPERATOR(pg_catalog.=) def.source AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
	  AND a.attname OPERATOR(pg_catalog.=) ANY (
	      ARRAY[def.key_column, def.time_column]::pg_catalog.text[]
	      OPERATOR(pg_catalog.||) def.measures::pg_catalog.text[]
	      OPERATOR(pg_catalog.||) def.distinct_measures::pg_catalog.text[]
	      OPERATOR(pg_catalog.||) ARRAY(SELECT COALESCE(d->>'column', d->>'on')
	                                    FROM pg_catalog.jsonb_array_elements(def.dimensions) d))
$$;

/*
 * The first period start at or after t: rows with times in [boundary(from),
 * boundary(to)) are exactly the rows of the periods that start in
 * [from, to), and a plain range on the time column finds them (its index
 * applies, and the planner estimates it well).
 */
CREATE OR REPLACE FUNCTION @extschema@._boundary(def @extschema@.segmentation, t pg_catalog.timestamptz)
RETURNS pg_catalog.timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p timestamptz := date_trunc(def.grain, t, def.time_zone);
BEGIN
	IF p < t THEN
		p := segroll._next_period(def, p);
	END IF;
	RETURN p;
END
$$;

/*
 * The change log of def's source as a FROM item: each logged old version
 * (l, with log_seq and old_seq) and its row (o), read from jsonb into the
 * source's row type as it is now.  The log keeps old versions as jsonb so
 * that the source's columns may be added, dropped and retyped under it; a
 * column added since reads as null in versions logged before, and a
 * renamed column's key is renamed in the log with it (_follow_ddl).
 */
CREATE OR REPLACE FUNCTION @extschema@._old_versions_sql(def @extschema@.segmentation)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('%s l CROSS JOIN LATERAL pg_catalog.jsonb_populate_record(NULL::%s, l.old) o',
	                         s.change_log, s.relid)
	FROM @extschema@.source s WHERE s.relid OPERATOR(pg_catalog.=) def.source
$$;

/*
 * The rows of def's source as they stood when the roll-up had applied every
 * change numbered up to $1, as a FROM item: rows numbered <= $1, and old
 * versions that a later change replaced, each with its dimensions
 * (segroll_d1..) and its period (segroll_period, period_sql or the row's
 * own), through the reference joins.  s_cond and o_cond: further
 * conditions on the source's rows (s) and the logged old versions (o).
 */
CREATE OR REPLACE FUNCTION @extschema@._as_of_rows_sql(def @extschema@.segmentation, period_sql pg_catalog.text,
	s_cond pg_catalog.text, o_cond pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	dist text := segroll._distribution_column(def.source);
BEGIN
	IF dist IS NOT NULL THEN
		-- a Citus-distributed source: "applied" within each node range
		-- (_applied_sql), and the source and log side by side as the
		-- distributed roll-up reads them, led by the distribution column, so
		-- that Citus reads both in one statement on each shard group
		-- (_rollup_distributed says why); no reference joins there
		RETURN format($f$(SELECT %1$s %2$s AS segroll_period, s.*
		      FROM (SELECT s.%3$I AS segroll_shard_key, s.* FROM %4$s s
		            WHERE %5$s AND %6$s
		            UNION ALL
		            SELECT o.* FROM (SELECT l.segroll_shard_key, (l.r).* FROM %7$s
		                             WHERE %8$s AND NOT %9$s) o
		            WHERE %10$s) s)$f$,
			segroll._shard_dims_sql(def), coalesce(period_sql, q.period), dist, def.source,
			segroll._applied_sql(def, 's.segroll_seq', '$1'), s_cond, segroll._shard_log_rows_sql(def),
			segroll._applied_sql(def, 'l.old_seq', '$1'), segroll._applied_sql(def, 'l.log_seq', '$1'),
			o_cond);
	END IF;
	RETURN format($f$(SELECT %1$s %2$s AS segroll_period, s.*
	      FROM (SELECT s.* FROM %3$s s
	            WHERE s.segroll_seq OPERATOR(pg_catalog.<=) $1
	              AND %6$s
	            UNION ALL
	            SELECT o.* FROM %4$s
	            WHERE l.old_seq OPERATOR(pg_catalog.<=) $1 AND l.log_seq OPERATOR(pg_catalog.>) $1
	              AND %7$s) s
	      %5$s)$f$,
		q.dim_exprs, coalesce(period_sql, q.period), def.source,
		-- old versions: the change log's rows, as rows of the source (o)
		segroll._old_versions_sql(def), q.joins, s_cond, o_cond);
END
$$;

/*
 * The rows of the window ($1, $2] of def's source as a FROM item, each with
 * its dimensions and period as in _as_of_rows_sql.  retracted false: the
 * versions numbered in the window that are current, and those that a later
 * change (numbered after $2) already replaced or deleted (that change
 * retracts them in its own window).  retracted true: the old versions that
 * changes numbered in the window replaced or deleted, which the window
 * retracts.  The window statement (apply_sql.sql) reads both, the upsert
 * of a window of inserts (upsert_sql.sql) the first.
 */
CREATE OR REPLACE FUNCTION @extschema@._window_rows_sql(def @extschema@.segmentation, retracted pg_catalog.bool)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	-- old versions: the change log's rows, as rows of the source (o)
	log text := segroll._old_versions_sql(def);
BEGIN
	IF retracted THEN
		RETURN format($r$(SELECT %1$s %2$s AS segroll_period, s.* FROM (SELECT o.* FROM %3$s
	            WHERE l.log_seq OPERATOR(pg_catalog.>) $1 AND l.log_seq OPERATOR(pg_catalog.<=) $2
	              AND l.old_seq OPERATOR(pg_catalog.<=) $1) s %4$s)$r$,
			q.dim_exprs, q.period, log, q.joins);
	END IF;
	RETURN format($r$(SELECT %1$s %2$s AS segroll_period, s.* FROM (SELECT s.* FROM %3$s s
	            WHERE s.segroll_seq OPERATOR(pg_catalog.>) $1 AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	            UNION ALL
	            SELECT o.* FROM %4$s
	            WHERE l.old_seq OPERATOR(pg_catalog.>) $1 AND l.old_seq OPERATOR(pg_catalog.<=) $2
	              AND l.log_seq OPERATOR(pg_catalog.>) $2) s %5$s)$r$,
		q.dim_exprs, q.period, def.source, log, q.joins);
END
$$;

/*
 * The cells of the rows with times in [$4, $5) (period boundaries), as they
 * stood when the roll-up had applied every change numbered up to $1,
 * recomputed from the source and the change log (_as_of_rows_sql).
 * Columns segroll_d1.., period, seg.  With one_period, [$4, $5) must be
 * exactly one period.
 */
CREATE OR REPLACE FUNCTION @extschema@._fresh_sql(def @extschema@.segmentation, with_lineage pg_catalog.bool,
	one_period pg_catalog.bool DEFAULT false)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
BEGIN
	RETURN format($f$
	SELECT %1$s s.segroll_period AS period, %2$s(%3$s, %4$s%5$s) AS seg
	FROM %6$s s
	GROUP BY %1$s s.segroll_period$f$,
		q.dim_names, CASE WHEN with_lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END,
		segroll._key_sql(def, format('s.%I', def.key_column)), segroll._time_sql(def, format('s.%I', def.time_column)), q.meas,
		segroll._as_of_rows_sql(def,
			-- [$4, $5) is one period: its start, without a time zone conversion per row
			CASE WHEN one_period THEN '$4::pg_catalog.timestamptz' END,
			segroll._time_range_sql(def, format('s.%I', def.time_column), '$4', '$5'),
			segroll._time_range_sql(def, format('o.%I', def.time_column), '$4', '$5')));
END
$$;
