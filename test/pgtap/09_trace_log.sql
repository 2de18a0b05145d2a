-- segroll.trace_log is written only by segroll's own trace entry points
-- (issue 12): an auditor can neither add entries itself nor run the inner
-- routines that return rows without the entry, and every trace still
-- records exactly one entry naming the role that traced.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segroll;

CREATE ROLE tl9_admin;
CREATE ROLE tl9_aud;
GRANT segroll_admin TO tl9_admin;
GRANT segroll_auditor TO tl9_aud;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO tl9_admin', current_database()); END $$;
GRANT CREATE ON SCHEMA public TO tl9_admin;

SET ROLE tl9_admin;
CREATE TABLE public.tl9_sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int, amount numeric(12,2));
INSERT INTO public.tl9_sales SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', g % 3, g FROM generate_series(1, 100) g;
SELECT segroll.create_segmentation('tl9_daily', 'public.tl9_sales', 'id', 'sold_at', 'day', 'UTC', '{org}', '{amount}');
GRANT SELECT ON public.tl9_sales TO tl9_aud;
RESET ROLE;

-- runs q as role r; returns 'ok' or the SQLSTATE of the error
CREATE FUNCTION public.tl9_try(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text := 'ok';
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	BEGIN
		EXECUTE q;
	EXCEPTION WHEN OTHERS THEN
		state := SQLSTATE;
	END;
	RESET ROLE;
	RETURN state;
END
$$;

-- the number of rows q returns, run as role r (an error counts as -1)
CREATE FUNCTION public.tl9_rows(r name, q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	BEGIN
		EXECUTE format('SELECT count(*) FROM (%s) x', q) INTO n;
	EXCEPTION WHEN OTHERS THEN
		n := -1;
	END;
	RESET ROLE;
	RETURN n;
END
$$;

CREATE FUNCTION public.tl9_entries() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM segroll.trace_log
$$;

-- rows of the cell org 1, 2026-11-02 (hours 24..47 of the month with id % 3 = 1)
CREATE TABLE public.tl9_expect AS
SELECT count(*) AS n FROM public.tl9_sales
WHERE org = 1 AND sold_at >= '2026-11-02' AND sold_at < '2026-11-03';

SELECT plan(24);

-- an auditor cannot write the log itself, in any column
SELECT is(tl9_try('tl9_aud', $$INSERT INTO segroll.trace_log (segmentation, cell, keys, rows_returned)
                                VALUES ('tl9_daily', '{}', 1, 1)$$),
          '42501', 'auditor: cannot INSERT into the trace log');
SELECT is(tl9_try('tl9_aud', $$INSERT INTO segroll.trace_log VALUES (now(), current_user, session_user, 'tl9_daily', '{}', 1, 1)$$),
          '42501', 'auditor: cannot INSERT a whole entry either');
SELECT ok(NOT has_table_privilege('tl9_aud', 'segroll.trace_log', 'INSERT')
          AND NOT has_any_column_privilege('tl9_aud', 'segroll.trace_log', 'INSERT')
          AND NOT has_any_column_privilege('segroll_admin', 'segroll.trace_log', 'INSERT'),
          'no INSERT privilege on any column of the trace log for auditors or admins');
SELECT is((SELECT count(*)::int FROM pg_policies WHERE schemaname = 'segroll' AND tablename = 'trace_log' AND cmd IN ('INSERT', 'ALL')),
          0, 'no policy lets anyone insert into the trace log');
SELECT is(tl9_entries(), 0::bigint, 'nothing was added');

-- nor run the routines behind trace() and trace_rows() without the entry
SELECT is(tl9_try('tl9_aud', $$SELECT * FROM segroll._trace('tl9_daily',
                                  segroll.cell('tl9_daily', '{"org": 1}', '2026-11-02'), NULL)$$),
          '42501', 'auditor: cannot call segroll._trace() directly');
SELECT is(tl9_try('tl9_aud', $$SELECT * FROM segroll._trace_rows('tl9_daily',
                                  segroll.cell('tl9_daily', '{"org": 1}', '2026-11-02'), NULL::public.tl9_sales)$$),
          '42501', 'auditor: cannot call segroll._trace_rows() directly');
SELECT is(tl9_try(current_user, $$SELECT * FROM segroll._trace('tl9_daily',
                                  segroll.cell('tl9_daily', '{"org": 1}', '2026-11-02'), NULL)$$),
          '42501', 'superuser: cannot call segroll._trace() directly either');
SELECT is(tl9_entries(), 0::bigint, 'nothing was traced unlogged, nothing logged');

-- a trace by the auditor records exactly one entry, in its name
SELECT is(tl9_rows('tl9_aud', $$SELECT * FROM segroll.trace('tl9_daily', '{"org": 1}', '2026-11-02')$$),
          (SELECT n FROM tl9_expect), 'auditor: trace() of a cell returns its rows');
SELECT is(tl9_entries(), 1::bigint, 'one entry');
SELECT results_eq($$SELECT role_name::text COLLATE "default", session_role::text COLLATE "default", segmentation, cell, keys, rows_returned, at <= now()
                    FROM segroll.trace_log$$,
                  $$VALUES ('tl9_aud'::text, session_user::text COLLATE "default", 'tl9_daily'::text,
                            jsonb_build_object('dimensions', '{"org": 1}'::jsonb, 'period', '2026-11-02'::timestamptz),
                            (SELECT n FROM tl9_expect), (SELECT n FROM tl9_expect), true)$$,
                  'the entry: the auditor, the session role, the cell, its keys and the rows returned');

SELECT is(tl9_rows('tl9_aud', $$SELECT * FROM segroll.trace('tl9_daily',
                                   (SELECT segroll.merge(seg) FROM segroll_data.tl9_daily WHERE org = 2))$$),
          (SELECT count(*) FROM tl9_sales WHERE org = 2), 'auditor: trace() of a segment returns its rows');
SELECT is(tl9_entries(), 2::bigint, 'one more entry');
SELECT results_eq($$SELECT role_name::text COLLATE "default", cell, keys, rows_returned FROM segroll.trace_log ORDER BY keys DESC LIMIT 1$$,
                  $$SELECT 'tl9_aud'::text,
                           jsonb_build_object('count', segroll.count(s), 'checksum', segroll.checksum(s),
                                              'first_time', segroll.first_time(s), 'last_time', segroll.last_time(s)),
                           segroll.count(s), (SELECT count(*) FROM public.tl9_sales WHERE org = 2)
                    FROM (SELECT segroll.merge(seg) s FROM segroll_data.tl9_daily WHERE org = 2) m$$,
                  'the entry of a segment: its count, checksum and times');

SELECT is(tl9_rows('tl9_aud', $$SELECT * FROM segroll.trace_rows('tl9_daily',
                                   segroll.cell('tl9_daily', '{"org": 1}', '2026-11-02'), NULL::public.tl9_sales)$$),
          (SELECT n FROM tl9_expect), 'auditor: trace_rows() returns the rows');
SELECT is(tl9_entries(), 3::bigint, 'one more entry');
SELECT is((SELECT role_name::text || ' ' || keys || ' ' || rows_returned FROM segroll.trace_log ORDER BY keys LIMIT 1),
          'tl9_aud ' || (SELECT n FROM tl9_expect) || ' ' || (SELECT n FROM tl9_expect), 'the entry of trace_rows()');

-- a failed trace leaves no entry
SELECT is(tl9_try('tl9_aud', $$SELECT * FROM segroll.trace('tl9_daily', '{"org": 1}', '2027-01-01')$$),
          'P0002', 'auditor: tracing a cell that does not exist fails');
SELECT is(tl9_entries(), 3::bigint, 'and is not logged');

-- segroll.trace_audit = off: no entry
SET segroll.trace_audit = off;
SELECT is(tl9_rows('tl9_aud', $$SELECT * FROM segroll.trace('tl9_daily', '{"org": 1}', '2026-11-02')$$),
          (SELECT n FROM tl9_expect), 'trace_audit off: the trace returns its rows');
SELECT is(tl9_entries(), 3::bigint, 'trace_audit off: no entry');
RESET segroll.trace_audit;

-- a superuser's trace names the superuser
SELECT is((SELECT count(*) FROM segroll.trace('tl9_daily', '{"org": 1}', '2026-11-02')), (SELECT n FROM tl9_expect),
          'superuser: traces');
SELECT results_eq($$SELECT role_name::text COLLATE "default", session_role::text COLLATE "default" FROM segroll.trace_log ORDER BY at DESC, keys LIMIT 1$$,
                  $$VALUES (current_user::text COLLATE "default", session_user::text COLLATE "default")$$, 'the superuser''s entry names the superuser');

SELECT * FROM finish();
