-- Every argument of every public routine (issue 14): NULL and out-of-range
-- values give a clear error with a SQLSTATE before any SQL is generated, or
-- the documented meaning (README, Reference).  Each case runs in a
-- subtransaction that is always rolled back, so no case changes what the
-- next one sees; the result shows the SQLSTATE and message, or "ok: " and
-- what the call returned ("no rows" for an empty set).  The queries at the
-- end must stay empty: every public routine and argument has a NULL case,
-- and every NULL is refused with 22004 unless its meaning is documented.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
-- everything here in its own schema, apart from the other tests' objects
CREATE SCHEMA args;
SET search_path = args;
CREATE TABLE src (id bigint PRIMARY KEY, ts timestamptz NOT NULL, org int, amount numeric);
INSERT INTO src SELECT g, '2026-01-01 00:00+00'::timestamptz + g * interval '1 hour', g % 2, g FROM generate_series(1, 48) g;
CREATE TABLE src_archive (LIKE src);
SELECT segroll.create_segmentation('args_daily', 'src', 'id', 'ts', 'day', 'UTC', '{org}', '{amount}');
CREATE TABLE seg AS SELECT segroll.segment_agg(id, ts, amount) AS s FROM src;

-- case (routine, argument set to NULL or out of range, call)
CREATE TABLE arg_case (n serial, routine regprocedure NOT NULL, arg text, nulled bool NOT NULL, call text NOT NULL);
CREATE FUNCTION try(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
	st text;
	msg text;
BEGIN
	BEGIN
		IF call ~* '^\s*CALL' THEN
			EXECUTE call;
		ELSE
			EXECUTE format('SELECT string_agg(x::text, '' '') FROM (%s) x', call) INTO r;
		END IF;
		RAISE EXCEPTION USING ERRCODE = 'SRG99', MESSAGE = coalesce(left(r, 60), 'no rows');
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		RETURN CASE WHEN st = 'SRG99' THEN 'ok: ' || msg ELSE st || ': ' || msg END;
	END;
END
$$;
-- an out-of-range value of arg (or, for a routine without arguments, a call)
CREATE FUNCTION bad_case(routine regprocedure, arg text, call text) RETURNS int LANGUAGE sql AS $$
	INSERT INTO arg_case (routine, arg, nulled, call) VALUES (routine, arg, false, call) RETURNING 1
$$;
-- one case per argument: the call of fmt with the arguments args (separated
-- by " | "), that argument replaced by a NULL of its type (of the cast
-- given, for "any" and anyelement; untyped for internal)
CREATE FUNCTION null_cases(routine regprocedure, fmt text, args text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	a text[] := string_to_array(args, ' | ');
	p pg_proc := (SELECT p FROM pg_proc p WHERE p.oid = routine);
	t regtype;
	v text[];
BEGIN
	IF coalesce(cardinality(a), 0) <> p.pronargs THEN
		RAISE EXCEPTION '% takes % arguments, not %', routine, p.pronargs, coalesce(cardinality(a), 0);
	END IF;
	FOR i IN 1 .. p.pronargs LOOP
		t := p.proargtypes[i - 1];
		v := a;
		v[i] := CASE WHEN t = 'internal'::regtype THEN 'NULL'
		             WHEN a[i] ~ '::[a-z_.]+$' THEN 'NULL::' || substring(a[i] from '::([a-z_.]+)$')
		             ELSE 'NULL::' || format_type(t, NULL) END;
		INSERT INTO arg_case (routine, arg, nulled, call)
		VALUES (routine, coalesce(p.proargnames[i], '$' || i), true, format(fmt, array_to_string(v, ', ')));
	END LOOP;
	RETURN p.pronargs;
END
$$;

-- segmentations and roll-up
SELECT null_cases('segroll.create_segmentation(text,regclass,text,text,text,text,text[],text[],bool,text,bool,name)',
	'SELECT segroll.create_segmentation(%s)',
	$$'args_new' | 'src' | 'id' | 'ts' | 'day' | 'UTC' | '{org}' | '{amount}' | true | 'manual' | true | 'segroll_data'$$);
SELECT sum(bad_case('segroll.create_segmentation(text,regclass,text,text,text,text,text[],text[],bool,text,bool,name)', a, c)) AS cases
FROM (VALUES
	('name', $$SELECT segroll.create_segmentation('', 'src', 'id', 'ts', 'day')$$),
	('name', $$SELECT segroll.create_segmentation('Args', 'src', 'id', 'ts', 'day')$$),
	('key', $$SELECT segroll.create_segmentation('args_new', 'src', '', 'ts', 'day', dimensions => '{org}')$$),
	('time_col', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', '', 'day', dimensions => '{org}')$$),
	('grain', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', '', dimensions => '{org}')$$),
	('grain', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'decade', dimensions => '{org}')$$),
	('time_zone', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', '', '{org}')$$),
	('dimensions', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', dimensions => '{}')$$),
	('dimensions', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', dimensions => '{NULL}')$$),
	('dimensions', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', dimensions => '{""}')$$),
	('measures', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', dimensions => '{org}', measures => '{NULL}')$$),
	('measures', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', dimensions => '{org}', measures => '{""}')$$),
	('schedule', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', dimensions => '{org}', schedule => '')$$),
	('cells_schema', $$SELECT segroll.create_segmentation('args_new', 'src', 'id', 'ts', 'day', dimensions => '{org}', cells_schema => '')$$)
) v(a, c);

SELECT null_cases('segroll.alter_segmentation(text,text,text)', 'SELECT segroll.alter_segmentation(%s)',
	$$'args_daily' | 'manual' | 'as-was'$$);
SELECT sum(bad_case('segroll.alter_segmentation(text,text,text)', a, c)) AS cases
FROM (VALUES
	('name', $$SELECT segroll.alter_segmentation('no_such')$$),
	('schedule', $$SELECT segroll.alter_segmentation('args_daily', 'hourly')$$),
	('mapping', $$SELECT segroll.alter_segmentation('args_daily', mapping => 'as-will-be')$$)
) v(a, c);

SELECT null_cases('segroll.drop_segmentation(text)', 'SELECT segroll.drop_segmentation(%s)', $$'args_daily'$$);
SELECT bad_case('segroll.drop_segmentation(text)', 'name', $$SELECT segroll.drop_segmentation('')$$);

SELECT null_cases('segroll.rollup(text,int8)', 'SELECT segroll.rollup(%s)', $$'args_daily' | 10$$);
SELECT sum(bad_case('segroll.rollup(text,int8)', a, c)) AS cases
FROM (VALUES
	('name', $$SELECT segroll.rollup('no_such')$$),
	('max_changes', $$SELECT segroll.rollup('args_daily', 0)$$),
	('max_changes', $$SELECT segroll.rollup('args_daily', -1)$$)
) v(a, c);

SELECT null_cases('segroll.backfill(text,int8)', 'CALL segroll.backfill(%s)', $$'args_daily' | 10$$);
SELECT sum(bad_case('segroll.backfill(text,int8)', a, c)) AS cases
FROM (VALUES
	('name', $$CALL segroll.backfill('no_such')$$),
	('batch', $$CALL segroll.backfill('args_daily', 0)$$),
	('batch', $$CALL segroll.backfill('args_daily', -1)$$)
) v(a, c);

SELECT null_cases('segroll.pending_upper(text)', 'SELECT segroll.pending_upper(%s)', $$'args_daily'$$);
SELECT null_cases('segroll.rebuild(text)', 'SELECT segroll.rebuild(%s)', $$'args_daily'$$);
SELECT bad_case('segroll.workers_available()', NULL, $$SELECT segroll.workers_available()$$);
SELECT null_cases('segroll.wait_for_writers(regclass)', 'SELECT segroll.wait_for_writers(%s)', $$'src'$$);
SELECT bad_case('segroll.capture_truncate()', NULL, $$SELECT segroll.capture_truncate()$$);
SELECT bad_case('segroll.capture_number()', NULL, $$SELECT segroll.capture_number()$$);

-- governance
SELECT null_cases('segroll.create_version(text,text[],text,text[],bool,text)', 'SELECT segroll.create_version(%s)',
	$$'args_daily' | '{org}' | 'month' | '{amount}' | true | 'manual'$$);
SELECT sum(bad_case('segroll.create_version(text,text[],text,text[],bool,text)', a, c)) AS cases
FROM (VALUES
	('name', $$SELECT segroll.create_version('no_such', grain => 'month')$$),
	('dimensions', $$SELECT segroll.create_version('args_daily', '{}')$$),
	('dimensions', $$SELECT segroll.create_version('args_daily', '{NULL}')$$),
	('grain', $$SELECT segroll.create_version('args_daily', grain => 'decade')$$),
	('measures', $$SELECT segroll.create_version('args_daily', measures => '{NULL}')$$),
	('schedule', $$SELECT segroll.create_version('args_daily', grain => 'month', schedule => 'hourly')$$)
) v(a, c);
SELECT null_cases('segroll.switch_version(text,bool)', 'SELECT segroll.switch_version(%s)', $$'args_daily' | true$$);

SELECT null_cases('segroll.close_period(text,timestamptz)', 'SELECT segroll.close_period(%s)',
	$$'args_daily' | '2026-01-02 00:00+00'$$);
SELECT sum(bad_case('segroll.close_period(text,timestamptz)', a, c)) AS cases
FROM (VALUES
	('up_to', $$SELECT segroll.close_period('args_daily', 'infinity')$$),
	('up_to', $$SELECT segroll.close_period('args_daily', '-infinity')$$)
) v(a, c);
SELECT null_cases('segroll.reopen_period(text,timestamptz)', 'SELECT segroll.reopen_period(%s)',
	$$'args_daily' | '2026-01-01 00:00+00'$$);
SELECT sum(bad_case('segroll.reopen_period(text,timestamptz)', a, c)) AS cases
FROM (VALUES
	('period_from', $$SELECT segroll.reopen_period('args_daily', 'infinity')$$),
	('period_from', $$SELECT segroll.reopen_period('args_daily', '-infinity')$$)
) v(a, c);

SELECT null_cases('segroll.resegment(text,timestamptz,timestamptz)', 'SELECT * FROM segroll.resegment(%s)',
	$$'args_daily' | '2026-01-01 00:00+00' | '2026-01-03 00:00+00'$$);
SELECT bad_case('segroll.resegment(text,timestamptz,timestamptz)', 'period_to',
	$$SELECT * FROM segroll.resegment('args_daily', '2026-01-03 00:00+00', '2026-01-01 00:00+00')$$);

SELECT null_cases('segroll.estimate(regclass,text[],text,text,text,text[],text,float8)', 'SELECT candidate, cells FROM segroll.estimate(%s)',
	$$'src' | '{org}' | 'day' | 'ts' | 'UTC' | '{amount}' | 'id' | 100$$);
SELECT sum(bad_case('segroll.estimate(regclass,text[],text,text,text,text[],text,float8)', a, c)) AS cases
FROM (VALUES
	('dimensions', $$SELECT * FROM segroll.estimate('src', '{}', 'day')$$),
	('grain', $$SELECT * FROM segroll.estimate('src', '{org}', 'decade')$$),
	('time_col', $$SELECT * FROM segroll.estimate('src', '{org}', 'day', '')$$),
	('key', $$SELECT * FROM segroll.estimate('src', '{org}', 'day', key => '')$$),
	('sample_percent', $$SELECT * FROM segroll.estimate('src', '{org}', 'day', sample_percent => 0)$$),
	('sample_percent', $$SELECT * FROM segroll.estimate('src', '{org}', 'day', sample_percent => 101)$$),
	('sample_percent', $$SELECT * FROM segroll.estimate('src', '{org}', 'day', sample_percent => 'NaN')$$)
) v(a, c);
SELECT null_cases('segroll.estimate_candidates(regclass,jsonb,text,text,text[],text,float8)',
	'SELECT candidate, cells FROM segroll.estimate_candidates(%s)',
	$$'src' | '[{"dimensions": ["org"], "grain": "day"}]' | 'ts' | 'UTC' | '{amount}' | 'id' | 100$$);
SELECT sum(bad_case('segroll.estimate_candidates(regclass,jsonb,text,text,text[],text,float8)', a, c)) AS cases
FROM (VALUES
	('candidates', $$SELECT * FROM segroll.estimate_candidates('src', '[]')$$),
	('candidates', $$SELECT * FROM segroll.estimate_candidates('src', '{}')$$),
	('candidates', $$SELECT * FROM segroll.estimate_candidates('src', '[null]')$$),
	('sample_percent', $$SELECT * FROM segroll.estimate_candidates('src', '[{"dimensions": ["org"], "grain": "day"}]', sample_percent => -1)$$)
) v(a, c);

-- trace and reconcile
SELECT null_cases('segroll.trace(text,jsonb,timestamptz)', 'SELECT key FROM segroll.trace(%s)',
	$$'args_daily' | '{"org": 1}' | '2026-01-01 00:00+00'$$);
SELECT sum(bad_case('segroll.trace(text,jsonb,timestamptz)', a, c)) AS cases
FROM (VALUES
	('dimensions', $$SELECT key FROM segroll.trace('args_daily', '[1]', '2026-01-01 00:00+00')$$),
	('dimensions', $$SELECT key FROM segroll.trace('args_daily', '{}', '2026-01-01 00:00+00')$$)
) v(a, c);
SELECT null_cases('segroll.trace(text,segroll.segment)', 'SELECT key FROM segroll.trace(%s)',
	$$'args_daily' | (SELECT s FROM seg)$$);
SELECT null_cases('segroll.trace_rows(text,segroll.segment,anyelement)', 'SELECT id FROM segroll.trace_rows(%s)',
	$$'args_daily' | (SELECT s FROM seg) | NULL::src$$);
SELECT null_cases('segroll.cell(text,jsonb,timestamptz)', 'SELECT segroll.count(segroll.cell(%s))',
	$$'args_daily' | '{"org": 1}' | '2026-01-01 00:00+00'$$);
SELECT sum(bad_case('segroll.cell(text,jsonb,timestamptz)', a, c)) AS cases
FROM (VALUES
	('dimensions', $$SELECT segroll.cell('args_daily', '"org"', '2026-01-01 00:00+00')$$),
	('dimensions', $$SELECT segroll.cell('args_daily', '{"no_such": 1}', '2026-01-01 00:00+00')$$)
) v(a, c);
SELECT null_cases('segroll.locate(text,int8)', 'SELECT * FROM segroll.locate(%s)', $$'args_daily' | 5$$);
SELECT null_cases('segroll.locate(text,text)', 'SELECT * FROM segroll.locate(%s)', $$'args_daily' | '5'::text$$);

SELECT null_cases('segroll.verify(text,timestamptz,timestamptz,text)', 'SELECT * FROM segroll.verify(%s)',
	$$'args_daily' | '2026-01-01 00:00+00' | '2026-01-03 00:00+00' | 'full'$$);
SELECT sum(bad_case('segroll.verify(text,timestamptz,timestamptz,text)', a, c)) AS cases
FROM (VALUES
	('period_to', $$SELECT * FROM segroll.verify('args_daily', '2026-01-03 00:00+00', '2026-01-01 00:00+00')$$),
	('period_from', $$SELECT * FROM segroll.verify('args_daily', '-infinity', '2026-01-01 00:00+00')$$),
	('mode', $$SELECT * FROM segroll.verify('args_daily', '2026-01-01 00:00+00', '2026-01-03 00:00+00', 'quick')$$)
) v(a, c);
SELECT null_cases('segroll.repair(text,timestamptz,timestamptz)', 'SELECT * FROM segroll.repair(%s)',
	$$'args_daily' | '2026-01-01 00:00+00' | '2026-01-03 00:00+00'$$);
SELECT bad_case('segroll.repair(text,timestamptz,timestamptz)', 'period_to',
	$$SELECT * FROM segroll.repair('args_daily', '2026-01-03 00:00+00', '2026-01-03 00:00+00')$$);
SELECT null_cases('segroll.purge_source(text,interval)', 'SELECT * FROM segroll.purge_source(%s)',
	$$'args_daily' | '400 days'$$);
SELECT sum(bad_case('segroll.purge_source(text,interval)', a, c)) AS cases
FROM (VALUES
	('older_than', $$SELECT * FROM segroll.purge_source('args_daily', '0')$$),
	('older_than', $$SELECT * FROM segroll.purge_source('args_daily', '-1 day')$$)
) v(a, c);
SELECT null_cases('segroll.anomalies(text,timestamptz,float8,int4,int4)', 'SELECT * FROM segroll.anomalies(%s)',
	$$'args_daily' | '2026-01-01 00:00+00' | 3.5 | 8 | 4$$);
SELECT sum(bad_case('segroll.anomalies(text,timestamptz,float8,int4,int4)', a, c)) AS cases
FROM (VALUES
	('name', $$SELECT * FROM segroll.anomalies('no_such', '2026-01-01 00:00+00')$$),
	('threshold', $$SELECT * FROM segroll.anomalies('args_daily', '2026-01-01 00:00+00', threshold => -1)$$),
	('threshold', $$SELECT * FROM segroll.anomalies('args_daily', '2026-01-01 00:00+00', threshold => 'infinity')$$),
	('weeks', $$SELECT * FROM segroll.anomalies('args_daily', '2026-01-01 00:00+00', weeks => 521)$$),
	('min_history', $$SELECT * FROM segroll.anomalies('args_daily', '2026-01-01 00:00+00', min_history => 0)$$)
) v(a, c);
SELECT null_cases('segroll.set_anomaly_detection(text,float8,int4,int4,bool,bool)', 'SELECT segroll.set_anomaly_detection(%s)',
	$$'args_daily' | 3.5 | 8 | 4 | true | true$$);
SELECT sum(bad_case('segroll.set_anomaly_detection(text,float8,int4,int4,bool,bool)', a, c)) AS cases
FROM (VALUES
	('name', $$SELECT segroll.set_anomaly_detection('no_such')$$),
	('threshold', $$SELECT segroll.set_anomaly_detection('args_daily', threshold => 0)$$),
	('weeks', $$SELECT segroll.set_anomaly_detection('args_daily', weeks => 0)$$),
	('min_history', $$SELECT segroll.set_anomaly_detection('args_daily', weeks => 2, min_history => 3)$$),
	('notify', $$SELECT segroll.set_anomaly_detection('args_daily', notify => true)$$)
) v(a, c);
SELECT null_cases('segroll.set_archive(text,regclass)', 'SELECT segroll.set_archive(%s)', $$'args_daily' | 'src_archive'$$);
SELECT null_cases('segroll.purge_trace_log(interval)', 'SELECT segroll.purge_trace_log(%s)', $$'400 days'$$);
SELECT sum(bad_case('segroll.purge_trace_log(interval)', a, c)) AS cases
FROM (VALUES
	('older_than', $$SELECT segroll.purge_trace_log('1 hour')$$),
	('older_than', $$SELECT segroll.purge_trace_log('-1 day')$$)
) v(a, c);
SELECT null_cases('segroll.key_batches(segroll.segment,int4)', 'SELECT segroll.key_batches(%s)', $$(SELECT s FROM seg) | 20$$);
SELECT sum(bad_case('segroll.key_batches(segroll.segment,int4)', a, c)) AS cases
FROM (VALUES
	('$2', $$SELECT segroll.key_batches((SELECT s FROM seg), 0)$$),
	('$2', $$SELECT segroll.key_batches((SELECT s FROM seg), -1)$$)
) v(a, c);

-- the type: aggregates, arithmetic, checksums, accessors
SELECT null_cases('segroll.segment_agg(int8,timestamptz)', 'SELECT segroll.count(segroll.segment_agg(%s)) FROM src', 'id | ts');
SELECT null_cases('segroll.segment_agg(int8,timestamptz,"any")', 'SELECT segroll.count(segroll.segment_agg(%s)) FROM src', 'id | ts | amount::numeric');
SELECT null_cases('segroll.segment_agg_nolineage(int8,timestamptz)', 'SELECT segroll.count(segroll.segment_agg_nolineage(%s)) FROM src', 'id | ts');
SELECT null_cases('segroll.segment_agg_nolineage(int8,timestamptz,"any")', 'SELECT segroll.count(segroll.segment_agg_nolineage(%s)) FROM src', 'id | ts | amount::numeric');
SELECT null_cases('segroll.merge(segroll.segment)', 'SELECT segroll.count(segroll.merge(%s)) FROM seg', 's');
SELECT null_cases('segroll.merge(segroll.segment,segroll.segment)', 'SELECT segroll.merge(%s)',
	$$segroll.segment_agg(1, '2026-01-01') | segroll.segment_agg(2, '2026-01-01')$$);
SELECT null_cases('segroll.subtract(segroll.segment,segroll.segment)', 'SELECT segroll.count(segroll.subtract(%s)) FROM seg',
	$$s | segroll.segment_agg(1, '2026-01-01 01:00+00', 1::numeric)$$);
SELECT null_cases('segroll.retract(segroll.segment,int8,timestamptz)', 'SELECT segroll.retract(%s)',
	$$segroll.segment_agg(1, '2026-01-01') | 1 | '2026-01-01'$$);
SELECT null_cases('segroll.retract(segroll.segment,int8,timestamptz,"any")', 'SELECT segroll.count(segroll.retract(%s)) FROM seg',
	$$s | 1 | '2026-01-01 01:00+00' | 1::numeric$$);
SELECT null_cases('segroll.row_checksum(int8,timestamptz)', 'SELECT segroll.row_checksum(%s)', $$1 | '2026-01-01'$$);
SELECT null_cases('segroll.key_hash(anyelement)', 'SELECT segroll.key_hash(%s)', $$'TX1'::text$$);
SELECT null_cases('segroll.row_checksum(int8,timestamptz,"any")', 'SELECT segroll.row_checksum(%s)', $$1 | '2026-01-01' | 1::numeric$$);
SELECT sum(null_cases(p.oid, 'SELECT ' || p.oid::regproc || '(%s)', '(SELECT s FROM seg)')) AS cases
FROM (SELECT oid FROM pg_proc
      WHERE pronamespace = 'segroll'::regnamespace AND pronargs = 1 AND proargtypes[0] = 'segroll.segment'::regtype
        AND prokind = 'f' AND proname !~ '^(_|segment_)'
      ORDER BY proname) p;
SELECT sum(null_cases(p.oid, 'SELECT ' || p.oid::regproc || '(%s)', '(SELECT s FROM seg) | 1')) AS cases
FROM (SELECT oid FROM pg_proc
      WHERE pronamespace = 'segroll'::regnamespace AND proname IN ('count', 'sum', 'min', 'max', 'avg', 'contains')
        AND pronargs = 2
      ORDER BY proname) p;
SELECT sum(bad_case(p.oid, '$2', format('SELECT %s((SELECT s FROM seg), %s)', p.oid::regproc, p.n))) AS cases
FROM (SELECT oid, n FROM pg_proc, (VALUES (-1), (0), (2)) v(n)
      WHERE pronamespace = 'segroll'::regnamespace AND proname IN ('count', 'sum', 'min', 'max', 'avg')
        AND pronargs = 2
      ORDER BY proname, n) p;
SELECT null_cases('segroll.measure_type_ok(regtype)', 'SELECT segroll.measure_type_ok(%s)', $$'int4'$$);
-- distinct measures (issue 17)
SELECT null_cases('segroll.distinct_hash(anyelement)', 'SELECT segroll.distinct_hash(%s)', $$'c1'::text$$);
SELECT sum(null_cases(p.oid, 'SELECT ' || p.oid::regproc || '(%s)', $$segroll.segment_agg(1, '2026-01-01', segroll.distinct_hash(1)) | 1$$)) AS cases
FROM (SELECT oid FROM pg_proc
      WHERE pronamespace = 'segroll'::regnamespace AND proname IN ('distinct', 'distinct_exact') AND pronargs = 2
      ORDER BY proname) p;
SELECT sum(bad_case(p.oid, '$2', format($$SELECT %s(segroll.segment_agg(1, '2026-01-01', segroll.distinct_hash(1)), %s)$$, p.oid::regproc, p.n))) AS cases
FROM (SELECT oid, n FROM pg_proc, (VALUES (0), (2)) v(n)
      WHERE pronamespace = 'segroll'::regnamespace AND proname IN ('distinct', 'distinct_exact') AND pronargs = 2
      ORDER BY proname, n) p;
SELECT null_cases('segroll.dhash_in(cstring)', 'SELECT segroll.dhash_in(%s)', $$'0000000000000001'::cstring$$);
SELECT bad_case('segroll.dhash_in(cstring)', '$1', $$SELECT segroll.dhash_in('1'::cstring)$$);
SELECT null_cases('segroll.dhash_out(segroll.dhash)', 'SELECT segroll.dhash_out(%s)', $$segroll.distinct_hash(1)$$);

-- the type's I/O and comparison functions, and the aggregates' support
-- functions (these take internal, so SQL cannot call them at all)
SELECT null_cases('segroll.segment_in(cstring)', 'SELECT segroll.segment_in(%s)', $$'{}'::cstring$$);
SELECT bad_case('segroll.segment_in(cstring)', '$1', $$SELECT segroll.segment_in(''::cstring)$$);
SELECT sum(null_cases(p.oid, 'SELECT ' || p.oid::regproc || '(%s)',
	array_to_string(array_fill('(SELECT s FROM seg)'::text, ARRAY[p.pronargs]), ' | '))) AS cases
FROM (SELECT oid, pronargs FROM pg_proc
      WHERE pronamespace = 'segroll'::regnamespace AND proname ~ '^segment_(out|send|eq|ne|lt|le|gt|ge|cmp|hash)$'
      ORDER BY proname) p;
SELECT sum(null_cases(p.oid, 'SELECT ' || p.oid::regproc || '(%s)',
	array_to_string(ARRAY(SELECT CASE t WHEN 'internal'::regtype THEN 'NULL' WHEN 'int8'::regtype THEN '1'
	                                    WHEN 'timestamptz'::regtype THEN 'now()' WHEN 'bytea'::regtype THEN $q$'\x00'$q$
	                                    WHEN '"any"'::regtype THEN '1::numeric' ELSE '(SELECT s FROM seg)' END
	                      FROM unnest(p.proargtypes::regtype[]) t), ' | '))) AS cases
FROM (SELECT oid, proargtypes FROM pg_proc
      WHERE pronamespace = 'segroll'::regnamespace AND 'internal'::regtype = ANY (proargtypes::regtype[])
      ORDER BY oid::regprocedure::text) p;
-- merge()'s support functions take segments (issue 15), but the state
-- function runs only inside merge()
SELECT null_cases('segroll.segment_merge_state(segroll.segment,segroll.segment)', 'SELECT segroll.segment_merge_state(%s)',
	'(SELECT s FROM seg) | (SELECT s FROM seg)');
SELECT null_cases('segroll.segment_merge_final(segroll.segment)', 'SELECT segroll.count(segroll.segment_merge_final(%s))',
	'(SELECT s FROM seg)');

-- the results
CREATE TABLE arg_result AS SELECT n, try(call) AS result FROM arg_case;
\pset format unaligned
SELECT c.call, r.result FROM arg_case c JOIN arg_result r USING (n) ORDER BY c.n;
\pset format aligned

-- every public routine and every argument has at least one NULL case (a
-- routine without arguments: a call); a new one without them shows here
SELECT p.oid::regprocedure AS routine, a.name AS argument_without_a_null_case
FROM pg_proc p
CROSS JOIN LATERAL (
	SELECT coalesce(p.proargnames[i], '$' || i) AS name FROM generate_series(1, p.pronargs) i
	UNION ALL
	SELECT NULL WHERE p.pronargs = 0) a
WHERE p.pronamespace = 'segroll'::regnamespace AND p.proname !~ '^_'
  AND NOT EXISTS (SELECT FROM arg_case c WHERE c.routine = p.oid
                  AND (c.nulled AND c.arg = a.name OR p.pronargs = 0))
ORDER BY 1, 2;

-- the arguments whose NULL has a documented meaning (README, Reference);
-- every other NULL is refused with 22004, except by STRICT functions
-- (NULL in, NULL out) and those that take internal (not callable from SQL)
CREATE TABLE null_allowed (routine regprocedure, arg text, meaning text);
INSERT INTO null_allowed VALUES
	('segroll.rollup(text,int8)', 'max_changes', 'every pending change'),
	('segroll.alter_segmentation(text,text,text)', 'schedule', 'unchanged'),
	('segroll.alter_segmentation(text,text,text)', 'mapping', 'unchanged'),
	('segroll.create_version(text,text[],text,text[],bool,text)', 'dimensions', 'those of the current version'),
	('segroll.create_version(text,text[],text,text[],bool,text)', 'grain', 'that of the current version'),
	('segroll.create_version(text,text[],text,text[],bool,text)', 'measures', 'those of the current version'),
	('segroll.create_version(text,text[],text,text[],bool,text)', 'lineage', 'that of the current version'),
	('segroll.estimate(regclass,text[],text,text,text,text[],text,float8)', 'time_col', 'the only NOT NULL timestamptz column'),
	('segroll.estimate(regclass,text[],text,text,text,text[],text,float8)', 'key', 'the single-column primary key'),
	('segroll.estimate(regclass,text[],text,text,text,text[],text,float8)', 'sample_percent', 'chosen from the table''s size'),
	('segroll.estimate_candidates(regclass,jsonb,text,text,text[],text,float8)', 'time_col', 'as estimate'),
	('segroll.estimate_candidates(regclass,jsonb,text,text,text[],text,float8)', 'key', 'as estimate'),
	('segroll.estimate_candidates(regclass,jsonb,text,text,text[],text,float8)', 'sample_percent', 'as estimate'),
	('segroll.set_archive(text,regclass)', 'archive', 'no archive'),
	('segroll.anomalies(text,timestamptz,float8,int4,int4)', 'threshold', 'the segmentation''s setting, or 3.5'),
	('segroll.anomalies(text,timestamptz,float8,int4,int4)', 'weeks', 'the segmentation''s setting, or 8'),
	('segroll.anomalies(text,timestamptz,float8,int4,int4)', 'min_history', 'the segmentation''s setting, or 4'),
	('segroll.trace_rows(text,segroll.segment,anyelement)', 'row_type', 'a NULL of the source''s row type is the way to pass it'),
	('segroll.merge(segroll.segment)', '$1', 'skipped'),
	('segroll.segment_merge_state(segroll.segment,segroll.segment)', '$1', 'an empty state (merge()''s first input)'),
	('segroll.segment_merge_state(segroll.segment,segroll.segment)', '$2', 'skipped, as merge() skips it'),
	('segroll.retract(segroll.segment,int8,timestamptz)', '$1', 'NULL'),
	('segroll.retract(segroll.segment,int8,timestamptz,"any")', '$1', 'NULL'),
	('segroll.retract(segroll.segment,int8,timestamptz,"any")', '$4', 'a NULL measure value'),
	('segroll.segment_agg(int8,timestamptz,"any")', '$3', 'a NULL measure value'),
	('segroll.segment_agg_nolineage(int8,timestamptz,"any")', '$3', 'a NULL measure value'),
	('segroll.row_checksum(int8,timestamptz,"any")', '$3', 'a NULL measure value');
SELECT c.call AS null_neither_refused_nor_documented, r.result
FROM arg_case c JOIN arg_result r USING (n) JOIN pg_proc p ON p.oid = c.routine
WHERE c.nulled AND NOT p.proisstrict AND r.result NOT LIKE '22004:%'
  AND NOT 'internal'::regtype = ANY (p.proargtypes::regtype[])
  AND (c.routine, c.arg) NOT IN (SELECT routine, arg FROM null_allowed)
ORDER BY c.n;
-- and a documented NULL is not refused
SELECT c.call AS documented_null_refused, r.result
FROM arg_case c JOIN arg_result r USING (n) JOIN null_allowed a ON (a.routine, a.arg) = (c.routine, c.arg)
WHERE c.nulled AND r.result LIKE '22004:%'
ORDER BY c.n;
