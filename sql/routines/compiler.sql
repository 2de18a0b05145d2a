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
 * (PostgreSQL cannot enforce more).  segroll assumes the key alone is
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
			HINT = 'Declare a primary key or a unique index on the key column alone (on a partitioned table, on the key and the partition key).';
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

/* ------------------------------------------------------------ values seen by the caller */

/*
 * trace, cell and locate run as their caller, so the SQL they run must
 * evaluate nothing that another role wrote (docs/security.md, "Trace runs as
 * the caller").  A value can bring such code along through its type: a
 * domain's CHECK constraints run when a value is cast to the domain, a cast
 * that the type's owner created runs when a value is cast to or from the
 * type (to json too: to_json and jsonb_build_object use a type's cast to
 * json), and an operator is looked up among casts the type's owner may have
 * added.  Built-in types have none of that: only a superuser can create or
 * change their casts and operators, and reading a domain's value as its base
 * type evaluates no constraint.  So:
 *   - a value whose type is built in, or a domain over a built-in type at any
 *     depth, is compared as that built-in base type, with pg_catalog's
 *     operator, and shown in json as itself (json looks through domains);
 *   - a value of any other type (an enum, composite, range or array type that
 *     some role created, an extension's type) is compared and shown as its
 *     text, which its type's output function writes (C, installed by a
 *     superuser): what a SELECT shows.  No cast of it, from it or to it.
 */

/*
 * The built-in type that values of type t are: t itself, or the base type
 * under any depth of domains, when that type was created by initdb (its OID
 * is below FirstNormalObjectId, 16384); null for any other type.
 */
CREATE OR REPLACE FUNCTION @extschema@._builtin_base(t pg_catalog.regtype)
RETURNS pg_catalog.regtype AS 'MODULE_PATHNAME', 'segroll_builtin_base'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

/*
 * The SQL that shows expr (of type t) to the caller: expr itself when t is
 * built in (or a domain over a built-in type), otherwise its text (null
 * stays null), which runs only t's output function.
 */
CREATE OR REPLACE FUNCTION @extschema@._shown_sql(expr pg_catalog.text, t pg_catalog.regtype)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN @extschema@._builtin_base(t) IS NOT NULL THEN expr
	            ELSE pg_catalog.format('CASE WHEN pg_catalog.num_nulls(%1$s) OPERATOR(pg_catalog.=) 0 THEN pg_catalog.format(%2$L, %1$s) END',
	                                   expr, '%s') END
$$;

/*
 * The SQL that compares a (of type a_type) with b (of type b_type) for a
 * routine that runs as its caller: as the built-in base type of a with
 * pg_catalog's "=" when both types are built in (then the operator and any
 * cast it needs are the system's), otherwise as text.  With nulls_match,
 * null equals null (IS NOT DISTINCT FROM, which would look "=" up by name).
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_eq_sql(a pg_catalog.text, a_type pg_catalog.regtype,
	b pg_catalog.text, b_type pg_catalog.regtype, nulls_match pg_catalog.bool)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN base IS NOT NULL AND @extschema@._builtin_base(b_type) IS NOT NULL
	            THEN pg_catalog.format('%s::%s OPERATOR(pg_catalog.=) %s::%s', a, pg_catalog.format_type(base, -1),
	                                   b, pg_catalog.format_type(base, -1))
	            ELSE pg_catalog.format('%s OPERATOR(pg_catalog.=) %s', @extschema@._shown_sql(a, a_type),
	                                   @extschema@._shown_sql(b, b_type)) END
	       OPERATOR(pg_catalog.||)
	       CASE WHEN nulls_match
	            THEN pg_catalog.format(' OR pg_catalog.num_nulls(%s, %s) OPERATOR(pg_catalog.=) 2', a, b)
	            ELSE '' END
	FROM (SELECT @extschema@._builtin_base(a_type) AS base) x
$$;

/*
 * What a definition says about its source, checked as create_segmentation,
 * create_version and estimate all need it: grain, time zone, dimensions and
 * measures.  Returns them normalized: {"grain": "day", "time_zone": ...,
 * "dimensions": [parsed dimensions], "measures": [column names]}.
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
	mcol text;
	mt regtype;
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
	                          'measures', to_jsonb(meas));
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
 * The cells of the rows with times in [$4, $5) (period boundaries), as they
 * stood when the roll-up had applied every change numbered up to $1,
 * recomputed from the source and the change log: rows numbered <= $1, and
 * old versions that a later change replaced.  Columns segroll_d1.., period,
 * seg.  With one_period, [$4, $5) must be exactly one period.
 */
CREATE OR REPLACE FUNCTION @extschema@._fresh_sql(def @extschema@.segmentation, with_lineage pg_catalog.bool,
	one_period pg_catalog.bool DEFAULT false)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	-- old versions: the change log's rows, as rows of the source (o)
	log text := segroll._old_versions_sql(def);
BEGIN
	RETURN format($f$
	SELECT %1$s s.segroll_period AS period, %2$s(%3$s, %4$s%5$s) AS seg
	FROM (SELECT %6$s %7$s AS segroll_period, s.*
	      FROM (SELECT s.* FROM %8$s s
	            WHERE s.segroll_seq OPERATOR(pg_catalog.<=) $1
	              AND %11$s
	            UNION ALL
	            SELECT o.* FROM %9$s
	            WHERE l.old_seq OPERATOR(pg_catalog.<=) $1 AND l.log_seq OPERATOR(pg_catalog.>) $1
	              AND %12$s) s
	      %10$s) s
	GROUP BY %1$s s.segroll_period$f$,
		q.dim_names, CASE WHEN with_lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END,
		segroll._key_sql(def, format('s.%I', def.key_column)), segroll._time_sql(def, format('s.%I', def.time_column)), q.meas, q.dim_exprs,
		-- [$4, $5) is one period: its start, without a time zone conversion per row
		CASE WHEN one_period THEN '$4::pg_catalog.timestamptz' ELSE q.period END,
		def.source, log, q.joins,
		segroll._time_range_sql(def, format('s.%I', def.time_column), '$4', '$5'),
		segroll._time_range_sql(def, format('o.%I', def.time_column), '$4', '$5'));
END
$$;

/*
 * The SQL of one roll-up window of a segmentation ($1 = applied_upto, $2 =
 * upper, $3 = the end of the closed periods, -infinity when none is
 * closed, $4 = segroll.inline_lineage_limit).  The changes of closed
 * periods go to the adjustments table, not to the cells.  _rollup() runs
 * it with read_window_once false for a build from change 0 and for a
 * segmentation with no cell in blocks (why: at the end).
 *
 * Changes are aggregated per cell, then, for the cells kept in lineage
 * blocks and new cells past $4 rows, per lineage block (lineage.sql).  A cell
 * with its lineage inline is rewritten whole, as a small cell always was;
 * it moves its lineage to blocks when it grows past $4 rows.  A cell with
 * its lineage in blocks has its head and the blocks the changes fall in
 * rewritten, nothing else.  A retraction that leaves min or max unknown is
 * recomputed from the rows of the cell's (or the block's) own lineage,
 * found by the key index, never from a scan of the period; only a
 * segmentation without lineage, which knows no keys, scans its period.
 */
CREATE OR REPLACE FUNCTION @extschema@._generate_apply(def @extschema@.segmentation,
	adjustments pg_catalog.regclass, read_window_once pg_catalog.bool DEFAULT true)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	-- old versions: the change log's rows, as rows of the source (o)
	log text := segroll._old_versions_sql(def);
	blocks regclass := segroll._lineage_blocks(def);
	lin text := CASE WHEN def.lineage THEN 'true' ELSE 'false' END;
	d jsonb;
	i int := 0;
	dn text := '';			-- "d1, "
	x_dn text := '';		-- "x.d1, "
	eq_strict text := '';	-- over c (cells) and x
	eq_nulls text := '';
	all_notnull text := '';	-- over x
	k_strict text := '';	-- over k (blocks) and x
	k_nulls text := '';
	n_nulls text := '';		-- over n (new blocks) and x
	agg text := CASE WHEN def.lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END;
	key_s text := segroll._key_sql(def, format('s.%I', def.key_column));	-- the row's lineage key
	key_o text := segroll._key_sql(def, format('o.%I', def.key_column));
	args text := format('%s, %s%s', key_s, segroll._time_sql(def, format('s.%I', def.time_column)), q.meas);
	grouped text;			-- "segroll_d1 AS d1, "
	grouping text;			-- "segroll_d1, "
	inner_from text;
	blk text;				-- the block of row s in cell x: its key rounded down to x.span
	pos_rows text;
	neg_rows text;
	block_rows text[];
	lineage_rows text[];	-- the rows of x.b0's, x.seg0's lineage at $2
	by_keys text[];			-- recompute of x.b0, x.seg0 from their own lineage
	spill_blocks text;
	by_period text;			-- recompute of cell x from its period (no lineage)
	head_from_blocks text;
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		dn := dn || format('d%s, ', i);
		x_dn := x_dn || format('x.d%s, ', i);
		eq_strict := eq_strict || format('c.%I OPERATOR(pg_catalog.=) x.d%s AND ', d->>'name', i);
		eq_nulls := eq_nulls || format('c.%I IS NOT DISTINCT FROM x.d%s AND ', d->>'name', i);
		k_strict := k_strict || format('k.%I OPERATOR(pg_catalog.=) x.d%s AND ', d->>'name', i);
		k_nulls := k_nulls || format('k.%I IS NOT DISTINCT FROM x.d%s AND ', d->>'name', i);
		n_nulls := n_nulls || format('n.d%s IS NOT DISTINCT FROM x.d%s AND ', i, i);
		all_notnull := all_notnull || format('x.d%s IS NOT NULL AND ', i);
	END LOOP;
	grouped := regexp_replace(dn, '(d[0-9]+)', 'segroll_\1 AS \1', 'g');
	grouping := regexp_replace(dn, '(d[0-9]+)', 'segroll_\1', 'g');
	inner_from := format('SELECT %s %s AS segroll_period, s.* FROM', q.dim_exprs, q.period);
	-- the row's block in cell x
	blk := segroll._block_sql(key_s, 'x.span');
	-- the rows of x.b0's and x.seg0's own lineage as they stood at $2,
	-- found by the key index
	FOR i IN 1 .. 2 LOOP
		lineage_rows[i] := format($r$(SELECT s.* FROM %1$s s
	                    WHERE %2$s OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT segroll.keys(%4$s)))
	                      AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	                    UNION ALL
	                    SELECT o.* FROM %3$s
	                    WHERE l.log_seq OPERATOR(pg_catalog.>) $2 AND l.old_seq OPERATOR(pg_catalog.<=) $2
	                      AND %5$s OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT segroll.keys(%4$s))))$r$,
			def.source, key_s, log, (ARRAY['x.b0', 'x.seg0'])[i], key_o);
		-- the segment recomputed from them (_recomputed_or)
		by_keys[i] := format($r$(SELECT segroll._recomputed_or(r.seg, %1$s)
	        FROM (SELECT segroll.segment_agg(%2$s) AS seg FROM %3$s s) r)$r$,
			(ARRAY['x.b0', 'x.seg0'])[i], args, lineage_rows[i]);
	END LOOP;
	-- the rows of a cell's lineage as they stood at $2, by block
	spill_blocks := format($r$(SELECT %1$s AS block, sp.span, segroll.segment_agg(%2$s) AS seg
	        FROM %3$s s
	        CROSS JOIN (SELECT segroll._block_span(pg_catalog.min(k), pg_catalog.max(k), pg_catalog.count(*)) AS span
	                    FROM segroll.keys(x.seg0) k) sp
	        GROUP BY 1, 2)$r$,
		segroll._block_sql(key_s, 'sp.span'), args, lineage_rows[2]);
	by_period := format($r$(SELECT %1$s(%2$s)
	     FROM (SELECT %3$s s.*
	           FROM (SELECT s.* FROM %4$s s
	                 WHERE %5$s
	                   AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	                 UNION ALL
	                 SELECT o.* FROM %7$s
	                 WHERE l.old_seq OPERATOR(pg_catalog.<=) $2 AND l.log_seq OPERATOR(pg_catalog.>) $2
	                   AND %6$s) s %8$s) s
	     WHERE %9$s true)$r$,
		agg, args, q.dim_exprs, def.source,
		segroll._time_range_sql(def, format('s.%I', def.time_column), 'x.period', segroll._next_period_sql(def, 'x.period')),
		segroll._time_range_sql(def, format('o.%I', def.time_column), 'x.period', segroll._next_period_sql(def, 'x.period')),
		log, q.joins,
		regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 IS NOT DISTINCT FROM x.\1', 'g'));
	-- the head of a cell in blocks whose min or max a retraction made
	-- unknown: the merge of its blocks as this run leaves them
	head_from_blocks := format($r$(SELECT segroll._recomputed_or(m.seg, x.seg0)
	        FROM (SELECT segroll.merge(segroll.without_lineage(z.seg)) AS seg
	              FROM (SELECT n.seg FROM nb n
	                    WHERE %1$s n.period OPERATOR(pg_catalog.=) x.period AND segroll.count(n.seg) OPERATOR(pg_catalog.>) 0
	                    UNION ALL
	                    SELECT k.seg FROM %2$s k
	                    WHERE %3$s k.period OPERATOR(pg_catalog.=) x.period
	                      AND NOT EXISTS (SELECT FROM nb n WHERE %1$s n.period OPERATOR(pg_catalog.=) x.period
	                                                         AND n.block OPERATOR(pg_catalog.=) k.block)) z) m)$r$,
		n_nulls, blocks, k_nulls);

	-- the rows of the window: versions numbered in it that are still
	-- current, and those that a later change (numbered after $2) already
	-- replaced or deleted (that later change retracts them in its window);
	-- and the old versions that changes numbered in it retract
	pos_rows := format($r$(%1$s (SELECT s.* FROM %2$s s
	            WHERE s.segroll_seq OPERATOR(pg_catalog.>) $1 AND s.segroll_seq OPERATOR(pg_catalog.<=) $2
	            UNION ALL
	            SELECT o.* FROM %3$s
	            WHERE l.old_seq OPERATOR(pg_catalog.>) $1 AND l.old_seq OPERATOR(pg_catalog.<=) $2
	              AND l.log_seq OPERATOR(pg_catalog.>) $2) s %4$s)$r$,
		inner_from, def.source, log, q.joins);
	neg_rows := format($r$(%1$s (SELECT o.* FROM %2$s
	            WHERE l.log_seq OPERATOR(pg_catalog.>) $1 AND l.log_seq OPERATOR(pg_catalog.<=) $2
	              AND l.old_seq OPERATOR(pg_catalog.<=) $1) s %3$s)$r$,
		inner_from, log, q.joins);
	-- the rows of cells kept in blocks, with their cell's in_blocks: an
	-- equality join where no dimension is null (hashable), else null-safe;
	-- not even read when no cell is in blocks (the planner may have chosen
	-- to sort the whole window for a merge join before it finds that out)
	FOR i IN 1 .. 2 LOOP
		block_rows[i] := format($r$(SELECT s.*, x.in_blocks, x.span, %5$s AS segroll_block FROM %1$s s
	      JOIN (SELECT * FROM bigcells x WHERE %2$s true) x ON %3$s s.segroll_period OPERATOR(pg_catalog.=) x.period
	      WHERE EXISTS (SELECT FROM bigcells)
	      UNION ALL
	      SELECT s.*, x.in_blocks, x.span, %5$s AS segroll_block FROM %1$s s
	      JOIN (SELECT * FROM bigcells x WHERE NOT (%2$s true)) x ON %4$s s.segroll_period OPERATOR(pg_catalog.=) x.period
	      WHERE EXISTS (SELECT FROM bigcells x WHERE NOT (%2$s true)))$r$,
			(ARRAY['window_pos', 'window_neg'])[i], all_notnull,
			regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 OPERATOR(pg_catalog.=) x.\1', 'g'),
			regexp_replace(all_notnull, 'x\.(d[0-9]+) IS NOT NULL', 's.segroll_\1 IS NOT DISTINCT FROM x.\1', 'g'),
			blk);
	END LOOP;

	RETURN format($f$
WITH window_pos AS %28$s (
	-- OFFSET 0 below: a subquery whose columns are computed (merge,
	-- subtract, a recompute) and used more than once above is kept apart,
	-- so each is computed once per row, not once per use
	SELECT * FROM %4$s s
), window_neg AS %28$s (
	SELECT * FROM %5$s s
), pos AS (
	SELECT %1$s s.segroll_period AS period, %2$s(%3$s) AS seg,
	       pg_catalog.min(%26$s) AS key_min, pg_catalog.max(%26$s) AS key_max
	FROM window_pos s
	GROUP BY %8$s s.segroll_period
), neg AS (
	SELECT %1$s s.segroll_period AS period, %2$s(%3$s) AS seg
	FROM window_neg s
	GROUP BY %8$s s.segroll_period
), delta AS (
	-- a cell's additions and retractions side by side: grouped, not joined
	-- (a join on dimensions that may be null hashes on the period alone)
	SELECT %9$s x.period,
	       (pg_catalog.array_agg(x.seg) FILTER (WHERE x.added))[1] AS pos,
	       (pg_catalog.array_agg(x.seg) FILTER (WHERE NOT x.added))[1] AS neg,
	       pg_catalog.min(x.key_min) AS key_min, pg_catalog.max(x.key_max) AS key_max
	FROM (SELECT %29$s p.period, p.seg, p.key_min, p.key_max, true AS added FROM pos p
	      UNION ALL
	      SELECT %30$s n.period, n.seg, NULL, NULL, false FROM neg n) x
	GROUP BY %9$s x.period
), adj AS (
	-- a closed period's cells stay as they were closed; its changes are
	-- kept beside them, with the window that brought them
	INSERT INTO %12$s (%13$s period, added, removed, from_seq, to_seq)
	SELECT %9$s x.period, x.pos, x.neg, $1, $2 FROM delta x WHERE x.period OPERATOR(pg_catalog.<) $3
	RETURNING 1
), matched AS (
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %14$s c ON %15$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE %16$s x.period OPERATOR(pg_catalog.>=) $3
	UNION ALL
	SELECT x.*, c.ctid AS cell_ctid, c.seg AS old_seg
	FROM delta x LEFT JOIN %14$s c ON %17$s c.period OPERATOR(pg_catalog.=) x.period
	WHERE NOT (%16$s true) AND x.period OPERATOR(pg_catalog.>=) $3
), combined AS (
	-- retract first (an updated row's new version may land in the same cell),
	-- then add; retracting from a missing cell is an error, never a no-op
	SELECT m.*,
	       CASE WHEN m.pos IS NULL THEN kept WHEN kept IS NULL THEN m.pos
	            ELSE segroll.merge(kept, m.pos) END AS seg0,
	       %18$s AND m.old_seg IS NOT NULL AND NOT segroll.has_lineage(m.old_seg) AS in_blocks
	FROM (SELECT m.*, CASE WHEN m.neg IS NULL THEN m.old_seg
	                       ELSE segroll.subtract(coalesce(m.old_seg, segroll.subtract(m.neg, m.neg)), m.neg) END AS kept
	      FROM matched m OFFSET 0) m
), bigcells AS (
	-- cells whose changes are written to lineage blocks: those kept in
	-- blocks (with the span their blocks have), and new cells past $4 rows
	-- (with a span chosen from the density of their keys)
	SELECT %9$s x.period, x.in_blocks,
	       CASE WHEN NOT x.in_blocks THEN segroll._block_span(x.key_min, x.key_max, segroll.count(x.seg0))
	            WHEN %16$s true THEN (SELECT k.span FROM %19$s k WHERE %20$s k.period OPERATOR(pg_catalog.=) x.period LIMIT 1)
	            ELSE (SELECT k.span FROM %19$s k WHERE %21$s k.period OPERATOR(pg_catalog.=) x.period LIMIT 1) END AS span
	FROM combined x
	WHERE %18$s AND (x.in_blocks OR (x.old_seg IS NULL AND segroll.count(x.seg0) OPERATOR(pg_catalog.>) $4))
), bdelta AS (
	-- their changes per lineage block
	SELECT %10$s coalesce(p.period, n.period) AS period, coalesce(p.block, n.block) AS block,
	       coalesce(p.in_blocks, n.in_blocks) AS in_blocks, coalesce(p.span, n.span) AS span, p.seg AS pos, n.seg AS neg
	FROM (SELECT %1$s s.segroll_period AS period, s.segroll_block AS block, s.in_blocks, s.span, segroll.segment_agg(%3$s) AS seg
	      FROM %6$s s GROUP BY %8$s s.segroll_period, s.segroll_block, s.in_blocks, s.span) p
	FULL JOIN
	     (SELECT %1$s s.segroll_period AS period, s.segroll_block AS block, s.in_blocks, s.span, segroll.segment_agg(%3$s) AS seg
	      FROM %7$s s GROUP BY %8$s s.segroll_period, s.segroll_block, s.in_blocks, s.span) n
	  ON %11$s p.period OPERATOR(pg_catalog.=) n.period AND p.block OPERATOR(pg_catalog.=) n.block
), bm AS (
	-- block changes of cells kept in blocks, with the block
	SELECT x.*, k.ctid AS block_ctid, k.seg AS old_block
	FROM bdelta x LEFT JOIN %19$s k ON %20$s k.period OPERATOR(pg_catalog.=) x.period AND k.block OPERATOR(pg_catalog.=) x.block
	WHERE x.in_blocks AND %16$s true
	UNION ALL
	SELECT x.*, k.ctid AS block_ctid, k.seg AS old_block
	FROM bdelta x LEFT JOIN %19$s k ON %21$s k.period OPERATOR(pg_catalog.=) x.period AND k.block OPERATOR(pg_catalog.=) x.block
	WHERE x.in_blocks AND NOT (%16$s true)
), nb AS (
	-- the blocks as this run leaves them: retract, add, and recompute from
	-- the block's own keys when min or max became unknown
	SELECT x.*, CASE WHEN segroll.count(x.b0) OPERATOR(pg_catalog.>) 0 AND NOT segroll.minmax_known(x.b0)
	                 THEN %22$s ELSE x.b0 END AS seg
	FROM (SELECT x.*, CASE WHEN x.pos IS NULL THEN x.kept WHEN x.kept IS NULL THEN x.pos
	                       ELSE segroll.merge(x.kept, x.pos) END AS b0
	      FROM (SELECT x.*, CASE WHEN x.neg IS NULL THEN x.old_block
	                             ELSE segroll.subtract(coalesce(x.old_block, segroll.subtract(x.neg, x.neg)), x.neg) END AS kept
	            FROM bm x OFFSET 0) x OFFSET 0) x
), spill AS (
	-- cells with inline lineage growing past $4 rows: their blocks, from
	-- the rows of their own lineage (the keys of seg0) as they stood at $2
	SELECT %9$s x.period, x.cell_ctid, b.block, b.span, b.seg,
	       pg_catalog.sum(segroll.count(b.seg)) OVER (PARTITION BY x.cell_ctid) AS spilled
	FROM combined x
	CROSS JOIN LATERAL %27$s b
	WHERE %18$s AND NOT x.in_blocks AND x.old_seg IS NOT NULL AND segroll.count(x.seg0) OPERATOR(pg_catalog.>) $4
), result AS (
	-- seg1: seg0 with min/max recomputed when a retraction left them unknown;
	-- to_blocks: the cell moves to blocks (it passes $4 rows and, had it
	-- inline lineage, its own rows accounted for every key); seg: what the
	-- cells table gets
	SELECT x.*, CASE WHEN x.to_blocks THEN segroll.without_lineage(x.seg1) ELSE x.seg1 END AS seg
	FROM (SELECT x.*,
	             CASE WHEN segroll.count(x.seg0) OPERATOR(pg_catalog.=) 0 OR segroll.minmax_known(x.seg0) THEN x.seg0
	                  WHEN x.in_blocks THEN %23$s
	                  WHEN %18$s THEN %24$s
	                  ELSE %25$s END AS seg1,
	             %18$s AND NOT x.in_blocks AND segroll.count(x.seg0) OPERATOR(pg_catalog.>) $4
	             AND (x.old_seg IS NULL
	                  OR (SELECT pg_catalog.max(s.spilled) FROM spill s WHERE s.cell_ctid OPERATOR(pg_catalog.=) x.cell_ctid)
	                     OPERATOR(pg_catalog.=) segroll.count(x.seg0)) AS to_blocks
	      FROM combined x OFFSET 0) x
), del AS (
	DELETE FROM %14$s c USING result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.=) 0
	RETURNING 1
), upd AS (
	UPDATE %14$s c SET seg = x.seg FROM result x
	WHERE x.cell_ctid IS NOT NULL AND c.ctid OPERATOR(pg_catalog.=) x.cell_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
), ins AS (
	INSERT INTO %14$s (%13$s period, seg)
	SELECT %9$s period, seg FROM result x
	WHERE x.cell_ctid IS NULL AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	RETURNING 1
), block_del AS (
	DELETE FROM %19$s k USING nb x
	WHERE x.block_ctid IS NOT NULL AND k.ctid OPERATOR(pg_catalog.=) x.block_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.=) 0
), block_upd AS (
	UPDATE %19$s k SET seg = x.seg FROM nb x
	WHERE x.block_ctid IS NOT NULL AND k.ctid OPERATOR(pg_catalog.=) x.block_ctid
	  AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
), block_ins AS (
	INSERT INTO %19$s (%13$s period, block, span, seg)
	SELECT %9$s x.period, x.block, x.span, x.seg FROM nb x
	WHERE x.block_ctid IS NULL AND segroll.count(x.seg) OPERATOR(pg_catalog.>) 0
	UNION ALL
	-- a new cell past $4 rows: the blocks of its rows as aggregated
	SELECT %9$s x.period, x.block, x.span, x.pos FROM bdelta x
	WHERE NOT x.in_blocks AND x.pos IS NOT NULL
	UNION ALL
	SELECT %9$s x.period, x.block, x.span, x.seg FROM spill x
	WHERE EXISTS (SELECT FROM result f WHERE f.cell_ctid OPERATOR(pg_catalog.=) x.cell_ctid AND f.to_blocks)
)
SELECT (SELECT coalesce(pg_catalog.sum(segroll.count(pos)), 0) FROM delta WHERE pos IS NOT NULL)
     OPERATOR(pg_catalog.+) (SELECT coalesce(pg_catalog.sum(segroll.count(neg)), 0) FROM delta WHERE neg IS NOT NULL),
       (SELECT pg_catalog.count(*) FROM del), (SELECT pg_catalog.count(*) FROM upd), (SELECT pg_catalog.count(*) FROM ins)
$f$,
		grouped,                                          -- 1
		agg,                                              -- 2
		args,                                             -- 3
		pos_rows,                                         -- 4
		neg_rows,                                         -- 5
		block_rows[1],                                    -- 6
		block_rows[2],                                    -- 7
		grouping,                                         -- 8
		x_dn,                                             -- 9
		regexp_replace(dn, '(d[0-9]+)', 'coalesce(p.\1, n.\1) AS \1', 'g'),  -- 10
		regexp_replace(dn, '(d[0-9]+), ', 'p.\1 IS NOT DISTINCT FROM n.\1 AND ', 'g'), -- 11
		adjustments,                                      -- 12
		q.cell_cols,                                      -- 13
		def.cells,                                        -- 14
		eq_strict,                                        -- 15
		all_notnull,                                      -- 16
		eq_nulls,                                         -- 17
		lin,                                              -- 18
		blocks,                                           -- 19
		k_strict,                                         -- 20
		k_nulls,                                          -- 21
		by_keys[1],                                       -- 22: x.b0
		head_from_blocks,                                 -- 23
		by_keys[2],                                       -- 24: x.seg0
		by_period,                                        -- 25
		key_s,                                            -- 26
		spill_blocks,                                     -- 27
		-- 28: the window is read by the cells' pass and again by the lineage
		-- blocks' pass.  Its row estimate comes from statistics that end
		-- before the newest rows, so an incremental window looks like one
		-- row, and the planner may read it again for every large cell:
		-- read it once into a tuplestore.  A build (from change 0) is
		-- estimated right and is cheaper read twice than stored.
		CASE WHEN read_window_once THEN 'MATERIALIZED' ELSE 'NOT MATERIALIZED' END,
		regexp_replace(dn, '(d[0-9]+)', 'p.\1', 'g'),   -- 29
		regexp_replace(dn, '(d[0-9]+)', 'n.\1', 'g'));  -- 30
END
$$;
